//! Progress of a turn on stderr: on a terminal, one spinner line naming the calls that are
//! running, or the model being asked (its step, the seconds waited, the bytes received), and a
//! ✓/✗ line as each call ends; elsewhere, plain `kai: …` lines, with a line every
//! [`REPORT_EVERY`] while the model is slow. Optionally the model's text streams to stdout as it
//! arrives (the REPL).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::events::{Event, EventSink};
use crate::policy::Decision;

const FRAMES: &[&str] = &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const TICK: Duration = Duration::from_millis(100);
/// How often a plain (non-terminal) stderr hears that the model is still being waited for.
const REPORT_EVERY: Duration = Duration::from_secs(15);

/// Shows tool calls on stderr and streams the model's text to stdout when asked to.
pub struct Progress {
    styled: bool,
    stream_text: bool,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    spinner: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Default)]
struct Shared {
    /// Calls running now: (id, label). The offline path has no ids; its label is the key.
    running: Vec<(String, String)>,
    /// The spinner line is on screen (no newline after it yet).
    open: bool,
    frame: usize,
    /// Streamed text is on stdout with no newline after it yet.
    streamed: bool,
    /// The text streamed since the model was last asked: the answer, when it ends the turn.
    segment: String,
    /// The model request under way: when it started, its step, bytes received so far.
    model: Option<ModelWait>,
}

/// A model request under way.
struct ModelWait {
    since: Instant,
    step: usize,
    bytes: usize,
    /// When a plain stderr is next told about it.
    next_report: Duration,
}

impl ModelWait {
    fn line(&self) -> String {
        let secs = self.since.elapsed().as_secs();
        if self.bytes == 0 {
            format!("asking the model (step {}) · {secs}s", self.step)
        } else {
            format!(
                "asking the model (step {}) · {secs}s · {} bytes received",
                self.step, self.bytes
            )
        }
    }
}

impl Shared {
    fn clear_line(&mut self, err: &mut impl Write) {
        if self.open {
            let _ = write!(err, "\r\x1b[2K");
            self.open = false;
        }
    }

    fn draw(&mut self, err: &mut impl Write) {
        let text = if !self.running.is_empty() {
            let labels: Vec<&str> = self.running.iter().map(|(_, l)| l.as_str()).collect();
            labels.join(" · ")
        } else {
            // Not over streamed text: the spinner line would overwrite it on the terminal.
            match &self.model {
                Some(w) if !self.streamed => w.line(),
                _ => {
                    self.clear_line(err);
                    return;
                }
            }
        };
        let frame = FRAMES[self.frame % FRAMES.len()];
        let _ = write!(err, "\r\x1b[2K\x1b[2m{frame} {text}\x1b[0m");
        let _ = err.flush();
        self.open = true;
    }

    /// On a plain stderr, a line now and then while the model is slow.
    fn report(&mut self, err: &mut impl Write) {
        if let Some(w) = self.model.as_mut()
            && w.since.elapsed() >= w.next_report
        {
            w.next_report += REPORT_EVERY;
            let _ = writeln!(err, "kai: still {}", w.line());
        }
    }
}

impl Progress {
    /// Progress for one-shot runs: tool calls on stderr, the answer printed at the end.
    pub fn new(styled: bool) -> Progress {
        Progress {
            styled,
            stream_text: false,
            shared: Arc::new(Mutex::new(Shared::default())),
            stop: Arc::new(AtomicBool::new(false)),
            spinner: Mutex::new(None),
        }
    }

    /// Progress for the REPL: the answer also streams to stdout as it arrives.
    pub fn streaming(styled: bool) -> Progress {
        let mut p = Progress::new(styled);
        p.stream_text = true;
        p
    }

    fn lock(&self) -> Option<MutexGuard<'_, Shared>> {
        self.shared.lock().ok()
    }

    /// Whether `answer` is what was streamed to stdout since the model was last asked (the
    /// REPL then does not print it again).
    pub fn showed(&self, answer: &str) -> bool {
        self.lock()
            .is_some_and(|s| !s.segment.trim().is_empty() && s.segment.trim() == answer.trim())
    }

    /// Ends the turn: stops the spinner and ends an open streamed line.
    pub fn finish(&self) {
        self.stop_spinner();
        if let Some(mut s) = self.lock() {
            s.running.clear();
            s.clear_line(&mut std::io::stderr().lock());
            if s.streamed {
                outln!();
            }
            s.streamed = false;
            s.model = None;
        }
    }

    /// Announces a tool call made outside the model loop (the offline path).
    pub fn started(&self, summary: &str, write: bool) {
        self.event(Event::ToolStarted {
            id: "",
            name: "",
            summary,
            write,
        });
    }

    /// Reports a tool call made outside the model loop as finished.
    pub fn finished(&self, summary: &str, decision: Decision, ok: bool, detail: &str) {
        self.event(Event::ToolFinished {
            id: "",
            name: summary,
            decision,
            ok,
            detail,
        });
    }

    /// Starts the spinner thread on first use; it redraws the line while calls run.
    fn ensure_spinner(&self) {
        let Ok(mut slot) = self.spinner.lock() else {
            return;
        };
        if slot.is_some() {
            return;
        }
        let shared = self.shared.clone();
        let stop = self.stop.clone();
        let styled = self.styled;
        *slot = Some(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(TICK);
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(mut s) = shared.lock() {
                    s.frame += 1;
                    let mut err = std::io::stderr().lock();
                    if !styled {
                        s.report(&mut err);
                    } else if !s.running.is_empty() || s.model.is_some() {
                        s.draw(&mut err);
                    }
                }
            }
        }));
    }

    fn stop_spinner(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.spinner.lock().ok().and_then(|mut s| s.take()) {
            let _ = handle.join();
        }
        self.stop.store(false, Ordering::Relaxed);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop_spinner();
    }
}

impl EventSink for Progress {
    fn event(&self, event: Event<'_>) {
        let Some(mut st) = self.lock() else {
            return;
        };
        let mut err = std::io::stderr().lock();
        match event {
            Event::Text(t) => {
                st.segment.push_str(t);
                if self.stream_text {
                    st.clear_line(&mut err);
                    out!("{t}");
                    let _ = std::io::stdout().flush();
                    st.streamed = true;
                }
            }
            Event::ModelTurn { step } => {
                st.segment.clear();
                st.model = Some(ModelWait {
                    since: Instant::now(),
                    step,
                    bytes: 0,
                    next_report: REPORT_EVERY,
                });
                if self.styled {
                    st.draw(&mut err);
                }
                drop(err);
                drop(st);
                self.ensure_spinner();
            }
            // Token counts are for `kai eval`'s report, not the progress line.
            Event::Usage(_) => {}
            Event::Received { bytes } => {
                if let Some(w) = st.model.as_mut() {
                    w.bytes = bytes;
                }
            }
            Event::ToolStarted {
                id, summary, write, ..
            } => {
                st.model = None;
                if st.streamed {
                    outln!();
                    st.streamed = false;
                }
                let verb = if write { "change" } else { "check" };
                if !self.styled {
                    let _ = writeln!(err, "kai: {verb}: {summary}");
                } else if write {
                    // A write may ask for approval next: leave a finished line, no spinner.
                    st.clear_line(&mut err);
                    let _ = writeln!(err, "\x1b[2m… {verb}: {summary}\x1b[0m");
                } else {
                    st.running.push((id.to_string(), summary.to_string()));
                    st.draw(&mut err);
                    drop(err);
                    drop(st);
                    self.ensure_spinner();
                }
            }
            Event::ToolFinished {
                id,
                name,
                decision,
                ok,
                detail,
            } => {
                let mark = match (decision, ok) {
                    (Decision::Denied, _) => "denied",
                    (_, true) => "ok",
                    (_, false) => "failed",
                };
                let detail = detail.lines().next().unwrap_or("");
                // Name the call as it was announced (with its arguments) when it was running.
                let key = if id.is_empty() { name } else { id };
                let label = match st.running.iter().position(|(i, l)| i == key || l == key) {
                    Some(p) => st.running.remove(p).1,
                    None => name.to_string(),
                };
                if mark == "denied" && detail.is_empty() {
                    // The plan line already said the change was refused, and why.
                    if self.styled {
                        st.clear_line(&mut err);
                        st.draw(&mut err);
                    }
                } else if self.styled {
                    st.clear_line(&mut err);
                    let colour = match mark {
                        "ok" => "\x1b[32m✓",
                        "denied" => "\x1b[33m✗",
                        _ => "\x1b[31m✗",
                    };
                    let _ = writeln!(err, "{colour}\x1b[0m \x1b[2m{label}\x1b[0m {detail}");
                    st.draw(&mut err);
                } else {
                    let _ = writeln!(err, "kai: {mark}: {label} {detail}");
                }
            }
            Event::Retrying {
                attempt,
                delay,
                reason,
            } => {
                st.clear_line(&mut err);
                let _ = writeln!(
                    err,
                    "kai: model request failed ({reason}); retry {attempt} in {:.1}s",
                    delay.as_secs_f32()
                );
                // The spinner line is terminal-only: a plain stderr gets the line above alone.
                if self.styled {
                    st.draw(&mut err);
                }
            }
        }
    }
}
