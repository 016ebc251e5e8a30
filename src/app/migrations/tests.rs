//! The migrate wizard, the pane and evacuation, driven by keys and fed host answers.

use super::super::tests::{app, press, select, vm};
use super::*;
use crate::app::Msg;
use crate::app::PaneId;
use crate::host::{HostEvent, Reply, RequestId};
use crate::migrate::preflight::{CheckKind, Status};
use crate::model::migration::{PostCopy, Progress};
use crate::model::{NodeMemory, Snapshot, VmState};

fn check(kind: CheckKind, status: Status) -> Check {
    Check {
        kind,
        name: format!("{kind:?}"),
        status,
        detail: "detail".into(),
    }
}

fn migrate_cmds(fx: &[Effect]) -> Vec<&MigrateCmd> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Host(_, HostCommand::Migrate(c)) => Some(c),
            _ => None,
        })
        .collect()
}

fn wizard(a: &App) -> &wizard::Wizard {
    match &a.mode {
        Mode::Wizard(w) => w,
        m => panic!("no wizard: {m:?}"),
    }
}

fn event(a: &mut App, host: usize, ev: HostEvent) -> Vec<Effect> {
    a.update(Msg::Host(HostId(host), ev))
}

/// The migration whose checks the pre-flight request `id` asks for.
fn migration_of(a: &App, id: RequestId) -> MigrationId {
    match a.requests.owner(id) {
        Some(requests::Owner::Preflight(m)) => *m,
        other => panic!("request {id:?} is not a pre-flight: {other:?}"),
    }
}

/// Source host kvm-a answers the pre-flight request of migration `id`.
fn answer_preflight(a: &mut App, id: MigrationId, checks: Vec<Check>) {
    let rid = a
        .requests
        .find(&requests::Owner::Preflight(id))
        .expect("a pre-flight request for the migration");
    event(
        a,
        0,
        HostEvent::Reply {
            id: rid,
            reply: Reply::Preflight(checks),
        },
    );
}

/// `m` on web-01 of kvm-a, Enter twice: the checks page, with one pre-flight asked.
fn to_checks(a: &mut App) -> MigrationId {
    select(a, "web-01");
    press(a, "m");
    let w = wizard(a);
    assert_eq!(w.title, "Migrate web-01");
    assert_eq!(w.get("target"), "kvm-b", "the only other connected host");
    assert_eq!(w.get("mode"), "live", "a running VM migrates live");
    press(a, "<Enter>");
    let fx = press(a, "<Enter>");
    let cmds = migrate_cmds(&fx);
    let [MigrateCmd::Preflight { vms, target, .. }] = cmds.as_slice() else {
        panic!("one pre-flight expected: {cmds:?}");
    };
    let [(id, uuid)] = vms.as_slice() else {
        panic!("one VM expected: {vms:?}");
    };
    assert_eq!(uuid, "uuid-web-01");
    assert_eq!(target.uri, "test:///b");
    assert!(wizard(a).is_review());
    migration_of(a, *id)
}

#[test]
fn a_failed_check_blocks_until_overridden_then_the_migration_starts() {
    let mut a = app();
    let id = to_checks(&mut a);
    let first = a.requests.find(&requests::Owner::Preflight(id)).unwrap();
    assert!(press(&mut a, "<Enter>").is_empty(), "checks still running");
    assert!(wizard(&a)
        .error
        .as_deref()
        .unwrap()
        .contains("still running"));
    answer_preflight(
        &mut a,
        id,
        vec![
            check(CheckKind::Reachable, Status::Pass),
            check(CheckKind::Network, Status::Fail),
        ],
    );
    assert!(press(&mut a, "<Enter>").is_empty(), "a failed check blocks");
    assert!(wizard(&a).error.as_deref().unwrap().contains("block"));
    // Back to Tuning, "If checks fail" → migrate anyway, forward again: a new round.
    press(&mut a, "<Esc>");
    let w = wizard(&a);
    let onfail = w.fields.iter().position(|f| f.key == "onfail").unwrap();
    while wizard(&a).focus != onfail {
        press(&mut a, "<Tab>");
    }
    press(&mut a, "<Right>");
    assert!(migrate_wizard::override_failures(wizard(&a)));
    let fx = press(&mut a, "<Enter>");
    let [MigrateCmd::Preflight { vms, .. }] = migrate_cmds(&fx).as_slice() else {
        panic!("a new pre-flight round")
    };
    let id2 = migration_of(&a, vms[0].0);
    assert_ne!(id, id2);
    // An answer of the old round is ignored.
    event(
        &mut a,
        0,
        HostEvent::Reply {
            id: first,
            reply: Reply::Preflight(vec![]),
        },
    );
    assert!(a.migrations.preflight[0].checks.is_none());
    answer_preflight(&mut a, id2, vec![check(CheckKind::Network, Status::Fail)]);
    let fx = press(&mut a, "<Enter>");
    let [MigrateCmd::Start {
        id: started,
        options,
        ..
    }] = migrate_cmds(&fx).as_slice()
    else {
        panic!("start expected: {fx:?}")
    };
    assert_eq!(*started, id2);
    assert!(options.persist && options.undefine_source);
    assert_eq!(a.mode, Mode::Normal);
    assert_eq!(a.view, View::Pane(PaneId::Migrations));
    assert_eq!(a.migrations.list[0].phase, Phase::Queued);
}

#[test]
fn progress_and_the_end_show_in_the_pane_and_as_a_message() {
    let mut a = app();
    let id = to_checks(&mut a);
    answer_preflight(&mut a, id, vec![]);
    press(&mut a, "<Enter>");
    let upd = |event| HostEvent::Migration(MigrationUpdate { id, event });
    event(&mut a, 0, upd(MigrationEvent::Started));
    assert_eq!(a.migrations.list[0].phase, Phase::Running);
    let p = Progress {
        data_processed: Some(40 << 20),
        data_remaining: Some(60 << 20),
        data_total: Some(100 << 20),
        ..Progress::default()
    };
    event(&mut a, 0, upd(MigrationEvent::Progress(Box::new(p))));
    assert_eq!(a.migrations.list[0].percent_label(), "40%");
    // While running: x asks first, then sends the abort to the source host.
    press(&mut a, "x");
    assert!(matches!(a.mode, Mode::Confirm(_)));
    let fx = press(&mut a, "y");
    assert!(matches!(
        (fx.as_slice(), migrate_cmds(&fx).as_slice()),
        ([Effect::Host(HostId(0), _)], [MigrateCmd::Cancel { id: c }]) if *c == id
    ));
    event(
        &mut a,
        0,
        upd(MigrationEvent::Finished(Outcome::Succeeded {
            downtime_ms: Some(24),
            total_ms: Some(5000),
            data_bytes: Some(100 << 20),
        })),
    );
    assert_eq!(a.migrations.list[0].phase, Phase::Succeeded);
    assert!(a
        .messages
        .log
        .iter()
        .any(|e| e.text == "web-01 migrated to kvm-b (downtime 24 ms)"));
    // Finished: x does nothing, X clears it.
    assert!(press(&mut a, "x").is_empty());
    assert_eq!(a.mode, Mode::Normal);
    press(&mut a, "X");
    assert!(a.migrations.list.is_empty());
}

#[test]
fn tune_and_post_copy_reach_the_running_migration() {
    let mut a = app();
    let id = to_checks(&mut a);
    answer_preflight(&mut a, id, vec![]);
    press(&mut a, "<Enter>");
    // Post-copy was not allowed at start: refused with a message, nothing sent.
    event(
        &mut a,
        0,
        HostEvent::Migration(MigrationUpdate {
            id,
            event: MigrationEvent::Started,
        }),
    );
    assert!(press(&mut a, "P").is_empty());
    a.migrations.list[0].options.post_copy = PostCopy::Manual;
    press(&mut a, "P");
    let fx = press(&mut a, "y");
    assert!(matches!(
        migrate_cmds(&fx).as_slice(),
        [MigrateCmd::PostCopy { .. }]
    ));
    press(&mut a, "e");
    let w = wizard(&a);
    assert!(w.spec_as::<super::migrate_wizard::TuneForm>().is_some());
    for c in "12".chars() {
        press(&mut a, &c.to_string());
    }
    press(&mut a, "<Tab>");
    for c in "0".chars() {
        press(&mut a, &c.to_string());
    }
    assert!(
        wizard(&a).field("downtime").unwrap().error.is_some(),
        "0 ms is refused as typed"
    );
    press(&mut a, "<Backspace>");
    for c in "250".chars() {
        press(&mut a, &c.to_string());
    }
    let fx = press(&mut a, "<Enter>");
    let cmds = migrate_cmds(&fx);
    assert!(
        matches!(
            cmds.as_slice(),
            [
                MigrateCmd::SetSpeed { mib_s: 12, .. },
                MigrateCmd::SetDowntime { ms: 250, .. }
            ]
        ),
        "{cmds:?}"
    );
}

#[test]
fn invalid_combinations_and_numbers_stop_the_wizard_before_the_hosts_are_asked() {
    let mut a = app();
    select(&mut a, "web-01");
    press(&mut a, "m");
    // Tunnelled without peer-to-peer: libvirt refuses it, so does the form.
    let w = wizard(&a);
    let tunnelled = w.fields.iter().position(|f| f.key == "tunnelled").unwrap();
    while wizard(&a).focus != tunnelled {
        press(&mut a, "<Tab>");
    }
    press(&mut a, "<Space>");
    assert!(wizard(&a).field("mode").unwrap().error.is_some());
    press(&mut a, "<Enter>");
    assert_eq!(wizard(&a).page, 0, "Next stays on the page");
    let w = wizard(&a);
    assert_eq!(
        w.fields[w.focus].key, "mode",
        "focus on the field that says why"
    );
    while wizard(&a).focus != tunnelled {
        press(&mut a, "<Tab>");
    }
    press(&mut a, "<Space>");
    press(&mut a, "<Enter>");
    assert_eq!(wizard(&a).page, 1);
    for c in "fast".chars() {
        press(&mut a, &c.to_string());
    }
    assert!(wizard(&a).field("bandwidth").unwrap().error.is_some());
    assert!(migrate_cmds(&press(&mut a, "<Enter>")).is_empty());
    assert_eq!(wizard(&a).page, 1);
}

#[test]
fn a_stopped_vm_defaults_to_offline_and_one_host_has_no_target() {
    let mut a = app();
    select(&mut a, "web-02");
    press(&mut a, "m");
    assert_eq!(wizard(&a).get("mode"), "offline");
    press(&mut a, "<Esc>");
    assert_eq!(a.mode, Mode::Normal);
    // The other host gone: nothing to migrate to, said so.
    a.hosts[1].status = crate::app::hosts::HostStatus::Connecting { attempt: 1 };
    press(&mut a, "m");
    assert_eq!(a.mode, Mode::Normal);
    assert!(a
        .messages
        .log
        .iter()
        .any(|e| e.text.contains("no other connected host")));
}

/// kvm-a runs web-01, db-01, app-1 and app-2 (and web-02, shut off); kvm-b has 32 GiB free.
/// The dashboard with kvm-a selected.
fn busy_source() -> App {
    let mut a = app();
    let mut vms: Vec<_> = ["web-01", "db-01", "app-1", "app-2"]
        .iter()
        .map(|n| vm(n, VmState::Running))
        .collect();
    vms.push(vm("web-02", VmState::Shutoff));
    let t = a.now;
    event(
        &mut a,
        0,
        HostEvent::Snapshot(Snapshot {
            vms: crate::model::shared(vms),
            taken_at: t,
            receipt: Default::default(),
            node: None,
        }),
    );
    a.hosts[1].node.memory = Some(NodeMemory {
        total_kib: 64 << 20,
        available_kib: 32 << 20,
    });
    a.view = View::Pane(PaneId::Dashboard);
    a.dash.selected = 0;
    assert_eq!(a.dashboard_host(), Some(HostId(0)));
    a
}

/// The pre-flight round an Enter on the options page asked, one command per target:
/// (id, uuid, target uri, options) per VM.
fn preflights(a: &App, fx: &[Effect]) -> Vec<(MigrationId, String, String, MigrationOptions)> {
    migrate_cmds(fx)
        .into_iter()
        .flat_map(|c| match c {
            MigrateCmd::Preflight {
                vms,
                target,
                options,
                ..
            } => vms
                .iter()
                .map(|(id, uuid)| {
                    let m = migration_of(a, *id);
                    (m, uuid.clone(), target.uri.clone(), options.clone())
                })
                .collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn started(fx: &[Effect]) -> Vec<(MigrationId, MigrationOptions)> {
    migrate_cmds(fx)
        .iter()
        .map(|c| match c {
            MigrateCmd::Start { id, options, .. } => (*id, options.clone()),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn focus(a: &mut App, key: &str) {
    for _ in 0..10 {
        let w = wizard(a);
        if w.fields[w.focus].key == key {
            return;
        }
        press(a, "<Tab>");
    }
    panic!("cannot focus {key}");
}

#[test]
fn evacuation_checks_every_vm_with_the_chosen_options_and_leaves_the_refused_ones() {
    let mut a = busy_source();
    press(&mut a, "M");
    let w = wizard(&a);
    assert_eq!(w.title, "Evacuate kvm-a");
    let keys: Vec<_> = w.fields.iter().map(|f| f.key).collect();
    assert_eq!(
        keys,
        ["copy", "unsafe", "bandwidth", "downtime", "concurrency"],
        "the migrate wizard's batch options, plus how many at once"
    );
    focus(&mut a, "unsafe");
    press(&mut a, "<Space>");
    focus(&mut a, "bandwidth");
    press(&mut a, "5");
    focus(&mut a, "concurrency");
    press(&mut a, "<Backspace>");
    press(&mut a, "3");
    let fx = press(&mut a, "<Enter>");
    assert_eq!(migrate_cmds(&fx).len(), 1, "one command per target host");
    let round = preflights(&a, &fx);
    assert_eq!(round.len(), 4, "every running VM on every other host");
    assert!(round.iter().all(|(_, _, uri, o)| uri == "test:///b"
        && o.allow_unsafe
        && o.bandwidth_mib_s == Some(5)));
    assert!(wizard(&a).is_review());
    // Still checking: Enter does not start anything, and says why.
    assert!(press(&mut a, "<Enter>").is_empty());
    assert_eq!(
        wizard(&a).error.as_deref(),
        Some("the checks are still running")
    );
    for (id, uuid, _, _) in &round {
        let checks = if uuid == "uuid-db-01" {
            vec![
                check(CheckKind::State, Status::Pass),
                check(CheckKind::Storage, Status::Fail),
            ]
        } else {
            vec![
                check(CheckKind::State, Status::Pass),
                check(CheckKind::CacheMode, Status::Warn),
            ]
        };
        answer_preflight(&mut a, *id, checks);
    }
    let plan = evacuation::plan(&a, wizard(&a)).expect("all answered");
    let going: Vec<_> = plan
        .assignments()
        .map(|(v, h)| (v.name.as_str(), h))
        .collect();
    assert_eq!(
        going,
        [
            ("app-1", HostId(1)),
            ("app-2", HostId(1)),
            ("web-01", HostId(1))
        ],
        "equal sizes go by name"
    );
    let stays = plan.verdicts.iter().find(|v| v.to.is_none()).unwrap();
    assert_eq!(stays.vm.name, "db-01");
    assert_eq!(
        stays.refused,
        [(HostId(1), vec![check(CheckKind::Storage, Status::Fail)])],
        "the reason it stays"
    );
    let fx = press(&mut a, "<Enter>");
    let s = started(&fx);
    assert_eq!(s.len(), 3, "three at once, as chosen");
    assert!(s
        .iter()
        .all(|(_, o)| o.allow_unsafe && o.bandwidth_mib_s == Some(5)));
    assert_eq!(a.migrations.list.len(), 3, "db-01 is not queued");
    assert_eq!(a.view, View::Pane(PaneId::Migrations));
    assert_eq!(a.mode, Mode::Normal);
}

#[test]
fn evacuation_runs_two_at_a_time_by_default() {
    let mut a = busy_source();
    press(&mut a, "M");
    let fx = press(&mut a, "<Enter>");
    let round = preflights(&a, &fx);
    assert!(round
        .iter()
        .all(|(_, _, _, o)| *o == MigrationOptions::default()));
    for (id, _, _, _) in &round {
        let checks = vec![check(CheckKind::State, Status::Pass)];
        answer_preflight(&mut a, *id, checks);
    }
    let fx = press(&mut a, "<Enter>");
    let started: Vec<MigrationId> = started(&fx).into_iter().map(|(id, _)| id).collect();
    assert_eq!(started.len(), EVACUATION_PARALLEL, "the concurrency limit");
    assert_eq!(a.migrations.list.len(), 4);
    assert_eq!(a.view, View::Pane(PaneId::Migrations));
    // One ends: the next queued one starts.
    let fx = event(
        &mut a,
        0,
        HostEvent::Migration(MigrationUpdate {
            id: started[0],
            event: MigrationEvent::Finished(Outcome::Failed("boom".into())),
        }),
    );
    assert_eq!(migrate_cmds(&fx).len(), 1);
    // A queued one cancelled with x is dropped without asking the host.
    // (The third was handed to its host; the fourth still waits for a slot.)
    let queued = 3;
    assert_eq!(a.migrations.list[queued].phase, Phase::Queued);
    a.migrations.sel = queued;
    assert!(press(&mut a, "x").is_empty());
    assert_eq!(a.migrations.list[queued].phase, Phase::Cancelled);
}

#[test]
fn evacuation_without_room_says_so() {
    let mut a = busy_source();
    a.hosts[1].node.memory = None;
    press(&mut a, "M");
    let fx = press(&mut a, "<Enter>");
    for (id, _, _, _) in preflights(&a, &fx) {
        let checks = vec![check(CheckKind::State, Status::Pass)];
        answer_preflight(&mut a, id, checks);
    }
    let plan = evacuation::plan(&a, wizard(&a)).unwrap();
    assert!(plan
        .verdicts
        .iter()
        .all(|v| v.to.is_none() && v.refused == [(HostId(1), vec![])]));
    assert!(press(&mut a, "<Enter>").is_empty());
    assert!(
        wizard(&a)
            .error
            .as_deref()
            .unwrap()
            .contains("no VM can move"),
        "{:?}",
        wizard(&a).error
    );
    // A bad concurrency stops the options page.
    press(&mut a, "<Esc>");
    focus(&mut a, "concurrency");
    press(&mut a, "<Backspace>");
    press(&mut a, "0");
    assert!(press(&mut a, "<Enter>").is_empty());
    assert!(!wizard(&a).is_review());
}

#[test]
fn evacuation_of_a_host_alone_says_so() {
    let mut a = busy_source();
    a.hosts[1].status = crate::app::hosts::HostStatus::Connecting { attempt: 1 };
    press(&mut a, "M");
    assert_eq!(a.mode, Mode::Normal);
    assert!(a
        .messages
        .log
        .iter()
        .any(|e| e.text.contains("no other connected host")));
}
