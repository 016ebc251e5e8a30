//! The log for bug reports: the binary with `--log-file` on the test driver writes a connect
//! line with its duration (and nothing on the screen); a panic on the UI thread leaves its
//! message and backtrace in the log and names the file on stderr.

mod common;

use std::process::Command;

use common::tmux::{usable, Tmux};

#[test]
fn log_file_has_the_connect_with_its_duration() {
    if !usable() {
        return;
    }
    let cfg = tempfile::tempdir().unwrap();
    let log = cfg.path().join("sub/virtdeck.log");
    let t = Tmux::launch(
        format!("vdk-log-{}", std::process::id()),
        "log",
        (120, 36),
        cfg.path(),
        &["-c", "test:///default", "--log-file", log.to_str().unwrap()],
    );
    let s = t.wait_for("the test host's VM", |s| s.contains("test"));
    assert!(!s.contains("elapsed_ms"), "log lines on the screen: {s}");
    t.keys(&["q"]);
    t.wait_dead();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("virtdeck started"), "{text}");
    let connect = text
        .lines()
        .find(|l| l.contains("connect") && l.contains("test:///default"))
        .unwrap_or_else(|| panic!("no connect line: {text}"));
    assert!(connect.contains("elapsed_ms="), "{connect}");
    assert!(
        text.lines()
            .any(|l| l.contains("poll") && l.contains("elapsed_ms=")),
        "{text}"
    );
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
}

const CHILD: &str = "VIRTDECK_LOGS_CHILD";

/// In the child: the log as the program starts it, then a panic on the UI thread.
fn panicking_child(path: &str) {
    let _guard = virtdeck::log::init(Some(std::path::Path::new(path))).unwrap();
    virtdeck::term::install_panic_hook();
    let ui = std::thread::Builder::new()
        .name("main".into())
        .spawn(|| panic!("the UI fell over \x1b[31m"))
        .unwrap();
    let _ = ui.join();
    std::process::exit(3);
}

#[test]
fn a_panic_goes_to_the_log_with_its_backtrace() {
    if let Ok(path) = std::env::var(CHILD) {
        return panicking_child(&path);
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("virtdeck.log");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_panic_goes_to_the_log_with_its_backtrace",
            "--nocapture",
        ])
        .env(CHILD, &log)
        .env_remove("VIRTDECK_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("are in {}", log.display())),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("the UI fell over"), "{text}");
    assert!(text.contains("backtrace:"), "{text}");
    assert!(
        text.contains("a_panic_goes_to_the_log"),
        "no frames: {text}"
    );
    assert!(!text.contains('\x1b'), "{text:?}");
}

/// A scripting command logs its end with its exit status (the start line alone said nothing
/// of how it went).
#[test]
fn a_script_command_logs_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("virtdeck.log");
    let out = Command::new(env!("CARGO_BIN_EXE_virtdeck"))
        .env("VIRTDECK_CONFIG_DIR", "/nonexistent-vdk-config")
        .args(["--log-file"])
        .arg(&log)
        .args(["-c", "test:///default", "start", "vdk-no-such-vm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = std::fs::read_to_string(&log).unwrap();
    let end = text
        .lines()
        .find(|l| l.contains("command finished"))
        .unwrap_or_else(|| panic!("no end line: {text}"));
    assert!(
        end.contains("command=\"start\"") || end.contains("command=start"),
        "{end}"
    );
    assert!(end.contains("status=2"), "{end}");
    assert!(
        !end.contains("vdk-no-such-vm"),
        "no arguments in the log: {end}"
    );
}
