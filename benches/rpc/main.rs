//! Round trips per host (issue 20, items 1 and 5): `cargo bench --bench rpc`.
//!
//! 1. For hosts of 10, 500 and 5,000 VMs (gen_fleet test-driver files served by the running
//!    libvirtd as `test+unix:///FILE`), counts the libvirt RPC calls one virtdeck host worker
//!    makes on connect, until its first complete snapshot (every VM with its state and
//!    autostart flag), and per poll tick afterwards; next to them, the calls of `virsh list
//!    --all` and `virsh domstats` on the same host. Calls are counted in libvirt's client log
//!    (see `log.rs`), which libvirt reads from the environment when it initialises: each
//!    measurement runs in a child process of this binary (`VIRTDECK_RPC_SCENARIO`).
//! 2. A 10,000-VM host: start → first frame with VM rows, against the wall time of `virsh
//!    list --all` on the same URI (interleaved runs), RSS once the rows are shown, and filter
//!    keystroke → frame at 200×50.
//!
//! Knobs: `VIRTDECK_RPC_SIZES` (default "10,500,5000"), `VIRTDECK_RPC_BIG` (default 10000),
//! `VIRTDECK_RPC_RUNS` (default 3), `VIRTDECK_RPC_KEYS` (keys per run, default 300).
//! Needs a libvirtd on this machine (`scripts/lab.sh`) and `virsh`; prints `skipped: …`
//! otherwise.

#[path = "../support/children.rs"]
mod children;
#[path = "../support/keys.rs"]
mod keys;
use children::Out;
#[path = "../support/report.rs"]
mod report;

mod count;
mod fleet;
mod log;
mod rows;
mod table;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use report::sorted;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const SCENARIO: &str = "VIRTDECK_RPC_SCENARIO";
const URI: &str = "VIRTDECK_RPC_URI";
const XML: &str = "VIRTDECK_RPC_XML";
const LOG: &str = "VIRTDECK_RPC_LOG";
const SPAWNED_AT: &str = "VIRTDECK_RPC_SPAWNED_AT_NS";

fn emit(key: &str, value: f64) {
    println!("@@ {key} {value}");
}

fn note(text: &str) {
    println!("## {text}");
}

fn wall_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn env_path(name: &str) -> Res<PathBuf> {
    Ok(std::env::var(name)
        .map_err(|_| format!("{name} is not set"))?
        .into())
}

fn run_scenario(name: &str) -> Res<()> {
    let uri = std::env::var(URI).map_err(|_| format!("{URI} is not set"))?;
    match name {
        "calibrate" => count::calibrate(&uri, &env_path(LOG)?),
        "count" => count::worker(&uri, &env_path(XML)?, &env_path(LOG)?),
        "rows" => rows::first_rows(&uri, &env_path(XML)?, env_or("VIRTDECK_RPC_KEYS", 300)),
        other => Err(format!("unknown scenario {other}").into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Parent

/// Runs this binary as `scenario`; its numbers are stored under `prefix.` + key.
fn child(out: &mut Out, prefix: &str, scenario: &str, envs: &[(&str, &Path)], log: Option<&Path>) {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return out.errors.push(format!("{prefix}: {e}")),
    };
    let mut cmd = Command::new(exe);
    cmd.env(SCENARIO, scenario)
        .env(SPAWNED_AT, wall_ns().to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    log_env(&mut cmd, log);
    if let Some(l) = log {
        cmd.env(LOG, l);
    }
    out.take_output(prefix, &format!("{prefix}."), cmd.output());
}

/// libvirt's client log to `log` (every RPC and API line), or no log at all: a debug log
/// slows libvirt down, so timed runs go without.
fn log_env(cmd: &mut Command, log: Option<&Path>) {
    match log {
        Some(p) => cmd
            .env("LIBVIRT_LOG_FILTERS", log::FILTERS)
            .env("LIBVIRT_LOG_OUTPUTS", format!("1:file:{}", p.display())),
        None => cmd
            .env_remove("LIBVIRT_LOG_FILTERS")
            .env_remove("LIBVIRT_LOG_OUTPUTS"),
    };
    cmd.env_remove("LIBVIRT_DEBUG");
}

/// `virsh -c uri ARGS`, with stdout thrown away; its wall time in seconds.
fn virsh(uri: &str, args: &[&str], log: Option<&Path>) -> Res<f64> {
    let mut cmd = Command::new("virsh");
    cmd.arg("-c")
        .arg(uri)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    log_env(&mut cmd, log);
    let t = Instant::now();
    let out = cmd.output()?;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!(
            "virsh {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(secs)
}

/// Calls `virsh ARGS` makes on `uri`, with the names of the calls.
fn virsh_calls(uri: &str, args: &[&str], log: &Path) -> Res<(usize, String)> {
    virsh(uri, args, Some(log))?;
    let mut tail = log::Tail::new(log);
    tail.poll()?;
    Ok((log::calls(&tail.events), log::breakdown(&tail.events)))
}

/// Why the bench cannot run here, if it cannot: no virsh, or no libvirtd serving the test
/// driver over its socket.
fn unreachable() -> Option<String> {
    let uri = "test+unix:///default";
    match virsh(uri, &["-q", "uri"], None) {
        Ok(_) => None,
        Err(e) => Some(format!(
            "cannot reach libvirtd through {uri} with virsh: {e}"
        )),
    }
}

fn sizes() -> Vec<usize> {
    std::env::var("VIRTDECK_RPC_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|v| v.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![10, 500, 5000])
}

fn median(v: &[f64]) -> Option<f64> {
    let s = sorted(v.to_vec());
    (!s.is_empty()).then(|| s[s.len() / 2])
}

fn parent() -> Res<()> {
    let started = Instant::now();
    let sizes = sizes();
    let big = env_or("VIRTDECK_RPC_BIG", 10_000);
    let runs = env_or("VIRTDECK_RPC_RUNS", 3);
    // Removed when dropped, on every return below (errors included).
    let dir = tempfile::Builder::new().prefix("virtdeck-rpc-").tempdir()?;
    let file = |name: String| dir.path().join(name);
    let uri_of = |p: &Path| format!("test+unix://{}", p.display());

    if let Some(why) = unreachable() {
        println!("skipped: {why}");
        return Ok(());
    }
    let small = file(format!("fleet-{}.xml", sizes[0]));
    fleet::generate(sizes[0], true, &small)?;
    let mut out = Out::default();

    eprintln!("rpc: calibrating the count on a known sequence…");
    let log = file("calibrate.log".into());
    child(
        &mut out,
        "calibrate",
        "calibrate",
        &[(URI, Path::new(&uri_of(&small)))],
        Some(&log),
    );

    let mut count_rows = Vec::new();
    for &n in &sizes {
        let xml = file(format!("fleet-{n}.xml"));
        if !xml.exists() {
            fleet::generate(n, true, &xml)?;
        }
        let uri = uri_of(&xml);
        eprintln!("rpc: counting calls on {n} VMs…");
        let log = file(format!("worker-{n}.log"));
        let p = format!("n{n}");
        child(
            &mut out,
            &p,
            "count",
            &[(URI, Path::new(&uri)), (XML, &xml)],
            Some(&log),
        );
        let mut reference = |what: &str, args: &[&str]| -> String {
            let log = file(format!("virsh-{what}-{n}.log"));
            match virsh_calls(&uri, args, &log) {
                Ok((c, names)) => {
                    out.notes
                        .push(format!("[{p}] virsh {}: {names}", args.join(" ")));
                    c.to_string()
                }
                Err(e) => {
                    out.errors.push(format!("{p}: {e}"));
                    "n/a".into()
                }
            }
        };
        let list = reference("list", &["list", "--all"]);
        let domstats = reference("domstats", &["domstats"]);
        count_rows.push((n, list, domstats));
    }

    eprintln!("rpc: {big} VMs, start → rows against virsh list --all, {runs} runs…");
    let xml = file(format!("big-{big}.xml"));
    fleet::generate(big, false, &xml)?;
    let uri = uri_of(&xml);
    let mut virsh_secs = Vec::new();
    for _ in 0..runs {
        match virsh(&uri, &["list", "--all"], None) {
            Ok(s) => virsh_secs.push(s),
            Err(e) => out.errors.push(format!("big: {e}")),
        }
        child(
            &mut out,
            "big",
            "rows",
            &[(URI, Path::new(&uri)), (XML, &xml)],
            None,
        );
    }

    table::print(&out, &count_rows, big, &virsh_secs, started);
    Ok(())
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if let Ok(s) = std::env::var(SCENARIO) {
        if let Err(e) = run_scenario(&s) {
            println!("!! {e}");
            std::process::exit(1);
        }
        return;
    }
    if let Err(e) = parent() {
        eprintln!("rpc: {e}");
        std::process::exit(1);
    }
}
