//! The migration runner. Commands go to the *source* host's worker; the worker only hands
//! them over, so it keeps polling while a migration runs:
//!
//! - `Preflight` reads facts from this host and the target on a thread of its own (one
//!   target connection for all the VMs it checks) and answers each VM's request id with
//!   `Reply::Preflight(checks)`.
//! - `Start` runs the migration on its own thread (libvirt's migrate call blocks for the
//!   whole migration) with a second reference to this host's connection, plus a connection
//!   to the target unless peer-to-peer (then the source daemon connects itself). A poller
//!   thread samples the job statistics every 500 ms and applies control commands (cancel =
//!   `virDomainAbortJob`, max speed, max downtime, post-copy switch). Everything is reported
//!   as `HostEvent::Migration(MigrationUpdate { id, .. })`, ending with exactly one
//!   `MigrationEvent::Finished`.
//! - `Cancel`, `SetSpeed`, `SetDowntime`, `PostCopy` find the running migration by id. They
//!   work even while the worker itself is stalled or reconnecting (`refuse` routes them
//!   here), since the migration has its own threads and connection reference.
//!
//! Events of `Preflight` and `Start` go through the command's [`Report`]: the worker points it
//! at its callback for work on threads of its own (a refusal answers through the worker's
//! callback directly), or the caller builds it with `Report::new` to receive them itself.
//!
//! Migration address: without a `migrate_uri` libvirt lets the target's QEMU listen on the
//! target's host name, which must resolve (from the source) to a non-loopback address of the
//! target. When it does not (two daemons on one machine, a dedicated migration network,
//! a name that resolves to 127.0.1.1), set [`MigrationTarget::migration_address`] to the
//! target's address on the network migration traffic should use (per-host setting).
//!
//! The libvirt reads behind the pre-flight checks are in `gather`, the raw calls the `virt`
//! crate lacks in `ffi`; the checks themselves are pure (`crate::migrate::preflight`).

pub(crate) mod ffi;
pub mod gather;

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::error::Error;
use virt::sys;

use super::{message, HostEvent, Reply, RequestId};
use crate::migrate::preflight::{self, Check, CheckKind, Status};
use crate::model::migration::{
    migration_uri, MigrationEvent, MigrationId, MigrationKind, MigrationOptions, MigrationUpdate,
    Outcome, PostCopy, Progress, Setting,
};
use ffi::TypedParams;

/// How often the poller samples the job statistics.
const SAMPLE: Duration = Duration::from_millis(500);

type Sink = Arc<dyn Fn(HostEvent) + Send + Sync>;

/// Where a migration's events go. Clones share the destination; set once.
#[derive(Clone, Default)]
pub struct Report(Arc<OnceLock<Sink>>);

impl Report {
    /// A report that calls `f` for every event.
    pub fn new(f: impl Fn(HostEvent) + Send + Sync + 'static) -> Report {
        let r = Report::default();
        r.set(f);
        r
    }

    /// Sets the destination; false if it was set already (the first one stays).
    pub fn set(&self, f: impl Fn(HostEvent) + Send + Sync + 'static) -> bool {
        self.0.set(Arc::new(f)).is_ok()
    }

    pub fn is_set(&self) -> bool {
        self.0.get().is_some()
    }

    fn send(&self, ev: HostEvent) {
        if let Some(f) = self.0.get() {
            f(ev);
        }
    }

    /// Sends to the report's destination, else to `notify` (a refusal answers at once, so
    /// the worker's own callback is enough).
    fn send_or(&self, ev: HostEvent, notify: &dyn Fn(HostEvent)) {
        match self.0.get() {
            Some(f) => f(ev),
            None => notify(ev),
        }
    }

    fn update(&self, id: MigrationId, event: MigrationEvent) {
        self.send(HostEvent::Migration(MigrationUpdate { id, event }));
    }
}

impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Report")
            .field("set", &self.is_set())
            .finish()
    }
}

impl PartialEq for Report {
    fn eq(&self, o: &Self) -> bool {
        Arc::ptr_eq(&self.0, &o.0)
    }
}

/// Where a VM goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationTarget {
    /// The target's libvirt URI as this machine reaches it; for peer-to-peer it must also
    /// work from the source daemon (`qemu+ssh://kvm2/system`, `qemu+tls://…`).
    pub uri: String,
    /// Address of the target for the migration data stream (`migrate_uri tcp://ADDRESS`);
    /// `None` lets libvirt use the target's host name. See the module documentation.
    pub migration_address: Option<String>,
}

/// Migration work, sent to the source host's worker.
#[derive(Clone, Debug, PartialEq)]
pub enum MigrateCmd {
    /// Run the pre-flight checks for moving each of `vms` (request id, uuid) to `target`
    /// with `options`, one after the other over one connection to the target; each VM is
    /// answered with its own `Reply::Preflight` through `report`.
    Preflight {
        vms: Vec<(RequestId, String)>,
        target: MigrationTarget,
        options: MigrationOptions,
        report: Report,
    },
    /// Start a migration; progress and the end arrive as `HostEvent::Migration` through
    /// `report` (first `Started`, last `Finished`).
    Start {
        id: MigrationId,
        uuid: String,
        target: MigrationTarget,
        options: MigrationOptions,
        report: Report,
    },
    /// Abort the running migration (`virDomainAbortJob`); it ends `Cancelled` (or, if it was
    /// already switching over, `Succeeded`). Before libvirt's job exists the abort is retried
    /// until it takes.
    Cancel { id: MigrationId },
    /// Change the bandwidth cap while running, MiB/s (0 = unlimited).
    SetSpeed { id: MigrationId, mib_s: u64 },
    /// Change the tolerated downtime while running, ms.
    SetDowntime { id: MigrationId, ms: u64 },
    /// Switch to post-copy now (the migration must have been started with post-copy).
    PostCopy { id: MigrationId },
}

impl MigrateCmd {
    /// The report of a Preflight or Start (the worker sets its destination unless it has one).
    pub fn report(&self) -> Option<&Report> {
        match self {
            MigrateCmd::Preflight { report, .. } | MigrateCmd::Start { report, .. } => Some(report),
            _ => None,
        }
    }
}

/// A control command for a running migration's poller.
#[derive(Clone, Copy, Debug)]
enum Control {
    Cancel,
    SetSpeed(u64),
    SetDowntime(u64),
    PostCopy,
}

impl Control {
    fn setting(self) -> Setting {
        match self {
            Control::Cancel => Setting::Cancel,
            Control::SetSpeed(m) => Setting::MaxSpeed(m),
            Control::SetDowntime(ms) => Setting::MaxDowntime(ms),
            Control::PostCopy => Setting::PostCopy,
        }
    }
}

/// Running migrations of this process by id (ids are unique across hosts): the way in for
/// control commands. An entry lives from `Start` until the migrate call returns; dropping
/// it ends the poller.
fn running() -> &'static Mutex<HashMap<MigrationId, Sender<Control>>> {
    static RUNNING: OnceLock<Mutex<HashMap<MigrationId, Sender<Control>>>> = OnceLock::new();
    RUNNING.get_or_init(Default::default)
}

fn register(id: MigrationId) -> Option<Receiver<Control>> {
    let mut map = running().lock().unwrap_or_else(PoisonError::into_inner);
    if map.contains_key(&id) {
        return None;
    }
    let (tx, rx) = mpsc::channel();
    map.insert(id, tx);
    Some(rx)
}

fn unregister(id: MigrationId) {
    running()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&id);
}

/// Runs one migration command from the worker (never blocks on the migration itself).
/// Preflight and Start report through `shared`, the worker's callback for work on threads
/// of its own, unless the caller gave their report a destination already.
pub(super) fn run(conn: &Connect, cmd: MigrateCmd, shared: &super::Notify) {
    let notify: &dyn Fn(HostEvent) = &**shared;
    if let Some(r) = cmd.report() {
        let shared = Arc::clone(shared);
        r.set(move |ev| shared(ev));
    }
    match cmd {
        MigrateCmd::Preflight {
            vms,
            target,
            options,
            report,
        } => spawn_preflight(conn.clone(), vms, target, options, report),
        MigrateCmd::Start {
            id,
            uuid,
            target,
            options,
            report,
        } => start(conn.clone(), id, uuid, target, options, report),
        MigrateCmd::Cancel { id } => control(id, Control::Cancel, notify),
        MigrateCmd::SetSpeed { id, mib_s } => control(id, Control::SetSpeed(mib_s), notify),
        MigrateCmd::SetDowntime { id, ms } => control(id, Control::SetDowntime(ms), notify),
        MigrateCmd::PostCopy { id } => control(id, Control::PostCopy, notify),
    }
}

/// Runs a command outside any worker (the scripting CLI) on a connection of the caller's:
/// a Preflight or Start must carry a report with a destination, control commands find the
/// migration this process runs.
pub fn run_detached(conn: &Connect, cmd: MigrateCmd) {
    let nowhere: super::Notify = Arc::new(|_| {});
    run(conn, cmd, &nowhere);
}

/// Answers a command the worker cannot take (host not connected or not responding). Control
/// commands still reach a running migration: it has its own connection reference.
pub(super) fn refuse(cmd: MigrateCmd, reason: &str, notify: &dyn Fn(HostEvent)) {
    match cmd {
        MigrateCmd::Preflight { vms, report, .. } => {
            for (id, _) in vms {
                report.send_or(
                    HostEvent::Reply {
                        id,
                        reply: Reply::Preflight(vec![not_checked("source host", reason)]),
                    },
                    notify,
                )
            }
        }
        MigrateCmd::Start { id, report, .. } => report.send_or(
            HostEvent::Migration(MigrationUpdate {
                id,
                event: MigrationEvent::Finished(Outcome::Failed(reason.to_string())),
            }),
            notify,
        ),
        other => run_control(other, notify),
    }
}

fn run_control(cmd: MigrateCmd, notify: &dyn Fn(HostEvent)) {
    match cmd {
        MigrateCmd::Cancel { id } => control(id, Control::Cancel, notify),
        MigrateCmd::SetSpeed { id, mib_s } => control(id, Control::SetSpeed(mib_s), notify),
        MigrateCmd::SetDowntime { id, ms } => control(id, Control::SetDowntime(ms), notify),
        MigrateCmd::PostCopy { id } => control(id, Control::PostCopy, notify),
        MigrateCmd::Preflight { .. } | MigrateCmd::Start { .. } => {}
    }
}

fn control(id: MigrationId, c: Control, notify: &dyn Fn(HostEvent)) {
    let tx = running()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&id)
        .cloned();
    let sent = tx.is_some_and(|tx| tx.send(c).is_ok());
    if !sent {
        notify(HostEvent::Migration(MigrationUpdate {
            id,
            event: MigrationEvent::Control {
                setting: c.setting(),
                result: Err("this migration is not running".into()),
            },
        }));
    }
}

/// Opens the target with keepalive, as the worker opens hosts.
fn open_target(uri: &str) -> Result<Connect, String> {
    let uri = super::effective_uri(uri);
    let conn = Connect::open(Some(&uri)).map_err(|e| super::with_hint(&uri, message(&e)))?;
    let _ = conn.set_keep_alive(2, 3);
    Ok(conn)
}

/// Runs `body` on a named thread; a panic (the `virt` crate panics when freeing a handle
/// fails) or a failure to spawn still produces `on_panic`'s event, so the UI never waits.
fn spawn_guarded(
    name: String,
    body: impl FnOnce() + Send + 'static,
    on_panic: impl FnOnce() + Send + 'static,
) -> bool {
    std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).is_err() {
                on_panic();
            }
        })
        .is_ok()
}

/// The one (hard) failure of a pre-flight that could not run.
fn not_checked(name: &str, why: &str) -> Check {
    Check {
        kind: CheckKind::Source,
        name: name.into(),
        status: Status::Fail,
        detail: why.to_string(),
    }
}

fn spawn_preflight(
    src: Connect,
    vms: Vec<(RequestId, String)>,
    target: MigrationTarget,
    options: MigrationOptions,
    report: Report,
) {
    let name = format!("preflight-{}", vms.first().map_or(0, |v| v.0 .0));
    // What the thread has not answered yet, so a panic or a failed spawn still answers
    // every VM and the UI never waits.
    let left: Arc<Mutex<Vec<RequestId>>> = Arc::new(Mutex::new(vms.iter().map(|v| v.0).collect()));
    let fail = {
        let (r, left) = (report.clone(), Arc::clone(&left));
        move |text: &str| {
            let ids = std::mem::take(&mut *left.lock().unwrap_or_else(PoisonError::into_inner));
            for id in ids {
                r.send(HostEvent::Reply {
                    id,
                    reply: Reply::Preflight(vec![not_checked("pre-flight", text)]),
                })
            }
        }
    };
    let on_panic = {
        let fail = fail.clone();
        move || fail("internal error in the pre-flight thread")
    };
    let started = spawn_guarded(
        name,
        move || {
            let dst = open_target(&target.uri);
            for (id, uuid) in vms {
                let facts = gather::facts(&src, &uuid, dst.as_ref().map_err(Clone::clone));
                let checks = preflight::checks(&facts, &options);
                left.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .retain(|&l| l != id);
                report.send(HostEvent::Reply {
                    id,
                    reply: Reply::Preflight(checks),
                });
            }
        },
        on_panic,
    );
    if !started {
        fail("cannot start the pre-flight thread");
    }
}

fn start(
    src: Connect,
    id: MigrationId,
    uuid: String,
    target: MigrationTarget,
    options: MigrationOptions,
    report: Report,
) {
    // Registered before the thread starts, so a Cancel sent right after Start finds it.
    let Some(rx) = register(id) else {
        report.update(
            id,
            MigrationEvent::Finished(Outcome::Failed(format!(
                "migration {id} is already running"
            ))),
        );
        return;
    };
    let r = report.clone();
    let on_panic = move || {
        unregister(id);
        r.update(
            id,
            MigrationEvent::Finished(Outcome::Failed(
                "internal error in the migration thread".into(),
            )),
        );
    };
    let r2 = report.clone();
    let started = spawn_guarded(
        format!("migrate-{id}"),
        move || {
            let report = r2;
            report.update(id, MigrationEvent::Started);
            let outcome = migrate(&src, id, &uuid, &target, &options, &report, rx);
            report.update(id, MigrationEvent::Finished(outcome));
        },
        on_panic,
    );
    if !started {
        unregister(id);
        report.update(
            id,
            MigrationEvent::Finished(Outcome::Failed("cannot start the migration thread".into())),
        );
    }
}

/// What the poller learnt, for the final outcome.
#[derive(Default)]
struct Seen {
    cancel_requested: bool,
}

/// The whole migration, on its thread. Always unregisters before returning.
fn migrate(
    src: &Connect,
    id: MigrationId,
    uuid: &str,
    target: &MigrationTarget,
    options: &MigrationOptions,
    report: &Report,
    rx: Receiver<Control>,
) -> Outcome {
    let prepared = prepare(src, uuid, target, options);
    let (dom, dconn, params, flags) = match prepared {
        Ok(p) => p,
        Err(text) => {
            unregister(id);
            return Outcome::Failed(text);
        }
    };
    let live = options.kind != MigrationKind::Offline;
    // Downtime is a property of the job: set it now, and once more when the job shows up
    // (older QEMUs only accept it during a migration).
    let mut downtime_pending = None;
    if let (true, Some(ms)) = (live, options.max_downtime_ms) {
        if dom.migrate_set_max_downtime(ms, 0).is_err() {
            downtime_pending = Some(ms);
        }
    }
    let poller = {
        let (dom, report) = (dom.clone(), report.clone());
        let auto_postcopy = options.post_copy == PostCopy::AfterFirstPass;
        std::thread::Builder::new()
            .name(format!("migrate-poll-{id}"))
            .spawn(move || poll(&dom, id, &report, rx, downtime_pending, auto_postcopy))
    };
    let result = match &dconn {
        None => ffi::migrate_to_uri3(&dom, &target.uri, &params, flags).map(|()| None),
        Some(d) => ffi::migrate3(&dom, d, &params, flags).map(Some),
    };
    // Dropping the registry's sender ends the poller.
    unregister(id);
    let seen = match poller {
        Ok(h) => h.join().unwrap_or_default(),
        Err(_) => Seen::default(),
    };
    match result {
        Ok(dest) => {
            let done = completed_stats(dest.as_ref(), dconn.as_ref(), target, uuid);
            Outcome::Succeeded {
                downtime_ms: done.downtime_ms,
                total_ms: done.time_elapsed_ms,
                data_bytes: done.data_processed.or(done.data_total),
            }
        }
        Err(_) if seen.cancel_requested => Outcome::Cancelled,
        Err(e) => Outcome::Failed(message(&e)),
    }
}

type Prepared = (Domain, Option<Connect>, TypedParams, u32);

fn prepare(
    src: &Connect,
    uuid: &str,
    target: &MigrationTarget,
    options: &MigrationOptions,
) -> Result<Prepared, String> {
    let address = target.migration_address.as_deref().map(migration_uri);
    let call = options
        .to_call(address.as_deref())
        .map_err(|e| e.to_string())?;
    let dom = src
        .lookup_domain_by_uuid_string(uuid)
        .map_err(|e| message(&e))?;
    let dconn = if options.peer_to_peer {
        None
    } else {
        Some(open_target(&target.uri)?)
    };
    let params = TypedParams::new(&call.params).map_err(|e| message(&e))?;
    Ok((dom, dconn, params, call.flags))
}

/// Downtime and total time of the finished job, from the target's domain (libvirt keeps the
/// completed job's statistics there). `None` when libvirt has none.
fn completed_stats(
    dest: Option<&Domain>,
    dconn: Option<&Connect>,
    target: &MigrationTarget,
    uuid: &str,
) -> Progress {
    let from = |d: &Domain| {
        ffi::job_stats(d, sys::VIR_DOMAIN_JOB_STATS_COMPLETED)
            .ok()
            .map(|s| s.progress)
    };
    if let Some(r) = dest.and_then(from) {
        return r;
    }
    // Peer-to-peer: no handle on the target yet.
    let opened;
    let conn = match dconn {
        Some(c) => c,
        None => match open_target(&target.uri) {
            Ok(c) => {
                opened = c;
                &opened
            }
            Err(_) => return Progress::default(),
        },
    };
    conn.lookup_domain_by_uuid_string(uuid)
        .ok()
        .and_then(|d| from(&d))
        .unwrap_or_default()
}

/// libvirt's job types for a job in progress.
fn in_progress(kind: i32) -> bool {
    kind == sys::VIR_DOMAIN_JOB_BOUNDED as i32 || kind == sys::VIR_DOMAIN_JOB_UNBOUNDED as i32
}

/// The poller: applies control commands as they come and samples the job every
/// [`SAMPLE`], until the registry drops its sender.
fn poll(
    dom: &Domain,
    id: MigrationId,
    report: &Report,
    rx: Receiver<Control>,
    mut downtime_pending: Option<u64>,
    auto_postcopy: bool,
) -> Seen {
    let mut seen = Seen::default();
    let mut job_seen = false;
    let mut completing = false;
    let mut postcopy = false;
    let mut abort_pending = false;
    loop {
        match rx.recv_timeout(SAMPLE) {
            Ok(c) => {
                let result = match c {
                    Control::Cancel => {
                        seen.cancel_requested = true;
                        let r = ffi::abort_job(dom);
                        // No job yet (still connecting to the target): retry each sample.
                        abort_pending = r.is_err() && !job_seen;
                        if abort_pending {
                            continue;
                        }
                        r
                    }
                    Control::SetSpeed(m) => dom.migrate_set_max_speed(m, 0),
                    Control::SetDowntime(ms) => dom.migrate_set_max_downtime(ms, 0),
                    Control::PostCopy => ffi::start_post_copy(dom),
                };
                if matches!(c, Control::PostCopy) && result.is_ok() && !postcopy {
                    postcopy = true;
                    report.update(id, MigrationEvent::PostCopyStarted);
                }
                report.update(
                    id,
                    MigrationEvent::Control {
                        setting: c.setting(),
                        result: result.map_err(|e| message(&e)),
                    },
                );
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return seen,
            Err(RecvTimeoutError::Timeout) => {}
        }
        let Ok(sample) = ffi::job_stats(dom, 0) else {
            continue;
        };
        if in_progress(sample.kind) {
            job_seen = true;
            if abort_pending {
                abort_pending = false;
                let r = ffi::abort_job(dom).map_err(|e| message(&e));
                report.update(
                    id,
                    MigrationEvent::Control {
                        setting: Setting::Cancel,
                        result: r,
                    },
                );
            }
            if let Some(ms) = downtime_pending.take() {
                let r = dom
                    .migrate_set_max_downtime(ms, 0)
                    .map_err(|e: Error| message(&e));
                report.update(
                    id,
                    MigrationEvent::Control {
                        setting: Setting::MaxDowntime(ms),
                        result: r,
                    },
                );
            }
            // Iteration 2 starts once the first full pass over memory is done.
            if auto_postcopy
                && !postcopy
                && sample.progress.mem_iteration.is_some_and(|i| i >= 2)
                && ffi::start_post_copy(dom).is_ok()
            {
                postcopy = true;
                report.update(id, MigrationEvent::PostCopyStarted);
            }
            report.update(id, MigrationEvent::Progress(Box::new(sample.progress)));
        } else if job_seen && !completing {
            // The data phase ended; libvirt is finishing on both hosts.
            completing = true;
            report.update(id, MigrationEvent::Completing);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn collect() -> (Arc<Mutex<Vec<HostEvent>>>, impl Fn(HostEvent)) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        (seen, move |ev| s.lock().unwrap().push(ev))
    }

    fn target() -> MigrationTarget {
        MigrationTarget {
            uri: "qemu+tcp://kvm2/system".into(),
            migration_address: None,
        }
    }

    #[test]
    fn control_of_an_unknown_migration_is_answered() {
        let (seen, notify) = collect();
        let cmd = MigrateCmd::SetDowntime { id: 90_001, ms: 50 };
        assert!(cmd.report().is_none());
        refuse(cmd, "host is not connected", &notify);
        let seen = seen.lock().unwrap();
        match seen.as_slice() {
            [HostEvent::Migration(MigrationUpdate {
                id: 90_001,
                event:
                    MigrationEvent::Control {
                        setting: Setting::MaxDowntime(50),
                        result: Err(e),
                    },
            })] => assert_eq!(e, "this migration is not running"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn control_reaches_a_registered_migration_even_when_refused() {
        let rx = register(90_002).expect("fresh id");
        assert!(register(90_002).is_none(), "an id runs once");
        let (seen, notify) = collect();
        // A stalled worker refuses commands; control still gets through to the poller.
        refuse(MigrateCmd::Cancel { id: 90_002 }, "not responding", &notify);
        run_control(
            MigrateCmd::SetSpeed {
                id: 90_002,
                mib_s: 3,
            },
            &notify,
        );
        assert!(seen.lock().unwrap().is_empty());
        assert!(matches!(rx.try_recv(), Ok(Control::Cancel)));
        assert!(matches!(rx.try_recv(), Ok(Control::SetSpeed(3))));
        unregister(90_002);
        assert!(matches!(
            rx.try_recv(),
            Err(std::sync::mpsc::TryRecvError::Disconnected)
        ));
    }

    #[test]
    fn refused_start_and_preflight_answer_through_the_report() {
        let (seen, f) = collect();
        let report = Report::new(f);
        assert!(report.is_set());
        assert!(!report.set(|_| {}), "the first destination stays");
        let options = MigrationOptions::default();
        refuse(
            MigrateCmd::Start {
                id: 90_003,
                uuid: "u".into(),
                target: target(),
                options: options.clone(),
                report: report.clone(),
            },
            "host is not connected",
            &|_| panic!("not through the worker"),
        );
        refuse(
            MigrateCmd::Preflight {
                vms: vec![(RequestId(90_004), "u".into())],
                target: target(),
                options,
                report,
            },
            "host is not connected",
            &|_| panic!("not through the worker"),
        );
        let seen = seen.lock().unwrap();
        assert!(matches!(
            &seen[0],
            HostEvent::Migration(MigrationUpdate {
                id: 90_003,
                event: MigrationEvent::Finished(Outcome::Failed(e)),
            }) if e == "host is not connected"
        ));
        match &seen[1] {
            HostEvent::Reply {
                id: RequestId(90_004),
                reply: Reply::Preflight(checks),
            } => {
                assert!(preflight::blocking(checks, true), "{checks:?}")
            }
            other => panic!("{other:?}"),
        }
    }

    /// The app sends unset reports: a refusal then answers through the worker's callback.
    #[test]
    fn a_refused_start_without_a_destination_answers_through_the_worker() {
        let (seen, f) = collect();
        refuse(
            MigrateCmd::Start {
                id: 90_005,
                uuid: "u".into(),
                target: target(),
                options: MigrationOptions::default(),
                report: Report::default(),
            },
            "host is not connected",
            &f,
        );
        let seen = seen.lock().unwrap();
        assert!(matches!(
            seen.as_slice(),
            [HostEvent::Migration(MigrationUpdate {
                id: 90_005,
                event: MigrationEvent::Finished(Outcome::Failed(_)),
            })]
        ));
    }

    #[test]
    fn an_unset_report_drops_events() {
        let r = Report::default();
        assert!(!r.is_set());
        r.update(1, MigrationEvent::Started);
        assert_eq!(r.clone(), r, "clones compare equal");
        assert_ne!(r, Report::default());
    }
}
