//! Host workers against the libvirt test driver: lifecycle commands, results and refreshed
//! state arrive as messages; libvirt errors come back with their text.

mod common;

use std::time::Duration;

use virtdeck::app::requests::Owner;
use virtdeck::app::Msg;
use virtdeck::host::{HostCommand, HostEvent, LifecycleOp, Reply};
use virtdeck::model::VmState;

fn vm_state(live: &common::Live, host: usize, name: &str) -> Option<(VmState, bool, bool)> {
    live.app.hosts[host]
        .vms
        .iter()
        .find(|v| v.name == name)
        .map(|v| (v.state, v.autostart, v.managed_save))
}

fn send(live: &mut common::Live, host: usize, name: &str, op: LifecycleOp) -> Result<(), String> {
    let uuid = live.app.hosts[host]
        .vms
        .iter()
        .find(|v| v.name == name)
        .map(|v| v.uuid.clone())
        .expect("vm exists");
    let id = live.app.hosts[host].id;
    let rid = live.app.requests.issue(
        id,
        Owner::Lifecycle {
            uuid: uuid.clone(),
            name: name.into(),
            op,
        },
    );
    live.workers.send(
        id,
        HostCommand::Lifecycle {
            id: rid,
            uuid: uuid.clone(),
            op,
        },
    );
    // Wait for the result message, feeding everything else to the app.
    let until = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let m = live
            .rx
            .recv_timeout(until.saturating_duration_since(std::time::Instant::now()))
            .expect("worker answered");
        let done = match &m {
            Msg::Host(
                _,
                HostEvent::Reply {
                    id: r,
                    reply: Reply::Op(result),
                },
            ) if *r == rid => Some(result.clone()),
            _ => None,
        };
        live.app.update(m);
        // The worker sends the refreshed snapshot before the result, so the row shows the
        // new state as soon as it stops being pending.
        if let Some(r) = done {
            return r;
        }
    }
}

fn idx(live: &common::Live, name: &str) -> usize {
    live.app.hosts.iter().position(|h| h.name == name).unwrap()
}

#[test]
fn lifecycle_round_trip_on_test_driver() {
    let mut live = common::demo();
    let h = idx(&live, "lab-edge");
    // Pick any shut-off VM without a managed save.
    let name = live.app.hosts[h]
        .vms
        .iter()
        .find(|v| v.state == VmState::Shutoff && !v.managed_save && v.persistent)
        .map(|v| v.name.clone())
        .expect("demo has a plain shut-off VM");

    send(&mut live, h, &name, LifecycleOp::Start).unwrap();
    assert_eq!(vm_state(&live, h, &name).unwrap().0, VmState::Running);
    send(&mut live, h, &name, LifecycleOp::Pause).unwrap();
    assert_eq!(vm_state(&live, h, &name).unwrap().0, VmState::Paused);
    send(&mut live, h, &name, LifecycleOp::Resume).unwrap();
    assert_eq!(vm_state(&live, h, &name).unwrap().0, VmState::Running);
    send(&mut live, h, &name, LifecycleOp::Reboot).unwrap();
    send(&mut live, h, &name, LifecycleOp::Reset).unwrap();
    assert_eq!(vm_state(&live, h, &name).unwrap().0, VmState::Running);
    send(&mut live, h, &name, LifecycleOp::SetAutostart(true)).unwrap();
    assert!(vm_state(&live, h, &name).unwrap().1);
    send(&mut live, h, &name, LifecycleOp::SetAutostart(false)).unwrap();
    assert!(!vm_state(&live, h, &name).unwrap().1);
    send(&mut live, h, &name, LifecycleOp::ManagedSave).unwrap();
    let (state, _, saved) = vm_state(&live, h, &name).unwrap();
    assert_eq!(state, VmState::Shutoff);
    assert!(saved, "managed save image recorded");
    send(&mut live, h, &name, LifecycleOp::Start).unwrap();
    send(&mut live, h, &name, LifecycleOp::Shutdown).unwrap();
    assert_eq!(vm_state(&live, h, &name).unwrap().0, VmState::Shutoff);
    send(&mut live, h, &name, LifecycleOp::Start).unwrap();
    send(&mut live, h, &name, LifecycleOp::ForceOff).unwrap();
    assert_eq!(vm_state(&live, h, &name).unwrap().0, VmState::Shutoff);
}

#[test]
fn libvirt_errors_come_back_as_text() {
    let mut live = common::demo();
    let h = idx(&live, "kvm-prod-01");
    let name = live.app.hosts[h]
        .vms
        .iter()
        .find(|v| v.state == VmState::Running)
        .map(|v| v.name.clone())
        .unwrap();
    let err = send(&mut live, h, &name, LifecycleOp::Start).unwrap_err();
    assert!(err.contains("already running"), "{err}");
    assert!(!err.contains("code="), "no crate debug suffix: {err}");
    // Still running, nothing lost.
    assert_eq!(vm_state(&live, h, &name).unwrap().0, VmState::Running);
}

#[test]
fn commands_through_the_app_update_rows_pending_then_state() {
    let mut live = common::demo();
    live.press("/");
    live.type_text("host:lab-edge state:off");
    live.press("<Enter>");
    let (host, vm) = {
        let r = live
            .app
            .vms
            .rows
            .iter()
            .copied()
            .find(|r| !live.app.vm(*r).1.managed_save)
            .unwrap();
        let (h, v) = live.app.vm(r);
        (h.id, v.uuid.clone())
    };
    while live.app.vm(live.app.selected_row().unwrap()).1.uuid != vm {
        live.press("j");
    }
    live.press("s");
    assert_eq!(
        live.app.vms.pending.get(&(host, vm.clone())),
        Some(&LifecycleOp::Start),
        "row shows the action pending"
    );
    let ok = live.pump_until(Duration::from_secs(10), |app| {
        app.vms.pending.is_empty()
            && app.hosts[host.0]
                .vms
                .iter()
                .any(|v| v.uuid == vm && v.state == VmState::Running)
    });
    assert!(ok, "state became running");
    // The filter (state:off) now hides it.
    assert!(live
        .app
        .vms
        .rows
        .iter()
        .all(|r| live.app.vm(*r).1.uuid != vm));
}

#[test]
fn failed_connect_hook_reports_unreachable_and_retries() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    use virtdeck::app::HostSpec;
    use virtdeck::host::WorkerOptions;
    let tries = Arc::new(AtomicU32::new(0));
    let t2 = Arc::clone(&tries);
    let opts = WorkerOptions {
        on_connect: Some(Arc::new(move |_c| {
            if t2.fetch_add(1, Ordering::SeqCst) == 0 {
                Err("first try fails".into())
            } else {
                Ok(())
            }
        })),
        ..WorkerOptions::default()
    };
    let mut live = common::start(
        vec![(
            HostSpec {
                name: "t".into(),
                uri: "test:///default".into(),
            },
            opts,
        )],
        false,
    );
    let ok = live.pump_until(Duration::from_secs(10), |app| {
        app.hosts[0].status.is_connected() && app.hosts[0].read_in_full()
    });
    assert!(ok);
    assert!(live
        .app
        .messages
        .log
        .iter()
        .any(|e| e.text.contains("first try fails")));
    assert_eq!(tries.load(Ordering::SeqCst), 2);
}

/// Undefines the test's domain even when the test fails.
struct Undefine(virt::domain::Domain);

impl Drop for Undefine {
    fn drop(&mut self) {
        let _ = self.0.destroy();
        let _ = self.0.undefine();
    }
}

/// An app with one host, `test:///default`: one driver per process, so a connection the test
/// opens is another client of the host the worker watches.
fn on_default(opts: virtdeck::host::WorkerOptions) -> common::Live {
    common::start(
        vec![(
            virtdeck::app::HostSpec {
                name: "default".into(),
                uri: "test:///default".into(),
            },
            opts,
        )],
        false,
    )
}

/// Defines a shut-off test-driver domain, undefined when the guard drops.
fn define(conn: &virt::connect::Connect, name: &str) -> Undefine {
    Undefine(
        conn.define_domain_xml(&format!(
            "<domain type='test'><name>{name}</name><memory>1024</memory>\
             <os><type>hvm</type></os></domain>"
        ))
        .expect("define"),
    )
}

/// A tick that changes nothing hands the app the VMs it already holds (shared with the
/// worker, not copied: a 10,000-VM host used to be copied whole every tick), and a VM that
/// changed arrives as a new copy while the one the app held keeps what it showed.
#[test]
fn unchanged_vms_are_shared_with_the_app_and_a_changed_one_is_copied() {
    let mut live = on_default(virtdeck::host::WorkerOptions {
        poll_interval: Duration::from_millis(200),
        ..Default::default()
    });
    let conn = virt::connect::Connect::open(Some("test:///default")).expect("test driver");
    let name = |n: &str| format!("vdk-share-{}-{n}", std::process::id());
    let run = define(&conn, &name("run"));
    run.0.create().expect("start");
    let _off = define(&conn, &name("off"));
    let mine = |a: &virtdeck::app::App| {
        let find = |n: &str| {
            a.hosts[0]
                .vms
                .iter()
                .find(|v| v.name == name(n) && v.known == virtdeck::model::Known::All)
                .cloned()
        };
        Some((find("run")?, find("off")?))
    };
    assert!(live.pump_until(Duration::from_secs(10), |a| mine(a).is_some()));
    let (run0, off0) = mine(&live.app).unwrap();
    let polled = live.app.hosts[0].updated_at;
    // A few polls (every 200 ms) in which nothing changed.
    live.pump_until(Duration::from_secs(1), |_| false);
    assert_ne!(live.app.hosts[0].updated_at, polled, "no poll came");
    let (run1, off1) = mine(&live.app).unwrap();
    assert!(std::sync::Arc::ptr_eq(&run0, &run1), "running VM copied");
    assert!(std::sync::Arc::ptr_eq(&off0, &off1), "shut-off VM copied");

    run.0.suspend().expect("suspend");
    assert!(live.pump_until(Duration::from_secs(10), |a| {
        mine(a).is_some_and(|(r, _)| r.state == VmState::Paused)
    }));
    let (run2, off2) = mine(&live.app).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&run0, &run2));
    assert_eq!(
        run0.state,
        VmState::Running,
        "the app's old copy is untouched"
    );
    assert!(
        std::sync::Arc::ptr_eq(&off0, &off2),
        "an unchanged VM stays shared"
    );
    live.workers.stop_all();
}

#[test]
fn tags_set_by_another_client_show_without_a_reconnect() {
    let mut live = on_default(virtdeck::host::WorkerOptions::default());
    assert!(live.pump_until(Duration::from_secs(10), |a| !a.hosts[0].vms.is_empty()));
    let conn = virt::connect::Connect::open(Some("test:///default")).expect("test driver");
    let name = format!("vdk-meta-{}", std::process::id());
    let dom = define(&conn, &name);
    assert!(
        live.pump_until(Duration::from_secs(10), |a| a.hosts[0]
            .vms
            .iter()
            .any(|v| v.name == name)),
        "the defined domain never showed"
    );
    let tag = format!("ext-{}", std::process::id());
    virtdeck::host::meta::write(
        &dom.0,
        &virtdeck::xml::meta::Meta {
            tags: vec![tag.clone()],
            note: Some("set <elsewhere> & \"quoted\"".into()),
            ..Default::default()
        },
    )
    .expect("write metadata");
    // The 30 s inventory does not read metadata again: only the change event brings it.
    assert!(
        live.pump_until(Duration::from_secs(10), |a| a.hosts[0]
            .vms
            .iter()
            .any(|v| v.name == name && v.tags == [tag.clone()])),
        "the tag set by another client never showed"
    );
    let vm = live.app.hosts[0].vms.iter().find(|v| v.name == name);
    assert_eq!(
        vm.and_then(|v| v.note.as_deref()),
        Some("set <elsewhere> & \"quoted\"")
    );
    live.workers.stop_all();
}

/// Tags added to more VMs at once than the worker re-reads one by one (a bulk re-read) all
/// show: the bulk path must read the touched VMs' metadata again too.
#[test]
fn a_bulk_tag_on_many_vms_shows_on_every_row() {
    use virtdeck::host::vm::{VmCmd, VmOp};
    let mut live = on_default(virtdeck::host::WorkerOptions::default());
    let conn = virt::connect::Connect::open(Some("test:///default")).expect("test driver");
    let names: Vec<String> = (0..40)
        .map(|i| format!("vdk-bulktag-{}-{i}", std::process::id()))
        .collect();
    let doms: Vec<Undefine> = names.iter().map(|n| define(&conn, n)).collect();
    let mine = |a: &virtdeck::app::App| {
        a.hosts[0]
            .vms
            .iter()
            .filter(|v| names.contains(&v.name))
            .map(|v| (v.uuid.clone(), v.tags.clone()))
            .collect::<Vec<_>>()
    };
    assert!(live.pump_until(Duration::from_secs(10), |a| mine(a).len() == names.len()));
    // Let the metadata reads of the new domains finish first.
    live.pump_until(Duration::from_secs(2), |_| false);
    let id = live.app.hosts[0].id;
    let tag = format!("bulk-{}", std::process::id());
    for (i, (uuid, _)) in mine(&live.app).into_iter().enumerate() {
        live.workers.send(
            id,
            HostCommand::Vm(VmCmd::Act {
                id: virtdeck::host::RequestId(800_000 + i as u64),
                uuid,
                op: VmOp::EditMeta {
                    set: None,
                    add: vec![tag.clone()],
                    remove: Vec::new(),
                    note: None,
                },
            }),
        );
    }
    let ok = live.pump_until(Duration::from_secs(10), |a| {
        mine(a).iter().all(|(_, t)| t.contains(&tag))
    });
    let missing = mine(&live.app)
        .iter()
        .filter(|(_, t)| !t.contains(&tag))
        .count();
    assert!(ok, "{missing} of {} rows lack the tag", names.len());

    // The same through metadata events alone: another client retags all 40.
    let other = format!("other-{}", std::process::id());
    for d in &doms {
        virtdeck::host::meta::write(
            &d.0,
            &virtdeck::xml::meta::Meta {
                tags: vec![other.clone()],
                ..Default::default()
            },
        )
        .expect("write metadata");
    }
    let ok = live.pump_until(Duration::from_secs(10), |a| {
        mine(a).iter().all(|(_, t)| t.len() == 1 && t[0] == other)
    });
    assert!(ok, "tags set by another client: {:?}", mine(&live.app));
    live.workers.stop_all();
}
