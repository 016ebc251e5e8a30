//! Issue 23 on real KVM: a tiny guest's lifecycle (started, paused, force-stopped, its QEMU
//! killed) reaches the events pane with libvirt's reason, and an alert rule on its CPU fires once
//! after its window and clears once after it stops spinning (paused). Skipped without a
//! qemu:///system daemon with KVM unless VIRTDECK_REQUIRE_KVM=1.

mod common;

use std::time::{Duration, Instant};

use common::guest::{kvm_available, live, select, Guest, URI};
use virt::connect::Connect;
use virtdeck::model::VmState;

fn labels(app: &virtdeck::app::App, uuid: &str, kind: &str) -> Vec<String> {
    app.events
        .list
        .iter()
        .filter(|e| e.event.uuid == uuid && e.kind() == kind)
        .map(|e| e.label())
        .collect()
}

fn state(app: &virtdeck::app::App, uuid: &str) -> Option<VmState> {
    app.hosts[0]
        .vms
        .iter()
        .find(|v| v.uuid == uuid)
        .map(|v| v.state)
}

/// Pumps and ticks (the runtime's clock, once a second) until `done` or `secs` pass.
fn run_until(
    live: &mut common::Live,
    secs: u64,
    mut done: impl FnMut(&virtdeck::app::App) -> bool,
) -> bool {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if live.pump_until(Duration::from_millis(250), &mut done) {
            return true;
        }
        live.tick();
    }
    done(&live.app)
}

#[test]
fn a_guests_lifecycle_reaches_the_events_pane_with_its_reasons() {
    if !kvm_available() {
        return;
    }
    let g = Guest::define("events");
    let mut live = live(Duration::from_millis(500));
    select(&mut live, &g);
    let conn = Connect::open(Some(URI)).unwrap();
    let dom = conn.lookup_domain_by_uuid_string(&g.uuid).unwrap();

    dom.create().unwrap();
    assert!(run_until(&mut live, 15, |a| labels(
        a,
        &g.uuid,
        "lifecycle"
    )
    .contains(&"started (booted)".to_string())));
    dom.suspend().unwrap();
    assert!(run_until(&mut live, 15, |a| labels(
        a,
        &g.uuid,
        "lifecycle"
    )
    .contains(&"paused (by request)".to_string())));
    dom.destroy().unwrap();
    assert!(run_until(&mut live, 15, |a| labels(
        a,
        &g.uuid,
        "lifecycle"
    )
    .contains(&"stopped (destroyed)".to_string())));

    // Its QEMU killed under libvirt (a crash as the host sees one): "stopped (failed)", shown
    // as trouble.
    dom.create().unwrap();
    assert!(run_until(&mut live, 15, |a| state(a, &g.uuid)
        == Some(VmState::Running)));
    let pid = qemu_pid(&g.uuid);
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let ok = run_until(&mut live, 20, |a| {
        a.events
            .list
            .iter()
            .any(|e| e.event.uuid == g.uuid && e.label() == "stopped (failed)" && e.is_bad())
    });
    assert!(ok, "events: {:?}", labels(&live.app, &g.uuid, "lifecycle"));
    // Every one is kept under the guest's UUID, which is what its detail screen lists.
    let mine = live
        .app
        .events
        .list
        .iter()
        .filter(|e| e.event.uuid == g.uuid)
        .count();
    assert!(mine >= 5, "{mine} events of the guest");
}

/// The QEMU process of a running guest: the one whose command line has `-uuid UUID`.
fn qemu_pid(uuid: &str) -> u32 {
    for p in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = p.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(p.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
        if args
            .windows(2)
            .any(|w| w[0] == b"-uuid" && w[1] == uuid.as_bytes())
        {
            return pid;
        }
    }
    panic!("no QEMU process with -uuid {uuid}");
}

#[test]
fn an_alert_on_a_spinning_guest_fires_once_and_clears_once() {
    if !kvm_available() {
        return;
    }
    let g = Guest::define("alert");
    let mut live = live(Duration::from_millis(500));
    // The tiny guest spins about a fifth of its vCPU while idle (tests/guest/tiny.asm).
    let cfg = virtdeck::config::Config::parse(
        "config.toml",
        "[[alerts]]\nwhen = \"vm.cpu > 2\"\nfor = \"3s\"\n",
    )
    .unwrap();
    live.app.settings.alerts = cfg.alerts;
    select(&mut live, &g);
    let conn = Connect::open(Some(URI)).unwrap();
    let dom = conn.lookup_domain_by_uuid_string(&g.uuid).unwrap();
    dom.create().unwrap();
    let started = Instant::now();
    let fired = |a: &virtdeck::app::App| labels(a, &g.uuid, "alert");
    assert!(
        run_until(&mut live, 30, |a| !fired(a).is_empty()),
        "no alert; cpu {:?}",
        live.app.hosts[0].cpu_pct(&g.uuid)
    );
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "fired before its window: {:?}",
        started.elapsed()
    );
    assert_eq!(live.app.alerts.active, 1);
    // Still spinning: no repeat.
    run_until(&mut live, 4, |_| false);
    let once = fired(&live.app);
    assert!(
        once.len() == 1 && once[0].starts_with("alert: vm.cpu > 2 ("),
        "{once:?}"
    );
    dom.suspend().unwrap();
    assert!(
        run_until(&mut live, 20, |a| fired(a).len() == 2),
        "not cleared: {:?}",
        fired(&live.app)
    );
    assert!(fired(&live.app)[1].starts_with("alert cleared: vm.cpu > 2"));
    assert_eq!(live.app.alerts.active, 0);
    run_until(&mut live, 3, |_| false);
    assert_eq!(fired(&live.app).len(), 2, "cleared once");
}
