//! Live VNC preview of a guest's screen in the terminal.
//!
//! A [`Preview`] runs one VNC session (vnc-rs) on its own thread with a tokio current-thread
//! runtime. The session paints the rectangles the server sends into a shared RGB
//! [`frame::Framebuffer`], asks for incremental updates at most `max_fps` times a second, and
//! calls `wake` (coalesced: once until the UI has called [`Preview::cells`]) when new pixels
//! are ready. The UI draws [`Preview::cells`] with [`widget::PreviewWidget`]; only the cells
//! under changed rectangles are recomputed. Keys go to the guest as X11 keysyms.

mod client;
pub mod frame;
pub mod keysym;
mod target;
pub mod widget;

pub use target::PreviewTarget;

use std::fmt;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::mpsc::UnboundedSender;

use frame::{CellCache, Cells, Framebuffer, PixelLayout, Rect};

/// How the session reaches the VNC server.
#[derive(Debug)]
pub enum Transport {
    /// "host:port".
    Tcp(String),
    /// A connected socket, e.g. from `virDomainOpenGraphicsFD` (no TCP port needed).
    Fd(OwnedFd),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Most update requests (and UI wakes) per second.
    pub max_fps: u32,
    /// Ask for the whole frame every time instead of changes only (benchmark worst case).
    pub full_refresh: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_fps: 20,
            full_refresh: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviewStatus {
    Connecting,
    Live { width: u16, height: u16 },
    Failed(String),
    Closed,
}

/// Commands from the UI to the session thread.
enum Cmd {
    Keys(Vec<(u32, bool)>),
    Close,
}

struct State {
    status: PreviewStatus,
    fb: Framebuffer,
    cache: CellCache,
    cmds: Option<UnboundedSender<Cmd>>,
    started: bool,
}

/// What the UI handles share; the session thread holds only a `Weak` to it, so dropping
/// every handle also ends the session.
struct Shared {
    wake: crate::wake::Wake,
    /// New pixels since the UI last asked for cells (wake only on false -> true).
    dirty: AtomicBool,
    frames: AtomicU64,
    pixels: AtomicU64,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take the preview down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the status (a closed preview stays closed) and wakes the UI if it changed.
    fn set_status(&self, status: PreviewStatus) {
        let changed = {
            let mut st = self.lock();
            let changed = st.status != PreviewStatus::Closed && st.status != status;
            if changed {
                st.status = status;
            }
            changed
        };
        if changed {
            (self.wake)();
        }
    }

    fn resize(&self, width: u16, height: u16) {
        let mut st = self.lock();
        st.fb = Framebuffer::new(width, height);
        st.cache.invalidate();
    }

    fn size(&self) -> (u16, u16) {
        let st = self.lock();
        (st.fb.width, st.fb.height)
    }

    fn put(&self, r: Rect, data: &[u8], layout: &PixelLayout) -> Result<(), String> {
        let mut st = self.lock();
        st.fb.put(r, data, layout)?;
        st.cache.mark(r);
        drop(st);
        self.pixels
            .fetch_add(u64::from(r.w) * u64::from(r.h), Ordering::Relaxed);
        Ok(())
    }

    fn copy(&self, dst: Rect, src: Rect) -> Result<(), String> {
        let mut st = self.lock();
        st.fb.copy(dst, src)?;
        st.cache.mark(dst);
        Ok(())
    }

    /// Counts an applied update and wakes the UI unless a wake is already pending.
    fn publish(&self) {
        self.frames.fetch_add(1, Ordering::Relaxed);
        if !self.dirty.swap(true, Ordering::AcqRel) {
            (self.wake)();
        }
    }
}

/// Handle on one preview session; clones share it.
#[derive(Clone)]
pub struct Preview {
    shared: Arc<Shared>,
}

impl PartialEq for Preview {
    fn eq(&self, other: &Preview) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl fmt::Debug for Preview {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Preview")
            .field("status", &self.status())
            .field("frames", &self.frames())
            .finish()
    }
}

impl Preview {
    /// A preview in status `Connecting`, with no session yet. `wake` is called from the
    /// session thread when there is something new to draw.
    pub fn new(wake: crate::wake::Wake) -> Preview {
        Preview {
            shared: Arc::new(Shared {
                wake,
                dirty: AtomicBool::new(false),
                frames: AtomicU64::new(0),
                pixels: AtomicU64::new(0),
                state: Mutex::new(State {
                    status: PreviewStatus::Connecting,
                    fb: Framebuffer::default(),
                    cache: CellCache::default(),
                    cmds: None,
                    started: false,
                }),
            }),
        }
    }

    /// Starts the session thread (once; later calls and calls after `close`/`fail` do
    /// nothing). Errors end up in status `Failed` and a wake.
    pub fn start(&self, t: Transport, password: Option<String>, opts: Options) {
        let rx = {
            let mut st = self.shared.lock();
            if st.started || st.status != PreviewStatus::Connecting {
                return;
            }
            st.started = true;
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            st.cmds = Some(tx);
            rx
        };
        if let Err(e) = client::spawn(Arc::downgrade(&self.shared), t, password, opts, rx) {
            self.fail(format!("cannot start the VNC session thread: {e}"));
        }
    }

    /// The caller could not get a transport (e.g. a libvirt error).
    pub fn fail(&self, msg: String) {
        self.shared.set_status(PreviewStatus::Failed(msg));
    }

    pub fn status(&self) -> PreviewStatus {
        self.shared.lock().status.clone()
    }

    /// Forwards a terminal key to the guest (no-op unless `Live`).
    pub fn key(&self, k: crossterm::event::KeyEvent) {
        let st = self.shared.lock();
        if !matches!(st.status, PreviewStatus::Live { .. }) {
            return;
        }
        let seq = keysym::sequence(&k);
        if let (false, Some(tx)) = (seq.is_empty(), &st.cmds) {
            let _ = tx.send(Cmd::Keys(seq));
        }
    }

    /// Ends the session and its connection. Idempotent.
    pub fn close(&self) {
        let mut st = self.shared.lock();
        st.status = PreviewStatus::Closed;
        if let Some(tx) = st.cmds.take() {
            let _ = tx.send(Cmd::Close);
        }
    }

    /// The current frame downscaled to `cols` x `2*rows` pixels (half blocks), aspect ratio
    /// kept with black bars; all black before the first frame.
    pub fn cells(&self, cols: u16, rows: u16) -> Cells {
        // Clear first: pixels applied while we compute wake the UI again.
        self.shared.dirty.store(false, Ordering::Release);
        let mut st = self.shared.lock();
        let State { fb, cache, .. } = &mut *st;
        cache.cells(fb, cols, rows).clone()
    }

    /// Shows `fb` as the live screen without a session: a still frame for render tests and
    /// screenshots.
    pub fn show(&self, fb: Framebuffer) {
        let (width, height) = (fb.width, fb.height);
        {
            let mut st = self.shared.lock();
            st.fb = fb;
            st.cache.invalidate();
        }
        self.shared
            .set_status(PreviewStatus::Live { width, height });
    }

    /// A 1:1 region of the frame (see [`frame::region`]) and the frame's size.
    pub fn region(&self, left: u16, top: u16, cols: u16, rows: u16) -> (Cells, (u16, u16)) {
        self.shared.dirty.store(false, Ordering::Release);
        let st = self.shared.lock();
        (
            frame::region(&st.fb, left, top, cols, rows),
            (st.fb.width, st.fb.height),
        )
    }

    /// Updates applied so far (at most one per `1/max_fps`).
    pub fn frames(&self) -> u64 {
        self.shared.frames.load(Ordering::Relaxed)
    }

    /// Pixels received so far (`pixels / (width*height)` = full-frame equivalents).
    pub fn pixels(&self) -> u64 {
        self.shared.pixels.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn counting() -> (Preview, Arc<AtomicUsize>) {
        let n = Arc::new(AtomicUsize::new(0));
        let n2 = Arc::clone(&n);
        let p = Preview::new(Arc::new(move || {
            n2.fetch_add(1, Ordering::SeqCst);
        }));
        (p, n)
    }

    #[test]
    fn wakes_are_coalesced_until_cells_is_called() {
        let (p, wakes) = counting();
        p.shared.resize(4, 2);
        let px = [10u8, 20, 30, 0].repeat(8);
        for _ in 0..5 {
            p.shared
                .put(Rect::new(0, 0, 4, 2), &px, &PixelLayout::BGRX)
                .unwrap();
            p.shared.publish();
        }
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        assert_eq!(p.frames(), 5);
        assert_eq!(p.pixels(), 40);
        let c = p.cells(2, 1);
        assert_eq!(c.top[0], [30, 20, 10]);
        p.shared.publish();
        assert_eq!(wakes.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn status_lifecycle() {
        let (p, wakes) = counting();
        assert_eq!(p.status(), PreviewStatus::Connecting);
        assert_eq!(p, p.clone());
        assert_ne!(p, counting().0);
        p.fail("no graphics".into());
        assert_eq!(p.status(), PreviewStatus::Failed("no graphics".into()));
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        // Failed before start: start does nothing.
        p.start(
            Transport::Tcp("127.0.0.1:1".into()),
            None,
            Options::default(),
        );
        assert!(p.shared.lock().cmds.is_none());
        p.close();
        p.close();
        p.fail("late".into());
        assert_eq!(p.status(), PreviewStatus::Closed);
        assert!(format!("{p:?}").contains("Closed"));
    }

    #[test]
    fn refused_connection_fails_with_a_message() {
        // A port nobody listens on (bound then released).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let (p, _) = counting();
        p.start(
            Transport::Tcp(format!("127.0.0.1:{port}")),
            None,
            Options::default(),
        );
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while p.status() == PreviewStatus::Connecting && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        match p.status() {
            PreviewStatus::Failed(m) => assert!(m.contains("cannot connect"), "{m}"),
            s => panic!("unexpected {s:?}"),
        }
    }
}
