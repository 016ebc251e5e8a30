//! Interaction grammar (issue 26) on the demo fleet: typed text never turns into commands
//! (`/` filters every list pane), a key that means nothing says so, `q` on a sub-view goes
//! back, quitting with work running asks, and a multi-host bulk force-off is not confirmed by
//! Enter alone.

mod common;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use virtdeck::app::{Effect, Mode, Msg, PaneId, View};
use virtdeck::host::HostCommand;

/// Presses `spec` and returns what the app asked for (nothing is carried out).
fn key(live: &mut common::Live, spec: &str) -> Vec<Effect> {
    let k = virtdeck::config::keymap::Key::parse(spec).unwrap();
    live.app.update(Msg::Key(KeyEvent::new(k.code, k.mods)))
}

/// Whether an effect changes anything on a host (reads and paces do not).
fn changes(fx: &[Effect]) -> bool {
    fx.iter().any(|e| match e {
        Effect::Host(_, HostCommand::Pace(_) | HostCommand::Refresh) => false,
        Effect::Host(_, HostCommand::Storage(virtdeck::host::StorageCmd::Refresh))
        | Effect::Host(_, HostCommand::Network(virtdeck::host::NetCmd::Refresh))
        | Effect::Host(_, HostCommand::Network(virtdeck::host::NetCmd::Addresses))
        | Effect::Host(_, HostCommand::NodeDevices) => false,
        Effect::Host(..) | Effect::RunPlugin(_) | Effect::Quit => true,
        _ => false,
    })
}

#[test]
fn typing_a_filter_on_every_list_pane_changes_nothing_but_the_filter() {
    let mut live = common::demo();
    // Every letter a pane binds to an action, and then some.
    let text = "a dmz x d F u s r p n D e y c q 3 5";
    for (open, pane) in [
        ("3", PaneId::Pools),
        ("4", PaneId::Networks),
        ("5", PaneId::Migrations),
        ("6", PaneId::Jobs),
        ("7", PaneId::Events),
    ] {
        key(&mut live, open);
        assert_eq!(live.app.view, View::Pane(pane));
        key(&mut live, "/");
        assert_eq!(
            live.app.mode,
            Mode::Filter,
            "{pane:?}: / opens the filter line"
        );
        for c in text.chars() {
            let fx = live.app.update(Msg::Key(KeyEvent::new(
                KeyCode::Char(c),
                KeyModifiers::NONE,
            )));
            assert!(!changes(&fx), "{pane:?}: {c:?} acted: {fx:?}");
            assert_eq!(
                live.app.mode,
                Mode::Filter,
                "{pane:?}: {c:?} left the filter"
            );
        }
        assert_eq!(live.app.view, View::Pane(pane), "{pane:?}: the pane stayed");
        assert_eq!(virtdeck::app::panes::filter_state(&live.app).0, text);
        // Enter keeps it, Esc on the pane's filter line clears it.
        key(&mut live, "<Enter>");
        assert_eq!(live.app.mode, Mode::Normal);
        key(&mut live, "/");
        key(&mut live, "<Esc>");
        assert_eq!(virtdeck::app::panes::filter_state(&live.app).0, "");
    }
    // A pool pane filter narrows its rows.
    let fx = key(&mut live, "3");
    live.workers.apply(fx);
    assert!(live.pump_until(std::time::Duration::from_secs(10), |a| a
        .hosts
        .iter()
        .all(|h| h.storage.is_some())));
    key(&mut live, "/");
    for c in "iso".chars() {
        live.app.update(Msg::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )));
    }
    key(&mut live, "<Enter>");
    let rows = virtdeck::app::storage::pool_rows(&live.app);
    assert!(!rows.is_empty() && rows.iter().all(|(_, p)| p.name.contains("iso")));
}

#[test]
fn unbound_keys_say_so_and_q_on_a_sub_view_goes_back() {
    let mut live = common::demo();
    key(&mut live, "2");
    key(&mut live, "Q");
    let last = live.app.messages.toasts.back().map(|t| t.text.clone());
    assert_eq!(
        last.as_deref(),
        Some("Q: no action on this screen (? lists its keys)")
    );
    key(&mut live, "<Enter>");
    assert!(matches!(live.app.view, View::Detail { .. }));
    let fx = key(&mut live, "q");
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Quit)),
        "q did not quit"
    );
    assert_eq!(live.app.view, View::Pane(PaneId::Vms));
    // On a whole pane with nothing running, q quits.
    let fx = key(&mut live, "q");
    assert!(fx.iter().any(|e| matches!(e, Effect::Quit)));
}

#[test]
fn quitting_with_a_job_running_asks_first() {
    let mut live = common::demo();
    let now = live.app.now;
    live.app.jobs.add(
        virtdeck::app::jobs::JobKind::Upload,
        virtdeck::model::HostId(0),
        "default/disk.img".into(),
        virtdeck::job::Job::new("upload"),
        now,
    );
    let fx = key(&mut live, "q");
    assert!(fx.is_empty());
    let Mode::Confirm(c) = &live.app.mode else {
        panic!("no question")
    };
    assert_eq!(c.title, "Quit with 1 job running?");
    // Enter is no.
    assert!(key(&mut live, "<Enter>").is_empty());
    assert_eq!(live.app.mode, Mode::Normal);
    key(&mut live, "q");
    let fx = key(&mut live, "y");
    assert!(fx.iter().any(|e| matches!(e, Effect::Quit)));
}

#[test]
fn a_bulk_force_off_across_hosts_is_not_confirmed_by_enter() {
    let mut live = common::demo();
    key(&mut live, "2");
    key(&mut live, "*");
    key(&mut live, "F");
    let Mode::Confirm(c) = &live.app.mode else {
        panic!("no question")
    };
    assert!(c.typed.is_some(), "a typed confirmation");
    assert!(
        c.body
            .iter()
            .any(|l| l.contains("on 3 hosts: kvm-prod-01 (")),
        "{:?}",
        c.body
    );
    for k in ["<Enter>", "y", "<Enter>"] {
        let fx = key(&mut live, k);
        assert!(!changes(&fx), "{k} ran it");
    }
    assert!(matches!(live.app.mode, Mode::Confirm(_)));
    key(&mut live, "<Esc>");
    assert_eq!(live.app.mode, Mode::Normal);
    assert!(live.app.vms.pending.is_empty());
}

#[test]
fn help_is_searchable_and_as_wide_as_the_terminal() {
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    let mut live = common::demo();
    key(&mut live, "2");
    key(&mut live, "?");
    key(&mut live, "/");
    for c in "force".chars() {
        let fx = live.app.update(Msg::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )));
        assert!(!changes(&fx));
    }
    key(&mut live, "<Enter>");
    assert!(
        matches!(live.app.mode, Mode::Help { .. }),
        "Enter keeps the search"
    );
    let mut t = Terminal::new(TestBackend::new(140, 40)).unwrap();
    t.draw(|f| virtdeck::ui::render(&live.app, f)).unwrap();
    let s = t.backend().to_string();
    assert!(s.contains("/ force"), "{s}");
    assert!(s.contains("Force off (confirm)"), "{s}");
    assert!(!s.contains("Move down"), "only what matches: {s}");
    assert!(s.contains("VM table"), "under its heading: {s}");
    // Wider than the old 76 columns on a wide terminal.
    let widest = s
        .lines()
        .map(|l| l.trim_matches('"').trim().chars().count())
        .max()
        .unwrap();
    assert!(widest > 100, "{widest}");
    // Esc closes the help and forgets the search.
    key(&mut live, "<Esc>");
    assert_eq!(live.app.mode, Mode::Normal);
    key(&mut live, "?");
    t.draw(|f| virtdeck::ui::render(&live.app, f)).unwrap();
    assert!(t.backend().to_string().contains("Move down"));
}

#[test]
fn read_only_hints_offer_nothing_that_would_be_refused_and_keep_help() {
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    let mut live = common::demo();
    live.app.settings.readonly = true;
    live.app.messages.toasts.clear();
    for (k, refused) in [("2", " s start"), ("3", " n new"), ("4", " D undefine")] {
        key(&mut live, k);
        let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
        t.draw(|f| virtdeck::ui::render(&live.app, f)).unwrap();
        let s = t.backend().to_string();
        let status = s.lines().last().unwrap().to_string();
        assert!(status.contains("? help"), "{status}");
        assert!(!status.contains(refused), "{k}: {status}");
        assert!(
            s.lines().next().unwrap().contains("[read-only]"),
            "header: {s}"
        );
    }
}
