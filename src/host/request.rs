//! Every host command that expects an answer carries a `RequestId`; the worker answers it with
//! exactly one `HostEvent::Reply { id, reply }`. The app remembers what to do with each id
//! (`app::requests`), so no reply needs a key of its own (host, uuid, names) to find its reader.

/// Names one request and its answer. Issued by the app's request registry, unique per run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// The answer to a request, one variant per kind of question.
#[derive(Clone, Debug)]
pub enum Reply {
    /// An action finished (storage, network, VM change, VM creation): `Ok` carries a short
    /// success text.
    Done(Result<String, String>),
    /// A lifecycle operation finished (`HostCommand::Lifecycle`).
    Op(Result<(), String>),
    /// A VM's graphics setup (`HostCommand::Display`).
    Display(Result<super::DisplayInfo, String>),
    /// What a volume's first bytes say (`StorageCmd::Sniff`).
    ImageHead(Result<crate::diskimage::Head, String>),
    /// Pool sources found on the host (`StorageCmd::FindSources`).
    Sources(Result<Vec<crate::model::storage::PoolSource>, String>),
    /// One network's DHCP leases (`NetCmd::Leases`).
    Leases(Result<Vec<crate::model::network::Lease>, String>),
    /// A VM's definitions and snapshots (`VmCmd::Details`).
    VmDetails(Result<Box<super::vm::VmDetails>, String>),
    /// The pre-flight checks of one VM (`MigrateCmd::Preflight`, one reply per VM).
    Preflight(Vec<crate::migrate::preflight::Check>),
}
