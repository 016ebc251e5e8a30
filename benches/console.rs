//! Serial console latency and flood behaviour: `cargo bench --bench console`.
//!
//! Targets (issue): guest output to screen ≤ 20 ms; a `cat` of 1 MB through the console does
//! not stall the UI (worst key-to-frame latency well under 100 ms).
//!
//! Every part draws the app's own console view: an [`App`] on `View::Console` rendered by
//! `virtdeck::ui::render` into a ratatui `TestBackend` of 120×36 (title line, tui-term
//! screen of 34×120, status bar), exactly what the terminal would get.
//!
//! 1. Output to screen, socket pair: a [`Link`] attached to one end of a `UnixStream` pair; a
//!    render loop like the app's (block on an mpsc channel fed by the link's wake callback,
//!    drain it, `take_dirty()`, draw). A unique marker line is written to the other end; the
//!    sample is the time until a drawn frame's buffer contains it. 200 samples, a 2 ms idle
//!    gap before each.
//!
//!    1b. The same through the real `runtime::run` loop (wake callback sending `Msg::Wake`
//!    as `runtime::Workers` installs it; a `TestBackend` wrapper checks each flushed frame),
//!    a few samples at spread phases of its 1 s tick. The link wakes the UI only while its
//!    dirty flag is clear: if nothing in the app calls `take_dirty()` (true when this bench
//!    was written), it wakes once, and later output waits for the loop's next 1 s tick.
//! 2. Bursts, socket pair: 1 MiB of 80-column text lines (CRLF, like a `cat` through a tty)
//!    written as fast as the socket takes it, while the render loop runs and a "key" arrives
//!    on the UI channel every 10 ms, at a different phase each round (the loop handles it like
//!    a keypress: `link.send(b"x")`, then one frame). 50 bursts on the same link (the
//!    scrollback is full after the first), since one takes about as long as the key interval.
//!    Reported: throughput until the parser has it all, frames drawn, frame time (the whole
//!    `terminal.draw`, incl. waiting for the parser lock; the UI thread's CPU time for the
//!    same frames, and how much the reader parsed during the slowest one), key-to-frame
//!    latency, and CPU of the process and of its threads. The reader holds the parser lock
//!    per 64 KiB chunk and takes it again at once, so a frame can wait for several chunks.
//! 3. Real guest round trip (KVM): the tiny guest (tests/guest/tiny.asm) on qemu:///system,
//!    its console opened with `virt` directly and attached to a Link. One character is typed
//!    (`link.send`) and timed until a drawn frame shows its echo; 50 samples. This includes
//!    libvirtd, QEMU's pty and the guest, so it bounds output-to-screen from above. The
//!    guest polls COM1 only part of each 55 ms PIT tick and `hlt`s the rest, so most of
//!    this number is the guest's; the part after virtdeck received the echo
//!    (`Link::last_output()` to the frame) is reported too.
//!    Skipped with a message when qemu:///system with KVM or nasm is not available.
//!
//! Knobs: `VIRTDECK_CONSOLE_PARTS` (comma list of `screen`, `app`, `burst`, `kvm`; default
//! all), `VIRTDECK_CONSOLE_SAMPLES` (part 1, default 200), `VIRTDECK_CONSOLE_APP_SAMPLES`
//! (part 1b, default 6), `VIRTDECK_CONSOLE_ROUNDS` (bursts, default 50),
//! `VIRTDECK_CONSOLE_BURST_MIB` (burst size, default 1), `VIRTDECK_CONSOLE_KEYS` (part 3,
//! default 50).

#[allow(dead_code)]
#[path = "support/report.rs"]
mod report;

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};
use virtdeck::app::PaneId;

use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::{Position, Size};
use ratatui::Terminal;
use report::{ms, print_table, row, sorted, Row};
use virt::connect::Connect;
use virtdeck::app::console::ConsoleView;
use virtdeck::app::{App, HostSpec, Msg, Settings, View};
use virtdeck::config::keymap::Keymap;
use virtdeck::config::theme::Theme;
use virtdeck::console::{ConsoleIo, Link};
use virtdeck::host::WorkerOptions;
use virtdeck::model::HostId;
use virtdeck::runtime;

type Res<T> = Result<T, String>;

const WIDTH: u16 = 120;
const HEIGHT: u16 = 36;
const URI: &str = "qemu:///system";
const PREFIX: &str = "vdbench-console-";
const KEY_EVERY: Duration = Duration::from_millis(10);

// ---------------------------------------------------------------------------------------------
// Small helpers

/// Set by SIGINT/SIGTERM/SIGHUP: loops stop and the guest guard cleans up.
static STOP: LazyLock<Arc<AtomicBool>> = LazyLock::new(|| Arc::new(AtomicBool::new(false)));

fn check_stop() -> Res<()> {
    if STOP.load(Ordering::Relaxed) {
        Err("interrupted".into())
    } else {
        Ok(())
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Nearest-rank percentile of sorted values.
fn pct(s: &[f64], p: f64) -> f64 {
    if s.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0 * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1;
    s[i]
}

/// "median / p99 / max" of millisecond samples.
fn summary(v: &[f64]) -> String {
    let s = sorted(v.to_vec());
    format!(
        "{:.2} / {:.2} / {:.2} ms",
        pct(&s, 50.0),
        pct(&s, 99.0),
        s.last().copied().unwrap_or(f64::NAN)
    )
}

fn p99(v: &[f64]) -> f64 {
    pct(&sorted(v.to_vec()), 99.0)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NAN, f64::max)
}

#[repr(C)]
struct Timespec {
    tv_sec: std::os::raw::c_long,
    tv_nsec: std::os::raw::c_long,
}

extern "C" {
    fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
}

const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
const CLOCK_THREAD_CPUTIME_ID: i32 = 3;

/// CPU time of the process (all threads, ended ones too) or of the calling thread, exact.
fn cpu(clock: i32) -> Duration {
    let mut t = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec for the call to fill.
    if unsafe { clock_gettime(clock, &mut t) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// Per thread of this process: tid -> (name, ns on a CPU) from schedstat.
fn threads() -> BTreeMap<u32, (String, u64)> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let comm = std::fs::read_to_string(e.path().join("comm"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let ns = std::fs::read_to_string(e.path().join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
            .unwrap_or(0);
        out.insert(tid, (comm, ns));
    }
    out
}

/// CPU ns per thread name between two `threads()` readings.
fn thread_delta(
    a: &BTreeMap<u32, (String, u64)>,
    b: &BTreeMap<u32, (String, u64)>,
) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    for (tid, (name, ns)) in b {
        let before = a.get(tid).map_or(0, |(_, n)| *n);
        *out.entry(name.clone()).or_insert(0) += ns.saturating_sub(before);
    }
    out
}

/// The rows of a drawn buffer as text, trailing blanks trimmed.
fn lines(buf: &Buffer) -> Vec<String> {
    let a = buf.area;
    (a.y..a.y + a.height)
        .map(|y| {
            let mut s = String::with_capacity(a.width as usize);
            for x in a.x..a.x + a.width {
                s.push_str(buf[(x, y)].symbol());
            }
            s.truncate(s.trim_end().len());
            s
        })
        .collect()
}

/// Whether a drawn row is `want`, ignoring the cursor tui-term draws after it.
fn row_is(row: &str, want: &str) -> bool {
    row.trim_end_matches('\u{2588}').trim_end() == want
}

fn nonce() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        ^ std::process::id()
}

// ---------------------------------------------------------------------------------------------
// The console view and a render loop like the app's

/// A socket pair standing in for the libvirt stream (as in src/console/tests.rs).
struct Sock(UnixStream);

impl ConsoleIo for Sock {
    fn recv(&self, buf: &mut [u8]) -> Result<usize, String> {
        (&self.0).read(buf).map_err(|e| e.to_string())
    }
    fn send(&self, data: &[u8]) -> Result<usize, String> {
        (&self.0).write(data).map_err(|e| e.to_string())
    }
    fn abort(&self) {
        let _ = self.0.shutdown(Shutdown::Both);
    }
}

/// The app on its console view of `link`, as `app::console::open` leaves it.
fn console_app(link: &Link) -> Res<App> {
    let theme = Theme::load("default", None).map_err(|e| e.to_string())?;
    let mut app = App::new(
        vec![HostSpec {
            name: "bench".into(),
            uri: "test:///default".into(),
        }],
        Keymap::preset(),
        theme,
        Settings::default(),
    );
    app.view = View::Console(Box::new(ConsoleView {
        host: HostId(0),
        uuid: "00000000-0000-0000-0000-000000000000".into(),
        name: "bench-guest".into(),
        link: link.clone(),
        scroll: 0,
        attached_id: None,
        back: Box::new(View::Pane(PaneId::Vms)),
    }));
    Ok(app)
}

/// What reaches the UI thread.
enum Ev {
    Wake,
    /// A key pressed at this instant.
    Key(Instant),
}

/// The UI thread: the app on the console view, a TestBackend terminal, and the channel the
/// link's wake callback (and the key injector) feed.
struct Ui {
    term: Terminal<TestBackend>,
    app: App,
    link: Link,
    rx: Receiver<Ev>,
    tx: Sender<Ev>,
    /// Every frame's draw time, ms.
    draws: Vec<f64>,
    /// The same frames' CPU time on this thread, ms (wall minus this = waiting: the parser
    /// lock or the scheduler).
    draws_cpu: Vec<f64>,
    /// Bytes the reader parsed while each frame was drawn.
    draws_parsed: Vec<u64>,
}

impl Ui {
    fn new(link: &Link) -> Res<Ui> {
        let (tx, rx) = mpsc::channel();
        let wake = tx.clone();
        link.set_wake(Arc::new(move || {
            let _ = wake.send(Ev::Wake);
        }));
        let term = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).map_err(|e| e.to_string())?;
        Ok(Ui {
            term,
            app: console_app(link)?,
            link: link.clone(),
            rx,
            tx,
            draws: Vec::new(),
            draws_cpu: Vec::new(),
            draws_parsed: Vec::new(),
        })
    }

    /// One frame, as the app draws it after a wake: clear the flag, then draw. Returns the
    /// draw time and when it ended.
    fn frame(&mut self) -> Res<(Duration, Instant)> {
        self.link.take_dirty();
        let app = &self.app;
        let (t, c, r) = (
            Instant::now(),
            cpu(CLOCK_THREAD_CPUTIME_ID),
            self.link.received(),
        );
        self.term
            .draw(|f| virtdeck::ui::render(app, f))
            .map_err(|e| e.to_string())?;
        let end = Instant::now();
        self.draws.push(ms(end - t));
        self.draws_cpu.push(ms(cpu(CLOCK_THREAD_CPUTIME_ID) - c));
        self.draws_parsed.push(self.link.received() - r);
        Ok((end - t, end))
    }

    fn screen(&self) -> Vec<String> {
        lines(self.term.backend().buffer())
    }

    /// Draws after every wake until a frame satisfies `done`; returns when that frame was
    /// drawn and how many frames it took, or None after `timeout`.
    fn until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&[String]) -> bool,
    ) -> Res<Option<(Instant, usize)>> {
        let deadline = Instant::now() + timeout;
        let mut frames = 0;
        loop {
            check_stop()?;
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) if !left.is_zero() => continue,
                Err(RecvTimeoutError::Timeout) => return Ok(None),
                Err(RecvTimeoutError::Disconnected) => return Err("wake channel closed".into()),
            }
            while self.rx.try_recv().is_ok() {}
            let (_, end) = self.frame()?;
            frames += 1;
            if done(&self.screen()) {
                return Ok(Some((end, frames)));
            }
        }
    }

    /// Draws whatever is pending, so the next measurement starts from an idle loop.
    fn settle(&mut self) -> Res<()> {
        if self.rx.try_recv().is_ok() {
            while self.rx.try_recv().is_ok() {}
            self.frame()?;
        }
        Ok(())
    }
}

/// A fresh link on a socket pair, attached, its wake feeding a new Ui; and the guest end.
fn socket_ui() -> Res<(Ui, UnixStream)> {
    let (a, b) = UnixStream::pair().map_err(|e| e.to_string())?;
    let link = Link::new(24, 80);
    let mut ui = Ui::new(&link)?;
    link.attach(Arc::new(Sock(a)));
    // The first frame fits the parser to the screen (34x120), as the app's first draw does.
    ui.until(Duration::from_secs(2), |_| true)?
        .ok_or("the attached link never woke the UI")?;
    Ok((ui, b))
}

// ---------------------------------------------------------------------------------------------
// 1. Output to screen through a socket pair

fn part_screen(samples: usize, rows: &mut Vec<Row>) -> Res<()> {
    let (mut ui, mut guest) = socket_ui()?;
    let tag = nonce();
    let mut lat = Vec::new();
    let mut frames = 0;
    ui.draws.clear();
    for i in 0..samples {
        check_stop()?;
        std::thread::sleep(Duration::from_millis(2));
        ui.settle()?;
        let marker = format!("MARK-{tag:08x}-{i:04}");
        let t0 = Instant::now();
        guest
            .write_all(format!("{marker} guest output line\r\n").as_bytes())
            .map_err(|e| e.to_string())?;
        let (end, n) = ui
            .until(Duration::from_secs(2), |l| {
                l.iter().any(|l| l.contains(&marker))
            })?
            .ok_or_else(|| format!("sample {i}: marker not on screen after 2 s"))?;
        lat.push(ms(end - t0));
        frames += n;
    }
    ui.link.detach();
    let p = p99(&lat);
    rows.push(row(
        format!("1. output to screen, socket pair: median / p99 / max of {samples}"),
        summary(&lat),
        "≤ 20 ms",
        Some(p <= 20.0),
    ));
    rows.push(row(
        "   frames per sample (mean), draw time median / p99 / max",
        format!(
            "{:.2}, {}",
            frames as f64 / samples.max(1) as f64,
            summary(&ui.draws)
        ),
        "-",
        None,
    ));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 1b. The same through the real `runtime::run` loop

/// A TestBackend that, on every flush (the end of a `Terminal::draw`), checks whether the
/// awaited marker is on screen and reports how long it took.
struct Watch {
    inner: TestBackend,
    want: Arc<Mutex<Option<(String, Instant)>>>,
    seen: Sender<Duration>,
}

impl Backend for Watch {
    type Error = std::convert::Infallible;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type)
    }
    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }
    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()?;
        let mut want = self.want.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((marker, t0)) = want.as_ref() {
            if lines(self.inner.buffer())
                .iter()
                .any(|l| l.contains(marker))
            {
                let _ = self.seen.send(t0.elapsed());
                *want = None;
            }
        }
        Ok(())
    }
}

fn part_app(samples: usize, rows: &mut Vec<Row>) -> Res<()> {
    let (a, mut guest) = UnixStream::pair().map_err(|e| e.to_string())?;
    let link = Link::new(24, 80);
    let (tx, rx) = runtime::channel();
    // What runtime::Workers::apply installs before the worker attaches the stream.
    let wake = tx.clone();
    link.set_wake(Arc::new(move || {
        let _ = wake.send(Msg::Wake);
    }));
    link.attach(Arc::new(Sock(a)));
    let mut workers = runtime::Workers::start(&[], &tx, None, WorkerOptions::default())
        .map_err(|e| format!("{e:#}"))?;
    let mut app = console_app(&link)?;
    let want = Arc::new(Mutex::new(None));
    let (seen_tx, seen_rx) = mpsc::channel();
    let mut term = Terminal::new(Watch {
        inner: TestBackend::new(WIDTH, HEIGHT),
        want: Arc::clone(&want),
        seen: seen_tx,
    })
    .map_err(|e| e.to_string())?;

    let driver = std::thread::Builder::new()
        .name("bench-driver".into())
        .spawn(move || {
            let tag = nonce();
            let mut out = Vec::new();
            let mut run = || -> Res<()> {
                // Let the loop draw the attach wake first.
                std::thread::sleep(Duration::from_millis(200));
                for i in 0..samples {
                    check_stop()?;
                    // Spread the writes over the phase of the loop's 1 s tick.
                    std::thread::sleep(Duration::from_millis(50 + (i as u64 * 389) % 1000));
                    let marker = format!("APP-{tag:08x}-{i:04}");
                    *want.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some((marker.clone(), Instant::now()));
                    guest
                        .write_all(format!("{marker} guest output line\r\n").as_bytes())
                        .map_err(|e| e.to_string())?;
                    match seen_rx.recv_timeout(Duration::from_secs(5)) {
                        Ok(d) => out.push(ms(d)),
                        Err(_) => return Err(format!("sample {i}: not on screen after 5 s")),
                    }
                }
                Ok(())
            };
            let r = run();
            let _ = tx.send(Msg::Terminate);
            r.map(|_| out)
        })
        .map_err(|e| e.to_string())?;
    let looped = runtime::run(&mut term, &mut app, &rx, &mut workers);
    let lat = driver.join().map_err(|_| "driver panicked")??;
    looped.map_err(|e| format!("{e:#}"))?;
    link.detach();
    let p = p99(&lat);
    rows.push(row(
        format!("1b. same through the real runtime::run loop: median / max of {samples}"),
        {
            let s = sorted(lat.clone());
            format!("{:.1} / {:.1} ms", pct(&s, 50.0), max(&lat))
        },
        "≤ 20 ms",
        Some(p <= 20.0),
    ));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 2. Bursts of 1 MiB (by default) while keys arrive every 10 ms

/// `size` bytes like `cat` of a text file through a tty: 80-column lines, CRLF; the last line is
/// `end`.
fn burst_text(size: usize, round: usize, end: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(size + 128);
    let words = [
        "lorem",
        "ipsum",
        "dolor",
        "sit",
        "amet,",
        "consectetur",
        "adipiscing",
        "elit,",
        "sed",
        "do",
        "eiusmod",
        "tempor",
        "incididunt",
        "ut",
        "labore",
        "et",
        "dolore",
    ];
    let mut n = 0usize;
    while v.len() < size {
        let mut line = format!("{round}:{n:06} ");
        let mut w = n;
        while line.len() < 80 {
            line.push_str(words[w % words.len()]);
            line.push(' ');
            w = w.wrapping_mul(7).wrapping_add(3);
        }
        line.truncate(80);
        v.extend_from_slice(line.trim_end().as_bytes());
        v.extend_from_slice(b"\r\n");
        n += 1;
    }
    let tail = format!("{end}\r\n");
    v.truncate(size - tail.len());
    v.extend_from_slice(tail.as_bytes());
    v
}

#[derive(Default)]
struct Burst {
    mib_s: Vec<f64>,
    secs: Vec<f64>,
    frames: usize,
    frame_ms: Vec<f64>,
    frame_cpu_ms: Vec<f64>,
    frame_parsed: Vec<u64>,
    key_ms: Vec<f64>,
    keys: usize,
    wall: Duration,
    cpu: Duration,
    parser: Duration,
    ui: Duration,
    feeder: Duration,
}

/// Handles `first` and whatever else is queued like the app's loop does: keys go to the link,
/// then one frame is drawn. Records each key's latency to that frame; returns when it ended.
fn ui_batch(ui: &mut Ui, first: Ev, key_ms: &mut Vec<f64>) -> Res<Instant> {
    let mut keys = Vec::new();
    for ev in std::iter::once(first).chain(std::iter::from_fn(|| ui.rx.try_recv().ok())) {
        if let Ev::Key(t) = ev {
            keys.push(t);
        }
    }
    for _ in &keys {
        ui.link.send(b"x".to_vec());
    }
    let (_, drawn) = ui.frame()?;
    key_ms.extend(keys.iter().map(|t| ms(drawn - *t)));
    Ok(drawn)
}

fn part_burst(rounds: usize, mib: usize, rows: &mut Vec<Row>, notes: &mut Vec<String>) -> Res<()> {
    let (mut ui, guest) = socket_ui()?;
    let tag = nonce();
    let size = mib << 20;
    // The "guest" drains what the link's writer sends it (the injected keys).
    let sunk = Arc::new(Mutex::new(0usize));
    {
        let (mut sink, sunk) = (guest.try_clone().map_err(|e| e.to_string())?, sunk.clone());
        std::thread::Builder::new()
            .name("bench-sink".into())
            .spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = sink.read(&mut buf) {
                    *sunk.lock().unwrap_or_else(|e| e.into_inner()) += n;
                }
            })
            .map_err(|e| e.to_string())?;
    }
    let mut b = Burst::default();
    for round in 0..rounds {
        check_stop()?;
        let end = format!("BURST-END-{tag:08x}-{round}");
        let text = burst_text(size, round, &end);
        let total = ui.link.received() + text.len() as u64;
        std::thread::sleep(Duration::from_millis(50));
        ui.settle()?;
        let draws0 = ui.draws.len();

        let (th0, cpu0, ui0) = (
            threads(),
            cpu(CLOCK_PROCESS_CPUTIME_ID),
            cpu(CLOCK_THREAD_CPUTIME_ID),
        );
        let t_start = Instant::now();
        let mut feed = guest.try_clone().map_err(|e| e.to_string())?;
        let feeder = std::thread::Builder::new()
            .name("bench-feeder".into())
            .spawn(move || {
                let c0 = cpu(CLOCK_THREAD_CPUTIME_ID);
                let r = feed.write_all(&text).map_err(|e| e.to_string());
                r.map(|_| cpu(CLOCK_THREAD_CPUTIME_ID) - c0)
            })
            .map_err(|e| e.to_string())?;
        let stop = Arc::new(AtomicBool::new(false));
        let injector = {
            let (tx, stop) = (ui.tx.clone(), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("bench-keys".into())
                .spawn(move || {
                    // The first key at a different phase each round (0, 3.7, 7.4, 1.1… ms):
                    // a burst is about as short as the key interval.
                    let mut next = t_start + Duration::from_micros(round as u64 * 3700 % 10_000);
                    let mut n = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(next.saturating_duration_since(Instant::now()));
                        next += KEY_EVERY;
                        if stop.load(Ordering::Relaxed) || tx.send(Ev::Key(Instant::now())).is_err()
                        {
                            break;
                        }
                        n += 1;
                    }
                    n
                })
                .map_err(|e| e.to_string())?
        };

        // The UI loop: a batch of events, the keys handled, one frame.
        let deadline = t_start + Duration::from_secs(30);
        let done = loop {
            check_stop()?;
            if Instant::now() > deadline {
                break Err(format!("round {round}: not parsed after 30 s"));
            }
            let Ok(first) = ui.rx.recv_timeout(Duration::from_millis(200)) else {
                continue;
            };
            let drawn = ui_batch(&mut ui, first, &mut b.key_ms)?;
            if ui.link.received() >= total && ui.screen().iter().any(|l| l.contains(&end)) {
                break Ok(drawn);
            }
        };
        stop.store(true, Ordering::Relaxed);
        let drawn = done?;
        // Keys that came after the last frame are handled at once, as the loop would.
        if let Ok(first) = ui.rx.try_recv() {
            ui_batch(&mut ui, first, &mut b.key_ms)?;
        }
        let (cpu1, ui1, th1) = (
            cpu(CLOCK_PROCESS_CPUTIME_ID),
            cpu(CLOCK_THREAD_CPUTIME_ID),
            threads(),
        );
        let parsed = ui.link.last_output().unwrap_or(drawn);
        let secs = (parsed - t_start).as_secs_f64();
        b.secs.push(secs);
        b.mib_s.push(size as f64 / (1 << 20) as f64 / secs);
        b.wall += drawn - t_start;
        b.cpu += cpu1 - cpu0;
        b.ui += ui1 - ui0;
        let per = thread_delta(&th0, &th1);
        b.parser += Duration::from_nanos(per.get("console-read").copied().unwrap_or(0));
        b.feeder += feeder.join().map_err(|_| "feeder panicked")??;
        b.keys += injector.join().map_err(|_| "key injector panicked")?;
        // A key the injector sent while it was stopping (not counted in CPU).
        if let Ok(first) = ui.rx.try_recv() {
            ui_batch(&mut ui, first, &mut b.key_ms)?;
        }
        b.frames += ui.draws.len() - draws0;
        b.frame_ms.extend_from_slice(&ui.draws[draws0..]);
        b.frame_cpu_ms.extend_from_slice(&ui.draws_cpu[draws0..]);
        b.frame_parsed.extend_from_slice(&ui.draws_parsed[draws0..]);
    }
    std::thread::sleep(Duration::from_millis(100));
    let reached = *sunk.lock().unwrap_or_else(|e| e.into_inner());
    ui.link.detach();

    notes.push(format!(
        "[2] MiB/s per round: {}",
        b.mib_s
            .iter()
            .map(|v| format!("{v:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let wall = b.wall.as_secs_f64();
    let pc = |d: Duration| d.as_secs_f64() / wall * 100.0;
    let s = sorted(b.mib_s.clone());
    rows.push(row(
        format!("2. {mib} MiB burst × {rounds}: throughput until parsed, median (min–max)"),
        format!(
            "{:.1} MiB/s ({:.1}–{:.1}); {:.0} ms per burst",
            pct(&s, 50.0),
            s.first().copied().unwrap_or(f64::NAN),
            s.last().copied().unwrap_or(f64::NAN),
            pct(&sorted(b.secs.clone()), 50.0) * 1e3
        ),
        "-",
        None,
    ));
    rows.push(row(
        "   frames drawn (all rounds), frames/s",
        format!("{}, {:.0}/s", b.frames, b.frames as f64 / wall),
        "-",
        None,
    ));
    rows.push(row(
        "   frame time (draw incl. parser lock): median / p99 / max",
        summary(&b.frame_ms),
        "-",
        None,
    ));
    let slowest = (0..b.frame_ms.len()).max_by(|&i, &j| b.frame_ms[i].total_cmp(&b.frame_ms[j]));
    rows.push(row(
        "   same, UI thread CPU: median / p99 / max; slowest frame: wall / CPU, parsed meanwhile",
        format!(
            "{}; {}",
            summary(&b.frame_cpu_ms),
            slowest.map_or("n/a".into(), |i| format!(
                "{:.2} / {:.2} ms, {} KiB",
                b.frame_ms[i],
                b.frame_cpu_ms[i],
                b.frame_parsed[i] / 1024
            ))
        ),
        "-",
        None,
    ));
    let worst = max(&b.key_ms);
    rows.push(row(
        format!(
            "   key-to-frame during the burst ({} keys, 1 per 10 ms): median / p99 / max",
            b.key_ms.len()
        ),
        summary(&b.key_ms),
        "max < 100 ms",
        Some(worst < 100.0),
    ));
    rows.push(row(
        "   keys injected / handled / bytes that reached the guest end of the socket",
        format!("{} / {} / {reached}", b.keys, b.key_ms.len()),
        "-",
        None,
    ));
    rows.push(row(
        "   CPU, % of one core over the bursts: process (parser / UI loop / feeder)",
        format!(
            "{:.0} % ({:.0} / {:.0} / {:.0})",
            pc(b.cpu),
            pc(b.parser),
            pc(b.ui),
            pc(b.feeder)
        ),
        "-",
        None,
    ));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 3. Round trip through a real KVM guest

/// The tiny guest (tests/guest), defined and started for the run; destroyed and undefined
/// on drop, whatever happened.
struct Guest {
    uuid: String,
    _dir: tempfile::TempDir,
}

impl Guest {
    fn start(conn: &Connect) -> Res<Guest> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let disk = dir.path().join("tiny.img");
        let out = Command::new("nasm")
            .args(["-f", "bin", "-o"])
            .arg(&disk)
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/guest/tiny.asm"))
            .output()
            .map_err(|e| format!("nasm: {e}"))?;
        if !out.status.success() {
            return Err(format!("nasm: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let xml = include_str!("../tests/guest/tiny.xml")
            .replace("@NAME@", &format!("{PREFIX}{}", std::process::id()))
            .replace(
                "@DISK@",
                &quick_xml::escape::escape(disk.to_string_lossy().as_ref()),
            );
        let dom = conn.define_domain_xml(&xml).map_err(|e| e.to_string())?;
        let g = Guest {
            uuid: dom.uuid_string().map_err(|e| e.to_string())?,
            _dir: dir,
        };
        dom.create().map_err(|e| e.to_string())?;
        Ok(g)
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        if let Ok(conn) = Connect::open(Some(URI)) {
            if let Ok(dom) = conn.lookup_domain_by_uuid_string(&self.uuid) {
                let _ = dom.destroy();
                let _ = dom.undefine();
            }
        }
    }
}

/// Guests of earlier runs that were killed before they could clean up.
fn sweep_leftovers(conn: &Connect) {
    let Ok(doms) = conn.list_all_domains(0) else {
        return;
    };
    for d in doms {
        let Ok(name) = d.name() else { continue };
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = d.destroy();
            let _ = d.undefine();
        }
    }
}

/// Ok(Some(why)) when skipped.
fn part_kvm(keys: usize, rows: &mut Vec<Row>, notes: &mut Vec<String>) -> Res<Option<String>> {
    virtdeck::host::ensure_event_loop();
    if Command::new("nasm").arg("-v").output().is_err() {
        return Ok(Some("nasm is not installed (scripts/lab.sh)".into()));
    }
    let conn = match Connect::open(Some(URI)) {
        Ok(c) => c,
        Err(e) => return Ok(Some(format!("{URI}: {e} (scripts/lab.sh)"))),
    };
    if !conn
        .capabilities()
        .is_ok_and(|c| c.contains("domain type='kvm'"))
    {
        return Ok(Some(format!("{URI} has no KVM")));
    }
    sweep_leftovers(&conn);
    let t_start = Instant::now();
    let guest = Guest::start(&conn)?;
    let dom = conn
        .lookup_domain_by_uuid_string(&guest.uuid)
        .map_err(|e| e.to_string())?;
    let stream = virt::stream::Stream::new(&conn, 0).map_err(|e| e.to_string())?;
    dom.open_console(None, &stream, 0)
        .map_err(|e| e.to_string())?;
    let link = Link::new(24, 80);
    let mut ui = Ui::new(&link)?;
    link.attach(Arc::new(stream));
    let r = kvm_samples(&mut ui, keys, t_start, rows, notes);
    link.detach();
    drop(guest);
    r.map(|_| None)
}

fn kvm_samples(
    ui: &mut Ui,
    keys: usize,
    t_start: Instant,
    rows: &mut Vec<Row>,
    notes: &mut Vec<String>,
) -> Res<()> {
    // Keystrokes right after attaching can get lost: Enter until the guest answers.
    let answered = |l: &[String]| l.iter().any(|l| l.starts_with("echo:"));
    let mut ready = false;
    for _ in 0..60 {
        ui.link.send(b"\r".to_vec());
        if ui.until(Duration::from_millis(500), answered)?.is_some() {
            ready = true;
            break;
        }
    }
    if !ready {
        return Err(format!(
            "the guest never answered; screen: {:?}",
            ui.screen().join("\n").trim()
        ));
    }
    let answered_s = t_start.elapsed().as_secs_f64();
    // Let any Enter still in flight come back before timing.
    std::thread::sleep(Duration::from_millis(600));
    ui.settle()?;

    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut cur = String::new();
    let (mut rt, mut after) = (Vec::new(), Vec::new());
    for i in 0..keys {
        check_stop()?;
        if cur.len() == 20 {
            // A fresh line before the guest's 64-character buffer fills.
            let echoed = format!("echo: {cur}");
            ui.link.send(b"\r".to_vec());
            ui.until(Duration::from_secs(3), |l| {
                l.iter().any(|l| row_is(l, &echoed))
            })?
            .ok_or("no echo of the line after Enter")?;
            std::thread::sleep(Duration::from_millis(50));
            cur.clear();
        }
        // Spread the keys over the phase of the guest's 55 ms poll/hlt cycle.
        std::thread::sleep(Duration::from_millis(20 + (i as u64 * 17) % 60));
        ui.settle()?;
        let c = ALPHABET[i % ALPHABET.len()];
        cur.push(c as char);
        let want = format!("> {cur}");
        let t0 = Instant::now();
        ui.link.send(vec![c]);
        let (end, _) = ui
            .until(Duration::from_secs(3), |l| {
                l.iter().any(|l| row_is(l, &want))
            })?
            .ok_or_else(|| {
                format!(
                    "key {i} ({}): no echo on screen after 3 s; screen:\n{}",
                    c as char,
                    ui.screen().join("\n")
                )
            })?;
        rt.push(ms(end - t0));
        if let Some(r) = ui.link.last_output() {
            after.push(ms(end.saturating_duration_since(r)));
        }
    }
    notes.push(format!(
        "[3] the guest answered {answered_s:.1} s after `create` (boot + probing with Enter)"
    ));
    rows.push(row(
        format!("3. KVM guest: key to its echo on screen, median / p99 / max of {keys}"),
        summary(&rt),
        "info (upper bound)",
        None,
    ));
    rows.push(row(
        "   of which echo received → frame drawn (virtdeck's share)",
        summary(&after),
        "≤ 20 ms",
        Some(p99(&after) <= 20.0),
    ));
    Ok(())
}

// ---------------------------------------------------------------------------------------------

fn main() {
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&STOP));
    }
    virt::error::clear_error_callback();
    let parts: Vec<String> = std::env::var("VIRTDECK_CONSOLE_PARTS")
        .unwrap_or_else(|_| "screen,app,burst,kvm".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let wants = |p: &str| parts.iter().any(|x| x == p);
    let started = Instant::now();
    let load0 = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let (mut rows, mut notes, mut errors) = (Vec::new(), Vec::new(), Vec::new());

    if wants("screen") {
        eprintln!("console: 1. output to screen through a socket pair…");
        let n = env_usize("VIRTDECK_CONSOLE_SAMPLES", 200).max(1);
        if let Err(e) = part_screen(n, &mut rows) {
            errors.push(format!("1. output to screen: {e}"));
        }
    }
    if wants("app") && check_stop().is_ok() {
        eprintln!("console: 1b. the same through runtime::run…");
        let n = env_usize("VIRTDECK_CONSOLE_APP_SAMPLES", 6).max(1);
        if let Err(e) = part_app(n, &mut rows) {
            errors.push(format!("1b. runtime::run: {e}"));
        }
    }
    if wants("burst") && check_stop().is_ok() {
        eprintln!("console: 2. bursts…");
        let n = env_usize("VIRTDECK_CONSOLE_ROUNDS", 50).max(1);
        if let Err(e) = part_burst(
            n,
            env_usize("VIRTDECK_CONSOLE_BURST_MIB", 1).max(1),
            &mut rows,
            &mut notes,
        ) {
            errors.push(format!("2. burst: {e}"));
        }
    }
    if wants("kvm") && check_stop().is_ok() {
        eprintln!("console: 3. round trip through a KVM guest…");
        let n = env_usize("VIRTDECK_CONSOLE_KEYS", 50).max(1);
        match part_kvm(n, &mut rows, &mut notes) {
            Ok(None) => {}
            Ok(Some(why)) => {
                eprintln!("console: skipping the KVM part: {why}");
                notes.push(format!("[3] skipped: {why}"));
            }
            Err(e) => errors.push(format!("3. KVM guest: {e}")),
        }
    }

    let load1 = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let first3 = |s: &str| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    println!();
    println!(
        "virtdeck console report ({} CPUs, TestBackend {WIDTH}x{HEIGHT}, {:.0} s total)",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        started.elapsed().as_secs_f64()
    );
    println!(
        "load average at start: {}, at the end: {}",
        first3(&load0),
        first3(&load1)
    );
    println!();
    print_table(&rows);
    for n in &notes {
        println!("- {n}");
    }
    for e in &errors {
        println!("- ERROR {e}");
    }
    if !errors.is_empty() || check_stop().is_err() {
        std::process::exit(1);
    }
}
