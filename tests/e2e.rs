//! End to end: the release binary in tmux on the demo fleet — filter, start a VM, read the
//! screen, quit and find the terminal restored.

mod common;

use common::tmux::{usable, Tmux};

/// Starts `virtdeck --demo` in a private tmux server; None when tmux is missing outside CI.
fn launch(tag: &str, cfg: &tempfile::TempDir) -> Option<Tmux> {
    if !usable() {
        return None;
    }
    let t = Tmux::launch(
        format!("vdk-e2e-{tag}-{}", std::process::id()),
        "e2e",
        (120, 36),
        cfg.path(),
        &["--demo"],
    );
    Some(t)
}

#[test]
fn demo_filter_start_and_quit_in_tmux() {
    let cfg = tempfile::tempdir().unwrap();
    let Some(t) = launch("main", &cfg) else {
        return;
    };

    // More than one host: the dashboard comes first.
    let s = t.wait_for("dashboard", |s| {
        s.contains("Dashboard 3/3 hosts connected") && s.contains("26/30")
    });
    assert!(s.contains("kvm-prod-01") && s.contains("lab-edge"), "{s}");
    t.keys(&["2"]);
    let s = t.wait_for("VM table", |s| {
        s.contains("3/3 connected") && s.contains("67/67")
    });
    assert!(s.contains("kvm-prod-01") && s.contains("lab-edge"), "{s}");

    // Filter to one shut-off VM.
    t.keys(&["/"]);
    t.literal("kali");
    t.keys(&["Enter"]);
    let s = t.wait_for("filtered table", |s| s.contains("VMs 1/67"));
    assert!(s.contains("kali-lab") && s.contains("■ shut off"), "{s}");

    // Start it; the row turns to running.
    t.keys(&["s"]);
    let s = t.wait_for("kali-lab running", |s| {
        s.lines()
            .any(|l| l.contains("kali-lab") && l.contains("▶ running"))
    });
    assert!(!s.contains("failed"), "{s}");

    // Force off asks first; n keeps it running.
    t.keys(&["F"]);
    t.wait_for("confirmation", |s| s.contains("Force off kali-lab?"));
    t.keys(&["n"]);
    let s = t.wait_for("dialog closed", |s| !s.contains("Force off kali-lab?"));
    assert!(
        s.lines()
            .any(|l| l.contains("kali-lab") && l.contains("▶ running")),
        "{s}"
    );

    // Help overlay from the keymap.
    t.keys(&["?"]);
    t.wait_for("help", |s| {
        s.contains("Help") && s.contains("Force off (confirm)")
    });
    t.keys(&["Escape"]);

    // Quit: the alternate screen is gone and the pane shows the shell's normal screen.
    t.keys(&["q"]);
    let s = t.wait_for("exit", |s| !s.contains("Hosts 3/3"));
    assert!(!s.contains("VMs 1/67"), "{s}");
    let status = t.wait_dead();
    // tmux leaves pane_dead_status empty for a clean exit on some versions.
    assert!(
        status == "1" || status == "1 0",
        "exited promptly with status 0: {status:?}"
    );
}

/// The events pane remembers earlier runs: a log with a truncated last line (a crash
/// mid-write) loads with the line skipped, this run's events are appended on a new line,
/// and a second run lists both runs' events.
#[test]
fn events_survive_a_restart_and_a_truncated_line() {
    if !usable() {
        return;
    }
    let cfg = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    std::fs::write(
        cfg.path().join("config.toml"),
        "[[hosts]]\nname = \"t1\"\nuri = \"test:///default\"\n",
    )
    .unwrap();
    let log = state.path().join("events.jsonl");
    std::fs::write(
        &log,
        "{\"t\":1733400000000,\"host\":\"t1\",\"uuid\":\"u-old\",\"vm\":\"old-vm\",\"event\":8,\"detail\":0}\n{\"t\":17334",
    )
    .unwrap();
    let env = format!("VIRTDECK_STATE_DIR={}", state.path().display());
    let run = |tag: &str| {
        Tmux::launch_env(
            format!("vdk-e2e-ev{tag}-{}", std::process::id()),
            "ev",
            (120, 30),
            cfg.path(),
            &[env.as_str()],
            &[],
        )
    };
    let t = run("1");
    t.wait_for("the VM table", |s| s.contains("VMs 1/1"));
    // Pause the test driver's running VM: a lifecycle event.
    t.keys(&["p"]);
    t.wait_for("paused", |s| s.contains("paused"));
    t.keys(&["7"]);
    let s = t.wait_for("the events pane", |s| {
        s.contains("old-vm") && s.contains("paused (by request)")
    });
    assert!(s.contains("earlier runs") && s.contains("crashed"), "{s}");
    t.keys(&["q"]);
    t.wait_dead();
    let text = std::fs::read_to_string(&log).unwrap();
    // After the cut line, on lines of their own: the pause, and virtdeck's own events.
    let after: Vec<&str> = text.lines().skip(2).collect();
    assert!(after.iter().all(|l| l.starts_with("{\"t\":")), "{text}");
    assert!(after.iter().any(|l| l.contains("\"event\":3")), "{text}");
    assert!(
        after.iter().any(|l| l.contains("\"kind\":\"action\"")),
        "{text}"
    );

    let t = run("2");
    t.wait_for("the VM table", |s| s.contains("VMs 1/1"));
    t.keys(&["7"]);
    let s = t.wait_for("both runs' events", |s| {
        s.contains("old-vm") && s.contains("paused (by request)")
    });
    assert!(s.contains("earlier runs"), "{s}");
    t.keys(&["L"]);
    t.wait_for("the load said in the log", |s| {
        s.contains("from earlier runs, 1 unreadable line(s) skipped")
    });
    t.keys(&["Escape", "q"]);
    t.wait_dead();
}
