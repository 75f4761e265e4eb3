//! The controlling terminal as an asynchronous line reader: dropping a read (Ctrl-C, a
//! cancelled turn) leaves no thread blocked on the terminal to swallow the next line.

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;

use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;

/// Most bytes of an answer line kept.
const MAX_LINE: usize = 1024;

/// `/dev/tty`: a non-blocking reader registered with the runtime, and a writer.
pub struct Tty {
    rx: pipe::Receiver,
    out: File,
}

impl Tty {
    /// Opens the controlling terminal; `None` without one (or outside a runtime).
    pub fn open() -> Option<Tty> {
        let reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/tty")
            .ok()?;
        let out = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/tty")
            .ok()?;
        // A terminal is not a pipe, but it is a pollable character device, which is all the
        // receiver needs.
        let rx = pipe::Receiver::from_file_unchecked(reader).ok()?;
        Some(Tty { rx, out })
    }

    /// Where the question is written.
    pub fn writer(&self) -> &File {
        &self.out
    }

    /// Reads one line (the terminal is in canonical mode, so a line arrives whole); `None` at
    /// end of input or on an error. Cancel-safe: nothing is read once the future is dropped.
    pub async fn read_line(&mut self) -> Option<String> {
        let mut line = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            let n = self.rx.read(&mut buf).await.ok()?;
            if n == 0 {
                return (!line.is_empty()).then(|| String::from_utf8_lossy(&line).into_owned());
            }
            line.extend_from_slice(&buf[..n]);
            if let Some(end) = line.iter().position(|b| *b == b'\n') {
                line.truncate(end);
                return Some(String::from_utf8_lossy(&line).into_owned());
            }
            line.truncate(MAX_LINE);
        }
    }
}
