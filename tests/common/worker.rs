//! A bare host worker for tests that drive `HostCommand`s directly (storage, networks): start
//! it, wait for an event, run an action and get its result plus the inventory the worker
//! sends after every action.

use std::marker::PhantomData;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use virtdeck::host::{
    HostCommand, HostEvent, HostHandle, NetCmd, Reply, RequestId, StorageCmd, WorkerOptions,
};
use virtdeck::model::network::NetworkInventory;
use virtdeck::model::storage::StorageInventory;
use virtdeck::model::HostId;

/// What a family of commands reads back: its command type and its inventory event.
pub trait Inventory: Sized {
    type Cmd;
    fn command(c: Self::Cmd) -> HostCommand;
    fn refresh() -> Self::Cmd;
    fn pick(ev: HostEvent) -> Option<Self>;
}

impl Inventory for StorageInventory {
    type Cmd = StorageCmd;
    fn command(c: StorageCmd) -> HostCommand {
        HostCommand::Storage(c)
    }
    fn refresh() -> StorageCmd {
        StorageCmd::Refresh
    }
    fn pick(ev: HostEvent) -> Option<Self> {
        match ev {
            HostEvent::Storage(inv) => Some(inv),
            _ => None,
        }
    }
}

impl Inventory for NetworkInventory {
    type Cmd = NetCmd;
    fn command(c: NetCmd) -> HostCommand {
        HostCommand::Network(c)
    }
    fn refresh() -> NetCmd {
        NetCmd::Refresh
    }
    fn pick(ev: HostEvent) -> Option<Self> {
        match ev {
            HostEvent::Networks(inv) => Some(inv),
            _ => None,
        }
    }
}

/// How long a test waits for any one answer by default.
pub const WAIT: Duration = Duration::from_secs(30);

pub struct Worker<I> {
    pub handle: HostHandle,
    rx: Receiver<HostEvent>,
    pub uri: String,
    next_id: u64,
    _inventory: PhantomData<I>,
}

impl<I: Inventory> Worker<I> {
    /// Starts a worker on `uri` and waits until it is connected.
    pub fn start(uri: &str) -> Self {
        let (tx, rx) = mpsc::channel();
        let opts = WorkerOptions {
            // Snapshots are noise here.
            poll_interval: Duration::from_secs(600),
            ..WorkerOptions::default()
        };
        let handle = virtdeck::host::spawn(HostId(0), uri.into(), opts, move |ev| {
            let _ = tx.send(ev);
        })
        .unwrap();
        let w = Worker {
            handle,
            rx,
            uri: uri.into(),
            next_id: 0,
            _inventory: PhantomData,
        };
        w.wait("connection", WAIT, |ev| {
            matches!(ev, HostEvent::Connected(_)).then_some(())
        });
        w
    }

    /// The first event `pick` accepts; panics after `timeout` or when the host is lost.
    pub fn wait<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut pick: impl FnMut(HostEvent) -> Option<T>,
    ) -> T {
        let until = Instant::now() + timeout;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let ev = self
                .rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {what} from the worker within {timeout:?}"));
            if let HostEvent::Unreachable { error, .. } | HostEvent::Lost { error } = &ev {
                panic!("worker lost {} while waiting for {what}: {error}", self.uri);
            }
            if let Some(t) = pick(ev) {
                return t;
            }
        }
    }

    pub fn send(&self, cmd: I::Cmd) {
        self.handle.send(I::command(cmd));
    }

    /// Runs an action: its result, then the inventory the worker sends after every action.
    pub fn act(&mut self, make: impl FnOnce(RequestId) -> I::Cmd) -> (Result<String, String>, I) {
        self.next_id += 1;
        let id = RequestId(self.next_id);
        self.send(make(id));
        let result = self.wait("result", WAIT, |ev| match ev {
            HostEvent::Reply {
                id: i,
                reply: Reply::Done(result),
            } if i == id => Some(result),
            _ => None,
        });
        let what = format!("inventory after the action (its result: {result:?})");
        let inv = self.wait(&what, WAIT, I::pick);
        (result, inv)
    }

    pub fn ok(&mut self, make: impl FnOnce(RequestId) -> I::Cmd) -> (String, I) {
        match self.act(make) {
            (Ok(text), inv) => (text, inv),
            (Err(e), _) => panic!("action failed: {e}"),
        }
    }

    pub fn err(&mut self, make: impl FnOnce(RequestId) -> I::Cmd) -> (String, I) {
        match self.act(make) {
            (Err(e), inv) => (e, inv),
            (Ok(text), _) => panic!("action should have failed but: {text}"),
        }
    }

    pub fn inventory(&self) -> I {
        self.send(I::refresh());
        self.wait("inventory", WAIT, I::pick)
    }
}

impl<I> Drop for Worker<I> {
    fn drop(&mut self) {
        self.handle.send(HostCommand::Stop);
    }
}
