//! The ssh part of `virtdeck doctor`: one `ssh -o BatchMode=yes` login (never a prompt,
//! stdin closed, killed at a deadline) with the options libvirt would use for the URI, running
//! a fixed command that says whether `virt-ssh-helper` and `nc` are there, the host's time and
//! qemu.conf's migration ports. ssh is run with an argument list, never through a shell.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use crate::display::uri_host;

/// How libvirt would log in for an ssh URI.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub keyfile: Option<String>,
    pub known_hosts: Option<String>,
    /// `no_verify=1`: libvirt skips the host key check.
    pub no_verify: bool,
}

/// `%XX` escapes of a URI query value decoded (libvirt decodes them too).
fn unescape(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(x)) => {
                out.push(x);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query parameter `key` of `uri` (the last one wins, as in libvirt).
pub fn param(uri: &str, key: &str) -> Option<String> {
    let q = uri.split_once('?')?.1;
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .rfind(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| unescape(v))
}

/// The login of an ssh-family URI (`+ssh`, `+libssh`, `+libssh2`); None for others.
pub fn target(uri: &str) -> Option<Target> {
    let h = uri_host(uri);
    if !matches!(h.transport.as_str(), "ssh" | "libssh" | "libssh2") {
        return None;
    }
    Some(Target {
        user: h.user.filter(|u| !u.is_empty()),
        host: h.host?,
        port: h.port,
        // An empty value is no value (`-i ""` would be an empty argument).
        keyfile: param(uri, "keyfile").filter(|k| !k.is_empty()),
        // libvirt reads known_hosts= only for its in-process ssh (libssh, libssh2); the ssh
        // program uses its own files.
        known_hosts: (h.transport != "ssh")
            .then(|| param(uri, "known_hosts"))
            .flatten()
            .filter(|k| !k.is_empty()),
        no_verify: param(uri, "no_verify").is_some_and(|v| v != "0"),
    })
}

/// What runs on the far side: fixed text, tagged lines. `date` is last but one so the time
/// of its line's arrival is close to when it ran.
const REMOTE: &str = "echo vdk-helper=$(command -v virt-ssh-helper); \
echo vdk-nc=$(command -v nc); \
if test -r /etc/libvirt/qemu.conf; then echo vdk-conf=readable; \
grep -E '^[[:space:]]*migration_port_(min|max)' /etc/libvirt/qemu.conf | sed 's/^/vdk-conf=/'; \
else echo vdk-conf=unreadable; fi; \
echo vdk-date=$(date +%s.%N); echo vdk-end=1";

/// ssh's arguments for `t` (BatchMode: a missing key fails instead of asking).
pub fn args(t: &Target, connect_timeout: Duration) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "-T".into(),
        "-o".into(),
        "BatchMode=yes".into(),
        "-o".into(),
        format!("ConnectTimeout={}", connect_timeout.as_secs().max(1)),
        "-o".into(),
        format!(
            "StrictHostKeyChecking={}",
            if t.no_verify { "no" } else { "yes" }
        ),
    ];
    if let Some(k) = &t.known_hosts {
        a.extend(["-o".into(), format!("UserKnownHostsFile={k}")]);
    }
    if let Some(p) = t.port {
        a.extend(["-p".into(), p.to_string()]);
    }
    if let Some(k) = &t.keyfile {
        a.extend(["-i".into(), k.clone()]);
    }
    if let Some(u) = &t.user {
        a.extend(["-l".into(), u.clone()]);
    }
    a.extend(["--".into(), t.host.clone(), REMOTE.into()]);
    a
}

/// What the login showed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// ssh's exit status; None when it was killed at the deadline or did not start.
    pub status: Option<i32>,
    pub stderr: String,
    /// `vdk-KEY=VALUE` lines as (KEY, VALUE).
    pub tagged: Vec<(String, String)>,
    /// This machine's clock when the `vdk-date` line arrived.
    pub date_arrived: Option<SystemTime>,
    pub elapsed: Duration,
    pub timed_out: bool,
    /// Why ssh could not be run at all.
    pub spawn_error: Option<String>,
}

impl Outcome {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.tagged
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.tagged
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The far side's clock minus ours, in seconds, from the `date` line.
    pub fn offset(&self) -> Option<f64> {
        let d = self.get("date")?.trim();
        // busybox's date has no %N: "1700000000.N" still gives the seconds.
        let remote: f64 = d
            .parse()
            .ok()
            .or_else(|| d.split('.').next()?.parse().ok())?;
        let here = self
            .date_arrived?
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()?
            .as_secs_f64();
        Some(remote - here)
    }
}

/// Logs in once; gives up (killing ssh) after `deadline`.
pub fn run(t: &Target, deadline: Duration) -> Outcome {
    let t0 = Instant::now();
    let mut out = Outcome::default();
    let spawned = Command::new("ssh")
        .args(args(t, deadline.min(Duration::from_secs(5))))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            out.spawn_error = Some(format!("cannot run ssh: {e}"));
            return out;
        }
    };
    let (tx, rx) = mpsc::channel::<Option<(String, SystemTime)>>();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(Some((line, SystemTime::now())));
            }
            let _ = tx.send(None);
        });
    }
    let (etx, erx) = mpsc::channel();
    if let Some(mut stderr) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            let _ = etx.send(s);
        });
    }
    let until = t0 + deadline;
    loop {
        match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok(Some((line, at))) => {
                if let Some((k, v)) = line.strip_prefix("vdk-").and_then(|l| l.split_once('=')) {
                    if k == "date" {
                        out.date_arrived = Some(at);
                    }
                    out.tagged.push((k.to_string(), v.to_string()));
                }
            }
            Ok(None) => break,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                out.timed_out = true;
                let _ = child.kill();
                break;
            }
        }
    }
    out.status = child.wait().ok().and_then(|s| s.code());
    if out.timed_out {
        out.status = None;
    }
    out.stderr = erx
        .recv_timeout(Duration::from_millis(500))
        .unwrap_or_default();
    out.elapsed = t0.elapsed();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_follow_the_uri() {
        let t = target("qemu+ssh://root@kvm2:2222/system?keyfile=/k%20ey&no_verify=1").unwrap();
        assert_eq!(
            t,
            Target {
                user: Some("root".into()),
                host: "kvm2".into(),
                port: Some(2222),
                keyfile: Some("/k ey".into()),
                known_hosts: None,
                no_verify: true,
            }
        );
        assert!(target("qemu:///system").is_none());
        assert!(target("qemu+tcp://h/system").is_none());
        assert!(target("qemu+libssh2://h/system").is_some());
        assert_eq!(
            target("qemu+ssh://h/system?known_hosts=/k")
                .unwrap()
                .known_hosts,
            None
        );
        assert_eq!(
            target("qemu+libssh://h/system?known_hosts=/k")
                .unwrap()
                .known_hosts
                .as_deref(),
            Some("/k")
        );
    }

    #[test]
    fn args_are_a_list_and_never_prompt() {
        let t = target("qemu+ssh://-oProxyCommand=x@kvm2/system?keyfile=/k").unwrap();
        let a = args(&t, Duration::from_secs(5));
        assert!(a.windows(2).any(|w| w == ["-o", "BatchMode=yes"]));
        assert!(a
            .windows(2)
            .any(|w| w == ["-o", "StrictHostKeyChecking=yes"]));
        assert!(a.windows(2).any(|w| w == ["-i", "/k"]));
        // The user is an option's value and the host comes after `--`: neither is read as
        // an option.
        assert!(a.windows(2).any(|w| w == ["-l", "-oProxyCommand=x"]));
        let dashdash = a.iter().position(|w| w == "--").unwrap();
        assert_eq!(a[dashdash + 1], "kvm2");
        assert_eq!(a.len(), dashdash + 3);
    }

    #[test]
    fn offset_from_the_date_line() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let o = Outcome {
            tagged: vec![("date".into(), "1002.5".into())],
            date_arrived: Some(at),
            ..Outcome::default()
        };
        assert_eq!(o.offset(), Some(2.5));
        // busybox date without %N prints a literal N.
        let o = Outcome {
            tagged: vec![("date".into(), "1002.N".into())],
            date_arrived: Some(at),
            ..Outcome::default()
        };
        assert_eq!(o.offset(), Some(2.0));
    }
}
