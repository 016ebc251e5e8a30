//! The scripting commands, without the terminal UI: `virtdeck list`, `virtdeck hosts` and
//! the lifecycle verbs (`start`, `shutdown`, `reboot`, `destroy`, `suspend`, `resume`). They
//! open each host directly (in parallel, each connect bounded by a timeout) and exit with a
//! status a script can branch on: 0 done, 1 other failure, 2 no such VM (or an ambiguous
//! name: the candidates are listed), 3 refused by libvirt, 4 a host unreachable.
//! JSON output (`--json`) is one array of objects whose fields are documented in the README.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;
use virt::connect::Connect;

use crate::app::HostSpec;
use crate::host::LifecycleOp;

pub const OK: i32 = 0;
pub const FAILED: i32 = 1;
pub const NOT_FOUND: i32 = 2;
pub const REFUSED: i32 = 3;
pub const UNREACHABLE: i32 = 4;

/// How long a host may take to answer the connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// One VM as `virtdeck list --json` prints it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VmRow {
    pub host: String,
    pub name: String,
    pub uuid: String,
    /// running, paused, shut off, crashed… (as the VM table says it).
    pub state: String,
    pub vcpus: u64,
    pub memory_kib: u64,
    /// Share of its vCPUs used over the `--sample` interval; null without one.
    pub cpu_percent: Option<f64>,
    pub addresses: Vec<String>,
    pub tags: Vec<String>,
    pub template: bool,
}

/// One host as `virtdeck hosts --json` prints it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostRow {
    pub name: String,
    pub uri: String,
    pub reachable: bool,
    pub error: Option<String>,
    pub hypervisor: Option<String>,
    pub libvirt: Option<String>,
    pub vms: usize,
    pub running: usize,
}

/// Opens every host at once; each gets at most [`CONNECT_TIMEOUT`].
fn connect_all(hosts: &[HostSpec]) -> Vec<(HostSpec, Result<Connect, String>)> {
    crate::host::ensure_event_loop();
    let rxs: Vec<_> = hosts
        .iter()
        .map(|h| {
            let (tx, rx) = mpsc::channel();
            let uri = h.uri.clone();
            std::thread::spawn(move || {
                let _ = tx.send(Connect::open(Some(&uri)).map_err(|e| crate::host::message(&e)));
            });
            (h.clone(), rx)
        })
        .collect();
    let until = Instant::now() + CONNECT_TIMEOUT;
    rxs.into_iter()
        .map(|(h, rx)| {
            let left = until.saturating_duration_since(Instant::now());
            let r = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| Err(format!("no answer in {} s", CONNECT_TIMEOUT.as_secs())));
            (h, r)
        })
        .collect()
}

fn state_label(raw: Option<i64>) -> String {
    crate::model::VmState::from_raw(raw.unwrap_or(0))
        .label()
        .to_string()
}

/// The VMs of one host, with the CPU share over `sample` when given.
fn vms_of(h: &HostSpec, conn: &Connect, sample: Option<Duration>) -> Result<Vec<VmRow>, String> {
    let e = |e: virt::error::Error| crate::host::message(&e);
    let first = crate::host::stats::all_domain_stats(conn).map_err(e)?;
    let (stats, before, wall) = match sample {
        Some(d) => {
            let t0 = Instant::now();
            std::thread::sleep(d);
            let again = crate::host::stats::all_domain_stats(conn).map_err(e)?;
            (again, Some(first), t0.elapsed())
        }
        None => (first, None, Duration::ZERO),
    };
    let cpu0: HashMap<String, (Option<u32>, Option<u64>)> = before
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s.uuid, (s.id, s.cpu_time_ns)))
        .collect();
    let addrs = crate::host::all_addresses(conn).unwrap_or_default();
    let mut out = Vec::with_capacity(stats.len());
    for s in stats {
        let dom = conn.lookup_domain_by_uuid_string(&s.uuid).ok();
        let info = dom.as_ref().and_then(|d| d.info().ok());
        let vcpus = s
            .vcpu_current
            .or(info.as_ref().map(|i| u64::from(i.nr_virt_cpu)))
            .unwrap_or(0);
        let cpu_percent = match (cpu0.get(&s.uuid), s.cpu_time_ns) {
            (Some((id0, Some(c0))), Some(c1)) if *id0 == s.id && s.id.is_some() && vcpus > 0 => {
                let secs = wall.as_secs_f64().max(1e-3);
                Some((c1.saturating_sub(*c0) as f64 / 1e9 / secs / vcpus as f64 * 100.0).min(100.0))
            }
            _ => None,
        };
        let meta = dom
            .as_ref()
            .and_then(|d| crate::host::meta::read(d).ok())
            .unwrap_or_default();
        out.push(VmRow {
            host: h.name.clone(),
            name: s.name,
            state: state_label(s.state),
            vcpus,
            memory_kib: s
                .balloon_current_kib
                .or(info.as_ref().map(|i| i.memory))
                .unwrap_or(0),
            cpu_percent,
            addresses: addrs
                .get(&s.uuid)
                .map(|v| v.iter().map(|a| format!("{}/{}", a.ip, a.prefix)).collect())
                .unwrap_or_default(),
            tags: meta.tags,
            template: meta.template,
            uuid: s.uuid,
        });
    }
    out.sort_by(|a, b| crate::app::table::natural_cmp(&a.name, &b.name));
    Ok(out)
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
    for (h, conn) in connect_all(hosts) {
        if filter.as_ref().is_some_and(|f| !f.host_matches(&h.name)) {
            continue;
        }
        let got = conn.and_then(|c| vms_of(&h, &c, sample));
        match got {
            Ok(vms) => rows.extend(
                vms.into_iter()
                    .filter(|v| filter.as_ref().is_none_or(|f| f.vm_matches(&as_vm(v)))),
            ),
            Err(e) => {
                eprintln!("list: {}: {e}", h.name);
                status = UNREACHABLE;
            }
        }
    }
    if json {
        match serde_json::to_string_pretty(&rows) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("list: {e}");
                return FAILED;
            }
        }
    } else {
        println!(
            "{:<16} {:<28} {:<10} {:>5} {:>9} {:>6}  {:<18} TAGS",
            "HOST", "NAME", "STATE", "CPUS", "MEMORY", "CPU%", "IP"
        );
        for r in &rows {
            println!(
                "{:<16} {:<28} {:<10} {:>5} {:>9} {:>6}  {:<18} {}",
                crate::fmt::truncate(&r.host, 16),
                crate::fmt::truncate(&r.name, 28),
                if r.template { "template" } else { &r.state },
                r.vcpus,
                crate::fmt::kib(r.memory_kib),
                r.cpu_percent.map_or("-".into(), |p| format!("{p:.1}")),
                crate::fmt::truncate(r.addresses.first().map_or("-", String::as_str), 18),
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
        state: match r.state.as_str() {
            "running" => crate::model::VmState::Running,
            "paused" => crate::model::VmState::Paused,
            "crashed" => crate::model::VmState::Crashed,
            _ => crate::model::VmState::Shutoff,
        },
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
    let mut rows = Vec::new();
    let mut status = OK;
    for (h, conn) in connect_all(hosts) {
        let row = match conn {
            Ok(c) => {
                let doms = c.list_all_domains(0).unwrap_or_default();
                let running = doms
                    .iter()
                    .filter(|d| d.is_active().unwrap_or(false))
                    .count();
                HostRow {
                    name: h.name.clone(),
                    uri: h.uri.clone(),
                    reachable: true,
                    error: None,
                    hypervisor: c.driver_type().ok(),
                    libvirt: c.lib_version().ok().map(version),
                    vms: doms.len(),
                    running,
                }
            }
            Err(e) => {
                status = UNREACHABLE;
                HostRow {
                    name: h.name.clone(),
                    uri: h.uri.clone(),
                    reachable: false,
                    error: Some(e),
                    hypervisor: None,
                    libvirt: None,
                    vms: 0,
                    running: 0,
                }
            }
        };
        rows.push(row);
    }
    if json {
        match serde_json::to_string_pretty(&rows) {
            Ok(t) => println!("{t}"),
            Err(e) => {
                eprintln!("hosts: {e}");
                return FAILED;
            }
        }
    } else {
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
            println!(
                "{:<16} {:<40} {what}",
                crate::fmt::truncate(&r.name, 16),
                crate::fmt::truncate(&r.uri, 40)
            );
        }
    }
    status
}

fn version(v: u32) -> String {
    format!("{}.{}.{}", v / 1_000_000, v / 1000 % 1000, v % 1000)
}

/// Where a `VM[@HOST]` target is: found on exactly one host, or why not.
#[derive(Debug, PartialEq)]
pub enum Found {
    One(usize, String),
    NotFound,
    /// The name is on several hosts: (host names).
    Ambiguous(Vec<String>),
}

/// Finds `vm` (a name or UUID) among the hosts' domain lists.
pub fn locate(vm: &str, lists: &[(String, Vec<(String, String)>)]) -> Found {
    let hits: Vec<(usize, String)> = lists
        .iter()
        .enumerate()
        .filter_map(|(i, (_, doms))| {
            doms.iter()
                .find(|(name, uuid)| name == vm || uuid.eq_ignore_ascii_case(vm))
                .map(|(_, uuid)| (i, uuid.clone()))
        })
        .collect();
    match hits.as_slice() {
        [] => Found::NotFound,
        [(i, u)] => Found::One(*i, u.clone()),
        many => Found::Ambiguous(many.iter().map(|(i, _)| lists[*i].0.clone()).collect()),
    }
}

/// `virtdeck start|shutdown|… VM[@HOST]...`: each target on its host; the worst status.
pub fn lifecycle(verb: &str, op: LifecycleOp, targets: &[String], hosts: &[HostSpec]) -> i32 {
    let conns = connect_all(hosts);
    let mut status = OK;
    let worse = |s: &mut i32, n: i32| *s = (*s).max(n);
    for t in targets {
        // `VM@HOST` names the host; else every host is searched.
        let (vm, pinned) = match t.rsplit_once('@') {
            Some((vm, host)) => match crate::backup::cli::find_host(host, hosts) {
                Some(h) => (vm.to_string(), Some(h)),
                None => (t.clone(), None),
            },
            None => (t.clone(), None),
        };
        let candidates: Vec<&(HostSpec, Result<Connect, String>)> = conns
            .iter()
            .filter(|(h, _)| pinned.as_ref().is_none_or(|p| p.uri == h.uri))
            .collect();
        let mut lists = Vec::new();
        for (h, c) in &candidates {
            match c {
                Ok(c) => {
                    let doms = c.list_all_domains(0).unwrap_or_default();
                    lists.push((
                        h.name.clone(),
                        doms.iter()
                            .filter_map(|d| Some((d.name().ok()?, d.uuid_string().ok()?)))
                            .collect(),
                    ));
                }
                Err(e) => {
                    eprintln!("{verb} {t}: {}: {e}", h.name);
                    worse(&mut status, UNREACHABLE);
                    lists.push((h.name.clone(), Vec::new()));
                }
            }
        }
        match locate(&vm, &lists) {
            Found::NotFound => {
                eprintln!("{verb} {t}: no such VM");
                worse(&mut status, NOT_FOUND);
            }
            Found::Ambiguous(on) => {
                eprintln!(
                    "{verb} {t}: a VM of that name is on {}: say which with {vm}@HOST",
                    on.join(", ")
                );
                worse(&mut status, NOT_FOUND);
            }
            Found::One(i, uuid) => {
                let (h, c) = candidates[i];
                let Ok(c) = c else { continue };
                let refusal = matches!(op, LifecycleOp::Start)
                    .then(|| crate::host::meta::start_refusal(c, &uuid))
                    .flatten();
                let r = match refusal {
                    Some(why) => Err(why),
                    None => crate::host::run_op(c, &uuid, op).map_err(|e| crate::host::message(&e)),
                };
                match r {
                    Ok(()) => println!("{verb} {vm}@{}: done", h.name),
                    Err(e) => {
                        eprintln!("{verb} {vm}@{}: {e}", h.name);
                        worse(&mut status, REFUSED);
                    }
                }
            }
        }
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists() -> Vec<(String, Vec<(String, String)>)> {
        vec![
            (
                "kvm1".into(),
                vec![("web".into(), "u1".into()), ("db".into(), "u2".into())],
            ),
            ("kvm2".into(), vec![("web".into(), "u3".into())]),
        ]
    }

    #[test]
    fn targets_are_found_once_or_said_missing_or_ambiguous() {
        assert_eq!(locate("db", &lists()), Found::One(0, "u2".into()));
        assert_eq!(
            locate("U3", &lists()),
            Found::One(1, "u3".into()),
            "by UUID"
        );
        assert_eq!(locate("mail", &lists()), Found::NotFound);
        assert_eq!(
            locate("web", &lists()),
            Found::Ambiguous(vec!["kvm1".into(), "kvm2".into()])
        );
        assert_eq!(version(9_000_000), "9.0.0");
        assert_eq!(version(10_002_003), "10.2.3");
    }

    #[test]
    fn json_rows_have_the_documented_fields() {
        let r = VmRow {
            host: "kvm1".into(),
            name: "web <&>".into(),
            uuid: "u".into(),
            state: "running".into(),
            vcpus: 2,
            memory_kib: 1024,
            cpu_percent: None,
            addresses: vec!["10.0.0.2/24".into()],
            tags: vec!["db".into()],
            template: false,
        };
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        for k in [
            "host",
            "name",
            "uuid",
            "state",
            "vcpus",
            "memory_kib",
            "cpu_percent",
            "addresses",
            "tags",
            "template",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert!(v["cpu_percent"].is_null());
    }
}
