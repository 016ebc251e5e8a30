//! Migration between two real libvirt daemons on this machine: qemu:///system (scripts/lab.sh)
//! and a private second daemon (scripts/libvirtd2.sh), driven through the host worker's
//! `MigrateCmd`s. The tiny boot-sector guest's disk lives under /tmp, the same file for both
//! daemons, so migrations pass "allow unsafe" (libvirt cannot tell the file is shared).
//! Skipped without the lab, unless VIRTDECK_REQUIRE_KVM=1.

mod common;

use std::process::Command;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use virtdeck::app::PaneId;

use common::guest::{kvm_available, Guest, URI};
use common::worker::Worker;
use virt::connect::Connect;
use virtdeck::app::HostSpec;
use virtdeck::host::migrate::{MigrateCmd, MigrationTarget, Report};
use virtdeck::host::{HostCommand, Reply, RequestId};
use virtdeck::migrate::preflight::{blocking, Check, Status};
use virtdeck::model::migration::{
    Migration, MigrationEvent, MigrationKind, MigrationOptions, Outcome, Phase, PostCopy, Setting,
};
use virtdeck::model::storage::StorageInventory;
use virtdeck::model::HostId;

/// The second daemon, shared by the tests running at the same time: the first one in starts
/// it, the last one out stops it (`libvirtd2.sh` start and stop are idempotent), also when a
/// test fails (the guard's drop runs during unwinding).
struct Lab2 {
    tcp: String,
}

static USERS: Mutex<usize> = Mutex::new(0);

fn lab_dir() -> String {
    format!("/run/vdk-mig-{}", std::process::id())
}

fn script(arg: &str) -> std::process::Output {
    Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/libvirtd2.sh"))
        .arg(arg)
        .env(
            "VIRTDECK_LAB2_DIR",
            format!("/run/vdk-mig-{}", std::process::id()),
        )
        .env("VIRTDECK_LAB2_PORT", "16552")
        .env("VIRTDECK_LAB2_HOSTNAME", "vd-mig2")
        .output()
        .expect("bash runs")
}

impl Lab2 {
    fn acquire() -> Lab2 {
        let mut users = USERS.lock().unwrap_or_else(PoisonError::into_inner);
        let out = script("start");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "libvirtd2 start: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        *users += 1;
        let tcp = text
            .lines()
            .find_map(|l| l.strip_prefix("tcp="))
            .expect("start prints tcp=URI")
            .to_string();
        Lab2 { tcp }
    }
}

impl Drop for Lab2 {
    fn drop(&mut self) {
        let mut users = USERS.lock().unwrap_or_else(PoisonError::into_inner);
        *users -= 1;
        if *users == 0 {
            let _ = script("stop");
            // The script keeps its lock file beside the base directory; ours is unique.
            let _ = std::fs::remove_file(format!("{}.lock", lab_dir()));
        }
    }
}

/// The first global IPv4 address of this machine: where the target's QEMU is reached
/// (libvirt refuses a loopback migration address).
/// The app with this daemon as "src" and the second as "dst" (reached at `tcp`), the
/// migration address of the second set as a user would.
fn two_hosts(tcp: &str) -> common::Live {
    let opts = virtdeck::host::WorkerOptions::default();
    let mut live = common::start(
        vec![
            (
                HostSpec {
                    name: "src".into(),
                    uri: URI.into(),
                },
                opts.clone(),
            ),
            (
                HostSpec {
                    name: "dst".into(),
                    uri: tcp.to_string(),
                },
                opts,
            ),
        ],
        false,
    );
    live.app
        .settings
        .migration_addresses
        .insert(tcp.to_string(), migration_address());
    live
}

fn migration_address() -> String {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .expect("ip runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            w.find(|&x| x == "inet")?;
            Some(w.next()?.split('/').next()?.to_string())
        })
        .expect("a global IPv4 address")
}

/// Removes the VM from the target daemon on drop (destroy + undefine), even after a failure.
struct OnTarget {
    uri: String,
    uuid: String,
}

impl Drop for OnTarget {
    fn drop(&mut self) {
        if let Ok(c) = Connect::open(Some(&self.uri)) {
            if let Ok(d) = c.lookup_domain_by_uuid_string(&self.uuid) {
                let _ = d.destroy();
                let _ = d.undefine();
            }
        }
    }
}

fn lab_ready() -> bool {
    kvm_available()
}

fn target(lab: &Lab2) -> MigrationTarget {
    MigrationTarget {
        uri: lab.tcp.clone(),
        migration_address: Some(migration_address()),
    }
}

/// Types `word` + Enter on the VM's serial console until the guest echoes it (the guest may
/// still be booting, and the first keys after attaching can be lost). Uses virtdeck's console
/// link, as the console view does.
fn console_echoes(uri: &str, uuid: &str, word: &str, timeout: Duration) -> bool {
    let conn = Connect::open(Some(uri)).unwrap();
    let dom = conn.lookup_domain_by_uuid_string(uuid).unwrap();
    let stream = virt::stream::Stream::new(&conn, 0).unwrap();
    dom.open_console(None, &stream, virt::sys::VIR_DOMAIN_CONSOLE_FORCE)
        .unwrap();
    let link = virtdeck::console::Link::new(24, 80);
    link.attach(std::sync::Arc::new(stream));
    let want = format!("echo: {word}");
    let start = Instant::now();
    let until = start + timeout;
    let mut ok = false;
    let mut reset = false;
    while Instant::now() < until && !ok {
        // A serial port stalled at boot (loaded CI runs) comes back with one reset.
        if !reset && start.elapsed() > timeout / 2 {
            eprintln!("no echo of {word} in {:?}, resetting once", timeout / 2);
            reset = dom.reset().is_ok();
        }
        link.send(format!("{word}\r").into_bytes());
        let tick = Instant::now() + Duration::from_millis(700);
        while Instant::now() < tick && !ok {
            std::thread::sleep(Duration::from_millis(50));
            ok = link.with_screen(0, |s| s.contents().contains(&want));
        }
    }
    link.detach();
    ok
}

/// Collects a migration's events into a record until it finishes.
fn follow(
    rx: &Receiver<virtdeck::host::HostEvent>,
    m: &mut Migration,
    timeout: Duration,
    mut each: impl FnMut(&Migration, &MigrationEvent),
) -> Vec<MigrationEvent> {
    let until = Instant::now() + timeout;
    let mut log = Vec::new();
    while !m.phase.is_finished() {
        let left = until.saturating_duration_since(Instant::now());
        let ev = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("migration did not finish in {timeout:?}: {log:?}"));
        if let virtdeck::host::HostEvent::Migration(u) = ev {
            assert_eq!(u.id, m.id);
            m.apply(&u.event, Instant::now());
            each(m, &u.event);
            log.push(u.event);
        }
    }
    log
}

fn report() -> (Report, Receiver<virtdeck::host::HostEvent>) {
    let (tx, rx) = mpsc::channel();
    let r = Report::new(move |ev| {
        let _ = tx.send(ev);
    });
    (r, rx)
}

/// Sends migration `id` of `g` to the lab's second daemon through `w`: the `Migration` the
/// app would keep for it and the channel its events come on. Migration ids are process-wide
/// in the runner; the App in the UI test counts from 1, so these are 9001 and up.
fn start(
    w: &Worker<StorageInventory>,
    lab: &Lab2,
    g: &Guest,
    id: u64,
    options: MigrationOptions,
) -> (Migration, Receiver<virtdeck::host::HostEvent>) {
    let (report, rx) = report();
    let m = Migration::new(id, &g.name, &g.uuid, HostId(0), HostId(1), options.clone());
    w.handle.send(HostCommand::Migrate(MigrateCmd::Start {
        id,
        uuid: g.uuid.clone(),
        target: target(lab),
        options,
        report,
    }));
    (m, rx)
}

/// The directory of the guest's disk (a temp dir under /tmp).
fn disk_dir(g: &Guest) -> String {
    let c = Connect::open(Some(URI)).unwrap();
    let dom = c.lookup_domain_by_uuid_string(&g.uuid).unwrap();
    let xml = dom.xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE).unwrap();
    let disk = virtdeck::xml::domain::disk_sources(&xml).unwrap()[0]
        .file
        .clone()
        .unwrap();
    std::path::Path::new(&disk)
        .parent()
        .unwrap()
        .display()
        .to_string()
}

/// Gives the tiny guest a NIC whose option ROM is `mib` MiB of non-zero bytes. The guest's
/// RAM is almost all zero pages, which QEMU sends as a flag each, so a migration would be
/// over in a blink; a ROM is a RAM block QEMU migrates byte for byte (SeaBIOS ignores it: no
/// 0x55AA signature), so at 1 MiB/s the migration takes about `mib` seconds.
fn add_heavy_rom(g: &Guest, mib: usize) {
    let c = Connect::open(Some(URI)).unwrap();
    let dom = c.lookup_domain_by_uuid_string(&g.uuid).unwrap();
    let xml = dom.xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE).unwrap();
    let disk = virtdeck::xml::domain::disk_sources(&xml).unwrap()[0]
        .file
        .clone()
        .unwrap();
    let rom = std::path::Path::new(&disk).with_file_name("heavy.rom");
    std::fs::write(&rom, vec![0xa5u8; mib * 1024 * 1024]).unwrap();
    let nic = format!(
        "<interface type='user'><model type='e1000'/><rom file='{}'/></interface></devices>",
        rom.display()
    );
    c.define_domain_xml(&xml.replace("</devices>", &nic))
        .unwrap();
}

fn start_guest(g: &Guest) {
    let c = Connect::open(Some(URI)).unwrap();
    c.lookup_domain_by_uuid_string(&g.uuid)
        .unwrap()
        .create()
        .unwrap();
}

fn preflight(
    w: &Worker<StorageInventory>,
    id: u64,
    uuid: &str,
    target: MigrationTarget,
    options: MigrationOptions,
) -> Vec<Check> {
    let (report, rx) = report();
    w.handle.send(HostCommand::Migrate(MigrateCmd::Preflight {
        vms: vec![(RequestId(id), uuid.into())],
        target,
        options,
        report,
    }));
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(virtdeck::host::HostEvent::Reply {
            id: got,
            reply: Reply::Preflight(checks),
        }) if got == RequestId(id) => checks,
        other => panic!("no pre-flight answer: {other:?}"),
    }
}

fn status<'a>(checks: &'a [Check], name: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}: {checks:#?}"))
}

#[test]
fn live_migration_with_a_bandwidth_cap_reports_progress_and_the_guest_answers_on_the_target() {
    if !lab_ready() {
        return;
    }
    let lab = Lab2::acquire();
    let g = Guest::define("mig-live");
    let _on_target = OnTarget {
        uri: lab.tcp.clone(),
        uuid: g.uuid.clone(),
    };
    add_heavy_rom(&g, 4);
    start_guest(&g);
    // Tags and a note in virtdeck's metadata travel with the VM (issue 23).
    let meta = virtdeck::xml::meta::Meta {
        template: false,
        tags: vec!["db".into(), "prod".into()],
        note: Some("owner: <ops> & \"dba\"".into()),
    };
    {
        let src = Connect::open(Some(URI)).unwrap();
        let dom = src.lookup_domain_by_uuid_string(&g.uuid).unwrap();
        virtdeck::host::meta::write(&dom, &meta).unwrap();
    }
    assert!(
        console_echoes(URI, &g.uuid, "before", Duration::from_secs(30)),
        "the guest answers on the source first"
    );
    let w = Worker::<StorageInventory>::start(URI);
    let options = MigrationOptions {
        bandwidth_mib_s: Some(1),
        allow_unsafe: true,
        max_downtime_ms: Some(300),
        ..MigrationOptions::default()
    };

    // Pre-flight on real daemons: everything but the /tmp disk (in no pool of the target)
    // passes; that one fails and blocks unless overridden.
    let checks = preflight(&w, 100, &g.uuid, target(&lab), options.clone());
    for name in [
        "options",
        "target reachable",
        "VM state",
        "CPU compatible",
        "free memory",
        "name free",
    ] {
        assert_eq!(status(&checks, name).status, Status::Pass, "{checks:#?}");
    }
    assert_eq!(
        status(&checks, "disk hda").status,
        Status::Fail,
        "{checks:#?}"
    );
    assert!(blocking(&checks, false) && !blocking(&checks, true));

    // A dir pool on the target over the disk's directory: now the target "sees" the file
    // (found after refreshing the pool), but a dir pool is local storage, so only a warning.
    let dst = Connect::open(Some(&lab.tcp)).unwrap();
    let dir = disk_dir(&g);
    let pool = dst
        .define_storage_pool_xml(
            &format!(
                "<pool type='dir'><name>vdk-mig-{}</name><target><path>{dir}</path></target></pool>",
                std::process::id()
            ),
            0,
        )
        .unwrap();
    pool.create(0).unwrap();
    let checks = preflight(&w, 101, &g.uuid, target(&lab), options.clone());
    let _ = pool.destroy();
    let _ = pool.undefine();
    let disk = status(&checks, "disk hda");
    assert_eq!(disk.status, Status::Warn, "{checks:#?}");
    assert!(
        disk.detail.contains("local pool vdk-mig-"),
        "{}",
        disk.detail
    );
    assert!(!blocking(&checks, false), "{checks:#?}");

    let t0 = Instant::now();
    let (mut m, rx) = start(&w, &lab, &g, 9001, options);
    let mut processed = Vec::new();
    let mut max_speed: f64 = 0.0;
    let mut asked = false;
    let mut speed_on_host = None;
    let log = follow(&rx, &mut m, Duration::from_secs(120), |m, ev| match ev {
        MigrationEvent::Progress(p) => {
            assert!(m.phase.is_active(), "{:?}", m.phase);
            processed.extend(p.data_processed);
            max_speed = max_speed.max(m.speed_bps.unwrap_or(0.0));
            // Mid-way, raise the cap to 2 MiB/s and the downtime to 400 ms.
            if !asked && p.data_processed.unwrap_or(0) > 2 * 1024 * 1024 {
                asked = true;
                w.handle.send(HostCommand::Migrate(MigrateCmd::SetSpeed {
                    id: 9001,
                    mib_s: 2,
                }));
                w.handle.send(HostCommand::Migrate(MigrateCmd::SetDowntime {
                    id: 9001,
                    ms: 400,
                }));
            }
        }
        MigrationEvent::Control {
            setting: Setting::MaxSpeed(2),
            result: Ok(()),
        } => {
            let c = Connect::open(Some(URI)).unwrap();
            let d = c.lookup_domain_by_uuid_string(&g.uuid).unwrap();
            speed_on_host = d.migrate_max_speed(0).ok();
        }
        _ => {}
    });
    let took = t0.elapsed();
    assert_eq!(log.first(), Some(&MigrationEvent::Started), "{log:?}");
    assert_eq!(m.phase, Phase::Succeeded, "{:?} {log:?}", m.error);
    // The completed job's statistics carry the data moved (the pane's DATA after the end).
    assert!(
        log.iter().any(|e| matches!(
            e,
            MigrationEvent::Finished(Outcome::Succeeded { data_bytes: Some(n), .. }) if *n > 0
        )),
        "{log:?}"
    );
    assert!(
        !log.iter()
            .any(|e| matches!(e, MigrationEvent::Control { result: Err(_), .. })),
        "no control command refused: {log:?}"
    );
    assert!(asked, "progress passed 2 MiB: {processed:?}");
    assert_eq!(m.options.bandwidth_mib_s, Some(2), "{log:?}");
    assert_eq!(m.options.max_downtime_ms, Some(400), "{log:?}");
    assert_eq!(speed_on_host, Some(2), "libvirt applied the new cap");
    assert!(
        processed.len() >= 4,
        "several progress samples: {processed:?}"
    );
    assert!(
        processed.windows(2).all(|w| w[0] <= w[1]) && processed.last() > processed.first(),
        "processed bytes grow: {processed:?}"
    );
    // 1 MiB/s cap: libvirt's rate stays near it (samples are 500 ms apart, so allow slack).
    assert!(
        max_speed > 0.0 && max_speed < 3.0 * 1024.0 * 1024.0,
        "speed {max_speed} B/s under a 1 MiB/s cap"
    );
    eprintln!(
        "live migration at 1 MiB/s: {took:?}, {} progress samples, {} processed, downtime {}",
        processed.len(),
        processed.last().copied().unwrap_or(0),
        m.downtime_label()
    );

    // Now on the target (running, persistent), gone from the source (undefine source).
    let dst = Connect::open(Some(&lab.tcp)).unwrap();
    let moved = dst.lookup_domain_by_uuid_string(&g.uuid).unwrap();
    assert!(moved.is_active().unwrap() && moved.is_persistent().unwrap());
    assert_eq!(
        virtdeck::host::meta::read(&moved).unwrap(),
        meta,
        "tags and note on the target's live definition"
    );
    let inactive = moved.xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE).unwrap();
    assert!(
        inactive.contains("https://virtdeck.dev/xmlns/virtdeck/1") && inactive.contains("prod"),
        "and on its persistent one"
    );
    let src = Connect::open(Some(URI)).unwrap();
    assert!(
        src.lookup_domain_by_uuid_string(&g.uuid).is_err(),
        "undefined on the source"
    );
    assert!(
        console_echoes(&lab.tcp, &g.uuid, "after", Duration::from_secs(20)),
        "the guest answers on its console on the target"
    );
}

#[test]
fn offline_migration_moves_the_definition() {
    if !lab_ready() {
        return;
    }
    let lab = Lab2::acquire();
    let g = Guest::define("mig-off");
    let _on_target = OnTarget {
        uri: lab.tcp.clone(),
        uuid: g.uuid.clone(),
    };
    let w = Worker::<StorageInventory>::start(URI);
    // Peer-to-peer: covers the path where the source daemon drives and virtdeck reads the
    // outcome from the target afterwards.
    let options = MigrationOptions {
        kind: MigrationKind::Offline,
        peer_to_peer: true,
        ..MigrationOptions::default()
    };
    let (mut m, rx) = start(&w, &lab, &g, 9002, options);
    let log = follow(&rx, &mut m, Duration::from_secs(60), |_, _| {});
    assert_eq!(m.phase, Phase::Succeeded, "{:?} {log:?}", m.error);
    let dst = Connect::open(Some(&lab.tcp)).unwrap();
    let moved = dst.lookup_domain_by_uuid_string(&g.uuid).unwrap();
    assert!(!moved.is_active().unwrap(), "defined, not started");
    assert!(moved.is_persistent().unwrap());
    assert_eq!(moved.name().unwrap(), g.name, "the hostile name survives");
    let src = Connect::open(Some(URI)).unwrap();
    assert!(
        src.lookup_domain_by_uuid_string(&g.uuid).is_err(),
        "undefined on the source"
    );
}

#[test]
fn a_cancelled_migration_leaves_the_vm_running_on_the_source() {
    if !lab_ready() {
        return;
    }
    let lab = Lab2::acquire();
    let g = Guest::define("mig-cancel");
    let _on_target = OnTarget {
        uri: lab.tcp.clone(),
        uuid: g.uuid.clone(),
    };
    add_heavy_rom(&g, 8);
    start_guest(&g);
    let w = Worker::<StorageInventory>::start(URI);
    // Peer-to-peer this time: the source daemon drives it, virtdeck only watches and aborts.
    let options = MigrationOptions {
        peer_to_peer: true,
        bandwidth_mib_s: Some(1),
        allow_unsafe: true,
        ..MigrationOptions::default()
    };
    let (mut m, rx) = start(&w, &lab, &g, 9003, options);
    let mut sent = false;
    let log = follow(&rx, &mut m, Duration::from_secs(60), |m, ev| {
        if matches!(ev, MigrationEvent::Progress(_)) && !sent {
            sent = true;
            assert_eq!(m.phase, Phase::Running);
            w.handle
                .send(HostCommand::Migrate(MigrateCmd::Cancel { id: 9003 }));
        }
    });
    assert!(sent, "progress before the end: {log:?}");
    assert_eq!(m.phase, Phase::Cancelled, "{:?} {log:?}", m.error);
    assert!(
        log.iter().any(|e| matches!(
            e,
            MigrationEvent::Control {
                setting: Setting::Cancel,
                result: Ok(())
            }
        )),
        "{log:?}"
    );
    assert!(matches!(
        log.last(),
        Some(MigrationEvent::Finished(Outcome::Cancelled))
    ));
    let src = Connect::open(Some(URI)).unwrap();
    let dom = src.lookup_domain_by_uuid_string(&g.uuid).unwrap();
    assert!(dom.is_active().unwrap(), "still running on the source");
    let dst = Connect::open(Some(&lab.tcp)).unwrap();
    assert!(
        dst.lookup_domain_by_uuid_string(&g.uuid).is_err(),
        "nothing left on the target"
    );
    // A control command for a finished migration is answered (by the worker), not lost.
    w.handle.send(HostCommand::Migrate(MigrateCmd::SetSpeed {
        id: 9003,
        mib_s: 5,
    }));
    let answer = w.wait("control answer", Duration::from_secs(10), |ev| match ev {
        virtdeck::host::HostEvent::Migration(u) if u.id == 9003 => Some(u.event),
        _ => None,
    });
    assert_eq!(
        answer,
        MigrationEvent::Control {
            setting: Setting::MaxSpeed(5),
            result: Err("this migration is not running".into())
        }
    );
    assert!(console_echoes(
        URI,
        &g.uuid,
        "still",
        Duration::from_secs(30)
    ));
}

/// An isolated virtual network on the source only, removed on drop.
struct SourceNet(String);

impl SourceNet {
    fn create() -> SourceNet {
        let name = format!("vdk-mn-{}", std::process::id());
        let c = Connect::open(Some(URI)).unwrap();
        let net = c
            .define_network_xml(&format!("<network><name>{name}</name></network>"))
            .expect("define network");
        net.create().expect("start network");
        SourceNet(name)
    }
}

impl Drop for SourceNet {
    fn drop(&mut self) {
        if let Ok(c) = Connect::open(Some(URI)) {
            if let Ok(n) = c.lookup_network_by_name(&self.0) {
                let _ = n.destroy();
                let _ = n.undefine();
            }
        }
    }
}

#[test]
fn preflight_fails_and_blocks_on_a_network_missing_on_the_target() {
    if !lab_ready() {
        return;
    }
    let lab = Lab2::acquire();
    let net = SourceNet::create();
    let g = Guest::define("mig-net");
    let _on_target = OnTarget {
        uri: lab.tcp.clone(),
        uuid: g.uuid.clone(),
    };
    // Give the guest a NIC on the source-only network, then start it.
    let c = Connect::open(Some(URI)).unwrap();
    let dom = c.lookup_domain_by_uuid_string(&g.uuid).unwrap();
    let xml = dom
        .xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE)
        .unwrap()
        .replace(
            "</devices>",
            &format!(
                "<interface type='network'><source network='{}'/></interface></devices>",
                net.0
            ),
        );
    c.define_domain_xml(&xml).unwrap();
    dom.create().unwrap();

    let w = Worker::<StorageInventory>::start(URI);
    let options = MigrationOptions {
        allow_unsafe: true,
        ..MigrationOptions::default()
    };
    let checks = preflight(&w, 200, &g.uuid, target(&lab), options);
    let n = status(&checks, &format!("network {}", net.0));
    assert_eq!(n.status, Status::Fail, "{checks:#?}");
    assert!(n.detail.contains(&net.0), "{}", n.detail);
    assert!(blocking(&checks, false), "blocks by default");
    // The rest of the target is fine: overriding would let it go.
    assert_eq!(status(&checks, "target reachable").status, Status::Pass);
    assert_eq!(status(&checks, "VM state").status, Status::Pass);
    assert!(!blocking(&checks, true));

    // An unreachable target is a hard failure.
    let nowhere = MigrationTarget {
        uri: "qemu+tcp://127.0.0.1:1/system".into(),
        migration_address: None,
    };
    let checks = preflight(&w, 201, &g.uuid, nowhere, MigrationOptions::default());
    assert_eq!(status(&checks, "target reachable").status, Status::Fail);
    assert!(blocking(&checks, true));
}

#[test]
fn post_copy_switch_finishes_on_the_target() {
    if !lab_ready() {
        return;
    }
    let lab = Lab2::acquire();
    let g = Guest::define("mig-pc");
    let _on_target = OnTarget {
        uri: lab.tcp.clone(),
        uuid: g.uuid.clone(),
    };
    add_heavy_rom(&g, 4);
    start_guest(&g);
    let w = Worker::<StorageInventory>::start(URI);
    let options = MigrationOptions {
        bandwidth_mib_s: Some(1),
        allow_unsafe: true,
        post_copy: PostCopy::Manual,
        ..MigrationOptions::default()
    };
    let (mut m, rx) = start(&w, &lab, &g, 9004, options);
    let mut sent = false;
    let log = follow(&rx, &mut m, Duration::from_secs(60), |_, ev| {
        if let MigrationEvent::Progress(p) = ev {
            if !sent && p.data_processed.unwrap_or(0) > 512 * 1024 {
                sent = true;
                w.handle
                    .send(HostCommand::Migrate(MigrateCmd::PostCopy { id: 9004 }));
            }
        }
    });
    assert_eq!(m.phase, Phase::Succeeded, "{:?} {log:?}", m.error);
    assert!(m.postcopy, "switched: {log:?}");
    assert!(log.contains(&MigrationEvent::PostCopyStarted), "{log:?}");
    assert!(
        console_echoes(&lab.tcp, &g.uuid, "pc", Duration::from_secs(20)),
        "the guest answers on the target after post-copy"
    );
}

/// The whole UI path on the two daemons: `m` on the running guest, allow unsafe (the /tmp
/// disk is the same file for both daemons), the checks page, "migrate anyway" for the
/// storage check libvirt cannot judge, then the migrations pane until it succeeds.
#[test]
fn live_migration_through_the_wizard_and_the_pane() {
    use virtdeck::app::{Mode, View};
    if !lab_ready() {
        return;
    }
    let lab = Lab2::acquire();
    let g = Guest::define("mig-ui");
    let _on_target = OnTarget {
        uri: lab.tcp.clone(),
        uuid: g.uuid.clone(),
    };
    // Enough non-zero memory to take seconds at 1 MiB/s, so progress samples reach the pane
    // (the tiny guest alone is zero pages and moves in well under a second).
    add_heavy_rom(&g, 6);
    start_guest(&g);
    let mut live = two_hosts(&lab.tcp);
    let shown = live.pump_until(Duration::from_secs(30), |a| {
        a.hosts.iter().all(|h| h.status.is_connected())
            && a.hosts[0]
                .vms
                .iter()
                .any(|v| v.uuid == g.uuid && v.state.is_active())
    });
    assert!(shown, "both hosts connected and the guest running");
    live.press("g");
    for _ in 0..500 {
        if live.app.focused_vm().is_some_and(|(_, u)| u == g.uuid) {
            break;
        }
        live.press("j");
    }
    live.press("m");
    let key_of = |live: &common::Live, k: &str| match &live.app.mode {
        Mode::Wizard(w) => w.fields.iter().position(|f| f.key == k).unwrap(),
        m => panic!("no wizard: {m:?}"),
    };
    let focus = |live: &mut common::Live, k: &str| {
        let want = key_of(live, k);
        for _ in 0..30 {
            if matches!(&live.app.mode, Mode::Wizard(w) if w.focus == want) {
                return;
            }
            live.press("<Tab>");
        }
        panic!("cannot focus {k}");
    };
    focus(&mut live, "unsafe");
    live.press("<Space>");
    live.press("<Enter>");
    focus(&mut live, "bandwidth");
    live.type_text("1");
    focus(&mut live, "onfail");
    live.press("<Right>");
    live.press("<Enter>");
    let answered = live.pump_until(Duration::from_secs(60), |a| {
        !a.migrations.preflight.is_empty()
            && a.migrations.preflight.iter().all(|p| p.checks.is_some())
    });
    assert!(answered, "pre-flight answered");
    eprintln!("checks: {:#?}", live.app.migrations.preflight);
    live.press("<Enter>");
    assert_eq!(
        live.app.view,
        View::Pane(PaneId::Migrations),
        "{:?}",
        live.app.mode
    );
    let mut saw_progress = false;
    let done = live.pump_until(Duration::from_secs(120), |a| {
        let m = &a.migrations.list[0];
        saw_progress |= m.progress.data_processed.unwrap_or(0) > 0;
        m.phase.is_finished()
    });
    assert!(done, "the migration ended");
    let m = live.app.migrations.list[0].clone();
    assert_eq!(m.phase, Phase::Succeeded, "{:?}", m.error);
    assert!(saw_progress, "progress reached the pane");
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(140, 20)).unwrap();
    term.draw(|f| virtdeck::ui::render(&live.app, f)).unwrap();
    let screen = term.backend().to_string();
    assert!(
        screen.contains("src → dst") && screen.contains("succeeded"),
        "{screen}"
    );
    let dst = Connect::open(Some(&lab.tcp)).unwrap();
    let moved = dst.lookup_domain_by_uuid_string(&g.uuid).unwrap();
    assert!(moved.is_active().unwrap(), "running on the target");
}

/// A `dir` pool over the same directory on both daemons (the issue's setup: same path, same
/// files, but libvirt cannot prove the storage shared); undefined on both on drop.
struct SharedDirPool {
    name: String,
    uris: [String; 2],
}

impl SharedDirPool {
    fn define(tag: &str, dir: &str, uris: [String; 2]) -> SharedDirPool {
        let name = format!("vdk-{tag}-{}", std::process::id());
        let xml = format!(
            "<pool type='dir'><name>{name}</name><target><path>{}</path></target></pool>",
            quick_xml::escape::escape(dir)
        );
        let guard = SharedDirPool { name, uris };
        for uri in &guard.uris {
            let c = Connect::open(Some(uri)).unwrap();
            let p = c.define_storage_pool_xml(&xml, 0).expect("define pool");
            p.create(0).expect("start pool");
        }
        guard
    }
}

impl Drop for SharedDirPool {
    fn drop(&mut self) {
        for uri in &self.uris {
            if let Ok(c) = Connect::open(Some(uri)) {
                if let Ok(p) = c.lookup_storage_pool_by_name(&self.name) {
                    let _ = p.destroy();
                    let _ = p.undefine();
                }
            }
        }
    }
}

/// Issue 18.1: `1`, the source host, `M`: the evacuation wizard pre-flights both guests
/// (disks in a dir pool both daemons define on the same path). Without "allow unsafe" the
/// plan says both stay and why (libvirt would refuse them as unsafe); with it, both leave
/// and end up running on the target.
#[test]
fn evacuation_refuses_unprovable_shared_storage_unless_allowed_unsafe_then_moves_both() {
    use virtdeck::app::migrations::evacuate_wizard::EvacuateForm;
    use virtdeck::app::{Mode, View};
    if !lab_ready() {
        return;
    }
    let lab = Lab2::acquire();
    let guests = [Guest::define("evac-a"), Guest::define("evac-b")];
    let _on_target: Vec<OnTarget> = guests
        .iter()
        .map(|g| OnTarget {
            uri: lab.tcp.clone(),
            uuid: g.uuid.clone(),
        })
        .collect();
    let _pools: Vec<SharedDirPool> = guests
        .iter()
        .enumerate()
        .map(|(i, g)| {
            SharedDirPool::define(
                &format!("evac{i}"),
                &disk_dir(g),
                [URI.to_string(), lab.tcp.clone()],
            )
        })
        .collect();
    for g in &guests {
        start_guest(g);
    }
    let ours = |uuid: &str| guests.iter().any(|g| g.uuid == uuid);
    let mut live = two_hosts(&lab.tcp);
    let shown = live.pump_until(Duration::from_secs(30), |a| {
        a.hosts.iter().all(|h| h.status.is_connected())
            && a.hosts[1].node.memory.is_some()
            && guests.iter().all(|g| {
                a.hosts[0]
                    .vms
                    .iter()
                    .any(|v| v.uuid == g.uuid && v.state.is_active())
            })
    });
    assert!(shown, "both hosts connected and both guests running");
    live.press("1");
    assert_eq!(live.app.view, View::Pane(PaneId::Dashboard));
    for _ in 0..4 {
        if live.app.dashboard_host() == Some(HostId(0)) {
            break;
        }
        live.press("j");
    }
    assert_eq!(live.app.dashboard_host(), Some(HostId(0)));
    live.press("M");
    // Other tests may run guests on the same daemon at the same time: evacuate only ours.
    match &mut live.app.mode {
        Mode::Wizard(w) => match w.spec_as_mut::<EvacuateForm>() {
            Some(EvacuateForm { vms, .. }) => {
                assert!(guests.iter().all(|g| vms.iter().any(|v| v.uuid == g.uuid)));
                vms.retain(|v| ours(&v.uuid));
            }
            None => panic!("not the evacuation wizard: {:?}", w.spec),
        },
        m => panic!("no wizard: {m:?}"),
    }
    let plan_ready = |live: &mut common::Live| {
        live.pump_until(Duration::from_secs(60), |a| {
            !a.migrations.preflight.is_empty()
                && a.migrations.preflight.iter().all(|p| p.checks.is_some())
        })
    };
    let screen = |live: &common::Live| {
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 40)).unwrap();
        term.draw(|f| virtdeck::ui::render(&live.app, f)).unwrap();
        term.backend().to_string()
    };

    // Defaults: no "allow unsafe". Both stay, and the plan says why.
    live.press("<Enter>");
    assert!(plan_ready(&mut live), "pre-flight answered");
    let s = screen(&live);
    assert!(s.contains("0 of 2 VM(s) leave src"), "{s}");
    assert!(s.contains("stays") && s.contains("allow unsafe"), "{s}");
    assert!(s.contains("cannot prove shared"), "{s}");
    live.press("<Enter>");
    assert!(
        matches!(&live.app.mode, Mode::Wizard(w) if w.error.as_deref().is_some_and(|e| e.contains("no VM can move"))),
        "{:?}",
        live.app.mode
    );
    assert!(live.app.migrations.list.is_empty(), "nothing started");

    // Back, allow unsafe, plan again: both leave.
    live.press("<Esc>");
    let unsafe_at = match &live.app.mode {
        Mode::Wizard(w) => w.fields.iter().position(|f| f.key == "unsafe").unwrap(),
        m => panic!("{m:?}"),
    };
    for _ in 0..10 {
        if matches!(&live.app.mode, Mode::Wizard(w) if w.focus == unsafe_at) {
            break;
        }
        live.press("<Tab>");
    }
    live.press("<Space>");
    live.press("<Enter>");
    assert!(plan_ready(&mut live), "pre-flight answered again");
    let s = screen(&live);
    assert!(s.contains("2 of 2 VM(s) leave src"), "{s}");
    live.press("<Enter>");
    assert_eq!(
        live.app.view,
        View::Pane(PaneId::Migrations),
        "{:?}",
        live.app.mode
    );
    assert_eq!(live.app.migrations.list.len(), 2);
    let done = live.pump_until(Duration::from_secs(120), |a| {
        a.migrations.list.iter().all(|m| m.phase.is_finished())
    });
    assert!(done, "both migrations ended");
    for m in &live.app.migrations.list {
        assert_eq!(m.phase, Phase::Succeeded, "{}: {:?}", m.vm_name, m.error);
        assert!(m.options.allow_unsafe);
    }
    let dst = Connect::open(Some(&lab.tcp)).unwrap();
    for g in &guests {
        let moved = dst.lookup_domain_by_uuid_string(&g.uuid).unwrap();
        assert!(moved.is_active().unwrap(), "running on the target");
    }
}

/// Issue 18.8: two daemons on one host run the same CPU, so the CPU check must pass. A
/// stopped tiny guest carries libvirt's default `qemu64` CPU with `check='none'`, which this
/// (nested) host's KVM cannot fully provide (no svm): the source's hypervisor lacks the same,
/// and libvirt does not verify a `check='none'` CPU, so nothing changes by moving it. Running,
/// its live (expanded) CPU is what the target's hypervisor is asked about.
#[test]
fn cpu_check_passes_between_two_daemons_on_one_host() {
    if !lab_ready() {
        return;
    }
    let lab = Lab2::acquire();
    let g = Guest::define("mig-cpu");
    let w = Worker::<StorageInventory>::start(URI);
    let offline = MigrationOptions {
        kind: MigrationKind::Offline,
        ..MigrationOptions::default()
    };
    let checks = preflight(&w, 300, &g.uuid, target(&lab), offline);
    let cpu = status(&checks, "CPU compatible");
    eprintln!("stopped: {cpu:?}");
    assert_eq!(cpu.status, Status::Pass, "{checks:#?}");
    start_guest(&g);
    let _on_target = OnTarget {
        uri: lab.tcp.clone(),
        uuid: g.uuid.clone(),
    };
    let checks = preflight(&w, 301, &g.uuid, target(&lab), MigrationOptions::default());
    let cpu = status(&checks, "CPU compatible");
    eprintln!("running: {cpu:?}");
    assert_eq!(cpu.status, Status::Pass, "{checks:#?}");
}

/// `virtdeck migrate` as a script runs it, between the two daemons: the checks are printed
/// and a failed one stops it with status 3 (the guest's /tmp disk is in no pool of the
/// target) unless `--force`; then the live migration prints its progress per 10 % and the
/// guest runs on the target. A missing VM is 2, a target that does not answer 4.
#[test]
fn the_migrate_command_prints_its_checks_stops_on_a_failed_one_and_moves_with_force() {
    if !lab_ready() {
        return;
    }
    let lab = Lab2::acquire();
    let g = Guest::define("mig-cli");
    let _on_target = OnTarget {
        uri: lab.tcp.clone(),
        uuid: g.uuid.clone(),
    };
    add_heavy_rom(&g, 6);
    start_guest(&g);
    let cfg = tempfile::tempdir().unwrap();
    std::fs::write(
        cfg.path().join("config.toml"),
        format!(
            "[[hosts]]\nname = \"src\"\nuri = \"{URI}\"\n\n[[hosts]]\nname = \"dst\"\nuri = \"{}\"\nmigration_address = \"{}\"\n",
            lab.tcp,
            migration_address()
        ),
    )
    .unwrap();
    let vd = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_virtdeck"))
            .env("VIRTDECK_CONFIG_DIR", cfg.path())
            .args(args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        (o.status.code(), text)
    };
    let vm = format!("{}@src", g.name);

    let (code, text) = vd(&["migrate", &vm, "--to", "dst", "--live", "--unsafe"]);
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains("pre-flight:"), "{text}");
    assert!(text.contains("✔ target reachable"), "{text}");
    assert!(text.contains("✖ disk"), "the /tmp disk fails: {text}");
    assert!(text.contains("--force"), "{text}");
    assert!(
        text.contains("virsh -c qemu:///system migrate --live"),
        "the equivalent command: {text}"
    );

    let (code, text) = vd(&["migrate", "vdk-no-such-vm", "--to", "dst"]);
    assert_eq!(code, Some(2), "{text}");
    let (code, text) = vd(&[
        "migrate",
        &vm,
        "--to",
        "qemu+tcp://127.0.0.1:1/system",
        "--live",
    ]);
    assert_eq!(code, Some(4), "{text}");

    let (code, text) = vd(&[
        "migrate",
        &vm,
        "--to",
        "dst",
        "--live",
        "--unsafe",
        "--force",
        "--bandwidth",
        "2",
    ]);
    assert_eq!(code, Some(0), "{text}");
    let tenths = text.lines().filter(|l| l.ends_with(" %")).count();
    assert!(tenths >= 3, "progress per 10 %: {text}");
    assert!(text.contains(" 100 %"), "{text}");
    assert!(text.contains("done in"), "{text}");
    let dst = Connect::open(Some(&lab.tcp)).unwrap();
    let dom = dst.lookup_domain_by_uuid_string(&g.uuid).unwrap();
    assert!(dom.is_active().unwrap(), "running on the target");
    let src = Connect::open(Some(URI)).unwrap();
    assert!(
        src.lookup_domain_by_uuid_string(&g.uuid).is_err(),
        "undefined on the source"
    );
}
