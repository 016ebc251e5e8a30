//! The serial console: a libvirt console stream feeds a `vt100` parser on a reader thread;
//! keystrokes go to the guest through a writer thread. The UI only locks the parser to draw,
//! so a guest printing megabytes never stalls a keypress, and a dead daemon only stalls the
//! two I/O threads.

pub mod keys;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

/// Lines of scrollback kept per console.
pub const SCROLLBACK: usize = 5000;

/// Where an attachment stands.
#[derive(Clone, Debug, PartialEq)]
pub enum LinkState {
    /// The open request is with the host worker.
    Opening,
    /// The guest is not running; the console attaches when it starts.
    Waiting,
    Attached,
    /// Another client (virsh console, virt-manager) holds the console.
    InUse(String),
    /// Opening failed (read-only connection, no serial device, host down…).
    Failed(String),
    /// The stream ended: guest stopped, or another client took the console over.
    Ended(String),
    Detached,
}

/// The guest end of a console: anything that moves bytes (a libvirt stream, a pipe in tests).
pub trait ConsoleIo: Send + Sync {
    /// Blocks until data arrives; Ok(0) is the end of the stream.
    fn recv(&self, buf: &mut [u8]) -> Result<usize, String>;
    fn send(&self, data: &[u8]) -> Result<usize, String>;
    /// Ends the stream; a blocked `recv` returns.
    fn abort(&self);
}

use crate::wake::Wake;

struct Shared {
    parser: Mutex<vt100::Parser>,
    state: Mutex<LinkState>,
    input: Mutex<Option<Sender<Vec<u8>>>>,
    /// Bumped on every attach and detach, so a stale reader cannot change the state.
    generation: AtomicU64,
    /// New output not drawn yet: the reader wakes the UI only on the first chunk.
    dirty: AtomicBool,
    wake: Mutex<Option<Wake>>,
    received: AtomicU64,
    last_output: Mutex<Option<Instant>>,
}

/// One console attachment, shared by the app (draws, sends keys) and the I/O threads.
#[derive(Clone)]
pub struct Link(Arc<Shared>);

impl PartialEq for Link {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Link").field(&self.state()).finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking reader must not take the UI down with it.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Link {
    pub fn new(rows: u16, cols: u16) -> Link {
        Link(Arc::new(Shared {
            parser: Mutex::new(vt100::Parser::new(rows.max(2), cols.max(2), SCROLLBACK)),
            state: Mutex::new(LinkState::Opening),
            input: Mutex::new(None),
            generation: AtomicU64::new(0),
            dirty: AtomicBool::new(false),
            wake: Mutex::new(None),
            received: AtomicU64::new(0),
            last_output: Mutex::new(None),
        }))
    }

    /// How the UI hears about output and state changes (set by the runtime).
    pub fn set_wake(&self, wake: Wake) {
        *lock(&self.0.wake) = Some(wake);
        // A flag raised before there was anyone to wake (the view's "waiting" state) would
        // swallow every later wake: whoever sets the callback is about to draw anyway.
        self.0.dirty.store(false, Ordering::Release);
    }

    fn wake(&self) {
        if !self.0.dirty.swap(true, Ordering::AcqRel) {
            let w = lock(&self.0.wake).clone();
            if let Some(w) = w {
                w();
            }
        }
    }

    /// Clears the "output pending" flag (the UI is about to draw).
    pub fn take_dirty(&self) -> bool {
        self.0.dirty.swap(false, Ordering::AcqRel)
    }

    pub fn state(&self) -> LinkState {
        lock(&self.0.state).clone()
    }

    pub fn set_state(&self, s: LinkState) {
        *lock(&self.0.state) = s;
        self.wake();
    }

    pub fn is_attached(&self) -> bool {
        self.state() == LinkState::Attached
    }

    /// Bytes received from the guest so far.
    pub fn received(&self) -> u64 {
        self.0.received.load(Ordering::Relaxed)
    }

    pub fn last_output(&self) -> Option<Instant> {
        *lock(&self.0.last_output)
    }

    /// Opening failed: libvirt's message decides between "in use" and other failures.
    pub fn fail(&self, error: String) {
        let in_use = error.contains("Active console session exists")
            || error.contains("console") && error.contains("in use");
        self.set_state(if in_use {
            LinkState::InUse(error)
        } else {
            LinkState::Failed(error)
        });
    }

    /// Starts the reader and writer threads on an opened stream.
    pub fn attach(&self, io: Arc<dyn ConsoleIo>) {
        let generation = self.0.generation.fetch_add(1, Ordering::AcqRel) + 1;
        let (tx, rx) = mpsc::channel();
        *lock(&self.0.input) = Some(tx);
        *lock(&self.0.state) = LinkState::Attached;
        let reader = {
            let (link, io) = (self.clone(), Arc::clone(&io));
            std::thread::Builder::new()
                .name("console-read".into())
                .spawn(move || link.read_loop(io, generation))
        };
        let writer = {
            let io = Arc::clone(&io);
            std::thread::Builder::new()
                .name("console-write".into())
                .spawn(move || write_loop(io, rx))
        };
        if reader.is_err() || writer.is_err() {
            io.abort();
            self.set_state(LinkState::Failed(
                "could not start the console threads".into(),
            ));
            return;
        }
        self.wake();
    }

    fn read_loop(&self, io: Arc<dyn ConsoleIo>, generation: u64) {
        let mut buf = vec![0u8; 64 * 1024];
        let end = loop {
            match io.recv(&mut buf) {
                Ok(0) => break "the console stream ended".to_string(),
                Ok(n) => {
                    lock(&self.0.parser).process(&buf[..n]);
                    self.0.received.fetch_add(n as u64, Ordering::Relaxed);
                    *lock(&self.0.last_output) = Some(Instant::now());
                    self.wake();
                }
                Err(e) => break e,
            }
        };
        if self.0.generation.load(Ordering::Acquire) == generation {
            *lock(&self.0.input) = None;
            self.set_state(LinkState::Ended(end));
        }
    }

    /// Queues keystrokes for the guest; false when not attached.
    pub fn send(&self, bytes: Vec<u8>) -> bool {
        match &*lock(&self.0.input) {
            Some(tx) => tx.send(bytes).is_ok(),
            None => false,
        }
    }

    /// Closes the stream (the writer thread aborts it, off the UI thread).
    pub fn detach(&self) {
        self.0.generation.fetch_add(1, Ordering::AcqRel);
        *lock(&self.0.input) = None;
        *lock(&self.0.state) = LinkState::Detached;
    }

    /// Resizes the terminal the guest's output is laid out in.
    pub fn fit(&self, rows: u16, cols: u16) {
        let mut p = lock(&self.0.parser);
        let (old_rows, _) = p.screen().size();
        if p.screen().size() == (rows, cols) || rows < 2 || cols < 2 {
            return;
        }
        // vt100 drops the bottom rows when the screen shrinks; a console wants the newest
        // lines (and the cursor) to stay, so scroll the excess into the scrollback first.
        let (crow, ccol) = p.screen().cursor_position();
        if crow >= rows {
            let shift = crow - rows + 1;
            let mut seq = format!("\x1b[{old_rows};1H").into_bytes();
            seq.extend(std::iter::repeat_n(b'\n', shift as usize));
            seq.extend(format!("\x1b[{};{}H", crow - shift + 1, ccol + 1).into_bytes());
            p.process(&seq);
        }
        p.screen_mut().set_size(rows, cols);
    }

    /// Runs `f` on the screen scrolled back `scroll` lines; returns its result. The offset is
    /// clamped to the scrollback there is.
    pub fn with_screen<R>(&self, scroll: usize, f: impl FnOnce(&vt100::Screen) -> R) -> R {
        let mut p = lock(&self.0.parser);
        p.screen_mut().set_scrollback(scroll);
        f(p.screen())
    }

    /// Whether the guest switched arrows to application mode (DECCKM).
    pub fn application_cursor(&self) -> bool {
        lock(&self.0.parser).screen().application_cursor()
    }

    /// Feeds bytes as if the guest had sent them (demo and render tests).
    pub fn feed(&self, bytes: &[u8]) {
        lock(&self.0.parser).process(bytes);
        self.0
            .received
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
    }
}

fn write_loop(io: Arc<dyn ConsoleIo>, rx: Receiver<Vec<u8>>) {
    'outer: while let Ok(mut data) = rx.recv() {
        // Coalesce what piled up (a paste) into one send.
        while let Ok(more) = rx.try_recv() {
            data.extend(more);
        }
        let mut sent = 0;
        while sent < data.len() {
            match io.send(&data[sent..]) {
                Ok(0) | Err(_) => break 'outer,
                Ok(n) => sent += n,
            }
        }
    }
    io.abort();
}

#[cfg(test)]
mod tests;
