//! Host workers: one OS thread per libvirt connection owns its `virt::Connect`. Commands go in
//! over a channel; connection status, snapshots and results come back through a callback. The UI
//! thread never calls libvirt.

pub mod agent;
mod backoff;
pub mod backup;
mod caps;
pub mod create;
pub mod doctor;
mod events;
mod hints;
pub mod meta;
pub mod migrate;
pub(crate) mod network;
pub use network::all_addresses;
mod node;
mod nodedev;
mod ops;
pub mod overlay;
mod readings;
mod request;
pub mod script;
pub mod stats;
mod storage;
mod uptime;
pub mod vm;
mod watch;
mod worker;

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use crate::model::{HostId, HostInfo, Snapshot};

pub use backoff::backoff_delay;
pub use create::CreateVm;
pub use events::ensure_event_loop;
pub use hints::{hint, with_hint};
pub use node::{is_local_uri, test_connection};
pub use ops::run_op;
pub use request::{Reply, RequestId};
pub use worker::{effective_uri, message};

/// A lifecycle operation on one domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LifecycleOp {
    Start,
    Shutdown,
    Reboot,
    Reset,
    ForceOff,
    Pause,
    Resume,
    ManagedSave,
    SetAutostart(bool),
}

impl LifecycleOp {
    /// Progressive verb shown on the row while the operation is pending.
    pub fn pending_label(self) -> &'static str {
        match self {
            LifecycleOp::Start => "starting",
            LifecycleOp::Shutdown => "shutting down",
            LifecycleOp::Reboot => "rebooting",
            LifecycleOp::Reset => "resetting",
            LifecycleOp::ForceOff => "forcing off",
            LifecycleOp::Pause => "pausing",
            LifecycleOp::Resume => "resuming",
            LifecycleOp::ManagedSave => "saving",
            LifecycleOp::SetAutostart(_) => "setting autostart",
        }
    }

    /// Imperative name for messages ("start failed: …").
    /// What the message says once libvirt took it (a shutdown or reboot is only asked of
    /// the guest).
    pub fn done(self) -> &'static str {
        match self {
            LifecycleOp::Start => "started",
            LifecycleOp::Shutdown => "shutdown asked of the guest (ACPI)",
            LifecycleOp::Reboot => "reboot asked of the guest",
            LifecycleOp::Reset => "reset",
            LifecycleOp::ForceOff => "forced off",
            LifecycleOp::Pause => "paused",
            LifecycleOp::Resume => "resumed",
            LifecycleOp::ManagedSave => "saved",
            LifecycleOp::SetAutostart(true) => "autostart on",
            LifecycleOp::SetAutostart(false) => "autostart off",
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            LifecycleOp::Start => "start",
            LifecycleOp::Shutdown => "shut down",
            LifecycleOp::Reboot => "reboot",
            LifecycleOp::Reset => "reset",
            LifecycleOp::ForceOff => "force off",
            LifecycleOp::Pause => "pause",
            LifecycleOp::Resume => "resume",
            LifecycleOp::ManagedSave => "save",
            LifecycleOp::SetAutostart(true) => "enable autostart",
            LifecycleOp::SetAutostart(false) => "disable autostart",
        }
    }
}

/// What the app asks a worker to do.
#[derive(Clone, Debug, PartialEq)]
pub enum HostCommand {
    /// Answered with `Reply::Op`.
    Lifecycle {
        id: RequestId,
        uuid: String,
        op: LifecycleOp,
    },
    /// Re-read every domain now (inventory and stats).
    Refresh,
    /// Whether anything on screen shows this host's figures: a host in the background is
    /// polled at `WorkerOptions::background_interval` (events still arrive at once).
    Pace(Pace),
    /// Open the VM's serial console and attach it to `link` (`force` takes it from another
    /// client). The outcome shows in the link's state.
    Console {
        uuid: String,
        force: bool,
        link: crate::console::Link,
    },
    /// Read the VM's graphics setup; answered with `Reply::Display`.
    Display { id: RequestId, uuid: String },
    /// Connect `target.preview` to graphics device `idx`: through libvirt's own socket
    /// (`virDomainOpenGraphicsFD`), else over TCP to `tcp`. Failures show in the preview.
    Preview {
        uuid: String,
        idx: u32,
        target: crate::vnc::PreviewTarget,
        tcp: Option<String>,
        password: Option<String>,
    },
    /// Storage pools, volumes and secrets (`host::storage`).
    Storage(StorageCmd),
    /// Virtual networks, leases, host interfaces, VM addresses (`host::network`).
    Network(NetCmd),
    /// Migration of a VM of this host: pre-flight, start, cancel, speed, downtime, post-copy
    /// (`host::migrate`).
    Migrate(migrate::MigrateCmd),
    /// The VM detail screen: details, edits, snapshots, redefine, clone, delete (`host::vm`).
    Vm(vm::VmCmd),
    /// What the host can give a new guest (UEFI, Secure Boot, TPM): answered with
    /// `HostEvent::Caps` (`host::caps`).
    Caps,
    /// The host's PCI, USB and mediated devices (the attach form's host-device picker):
    /// answered with `HostEvent::NodeDevices` (`host::nodedev`).
    NodeDevices,
    /// The new-VM wizard's Create (`host::create`): answered with `Reply::Done`, progress
    /// and outcome also in its job.
    CreateVm(Box<CreateVm>),
    /// Close the connection and end the thread.
    Stop,
}

/// Storage work. Every action is answered with `Reply::Done` and followed by a
/// fresh `HostEvent::Storage`; `Refresh` only sends the inventory.
#[derive(Clone, Debug, PartialEq)]
pub enum StorageCmd {
    /// Re-read pools, volumes (with the VMs using them) and secrets.
    Refresh,
    /// Read the first bytes of a volume and say whether it can be a boot disk
    /// (`Reply::ImageHead`).
    Sniff {
        id: RequestId,
        pool: String,
        volume: String,
    },
    /// Have libvirt rescan every active pool (files copied into a dir pool appear), then
    /// send the inventory: what the new-VM wizard asks for when it opens. On a side thread,
    /// since a pool on a slow mount takes its time.
    Rescan,
    Pool {
        id: RequestId,
        pool: String,
        op: PoolOp,
    },
    /// Define a pool from the wizard. Steps run in order (secret, define, build, start,
    /// autostart); when one fails, what the earlier ones created is removed again.
    DefinePool {
        id: RequestId,
        xml: String,
        /// A secret to create first (rbd/iscsi auth): its XML and value.
        secret: Option<(String, Vec<u8>)>,
        build: bool,
        start: bool,
        autostart: bool,
    },
    /// Answered with `Reply::Sources`. `spec` is the `<source>` XML hint (host for netfs
    /// and iscsi), if the type needs one.
    FindSources {
        id: RequestId,
        kind: String,
        spec: Option<String>,
    },
    Volume {
        id: RequestId,
        pool: String,
        /// The volume acted on; for Create and Clone, the new volume's name.
        volume: String,
        op: VolOp,
    },
    /// Upload a local file into a volume / download a volume to a file on a thread of its own;
    /// progress, cancel and outcome go through `job`.
    Upload {
        pool: String,
        volume: String,
        file: std::path::PathBuf,
        job: crate::job::Job,
    },
    Download {
        pool: String,
        volume: String,
        file: std::path::PathBuf,
        job: crate::job::Job,
    },
    /// Define a secret (XML) and set its value when given.
    DefineSecret {
        id: RequestId,
        xml: String,
        value: Option<Vec<u8>>,
    },
    SetSecretValue {
        id: RequestId,
        uuid: String,
        value: Vec<u8>,
    },
    DeleteSecret {
        id: RequestId,
        uuid: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolOp {
    Start,
    /// `virStoragePoolDestroy`: deactivate (data stays).
    Stop,
    Refresh,
    Build,
    SetAutostart(bool),
    Undefine,
    /// `virStoragePoolDelete`: remove the underlying storage (directory, VG…). Inactive pools.
    Delete,
}

#[derive(Clone, Debug, PartialEq)]
pub enum VolOp {
    Create {
        xml: String,
    },
    /// Create `xml` with `source`'s content (`virStorageVolCreateXMLFrom`).
    Clone {
        source: String,
        xml: String,
    },
    /// New capacity in bytes; growing only.
    Resize {
        capacity: u64,
    },
    Wipe,
    Delete,
}

/// Network work: actions answer with `Reply::Done` followed by a fresh
/// `HostEvent::Networks`.
#[derive(Clone, Debug, PartialEq)]
pub enum NetCmd {
    /// Networks and host interfaces; answered with `HostEvent::Networks`.
    Refresh,
    /// One network's DHCP leases; answered with `Reply::Leases`.
    Leases { id: RequestId, network: String },
    /// Addresses of every running VM (lease, then agent, then ARP); answered with
    /// `HostEvent::Addresses`.
    Addresses,
    Net {
        id: RequestId,
        network: String,
        op: NetOp,
    },
    /// Define from the wizard, then start and set autostart; rolls back on failure.
    Define {
        id: RequestId,
        xml: String,
        start: bool,
        autostart: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetOp {
    Start,
    Stop,
    SetAutostart(bool),
    Undefine,
}

/// How often a worker polls: the view decides (`app::pace`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// Its VMs or node figures are on screen: every `poll_interval`.
    Shown,
    /// Nothing on screen shows its figures: every `background_interval`.
    Background,
}

/// What a worker reports.
#[derive(Clone, Debug)]
pub enum HostEvent {
    /// Lifecycle events since the last flush, oldest first (for the events pane).
    DomainEvents(Vec<crate::model::event::LifecycleEvent>),
    Connecting {
        attempt: u32,
    },
    Connected(HostInfo),
    /// Connecting failed; the worker retries after `retry_in`.
    Unreachable {
        error: String,
        retry_in: Duration,
    },
    /// An open connection broke; the worker reconnects.
    Lost {
        error: String,
    },
    Snapshot(Snapshot),
    /// A libvirt call has run longer than the call timeout (daemon stopped or overloaded,
    /// network stalled). Commands fail at once until `Resumed` or `Lost`.
    Stalled {
        for_: Duration,
    },
    /// The hung call returned.
    Resumed,
    /// The answer to a request (`request.rs`).
    Reply {
        id: RequestId,
        reply: Reply,
    },
    Storage(crate::model::storage::StorageInventory),
    Networks(crate::model::network::NetworkInventory),
    /// Addresses per VM UUID.
    Addresses(std::collections::HashMap<String, Vec<crate::model::network::VmAddr>>),
    /// Progress, control answers and the end of a migration (`MigrateCmd::Start`).
    Migration(crate::model::migration::MigrationUpdate),
    /// A VM's definitions and snapshots as they are after a `VmCmd::Act` (news, not an
    /// answer: the act's answer is its `Reply::Done`).
    VmChanged {
        uuid: String,
        details: Box<vm::VmDetails>,
    },
    /// The answer to `HostCommand::Caps`.
    Caps(Result<crate::xml::domcaps::GuestCaps, String>),
    /// The answer to `HostCommand::NodeDevices`.
    NodeDevices(Result<crate::model::hostdev::HostDevices, String>),
}

/// A VM's graphics devices, read from its XML.
#[derive(Clone, Debug, PartialEq)]
pub struct DisplayInfo {
    pub graphics: Vec<crate::display::Graphics>,
    /// The domain is running (ports are real, not configured).
    pub active: bool,
}

/// Answers a command that cannot reach libvirt (host not connected or not responding) at once,
/// so nothing waits on a dead host. Refresh and Stop need no answer.
pub(crate) fn refuse(cmd: HostCommand, reason: &str, notify: &dyn Fn(HostEvent)) {
    match cmd {
        HostCommand::Lifecycle { id, .. } => notify(HostEvent::Reply {
            id,
            reply: Reply::Op(Err(reason.to_string())),
        }),
        HostCommand::Console { link, .. } => link.fail(reason.to_string()),
        HostCommand::Preview { target, .. } => target.preview.fail(reason.to_string()),
        HostCommand::Display { id, .. } => notify(HostEvent::Reply {
            id,
            reply: Reply::Display(Err(reason.to_string())),
        }),
        HostCommand::Storage(c) => match c {
            StorageCmd::Pool { id, .. }
            | StorageCmd::DefinePool { id, .. }
            | StorageCmd::Volume { id, .. }
            | StorageCmd::DefineSecret { id, .. }
            | StorageCmd::SetSecretValue { id, .. }
            | StorageCmd::DeleteSecret { id, .. } => notify(HostEvent::Reply {
                id,
                reply: Reply::Done(Err(reason.to_string())),
            }),
            StorageCmd::Upload { job, .. } | StorageCmd::Download { job, .. } => {
                job.finish(crate::job::JobState::Failed(reason.to_string()))
            }
            StorageCmd::FindSources { id, .. } => notify(HostEvent::Reply {
                id,
                reply: Reply::Sources(Err(reason.to_string())),
            }),
            StorageCmd::Sniff { id, .. } => notify(HostEvent::Reply {
                id,
                reply: Reply::ImageHead(Err(reason.to_string())),
            }),
            StorageCmd::Refresh | StorageCmd::Rescan => {}
        },
        HostCommand::Network(c) => match c {
            NetCmd::Net { id, .. } | NetCmd::Define { id, .. } => notify(HostEvent::Reply {
                id,
                reply: Reply::Done(Err(reason.to_string())),
            }),
            NetCmd::Leases { id, .. } => notify(HostEvent::Reply {
                id,
                reply: Reply::Leases(Err(reason.to_string())),
            }),
            NetCmd::Refresh | NetCmd::Addresses => {}
        },
        HostCommand::Migrate(c) => migrate::refuse(c, reason, notify),
        HostCommand::Vm(c) => match c {
            vm::VmCmd::Details { id, .. } => notify(HostEvent::Reply {
                id,
                reply: Reply::VmDetails(Err(reason.to_string())),
            }),
            vm::VmCmd::Act { id, .. } => notify(HostEvent::Reply {
                id,
                reply: Reply::Done(Err(reason.to_string())),
            }),
            vm::VmCmd::Clone { job, .. }
            | vm::VmCmd::Backup { job, .. }
            | vm::VmCmd::MoveDisk { job, .. }
            | vm::VmCmd::Restore { job, .. } => {
                job.finish(crate::job::JobState::Failed(reason.to_string()))
            }
            vm::VmCmd::GuestInfo { slot, .. } => slot.fill(Err(reason.to_string())),
        },
        HostCommand::CreateVm(c) => {
            c.job
                .finish(crate::job::JobState::Failed(reason.to_string()));
            notify(HostEvent::Reply {
                id: c.id,
                reply: Reply::Done(Err(reason.to_string())),
            })
        }
        HostCommand::Caps => notify(HostEvent::Caps(Err(reason.to_string()))),
        HostCommand::NodeDevices => notify(HostEvent::NodeDevices(Err(reason.to_string()))),
        HostCommand::Refresh | HostCommand::Pace(_) | HostCommand::Stop => {}
    }
}

/// Runs on every new connection before the first poll (the demo fleet uses it to apply what
/// the test driver cannot load from XML). An error is reported like a failed connect.
pub type OnConnect = Arc<dyn Fn(&virt::connect::Connect) -> Result<(), String> + Send + Sync>;

/// Where a worker's events go (called from the worker and its watcher thread).
pub type Notify = Arc<dyn Fn(HostEvent) + Send + Sync>;

#[derive(Clone)]
pub struct WorkerOptions {
    pub poll_interval: Duration,
    /// The poll interval of a host nothing on screen shows (`Pace::Background`).
    pub background_interval: Duration,
    pub readonly: bool,
    /// Full inventory (autostart, persistence…) is re-read this often; events and actions
    /// refresh single domains in between.
    pub inventory_interval: Duration,
    /// A libvirt call running longer than this marks the host as not responding.
    pub call_timeout: Duration,
    /// Also sample the machine virtdeck runs on (load, memory, disks): for local URIs.
    pub local_machine: bool,
    pub on_connect: Option<OnConnect>,
    /// Made-up metrics laid over every snapshot: only the demo's own hosts set it
    /// (`DemoHost::options`), never a real URI.
    pub simulate: Option<Arc<dyn Simulate>>,
}

/// Fills in metrics a host does not report (the demo: the test driver has none).
pub trait Simulate: Send + Sync + std::fmt::Debug {
    fn fill(
        &self,
        vms: &mut [std::sync::Arc<crate::model::Vm>],
        node: Option<&mut crate::model::NodeSample>,
    );
}

impl WorkerOptions {
    /// The options config.toml and `--readonly` give every host.
    pub fn from_config(cfg: &crate::config::Config, readonly: bool) -> WorkerOptions {
        let poll_interval = Duration::from_secs_f64(cfg.poll_interval);
        WorkerOptions {
            poll_interval,
            background_interval: background_interval(poll_interval),
            call_timeout: Duration::from_secs_f64(cfg.call_timeout),
            readonly,
            ..WorkerOptions::default()
        }
    }

    /// These options for one host: local URIs also sample this machine.
    pub fn for_uri(&self, uri: &str) -> WorkerOptions {
        WorkerOptions {
            local_machine: is_local_uri(uri),
            ..self.clone()
        }
    }
}

/// Five polls' time, at least 10 s: 100 hosts of which two are on screen cost a fifth of
/// what they did, and a host brought on screen is polled at once (`Session::run`).
fn background_interval(poll: Duration) -> Duration {
    (poll * 5).max(Duration::from_secs(10))
}

impl Default for WorkerOptions {
    fn default() -> Self {
        let poll_interval = Duration::from_secs(2);
        WorkerOptions {
            poll_interval,
            background_interval: background_interval(poll_interval),
            readonly: false,
            inventory_interval: Duration::from_secs(30),
            call_timeout: Duration::from_secs(5),
            local_machine: false,
            on_connect: None,
            simulate: None,
        }
    }
}

/// The app's side of a worker. Dropping the last clone stops the worker.
#[derive(Clone, Debug)]
pub struct HostHandle {
    pub id: HostId,
    pub uri: String,
    link: Arc<watch::Link>,
}

impl HostHandle {
    /// Sends without waiting. A worker that already ended just drops the command; one stuck in
    /// a libvirt call past the timeout has it answered at once.
    pub fn send(&self, cmd: HostCommand) {
        self.link.send(cmd);
    }
}

/// Starts the worker thread for `uri` and has the watcher (one thread for all workers) look
/// at it. `notify` is called from those threads for every event.
pub fn spawn(
    id: HostId,
    uri: String,
    opts: WorkerOptions,
    notify: impl Fn(HostEvent) + Send + Sync + 'static,
) -> std::io::Result<HostHandle> {
    ensure_event_loop();
    let notify: Notify = Arc::new(notify);
    let (wtx, wrx) = mpsc::channel();
    let busy = watch::Busy::new();
    let timeout = opts.call_timeout;
    {
        let (uri, busy, wtx, notify) = (
            uri.clone(),
            Arc::clone(&busy),
            wtx.clone(),
            Arc::clone(&notify),
        );
        std::thread::Builder::new()
            .name(format!("host-{}", id.0))
            .spawn(move || worker::run_guarded(uri, opts, wrx, wtx, busy, notify))?;
    }
    let link = Arc::new(watch::Link::new(wtx, busy, timeout, notify));
    Ok(HostHandle { id, uri, link })
}
