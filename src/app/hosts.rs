//! Per-host state: connection status, facts, the last snapshot, rates and their history.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use crate::metrics::{node_cpu_percent, vm_rates, Ring, VmHistory, VmRates, VmSample};
use crate::model::{
    HostId, HostInfo, LocalMachine, NodeCpu, NodeMemory, NodeSample, PoolUsage, Snapshot, Vm,
};

#[derive(Clone, Debug, PartialEq)]
pub enum HostStatus {
    Connecting { attempt: u32 },
    Connected,
    Unreachable { error: String, retry_at: Instant },
    Lost { error: String },
}

impl HostStatus {
    pub fn is_connected(&self) -> bool {
        matches!(self, HostStatus::Connected)
    }
}

/// Host-level readings and their history, for the dashboard.
#[derive(Clone, Debug)]
pub struct NodeView {
    pub cpu_pct: Option<f64>,
    pub memory: Option<NodeMemory>,
    pub pools: Vec<PoolUsage>,
    pub local: Option<LocalMachine>,
    pub cpu_history: Ring,
    pub mem_history: Ring,
    prev_cpu: Option<NodeCpu>,
}

impl NodeView {
    fn new(cap: usize) -> NodeView {
        NodeView {
            cpu_pct: None,
            memory: None,
            pools: Vec::new(),
            local: None,
            cpu_history: Ring::new(cap),
            mem_history: Ring::new(cap),
            prev_cpu: None,
        }
    }

    fn apply(&mut self, s: NodeSample) {
        if let Some(cur) = s.cpu {
            self.cpu_pct = self
                .prev_cpu
                .as_ref()
                .and_then(|p| node_cpu_percent(p, &cur));
            self.prev_cpu = Some(cur);
        }
        if let Some(m) = s.memory {
            self.memory = Some(m);
        }
        if let Some(p) = s.pools {
            self.pools = p;
        }
        if let Some(l) = s.local {
            self.local = Some(l);
        }
        self.cpu_history.push(self.cpu_pct);
        self.mem_history.push(self.memory_pct());
    }

    /// Used memory as a share of the total.
    pub fn memory_pct(&self) -> Option<f64> {
        let m = self.memory?;
        (m.total_kib > 0).then(|| {
            m.total_kib.saturating_sub(m.available_kib) as f64 / m.total_kib as f64 * 100.0
        })
    }

    /// Capacity, allocation and available bytes summed over the active pools, each
    /// filesystem once: directory pools on one filesystem all report its capacity and free
    /// space (libvirt has no device id for them), so pools with the same pair count once.
    pub fn storage(&self) -> Option<(u64, u64, u64)> {
        if self.pools.is_empty() {
            return None;
        }
        let mut seen = std::collections::HashSet::new();
        Some(
            self.pools
                .iter()
                .filter(|p| seen.insert((p.capacity, p.available)))
                .fold((0, 0, 0), |(c, a, v), p| {
                    (c + p.capacity, a + p.allocation, v + p.available)
                }),
        )
    }
}

#[derive(Clone, Debug)]
pub struct HostView {
    pub id: HostId,
    pub name: String,
    pub uri: String,
    pub status: HostStatus,
    /// Set while a libvirt call on this host has been running longer than the call timeout.
    pub stalled_since: Option<Instant>,
    pub info: Option<HostInfo>,
    pub vms: Vec<Arc<Vm>>,
    /// When the VM list was last refreshed; older data is shown as stale when disconnected.
    pub updated_at: Option<Instant>,
    /// Each VM's sample, rates and history, at its row's index in `vms` (see `VmMetrics`).
    metrics: Vec<VmMetrics>,
    /// VMs with a rate (a column no host reports is left out of the table).
    rated: usize,
    pub node: NodeView,
    /// Set after a failure, so the next successful connection is announced.
    pub trouble: bool,
    /// Pools, volumes and secrets, once a storage pane asked for them.
    pub storage: Option<crate::model::storage::StorageInventory>,
    /// Networks and host interfaces, once the networks pane asked for them.
    pub networks: Option<crate::model::network::NetworkInventory>,
    /// DHCP leases per network name, as last read.
    pub leases: HashMap<String, Result<Vec<crate::model::network::Lease>, String>>,
    /// Addresses per VM UUID (lease, agent or ARP).
    pub addresses: HashMap<String, Vec<crate::model::network::VmAddr>>,
    /// What the host can give a new guest (UEFI, Secure Boot, TPM), once a form asked.
    pub caps: Option<Result<crate::xml::domcaps::GuestCaps, String>>,
    /// The host's PCI, USB and mediated devices, once the attach form asked.
    pub hostdevs: Option<Result<crate::model::hostdev::HostDevices, String>>,
    history_len: usize,
}

/// One VM's readings. Kept beside the VM list rather than in maps keyed by UUID: three maps
/// (samples, rates, histories) for 10,000 VMs cost 6.5 MB in buckets and key copies, as the
/// map rounds its buckets up to a power of two; this is under 150 bytes a VM.
#[derive(Clone, Debug, Default)]
struct VmMetrics {
    /// The counters the rates start from.
    sample: Option<VmSample>,
    rates: Rates32,
    /// Boxed: only a running VM has one.
    history: Option<Box<VmHistory>>,
}

/// `VmRates` in `f32`s, a gap as `NaN`: rates are shown to three digits. Compared with
/// `same` (`==` would call two gaps different).
#[derive(Clone, Copy, Debug)]
struct Rates32([f32; 7]);

impl Default for Rates32 {
    fn default() -> Self {
        Rates32([f32::NAN; 7])
    }
}

impl Rates32 {
    fn new(r: &VmRates) -> Rates32 {
        let f = |v: Option<f64>| v.map_or(f32::NAN, |v| v as f32);
        Rates32([
            f(r.cpu_pct),
            f(r.disk_rd_bps),
            f(r.disk_wr_bps),
            f(r.disk_rd_iops),
            f(r.disk_wr_iops),
            f(r.net_rx_bps),
            f(r.net_tx_bps),
        ])
    }

    fn none(&self) -> bool {
        self.0.iter().all(|v| v.is_nan())
    }

    /// Same readings (NaN equal to NaN, unlike `==`).
    fn same(&self, other: &Rates32) -> bool {
        self.0
            .iter()
            .zip(&other.0)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    }

    fn get(&self) -> Option<VmRates> {
        if self.none() {
            return None;
        }
        let f = |i: usize| Some(f64::from(self.0[i])).filter(|v| !v.is_nan());
        Some(VmRates {
            cpu_pct: f(0),
            disk_rd_bps: f(1),
            disk_wr_bps: f(2),
            disk_rd_iops: f(3),
            disk_wr_iops: f(4),
            net_rx_bps: f(5),
            net_tx_bps: f(6),
        })
    }
}

impl HostView {
    /// A VM list has come in and every VM's facts are read (not only its row, see
    /// `model::Known`).
    pub fn read_in_full(&self) -> bool {
        self.updated_at.is_some() && self.vms.iter().all(|v| v.known == crate::model::Known::All)
    }

    pub fn new(id: HostId, name: String, uri: String, history_len: usize) -> Self {
        HostView {
            id,
            name,
            uri,
            status: HostStatus::Connecting { attempt: 0 },
            stalled_since: None,
            info: None,
            vms: Vec::new(),
            updated_at: None,
            metrics: Vec::new(),
            rated: 0,
            node: NodeView::new(history_len),
            trouble: false,
            storage: None,
            networks: None,
            leases: HashMap::new(),
            addresses: HashMap::new(),
            caps: None,
            hostdevs: None,
            history_len,
        }
    }

    pub fn running(&self) -> usize {
        self.vms.iter().filter(|v| v.state.is_active()).count()
    }

    /// vCPUs of running VMs per host CPU.
    pub fn overcommit(&self) -> Option<f64> {
        let cpus = self.info.as_ref()?.cpus;
        let vcpus: u64 = self
            .vms
            .iter()
            .filter(|v| v.state.is_active())
            .map(|v| u64::from(v.vcpus))
            .sum();
        (cpus > 0).then(|| vcpus as f64 / f64::from(cpus))
    }

    /// True when the VM data is not live (host disconnected after having reported, or a call
    /// has hung past the timeout).
    /// Its metrics are the demo's made-up ones (`demo::metrics`).
    pub fn simulated(&self) -> bool {
        self.info.as_ref().is_some_and(|i| i.simulated)
    }

    pub fn is_stale(&self) -> bool {
        (!self.status.is_connected() || self.stalled_since.is_some()) && self.updated_at.is_some()
    }

    /// The row of the VM with this UUID (the list is kept in UUID order).
    fn index_of(&self, uuid: &str) -> Option<usize> {
        self.vms
            .binary_search_by(|v| v.uuid.as_str().cmp(uuid))
            .ok()
    }

    /// The VM's rates from its last two samples, if it has any.
    pub fn rates(&self, uuid: &str) -> Option<VmRates> {
        self.rates_at(self.index_of(uuid)?)
    }

    /// The rates of the VM in row `idx` of `vms`.
    pub fn rates_at(&self, idx: usize) -> Option<VmRates> {
        self.metrics.get(idx)?.rates.get()
    }

    /// Whether any VM of this host has a rate.
    pub fn has_rates(&self) -> bool {
        self.rated > 0
    }

    pub fn cpu_pct(&self, uuid: &str) -> Option<f64> {
        self.rates(uuid).and_then(|r| r.cpu_pct)
    }

    /// The VM's charted history, while it runs (and until only gaps are left).
    pub fn history(&self, uuid: &str) -> Option<&VmHistory> {
        self.metrics.get(self.index_of(uuid)?)?.history.as_deref()
    }

    /// Every history held (tests and the memory bench).
    pub fn histories(&self) -> impl Iterator<Item = &VmHistory> {
        self.metrics.iter().filter_map(|m| m.history.as_deref())
    }

    /// Drops every VM's history: the charts start over.
    pub fn clear_histories(&mut self) {
        for m in &mut self.metrics {
            m.history = None;
        }
    }

    /// Sets a VM's rates by hand (alert tests).
    #[cfg(test)]
    pub fn set_rates(&mut self, uuid: &str, r: VmRates) {
        let i = self.index_of(uuid).expect("a VM of the host");
        self.metrics.resize_with(self.vms.len(), VmMetrics::default);
        self.metrics[i].rates = Rates32::new(&r);
        self.rated = self.metrics.iter().filter(|m| !m.rates.none()).count();
    }

    /// Moves each VM's metrics to its row in `next` (both lists in UUID order); a VM new to
    /// the list starts without any.
    fn realign(&mut self, next: &[Arc<Vm>]) {
        let same = self.metrics.len() == next.len()
            && self.vms.len() == next.len()
            && self.vms.iter().zip(next).all(|(a, b)| a.uuid == b.uuid);
        if same {
            return;
        }
        let mut old = std::mem::take(&mut self.metrics).into_iter();
        let mut old_vms = self.vms.iter().map(|v| v.uuid.as_str()).peekable();
        let mut out = Vec::with_capacity(next.len());
        for vm in next {
            let mut found = VmMetrics::default();
            while let Some(u) = old_vms.peek() {
                if *u > vm.uuid.as_str() {
                    break;
                }
                let m = old.next().unwrap_or_default();
                if old_vms.next() == Some(vm.uuid.as_str()) {
                    found = m;
                    break;
                }
            }
            out.push(found);
        }
        self.metrics = out;
    }

    /// Takes a snapshot in, updating rates and history in place (a poll of 5,000 VMs
    /// allocates nothing for the VMs it knew). The VMs are kept in UUID order, so a host whose
    /// list did not change keeps its rows' positions. Returns what the snapshot changed.
    pub fn apply_snapshot(&mut self, mut snap: Snapshot) -> Applied {
        snap.vms.sort_unstable_by(|a, b| a.uuid.cmp(&b.uuid));
        let rated_before = self.rated;
        self.realign(&snap.vms);
        let mut rates_changed = false;
        let mut rated = 0;
        // Only a full poll (with node readings) advances the history, so its points stay one
        // poll interval apart; refreshes after actions and events only update the table.
        let tick = snap.node.is_some();
        for (vm, m) in snap.vms.iter().zip(self.metrics.iter_mut()) {
            let cur = VmSample {
                at: snap.taken_at,
                dom_id: vm.id,
                cpu_time_ns: vm.cpu_time_ns,
                io: vm.io,
            };
            let r = match &mut m.sample {
                // A refresh right after a poll keeps the older sample and the last rates, so
                // rates always span about one poll interval.
                Some(p) if !tick && p.dom_id == cur.dom_id => {
                    rated += usize::from(!m.rates.none());
                    continue;
                }
                Some(p) => {
                    let r = vm_rates(p, &cur, vm.vcpus);
                    *p = cur;
                    r
                }
                None => {
                    m.sample = Some(cur);
                    VmRates::default()
                }
            };
            let r32 = Rates32::new(&r);
            rates_changed |= !m.rates.same(&r32);
            m.rates = r32;
            rated += usize::from(!r32.none());
            if tick {
                let mem = vm.io.rss_kib().or(Some(vm.memory_kib).filter(|m| *m > 0));
                let mem = vm.state.is_active().then_some(mem).flatten();
                // A VM that is off keeps no history (10 minutes of gaps in 7 series would
                // cost 1.7 KiB per VM); one that stops keeps its until only gaps are left.
                match &mut m.history {
                    Some(h) => {
                        h.push(&r, mem);
                        if h.only_gaps() {
                            m.history = None;
                        }
                    }
                    None if VmHistory::blank(&r, mem) => {}
                    None => {
                        let mut h = Box::new(VmHistory::new(self.history_len));
                        h.push(&r, mem);
                        m.history = Some(h);
                    }
                }
            }
        }
        self.rated = rated;
        rates_changed |= rated != rated_before;
        let old = std::mem::replace(&mut self.vms, snap.vms);
        self.updated_at = Some(snap.taken_at);
        let node = snap.node.is_some();
        if let Some(n) = snap.node {
            self.node.apply(n);
        }
        Applied {
            old,
            rates_changed,
            node,
        }
    }
}

/// What a snapshot changed (`HostView::apply_snapshot`).
pub struct Applied {
    /// The VM list it replaced.
    pub old: Vec<Arc<Vm>>,
    pub rates_changed: bool,
    /// Node readings and a point of history arrived (the dashboard's and detail's charts).
    pub node: bool,
}

#[cfg(test)]
mod storage_tests {
    use super::*;
    use crate::model::PoolUsage;

    #[test]
    fn pools_on_one_filesystem_count_once() {
        let mut h = HostView::new(HostId(0), "h".into(), "test:///x".into(), 4);
        let p = |name: &str, cap: u64, alloc: u64| PoolUsage {
            name: name.into(),
            capacity: cap,
            allocation: alloc,
            available: cap - alloc,
        };
        // `default` and `isos` are directories of one 252 GiB filesystem; `vg` is its own.
        h.node.pools = vec![p("default", 252, 18), p("isos", 252, 18), p("vg", 100, 40)];
        assert_eq!(h.node.storage(), Some((352, 58, 294)));
    }
}
