//! The scripting commands on a real qemu:///system with KVM, run as the binary a script would
//! run: `list --json` shows the tiny guest (hostile name and all) with its state, CPU % over
//! a sample and its tags; start, shutdown and destroy by name; the exit statuses for a missing
//! VM (2), a refusal by libvirt (3), an unreachable host (4) and a name two hosts share (the
//! same daemon reached as two URIs: 2, with both hosts named). Skipped without KVM.

mod common;

use std::process::{Command, Output};

use common::guest::{kvm_available, Guest, URI};

const SSH_URI: &str = "qemu+ssh://root@127.0.0.1/system";

fn vd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_virtdeck"))
        .env("VIRTDECK_CONFIG_DIR", "/nonexistent-vdk-config")
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn list_and_lifecycle_with_exit_statuses() {
    if !kvm_available() {
        return;
    }
    let g = Guest::define("script");
    let o = vd(&["-c", URI, "start", &g.name]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Started twice: libvirt refuses.
    let o = vd(&["-c", URI, "start", &g.name]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("already"), "{}", text(&o));

    let o = vd(&[
        "-c",
        URI,
        "list",
        "--json",
        "--sample",
        "1s",
        "--filter",
        "state:running",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let me = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["uuid"] == g.uuid.as_str())
        .unwrap_or_else(|| panic!("the guest is listed: {rows}"));
    assert_eq!(me["name"], g.name.as_str());
    assert_eq!(me["state"], "running");
    let cpu = me["cpu_percent"].as_f64().expect("a CPU % over the sample");
    assert!((0.0..=100.0).contains(&cpu), "{cpu}");

    // Not found, unreachable.
    let o = vd(&["-c", URI, "shutdown", "vdk-no-such-vm"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = vd(&["-c", "qemu+tcp://127.0.0.1:1/system", "hosts"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));

    // The same daemon as two hosts: the name is on both, so it must be pinned.
    if vd(&["-c", SSH_URI, "hosts"]).status.success() {
        let o = vd(&["-c", URI, "-c", SSH_URI, "destroy", &g.name]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains("say which with"), "{}", text(&o));
    } else {
        println!("skipped the ambiguous-name part: {SSH_URI} does not answer");
    }
    let o = vd(&["-c", URI, "destroy", &format!("{}@{URI}", g.name)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = vd(&["-c", URI, "list", "--filter", "state:running"]);
    assert!(
        !text(&o).contains(&g.uuid) && !String::from_utf8_lossy(&o.stdout).contains("vdk-script")
    );
}

/// `virtdeck console` in a terminal (tmux): the guest answers what is typed, `C-c` goes to
/// the guest (the program stays), `C-]` detaches with status 0. A shut-off VM is refused (3).
#[test]
fn console_attaches_the_terminal_and_c_bracket_detaches() {
    if !kvm_available() {
        return;
    }
    if !common::tmux::usable() {
        return;
    }
    let g = Guest::define("cons-cli");
    let o = vd(&["-c", URI, "console", &g.name]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("not running"), "{}", text(&o));
    let o = vd(&["-c", URI, "start", &g.name]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let cfg = tempfile::tempdir().unwrap();
    let t = common::tmux::Tmux::launch(
        format!("vdk-cons-{}", std::process::id()),
        "cons",
        (100, 30),
        cfg.path(),
        &["-c", URI, "console", &g.name],
    );
    t.wait_for("the banner", |s| s.contains("C-] detaches"));
    t.type_until_echoed("hello", std::time::Duration::from_secs(40));
    let dead = || {
        let o = t.cmd(&["display-message", "-p", "-t", "cons", "#{pane_dead}"]);
        String::from_utf8_lossy(&o.stdout).trim() == "1"
    };
    t.keys(&["C-c"]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(!dead(), "C-c goes to the guest: {}", t.screen());
    t.keys(&["C-]"]);
    let s = t.wait_for("detached", |s| s.contains("detached from"));
    assert!(s.contains(&g.name), "{s}");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !dead() {
        assert!(
            std::time::Instant::now() < until,
            "still running: {}",
            t.screen()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = t.cmd(&["display-message", "-p", "-t", "cons", "#{pane_dead_status}"]);
    let st = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(st == "0" || st.is_empty(), "exit status {st:?}");
}
