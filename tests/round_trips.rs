//! Round trips per host do not grow with its number of VMs (issue 20): a proxy between the
//! worker and libvirtd counts the calls the worker sends, by procedure, for a test-driver host
//! of 10 VMs and one of 400 (`test+unix:///FILE?socket=PROXY`).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use virtdeck::host::{self, HostCommand, HostEvent, HostHandle, NetCmd, WorkerOptions};
use virtdeck::model::{HostId, Known, Snapshot};

const DAEMON: &str = "/run/libvirt/libvirt-sock";
/// libvirt's remote program and `virDomainGetInfo`'s procedure number (remote_protocol.x).
const REMOTE_PROGRAM: u32 = 0x2000_8086;
const PROC_DOMAIN_GET_INFO: u32 = 16;
/// `virConnectListAllDomains`'s.
const PROC_LIST_ALL_DOMAINS: u32 = 273;
/// `virDomainGetMetadata`'s: virtdeck's tags and template mark, read once per VM per session.
const PROC_DOMAIN_GET_METADATA: u32 = 265;
/// `virConnectGetAllDomainStats`'s procedure number.
const PROC_ALL_DOMAIN_STATS: u32 = 344;
/// Type of a message that expects an answer.
const CALL: u32 = 0;

/// Calls seen, as (program, procedure), in the order they were sent.
type Counts = Arc<Mutex<Vec<(u32, u32)>>>;

/// The flags of each `virConnectGetAllDomainStats` call, in order.
type StatsFlags = Arc<Mutex<Vec<u32>>>;

/// `VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE`.
const STATS_ACTIVE: u32 = 1;

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Forwards every connection made to `sock` to libvirtd and counts the client's calls.
fn proxy(sock: &Path) -> Counts {
    slow_proxy(sock, Arc::default(), Arc::default())
}

/// `proxy`, holding each of the client's messages back for `delay_ms` (a far host).
/// Records the flags of the bulk stats calls in `flags`.
fn slow_proxy(sock: &Path, delay_ms: Arc<AtomicU64>, flags: StatsFlags) -> Counts {
    let counts: Counts = Arc::default();
    let listener = UnixListener::bind(sock).expect("bind the proxy socket");
    let c = Arc::clone(&counts);
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(daemon) = UnixStream::connect(DAEMON) else {
                return;
            };
            let (mut c_in, mut d_out) = (client.try_clone().unwrap(), daemon.try_clone().unwrap());
            std::thread::spawn(move || {
                let (mut d_in, mut c_out) = (daemon, client);
                let _ = std::io::copy(&mut d_in, &mut c_out);
            });
            let (c, delay_ms, flags) = (Arc::clone(&c), Arc::clone(&delay_ms), Arc::clone(&flags));
            std::thread::spawn(move || {
                // Each message: a 4-byte big-endian length (itself included), then the header:
                // program, version, procedure, type, serial, status.
                loop {
                    let mut len = [0u8; 4];
                    if c_in.read_exact(&mut len).is_err() {
                        return;
                    }
                    let n = u32::from_be_bytes(len) as usize;
                    let mut body = vec![0u8; n.saturating_sub(4)];
                    if c_in.read_exact(&mut body).is_err() {
                        return;
                    }
                    let word =
                        |i: usize| u32::from_be_bytes(body[i * 4..i * 4 + 4].try_into().unwrap());
                    if body.len() >= 24 && word(3) == CALL {
                        c.lock().unwrap().push((word(0), word(2)));
                    }
                    // Its arguments: the domains (none: all of them), the stat groups, flags.
                    if body.len() >= 36
                        && (word(0), word(2), word(3))
                            == (REMOTE_PROGRAM, PROC_ALL_DOMAIN_STATS, CALL)
                        && word(6) == 0
                    {
                        flags.lock().unwrap().push(word(8));
                    }
                    std::thread::sleep(Duration::from_millis(delay_ms.load(Ordering::Relaxed)));
                    if d_out.write_all(&len).is_err() || d_out.write_all(&body).is_err() {
                        return;
                    }
                }
            });
        }
    });
    counts
}

fn total(c: &Counts) -> BTreeMap<(u32, u32), usize> {
    let mut by = BTreeMap::new();
    for call in c.lock().unwrap().iter() {
        *by.entry(*call).or_default() += 1;
    }
    by
}

/// Calls up to and including the first `virConnectListAllDomains`: the one the first rows come
/// from. Counted from the order, not when the snapshot arrives, which races the worker's next
/// calls.
fn calls_to_first_list(c: &Counts) -> usize {
    let order = c.lock().unwrap();
    order
        .iter()
        .position(|call| *call == (REMOTE_PROGRAM, PROC_LIST_ALL_DOMAINS))
        .expect("the worker lists its domains")
        + 1
}

fn calls(m: &BTreeMap<(u32, u32), usize>) -> usize {
    m.values().sum()
}

/// The host's own readings (`virNodeGetCPUStats`, `…MemoryStats`, `…FreeMemory`), which go
/// out right after the first complete rows, racing the count taken when they arrive.
const NODE_PROCS: [u32; 3] = [227, 228, 102];

/// Calls of one procedure of libvirt's remote program.
fn calls_to(m: &BTreeMap<(u32, u32), usize>, procedure: u32) -> usize {
    m.get(&(REMOTE_PROGRAM, procedure)).copied().unwrap_or(0)
}

fn node_calls(m: &BTreeMap<(u32, u32), usize>) -> usize {
    NODE_PROCS.iter().map(|p| calls_to(m, *p)).sum()
}

fn infos(m: &BTreeMap<(u32, u32), usize>) -> usize {
    calls_to(m, PROC_DOMAIN_GET_INFO)
}

fn metas(m: &BTreeMap<(u32, u32), usize>) -> usize {
    calls_to(m, PROC_DOMAIN_GET_METADATA)
}

/// What one host cost: calls until its first snapshot (rows first), until every VM's state
/// and flags are known (`info` and node calls excluded: they may have started), `info` calls until
/// every VM is complete, and calls of each of two later ticks.
#[derive(Debug)]
struct Cost {
    rows_first: usize,
    /// Every row of the first snapshot came from the list call alone.
    listed_first: bool,
    until_flagged: usize,
    infos: usize,
    metas: usize,
    ticks: [usize; 2],
}

fn fleet(dir: &Path, vms: usize) -> PathBuf {
    let xml = dir.join(format!("h{vms}.xml"));
    let made = Command::new("python3")
        .args(["scripts/gen_fleet.py", "--vms", &vms.to_string(), "--name"])
        .arg(format!("rt{vms}"))
        .arg("--out")
        .arg(&xml)
        .status()
        .expect("run gen_fleet.py");
    assert!(made.success());
    xml
}

fn measure(dir: &Path, vms: usize) -> Cost {
    let xml = fleet(dir, vms);
    let sock = dir.join(format!("proxy{vms}.sock"));
    let counts = proxy(&sock);
    let (tx, rx) = mpsc::channel::<HostEvent>();
    let opts = WorkerOptions {
        poll_interval: Duration::from_millis(1500),
        inventory_interval: Duration::from_secs(3600),
        ..WorkerOptions::default()
    };
    let uri = format!("test+unix://{}?socket={}", xml.display(), sock.display());
    let handle: HostHandle = host::spawn(HostId(0), uri, opts, move |e| {
        let _ = tx.send(e);
    })
    .expect("spawn worker");
    let until = Instant::now() + Duration::from_secs(60);
    let next = || -> Snapshot {
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left).expect("a snapshot within 60 s") {
                HostEvent::Snapshot(s) => return s,
                HostEvent::Unreachable { error, .. } | HostEvent::Lost { error } => {
                    panic!("host failed: {error}")
                }
                _ => {}
            }
        }
    };
    let first = next();
    let rows_first = calls_to_first_list(&counts);
    assert_eq!(first.vms.len(), vms, "the first snapshot has every row");
    let listed_first = first.vms.iter().all(|v| v.known == Known::Listed);
    let mut s = first;
    while s.vms.iter().any(|v| v.known == Known::Listed) {
        s = next();
    }
    let m = total(&counts);
    let until_flagged = calls(&m) - infos(&m) - node_calls(&m) - metas(&m);
    while s.vms.iter().any(|v| v.known != Known::All) {
        s = next();
    }
    assert!(s.vms.iter().all(|v| v.vcpus > 0 && v.max_memory_kib > 0));
    // The metadata reads come after the rows, between ticks.
    while metas(&total(&counts)) < vms && Instant::now() < until {
        next();
    }
    let m = total(&counts);
    let infos = infos(&m);
    let metas = metas(&m);
    // Two ticks: the calls between consecutive snapshots once nothing is owed.
    let mut ticks = [0; 2];
    let mut before = calls(&total(&counts));
    next();
    before = calls(&total(&counts)).max(before);
    for t in &mut ticks {
        next();
        let now = calls(&total(&counts));
        *t = now - before;
        before = now;
    }
    drop(handle);
    Cost {
        rows_first,
        listed_first,
        until_flagged,
        infos,
        metas,
        ticks,
    }
}

fn lab(name: &str) -> Option<Dir> {
    if !Path::new(DAEMON).exists() {
        println!("skipped: no libvirtd socket at {DAEMON} (run scripts/lab.sh)");
        return None;
    }
    let dir = Dir(std::env::temp_dir().join(format!("vd-{name}-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    Some(dir)
}

#[test]
fn round_trips_per_host_do_not_grow_with_its_vms() {
    let Some(dir) = lab("rt") else { return };
    let small = measure(&dir.0, 10);
    let big = measure(&dir.0, 400);
    println!("10 VMs: {small:?}\n400 VMs: {big:?}");
    // Rows first: the list call's rows, before any per-VM fact.
    assert!(small.listed_first && big.listed_first);
    assert_eq!(
        big.rows_first, small.rows_first,
        "calls before the first rows"
    );
    assert_eq!(
        big.until_flagged, small.until_flagged,
        "calls until state and flags"
    );
    // The test driver's bulk stats carry no vCPUs or memory: one `info` per VM, once.
    assert_eq!((small.infos, big.infos), (10, 400));
    // virtdeck's metadata (tags, template mark): one read per VM per session, after the rows.
    assert_eq!((small.metas, big.metas), (10, 400));
    assert_eq!(big.ticks, small.ticks, "calls per tick");
    // Bulk stats, the node's CPU counters and its free memory (the test driver has no memory
    // stats): three, the array sizes being remembered from the first poll.
    assert!(big.ticks[0] <= 3, "calls per tick: {:?}", big.ticks);
}

/// Between inventories a tick reads the active domains' stats alone (most of a host's
/// domains may be off, and their figures do not move), and the shut-off ones stay listed.
#[test]
fn ticks_between_inventories_read_the_active_domains_alone() {
    let Some(dir) = lab("active") else { return };
    let xml = fleet(&dir.0, 40);
    let sock = dir.0.join("active.sock");
    let flags = StatsFlags::default();
    let _counts = slow_proxy(&sock, Arc::default(), Arc::clone(&flags));
    let opts = WorkerOptions {
        poll_interval: Duration::from_millis(300),
        inventory_interval: Duration::from_secs(3600),
        ..WorkerOptions::default()
    };
    let uri = format!("test+unix://{}?socket={}", xml.display(), sock.display());
    let (tx, rx) = mpsc::channel::<Snapshot>();
    let handle = host::spawn(HostId(0), uri, opts, move |e| {
        if let HostEvent::Snapshot(s) = e {
            let _ = tx.send(s);
        }
    })
    .expect("spawn worker");
    let next = || {
        rx.recv_timeout(Duration::from_secs(30))
            .expect("a snapshot")
    };
    let mut s = next();
    while s.vms.iter().any(|v| v.known != Known::All) {
        s = next();
    }
    let off = s.vms.iter().filter(|v| v.id.is_none()).count();
    assert!(
        off > 0 && off < 40,
        "the fleet has shut-off and running VMs: {off} off"
    );
    for _ in 0..4 {
        s = next();
        assert_eq!(s.vms.len(), 40, "every VM stays listed");
        assert_eq!(s.vms.iter().filter(|v| v.id.is_none()).count(), off);
        assert!(s.vms.iter().all(|v| v.known == Known::All));
    }
    drop(handle);
    let flags = flags.lock().unwrap().clone();
    assert!(flags.len() >= 4, "{flags:?}");
    assert_eq!(
        flags[0] & STATS_ACTIVE,
        0,
        "the inventory reads every domain: {flags:?}"
    );
    assert!(
        flags[1..].iter().all(|f| f & STATS_ACTIVE != 0),
        "ticks read the active ones: {flags:?}"
    );
}

/// A host that stops answering for a while delays only itself, and the ticks it missed are
/// skipped, not queued: no burst of back-to-back polls once it answers again.
#[test]
fn a_slow_host_delays_only_itself_and_skips_ticks() {
    let Some(dir) = lab("fair") else { return };
    let xml = fleet(&dir.0, 20);
    let slow_sock = dir.0.join("slow.sock");
    let delay_ms = Arc::new(AtomicU64::new(0));
    slow_proxy(&slow_sock, Arc::clone(&delay_ms), Arc::default());
    let (tx, rx) = mpsc::channel::<(usize, Instant)>();
    let opts = WorkerOptions {
        poll_interval: Duration::from_millis(100),
        inventory_interval: Duration::from_secs(3600),
        ..WorkerOptions::default()
    };
    let uris = [
        format!(
            "test+unix://{}?socket={}",
            xml.display(),
            slow_sock.display()
        ),
        format!("test+unix://{}", xml.display()),
    ];
    let handles: Vec<HostHandle> = uris
        .into_iter()
        .enumerate()
        .map(|(i, uri)| {
            let tx = tx.clone();
            host::spawn(HostId(i), uri, opts.clone(), move |e| {
                if let HostEvent::Snapshot(s) = e {
                    // Taken at once, as the app does, so the worker is never held back.
                    drop(s);
                    let _ = tx.send((i, Instant::now()));
                }
            })
            .expect("spawn worker")
        })
        .collect();
    let watch = |d: Duration| -> [Vec<Instant>; 2] {
        let (start, mut times) = (Instant::now(), <[Vec<Instant>; 2]>::default());
        while start.elapsed() < d {
            if let Ok((i, t)) = rx.recv_timeout(Duration::from_millis(50)) {
                times[i].push(t);
            }
        }
        times
    };
    // Both connect and pay what they owe.
    watch(Duration::from_secs(2));
    // 300 ms a call: one tick of the slow host outlasts many 100 ms intervals.
    delay_ms.store(300, Ordering::Relaxed);
    let during = watch(Duration::from_secs(2));
    delay_ms.store(0, Ordering::Relaxed);
    let after = watch(Duration::from_secs(2));
    drop(handles);
    println!(
        "while slow: slow host {} snapshots, fast host {}",
        during[0].len(),
        during[1].len()
    );
    let gaps: Vec<Duration> = after[0].windows(2).map(|w| w[1] - w[0]).collect();
    println!("after: slow host gaps {gaps:?}");
    assert!(
        during[0].len() <= 2,
        "the slow host kept its pace: {}",
        during[0].len()
    );
    assert!(
        during[1].len() >= 4,
        "the fast host was held up: {}",
        during[1].len()
    );
    // Once it answers, it polls at its interval again (a queue of missed ticks would come
    // back to back).
    assert!(gaps.len() >= 3, "the slow host did not recover: {gaps:?}");
    let min = gaps.iter().min().copied().unwrap_or_default();
    assert!(
        min >= Duration::from_millis(80),
        "back-to-back polls: {gaps:?}"
    );
}

/// libvirt 9.0's test driver crashes the daemon when asked for the addresses of a running
/// domain on a network without a DHCP range (`gen_fleet.py`'s `prod-br` bridge network):
/// the worker must not ask, and the daemon must still answer afterwards.
#[test]
fn asking_a_test_host_for_addresses_leaves_libvirtd_running() {
    let Some(dir) = lab("addr") else { return };
    let xml = fleet(&dir.0, 50);
    let src = std::fs::read_to_string(&xml).unwrap();
    assert!(
        src.contains("<source network='prod-br'/>"),
        "the fleet no longer has VMs on the range-less prod-br network"
    );
    let (tx, rx) = mpsc::channel::<HostEvent>();
    let uri = format!("test+unix://{}", xml.display());
    let handle = host::spawn(HostId(0), uri.clone(), WorkerOptions::default(), move |e| {
        let _ = tx.send(e);
    })
    .expect("spawn worker");
    let until = Instant::now() + Duration::from_secs(30);
    let mut asked = false;
    let answer = loop {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left).expect("an answer within 30 s") {
            HostEvent::Snapshot(_) if !asked => {
                handle.send(HostCommand::Network(NetCmd::Addresses));
                asked = true;
            }
            HostEvent::Addresses(a) => break a,
            HostEvent::Lost { error } | HostEvent::Unreachable { error, .. } => {
                panic!("the host went away: {error}")
            }
            _ => {}
        }
    };
    drop(handle);
    // The VMs on `default` (which has a range) still get the test driver's addresses.
    assert!(!answer.is_empty(), "no VM got an address");
    let alive = Command::new("virsh")
        .args(["-c", &uri, "list", "--all", "--name"])
        .output()
        .expect("run virsh");
    assert!(
        alive.status.success(),
        "libvirtd no longer answers: {}",
        String::from_utf8_lossy(&alive.stderr)
    );
}

fn bulk_stats(c: &Counts) -> usize {
    calls_to(&total(c), PROC_ALL_DOMAIN_STATS)
}

/// A host nothing on screen shows polls at the background interval, and at once when it is
/// shown again (issue 20: 100 hosts idle on the VM table, which shows one or two of them).
#[test]
fn a_background_host_polls_slowly_and_at_once_when_shown() {
    let Some(dir) = lab("pace") else { return };
    let xml = fleet(&dir.0, 10);
    let sock = dir.0.join("pace.sock");
    let counts = proxy(&sock);
    let opts = WorkerOptions {
        poll_interval: Duration::from_millis(200),
        background_interval: Duration::from_secs(30),
        inventory_interval: Duration::from_secs(3600),
        ..WorkerOptions::default()
    };
    let uri = format!("test+unix://{}?socket={}", xml.display(), sock.display());
    let (tx, rx) = mpsc::channel::<()>();
    let handle = host::spawn(HostId(0), uri, opts, move |e| {
        if let HostEvent::Snapshot(s) = e {
            drop(s);
            let _ = tx.send(());
        }
    })
    .expect("spawn worker");
    rx.recv_timeout(Duration::from_secs(30))
        .expect("a first snapshot");
    std::thread::sleep(Duration::from_secs(1));
    let shown = bulk_stats(&counts);
    assert!(
        shown >= 3,
        "polling every 200 ms: {shown} stats calls in 1 s"
    );
    handle.send(HostCommand::Pace(host::Pace::Background));
    std::thread::sleep(Duration::from_millis(300));
    let from = bulk_stats(&counts);
    std::thread::sleep(Duration::from_secs(2));
    let background = bulk_stats(&counts) - from;
    assert_eq!(background, 0, "stats calls in 2 s of background");
    handle.send(HostCommand::Pace(host::Pace::Shown));
    std::thread::sleep(Duration::from_millis(150));
    let back = bulk_stats(&counts) - from;
    drop(handle);
    // The last poll was long ago: shown again, it polls before its next 200 ms interval.
    assert!(back >= 1, "no poll within 150 ms of being shown");
}
