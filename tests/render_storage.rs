//! Render snapshots and flows of the storage and network panes on the demo fleet (test driver):
//! pools with gauges, a pool's volumes with the VMs using them, the wizards' pages, the typed
//! confirmation for deleting a volume in use, and the networks pane.

mod common;

use std::time::Duration;

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use virtdeck::app::{App, Mode, View};

fn screen(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| virtdeck::ui::render(app, f)).unwrap();
    t.backend().to_string()
}

fn storage_ready(app: &App) -> bool {
    app.hosts.iter().all(|h| h.storage.is_some())
}

fn on_pools() -> common::Live {
    let mut live = common::demo();
    assert!(live.pump_until(Duration::from_secs(10), |a| a
        .hosts
        .iter()
        .all(|h| h.status.is_connected())));
    live.press("3");
    assert_eq!(live.app.view, View::Pools);
    assert!(
        live.pump_until(Duration::from_secs(10), storage_ready),
        "storage inventory never came"
    );
    live
}

/// Moves the pool cursor to `name` on the first host that has it.
fn select_pool(live: &mut common::Live, name: &str) {
    live.press("g");
    for _ in 0..50 {
        if virtdeck::app::storage::selected_pool(&live.app).is_some_and(|(_, p)| p.name == name) {
            return;
        }
        live.press("j");
    }
    panic!("no pool {name}");
}

#[test]
fn pools_pane_lists_every_hosts_pools_with_usage() {
    let live = on_pools();
    insta::assert_snapshot!(screen(&live.app, 140, 24));
}

#[test]
fn volumes_show_format_size_and_the_vms_using_them() {
    let mut live = on_pools();
    select_pool(&mut live, "default");
    live.press("<Enter>");
    assert!(matches!(live.app.view, View::Volumes { .. }));
    assert!(live.pump_until(Duration::from_secs(5), |a| {
        virtdeck::app::storage::selected_volume(a).is_some()
    }));
    let s = screen(&live.app, 140, 24);
    insta::assert_snapshot!(s);
    // A volume attached to a VM: deleting it wants the name typed.
    let vols = virtdeck::app::storage::selected_volume(&live.app)
        .map(|(_, p, _)| p.volumes.clone())
        .unwrap();
    let (i, used) = vols
        .iter()
        .enumerate()
        .find(|(_, v)| !v.used_by.is_empty())
        .expect("a volume in use");
    live.press("g");
    for _ in 0..i {
        live.press("j");
    }
    live.press("D");
    let Mode::Confirm(c) = &live.app.mode else {
        panic!("no confirmation")
    };
    assert_eq!(
        c.typed.as_ref().map(|t| t.0.clone()),
        Some(used.name.clone())
    );
    // Enter before the name is typed does nothing.
    live.press("<Enter>");
    assert!(matches!(live.app.mode, Mode::Confirm(_)));
    live.type_text("wrong");
    insta::assert_snapshot!(
        "delete_volume_in_use_wants_its_name",
        screen(&live.app, 100, 24)
    );
    live.press("<Esc>");
    assert_eq!(live.app.mode, Mode::Normal);
}

#[test]
fn new_volume_wizard_defines_a_volume_on_the_host() {
    let mut live = on_pools();
    select_pool(&mut live, "default");
    live.press("<Enter>");
    live.press("n");
    assert!(matches!(live.app.mode, Mode::Wizard(_)));
    live.type_text("scratch<&>.qcow2");
    live.press("<Tab>");
    for _ in 0..3 {
        live.press("<Backspace>");
    }
    live.type_text("2G");
    insta::assert_snapshot!("new_volume_page", screen(&live.app, 100, 24));
    live.press("<Enter>");
    insta::assert_snapshot!("new_volume_review", screen(&live.app, 100, 24));
    live.press("<Enter>");
    let made = live.pump_until(Duration::from_secs(5), |a| {
        a.mode == Mode::Normal
            && virtdeck::app::storage::selected_volume(a).is_some_and(|(_, p, _)| {
                p.volumes
                    .iter()
                    .any(|v| v.name == "scratch<&>.qcow2" && v.capacity == 2 << 30)
            })
    });
    assert!(made, "volume not created: {:?}", live.app.messages);
}

#[test]
fn pool_wizard_keeps_the_form_when_libvirt_refuses() {
    let mut live = on_pools();
    live.press("n");
    live.type_text("tmp-pool");
    live.press("<Enter>");
    // dir: a target the test driver accepts.
    live.type_text("/tmp/virtdeck-test-pool");
    live.press("<Enter>");
    insta::assert_snapshot!("pool_wizard_options", screen(&live.app, 100, 24));
    live.press("<Enter>");
    insta::assert_snapshot!("pool_wizard_review", screen(&live.app, 100, 30));
    live.press("<Enter>");
    let done = live.pump_until(Duration::from_secs(5), |a| {
        a.mode == Mode::Normal
            && a.hosts.iter().any(|h| {
                h.storage
                    .as_ref()
                    .is_some_and(|s| s.pools.iter().any(|p| p.name == "tmp-pool"))
            })
    });
    assert!(
        done,
        "pool not defined: {:?} {:?}",
        live.app.mode, live.app.messages
    );
    // The same name again: the wizard itself refuses before libvirt is asked.
    live.press("n");
    live.type_text("tmp-pool");
    let Mode::Wizard(w) = &live.app.mode else {
        panic!()
    };
    assert!(w
        .field("name")
        .and_then(|f| f.error.clone())
        .is_some_and(|e| e.contains("already")));
}

#[test]
fn networks_pane_and_wizard() {
    let mut live = common::demo();
    assert!(live.pump_until(Duration::from_secs(10), |a| a
        .hosts
        .iter()
        .all(|h| h.status.is_connected())));
    live.press("4");
    assert_eq!(live.app.view, View::Networks);
    assert!(live.pump_until(Duration::from_secs(10), |a| a
        .hosts
        .iter()
        .all(|h| h.networks.is_some())));
    insta::assert_snapshot!("networks_pane", screen(&live.app, 140, 24));
    live.press("n");
    live.type_text("lab-net");
    live.press("<Enter>");
    insta::assert_snapshot!("network_wizard_addresses", screen(&live.app, 100, 24));
    live.press("<Enter>");
    live.press("<Enter>");
    live.press("<Enter>");
    let done = live.pump_until(Duration::from_secs(5), |a| {
        a.mode == Mode::Normal
            && a.hosts.iter().any(|h| {
                h.networks
                    .as_ref()
                    .is_some_and(|n| n.networks.iter().any(|x| x.name == "lab-net" && x.active))
            })
    });
    assert!(
        done,
        "network not defined: {:?} {:?}",
        live.app.mode, live.app.messages
    );
}
