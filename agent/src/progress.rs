//! Progress of a turn on stderr: one status line per tool call, retries, and (optionally) the
//! model's text as it streams.

use std::io::Write;
use std::sync::Mutex;

use crate::policy::Decision;
use crate::session::{Event, EventSink};

/// Shows tool calls on stderr (a rewritten status line on a terminal, plain lines otherwise),
/// and streams the model's text to stdout when asked to.
pub struct Progress {
    styled: bool,
    stream_text: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    open_line: bool,
    streamed: bool,
}

impl Progress {
    /// Progress for one-shot runs: tool calls on stderr, the answer printed at the end.
    pub fn new(styled: bool) -> Progress {
        Progress {
            styled,
            stream_text: false,
            state: Mutex::new(State::default()),
        }
    }

    /// Progress for the REPL: the answer also streams to stdout as it arrives.
    pub fn streaming(styled: bool) -> Progress {
        Progress {
            styled,
            stream_text: true,
            state: Mutex::new(State::default()),
        }
    }

    /// Whether any text was streamed to stdout during the turn.
    pub fn streamed(&self) -> bool {
        self.state.lock().map(|s| s.streamed).unwrap_or(false)
    }

    /// Ends an open streamed line so the next output starts clean.
    pub fn finish(&self) {
        if let Ok(mut s) = self.state.lock() {
            if s.streamed {
                println!();
            }
            s.streamed = false;
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
}

impl EventSink for Progress {
    fn event(&self, event: Event<'_>) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        let mut err = std::io::stderr().lock();
        match event {
            Event::Text(t) => {
                if self.stream_text {
                    if st.open_line {
                        let _ = write!(err, "\r\x1b[2K");
                        st.open_line = false;
                    }
                    print!("{t}");
                    let _ = std::io::stdout().flush();
                    st.streamed = true;
                }
            }
            Event::ModelTurn { .. } => {}
            Event::ToolStarted { summary, write, .. } => {
                if st.streamed {
                    println!();
                    st.streamed = false;
                }
                let verb = if write { "change" } else { "check" };
                if self.styled && !write {
                    let _ = write!(err, "\x1b[2m… {verb}: {summary}\x1b[0m");
                    st.open_line = true;
                } else if self.styled {
                    // A write may ask for approval next: leave the line finished.
                    let _ = writeln!(err, "\x1b[2m… {verb}: {summary}\x1b[0m");
                } else {
                    let _ = writeln!(err, "kai: {verb}: {summary}");
                }
            }
            Event::ToolFinished {
                name,
                decision,
                ok,
                detail,
                ..
            } => {
                let mark = match (decision, ok) {
                    (Decision::Denied, _) => "denied",
                    (_, true) => "ok",
                    (_, false) => "failed",
                };
                let detail = detail.lines().next().unwrap_or("");
                if self.styled {
                    if st.open_line {
                        let _ = write!(err, "\r\x1b[2K");
                    }
                    let colour = match mark {
                        "ok" => "\x1b[32m✓",
                        "denied" => "\x1b[33m✗",
                        _ => "\x1b[31m✗",
                    };
                    let _ = writeln!(err, "{colour}\x1b[0m \x1b[2m{name}\x1b[0m {detail}");
                    st.open_line = false;
                } else {
                    let _ = writeln!(err, "kai: {mark}: {name} {detail}");
                }
            }
            Event::Retrying {
                attempt,
                delay,
                reason,
            } => {
                if st.open_line {
                    let _ = writeln!(err);
                    st.open_line = false;
                }
                let _ = writeln!(
                    err,
                    "kai: model request failed ({reason}); retry {attempt} in {:.1}s",
                    delay.as_secs_f32()
                );
            }
        }
    }
}
