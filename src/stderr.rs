//! While the screen is ours, fd 2 goes into a pipe and comes back as log lines: libvirt's own
//! logging (`virFileClose … invalid fd`), libxml2's warnings (`I/O warning : failed to load
//! external entity …`) and helpers libvirt spawns would otherwise write over the UI.
//!
//! The original fd 2 is kept open so it can be put back on exit, before a panic message, and
//! while an external editor has the terminal.

use std::io::{self, Read};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Instant;

/// A copy of the original fd 2 while captured, else -1.
static SAVED: AtomicI32 = AtomicI32::new(-1);
/// The pipe's write end while captured (to capture again after `pause`), else -1.
static PIPE: AtomicI32 = AtomicI32::new(-1);

/// Longest line passed on; the rest of a longer one is cut.
const MAX_LINE: usize = 1000;
/// Lines passed on in a burst, and per second after it; a flood beyond that is counted and
/// dropped (the pipe is still drained, so writers never block).
const BURST: f64 = 200.0;
const PER_SECOND: f64 = 50.0;

/// fd 2 is captured while this lives; dropping it puts the original back.
#[derive(Debug)]
pub struct Capture(());

impl Capture {
    /// Points fd 2 at a pipe; each line written to it (cleaned of control characters, cut at
    /// `MAX_LINE`, rate-limited) goes to `sink` from a thread of its own.
    pub fn start(sink: impl FnMut(String) + Send + 'static) -> io::Result<Capture> {
        if SAVED.load(Ordering::SeqCst) >= 0 {
            return Err(io::Error::other("stderr is already captured"));
        }
        let mut fds = [-1; 2];
        // SAFETY: plain syscalls on descriptors this function owns; results are checked.
        unsafe {
            if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
                return Err(io::Error::last_os_error());
            }
            let (read, write) = (OwnedFd::from_raw_fd(fds[0]), fds[1]);
            let saved = libc::fcntl(2, libc::F_DUPFD_CLOEXEC, 3);
            if saved < 0 || libc::dup2(write, 2) < 0 {
                let e = io::Error::last_os_error();
                libc::close(write);
                if saved >= 0 {
                    libc::close(saved);
                }
                return Err(e);
            }
            SAVED.store(saved, Ordering::SeqCst);
            PIPE.store(write, Ordering::SeqCst);
            let reader = std::thread::Builder::new()
                .name("stderr".into())
                .spawn(move || drain(std::fs::File::from(read), sink));
            if let Err(e) = reader {
                restore();
                return Err(e);
            }
        }
        Ok(Capture(()))
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the original fd 2 back for good and closes the pipe (its reader ends once the last
/// writer is gone). Safe to call more than once and from any thread (panic hook, watchdog).
pub fn restore() {
    let saved = SAVED.swap(-1, Ordering::SeqCst);
    if saved >= 0 {
        // SAFETY: `saved` is our own copy of the original fd 2, taken out of SAVED above.
        unsafe {
            libc::dup2(saved, 2);
            libc::close(saved);
        }
    }
    let pipe = PIPE.swap(-1, Ordering::SeqCst);
    if pipe >= 0 {
        // SAFETY: the write end was stored by `start` and is closed only here.
        unsafe { libc::close(pipe) };
    }
}

/// Set while `pause` has given fd 2 back.
static PAUSED: AtomicBool = AtomicBool::new(false);

/// Whether fd 2 goes to the pipe now.
pub fn active() -> bool {
    SAVED.load(Ordering::SeqCst) >= 0 && !PAUSED.load(Ordering::SeqCst)
}

/// Gives fd 2 back to the terminal while another program (an editor) owns the screen.
pub fn pause() {
    let saved = SAVED.load(Ordering::SeqCst);
    if saved >= 0 {
        PAUSED.store(true, Ordering::SeqCst);
        // SAFETY: dup2 onto fd 2 from our own open copy.
        unsafe { libc::dup2(saved, 2) };
    }
}

/// Captures fd 2 again after `pause`.
pub fn resume() {
    let pipe = PIPE.load(Ordering::SeqCst);
    if pipe >= 0 {
        // SAFETY: dup2 onto fd 2 from the pipe's open write end.
        unsafe { libc::dup2(pipe, 2) };
        PAUSED.store(false, Ordering::SeqCst);
    }
}

/// Reads the pipe until every writer is gone, passing complete lines to `sink`.
fn drain(mut pipe: std::fs::File, mut sink: impl FnMut(String)) {
    let mut limit = Limit::new(Instant::now());
    let mut line = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        for &b in &buf[..n] {
            if b == b'\n' {
                limit.pass(clean(&line), Instant::now(), &mut sink);
                line.clear();
            } else if line.len() < MAX_LINE {
                line.push(b);
            }
        }
    }
    limit.pass(clean(&line), Instant::now(), &mut sink);
    limit.flush(&mut sink);
}

/// One line as text fit for the screen: control characters (a stray ESC would reach the
/// terminal through the log pane) become U+FFFD.
fn clean(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .trim_end()
        .chars()
        .map(|c| match c {
            '\t' => ' ',
            c if c.is_control() => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// A token bucket over lines, counting what it drops.
struct Limit {
    tokens: f64,
    at: Instant,
    dropped: u64,
}

impl Limit {
    fn new(now: Instant) -> Limit {
        Limit {
            tokens: BURST,
            at: now,
            dropped: 0,
        }
    }

    fn pass(&mut self, line: String, now: Instant, sink: &mut impl FnMut(String)) {
        if line.is_empty() {
            return;
        }
        let refill = now.saturating_duration_since(self.at).as_secs_f64() * PER_SECOND;
        self.tokens = (self.tokens + refill).min(BURST);
        self.at = now;
        if self.tokens < 1.0 {
            self.dropped += 1;
            return;
        }
        self.tokens -= 1.0;
        self.flush(sink);
        sink(line);
    }

    /// Says how many lines were dropped since the last line passed.
    fn flush(&mut self, sink: &mut impl FnMut(String)) {
        if self.dropped > 0 {
            sink(format!(
                "({} more lines on stderr were dropped: too many)",
                std::mem::take(&mut self.dropped)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn lines_are_cleaned_of_control_characters() {
        assert_eq!(clean(b"a\x1b[2Jb\r"), "a\u{fffd}[2Jb");
        assert_eq!(clean(b"x\ty  "), "x y");
        assert_eq!(clean(b"\xff!"), "\u{fffd}!");
    }

    #[test]
    fn a_flood_is_cut_and_counted() {
        let t0 = Instant::now();
        let mut l = Limit::new(t0);
        let mut out = Vec::new();
        for i in 0..1000 {
            l.pass(format!("line {i}"), t0, &mut |s| out.push(s));
        }
        assert_eq!(out.len(), BURST as usize);
        // Once tokens come back, the count of dropped lines comes first.
        const REFILL: Duration = Duration::from_secs(1);
        l.pass("later".into(), t0 + REFILL, &mut |s| out.push(s));
        let tail = &out[out.len() - 2..];
        assert_eq!(tail[0], "(800 more lines on stderr were dropped: too many)");
        assert_eq!(tail[1], "later");
        l.pass(String::new(), t0 + REFILL, &mut |s| out.push(s));
        assert_eq!(out.len(), BURST as usize + 2, "empty lines are skipped");
    }
}
