//! End to end on the hostile fleet (`tests/fixtures/hostile-fleet.xml`): the release binary in
//! tmux, every pane visited at 80×24 and 200×50. What tmux holds is what a terminal would
//! show: no control or format character may reach it, and every bordered row must end in the
//! last column (a separator or bidi override shifts rows in a real terminal).

mod common;

use std::time::Duration;

use common::tmux::{usable, Tmux};
use unicode_width::UnicodeWidthStr;

fn fleet_uri() -> String {
    format!(
        "test://{}/tests/fixtures/hostile-fleet.xml",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Lets the frame that answers a key reach tmux before it is read.
fn settled(t: &Tmux) -> String {
    let mut last = t.screen();
    loop {
        std::thread::sleep(Duration::from_millis(150));
        let now = t.screen();
        if now == last {
            return now;
        }
        last = now;
    }
}

fn check(pane: &str, screen: &str, cols: usize) {
    for (i, line) in screen.lines().enumerate() {
        assert!(
            !line.chars().any(virtdeck::sanitize::is_unsafe),
            "{pane}: line {i} carries a control or format character: {line:?}"
        );
        let bordered = line.starts_with('│') || line.starts_with('┌') || line.starts_with('└');
        if bordered {
            assert_eq!(
                line.width(),
                cols,
                "{pane}: line {i} is not {cols} cells wide:\n{screen}"
            );
            assert!(
                line.ends_with('│') || line.ends_with('┐') || line.ends_with('┘'),
                "{pane}: line {i} lost its right border:\n{screen}"
            );
        }
    }
}

fn visit_every_pane(cols: u16, rows: u16) {
    if !usable() {
        return;
    }
    let cfg = tempfile::tempdir().unwrap();
    let uri = fleet_uri();
    let t = Tmux::launch(
        format!("vdk-hostile-{cols}-{}", std::process::id()),
        "h",
        (cols, rows),
        cfg.path(),
        &["-c", &uri],
    );
    t.wait_for("the hostile VMs", |s| {
        s.contains("┌ VMs ") && s.contains("running")
    });
    let cols = usize::from(cols);
    check("VM table", &settled(&t), cols);
    for (key, pane, marker) in [
        ("3", "pools", "Pools"),
        ("4", "networks", "Networks"),
        ("5", "migrations", "Migrations"),
        ("2", "VM table again", "VMs"),
        ("G", "VM table bottom", "VMs"),
        ("Enter", "VM detail", "Overview"),
        ("Tab", "VM hardware", "Hardware"),
        ("Tab", "VM snapshots", "Snapshots"),
        ("Tab", "VM XML", "XML"),
        ("Escape", "VM table", "VMs"),
        ("L", "log", "Log"),
    ] {
        t.keys(&[key]);
        t.wait_for(pane, |s| s.to_lowercase().contains(&marker.to_lowercase()));
        check(pane, &settled(&t), cols);
    }
    // The log overlay takes the first Escape; q then quits.
    t.keys_apart(&["Escape", "q"]);
    let status = t.wait_dead();
    assert!(status.starts_with('1'), "virtdeck did not quit: {status:?}");
}

#[test]
fn hostile_fleet_every_pane_80x24() {
    visit_every_pane(80, 24);
}

#[test]
fn hostile_fleet_every_pane_200x50() {
    visit_every_pane(200, 50);
}
