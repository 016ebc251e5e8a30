//! Owning the terminal: entering and leaving the full-screen mode, and termination signals
//! (restore within a bounded time even when the UI thread is busy, exit with 128+n).

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use crossterm::event::{DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::DefaultTerminal;

use crate::app::Msg;

/// Whether the terminal reports clicks and the wheel (`--no-mouse`, `mouse = false` turn it
/// off, leaving the terminal's own text selection alone).
static MOUSE: AtomicBool = AtomicBool::new(false);

/// Chooses, before `enter`, whether the mouse is used.
pub fn set_mouse(on: bool) {
    MOUSE.store(on, Ordering::SeqCst);
}

pub fn mouse() -> bool {
    MOUSE.load(Ordering::SeqCst)
}

/// Clicks and the wheel only: normal tracking (1000) with SGR coordinates (1006). Motion
/// reports (1003, part of crossterm's `EnableMouseCapture`) would wake the loop on every
/// move of the pointer. `restore` switches all of them off.
struct EnableMouseClicks;

impl crossterm::Command for EnableMouseClicks {
    fn write_ansi(&self, f: &mut impl std::fmt::Write) -> std::fmt::Result {
        f.write_str("\x1b[?1000h\x1b[?1006h")
    }
}

/// Raw mode, the alternate screen, bracketed paste (a paste arrives as one event, never
/// as keys that could answer a question) and, unless turned off, the mouse.
pub fn enter() -> io::Result<DefaultTerminal> {
    enable_raw_mode()?;
    if let Err(e) = resume() {
        restore();
        return Err(e);
    }
    ratatui::Terminal::new(CrosstermBackend::new(io::stdout()))
}

/// Takes the screen back after `suspend` (an external editor ran).
pub fn resume() -> io::Result<()> {
    enable_raw_mode()?;
    crossterm::execute!(io::stdout(), EnterAlternateScreen, EnableBracketedPaste)?;
    if mouse() {
        crossterm::execute!(io::stdout(), EnableMouseClicks)?;
    }
    Ok(())
}

/// Leaves every mode `enter` set. Safe from any thread and when nothing was entered; errors
/// are ignored because there is nobody left to tell.
pub fn restore() {
    // Raw mode first: it has more side effects than the screen switch.
    let _ = disable_raw_mode();
    // One lock for the whole sequence so it is not interleaved with a frame being drawn.
    let mut out = io::stdout().lock();
    // Every mouse mode, whichever `resume` set: also after `--no-mouse`, where it costs
    // nothing.
    let _ = crossterm::execute!(
        out,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = out.flush();
}

/// A panic on the UI thread (named "main") gives back fd 2 and the terminal, then prints (and
/// names the log file when there is one, which has the backtrace: every panic goes there).
/// Elsewhere (a worker, which reports its own failure) the message goes to the log through
/// the captured stderr, and nowhere while nothing captures it: it would garble the screen.
pub fn install_panic_hook() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        crate::log::panicked(info);
        if std::thread::current().name() == Some("main") {
            crate::stderr::restore();
            restore();
            report(info);
            if let Some(path) = crate::log::path() {
                eprintln!(
                    "virtdeck: the panic and its backtrace are in {}",
                    path.display()
                );
            }
        } else if crate::stderr::active() {
            report(info);
        }
    }));
}

/// The termination signal received, 0 for none.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Gives the terminal and fd 2 back and exits with `status`, whatever other threads are doing.
pub fn forced_exit(status: i32) -> ! {
    crate::stderr::restore();
    restore();
    std::process::exit(status)
}

/// The exit status the process owes for a termination signal: 128+n, as shells report it.
pub fn signal_status() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        n => Some(128 + n),
    }
}

/// How long the UI thread gets to leave cleanly after a signal before the terminal is
/// restored from the signal thread (the whole exit must fit in 1 s).
pub const GRACE: Duration = Duration::from_millis(700);

/// Turns SIGTERM/SIGHUP/SIGINT into `Msg::Terminate`, so the loop exits through the normal
/// path. If it has not within `GRACE` (the UI thread is busy), or a second signal comes,
/// the terminal is restored from this thread and the process exits with 128+n.
pub fn spawn_signals(tx: Sender<Msg>) -> io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let Some(n) = signals.forever().next() else {
                return;
            };
            SIGNAL.store(n, Ordering::SeqCst);
            let _ = tx.send(Msg::Terminate);
            watchdog(
                GRACE,
                || signals.pending().next().is_some(),
                || forced_exit(128 + n),
            );
        })?;
    Ok(())
}

/// Waits up to `grace` (checking `go_now`, e.g. "a second signal came", every 10 ms), then
/// runs `on_timeout`. The clean exit normally ends the process before that.
pub fn watchdog(grace: Duration, mut go_now: impl FnMut() -> bool, on_timeout: impl FnOnce()) {
    let until = Instant::now() + grace;
    while Instant::now() < until && !go_now() {
        std::thread::sleep(Duration::from_millis(10));
    }
    on_timeout();
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    #[test]
    fn watchdog_waits_its_grace_unless_told_to_go_now() {
        let t0 = Instant::now();
        let mut fired = None;
        super::watchdog(
            Duration::from_millis(150),
            || false,
            || fired = Some(t0.elapsed()),
        );
        let after = fired.unwrap();
        assert!(
            after >= Duration::from_millis(150) && after < Duration::from_secs(1),
            "{after:?}"
        );

        let t0 = Instant::now();
        let mut checks = 0;
        let mut fired = None;
        super::watchdog(
            Duration::from_secs(10),
            || {
                checks += 1;
                checks == 3
            },
            || fired = Some(t0.elapsed()),
        );
        assert!(fired.unwrap() < Duration::from_secs(1), "{fired:?}");
    }
}
