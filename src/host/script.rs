//! The libvirt side of the scripting commands (`crate::script` prints and picks exit
//! statuses): each host opened in parallel with a timeout, its VMs read with the bulk stats
//! (and CPU % over a sample), hosts summarised, lifecycle operations run on the VM a target
//! names. Hosts are (name, URI) pairs: this layer knows no app types.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;
use virt::connect::Connect;

use super::LifecycleOp;

/// A host as the commands name it: (name, URI).
pub type Host = (String, String);

/// One VM as `virtdeck list --json` prints it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VmRow {
    pub host: String,
    pub name: String,
    pub uuid: String,
    /// running, paused, shut off, crashed… (as the VM table says it).
    pub state: String,
    /// The same state, for the `/` filter's `state:` words.
    #[serde(skip)]
    pub vm_state: crate::model::VmState,
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

/// How long a host may take to answer the connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Opens every host at once; each gets at most [`CONNECT_TIMEOUT`].
fn connect_all(hosts: &[Host]) -> Vec<(Host, Result<Connect, String>)> {
    super::ensure_event_loop();
    let rxs: Vec<_> = hosts
        .iter()
        .map(|h| {
            let (tx, rx) = mpsc::channel();
            let uri = h.1.clone();
            std::thread::spawn(move || {
                let _ = tx.send(Connect::open(Some(&uri)).map_err(|e| super::message(&e)));
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

/// The VMs of one host, with the CPU share over `sample` when given.
fn vms_of(h: &Host, conn: &Connect, sample: Option<Duration>) -> Result<Vec<VmRow>, String> {
    let e = |e: virt::error::Error| super::message(&e);
    let read = |c| {
        Ok::<Vec<_>, String>(
            super::stats::all_domain_stats(c)
                .map_err(e)?
                .iter()
                .collect(),
        )
    };
    let first = read(conn)?;
    let (stats, before, wall) = match sample {
        Some(d) => {
            let t0 = Instant::now();
            std::thread::sleep(d);
            let again = read(conn)?;
            (again, Some(first), t0.elapsed())
        }
        None => (first, None, Duration::ZERO),
    };
    let cpu0: HashMap<super::stats::UuidText, (Option<u32>, Option<u64>)> = before
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| Some((s.uuid?, (s.id, s.cpu_time_ns))))
        .collect();
    let addrs = super::all_addresses(conn).unwrap_or_default();
    let mut out = Vec::with_capacity(stats.len());
    for s in stats {
        let Some(uuid) = s.uuid else {
            continue;
        };
        // Gone since the stats call: not listed.
        let Ok(dom) = conn.lookup_domain_by_uuid_string(uuid.as_str()) else {
            continue;
        };
        let info = dom.info().ok();
        let vcpus = s
            .vcpu_current
            .or(info.as_ref().map(|i| u64::from(i.nr_virt_cpu)))
            .unwrap_or(0);
        let cpu_percent = match (cpu0.get(&uuid), s.cpu_time_ns) {
            (Some((id0, Some(c0))), Some(c1)) if *id0 == s.id && s.id.is_some() && vcpus > 0 => {
                let secs = wall.as_secs_f64().max(1e-3);
                Some((c1.saturating_sub(*c0) as f64 / 1e9 / secs / vcpus as f64 * 100.0).min(100.0))
            }
            _ => None,
        };
        let meta = super::meta::read(&dom).unwrap_or_default();
        let vm_state = crate::model::VmState::from_raw(s.state.unwrap_or(0));
        out.push(VmRow {
            host: h.0.clone(),
            name: dom.name().unwrap_or_default(),
            state: vm_state.label().to_string(),
            vm_state,
            vcpus,
            memory_kib: s
                .balloon_current_kib
                .or(info.as_ref().map(|i| i.memory))
                .unwrap_or(0),
            cpu_percent,
            addresses: addrs
                .get(uuid.as_str())
                .map(|v| v.iter().map(|a| format!("{}/{}", a.ip, a.prefix)).collect())
                .unwrap_or_default(),
            tags: meta.tags,
            template: meta.template,
            uuid: uuid.as_str().to_owned(),
        });
    }
    Ok(out)
}

/// Every VM of every host: (host name, its VMs or why they could not be read).
pub fn list(hosts: &[Host], sample: Option<Duration>) -> Vec<(String, Result<Vec<VmRow>, String>)> {
    connect_all(hosts)
        .into_iter()
        .map(|(h, conn)| {
            let rows = conn.and_then(|c| vms_of(&h, &c, sample));
            (h.0, rows)
        })
        .collect()
}

/// Each host: reachable or not, its versions and VM counts.
pub fn hosts(hosts: &[Host]) -> Vec<HostRow> {
    connect_all(hosts)
        .into_iter()
        .map(|((name, uri), conn)| match conn {
            Ok(c) => {
                let doms = c.list_all_domains(0).unwrap_or_default();
                let running = doms
                    .iter()
                    .filter(|d| d.is_active().unwrap_or(false))
                    .count();
                HostRow {
                    name,
                    uri,
                    reachable: true,
                    error: None,
                    hypervisor: c.driver_type().ok(),
                    libvirt: c.lib_version().ok().map(version),
                    vms: doms.len(),
                    running,
                }
            }
            Err(e) => HostRow {
                name,
                uri,
                reachable: false,
                error: Some(e),
                hypervisor: None,
                libvirt: None,
                vms: 0,
                running: 0,
            },
        })
        .collect()
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

/// Why an operation on a target did not happen.
#[derive(Debug, PartialEq)]
pub enum Failure {
    NotFound,
    /// On several hosts (their names).
    Ambiguous(Vec<String>),
    /// libvirt (or virtdeck: a template) refused, on that host.
    Refused(String, String),
    /// A host that might have it did not answer (its name and why).
    Unreachable(String, String),
}

/// A host and its connection, or why it has none.
type Opened = (Host, Result<Connect, String>);
/// A host's name and its domains (name, UUID).
type DomainList = (String, Vec<(String, String)>);

/// The domains (name, UUID) of each candidate host, and the hosts that did not answer.
fn domain_lists(candidates: &[&Opened]) -> (Vec<DomainList>, Vec<Failure>) {
    let mut lists = Vec::new();
    let mut troubles = Vec::new();
    for (h, c) in candidates {
        match c {
            Ok(c) => lists.push((
                h.0.clone(),
                c.list_all_domains(0)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|d| Some((d.name().ok()?, d.uuid_string().ok()?)))
                    .collect(),
            )),
            Err(e) => {
                troubles.push(Failure::Unreachable(h.0.clone(), e.clone()));
                lists.push((h.0.clone(), Vec::new()));
            }
        }
    }
    (lists, troubles)
}

/// Finds `vm` among `conns` (only the host with URI `pinned` when given): the index of its
/// host and its UUID, or why not, and the hosts that did not answer. A host that did not
/// answer lists no domain, so the one found is always a connected host's.
fn find(
    conns: &[Opened],
    vm: &str,
    pinned: Option<&str>,
) -> (Result<(usize, String), Failure>, Vec<Failure>) {
    let candidates: Vec<(usize, &Opened)> = conns
        .iter()
        .enumerate()
        .filter(|(_, (h, _))| pinned.is_none_or(|p| p == h.1))
        .collect();
    let refs: Vec<_> = candidates.iter().map(|(_, c)| *c).collect();
    let (lists, troubles) = domain_lists(&refs);
    let r = match locate(vm, &lists) {
        Found::NotFound => Err(Failure::NotFound),
        Found::Ambiguous(on) => Err(Failure::Ambiguous(on)),
        Found::One(i, uuid) => Ok((candidates[i].0, uuid)),
    };
    (r, troubles)
}

/// Runs `op` on each target: (VM name or UUID, the URI it is pinned to). Returns per target
/// the host it ran on, or why not (an unreachable host is reported beside a result).
pub fn act(
    hosts: &[Host],
    targets: &[(String, Option<String>)],
    op: LifecycleOp,
) -> Vec<(Result<String, Failure>, Vec<Failure>)> {
    let conns = connect_all(hosts);
    targets
        .iter()
        .map(|(vm, pinned)| {
            let (found, troubles) = find(&conns, vm, pinned.as_deref());
            let r = found.and_then(|(at, uuid)| {
                let (h, c) = &conns[at];
                let c = c
                    .as_ref()
                    .map_err(|e| Failure::Unreachable(h.0.clone(), e.clone()))?;
                let refusal = matches!(op, LifecycleOp::Start)
                    .then(|| super::meta::start_refusal(c, &uuid))
                    .flatten();
                match refusal {
                    Some(why) => Err(Failure::Refused(h.0.clone(), why)),
                    None => super::run_op(c, &uuid, op)
                        .map(|()| h.0.clone())
                        .map_err(|e| Failure::Refused(h.0.clone(), super::message(&e))),
                }
            });
            (r, troubles)
        })
        .collect()
}

/// One VM found for a command that works on it further (`migrate`, `console`).
pub struct Located {
    /// Its host's name and URI.
    pub host: Host,
    pub conn: Connect,
    pub uuid: String,
    pub name: String,
    pub active: bool,
}

/// Opens the hosts (only `pinned` when given) and finds `vm` (a name or UUID) on them.
pub fn locate_vm(
    hosts: &[Host],
    vm: &str,
    pinned: Option<&str>,
) -> (Result<Located, Failure>, Vec<Failure>) {
    let wanted: Vec<Host> = hosts
        .iter()
        .filter(|h| pinned.is_none_or(|p| p == h.1))
        .cloned()
        .collect();
    let mut conns = connect_all(&wanted);
    let (found, troubles) = find(&conns, vm, None);
    let r = found.and_then(|(at, uuid)| {
        let (host, c) = conns.swap_remove(at);
        let conn = c.map_err(|e| Failure::Unreachable(host.0.clone(), e))?;
        let dom = conn
            .lookup_domain_by_uuid_string(&uuid)
            .map_err(|e| Failure::Refused(host.0.clone(), super::message(&e)))?;
        Ok(Located {
            name: dom.name().unwrap_or_else(|_| vm.to_string()),
            active: dom.is_active().unwrap_or(false),
            host,
            conn,
            uuid,
        })
    });
    (r, troubles)
}

/// Opens the located VM's first console (`force` takes it over from another client).
pub fn open_console(vm: &Located, force: bool) -> Result<virt::stream::Stream, String> {
    super::ops::open_console(&vm.conn, &vm.uuid, force).map_err(|e| super::message(&e))
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
            vm_state: crate::model::VmState::Running,
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
