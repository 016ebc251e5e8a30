//! What each finding means: pure functions from what the probes saw (the URI, ssh's outcome,
//! libvirt's facts, a TCP connect, qemu.conf's text, clock offsets) to ✔/⚠/✖ lines with their
//! fixes. Fix lines that name the URI, user or host quote them for a POSIX shell.

use std::time::Duration;

use super::report::Check;
use super::ssh::{Outcome, Target};
use crate::display::{self, Access, Graphics};
use crate::host::doctor::Facts;

/// `word` quoted for a shell line, or a placeholder when no quoting makes it safe to paste.
pub fn quote(word: &str) -> String {
    if word.chars().any(char::is_control) {
        return "'…'".into();
    }
    shlex::try_quote(word).map_or_else(|_| "'…'".into(), |q| q.into_owned())
}

fn virsh(uri: &str, rest: &str) -> String {
    format!("virsh -c {} {rest}", quote(uri))
}

/// A host-given name cut for a line (a fleet's generated names run to hundreds of
/// characters), made safe.
pub fn name(n: &str) -> String {
    crate::fmt::truncate(n, 60)
}

/// `1009000` → `1.9.0`.
pub fn version(v: u32) -> String {
    format!("{}.{}.{}", v / 1_000_000, v / 1000 % 1000, v % 1000)
}

/// The URI's shape. Err: it cannot work and nothing else is tried.
pub fn uri(uri: &str) -> Result<Check, Check> {
    if !uri.contains("://") {
        // libvirt looks names without a scheme up in uri_aliases (libvirt.conf).
        return Ok(Check::warn(
            format!("{uri:?} is not a URI nor a host of config.toml: libvirt will look it up in uri_aliases"),
            "give a URI such as qemu+ssh://root@kvm2/system, or add the host to config.toml",
        ));
    }
    if let Err(e) = crate::app::add_host::validate_uri(uri) {
        return Err(Check::fail(
            format!("the URI does not parse: {e}"),
            "URIs look like qemu:///system, qemu+ssh://root@kvm2/system, qemu+tls://kvm3/system",
        ));
    }
    if let Some(w) = crate::app::add_host::local_command(uri) {
        return Ok(Check::warn(
            format!("the URI parses, but {w}"),
            "use such a URI only if you wrote it yourself",
        ));
    }
    let h = display::uri_host(uri);
    if uri.starts_with("test:") {
        return Ok(Check::ok(
            "the URI parses (the test driver, inside virtdeck)",
        ));
    }
    let how = match (h.transport.as_str(), &h.host) {
        ("", None) | ("unix", _) => "this machine".to_string(),
        (t, Some(host)) => format!("{} over {}", host, if t.is_empty() { "tls" } else { t }),
        (t, None) => format!("this machine over {t}"),
    };
    Ok(Check::ok(format!("the URI parses ({how})")))
}

/// `ssh [-p PORT] [-i KEY] USER@HOST` for fix lines.
fn ssh_words(t: &Target) -> String {
    let mut w = String::new();
    if let Some(p) = t.port.filter(|p| *p != 22) {
        w.push_str(&format!("-p {p} "));
    }
    if let Some(k) = &t.keyfile {
        w.push_str(&format!("-i {} ", quote(k)));
    }
    match &t.user {
        Some(u) => w.push_str(&quote(&format!("{u}@{}", t.host))),
        None => w.push_str(&quote(&t.host)),
    }
    w
}

/// The ssh login's lines, and whether it logged in (then libvirt's connect is worth trying).
pub fn ssh(t: &Target, o: &Outcome) -> (Vec<Check>, bool) {
    let mut out = Vec::new();
    let login = ssh_words(t);
    let took = format!("{} ms", o.elapsed.as_millis());
    let err = o
        .stderr
        .lines()
        .rfind(|l| !l.trim().is_empty() && !l.starts_with("Warning: Permanently added"))
        .unwrap_or("")
        .trim()
        .to_string();
    if let Some(e) = &o.spawn_error {
        out.push(Check::fail(
            e.clone(),
            "install the OpenSSH client (openssh-client)",
        ));
        return (out, false);
    }
    if let Some(k) = &t.keyfile {
        if o.stderr.contains("not accessible") {
            out.push(Check::warn(
                format!("keyfile {k:?} cannot be read: ssh tried its other keys"),
                "point keyfile= at a readable private key, or drop it",
            ));
        }
    }
    let lower = o.stderr.to_ascii_lowercase();
    if o.timed_out {
        out.push(Check::fail(
            format!("ssh did not finish within {:.0} s", o.elapsed.as_secs_f64()),
            format!("check that `ssh {login} true` answers (network, firewall, sshd)"),
        ));
        return (out, false);
    }
    let host_key_bad = lower.contains("host key verification failed")
        || lower.contains("remote host identification has changed");
    if host_key_bad {
        out.push(Check::fail(
            format!("the host key of {} is not known (or changed): {err}", t.host),
            format!(
                "check the key's fingerprint, then connect once with `ssh {login}` and accept it (or ssh-keyscan{} {} >> {})",
                t.port.map_or(String::new(), |p| format!(" -p {p}")),
                quote(&t.host),
                t.known_hosts.as_deref().map_or("~/.ssh/known_hosts".into(), quote)
            ),
        ));
        out.push(Check::info(
            "key authentication not tried: the host key comes first",
        ));
        return (out, false);
    }
    if o.status != Some(0) || o.get("end").is_none() {
        let unreachable = [
            "connection refused",
            "timed out",
            "could not resolve",
            "no route",
            "network is unreachable",
            "connection closed",
            "connection reset",
        ]
        .iter()
        .any(|w| lower.contains(w));
        if unreachable {
            out.push(Check::fail(
                format!("ssh cannot reach {}: {err}", t.host),
                "check the host name and port, that sshd runs there and that a firewall lets port 22 (or the URI's port) through",
            ));
        } else if lower.contains("permission denied")
            || lower.contains("too many authentication failures")
        {
            out.push(Check::ok(format!("the host key of {} is known", t.host)));
            out.push(Check::fail(
                format!("key authentication fails without a prompt (ssh -o BatchMode=yes): {err}"),
                format!(
                    "ssh-copy-id {login} (then the key logs in), or load the key into ssh-agent, or add ?keyfile=PATH to the URI"
                ),
            ));
        } else {
            out.push(Check::fail(
                format!(
                    "ssh {login} failed (status {}): {err}",
                    o.status.map_or("-".into(), |s| s.to_string())
                ),
                format!("run `ssh -o BatchMode=yes {login} true` to see why"),
            ));
        }
        return (out, false);
    }
    if t.no_verify {
        out.push(Check::warn(
            "the host key is not checked (no_verify=1)",
            format!("connect once with `ssh {login}` to record the key, then drop no_verify=1"),
        ));
    } else {
        out.push(Check::ok(format!("the host key of {} is known", t.host)));
    }
    out.push(Check::ok(format!(
        "key authentication works without a prompt (ssh -o BatchMode=yes, {took})"
    )));
    let helper = o.get("helper").filter(|v| !v.is_empty());
    let nc = o.get("nc").filter(|v| !v.is_empty());
    out.push(match (helper, nc) {
        (Some(h), _) => Check::ok(format!("virt-ssh-helper on the far side ({h})")),
        (None, Some(n)) => Check::ok(format!(
            "nc on the far side ({n}); virt-ssh-helper is not there (libvirt ≥ 6.8 prefers it)"
        )),
        (None, None) => Check::fail(
            "neither virt-ssh-helper nor nc on the far side: libvirt cannot reach the daemon",
            "install libvirt-daemon (virt-ssh-helper) or netcat-openbsd on the host",
        ),
    });
    (out, true)
}

/// The connect line.
pub fn connect(uri: &str, r: &Result<Facts, String>) -> Check {
    match r {
        Ok(f) => {
            let ms = f.connect_time.as_millis();
            if f.connect_time >= Duration::from_secs(2) {
                Check::warn(
                    format!("connected in {ms} ms (slow)"),
                    "a slow link or DNS: check `ssh` or name resolution to the host",
                )
            } else {
                Check::ok(format!("connected in {ms} ms"))
            }
        }
        Err(e) => Check::fail(
            format!("cannot connect: {e}"),
            crate::host::hint(uri, e).map_or_else(
                || {
                    format!(
                        "check that libvirtd (or virtqemud) runs on the host and listens for this transport; try `{}`",
                        virsh(uri, "version")
                    )
                },
                str::to_string,
            ),
        ),
    }
}

pub fn versions(f: &Facts, client: Option<u32>) -> Check {
    let lib = f.lib_version.map_or("?".into(), version);
    let here = client.map_or(String::new(), |c| format!(" (this machine {})", version(c)));
    let hv = match (&f.driver, f.hv_version) {
        (Some(d), Some(v)) if v > 0 => format!("{d} {}", version(v)),
        (Some(d), _) => d.clone(),
        (None, _) => "hypervisor unknown".into(),
    };
    Check::ok(format!("libvirt {lib}{here}, {hv}"))
}

pub fn access(uri: &str, f: &Facts) -> Check {
    match &f.readonly_because {
        None => Check::ok("full access (read and change)"),
        Some(e) => Check::warn(
            format!("read-only access: the full connection was refused ({e})"),
            format!(
                "connect as a member of the libvirt group (usermod -aG libvirt USER, then log in again) or as root; `{}` shows the refusal",
                virsh(uri, "list")
            ),
        ),
    }
}

pub fn kvm(f: &Facts) -> Check {
    match f.kvm {
        None => Check::info(format!(
            "KVM not checked: the {} driver is not QEMU",
            f.driver.as_deref().unwrap_or("?")
        )),
        Some(true) => Check::ok("KVM available (domcapabilities virttype=kvm)"),
        Some(false) => Check::warn(
            format!(
                "no KVM: VMs run emulated (TCG), many times slower ({})",
                f.kvm_error.as_deref().unwrap_or("-")
            ),
            "enable VT-x/AMD-V in the firmware, load kvm_intel or kvm_amd, check that /dev/kvm exists and QEMU may open it",
        ),
    }
}

pub fn network(uri: &str, f: &Facts) -> Check {
    match &f.networks {
        Err(e) => Check::warn(format!("networks cannot be listed: {e}"), ""),
        Ok(ns) => match ns.iter().find(|(n, _)| n == "default") {
            Some((_, true)) => Check::ok("the default network is active"),
            Some((_, false)) => Check::warn(
                "the default network exists but is not active: new VMs on it cannot start",
                format!(
                    "{}; {}",
                    virsh(uri, "net-start default"),
                    virsh(uri, "net-autostart default")
                ),
            ),
            None => Check::warn(
                format!(
                    "no network named default ({} other{})",
                    ns.len(),
                    if ns.len() == 1 { "" } else { "s" }
                ),
                format!(
                    "{} (the file is in libvirt-daemon-config-network), then net-start and net-autostart default",
                    virsh(uri, "net-define /usr/share/libvirt/networks/default.xml")
                ),
            ),
        },
    }
}

pub fn pools(uri: &str, f: &Facts) -> Check {
    match &f.pools {
        Err(e) => Check::warn(format!("storage pools cannot be listed: {e}"), ""),
        Ok(ps) => {
            let active: Vec<&str> = ps
                .iter()
                .filter(|(_, a)| *a)
                .map(|(n, _)| n.as_str())
                .collect();
            if active.is_empty() {
                Check::warn(
                    format!("no active storage pool ({} defined)", ps.len()),
                    format!(
                        "{}; then pool-start and pool-autostart default",
                        virsh(
                            uri,
                            "pool-define-as default dir --target /var/lib/libvirt/images"
                        )
                    ),
                )
            } else {
                let mut names = active
                    .iter()
                    .take(5)
                    .map(|n| name(n))
                    .collect::<Vec<_>>()
                    .join(", ");
                if active.len() > 5 {
                    names.push_str(", …");
                }
                Check::ok(format!(
                    "{} active storage pool{} ({names})",
                    active.len(),
                    if active.len() == 1 { "" } else { "s" }
                ))
            }
        }
    }
}

/// One display of a running VM: `reachable` is the TCP connect to its URL from here (None:
/// there is no URL to try).
pub fn graphics(vm: &str, g: &Graphics, a: &Access, reachable: Option<bool>) -> Check {
    let kind = g.kind.label();
    let vm = name(vm);
    if let Some(w) = display::listen_warning(g) {
        return Check::warn(
            format!("{vm}: {kind}: {w}"),
            a.tunnel.clone().unwrap_or_default(),
        );
    }
    if let Some(w) = display::exposure(g) {
        return Check::warn(
            format!("{vm}: {w}"),
            "set a password (<graphics passwd=…>) or listen on 127.0.0.1 and use the ssh -L line",
        );
    }
    let tunnel = a.tunnel.as_deref().map(|t| {
        format!(
            "{t}  then open {}",
            a.tunnel_url.as_deref().unwrap_or("the forwarded port")
        )
    });
    match (&a.url, reachable) {
        (Some(url), Some(true)) => Check::ok(format!("{vm}: {kind} {url} reachable from here")),
        (Some(url), _) => Check::warn(
            format!("{vm}: {kind} {url} does not answer from here"),
            tunnel.unwrap_or_else(|| {
                "open the port in the host's firewall, or reach it through libvirt (virtdeck's preview)".into()
            }),
        ),
        (None, _) => match tunnel {
            Some(t) => Check::ok(format!(
                "{vm}: {kind} not reachable directly ({}); through: {t}",
                a.note.as_deref().unwrap_or("listens on the host's loopback")
            )),
            None => Check::info(format!(
                "{vm}: {kind} {}",
                a.note.as_deref().or(a.warning.as_deref()).unwrap_or("no URL")
            )),
        },
    }
}

/// The migration port range set in qemu.conf's text (either end may be unset).
pub fn parse_ports(conf: &str) -> (Option<u32>, Option<u32>) {
    let mut min = None;
    let mut max = None;
    for line in conf.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().parse::<u32>().ok();
        match k.trim() {
            "migration_port_min" => min = v.or(min),
            "migration_port_max" => max = v.or(max),
            _ => {}
        }
    }
    (min, max)
}

/// Where qemu.conf came from, for the migration ports line.
pub enum Conf {
    /// Its text and where it was read (`/etc/libvirt/qemu.conf`, `over ssh`).
    Read(String, String),
    /// Why it was not read.
    Unknown(String),
    /// No migration on this driver.
    NotApplicable,
}

pub fn migration_ports(c: &Conf) -> Option<Check> {
    let (text, from) = match c {
        Conf::NotApplicable => return None,
        Conf::Unknown(why) => {
            return Some(Check::info(format!("migration ports unknown: {why}")));
        }
        Conf::Read(t, f) => (t, f),
    };
    let (min, max) = parse_ports(text);
    let (lo, hi) = (min.unwrap_or(49152), max.unwrap_or(49215));
    let whence = if min.is_none() && max.is_none() {
        format!("libvirt's defaults, {from} sets none")
    } else {
        format!("from {from}")
    };
    Some(if lo == 0 || hi > 65535 || lo > hi {
        Check::fail(
            format!("migration ports {lo}–{hi} ({whence}) are not a range libvirt can use"),
            "set 1024 ≤ migration_port_min ≤ migration_port_max ≤ 65535 in qemu.conf and restart libvirtd",
        )
    } else {
        Check::ok(format!(
            "migration ports {lo}–{hi} ({whence}): open TCP {lo}-{hi} between hosts"
        ))
    })
}

/// How a host's clock compares with this machine's.
#[derive(Clone, Debug, PartialEq)]
pub enum Clock {
    /// The host is this machine (a local or loopback URI).
    Same,
    /// Measured: host minus here, in seconds, and how.
    Offset(f64, String),
    Unknown(String),
    NotApplicable,
}

/// `+1.2`, and `0.0` rather than `-0.0` for what rounds to nothing.
fn seconds(s: f64) -> String {
    if s.abs() < 0.05 {
        "0.0".into()
    } else {
        format!("{s:+.1}")
    }
}

const SKEW_WARN: f64 = 1.0;
/// TLS certificates and Kerberos tickets fail beyond a few minutes.
const SKEW_FAIL: f64 = 300.0;

fn judge_skew(text: String, skew: f64) -> Check {
    let fix = "run time synchronisation on every host (chrony or systemd-timesyncd: timedatectl set-ntp true)";
    if skew.abs() > SKEW_FAIL {
        Check::fail(
            format!("{text}: TLS certificates and migrations break"),
            fix,
        )
    } else if skew.abs() > SKEW_WARN {
        Check::warn(text, fix)
    } else {
        Check::ok(text)
    }
}

pub fn clock(c: &Clock) -> Option<Check> {
    match c {
        Clock::NotApplicable => None,
        Clock::Same => Some(Check::ok("clock: this machine's own")),
        Clock::Unknown(why) => Some(Check::info(format!("clock not measured: {why}"))),
        Clock::Offset(o, how) => Some(judge_skew(
            format!("clock {} s from this machine ({how})", seconds(*o)),
            *o,
        )),
    }
}

/// The skew between the hosts whose clocks are known: (host name, clock).
pub fn skew(clocks: &[(String, Clock)]) -> Option<Check> {
    let known: Vec<(&str, f64)> = clocks
        .iter()
        .filter_map(|(n, c)| match c {
            Clock::Same => Some((n.as_str(), 0.0)),
            Clock::Offset(o, _) => Some((n.as_str(), *o)),
            _ => None,
        })
        .collect();
    let applicable = clocks
        .iter()
        .filter(|(_, c)| *c != Clock::NotApplicable)
        .count();
    if applicable < 2 {
        return None;
    }
    if known.len() < 2 {
        return Some(Check::info(
            "clock skew between hosts not measured: fewer than two clocks known",
        ));
    }
    let by = |a: &&(&str, f64), b: &&(&str, f64)| a.1.total_cmp(&b.1);
    let (lo, hi) = match (known.iter().min_by(by), known.iter().max_by(by)) {
        (Some(l), Some(h)) => (l, h),
        _ => return None,
    };
    let unknown = applicable - known.len();
    let text = format!(
        "clock skew between hosts {:.1} s ({} {} s, {} {} s from this machine; each host's `date` over ssh, local hosts by this machine's clock{})",
        hi.1 - lo.1,
        lo.0,
        seconds(lo.1),
        hi.0,
        seconds(hi.1),
        if unknown > 0 {
            format!("; {unknown} not measured")
        } else {
            String::new()
        }
    );
    Some(judge_skew(text, hi.1 - lo.1))
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
