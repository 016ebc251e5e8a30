use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::app::tests::{app, press, test_pool};
use crate::app::Msg;
use crate::host::HostEvent;
use crate::model::storage::StorageInventory;

fn typed(a: &mut App, s: &str) {
    for c in s.chars() {
        a.update(Msg::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )));
    }
}

fn key(a: &mut App, code: KeyCode) -> Vec<Effect> {
    a.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn palette(a: &App) -> &Palette {
    match &a.mode {
        Mode::Palette(p) => p,
        m => panic!("no palette: {m:?}"),
    }
}

/// Host 0 (kvm-a) has pools `default` and `images`, host 1 (kvm-b) `default` and `fast`.
fn with_pools(a: &mut App) {
    for (i, names) in [["default", "images"], ["default", "fast"]]
        .iter()
        .enumerate()
    {
        a.update(Msg::Host(
            HostId(i),
            HostEvent::Storage(StorageInventory {
                pools: names.iter().map(|n| test_pool(n)).collect(),
                secrets: Vec::new(),
            }),
        ));
    }
}

fn run_line(a: &mut App, line: &str) -> Vec<Effect> {
    press(a, ":");
    typed(a, line);
    key(a, KeyCode::Enter)
}

#[test]
fn colon_opens_the_palette_and_esc_closes_it_changing_nothing() {
    let mut a = app();
    press(&mut a, ":");
    assert_eq!(palette(&a).input, "");
    assert!(
        !palette(&a).suggestions.is_empty(),
        "the commands are listed"
    );
    typed(&mut a, "pools");
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.mode, Mode::Normal);
    assert_eq!(a.view, View::Pane(PaneId::Vms));
}

#[test]
fn vms_at_host_slash_text_scopes_and_filters_the_table() {
    let mut a = app();
    a.view = View::Pane(PaneId::Dashboard);
    let fx = run_line(&mut a, "vms @kvm-b /web");
    assert_eq!(a.mode, Mode::Normal);
    assert_eq!(a.view, View::Pane(PaneId::Vms));
    assert_eq!(a.vms.filter_text, "web");
    let names: Vec<_> = a.vms.rows.iter().map(|r| a.vm(*r).1.name.clone()).collect();
    assert_eq!(names, ["web-10"], "kvm-b's web VMs only");
    assert_eq!(fx, [Effect::SaveHistory(vec!["vms @kvm-b /web".into()])]);
    // `:vms` alone shows every VM again.
    run_line(&mut a, "vm");
    assert_eq!(a.vms.rows.len(), 5);
    assert!(a.vms.filter_text.is_empty());
    // Filter words need no `/`: `:vms tag:db`.
    let h = a
        .hosts
        .iter()
        .position(|h| h.vms.iter().any(|v| v.name == "web-10"))
        .unwrap();
    let v = a.hosts[h]
        .vms
        .iter()
        .position(|v| v.name == "web-10")
        .unwrap();
    std::sync::Arc::make_mut(&mut a.hosts[h].vms[v]).tags = vec!["db".into()];
    run_line(&mut a, "vms tag:db");
    assert_eq!(a.vms.filter_text, "tag:db");
    let names: Vec<_> = a.vms.rows.iter().map(|r| a.vm(*r).1.name.clone()).collect();
    assert_eq!(names, ["web-10"]);
}

#[test]
fn unknown_command_or_host_is_said_in_the_palette_and_changes_nothing() {
    let mut a = app();
    let fx = run_line(&mut a, "frobnicate");
    assert!(fx.is_empty());
    let e = palette(&a).error.clone().unwrap();
    assert!(e.contains("unknown command :frobnicate"), "{e}");
    assert_eq!(a.view, View::Pane(PaneId::Vms));
    // Typing clears the error; the line stays as typed.
    key(&mut a, KeyCode::Backspace);
    assert_eq!(palette(&a).error, None);
    assert_eq!(palette(&a).input, "frobnicat");
    key(&mut a, KeyCode::Esc);

    let fx = run_line(&mut a, "pools @nohost");
    assert!(fx.is_empty());
    let e = palette(&a).error.clone().unwrap();
    assert!(
        e.contains("no host named nohost") && e.contains("kvm-a"),
        "{e}"
    );
    assert_eq!(a.view, View::Pane(PaneId::Vms));
    assert!(a.history.is_empty(), "failed lines are not remembered");
    // A hostile name is shown escaped.
    key(&mut a, KeyCode::Esc);
    a.update(Msg::Paste(":x\u{1b}[2J".into()));
    assert_eq!(
        a.mode,
        Mode::Normal,
        "paste outside the palette is not typed"
    );
    press(&mut a, ":");
    a.update(Msg::Paste("x\u{1b}[2J\u{202e}".into()));
    key(&mut a, KeyCode::Enter);
    let e = palette(&a).error.clone().unwrap();
    assert!(!e.chars().any(crate::sanitize::is_unsafe), "{e:?}");
}

#[test]
fn tab_completes_commands_hosts_and_pools() {
    let mut a = app();
    with_pools(&mut a);
    press(&mut a, ":");
    typed(&mut a, "po");
    let words: Vec<_> = palette(&a)
        .suggestions
        .iter()
        .map(|s| s.word.clone())
        .collect();
    assert_eq!(words, ["pools"]);
    key(&mut a, KeyCode::Tab);
    assert_eq!(palette(&a).input, "pools ");
    typed(&mut a, "@kvm");
    let words: Vec<_> = palette(&a)
        .suggestions
        .iter()
        .map(|s| s.word.clone())
        .collect();
    assert_eq!(words, ["@kvm-a", "@kvm-b"]);
    // Several: Tab cycles, the line shows the pick.
    key(&mut a, KeyCode::Tab);
    assert_eq!(palette(&a).input, "pools @kvm-a");
    key(&mut a, KeyCode::Tab);
    assert_eq!(palette(&a).input, "pools @kvm-b");
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.view, View::Pane(PaneId::Pools));
    let pools: Vec<_> = crate::app::storage::pool_rows(&a)
        .iter()
        .map(|(h, p)| (h.0, p.name.clone()))
        .collect();
    assert_eq!(pools, [(1, "default".into()), (1, "fast".into())]);

    // Pools for :vols, qualified where a name is on two hosts.
    press(&mut a, ":");
    typed(&mut a, "vols ");
    let words: Vec<_> = palette(&a)
        .suggestions
        .iter()
        .map(|s| s.word.clone())
        .collect();
    assert_eq!(
        words,
        ["default@kvm-a", "images", "default@kvm-b", "fast"],
        "every pool, whatever the pools pane is narrowed to"
    );
    typed(&mut a, "im");
    key(&mut a, KeyCode::Tab);
    assert_eq!(palette(&a).input, "vols images ");
}

#[test]
fn vols_finds_the_pool_and_asks_which_host_when_ambiguous() {
    let mut a = app();
    with_pools(&mut a);
    run_line(&mut a, "vols default");
    let e = palette(&a).error.clone().unwrap();
    assert!(e.contains("on 2 hosts"), "{e}");
    key(&mut a, KeyCode::Esc);
    run_line(&mut a, "vols default@kvm-b");
    assert_eq!(
        a.view,
        View::Volumes {
            host: HostId(1),
            pool: "default".into()
        }
    );
    run_line(&mut a, "vol images");
    assert_eq!(
        a.view,
        View::Volumes {
            host: HostId(0),
            pool: "images".into()
        }
    );
    run_line(&mut a, "vols");
    assert!(palette(&a)
        .error
        .as_deref()
        .unwrap()
        .contains("needs a pool"));
}

#[test]
fn history_recalls_with_arrows_and_keeps_what_was_typed() {
    let mut a = app();
    a.history = vec!["pools".into(), "nets".into()];
    press(&mut a, ":");
    typed(&mut a, "mi");
    key(&mut a, KeyCode::Up);
    assert_eq!(palette(&a).input, "nets");
    key(&mut a, KeyCode::Up);
    assert_eq!(palette(&a).input, "pools");
    key(&mut a, KeyCode::Up);
    assert_eq!(palette(&a).input, "pools", "stops at the oldest");
    key(&mut a, KeyCode::Down);
    key(&mut a, KeyCode::Down);
    assert_eq!(palette(&a).input, "mi", "back to what was typed");
    key(&mut a, KeyCode::Esc);
    // A line run again moves to the end, once.
    let fx = run_line(&mut a, "pools");
    assert_eq!(a.history, ["nets", "pools"]);
    assert!(fx.contains(&Effect::SaveHistory(a.history.clone())));
}

#[test]
fn user_aliases_expand_and_loops_are_refused() {
    let mut a = app();
    a.settings
        .aliases
        .insert("prod".into(), "vms @kvm-a /web".into());
    a.settings.aliases.insert("loop".into(), "loop2".into());
    a.settings.aliases.insert("loop2".into(), "loop".into());
    run_line(&mut a, "prod");
    assert_eq!(a.vms.filter_text, "web");
    let names: Vec<_> = a.vms.rows.iter().map(|r| a.vm(*r).1.name.clone()).collect();
    assert_eq!(names, ["web-01", "web-02"]);
    assert_eq!(a.history, ["prod"], "history keeps what was typed");
    run_line(&mut a, "loop");
    assert!(palette(&a)
        .error
        .as_deref()
        .unwrap()
        .contains("refers to itself"));
    key(&mut a, KeyCode::Esc);
    // Completion offers aliases with what they stand for.
    press(&mut a, ":");
    typed(&mut a, "pr");
    let s = &palette(&a).suggestions;
    assert!(
        s.iter()
            .any(|s| s.word == "prod" && s.about.contains("@kvm-a")),
        "{s:?}"
    );
}

#[test]
fn dash_goes_back_through_the_panes() {
    let mut a = app();
    press(&mut a, "3");
    press(&mut a, "4");
    run_line(&mut a, "jobs");
    assert_eq!(a.view, View::Pane(PaneId::Jobs));
    press(&mut a, "-");
    assert_eq!(a.view, View::Pane(PaneId::Networks));
    press(&mut a, "-");
    assert_eq!(a.view, View::Pane(PaneId::Pools));
    press(&mut a, "-");
    assert_eq!(a.view, View::Pane(PaneId::Vms));
    press(&mut a, "-");
    assert_eq!(a.view, View::Pane(PaneId::Vms));
    assert!(a
        .messages
        .toasts
        .iter()
        .any(|m| m.text.contains("no previous pane")));
}

#[test]
fn help_and_log_open_from_the_palette_and_q_quits() {
    let mut a = app();
    run_line(&mut a, "help");
    assert_eq!(a.mode, Mode::Help { scroll: 0 });
    assert!(a.under.is_empty(), "the palette closed first");
    key(&mut a, KeyCode::Esc);
    run_line(&mut a, "log");
    assert_eq!(a.mode, Mode::Log { scroll: 0 });
    key(&mut a, KeyCode::Esc);
    assert_eq!(run_line(&mut a, "q").last(), Some(&Effect::Quit));
}

#[test]
fn secrets_needs_a_host_when_several() {
    let mut a = app();
    run_line(&mut a, "secrets");
    assert!(palette(&a).error.as_deref().unwrap().contains("which host"));
    key(&mut a, KeyCode::Esc);
    run_line(&mut a, "sec @kvm-b");
    assert_eq!(a.view, View::Secrets { host: HostId(1) });
}

/// The overlay stack: help over the palette's pane, a confirmation over a form; Esc pops one.
#[test]
fn esc_pops_one_overlay() {
    let mut a = app();
    a.push_overlay(Mode::AddHost(Box::default()));
    a.push_overlay(Mode::Help { scroll: 0 });
    assert_eq!(a.overlays().count(), 2);
    key(&mut a, KeyCode::Esc);
    assert!(matches!(a.mode, Mode::AddHost(_)), "{:?}", a.mode);
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.mode, Mode::Normal);
    assert!(a.under.is_empty());
}

#[test]
fn tab_cycles_the_panes_of_a_screen() {
    let mut a = app();
    with_pools(&mut a);
    press(&mut a, "3");
    press(&mut a, "<Tab>");
    assert_eq!(
        a.view,
        View::Volumes {
            host: HostId(0),
            pool: "default".into()
        }
    );
    press(&mut a, "<BackTab>");
    assert_eq!(a.view, View::Pane(PaneId::Pools));
    press(&mut a, "4");
    let before = a.networks.show_ifaces;
    press(&mut a, "<Tab>");
    assert_ne!(a.networks.show_ifaces, before, "leases ↔ host interfaces");
}

#[test]
fn esc_in_the_table_clears_the_filter_then_the_host_scope() {
    let mut a = app();
    run_line(&mut a, "vms @kvm-b /web");
    assert_eq!(a.vms.rows.len(), 1);
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.vms.rows.len(), 2, "kvm-b's VMs, unfiltered");
    assert_eq!(a.vms.vm_scope, Some(HostId(1)));
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.vms.rows.len(), 5, "every host again");
    assert_eq!(a.vms.vm_scope, None);
}

#[test]
fn help_lists_the_palette_commands_and_user_aliases() {
    let mut a = app();
    a.settings
        .aliases
        .insert("prod".into(), "vms @kvm-a".into());
    let text: Vec<String> = crate::ui::help::lines(&a)
        .iter()
        .map(|l| l.to_string())
        .collect();
    let text = text.join("\n");
    for want in [
        ":vms",
        "also :vm :dom",
        ":vols",
        ":jobs",
        ":prod",
        "= vms @kvm-a",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
}
