//! How a bulk-stats record updates the worker's copy of a VM. The worker's VMs are shared
//! with the snapshots and the app's list (`Arc`), so a record is compared first and the VM
//! copied only when something changed: a tick that changes nothing (stopped guests, a test
//! driver) copies nothing, and one that changes every running guest copies only those.

use std::sync::Arc;

use super::stats::DomainStats;
use crate::model::{IoCounters, Known, Vm, VmState};

/// The fields of a `Vm` a stats record can change.
#[derive(Clone, Copy, PartialEq)]
struct Readings {
    state: VmState,
    id: Option<u32>,
    cpu_time_ns: Option<u64>,
    io: IoCounters,
    vcpus: u32,
    memory_kib: u64,
    max_memory_kib: u64,
    known: Known,
}

impl Readings {
    fn of(vm: &Vm) -> Readings {
        Readings {
            state: vm.state,
            id: vm.id,
            cpu_time_ns: vm.cpu_time_ns,
            io: vm.io,
            vcpus: vm.vcpus,
            memory_kib: vm.memory_kib,
            max_memory_kib: vm.max_memory_kib,
            known: vm.known,
        }
    }

    fn write(self, vm: &mut Vm) {
        vm.state = self.state;
        vm.id = self.id;
        vm.cpu_time_ns = self.cpu_time_ns;
        vm.io = self.io;
        vm.vcpus = self.vcpus;
        vm.memory_kib = self.memory_kib;
        vm.max_memory_kib = self.max_memory_kib;
        vm.known = self.known;
    }
}

/// Writes `st` into `vm`; returns whether it changed anything.
pub fn apply(st: &DomainStats, vm: &mut Arc<Vm>) -> bool {
    let before = Readings::of(vm);
    let mut r = before;
    if let Some(s) = st.state {
        r.state = VmState::from_raw(s);
    }
    r.id = st.id;
    // Shut-off domains report libvirtd's own CPU time here on some hosts: ignore it.
    r.cpu_time_ns = st.id.and(st.cpu_time_ns);
    r.io = st.io;
    if let Some(v) = st.vcpu_current {
        r.vcpus = v as u32;
    }
    if let Some(m) = st.balloon_current_kib {
        r.memory_kib = m;
    }
    if let Some(m) = st.balloon_max_kib {
        r.max_memory_kib = m;
    }
    if r.known == Known::Flagged && st.vcpu_current.is_some() && st.balloon_max_kib.is_some() {
        r.known = Known::All;
    }
    if r == before {
        return false;
    }
    r.write(Arc::make_mut(vm));
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Counter;

    fn vm() -> Vm {
        Vm {
            uuid: "6695eb01-f6a4-8304-79aa-97f2502e193f".into(),
            name: "web <&>".into(),
            id: Some(3),
            state: VmState::Running,
            vcpus: 2,
            memory_kib: 1024,
            max_memory_kib: 2048,
            cpu_time_ns: Some(10),
            io: IoCounters::default(),
            autostart: true,
            persistent: true,
            managed_save: false,
            started: None,
            known: Known::Flagged,
            template: false,
            tags: vec!["db".into()],
            note: None,
        }
    }

    fn record() -> DomainStats {
        DomainStats {
            id: Some(3),
            state: Some(1),
            cpu_time_ns: Some(10),
            ..DomainStats::default()
        }
    }

    #[test]
    fn a_record_that_changes_nothing_copies_nothing() {
        let mut mine = Arc::new(vm());
        let theirs = Arc::clone(&mine);
        assert!(!apply(&record(), &mut mine));
        assert!(Arc::ptr_eq(&mine, &theirs), "still shared with the app");
    }

    #[test]
    fn a_changed_record_copies_the_vm_and_leaves_the_apps_alone() {
        let mut mine = Arc::new(vm());
        let theirs = Arc::clone(&mine);
        let mut st = record();
        st.cpu_time_ns = Some(99);
        st.io.set(Counter::NetRxBytes, Some(7));
        st.vcpu_current = Some(4);
        st.balloon_max_kib = Some(4096);
        assert!(apply(&st, &mut mine));
        assert!(!Arc::ptr_eq(&mine, &theirs));
        assert_eq!(theirs.cpu_time_ns, Some(10));
        assert_eq!(mine.cpu_time_ns, Some(99));
        assert_eq!(mine.io.get(Counter::NetRxBytes), Some(7));
        assert_eq!((mine.vcpus, mine.max_memory_kib), (4, 4096));
        assert_eq!(mine.known, Known::All, "vCPUs and memory read");
        assert_eq!(
            (mine.name.as_str(), &mine.tags[..]),
            ("web <&>", &["db".to_string()][..])
        );
    }

    #[test]
    fn a_stopped_domain_drops_its_id_and_cpu_time() {
        let mut mine = Arc::new(vm());
        let st = DomainStats {
            state: Some(5),
            cpu_time_ns: Some(123),
            ..DomainStats::default()
        };
        assert!(apply(&st, &mut mine));
        assert_eq!(
            (mine.state, mine.id, mine.cpu_time_ns),
            (VmState::Shutoff, None, None)
        );
    }
}
