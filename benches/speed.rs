//! Speed and memory report for virtdeck: `cargo bench --bench speed`.
//!
//! The parent process runs every scenario in a fresh child process (this same binary, with
//! `VIRTDECK_SPEED_SCENARIO` set): libvirt initialises once per process and RSS never shrinks,
//! so scenarios must not share a process. Children print `@@ key value` lines (numbers) and
//! `## text` lines (notes); the parent gathers them into one table.
//!
//! Knobs (environment): `VIRTDECK_SPEED_RUNS` (first-frame repeats, default 10),
//! `VIRTDECK_SPEED_VMS` (size of the generated host, default 5000), `VIRTDECK_SPEED_KEYS`
//! (keystrokes per terminal size, default 500), `VIRTDECK_SPEED_HOST` (name of the big host,
//! default `kvm-fleet-01`).
//!
//! A counting global allocator tracks the live and peak bytes of every Rust allocation in the
//! process (virtdeck, ratatui, the `virt` crate's Strings), which libvirt's own C heap is not
//! part of: that is virtdeck's share of the resident memory, measured directly. It counts only
//! in the memory scenarios, so it does not slow down the timed ones.

#[path = "support/children.rs"]
mod children;
#[path = "support/keys.rs"]
mod keys;
use children::Out;
#[path = "support/report.rs"]
mod report;
use keys::{key, keystrokes, time_keys};
use report::{ms, print_table, row, sorted};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use virtdeck::app::PaneId;

use crossterm::event::KeyCode;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use virtdeck::app::{App, HostSpec, Msg};
use virtdeck::config::keymap::Keymap;
use virtdeck::config::theme::Theme;
use virtdeck::demo::{DemoFleet, Overlay};
use virtdeck::host::{HostEvent, WorkerOptions};
use virtdeck::runtime::Workers;
use virtdeck::{runtime, ui};

// ---------------------------------------------------------------------------------------------
// Counting allocator

struct Counting;

/// Counting is switched on only in the memory scenarios: the atomics would slow down the
/// allocation-heavy paths the timing scenarios measure.
static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grew(n: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        let now = LIVE.fetch_add(n as isize, Ordering::Relaxed) + n as isize;
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

fn shrank(n: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        LIVE.fetch_sub(n as isize, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            grew(l.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            grew(l.size());
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        shrank(l.size());
    }

    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                grew(new - l.size());
            } else {
                shrank(l.size() - new);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

// ---------------------------------------------------------------------------------------------
// Shared helpers

const SCENARIO: &str = "VIRTDECK_SPEED_SCENARIO";
const XML: &str = "VIRTDECK_SPEED_XML";
const SPAWNED_AT: &str = "VIRTDECK_SPEED_SPAWNED_AT_NS";
const WAIT: Duration = Duration::from_secs(60);

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn emit(key: &str, value: f64) {
    println!("@@ {key} {value}");
}

fn note(text: &str) {
    println!("## {text}");
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// (VmRSS, VmHWM) of this process in KiB.
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn emit_memory(prefix: &str) {
    let (rss, hwm) = rss_kib();
    emit(&format!("{prefix}.rss_mib"), mib(rss));
    emit(&format!("{prefix}.hwm_mib"), mib(hwm));
    emit(
        &format!("{prefix}.heap_live_mib"),
        LIVE.load(Ordering::Relaxed) as f64 / 1048576.0,
    );
    emit(
        &format!("{prefix}.heap_peak_mib"),
        PEAK.load(Ordering::Relaxed) as f64 / 1048576.0,
    );
}

fn wall_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn new_app(specs: &[(HostSpec, WorkerOptions)]) -> Res<App> {
    Ok(App::new(
        specs.iter().map(|(s, _)| s.clone()).collect(),
        Keymap::preset(),
        Theme::load("default", None)?,
        virtdeck::app::Settings::default(),
    ))
}

fn terminal(w: u16, h: u16) -> Res<Terminal<TestBackend>> {
    Ok(Terminal::new(TestBackend::new(w, h))?)
}

fn draw(term: &mut Terminal<TestBackend>, app: &App) -> Res<()> {
    term.draw(|f| ui::render(app, f))?;
    Ok(())
}

fn screen(term: &Terminal<TestBackend>) -> String {
    term.backend().to_string()
}

fn stop(handles: &Workers) {
    handles.stop_all();
}

fn with_overlay(
    spec: HostSpec,
    overlay: Arc<Overlay>,
    base: WorkerOptions,
) -> (HostSpec, WorkerOptions) {
    let opts = WorkerOptions {
        on_connect: Some(Arc::new(move |c| overlay.apply(c))),
        ..base
    };
    (spec, opts)
}

/// Nearest-rank percentile of sorted samples.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

// ---------------------------------------------------------------------------------------------
// Scenario: first frame on the demo fleet

/// True once the frame shows every host's VM count and the table lists VMs from all of them.
fn populated(app: &App, text: &str) -> bool {
    let total = app.total_vms();
    app.hosts
        .iter()
        .all(|h| h.updated_at.is_some() && !h.vms.is_empty())
        && text.contains(&format!("VMs {total}/{total}"))
        && app.hosts.iter().all(|h| {
            let count = format!("/{} running", h.vms.len());
            text.lines()
                .any(|l| l.contains(h.name.as_str()) && l.contains(&count))
        })
}

struct FirstFrame {
    first: Duration,
    populated: Duration,
    /// Wall clock at the populated frame, to compare with the parent's spawn time.
    populated_wall_ns: u128,
    frames: usize,
}

/// Mirrors `main.rs` + `runtime::run`: fleet, workers, app, an immediate frame, then batches of
/// messages each followed by a frame, until a frame shows all three hosts' VMs.
fn first_frame_once() -> Res<FirstFrame> {
    let t0 = Instant::now();
    let fleet = DemoFleet::create()?;
    let specs: Vec<_> = fleet
        .hosts()
        .into_iter()
        .map(|h| with_overlay(h.spec, h.overlay, WorkerOptions::default()))
        .collect();
    virtdeck::host::ensure_event_loop();
    let (tx, rx) = runtime::channel();
    let mut handles = runtime::Workers::start(&specs, &tx, None, WorkerOptions::default())?;
    let mut app = new_app(&specs)?;
    // Several hosts land on the dashboard; this measures the VM table's first frames.
    app.view = virtdeck::app::View::Pane(PaneId::Vms);
    let mut term = terminal(200, 50)?;
    draw(&mut term, &app)?;
    let first = t0.elapsed();
    if !screen(&term).contains("Waiting for hosts") {
        note("first frame did not say \"Waiting for hosts…\"");
    }
    let mut frames = 1;
    let populated = loop {
        let left = WAIT.saturating_sub(t0.elapsed());
        let first_msg = match rx.recv_timeout(left) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => return Err("demo hosts did not report".into()),
            Err(RecvTimeoutError::Disconnected) => return Err("workers hung up".into()),
        };
        let mut batch = vec![first_msg];
        while batch.len() < 256 {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        batch.push(Msg::Tick(Instant::now()));
        for m in batch {
            handles.apply(app.update(m));
        }
        draw(&mut term, &app)?;
        let at = (t0.elapsed(), wall_ns());
        frames += 1;
        if populated(&app, &screen(&term)) {
            break at;
        }
    };
    stop(&handles);
    drop(fleet);
    Ok(FirstFrame {
        first,
        populated: populated.0,
        populated_wall_ns: populated.1,
        frames,
    })
}

fn scenario_first_frame() -> Res<()> {
    let r = first_frame_once()?;
    emit("first_ms", ms(r.first));
    emit("populated_ms", ms(r.populated));
    emit("frames", r.frames as f64);
    // Same instant on the parent's clock: includes exec, dynamic linking and libvirt's init.
    if let Some(spawned) = std::env::var(SPAWNED_AT)
        .ok()
        .and_then(|s| s.parse::<u128>().ok())
    {
        let ns = r.populated_wall_ns.saturating_sub(spawned);
        emit("spawn_to_populated_ms", ns as f64 / 1e6);
    }
    Ok(())
}

fn scenario_first_frame_warm(runs: usize) -> Res<()> {
    // One untimed run so libvirt, the event loop and the allocator are initialised.
    first_frame_once()?;
    for _ in 0..runs {
        let r = first_frame_once()?;
        emit("warm_first_ms", ms(r.first));
        emit("warm_populated_ms", ms(r.populated));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Scenario: a big test-driver host

struct Big {
    app: App,
    rx: Receiver<Msg>,
    handles: Workers,
    /// The first snapshot, kept to replay (not in the memory scenario).
    snapshot: Option<Msg>,
    connect_to_snapshot: Duration,
    first_apply: Duration,
}

fn xml_path() -> Res<PathBuf> {
    let p = std::env::var(XML).map_err(|_| format!("{XML} is not set"))?;
    Ok(std::fs::canonicalize(p)?)
}

/// One worker on the generated host; returns once its first snapshot is applied.
fn open_big(base: WorkerOptions, keep_copy: bool) -> Res<Big> {
    let path = xml_path()?;
    let overlay = Arc::new(Overlay::parse(&std::fs::read_to_string(&path)?));
    // A digit in the host name is the common case (kvm-prod-01) and costs more to sort by.
    let spec = HostSpec {
        name: std::env::var("VIRTDECK_SPEED_HOST").unwrap_or_else(|_| "kvm-fleet-01".into()),
        uri: format!("test://{}", path.display()),
    };
    let specs = vec![with_overlay(spec, overlay, base)];
    virtdeck::host::ensure_event_loop();
    let t0 = Instant::now();
    let (tx, rx) = runtime::channel();
    let mut handles = runtime::Workers::start(&specs, &tx, None, WorkerOptions::default())?;
    let mut app = new_app(&specs)?;
    loop {
        let m = rx.recv_timeout(WAIT.saturating_sub(t0.elapsed()))?;
        if let Msg::Host(_, HostEvent::Snapshot(_)) = &m {
            let connect_to_snapshot = t0.elapsed();
            let snapshot = keep_copy.then(|| m.clone());
            let t = Instant::now();
            handles.apply(app.update(m));
            let first_apply = t.elapsed();
            return Ok(Big {
                app,
                rx,
                handles,
                snapshot,
                connect_to_snapshot,
                first_apply,
            });
        }
        handles.apply(app.update(m));
    }
}

fn emit_dist(prefix: &str, samples: &[f64]) {
    let s = sorted(samples.to_vec());
    emit(&format!("{prefix}.p50"), pct(&s, 50.0));
    emit(&format!("{prefix}.p99"), pct(&s, 99.0));
    emit(&format!("{prefix}.max"), pct(&s, 100.0));
    emit(&format!("{prefix}.n"), s.len() as f64);
}

fn scenario_keys(n_keys: usize) -> Res<()> {
    // No polling during the measurement: the keystrokes alone, with no 5,000-VM snapshot
    // landing in between (that cost is measured separately below).
    let quiet = WorkerOptions {
        poll_interval: Duration::from_secs(3600),
        inventory_interval: Duration::from_secs(3600),
        ..WorkerOptions::default()
    };
    let mut big = open_big(quiet, true)?;
    emit("connect_to_snapshot_ms", ms(big.connect_to_snapshot));
    emit("first_apply_ms", ms(big.first_apply));
    emit("vms", big.app.total_vms() as f64);

    // A fresh snapshot of all VMs lands every poll interval: apply + redraw, replayed.
    let mut term = terminal(200, 50)?;
    draw(&mut term, &big.app)?;
    let mut snap = Vec::new();
    for _ in 0..30 {
        let m = big.snapshot.clone().ok_or("no snapshot copy")?;
        let t0 = Instant::now();
        big.handles.apply(big.app.update(m));
        draw(&mut term, &big.app)?;
        snap.push(ms(t0.elapsed()));
    }
    emit_dist("snapshot_frame_ms", &snap);

    let keys = keystrokes(n_keys);
    for (w, h) in [(200u16, 50u16), (80, 24)] {
        let t = time_keys(
            &mut big.app,
            &mut |fx| {
                big.handles.apply(fx);
            },
            w,
            h,
            &keys,
        )?;
        let p = format!("keys_{w}x{h}");
        emit_dist(&format!("{p}.total_ms"), &t.total);
        emit_dist(&format!("{p}.update_ms"), &t.update);
        emit_dist(&format!("{p}.draw_ms"), &t.draw);
        for (ms, text, rows) in &t.worst {
            note(&format!(
                "{w}x{h} slow key: {ms:.2} ms, filter {text:?} -> {rows} rows"
            ));
        }
    }

    // Sorted by name instead of host (the `o` key), the empty filter again: every row sorts.
    let mut term = terminal(200, 50)?;
    for sort in ["host", "name"] {
        let t0 = Instant::now();
        big.app.set_filter(String::new());
        draw(&mut term, &big.app)?;
        emit(&format!("rebuild_all_{sort}_ms"), ms(t0.elapsed()));
        big.handles
            .apply(big.app.update(Msg::Key(key(KeyCode::Char('o')))));
    }

    // Alert rules, weighed on the UI thread once a second: five rules over every VM. The
    // generated fleet has a crashed VM, so `vm.state == crashed` tracks one and every VM of
    // every VM rule is then keyed (the costly path).
    let whens = [
        "vm.cpu > 90",
        "vm.memory > 95",
        "vm.state == crashed",
        "host.cpu > 90",
        "host.lost",
    ];
    big.app.settings.alerts = whens
        .iter()
        .map(|w| {
            Ok(virtdeck::alert::Rule {
                when: w.to_string(),
                cond: virtdeck::alert::Cond::parse(w).map_err(|e| e.to_string())?,
                hold: Duration::from_secs(10),
                name: w.to_string(),
                exec: Vec::new(),
            })
        })
        .collect::<Res<_>>()?;
    let mut weigh = Vec::new();
    for _ in 0..50 {
        big.app.now += Duration::from_secs(1);
        let t0 = Instant::now();
        let _ = virtdeck::app::alerts::tick(&mut big.app);
        weigh.push(ms(t0.elapsed()));
    }
    emit_dist("alerts_ms", &weigh);
    emit("alerts_tracked", big.app.alerts.tracker.active() as f64);
    stop(&big.handles);
    drop(big.rx);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Scenarios: memory

fn scenario_mem_idle() -> Res<()> {
    emit_memory("idle");
    Ok(())
}

/// What libvirt itself costs: open the file (and optionally walk it the way the worker does)
/// on a thread of its own, as the worker does, with no virtdeck code involved.
fn scenario_mem_libvirt(walk: bool) -> Res<()> {
    let path = xml_path()?;
    let uri = format!("test://{}", path.display());
    virt::error::clear_error_callback();
    let prefix = if walk { "walk" } else { "open" };
    std::thread::spawn(move || -> Result<(), String> {
        let conn = virt::connect::Connect::open(Some(&uri)).map_err(|e| e.to_string())?;
        if walk {
            let xml = std::fs::read_to_string(uri.trim_start_matches("test://"))
                .map_err(|e| e.to_string())?;
            Overlay::parse(&xml).apply(&conn)?;
            for _ in 0..2 {
                let doms = conn.list_all_domains(0).map_err(|e| e.to_string())?;
                let mut n = 0usize;
                for d in &doms {
                    let info = d.info().map_err(|e| e.to_string())?;
                    n += info.nr_virt_cpu as usize;
                    n += d.uuid_string().map_err(|e| e.to_string())?.len();
                    n += d.name().map_err(|e| e.to_string())?.len();
                    n += d.id().unwrap_or(0) as usize;
                    n += usize::from(d.autostart().unwrap_or(false));
                    n += usize::from(d.is_persistent().unwrap_or(false));
                    n += usize::from(d.has_managed_save(0).unwrap_or(false));
                }
                std::hint::black_box(n);
                drop(doms);
                all_stats(&conn);
            }
        }
        emit_memory(prefix);
        drop(conn);
        Ok(())
    })
    .join()
    .map_err(|_| "libvirt thread panicked")??;
    Ok(())
}

/// The bulk stats call the worker makes every poll, records freed unread.
fn all_stats(conn: &virt::connect::Connect) {
    use virt::sys;
    let groups = sys::VIR_DOMAIN_STATS_STATE
        | sys::VIR_DOMAIN_STATS_CPU_TOTAL
        | sys::VIR_DOMAIN_STATS_BALLOON
        | sys::VIR_DOMAIN_STATS_VCPU;
    let mut records: *mut sys::virDomainStatsRecordPtr = std::ptr::null_mut();
    // SAFETY: plain FFI call; on success the list is freed right away.
    unsafe {
        if sys::virConnectGetAllDomainStats(conn.as_ptr(), groups, &mut records, 0) >= 0 {
            sys::virDomainStatsRecordListFree(records);
        }
    }
}

fn scenario_mem_app() -> Res<()> {
    let mut big = open_big(WorkerOptions::default(), false)?;
    let mut term = terminal(200, 50)?;
    draw(&mut term, &big.app)?;
    emit_memory("app_first");
    // Steady state: the default 2 s poll keeps sending full snapshots; apply and draw them.
    let until = Instant::now() + Duration::from_secs(7);
    let mut snapshots = 0;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        if let Ok(m) = big.rx.recv_timeout(left) {
            snapshots += usize::from(matches!(m, Msg::Host(_, HostEvent::Snapshot(_))));
            big.handles.apply(big.app.update(m));
            draw(&mut term, &big.app)?;
        }
    }
    emit("app_steady.snapshots", snapshots as f64);
    emit_memory("app_steady");
    let keys = keystrokes(200);
    time_keys(
        &mut big.app,
        &mut |fx| {
            big.handles.apply(fx);
        },
        200,
        50,
        &keys,
    )?;
    emit_memory("app_keys");
    stop(&big.handles);
    Ok(())
}

fn run_scenario(name: &str) -> Res<()> {
    let runs = env_usize("VIRTDECK_SPEED_RUNS", 10);
    let keys = env_usize("VIRTDECK_SPEED_KEYS", 500);
    match name {
        "first-frame" => scenario_first_frame(),
        "first-frame-warm" => scenario_first_frame_warm(runs),
        "keys" => scenario_keys(keys),
        "mem-idle" => scenario_mem_idle(),
        "mem-open" => scenario_mem_libvirt(false),
        "mem-walk" => scenario_mem_libvirt(true),
        "mem-app" => scenario_mem_app(),
        other => Err(format!("unknown scenario {other}").into()),
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------------------------
// Parent: run the children, print the report

fn child(out: &mut Out, scenario: &str, xml: Option<&Path>) {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            out.errors.push(format!("{scenario}: {e}"));
            return;
        }
    };
    let mut cmd = Command::new(exe);
    cmd.env(SCENARIO, scenario)
        .env(SPAWNED_AT, wall_ns().to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(x) = xml {
        cmd.env(XML, x);
    }
    out.take_output(scenario, "", cmd.output());
}

fn min_med_max(v: &[f64]) -> Option<(f64, f64, f64)> {
    let s = sorted(v.to_vec());
    (!s.is_empty()).then(|| (s[0], pct(&s, 50.0), s[s.len() - 1]))
}

fn parent() -> Res<()> {
    let runs = env_usize("VIRTDECK_SPEED_RUNS", 10);
    let vms = env_usize("VIRTDECK_SPEED_VMS", 5000);
    let n_keys = env_usize("VIRTDECK_SPEED_KEYS", 500);
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("virtdeck-speed-")
        .tempdir()?;
    let xml = dir.path().join(format!("fleet-{vms}.xml"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gen_fleet.py");
    let gen = Command::new("python3")
        .arg(&script)
        .arg("--vms")
        .arg(vms.to_string())
        .arg("--out")
        .arg(&xml)
        .stderr(Stdio::null())
        .status()?;
    if !gen.success() {
        return Err(format!("{} failed: {gen}", script.display()).into());
    }

    let mut out = Out::default();
    eprintln!("speed: first frame, {runs} cold processes…");
    for _ in 0..runs {
        child(&mut out, "first-frame", None);
    }
    eprintln!("speed: first frame, {runs} warm runs in one process…");
    child(&mut out, "first-frame-warm", None);
    eprintln!("speed: {n_keys} filter keystrokes × 2 sizes on {vms} VMs…");
    child(&mut out, "keys", Some(&xml));
    eprintln!("speed: memory…");
    for s in ["mem-idle", "mem-open", "mem-walk", "mem-app"] {
        child(&mut out, s, Some(&xml));
    }

    let fmt3 = |v: Option<(f64, f64, f64)>| match v {
        Some((a, b, c)) => format!("{a:.1} / {b:.1} / {c:.1} ms"),
        None => "n/a".into(),
    };
    let series = |k: &str| out.nums.get(k).cloned().unwrap_or_default();
    let mut rows = Vec::new();

    // 1. First frame.
    let first = min_med_max(&series("first_ms"));
    let pop = min_med_max(&series("populated_ms"));
    rows.push(row(
        "first frame (\"Waiting for hosts…\"), cold, min/med/max",
        fmt3(first),
        "-",
        None,
    ));
    rows.push(row(
        "first populated frame (3 hosts), cold, min/med/max",
        fmt3(pop),
        "≤ 150 ms (median)",
        pop.map(|p| p.1 <= 150.0),
    ));
    rows.push(row(
        "  same, from exec of the process, min/med/max",
        fmt3(min_med_max(&series("spawn_to_populated_ms"))),
        "-",
        None,
    ));
    rows.push(row(
        "first populated frame, warm (same process), min/med/max",
        fmt3(min_med_max(&series("warm_populated_ms"))),
        "-",
        None,
    ));

    // 2. Keystrokes.
    let vm_count = out.last("vms").unwrap_or(0.0);
    rows.push(row(
        format!("{vm_count:.0}-VM host: connect → first snapshot"),
        out.last("connect_to_snapshot_ms")
            .map_or("n/a".into(), |v| format!("{v:.0} ms")),
        "-",
        None,
    ));
    for (w, h) in [(200, 50), (80, 24)] {
        let p = format!("keys_{w}x{h}");
        let g = |k: &str| out.last(&format!("{p}.{k}"));
        let (p50, p99, max) = (g("total_ms.p50"), g("total_ms.p99"), g("total_ms.max"));
        rows.push(row(
            format!(
                "filter key → frame {w}x{h}, p50/p99/max (n={:.0})",
                g("total_ms.n").unwrap_or(0.0)
            ),
            match (p50, p99, max) {
                (Some(a), Some(b), Some(c)) => format!("{a:.2} / {b:.2} / {c:.2} ms"),
                _ => "n/a".into(),
            },
            "p99 ≤ 16 ms",
            p99.map(|v| v <= 16.0),
        ));
        for part in ["update", "draw"] {
            rows.push(row(
                format!("  of which {part}, p50/p99/max"),
                match (
                    g(&format!("{part}_ms.p50")),
                    g(&format!("{part}_ms.p99")),
                    g(&format!("{part}_ms.max")),
                ) {
                    (Some(a), Some(b), Some(c)) => format!("{a:.2} / {b:.2} / {c:.2} ms"),
                    _ => "n/a".into(),
                },
                "-",
                None,
            ));
        }
    }
    let g = |k: &str| out.last(k);
    rows.push(row(
        "full snapshot applied + frame 200x50, p50/max",
        match (g("snapshot_frame_ms.p50"), g("snapshot_frame_ms.max")) {
            (Some(a), Some(b)) => format!("{a:.2} / {b:.2} ms"),
            _ => "n/a".into(),
        },
        "≤ 16 ms (one frame)",
        g("snapshot_frame_ms.p50").map(|v| v <= 16.0),
    ));
    for sort in ["host", "name"] {
        rows.push(row(
            format!("empty filter (all rows), sorted by {sort}: rebuild + frame"),
            g(&format!("rebuild_all_{sort}_ms")).map_or("n/a".into(), |v| format!("{v:.2} ms")),
            "-",
            None,
        ));
    }

    rows.push(row(
        format!("alert rules weighed (5 rules × {vm_count:.0} VMs, once a second), p50/max"),
        match (g("alerts_ms.p50"), g("alerts_ms.max")) {
            (Some(a), Some(b)) => format!("{a:.2} / {b:.2} ms"),
            _ => "n/a".into(),
        },
        "≤ 16 ms (one frame)",
        g("alerts_ms.max").map(|v| v <= 16.0),
    ));

    // 3. Memory.
    let mem = |k: &str| g(k).map_or("n/a".into(), |v| format!("{v:.1} MiB"));
    let total = g("app_first.rss_mib");
    rows.push(row(
        format!("RSS, {vm_count:.0}-VM host loaded + frame drawn"),
        mem("app_first.rss_mib"),
        "≤ 40 MB (incl. test driver)",
        total.map(|v| v * 1.048576 <= 40.0),
    ));
    rows.push(row(
        "  RSS after 7 s of 2 s polls (steady) / peak (HWM)",
        match (g("app_steady.rss_mib"), g("app_steady.hwm_mib")) {
            (Some(a), Some(b)) => format!("{a:.1} / {b:.1} MiB"),
            _ => "n/a".into(),
        },
        "-",
        None,
    ));
    rows.push(row(
        "  RSS, bench binary idle",
        mem("idle.rss_mib"),
        "-",
        None,
    ));
    rows.push(row(
        "  RSS, bare Connect::open of the same file",
        mem("open.rss_mib"),
        "-",
        None,
    ));
    rows.push(row(
        "  RSS, open + worker's libvirt calls, no virtdeck",
        mem("walk.rss_mib"),
        "-",
        None,
    ));
    let share = match (g("app_steady.rss_mib"), g("walk.rss_mib")) {
        (Some(a), Some(b)) => Some(a - b),
        _ => None,
    };
    rows.push(row(
        "virtdeck share: steady RSS − (open + libvirt calls)",
        share.map_or("n/a".into(), |v| format!("{v:.1} MiB")),
        "≤ 40 MB",
        share.map(|v| v * 1.048576 <= 40.0),
    ));
    rows.push(row(
        "virtdeck share: Rust heap live (steady) / peak",
        match (g("app_steady.heap_live_mib"), g("app_steady.heap_peak_mib")) {
            (Some(a), Some(b)) => format!("{a:.1} / {b:.1} MiB"),
            _ => "n/a".into(),
        },
        "≤ 40 MB",
        g("app_steady.heap_peak_mib").map(|v| v * 1.048576 <= 40.0),
    ));

    println!();
    println!(
        "virtdeck speed report ({} CPUs, {vm_count:.0} VMs, {n_keys} keys/size, {runs} runs, {:.0} s)",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        started.elapsed().as_secs_f64()
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    println!("load average at the end: {}", load.join(" "));
    println!();
    print_table(&rows);
    out.print_notes();
    Ok(())
}

fn main() {
    if let Ok(s) = std::env::var(SCENARIO) {
        // Set before the scenario allocates anything; what the runtime allocated before
        // `main` is a few hundred bytes at most.
        COUNTING.store(s.starts_with("mem-"), Ordering::Relaxed);
        if let Err(e) = run_scenario(&s) {
            println!("!! {e}");
            std::process::exit(1);
        }
        return;
    }
    if let Err(e) = parent() {
        eprintln!("speed: {e}");
    }
}
