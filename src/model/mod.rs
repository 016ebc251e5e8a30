//! Plain data shared by host workers and the app: what a host reports about itself and its VMs.

pub mod event;
pub mod hostdev;
pub mod migration;
pub mod network;
pub mod storage;

use std::sync::Arc;
use std::time::Instant;

/// Index of a host in the app's host list; also names its worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostId(pub usize);

/// A domain's run state, as libvirt's `virDomainState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VmState {
    Running,
    Blocked,
    Paused,
    PmSuspended,
    Shutdown,
    Crashed,
    Shutoff,
    NoState,
}

impl VmState {
    pub const ALL: [VmState; 8] = [
        VmState::Running,
        VmState::Blocked,
        VmState::Paused,
        VmState::PmSuspended,
        VmState::Shutdown,
        VmState::Crashed,
        VmState::Shutoff,
        VmState::NoState,
    ];

    pub fn from_raw(raw: i64) -> VmState {
        match raw {
            1 => VmState::Running,
            2 => VmState::Blocked,
            3 => VmState::Paused,
            4 => VmState::Shutdown,
            5 => VmState::Shutoff,
            6 => VmState::Crashed,
            7 => VmState::PmSuspended,
            _ => VmState::NoState,
        }
    }

    /// Lower-case label as `virsh list` prints it.
    pub fn label(self) -> &'static str {
        match self {
            VmState::Running => "running",
            VmState::Blocked => "blocked",
            VmState::Paused => "paused",
            VmState::PmSuspended => "suspended",
            VmState::Shutdown => "shutting down",
            VmState::Crashed => "crashed",
            VmState::Shutoff => "shut off",
            VmState::NoState => "no state",
        }
    }

    /// One-cell symbol so the state reads without colour (NO_COLOR, monochrome themes).
    pub fn symbol(self) -> &'static str {
        match self {
            VmState::Running | VmState::Blocked => "▶",
            VmState::Paused => "‖",
            VmState::PmSuspended => "☾",
            VmState::Shutdown => "↓",
            VmState::Crashed => "✖",
            VmState::Shutoff => "■",
            VmState::NoState => "?",
        }
    }

    /// True when the domain has a running QEMU process (it has an id).
    pub fn is_active(self) -> bool {
        !matches!(self, VmState::Shutoff | VmState::NoState)
    }
}

/// What the app knows about one VM. `Eq` lets two `Arc<Vm>` that share their VM compare
/// equal without reading it (the app compares each snapshot's list with its own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vm {
    pub uuid: String,
    pub name: String,
    pub id: Option<u32>,
    pub state: VmState,
    pub vcpus: u32,
    pub memory_kib: u64,
    pub max_memory_kib: u64,
    /// Cumulative guest CPU time; absent where the driver reports none (test driver).
    pub cpu_time_ns: Option<u64>,
    /// Cumulative disk and network counters and the QEMU process RSS, from bulk stats.
    pub io: IoCounters,
    pub autostart: bool,
    pub persistent: bool,
    pub managed_save: bool,
    /// When the guest started (`host::uptime`); `None` while stopped or when unknown.
    pub started: Option<std::time::SystemTime>,
    /// How much of it has been read yet.
    pub known: Known,
    /// Marked as a template in virtdeck's metadata (`xml::meta`): listed apart, not started.
    pub template: bool,
    /// Tags from virtdeck's metadata (`tag:` in the filter, the TAGS column).
    pub tags: Vec<String>,
    /// The note from virtdeck's metadata.
    pub note: Option<String>,
}

/// How much of a VM the worker has read: a big or far host shows its rows from its first
/// list call and fills in the rest as it arrives, instead of a blank table meanwhile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Known {
    /// Name and whether it runs (from the list call alone): `state` is `Running` or
    /// `Shutoff` and the flags are not read yet.
    Listed,
    /// State and flags too; vCPUs and memory are still being read (0 until then). Drivers
    /// whose bulk stats carry no vCPU or balloon figures (the test driver) get them from one
    /// `info` call per VM, between other work.
    Flagged,
    #[default]
    All,
}

/// Counters summed over a VM's disks and interfaces, and the QEMU process RSS (`None` where
/// the driver reports none). Held as plain integers and a mask: seven `Option<u64>` were 112
/// bytes of every `Vm`, of which a 10,000-VM host keeps three or four lists at a time.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct IoCounters {
    /// Zero where not known, so that equal readings compare equal.
    v: [u64; 7],
    known: u8,
}

/// One of `IoCounters`' readings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    RssKib,
    DiskRdBytes,
    DiskWrBytes,
    DiskRdReqs,
    DiskWrReqs,
    NetRxBytes,
    NetTxBytes,
}

impl Counter {
    pub const ALL: [Counter; 7] = [
        Counter::RssKib,
        Counter::DiskRdBytes,
        Counter::DiskWrBytes,
        Counter::DiskRdReqs,
        Counter::DiskWrReqs,
        Counter::NetRxBytes,
        Counter::NetTxBytes,
    ];
}

impl IoCounters {
    pub fn get(&self, c: Counter) -> Option<u64> {
        let i = c as usize;
        (self.known & (1 << i) != 0).then_some(self.v[i])
    }

    pub fn set(&mut self, c: Counter, value: Option<u64>) {
        let i = c as usize;
        self.v[i] = value.unwrap_or(0);
        if value.is_some() {
            self.known |= 1 << i;
        } else {
            self.known &= !(1 << i);
        }
    }

    /// Adds a device's reading to the sum (`block.0.rd.bytes` + `block.1.rd.bytes` …).
    pub fn add(&mut self, c: Counter, value: Option<u64>) {
        if let Some(v) = value {
            let sum = self.get(c).unwrap_or(0).saturating_add(v);
            self.set(c, Some(sum));
        }
    }

    /// These counters with `c` set (building them in tests and the demo).
    pub fn with(mut self, c: Counter, value: Option<u64>) -> Self {
        self.set(c, value);
        self
    }

    pub fn rss_kib(&self) -> Option<u64> {
        self.get(Counter::RssKib)
    }
}

impl std::fmt::Debug for IoCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for c in Counter::ALL {
            if let Some(v) = self.get(c) {
                m.entry(&c, &v);
            }
        }
        m.finish()
    }
}

/// Cumulative node CPU times (all CPUs), from `virNodeGetCPUStats`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeCpu {
    pub total_ns: u64,
    pub idle_ns: u64,
}

/// Node memory, from `virNodeGetMemoryStats` (or free memory where that is missing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeMemory {
    pub total_kib: u64,
    /// Free plus reclaimable (buffers, page cache).
    pub available_kib: u64,
}

/// One active storage pool's space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolUsage {
    pub name: String,
    pub capacity: u64,
    pub allocation: u64,
    pub available: u64,
}

/// The machine virtdeck runs on, for local URIs (from `sysinfo`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LocalMachine {
    pub load: [f64; 3],
    pub cpus: usize,
    pub mem_total: u64,
    pub mem_used: u64,
    pub disks: Vec<LocalDisk>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalDisk {
    pub mount: String,
    pub total: u64,
    pub available: u64,
}

/// Host-level readings taken with a poll. `None` fields were not read this time (unsupported
/// by the driver, or refreshed less often than every tick); the app keeps the previous value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeSample {
    pub cpu: Option<NodeCpu>,
    pub memory: Option<NodeMemory>,
    pub pools: Option<Vec<PoolUsage>>,
    pub local: Option<LocalMachine>,
}

/// Static facts about a connected host.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostInfo {
    pub hostname: String,
    /// Driver name and version, e.g. "QEMU 7.2.0".
    pub hypervisor: String,
    /// libvirt library version of the daemon side, e.g. "9.0.0".
    pub libvirt: String,
    pub cpus: u32,
    pub memory_kib: u64,
    /// Its metrics are made up (the demo's hosts): every screen showing them says so.
    pub simulated: bool,
}

/// One poll of a host's VMs.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Shared with the worker's own list: a snapshot costs a pointer per VM, and only the VMs
    /// a tick changed are copied (the worker's `Arc::make_mut`), not the whole list.
    pub vms: Vec<Arc<Vm>>,
    pub taken_at: Instant,
    /// Host readings; absent on snapshots sent after an action or event (VM list only).
    pub node: Option<NodeSample>,
    /// Tells the worker when this snapshot has been consumed (dropped).
    pub receipt: Receipt,
}

/// A VM list as snapshots carry it, from plain VMs (tests build theirs with it).
pub fn shared(vms: Vec<Vm>) -> Vec<Arc<Vm>> {
    vms.into_iter().map(Arc::new).collect()
}

/// Counts a worker's snapshots still on their way to the app: each carries one receipt, and
/// dropping its last clone gives the place back. A worker sends no new snapshot while its
/// limit is reached (it keeps the changes for later), so a UI that stops reading (a busy
/// frame, `$EDITOR` open) holds a bounded number of full VM lists, not one per poll or action.
#[derive(Clone, Debug, Default)]
pub struct Receipt {
    _place: Option<std::sync::Arc<Place>>,
}

#[derive(Debug)]
pub struct Place(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// The worker's side of its receipts.
#[derive(Clone, Debug, Default)]
pub struct Outbox {
    in_flight: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Outbox {
    /// A receipt for one more snapshot, or None while `limit` are still on their way.
    pub fn take(&self, limit: usize) -> Option<Receipt> {
        use std::sync::atomic::Ordering;
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()?;
        let place = Place(std::sync::Arc::clone(&self.in_flight));
        Some(Receipt {
            _place: Some(std::sync::Arc::new(place)),
        })
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// Formats a libvirt packed version (major * 1_000_000 + minor * 1000 + release).
pub fn version_string(packed: u32) -> String {
    format!(
        "{}.{}.{}",
        packed / 1_000_000,
        (packed / 1000) % 1000,
        packed % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_from_raw_matches_libvirt_numbers() {
        assert_eq!(VmState::from_raw(1), VmState::Running);
        assert_eq!(VmState::from_raw(3), VmState::Paused);
        assert_eq!(VmState::from_raw(5), VmState::Shutoff);
        assert_eq!(VmState::from_raw(7), VmState::PmSuspended);
        assert_eq!(VmState::from_raw(42), VmState::NoState);
        assert!(VmState::Paused.is_active());
        assert!(!VmState::Shutoff.is_active());
    }

    #[test]
    fn receipts_give_their_place_back_when_the_last_clone_drops() {
        let out = Outbox::default();
        let a = out.take(2).expect("first place");
        let b = out.take(2).expect("second place");
        assert!(out.take(2).is_none(), "both places taken");
        let a2 = a.clone();
        drop(a);
        assert_eq!(out.in_flight(), 2, "a clone still holds the place");
        drop(a2);
        assert_eq!(out.in_flight(), 1);
        assert!(out.take(2).is_some());
        drop(b);
    }

    #[test]
    fn packed_versions_format() {
        assert_eq!(version_string(9_000_000), "9.0.0");
        assert_eq!(version_string(7_002_001), "7.2.1");
    }
}
