//! Every pane on the demo fleet at 80×24 and 120×35 (issue 26 item 10): the header names the
//! screen (the current one drawn as selected, a sub-view as `› Title`) and the status bar
//! keeps `? help` beside the pane's own hints. Snapshots hold the whole screen, clock times
//! masked; the VM Overview's only its header and status bar (its charts grow with each poll).

mod common;

use std::time::Duration;

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use virtdeck::app::{App, PaneId, View};

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 35)];

fn draw(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| virtdeck::ui::render(app, f)).unwrap();
    t
}

/// `HH:MM:SS` (event times, the wall clock) as `hh:mm:ss`.
fn masked(s: &str) -> String {
    let c: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < c.len() {
        // A whole word: not a PCI address (`0000:01:00.0`).
        let part = |k: usize| {
            c.get(k)
                .is_some_and(|ch| ch.is_ascii_digit() || ":.".contains(*ch))
        };
        let time = i + 8 <= c.len()
            && [0, 1, 3, 4, 6, 7]
                .iter()
                .all(|&k| c[i + k].is_ascii_digit())
            && c[i + 2] == ':'
            && c[i + 5] == ':'
            && !(i > 0 && part(i - 1))
            && !part(i + 8);
        if time {
            out.push_str("hh:mm:ss");
            i += 8;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// The text of the header's cells drawn in the theme's `selected` colours: the current screen.
fn selected_in_header(app: &App, t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let bg = app.theme.selected.bg;
    (0..buf.area.width)
        .filter_map(|x| buf.cell((x, 0)))
        .filter(|c| bg.is_some() && Some(c.bg) == bg)
        .map(|c| c.symbol().to_string())
        .collect::<String>()
        .trim()
        .to_string()
}

/// What a snapshot holds: the whole screen, or its header and status bar.
#[derive(Clone, Copy, PartialEq)]
enum Part {
    Screen,
    Bars,
}

/// Checks and snapshots the screen at both sizes. `place` is what the header's selected
/// part ends with (none when only the sub-view's title names it); `sub` a sub-view's title
/// shown as `› Title`.
fn check(live: &common::Live, name: &str, place: Option<&str>, sub: Option<&str>, part: Part) {
    for (w, h) in SIZES {
        let t = draw(&live.app, w, h);
        let s = t.backend().to_string();
        let lines: Vec<&str> = s.lines().collect();
        let header = lines[0];
        let status = lines[lines.len() - 1];
        let here = selected_in_header(&live.app, &t);
        if let Some(place) = place {
            assert!(
                here.ends_with(place),
                "{name} {w}x{h}: the header's current screen is {here:?}, not {place:?}: {header}"
            );
        }
        if let Some(title) = sub {
            // Named once: after the screens (`› Title`) or, when narrow, as the place itself.
            assert!(
                header.contains(&format!("› {title}")) || here.trim() == title,
                "{name} {w}x{h}: {header}"
            );
            assert_eq!(header.matches(title).count(), 1, "{name} {w}x{h}: {header}");
        }
        assert!(status.contains("? help"), "{name} {w}x{h}: {status}");
        let shown = match part {
            Part::Screen => s.clone(),
            Part::Bars => format!("{header}\n{status}"),
        };
        insta::assert_snapshot!(format!("panes_{name}_{w}x{h}"), masked(&shown));
    }
}

fn demo() -> common::Live {
    let mut live = common::demo();
    // A fixed place to start from: the table's first VM, nothing said yet.
    live.app.messages.toasts.clear();
    live.press("2");
    live
}

fn wait(live: &mut common::Live, what: &str, done: impl FnMut(&App) -> bool) {
    assert!(live.pump_until(Duration::from_secs(10), done), "{what}");
    live.app.messages.toasts.clear();
}

#[test]
fn dashboard_and_vm_table() {
    let mut live = demo();
    check(&live, "vms", Some("VMs"), None, Part::Screen);
    live.press("1");
    assert_eq!(live.app.view, View::Pane(PaneId::Dashboard));
    check(&live, "dashboard", Some("Hosts"), None, Part::Screen);
}

#[test]
fn vm_detail_overview() {
    let mut live = demo();
    live.press("/");
    live.type_text("web-01");
    live.press("<Enter>");
    live.press("<Enter>");
    wait(&mut live, "details", |a| {
        virtdeck::app::detail::cached(a).is_some_and(|c| !c.loading && c.details.is_some())
    });
    assert_eq!(live.app.detail.tab, virtdeck::app::detail::Tab::Overview);
    // The detail belongs to the VMs screen.
    check(
        &live,
        "detail_overview",
        Some("VMs"),
        Some("VM details"),
        Part::Bars,
    );
}

#[test]
fn pools_and_volumes() {
    let mut live = demo();
    live.press("3");
    wait(&mut live, "pools", |a| {
        a.hosts.iter().all(|h| h.storage.is_some())
    });
    check(&live, "pools", Some("Pools"), None, Part::Screen);
    live.press("<Enter>");
    assert!(matches!(live.app.view, View::Volumes { .. }));
    check(
        &live,
        "volumes",
        Some("Pools"),
        Some("Volumes"),
        Part::Screen,
    );
}

#[test]
fn networks() {
    let mut live = demo();
    live.press("4");
    wait(&mut live, "networks", |a| {
        a.hosts.iter().all(|h| h.networks.is_some())
    });
    check(&live, "networks", Some("Networks"), None, Part::Screen);
}

#[test]
fn migrations_jobs_and_events() {
    let mut live = demo();
    live.press("5");
    check(&live, "migrations", Some("Migrations"), None, Part::Screen);
    live.press("6");
    check(&live, "jobs", Some("Jobs"), None, Part::Screen);
    live.press("7");
    // The hosts' "connected" lines arrive in any order: the pane's empty state instead.
    live.app.events.list.clear();
    check(&live, "events", Some("Events"), None, Part::Screen);
}

#[test]
fn host_devices() {
    let mut live = demo();
    live.press(":");
    live.type_text("hostdevs");
    live.press("<Enter>");
    assert_eq!(live.app.view, View::Pane(PaneId::HostDevs));
    wait(&mut live, "host devices", |a| {
        a.hosts.iter().all(|h| h.hostdevs.is_some())
    });
    check(&live, "hostdevs", None, Some("Host devices"), Part::Screen);
}
