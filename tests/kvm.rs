//! Integration tests on a real qemu:///system libvirtd with KVM, driving the tiny boot-sector
//! guest (tests/guest) through virtdeck's worker and App. Skipped when no such daemon is
//! reachable, unless VIRTDECK_REQUIRE_KVM=1 (CI sets it), where that is a failure.

mod common;

use std::time::Duration;

use common::guest::{kvm_available, live, live_with, select, Guest, URI};

use virt::connect::Connect;
use virtdeck::host::WorkerOptions;
use virtdeck::model::{Counter, VmState};

#[test]
fn start_observe_cpu_shutdown_and_force_off_through_the_worker() {
    if !kvm_available() {
        return;
    }
    let g = Guest::define("life");
    let mut live = live(Duration::from_millis(500));
    select(&mut live, &g);
    assert_eq!(state_of_app(&live.app, &g.uuid), Some(VmState::Shutoff));

    live.press("s");
    assert!(!live.app.vms.pending.is_empty(), "start shows as pending");
    let ok = live.pump_until(Duration::from_secs(20), |app| {
        app.vms.pending.is_empty()
            && app.hosts[0]
                .vms
                .iter()
                .any(|v| v.uuid == g.uuid && v.state == VmState::Running)
    });
    assert!(ok, "guest running; log: {:?}", live.app.messages.log);
    // The worker saw it start, so the detail screen has an uptime.
    let started = live.app.hosts[0]
        .vms
        .iter()
        .find(|v| v.uuid == g.uuid)
        .and_then(|v| v.started)
        .expect("a start seen by the worker has a time");
    let age = started.elapsed().unwrap_or_default();
    assert!(age < Duration::from_secs(30), "started {age:?} ago");

    // CPU time rises between polls and the table gets a CPU% for it.
    let cpu = |app: &virtdeck::app::App| {
        app.hosts[0]
            .vms
            .iter()
            .find(|v| v.uuid == g.uuid)
            .and_then(|v| v.cpu_time_ns)
    };
    assert!(
        live.pump_until(Duration::from_secs(10), |app| cpu(app).is_some()),
        "bulk stats report cpu.time"
    );
    let first = cpu(&live.app);
    let ok = live.pump_until(Duration::from_secs(10), |app| {
        cpu(app) > first && app.hosts[0].cpu_pct(&g.uuid).is_some()
    });
    assert!(ok, "cpu time rising: first={first:?}");
    let pct = live.app.hosts[0].cpu_pct(&g.uuid).unwrap();
    assert!(pct > 0.0 && pct <= 100.0, "{pct}");
    // The same bulk call reports the disk counters and the QEMU process RSS; the table then
    // has a disk rate instead of "-". (QEMU counts no reads here: SeaBIOS's boot-sector load
    // does not show in the block stats, so only presence is checked.)
    let vm = live.app.hosts[0]
        .vms
        .iter()
        .find(|v| v.uuid == g.uuid)
        .unwrap();
    assert!(vm.io.get(Counter::DiskRdBytes).is_some(), "{:?}", vm.io);
    assert!(vm.io.get(Counter::DiskWrReqs).is_some(), "{:?}", vm.io);
    assert!(vm.io.rss_kib().is_some_and(|k| k > 1024), "{:?}", vm.io);
    let rates = live.app.hosts[0].rates(&g.uuid).expect("rates");
    assert!(rates.disk_rd_bps.is_some_and(|r| r >= 0.0), "{rates:?}");
    assert!(
        live.app.hosts[0]
            .history(&g.uuid)
            .is_some_and(|h| h.cpu().len() >= 2),
        "history grows one point per poll"
    );

    // The boot sector arms the ACPI power button only once SeaBIOS hands over (about 4 s
    // after start, longer on a loaded machine), and QEMU drops presses before that, just as a
    // real guest ignores them while booting. So press again until it powers off.
    let mut off = false;
    for _ in 0..8 {
        live.press("d");
        off = live.pump_until(Duration::from_secs(5), |app| {
            app.vms.pending.is_empty() && state_of_app(app, &g.uuid) == Some(VmState::Shutoff)
        });
        if off {
            break;
        }
    }
    assert!(
        off,
        "ACPI shutdown powered the guest off; log: {:?}",
        live.app.messages.log
    );

    live.press("s");
    let ok = live.pump_until(Duration::from_secs(20), |app| {
        state_of_app(app, &g.uuid) == Some(VmState::Running) && app.vms.pending.is_empty()
    });
    assert!(ok, "started again");
    live.press("F");
    assert!(
        matches!(live.app.mode, virtdeck::app::Mode::Confirm(_)),
        "force off asks first"
    );
    live.press("y");
    let ok = live.pump_until(Duration::from_secs(20), |app| {
        state_of_app(app, &g.uuid) == Some(VmState::Shutoff) && app.vms.pending.is_empty()
    });
    assert!(ok, "forced off");
    assert!(
        live.app
            .messages
            .log
            .iter()
            .all(|e| e.level != virtdeck::app::toast::Level::Error),
        "no errors: {:?}",
        live.app.messages.log
    );
}

fn state_of_app(app: &virtdeck::app::App, uuid: &str) -> Option<VmState> {
    app.hosts[0]
        .vms
        .iter()
        .find(|v| v.uuid == uuid)
        .map(|v| v.state)
}

#[test]
fn lifecycle_events_update_rows_between_polls() {
    if !kvm_available() {
        return;
    }
    let g = Guest::define("evt");
    // A poll interval far longer than the test: only events can deliver the changes.
    let mut live = live(Duration::from_secs(120));
    select(&mut live, &g);
    // Start behind virtdeck's back (as another admin would with virsh).
    let conn = Connect::open(Some(URI)).unwrap();
    let dom = conn.lookup_domain_by_uuid_string(&g.uuid).unwrap();
    dom.create().unwrap();
    let ok = live.pump_until(Duration::from_secs(10), |app| {
        state_of_app(app, &g.uuid) == Some(VmState::Running)
    });
    assert!(ok, "start event reached the table");
    dom.suspend().unwrap();
    let ok = live.pump_until(Duration::from_secs(10), |app| {
        state_of_app(app, &g.uuid) == Some(VmState::Paused)
    });
    assert!(ok, "pause event reached the table");
    live.press("u");
    let ok = live.pump_until(Duration::from_secs(10), |app| {
        state_of_app(app, &g.uuid) == Some(VmState::Running) && app.vms.pending.is_empty()
    });
    assert!(ok, "resumed through virtdeck");
    dom.destroy().unwrap();
    let ok = live.pump_until(Duration::from_secs(10), |app| {
        state_of_app(app, &g.uuid) == Some(VmState::Shutoff)
    });
    assert!(ok, "destroy event reached the table");
}

/// Flags that change without a lifecycle event (autostart) reach the table through the
/// periodic inventory, which for known domains uses filtered list calls, not per-domain ones.
#[test]
fn periodic_inventory_picks_up_flags_changed_elsewhere() {
    if !kvm_available() {
        return;
    }
    let g = Guest::define("inv");
    let mut live = live_with(WorkerOptions {
        poll_interval: Duration::from_millis(300),
        inventory_interval: Duration::from_millis(600),
        ..WorkerOptions::default()
    });
    let find = |app: &virtdeck::app::App| {
        app.hosts[0]
            .vms
            .iter()
            .find(|v| v.uuid == g.uuid)
            .map(|v| (v.autostart, v.persistent, v.state, v.max_memory_kib))
    };
    assert!(live.pump_until(Duration::from_secs(10), |a| {
        find(a).is_some() && a.hosts[0].read_in_full()
    }));
    let (auto, persistent, state, mem) = find(&live.app).unwrap();
    assert!(!auto && persistent && state == VmState::Shutoff && mem > 0);
    let conn = Connect::open(Some(URI)).unwrap();
    let dom = conn.lookup_domain_by_uuid_string(&g.uuid).unwrap();
    dom.set_autostart(true).unwrap();
    let ok = live.pump_until(Duration::from_secs(10), |a| {
        find(a).is_some_and(|(auto, ..)| auto)
    });
    let _ = dom.set_autostart(false);
    assert!(
        ok,
        "autostart set elsewhere shows up: {:?}",
        find(&live.app)
    );
    let (_, persistent, state, mem2) = find(&live.app).unwrap();
    assert!(
        persistent && state == VmState::Shutoff && mem2 == mem,
        "the rest is kept"
    );
}

/// A guest already running when a worker on this machine connects: its start comes from the
/// QEMU pid file, not from "now".
#[test]
fn uptime_of_a_guest_running_before_connect_comes_from_its_pid_file() {
    if !kvm_available() {
        return;
    }
    let g = Guest::define("uptime");
    let conn = Connect::open(Some(URI)).unwrap();
    conn.lookup_domain_by_uuid_string(&g.uuid)
        .unwrap()
        .create()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let live = live_with(WorkerOptions {
        local_machine: true,
        ..WorkerOptions::default()
    });
    let mut live = live;
    let seen = live.pump_until(Duration::from_secs(20), |app| {
        app.hosts[0].vms.iter().any(|v| v.uuid == g.uuid)
    });
    assert!(seen);
    let vm = live.app.hosts[0]
        .vms
        .iter()
        .find(|v| v.uuid == g.uuid)
        .unwrap();
    let age = vm
        .started
        .expect("the pid file gives the start")
        .elapsed()
        .unwrap_or_default();
    assert!(
        age >= Duration::from_secs(2) && age < Duration::from_secs(60),
        "started {age:?} ago, before the worker connected"
    );
}
