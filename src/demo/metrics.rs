//! Made-up metrics for the demo hosts, which the libvirt test driver serves without any: each
//! running VM gets CPU, memory, disk and network counters that move with time, busier or
//! quieter by its role (read from its name: a database works harder than a bastion), the same
//! for the same VM in every run; a paused VM stays flat and a shut-off one has none; the host's
//! CPU and memory add up its VMs. Only `DemoHost::options` installs this (`WorkerOptions::
//! simulate`), so no real URI ever gets it, and the app labels such hosts "demo data".

use std::collections::HashMap;
use std::f64::consts::TAU;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::host::Simulate;
use crate::model::{Counter, IoCounters, NodeCpu, NodeMemory, NodeSample, Vm, VmState};

/// How hard a VM of a role works: share of its vCPUs, share of its memory in use, and bytes
/// per second read, written, received and sent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Role {
    pub cpu: f64,
    pub memory: f64,
    pub read: f64,
    pub write: f64,
    pub rx: f64,
    pub tx: f64,
}

const MB: f64 = 1024.0 * 1024.0;

/// The role a VM's name suggests.
pub fn role(name: &str) -> Role {
    let n = name.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| n.contains(w));
    let r = |cpu, memory, read, write, rx, tx| Role {
        cpu,
        memory,
        read: read * MB,
        write: write * MB,
        rx: rx * MB,
        tx: tx * MB,
    };
    if has(&[
        "db",
        "sql",
        "postgres",
        "redis",
        "elastic",
        "prometheus",
        "mongo",
    ]) {
        r(0.55, 0.85, 18.0, 7.0, 4.0, 6.0)
    } else if has(&[
        "k8s", "worker", "gitlab", "runner", "jenkins", "build", "ci",
    ]) {
        r(0.40, 0.70, 3.0, 4.0, 3.0, 3.0)
    } else if has(&["web", "lb", "haproxy", "nginx", "app", "api", "front"]) {
        r(0.25, 0.50, 0.6, 0.3, 9.0, 14.0)
    } else if has(&["win", "ad", "rds"]) {
        r(0.15, 0.60, 1.0, 1.0, 0.5, 0.5)
    } else if has(&["bastion", "vpn", "jump", "dns", "gateway", "router"]) {
        r(0.03, 0.20, 0.05, 0.05, 0.3, 0.3)
    } else {
        r(0.12, 0.40, 0.5, 0.5, 0.5, 0.5)
    }
}

/// A number from 0 to 1 fixed by the VM (FNV-1a of its UUID and `salt`).
fn unit(uuid: &str, salt: u64) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
    for b in uuid.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// How busy the VM is at `t` seconds, around 1: two waves of its own period and phase.
pub fn wave(uuid: &str, t: f64) -> f64 {
    let period = 60.0 + 140.0 * unit(uuid, 1);
    let phase = TAU * unit(uuid, 2);
    (1.0 + 0.35 * (TAU * t / period + phase).sin()
        + 0.15 * (TAU * t * 3.7 / period + 2.0 * phase).sin())
    .max(0.05)
}

/// Cumulative counters of one VM.
#[derive(Clone, Copy, Debug, Default)]
struct Acc {
    cpu_ns: f64,
    read: f64,
    write: f64,
    rx: f64,
    tx: f64,
}

#[derive(Debug)]
struct State {
    start: Instant,
    last: Option<Instant>,
    vms: HashMap<String, Acc>,
    node_total_ns: f64,
    node_busy_ns: f64,
}

/// One demo host's simulator.
#[derive(Debug)]
pub struct DemoMetrics {
    cpus: u32,
    memory_kib: u64,
    state: Mutex<State>,
}

impl DemoMetrics {
    /// For a host of `cpus` CPUs and `memory_kib` of memory.
    pub fn new(cpus: u32, memory_kib: u64) -> DemoMetrics {
        DemoMetrics {
            cpus: cpus.max(1),
            memory_kib,
            state: Mutex::new(State {
                start: Instant::now(),
                last: None,
                vms: HashMap::new(),
                node_total_ns: 0.0,
                node_busy_ns: 0.0,
            }),
        }
    }

    /// Fills `vms` (and `node`) as of `now`.
    pub fn fill_at(&self, vms: &mut [Arc<Vm>], node: Option<&mut NodeSample>, now: Instant) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        let t = now.saturating_duration_since(st.start).as_secs_f64();
        let dt = st
            .last
            .map_or(0.0, |l| now.saturating_duration_since(l).as_secs_f64());
        st.last = Some(now.max(st.last.unwrap_or(now)));
        let mut busy_cores = 0.0;
        let mut used_kib = 0u64;
        for vm in vms.iter_mut() {
            // Demo hosts are small: every VM is copied each fill.
            let vm = Arc::make_mut(vm);
            let r = role(&vm.name);
            let w = wave(&vm.uuid, t);
            let running = vm.state == VmState::Running;
            let acc = st.vms.entry(vm.uuid.clone()).or_insert_with(|| {
                // Counters that have been running a while, not from zero.
                let age = 3600.0 * (1.0 + 10.0 * unit(&vm.uuid, 3));
                Acc {
                    cpu_ns: r.cpu * f64::from(vm.vcpus.max(1)) * 1e9 * age,
                    read: r.read * age,
                    write: r.write * age,
                    rx: r.rx * age,
                    tx: r.tx * age,
                }
            });
            if !vm.state.is_active() {
                vm.cpu_time_ns = None;
                vm.io = IoCounters::default();
                continue;
            }
            if running {
                let vcpus = f64::from(vm.vcpus.max(1));
                let cores = (r.cpu * w).min(1.0) * vcpus;
                busy_cores += cores;
                acc.cpu_ns += cores * 1e9 * dt;
                acc.read += r.read * w * dt;
                acc.write += r.write * (2.0 - w).max(0.1) * dt;
                acc.rx += r.rx * w * dt;
                acc.tx += r.tx * w * dt;
            }
            let memory = if vm.memory_kib > 0 {
                vm.memory_kib
            } else {
                vm.max_memory_kib
            };
            let rss = (memory as f64 * (r.memory * (0.95 + 0.05 * w)).min(1.0)) as u64;
            used_kib += rss;
            vm.cpu_time_ns = Some(acc.cpu_ns as u64);
            vm.io = IoCounters::default()
                .with(Counter::RssKib, Some(rss))
                .with(Counter::DiskRdBytes, Some(acc.read as u64))
                .with(Counter::DiskWrBytes, Some(acc.write as u64))
                .with(Counter::DiskRdReqs, Some((acc.read / 16384.0) as u64))
                .with(Counter::DiskWrReqs, Some((acc.write / 16384.0) as u64))
                .with(Counter::NetRxBytes, Some(acc.rx as u64))
                .with(Counter::NetTxBytes, Some(acc.tx as u64));
        }
        let cpus = f64::from(self.cpus);
        // The host's own work: a little, with a wave of its own.
        busy_cores = (busy_cores + 0.02 * cpus * wave("host", t)).min(cpus);
        st.node_total_ns += cpus * 1e9 * dt;
        st.node_busy_ns += busy_cores * 1e9 * dt;
        if let Some(node) = node {
            node.cpu = Some(NodeCpu {
                total_ns: st.node_total_ns as u64,
                idle_ns: (st.node_total_ns - st.node_busy_ns).max(0.0) as u64,
            });
            if self.memory_kib > 0 {
                let overhead = self.memory_kib / 50;
                node.memory = Some(NodeMemory {
                    total_kib: self.memory_kib,
                    available_kib: self.memory_kib.saturating_sub(used_kib + overhead),
                });
            }
        }
    }
}

impl Simulate for DemoMetrics {
    fn fill(&self, vms: &mut [Arc<Vm>], node: Option<&mut NodeSample>) {
        self.fill_at(vms, node, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn vm(name: &str, state: VmState) -> Arc<Vm> {
        let mut v = crate::app::tests::vm(name, state);
        (v.vcpus, v.memory_kib, v.max_memory_kib) = (4, 8 << 20, 8 << 20);
        Arc::new(v)
    }

    /// CPU share of each VM between two fills 10 s apart.
    fn shares(sim: &DemoMetrics, vms: &mut [Arc<Vm>], t0: Instant) -> Vec<Option<f64>> {
        sim.fill_at(vms, None, t0);
        let before: Vec<Option<u64>> = vms.iter().map(|v| v.cpu_time_ns).collect();
        sim.fill_at(vms, None, t0 + Duration::from_secs(10));
        vms.iter()
            .zip(before)
            .map(|(v, b)| Some((v.cpu_time_ns? - b?) as f64 / 10e9 / f64::from(v.vcpus)))
            .collect()
    }

    #[test]
    fn roles_states_and_the_host_add_up() {
        let sim = DemoMetrics::new(32, 512 << 20);
        let mut vms = vec![
            vm("db-primary", VmState::Running),
            vm("bastion", VmState::Running),
            vm("web-02", VmState::Paused),
            vm("web-04", VmState::Shutoff),
        ];
        let t0 = Instant::now();
        let s = shares(&sim, &mut vms, t0);
        let (db, bastion) = (s[0].unwrap(), s[1].unwrap());
        assert!(db > 0.2 && db <= 1.0, "db {db}");
        assert!(bastion < 0.1, "bastion {bastion}");
        assert!(db > 5.0 * bastion);
        assert_eq!(s[2], Some(0.0), "a paused VM is flat");
        assert_eq!(s[3], None, "a shut-off VM has no counters");
        assert!(
            vms[2].io.rss_kib().is_some(),
            "a paused VM still holds memory"
        );
        assert_eq!(vms[3].io, IoCounters::default());
        let mut node = NodeSample::default();
        sim.fill_at(&mut vms, Some(&mut node), t0 + Duration::from_secs(20));
        let cpu = node.cpu.unwrap();
        assert!(cpu.idle_ns < cpu.total_ns);
        let mem = node.memory.unwrap();
        assert!(mem.available_kib < mem.total_kib);
    }

    #[test]
    fn the_same_vm_moves_the_same_way_every_run_and_over_time() {
        let t0 = Instant::now();
        let a = DemoMetrics::new(8, 1 << 24);
        let b = DemoMetrics::new(8, 1 << 24);
        let mut x = vec![vm("k8s-worker-01", VmState::Running)];
        let mut y = x.clone();
        let sa = shares(&a, &mut x, t0);
        let sb = shares(&b, &mut y, t0);
        // Same start moment per simulator: the same shares (to rounding).
        assert!((sa[0].unwrap() - sb[0].unwrap()).abs() < 1e-6);
        // Over a few minutes the load moves.
        let ws: Vec<f64> = (0..20)
            .map(|i| wave("uuid-k8s-worker-01", f64::from(i) * 15.0))
            .collect();
        let (lo, hi) = ws
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), w| (l.min(*w), h.max(*w)));
        assert!(hi - lo > 0.3, "{ws:?}");
        // Counters never go back.
        let before = x[0].io.get(Counter::NetRxBytes).unwrap();
        a.fill_at(&mut x, None, t0 + Duration::from_secs(30));
        assert!(x[0].io.get(Counter::NetRxBytes).unwrap() > before);
    }
}
