//! Render snapshots of the main screens on the demo fleet (libvirt test driver), at several
//! terminal sizes, plus style checks the text snapshots cannot see.

mod common;

use std::time::Duration;
use virtdeck::app::PaneId;

use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;
use virtdeck::app::{App, Mode};

fn draw(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| virtdeck::ui::render(app, f)).unwrap();
    t
}

fn screen(app: &App, w: u16, h: u16) -> String {
    draw(app, w, h).backend().to_string()
}

#[test]
fn vm_table_80x24() {
    let live = common::demo();
    insta::assert_snapshot!(screen(&live.app, 80, 24));
}

#[test]
fn vm_table_wide_200x50() {
    let live = common::demo();
    insta::assert_snapshot!(screen(&live.app, 200, 50));
}

#[test]
fn filtered_and_sorted_120x30() {
    let mut live = common::demo();
    live.press("/");
    live.type_text("state:run k8s");
    live.press("<Enter>");
    live.press("o");
    live.press("o");
    live.press("o");
    live.press("o");
    live.press("O");
    insta::assert_snapshot!(screen(&live.app, 120, 30));
}

#[test]
fn filter_line_while_typing() {
    let mut live = common::demo();
    live.press("/");
    live.type_text("host:lab");
    insta::assert_snapshot!(screen(&live.app, 100, 24));
}

/// `!` excludes, `re:` matches a pattern; a pattern that does not compile leaves the rows of
/// the last good filter and says why on the filter line.
#[test]
fn filter_line_with_an_invalid_pattern() {
    let mut live = common::demo();
    live.press("/");
    live.type_text("!k8s re:^web");
    let good = screen(&live.app, 100, 24);
    live.type_text("(");
    let bad = screen(&live.app, 100, 24);
    let rows = |s: &str| s.lines().skip(1).take(18).collect::<Vec<_>>().join("\n");
    assert_eq!(
        rows(&good),
        rows(&bad),
        "the rows of the last good filter stay"
    );
    insta::assert_snapshot!(bad);
}

/// `?` lists every keymap section, the focused pane's first.
#[test]
fn help_starts_with_the_focused_pane_and_lists_every_section() {
    let mut live = common::demo();
    live.app.view = virtdeck::app::View::Pane(PaneId::Pools);
    let lines: Vec<String> = virtdeck::ui::help::lines(&live.app)
        .iter()
        .map(|l| l.to_string())
        .collect();
    assert_eq!(lines[0], "Storage pools");
    for title in [
        "VNC preview",
        "Migrations",
        "Networks",
        "Serial console (attached)",
    ] {
        assert!(lines.iter().any(|l| l == title), "{title} missing");
    }
}

#[test]
fn help_overlay_from_keymap() {
    let mut live = common::demo();
    live.press("?");
    insta::assert_snapshot!(screen(&live.app, 100, 50));
}

#[test]
fn confirm_force_off_and_bulk() {
    let mut live = common::demo();
    live.press("/");
    live.type_text("web");
    live.press("<Enter>");
    live.press("F");
    assert!(matches!(live.app.mode, Mode::Confirm(_)));
    insta::assert_snapshot!("confirm_single", screen(&live.app, 90, 24));
    live.press("n");
    live.press("*");
    live.press("d");
    insta::assert_snapshot!("confirm_bulk", screen(&live.app, 90, 30));
}

#[test]
fn marks_and_pending_rows() {
    let mut live = common::demo();
    live.press("/");
    live.type_text("host:lab state:off");
    live.press("<Enter>");
    live.press("<Space>");
    // Start the marked one (marks win over the selection).
    live.press("s");
    insta::assert_snapshot!(screen(&live.app, 100, 20));
}

#[test]
fn tiny_terminal_does_not_garble() {
    let live = common::demo();
    // Smaller than supported: must still draw without panicking.
    for (w, h) in [(40, 10), (20, 5), (80, 24), (1, 1)] {
        let _ = screen(&live.app, w, h);
    }
}

#[test]
fn states_are_coloured_by_theme() {
    let live = common::demo();
    let t = draw(&live.app, 120, 40);
    let buf = t.backend().buffer();
    let find = |needle: &str| -> (u16, u16) {
        for y in 0..buf.area.height {
            let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
            if let Some(i) = line.find(needle) {
                let x = line[..i].chars().count() as u16;
                return (x, y);
            }
        }
        panic!("{needle} not on screen");
    };
    let (x, y) = find("■ shut off");
    assert_eq!(buf[(x + 2, y)].fg, Color::DarkGray);
    let (x, y) = find("▶ running");
    // The first row is the selection (selected style wins); use a later running row.
    let row_fg = |yy: u16| buf[(x + 2, yy)].fg;
    assert!((y..y + 10).any(|yy| row_fg(yy) == Color::Green));
    let (x, y) = find("‖ paused");
    assert_eq!(buf[(x + 2, y)].fg, Color::Yellow);
    let (x, y) = find("● connected");
    assert_eq!(buf[(x, y)].fg, Color::Green);
}

#[test]
fn unreachable_and_malformed_hosts_show_libvirt_error() {
    use virtdeck::app::HostSpec;
    use virtdeck::host::WorkerOptions;
    let mut live = common::start(
        vec![
            (
                HostSpec {
                    name: "refused".into(),
                    uri: "qemu+tcp://127.0.0.1:1/system".into(),
                },
                WorkerOptions::default(),
            ),
            (
                HostSpec {
                    name: "bogus".into(),
                    uri: "bogus:///x".into(),
                },
                WorkerOptions::default(),
            ),
            (
                HostSpec {
                    name: "fine".into(),
                    uri: "test:///default".into(),
                },
                WorkerOptions::default(),
            ),
        ],
        false,
    );
    let ok = live.pump_until(Duration::from_secs(15), |app| {
        use virtdeck::app::hosts::HostStatus;
        matches!(app.hosts[0].status, HostStatus::Unreachable { .. })
            && matches!(app.hosts[1].status, HostStatus::Unreachable { .. })
            && app.hosts[2].read_in_full()
    });
    assert!(
        ok,
        "statuses: {:?}",
        live.app.hosts.iter().map(|h| &h.status).collect::<Vec<_>>()
    );
    let s = screen(&live.app, 160, 24);
    assert!(s.contains("Connection refused"), "{s}");
    assert!(s.contains("✖ unreachable"), "{s}");
    assert!(s.contains("● connected"), "{s}");
    assert!(s.contains("test"), "the working host lists its VM: {s}");
    // The failure is also a toast and a log entry with libvirt's text.
    assert!(live
        .app
        .messages
        .log
        .iter()
        .any(|e| e.text.contains("refused: unreachable")));
}

/// The `:` palette on the demo fleet: the command line over the status bar, host completions
/// above it; then the scoped VM table it opens, its title naming the scope.
#[test]
fn palette_completes_hosts_and_scopes_the_table() {
    let mut live = common::demo();
    live.press(":");
    live.type_text("vms @");
    let s = screen(&live.app, 100, 30);
    insta::assert_snapshot!("palette_host_completions", s);
    assert!(s.contains(":vms @"), "{s}");
    live.press("<Tab>");
    let Mode::Palette(p) = &live.app.mode else {
        panic!("palette closed: {:?}", live.app.mode)
    };
    let host = p.input.trim_start_matches("vms @").to_string();
    assert!(!host.is_empty(), "Tab put a host in");
    live.type_text(" /web");
    live.press("<Enter>");
    assert_eq!(live.app.mode, Mode::Normal);
    let s = screen(&live.app, 100, 30);
    assert!(
        s.contains(&format!("@{host}")),
        "the title shows the scope:\n{s}"
    );
    for r in &live.app.vms.rows {
        let (h, vm) = live.app.vm(*r);
        assert_eq!(h.name, host);
        assert!(vm.name.contains("web"), "{}", vm.name);
    }
    // An unknown command is said in the palette.
    live.press(":");
    live.type_text("nope");
    live.press("<Enter>");
    let s = screen(&live.app, 100, 30);
    assert!(s.contains("unknown command :nope"), "{s}");
}

/// The jobs pane lists a running upload with its progress, and a finished clone.
#[test]
fn jobs_pane_lists_work_of_the_fleet() {
    use virtdeck::app::jobs::JobKind;
    use virtdeck::job::{Job, JobState};
    let mut live = common::demo();
    let host = live.app.hosts[0].id;
    let now = live.app.now;
    let up = Job::new("upload into disk.img");
    up.set_total(100 << 20);
    up.advance(40 << 20);
    live.app.jobs.add(
        JobKind::Upload,
        host,
        "default/disk.img".into(),
        up.clone(),
        now,
    );
    let clone = Job::new("clone");
    clone.finish(JobState::Failed("no space left in pool default".into()));
    live.app
        .jobs
        .add(JobKind::Clone, host, "web-01-clone".into(), clone, now);
    live.press("6");
    let s = screen(&live.app, 120, 20);
    insta::assert_snapshot!("jobs_pane", s);
    assert!(s.contains("default/disk.img") && s.contains("40%"), "{s}");
    // `x` asks; Enter answers no, `y` cancels the upload.
    live.press("x");
    assert!(matches!(live.app.mode, Mode::Confirm(_)));
    live.press("<Enter>");
    assert!(!up.is_cancelled() && live.app.mode == Mode::Normal);
    live.press("x");
    live.press("y");
    assert!(up.is_cancelled());
    // The failed clone's error shows in full below.
    live.press("j");
    let s = screen(&live.app, 120, 20);
    assert!(s.contains("failed: no space left in pool default"), "{s}");
    live.press("X");
    up.finish(JobState::Cancelled);
    live.press("X");
    assert!(live.app.jobs.list.is_empty(), "X clears finished jobs");
}

/// The events pane on the demo fleet: starting a shut-off VM through the table brings the test
/// driver's lifecycle event to `7` (named, with libvirt's detail).
#[test]
fn a_started_vm_shows_in_the_events_pane() {
    let mut live = common::demo();
    let (name, host) = live
        .app
        .hosts
        .iter()
        .find_map(|h| {
            h.vms
                .iter()
                .find(|v| v.state == virtdeck::model::VmState::Shutoff && v.persistent)
                .map(|v| (v.name.clone(), h.name.clone()))
        })
        .expect("a shut-off VM in the demo");
    live.press("2");
    live.press("/");
    live.type_text(&name);
    live.press("<Enter>");
    live.press("s");
    let seen = live.pump_until(Duration::from_secs(10), |a| {
        let has = |kind: &str| {
            a.events
                .list
                .iter()
                .any(|e| e.vm == name && e.kind() == kind)
        };
        // The action's answer waits for the snapshot that shows it; the event may come first.
        has("lifecycle") && has("action")
    });
    assert!(seen, "no lifecycle event for {name}");
    live.press("7");
    let s = screen(&live.app, 120, 20);
    let line = s
        .lines()
        .find(|l| l.contains(&name) && l.contains("started (booted)"))
        .unwrap_or_else(|| panic!("{name} not listed:\n{s}"));
    assert!(line.contains(&host), "{line}");
    // virtdeck's own action is an event too.
    assert!(
        s.lines()
            .any(|l| l.contains(&name) && l.contains("start (virtdeck)")),
        "{s}"
    );
}

/// `Z` groups the table (by host, then state); headers carry running/total, vCPUs and
/// memory; `z` folds the group under the cursor.
#[test]
fn grouped_table_with_a_folded_group_120x30() {
    let mut live = common::demo();
    live.press("Z");
    live.press("Z");
    live.press("Z");
    live.press("g");
    live.press("j");
    live.press("z");
    live.app.messages.toasts.clear();
    insta::assert_snapshot!(screen(&live.app, 120, 30));
}

/// An alert rule that holds fires once: a toast, the count in the status bar and an entry in
/// the events pane.
#[test]
fn alerts_show_in_the_status_bar_and_the_events_pane() {
    let mut live = common::demo();
    let cfg = virtdeck::config::Config::parse(
        "config.toml",
        "[[alerts]]\nwhen = \"vm.state == paused\"\nname = \"paused VM\"\n",
    )
    .unwrap();
    live.app.settings.alerts = cfg.alerts;
    live.tick();
    let n = live.app.alerts.active;
    assert!(n > 0, "the demo fleet has paused VMs");
    let s = screen(&live.app, 120, 30);
    assert!(s.contains(&format!("⚠ {n} alert")), "{s}");
    live.app.messages.toasts.clear();
    live.app.events.list.retain(|e| e.kind() == "alert");
    for e in live.app.events.list.iter_mut() {
        e.event.at = std::time::UNIX_EPOCH + Duration::from_secs(86_399);
    }
    live.press("7");
    insta::assert_snapshot!(screen(&live.app, 120, 20));
}

/// The `light` theme on a white terminal: every drawn glyph has a contrast of at least 3:1
/// (WCAG's floor for large text and UI parts) against what is behind it, the terminal's own
/// white where a slot sets no background.
#[test]
fn light_theme_is_readable_on_white() {
    fn rgb(c: Color, default: (u8, u8, u8)) -> (u8, u8, u8) {
        const ANSI: [(u8, u8, u8); 16] = [
            (0, 0, 0),
            (205, 0, 0),
            (0, 205, 0),
            (205, 205, 0),
            (0, 0, 238),
            (205, 0, 205),
            (0, 205, 205),
            (229, 229, 229),
            (127, 127, 127),
            (255, 0, 0),
            (0, 255, 0),
            (255, 255, 0),
            (92, 92, 255),
            (255, 0, 255),
            (0, 255, 255),
            (255, 255, 255),
        ];
        match c {
            Color::Reset => default,
            Color::Rgb(r, g, b) => (r, g, b),
            Color::Indexed(i) if i < 16 => ANSI[i as usize],
            Color::Indexed(i) if i >= 232 => {
                let v = 8 + 10 * (i - 232);
                (v, v, v)
            }
            Color::Indexed(i) => {
                let i = i - 16;
                let s = |x: u8| if x == 0 { 0 } else { 55 + 40 * x };
                (s(i / 36), s(i / 6 % 6), s(i % 6))
            }
            Color::Black => ANSI[0],
            Color::Red => ANSI[1],
            Color::Green => ANSI[2],
            Color::Yellow => ANSI[3],
            Color::Blue => ANSI[4],
            Color::Magenta => ANSI[5],
            Color::Cyan => ANSI[6],
            Color::Gray => ANSI[7],
            Color::DarkGray => ANSI[8],
            Color::LightRed => ANSI[9],
            Color::LightGreen => ANSI[10],
            Color::LightYellow => ANSI[11],
            Color::LightBlue => ANSI[12],
            Color::LightMagenta => ANSI[13],
            Color::LightCyan => ANSI[14],
            Color::White => ANSI[15],
        }
    }
    fn lum((r, g, b): (u8, u8, u8)) -> f64 {
        let ch = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b)
    }
    let mut live = common::demo();
    live.app.theme = virtdeck::config::theme::Theme::load("light", None).unwrap();
    let check = |app: &App, what: &str| {
        let t = draw(app, 120, 36);
        let buf = t.backend().buffer();
        for cell in buf.content.iter() {
            if cell.symbol().trim().is_empty() {
                continue;
            }
            let (mut fg, mut bg) = (rgb(cell.fg, (0, 0, 0)), rgb(cell.bg, (255, 255, 255)));
            if cell.modifier.contains(ratatui::style::Modifier::REVERSED) {
                std::mem::swap(&mut fg, &mut bg);
            }
            let (a, b) = (lum(fg), lum(bg));
            let ratio = (a.max(b) + 0.05) / (a.min(b) + 0.05);
            assert!(
                ratio >= 3.0,
                "{what}: {:?} in {:?} on {:?}: {ratio:.2}",
                cell.symbol(),
                cell.fg,
                cell.bg
            );
        }
    };
    check(&live.app, "VM table");
    live.press("1");
    check(&live.app, "dashboard");
    live.press("2");
    live.press("<Enter>");
    check(&live.app, "VM detail");
    live.press("<Esc>");
    live.press("3");
    check(&live.app, "pools");
}
