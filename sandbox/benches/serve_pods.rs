//! Benchmark (not a timed test): serves a generated 10,000-pod cluster and times
//! `kubectl get pods -A -o json` (paged by kubectl, 500 a page), the Table form, and a single
//! unpaged list over raw HTTP; prints the sandbox's peak memory (VmHWM).
//!
//! Run: `cargo bench -p kai-sandbox --bench serve_pods` (release), or add `--profile dev` for a
//! quick debug-build figure. `PODS=N` and `RUNS=N` change the size and the repetitions.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use kai_sandbox::{Sandbox, SandboxOptions, Scenario};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn kubectl() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())?;
    let real = std::fs::canonicalize(on_path).ok()?;
    let pinned = real.parent()?.join("kubectl.1.32");
    Some(if pinned.is_file() { pinned } else { real })
}

fn vm_hwm_kib() -> u64 {
    status_kib("VmHWM:")
}

/// Summary of run times in milliseconds: min, median, max.
fn summary(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    if n == 0 {
        return "no runs".into();
    }
    format!(
        "min {:.0} ms, median {:.0} ms, max {:.0} ms over {n} runs",
        ms[0],
        ms[n / 2],
        ms[n - 1]
    )
}

fn vm_rss_kib() -> u64 {
    status_kib("VmRSS:")
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// What kubectl asks for when it prints a table.
const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

/// One GET over raw HTTP/1.1; returns the whole answer.
fn raw_get(port: u16, path: &str, accept: &str) -> std::io::Result<Vec<u8>> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: {accept}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    Ok(buf)
}

/// One unpaged list; returns the answer's size.
fn raw_list(port: u16) -> std::io::Result<usize> {
    Ok(raw_get(port, "/api/v1/pods", "application/json")?.len())
}

/// A whole list in pages of 500, as kubectl and kube-rs read it; returns the page count.
fn raw_paged(port: u16, accept: &str) -> std::io::Result<usize> {
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let body = raw_get(
            port,
            &format!("/api/v1/pods?limit=500&continue={token}"),
            accept,
        )?;
        pages += 1;
        let text = String::from_utf8_lossy(&body[..body.len().min(4096)]).into_owned();
        match text
            .split("\"continue\":\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
        {
            Some(t) if !t.is_empty() => token = t.to_string(),
            _ => return Ok(pages),
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let pods = env_usize("PODS", 10_000);
    let runs = env_usize("RUNS", 5);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let base_kib = vm_hwm_kib();
    let t = Instant::now();
    let scenario = Scenario::generated(pods);
    let generated = t.elapsed();
    let t = Instant::now();
    let sandbox = rt.block_on(Sandbox::start(scenario, SandboxOptions::default()))?;
    let started = t.elapsed();
    let loaded_kib = vm_rss_kib();
    println!(
        "sandbox: {pods} pods generated in {:.0} ms, loaded and serving in {:.0} ms at {}",
        generated.as_secs_f64() * 1000.0,
        started.as_secs_f64() * 1000.0,
        sandbox.url()
    );
    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("kubeconfig");
    sandbox.write_kubeconfig(&kubeconfig)?;

    let mut raw = Vec::new();
    let mut size = 0;
    for _ in 0..runs {
        let t = Instant::now();
        size = raw_list(sandbox.port())?;
        raw.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "GET /api/v1/pods (one unpaged list, {:.1} MB): {}",
        size as f64 / 1e6,
        summary(raw)
    );

    for (label, accept) in [("JSON", "application/json"), ("Table", TABLE)] {
        let mut paged = Vec::new();
        let mut pages = 0;
        for _ in 0..runs {
            let t = Instant::now();
            pages = raw_paged(sandbox.port(), accept)?;
            paged.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        println!(
            "GET /api/v1/pods?limit=500 as {label} ({pages} pages, as kubectl reads it): {}",
            summary(paged)
        );
    }

    match kubectl() {
        None => println!("kubectl not found on PATH: skipping the kubectl timings"),
        Some(bin) => {
            for (label, extra) in [
                ("kubectl get pods -A -o json", &["-o", "json"][..]),
                ("kubectl get pods -A (Table)", &[][..]),
            ] {
                let mut times = Vec::new();
                for i in 0..runs {
                    let cache = dir
                        .path()
                        .join(format!("cache-{label}-{i}").replace(' ', "_"));
                    let t = Instant::now();
                    let out = Command::new(&bin)
                        .arg(format!("--kubeconfig={}", kubeconfig.display()))
                        .arg(format!("--cache-dir={}", cache.display()))
                        .args(["get", "pods", "-A"])
                        .args(extra)
                        .output()?;
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                    if !out.status.success() {
                        return Err(format!(
                            "{label} failed: {}",
                            String::from_utf8_lossy(&out.stderr)
                        )
                        .into());
                    }
                    if i == 0 {
                        println!("{label}: {:.1} MB of output", out.stdout.len() as f64 / 1e6);
                    }
                }
                println!("{label}: {}", summary(times));
            }
        }
    }
    println!(
        "sandbox memory: peak RSS (VmHWM) {:.1} MB; RSS once loaded {:.1} MB, after the runs {:.1} MB (before loading {:.1} MB)",
        vm_hwm_kib() as f64 / 1024.0,
        loaded_kib as f64 / 1024.0,
        vm_rss_kib() as f64 / 1024.0,
        base_kib as f64 / 1024.0
    );
    sandbox.shutdown();
    Ok(())
}
