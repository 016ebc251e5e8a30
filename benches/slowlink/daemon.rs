//! The far end: a private libvirtd (`scripts/libvirtd2.sh`) started inside the namespace,
//! listening on the namespace's veth address. Its own directories are bind-mounted over
//! /run/libvirt & co. in its own mount namespace, so the system libvirtd is never touched;
//! its unix socket (reached without the slow link) is used to set the fleet up.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::link::Netns;
use super::Res;

/// libvirtd's TCP port inside the namespace (the namespace has ports of its own).
pub const PORT: u16 = 16509;

pub struct Daemon {
    base: PathBuf,
    /// `…/libvirt-sock`: the setup path, not delayed.
    pub socket: String,
}

fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/libvirtd2.sh")
}

/// `bash scripts/libvirtd2.sh VERB` for our directory, through `prefix` (e.g. `ip netns
/// exec NS`) when given.
fn script(base: &Path, verb: &str, prefix: &[&str]) -> Command {
    let mut c = match prefix.split_first() {
        Some((prog, args)) => {
            let mut c = Command::new(prog);
            c.args(args).arg("bash");
            c
        }
        None => Command::new("bash"),
    };
    c.arg(script_path())
        .arg(verb)
        .env("VIRTDECK_LAB2_DIR", base)
        .env("VIRTDECK_LAB2_PORT", PORT.to_string())
        .env("VIRTDECK_LAB2_HOSTNAME", "vd-slowlink")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    c
}

impl Daemon {
    pub fn start(ns: &Netns) -> Res<Daemon> {
        let base = PathBuf::from(format!("/run/virtdeck-slowlink-{}", std::process::id()));
        let mut d = Daemon {
            base,
            socket: String::new(),
        };
        // `ip netns exec` puts the script (and the daemon it starts) in the namespace.
        let o = script(&d.base, "start", &["ip", "netns", "exec", &ns.name])
            .env("VIRTDECK_LAB2_LISTEN", &ns.addr)
            .output()?;
        let out = String::from_utf8_lossy(&o.stdout);
        if !o.status.success() {
            return Err(format!("scripts/libvirtd2.sh start failed ({})", o.status).into());
        }
        d.socket = out
            .lines()
            .find_map(|l| l.strip_prefix("unix="))
            .and_then(|u| u.split_once("socket="))
            .map(|(_, s)| s.to_string())
            .ok_or("scripts/libvirtd2.sh start printed no unix= line")?;
        Ok(d)
    }

    /// A test-driver URI through the unix socket: the shared `default` host, no delay.
    pub fn local_uri(&self) -> String {
        format!("test+unix:///default?socket={}", self.socket)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = script(&self.base, "stop", &[])
            .stdout(Stdio::null())
            .status();
        // The script keeps its lock file beside the directory; ours is per run.
        let _ = std::fs::remove_file(format!("{}.lock", self.base.display()));
    }
}
