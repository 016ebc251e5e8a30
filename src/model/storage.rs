//! Storage as a host reports it: pools, their volumes (with the VMs whose disks use them) and
//! libvirt secrets. Filled by `host::storage`, shown by the pools and volumes panes.

/// `virStoragePoolState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PoolState {
    Inactive,
    Building,
    Running,
    Degraded,
    Inaccessible,
}

impl PoolState {
    pub fn from_raw(raw: u32) -> PoolState {
        match raw {
            1 => PoolState::Building,
            2 => PoolState::Running,
            3 => PoolState::Degraded,
            4 => PoolState::Inaccessible,
            _ => PoolState::Inactive,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PoolState::Inactive => "inactive",
            PoolState::Building => "building",
            PoolState::Running => "running",
            PoolState::Degraded => "degraded",
            PoolState::Inaccessible => "inaccessible",
        }
    }

    pub fn is_active(self) -> bool {
        matches!(self, PoolState::Running | PoolState::Degraded)
    }
}

/// One storage pool.
#[derive(Clone, Debug, PartialEq)]
pub struct Pool {
    pub name: String,
    pub uuid: String,
    /// The pool type from its XML: dir, fs, netfs, logical, iscsi, rbd, gluster, disk…
    pub kind: String,
    pub state: PoolState,
    pub autostart: bool,
    pub persistent: bool,
    /// Bytes; zero while the pool is inactive.
    pub capacity: u64,
    pub allocation: u64,
    pub available: u64,
    /// `<target><path>` (a directory, a VG's /dev path…) when the pool has one.
    pub target: Option<String>,
    /// Sorted by name; empty while the pool is inactive.
    pub volumes: Vec<Volume>,
}

/// One volume of a pool.
#[derive(Clone, Debug, PartialEq)]
pub struct Volume {
    pub name: String,
    pub key: String,
    pub path: String,
    /// `<target><format type>`: raw, qcow2, … ("" when the pool type has none).
    pub format: String,
    /// `virStorageVolType` label: file, block, dir, network, netdir, ploop.
    pub kind: String,
    pub capacity: u64,
    pub allocation: u64,
    /// Path of the qcow2 backing file, if any.
    pub backing: Option<String>,
    /// Names of the defined VMs (running or not) that have a disk on this volume.
    pub used_by: Vec<String>,
}

/// A libvirt secret (metadata only; values are never read back).
#[derive(Clone, Debug, PartialEq)]
pub struct Secret {
    pub uuid: String,
    /// ceph, iscsi, volume, tls, vtpm or none.
    pub usage: String,
    /// The usage id: the ceph/iscsi usage name, a volume path…
    pub usage_id: String,
    pub description: String,
    pub ephemeral: bool,
    pub private: bool,
}

/// Everything the storage panes show for one host.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StorageInventory {
    /// Sorted by name.
    pub pools: Vec<Pool>,
    pub secrets: Vec<Secret>,
}

/// A source `find_storage_pool_sources` reported (an NFS export, a VG, an iSCSI target…).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolSource {
    /// Host name (netfs, iscsi).
    pub host: Option<String>,
    /// Export path (netfs), VG or device path.
    pub dir: Option<String>,
    /// Source name: the VG name (logical), …
    pub name: Option<String>,
    /// Physical devices (logical) or iSCSI target IQNs (device path).
    pub devices: Vec<String>,
    pub format: Option<String>,
}
