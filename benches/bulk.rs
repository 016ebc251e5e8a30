//! Bulk action report: `cargo bench --bench bulk`.
//!
//! A 5,000-VM test-driver host served by the running libvirtd (`test+unix:///FILE`, so the
//! test driver's own memory is the daemon's, not ours), the real app and workers, and the
//! keys a user presses: `*` (mark all), `p` (pause), `y`; then `*`, `u` (resume), `y`. While
//! it runs, a thread presses `j`/`k` every 20 ms through the same channel as everything else
//! and the loop (a copy of `runtime::run`: batches of 256 messages, then a frame) records how
//! long each key waited for its frame. Reported: each bulk action's time against `virsh`
//! doing the same 5,000 calls in one session, key latency, and RSS before, at the peak and
//! after.
//!
//! Knobs: `VIRTDECK_BULK_VMS` (default 5000). Needs a libvirtd on this machine
//! (`scripts/lab.sh`) and `virsh`.

#[path = "support/report.rs"]
mod report;
use report::{ms, print_table, row, sorted};
use virtdeck::app::PaneId;

use std::collections::VecDeque;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use virtdeck::app::{App, HostSpec, Msg, View};
use virtdeck::config::keymap::Keymap;
use virtdeck::config::theme::Theme;
use virtdeck::host::{HostEvent, WorkerOptions};
use virtdeck::model::VmState;
use virtdeck::runtime::{self, Workers};
use virtdeck::ui;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// A test-driver host with `n` running VMs.
fn fleet_xml(n: usize) -> String {
    let mut xml = String::from("<node>\n");
    for i in 0..n {
        xml.push_str(&format!(
            "<domain type='test'><name>bulk-{i:05}</name>\
             <uuid>00000000-0000-4000-8000-{i:012}</uuid>\
             <memory unit='MiB'>64</memory><vcpu>1</vcpu>\
             <os><type arch='x86_64'>hvm</type></os></domain>\n"
        ));
    }
    xml.push_str("</node>\n");
    xml
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

/// Seconds `virsh` takes to run `commands` in one session on `uri`.
fn virsh(uri: &str, commands: &str) -> Res<f64> {
    let t = Instant::now();
    let mut child = Command::new("virsh")
        .args(["-q", "-c", uri])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(commands.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(format!("virsh: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(t.elapsed().as_secs_f64())
}

struct Loop {
    app: App,
    workers: Workers,
    rx: std::sync::mpsc::Receiver<Msg>,
    term: Terminal<TestBackend>,
    /// When each injected key was sent, oldest first.
    sent: Arc<Mutex<VecDeque<Instant>>>,
    latencies: Vec<f64>,
    peak_kib: u64,
    /// Snapshots applied, and the longest `update` of one (ms).
    snapshots: usize,
    slowest_snapshot: f64,
}

impl Loop {
    /// One turn of `runtime::run`: a batch of messages, then a frame.
    fn turn(&mut self) -> Res<()> {
        let first = match self.rx.recv_timeout(Duration::from_millis(100)) {
            Ok(m) => m,
            Err(_) => Msg::Tick(Instant::now()),
        };
        let mut batch = vec![first];
        while batch.len() < 256 {
            match self.rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        batch.push(Msg::Tick(Instant::now()));
        let mut keys = 0;
        for m in batch {
            keys += usize::from(matches!(m, Msg::Key(_)));
            let snap = matches!(m, Msg::Host(_, HostEvent::Snapshot(_)));
            let t = Instant::now();
            let fx = self.app.update(m);
            if snap {
                self.snapshots += 1;
                self.slowest_snapshot = self.slowest_snapshot.max(ms(t.elapsed()));
            }
            self.workers.apply(fx);
        }
        self.term.draw(|f| ui::render(&self.app, f))?;
        let drawn = Instant::now();
        let mut sent = self.sent.lock().map_err(|_| "poisoned")?;
        for _ in 0..keys {
            if let Some(t) = sent.pop_front() {
                self.latencies.push(ms(drawn - t));
            }
        }
        self.peak_kib = self.peak_kib.max(rss_kib());
        Ok(())
    }

    fn press(&mut self, c: char) {
        let fx = self.app.update(Msg::Key(key(c)));
        self.workers.apply(fx);
    }

    fn count(&self, state: VmState) -> usize {
        self.app.hosts[0]
            .vms
            .iter()
            .filter(|v| v.state == state)
            .count()
    }

    /// Marks every VM, presses `action` and confirms; returns when every VM is in `want`.
    fn bulk(&mut self, action: char, want: VmState, n: usize) -> Res<f64> {
        let t = Instant::now();
        self.press('*');
        self.press(action);
        self.press('y');
        let mut said = Instant::now();
        while self.count(want) < n || !self.app.vms.pending.is_empty() {
            self.turn()?;
            if said.elapsed() > Duration::from_secs(10)
                && std::env::var_os("VIRTDECK_BULK_DEBUG").is_some()
            {
                said = Instant::now();
                eprintln!(
                    "bulk: {action}: {} of {n} {want:?}, {} pending, {} marks, mode {:?}",
                    self.count(want),
                    self.app.vms.pending.len(),
                    self.app.vms.marks.len(),
                    std::mem::discriminant(&self.app.mode)
                );
            }
            if t.elapsed() > Duration::from_secs(600) {
                return Err(format!("bulk '{action}' did not finish in 600 s").into());
            }
        }
        Ok(t.elapsed().as_secs_f64())
    }

    fn settle(&mut self, d: Duration) -> Res<()> {
        let t = Instant::now();
        while t.elapsed() < d {
            self.turn()?;
        }
        Ok(())
    }
}

fn main() -> Res<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let n: usize = std::env::var("VIRTDECK_BULK_VMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(format!("bulk-{n}.xml"));
    std::fs::write(&path, fleet_xml(n))?;
    let uri = format!("test+unix://{}", path.display());

    eprintln!("bulk: virsh baseline on {n} VMs…");
    let uuids: Vec<String> = (0..n)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect();
    let each = |verb: &str| -> String { uuids.iter().map(|u| format!("{verb} {u}\n")).collect() };
    let connect = virsh(&uri, "version\n")?;
    let suspend = virsh(&uri, &each("suspend"))? - connect;
    let both = virsh(&uri, &format!("{}{}", each("suspend"), each("resume")))? - connect;
    let resume = both - suspend;

    eprintln!("bulk: virtdeck on {n} VMs…");
    virtdeck::host::ensure_event_loop();
    let (tx, rx) = runtime::channel();
    let spec = HostSpec {
        name: "bulk".into(),
        uri: uri.clone(),
    };
    let specs = vec![(spec.clone(), WorkerOptions::default())];
    let workers = Workers::start(&specs, &tx, None, WorkerOptions::default())?;
    let mut app = App::new(
        vec![spec],
        Keymap::preset(),
        Theme::load("default", None)?,
        virtdeck::app::Settings::default(),
    );
    app.view = View::Pane(PaneId::Vms);
    let mut lp = Loop {
        app,
        workers,
        rx,
        term: Terminal::new(TestBackend::new(160, 50))?,
        sent: Arc::new(Mutex::new(VecDeque::new())),
        latencies: Vec::new(),
        peak_kib: 0,
        snapshots: 0,
        slowest_snapshot: 0.0,
    };
    let t = Instant::now();
    while lp.count(VmState::Running) < n {
        lp.turn()?;
        if t.elapsed() > Duration::from_secs(120) {
            return Err("the host did not report its VMs".into());
        }
    }
    lp.settle(Duration::from_secs(3))?;
    let before = rss_kib();
    lp.peak_kib = before;
    lp.snapshots = 0;
    lp.slowest_snapshot = 0.0;

    // Keys every 20 ms while the bulk actions run.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let presser = {
        let (tx, sent, stop) = (tx.clone(), Arc::clone(&lp.sent), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut down = true;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(mut s) = sent.lock() {
                    s.push_back(Instant::now());
                }
                let _ = tx.send(Msg::Key(key(if down { 'j' } else { 'k' })));
                down = !down;
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let pause = lp.bulk('p', VmState::Paused, n)?;
    let resume_vd = lp.bulk('u', VmState::Running, n)?;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = presser.join();
    lp.settle(Duration::from_secs(3))?;
    let after = rss_kib();
    lp.workers.stop_all();

    let lat = sorted(lp.latencies.clone());
    let p = |q: f64| lat[((q * lat.len() as f64).ceil() as usize).clamp(1, lat.len()) - 1];
    let grown = (after as f64 - before as f64) / 1024.0;
    let rows = vec![
        row(
            format!("pause {n} VMs (virsh: {suspend:.2} s)"),
            format!("{pause:.2} s"),
            "≤ 2× virsh",
            Some(pause <= 2.0 * suspend),
        ),
        row(
            format!("resume {n} VMs (virsh: {resume:.2} s)"),
            format!("{resume_vd:.2} s"),
            "≤ 2× virsh",
            Some(resume_vd <= 2.0 * resume),
        ),
        row(
            format!("key → frame during both ({} keys), p50", lat.len()),
            format!("{:.1} ms", p(0.5)),
            "",
            None,
        ),
        row(
            "key → frame during both, p99 / max",
            format!(
                "{:.1} / {:.1} ms",
                p(0.99),
                lat.last().copied().unwrap_or(0.0)
            ),
            "≤ 50 ms",
            Some(lat.last().copied().unwrap_or(f64::MAX) <= 50.0),
        ),
        row(
            "snapshots applied during both / slowest apply",
            format!("{} / {:.1} ms", lp.snapshots, lp.slowest_snapshot),
            "",
            None,
        ),
        row(
            "RSS before / peak / after",
            format!(
                "{:.1} / {:.1} / {:.1} MiB",
                before as f64 / 1024.0,
                lp.peak_kib as f64 / 1024.0,
                after as f64 / 1024.0
            ),
            "",
            None,
        ),
        row(
            "RSS after − before",
            format!("{grown:+.1} MiB"),
            "≤ 10 MiB",
            Some(grown <= 10.0),
        ),
    ];
    print_table(&rows);
    Ok(())
}
