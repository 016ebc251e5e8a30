//! The loop draws only when `take_redraw` says so: whatever a message changes on screen must
//! say so, and what changes nothing must not. Each step here is what `runtime::Loop::turn`
//! does (update, then draw if asked), followed by a check that the screen on the terminal is
//! the one the app would draw now.

use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::tests::vm;
use super::*;
use crate::config::keymap::Keymap;
use crate::config::theme::Theme;
use crate::model::{HostInfo, NodeCpu, NodeSample, Snapshot, VmState};

struct Screen {
    term: Terminal<TestBackend>,
    draws: usize,
}

impl Screen {
    fn new(app: &mut App) -> Screen {
        let mut term = Terminal::new(TestBackend::new(120, 30)).unwrap();
        app.take_redraw();
        term.draw(|f| crate::ui::render(app, f)).unwrap();
        Screen { term, draws: 0 }
    }

    /// One turn; panics when the terminal shows something else than a fresh frame would.
    fn step(&mut self, app: &mut App, msg: Msg, what: &str) {
        app.update(msg);
        if app.take_redraw() {
            self.term.draw(|f| crate::ui::render(app, f)).unwrap();
            self.draws += 1;
        }
        let mut fresh = Terminal::new(TestBackend::new(120, 30)).unwrap();
        fresh.draw(|f| crate::ui::render(app, f)).unwrap();
        assert_eq!(
            self.term.backend().buffer(),
            fresh.backend().buffer(),
            "{what}: the screen is out of date"
        );
    }
}

fn app(hosts: usize) -> App {
    let specs = (0..hosts)
        .map(|i| HostSpec {
            name: format!("kvm-{i}"),
            uri: format!("test:///{i}"),
        })
        .collect();
    App::new(
        specs,
        Keymap::preset(),
        Theme::load("default", None).unwrap(),
        Settings::default(),
    )
}

fn snapshot(vms: Vec<Vm>, at: Instant, node: Option<NodeSample>) -> Msg {
    Msg::Host(
        HostId(0),
        HostEvent::Snapshot(Snapshot {
            vms: crate::model::shared(vms),
            taken_at: at,
            node,
            receipt: Default::default(),
        }),
    )
}

fn node(total: u64, idle: u64) -> Option<NodeSample> {
    Some(NodeSample {
        cpu: Some(NodeCpu {
            total_ns: total,
            idle_ns: idle,
        }),
        ..Default::default()
    })
}

fn fleet() -> Vec<Vm> {
    vec![
        vm("web-01", VmState::Running),
        vm("db-01", VmState::Shutoff),
    ]
}

#[test]
fn an_unchanged_snapshot_on_the_vm_table_draws_nothing_and_a_changed_one_draws() {
    let mut a = app(1);
    a.view = View::Pane(PaneId::Vms);
    let t = a.now;
    let mut s = Screen::new(&mut a);
    s.step(
        &mut a,
        Msg::Host(HostId(0), HostEvent::Connected(HostInfo::default())),
        "connected",
    );
    s.step(&mut a, snapshot(fleet(), t, node(0, 0)), "first snapshot");
    let drawn = s.draws;
    for i in 1..5u64 {
        let at = t + Duration::from_secs(2 * i);
        s.step(
            &mut a,
            snapshot(fleet(), at, node(i * 100, i * 50)),
            "same VMs",
        );
        s.step(&mut a, Msg::Tick(at), "tick");
    }
    assert_eq!(s.draws, drawn, "nothing visible changed");
    let mut changed = fleet();
    changed[1].state = VmState::Running;
    changed[1].id = Some(7);
    s.step(
        &mut a,
        snapshot(changed, t + Duration::from_secs(12), node(600, 300)),
        "a VM started",
    );
    assert_eq!(s.draws, drawn + 1);
}

#[test]
fn node_readings_redraw_the_dashboard() {
    let mut a = app(2);
    a.view = View::Pane(PaneId::Dashboard);
    let t = a.now;
    let mut s = Screen::new(&mut a);
    s.step(
        &mut a,
        Msg::Host(HostId(0), HostEvent::Connected(HostInfo::default())),
        "connected",
    );
    for i in 0..4u64 {
        let at = t + Duration::from_secs(2 * i);
        // The host's CPU goes from idle to busy: its gauge and sparkline move.
        s.step(
            &mut a,
            snapshot(fleet(), at, node(i * 1000, i * 1000 / (i + 1))),
            "node readings",
        );
    }
}

#[test]
fn toasts_expire_on_screen() {
    let mut a = app(1);
    a.view = View::Pane(PaneId::Vms);
    let t = a.now;
    let mut s = Screen::new(&mut a);
    s.step(
        &mut a,
        Msg::ConfigError("disk full".into()),
        "an error toast",
    );
    for i in 1..=12 {
        s.step(
            &mut a,
            Msg::Tick(t + Duration::from_secs(i)),
            "a second later",
        );
    }
}

#[test]
fn stale_counters_and_retry_countdowns_tick() {
    let mut a = app(2);
    let t = a.now;
    let mut s = Screen::new(&mut a);
    s.step(
        &mut a,
        Msg::Host(HostId(0), HostEvent::Connected(HostInfo::default())),
        "connected",
    );
    s.step(&mut a, snapshot(fleet(), t, None), "snapshot");
    s.step(
        &mut a,
        Msg::Host(
            HostId(0),
            HostEvent::Lost {
                error: "gone".into(),
            },
        ),
        "lost",
    );
    s.step(
        &mut a,
        Msg::Host(
            HostId(1),
            HostEvent::Unreachable {
                error: "refused".into(),
                retry_in: Duration::from_secs(30),
            },
        ),
        "unreachable",
    );
    for view in [PaneId::Dashboard, PaneId::Vms] {
        a.view = View::Pane(view);
        s.step(&mut a, Msg::Wake, "view switched");
        let before = s.draws;
        for i in 1..=5 {
            let next = a.now + Duration::from_secs(1);
            s.step(&mut a, Msg::Tick(next), &format!("{view:?} +{i} s"));
        }
        assert!(s.draws > before, "{view:?}: the countdown ticks");
    }
    s.step(
        &mut a,
        Msg::Host(
            HostId(0),
            HostEvent::Stalled {
                for_: Duration::from_secs(6),
            },
        ),
        "stalled",
    );
    for _ in 0..3 {
        let next = a.now + Duration::from_secs(1);
        s.step(&mut a, Msg::Tick(next), "not responding for…");
    }
}

#[test]
fn a_quiet_screen_is_not_redrawn_by_ticks() {
    let mut a = app(1);
    a.view = View::Pane(PaneId::Vms);
    let t = a.now;
    let mut s = Screen::new(&mut a);
    s.step(
        &mut a,
        Msg::Host(HostId(0), HostEvent::Connected(HostInfo::default())),
        "connected",
    );
    s.step(&mut a, snapshot(fleet(), t, None), "snapshot");
    let drawn = s.draws;
    for i in 1..=20 {
        s.step(&mut a, Msg::Tick(t + Duration::from_secs(i)), "tick");
    }
    assert_eq!(s.draws, drawn);
    // Anything else (a key, console output, a resize) draws.
    s.step(&mut a, Msg::Wake, "wake");
    s.step(
        &mut a,
        Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('j'),
        )),
        "a key",
    );
    assert_eq!(s.draws, drawn + 2);
}
