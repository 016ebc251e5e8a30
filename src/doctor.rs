//! `virtdeck doctor [-c URI]...`: checks each host before trouble does, one ✔/⚠/✖ line per
//! finding with its fix: the URI, the ssh login (no prompt, host key, virt-ssh-helper or nc),
//! the connect time, versions, access, KVM, the default network, an active pool, each running
//! VM's display, migration ports and clocks. Hosts are checked in parallel, each bounded by
//! the timeout; exit status 1 when anything is ✖. Probing is here and in `host::doctor`
//! (libvirt), judging in [`checks`], formatting in [`report`].

pub mod checks;
pub mod report;
pub mod ssh;

use std::io::{IsTerminal, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::app::HostSpec;
use crate::display;
use crate::host::doctor::{self as hd, Facts};
use checks::{Clock, Conf};
use report::{Check, Section, Style};

/// How long a host may take to answer (connect, ssh login).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(8);

/// Marks for stdout: colour on a terminal unless NO_COLOR; words on the Linux console.
pub fn stdout_style() -> Style {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    Style {
        color: std::io::stdout().is_terminal() && !no_color,
        ascii: std::env::var("TERM").is_ok_and(|t| t == "linux"),
    }
}

/// Checks every host, prints each section as it is ready (in order), then the clock skew
/// between hosts and a summary. Returns the exit status.
pub fn run(hosts: &[HostSpec], timeout: Duration, style: Style) -> i32 {
    if hosts.is_empty() {
        // `--demo` with no config: nothing real to check.
        eprintln!("doctor: no hosts to check: give -c URI or add [[hosts]] to config.toml");
        return 1;
    }
    let handles: Vec<_> = hosts
        .iter()
        .cloned()
        .map(|h| std::thread::spawn(move || host(&h, timeout)))
        .collect();
    let mut sections = Vec::new();
    let mut clocks = Vec::new();
    let mut out = std::io::stdout().lock();
    for (h, handle) in hosts.iter().zip(handles) {
        let (section, clock) = handle.join().unwrap_or_else(|_| {
            (
                Section {
                    title: title(h),
                    checks: vec![Check::fail("the check crashed", "report a bug")],
                },
                Clock::NotApplicable,
            )
        });
        print(&mut out, &section, style);
        sections.push(section);
        clocks.push((h.name.clone(), clock));
    }
    if let Some(c) = checks::skew(&clocks) {
        let between = Section {
            title: "between hosts".into(),
            checks: vec![c],
        };
        print(&mut out, &between, style);
        sections.push(between);
    }
    let _ = writeln!(out, "{}", report::summary(&sections));
    report::exit_status(&sections)
}

fn print(out: &mut impl Write, s: &Section, style: Style) {
    for line in report::section_lines(s, style) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out);
}

fn title(h: &HostSpec) -> String {
    if h.name == h.uri {
        h.uri.clone()
    } else {
        format!("{}  {}", h.name, h.uri)
    }
}

/// Whether `url` (`vnc://HOST:PORT`) accepts a TCP connection from here within a second.
fn reachable(url: &str) -> bool {
    let Some(hostport) = url.split_once("://").map(|(_, r)| r) else {
        return false;
    };
    let Some((host, port)) = hostport.rsplit_once(':') else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let Ok(port) = port.parse::<u16>() else {
        return false;
    };
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok())
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.starts_with("127.") || host == "::1"
}

/// One host's section and its clock.
fn host(h: &HostSpec, timeout: Duration) -> (Section, Clock) {
    let uri = h.uri.as_str();
    let mut out = Vec::new();
    let done = |checks, clock| {
        (
            Section {
                title: title(h),
                checks,
            },
            clock,
        )
    };
    match checks::uri(uri) {
        Ok(c) => out.push(c),
        Err(c) => {
            out.push(c);
            return done(out, Clock::NotApplicable);
        }
    }
    let mut login = None;
    if let Some(t) = ssh::target(uri) {
        let o = ssh::run(&t, timeout);
        let (cs, ok) = checks::ssh(&t, &o);
        out.extend(cs);
        if !ok {
            out.push(Check::info(
                "libvirt not tried: ssh cannot log in (see above)",
            ));
            return done(out, Clock::Unknown("ssh cannot log in".into()));
        }
        login = Some(o);
    }
    let r = hd::probe(uri, timeout);
    out.push(checks::connect(uri, &r));
    let Ok(f) = r else {
        return done(out, Clock::Unknown("not connected".into()));
    };
    out.push(checks::versions(&f, hd::client_version()));
    out.push(checks::access(uri, &f));
    out.push(checks::kvm(&f));
    out.push(checks::network(uri, &f));
    out.push(checks::pools(uri, &f));
    out.extend(displays(uri, &f));
    let qemu = f.driver.as_deref() == Some("QEMU");
    let where_ = display::uri_host(uri);
    let local = where_.host.is_none();
    let conf = if !qemu {
        Conf::NotApplicable
    } else if let Some(o) = &login {
        match o.get("conf") {
            Some("readable") => Conf::Read(
                o.all("conf")
                    .filter(|l| *l != "readable")
                    .collect::<Vec<_>>()
                    .join("\n"),
                "/etc/libvirt/qemu.conf over ssh".into(),
            ),
            _ => Conf::Unknown(
                "/etc/libvirt/qemu.conf on the host is not readable by the ssh user".into(),
            ),
        }
    } else if local && uri.contains("/system") {
        let path = "/etc/libvirt/qemu.conf";
        match std::fs::read_to_string(path) {
            Ok(t) => Conf::Read(t, path.into()),
            Err(e) => Conf::Unknown(format!("{path}: {e}")),
        }
    } else if local {
        Conf::Unknown("a session daemon: migrations go through qemu:///system".into())
    } else {
        Conf::Unknown(format!(
            "qemu.conf cannot be read over +{}: see migration_port_min/max in /etc/libvirt/qemu.conf on the host",
            where_.transport
        ))
    };
    out.extend(checks::migration_ports(&conf));
    let clock = if f
        .driver
        .as_deref()
        .is_some_and(|d| d.eq_ignore_ascii_case("test"))
    {
        Clock::NotApplicable
    } else if let Some(off) = login.as_ref().and_then(ssh::Outcome::offset) {
        Clock::Offset(off, "the host's `date` over ssh".into())
    } else if where_.host.as_deref().is_none_or(is_loopback) {
        Clock::Same
    } else {
        Clock::Unknown(format!(
            "libvirt offers no host time over +{}; compare `ssh HOST date +%s` with `date +%s`",
            where_.transport
        ))
    };
    out.extend(checks::clock(&clock));
    done(out, clock)
}

/// The running VMs' displays, each tried from here.
fn displays(uri: &str, f: &Facts) -> Vec<Check> {
    let running = match &f.running {
        Ok(r) => r,
        Err(e) => {
            return vec![Check::warn(
                format!("running VMs cannot be listed: {e}"),
                "",
            )]
        }
    };
    if running.is_empty() {
        return vec![Check::info("no running VMs: no displays to check")];
    }
    let hostname = f.hostname.as_deref().unwrap_or("");
    let mut out = Vec::new();
    for (vm, xml) in running {
        let short = checks::name(vm);
        let gs = match display::parse(xml, f.secure_xml) {
            Ok(g) => g,
            Err(e) => {
                out.push(Check::warn(format!("{short}: {e}"), ""));
                continue;
            }
        };
        if gs.is_empty() {
            out.push(Check::info(format!("{short}: no graphical display")));
        }
        for g in &gs {
            let a = display::access(g, uri, hostname);
            let ok = a.url.as_deref().map(reachable);
            out.push(checks::graphics(vm, g, &a, ok));
        }
    }
    if f.running_total > running.len() {
        out.push(Check::info(format!(
            "{} more running VMs not checked",
            f.running_total - running.len()
        )));
    }
    out
}
