//! The scripting commands, without the terminal UI: `virtdeck list`, `virtdeck hosts` and
//! the lifecycle verbs (`start`, `shutdown`, `reboot`, `destroy`, `suspend`, `resume`). The
//! host layer (`host::script`) opens each host (in parallel, each connect bounded by a
//! timeout) and does the libvirt part; this module filters, prints and picks an exit status
//! a script can branch on: 0 done, 1 other failure, 2 no such VM (or an ambiguous name: the
//! candidates are listed), 3 refused by libvirt, 4 a host unreachable.
//! JSON output (`--json`) is one array of objects whose fields are documented in the README.

mod console;
mod migrate;

pub use console::console;
pub use migrate::migrate;

use std::time::Duration;

use crate::app::HostSpec;
use crate::host::script::{self as hs, Failure, VmRow};
use crate::host::LifecycleOp;

pub const OK: i32 = 0;
pub const FAILED: i32 = 1;
pub const NOT_FOUND: i32 = 2;
pub const REFUSED: i32 = 3;
pub const UNREACHABLE: i32 = 4;

fn pairs(hosts: &[HostSpec]) -> Vec<hs::Host> {
    hosts
        .iter()
        .map(|h| (h.name.clone(), h.uri.clone()))
        .collect()
}

/// The host a command names: one of the configured hosts by name or URI, else a URI itself.
pub fn find_host(host: &str, hosts: &[HostSpec]) -> Option<HostSpec> {
    hosts
        .iter()
        .find(|h| h.name == host || h.uri == host)
        .cloned()
        .or_else(|| {
            host.contains("://").then(|| HostSpec {
                name: crate::config::name_from_uri(host),
                uri: host.to_string(),
            })
        })
}

/// The tenths reached since `printed` up to `tenth` (at most 10), each once and never
/// backwards; `printed` moves on to the last. Progress of every scripting command.
pub fn new_tenths(tenth: u64, printed: &mut u64) -> std::ops::RangeInclusive<u64> {
    let from = *printed + 1;
    *printed = (*printed).max(tenth.min(10));
    from..=*printed
}

/// `virtdeck list`: every VM of every host, filtered like the `/` filter.
pub fn list(hosts: &[HostSpec], json: bool, filter: Option<&str>, sample: Option<Duration>) -> i32 {
    let filter = match filter.map(crate::app::filter::Filter::parse).transpose() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("list: --filter: {e}");
            return FAILED;
        }
    };
    let mut rows = Vec::new();
    let mut status = OK;
    let wanted: Vec<HostSpec> = hosts
        .iter()
        .filter(|h| filter.as_ref().is_none_or(|f| f.host_matches(&h.name)))
        .cloned()
        .collect();
    for (name, got) in hs::list(&pairs(&wanted), sample) {
        match got {
            Ok(vms) => rows.extend(
                vms.into_iter()
                    .filter(|v| filter.as_ref().is_none_or(|f| f.vm_matches(&as_vm(v)))),
            ),
            Err(e) => {
                eprintln!(
                    "list: {}: {}",
                    crate::sanitize::text(&name),
                    crate::sanitize::text(&e)
                );
                status = UNREACHABLE;
            }
        }
    }
    rows.sort_by(|a, b| {
        crate::app::table::natural_cmp(&a.host, &b.host)
            .then_with(|| crate::app::table::natural_cmp(&a.name, &b.name))
    });
    if json {
        if !print_json("list", &rows) {
            return FAILED;
        }
    } else {
        println!(
            "{:<16} {:<28} {:<10} {:>5} {:>9} {:>6}  {:<18} TAGS",
            "HOST", "NAME", "STATE", "CPUS", "MEMORY", "CPU%", "IP"
        );
        for r in &rows {
            println!(
                "{} {} {:<10} {:>5} {:>9} {:>6}  {} {}",
                cell(&r.host, 16),
                cell(&r.name, 28),
                if r.template { "template" } else { &r.state },
                r.vcpus,
                crate::fmt::kib(r.memory_kib),
                r.cpu_percent.map_or("-".into(), |p| format!("{p:.1}")),
                cell(r.addresses.first().map_or("-", String::as_str), 18),
                crate::sanitize::text(&r.tags.join(" "))
            );
        }
    }
    status
}

/// A row as the `/` filter's VM (name, state, tags).
fn as_vm(r: &VmRow) -> crate::model::Vm {
    crate::model::Vm {
        uuid: r.uuid.clone(),
        name: r.name.clone(),
        id: None,
        state: r.vm_state,
        vcpus: r.vcpus as u32,
        memory_kib: r.memory_kib,
        max_memory_kib: r.memory_kib,
        cpu_time_ns: None,
        io: Default::default(),
        autostart: false,
        persistent: true,
        managed_save: false,
        started: None,
        known: Default::default(),
        template: r.template,
        tags: r.tags.clone(),
        note: None,
    }
}

/// `virtdeck hosts`: each host, reachable or not, with its versions and VM counts.
pub fn hosts_cmd(hosts: &[HostSpec], json: bool) -> i32 {
    let rows = hs::hosts(&pairs(hosts));
    let status = if rows.iter().all(|r| r.reachable) {
        OK
    } else {
        UNREACHABLE
    };
    if json {
        if !print_json("hosts", &rows) {
            return FAILED;
        }
    } else {
        // URIs whole where they fit: their ends (the file, the host) tell hosts apart.
        let uri_w = rows
            .iter()
            .map(|r| crate::sanitize::width(&r.uri))
            .max()
            .unwrap_or(0)
            .clamp(3, 72);
        for r in &rows {
            let what = match &r.error {
                Some(e) => format!("unreachable: {}", crate::sanitize::text(e)),
                None => format!(
                    "{} running of {} · {} · libvirt {}",
                    r.running,
                    r.vms,
                    r.hypervisor.as_deref().unwrap_or("-"),
                    r.libvirt.as_deref().unwrap_or("-")
                ),
            };
            println!("{} {} {what}", cell(&r.name, 16), cell(&r.uri, uri_w));
        }
    }
    status
}

/// `virtdeck start|shutdown|… VM[@HOST]...`: each target on its host; the worst status.
pub fn lifecycle(verb: &str, op: LifecycleOp, targets: &[String], hosts: &[HostSpec]) -> i32 {
    let parsed: Vec<(String, Option<String>)> = targets.iter().map(|t| target(t, hosts)).collect();
    let mut status = OK;
    let say = crate::sanitize::text;
    for (t, (r, troubles)) in targets.iter().zip(hs::act(&pairs(hosts), &parsed, op)) {
        for f in troubles.iter().chain(r.as_ref().err()) {
            status = status.max(tell(verb, t, f));
        }
        if let Ok(h) = &r {
            println!("{verb} {}@{}: done", say(t), say(h));
        }
    }
    status
}

/// `VM@HOST` names the host (a name of config.toml or a URI); else every host is searched
/// (also when the part after `@` names no host: a VM's name may hold an `@`).
fn target(t: &str, hosts: &[HostSpec]) -> (String, Option<String>) {
    match t.rsplit_once('@') {
        Some((vm, host)) => match find_host(host, hosts) {
            Some(h) => (vm.to_string(), Some(h.uri)),
            None => (t.to_string(), None),
        },
        None => (t.to_string(), None),
    }
}

/// Prints why `verb` did not happen to `t` on stderr; returns the exit status it means.
fn tell(verb: &str, t: &str, f: &Failure) -> i32 {
    let (code, text) = match f {
        Failure::NotFound => (NOT_FOUND, "no such VM".to_string()),
        Failure::Ambiguous(on) => (
            NOT_FOUND,
            format!(
                "a VM of that name is on {}: say which with VM@HOST",
                on.join(", ")
            ),
        ),
        Failure::Refused(h, e) => (REFUSED, format!("{h}: {e}")),
        Failure::Unreachable(h, e) => (UNREACHABLE, format!("{h}: {e}")),
    };
    let say = crate::sanitize::text;
    eprintln!("{verb} {}: {}", say(t), say(&text));
    code
}

/// Prints `rows` as one pretty JSON array; false (said on stderr) if they cannot be.
fn print_json(verb: &str, rows: &impl serde::Serialize) -> bool {
    match serde_json::to_string_pretty(rows) {
        Ok(text) => {
            println!("{text}");
            true
        }
        Err(e) => {
            eprintln!("{verb}: {e}");
            false
        }
    }
}

/// A column of the text output: sanitised, cut with "…" and padded to `width` display cells
/// (`{:<w}` counts chars, which misaligns CJK names).
fn cell(s: &str, width: usize) -> String {
    crate::fmt::pad(&crate::fmt::truncate(s, width), width)
}

#[cfg(test)]
mod tests {
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn text_columns_line_up_with_wide_names_and_cut_with_an_ellipsis() {
        for name in [
            "web",
            "東京-edge-cache",
            "a-very-long-name-for-a-vm-\u{1b}[31m",
        ] {
            let c = super::cell(name, 12);
            assert_eq!(c.width(), 12, "{c:?}");
            assert!(!c.contains('\u{1b}'), "{c:?}");
        }
        assert!(super::cell("a-very-long-name", 8).trim_end().ends_with('…'));
    }
}
