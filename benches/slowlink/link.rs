//! The slow link: a network namespace joined to the root one by a veth pair, and 25 ms of
//! delay each way on it — `tc netem` on both ends where the kernel has it, else a userspace
//! delay relay inside the namespace (this binary again, `VIRTDECK_SLOWLINK_ROLE=relay`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::Res;

/// How the delay is put on the link.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Delay {
    /// `tc qdisc … netem delay` on both veth ends: every packet waits, TCP sees the RTT.
    Netem,
    /// A relay in the namespace holds every chunk of bytes for the delay in each direction.
    Relay,
}

impl Delay {
    pub fn describe(self, each_way: Duration) -> String {
        let ms = each_way.as_millis();
        match self {
            Delay::Netem => format!("tc netem delay {ms}ms on both veth ends"),
            Delay::Relay => {
                format!("userspace relay in the netns, {ms} ms each way (kernel has no sch_netem)")
            }
        }
    }
}

/// Runs `ip ARGS`; the error carries ip's own message.
pub fn ip(args: &[&str]) -> Res<()> {
    run("ip", args)
}

fn run(prog: &str, args: &[&str]) -> Res<()> {
    let o = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{prog}: {e}"))?;
    if o.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&o.stderr);
    Err(format!("{prog} {}: {}", args.join(" "), err.trim()).into())
}

pub fn on_path(prog: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|d| d.join(prog).is_file())
}

/// The namespace and the veth pair; both deleted when dropped.
pub struct Netns {
    pub name: String,
    /// The root namespace's end.
    outer: String,
    /// The namespace's end.
    inner: String,
    /// The namespace's address (the root end has the one before it).
    pub addr: String,
    pub delay: Delay,
}

impl Netns {
    /// Creates `vdslow-<pid>` with a /30 in a 10.213.x.0/24 no root-namespace interface uses.
    /// `want`: None tries netem and falls back to the relay; Some(x) insists on x.
    pub fn create(each_way: Duration, want: Option<Delay>) -> Res<Netns> {
        let pid = std::process::id();
        let used = Command::new("ip")
            .args(["-o", "-4", "addr", "show"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let net = (0..16384u32)
            .map(|i| (pid.wrapping_add(i) % 16384) * 4)
            .map(|n| format!("10.213.{}.{}", n / 256, n % 256))
            .find(|base| {
                let prefix = base.rsplit_once('.').map_or("", |(p, _)| p);
                !used.contains(&format!("{prefix}."))
            })
            .ok_or("no free /30 in 10.213.0.0/16")?;
        let (prefix, last) = net.rsplit_once('.').ok_or("bad address")?;
        let last: u32 = last.parse()?;
        let outer_addr = format!("{prefix}.{}", last + 1);
        let inner_addr = format!("{prefix}.{}", last + 2);
        let name = format!("vdslow-{pid}");
        ip(&["netns", "add", &name])?;
        // From here on Drop cleans up whatever was made.
        let mut ns = Netns {
            name,
            outer: format!("vds{pid}a"),
            inner: format!("vds{pid}b"),
            addr: inner_addr,
            delay: Delay::Relay,
        };
        let n = ns.name.clone();
        ip(&[
            "link", "add", &ns.outer, "type", "veth", "peer", "name", &ns.inner,
        ])?;
        ip(&["link", "set", &ns.inner, "netns", &n])?;
        ip(&["addr", "add", &format!("{outer_addr}/30"), "dev", &ns.outer])?;
        ip(&["link", "set", &ns.outer, "up"])?;
        ip(&[
            "-n",
            &n,
            "addr",
            "add",
            &format!("{}/30", ns.addr),
            "dev",
            &ns.inner,
        ])?;
        ip(&["-n", &n, "link", "set", &ns.inner, "up"])?;
        ip(&["-n", &n, "link", "set", "lo", "up"])?;
        let d = format!("{}ms", each_way.as_millis());
        if want != Some(Delay::Relay) && on_path("modprobe") {
            // Where netem is a module; a kernel without modules (the lab's) has no modprobe.
            let _ = run("modprobe", &["sch_netem"]);
        }
        let netem = if want == Some(Delay::Relay) {
            Err("relay asked for".into())
        } else {
            run(
                "tc",
                &[
                    "qdisc", "add", "dev", &ns.outer, "root", "netem", "delay", &d,
                ],
            )
            .and_then(|_| {
                run(
                    "ip",
                    &[
                        "netns", "exec", &n, "tc", "qdisc", "add", "dev", &ns.inner, "root",
                        "netem", "delay", &d,
                    ],
                )
            })
        };
        match (netem, want) {
            (Ok(()), _) => ns.delay = Delay::Netem,
            (Err(e), Some(Delay::Netem)) => return Err(format!("netem: {e}").into()),
            (Err(_), _) => {
                // A half-applied qdisc must not add a second delay on top of the relay.
                let _ = run("tc", &["qdisc", "del", "dev", &ns.outer, "root"]);
                ns.delay = Delay::Relay;
            }
        }
        Ok(ns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting one end deletes the pair, wherever the other end is.
        let _ = ip(&["link", "del", &self.outer]);
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// The relay process; killed when dropped.
pub struct Relay {
    child: Child,
}

impl Relay {
    /// Starts this binary as a relay inside `ns`, listening on `listen` and forwarding to
    /// `upstream`; returns once it listens.
    pub fn start(ns: &Netns, listen: &str, upstream: &str, each_way: Duration) -> Res<Relay> {
        let exe = std::env::current_exe()?;
        let exe = exe.to_str().ok_or("the bench's path is not UTF-8")?;
        let mut child = Command::new("ip")
            .args(["netns", "exec", &ns.name, exe])
            .env(super::ROLE, "relay")
            .env("VIRTDECK_SLOWLINK_LISTEN", listen)
            .env("VIRTDECK_SLOWLINK_UPSTREAM", upstream)
            .env(
                "VIRTDECK_SLOWLINK_DELAY_NS",
                each_way.as_nanos().to_string(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            BufReader::new(out).read_line(&mut line)?;
        }
        let relay = Relay { child };
        if line.trim() != "ready" {
            return Err(format!("the relay did not start (said {line:?})").into());
        }
        Ok(relay)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The relay's main: accept, connect upstream, and pass bytes both ways, each chunk held
/// until `delay` after it was read. A latency-only link like `netem delay` without a rate;
/// unlike netem, TCP on either side sees a short RTT, so slow start costs no extra trips.
pub fn relay_main() -> Res<()> {
    // Dies with the bench even when the bench is SIGKILLed (no guard runs then).
    // SAFETY: prctl with PR_SET_PDEATHSIG only sets a flag on this process.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    let listen = std::env::var("VIRTDECK_SLOWLINK_LISTEN")?;
    let upstream = std::env::var("VIRTDECK_SLOWLINK_UPSTREAM")?;
    let delay = Duration::from_nanos(std::env::var("VIRTDECK_SLOWLINK_DELAY_NS")?.parse()?);
    let l = TcpListener::bind(&listen)?;
    println!("ready");
    std::io::stdout().flush()?;
    for down in l.incoming().flatten() {
        let up = upstream.clone();
        std::thread::spawn(move || {
            if let Ok(up) = TcpStream::connect(&up) {
                let _ = join(down, up, delay);
            }
        });
    }
    Ok(())
}

fn join(down: TcpStream, up: TcpStream, delay: Duration) -> std::io::Result<()> {
    down.set_nodelay(true)?;
    up.set_nodelay(true)?;
    pipe(down.try_clone()?, up.try_clone()?, delay);
    pipe(up, down, delay);
    Ok(())
}

/// One direction: a reader stamps each chunk, a writer sends it when its time comes.
fn pipe(mut from: TcpStream, to: TcpStream, delay: Duration) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let stop_from = from.try_clone();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0
                || tx
                    .send((Instant::now() + delay, buf[..n].to_vec()))
                    .is_err()
            {
                break;
            }
        }
    });
    std::thread::spawn(move || {
        let mut to = to;
        for (due, data) in rx {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            if to.write_all(&data).is_err() {
                break;
            }
        }
        // The reader hit EOF (or the peer went): pass the close on, and stop reading.
        let _ = to.shutdown(Shutdown::Write);
        if let Ok(f) = stop_from {
            let _ = f.shutdown(Shutdown::Read);
        }
    });
}

/// TCP handshake times to `addr` (one SYN / SYN-ACK round trip each): a ping without ICMP.
pub fn tcp_ping(addr: &str, n: usize) -> Vec<f64> {
    (0..n)
        .filter_map(|_| {
            let t = Instant::now();
            let s = TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(5));
            let ms = t.elapsed().as_secs_f64() * 1e3;
            drop(s.ok()?);
            std::thread::sleep(Duration::from_millis(20));
            Some(ms)
        })
        .collect()
}
