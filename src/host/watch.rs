//! The per-call timeout. libvirt calls cannot be cancelled, so one watcher thread looks at
//! every worker: the worker marks when it is inside libvirt, and the watcher reports a call
//! that outlives the timeout as "not responding"; until the call returns (reported as the
//! recovery), commands for that host are answered at once instead of queueing behind it. Keepalive
//! (set on every connection) ends a call on a dead link; a stopped daemon that resumes simply
//! lets the call finish.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::worker::Input;
use super::{HostCommand, HostEvent, Notify};

/// When the worker entered libvirt, as milliseconds since `base` plus one (0 = not in a call).
pub(crate) struct Busy {
    base: Instant,
    since: AtomicU64,
}

impl Busy {
    pub fn new() -> Arc<Busy> {
        Arc::new(Busy {
            base: Instant::now(),
            since: AtomicU64::new(0),
        })
    }

    pub fn enter(&self) {
        let ms = self.base.elapsed().as_millis() as u64 + 1;
        self.since.store(ms, Ordering::Relaxed);
    }

    pub fn leave(&self) {
        self.since.store(0, Ordering::Relaxed);
    }

    /// How long the current call has been running.
    pub fn elapsed(&self) -> Option<Duration> {
        match self.since.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(
                self.base
                    .elapsed()
                    .saturating_sub(Duration::from_millis(ms - 1)),
            ),
        }
    }
}

/// While a host is stalled, how often the watcher looks for the end of the call.
const CHECK: Duration = Duration::from_millis(200);

/// One worker as the watcher sees it.
pub(crate) struct Watched {
    busy: Arc<Busy>,
    timeout: Duration,
    notify: Notify,
    /// Reported as stalled (and not resumed since): commands are answered at once.
    stalled: AtomicBool,
}

/// The app's link to one worker: commands go straight to the worker's channel, unless the
/// worker is stuck in a call (then they would only queue behind it and are answered at once).
/// Dropping the last link stops the worker.
pub(crate) struct Link {
    worker: Sender<Input>,
    watched: Arc<Watched>,
}

impl Link {
    /// Starts watching a worker; `busy` is the worker's, `worker` its input.
    pub fn new(worker: Sender<Input>, busy: Arc<Busy>, timeout: Duration, notify: Notify) -> Link {
        let watched = Arc::new(Watched {
            busy,
            timeout,
            notify,
            stalled: AtomicBool::new(false),
        });
        watcher().add(&watched);
        Link { worker, watched }
    }

    pub fn send(&self, cmd: HostCommand) {
        // Refused only while the call that stalled is still running: the watcher notices a
        // recovery up to `CHECK` late, and a command sent in between (right after the slow
        // call's answer) would be refused although the worker is free again.
        let hung = self
            .watched
            .busy
            .elapsed()
            .filter(|d| *d >= self.watched.timeout)
            .filter(|_| self.watched.stalled.load(Ordering::SeqCst));
        // A stop and a pace are not calls: they wait in the queue for the worker.
        let queued = matches!(cmd, HostCommand::Stop | HostCommand::Pace(_));
        if let (Some(d), false) = (hung, queued) {
            let reason = format!("host is not responding (no answer for {} s)", d.as_secs());
            super::refuse(cmd, &reason, &*self.watched.notify);
            return;
        }
        // The worker ended (only after a Stop): nothing left to send to.
        let _ = self.worker.send(Input::Cmd(cmd));
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = self.worker.send(Input::Cmd(HostCommand::Stop));
    }
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("stalled", &self.watched.stalled)
            .finish_non_exhaustive()
    }
}

/// The one thread that watches every worker (a thread per host would be two threads per
/// host). It sleeps until the earliest moment a call could pass its timeout, so an idle fleet
/// wakes it once per timeout, not several times a second.
struct Watcher {
    list: Mutex<Vec<Weak<Watched>>>,
    changed: Condvar,
}

fn watcher() -> &'static Watcher {
    static W: OnceLock<&'static Watcher> = OnceLock::new();
    W.get_or_init(|| {
        let w: &'static Watcher = Box::leak(Box::new(Watcher {
            list: Mutex::new(Vec::new()),
            changed: Condvar::new(),
        }));
        let started = std::thread::Builder::new()
            .name("watch".into())
            .stack_size(256 * 1024)
            .spawn(move || w.run());
        if started.is_err() {
            // Without the thread, hung calls are not reported; commands still reach workers.
            w.list
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
        }
        w
    })
}

impl Watcher {
    fn add(&self, w: &Arc<Watched>) {
        let mut list = self.list.lock().unwrap_or_else(PoisonError::into_inner);
        list.push(Arc::downgrade(w));
        self.changed.notify_one();
    }

    fn run(&self) {
        let mut list = self.list.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let wait = Self::check(&mut list);
            list = match self.changed.wait_timeout(list, wait) {
                Ok((l, _)) => l,
                Err(e) => e.into_inner().0,
            };
        }
    }

    /// Reports stalls and recoveries; returns how long nothing new can happen.
    fn check(list: &mut Vec<Weak<Watched>>) -> Duration {
        // An hour when no worker is watched: `add` wakes the thread.
        let mut wait = Duration::from_secs(3600);
        list.retain(|w| {
            let Some(w) = w.upgrade() else {
                return false;
            };
            let busy = w.busy.elapsed();
            let hung = busy.filter(|d| *d >= w.timeout);
            let stalled = w.stalled.load(Ordering::SeqCst);
            match (hung, stalled) {
                (Some(d), false) => {
                    w.stalled.store(true, Ordering::SeqCst);
                    (w.notify)(HostEvent::Stalled { for_: d });
                }
                (None, true) => {
                    w.stalled.store(false, Ordering::SeqCst);
                    (w.notify)(HostEvent::Resumed);
                }
                _ => {}
            }
            // A call that starts now passes its timeout `timeout` from now at the earliest.
            let next = match hung {
                Some(_) => CHECK,
                None => w.timeout.saturating_sub(busy.unwrap_or_default()),
            };
            wait = wait.min(next.max(Duration::from_millis(1)));
            true
        });
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_measures_the_current_call() {
        let b = Busy::new();
        assert_eq!(b.elapsed(), None);
        b.enter();
        std::thread::sleep(Duration::from_millis(20));
        assert!(b.elapsed().unwrap() >= Duration::from_millis(20));
        b.leave();
        assert_eq!(b.elapsed(), None);
    }

    #[test]
    fn a_hung_call_is_reported_and_commands_fail_fast() {
        use crate::host::LifecycleOp;
        use std::sync::{mpsc, Mutex};
        let (wtx, wrx) = mpsc::channel();
        let busy = Busy::new();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&events);
        let notify: Notify = Arc::new(move |e| sink.lock().unwrap().push(e));
        let link = Link::new(wtx, Arc::clone(&busy), Duration::from_millis(100), notify);
        busy.enter();
        std::thread::sleep(Duration::from_millis(500));
        link.send(HostCommand::Lifecycle {
            id: crate::host::RequestId(1),
            uuid: "u".into(),
            op: LifecycleOp::Start,
        });
        std::thread::sleep(Duration::from_millis(300));
        busy.leave();
        std::thread::sleep(Duration::from_millis(400));
        link.send(HostCommand::Refresh);
        drop(link);
        let ev = events.lock().unwrap();
        assert!(matches!(ev[0], HostEvent::Stalled { .. }), "{ev:?}");
        assert!(
            matches!(&ev[1], HostEvent::Reply { id: crate::host::RequestId(1), reply: crate::host::Reply::Op(Err(e)) } if e.contains("not responding")),
            "{ev:?}"
        );
        assert!(matches!(ev[2], HostEvent::Resumed), "{ev:?}");
        // Only the refresh after recovery and the stop (dropping the link) reached the worker.
        let fwd: Vec<_> = wrx.try_iter().collect();
        assert!(matches!(fwd[0], Input::Cmd(HostCommand::Refresh)));
        assert!(matches!(fwd[1], Input::Cmd(HostCommand::Stop)));
        assert_eq!(fwd.len(), 2);
    }

    /// A command sent right after the slow call answered, before the watcher noticed the
    /// recovery, reaches the worker (it used to be refused as "not responding for 0 s").
    #[test]
    fn a_command_right_after_a_slow_call_reaches_the_worker() {
        use std::sync::mpsc;
        let (wtx, wrx) = mpsc::channel();
        let busy = Busy::new();
        let notify: Notify = Arc::new(|_| {});
        let link = Link::new(wtx, Arc::clone(&busy), Duration::from_millis(100), notify);
        busy.enter();
        std::thread::sleep(Duration::from_millis(300));
        assert!(link.watched.stalled.load(Ordering::SeqCst));
        // The call returns; the watcher looks again only `CHECK` later.
        busy.leave();
        link.send(HostCommand::Refresh);
        let fwd: Vec<_> = wrx.try_iter().collect();
        assert!(
            matches!(fwd.first(), Some(Input::Cmd(HostCommand::Refresh))),
            "refused: {}",
            fwd.len()
        );
    }

    /// 100 hosts used to cost 200 threads: a worker and a watcher each.
    #[test]
    fn one_watcher_thread_watches_every_worker() {
        use crate::host::{spawn, WorkerOptions};
        use crate::model::HostId;
        let handles: Vec<_> = (0..4)
            .map(|i| {
                spawn(
                    HostId(900 + i),
                    "test:///default".into(),
                    WorkerOptions::default(),
                    |_| {},
                )
                .unwrap()
            })
            .collect();
        // A thread names itself once it runs.
        std::thread::sleep(Duration::from_millis(200));
        let watchers = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .filter(|t| {
                std::fs::read_to_string(t.path().join("comm"))
                    .is_ok_and(|n| n.trim().starts_with("watch"))
            })
            .count();
        assert_eq!(watchers, 1);
        drop(handles);
    }
}
