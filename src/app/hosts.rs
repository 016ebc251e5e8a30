//! Per-host state: connection status, facts, the last snapshot and CPU history.

use std::collections::HashMap;
use std::time::Instant;

use crate::metrics::{cpu_percent, CpuSample};
use crate::model::{HostId, HostInfo, Snapshot, Vm};

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

#[derive(Clone, Debug)]
pub struct HostView {
    pub id: HostId,
    pub name: String,
    pub uri: String,
    pub status: HostStatus,
    pub info: Option<HostInfo>,
    pub vms: Vec<Vm>,
    /// When the VM list was last refreshed; older data is shown as stale when disconnected.
    pub updated_at: Option<Instant>,
    /// CPU% per VM uuid, from the last two samples.
    pub cpu: HashMap<String, f64>,
    /// Set after a failure, so the next successful connection is announced.
    pub trouble: bool,
    samples: HashMap<String, CpuSample>,
}

impl HostView {
    pub fn new(id: HostId, name: String, uri: String) -> Self {
        HostView {
            id,
            name,
            uri,
            status: HostStatus::Connecting { attempt: 0 },
            info: None,
            vms: Vec::new(),
            updated_at: None,
            cpu: HashMap::new(),
            trouble: false,
            samples: HashMap::new(),
        }
    }

    pub fn running(&self) -> usize {
        self.vms.iter().filter(|v| v.state.is_active()).count()
    }

    /// True when the VM data is not live (host disconnected after having reported).
    pub fn is_stale(&self) -> bool {
        !self.status.is_connected() && self.updated_at.is_some()
    }

    pub fn apply_snapshot(&mut self, snap: Snapshot) {
        let mut samples = HashMap::with_capacity(snap.vms.len());
        let mut cpu = HashMap::with_capacity(snap.vms.len());
        for vm in &snap.vms {
            let Some(ns) = vm.cpu_time_ns else { continue };
            let cur = CpuSample {
                cpu_time_ns: ns,
                at: snap.taken_at,
                dom_id: vm.id,
            };
            match self.samples.get(&vm.uuid) {
                // A refresh right after a poll (action, event) keeps the older sample and the
                // last rate, so rates always span about one poll interval.
                Some(prev)
                    if prev.dom_id == cur.dom_id
                        && snap.taken_at.saturating_duration_since(prev.at).as_millis() < 500 =>
                {
                    if let Some(p) = self.cpu.get(&vm.uuid) {
                        cpu.insert(vm.uuid.clone(), *p);
                    }
                    samples.insert(vm.uuid.clone(), *prev);
                }
                Some(prev) => {
                    if let Some(p) = cpu_percent(prev, &cur, vm.vcpus) {
                        cpu.insert(vm.uuid.clone(), p);
                    }
                    samples.insert(vm.uuid.clone(), cur);
                }
                None => {
                    samples.insert(vm.uuid.clone(), cur);
                }
            }
        }
        self.samples = samples;
        self.cpu = cpu;
        self.vms = snap.vms;
        self.updated_at = Some(snap.taken_at);
    }
}
