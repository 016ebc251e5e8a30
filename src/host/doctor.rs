//! The libvirt side of `virtdeck doctor`: one host opened on a thread of its own with a
//! deadline (a host that does not answer costs at most the timeout, never a hang), then the
//! facts the checks judge: versions, access, KVM, networks, pools and the running VMs' live
//! XML (for their displays). `crate::doctor` turns them into lines.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use virt::connect::Connect;

/// At most this many running VMs have their displays checked (a fleet host has hundreds).
pub const MAX_VMS: usize = 20;

/// What one host told us once it was open.
#[derive(Clone, Debug)]
pub struct Facts {
    pub connect_time: Duration,
    /// Only the read-only open worked; the full open's error.
    pub readonly_because: Option<String>,
    pub hostname: Option<String>,
    /// virConnectGetType: "QEMU", "Test"…
    pub driver: Option<String>,
    pub hv_version: Option<u32>,
    /// The daemon's libvirt version.
    pub lib_version: Option<u32>,
    /// KVM in the domain capabilities: Ok(true) available, Ok(false) not (with libvirt's
    /// word in `kvm_error`); None when the driver is not QEMU.
    pub kvm: Option<bool>,
    pub kvm_error: Option<String>,
    /// (name, active) of every network, or why they could not be listed.
    pub networks: Result<Vec<(String, bool)>, String>,
    pub pools: Result<Vec<(String, bool)>, String>,
    /// (name, live XML) of the first [`MAX_VMS`] running VMs, and how many run in all. The
    /// XML is read with VIR_DOMAIN_XML_SECURE on a full connection (`secure_xml`), so a
    /// display without a password can be told from one whose password is hidden.
    pub running: Result<Vec<(String, String)>, String>,
    pub secure_xml: bool,
    pub running_total: usize,
}

impl Default for Facts {
    fn default() -> Facts {
        Facts {
            connect_time: Duration::ZERO,
            readonly_because: None,
            hostname: None,
            driver: None,
            hv_version: None,
            lib_version: None,
            kvm: None,
            kvm_error: None,
            networks: Ok(Vec::new()),
            pools: Ok(Vec::new()),
            running: Ok(Vec::new()),
            secure_xml: false,
            running_total: 0,
        }
    }
}

/// This machine's libvirt library version.
pub fn client_version() -> Option<u32> {
    Connect::version().ok()
}

enum Step {
    Connected(Duration),
    Done(Box<Result<Facts, String>>),
}

fn open(uri: &str) -> Result<(Connect, Option<String>), String> {
    let eff = super::effective_uri(uri);
    match Connect::open(Some(&eff)) {
        Ok(c) => Ok((c, None)),
        Err(full) => {
            let full = super::message(&full);
            match Connect::open_read_only(Some(&eff)) {
                Ok(c) => Ok((c, Some(full))),
                Err(_) => Err(super::with_hint(uri, full)),
            }
        }
    }
}

fn facts(conn: &Connect, connect_time: Duration, readonly_because: Option<String>) -> Facts {
    let msg = |e: virt::error::Error| super::message(&e);
    let driver = conn.driver_type().ok();
    let (kvm, kvm_error) = if driver.as_deref() == Some("QEMU") {
        match conn.domain_capabilities(None, None, None, Some("kvm"), 0) {
            Ok(_) => (Some(true), None),
            Err(e) => (Some(false), Some(msg(e))),
        }
    } else {
        (None, None)
    };
    let networks = conn.list_all_networks(0).map_err(msg).map(|ns| {
        ns.iter()
            .filter_map(|n| Some((n.name().ok()?, n.is_active().unwrap_or(false))))
            .collect()
    });
    let pools = conn.list_all_storage_pools(0).map_err(msg).map(|ps| {
        ps.iter()
            .filter_map(|p| Some((p.name().ok()?, p.is_active().unwrap_or(false))))
            .collect()
    });
    let mut running_total = 0;
    let secure_xml = readonly_because.is_none();
    let flags = if secure_xml {
        virt::sys::VIR_DOMAIN_XML_SECURE
    } else {
        0
    };
    let running = conn
        .list_all_domains(virt::sys::VIR_CONNECT_LIST_DOMAINS_ACTIVE)
        .map_err(msg)
        .map(|ds| {
            running_total = ds.len();
            ds.iter()
                .take(MAX_VMS)
                .filter_map(|d| Some((d.name().ok()?, d.xml_desc(flags).ok()?)))
                .collect()
        });
    Facts {
        connect_time,
        readonly_because,
        hostname: conn.hostname().ok(),
        driver,
        hv_version: conn.hyp_version().ok(),
        lib_version: conn.lib_version().ok(),
        kvm,
        kvm_error,
        networks,
        pools,
        running,
        secure_xml,
        running_total,
    }
}

/// Opens `uri` (ssh never prompts: `no_tty=1`) and reads its facts. The open must answer
/// within `timeout`, the rest within twice that; else the error says how long it waited.
pub fn probe(uri: &str, timeout: Duration) -> Result<Facts, String> {
    super::ensure_event_loop();
    let (tx, rx) = mpsc::channel();
    let owned = uri.to_string();
    // Left behind (and dropped at exit) when the host never answers.
    let spawned = std::thread::Builder::new()
        .name("doctor-probe".into())
        .spawn(move || {
            let t0 = Instant::now();
            let (conn, ro) = match open(&owned) {
                Ok(c) => c,
                Err(e) => {
                    let _ = tx.send(Step::Done(Box::new(Err(e))));
                    return;
                }
            };
            let took = t0.elapsed();
            // A host that stops answering fails the next call instead of blocking it.
            let _ = conn.set_keep_alive(2, 2);
            let _ = tx.send(Step::Connected(took));
            let _ = tx.send(Step::Done(Box::new(Ok(facts(&conn, took, ro)))));
        });
    if let Err(e) = spawned {
        return Err(format!("cannot start a thread: {e}"));
    }
    let secs = timeout.as_secs_f64();
    match rx.recv_timeout(timeout) {
        Ok(Step::Done(r)) => *r,
        Ok(Step::Connected(took)) => match rx.recv_timeout(timeout * 2) {
            Ok(Step::Done(r)) => *r,
            _ => Err(format!(
                "connected in {:.1} s, then no answer within {:.0} s",
                took.as_secs_f64(),
                secs * 2.0
            )),
        },
        Err(_) => Err(format!("no answer within {secs:.0} s")),
    }
}
