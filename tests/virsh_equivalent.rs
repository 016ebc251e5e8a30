//! The `virsh` command line recorded with each action (issue 24): actions taken through the
//! UI on one tiny guest are recorded in the events pane; each recorded command is run with
//! virsh (as an argument list, the guest's name swapped for a twin's) on a second guest defined
//! the same way, and the twin ends in the same state. Also: the confirmation shows the line and
//! `y` in the events pane copies it. Skipped without qemu:///system and KVM unless
//! VIRTDECK_REQUIRE_KVM=1.

mod common;

use std::process::Command;
use std::time::Duration;

use common::guest::{kvm_available, live, select, Guest, URI};
use virt::connect::Connect;
use virtdeck::app::{Effect, Mode};

fn state(uuid: &str) -> (u32, bool) {
    let conn = Connect::open(Some(URI)).unwrap();
    let dom = conn.lookup_domain_by_uuid_string(uuid).unwrap();
    let (s, _) = dom.state().unwrap();
    (s.to_raw(), dom.autostart().unwrap())
}

/// The last recorded command of an action on `uuid`.
fn recorded(live: &common::Live, uuid: &str, n: usize) -> Vec<String> {
    let cmds: Vec<Vec<String>> = live
        .app
        .events
        .list
        .iter()
        .filter(|e| e.event.uuid == uuid)
        .filter_map(|e| e.note.as_ref()?.command.clone())
        .collect();
    assert_eq!(cmds.len(), n, "one recorded command per action");
    cmds.last().unwrap().clone()
}

/// Runs `argv` with the guest's name replaced by the twin's; no shell.
fn run_on_twin(argv: &[String], from: &str, to: &str) {
    let argv: Vec<&str> = argv
        .iter()
        .map(|a| if a == from { to } else { a.as_str() })
        .collect();
    assert!(argv.contains(&to), "the command names the VM: {argv:?}");
    let out = Command::new(argv[0]).args(&argv[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{argv:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn recorded_virsh_commands_do_the_same_to_a_twin() {
    if !kvm_available() {
        return;
    }
    let a = Guest::define("vsh");
    let b = Guest::define("vsh");
    let mut live = live(Duration::from_millis(500));
    select(&mut live, &a);
    let mut n = 0;
    // Each key, whether it asks first, and the state both guests must reach.
    for (key, asks) in [
        ("s", false),
        ("p", false),
        ("u", false),
        ("a", false),
        ("F", true),
    ] {
        let before = state(&a.uuid);
        live.press(key);
        if asks {
            let Mode::Confirm(c) = &live.app.mode else {
                panic!("{key}: no confirmation")
            };
            let shown = c
                .command
                .clone()
                .expect("the confirmation shows the command");
            assert!(
                shown.starts_with("virsh -c qemu:///system destroy '"),
                "{shown}"
            );
            live.press("y");
        }
        n += 1;
        let ok = live.pump_until(Duration::from_secs(20), |app| {
            app.events
                .list
                .iter()
                .filter(|e| e.event.uuid == a.uuid)
                .filter(|e| e.note.as_ref().is_some_and(|n| n.command.is_some()))
                .count()
                == n
        });
        assert!(
            ok,
            "{key}: no recorded action; log {:?}",
            live.app.messages.log
        );
        let after = state(&a.uuid);
        assert_ne!(before, after, "{key} changed the guest");
        let argv = recorded(&live, &a.uuid, n);
        run_on_twin(&argv, &a.name, &b.name);
        assert_eq!(state(&b.uuid), after, "{key}: {argv:?}");
    }

    // The events pane shows the last one and `y` copies it.
    live.press("7");
    live.press("g");
    let fx = live
        .app
        .update(virtdeck::app::Msg::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char('y'),
            crossterm::event::KeyModifiers::NONE,
        )));
    let copied = fx.iter().find_map(|e| match e {
        Effect::Copy(t) => Some(t.clone()),
        _ => None,
    });
    let copied = copied.expect("y copies the command");
    assert!(
        copied.starts_with("virsh -c qemu:///system destroy 'vdk-vsh-"),
        "{copied}"
    );
    assert!(
        copied.contains(r"'\''"),
        "the name's quote is escaped: {copied}"
    );
}
