//! 100 hosts through one libvirtd: `cargo bench --bench hosts100` (issue 20, item 4).
//! With `VIRTDECK_H100_HOSTS=1 VIRTDECK_H100_VMS=10000` it is item 5's session instead: one
//! big host, judged on RSS alone (≤ 50 MB, sampled each second from the rows on), the other
//! rows printed as information (item 5's first frame and filter keys are bench `rpc`'s).
//!
//! `HOSTS` test-driver hosts of `VMS` domains each (`scripts/gen_fleet.py`), each served by one
//! libvirtd as `test+unix:///ABSOLUTE/FILE.xml` (each connection gets its own copy of the host,
//! and the test driver's memory and CPU are the daemon's, not ours). Measured:
//! 1. the release binary in a private tmux server (200×50), switched to the VM table at once:
//!    time from start until the table's title shows every VM (which needs every host connected
//!    and polled), then, after `SETTLE`, its CPU (utime + stime from /proc, and per thread
//!    from schedstat), RSS and thread count over `SECS` of idle on the VM table;
//! 2. the client-side CPU of `virsh domstats` for the same hosts at the same interval: one
//!    interactive `virsh` per host (like virtdeck, one open connection per host), `domstats`
//!    every 2 s each, their utime + stime over `VIRSH_SECS`;
//! 3. key → frame while all hosts poll: the real app and workers in this process, driven by
//!    `runtime::turn` (the loop `runtime::run` runs) on a `TestBackend` of 200×50, a key
//!    (`j`/`k`) every 50 ms for `KEYS_SECS`; each key's time from send until the end of the
//!    frame that shows it.
//!
//! The load average is printed next to each CPU number: other builds on the machine disturb
//! them. Knobs (environment): `VIRTDECK_H100_HOSTS` (100), `VIRTDECK_H100_VMS` (50),
//! `VIRTDECK_H100_SECS` (60), `VIRTDECK_H100_SETTLE` (10), `VIRTDECK_H100_VIRSH_SECS` (30),
//! `VIRTDECK_H100_KEYS_SECS` (20), `VIRTDECK_H100_PARTS` (`tmux,virsh,keys`),
//! `VIRTDECK_H100_PRIVATE` (set: serve the hosts from a private libvirtd started with
//! `scripts/libvirtd2.sh` instead of the shared one, for when other tests crash or restart the
//! shared daemon; connecting 100 hosts to it took 19 s instead of 4, not understood yet).

#[path = "support/report.rs"]
mod report;
#[path = "support/shipped.rs"]
mod shipped;
use report::{ms, print_table, row, sorted};

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use virtdeck::app::{App, HostSpec, Msg, PaneId, Settings, View};
use virtdeck::config::keymap::Keymap;
use virtdeck::config::theme::Theme;
use virtdeck::host::WorkerOptions;
use virtdeck::runtime::{self, Workers};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const POLL: Duration = Duration::from_secs(2);

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// utime + stime of a process (all threads, ended ones too), in clock ticks.
fn proc_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at ") ".
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn status_field(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// ns on a CPU per thread name (schedstat is exact, not tick-sampled); names ending in a
/// number are grouped (`host-7` → `host-*`).
fn threads(pid: u32) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return m;
    };
    for t in dir.flatten() {
        let p = t.path();
        let name = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
        let name = name.trim().trim_end_matches(|c: char| c.is_ascii_digit());
        let name = if name.ends_with('-') {
            format!("{name}*")
        } else {
            name.to_string()
        };
        let ns: u64 = std::fs::read_to_string(p.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        *m.entry(name).or_default() += ns;
    }
    m
}

/// The hosts' XML files, in a directory removed when dropped.
struct Fleet {
    dir: tempfile::TempDir,
    uris: Vec<String>,
}

/// A private libvirtd (`scripts/libvirtd2.sh`, its own directory and port) serving the hosts
/// (`VIRTDECK_H100_PRIVATE`). Stopped when dropped.
struct Daemon {
    dir: String,
    socket: String,
}

impl Daemon {
    fn script(dir: &str, verb: &str) -> Command {
        let mut c = Command::new("bash");
        c.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/libvirtd2.sh"))
            .arg(verb)
            .env("VIRTDECK_LAB2_DIR", dir)
            .env("VIRTDECK_LAB2_PORT", "16540")
            .env("VIRTDECK_LAB2_HOSTNAME", "vd-h100")
            .stdin(Stdio::null())
            .stderr(Stdio::inherit());
        c
    }

    fn start() -> Res<Daemon> {
        let dir = "/run/virtdeck-h100-bench".to_string();
        let o = Self::script(&dir, "start").output()?;
        if !o.status.success() {
            return Err(format!("scripts/libvirtd2.sh start failed ({})", o.status).into());
        }
        let socket = format!("{dir}/run/libvirt/libvirt-sock");
        Ok(Daemon { dir, socket })
    }

    fn pid(&self) -> Option<u32> {
        let o = Self::script(&self.dir, "pid").output().ok()?;
        String::from_utf8_lossy(&o.stdout).trim().parse().ok()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Self::script(&self.dir, "stop")
            .stdout(Stdio::null())
            .status();
    }
}

fn fleet(hosts: usize, vms: usize, socket: Option<&str>) -> Res<Fleet> {
    let dir = tempfile::Builder::new().prefix("vd-h100-").tempdir()?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gen_fleet.py");
    let mut uris = Vec::new();
    for h in 0..hosts {
        let name = format!("h{h:03}");
        let path: PathBuf = dir.path().join(format!("{name}.xml"));
        let out = Command::new("python3")
            .arg(&script)
            .args(["--vms", &vms.to_string(), "--name", &name, "--out"])
            .arg(&path)
            .output()?;
        if !out.status.success() {
            return Err(format!("gen_fleet.py: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        uris.push(match socket {
            Some(sock) => format!("test+unix://{}?socket={sock}", path.display()),
            None => format!("test+unix://{}", path.display()),
        });
    }
    Ok(Fleet { dir, uris })
}

// ---------------------------------------------------------------------------------------------
// 1. The release binary in tmux

struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> Res<String> {
        let o = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .stdin(Stdio::null())
            .output()?;
        if !o.status.success() {
            return Err(format!(
                "tmux {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&o.stderr)
            )
            .into());
        }
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    }

    fn screen(&self) -> String {
        self.cmd(&["capture-pane", "-p", "-t", "vd"])
            .unwrap_or_default()
    }

    fn wait_for(&self, limit: Duration, every: Duration, ok: impl Fn(&str) -> bool) -> Res<()> {
        let until = Instant::now() + limit;
        loop {
            let s = self.screen();
            if ok(&s) {
                return Ok(());
            }
            if Instant::now() >= until {
                return Err(format!("timed out; screen:\n{s}").into());
            }
            std::thread::sleep(every);
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

type Rows = Vec<report::Row>;

fn tmux_part(
    f: &Fleet,
    vms_total: usize,
    secs: Duration,
    settle: Duration,
    rows: &mut Rows,
) -> Res<()> {
    let bin = shipped::binary();
    let bin = bin.as_str();
    let tmux = Tmux {
        socket: format!("vd-h100-{}", std::process::id()),
    };
    let cfg = format!("VIRTDECK_CONFIG_DIR={}", f.dir.path().display());
    let mut args = vec![
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-s",
        "vd",
        "-x",
        "200",
        "-y",
        "50",
        "-e",
        &cfg,
        "-e",
        "TERM=xterm-256color",
        bin,
    ];
    for u in &f.uris {
        args.extend(["-c", u.as_str()]);
    }
    let t0 = Instant::now();
    tmux.cmd(&args)?;
    let pid: u32 = tmux
        .cmd(&["display-message", "-p", "-t", "vd", "#{pane_pid}"])?
        .trim()
        .parse()?;
    tmux.cmd(&["send-keys", "-t", "vd", "2"])?;
    let want = format!("VMs {vms_total}/{vms_total}");
    tmux.wait_for(Duration::from_secs(120), Duration::from_millis(25), |s| {
        s.contains(&want)
    })?;
    let shown = t0.elapsed().as_secs_f64();
    let startup = threads(pid);
    tmux.cmd(&["send-keys", "-t", "vd", "1"])?;
    let n = f.uris.len();
    let conn = format!("{n}/{n} hosts connected");
    tmux.wait_for(Duration::from_secs(10), Duration::from_millis(100), |s| {
        s.contains(&conn)
    })?;
    tmux.cmd(&["send-keys", "-t", "vd", "2"])?;
    // One big host is item 5's shape: its first frame and keys are bench `rpc`'s, its only
    // target here is RSS over the session; the rest is information.
    let fleet = n > 1;
    rows.push(row(
        format!("start → all {n} hosts connected and {vms_total} rows shown"),
        format!("{shown:.2} s"),
        if fleet { "≤ 3 s" } else { "" },
        fleet.then_some(shown <= 3.0),
    ));
    let cpu_of = |name: &str| startup.get(name).copied().unwrap_or(0) as f64 / 1e9;
    rows.push(row(
        "  CPU until then: UI thread / workers / libvirt event loop",
        format!(
            "{:.2} / {:.2} / {:.2} s",
            cpu_of("virtdeck"),
            cpu_of("host-*"),
            cpu_of("libvirt-events")
        ),
        "",
        None,
    ));
    eprintln!(
        "hosts100: settling {} s, then {} s idle on the VM table…",
        settle.as_secs(),
        secs.as_secs()
    );
    // Sampled through the settle too: item 5 asks for RSS over a session, not a window.
    let mut rss_session = 0;
    let s0 = Instant::now();
    while s0.elapsed() < settle {
        rss_session = rss_session.max(status_field(pid, "VmRSS:").unwrap_or(0));
        std::thread::sleep(Duration::from_secs(1).min(settle.saturating_sub(s0.elapsed())));
    }
    let load0 = loadavg();
    let (c0, th0, w0) = (
        proc_ticks(pid).ok_or("virtdeck is gone")?,
        threads(pid),
        Instant::now(),
    );
    let mut rss_max = 0;
    while w0.elapsed() < secs {
        rss_max = rss_max.max(status_field(pid, "VmRSS:").unwrap_or(0));
        std::thread::sleep(Duration::from_secs(1));
    }
    let (c1, th1) = (proc_ticks(pid).ok_or("virtdeck is gone")?, threads(pid));
    let wall = w0.elapsed().as_secs_f64();
    let cpu = (c1 - c0) as f64 / clk_tck() / wall * 100.0;
    let nthreads = status_field(pid, "Threads:").unwrap_or(0);
    rows.push(row(
        format!(
            "idle CPU, VM table, {:.0} s (load before: {load0}, after: {})",
            wall,
            loadavg()
        ),
        format!("{cpu:.2} % of a core"),
        if fleet { "≤ 2 %" } else { "" },
        fleet.then_some(cpu <= 2.0),
    ));
    let mut per: Vec<(String, u64)> = th1
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.saturating_sub(th0.get(k).copied().unwrap_or(0)),
            )
        })
        .collect();
    per.sort_by_key(|p| std::cmp::Reverse(p.1));
    let text: Vec<String> = per
        .iter()
        .take(6)
        .map(|(n, ns)| format!("{n} {:.2}", *ns as f64 / 1e9 / wall * 100.0))
        .collect();
    rows.push(row(
        "  by thread (schedstat, % of a core)",
        text.join(", "),
        "",
        None,
    ));
    let rss_session = rss_session.max(rss_max);
    let limit = if fleet { 60e6 } else { 50e6 };
    rows.push(row(
        "RSS at the end / max in the window / max since start (1 s samples) / VmHWM",
        format!(
            "{:.1} / {:.1} / {:.1} / {:.1} MiB",
            status_field(pid, "VmRSS:").unwrap_or(0) as f64 / 1024.0,
            rss_max as f64 / 1024.0,
            rss_session as f64 / 1024.0,
            status_field(pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0,
        ),
        if fleet { "≤ 60 MB" } else { "≤ 50 MB" },
        Some(rss_session as f64 * 1024.0 <= limit),
    ));
    rows.push(row(
        "threads",
        nthreads.to_string(),
        if fleet { "not 2 per host" } else { "" },
        fleet.then_some(nthreads < 2 * n as u64),
    ));
    let s = tmux.screen();
    if !s.contains(&want) {
        eprintln!("hosts100: the screen at the end:\n{s}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 2. virsh domstats, one session per host

struct Virsh {
    child: Child,
    stdin: ChildStdin,
}

impl Drop for Virsh {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn virsh_part(f: &Fleet, secs: Duration, rows: &mut Rows) -> Res<()> {
    let done = Arc::new(AtomicU64::new(0));
    let mut sessions = Vec::new();
    for u in &f.uris {
        let mut child = Command::new("virsh")
            .args(["-c", u])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("virsh stdin")?;
        let out = BufReader::new(child.stdout.take().ok_or("virsh stdout")?);
        let d = Arc::clone(&done);
        std::thread::spawn(move || {
            for l in out.lines() {
                let Ok(l) = l else { return };
                if l.trim_end() == "VDBENCH-DONE" {
                    d.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        sessions.push(Virsh { child, stdin });
    }
    let n = sessions.len();
    let poll = |s: &mut Virsh| -> Res<()> {
        writeln!(s.stdin, "domstats\necho VDBENCH-DONE")?;
        Ok(s.stdin.flush()?)
    };
    // Warm up: every session connected and answered once.
    for s in &mut sessions {
        poll(s)?;
    }
    let until = Instant::now() + Duration::from_secs(60);
    while done.load(Ordering::Relaxed) < n as u64 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    let pids: Vec<u32> = sessions.iter().map(|s| s.child.id()).collect();
    let ticks = |pids: &[u32]| pids.iter().filter_map(|p| proc_ticks(*p)).sum::<u64>();
    let load0 = loadavg();
    let (c0, d0, w0) = (ticks(&pids), done.load(Ordering::Relaxed), Instant::now());
    // Spread over the interval like the workers are.
    let mut i = 0usize;
    while w0.elapsed() < secs {
        let next = w0 + POLL.mul_f64(i as f64 / n as f64);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        poll(&mut sessions[i % n])?;
        i += 1;
    }
    std::thread::sleep(Duration::from_millis(500));
    let (c1, d1) = (ticks(&pids), done.load(Ordering::Relaxed));
    let wall = w0.elapsed().as_secs_f64();
    let cpu = (c1 - c0) as f64 / clk_tck() / wall * 100.0;
    rows.push(row(
        format!(
            "virsh domstats, {n} sessions, each every {} s: client CPU ({} calls answered of {i}; load before: {load0}, after: {})",
            POLL.as_secs(),
            d1 - d0,
            loadavg()
        ),
        format!("{cpu:.2} % of a core"),
        "",
        None,
    ));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 3. Key → frame while all hosts poll

fn keys_part(f: &Fleet, vms_total: usize, secs: Duration, rows: &mut Rows) -> Res<()> {
    virtdeck::host::ensure_event_loop();
    let (tx, rx) = runtime::channel();
    let specs: Vec<(HostSpec, WorkerOptions)> = f
        .uris
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let s = HostSpec {
                name: format!("h{i:03}"),
                uri: u.clone(),
            };
            (s, WorkerOptions::default())
        })
        .collect();
    let mut workers = Workers::start(&specs, &tx, None, WorkerOptions::default())?;
    let mut app = App::new(
        specs.iter().map(|(s, _)| s.clone()).collect(),
        Keymap::preset(),
        Theme::load("default", None)?,
        Settings::default(),
    );
    app.view = View::Pane(PaneId::Vms);
    let mut term = Terminal::new(TestBackend::new(200, 50))?;
    let mut lp = runtime::Loop::new(&mut term, &mut app)?;
    let t0 = Instant::now();
    while app.total_vms() < vms_total {
        if !lp.turn(&mut term, &mut app, &rx, &mut workers)? {
            return Err("the loop ended".into());
        }
        if t0.elapsed() > Duration::from_secs(120) {
            return Err(format!("only {} of {vms_total} VMs after 120 s", app.total_vms()).into());
        }
    }
    let loaded = t0.elapsed().as_secs_f64();
    // Past the first inventory of every host: what is measured is the steady polling.
    let settle = Instant::now() + Duration::from_secs(5);
    while Instant::now() < settle {
        lp.turn(&mut term, &mut app, &rx, &mut workers)?;
    }
    let sent: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let presser = {
        let (tx, sent, stop) = (tx.clone(), Arc::clone(&sent), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut down = true;
            while !stop.load(Ordering::Relaxed) {
                let c = if down { 'j' } else { 'k' };
                if let Ok(mut s) = sent.lock() {
                    s.push(Instant::now());
                }
                let _ = tx.send(Msg::Key(KeyEvent::new(
                    KeyCode::Char(c),
                    KeyModifiers::NONE,
                )));
                down = !down;
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let load0 = loadavg();
    let mut lat = Vec::new();
    let mut frames = 0u64;
    let mut keys_seen = 0usize;
    let w0 = Instant::now();
    while w0.elapsed() < secs {
        let before = lp.keys();
        lp.turn(&mut term, &mut app, &rx, &mut workers)?;
        frames += u64::from(lp.drew());
        let k = lp.keys() - before;
        if k > 0 {
            // Every key of this turn is on the frame just drawn.
            let end = Instant::now();
            let s = sent.lock().map(|s| s.clone()).unwrap_or_default();
            for t in s.iter().skip(keys_seen).take(k as usize) {
                lat.push(ms(end - *t));
            }
            keys_seen += k as usize;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = presser.join();
    workers.stop_all();
    let lat = sorted(lat);
    let p = |q: f64| lat[((q * lat.len() as f64).ceil() as usize).clamp(1, lat.len()) - 1];
    rows.push(row(
        format!("in-process loop: all {vms_total} VMs in the table after"),
        format!("{loaded:.2} s"),
        "",
        None,
    ));
    rows.push(row(
        format!(
            "key → frame while all hosts poll, p50 / p99 / max ({} keys, {frames} frames in {:.0} s; load {load0})",
            lat.len(),
            secs.as_secs_f64()
        ),
        format!("{:.1} / {:.1} / {:.1} ms", p(0.5), p(0.99), lat.last().copied().unwrap_or(0.0)),
        "p99 ≤ 16 ms",
        Some(p(0.99) <= 16.0),
    ));
    Ok(())
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if let Err(e) = run() {
        eprintln!("hosts100: {e}");
        std::process::exit(1);
    }
}

fn run() -> Res<()> {
    let hosts = env_num("VIRTDECK_H100_HOSTS", 100) as usize;
    let vms = env_num("VIRTDECK_H100_VMS", 50) as usize;
    let secs = Duration::from_secs(env_num("VIRTDECK_H100_SECS", 60));
    let settle = Duration::from_secs(env_num("VIRTDECK_H100_SETTLE", 10));
    let virsh_secs = Duration::from_secs(env_num("VIRTDECK_H100_VIRSH_SECS", 30));
    let keys_secs = Duration::from_secs(env_num("VIRTDECK_H100_KEYS_SECS", 20));
    let parts = std::env::var("VIRTDECK_H100_PARTS").unwrap_or_else(|_| "tmux,virsh,keys".into());
    let shared = std::env::var_os("VIRTDECK_H100_PRIVATE").is_none();
    let daemon = if shared {
        let probe = Command::new("virsh")
            .args(["-c", "test+unix:///default", "version"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !probe.is_ok_and(|s| s.success()) {
            println!("skipped: no libvirtd answers test+unix:///default (run scripts/lab.sh)");
            return Ok(());
        }
        None
    } else {
        eprintln!("hosts100: starting a private libvirtd…");
        match Daemon::start() {
            Ok(d) => Some(d),
            Err(e) => {
                println!("skipped: {e} (run scripts/lab.sh first)");
                return Ok(());
            }
        }
    };
    eprintln!("hosts100: writing {hosts} hosts of {vms} VMs…");
    let f = fleet(hosts, vms, daemon.as_ref().map(|d| d.socket.as_str()))?;
    let total = hosts * vms;
    let mut rows = Vec::new();
    let mut result = Ok(());
    if parts.contains("tmux") {
        result = tmux_part(&f, total, secs, settle, &mut rows);
    }
    if result.is_ok() && parts.contains("virsh") {
        eprintln!("hosts100: virsh domstats, {} s…", virsh_secs.as_secs());
        result = virsh_part(&f, virsh_secs, &mut rows);
    }
    if result.is_ok() && parts.contains("keys") {
        eprintln!(
            "hosts100: key → frame in process, {} s…",
            keys_secs.as_secs()
        );
        result = keys_part(&f, total, keys_secs, &mut rows);
    }
    let pid = daemon.as_ref().and_then(Daemon::pid);
    println!(
        "\n{hosts} hosts × {vms} VMs through one libvirtd ({}, test+unix), poll every {} s\n",
        if shared {
            "the shared one"
        } else {
            "a private one"
        },
        POLL.as_secs()
    );
    print_table(&rows);
    if daemon.is_some() && pid.is_none() {
        println!("the private libvirtd is gone (it crashed during the run)");
    }
    result
}
