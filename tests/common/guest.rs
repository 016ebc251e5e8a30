//! The tiny KVM test guest (tests/guest): built with nasm, defined on qemu:///system under a
//! hostile unique name, destroyed and undefined on drop even when the test fails.

use std::path::PathBuf;
use std::process::Command;

use std::time::Duration;

use virt::connect::Connect;
use virtdeck::app::HostSpec;
use virtdeck::host::WorkerOptions;

pub const URI: &str = "qemu:///system";

/// qemu:///system answers (storage and network tests need no KVM). Without it the test is
/// skipped, unless VIRTDECK_REQUIRE_KVM=1 says it must run.
pub fn daemon_available() -> bool {
    virtdeck::host::ensure_event_loop();
    let ok = Connect::open(Some(URI)).is_ok();
    if !ok {
        assert!(
            std::env::var("VIRTDECK_REQUIRE_KVM").as_deref() != Ok("1"),
            "VIRTDECK_REQUIRE_KVM=1 but {URI} is not available (run scripts/lab.sh)"
        );
        eprintln!("skipping: {URI} not available");
    }
    ok
}

/// A name no other test (or test run) uses: tests share one daemon.
pub fn unique(tag: &str) -> String {
    static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    format!(
        "vdk-{tag}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    )
}

pub fn kvm_available() -> bool {
    virtdeck::host::ensure_event_loop();
    let ok = Connect::open(Some(URI))
        .and_then(|c| c.capabilities())
        .map(|caps| caps.contains("domain type='kvm'"))
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var("VIRTDECK_REQUIRE_KVM").as_deref() != Ok("1"),
            "VIRTDECK_REQUIRE_KVM=1 but {URI} with KVM is not available (run scripts/lab.sh)"
        );
        eprintln!("skipping: {URI} with KVM not available");
    }
    ok
}

/// A defined tiny guest, undefined (and destroyed) on drop even when the test fails.
pub struct Guest {
    pub name: String,
    pub uuid: String,
    _dir: tempfile::TempDir,
}

impl Guest {
    pub fn define(tag: &str) -> Guest {
        let dir = tempfile::Builder::new()
            .prefix("vdk-guest-")
            .tempdir()
            .unwrap();
        let disk: PathBuf = dir.path().join("tiny.img");
        let asm = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/guest/tiny.asm");
        let out = Command::new("nasm")
            .args(["-f", "bin", "-o"])
            .arg(&disk)
            .arg(asm)
            .output()
            .expect("nasm is installed (scripts/lab.sh installs it)");
        assert!(
            out.status.success(),
            "nasm: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A hostile but legal name: XML specials, quotes and unicode must survive.
        let name = format!(
            "vdk-{tag}-{}-{} <&'\"> ü",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let template = include_str!("../guest/tiny.xml");
        let xml = template
            .replace("@NAME@", &quick_xml::escape::escape(name.as_str()))
            .replace(
                "@DISK@",
                &quick_xml::escape::escape(disk.to_string_lossy().as_ref()),
            );
        let conn = Connect::open(Some(URI)).unwrap();
        let dom = conn.define_domain_xml(&xml).expect("define tiny guest");
        assert_eq!(dom.name().unwrap(), name, "name survives XML escaping");
        Guest {
            name,
            uuid: dom.uuid_string().unwrap(),
            _dir: dir,
        }
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        if let Ok(conn) = Connect::open(Some(URI)) {
            if let Ok(dom) = conn.lookup_domain_by_uuid_string(&self.uuid) {
                let _ = dom.destroy();
                let _ = dom.undefine_flags(virt::sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE);
            }
        }
    }
}

pub fn live(poll: Duration) -> super::Live {
    live_with(WorkerOptions {
        poll_interval: poll,
        ..WorkerOptions::default()
    })
}

pub fn live_with(opts: WorkerOptions) -> super::Live {
    super::start(
        vec![(
            HostSpec {
                name: "local".into(),
                uri: URI.into(),
            },
            opts,
        )],
        false,
    )
}

pub fn select(live: &mut super::Live, g: &Guest) {
    let ok = live.pump_until(Duration::from_secs(15), |app| {
        app.hosts[0].vms.iter().any(|v| v.uuid == g.uuid)
    });
    assert!(ok, "guest appears in the table");
    // The filter is a plain substring; the unique prefix finds just this guest.
    let prefix: String = g.name.split(' ').next().unwrap().to_string();
    live.press("/");
    live.type_text(&prefix);
    live.press("<Enter>");
    assert_eq!(live.app.vms.rows.len(), 1, "filter finds exactly the guest");
    assert_eq!(live.app.vm(live.app.selected_row().unwrap()).1.uuid, g.uuid);
}
