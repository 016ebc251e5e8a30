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

/// The keymap sections of screens (lists and the VM detail); popups with their own text-like
/// keys are left out.
fn screen_sections() -> Vec<(&'static str, virtdeck::config::keymap::Section)> {
    const POPUPS: &[&str] = &[
        "display", "preview", "console", "confirm", "form", "wizard", "xml_edit", "help", "log",
        "filter",
    ];
    virtdeck::config::keymap::Section::ALL
        .iter()
        .filter(|(n, _)| !POPUPS.contains(n))
        .copied()
        .collect()
}

/// Every global verb runs one of its own action names wherever it is bound, and the letters
/// that used to mean different things on different screens mean one thing everywhere.
#[test]
fn global_keys_mean_the_same_on_every_screen() {
    use virtdeck::config::keymap::{Key, Keymap};
    let km = Keymap::preset();
    let globals: &[(&str, &[&str])] = &[
        // The detail screen's Enter opens the selected hardware item's form.
        ("<Enter>", &["open", "edit"]),
        ("<Esc>", &["back"]),
        ("-", &["prev_pane"]),
        ("/", &["filter"]),
        (":", &["palette"]),
        ("?", &["help"]),
        ("n", &["new", "new_vm", "add_host"]),
        ("e", &["edit"]),
        ("D", &["delete", "delete_vm", "remove_host", "undefine"]),
        ("s", &["start"]),
        ("d", &["shutdown"]),
        ("<Space>", &["mark"]),
        ("y", &["copy_command", "copy_url", "confirm"]),
        // On a screen of one thing (a console that is not attached) q goes back.
        ("q", &["quit", "back"]),
        ("1", &["view_dashboard"]),
        ("2", &["view_vms"]),
        ("3", &["view_pools"]),
        ("4", &["view_networks"]),
        ("5", &["view_migrations"]),
        ("6", &["view_jobs"]),
        ("7", &["view_events"]),
        ("L", &["log"]),
        ("<C-r>", &["refresh", "retry"]),
    ];
    let sections = screen_sections();
    assert!(sections.len() >= 12, "{sections:?}");
    let mut checked = 0;
    for (spec, allowed) in globals {
        let key = Key::parse(spec).unwrap();
        for (name, section) in &sections {
            if let Some(a) = km.action(*section, key) {
                assert!(
                    allowed.contains(&a.name()),
                    "{spec} runs {:?} in [[{name}]]; a global key runs one of {allowed:?}",
                    a.name()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "{checked} bindings checked");
    // The letters that clashed (a add host / autostart, r reboot / revert / refresh / retry,
    // u resume / undefine, e edit / download, S managed save / secrets, c console / clone /
    // clear, x cancel / remove host): one action each across every screen.
    for letter in ["a", "r", "u", "e", "S", "c", "x"] {
        let key = Key::parse(letter).unwrap();
        let mut names: Vec<(&str, &str)> = sections
            .iter()
            .filter_map(|(n, s)| km.action(*s, key).map(|a| (a.name(), *n)))
            .collect();
        assert!(!names.is_empty(), "{letter} is bound somewhere");
        names.sort_unstable();
        let first = names[0].0;
        assert!(
            names.iter().all(|(a, _)| *a == first),
            "{letter} means different things: {names:?}"
        );
    }
}

/// The demo fleet on `pane`, with whatever the pane lists read in.
fn on(live: &mut common::Live, open: &str, ready: impl FnMut(&virtdeck::app::App) -> bool) {
    live.press(open);
    assert!(
        live.pump_until(std::time::Duration::from_secs(10), ready),
        "{open}: never loaded"
    );
}

/// The VM table filtered to `name`, the cursor on it.
fn select_vm(live: &mut common::Live, name: &str) {
    live.press("2");
    live.press("/");
    live.press("<C-u>");
    live.type_text(name);
    live.press("<Enter>");
    let (h, vm) = live.app.vm(live.app.selected_row().expect("a row"));
    assert_eq!(vm.name, name, "{}", h.name);
}

#[test]
fn n_and_d_on_the_dashboard_add_and_remove_hosts() {
    let mut live = common::demo();
    key(&mut live, "1");
    assert_eq!(live.app.view, View::Pane(PaneId::Dashboard));
    key(&mut live, "n");
    assert!(
        matches!(live.app.mode, Mode::AddHost(_)),
        "{:?}",
        live.app.mode
    );
    key(&mut live, "<Esc>");
    let hosts = live.app.hosts.len();
    assert!(key(&mut live, "D").is_empty());
    let Mode::Confirm(c) = &live.app.mode else {
        panic!("D asks first: {:?}", live.app.mode)
    };
    assert!(c.title.starts_with("Remove host "), "{}", c.title);
    // Enter is no.
    assert!(key(&mut live, "<Enter>").is_empty());
    assert_eq!(live.app.mode, Mode::Normal);
    assert_eq!(live.app.hosts.len(), hosts, "the host is still there");
    // The old keys mean nothing here now.
    for old in ["a", "x"] {
        assert!(key(&mut live, old).is_empty());
        assert_eq!(live.app.mode, Mode::Normal, "{old}");
    }
}

#[test]
fn d_on_the_vm_table_opens_the_delete_form_and_e_the_hardware_tab() {
    let mut live = common::demo();
    select_vm(&mut live, "web-01");
    // The definition is read first; the form opens with the answer.
    live.press("D");
    assert!(
        live.pump_until(std::time::Duration::from_secs(10), |a| matches!(
            &a.mode,
            Mode::Wizard(w) if w.title == "Delete web-01"
        )),
        "no delete form: {:?}",
        live.app.mode
    );
    assert_eq!(live.app.view, View::Pane(PaneId::Vms), "over the table");
    key(&mut live, "<Esc>");
    assert_eq!(live.app.mode, Mode::Normal);
    // Esc before the read answers: the form does not pop up later.
    live.press("D");
    key(&mut live, "<Esc>");
    assert!(
        !live.pump_until(std::time::Duration::from_secs(2), |a| matches!(
            a.mode,
            Mode::Wizard(_)
        )),
        "the delete form came after Esc"
    );
    // Marked VMs: bulk delete is not offered.
    key(&mut live, "<Space>");
    assert!(key(&mut live, "D").is_empty());
    assert_eq!(live.app.mode, Mode::Normal);
    let said = live.app.messages.toasts.back().map(|t| t.text.clone());
    assert!(
        said.as_deref()
            .is_some_and(|t| t.starts_with("VMs are marked")),
        "{said:?}"
    );
    key(&mut live, "<Esc>");
    // `e`: the VM's detail on the Hardware tab.
    live.press("e");
    assert!(matches!(live.app.view, View::Detail { .. }));
    assert_eq!(live.app.detail.tab, virtdeck::app::detail::Tab::Hardware);
    // Read-only refuses D with the reason, before anything is read.
    live.press("<Esc>");
    live.app.settings.readonly = true;
    assert!(key(&mut live, "D").is_empty());
    assert_eq!(live.app.mode, Mode::Normal);
    assert!(live.app.detail.delete_when_read.is_none());
}

#[test]
fn the_detail_screen_has_the_tables_lifecycle_keys() {
    let mut live = common::demo();
    let off = live
        .app
        .hosts
        .iter()
        .flat_map(|h| &h.vms)
        .find(|v| v.state == virtdeck::model::VmState::Shutoff && !v.template)
        .map(|v| v.name.clone())
        .expect("a shut-off VM in the demo");
    select_vm(&mut live, &off);
    live.press("<Enter>");
    assert!(matches!(live.app.view, View::Detail { .. }));
    let fx = key(&mut live, "s");
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::Host(
                _,
                HostCommand::Lifecycle {
                    op: virtdeck::host::LifecycleOp::Start,
                    ..
                }
            )
        )),
        "{fx:?}"
    );
    assert!(
        matches!(live.app.view, View::Detail { .. }),
        "s stays on the VM"
    );
    // On a running VM: d shuts it down at once, F asks first with No as the default.
    live.press("<Esc>");
    select_vm(&mut live, "web-01");
    live.press("<Enter>");
    let fx = key(&mut live, "d");
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::Host(
                _,
                HostCommand::Lifecycle {
                    op: virtdeck::host::LifecycleOp::Shutdown,
                    ..
                }
            )
        )),
        "{fx:?}"
    );
    assert!(key(&mut live, "F").is_empty());
    let Mode::Confirm(c) = &live.app.mode else {
        panic!("F asks first: {:?}", live.app.mode)
    };
    assert_eq!(c.title, "Force off web-01?");
    assert!(!changes(&key(&mut live, "<Enter>")), "Enter is no");
    assert!(matches!(live.app.view, View::Detail { .. }));
}

#[test]
fn v_on_snapshots_asks_to_revert() {
    let mut live = common::demo();
    select_vm(&mut live, "web-01");
    live.press("<Enter>");
    assert!(live.pump_until(std::time::Duration::from_secs(10), |a| {
        virtdeck::app::detail::current(a).is_some()
    }));
    live.press("n");
    live.press("<Enter>"); // review
    live.press("<Enter>"); // create
    assert!(
        live.pump_until(std::time::Duration::from_secs(10), |a| {
            a.mode == Mode::Normal
                && virtdeck::app::detail::current(a)
                    .is_some_and(|d| !d.snapshots.snapshots.is_empty())
        }),
        "no snapshot"
    );
    assert_eq!(live.app.detail.tab, virtdeck::app::detail::Tab::Snapshots);
    // r is the table's reboot now, not revert.
    assert!(key(&mut live, "V").is_empty());
    let Mode::Confirm(c) = &live.app.mode else {
        panic!("V asks first: {:?}", live.app.mode)
    };
    assert!(c.title.starts_with("Revert web-01 to "), "{}", c.title);
    assert!(!changes(&key(&mut live, "<Enter>")), "Enter is no");
    assert_eq!(live.app.mode, Mode::Normal);
}

#[test]
fn d_on_pools_undefines_and_w_wants_the_typed_name() {
    let mut live = common::demo();
    on(&mut live, "3", |a| {
        a.hosts.iter().all(|h| h.storage.is_some())
    });
    let rows = virtdeck::app::storage::pool_rows(&live.app);
    let archive = rows
        .iter()
        .position(|(_, p)| p.name == "archive")
        .expect("the demo's inactive pool");
    live.app.storage.pool_sel = archive;
    assert!(key(&mut live, "D").is_empty());
    let Mode::Confirm(c) = &live.app.mode else {
        panic!("D asks first: {:?}", live.app.mode)
    };
    assert_eq!(c.title, "Undefine pool");
    assert!(c.typed.is_none());
    assert!(!changes(&key(&mut live, "<Enter>")), "Enter is no");
    assert_eq!(live.app.mode, Mode::Normal);
    assert!(key(&mut live, "W").is_empty());
    let Mode::Confirm(c) = &live.app.mode else {
        panic!("W asks first: {:?}", live.app.mode)
    };
    assert_eq!(c.title, "Delete pool storage");
    assert_eq!(c.typed.as_ref().map(|t| t.0.as_str()), Some("archive"));
    key(&mut live, "<Esc>");
    // u and r mean nothing on pools now; K is the secrets.
    for old in ["u", "r"] {
        assert!(!changes(&key(&mut live, old)), "{old}");
        assert_eq!(live.app.mode, Mode::Normal);
    }
    key(&mut live, "K");
    assert!(matches!(live.app.view, View::Secrets { .. }));
}
