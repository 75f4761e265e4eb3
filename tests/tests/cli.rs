//! A newcomer's first hour, through the binary: kubectl's flags, help per subcommand,
//! completions, errors in one voice, model configuration checked before use, piped vs
//! terminal output, stdin handling, units and names, and which namespace `health` checked.

// A panic with the reason is the test failure we want.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kai_tests::model::{Scripted, ScriptedModel};
use kai_tests::{TestCluster, kai_bin, kai_command, kai_terminal_command, run, stderr, stdout};
use rexpect::reader::Options;
use rexpect::session::spawn_with_options;
use serde_json::Value;

const PTY_TIMEOUT_MS: u64 = 30_000;

fn explain(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    )
}

/// `kai ARGS` with no cluster (for help, completions and argument errors).
async fn kai_alone(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut c = kai_command(home.path());
    c.args(args);
    run(c, None).await
}

/// `kai ARGS` against the test cluster, stdin empty.
async fn ask(tc: &TestCluster, args: &[&str]) -> Output {
    let mut c = tc.kai();
    c.args(args);
    run(c, None).await
}

/// Asserts a run failed with exit 2 and one stderr line in kai's voice containing `needles`.
fn assert_one_voice(o: &Output, needles: &[&str]) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{}", explain(o));
    let lines: Vec<&str> = e.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {}", explain(o));
    assert!(lines[0].starts_with("kai: error: "), "{}", explain(o));
    for n in needles {
        assert!(lines[0].contains(n), "missing {n:?}: {}", explain(o));
    }
    assert!(
        !e.contains("'\"") && !e.contains("panicked") && !e.contains("Usage:"),
        "{}",
        explain(o)
    );
}

#[tokio::test]
async fn completions_generate_for_every_shell_and_load_in_bash() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let o = kai_alone(&["completions", shell]).await;
        assert!(o.status.success(), "{shell}: {}", explain(&o));
        let script = stdout(&o);
        assert!(
            script.contains("health") && script.contains("all-namespaces"),
            "{shell}"
        );
    }
    let bin = kai_bin().display().to_string();
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source <('{bin}' completions bash) && complete -p kai"
        ))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", explain(&o));
    let out = stdout(&o);
    assert!(
        out.contains("-F _kai") && out.trim_end().ends_with(" kai"),
        "{out}"
    );
    // A reader that stops early is not a crash.
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!("'{bin}' completions bash | head -1"))
        .output()
        .unwrap();
    assert!(!stderr(&o).contains("panicked"), "{}", explain(&o));
}

#[tokio::test]
async fn help_lists_each_subcommands_own_flags_with_examples() {
    let cases: [(&[&str], &[&str], &[&str]); 4] = [
        (
            &["health", "--help"],
            &[
                "--all-namespaces",
                "--selector",
                "--namespace",
                "--context",
                "--kubeconfig",
                "--sandbox",
                "--format",
                "--fail-on",
                "--wait",
                "Examples:",
                "kai health -n shop",
            ],
            &[
                "--model",
                "--max-steps",
                "--yes",
                "--system-prompt",
                "--base-url",
                "--output",
            ],
        ),
        (
            &["sandbox", "--help"],
            &[
                "--port",
                "--write-kubeconfig",
                "--list",
                "Examples:",
                "kai sandbox --list",
            ],
            &[
                "--sandbox <",
                "--namespace <",
                "--context <",
                "--model <",
                " --kubeconfig <",
            ],
        ),
        (
            &["completions", "--help"],
            &[
                "bash",
                "zsh",
                "fish",
                "powershell",
                "Examples:",
                "source <(kai completions bash)",
            ],
            &["--namespace", "--model"],
        ),
        (
            &["--help"],
            &[
                "--all-namespaces",
                "--selector",
                "--no-stdin",
                "--model",
                "health",
                "completions",
                "Examples:",
            ],
            &[],
        ),
    ];
    for (args, present, absent) in cases {
        let o = kai_alone(args).await;
        assert!(o.status.success(), "{args:?}: {}", explain(&o));
        let help = stdout(&o);
        for p in present {
            assert!(help.contains(p), "{args:?} lacks {p}:\n{help}");
        }
        for a in absent {
            assert!(!help.contains(a), "{args:?} shows {a}:\n{help}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_flags_work_on_questions_and_before_or_after_subcommands() {
    let tc = TestCluster::start("demo").await;
    let steps = |o: &Output| -> Vec<Value> {
        let doc: Value =
            serde_json::from_str(&stdout(o)).unwrap_or_else(|_| panic!("{}", explain(o)));
        doc["steps"].as_array().cloned().unwrap_or_default()
    };
    // -A on a question: the lookups span every namespace.
    let o = ask(&tc, &["-A", "--output", "json", "list pods"]).await;
    assert!(o.status.success(), "{}", explain(&o));
    let s = steps(&o);
    assert!(
        s.iter().any(|st| st["arguments"]["all_namespaces"] == true
            && st["arguments"].get("namespace").is_none()),
        "{s:?}"
    );
    // -l on a question: the selector reaches the call.
    let o = ask(&tc, &["-l", "app=backend", "--output", "json", "list pods"]).await;
    assert!(o.status.success(), "{}", explain(&o));
    let s = steps(&o);
    assert!(
        s.iter()
            .any(|st| st["arguments"]["label_selector"] == "app=backend"),
        "{s:?}"
    );
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let answer = doc["answer"].as_str().unwrap_or_default();
    assert!(
        answer.contains("backend-") && !answer.contains("frontend-"),
        "{answer}"
    );
    // The same flags before or after `health` mean the same.
    let mut before = tc.kai();
    before.args(["-A", "-n", "shop", "health", "--format", "json"]);
    let mut after = tc.kai();
    after.args(["health", "-A", "--format", "json"]);
    let (b, a) = (run(before, None).await, run(after, None).await);
    assert_eq!(b.status.code(), Some(1), "{}", explain(&b));
    assert_eq!(a.status.code(), Some(1), "{}", explain(&a));
    let scope = |o: &Output| -> String {
        let v: Value = serde_json::from_str(&stdout(o)).unwrap();
        v.to_string()
    };
    assert!(scope(&b).contains("all namespaces"), "{}", explain(&b));
    assert!(scope(&a).contains("all namespaces"), "{}", explain(&a));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_one_line_in_one_voice_with_the_closest_name() {
    let o = kai_alone(&["--sandbox", "dmeo", "why"]).await;
    assert_one_voice(&o, &["unknown scenario \"dmeo\"", "did you mean \"demo\"?"]);
    let o = kai_alone(&["helth"]).await;
    assert_one_voice(&o, &["unknown command \"helth\"", "kai health"]);
    let o = kai_alone(&["sandbx", "demo"]).await;
    assert_one_voice(&o, &["kai sandbox"]);
    let o = kai_alone(&["health", "--model", "x"]).await;
    assert_one_voice(&o, &["'--model'", "see kai health --help"]);
    let o = kai_alone(&["--namespce", "shop", "why"]).await;
    assert_one_voice(&o, &["did you mean '--namespace'?", "see kai --help"]);
    let o = kai_alone(&["--kubeconfig", "/nonexistent/kc", "why is backend crashing"]).await;
    assert_one_voice(
        &o,
        &[
            "cannot read kubeconfig /nonexistent/kc: no such file or directory;",
            "--sandbox demo",
        ],
    );

    let tc = TestCluster::start("demo").await;
    let o = ask(&tc, &["-n", "shpo", "list pods"]).await;
    assert_one_voice(
        &o,
        &["namespace \"shpo\" not found", "did you mean \"shop\"?"],
    );

    // health speaks the same way as one-shot.
    let home = tempfile::tempdir().unwrap();
    let mut c = kai_command(home.path());
    c.args(["health", "--kubeconfig", "/nonexistent/kc"]);
    let o = run(c, None).await;
    assert_eq!(o.status.code(), Some(2), "{}", explain(&o));
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        all.contains("kai: error: cannot read kubeconfig /nonexistent/kc"),
        "{all}"
    );
    assert!(!all.contains("ERROR") && !all.contains("'\""), "{all}");
}

/// A TCP listener that only counts the connections it is offered.
struct Recorder {
    port: u16,
    seen: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    async fn start() -> Recorder {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let seen = Arc::new(AtomicUsize::new(0));
        let s = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = l.accept().await {
                s.fetch_add(1, Ordering::SeqCst);
                drop(conn);
            }
        });
        Recorder { port, seen, task }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `kai --model gpt-4o QUESTION` on OpenAI's default endpoint, every HTTPS request routed
/// through `proxy` (so any request for the endpoint would reach it), the sandbox direct.
fn no_key_command(tc: &TestCluster, proxy: u16) -> Command {
    let mut c = tc.kai();
    let p = format!("http://127.0.0.1:{proxy}");
    c.env("HTTPS_PROXY", &p)
        .env("HTTP_PROXY", &p)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .args(["--model", "gpt-4o", "why is backend crashing"]);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_for_the_default_endpoint_is_one_line_and_no_request() {
    let tc = TestCluster::start("demo").await;
    let rec = Recorder::start().await;
    let started = Instant::now();
    let o = run(no_key_command(&tc, rec.port), None).await;
    let elapsed = started.elapsed();
    eprintln!("no-key path answered in {} ms", elapsed.as_millis());
    assert!(o.status.success(), "{}", explain(&o));
    assert!(
        stdout(&o).contains("KeyError: 'DATABASE_URL'"),
        "{}",
        explain(&o)
    );
    let e = stderr(&o);
    let notes: Vec<&str> = e
        .lines()
        .filter(|l| l.contains("answering offline"))
        .collect();
    assert_eq!(notes.len(), 1, "{e}");
    assert!(
        notes[0].contains("no API key") && notes[0].contains("OPENAI_API_KEY"),
        "{e}"
    );
    assert!(!e.contains("retry") && !e.contains("dns"), "{e}");
    assert_eq!(
        rec.seen.load(Ordering::SeqCst),
        0,
        "a request left for the endpoint"
    );
    // A guard, not a benchmark: the offline answer comes without waiting on any network.
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");

    // The control: with a key, the request does go out, through the same proxy.
    let mut c = no_key_command(&tc, rec.port);
    c.env("OPENAI_API_KEY", "sk-test");
    let cfg = tc.dir.path().join("config").join("kai");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(cfg.join("config.toml"), "max_retries = 0\n").unwrap();
    let o = run(c, None).await;
    assert!(o.status.success(), "{}", explain(&o));
    assert!(rec.seen.load(Ordering::SeqCst) >= 1, "{}", explain(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_is_one_line_then_the_offline_answer() {
    let tc = TestCluster::start("demo").await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = ask(
        &tc,
        &[
            "--model",
            "m",
            "--base-url",
            &format!("http://127.0.0.1:{closed}/v1"),
            "why is backend crashing",
        ],
    )
    .await;
    assert!(o.status.success(), "{}", explain(&o));
    assert!(stdout(&o).contains("KeyError"), "{}", explain(&o));
    let e = stderr(&o);
    let about_model: Vec<&str> = e.lines().filter(|l| l.contains("model endpoint")).collect();
    assert_eq!(about_model.len(), 1, "{e}");
    assert!(
        about_model[0].contains("cannot reach") && about_model[0].contains("--base-url"),
        "{e}"
    );
    assert!(!e.contains("retry"), "{e}");
}

/// `cmd` on a pseudo-terminal, its escape codes kept or stripped.
fn pty(cmd: Command, strip_ansi: bool) -> rexpect::session::PtySession {
    spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(PTY_TIMEOUT_MS))
            .strip_ansi_escape_codes(strip_ansi),
    )
    .unwrap()
}

/// Everything `cmd` writes to a pseudo-terminal until it exits, escape codes kept.
fn pty_output(cmd: Command) -> String {
    pty(cmd, false).exp_eof().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piped_output_is_plain_and_a_terminal_gets_styled_wrapped_text() {
    let tc = TestCluster::start("demo").await;
    let piped = ask(&tc, &["why is backend crashing"]).await;
    assert!(piped.status.success(), "{}", explain(&piped));
    let plain = stdout(&piped);
    for marker in ["**", "##", "```", "`", "\x1b["] {
        assert!(
            !plain.contains(marker),
            "{marker:?} in piped output:\n{plain}"
        );
    }
    assert!(
        plain.contains("Cause: ") && plain.contains("- previous log of pod"),
        "{plain}"
    );

    let tc = Arc::new(tc);
    let t = tc.clone();
    let plain_words: Vec<String> = plain.split_whitespace().map(str::to_string).collect();
    tokio::task::spawn_blocking(move || {
        let home = tempfile::tempdir().unwrap();
        // Colours on a terminal.
        let mut cmd = kai_terminal_command(home.path());
        cmd.env_remove("NO_COLOR")
            .arg("--kubeconfig")
            .arg(&t.kubeconfig)
            .args(["--no-stdin", "why is backend crashing"]);
        let out = pty_output(cmd);
        assert!(out.contains("\x1b[1mCause:"), "{out:?}");
        assert!(!out.contains("**") && !out.contains("```"), "{out:?}");

        // NO_COLOR on a 60-column terminal: no escapes, prose wrapped at words, nothing lost.
        let bin = kai_bin().display().to_string();
        let mut cmd = kai_terminal_command(home.path());
        let script = format!(
            "stty rows 40 cols 60 && exec '{bin}' --kubeconfig '{}' --no-stdin 'why is backend crashing' 2>/dev/null",
            t.kubeconfig.display()
        );
        cmd = {
            let mut b = Command::new("bash");
            for (k, v) in cmd.get_envs() {
                match v {
                    Some(v) => b.env(k, v),
                    None => b.env_remove(k),
                };
            }
            b.arg("-c").arg(script);
            b
        };
        let out = pty_output(cmd);
        assert!(!out.contains("\x1b["), "{out:?}");
        let out = out.replace('\r', "");
        for line in out.lines() {
            assert!(line.chars().count() <= 60, "line over 60 columns: {line:?}\n{out}");
        }
        let words: Vec<&str> = out.split_whitespace().collect();
        // Same words as the piped text, bar the pod names and times that differ per run.
        assert_eq!(words.len(), plain_words.len(), "{out}");
    })
    .await
    .unwrap();
}

/// Spawns kai with a stdin pipe kept open by the test, stderr read line by line.
fn spawn_with_open_stdin(
    mut c: Command,
) -> (
    std::process::Child,
    std::process::ChildStdin,
    std::sync::mpsc::Receiver<String>,
) {
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let stdin = child.stdin.take().unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, stdin, rx)
}

/// Waits for the child to exit (bounded), returning its stdout.
async fn finish(mut child: std::process::Child) -> (Option<i32>, String) {
    tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || {
            let mut out = String::new();
            if let Some(mut s) = child.stdout.take() {
                let _ = std::io::Read::read_to_string(&mut s, &mut out);
            }
            let code = child.wait().unwrap().code();
            (code, out)
        }),
    )
    .await
    .expect("kai exited")
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_is_read_for_a_model_with_a_notice_and_never_when_declined_or_offline() {
    let tc = TestCluster::start("demo").await;
    let model = ScriptedModel::start(vec![Scripted::text("It means the pipe works.")]).await;
    let with_model = |extra: &[&str]| {
        let mut c = tc.kai();
        c.env("KAI_API_KEY", "k")
            .args(["--base-url", &model.url(), "--model", "scripted"])
            .args(extra)
            .arg("what does this mean");
        c
    };

    // Held open: a notice on stderr after a second, then the input is read once it ends.
    let (child, mut stdin, lines) = spawn_with_open_stdin(with_model(&[]));
    let notice = tokio::task::spawn_blocking(move || {
        // Bounded: each line within 30 s, at most 20 lines before the notice.
        (0..20)
            .map_while(|_| lines.recv_timeout(Duration::from_secs(30)).ok())
            .find(|l| l.contains("reading stdin"))
            .unwrap_or_default()
    })
    .await
    .unwrap();
    assert!(
        notice.contains("--no-stdin") && notice.contains("/dev/null"),
        "{notice}"
    );
    stdin.write_all(b"piped-canary-line\n").unwrap();
    drop(stdin);
    let (code, out) = finish(child).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("the pipe works"), "{out}");
    assert!(model.requests()[0].raw.contains("piped-canary-line"));

    // --no-stdin: an open pipe is never waited on.
    let (child, stdin, _lines) = spawn_with_open_stdin(with_model(&["--no-stdin"]));
    let (code, out) = finish(child).await;
    drop(stdin);
    assert_eq!(code, Some(0), "{out}");

    // Offline: stdin is not read at all, so a `while read` loop keeps its input.
    let mut c = tc.kai();
    c.arg("why is backend crashing");
    let (child, stdin, _lines) = spawn_with_open_stdin(c);
    let (code, out) = finish(child).await;
    drop(stdin);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("KeyError"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn units_names_and_denials_read_like_a_person_wrote_them() {
    let tc = TestCluster::start("demo").await;
    let o = ask(&tc, &["describe node node-1"]).await;
    let out = stdout(&o);
    assert!(o.status.success(), "{}", explain(&o));
    assert!(
        out.contains("node node-1:") && !out.contains("/node-1"),
        "{out}"
    );
    assert!(
        out.contains("memory=15.6Gi") && out.contains("cpu=4 cores"),
        "{out}"
    );
    assert!(!out.contains("Ki,") && !out.contains("Ki\n"), "{out}");

    let o = ask(&tc, &["list nodes"]).await;
    // Nodes belong to the cluster: no namespace in their title or names.
    let out = stdout(&o);
    assert!(
        out.contains("node-1") && !out.contains("namespace"),
        "{}",
        explain(&o)
    );
    assert!(!out.contains("shop/node"), "{}", explain(&o));

    // A refused change: said once on stderr, exit 4.
    let o = ask(&tc, &["scale backend to 3"]).await;
    assert_eq!(o.status.code(), Some(4), "{}", explain(&o));
    let e = stderr(&o);
    assert_eq!(e.matches("denied").count(), 1, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_without_a_namespace_says_which_one_it_checked() {
    let tc = TestCluster::start("healthy").await;
    let o = ask(&tc, &["health"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", explain(&o));
    assert!(stdout(&o).contains("namespace web"), "{}", explain(&o));
    let e = stderr(&o);
    assert!(
        e.contains("checked namespace web (the context's") && e.contains("-A"),
        "{}",
        explain(&o)
    );
    // Named explicitly, or all: nothing to add.
    for args in [&["health", "-n", "web"][..], &["health", "-A"][..]] {
        let o = ask(&tc, args).await;
        assert_eq!(o.status.code(), Some(0), "{}", explain(&o));
        assert!(!stderr(&o).contains("not checked"), "{}", explain(&o));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repl_tab_lists_the_candidates() {
    let tc = Arc::new(TestCluster::start("demo").await);
    let t = tc.clone();
    tokio::task::spawn_blocking(move || {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = kai_terminal_command(home.path());
        cmd.arg("--kubeconfig").arg(&t.kubeconfig);
        let mut p = pty(cmd, true);
        p.exp_string("(offline) > ").unwrap();
        p.send("/\t\t").unwrap();
        p.flush().unwrap();
        // Listed side by side, not cycled in place one at a time.
        p.exp_string("/mode").unwrap();
        p.exp_string("/tools").unwrap();
        p.send("\x15/exit\r").unwrap();
        p.flush().unwrap();
        p.exp_eof().unwrap();
    })
    .await
    .unwrap();
}

/// A minimal HTTP CONNECT proxy on loopback that counts the tunnels it opened.
async fn connect_proxy() -> (u16, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let tunnels = Arc::new(AtomicUsize::new(0));
    let seen = tunnels.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                    if client.read_exact(&mut byte).await.is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let Some(target) = head
                    .strip_prefix("CONNECT ")
                    .and_then(|r| r.split_whitespace().next())
                else {
                    let _ = client
                        .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                        .await;
                    return;
                };
                let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                seen.fetch_add(1, Ordering::SeqCst);
                if client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .is_ok()
                {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    (port, tunnels)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_behind_an_http_proxy_is_reached_through_it() {
    let tc = TestCluster::start("demo").await;
    let (port, tunnels) = connect_proxy().await;
    let mut c = tc.kai();
    c.env("HTTPS_PROXY", format!("http://127.0.0.1:{port}"))
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .args(["health", "-n", "shop"]);
    let o = run(c, None).await;
    // demo's backend fails: exit 1 with the finding, read through the proxy.
    assert_eq!(o.status.code(), Some(1), "{}", explain(&o));
    assert!(stdout(&o).contains("backend"), "{}", explain(&o));
    assert!(
        tunnels.load(Ordering::SeqCst) >= 1,
        "no tunnel: {}",
        explain(&o)
    );

    // A proxy that is not there: one line naming it, not a hang or a dump.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let mut c = tc.kai();
    c.env("HTTPS_PROXY", format!("http://127.0.0.1:{dead_port}"))
        .args(["health", "-n", "shop"]);
    let o = run(c, None).await;
    assert_ne!(o.status.code(), Some(0), "{}", explain(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", explain(&o));
}
