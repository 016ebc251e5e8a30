//! Views: pure functions of the app state. Nothing here calls libvirt or changes the model.

mod add_host;
pub mod ascii;
mod console;
mod dashboard;
mod detail;
mod dialog;
mod display;
mod events;
mod first_run;
mod header;
pub mod help;
mod hostdevs;
mod hosts;
mod jobs;
mod log;
pub mod migrations;
mod networks;
mod palette;
mod pools;
mod preview;
mod spark;
mod status;
mod toast;
mod vms;
mod wizard;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Block;
use ratatui::Frame;

use crate::app::{App, Mode, PaneId, View};

/// Draws the whole screen.
pub fn render(app: &App, f: &mut Frame) {
    let area = f.area();
    app.hits.clear();
    // Views that show ages or countdowns set it again (`App::clock`).
    app.clocked.set(false);
    f.render_widget(Block::default().style(app.theme.base), area);
    // No header on a screen too small for it, nor over a guest's console or screen: they
    // need every row (and say where they are in their own title).
    let full = matches!(app.view, View::Console(_) | View::Preview(_));
    let header_h = u16::from(area.height >= 12 && !full);
    let [header_area, main_area, toast_area, status_area] = Layout::vertical([
        Constraint::Length(header_h),
        Constraint::Min(3),
        Constraint::Length(toast::height(app, area.height)),
        Constraint::Length(1),
    ])
    .areas(area);
    if header_h > 0 {
        header::render(app, f, header_area);
    }
    match &app.view {
        View::Pane(id @ (PaneId::Vms | PaneId::Dashboard)) => {
            whole_pane(app, f, main_area, *id);
            first_run::render(app, f, main_area);
        }
        View::Pane(id) => {
            let area = with_filter_line(app, f, main_area);
            whole_pane(app, f, area, *id);
        }
        View::Detail { .. } => detail::render(app, f, main_area),
        View::Console(cv) => console::render(app, f, main_area, cv),
        View::Preview(pv) => preview::render(app, f, main_area, pv),
        View::Volumes { host, pool } => {
            let area = with_filter_line(app, f, main_area);
            pools::render_volumes(app, f, area, *host, pool);
        }
        View::Secrets { host } => pools::render_secrets(app, f, main_area, *host),
    }
    status::render(app, f, status_area);
    toast::render(app, f, toast_area);
    // Overlays bottom first, so the one that has the keys is drawn on top.
    for m in app.overlays() {
        match m {
            Mode::Help { scroll } => help::render(app, f, area, *scroll),
            Mode::Log { scroll } => log::render(app, f, area, *scroll),
            Mode::Confirm(c) => dialog::render(app, f, area, c),
            Mode::AddHost(form) => add_host::render(app, f, area, form),
            Mode::Display(p) => display::render(app, f, main_area, p),
            Mode::Wizard(w) => wizard::render(app, f, area, w),
            Mode::Palette(p) => palette::render(app, f, main_area, status_area, p),
            Mode::Normal | Mode::Filter => {}
        }
    }
    guard(f.buffer_mut());
    if app.settings.ascii {
        ascii::downgrade(f.buffer_mut());
    }
}

/// The view of a pane that needs no argument (`View::Pane`).
fn whole_pane(app: &App, f: &mut Frame, area: Rect, id: PaneId) {
    let view: fn(&App, &mut Frame, Rect) = match id {
        PaneId::Vms => return vm_screen(app, f, area),
        PaneId::Dashboard => dashboard::render,
        PaneId::Pools => pools::render_pools,
        PaneId::Networks => networks::render,
        PaneId::Migrations => migrations::render,
        PaneId::Jobs => jobs::render,
        PaneId::Events => events::render,
        PaneId::HostDevs => hostdevs::render,
        // These need an argument and have their own `View` variant.
        PaneId::Detail | PaneId::Console | PaneId::Preview | PaneId::Volumes | PaneId::Secrets => {
            return
        }
    };
    view(app, f, area);
}

/// A list pane's `/` filter line under it while it is typed or in force; the area left.
fn with_filter_line(app: &App, f: &mut Frame, area: Rect) -> Rect {
    let editing = app.mode == Mode::Filter || app.under.contains(&Mode::Filter);
    let shown = editing || !crate::app::panes::filter_state(app).0.is_empty();
    if !shown || area.height < 4 {
        return area;
    }
    let [list, line] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    status::render_filter(app, f, line);
    list
}

/// The host strip, the VM table and the filter line.
fn vm_screen(app: &App, f: &mut Frame, main_area: Rect) {
    let hosts_h = hosts::height(app, f.area().height);
    let filter_h = u16::from(app.mode == Mode::Filter || !app.vms.filter_text.is_empty());
    let [hosts_area, table_area, filter_area] = Layout::vertical([
        Constraint::Length(hosts_h),
        Constraint::Min(3),
        Constraint::Length(filter_h),
    ])
    .areas(main_area);
    hosts::render(app, f, hosts_area);
    vms::render(app, f, table_area);
    if filter_h > 0 {
        status::render_filter(app, f, filter_area);
    }
}

/// What the guard draws instead of a cell that still holds an unsafe character.
pub const GUARD_SYMBOL: &str = "⍰";

/// The safety net under the views: every frame passes here, so a view that forgot to
/// sanitise a host string still cannot send a control or format character to the terminal.
/// Most cells are one printable ASCII byte and cost one comparison.
pub fn guard(buf: &mut ratatui::buffer::Buffer) {
    for cell in &mut buf.content {
        let s = cell.symbol();
        if s.len() == 1 && !s.as_bytes()[0].is_ascii_control() {
            continue;
        }
        if s.chars().any(crate::sanitize::is_unsafe) {
            cell.set_symbol(GUARD_SYMBOL);
        }
    }
}

/// Every span of `lines` sanitised, for views that assemble text from many sources.
/// `Line::from(String)` has already dropped newlines by then: text that may hold them is
/// sanitised before it becomes a line, so that they show as `\n`.
pub(crate) fn safe_lines(mut lines: Vec<Line<'_>>) -> Vec<Line<'_>> {
    for span in lines.iter_mut().flat_map(|l| l.spans.iter_mut()) {
        if let std::borrow::Cow::Owned(s) = crate::sanitize::text(&span.content) {
            span.content = s.into();
        }
    }
    lines
}

/// `names` cut (sanitised, with `…`) so that a title holding them and `fixed` cells of other
/// text fits a pane `width` cells wide with its borders: the longest names give way first,
/// the counts and sizes in the rest of the title stay whole.
pub(crate) fn fit_names<const N: usize>(names: [&str; N], fixed: usize, width: u16) -> [String; N] {
    let budget = (width as usize).saturating_sub(fixed + 2);
    let widths = names.map(crate::sanitize::width);
    // The largest cap that fits: every name keeps min(its width, cap) cells.
    let fits = |cap: usize| widths.iter().map(|w| (*w).min(cap)).sum::<usize>() <= budget;
    let mut cap = widths.iter().copied().max().unwrap_or(0);
    while cap > 0 && !fits(cap) {
        cap -= 1;
    }
    names.map(|n| crate::fmt::truncate(n, cap))
}

/// A centred rectangle of at most `w`×`h` inside `area`.
pub(crate) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

#[cfg(test)]
mod tests {
    use ratatui::backend::TestBackend;
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::widgets::Paragraph;
    use ratatui::Terminal;

    use super::*;

    #[test]
    fn raw_dangerous_strings_never_leave_the_buffer() {
        let mut t = Terminal::new(TestBackend::new(40, 3)).unwrap();
        t.draw(|f| {
            // A view that forgot the sanitiser: format characters ride along in the cells.
            f.render_widget(Paragraph::new("a\u{200d}b c\u{202e}d e\u{2028}f"), f.area());
            f.buffer_mut()[(0, 1)].set_symbol("\u{1b}[2J");
            f.buffer_mut()[(1, 1)].set_symbol("\u{9b}");
            guard(f.buffer_mut());
        })
        .unwrap();
        let buf = t.backend().buffer();
        for cell in &buf.content {
            assert!(
                !cell.symbol().chars().any(crate::sanitize::is_unsafe),
                "{:?} reached the terminal",
                cell.symbol()
            );
        }
        // ZWJ joins into its neighbour's cell and U+2028 takes a cell of its own: both are
        // caught (ratatui itself drops the zero-width U+202E and C0 controls in text).
        let line: Vec<&str> = buf.content[..9].iter().map(|c| c.symbol()).collect();
        assert_eq!(line, ["⍰", "b", " ", "c", "d", " ", "e", "⍰", "f"]);
        assert_eq!(buf[(0, 1)].symbol(), GUARD_SYMBOL);
        assert_eq!(buf[(1, 1)].symbol(), GUARD_SYMBOL);
    }

    #[test]
    fn ordinary_cells_are_left_alone() {
        let area = Rect::new(0, 0, 20, 1);
        let mut buf = Buffer::empty(area);
        buf.set_string(0, 0, "日本 🚀 ab", ratatui::style::Style::default());
        let before = buf.clone();
        guard(&mut buf);
        assert_eq!(buf, before);
    }

    #[test]
    fn long_names_give_way_in_titles() {
        let long = "x".repeat(500);
        // 80 cells: 2 borders, 20 of other text, 58 for the names.
        let [a, b] = fit_names([&long, "kvm-01"], 20, 80);
        assert_eq!((a.chars().count(), b.as_str()), (52, "kvm-01"));
        assert!(a.ends_with('…'));
        let [a, b] = fit_names([&long, &long], 20, 80);
        assert_eq!((a.chars().count(), b.chars().count()), (29, 29));
        let [a] = fit_names(["nl\n"], 0, 10);
        assert_eq!(a, "nl\\n");
        let [a] = fit_names(["web"], 100, 10);
        assert_eq!(a, "");
    }

    /// An app with one connected test host named `name`.
    fn connected_host(name: String) -> crate::app::App {
        use crate::app::{App, HostSpec, Msg, Settings};
        use crate::host::HostEvent;
        use crate::model::{HostId, HostInfo};
        let mut app = App::new(
            vec![HostSpec {
                name,
                uri: "test:///one".into(),
            }],
            crate::config::keymap::Keymap::preset(),
            crate::config::theme::Theme::load("default", None).unwrap(),
            Settings::default(),
        );
        app.update(Msg::Host(
            HostId(0),
            HostEvent::Connected(HostInfo::default()),
        ));
        app
    }

    /// A host of 20,000 VMs with a 500-character name: the hosts strip and the dashboard keep
    /// the whole counts, the name is cut.
    #[test]
    fn counts_keep_their_room_names_give_way() {
        use crate::app::{App, Msg, View};
        use crate::host::HostEvent;
        use crate::model::{HostId, Snapshot, Vm, VmState};
        let mut app = connected_host(format!("kvm-{}", "x".repeat(496)));
        let vms = (0..20_000)
            .map(|i| Vm {
                uuid: format!("u{i}"),
                name: format!("vm-{i}"),
                id: Some(i + 1),
                state: VmState::Running,
                vcpus: 1,
                memory_kib: 1024,
                max_memory_kib: 1024,
                cpu_time_ns: None,
                io: Default::default(),
                autostart: false,
                persistent: true,
                managed_save: false,
                known: Default::default(),
                template: false,
                tags: Vec::new(),
                note: None,
                started: None,
            })
            .collect();
        let now = app.now;
        app.update(Msg::Host(
            HostId(0),
            HostEvent::Snapshot(Snapshot {
                vms: crate::model::shared(vms),
                taken_at: now,
                node: None,
                receipt: Default::default(),
            }),
        ));
        let screen = |app: &App| {
            let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
            t.draw(|f| render(app, f)).unwrap();
            t.backend().to_string()
        };
        app.view = View::Pane(PaneId::Vms);
        let s = screen(&app);
        // Host names are cut in the middle (their ends tell hosts apart).
        assert!(s.contains("kvm-xxxxxxx…xxxx 20000/20000 running"), "{s}");
        app.view = View::Pane(PaneId::Dashboard);
        let s = screen(&app);
        assert!(s.contains("kvm-xxx…xxxx "), "{s}");
        assert!(s.contains(" 20000/20000 "), "{s}");
    }

    #[test]
    fn rows_from_the_list_call_alone_show_what_is_still_coming() {
        use crate::app::{Msg, View};
        use crate::host::HostEvent;
        use crate::model::{HostId, Known, Snapshot, Vm, VmState};
        let mut app = connected_host("far".to_string());
        let vm = |name: &str, id: Option<u32>, known: Known| Vm {
            uuid: format!("u-{name}"),
            name: name.into(),
            id,
            state: if id.is_some() {
                VmState::Running
            } else {
                VmState::Shutoff
            },
            vcpus: 0,
            memory_kib: 0,
            max_memory_kib: 0,
            cpu_time_ns: None,
            io: Default::default(),
            autostart: true,
            persistent: true,
            managed_save: false,
            known,
            template: false,
            tags: Vec::new(),
            note: None,
            started: None,
        };
        let now = app.now;
        app.update(Msg::Host(
            HostId(0),
            HostEvent::Snapshot(Snapshot {
                vms: crate::model::shared(vec![
                    vm("listed-up", Some(3), Known::Listed),
                    vm("listed-down", None, Known::Listed),
                    vm("flagged", Some(4), Known::Flagged),
                ]),
                taken_at: now,
                node: None,
                receipt: Default::default(),
            }),
        ));
        app.view = View::Pane(PaneId::Vms);
        let mut t = Terminal::new(TestBackend::new(160, 12)).unwrap();
        t.draw(|f| render(&app, f)).unwrap();
        let s = t.backend().to_string();
        let line = |name: &str| {
            s.lines()
                .find(|l| l.contains(name))
                .unwrap_or_else(|| panic!("{name} not drawn: {s}"))
                .to_string()
        };
        let up = line("listed-up");
        assert!(up.contains("… active"), "{up}");
        // Nothing read yet is shown as a value: no 0 vCPUs, no "yes"/"no" flags.
        assert!(
            !up.contains(" 0 ") && !up.contains("yes") && !up.contains("no "),
            "{up}"
        );
        assert!(line("listed-down").contains("… shut off"));
        // State and flags known, counts still coming.
        let flagged = line("flagged");
        assert!(
            flagged.contains("running") && flagged.contains("yes"),
            "{flagged}"
        );
        assert!(flagged.matches('…').count() >= 2, "{flagged}");
    }

    #[test]
    fn templates_are_listed_after_every_vm_and_marked() {
        use crate::app::{Msg, View};
        use crate::host::HostEvent;
        use crate::model::{HostId, Known, Snapshot, Vm, VmState};
        let mut app = connected_host("kvm".to_string());
        let vm = |name: &str, template: bool| Vm {
            uuid: format!("u-{name}"),
            name: name.into(),
            id: None,
            state: VmState::Shutoff,
            vcpus: 1,
            memory_kib: 1024,
            max_memory_kib: 1024,
            cpu_time_ns: None,
            io: Default::default(),
            autostart: false,
            persistent: true,
            managed_save: false,
            known: Known::All,
            template,
            tags: Vec::new(),
            note: None,
            started: None,
        };
        let now = app.now;
        app.update(Msg::Host(
            HostId(0),
            HostEvent::Snapshot(Snapshot {
                vms: crate::model::shared(vec![
                    vm("zz-web", false),
                    vm("aa-golden", true),
                    Vm {
                        tags: vec!["db".into(), "team:\u{202e}ops".into()],
                        ..vm("mm-db", false)
                    },
                ]),
                taken_at: now,
                node: None,
                receipt: Default::default(),
            }),
        ));
        app.view = View::Pane(PaneId::Vms);
        let mut t = Terminal::new(TestBackend::new(160, 12)).unwrap();
        t.draw(|f| render(&app, f)).unwrap();
        let s = t.backend().to_string();
        let at = |name: &str| s.find(name).unwrap_or_else(|| panic!("{name}: {s}"));
        assert!(
            at("mm-db") < at("zz-web") && at("zz-web") < at("aa-golden"),
            "{s}"
        );
        let golden = s.lines().find(|l| l.contains("aa-golden")).unwrap();
        assert!(golden.contains("▣ template"), "{golden}");
        // A TAGS column once some VM has tags, hostile ones escaped.
        assert!(s.contains("TAGS"), "{s}");
        let db = s.lines().find(|l| l.contains("mm-db")).unwrap();
        assert!(db.contains("db team:\\u{202e"), "{db}");
    }
}
