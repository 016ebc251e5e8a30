//! The worker thread: connect (with backoff), then poll, run commands and follow events until
//! the connection breaks or the app stops it.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::os::raw::c_int;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::time::{Duration, Instant};

use virt::connect::Connect;
use virt::error::Error;

use std::sync::Arc;

use super::node::NodeSampler;
use super::watch::Busy;
use super::{
    backoff_delay, events, ops, stats, HostCommand, HostEvent, Notify, Reply, WorkerOptions,
};
use crate::model::{version_string, HostInfo, Known, NodeSample, Outbox, Snapshot, Vm};
use virt::domain::Domain;

/// While commands and events keep coming, the table is brought up to date this often.
const FLUSH_EVERY: Duration = Duration::from_millis(250);
const MAX_FLUSH_GAP: Duration = Duration::from_secs(2);
/// Past this many changed domains, one bulk re-read (five calls) beats a re-read per domain
/// (six calls each): a bulk action on 5,000 VMs would otherwise double its round trips.
const BULK_REREAD: usize = 32;
/// Lifecycle events held between two flushes (the app keeps its own bounded list).
const MAX_EVENTS: usize = 10_000;
/// libvirt's `VIR_DOMAIN_EVENT_DEFINED`.
const DEFINED: i32 = virt::sys::VIR_DOMAIN_EVENT_DEFINED as i32;
/// Full VM lists on their way to the app at once (see `model::Receipt`).
const IN_FLIGHT: usize = 2;
/// How soon a snapshot held back by `IN_FLIGHT` is tried again.
const RETRY: Duration = Duration::from_millis(50);
/// Longest stretch of owed `info` calls between two looks at the command queue.
const OWED_SLICE: Duration = Duration::from_millis(40);

pub(crate) enum Input {
    Cmd(HostCommand),
    /// A lifecycle event of a domain (sent from libvirt's event thread).
    DomainEvent(crate::model::event::LifecycleEvent),
    /// virtdeck's metadata of this domain (UUID) changed, by this or another client.
    MetadataChanged(String),
}

enum End {
    Stop,
    Lost(String),
}

/// libvirt's message without the `[code=… domain=…]` suffix the crate's Display adds, and
/// what to do where libvirt's words do not say it (a TPM without swtpm, at define or start).
pub fn message(e: &Error) -> String {
    let m = e.message().trim();
    if m.is_empty() {
        "unknown libvirt error".to_string()
    } else if let Some(fix) = crate::xml::domcaps::explain_tpm_error(m) {
        format!("{m} ({fix})")
    } else {
        m.to_string()
    }
}

/// ssh transports must never prompt on the terminal the UI is drawing on.
pub fn effective_uri(uri: &str) -> String {
    let scheme = uri.split("://").next().unwrap_or("");
    if scheme.contains("+ssh") && !uri.contains("no_tty=") {
        let sep = if uri.contains('?') { '&' } else { '?' };
        format!("{uri}{sep}no_tty=1")
    } else {
        uri.to_string()
    }
}

/// How to reach the host again, for work that runs beside the worker.
#[derive(Clone, Debug)]
pub(crate) struct Side {
    uri: String,
    readonly: bool,
}

impl Side {
    /// A connection of its own for a long call on another thread. Calls on one remote
    /// connection wait for each other (a 2 GiB wipe held up the worker's inventory read for
    /// its whole length), so a second reference to the worker's connection is not enough.
    /// The test driver is in-process and keeps its state per connection, so it shares
    /// `conn`; so does a host that refuses a second connection, rather than failing the work.
    pub(crate) fn connection(&self, conn: &Connect) -> Connect {
        if self.uri.starts_with("test:") {
            return conn.clone();
        }
        match open(&self.uri, self.readonly) {
            Ok((c, _)) => c,
            Err(_) => conn.clone(),
        }
    }

    /// Runs `body` on thread `name` with a connection of its own (`connection`), reporting
    /// through `shared`; `what` names the work in messages. A panic there (the `virt` crate
    /// panics when a free fails) or a thread that cannot start still answers: `cmd` is
    /// refused with the reason, so the UI never waits forever.
    pub(crate) fn spawn(
        &self,
        name: &str,
        what: &str,
        conn: &Connect,
        shared: &Notify,
        cmd: HostCommand,
        body: impl FnOnce(&Connect, &dyn Fn(HostEvent)) + Send + 'static,
    ) {
        let (side, conn, notify) = (self.clone(), conn.clone(), Arc::clone(shared));
        let on_panic = cmd.clone();
        let panic_text = format!("internal error in {what}");
        let started = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let notify: &dyn Fn(HostEvent) = &*notify;
                let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    body(&side.connection(&conn), notify)
                }));
                if ran.is_err() {
                    super::refuse(on_panic, &panic_text, notify);
                }
            });
        if let Err(e) = started {
            let why = format!("cannot start a thread for {what}: {e}");
            super::refuse(cmd, &why, &**shared);
        }
    }
}

fn open(uri: &str, readonly: bool) -> Result<(Connect, HostInfo), Error> {
    let uri = effective_uri(uri);
    let conn = if readonly {
        Connect::open_read_only(Some(&uri))?
    } else {
        Connect::open(Some(&uri))?
    };
    // Keepalive turns a dead or stopped daemon into an error instead of a hang. Local drivers
    // (test, qemu:///system over the unix socket is remote-driver and supports it) may refuse.
    let _ = conn.set_keep_alive(5, 3);
    // Five independent calls, made side by side: one round trip on a far host, not five.
    let c = &conn;
    let (node, hostname, driver, hyp, lib) = std::thread::scope(|s| {
        let hostname = s.spawn(|| c.hostname().unwrap_or_default());
        let driver = s.spawn(|| c.driver_type().unwrap_or_default());
        let hyp = s.spawn(|| c.hyp_version().map(version_string).unwrap_or_default());
        let lib = s.spawn(|| c.lib_version().map(version_string).unwrap_or_default());
        let node = c.node_info().ok();
        (
            node,
            joined(hostname),
            joined(driver),
            joined(hyp),
            joined(lib),
        )
    });
    let info = HostInfo {
        hostname,
        hypervisor: format!("{driver} {hyp}").trim().to_string(),
        libvirt: lib,
        cpus: node.as_ref().map(|n| n.cpus).unwrap_or(0),
        memory_kib: node.map(|n| n.memory).unwrap_or(0),
        simulated: false,
    };
    Ok((conn, info))
}

/// What one inventory listed: every domain's handle, and the bulk stats when they were read
/// beside the list calls.
struct Listed {
    doms: Vec<Domain>,
    stats: Option<StatsRead>,
}

type StatsRead = Result<stats::Records, Error>;

/// One of the flags an inventory reads for every domain with a filtered list call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flag {
    Autostart,
    Persistent,
    ManagedSave,
}

impl Flag {
    const ALL: [Flag; 3] = [Flag::Autostart, Flag::Persistent, Flag::ManagedSave];

    /// The list filters of the domains with and without the flag.
    fn filters(self) -> (u32, u32) {
        use virt::sys::*;
        match self {
            Flag::Autostart => (
                VIR_CONNECT_LIST_DOMAINS_AUTOSTART,
                VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART,
            ),
            Flag::Persistent => (
                VIR_CONNECT_LIST_DOMAINS_PERSISTENT,
                VIR_CONNECT_LIST_DOMAINS_TRANSIENT,
            ),
            Flag::ManagedSave => (
                VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE,
                VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE,
            ),
        }
    }
}

/// The domains a filtered list returned (by `stats::uuid_key`), and whether they are the
/// ones with the flag or the ones without it. A list costs a handle per domain while it is
/// read (about 200 bytes each in libvirt), so an inventory asks for the side that was the
/// smaller one last time: the persistent list of a 10,000-VM host is 10,000 handles, its
/// transient list usually none.
#[derive(Debug, Default)]
struct FlagList {
    uuids: std::collections::HashSet<u128>,
    without: bool,
}

impl FlagList {
    /// Whether the domain (`stats::uuid_key`) has the flag.
    fn has(&self, key: u128) -> bool {
        self.uuids.contains(&key) != self.without
    }

    /// Whether the next inventory should list the domains without the flag: more than half
    /// of `total` domains have it.
    fn ask_without_next(&self, total: usize) -> bool {
        let with = if self.without {
            total.saturating_sub(self.uuids.len())
        } else {
            self.uuids.len()
        };
        with * 2 > total
    }
}

/// The three flag lists and, when `want_stats`, the bulk stats, as concurrent calls on the
/// one connection (libvirt multiplexes them): on a host 50 ms away that is one round trip
/// instead of four. `without[i]` asks for the domains without `Flag::ALL[i]`.
fn flags_and_stats(
    conn: &Connect,
    without: [bool; 3],
    want_stats: bool,
) -> (Result<[FlagList; 3], Error>, Option<StatsRead>) {
    let flagged = |flag: Flag, without: bool| -> Result<FlagList, Error> {
        let (with_it, without_it) = flag.filters();
        let doms = conn.list_all_domains(if without { without_it } else { with_it })?;
        let uuids = doms
            .iter()
            .filter_map(stats::UuidText::of)
            .map(|u| stats::uuid_key(u.as_str()))
            .collect();
        Ok(FlagList { uuids, without })
    };
    std::thread::scope(|s| {
        let stats = want_stats.then(|| s.spawn(|| stats::all_domain_stats(conn)));
        let lists = [1, 2].map(|i| s.spawn(move || flagged(Flag::ALL[i], without[i])));
        let first = flagged(Flag::ALL[0], without[0]);
        let [second, third] = lists.map(joined);
        let flags = (|| Ok([first?, second?, third?]))();
        (flags, stats.map(joined))
    })
}

/// A scoped call's result; a panic in it (the `virt` crate panics when a free fails) is
/// passed on, as if the call had been made on this thread.
fn joined<T>(h: std::thread::ScopedJoinHandle<'_, T>) -> T {
    match h.join() {
        Ok(v) => v,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// The thread body. A panic inside (a bug, or the `virt` crate panicking on a failed free) is
/// reported as a lost connection and the worker starts over instead of dying silently.
pub(crate) fn run_guarded(
    uri: String,
    opts: WorkerOptions,
    rx: Receiver<Input>,
    self_tx: Sender<Input>,
    busy: Arc<Busy>,
    shared: Notify,
) {
    let notify: &dyn Fn(HostEvent) = &*shared;
    loop {
        let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run(&uri, &opts, &rx, &self_tx, &busy, &shared)
        }));
        busy.leave();
        match attempt {
            Ok(()) => return,
            Err(payload) => {
                let what = payload
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| payload.downcast_ref::<&str>().copied())
                    .unwrap_or("unknown panic");
                notify(HostEvent::Lost {
                    error: format!("internal error in the host worker ({what}); reconnecting"),
                });
                if wait(&rx, backoff_delay(1), &notify) {
                    return;
                }
            }
        }
    }
}

fn run(
    uri: &str,
    opts: &WorkerOptions,
    rx: &Receiver<Input>,
    self_tx: &Sender<Input>,
    busy: &Busy,
    shared: &Notify,
) {
    let notify = &|e: HostEvent| (**shared)(e);
    // Every log line of this worker names its host.
    let _span = tracing::info_span!("host", uri = %uri.escape_debug()).entered();
    let mut attempt = 0u32;
    loop {
        notify(HostEvent::Connecting { attempt });
        // Opening can hang too (a stopped daemon accepts the socket but never answers).
        busy.enter();
        let t0 = Instant::now();
        let opened =
            open(uri, opts.readonly)
                .map_err(|e| message(&e))
                .and_then(|(c, i)| match &opts.on_connect {
                    Some(hook) => hook(&c).map(|_| (c, i)),
                    None => Ok((c, i)),
                });
        busy.leave();
        match &opened {
            Ok((_, i)) => tracing::info!(
                elapsed_ms = crate::log::ms(t0),
                attempt,
                libvirt = %i.libvirt.escape_debug(),
                hypervisor = %i.hypervisor.escape_debug(),
                "connect"
            ),
            Err(e) => tracing::warn!(
                elapsed_ms = crate::log::ms(t0),
                attempt,
                error = %e.escape_debug(),
                "connect failed"
            ),
        }
        match opened {
            Ok((conn, mut info)) => {
                attempt = 0;
                info.simulated = opts.simulate.is_some();
                let sampler = NodeSampler::new(info.memory_kib, opts.local_machine);
                notify(HostEvent::Connected(info));
                let mut session = Session::new(
                    conn,
                    uri,
                    opts,
                    self_tx.clone(),
                    sampler,
                    Arc::clone(shared),
                );
                let end = session.run(rx, busy, notify);
                busy.enter();
                session.close();
                busy.leave();
                match end {
                    End::Stop => return,
                    End::Lost(error) => {
                        tracing::warn!(error = %error.escape_debug(), "connection lost; reconnecting");
                        notify(HostEvent::Lost { error })
                    }
                }
                // Give a restarting daemon a moment before the first retry.
                if wait(rx, backoff_delay(0), notify) {
                    return;
                }
            }
            Err(error) => {
                let error = super::with_hint(uri, error);
                let retry_in = backoff_delay(attempt);
                tracing::info!(
                    retry_in_ms = retry_in.as_millis() as u64,
                    "reconnect scheduled"
                );
                notify(HostEvent::Unreachable { error, retry_in });
                attempt = attempt.saturating_add(1);
                if wait(rx, retry_in, notify) {
                    return;
                }
            }
        }
    }
}

/// Waits while disconnected, answering commands with an error. True when told to stop.
fn wait(rx: &Receiver<Input>, d: Duration, notify: &impl Fn(HostEvent)) -> bool {
    let until = Instant::now() + d;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Input::Cmd(HostCommand::Stop)) | Err(RecvTimeoutError::Disconnected) => return true,
            Ok(Input::Cmd(c)) => super::refuse(c, "host is not connected", notify),
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => return false,
        }
    }
}

struct Session<'a> {
    conn: Connect,
    opts: &'a WorkerOptions,
    /// Keyed by the UUID's bits (`stats::uuid_key`), each VM behind a pointer: the map rounds
    /// its buckets up to a power of two, so 10,000 VMs inline took 16,384 buckets of 304 bytes
    /// and a key string each (5.5 MB); this is 2.9 MB. The pointers are shared with the
    /// snapshots and the app's list, so a VM is only copied when it changes while the app
    /// holds it (`Arc::make_mut`, after comparing): a tick used to copy all 10,000 VMs, and the
    /// worker's list, the snapshot and the app's old list were three copies at once.
    vms: HashMap<u128, Arc<Vm>>,
    event_ids: Vec<c_int>,
    last_inventory: Option<Instant>,
    bulk_stats: bool,
    /// Ticks between inventories read the active domains' stats alone (cleared when the
    /// driver refuses the filter).
    active_stats: bool,
    backlog: VecDeque<HostCommand>,
    /// Domains to re-read before the next snapshot.
    changed: BTreeSet<String>,
    /// Domains whose vCPUs and memory the bulk stats did not carry (`Known::Flagged`): one
    /// `info` call each, made between other work so the rows are never held up by them.
    owed: VecDeque<(String, Domain)>,
    /// Domains whose virtdeck metadata (template, tags) is unread: one call each, once per
    /// session, made like the owed `info` calls after the rows are out. Changed domains are
    /// read again with their inventory.
    meta_owed: VecDeque<(String, Domain)>,
    /// Domains whose metadata was read (`stats::uuid_key`).
    meta_read: std::collections::HashSet<u128>,
    /// Changed domains whose metadata may have changed too (a command of the detail screen,
    /// a metadata event, a new definition). A re-read one by one reads every changed domain's
    /// metadata anyway; a bulk re-read (`full_inventory`) reads only these again, in the owed
    /// calls after the rows. Tags added to 40 marked VMs at once used to show on none of them.
    meta_changed: BTreeSet<String>,
    /// Which side of each flag (`Flag::ALL`) the next inventory lists (`FlagList`).
    flags_without: [bool; 3],
    /// What the test driver may safely be asked about addresses (`network::LeaseGuard`).
    leases: Option<super::network::LeaseGuard>,
    /// Lifecycle events since the last flush, for the events pane.
    events: std::collections::VecDeque<crate::model::event::LifecycleEvent>,
    /// A snapshot is owed (something changed since the last one the app got).
    dirty: bool,
    /// Node readings of a poll whose snapshot was held back, sent with the next one.
    held_node: Option<NodeSample>,
    /// Answers that wait for the snapshot showing their effect, so a row never loses its
    /// "pending" mark before it shows the new state.
    answers: Vec<HostEvent>,
    last_flush: Instant,
    /// Time between flushes while work keeps coming: `FLUSH_EVERY`, stretched so re-reading
    /// a big host takes at most a fifth of the time (progress still shows every few seconds).
    flush_gap: Duration,
    outbox: Outbox,
    node: NodeSampler,
    /// For work that runs on threads of its own and reports after the command returned.
    shared: Notify,
    side: Side,
    uptime: super::uptime::Uptime,
}

impl<'a> Session<'a> {
    fn new(
        conn: Connect,
        uri: &str,
        opts: &'a WorkerOptions,
        tx: Sender<Input>,
        node: NodeSampler,
        shared: Notify,
    ) -> Self {
        let event_ids = events::register(&conn, &tx);
        Session {
            conn,
            opts,
            vms: HashMap::new(),
            event_ids,
            last_inventory: None,
            bulk_stats: true,
            active_stats: true,
            backlog: VecDeque::new(),
            changed: BTreeSet::new(),
            owed: VecDeque::new(),
            meta_owed: VecDeque::new(),
            meta_read: Default::default(),
            meta_changed: BTreeSet::new(),
            // Most hosts' domains are persistent, few autostart or have a managed save.
            flags_without: [false, true, false],
            leases: None,
            events: std::collections::VecDeque::new(),
            dirty: false,
            held_node: None,
            answers: Vec::new(),
            last_flush: Instant::now(),
            flush_gap: FLUSH_EVERY,
            outbox: Outbox::default(),
            node,
            shared,
            side: Side {
                uri: uri.to_string(),
                readonly: opts.readonly,
            },
            uptime: super::uptime::Uptime::new(opts.local_machine),
        }
    }

    fn close(self) {
        for id in self.event_ids {
            events::deregister(&self.conn, id);
        }
        // Dropping the Connect closes it.
    }

    /// A failed call means a lost connection only when libvirt says the link is dead.
    fn check(&self, e: &Error) -> Option<End> {
        match self.conn.is_alive() {
            Ok(true) => None,
            _ => Some(End::Lost(message(e))),
        }
    }

    fn run(&mut self, rx: &Receiver<Input>, busy: &Busy, notify: &impl Fn(HostEvent)) -> End {
        let mut next_poll = Instant::now();
        let mut polled = Instant::now();
        let mut every = self.opts.poll_interval;
        busy.enter();
        loop {
            if Instant::now() >= next_poll {
                let timed = crate::log::timed(|| "poll".into());
                let polled_ok = self.poll(notify);
                drop(timed);
                if let Err(end) = polled_ok {
                    return end;
                }
                polled = Instant::now();
                next_poll = polled + every;
            }
            let input = match self.backlog.pop_front() {
                Some(c) => Ok(Input::Cmd(c)),
                None => match rx.try_recv() {
                    Ok(i) => Ok(i),
                    Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
                    // Nothing queued: read owed facts, show what changed, then wait.
                    Err(TryRecvError::Empty) => {
                        busy.enter();
                        if let Err(end) = self.pay_owed() {
                            return end;
                        }
                        // While owed facts come in, the table is updated at the flush pace.
                        let filling = self.owing();
                        if !filling || self.last_flush.elapsed() >= self.flush_gap {
                            if let Err(end) = self.flush(notify) {
                                return end;
                            }
                        }
                        let mut timeout = next_poll.saturating_duration_since(Instant::now());
                        if self.dirty {
                            timeout = timeout.min(RETRY);
                        }
                        if self.owing() {
                            timeout = Duration::ZERO;
                        }
                        busy.leave();
                        rx.recv_timeout(timeout)
                    }
                },
            };
            // Each command is timed on its own: a long queue of quick calls is not a hang.
            busy.enter();
            let _timed = match &input {
                Ok(Input::Cmd(c)) => {
                    crate::log::timed(|| format!("command {}", crate::log::variant(c)))
                }
                _ => crate::log::Timed::off(),
            };
            match input {
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) | Ok(Input::Cmd(HostCommand::Stop)) => {
                    return End::Stop
                }
                Ok(Input::Cmd(HostCommand::Refresh)) => self.last_inventory = None,
                Ok(Input::Cmd(HostCommand::Pace(pace))) => {
                    every = match pace {
                        super::Pace::Shown => self.opts.poll_interval,
                        super::Pace::Background => self.opts.background_interval,
                    };
                    // Brought on screen: figures as fresh as the others' at once.
                    next_poll = next_poll.min(polled + every);
                }
                Ok(Input::Cmd(HostCommand::Lifecycle { id, uuid, op })) => {
                    // A template is never started (a bulk start that marked one, virsh aside).
                    let refusal = matches!(op, super::LifecycleOp::Start)
                        .then(|| super::meta::start_refusal(&self.conn, &uuid))
                        .flatten();
                    let result = match refusal {
                        Some(why) => {
                            self.answers.push(HostEvent::Reply {
                                id,
                                reply: Reply::Op(Err(why)),
                            });
                            continue;
                        }
                        None => ops::run_op(&self.conn, &uuid, op),
                    };
                    if let Err(e) = &result {
                        tracing::warn!(?op, uuid = %uuid.escape_debug(), error = %message(e).escape_debug(), "lifecycle failed");
                        if let Some(end) = self.check(e) {
                            notify(HostEvent::Reply {
                                id,
                                reply: Reply::Op(Err(message(e))),
                            });
                            return end;
                        }
                    }
                    self.changed.insert(uuid.clone());
                    self.answers.push(HostEvent::Reply {
                        id,
                        reply: Reply::Op(result.map_err(|e| message(&e))),
                    });
                }
                Ok(Input::Cmd(HostCommand::Console { uuid, force, link })) => {
                    match ops::open_console(&self.conn, &uuid, force) {
                        Ok(stream) => link.attach(Arc::new(stream)),
                        Err(e) => {
                            link.fail(message(&e));
                            if let Some(end) = self.check(&e) {
                                return end;
                            }
                        }
                    }
                }
                Ok(Input::Cmd(HostCommand::Preview {
                    uuid,
                    idx,
                    target,
                    tcp,
                    password,
                })) => {
                    let opts = crate::vnc::Options::default();
                    match ops::graphics_fd(&self.conn, &uuid, idx) {
                        Ok(fd) => target
                            .preview
                            .start(crate::vnc::Transport::Fd(fd), None, opts),
                        Err(e) => {
                            if let Some(end) = self.check(&e) {
                                target.preview.fail(message(&e));
                                return end;
                            }
                            // Remote transports cannot pass descriptors: use the port.
                            match tcp {
                                Some(addr) => target.preview.start(
                                    crate::vnc::Transport::Tcp(addr),
                                    password,
                                    opts,
                                ),
                                None => target.preview.fail(format!(
                                    "{}; the display is not reachable from here (use the ssh -L line)",
                                    message(&e)
                                )),
                            }
                        }
                    }
                }
                Ok(Input::Cmd(HostCommand::Display { id, uuid })) => {
                    let result = ops::display(&self.conn, &uuid, !self.opts.readonly);
                    if let Err(e) = &result {
                        if let Some(end) = self.check(e) {
                            return end;
                        }
                    }
                    let result = result.map_err(|e| message(&e)).and_then(|r| r);
                    notify(HostEvent::Reply {
                        id,
                        reply: Reply::Display(result),
                    });
                }
                Ok(Input::Cmd(HostCommand::Caps)) => {
                    let result = match super::caps::read(&self.conn) {
                        Ok(caps) => Ok(caps),
                        Err(Ok(unreadable)) => Err(unreadable),
                        Err(Err(e)) => {
                            if let Some(end) = self.check(&e) {
                                return end;
                            }
                            Err(message(&e))
                        }
                    };
                    notify(HostEvent::Caps(result));
                }
                Ok(Input::Cmd(HostCommand::NodeDevices)) => {
                    let result = super::nodedev::read(&self.conn, self.opts.local_machine);
                    if let Err(e) = &result {
                        if let Some(end) = self.check(e) {
                            return end;
                        }
                    }
                    notify(HostEvent::NodeDevices(result.map_err(|e| message(&e))));
                }
                Ok(Input::Cmd(HostCommand::Storage(cmd))) => {
                    if let Err(e) = super::storage::run(&self.conn, cmd, &self.shared, &self.side) {
                        if let Some(end) = self.check(&e) {
                            return end;
                        }
                    }
                }
                // Creating volumes, uploading a seed and starting a guest take long: a thread
                // with its own connection, like the storage actions.
                Ok(Input::Cmd(HostCommand::CreateVm(cmd))) => {
                    let answer = HostCommand::CreateVm(cmd.clone());
                    self.side.spawn(
                        "create-vm",
                        "the new VM",
                        &self.conn,
                        &self.shared,
                        answer,
                        |conn, notify| {
                            // A failure was answered already; a dead link is the worker's.
                            let _ = super::create::run(conn, cmd, notify);
                        },
                    );
                }
                Ok(Input::Cmd(HostCommand::Network(cmd))) => {
                    if let Err(e) = super::network::run(&self.conn, cmd, notify, &mut self.leases) {
                        if let Some(end) = self.check(&e) {
                            return end;
                        }
                    }
                }
                Ok(Input::Cmd(HostCommand::Migrate(cmd))) => {
                    super::migrate::run(&self.conn, cmd, &self.shared)
                }
                Ok(Input::Cmd(HostCommand::Vm(cmd))) => {
                    let (touched, result) = super::vm::run(&self.conn, cmd, notify);
                    if let Err(e) = &result {
                        if let Some(end) = self.check(e) {
                            return end;
                        }
                    }
                    // The table shows the change (name, autostart, vCPUs) with the next flush.
                    if let Some(uuid) = touched {
                        self.changed.insert(uuid.clone());
                        self.meta_changed.insert(uuid);
                    }
                }
                Ok(Input::DomainEvent(ev)) => {
                    self.changed.insert(ev.uuid.clone());
                    // A definition (new, edited, from a snapshot) may carry other metadata.
                    if ev.event == DEFINED {
                        self.meta_changed.insert(ev.uuid.clone());
                    }
                    // Sent with the next flush, after the snapshot that shows the change; an
                    // event storm keeps only the newest (the app keeps a bounded ring too).
                    if self.events.len() >= MAX_EVENTS {
                        self.events.pop_front();
                    }
                    self.events.push_back(ev);
                }
                // Re-read with the next flush, metadata included (`refresh_domains`).
                Ok(Input::MetadataChanged(uuid)) => {
                    self.changed.insert(uuid.clone());
                    self.meta_changed.insert(uuid);
                }
            }
            // A long run of commands (a bulk action on thousands of VMs) or an event storm
            // still shows its progress, a few times a second, instead of once per command.
            if self.last_flush.elapsed() >= self.flush_gap {
                if let Err(end) = self.flush(notify) {
                    return end;
                }
            }
        }
    }

    /// Re-reads what changed, sends one snapshot (unless the app has not taken the last ones
    /// yet) and then the answers it shows. Commands and events in between are coalesced here:
    /// n queued commands cost one snapshot, not n.
    fn flush(&mut self, notify: &impl Fn(HostEvent)) -> Result<(), End> {
        let started = Instant::now();
        if !self.changed.is_empty() {
            let changed = std::mem::take(&mut self.changed);
            if changed.len() > BULK_REREAD && self.bulk_stats {
                if let Err(e) = self.reread_all(notify) {
                    return Err(self.check(&e).unwrap_or(End::Lost(message(&e))));
                }
            } else {
                self.refresh_domains(&changed);
            }
            self.dirty = true;
        }
        self.flush_gap = (started.elapsed() * 4).clamp(FLUSH_EVERY, MAX_FLUSH_GAP);
        self.last_flush = Instant::now();
        if self.dirty {
            let node = self.held_node.take();
            self.send_snapshot(node, notify);
        }
        if !self.events.is_empty() {
            notify(HostEvent::DomainEvents(Vec::from(std::mem::take(
                &mut self.events,
            ))));
        }
        for answer in self.answers.drain(..) {
            notify(answer);
        }
        Ok(())
    }

    /// Every domain's flags and state in a handful of calls (the poll's path).
    fn reread_all(&mut self, notify: &impl Fn(HostEvent)) -> Result<(), Error> {
        let listed = self.full_inventory(notify, true)?;
        self.take_stats(Some(listed))
    }

    /// Merges the bulk stats (read beside an inventory's list calls when `listed` carries
    /// them, else now) and queues the `info` calls they leave owed for the listed domains.
    /// Between inventories only the active domains are read (`stats::active_domain_stats`).
    fn take_stats(&mut self, listed: Option<Listed>) -> Result<(), Error> {
        let (doms, read, complete) = match listed {
            Some(Listed {
                doms,
                stats: Some(read),
            }) => (Some(doms), read, true),
            Some(l) => {
                let _timed = crate::log::timed(|| "bulk stats".into());
                (Some(l.doms), stats::all_domain_stats(&self.conn), true)
            }
            None if self.active_stats => {
                let _timed = crate::log::timed(|| "bulk stats, active domains".into());
                match stats::active_domain_stats(&self.conn) {
                    Ok(read) => (None, Ok(read), false),
                    // A driver that refuses the filter: every domain from now on. (On a
                    // lost link the second call fails too and its error ends the session.)
                    Err(_) => {
                        let all = stats::all_domain_stats(&self.conn);
                        self.active_stats = all.is_err();
                        (None, all, true)
                    }
                }
            }
            None => {
                let _timed = crate::log::timed(|| "bulk stats".into());
                (None, stats::all_domain_stats(&self.conn), true)
            }
        };
        self.merge_stats(read?, complete);
        if let Some(doms) = doms {
            self.owe(doms);
        }
        Ok(())
    }

    /// Queues the `info` call of every listed domain the stats left without vCPUs or memory.
    fn owe(&mut self, doms: Vec<Domain>) {
        self.owed.clear();
        for dom in doms {
            let Some(uuid) = stats::UuidText::of(&dom) else {
                continue;
            };
            if self
                .vms
                .get(&stats::uuid_key(uuid.as_str()))
                .is_some_and(|vm| vm.known == Known::Flagged)
            {
                self.owed.push_back((uuid.as_str().to_owned(), dom));
            }
        }
    }

    /// Facts are still owed (rows not complete yet).
    fn owing(&self) -> bool {
        !self.owed.is_empty() || !self.meta_owed.is_empty()
    }

    /// Queues the metadata read of every listed domain not read yet.
    fn owe_meta(&mut self, doms: &[Domain]) {
        self.meta_owed.clear();
        for dom in doms {
            let Some(uuid) = stats::UuidText::of(dom) else {
                continue;
            };
            if self.meta_read.contains(&stats::uuid_key(uuid.as_str())) {
                continue;
            }
            if self.vms.contains_key(&stats::uuid_key(uuid.as_str())) {
                self.meta_owed
                    .push_back((uuid.as_str().to_owned(), dom.clone()));
            }
        }
    }

    /// Makes owed `info` calls for up to `OWED_SLICE`. A domain gone meanwhile is skipped;
    /// a dead link ends the session.
    fn pay_owed(&mut self) -> Result<(), End> {
        let until = Instant::now() + OWED_SLICE;
        while Instant::now() < until {
            let Some((uuid, dom)) = self.owed.pop_front() else {
                break;
            };
            let Some(vm) = self
                .vms
                .get_mut(&stats::uuid_key(&uuid))
                .filter(|vm| vm.known == Known::Flagged)
            else {
                continue;
            };
            match dom.info() {
                Ok(info) => {
                    let vm = Arc::make_mut(vm);
                    vm.vcpus = info.nr_virt_cpu;
                    vm.memory_kib = info.memory;
                    vm.max_memory_kib = info.max_mem;
                    vm.known = Known::All;
                    self.dirty = true;
                }
                Err(e) => {
                    if let Some(end) = self.check(&e) {
                        return Err(end);
                    }
                }
            }
        }
        while Instant::now() < until && self.owed.is_empty() {
            let Some((uuid, dom)) = self.meta_owed.pop_front() else {
                break;
            };
            if !self.meta_read.insert(stats::uuid_key(&uuid)) {
                continue;
            }
            match super::meta::read(&dom) {
                Ok(m) => {
                    if let Some(vm) = self.vms.get_mut(&stats::uuid_key(&uuid)) {
                        if vm.template != m.template || vm.tags != m.tags || vm.note != m.note {
                            let vm = Arc::make_mut(vm);
                            vm.template = m.template;
                            vm.tags = m.tags;
                            vm.note = m.note;
                            self.dirty = true;
                        }
                    }
                }
                Err(e) => {
                    if let Some(end) = self.check(&e) {
                        return Err(end);
                    }
                }
            }
        }
        // Paid off: the queues held a domain handle per VM of a big host (10,000: 1 MB).
        for q in [&mut self.owed, &mut self.meta_owed] {
            if q.is_empty() && q.capacity() > 0 {
                *q = VecDeque::new();
            }
        }
        Ok(())
    }

    fn refresh_domains(&mut self, uuids: &BTreeSet<String>) {
        for uuid in uuids {
            self.meta_changed.remove(uuid);
            match self.conn.lookup_domain_by_uuid_string(uuid) {
                Ok(dom) => match ops::inventory(&dom) {
                    Ok(mut vm) => {
                        if let Some(old) = self.vms.get(&stats::uuid_key(uuid)) {
                            if vm.state.is_active() && old.id == vm.id {
                                vm.cpu_time_ns = old.cpu_time_ns;
                                vm.io = old.io;
                            }
                            vm.template = old.template;
                            vm.tags = old.tags.clone();
                            vm.note = old.note.clone();
                        }
                        // Marked or tagged meanwhile: one more call for a changed domain.
                        if let Ok(m) = super::meta::read(&dom) {
                            vm.template = m.template;
                            vm.tags = m.tags;
                            vm.note = m.note;
                            self.meta_read.insert(stats::uuid_key(uuid));
                        }
                        self.vms.insert(stats::uuid_key(uuid), Arc::new(vm));
                    }
                    Err(_) => {
                        self.vms.remove(&stats::uuid_key(uuid));
                    }
                },
                // Undefined (or a transient domain that stopped).
                Err(_) => {
                    self.vms.remove(&stats::uuid_key(uuid));
                }
            }
        }
    }

    /// Re-reads every domain in four calls whatever their number: the list, then the
    /// autostart, persistent and managed-save lists; state, vCPUs and memory come from the
    /// bulk stats the caller reads next. The first time, the rows go out straight after the
    /// list call (name, running or not), so a big or far host never shows a blank table.
    /// Without bulk stats (an old driver) every domain is read on its own, as before.
    /// Returns the handles, for the `info` calls the stats may leave owed.
    fn full_inventory(
        &mut self,
        notify: &impl Fn(HostEvent),
        want_stats: bool,
    ) -> Result<Listed, Error> {
        // Their metadata is read again as if never read (`owe_meta`).
        for uuid in std::mem::take(&mut self.meta_changed) {
            self.meta_read.remove(&stats::uuid_key(&uuid));
        }
        let timed = crate::log::timed(|| "list_all_domains".into());
        let doms = self.conn.list_all_domains(0)?;
        drop(timed);
        if !self.bulk_stats {
            self.vms = doms
                .iter()
                .filter_map(|dom| {
                    // A domain can vanish between the list and the per-domain calls.
                    let mut vm = ops::inventory(dom).ok()?;
                    if let Some(old) = self.vms.get(&stats::uuid_key(&vm.uuid)) {
                        vm.cpu_time_ns = old.cpu_time_ns;
                        vm.io = old.io;
                        vm.template = old.template;
                        vm.tags = old.tags.clone();
                        vm.note = old.note.clone();
                    }
                    Some((stats::uuid_key(&vm.uuid), Arc::new(vm)))
                })
                .collect();
            self.last_inventory = Some(Instant::now());
            self.owe_meta(&doms);
            return Ok(Listed { doms, stats: None });
        }
        if self.last_inventory.is_none() && self.vms.is_empty() {
            self.vms = doms
                .iter()
                .filter_map(|d| ops::listed(d).map(|vm| (stats::uuid_key(&vm.uuid), Arc::new(vm))))
                .collect();
            self.send_snapshot(None, notify);
        }
        // Updated in place: building the next map beside the old one doubled the worker's
        // biggest allocation (5 MB for 10,000 VMs) every inventory.
        let mut seen: Vec<u128> = Vec::with_capacity(doms.len());
        // Only the domains still owed a read keep their handle (`owe`, `owe_meta`); the rest
        // are freed here, before the flag lists and the stats come in, instead of being held
        // beside them (a handle each: 1.5 MB for 10,000 VMs, every 30 s).
        let mut owed = Vec::new();
        for dom in doms {
            let Some(uuid) = stats::UuidText::of(&dom) else {
                continue;
            };
            let key = stats::uuid_key(uuid.as_str());
            // A row known from a list call alone is read again like a new one.
            let read = self
                .vms
                .get(&key)
                .is_some_and(|old| old.known != Known::Listed);
            if !read {
                let Some(vm) = ops::listed(&dom) else {
                    continue;
                };
                let vm = Vm {
                    known: Known::Flagged,
                    ..vm
                };
                self.vms.insert(key, Arc::new(vm));
            }
            let Some(vm) = self.vms.get_mut(&key) else {
                continue;
            };
            seen.push(key);
            // Name and id are local to the handle (no round trip).
            if let Ok(name) = dom.name() {
                if name != vm.name {
                    Arc::make_mut(vm).name = name;
                }
            }
            let id = dom.id();
            if id != vm.id {
                Arc::make_mut(vm).id = id;
            }
            if vm.known != Known::All || !self.meta_read.contains(&key) {
                owed.push(dom);
            }
        }
        let doms = owed;
        seen.sort_unstable();
        self.vms.retain(|k, _| seen.binary_search(k).is_ok());
        let (flags, stats) = flags_and_stats(&self.conn, self.flags_without, want_stats);
        let flags = flags?;
        self.flags_without = flags.each_ref().map(|f| f.ask_without_next(seen.len()));
        let [autostart, persistent, saved] = flags;
        for (key, vm) in self.vms.iter_mut() {
            let f = (autostart.has(*key), persistent.has(*key), saved.has(*key));
            if f != (vm.autostart, vm.persistent, vm.managed_save) {
                let vm = Arc::make_mut(vm);
                (vm.autostart, vm.persistent, vm.managed_save) = f;
            }
        }
        self.last_inventory = Some(Instant::now());
        self.owe_meta(&doms);
        Ok(Listed { doms, stats })
    }

    fn poll(&mut self, notify: &impl Fn(HostEvent)) -> Result<(), End> {
        // Domains changed since the last flush are read with this poll: one by one when they
        // are few, else with the full inventory below (thousands of per-domain reads in the
        // middle of a bulk action cost more than the action itself).
        let changed = std::mem::take(&mut self.changed);
        let bulk = self.bulk_stats && changed.len() > BULK_REREAD;
        if !bulk {
            self.refresh_domains(&changed);
        }
        let due = bulk
            || self
                .last_inventory
                .is_none_or(|t| t.elapsed() >= self.opts.inventory_interval);
        let first = self.last_inventory.is_none();
        let mut listed = None;
        if due || !self.bulk_stats {
            match self.full_inventory(notify, self.bulk_stats) {
                Ok(l) => listed = Some(l),
                Err(e) => return Err(self.check(&e).unwrap_or(End::Lost(message(&e)))),
            }
        }
        if self.bulk_stats {
            match self.take_stats(listed) {
                // The first complete rows go out before the host's own readings: on a far
                // host those are three more round trips.
                Ok(()) => {
                    if first {
                        self.send_snapshot(None, notify);
                    }
                }
                Err(e) => {
                    if let Some(end) = self.check(&e) {
                        return Err(end);
                    }
                    // Driver without bulk stats: fall back to per-domain inventory each tick.
                    self.bulk_stats = false;
                    self.owed.clear();
                    if let Err(e) = self.full_inventory(notify, false) {
                        return Err(self.check(&e).unwrap_or(End::Lost(message(&e))));
                    }
                }
            }
        }
        let node = match self.node.sample(&self.conn) {
            Ok(n) => n,
            Err(e) => return Err(self.check(&e).unwrap_or(End::Lost(message(&e)))),
        };
        self.send_snapshot(Some(node), notify);
        for answer in self.answers.drain(..) {
            notify(answer);
        }
        // The tick's transients (libvirt's stats records, an inventory's domain handles and
        // lists) are freed by now: their holes go back to the system.
        crate::heap::trim(crate::heap::Who::Workers, self.vms.len());
        Ok(())
    }

    /// `complete`: the list covers every domain (else only the active ones), so a domain
    /// missing from it is gone.
    fn merge_stats(&mut self, list: stats::Records, complete: bool) {
        let mut seen = Vec::with_capacity(list.len());
        let mut unknown = BTreeSet::new();
        for st in list.iter() {
            let Some(uuid) = st.uuid else {
                continue;
            };
            seen.push(uuid);
            let Some(vm) = self.vms.get_mut(&stats::uuid_key(uuid.as_str())) else {
                unknown.insert(uuid.as_str().to_owned());
                continue;
            };
            super::readings::apply(&st, vm);
        }
        // libvirt's records go before the re-reads below.
        drop(list);
        seen.sort_unstable();
        let seen = |uuid: &str| seen.binary_search_by(|s| s.as_str().cmp(uuid)).is_ok();
        if complete {
            self.vms.retain(|_, vm| seen(&vm.uuid));
        } else {
            // Active when last read and missing now: stopped or undefined since, and its
            // event has not come (or never will, on a driver without events).
            unknown.extend(
                self.vms
                    .values()
                    .filter(|vm| vm.id.is_some() && !seen(&vm.uuid))
                    .map(|vm| vm.uuid.clone()),
            );
        }
        if !unknown.is_empty() {
            self.refresh_domains(&unknown);
        }
    }

    /// Sends the VM list, or holds it back (`dirty`, node readings kept) while `IN_FLIGHT`
    /// earlier ones have not been taken by the app.
    fn send_snapshot(&mut self, node: Option<NodeSample>, notify: &impl Fn(HostEvent)) {
        let Some(receipt) = self.outbox.take(IN_FLIGHT) else {
            self.dirty = true;
            self.held_node = node.or(self.held_node.take());
            return;
        };
        self.dirty = false;
        self.uptime
            .stamp(self.vms.values_mut(), std::time::SystemTime::now());
        let mut vms: Vec<Arc<Vm>> = self.vms.values().cloned().collect();
        let mut node = node.or(self.held_node.take());
        if let Some(sim) = &self.opts.simulate {
            sim.fill(&mut vms, node.as_mut());
        }
        notify(HostEvent::Snapshot(Snapshot {
            vms,
            taken_at: Instant::now(),
            node,
            receipt,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_uris_never_prompt() {
        assert_eq!(
            effective_uri("qemu+ssh://root@kvm1/system"),
            "qemu+ssh://root@kvm1/system?no_tty=1"
        );
        assert_eq!(
            effective_uri("qemu+ssh://root@kvm1/system?keyfile=/k"),
            "qemu+ssh://root@kvm1/system?keyfile=/k&no_tty=1"
        );
        assert_eq!(
            effective_uri("qemu+ssh://h/system?no_tty=0"),
            "qemu+ssh://h/system?no_tty=0"
        );
        assert_eq!(effective_uri("qemu:///system"), "qemu:///system");
    }

    #[test]
    fn a_flag_list_tells_the_same_from_either_side() {
        let conn = Connect::open(Some("test:///default")).expect("test driver");
        let tag = std::process::id();
        let xml = |n: &str| {
            format!(
                "<domain type='test'><name>vdk-flags-{tag}-{n}</name><memory>1024</memory>\
                 <os><type>hvm</type></os></domain>"
            )
        };
        let mut ours = Vec::new();
        for (n, autostart) in [("a", true), ("b", true), ("c", false)] {
            let d = conn.define_domain_xml(&xml(n)).expect("define");
            d.set_autostart(autostart).expect("autostart");
            ours.push(d);
        }
        ours[2].create().expect("start");
        ours[2].managed_save(0).expect("managed save");
        ours.push(conn.create_domain_xml(&xml("t"), 0).expect("transient"));
        let truth = |d: &Domain| {
            [
                d.autostart().expect("autostart"),
                d.is_persistent().expect("persistent"),
                d.has_managed_save(0).expect("managed save"),
            ]
        };
        let all = conn.list_all_domains(0).expect("list");
        for without in [[false; 3], [true; 3], [true, false, true]] {
            let (flags, stats) = flags_and_stats(&conn, without, false);
            assert!(stats.is_none());
            let flags = flags.expect("flag lists");
            for d in &all {
                let uuid = stats::UuidText::of(d).expect("uuid");
                let got = flags
                    .each_ref()
                    .map(|f| f.has(stats::uuid_key(uuid.as_str())));
                assert_eq!(got, truth(d), "{:?} asking {without:?}", d.name());
            }
        }
        assert_eq!(truth(&ours[3]), [false, false, false]);
        assert_eq!(truth(&ours[0]), [true, true, false]);
        assert_eq!(truth(&ours[2]), [false, true, true]);
        let _ = ours[3].destroy();
        let _ = ours[2].managed_save_remove(0);
        for d in &ours[..3] {
            let _ = d.undefine();
        }
    }

    #[test]
    fn the_next_inventory_asks_for_the_smaller_side() {
        let list = |n: u128, without| FlagList {
            uuids: (0..n).collect(),
            without,
        };
        assert!(!list(4, false).ask_without_next(10), "4 of 10 have it");
        assert!(list(6, false).ask_without_next(10), "6 of 10 have it");
        assert!(
            !list(5, false).ask_without_next(10),
            "a tie keeps asking for it"
        );
        assert!(list(1, true).ask_without_next(10), "9 of 10 have it");
        assert!(!list(9, true).ask_without_next(10), "1 of 10 has it");
        assert!(!list(0, false).ask_without_next(0), "no domains");
    }
}
