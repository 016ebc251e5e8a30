//! Ways out of the program, each in a child process (this test binary started again):
//! SIGTERM while the UI thread is busy (it never reads its messages): the signal thread's
//! watchdog restores the terminal and exits with 128+15 within a second; a second signal exits
//! at once. A panic on the UI thread while stderr is captured is printed on the real stderr,
//! after the terminal is restored; a worker's panic goes to the log.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD: &str = "VIRTDECK_SIGNALS_CHILD";

/// In the child: signals handled as in the program, then `n` SIGTERMs and a UI thread that
/// stays busy.
fn child(n: usize) {
    let (tx, _rx) = std::sync::mpsc::channel();
    virtdeck::term::spawn_signals(tx).unwrap();
    println!("raising");
    for _ in 0..n {
        // SAFETY: raising a signal the handler thread above has registered for.
        unsafe { libc::raise(libc::SIGTERM) };
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_secs(10));
    println!("still running");
}

/// In the child: stderr captured as in the program, a worker panics, then the UI thread.
fn panicking_child() {
    virtdeck::term::install_panic_hook();
    let _capture = virtdeck::stderr::Capture::start(|line| println!("LOG: {line}")).unwrap();
    let worker = std::thread::Builder::new()
        .name("worker".into())
        .spawn(|| panic!("worker fell over"))
        .unwrap();
    assert!(worker.join().is_err());
    std::thread::sleep(Duration::from_millis(200));
    let ui = std::thread::Builder::new()
        .name("main".into())
        .spawn(|| panic!("the UI fell over"))
        .unwrap();
    let _ = ui.join();
    std::process::exit(3);
}

#[test]
fn a_ui_panic_is_printed_on_the_real_stderr_after_the_terminal_is_restored() {
    if std::env::var(CHILD).is_ok() {
        return panicking_child();
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_ui_panic_is_printed_on_the_real_stderr_after_the_terminal_is_restored",
            "--nocapture",
        ])
        .env(CHILD, "panic")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stderr.contains("the UI fell over"), "{stderr}");
    assert!(!stderr.contains("worker fell over"), "{stderr}");
    assert!(
        stdout.contains("LOG: thread 'worker'") && stdout.contains("LOG: worker fell over"),
        "{stdout}"
    );
    assert!(restored(&stdout), "{stdout:?}");
}

/// Runs test `name` in a child; returns (time from "raising" to exit, status, stdout).
fn in_child(name: &str, n: usize) -> (Duration, Option<i32>, String) {
    let mut c = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD, n.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(c.stdout.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("raising") {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "child said: {seen}");
        seen.push_str(&line);
    }
    let t0 = Instant::now();
    let status = c.wait().unwrap();
    let took = t0.elapsed();
    out.read_to_string(&mut seen).unwrap();
    (took, status.code(), seen)
}

fn restored(out: &str) -> bool {
    // Bracketed paste off, alternate screen left, cursor shown.
    ["\x1b[?2004l", "\x1b[?1049l", "\x1b[?25h"]
        .iter()
        .all(|s| out.contains(s))
}

#[test]
fn sigterm_while_the_ui_is_busy_restores_and_exits_143_within_a_second() {
    if let Ok(n) = std::env::var(CHILD) {
        return child(n.parse().unwrap());
    }
    let (took, status, out) = in_child(
        "sigterm_while_the_ui_is_busy_restores_and_exits_143_within_a_second",
        1,
    );
    assert_eq!(status, Some(143), "{out:?}");
    assert!(restored(&out), "{out:?}");
    assert!(!out.contains("still running"));
    assert!(
        took >= virtdeck::term::GRACE - Duration::from_millis(50),
        "the UI thread gets its chance first: {took:?}"
    );
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[test]
fn a_second_sigterm_exits_at_once() {
    if let Ok(n) = std::env::var(CHILD) {
        return child(n.parse().unwrap());
    }
    let (took, status, out) = in_child("a_second_sigterm_exits_at_once", 2);
    assert_eq!(status, Some(143), "{out:?}");
    assert!(restored(&out), "{out:?}");
    assert!(took < virtdeck::term::GRACE / 2, "{took:?}");
}
