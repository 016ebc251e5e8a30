//! App logic without a terminal or libvirt: filter, sort, selection, marks, action → command.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::config::keymap::Keymap;
use crate::config::theme::Theme;
use crate::host::{HostCommand, HostEvent, LifecycleOp, Reply};
use crate::model::{HostInfo, Snapshot, Vm, VmState};

pub(crate) fn vm(name: &str, state: VmState) -> Vm {
    Vm {
        uuid: format!("uuid-{name}"),
        name: name.into(),
        id: state.is_active().then_some(1),
        state,
        vcpus: 2,
        memory_kib: 1024 * 1024,
        max_memory_kib: 1024 * 1024,
        cpu_time_ns: None,
        io: Default::default(),
        autostart: false,
        persistent: true,
        managed_save: false,
        known: Default::default(),
        template: false,
        tags: Vec::new(),
        note: None,
        started: None,
    }
}

fn app_with(readonly: bool) -> App {
    let mut app = App::new(
        vec![
            HostSpec {
                name: "kvm-a".into(),
                uri: "test:///a".into(),
            },
            HostSpec {
                name: "kvm-b".into(),
                uri: "test:///b".into(),
            },
        ],
        Keymap::preset(),
        Theme::load("default", None).unwrap(),
        Settings {
            readonly,
            ..Settings::default()
        },
    );
    // These tests drive the VM table; the dashboard has its own.
    app.view = View::Pane(PaneId::Vms);
    let t = app.now;
    for (i, vms) in [
        vec![
            vm("web-01", VmState::Running),
            vm("web-02", VmState::Shutoff),
            vm("db-01", VmState::Running),
        ],
        vec![vm("web-10", VmState::Paused), vm("cache", VmState::Running)],
    ]
    .into_iter()
    .enumerate()
    {
        app.update(Msg::Host(
            HostId(i),
            HostEvent::Connected(HostInfo::default()),
        ));
        app.update(Msg::Host(
            HostId(i),
            HostEvent::Snapshot(Snapshot {
                vms: crate::model::shared(vms),
                taken_at: t,
                receipt: Default::default(),
                node: None,
            }),
        ));
    }
    app
}

/// An active, autostarted NAT network with nothing on it.
pub(super) fn test_network(name: &str) -> crate::model::network::Network {
    crate::model::network::Network {
        name: name.into(),
        uuid: String::new(),
        forward: crate::model::network::ForwardMode::Nat,
        bridge: None,
        ips: Vec::new(),
        active: true,
        autostart: true,
        persistent: true,
        users: Vec::new(),
    }
}

/// A running dir pool of 1 GiB with no volumes.
pub(super) fn test_pool(name: &str) -> crate::model::storage::Pool {
    crate::model::storage::Pool {
        name: name.into(),
        uuid: String::new(),
        kind: "dir".into(),
        state: crate::model::storage::PoolState::Running,
        autostart: false,
        persistent: true,
        capacity: 1 << 30,
        allocation: 0,
        available: 1 << 30,
        target: None,
        volumes: Vec::new(),
    }
}

pub(crate) fn app() -> App {
    app_with(false)
}

pub(crate) fn press(app: &mut App, spec: &str) -> Vec<Effect> {
    let k = crate::config::keymap::Key::parse(spec).unwrap();
    app.update(Msg::Key(KeyEvent::new(k.code, k.mods)))
}

fn type_text(app: &mut App, s: &str) {
    for c in s.chars() {
        app.update(Msg::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )));
    }
}

fn names(app: &App) -> Vec<String> {
    app.vms
        .rows
        .iter()
        .map(|r| app.vm(*r).1.name.clone())
        .collect()
}

fn selected_name(app: &App) -> String {
    app.vm(app.selected_row().unwrap()).1.name.clone()
}

pub(super) fn select(app: &mut App, name: &str) {
    press(app, "g");
    while selected_name(app) != name {
        press(app, "j");
    }
}

/// Host, VM name (as its registered request says) and operation of each lifecycle command.
fn lifecycle_cmds(app: &App, effects: &[Effect]) -> Vec<(usize, String, LifecycleOp)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Host(h, HostCommand::Lifecycle { id, uuid, op }) => {
                match app.requests.owner(*id) {
                    Some(requests::Owner::Lifecycle {
                        uuid: u,
                        name,
                        op: o,
                    }) if u == uuid && o == op => Some((h.0, name.clone(), *op)),
                    other => panic!("request {id:?} of {uuid} registered as {other:?}"),
                }
            }
            _ => None,
        })
        .collect()
}

/// The request id of the only lifecycle command in `effects`.
fn lifecycle_id(effects: &[Effect]) -> crate::host::RequestId {
    let ids: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Host(_, HostCommand::Lifecycle { id, .. }) => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 1, "{effects:?}");
    ids[0]
}

#[test]
fn default_order_is_host_then_natural_name() {
    assert_eq!(
        names(&app()),
        vec!["db-01", "web-01", "web-02", "cache", "web-10"]
    );
}

#[test]
fn filter_excludes_and_matches_patterns_and_a_bad_pattern_keeps_the_old_filter() {
    let mut a = app();
    press(&mut a, "/");
    type_text(&mut a, "!web");
    assert_eq!(names(&a), vec!["db-01", "cache"]);
    a.set_filter("re:^web-0[12]$".into());
    assert_eq!(names(&a), vec!["web-01", "web-02"]);
    assert!(a.vms.filter_error.is_none());
    // Typing on into an invalid pattern: the rows stay, the line says why.
    a.set_filter("re:^web-0[12".into());
    assert_eq!(names(&a), vec!["web-01", "web-02"]);
    assert_eq!(a.vms.filter_text, "re:^web-0[12");
    let e = a.vms.filter_error.clone().expect("error shown");
    assert!(e.starts_with("re:^web-0[12: "), "{e}");
    a.set_filter("re:^web-0[12]".into());
    assert!(a.vms.filter_error.is_none());
}

#[test]
fn filter_by_name_host_and_state() {
    let mut a = app();
    press(&mut a, "/");
    assert_eq!(a.mode, Mode::Filter);
    type_text(&mut a, "web");
    assert_eq!(names(&a), vec!["web-01", "web-02", "web-10"]);
    press(&mut a, "<Enter>");
    assert_eq!(a.mode, Mode::Normal);
    assert_eq!(a.vms.filter_text, "web");

    a.set_filter("host:kvm-b".into());
    assert_eq!(names(&a), vec!["cache", "web-10"]);
    a.set_filter("state:running".into());
    assert_eq!(names(&a), vec!["db-01", "web-01", "cache"]);
    a.set_filter("nothing-matches".into());
    assert!(a.vms.rows.is_empty());
    assert!(a.selected_row().is_none());

    // Esc in the filter line clears it.
    press(&mut a, "/");
    press(&mut a, "<Esc>");
    assert_eq!(a.vms.rows.len(), 5);
    // Backspace edits.
    press(&mut a, "/");
    type_text(&mut a, "webx");
    assert!(a.vms.rows.is_empty());
    press(&mut a, "<Backspace>");
    assert_eq!(a.vms.rows.len(), 3);
}

#[test]
fn sort_cycles_and_reverses() {
    let mut a = app();
    press(&mut a, "o");
    assert_eq!(a.vms.sort, table::SortKey::Name);
    assert_eq!(
        names(&a),
        vec!["cache", "db-01", "web-01", "web-02", "web-10"]
    );
    press(&mut a, "O");
    assert!(a.vms.descending);
    assert_eq!(
        names(&a),
        vec!["web-10", "web-02", "web-01", "db-01", "cache"]
    );
    press(&mut a, "o");
    assert_eq!(a.vms.sort, table::SortKey::State);
    assert!(!a.vms.descending);
    assert_eq!(
        selected_name(&a),
        "db-01",
        "cursor stays on the first row until moved"
    );
}

#[test]
fn cursor_follows_vm_across_refreshes_once_moved() {
    let mut a = app();
    select(&mut a, "web-02");
    // A new VM sorting before it arrives on host a.
    let t = a.now;
    a.update(Msg::Host(
        HostId(0),
        HostEvent::Snapshot(Snapshot {
            vms: crate::model::shared(vec![
                vm("aaa", VmState::Running),
                vm("web-01", VmState::Running),
                vm("web-02", VmState::Shutoff),
                vm("db-01", VmState::Running),
            ]),
            taken_at: t + Duration::from_secs(2),
            receipt: Default::default(),
            node: None,
        }),
    ));
    assert_eq!(selected_name(&a), "web-02");
    // Navigation is clamped.
    press(&mut a, "G");
    assert_eq!(selected_name(&a), "web-10");
    press(&mut a, "j");
    assert_eq!(selected_name(&a), "web-10");
    press(&mut a, "g");
    press(&mut a, "k");
    assert_eq!(a.vms.selected, 0);
}

#[test]
fn marks_toggle_all_and_clear() {
    let mut a = app();
    press(&mut a, "<Space>");
    assert_eq!(a.vms.marks.len(), 1);
    assert_eq!(a.vms.selected, 0, "marking stays on the row");
    press(&mut a, "<Space>");
    assert!(a.vms.marks.is_empty(), "space again unmarks");
    // `Space j Space` marks two neighbours, skipping none.
    for k in ["<Space>", "j", "<Space>"] {
        press(&mut a, k);
    }
    let marked: Vec<&str> = a
        .vms
        .rows
        .iter()
        .map(|r| a.vm(*r).1)
        .filter(|vm| a.vms.marks.iter().any(|(_, u)| *u == vm.uuid))
        .map(|vm| vm.name.as_str())
        .collect();
    assert_eq!(marked, names(&a)[..2].to_vec());
    press(&mut a, "*");
    assert_eq!(a.vms.marks.len(), 5);
    press(&mut a, "*");
    assert!(a.vms.marks.is_empty());
    press(&mut a, "*");
    a.set_filter("web".into());
    press(&mut a, "<Esc>");
    assert!(a.vms.marks.is_empty(), "Esc clears marks first");
    assert_eq!(a.vms.filter_text, "web");
    press(&mut a, "<Esc>");
    assert_eq!(a.vms.filter_text, "", "then the filter");
}

#[test]
fn start_emits_command_and_marks_pending() {
    let mut a = app();
    select(&mut a, "web-02");
    let fx = press(&mut a, "s");
    assert_eq!(
        lifecycle_cmds(&a, &fx),
        vec![(0, "web-02".into(), LifecycleOp::Start)]
    );
    assert_eq!(
        a.vms.pending.get(&(HostId(0), "uuid-web-02".into())),
        Some(&LifecycleOp::Start)
    );
    // The result clears pending and says what was done.
    a.update(Msg::Host(
        HostId(0),
        HostEvent::Reply {
            id: lifecycle_id(&fx),
            reply: Reply::Op(Ok(())),
        },
    ));
    assert!(a.vms.pending.is_empty());
    assert_eq!(
        a.messages.toasts.back().map(|t| t.text.as_str()),
        Some("web-02 on kvm-a: started")
    );
}

#[test]
fn failures_show_libvirt_text() {
    let mut a = app();
    select(&mut a, "web-02");
    let fx = press(&mut a, "s");
    a.update(Msg::Host(
        HostId(0),
        HostEvent::Reply {
            id: lifecycle_id(&fx),
            reply: Reply::Op(Err(
                "Requested operation is not valid: network 'default' is not active".into(),
            )),
        },
    ));
    assert!(a.vms.pending.is_empty());
    let t = a.messages.toasts.back().unwrap();
    assert_eq!(t.level, toast::Level::Error);
    assert!(t
        .text
        .contains("web-02 on kvm-a: start failed: Requested operation is not valid"));
    assert_eq!(a.vms.rows.len(), 5, "nothing lost");
}

#[test]
fn inapplicable_action_is_explained_not_sent() {
    let mut a = app();
    select(&mut a, "web-01");
    let fx = press(&mut a, "s");
    assert!(fx.is_empty());
    assert_eq!(
        a.messages.toasts.back().unwrap().text,
        "web-01 is already running"
    );
    select(&mut a, "web-02");
    assert!(press(&mut a, "d").is_empty());
    assert!(press(&mut a, "u").is_empty());
}

#[test]
fn every_key_maps_to_its_op() {
    for (key, name, op) in [
        ("d", "web-01", LifecycleOp::Shutdown),
        ("r", "web-01", LifecycleOp::Reboot),
        ("p", "web-01", LifecycleOp::Pause),
        ("S", "web-01", LifecycleOp::ManagedSave),
        ("a", "web-01", LifecycleOp::SetAutostart(true)),
        ("u", "web-10", LifecycleOp::Resume),
        ("s", "web-02", LifecycleOp::Start),
    ] {
        let mut a = app();
        select(&mut a, name);
        let fx = press(&mut a, key);
        assert_eq!(
            lifecycle_cmds(&a, &fx).first().map(|c| c.2),
            Some(op),
            "key {key}"
        );
    }
}

#[test]
fn force_off_and_reset_ask_first() {
    for (key, op) in [("F", LifecycleOp::ForceOff), ("R", LifecycleOp::Reset)] {
        let mut a = app();
        select(&mut a, "web-01");
        assert!(press(&mut a, key).is_empty());
        let Mode::Confirm(c) = &a.mode else {
            panic!("no confirmation for {key}")
        };
        assert!(c.title.contains("web-01"), "{}", c.title);
        assert!(press(&mut a, "n").is_empty());
        assert_eq!(a.mode, Mode::Normal);
        press(&mut a, key);
        let fx = press(&mut a, "y");
        assert_eq!(lifecycle_cmds(&a, &fx), vec![(0, "web-01".into(), op)]);
        assert_eq!(a.mode, Mode::Normal);
    }
}

#[test]
fn bulk_action_on_marked_vms_confirms_and_skips_inapplicable() {
    let mut a = app();
    // Mark everything: 3 running/paused active VMs + 1 shut off.
    press(&mut a, "*");
    assert!(press(&mut a, "d").is_empty());
    let Mode::Confirm(c) = a.mode.clone() else {
        panic!("bulk needs confirmation")
    };
    let ConfirmAction::Lifecycle { targets, .. } = &c.action else {
        panic!("lifecycle confirmation expected")
    };
    assert_eq!(targets.len(), 4, "web-02 is shut off and skipped");
    assert!(c.title.contains("4 VMs"));
    assert!(a.messages.toasts.back().unwrap().text.contains("web-02"));
    // Two hosts: the hosts and counts are named and Enter alone does not run it.
    assert!(
        c.body
            .iter()
            .any(|l| l == "4 VMs on 2 hosts: kvm-a (2), kvm-b (2)"),
        "{:?}",
        c.body
    );
    assert!(press(&mut a, "<Enter>").is_empty());
    assert!(matches!(a.mode, Mode::Confirm(_)), "still asking");
    assert!(press(&mut a, "y").is_empty(), "y is typed, not an answer");
    press(&mut a, "e");
    press(&mut a, "s");
    let fx = press(&mut a, "<Enter>");
    let cmds = lifecycle_cmds(&a, &fx);
    assert_eq!(cmds.len(), 4);
    assert!(cmds.iter().all(|c| c.2 == LifecycleOp::Shutdown));
    assert!(cmds.iter().any(|c| c.0 == 1 && c.1 == "cache"));
    assert!(a.vms.marks.is_empty(), "marks are consumed");
    assert_eq!(a.vms.pending.len(), 4);
}

#[test]
fn autostart_toggles_each_vm() {
    let mut a = app();
    let t = a.now;
    let mut on = vm("db-01", VmState::Running);
    on.autostart = true;
    a.update(Msg::Host(
        HostId(0),
        HostEvent::Snapshot(Snapshot {
            vms: crate::model::shared(vec![on, vm("web-01", VmState::Running)]),
            taken_at: t,
            receipt: Default::default(),
            node: None,
        }),
    ));
    press(&mut a, "<Space>");
    press(&mut a, "j");
    press(&mut a, "<Space>");
    press(&mut a, "a");
    let fx = press(&mut a, "y");
    let mut cmds = lifecycle_cmds(&a, &fx);
    cmds.sort_by(|x, y| x.1.cmp(&y.1));
    assert_eq!(
        cmds,
        vec![
            (0, "db-01".into(), LifecycleOp::SetAutostart(false)),
            (0, "web-01".into(), LifecycleOp::SetAutostart(true)),
        ]
    );
}

#[test]
fn readonly_refuses_with_reason() {
    let mut a = app_with(true);
    select(&mut a, "web-02");
    for key in ["s", "d", "F", "a", "S"] {
        assert!(press(&mut a, key).is_empty(), "{key}");
        assert_eq!(a.mode, Mode::Normal);
    }
    let t = a.messages.toasts.back().unwrap();
    assert!(t.text.contains("read-only"), "{}", t.text);
    assert!(a.vms.pending.is_empty());
}

#[test]
fn disconnected_host_refuses_actions_and_keeps_stale_rows() {
    let mut a = app();
    a.update(Msg::Host(
        HostId(1),
        HostEvent::Lost {
            error: "connection closed due to keepalive timeout".into(),
        },
    ));
    assert!(a.hosts[1].is_stale());
    assert_eq!(a.vms.rows.len(), 5, "stale rows stay");
    select(&mut a, "cache");
    assert!(press(&mut a, "d").is_empty());
    assert!(a
        .messages
        .toasts
        .back()
        .unwrap()
        .text
        .contains("not connected"));
}

#[test]
fn unreachable_is_reported_once_then_recovery_announced() {
    let mut a = app();
    let ev = || HostEvent::Unreachable {
        error: "Failed to connect socket".into(),
        retry_in: Duration::from_secs(2),
    };
    a.update(Msg::Host(HostId(0), ev()));
    a.update(Msg::Host(HostId(0), HostEvent::Connecting { attempt: 1 }));
    a.update(Msg::Host(HostId(0), ev()));
    let errors = a
        .messages
        .log
        .iter()
        .filter(|e| e.level == toast::Level::Error)
        .count();
    assert_eq!(errors, 1);
    assert!(matches!(
        a.hosts[0].status,
        hosts::HostStatus::Unreachable { .. }
    ));
    a.update(Msg::Host(
        HostId(0),
        HostEvent::Connected(HostInfo::default()),
    ));
    assert_eq!(a.messages.toasts.back().unwrap().text, "kvm-a: connected");
}

#[test]
fn cpu_percent_from_consecutive_snapshots() {
    let mut a = app();
    let t0 = Instant::now();
    // `poll` snapshots carry node readings; refreshes after actions and events do not.
    let mk = |ns: u64, at: Instant, poll: bool| {
        let mut v = vm("web-01", VmState::Running);
        v.cpu_time_ns = Some(ns);
        HostEvent::Snapshot(Snapshot {
            vms: crate::model::shared(vec![v]),
            taken_at: at,
            receipt: Default::default(),
            node: poll.then(crate::model::NodeSample::default),
        })
    };
    a.update(Msg::Host(HostId(0), mk(1_000_000_000, t0, true)));
    a.update(Msg::Host(
        HostId(0),
        mk(2_000_000_000, t0 + Duration::from_secs(2), true),
    ));
    // 1 s of CPU in 2 s on 2 vCPUs = 25%.
    let p = a.hosts[0].cpu_pct("uuid-web-01").unwrap();
    assert!((p - 25.0).abs() < 0.01, "{p}");
    let hist = a.hosts[0].history("uuid-web-01").unwrap();
    assert_eq!(hist.cpu().len(), 2, "one point per poll");
    // A refresh right after keeps the rate instead of computing it over 10 ms, and adds no
    // history point.
    a.update(Msg::Host(
        HostId(0),
        mk(2_000_000_100, t0 + Duration::from_millis(2010), false),
    ));
    assert!((a.hosts[0].cpu_pct("uuid-web-01").unwrap() - 25.0).abs() < 0.01);
    assert_eq!(a.hosts[0].history("uuid-web-01").unwrap().cpu().len(), 2);
    // The next poll measures from the previous poll, not from the refresh.
    a.update(Msg::Host(
        HostId(0),
        mk(4_000_000_000, t0 + Duration::from_secs(4), true),
    ));
    let p = a.hosts[0].cpu_pct("uuid-web-01").unwrap();
    assert!((p - 50.0).abs() < 0.01, "{p}");
    assert_eq!(
        a.hosts[0].history("uuid-web-01").unwrap().cpu().last(),
        Some(50.0)
    );
}

/// Issue 20: 10 minutes of gaps in 7 series cost 8 KiB per VM that is off, growing with every
/// poll; a fleet of mostly stopped VMs paid that for nothing.
#[test]
fn a_vm_that_is_off_keeps_no_history_and_a_stopped_one_drops_its_gaps() {
    let mut a = app();
    let (name, uri) = (a.hosts[0].name.clone(), a.hosts[0].uri.clone());
    a.hosts[0] = hosts::HostView::new(HostId(0), name, uri, 3);
    let t0 = Instant::now();
    let mk = |state: VmState, secs: u64| {
        let mut v = vm("db", state);
        v.cpu_time_ns = state.is_active().then_some(secs * 1_000_000_000);
        HostEvent::Snapshot(Snapshot {
            vms: crate::model::shared(vec![v, vm("off", VmState::Shutoff)]),
            taken_at: t0 + Duration::from_secs(secs),
            receipt: Default::default(),
            node: Some(crate::model::NodeSample::default()),
        })
    };
    for secs in [0, 2] {
        a.update(Msg::Host(HostId(0), mk(VmState::Running, secs)));
    }
    assert!(a.hosts[0].history("uuid-off").is_none());
    assert_eq!(a.hosts[0].history("uuid-db").unwrap().cpu().len(), 2);
    // Stopped: the gaps follow its readings until the window holds nothing else.
    for secs in [4, 6] {
        a.update(Msg::Host(HostId(0), mk(VmState::Shutoff, secs)));
    }
    let h = a.hosts[0].history("uuid-db").unwrap();
    assert_eq!(h.cpu().len(), 3);
    assert!(h.cpu().max().is_some(), "a reading is still in the window");
    a.update(Msg::Host(HostId(0), mk(VmState::Shutoff, 8)));
    assert!(a.hosts[0].history("uuid-db").is_none());
    assert!(a.hosts[0].history("uuid-off").is_none());
    // Started again: a new history.
    a.update(Msg::Host(HostId(0), mk(VmState::Running, 10)));
    assert_eq!(a.hosts[0].history("uuid-db").unwrap().cpu().len(), 1);
}

#[test]
fn vms_that_come_and_go_leave_the_others_their_own_readings() {
    let mut a = app();
    let t0 = Instant::now();
    // Each VM burns its own share: 1 s of CPU per 2 s poll per letter position (b: 2 s).
    let mk = |names: &[&str], secs: u64| {
        let vms = names
            .iter()
            .map(|n| {
                let mut v = vm(n, VmState::Running);
                let share = u64::from(n.as_bytes()[0] - b'a' + 1);
                v.cpu_time_ns = Some(secs * share * 250_000_000);
                v
            })
            .collect();
        HostEvent::Snapshot(Snapshot {
            vms: crate::model::shared(vms),
            taken_at: t0 + Duration::from_secs(secs),
            receipt: Default::default(),
            node: Some(crate::model::NodeSample::default()),
        })
    };
    a.update(Msg::Host(HostId(0), mk(&["d", "b"], 0)));
    a.update(Msg::Host(HostId(0), mk(&["b", "d"], 2)));
    // `a` and `c` arrive before and between, `d` goes: `b` keeps its history and rate.
    a.update(Msg::Host(HostId(0), mk(&["c", "b", "a"], 4)));
    let h = &a.hosts[0];
    // 2 vCPUs: b burns 0.5 s per s, 25 %.
    assert_eq!(h.cpu_pct("uuid-b"), Some(25.0));
    assert_eq!(h.history("uuid-b").map(|h| h.cpu().len()), Some(3));
    assert_eq!(h.cpu_pct("uuid-a"), None, "a first sample has no rate");
    assert_eq!(h.cpu_pct("uuid-c"), None);
    assert!(h.history("uuid-d").is_none() && h.cpu_pct("uuid-d").is_none());
    a.update(Msg::Host(HostId(0), mk(&["a", "b", "c"], 6)));
    let h = &a.hosts[0];
    assert_eq!(h.cpu_pct("uuid-a"), Some(12.5));
    assert_eq!(h.cpu_pct("uuid-c"), Some(37.5));
    assert_eq!(h.history("uuid-b").map(|h| h.cpu().len()), Some(4));
    assert_eq!(h.histories().count(), 3);
    assert!(h.has_rates());
}

#[test]
fn help_log_and_quit() {
    let mut a = app();
    press(&mut a, "?");
    assert_eq!(a.mode, Mode::Help { scroll: 0 });
    press(&mut a, "j");
    assert_eq!(a.mode, Mode::Help { scroll: 1 });
    press(&mut a, "<Esc>");
    press(&mut a, "L");
    assert!(matches!(a.mode, Mode::Log { .. }));
    press(&mut a, "q");
    assert_eq!(a.mode, Mode::Normal);
    assert_eq!(press(&mut a, "q"), vec![Effect::Quit]);
    assert_eq!(press(&mut a, "<C-c>"), vec![Effect::Quit]);
}

fn type_str(a: &mut App, s: &str) {
    for c in s.chars() {
        a.update(Msg::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )));
    }
}

#[test]
fn add_host_form_validates_tests_and_adds() {
    let mut a = app();
    press(&mut a, "1");
    assert_eq!(a.view, View::Pane(PaneId::Dashboard));
    press(&mut a, "n");
    assert!(matches!(a.mode, Mode::AddHost(_)));
    type_str(&mut a, "qemu+ssh://root@kvm-c/sytem");
    // Enter refuses an invalid URI and keeps what was typed.
    assert!(press(&mut a, "<Enter>").is_empty());
    let Mode::AddHost(f) = &a.mode else { panic!() };
    assert!(f.error.as_deref().unwrap().contains("/system"));
    assert_eq!(f.uri_text(), "qemu+ssh://root@kvm-c/sytem");
    for _ in 0..5 {
        press(&mut a, "<Backspace>");
    }
    type_str(&mut a, "system");
    // The connection test runs as an effect; its answer lands in the form.
    let fx = press(&mut a, "<C-t>");
    assert_eq!(
        fx,
        vec![Effect::TestConnection {
            uri: "qemu+ssh://root@kvm-c/system".into()
        }]
    );
    a.update(Msg::ConnTest {
        uri: "qemu+ssh://root@kvm-c/system".into(),
        result: Err("Connection refused".into()),
    });
    let Mode::AddHost(f) = &a.mode else { panic!() };
    assert!(
        matches!(&f.test, add_host::TestState::Failed { error, .. } if error == "Connection refused")
    );
    let fx = press(&mut a, "<Enter>");
    assert_eq!(a.mode, Mode::Normal);
    let [Effect::AddHost {
        id,
        spec,
        persist: true,
    }] = fx.as_slice()
    else {
        panic!("{fx:?}")
    };
    assert_eq!(spec.name, "kvm-c");
    assert_eq!(a.hosts.len(), 3);
    assert_eq!(a.host(*id).unwrap().uri, "qemu+ssh://root@kvm-c/system");
    // The same URI twice is refused with the existing host's name.
    press(&mut a, "n");
    type_str(&mut a, "qemu+ssh://root@kvm-c/system");
    assert!(press(&mut a, "<Enter>").is_empty());
    let Mode::AddHost(f) = &a.mode else { panic!() };
    assert!(f
        .error
        .as_deref()
        .unwrap()
        .contains("already in the list as kvm-c"));
    press(&mut a, "<Esc>");
    assert_eq!(a.mode, Mode::Normal);
}

#[test]
fn remove_host_confirms_and_drops_its_rows() {
    let mut a = app();
    press(&mut a, "1");
    press(&mut a, "j");
    assert!(press(&mut a, "D").is_empty());
    let Mode::Confirm(c) = &a.mode else {
        panic!("remove asks first")
    };
    assert!(c.title.contains("kvm-b"), "{}", c.title);
    let fx = press(&mut a, "y");
    assert_eq!(
        fx,
        vec![Effect::RemoveHost {
            id: HostId(1),
            uri: "test:///b".into(),
            persist: true,
        }]
    );
    assert_eq!(a.hosts.len(), 1);
    assert_eq!(a.vms.rows.len(), 3, "only kvm-a's VMs are left");
    // Late events from the removed host's worker are ignored.
    a.update(Msg::Host(HostId(1), HostEvent::Connecting { attempt: 1 }));
    assert_eq!(a.hosts.len(), 1);
}

#[test]
fn stalled_host_refuses_actions_until_it_resumes() {
    let mut a = app();
    a.update(Msg::Host(
        HostId(0),
        HostEvent::Stalled {
            for_: Duration::from_secs(5),
        },
    ));
    assert!(a.hosts[0].is_stale());
    select(&mut a, "web-02");
    assert!(press(&mut a, "s").is_empty());
    let last = a.messages.toasts.back().unwrap().text.clone();
    assert!(last.contains("not responding"), "{last}");
    a.update(Msg::Host(HostId(0), HostEvent::Resumed));
    assert!(!a.hosts[0].is_stale());
    let fx = press(&mut a, "s");
    assert_eq!(lifecycle_cmds(&a, &fx).len(), 1);
}

#[test]
fn dashboard_opens_a_hosts_vms_and_details() {
    let mut a = app();
    press(&mut a, "1");
    press(&mut a, "j");
    press(&mut a, "<Enter>");
    assert_eq!(a.view, View::Pane(PaneId::Vms));
    assert_eq!(a.vms.filter_text, "host:kvm-b");
    assert_eq!(a.vms.rows.len(), 2);
    press(&mut a, "<Enter>");
    let (h, vm) = a.detail_vm().unwrap();
    assert_eq!((h.name.as_str(), vm.name.as_str()), ("kvm-b", "cache"));
    press(&mut a, "<Esc>");
    assert_eq!(a.view, View::Pane(PaneId::Vms));
}

#[test]
fn each_console_wake_re_arms_the_next_one() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut app = app_with(false);
    let link = crate::console::Link::new(24, 80);
    let wakes = std::sync::Arc::new(AtomicUsize::new(0));
    let w = std::sync::Arc::clone(&wakes);
    link.set_wake(std::sync::Arc::new(move || {
        w.fetch_add(1, Ordering::SeqCst);
    }));
    app.view = View::Console(Box::new(super::console::ConsoleView {
        host: HostId(0),
        uuid: "u".into(),
        name: "vm".into(),
        link: link.clone(),
        scroll: 0,
        attached_id: None,
        back: Box::new(View::Pane(PaneId::Vms)),
    }));
    for round in 1..=3 {
        link.set_state(crate::console::LinkState::Attached);
        assert_eq!(wakes.load(Ordering::SeqCst), round);
        app.update(Msg::Wake);
    }
}

#[test]
fn a_host_that_connects_while_the_pools_pane_is_open_is_asked_at_the_next_tick() {
    let mut a = app();
    a.view = View::Pane(PaneId::Pools);
    let t = a.now;
    let refreshes = |fx: &[Effect]| {
        fx.iter()
            .filter(|e| {
                matches!(
                    e,
                    Effect::Host(_, HostCommand::Storage(crate::host::StorageCmd::Refresh))
                )
            })
            .count()
    };
    assert_eq!(
        refreshes(&a.update(Msg::Tick(t))),
        2,
        "first tick asks both"
    );
    let soon = t + std::time::Duration::from_secs(1);
    assert_eq!(refreshes(&a.update(Msg::Tick(soon))), 0, "not due yet");
    a.update(Msg::Host(
        HostId(1),
        HostEvent::Connected(HostInfo::default()),
    ));
    let next = soon + std::time::Duration::from_secs(1);
    assert_eq!(
        refreshes(&a.update(Msg::Tick(next))),
        2,
        "asked again at once"
    );
}

#[test]
fn leases_are_asked_once_when_the_networks_arrive_after_the_pane_opened() {
    use crate::host::NetCmd;
    use crate::model::network::NetworkInventory;
    let mut a = app();
    a.view = View::Pane(PaneId::Networks);
    let t = a.now;
    let leases = |fx: &[Effect]| {
        fx.iter()
            .filter(|e| {
                matches!(
                    e,
                    Effect::Host(_, HostCommand::Network(NetCmd::Leases { .. }))
                )
            })
            .count()
    };
    assert_eq!(leases(&a.update(Msg::Tick(t))), 0, "no networks known yet");
    let net = test_network("default");
    a.update(Msg::Host(
        HostId(0),
        HostEvent::Networks(NetworkInventory {
            networks: vec![net],
            ..NetworkInventory::default()
        }),
    ));
    let t1 = t + std::time::Duration::from_secs(1);
    assert_eq!(
        leases(&a.update(Msg::Tick(t1))),
        1,
        "asked at the next tick"
    );
    let t2 = t1 + std::time::Duration::from_secs(1);
    assert_eq!(leases(&a.update(Msg::Tick(t2))), 0, "and only once");
}

/// A pool or volume named with a newline and a line separator can be deleted by typing the
/// name as the dialog shows it (escapes and all).
#[test]
fn storage_deletes_confirm_with_the_shown_form_of_a_hostile_name() {
    use crate::host::{PoolOp, StorageCmd, VolOp};
    use crate::model::storage::{Pool, PoolState, StorageInventory, Volume};
    let mut a = app();
    let pool = |name: &str, kind: &str, state: PoolState, volumes: Vec<Volume>| Pool {
        name: name.into(),
        uuid: String::new(),
        kind: kind.into(),
        state,
        autostart: false,
        persistent: true,
        capacity: 1 << 30,
        allocation: 0,
        available: 1 << 30,
        target: None,
        volumes,
    };
    let vol = Volume {
        name: "v\nz\u{2028}.qcow2".into(),
        key: String::new(),
        path: "/p/v".into(),
        format: "qcow2".into(),
        kind: "file".into(),
        capacity: 1 << 20,
        allocation: 0,
        backing: None,
        used_by: vec!["web-01".into()],
    };
    a.update(Msg::Host(
        HostId(0),
        HostEvent::Storage(StorageInventory {
            pools: vec![
                pool("lv\n[[hosts]]", "logical", PoolState::Inactive, vec![]),
                pool("vols", "dir", PoolState::Running, vec![vol]),
            ],
            secrets: Vec::new(),
        }),
    ));
    a.view = View::Pane(PaneId::Pools);
    press(&mut a, "W");
    assert!(
        matches!(&a.mode, Mode::Confirm(c) if c.typed.is_some()),
        "{:?}",
        a.mode
    );
    type_text(&mut a, "lv\\n[[hosts]]");
    let fx = press(&mut a, "<Enter>");
    assert!(
        matches!(
            fx.as_slice(),
            [Effect::Host(_, HostCommand::Storage(StorageCmd::Pool { pool, op: PoolOp::Delete, .. }))]
                if pool == "lv\n[[hosts]]"
        ),
        "{fx:?}"
    );
    press(&mut a, "j");
    press(&mut a, "<Enter>");
    assert!(matches!(a.view, View::Volumes { .. }));
    press(&mut a, "D");
    assert!(
        matches!(&a.mode, Mode::Confirm(c) if c.typed.is_some()),
        "{:?}",
        a.mode
    );
    type_text(&mut a, "v\\nz\\u{2028}.qcow2");
    let fx = press(&mut a, "<Enter>");
    assert!(
        matches!(
            fx.as_slice(),
            [Effect::Host(_, HostCommand::Storage(StorageCmd::Volume { volume, op: VolOp::Delete, .. }))]
                if volume == "v\nz\u{2028}.qcow2"
        ),
        "{fx:?}"
    );
}

/// `t`: one VM's tags and note replaced; the marked VMs (two hosts) get tags added and
/// removed; a bad tag keeps the form open.
#[test]
fn tags_edit_one_vm_or_the_marked_ones() {
    use crate::host::vm::{VmCmd, VmOp};
    let mut a = app();
    press(&mut a, "t");
    let Mode::Wizard(w) = &mut a.mode else {
        panic!("no tags form: {:?}", a.mode)
    };
    assert!(w.title.starts_with("Tags of "), "{}", w.title);
    w.set_text("tags", "db bad<tag");
    let ctx = match &a.mode {
        Mode::Wizard(w) => crate::app::wizard::context(&a, w.host, w.spec.as_ref()),
        _ => unreachable!(),
    };
    if let Mode::Wizard(w) = &mut a.mode {
        crate::app::wizard::refresh(w, &ctx);
        assert!(w.field("tags").unwrap().error.is_some());
        w.set_text("tags", "db, web db");
        w.set_text("note", "owner: ops");
        crate::app::wizard::refresh(w, &ctx);
    }
    let fx = press(&mut a, "<Enter>");
    let ops: Vec<&VmOp> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Host(_, HostCommand::Vm(VmCmd::Act { op, .. })) => Some(op),
            _ => None,
        })
        .collect();
    assert_eq!(
        ops,
        [&VmOp::EditMeta {
            set: Some(vec!["db".into(), "web".into()]),
            add: Vec::new(),
            remove: Vec::new(),
            note: Some("owner: ops".into()),
        }]
    );
    assert_eq!(a.mode, Mode::Normal);
    // Every VM marked, on both hosts: add and remove.
    press(&mut a, "*");
    press(&mut a, "t");
    if let Mode::Wizard(w) = &mut a.mode {
        assert!(w.title.contains("5 marked VMs"), "{}", w.title);
        w.set_text("add", "prod");
        w.set_text("remove", "test");
    }
    let fx = press(&mut a, "<Enter>");
    let hosts: std::collections::BTreeSet<HostId> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Host(
                h,
                HostCommand::Vm(VmCmd::Act {
                    op: VmOp::EditMeta { add, remove, .. },
                    ..
                }),
            ) if add == &["prod"] && remove == &["test"] => Some(*h),
            _ => None,
        })
        .collect();
    assert_eq!(hosts.len(), 2, "{fx:?}");
}
