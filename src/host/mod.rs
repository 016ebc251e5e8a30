//! Host workers: one OS thread per libvirt connection owns its `virt::Connect`. Commands go in
//! over a channel; connection status, snapshots and results come back through a callback. The UI
//! thread never calls libvirt.

mod backoff;
mod events;
mod hints;
mod node;
mod ops;
pub mod stats;
mod watch;
mod worker;

use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::time::Duration;

use crate::model::{HostId, HostInfo, Snapshot};

pub use backoff::backoff_delay;
pub use events::ensure_event_loop;
pub use hints::{hint, with_hint};
pub use node::is_local_uri;
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
    Lifecycle {
        uuid: String,
        name: String,
        op: LifecycleOp,
    },
    /// Re-read every domain now (inventory and stats).
    Refresh,
    /// Open the VM's serial console and attach it to `link` (`force` takes it from another
    /// client). The outcome shows in the link's state.
    Console {
        uuid: String,
        force: bool,
        link: crate::console::Link,
    },
    /// Read the VM's graphics setup; answered with `HostEvent::Display`.
    Display { uuid: String },
    /// Connect `target.preview` to graphics device `idx`: through libvirt's own socket
    /// (`virDomainOpenGraphicsFD`), else over TCP to `tcp`. Failures show in the preview.
    Preview {
        uuid: String,
        idx: u32,
        target: crate::app::preview::PreviewTarget,
        tcp: Option<String>,
        password: Option<String>,
    },
    /// Close the connection and end the thread.
    Stop,
}

/// What a worker reports.
#[derive(Clone, Debug)]
pub enum HostEvent {
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
    OpDone {
        uuid: String,
        name: String,
        op: LifecycleOp,
        result: Result<(), String>,
    },
    Display {
        uuid: String,
        result: Result<DisplayInfo, String>,
    },
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
        HostCommand::Lifecycle { uuid, name, op } => notify(HostEvent::OpDone {
            uuid,
            name,
            op,
            result: Err(reason.to_string()),
        }),
        HostCommand::Console { link, .. } => link.fail(reason.to_string()),
        HostCommand::Preview { target, .. } => target.preview.fail(reason.to_string()),
        HostCommand::Display { uuid } => notify(HostEvent::Display {
            uuid,
            result: Err(reason.to_string()),
        }),
        HostCommand::Refresh | HostCommand::Stop => {}
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
    pub readonly: bool,
    /// Full inventory (autostart, persistence…) is re-read this often; events and actions
    /// refresh single domains in between.
    pub inventory_interval: Duration,
    /// A libvirt call running longer than this marks the host as not responding.
    pub call_timeout: Duration,
    /// Also sample the machine virtdeck runs on (load, memory, disks): for local URIs.
    pub local_machine: bool,
    pub on_connect: Option<OnConnect>,
}

impl WorkerOptions {
    /// The options config.toml and `--readonly` give every host.
    pub fn from_config(cfg: &crate::config::Config, readonly: bool) -> WorkerOptions {
        WorkerOptions {
            poll_interval: Duration::from_secs_f64(cfg.poll_interval),
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

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            poll_interval: Duration::from_secs(2),
            readonly: false,
            inventory_interval: Duration::from_secs(30),
            call_timeout: Duration::from_secs(5),
            local_machine: false,
            on_connect: None,
        }
    }
}

/// The app's side of a worker.
#[derive(Clone, Debug)]
pub struct HostHandle {
    pub id: HostId,
    pub uri: String,
    tx: Sender<HostCommand>,
}

impl HostHandle {
    /// Sends without waiting. A worker that already ended just drops the command.
    pub fn send(&self, cmd: HostCommand) {
        let _ = self.tx.send(cmd);
    }
}

/// Starts the worker thread for `uri` and its watcher. `notify` is called from those threads
/// for every event.
pub fn spawn(
    id: HostId,
    uri: String,
    opts: WorkerOptions,
    notify: impl Fn(HostEvent) + Send + Sync + 'static,
) -> std::io::Result<HostHandle> {
    ensure_event_loop();
    let notify: Notify = Arc::new(notify);
    let (tx, rx) = mpsc::channel();
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
    std::thread::Builder::new()
        .name(format!("watch-{}", id.0))
        .spawn(move || watch::run(rx, wtx, busy, timeout, notify))?;
    Ok(HostHandle { id, uri, tx })
}
