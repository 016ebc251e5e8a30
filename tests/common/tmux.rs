//! A private tmux server running the release binary, for end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    pub socket: String,
    pub session: String,
}

impl Tmux {
    /// Starts the virtdeck binary with `args` in a private tmux server (`socket`) of
    /// `cols`x`rows`, config from `cfg`, panes kept after exit so the exit status can be read.
    pub fn launch(
        socket: String,
        session: &str,
        size: (u16, u16),
        cfg: &Path,
        args: &[&str],
    ) -> Tmux {
        Tmux::launch_env(socket, session, size, cfg, &[], args)
    }

    /// `launch` with more `NAME=value` variables in the program's environment.
    pub fn launch_env(
        socket: String,
        session: &str,
        size: (u16, u16),
        cfg: &Path,
        vars: &[&str],
        args: &[&str],
    ) -> Tmux {
        let t = Tmux {
            socket,
            session: session.into(),
        };
        let env = format!("VIRTDECK_CONFIG_DIR={}", cfg.display());
        let bin = binary();
        let (cols, rows) = (size.0.to_string(), size.1.to_string());
        let mut cmd = vec![
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            &cols,
            "-y",
            &rows,
            "-e",
            &env,
            "-e",
            "TERM=xterm-256color",
        ];
        for v in vars {
            cmd.extend(["-e", v]);
        }
        cmd.push(bin.to_str().unwrap());
        cmd.extend_from_slice(args);
        let out = t.cmd(&cmd);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        t.cmd(&["set-option", "-t", session, "remain-on-exit", "on"]);
        t
    }

    pub fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs")
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .cmd(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.cmd(&["send-keys", "-t", &self.session, k]);
        }
    }

    /// Keys with a pause between them: an Escape followed at once by a key reads as Alt+key.
    pub fn keys_apart(&self, keys: &[&str]) {
        for k in keys {
            self.keys(&[k]);
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    pub fn literal(&self, text: &str) {
        self.cmd(&["send-keys", "-t", &self.session, "-l", text]);
    }

    pub fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.wait_within(what, Duration::from_secs(20), ok)
    }

    pub fn wait_within(&self, what: &str, limit: Duration, ok: impl Fn(&str) -> bool) -> String {
        match self.poll_within(limit, ok) {
            Ok(s) => s,
            Err(s) => panic!("timed out waiting for {what}; screen:\n{s}"),
        }
    }

    /// Types `text` and Enter until the guest on the serial console echoes the line (the tiny
    /// guest answers `echo: TEXT`). A guest still booting or slowed by a busy machine drops
    /// keys (its UART's FIFO is 16 bytes); a CI run once lost a whole line.
    pub fn type_until_echoed(&self, text: &str, limit: Duration) {
        let want = format!("echo: {text}");
        let until = Instant::now() + limit;
        loop {
            self.literal(text);
            self.keys(&["Enter"]);
            std::thread::sleep(Duration::from_millis(800));
            let s = self.screen();
            if s.contains(&want) {
                return;
            }
            assert!(Instant::now() < until, "no echo of {text:?}: {s}");
        }
    }

    /// The screen once `ok` holds, or the last one seen when `limit` passes first.
    pub fn poll_within(
        &self,
        limit: Duration,
        ok: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        let until = Instant::now() + limit;
        loop {
            let s = self.screen();
            if ok(&s) {
                return Ok(s);
            }
            if Instant::now() >= until {
                return Err(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

pub fn binary() -> PathBuf {
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

/// Whether the tmux tests can run: CI must have tmux; elsewhere a test without it is
/// reported as skipped.
pub fn usable() -> bool {
    if tmux_available() {
        return true;
    }
    assert!(std::env::var("CI").is_err(), "tmux is required in CI");
    eprintln!("skipped: tmux not installed");
    false
}

pub fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

impl Tmux {
    /// Waits for the program to exit; returns "1" or "1 STATUS".
    pub fn wait_dead(&self) -> String {
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
