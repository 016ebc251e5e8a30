//! `virtdeck console VM[@HOST]`: this terminal attached straight to a VM's serial console,
//! as `virsh console` does. The terminal is put in raw mode (when it is one) so every key
//! reaches the guest, `C-]` detaches, and the mode is restored on every way out (detach,
//! the console ending, SIGTERM/SIGHUP, an error). The guest's bytes go to stdout as they
//! are: the terminal interprets them, exactly as with virsh (nothing is drawn by virtdeck).

use std::io::{IsTerminal, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use super::{tell, FAILED, OK, REFUSED};
use crate::app::HostSpec;
use crate::console::ConsoleIo;
use crate::host::script::{locate_vm, open_console};
use crate::sanitize::text as say;

/// The byte `C-]` sends.
pub const DETACH: u8 = 0x1d;

/// What ends the session.
#[derive(Debug, PartialEq)]
enum End {
    Detached,
    /// The stream ended (guest stopped, console taken over) or failed.
    Closed(String),
    Signal,
}

/// Keystrokes up to `C-]`: the bytes to send, and whether it was there.
pub fn split_detach(chunk: &[u8]) -> (&[u8], bool) {
    match chunk.iter().position(|&b| b == DETACH) {
        Some(i) => (&chunk[..i], true),
        None => (chunk, false),
    }
}

/// Raw mode for as long as it lives, when stdin is a terminal.
struct RawMode(bool);

impl RawMode {
    fn enter() -> RawMode {
        RawMode(std::io::stdin().is_terminal() && crossterm::terminal::enable_raw_mode().is_ok())
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if self.0 {
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
}

pub fn console(t: &str, force: bool, hosts: &[HostSpec]) -> i32 {
    let (vm, pinned) = super::target(t, hosts);
    let (found, troubles) = locate_vm(&super::pairs(hosts), &vm, pinned.as_deref());
    let mut status = OK;
    for f in &troubles {
        status = status.max(tell("console", t, f));
    }
    let l = match found {
        Ok(l) => l,
        Err(f) => return status.max(tell("console", t, &f)),
    };
    let at = format!("{}@{}", say(&l.name), say(&l.host.0));
    if !l.active {
        eprintln!("console {at}: not running (virtdeck start {at})");
        return REFUSED;
    }
    let stream = match open_console(&l, force) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            let hint = if !force && (e.contains("in use") || e.contains("Active console")) {
                " (another client has it: --force takes it over)"
            } else {
                ""
            };
            eprintln!("console {at}: {}{hint}", say(&e));
            return REFUSED;
        }
    };
    let io: Arc<dyn ConsoleIo> = stream;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&stop));
    }
    let raw = RawMode::enter();
    eprint!("Connected to {at}. C-] detaches.\r\n");
    let end = pump(&io, &stop);
    io.abort();
    drop(raw);
    match end {
        End::Detached => {
            eprintln!("\ndetached from {at}");
            OK
        }
        End::Closed(why) => {
            eprintln!("\nconsole of {at} ended: {}", say(&why));
            OK
        }
        End::Signal => {
            eprintln!("\nconsole {at}: interrupted");
            FAILED
        }
    }
}

/// Moves bytes both ways until `C-]`, the end of the stream or a signal.
fn pump(io: &Arc<dyn ConsoleIo>, stop: &AtomicBool) -> End {
    enum Ev {
        Keys(Vec<u8>),
        KeysEnded,
        Closed(String),
    }
    let (tx, rx) = mpsc::channel();
    {
        let (io, tx) = (Arc::clone(io), tx.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut out = std::io::stdout().lock();
            let why = loop {
                match io.recv(&mut buf) {
                    Ok(0) => {
                        break "the stream closed (guest stopped or console taken over)".into()
                    }
                    Ok(n) => {
                        if out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err() {
                            break "stdout closed".into();
                        }
                    }
                    Err(e) => break e,
                }
            };
            let _ = tx.send(Ev::Closed(why));
        });
    }
    // A blocked read of stdin is left behind at the end: the process exits right after.
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        let mut input = std::io::stdin();
        loop {
            match input.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(Ev::KeysEnded);
                    break;
                }
                Ok(n) => {
                    if tx.send(Ev::Keys(buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });
    loop {
        if stop.load(Ordering::Relaxed) {
            return End::Signal;
        }
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Ev::Keys(bytes)) => {
                let (send, detach) = split_detach(&bytes);
                if !send.is_empty() {
                    if let Err(e) = io.send(send) {
                        return End::Closed(e);
                    }
                }
                if detach {
                    return End::Detached;
                }
            }
            // stdin at its end (a pipe): nothing more to type, the same as detaching.
            Ok(Ev::KeysEnded) => return End::Detached,
            Ok(Ev::Closed(why)) => return End::Closed(why),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return End::Closed("gone".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_bracket_detaches_and_what_came_before_is_sent() {
        assert_eq!(split_detach(b"ls\r"), (&b"ls\r"[..], false));
        assert_eq!(split_detach(b"ab\x1dcd"), (&b"ab"[..], true));
        assert_eq!(split_detach(b"\x1d"), (&b""[..], true));
        assert_eq!(
            split_detach(b"\x03"),
            (&b"\x03"[..], false),
            "C-c goes to the guest"
        );
    }
}
