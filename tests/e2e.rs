//! End to end: the release binary in tmux on the demo fleet — filter, start a VM, read the
//! screen, quit and find the terminal restored.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .cmd(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.cmd(&["send-keys", "-t", &self.session, k]);
        }
    }

    fn literal(&self, text: &str) {
        self.cmd(&["send-keys", "-t", &self.session, "-l", text]);
    }

    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            assert!(
                Instant::now() < until,
                "timed out waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("VIRTDECK_BIN") {
        return PathBuf::from(p);
    }
    let release = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target/release/virtdeck"
    ));
    if release.exists() {
        release
    } else {
        PathBuf::from(env!("CARGO_BIN_EXE_virtdeck"))
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Starts `virtdeck --demo` in a private tmux server; None when tmux is missing outside CI.
fn launch(tag: &str, cfg: &tempfile::TempDir) -> Option<Tmux> {
    if !tmux_available() {
        assert!(std::env::var("CI").is_err(), "tmux is required in CI");
        eprintln!("skipping: tmux not installed");
        return None;
    }
    let t = Tmux {
        socket: format!("vdk-e2e-{tag}-{}", std::process::id()),
        session: "e2e".into(),
    };
    let bin = binary();
    let env = format!("VIRTDECK_CONFIG_DIR={}", cfg.path().display());
    let size = ["-x", "120", "-y", "36"];
    let mut args = vec!["new-session", "-d", "-s", &t.session];
    args.extend(size);
    args.extend(["-e", &env, "-e", "TERM=xterm-256color"]);
    args.extend([bin.to_str().unwrap(), "--demo"]);
    let out = t.cmd(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.cmd(&["set-option", "-t", &t.session, "remain-on-exit", "on"]);
    Some(t)
}

impl Tmux {
    /// Waits for the program to exit; returns "1" or "1 STATUS".
    fn wait_dead(&self) -> String {
        let until = Instant::now() + Duration::from_secs(10);
        let fmt = "#{pane_dead} #{pane_dead_status}";
        loop {
            let o = self.cmd(&["display-message", "-p", "-t", &self.session, fmt]);
            let st = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if st.starts_with('1') || Instant::now() > until {
                return st;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn sigterm_restores_the_terminal() {
    let cfg = tempfile::tempdir().unwrap();
    let Some(t) = launch("term", &cfg) else {
        return;
    };
    t.wait_for("all demo hosts", |s| s.contains("3/3 hosts connected"));
    let pid = t.cmd(&["display-message", "-p", "-t", &t.session, "#{pane_pid}"]);
    let pid = String::from_utf8_lossy(&pid.stdout).trim().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = t.wait_dead();
    // tmux leaves pane_dead_status empty for a clean exit on some versions.
    assert!(
        status == "1" || status == "1 0",
        "clean exit after SIGTERM: {status:?}"
    );
    let s = t.screen();
    assert!(!s.contains("Dashboard"), "alternate screen left: {s}");
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
