//! Host evacuation (maintenance mode): which running VM goes to which other host, and a
//! queue that starts at most N migrations at a time. Pure: the app feeds it what the
//! snapshots and pre-flight checks say, and starts what the queue hands out.

use std::collections::{BTreeSet, VecDeque};

use crate::model::migration::MigrationId;
use crate::model::HostId;

/// A running VM to move.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmLoad {
    pub uuid: String,
    pub name: String,
    pub memory_kib: u64,
}

impl VmLoad {
    /// The VMs an evacuation moves: the running, blocked and paused ones of a host's
    /// snapshot (a crashed or shutting-down VM cannot be migrated live).
    pub fn active(vms: &[std::sync::Arc<crate::model::Vm>]) -> Vec<VmLoad> {
        use crate::model::VmState::*;
        vms.iter()
            .filter(|v| matches!(v.state, Running | Blocked | Paused))
            .map(|v| VmLoad {
                uuid: v.uuid.clone(),
                name: v.name.clone(),
                memory_kib: v.memory_kib,
            })
            .collect()
    }
}

/// A host that may receive VMs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetLoad {
    pub host: HostId,
    pub free_kib: u64,
    /// Connected and its host-level pre-flight passed; an ineligible host gets nothing.
    pub eligible: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// In start order: largest VM first.
    pub assignments: Vec<(VmLoad, HostId)>,
    /// VMs no eligible host has room (or a passed check) for.
    pub unplaced: Vec<VmLoad>,
}

/// Balances by free memory: the largest VM goes first, each onto the host with the most free
/// memory left after what was already assigned to it (ties: the lower host id, so plans are
/// stable). A host takes a VM only if `reserve_kib` stays free afterwards and `allowed(vm
/// uuid, host)` holds (the per-VM pre-flight on that host passed). Greedy, not optimal: with
/// few hosts and VMs of similar size it is what an admin would do by hand.
pub fn plan_evacuation(
    vms: &[VmLoad],
    targets: &[TargetLoad],
    reserve_kib: u64,
    allowed: impl Fn(&str, HostId) -> bool,
) -> Plan {
    let mut order: Vec<&VmLoad> = vms.iter().collect();
    // Stable for equal sizes: the caller's order (e.g. by name) decides.
    order.sort_by_key(|v| std::cmp::Reverse(v.memory_kib));
    let mut free: Vec<(HostId, u64)> = targets
        .iter()
        .filter(|t| t.eligible)
        .map(|t| (t.host, t.free_kib))
        .collect();
    let mut plan = Plan::default();
    for vm in order {
        let need = vm.memory_kib.saturating_add(reserve_kib);
        let best = free
            .iter_mut()
            .filter(|(h, f)| *f >= need && allowed(&vm.uuid, *h))
            .max_by(|(ha, fa), (hb, fb)| fa.cmp(fb).then(hb.cmp(ha)));
        match best {
            Some((host, f)) => {
                *f -= vm.memory_kib;
                plan.assignments.push((vm.clone(), *host));
            }
            None => plan.unplaced.push(vm.clone()),
        }
    }
    plan
}

/// Migrations waiting for a slot, and the ones holding a slot. The app pushes every planned
/// migration, starts what [`Queue::start_next`] returns, and calls [`Queue::finished`] when
/// one ends (whatever the outcome), then starts what `start_next` returns again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queue {
    limit: usize,
    waiting: VecDeque<MigrationId>,
    running: BTreeSet<MigrationId>,
}

impl Queue {
    /// `limit` is clamped to at least 1.
    pub fn new(limit: usize) -> Queue {
        Queue {
            limit: limit.max(1),
            waiting: VecDeque::new(),
            running: BTreeSet::new(),
        }
    }

    pub fn push(&mut self, id: MigrationId) {
        if !self.running.contains(&id) && !self.waiting.contains(&id) {
            self.waiting.push_back(id);
        }
    }

    /// The migrations to start now (in queue order); they count as running from here on.
    pub fn start_next(&mut self) -> Vec<MigrationId> {
        let mut out = Vec::new();
        while self.running.len() < self.limit {
            let Some(id) = self.waiting.pop_front() else {
                break;
            };
            self.running.insert(id);
            out.push(id);
        }
        out
    }

    /// A running migration ended and frees its slot.
    pub fn finished(&mut self, id: MigrationId) {
        self.running.remove(&id);
    }

    /// Drops a migration that has not started; false when it is not waiting (already
    /// running: cancel it on its host instead).
    pub fn cancel_waiting(&mut self, id: MigrationId) -> bool {
        let before = self.waiting.len();
        self.waiting.retain(|&w| w != id);
        self.waiting.len() != before
    }

    /// Changes the limit; a lower one lets running migrations finish.
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.max(1);
    }

    pub fn waiting(&self) -> impl Iterator<Item = MigrationId> + '_ {
        self.waiting.iter().copied()
    }

    pub fn running(&self) -> impl Iterator<Item = MigrationId> + '_ {
        self.running.iter().copied()
    }

    pub fn is_idle(&self) -> bool {
        self.waiting.is_empty() && self.running.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1024 * 1024;

    fn vm(name: &str, gib: u64) -> VmLoad {
        VmLoad {
            uuid: format!("u-{name}"),
            name: name.into(),
            memory_kib: gib * GIB,
        }
    }

    fn host(id: usize, free_gib: u64) -> TargetLoad {
        TargetLoad {
            host: HostId(id),
            free_kib: free_gib * GIB,
            eligible: true,
        }
    }

    fn names(p: &Plan) -> Vec<(String, usize)> {
        p.assignments
            .iter()
            .map(|(v, h)| (v.name.clone(), h.0))
            .collect()
    }

    #[test]
    fn largest_first_onto_the_most_free_memory() {
        let vms = [vm("small", 1), vm("big", 8), vm("mid", 4), vm("mid2", 4)];
        let targets = [host(1, 10), host(2, 12)];
        let p = plan_evacuation(&vms, &targets, 0, |_, _| true);
        // big → 2 (12 → 4 left); mid → 1 (10 → 6); mid2 → 1 (6 → 2); small → 2 (4 → 3).
        assert_eq!(
            names(&p),
            [
                ("big".into(), 2),
                ("mid".into(), 1),
                ("mid2".into(), 1),
                ("small".into(), 2)
            ]
        );
        assert!(p.unplaced.is_empty());
    }

    #[test]
    fn what_fits_nowhere_is_reported() {
        let vms = [vm("huge", 32), vm("a", 2), vm("b", 2)];
        let targets = [host(1, 3), host(2, 16)];
        let p = plan_evacuation(&vms, &targets, 0, |_, _| true);
        assert_eq!(
            p.unplaced
                .iter()
                .map(|v| v.name.as_str())
                .collect::<Vec<_>>(),
            ["huge"]
        );
        assert_eq!(names(&p), [("a".into(), 2), ("b".into(), 2)]);
    }

    #[test]
    fn reserve_ineligible_hosts_and_failed_checks_are_respected() {
        let vms = [vm("a", 4), vm("b", 4)];
        // With 1 GiB reserved, host 1 (8 GiB) takes one 4 GiB VM, not two.
        let p = plan_evacuation(&vms, &[host(1, 8)], GIB, |_, _| true);
        assert_eq!(names(&p), [("a".into(), 1)]);
        assert_eq!(p.unplaced.len(), 1);
        // An ineligible host gets nothing even with room.
        let mut off = host(2, 100);
        off.eligible = false;
        let p = plan_evacuation(&vms, &[off, host(3, 5)], 0, |_, _| true);
        assert_eq!(names(&p), [("a".into(), 3)]);
        // A failed per-VM check on the roomiest host sends that VM elsewhere.
        let p = plan_evacuation(&vms, &[host(1, 100), host(2, 10)], 0, |u, h| {
            !(u == "u-a" && h == HostId(1))
        });
        assert_eq!(names(&p), [("a".into(), 2), ("b".into(), 1)]);
    }

    #[test]
    fn ties_go_to_the_lower_host_id() {
        let p = plan_evacuation(&[vm("a", 1)], &[host(5, 8), host(3, 8)], 0, |_, _| true);
        assert_eq!(names(&p), [("a".into(), 3)]);
    }

    #[test]
    fn only_migratable_vms_are_evacuated() {
        use crate::model::{IoCounters, Vm, VmState};
        let vm = |name: &str, state| Vm {
            uuid: format!("u-{name}"),
            name: name.into(),
            id: None,
            state,
            vcpus: 1,
            memory_kib: 2 * GIB,
            max_memory_kib: 4 * GIB,
            cpu_time_ns: None,
            io: IoCounters::default(),
            autostart: false,
            persistent: true,
            managed_save: false,
            known: Default::default(),
            template: false,
            tags: Vec::new(),
            note: None,
            started: None,
        };
        let loads = VmLoad::active(
            &[
                vm("run", VmState::Running),
                vm("off", VmState::Shutoff),
                vm("paused", VmState::Paused),
                vm("crashed", VmState::Crashed),
            ]
            .map(std::sync::Arc::new),
        );
        let names: Vec<_> = loads.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["run", "paused"]);
        assert_eq!(
            loads[0].memory_kib,
            2 * GIB,
            "current memory, not the maximum"
        );
    }

    #[test]
    fn queue_keeps_the_limit() {
        let mut q = Queue::new(2);
        for id in 1..=5 {
            q.push(id);
        }
        q.push(1); // no duplicates
        assert_eq!(q.start_next(), [1, 2]);
        assert_eq!(q.start_next(), Vec::<u64>::new(), "both slots taken");
        q.finished(2);
        assert_eq!(q.start_next(), [3]);
        assert!(q.cancel_waiting(5));
        assert!(!q.cancel_waiting(3), "running: cancel on the host");
        q.finished(1);
        q.finished(3);
        assert_eq!(q.start_next(), [4]);
        assert_eq!(q.running().collect::<Vec<_>>(), [4]);
        q.finished(4);
        assert!(q.is_idle());
    }

    #[test]
    fn limit_changes_apply_to_the_next_starts() {
        let mut q = Queue::new(0);
        for id in 1..=4 {
            q.push(id);
        }
        assert_eq!(q.start_next(), [1], "a limit of 0 still runs one");
        q.set_limit(3);
        assert_eq!(q.start_next(), [2, 3]);
        q.set_limit(1);
        q.finished(1);
        assert_eq!(q.start_next(), Vec::<u64>::new(), "still two running");
        assert_eq!(q.waiting().collect::<Vec<_>>(), [4]);
    }
}
