use super::*;
use crate::app::tests::vm;
use crate::app::{HostSpec, Msg, Settings};
use crate::config::keymap::Keymap;
use crate::config::theme::Theme;
use crate::host::HostEvent;
use crate::model::{HostInfo, Snapshot, VmState};

/// Three hosts of `per` VMs each, named so host `a`'s rows come first by name.
fn app(per: usize) -> App {
    let specs = ["a", "b", "c"]
        .iter()
        .map(|n| HostSpec {
            name: format!("kvm-{n}"),
            uri: format!("test:///{n}"),
        })
        .collect();
    let theme = Theme::load("default", None).expect("the default theme");
    let mut app = App::new(specs, Keymap::preset(), theme, Settings::default());
    app.view = View::Pane(PaneId::Vms);
    for (i, n) in ["a", "b", "c"].iter().enumerate() {
        app.update(Msg::Host(
            HostId(i),
            HostEvent::Connected(HostInfo::default()),
        ));
        let vms = (0..per)
            .map(|k| vm(&format!("{n}-{k:03}"), VmState::Running))
            .collect();
        let taken_at = app.now;
        app.update(Msg::Host(
            HostId(i),
            HostEvent::Snapshot(Snapshot {
                vms: crate::model::shared(vms),
                taken_at,
                receipt: Default::default(),
                node: None,
            }),
        ));
    }
    app
}

/// The paces sent, by host number.
fn sent(fx: &[Effect]) -> Vec<(usize, Pace)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Host(h, HostCommand::Pace(p)) => Some((h.0, *p)),
            _ => None,
        })
        .collect()
}

#[test]
fn hosts_without_a_row_on_screen_go_to_the_background_once() {
    let mut app = app(30);
    app.vms.table_page.set(20);
    app.vms.table_offset.set(0);
    // Sorted by host: the first 20 rows are all kvm-a's.
    assert_eq!(
        sent(&effects(&mut app)),
        vec![(1, Pace::Background), (2, Pace::Background)]
    );
    assert!(
        sent(&effects(&mut app)).is_empty(),
        "told once, not every tick"
    );
    // Scrolled to rows 25..45: kvm-a's last five and kvm-b's first fifteen.
    app.vms.table_offset.set(25);
    assert_eq!(sent(&effects(&mut app)), vec![(1, Pace::Shown)]);
}

#[test]
fn a_figure_sort_or_a_view_of_every_host_keeps_all_polling() {
    let mut app = app(30);
    app.vms.table_page.set(10);
    effects(&mut app);
    app.vms.sort = SortKey::Cpu;
    assert_eq!(
        sent(&effects(&mut app)),
        vec![(1, Pace::Shown), (2, Pace::Shown)],
        "the CPU order needs every VM's figure"
    );
    app.vms.sort = SortKey::Name;
    effects(&mut app);
    app.view = View::Pane(PaneId::Dashboard);
    assert_eq!(
        sent(&effects(&mut app)),
        vec![(1, Pace::Shown), (2, Pace::Shown)]
    );
}

#[test]
fn one_vm_s_screen_shows_its_host_only() {
    let mut app = app(3);
    app.view = View::Detail {
        host: HostId(2),
        uuid: "uuid-c-000".into(),
    };
    assert_eq!(
        sent(&effects(&mut app)),
        vec![(0, Pace::Background), (1, Pace::Background)]
    );
}

#[test]
fn a_reconnected_worker_is_told_again() {
    let mut app = app(30);
    app.vms.table_page.set(20);
    effects(&mut app);
    // The new session polls at `Shown`; the app must not think it is still in the background.
    app.update(Msg::Host(
        HostId(1),
        HostEvent::Connected(HostInfo::default()),
    ));
    assert_eq!(sent(&effects(&mut app)), vec![(1, Pace::Background)]);
}

#[test]
fn the_tick_sends_paces_without_a_redraw() {
    let mut app = app(30);
    app.vms.table_page.set(20);
    app.take_redraw();
    let now = app.now + std::time::Duration::from_millis(10);
    let fx = app.update(Msg::Tick(now));
    assert_eq!(
        sent(&fx),
        vec![(1, Pace::Background), (2, Pace::Background)]
    );
    assert!(!app.take_redraw(), "a pace is not news for the screen");
}
