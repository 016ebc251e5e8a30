//! Idle cost of virtdeck on a real two-host KVM fleet: `cargo bench --bench idle`.
//!
//! Targets (issue 20, item 6), with 300+ VMs across 2 hosts at the default poll interval (2 s):
//! - idle CPU ≤ 0.25 % of one core and RSS ≤ 25 MB (the release binary in a private tmux
//!   server, 200×50, on the dashboard and on the VM table);
//! - per-tick polling cost ≤ 1.2× one `virsh domstats` of the same host, side by side in one
//!   run: (a) the worker's libvirt calls per tick on an open connection, (b) `virsh -c URI
//!   domstats` as a process, (c) `domstats` in one long-running interactive `virsh` session;
//! - redraw traffic ≤ 2 KB/s when nothing changes but numbers: bytes the real
//!   `runtime::run` loop writes through a `CrosstermBackend` into a counting writer, and
//!   (cross-check) bytes the binary in tmux writes to its pty (`pipe-pane`).
//!
//! Setup, all undone on exit (also on an error, a panic or Ctrl-C): `scripts/lab.sh` if
//! qemu:///system does not answer; a second private libvirtd (`scripts/libvirtd2.sh`, its own
//! directory and port so tests using the defaults are not disturbed); `VMS` tiny domains per
//! daemon named `vdbench-<pid>-h<host>-<n>`, `RUNNING` of them started (a 512-byte boot sector
//! that halts, a tap NIC without a bridge, 64 MiB) so bulk stats carry real CPU, balloon,
//! block and net counters; the rest stay defined and shut off.
//!
//! Like `speed`, scenarios that measure a process run in child processes of this binary
//! (`VIRTDECK_IDLE_SCENARIO`), which print `@@ key value` (numbers), `## text` (notes) and
//! `!! text` (errors); the parent gathers them into one table.
//!
//! Knobs (environment):
//! - `VIRTDECK_IDLE_SECS` measured seconds per view in tmux (default 60)
//! - `VIRTDECK_IDLE_SETTLE` seconds after all hosts connect before measuring (default 10)
//! - `VIRTDECK_IDLE_REDRAW_SECS` measured seconds per view in the counting run (default 30)
//! - `VIRTDECK_IDLE_ROUNDS` polling-cost rounds (default 20)
//! - `VIRTDECK_IDLE_VMS` domains per host (default 160), `VIRTDECK_IDLE_RUNNING` started per
//!   host (default 4)
//! - `VIRTDECK_IDLE_PARTS` comma list of `poll`, `idle`, `redraw` (default all)
//! - `VIRTDECK_BENCH_BIN` the binary the tmux part runs (`scripts/bench.sh idle` sets it to the
//!   release binary; see benches/support/shipped.rs)
//! - `VIRTDECK_IDLE_WRAP` runs the binary in tmux under this program (words split on spaces, no
//!   shell), e.g. callgrind for `scripts/link-order.sh`; the tmux part then measures nothing and
//!   quits the binary with `q` so the wrapper can write its output
//! - `VIRTDECK_IDLE_LAB2_DIR` / `VIRTDECK_IDLE_LAB2_PORT` for the second daemon (default
//!   `/run/virtdeck-lab2-bench`, 16530)

#[path = "support/children.rs"]
mod children;
use children::Out;
#[path = "support/report.rs"]
mod report;
#[path = "support/shipped.rs"]
mod shipped;
use report::{ms, print_table, row, sorted};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use virt::connect::Connect;
use virt::sys;
use virtdeck::app::{App, Msg, Settings};
use virtdeck::cli::{self, Cli};
use virtdeck::config::keymap::Keymap;
use virtdeck::config::theme::Theme;
use virtdeck::config::Config;
use virtdeck::host::{self, stats, WorkerOptions};
use virtdeck::runtime;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const SCENARIO: &str = "VIRTDECK_IDLE_SCENARIO";
const URIS: &str = "VIRTDECK_IDLE_URIS";
const MAIN_URI: &str = "qemu:///system";
const WIDTH: u16 = 200;
const HEIGHT: u16 = 50;
/// Ticks of the worker per poll interval (default config).
const POLL: Duration = Duration::from_secs(2);
/// The worker re-reads the full inventory this often, and pools every SLOW (host/mod.rs,
/// host/node.rs).
const INVENTORY_EVERY: Duration = Duration::from_secs(30);
const SLOW_EVERY: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Shared helpers

/// Set by SIGINT/SIGTERM/SIGHUP in the parent: loops stop and the guards clean up.
static STOP: LazyLock<Arc<AtomicBool>> = LazyLock::new(|| Arc::new(AtomicBool::new(false)));

fn stopped() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// The tmux part runs in the parent (it only watches another process): its protocol lines go
/// to this buffer instead of stdout.
static CAPTURING: AtomicBool = AtomicBool::new(false);
static CAPTURE: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn out_line(line: String) {
    if CAPTURING.load(Ordering::Relaxed) {
        if let Ok(mut c) = CAPTURE.lock() {
            c.push(line);
            return;
        }
    }
    println!("{line}");
}

fn emit(key: &str, value: f64) {
    out_line(format!("@@ {key} {value}"));
}

fn note(text: &str) {
    out_line(format!("## {text}"));
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn env_secs(name: &str, default: u64) -> Duration {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| *v >= 0.0)
        .map_or(Duration::from_secs(default), Duration::from_secs_f64)
}

/// Sleeps, waking every 100 ms to see whether Ctrl-C asked us to stop.
fn sleep_checked(d: Duration) -> Res<()> {
    let until = Instant::now() + d;
    loop {
        if stopped() {
            return Err("interrupted".into());
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
}

fn median(v: &[f64]) -> Option<f64> {
    let s = sorted(v.to_vec());
    match s.len() {
        0 => None,
        n if n % 2 == 1 => Some(s[n / 2]),
        n => Some((s[n / 2 - 1] + s[n / 2]) / 2.0),
    }
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn uris_from_env() -> Res<Vec<String>> {
    let v = std::env::var(URIS).map_err(|_| format!("{URIS} is not set"))?;
    Ok(v.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

// ---------------------------------------------------------------------------------------------
// /proc readings, CPU clocks

#[repr(C)]
struct Timespec {
    tv_sec: std::os::raw::c_long,
    tv_nsec: std::os::raw::c_long,
}

extern "C" {
    fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
}

/// CPU time of the calling thread (Linux `CLOCK_THREAD_CPUTIME_ID`): what a part costs the
/// client, without the time spent waiting for the daemon.
fn thread_cpu() -> Duration {
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut t = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec for the call to fill.
    if unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut t) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of the whole process (all threads, also ended ones), in clock ticks.
fn proc_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Field 14 (utime) and 15 (stime); `rest` starts at field 3.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// A `VmRSS:`-style field of /proc/PID/status in KiB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Per thread: (tid, name, ns on a CPU) from schedstat, which is exact (not tick-sampled).
fn threads(pid: u32) -> BTreeMap<u32, (String, u64)> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let comm = std::fs::read_to_string(e.path().join("comm"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let run_ns = std::fs::read_to_string(e.path().join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
            .unwrap_or(0);
        out.insert(tid, (comm, run_ns));
    }
    out
}

/// ns on a CPU of this process's libvirt event-loop thread (`host::ensure_event_loop`).
fn events_thread_ns() -> u64 {
    threads(std::process::id())
        .into_values()
        .filter(|(name, _)| name == "libvirt-events")
        .map(|(_, ns)| ns)
        .sum()
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn read_pid_file(path: &str) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

// ---------------------------------------------------------------------------------------------
// The lab: qemu:///system, a second daemon, the fleet

fn virsh_answers(uri: &str) -> bool {
    Command::new("timeout")
        .args(["10", "virsh", "-c", uri, "version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn ensure_lab() -> Res<()> {
    if virsh_answers(MAIN_URI) {
        return Ok(());
    }
    eprintln!("idle: {MAIN_URI} does not answer; running scripts/lab.sh");
    let st = Command::new("bash")
        .arg(manifest_dir().join("scripts/lab.sh"))
        .stdout(Stdio::inherit())
        .status()?;
    if !st.success() || !virsh_answers(MAIN_URI) {
        return Err(format!("scripts/lab.sh failed ({st}); {MAIN_URI} is needed").into());
    }
    Ok(())
}

/// The second daemon; stopped (guests, directory and all) when dropped.
struct Lab2 {
    dir: String,
    port: String,
    uri: String,
    pid: Option<u32>,
}

impl Lab2 {
    fn new() -> Lab2 {
        Lab2 {
            dir: std::env::var("VIRTDECK_IDLE_LAB2_DIR")
                .unwrap_or_else(|_| "/run/virtdeck-lab2-bench".into()),
            port: std::env::var("VIRTDECK_IDLE_LAB2_PORT").unwrap_or_else(|_| "16530".into()),
            uri: String::new(),
            pid: None,
        }
    }

    fn script(&self, verb: &str) -> Command {
        let mut c = Command::new("bash");
        c.arg(manifest_dir().join("scripts/libvirtd2.sh"))
            .arg(verb)
            .env("VIRTDECK_LAB2_DIR", &self.dir)
            .env("VIRTDECK_LAB2_PORT", &self.port)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit());
        c
    }

    fn start(&mut self) -> Res<()> {
        let o = self.script("start").output()?;
        let out = String::from_utf8_lossy(&o.stdout);
        if !o.status.success() {
            return Err(format!("scripts/libvirtd2.sh start failed ({})", o.status).into());
        }
        for l in out.lines() {
            if let Some(u) = l.strip_prefix("unix=") {
                self.uri = u.to_string();
            } else if let Some(p) = l.strip_prefix("pid=") {
                self.pid = p.trim().parse().ok();
            }
        }
        if self.uri.is_empty() {
            return Err("scripts/libvirtd2.sh start printed no unix= line".into());
        }
        Ok(())
    }
}

impl Drop for Lab2 {
    fn drop(&mut self) {
        eprintln!("idle: stopping the second libvirtd ({})", self.dir);
        let _ = self.script("stop").stdout(Stdio::null()).status();
    }
}

/// A raw disk whose boot sector is `sti; hlt; jmp $-1`: the guest idles in `hlt` between timer
/// ticks (≈1 % of a core), after SeaBIOS has read the sector (so block counters move).
fn halt_image(path: &Path) -> std::io::Result<()> {
    let mut b = vec![0u8; 1 << 20];
    b[..4].copy_from_slice(&[0xfb, 0xf4, 0xeb, 0xfd]);
    b[510] = 0x55;
    b[511] = 0xaa;
    std::fs::write(path, b)
}

fn domain_xml(name: &str, disk: &Path, tap: Option<&str>) -> String {
    let target = tap.map_or(String::new(), |t| format!("<target dev='{t}'/>"));
    format!(
        "<domain type='kvm'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <currentMemory unit='MiB'>64</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='{disk}'/>
      <target dev='hda' bus='ide'/>
    </disk>
    <interface type='ethernet'>{target}<model type='virtio'/><rom enabled='no'/></interface>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
  </devices>
</domain>",
        disk = disk.display()
    )
}

const PREFIX: &str = "vdbench-";

struct FleetHost {
    uri: String,
    conn: Connect,
    names: Vec<String>,
    running: Vec<String>,
}

/// The benchmark's domains; destroyed and undefined when dropped, whatever happened.
struct Fleet {
    hosts: Vec<FleetHost>,
    dir: tempfile::TempDir,
}

fn destroy_undefine(conn: &Connect, name: &str) -> bool {
    match conn.lookup_domain_by_name(name) {
        Ok(d) => {
            if d.is_active().unwrap_or(false) {
                let _ = d.destroy();
            }
            d.undefine().is_ok()
        }
        Err(_) => false,
    }
}

/// Domains of earlier runs whose process is gone (a SIGKILLed bench cannot clean up).
fn sweep_leftovers(conn: &Connect) -> usize {
    let Ok(doms) = conn.list_all_domains(0) else {
        return 0;
    };
    let mut n = 0;
    for d in doms {
        let Ok(name) = d.name() else { continue };
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !pid_alive(pid) && destroy_undefine(conn, &name) {
            n += 1;
        }
    }
    n
}

impl Fleet {
    fn new() -> Res<Fleet> {
        Ok(Fleet {
            hosts: Vec::new(),
            dir: tempfile::Builder::new().prefix("vdbench-").tempdir()?,
        })
    }

    fn populate(&mut self, uris: &[String], per_host: usize, running: usize) -> Res<()> {
        let pid = std::process::id();
        let off_disk = self.dir.path().join("off.img");
        halt_image(&off_disk)?;
        for (h, uri) in uris.iter().enumerate() {
            let conn = Connect::open(Some(uri))?;
            let swept = sweep_leftovers(&conn);
            if swept > 0 {
                eprintln!("idle: removed {swept} leftover {PREFIX}* domains on {uri}");
            }
            self.hosts.push(FleetHost {
                uri: uri.clone(),
                conn,
                names: Vec::new(),
                running: Vec::new(),
            });
            let fh = self.hosts.last_mut().ok_or("no host")?;
            for i in 0..per_host {
                if stopped() {
                    return Err("interrupted".into());
                }
                let name = format!("{PREFIX}{pid}-h{h}-{i:03}");
                let live = i < running;
                let disk = if live {
                    let p = self.dir.path().join(format!("{name}.img"));
                    halt_image(&p)?;
                    p
                } else {
                    off_disk.clone()
                };
                // At most 15 characters for an interface name.
                let tap = live.then(|| format!("vdb{}h{h}n{i}", pid % 100_000));
                let xml = domain_xml(&name, &disk, tap.as_deref());
                let dom = fh
                    .conn
                    .define_domain_xml(&xml)
                    .map_err(|e| format!("define {name} on {uri}: {e}"))?;
                fh.names.push(name.clone());
                if live {
                    dom.create()
                        .map_err(|e| format!("start {name} on {uri}: {e}"))?;
                    fh.running.push(name);
                }
            }
        }
        Ok(())
    }

    /// Total guest CPU time of the running domains, in ns.
    fn guest_cpu_ns(&self) -> u64 {
        let mut t = 0;
        for h in &self.hosts {
            for n in &h.running {
                if let Ok(d) = h.conn.lookup_domain_by_name(n) {
                    t += d.info().map_or(0, |i| i.cpu_time);
                }
            }
        }
        t
    }

    /// Waits until the guests are past SeaBIOS (booting costs seconds of CPU each).
    fn wait_quiet(&self, limit: Duration) -> Res<f64> {
        let until = Instant::now() + limit;
        let mut last = (Instant::now(), self.guest_cpu_ns());
        loop {
            sleep_checked(Duration::from_secs(1))?;
            let now = (Instant::now(), self.guest_cpu_ns());
            let pct = (now.1.saturating_sub(last.1)) as f64
                / (now.0 - last.0).as_nanos().max(1) as f64
                * 100.0;
            last = now;
            // ~1 % per halted guest; booting ones use a whole core each.
            if pct < 5.0 + 2.0 * self.hosts.iter().map(|h| h.running.len()).sum::<usize>() as f64
                || Instant::now() >= until
            {
                return Ok(pct);
            }
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let total: usize = self.hosts.iter().map(|h| h.names.len()).sum();
        if total == 0 {
            return;
        }
        eprintln!("idle: removing {total} benchmark domains");
        let mut failed = 0;
        for h in &self.hosts {
            for n in &h.names {
                if !destroy_undefine(&h.conn, n) {
                    failed += 1;
                }
            }
        }
        if failed > 0 {
            eprintln!(
                "idle: WARNING: {failed} domains could not be removed (see virsh list --all)"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scenario: per-tick polling cost, virtdeck's calls vs virsh domstats

/// The per-domain inventory (ops.rs `inventory`), which the worker does on connect and for
/// domains it sees for the first time.
fn inventory(conn: &Connect) -> Res<usize> {
    let doms = conn.list_all_domains(0)?;
    let mut n = 0usize;
    for d in &doms {
        let info = d.info()?;
        n += info.nr_virt_cpu as usize;
        n += d.uuid_string()?.len() + d.name()?.len();
        n += d.id().unwrap_or(0) as usize;
        n += usize::from(d.autostart()?);
        n += usize::from(d.is_persistent()?);
        n += usize::from(d.has_managed_save(0).unwrap_or(false));
    }
    std::hint::black_box(n);
    Ok(doms.len())
}

/// The periodic inventory for known domains (worker.rs `full_inventory`): four list calls
/// filtered by flag; state, vCPUs and memory come from the bulk stats the tick reads anyway.
/// Each flag is listed from its smaller side (`FlagList`): here, as on most hosts, most
/// domains are persistent and few autostart or have a managed save.
fn inventory_by_lists(conn: &Connect) -> Res<usize> {
    let mut n = 0usize;
    let mut total = 0;
    for flag in [
        0,
        sys::VIR_CONNECT_LIST_DOMAINS_AUTOSTART,
        sys::VIR_CONNECT_LIST_DOMAINS_TRANSIENT,
        sys::VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE,
    ] {
        let doms = conn.list_all_domains(flag)?;
        for d in &doms {
            n += d.uuid_string()?.len() + d.name()?.len();
            n += d.id().unwrap_or(0) as usize;
        }
        if flag == 0 {
            total = doms.len();
        }
    }
    std::hint::black_box(n);
    Ok(total)
}

/// The slow node readings (node.rs: active pools every 10 s).
fn pools(conn: &Connect) -> Res<usize> {
    let list = conn.list_all_storage_pools(sys::VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)?;
    let mut n = 0;
    for p in &list {
        if let (Ok(i), Ok(name)) = (p.info(), p.name()) {
            n += (i.capacity as usize).min(1) + name.len().min(1);
        }
    }
    std::hint::black_box(n);
    Ok(list.len())
}

/// A long-running interactive `virsh -c URI` fed through stdin. (Not `-q`: in quiet mode
/// virsh drops the newline after `echo`'s output.)
struct VirshSession {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    n: u64,
}

/// How long one command in the session may take before the benchmark gives up.
const SESSION_LIMIT: Duration = Duration::from_secs(60);

impl VirshSession {
    fn spawn(uri: &str) -> Res<VirshSession> {
        let mut child = Command::new("virsh")
            .args(["-c", uri])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("virsh stdin")?;
        let out = BufReader::new(child.stdout.take().ok_or("virsh stdout")?);
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in out.lines() {
                let Ok(l) = l else { return };
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        let mut s = VirshSession {
            child,
            stdin,
            lines,
            n: 0,
        };
        s.run("version")?;
        Ok(s)
    }

    /// Runs one command; (wall time until its output has been read, output bytes).
    fn run(&mut self, cmd: &str) -> Res<(Duration, usize)> {
        self.n += 1;
        let mark = format!("VDBENCH-MARK-{}", self.n);
        let t0 = Instant::now();
        writeln!(self.stdin, "{cmd}\necho {mark}")?;
        self.stdin.flush()?;
        let mut bytes = 0;
        loop {
            let left = SESSION_LIMIT.saturating_sub(t0.elapsed());
            let line = match self.lines.recv_timeout(left) {
                Ok(l) => l,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!("virsh session: no {mark} after {SESSION_LIMIT:?}").into())
                }
                Err(RecvTimeoutError::Disconnected) => return Err("virsh session ended".into()),
            };
            if line.trim_end() == mark {
                return Ok((t0.elapsed(), bytes));
            }
            bytes += line.len() + 1;
        }
    }
}

impl Drop for VirshSession {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const GROUPS_FLAGS: &str = "domstats --state --cpu-total --balloon --vcpu --interface --block";

#[derive(Clone, Copy)]
enum Method {
    Virtdeck,
    VirshProcess,
    VirshSession,
    VirshSessionGroups,
}

fn scenario_poll(rounds: usize) -> Res<()> {
    let uris = uris_from_env()?;
    // Like the worker: libvirt's event loop, keepalive on the connection.
    host::ensure_event_loop();
    let mut conns = Vec::new();
    let mut sessions = Vec::new();
    for uri in &uris {
        let c = Connect::open(Some(&host::effective_uri(uri)))?;
        let _ = c.set_keep_alive(2, 3);
        conns.push(c);
        sessions.push(VirshSession::spawn(uri)?);
    }
    let mut local = sysinfo::System::new();
    // What the worker learns per host on its first poll (sizes, missing memory stats).
    let mut cpu_sizes: Vec<Option<i32>> = vec![None; uris.len()];
    let mut memories: Vec<stats::MemoryReading> = uris.iter().map(|_| Default::default()).collect();
    let methods = [
        Method::Virtdeck,
        Method::VirshProcess,
        Method::VirshSession,
        Method::VirshSessionGroups,
    ];
    // Round 0 warms up (connections, caches) and is not recorded.
    for round in 0..=rounds {
        if stopped() {
            return Err("interrupted".into());
        }
        for (h, uri) in uris.iter().enumerate() {
            let conn = &conns[h];
            for k in 0..methods.len() {
                let m = methods[(k + round + h) % methods.len()];
                let rec = |key: &str, v: f64| {
                    if round > 0 {
                        emit(&format!("poll.h{h}.{key}"), v);
                    }
                };
                match m {
                    Method::Virtdeck => {
                        let e0 = events_thread_ns();
                        let c0 = thread_cpu();
                        let t0 = Instant::now();
                        // The worker's own calls (host/stats.rs), decoding included.
                        let recs = stats::all_domain_stats(conn)?;
                        let t1 = Instant::now();
                        stats::node_cpu(conn, &mut cpu_sizes[h])?;
                        let t2 = Instant::now();
                        std::hint::black_box(stats::node_memory(conn, 0, &mut memories[h]));
                        let t3 = Instant::now();
                        // Local URIs also read this machine's memory and load every tick.
                        local.refresh_memory();
                        std::hint::black_box(sysinfo::System::load_average());
                        let t4 = Instant::now();
                        rec("a_ms", ms(t4 - t0));
                        rec("a_cpu_ms", ms(thread_cpu() - c0));
                        // Let the event thread finish what the calls woke it for.
                        std::thread::sleep(Duration::from_millis(5));
                        rec(
                            "a_events_cpu_ms",
                            events_thread_ns().saturating_sub(e0) as f64 / 1e6,
                        );
                        rec("a_stats_ms", ms(t1 - t0));
                        rec("a_node_cpu_ms", ms(t2 - t1));
                        rec("a_node_mem_ms", ms(t3 - t2));
                        rec("a_local_ms", ms(t4 - t3));
                        rec("domains", recs.len() as f64);
                        let running = recs.iter().filter(|r| r.id.is_some()).count();
                        rec("running", running as f64);
                        std::hint::black_box(&recs);
                    }
                    Method::VirshProcess => {
                        let t0 = Instant::now();
                        let st = Command::new("virsh")
                            .args(["-c", uri, "domstats"])
                            .stdin(Stdio::null())
                            .stdout(Stdio::null())
                            .status()?;
                        rec("b_ms", ms(t0.elapsed()));
                        if !st.success() {
                            return Err(format!("virsh -c {uri} domstats: {st}").into());
                        }
                    }
                    Method::VirshSession => {
                        let (d, bytes) = sessions[h].run("domstats")?;
                        rec("c_ms", ms(d));
                        rec("c_bytes", bytes as f64);
                    }
                    Method::VirshSessionGroups => {
                        let (d, bytes) = sessions[h].run(GROUPS_FLAGS)?;
                        rec("c2_ms", ms(d));
                        rec("c2_bytes", bytes as f64);
                    }
                }
            }
        }
    }
    // What the worker adds less often: the inventory by filtered lists (every 30 s), pools plus
    // this machine's disks (every 10 s); and, for reference, the per-domain inventory it does
    // on connect.
    for (h, conn) in conns.iter().enumerate() {
        for i in 0..6 {
            let k = |key: &str| format!("poll.h{h}.{key}");
            let e0 = events_thread_ns();
            let (t0, c0) = (Instant::now(), thread_cpu());
            let n = inventory(conn)?;
            let (t1, c1) = (Instant::now(), thread_cpu());
            std::thread::sleep(Duration::from_millis(5));
            let e1 = events_thread_ns();
            pools(conn)?;
            let (t2, c2) = (Instant::now(), thread_cpu());
            std::hint::black_box(sysinfo::Disks::new_with_refreshed_list());
            let e2 = events_thread_ns();
            let (t3, c3) = (Instant::now(), thread_cpu());
            inventory_by_lists(conn)?;
            let (t4, c4) = (Instant::now(), thread_cpu());
            std::thread::sleep(Duration::from_millis(5));
            let e3 = events_thread_ns();
            if i > 0 {
                emit(&k("inventory_ms"), ms(t1 - t0));
                emit(&k("inventory_cpu_ms"), ms(c1 - c0));
                emit(&k("pools_ms"), ms(t2 - t1));
                emit(&k("pools_cpu_ms"), ms(c2 - c1));
                emit(&k("disks_ms"), ms(t3 - t2));
                emit(&k("disks_cpu_ms"), ms(c3 - c2));
                emit(&k("lists_ms"), ms(t4 - t3));
                emit(&k("lists_cpu_ms"), ms(c4 - c3));
                emit(&k("inventory_domains"), n as f64);
                emit(
                    &k("inventory_events_cpu_ms"),
                    e1.saturating_sub(e0) as f64 / 1e6,
                );
                emit(
                    &k("lists_events_cpu_ms"),
                    e3.saturating_sub(e2) as f64 / 1e6,
                );
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Scenario: redraw traffic of the real loop

#[derive(Default)]
struct Counter {
    bytes: AtomicU64,
    flushes: AtomicU64,
    /// Output kept for the measured windows (escape-sequence breakdown).
    keep: AtomicBool,
    kept: Mutex<Vec<u8>>,
    /// Messages from the workers during the measured windows, by kind.
    msgs: Mutex<BTreeMap<String, u64>>,
}

struct CountingWriter(Arc<Counter>);

impl Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
        if self.0.keep.load(Ordering::Relaxed) {
            if let Ok(mut k) = self.0.kept.lock() {
                if k.len() < 8 << 20 {
                    k.extend_from_slice(buf);
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flushes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Bytes in CSI sequences by final byte (`H` cursor moves, `m` colours/attributes), and the rest.
fn breakdown(b: &[u8]) -> (u64, u64, u64, u64) {
    let (mut moves, mut sgr, mut other_esc, mut text) = (0u64, 0u64, 0u64, 0u64);
    let mut i = 0;
    while i < b.len() {
        if b[i] == 0x1b && b.get(i + 1) == Some(&b'[') {
            let mut j = i + 2;
            while j < b.len() && !(0x40..=0x7e).contains(&b[j]) {
                j += 1;
            }
            let len = (j + 1 - i) as u64;
            match b.get(j) {
                Some(b'H') => moves += len,
                Some(b'm') => sgr += len,
                _ => other_esc += len,
            }
            i = j + 1;
        } else {
            text += 1;
            i += 1;
        }
    }
    (moves, sgr, other_esc, text)
}

fn scenario_redraw(warm: Duration, secs: Duration, settle: Duration) -> Res<()> {
    let uris = uris_from_env()?;
    // main.rs, step by step, with an empty config directory and the `-c` URIs.
    let cfg_dir = tempfile::tempdir()?;
    let mut args = vec!["virtdeck".to_string()];
    for u in &uris {
        args.push("-c".into());
        args.push(u.clone());
    }
    let cli = Cli::try_parse_from(&args)?;
    let dir = Some(cfg_dir.path().to_path_buf());
    let cfg = Config::load(dir.as_deref())?;
    let keymap = Keymap::load(dir.as_deref())?;
    let theme = Theme::load(&cli::theme_name(&cli, &cfg, false), dir.as_deref())?;
    let base = WorkerOptions::from_config(&cfg, cli.readonly);
    let specs: Vec<_> = cli::hosts(&cli, &cfg)
        .into_iter()
        .map(|s| {
            let opts = base.for_uri(&s.uri);
            (s, opts)
        })
        .collect();
    let names: Vec<_> = specs.iter().map(|(s, _)| s.clone()).collect();
    host::ensure_event_loop();
    let (tx, rx) = runtime::channel();
    let counter = Arc::new(Counter::default());
    // Workers report through a relay that counts what arrives during the measured windows
    // (each message batch costs a frame), then passes everything on unchanged.
    let (wtx, wrx) = runtime::channel();
    {
        let (tx, c) = (tx.clone(), Arc::clone(&counter));
        std::thread::spawn(move || {
            for m in wrx {
                if c.keep.load(Ordering::Relaxed) {
                    let kind = match &m {
                        Msg::Host(id, ev) => {
                            let d = format!("{ev:?}");
                            let end = d.find([' ', '(', '{']).unwrap_or(d.len());
                            format!("host-{}:{}", id.0, &d[..end])
                        }
                        other => {
                            let d = format!("{other:?}");
                            let end = d.find([' ', '(', '{']).unwrap_or(d.len());
                            d[..end].to_string()
                        }
                    };
                    if let Ok(mut k) = c.msgs.lock() {
                        *k.entry(kind).or_default() += 1;
                    }
                }
                if tx.send(m).is_err() {
                    return;
                }
            }
        });
    }
    let mut workers = runtime::Workers::start(&specs, &wtx, dir.clone(), base.clone())?;
    drop(wtx);
    let mut app = App::new(
        names,
        keymap,
        theme,
        Settings::from_config(&cfg, cli.readonly),
    );

    let backend = CrosstermBackend::new(CountingWriter(Arc::clone(&counter)));
    let mut terminal = Terminal::with_options(
        backend,
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, WIDTH, HEIGHT)),
        },
    )?;

    // The controller plays the user: waits, switches to the VM table, quits. No input thread.
    type Mark = (Instant, u64, u64);
    let c = Arc::clone(&counter);
    type Window = (String, Mark, Mark, Vec<u8>, BTreeMap<String, u64>);
    let ctl = std::thread::spawn(move || -> Vec<Window> {
        let mark = |c: &Counter| {
            (
                Instant::now(),
                c.bytes.load(Ordering::Relaxed),
                c.flushes.load(Ordering::Relaxed),
            )
        };
        let mut windows = Vec::new();
        let window = |name: &str, windows: &mut Vec<_>| -> bool {
            if let Ok(mut k) = c.kept.lock() {
                k.clear();
            }
            if let Ok(mut k) = c.msgs.lock() {
                k.clear();
            }
            c.keep.store(true, Ordering::Relaxed);
            let a = mark(&c);
            if sleep_checked(secs).is_err() {
                return false;
            }
            let b = mark(&c);
            c.keep.store(false, Ordering::Relaxed);
            let kept = c.kept.lock().map(|k| k.clone()).unwrap_or_default();
            let msgs = c.msgs.lock().map(|k| k.clone()).unwrap_or_default();
            windows.push((name.to_string(), a, b, kept, msgs));
            true
        };
        let ok = sleep_checked(warm).is_ok()
            && window("dashboard", &mut windows)
            && tx
                .send(Msg::Key(KeyEvent::new(
                    KeyCode::Char('2'),
                    KeyModifiers::NONE,
                )))
                .is_ok()
            && sleep_checked(settle).is_ok()
            && window("vms", &mut windows);
        let _ = ok;
        let _ = tx.send(Msg::Terminate);
        windows
    });
    let result = runtime::run(&mut terminal, &mut app, &rx, &mut workers);
    let windows = ctl.join().map_err(|_| "controller panicked")?;
    result?;
    for (name, a, b, kept, msgs) in &windows {
        let s = (b.0 - a.0).as_secs_f64();
        let bytes = (b.1 - a.1) as f64;
        // ratatui flushes twice per frame (hiding the cursor flushes too) and hides the
        // cursor once per frame in these views: count the hide sequences.
        let hides = kept.windows(6).filter(|w| w == b"\x1b[?25l").count() as f64;
        let frames = if hides > 0.0 {
            hides
        } else {
            (b.2 - a.2) as f64 / 2.0
        };
        emit(&format!("redraw.{name}.bytes_per_s"), bytes / s);
        emit(&format!("redraw.{name}.frames_per_s"), frames / s);
        emit(
            &format!("redraw.{name}.bytes_per_frame"),
            bytes / frames.max(1.0),
        );
        let (moves, sgr, other, text) = breakdown(kept);
        let t = kept.len().max(1) as f64;
        note(&format!(
            "redraw {name}: {:.0} % cursor moves, {:.0} % colour/attribute sequences, {:.0} % other escapes, {:.0} % text ({} bytes kept)",
            moves as f64 / t * 100.0,
            sgr as f64 / t * 100.0,
            other as f64 / t * 100.0,
            text as f64 / t * 100.0,
            kept.len()
        ));
        let m: Vec<String> = msgs.iter().map(|(k, n)| format!("{k} {n}")).collect();
        note(&format!(
            "redraw {name}: worker messages in {s:.0} s: {}",
            m.join(", ")
        ));
    }
    for h in &app.hosts {
        note(&format!(
            "redraw run: host {} {:?}, {} VMs ({} running)",
            h.name,
            h.status,
            h.vms.len(),
            h.running()
        ));
    }
    for e in &app.messages.log {
        note(&format!("redraw run log: {:?} {}", e.level, e.text));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Idle CPU and memory of the release binary in tmux

struct Tmux {
    socket: String,
    session: String,
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
                String::from_utf8_lossy(&o.stderr).trim()
            )
            .into());
        }
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    }

    fn screen(&self) -> String {
        self.cmd(&["capture-pane", "-p", "-t", &self.session])
            .unwrap_or_default()
    }

    fn wait_for(&self, limit: Duration, ok: impl Fn(&str) -> bool) -> Res<String> {
        let until = Instant::now() + limit;
        loop {
            let s = self.screen();
            if ok(&s) {
                return Ok(s);
            }
            if Instant::now() >= until {
                return Err(format!("timed out; screen:\n{s}").into());
            }
            sleep_checked(Duration::from_millis(200))?;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // tmux leaves its socket file behind after kill-server.
        let socket = self
            .cmd(&["display-message", "-p", "#{socket_path}"])
            .map(|s| s.trim().to_string());
        let _ = self.cmd(&["kill-server"]);
        if let Ok(path) = socket {
            if path.contains(&self.socket) {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// Readings of one process over a window.
struct Sample {
    at: Instant,
    ticks: u64,
    threads: BTreeMap<u32, (String, u64)>,
}

fn sample(pid: u32) -> Res<Sample> {
    Ok(Sample {
        at: Instant::now(),
        ticks: proc_ticks(pid).ok_or_else(|| format!("process {pid} is gone"))?,
        threads: threads(pid),
    })
}

/// Other processes whose CPU is worth showing next to virtdeck's.
fn others(tmux: &Tmux, lab2_pid: Option<u32>) -> Vec<(&'static str, u32)> {
    let mut v = Vec::new();
    if let Some(p) = read_pid_file("/run/libvirtd.pid") {
        v.push(("libvirtd (qemu:///system, shared)", p));
    }
    if let Some(p) = lab2_pid {
        v.push(("libvirtd (second daemon)", p));
    }
    if let Some(p) = tmux
        .cmd(&["display-message", "-p", "#{pid}"])
        .ok()
        .and_then(|s| s.trim().parse().ok())
    {
        v.push(("tmux server", p));
    }
    v
}

fn measure_window(
    label: &str,
    pid: u32,
    secs: Duration,
    bytes_file: &Path,
    others: &[(&'static str, u32)],
) -> Res<()> {
    let tck = clk_tck();
    let other0: Vec<_> = others.iter().map(|(_, p)| proc_ticks(*p)).collect();
    let bytes0 = std::fs::metadata(bytes_file).map_or(0, |m| m.len());
    let s0 = sample(pid)?;
    let mut rss_max = 0u64;
    let until = Instant::now() + secs;
    while Instant::now() < until {
        rss_max = rss_max.max(status_kib(pid, "VmRSS:").unwrap_or(0));
        sleep_checked(
            until
                .saturating_duration_since(Instant::now())
                .min(Duration::from_secs(1)),
        )?;
    }
    let s1 = sample(pid)?;
    let bytes1 = std::fs::metadata(bytes_file).map_or(0, |m| m.len());
    let wall = (s1.at - s0.at).as_secs_f64();
    let rss = status_kib(pid, "VmRSS:").unwrap_or(0);
    rss_max = rss_max.max(rss);
    let p = format!("idle.{label}");
    emit(
        &format!("{p}.cpu_pct"),
        (s1.ticks - s0.ticks) as f64 / tck / wall * 100.0,
    );
    let mut run_ns = 0u64;
    let mut per_name: BTreeMap<String, u64> = BTreeMap::new();
    for (tid, (name, ns1)) in &s1.threads {
        let ns0 = s0.threads.get(tid).map_or(0, |t| t.1);
        let d = ns1.saturating_sub(ns0);
        run_ns += d;
        *per_name.entry(name.clone()).or_default() += d;
    }
    emit(
        &format!("{p}.cpu_pct_sched"),
        run_ns as f64 / 1e9 / wall * 100.0,
    );
    let mut parts: Vec<_> = per_name.into_iter().collect();
    parts.sort_by_key(|p| std::cmp::Reverse(p.1));
    let text: Vec<String> = parts
        .iter()
        .map(|(n, ns)| format!("{n} {:.3} %", *ns as f64 / 1e9 / wall * 100.0))
        .collect();
    note(&format!(
        "{label}: CPU by thread (schedstat): {}",
        text.join(", ")
    ));
    for (n, ns) in &parts {
        if n.starts_with("host-") {
            // Worker CPU per poll, everything amortised (inventory, pools, events).
            let ticks = wall / POLL.as_secs_f64();
            emit(&format!("{p}.{n}_ms_per_tick"), *ns as f64 / 1e6 / ticks);
        }
    }
    emit(&format!("{p}.rss_mib"), rss as f64 / 1024.0);
    emit(&format!("{p}.rss_max_mib"), rss_max as f64 / 1024.0);
    emit(
        &format!("{p}.hwm_mib"),
        status_kib(pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0,
    );
    emit(
        &format!("{p}.pty_bytes_per_s"),
        bytes1.saturating_sub(bytes0) as f64 / wall,
    );
    for ((name, opid), t0) in others.iter().zip(other0) {
        if let (Some(a), Some(b)) = (t0, proc_ticks(*opid)) {
            note(&format!(
                "{label}: {name} (pid {opid}) {:.2} % of one core",
                (b - a) as f64 / tck / wall * 100.0
            ));
        }
    }
    Ok(())
}

fn screen_notes(label: &str, screen: &str) {
    let lower = screen.to_lowercase();
    for word in ["error", "unreachable", "not responding", "lost", "failed"] {
        if lower.contains(word) {
            note(&format!("{label}: the screen shows \"{word}\""));
        }
    }
    for l in screen.lines().take(8) {
        let l: String = l.trim_end().chars().take(150).collect();
        note(&format!("{label} screen| {l}"));
    }
}

fn idle_in_tmux(
    uris: &[String],
    lab2_pid: Option<u32>,
    secs: Duration,
    settle: Duration,
) -> Res<()> {
    let bin = shipped::binary();
    let bin = bin.as_str();
    let cfg_dir = tempfile::tempdir()?;
    let bytes_file = cfg_dir.path().join("pane.bytes");
    let tmux = Tmux {
        socket: format!("vdbench-{}", std::process::id()),
        session: "vd".into(),
    };
    let cfg_env = format!("VIRTDECK_CONFIG_DIR={}", cfg_dir.path().display());
    let wrap_words = std::env::var("VIRTDECK_IDLE_WRAP").unwrap_or_default();
    let wrap: Vec<&str> = wrap_words.split_whitespace().collect();
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
        &cfg_env,
        "-e",
        "TERM=xterm-256color",
    ];
    args.extend(&wrap);
    args.push(bin);
    for u in uris {
        args.push("-c");
        args.push(u);
    }
    args.extend([";", "set-option", "-t", "vd", "remain-on-exit", "on"]);
    tmux.cmd(&args)?;
    let pid: u32 = tmux
        .cmd(&["display-message", "-p", "-t", "vd", "#{pane_pid}"])?
        .trim()
        .parse()?;
    if !wrap.is_empty() {
        return run_wrapped(&tmux, uris.len(), secs);
    }
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if comm.trim() != "virtdeck" {
        return Err(format!("pane process {pid} is {comm:?}, not virtdeck").into());
    }
    let quoted = format!("cat >> '{}'", bytes_file.display());
    tmux.cmd(&["pipe-pane", "-O", "-t", "vd", &quoted])?;
    let want = format!("{n}/{n} hosts connected", n = uris.len());
    let t0 = Instant::now();
    tmux.wait_for(Duration::from_secs(60), |s| s.contains(&want))?;
    note(&format!(
        "tmux: all hosts connected {:.1} s after start",
        t0.elapsed().as_secs_f64()
    ));
    sleep_checked(settle)?;
    let others = others(&tmux, lab2_pid);
    eprintln!("idle: dashboard, {} s…", secs.as_secs());
    measure_window("dashboard", pid, secs, &bytes_file, &others)?;
    screen_notes("dashboard", &tmux.screen());

    tmux.cmd(&["send-keys", "-t", "vd", "2"])?;
    // The VM table's title: "VMs <shown>/<total>".
    let title = |s: &str| {
        s.split("VMs ").skip(1).find_map(|r| {
            let w = r.split_whitespace().next()?;
            (w.starts_with(|c: char| c.is_ascii_digit()) && w.contains('/')).then(|| w.to_string())
        })
    };
    let s = tmux.wait_for(Duration::from_secs(10), |s| {
        title(s).is_some() && !s.contains("Dashboard")
    })?;
    if let Some(count) = title(&s) {
        note(&format!("tmux: VM table title shows VMs {count}"));
    }
    sleep_checked(settle / 2)?;
    eprintln!("idle: VM table, {} s…", secs.as_secs());
    measure_window("vms", pid, secs, &bytes_file, &others)?;
    screen_notes("vms", &tmux.screen());
    let dead = tmux.cmd(&["display-message", "-p", "-t", "vd", "#{pane_dead}"])?;
    if dead.trim() == "1" {
        return Err("virtdeck exited during the measurement".into());
    }
    Ok(())
}

/// `VIRTDECK_IDLE_WRAP`: the same session (dashboard, then the VM table) under a wrapper such as
/// callgrind, which slows the binary too much for any figure to mean something. It ends with `q`
/// (and `y` should it ask) so the wrapper writes its output.
fn run_wrapped(tmux: &Tmux, hosts: usize, secs: Duration) -> Res<()> {
    let want = format!("{hosts}/{hosts} hosts connected");
    tmux.wait_for(Duration::from_secs(600), |s| s.contains(&want))?;
    note("wrapped: nothing is measured");
    sleep_checked(secs)?;
    tmux.cmd(&["send-keys", "-t", "vd", "2"])?;
    tmux.wait_for(Duration::from_secs(120), |s| !s.contains("Dashboard"))?;
    sleep_checked(secs)?;
    tmux.cmd(&["send-keys", "-t", "vd", "q"])?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        sleep_checked(Duration::from_secs(2))?;
        let dead = tmux.cmd(&["display-message", "-p", "-t", "vd", "#{pane_dead}"])?;
        if dead.trim() == "1" {
            return Ok(());
        }
        tmux.cmd(&["send-keys", "-t", "vd", "y"])?;
    }
    Err("the wrapped binary did not exit after q".into())
}

// ---------------------------------------------------------------------------------------------
// Parent: set up, run the parts, print the report

/// The median of what was recorded under `key`.
fn med(out: &Out, key: &str) -> Option<f64> {
    out.nums.get(key).and_then(|v| median(v))
}

fn child(out: &mut Out, scenario: &str, uris: &[String]) {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            out.errors.push(format!("{scenario}: {e}"));
            return;
        }
    };
    let o = Command::new(exe)
        .env(SCENARIO, scenario)
        .env(URIS, uris.join("\n"))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output();
    out.take_output(scenario, "", o);
}

/// Runs a part in this process; its protocol lines go into `out`.
fn in_parent(out: &mut Out, tag: &str, f: impl FnOnce() -> Res<()>) {
    CAPTURING.store(true, Ordering::Relaxed);
    let r = f();
    CAPTURING.store(false, Ordering::Relaxed);
    let lines = CAPTURE
        .lock()
        .map(|mut c| std::mem::take(&mut *c))
        .unwrap_or_default();
    for l in lines {
        out.take_line(tag, "", &l);
    }
    if let Err(e) = r {
        out.errors.push(format!("{tag}: {e}"));
    }
}

struct Knobs {
    secs: Duration,
    settle: Duration,
    redraw_secs: Duration,
    rounds: usize,
    vms: usize,
    running: usize,
    parts: Vec<String>,
}

impl Knobs {
    fn read() -> Knobs {
        Knobs {
            secs: env_secs("VIRTDECK_IDLE_SECS", 60),
            settle: env_secs("VIRTDECK_IDLE_SETTLE", 10),
            redraw_secs: env_secs("VIRTDECK_IDLE_REDRAW_SECS", 30),
            rounds: env_usize("VIRTDECK_IDLE_ROUNDS", 20).max(1),
            vms: env_usize("VIRTDECK_IDLE_VMS", 160).max(1),
            running: env_usize("VIRTDECK_IDLE_RUNNING", 4),
            parts: std::env::var("VIRTDECK_IDLE_PARTS")
                .unwrap_or_else(|_| "poll,idle,redraw".into())
                .split(',')
                .map(|s| s.trim().to_string())
                .collect(),
        }
    }

    fn wants(&self, part: &str) -> bool {
        self.parts.iter().any(|p| p == part)
    }
}

fn parent() -> Res<()> {
    let k = Knobs::read();
    let started = Instant::now();
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(sig, Arc::clone(&STOP))?;
    }
    virt::error::clear_error_callback();
    ensure_lab()?;
    let load0 = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    // Guards: dropped in reverse order, the fleet before the daemon it lives on.
    let mut lab2 = Lab2::new();
    eprintln!(
        "idle: starting the second libvirtd ({}, port {})",
        lab2.dir, lab2.port
    );
    lab2.start()?;
    let uris = vec![MAIN_URI.to_string(), lab2.uri.clone()];
    let mut fleet = Fleet::new()?;
    eprintln!(
        "idle: defining {} domains per host, starting {} per host…",
        k.vms, k.running
    );
    let t = Instant::now();
    fleet.populate(&uris, k.vms, k.running.min(k.vms))?;
    let define_s = t.elapsed().as_secs_f64();
    eprintln!("idle: waiting for the guests to finish booting…");
    let guest_pct = fleet.wait_quiet(Duration::from_secs(90))?;

    let mut out = Out::default();
    out.notes.push(format!(
        "[setup] {} + {} domains defined and {} started in {define_s:.1} s; running guests use {guest_pct:.1} % of one core together",
        fleet.hosts[0].names.len(),
        fleet.hosts.get(1).map_or(0, |h| h.names.len()),
        fleet.hosts.iter().map(|h| h.running.len()).sum::<usize>(),
    ));
    for h in &fleet.hosts {
        out.notes
            .push(format!("[setup] host {}: {} domains", h.uri, h.names.len()));
    }

    if k.wants("poll") {
        eprintln!("idle: polling cost, {} rounds…", k.rounds);
        child(&mut out, "poll", &uris);
    }
    if k.wants("idle") && !stopped() {
        eprintln!("idle: release binary in tmux…");
        in_parent(&mut out, "idle", || {
            idle_in_tmux(&uris, lab2.pid, k.secs, k.settle)
        });
    }
    if k.wants("redraw") && !stopped() {
        eprintln!(
            "idle: redraw traffic through runtime::run, {} s per view…",
            k.redraw_secs.as_secs()
        );
        child(&mut out, "redraw", &uris);
    }
    let interrupted = stopped();
    drop(fleet);
    drop(lab2);

    report(&out, &k, started, &load0);
    if interrupted {
        return Err("interrupted".into());
    }
    Ok(())
}

fn report(out: &Out, k: &Knobs, started: Instant, load0: &str) {
    let mut rows = Vec::new();
    let pct = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.3} %"));
    let ms2 = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.2} ms"));
    let rate = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.0} B/s"));
    // MB and KB are decimal: 25 MB = 23.8 MiB, 2 KB/s = 2000 B/s.
    let mb_ok = |v: Option<f64>, lim: f64| v.map(|v| v * 1.048576 <= lim);

    for (view, title) in [("dashboard", "dashboard"), ("vms", "VM table")] {
        let p = format!("idle.{view}");
        let cpu = out.last(&format!("{p}.cpu_pct"));
        rows.push(row(
            format!("idle CPU, {title} (tmux, /proc stat ticks)"),
            pct(cpu),
            "≤ 0.25 % of one core",
            cpu.map(|v| v <= 0.25),
        ));
        rows.push(row(
            "  same, exact (sum of threads' schedstat)",
            pct(out.last(&format!("{p}.cpu_pct_sched"))),
            "-",
            None,
        ));
        let rss = out.last(&format!("{p}.rss_max_mib"));
        rows.push(row(
            format!("RSS, {title}: max sampled in window / VmHWM"),
            match (rss, out.last(&format!("{p}.hwm_mib"))) {
                (Some(a), Some(b)) => format!("{a:.1} / {b:.1} MiB"),
                _ => "n/a".into(),
            },
            "≤ 25 MB (23.8 MiB)",
            mb_ok(rss, 25.0),
        ));
        for h in 0..2 {
            if let Some(v) = out.last(&format!("{p}.host-{h}_ms_per_tick")) {
                rows.push(row(
                    format!("  worker thread host-{h}: CPU per 2 s tick, amortised"),
                    format!("{v:.2} ms"),
                    "-",
                    None,
                ));
            }
        }
        let pty = out.last(&format!("{p}.pty_bytes_per_s"));
        rows.push(row(
            format!("redraw traffic, {title}, tmux pipe-pane (real binary)"),
            rate(pty),
            "≤ 2 KB/s (2000 B/s)",
            pty.map(|v| v <= 2000.0),
        ));
        let rd = out.last(&format!("redraw.{view}.bytes_per_s"));
        rows.push(row(
            format!("redraw traffic, {title}, runtime::run → CrosstermBackend"),
            rate(rd),
            "≤ 2 KB/s (2000 B/s)",
            rd.map(|v| v <= 2000.0),
        ));
        rows.push(row(
            "  frames/s, bytes/frame",
            match (
                out.last(&format!("redraw.{view}.frames_per_s")),
                out.last(&format!("redraw.{view}.bytes_per_frame")),
            ) {
                (Some(a), Some(b)) => format!("{a:.2} /s, {b:.0} B"),
                _ => "n/a".into(),
            },
            "-",
            None,
        ));
    }

    for h in 0..2 {
        let g = |key: &str| med(out, &format!("poll.h{h}.{key}"));
        let Some(a) = g("a_ms") else { continue };
        let host = if h == 0 {
            "qemu:///system"
        } else {
            "second daemon"
        };
        rows.push(row(
            format!(
                "host {h} ({host}, {:.0} domains, {:.0} running): medians of {}",
                g("domains").unwrap_or(0.0),
                g("running").unwrap_or(0.0),
                out.nums.get(&format!("poll.h{h}.a_ms")).map_or(0, Vec::len)
            ),
            "",
            "",
            None,
        ));
        rows.push(row(
            "  (a) virtdeck tick: bulk stats + node CPU + node memory + local",
            ms2(Some(a)),
            "-",
            None,
        ));
        rows.push(row(
            "      stats call incl. decoding / node CPU / node memory / local",
            format!(
                "{:.2} / {:.2} / {:.2} / {:.2} ms",
                g("a_stats_ms").unwrap_or(f64::NAN),
                g("a_node_cpu_ms").unwrap_or(f64::NAN),
                g("a_node_mem_ms").unwrap_or(f64::NAN),
                g("a_local_ms").unwrap_or(f64::NAN),
            ),
            "-",
            None,
        ));
        let b = g("b_ms");
        let c = g("c_ms");
        rows.push(row(
            "  (b) `virsh -c URI domstats` process, wall",
            ms2(b),
            "-",
            None,
        ));
        rows.push(row(
            format!(
                "  (c) `domstats` in one virsh session ({:.0} KB out)",
                g("c_bytes").unwrap_or(0.0) / 1000.0
            ),
            ms2(c),
            "-",
            None,
        ));
        rows.push(row(
            format!(
                "  (c2) session `domstats` with virtdeck's 6 groups ({:.0} KB out)",
                g("c2_bytes").unwrap_or(0.0) / 1000.0
            ),
            ms2(g("c2_ms")),
            "-",
            None,
        ));
        let ratio = |d: Option<f64>| d.map(|d| a / d);
        rows.push(row(
            "  ratio (a)/(b)",
            ratio(b).map_or("n/a".into(), |r| format!("{r:.2}×")),
            "≤ 1.2×",
            ratio(b).map(|r| r <= 1.2),
        ));
        rows.push(row(
            "  ratio (a)/(c)  (in-process, the fair one)",
            ratio(c).map_or("n/a".into(), |r| format!("{r:.2}×")),
            "≤ 1.2×",
            ratio(c).map(|r| r <= 1.2),
        ));
        let inv = g("inventory_ms");
        let lists = g("lists_ms");
        let pools = g("pools_ms");
        let disks = g("disks_ms");
        let wall_cpu = |w: Option<f64>, c: Option<f64>, prec: usize| {
            format!(
                "{:.p$} / {:.p$} ms",
                w.unwrap_or(f64::NAN),
                c.unwrap_or(f64::NAN),
                p = prec
            )
        };
        rows.push(row(
            "  on connect: per-domain inventory (4 RPCs per domain), wall / client CPU",
            wall_cpu(inv, g("inventory_cpu_ms"), 1),
            "-",
            None,
        ));
        rows.push(row(
            "      + CPU of the libvirt event thread: during (a) / during that inventory",
            format!(
                "{:.2} / {:.2} ms",
                g("a_events_cpu_ms").unwrap_or(f64::NAN),
                g("inventory_events_cpu_ms").unwrap_or(f64::NAN)
            ),
            "-",
            None,
        ));
        rows.push(row(
            "  every 30 s: inventory by 4 filtered list calls, wall / CPU / event thread",
            format!(
                "{:.2} / {:.2} / {:.2} ms",
                lists.unwrap_or(f64::NAN),
                g("lists_cpu_ms").unwrap_or(f64::NAN),
                g("lists_events_cpu_ms").unwrap_or(f64::NAN)
            ),
            "-",
            None,
        ));
        rows.push(row(
            "  every 10 s: pools + local disks, wall / client CPU",
            wall_cpu(
                pools.zip(disks).map(|(p, d)| p + d),
                g("pools_cpu_ms").zip(g("disks_cpu_ms")).map(|(p, d)| p + d),
                2,
            ),
            "-",
            None,
        ));
        let per_tick = |every: Duration| POLL.as_secs_f64() / every.as_secs_f64();
        let amort = a
            + lists.unwrap_or(0.0) * per_tick(INVENTORY_EVERY)
            + (pools.unwrap_or(0.0) + disks.unwrap_or(0.0)) * per_tick(SLOW_EVERY);
        rows.push(row(
            "  (a) amortised with those, and its ratio to (c)",
            match c {
                Some(c) => format!("{amort:.2} ms, {:.2}×", amort / c),
                None => format!("{amort:.2} ms"),
            },
            "-",
            None,
        ));
        let tick_cpu = g("a_cpu_ms");
        let amort_cpu = tick_cpu.map(|t| {
            t + g("lists_cpu_ms").unwrap_or(0.0) * per_tick(INVENTORY_EVERY)
                + (g("pools_cpu_ms").unwrap_or(0.0) + g("disks_cpu_ms").unwrap_or(0.0))
                    * per_tick(SLOW_EVERY)
        });
        rows.push(row(
            "  client CPU per tick: (a) alone / amortised (compare worker thread above)",
            wall_cpu(tick_cpu, amort_cpu, 2),
            "-",
            None,
        ));
    }

    println!();
    println!(
        "virtdeck idle report ({} CPUs, {} VMs/host with {} running, {} s per view in tmux, {} s per view counted, {} poll rounds, {:.0} s total)",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        k.vms,
        k.running,
        k.secs.as_secs(),
        k.redraw_secs.as_secs(),
        k.rounds,
        started.elapsed().as_secs_f64()
    );
    let load1 = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let first3 = |s: &str| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    println!(
        "load average at start: {}, at the end: {}",
        first3(load0),
        first3(&load1)
    );
    println!();
    print_table(&rows);
    out.print_notes();
}

fn main() {
    if let Ok(s) = std::env::var(SCENARIO) {
        let r = match s.as_str() {
            "poll" => scenario_poll(env_usize("VIRTDECK_IDLE_ROUNDS", 20).max(1)),
            "redraw" => scenario_redraw(
                env_secs("VIRTDECK_IDLE_SETTLE", 10),
                env_secs("VIRTDECK_IDLE_REDRAW_SECS", 30),
                env_secs("VIRTDECK_IDLE_SETTLE", 10) / 2,
            ),
            other => Err(format!("unknown scenario {other}").into()),
        };
        if let Err(e) = r {
            println!("!! {e}");
            std::process::exit(1);
        }
        return;
    }
    if let Err(e) = parent() {
        eprintln!("idle: {e}");
        std::process::exit(1);
    }
}
