//! The mouse: a click selects a row or a tab, the wheel moves the cursor (or scrolls help and
//! the log). It never runs an action: whatever a click selects, a key still has to act on it,
//! so confirmations and read-only mode stay in the one place that checks them.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};

use super::hitmap::List;
use super::{detail, panes, App, Effect, Mode, View};
use crate::config::keymap::Action;

/// Rows one wheel notch moves.
pub const WHEEL: usize = 3;

pub fn handle(app: &mut App, ev: MouseEvent) -> Vec<Effect> {
    match ev.kind {
        MouseEventKind::Down(MouseButton::Left) => click(app, ev.column, ev.row),
        MouseEventKind::ScrollDown => wheel(app, true),
        MouseEventKind::ScrollUp => wheel(app, false),
        _ => Vec::new(),
    }
}

/// Whether the screen under the overlays may take the mouse. A question, form or wizard
/// keeps it: nothing drawn beneath them can be clicked.
fn screen_free(app: &App) -> bool {
    let editing = match &app.view {
        View::Detail { host, uuid } => app.detail.editing(*host, uuid),
        _ => false,
    };
    matches!(app.mode, Mode::Normal | Mode::Filter) && !editing
}

fn click(app: &mut App, column: u16, row: u16) -> Vec<Effect> {
    if !screen_free(app) {
        return Vec::new();
    }
    if let Some(tab) = app.hits.tab_at(column, row) {
        if matches!(app.view, View::Detail { .. }) {
            app.detail.tab = tab;
        }
        return Vec::new();
    }
    match app.hits.row_at(column, row) {
        // Below the last row is empty space, not the last row.
        Some((list, i)) if cursor(app).is_some_and(|(_, _, len)| i < len) => select(app, list, i),
        _ => Vec::new(),
    }
}

fn wheel(app: &mut App, down: bool) -> Vec<Effect> {
    // The log counts lines back from the newest: down the page is towards 0.
    let step = |s: usize, forward: bool| {
        if forward {
            s + WHEEL
        } else {
            s.saturating_sub(WHEEL)
        }
    };
    match app.mode {
        Mode::Help { scroll } => {
            app.mode = Mode::Help {
                scroll: step(scroll, down),
            }
        }
        Mode::Log { scroll } => {
            app.mode = Mode::Log {
                scroll: step(scroll, !down),
            }
        }
        _ if !screen_free(app) => {}
        // Each tab moves its own cursor (or scrolls the XML): the keys' code does it.
        _ if matches!(app.view, View::Detail { .. }) => {
            let action = if down { Action::Down } else { Action::Up };
            return (0..WHEEL).flat_map(|_| detail::key(app, action)).collect();
        }
        _ => {
            if let Some((list, cur, _)) = cursor(app) {
                return select(app, list, step(cur, down));
            }
        }
    }
    Vec::new()
}

/// The list the current pane's cursor moves in: which, where the cursor is, how many rows.
fn cursor(app: &App) -> Option<(List, usize, usize)> {
    if let View::Detail { .. } = &app.view {
        let d = detail::current(app)?;
        return match app.detail.tab {
            detail::Tab::Hardware => Some((
                List::Hardware,
                app.detail.hw_sel,
                detail::items::hw_items(&d.hardware).len(),
            )),
            detail::Tab::Snapshots => {
                Some((List::Snapshots, app.detail.snap_sel, d.snapshots.rows.len()))
            }
            _ => None,
        };
    }
    let spec = panes::spec(app.view.pane());
    let (sel, len) = spec.pane.cursor(app)?;
    Some((List::Pane(spec.id), sel, len))
}

/// Moves the cursor of `list` to row `i` (the last row when past it), as the keys would.
/// A list drawn for another pane than the current one (a key changed the pane after the
/// frame the click was aimed at) is left alone.
fn select(app: &mut App, list: List, i: usize) -> Vec<Effect> {
    let Some((current, _, len)) = cursor(app) else {
        return Vec::new();
    };
    if current != list || len == 0 {
        return Vec::new();
    }
    let i = i.min(len - 1);
    match list {
        List::Hardware => app.detail.hw_sel = i,
        List::Snapshots => app.detail.snap_sel = i,
        List::Pane(id) => return panes::spec(id).pane.select(app, i),
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use crate::app::PaneId;
    use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    use super::super::tests::{app, press};
    use super::*;
    use crate::host::HostEvent;
    use crate::model::HostId;

    /// Draws `app` as the loop does before the next event, and returns the screen's lines.
    fn draw(app: &App, w: u16, h: u16) -> Vec<String> {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| crate::ui::render(app, f)).unwrap();
        let buf = t.backend().buffer();
        (0..h)
            .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect())
            .collect()
    }

    /// The screen line that shows `text` (the first one).
    fn line_of(screen: &[String], text: &str) -> u16 {
        let y = screen.iter().position(|l| l.contains(text));
        y.unwrap_or_else(|| panic!("{text:?} not on screen:\n{}", screen.join("\n"))) as u16
    }

    fn mouse(app: &mut App, kind: MouseEventKind, column: u16, row: u16) -> Vec<Effect> {
        app.update(Msg::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }))
    }

    fn click(app: &mut App, column: u16, row: u16) -> Vec<Effect> {
        mouse(app, MouseEventKind::Down(MouseButton::Left), column, row)
    }

    fn wheel(app: &mut App, down: bool) -> Vec<Effect> {
        let kind = if down {
            MouseEventKind::ScrollDown
        } else {
            MouseEventKind::ScrollUp
        };
        mouse(app, kind, 10, 10)
    }

    fn selected_name(app: &App) -> String {
        app.vm(app.selected_row().unwrap()).1.name.clone()
    }

    use super::super::Msg;

    #[test]
    fn a_click_selects_the_vm_row_under_it_and_nothing_else() {
        let mut a = app();
        let screen = draw(&a, 100, 30);
        let y = line_of(&screen, "cache");
        assert!(click(&mut a, 30, y).is_empty(), "a click runs nothing");
        assert_eq!(selected_name(&a), "cache");
        assert!(a.vms.cursor_moved, "the cursor follows that VM from now on");
        let before = a.vms.selected;
        let screen = draw(&a, 100, 30);
        // The header, the hosts strip, empty rows below the last VM and the status bar.
        for y in [
            line_of(&screen, "NAME"),
            0,
            line_of(&screen, "web-10") + 2,
            29,
        ] {
            click(&mut a, 30, y);
            assert_eq!(a.vms.selected, before, "a click on line {y}");
        }
        // Right-button presses and releases are not clicks.
        let y = line_of(&screen, "db-01");
        mouse(&mut a, MouseEventKind::Down(MouseButton::Right), 30, y);
        mouse(&mut a, MouseEventKind::Up(MouseButton::Left), 30, y);
        assert_eq!(a.vms.selected, before);
        click(&mut a, 30, y);
        assert_eq!(selected_name(&a), "db-01");
    }

    #[test]
    fn the_wheel_moves_the_cursor_three_rows_within_the_list() {
        let mut a = app();
        draw(&a, 100, 30);
        wheel(&mut a, true);
        assert_eq!(a.vms.selected, 3);
        wheel(&mut a, true);
        assert_eq!(
            a.vms.selected,
            a.vms.rows.len() - 1,
            "stops at the last row"
        );
        wheel(&mut a, false);
        assert_eq!(a.vms.selected, 1);
        wheel(&mut a, false);
        assert_eq!(a.vms.selected, 0);
    }

    /// A scrolled VM table: the click lands on the row drawn there, not on the row with that
    /// index from the top.
    #[test]
    fn a_click_in_a_scrolled_table_picks_the_row_drawn_there() {
        let mut a = app();
        press(&mut a, "G");
        // 12 lines: hosts strip and borders leave room for 3 of the 5 rows.
        let screen = draw(&a, 100, 12);
        assert!(a.vms.table_offset.get() > 0, "{}", screen.join("\n"));
        let name = a.vm(a.vms.rows[a.vms.table_offset.get()]).1.name.clone();
        click(&mut a, 30, line_of(&screen, &name));
        assert_eq!(selected_name(&a), name);
    }

    #[test]
    fn under_a_question_the_mouse_changes_nothing() {
        let mut a = app();
        let screen = draw(&a, 100, 30);
        press(&mut a, "F");
        assert!(matches!(a.mode, Mode::Confirm(_)), "{:?}", a.mode);
        let (mode, sel) = (a.mode.clone(), a.vms.selected);
        let screen_q = draw(&a, 100, 30);
        for y in [line_of(&screen, "cache"), line_of(&screen, "db-01")] {
            assert!(click(&mut a, 30, y).is_empty());
            // Also where the dialog itself is drawn.
            assert!(click(&mut a, 50, 15).is_empty());
            assert!(wheel(&mut a, true).is_empty());
        }
        assert_eq!(
            (a.mode.clone(), a.vms.selected),
            (mode, sel),
            "{}",
            screen_q.join("\n")
        );
    }

    #[test]
    fn the_wheel_scrolls_help_and_the_log() {
        let mut a = app();
        press(&mut a, "?");
        wheel(&mut a, true);
        assert_eq!(a.mode, Mode::Help { scroll: 3 });
        wheel(&mut a, false);
        wheel(&mut a, false);
        assert_eq!(a.mode, Mode::Help { scroll: 0 });
        assert_eq!(a.vms.selected, 0, "the table under help stays");
        press(&mut a, "<Esc>");
        press(&mut a, "L");
        // The log opens at its newest line: up goes back in time.
        wheel(&mut a, false);
        assert_eq!(a.mode, Mode::Log { scroll: 3 });
        wheel(&mut a, true);
        assert_eq!(a.mode, Mode::Log { scroll: 0 });
    }

    #[test]
    fn a_click_selects_a_host_on_the_dashboard() {
        let mut a = app();
        a.view = View::Pane(PaneId::Dashboard);
        let screen = draw(&a, 100, 30);
        click(&mut a, 5, line_of(&screen, "kvm-b"));
        assert_eq!(a.dashboard_host(), Some(HostId(1)));
        click(&mut a, 5, line_of(&screen, "kvm-a"));
        assert_eq!(a.dashboard_host(), Some(HostId(0)));
    }

    /// A click aimed at the frame of another pane (a key switched panes first) is dropped.
    #[test]
    fn a_click_on_the_last_frame_of_another_pane_is_ignored() {
        let mut a = app();
        let screen = draw(&a, 100, 30);
        a.view = View::Pane(PaneId::Dashboard);
        // Row 1 of the VM table, a row the dashboard has too.
        click(&mut a, 30, line_of(&screen, "web-01"));
        assert_eq!((a.dash.selected, a.vms.selected), (0, 0));
        assert!(!a.vms.cursor_moved);
    }

    fn pools(n: usize) -> crate::model::storage::StorageInventory {
        use crate::model::storage::StorageInventory;
        let pools = (0..n)
            .map(|i| crate::app::tests::test_pool(&format!("pool-{i:02}")))
            .collect();
        StorageInventory {
            pools,
            secrets: Vec::new(),
        }
    }

    /// The list panes record where ratatui scrolled them.
    #[test]
    fn a_click_selects_a_pool_in_a_scrolled_list() {
        let mut a = app();
        a.update(Msg::Host(HostId(0), HostEvent::Storage(pools(40))));
        a.view = View::Pane(PaneId::Pools);
        a.storage.pool_sel = 35;
        let screen = draw(&a, 100, 20);
        let y = line_of(&screen, "pool-30");
        click(&mut a, 20, y);
        assert_eq!(a.storage.pool_sel, 30, "{}", screen.join("\n"));
        wheel(&mut a, true);
        assert_eq!(a.storage.pool_sel, 33);
    }

    #[test]
    fn a_click_on_a_network_asks_for_its_leases() {
        use crate::host::{HostCommand, NetCmd};
        use crate::model::network::NetworkInventory;
        let mut a = app();
        let net = crate::app::tests::test_network;
        a.update(Msg::Host(
            HostId(0),
            HostEvent::Networks(NetworkInventory {
                networks: vec![net("default"), net("lab")],
                ..NetworkInventory::default()
            }),
        ));
        a.view = View::Pane(PaneId::Networks);
        let screen = draw(&a, 120, 30);
        let fx = click(&mut a, 20, line_of(&screen, "lab"));
        assert_eq!(a.networks.sel, 1);
        assert!(
            matches!(
                fx.as_slice(),
                [Effect::Host(HostId(0), HostCommand::Network(NetCmd::Leases { network, .. }))]
                    if network == "lab"
            ),
            "{fx:?}"
        );
        assert!(
            click(&mut a, 20, line_of(&screen, "lab")).is_empty(),
            "asked once"
        );
    }

    #[test]
    fn a_click_on_a_tab_switches_to_it() {
        let mut a = app();
        press(&mut a, "<Enter>");
        assert!(matches!(a.view, View::Detail { .. }));
        let screen = draw(&a, 120, 30);
        let y = line_of(&screen, "Snapshots");
        let x = screen[y as usize].find("Snapshots").unwrap();
        let x = screen[y as usize][..x].chars().count() as u16;
        click(&mut a, x + 2, y);
        assert_eq!(a.detail.tab, detail::Tab::Snapshots);
        let screen = draw(&a, 120, 30);
        let x = screen[y as usize].find("Overview").unwrap() as u16;
        click(&mut a, x, y);
        assert_eq!(a.detail.tab, detail::Tab::Overview);
    }
    /// The detail screen's lists: a click picks a hardware row, the wheel scrolls the XML.
    #[test]
    fn a_click_picks_a_hardware_row_and_the_wheel_scrolls_the_xml() {
        use crate::host::vm::VmDetails;
        let xml = "<domain type='kvm'><name>db-01</name><uuid>uuid-db-01</uuid>\
            <memory unit='KiB'>1048576</memory><vcpu>2</vcpu>\
            <os><type arch='x86_64'>hvm</type></os><devices>\
            <disk type='file' device='disk'><source file='/img/db-01.qcow2'/>\
            <target dev='vda' bus='virtio'/></disk></devices></domain>";
        let mut a = app();
        press(&mut a, "<Enter>");
        let View::Detail { host, uuid } = a.view.clone() else {
            panic!("{:?}", a.view)
        };
        let hardware = crate::xml::hardware::parse(xml).unwrap();
        let details = VmDetails {
            uuid: uuid.clone(),
            name: "db-01".into(),
            active: false,
            persistent: true,
            autostart: false,
            live_xml: None,
            inactive_xml: Some(xml.replace("><", ">\n<")),
            secure: true,
            next_boot: None,
            hardware,
            snapshots: Default::default(),
            snapshot_error: None,
            checkpoints: Vec::new(),
        };
        a.update(Msg::Host(
            host,
            HostEvent::VmChanged {
                uuid,
                details: Box::new(details),
            },
        ));
        a.detail.tab = detail::Tab::Hardware;
        let screen = draw(&a, 120, 30);
        let y = line_of(&screen, "/img/db-01.qcow2");
        click(&mut a, 10, y);
        let items = detail::items::hw_items(&detail::current(&a).unwrap().hardware);
        assert_eq!(items[a.detail.hw_sel], detail::HwItem::Disk(0));
        // The panel under the list shows the row; a click there selects nothing.
        let before = a.detail.hw_sel;
        click(&mut a, 10, 27);
        assert_eq!(a.detail.hw_sel, before);
        a.detail.tab = detail::Tab::Xml;
        draw(&a, 120, 12);
        wheel(&mut a, true);
        assert_eq!(a.detail.xml_scroll, 3);
    }

    /// The events pane draws only the rows on screen; a click still picks the event it shows.
    #[test]
    fn a_click_selects_an_event_in_a_window_of_thousands() {
        use crate::model::event::LifecycleEvent;
        let mut a = app();
        let storm = (0..10_000)
            .map(|i| LifecycleEvent {
                uuid: format!("vm-{i:05}"),
                event: 2,
                detail: 0,
                at: std::time::SystemTime::UNIX_EPOCH,
            })
            .collect();
        a.update(Msg::Host(HostId(0), HostEvent::DomainEvents(storm)));
        a.view = View::Pane(PaneId::Events);
        // Newest first: row 5000 is vm-04999.
        a.events.sel = 5000;
        let screen = draw(&a, 100, 20);
        let y = line_of(&screen, "vm-04999");
        click(&mut a, 30, y - 2);
        assert_eq!(a.events.sel, 4998, "{}", screen.join("\n"));
        let screen = draw(&a, 100, 20);
        assert!(
            screen.iter().any(|l| l.contains("vm-05001")),
            "the window stayed"
        );
    }
}
