//! The per-call timeout. libvirt calls cannot be cancelled, so each host has a small watcher
//! thread in front of its worker: the worker marks when it is inside libvirt, and the watcher
//! reports a call that outlives the timeout as "not responding", answers commands for that host
//! at once instead of queueing them behind the hung call, and reports the recovery. Keepalive
//! (set on every connection) ends a call on a dead link; a stopped daemon that resumes simply
//! lets the call finish.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
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

/// How often the watcher looks at the worker.
const CHECK: Duration = Duration::from_millis(200);

/// The watcher loop: forwards the app's commands to the worker until told to stop.
pub(crate) fn run(
    rx: Receiver<HostCommand>,
    worker: Sender<Input>,
    busy: Arc<Busy>,
    timeout: Duration,
    notify: Notify,
) {
    let mut stalled = false;
    loop {
        let cmd = match rx.recv_timeout(CHECK) {
            Ok(c) => Some(c),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => Some(HostCommand::Stop),
        };
        let hung = busy.elapsed().filter(|d| *d >= timeout);
        match (hung, stalled) {
            (Some(d), false) => {
                stalled = true;
                notify(HostEvent::Stalled { for_: d });
            }
            (None, true) => {
                stalled = false;
                notify(HostEvent::Resumed);
            }
            _ => {}
        }
        match cmd {
            None => {}
            Some(HostCommand::Stop) => {
                let _ = worker.send(Input::Cmd(HostCommand::Stop));
                return;
            }
            // Anything else would only queue behind the hung call.
            Some(c) if stalled => {
                let secs = busy.elapsed().unwrap_or_default().as_secs();
                let reason = format!("host is not responding (no answer for {secs} s)");
                super::refuse(c, &reason, &*notify);
            }
            Some(c) => {
                // The worker ended (only after a Stop): nothing left to forward to.
                let sent = worker.send(Input::Cmd(c));
                if sent.is_err() {
                    return;
                }
            }
        }
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
        let (tx, rx) = mpsc::channel();
        let (wtx, wrx) = mpsc::channel();
        let busy = Busy::new();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&events);
        let notify: Notify = Arc::new(move |e| sink.lock().unwrap().push(e));
        let b = Arc::clone(&busy);
        let t = std::thread::spawn(move || run(rx, wtx, b, Duration::from_millis(100), notify));
        busy.enter();
        std::thread::sleep(Duration::from_millis(500));
        tx.send(HostCommand::Lifecycle {
            id: crate::host::RequestId(1),
            uuid: "u".into(),
            op: LifecycleOp::Start,
        })
        .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        busy.leave();
        std::thread::sleep(Duration::from_millis(400));
        tx.send(HostCommand::Refresh).unwrap();
        tx.send(HostCommand::Stop).unwrap();
        t.join().unwrap();
        let ev = events.lock().unwrap();
        assert!(matches!(ev[0], HostEvent::Stalled { .. }), "{ev:?}");
        assert!(
            matches!(&ev[1], HostEvent::Reply { id: crate::host::RequestId(1), reply: crate::host::Reply::Op(Err(e)) } if e.contains("not responding")),
            "{ev:?}"
        );
        assert!(matches!(ev[2], HostEvent::Resumed), "{ev:?}");
        // Only the refresh after recovery and the stop reached the worker.
        let fwd: Vec<_> = wrx.try_iter().collect();
        assert!(matches!(fwd[0], Input::Cmd(HostCommand::Refresh)));
        assert!(matches!(fwd[1], Input::Cmd(HostCommand::Stop)));
        assert_eq!(fwd.len(), 2);
    }
}
