//! The demo looks alive (issue 25): the demo's own hosts get made-up metrics that move, and
//! every screen showing them says "demo data"; a plain test-driver host next to them gets
//! none and no label.

mod common;

use std::time::Duration;

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use virtdeck::app::{HostSpec, PaneId, View};
use virtdeck::demo::DemoFleet;
use virtdeck::host::WorkerOptions;

fn screen(app: &virtdeck::app::App) -> String {
    let mut t = Terminal::new(TestBackend::new(160, 40)).unwrap();
    t.draw(|f| virtdeck::ui::render(app, f)).unwrap();
    t.backend().to_string()
}

#[test]
fn demo_hosts_have_moving_metrics_and_say_so() {
    let fleet = DemoFleet::create().unwrap();
    let base = WorkerOptions {
        poll_interval: Duration::from_millis(300),
        ..WorkerOptions::default()
    };
    let mut specs: Vec<(HostSpec, WorkerOptions)> = fleet
        .hosts()
        .into_iter()
        .map(|h| {
            let o = h.options(&base);
            (h.spec, o)
        })
        .collect();
    specs.push((
        HostSpec {
            name: "plain".into(),
            uri: "test:///default".into(),
        },
        base.clone(),
    ));
    let mut live = common::start(specs, false);
    let n = live.app.hosts.len();
    // A few polls: rates need two samples, sparklines more.
    let ok = live.pump_until(Duration::from_secs(20), |a| {
        a.hosts[..n - 1]
            .iter()
            .all(|h| h.node.cpu_history.len() >= 4 && h.node.cpu_pct.is_some())
    });
    assert!(ok, "demo hosts got no host CPU readings");
    for h in &live.app.hosts[..n - 1] {
        assert!(h.simulated(), "{}", h.name);
        let cpu = h.node.cpu_pct.unwrap();
        assert!(cpu > 1.0 && cpu < 100.0, "{}: {cpu}", h.name);
        assert!(h.node.memory_pct().is_some_and(|m| m > 1.0 && m < 100.0));
    }
    let plain = &live.app.hosts[n - 1];
    assert!(
        !plain.simulated() && plain.node.cpu_pct.is_none(),
        "a real URI gets nothing"
    );

    // Roles: the busiest database works harder than the VPN gateway; paused VMs are flat.
    let pct = |name: &str| {
        let h = live
            .app
            .hosts
            .iter()
            .find(|h| h.vms.iter().any(|v| v.name == name))
            .unwrap();
        let uuid = &h.vms.iter().find(|v| v.name == name).unwrap().uuid;
        h.cpu_pct(uuid)
    };
    let (db, vpn) = (pct("db-primary").unwrap(), pct("vpn-gateway").unwrap());
    assert!(db > 3.0 * vpn, "db-primary {db} vs vpn-gateway {vpn}");
    assert_eq!(pct("db-replica-02"), Some(0.0), "paused");
    assert_eq!(pct("web-04"), None, "shut off");

    live.app.view = View::Pane(PaneId::Dashboard);
    let s = screen(&live.app);
    assert!(s.contains("demo data"), "{s}");
    live.app.view = View::Pane(PaneId::Vms);
    let s = screen(&live.app);
    assert!(s.contains("demo data"), "{s}");
    // Moving: the host's CPU reading is not one value repeated (read from the exact rate:
    // the history keeps 3 significant digits, below this demo's poll-to-poll change).
    let mut seen = vec![live.app.hosts[0].node.cpu_pct.unwrap()];
    let moved = live.pump_until(Duration::from_secs(20), |a| {
        let cpu = a.hosts[0].node.cpu_pct.unwrap_or(seen[0]);
        if seen.last() != Some(&cpu) {
            seen.push(cpu);
        }
        seen.windows(2).any(|w| (w[0] - w[1]).abs() > 0.01)
    });
    assert!(moved, "{seen:?}");
    drop(fleet);
}

/// No host answers on a first run: the screen says so with what to do (add a host, `:demo`,
/// start libvirtd) instead of an error alone; `:demo` adds the demo fleet and the notice goes.
#[test]
fn no_host_answers_says_what_to_do_and_demo_adds_the_fleet() {
    let mut live = common::start(
        vec![(
            HostSpec {
                name: "nothing-here".into(),
                uri: "qemu+tcp://127.0.0.1:1/system".into(),
            },
            WorkerOptions::default(),
        )],
        false,
    );
    let ok = live.pump_until(Duration::from_secs(20), |a| {
        matches!(
            a.hosts[0].status,
            virtdeck::app::hosts::HostStatus::Unreachable { .. }
        )
    });
    assert!(ok);
    live.app.messages.toasts.clear();
    let s = screen(&live.app);
    for want in [
        "Getting started",
        "No hypervisor answers",
        "nothing-here: unable to connect",
        "1 n    add a host",
        ":demo  try every screen on the built-in demo fleet",
        "systemctl start libvirtd",
    ] {
        assert!(s.contains(want), "{want:?} missing:\n{s}");
    }
    live.app.view = View::Pane(PaneId::Dashboard);
    let s = screen(&live.app);
    assert!(s.contains("n      add a host"), "{s}");

    let fx = virtdeck::app::palette::run(&mut live.app, "demo").unwrap();
    live.workers.apply(fx);
    let ok = live.pump_until(Duration::from_secs(20), |a| {
        a.hosts.len() == 4
            && a.hosts[1..]
                .iter()
                .all(|h| h.read_in_full() && h.simulated())
    });
    assert!(
        ok,
        "the demo hosts did not come up: {:?}",
        live.app.messages.log
    );
    assert_eq!(live.app.view, View::Pane(PaneId::Dashboard));
    live.app.messages.toasts.clear();
    let s = screen(&live.app);
    assert!(!s.contains("Getting started"), "{s}");
    // Again: nothing is added twice.
    let fx = virtdeck::app::palette::run(&mut live.app, "demo").unwrap();
    live.workers.apply(fx);
    live.pump_until(Duration::from_millis(500), |_| false);
    assert_eq!(live.app.hosts.len(), 4);
}

/// `virtdeck --demo list --json`: the demo's hosts for the scripting commands too, the JSON
/// documented in the README, read back with serde.
#[test]
fn list_json_of_the_demo() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_virtdeck"))
        .env("VIRTDECK_CONFIG_DIR", "/nonexistent-vdk-config")
        .args(["--demo", "list", "--json", "--filter", "host:lab-edge"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 12, "lab-edge's VMs");
    for r in rows {
        assert_eq!(r["host"], "lab-edge");
        for field in [
            "name",
            "uuid",
            "state",
            "vcpus",
            "memory_kib",
            "cpu_percent",
            "addresses",
            "tags",
            "template",
        ] {
            assert!(r.get(field).is_some(), "{field} in {r}");
        }
    }
    assert!(rows.iter().any(|r| r["state"] == "running"));
}
