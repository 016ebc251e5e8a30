//! The serial console: a title line with the VM and the link state, then the guest's screen
//! (tui-term over the vt100 parser), with a notice over it while not attached.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use tui_term::widget::{Cursor, PseudoTerminal};

use super::centered;
use crate::app::console::ConsoleView;
use crate::app::App;
use crate::config::keymap::{Action, Section};
use crate::console::LinkState;

pub fn render(app: &App, f: &mut Frame, area: Rect, cv: &ConsoleView) {
    let t = &app.theme;
    let [title_area, screen_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let host = app.host(cv.host).map(|h| h.name.as_str()).unwrap_or("?");
    let state = cv.link.state();
    let (label, style) = match &state {
        LinkState::Attached => ("● attached", t.host_connected),
        LinkState::Opening => ("◌ opening", t.host_connecting),
        LinkState::Waiting => ("◌ waiting for the guest to start", t.host_connecting),
        LinkState::InUse(_) => ("✗ in use elsewhere", t.host_unreachable),
        LinkState::Failed(_) => ("✗ failed", t.host_unreachable),
        LinkState::Ended(_) => ("✗ closed", t.host_unreachable),
        LinkState::Detached => ("detached", t.dim),
    };
    cv.link.fit(screen_area.height, screen_area.width);
    let scrolled = cv.link.with_screen(cv.scroll, |s| s.scrollback());
    let mut spans = vec![
        Span::styled(" Console ", t.title),
        Span::raw(format!(
            "{} on {}  ",
            crate::fmt::truncate(&cv.name, 40),
            crate::fmt::truncate(host, 24)
        )),
        Span::styled(label, style),
    ];
    if scrolled > 0 {
        spans.push(Span::styled(
            format!("  ↑ {scrolled} lines back"),
            t.pending,
        ));
    }
    if state == LinkState::Attached {
        let detach = app
            .keymap
            .key_for(Section::Console, Action::Detach)
            .unwrap_or("<C-]>");
        spans.push(Span::styled(format!("  {detach} detach"), t.dim));
    }
    f.render_widget(
        Paragraph::new(Line::from(spans)).style(t.status_bar),
        title_area,
    );
    cv.link.with_screen(cv.scroll, |screen| {
        let mut cursor = Cursor::default();
        if scrolled > 0 || state != LinkState::Attached {
            cursor.hide();
        }
        f.render_widget(PseudoTerminal::new(screen).cursor(cursor), screen_area);
    });
    if let Some(lines) = notice(app, &state) {
        let rect = centered(screen_area, 70, lines.len() as u16 + 2);
        super::dialog::boxed(app, f, rect, lines, t.border_focus, "");
    }
}

/// What to tell the user while the console is not attached, with the keys that apply.
fn notice<'a>(app: &'a App, state: &LinkState) -> Option<Vec<Line<'a>>> {
    let t = &app.theme;
    let key = |a: Action, fallback: &'static str| {
        app.keymap
            .key_for(Section::ConsoleIdle, a)
            .unwrap_or(fallback)
            .to_string()
    };
    let hint = |k: String, what: &'static str| {
        vec![
            Span::styled(k, t.key_hint),
            Span::raw(format!(" {what}   ")),
        ]
    };
    let back = hint(key(Action::Back, "<Esc>"), "back");
    let (title, body, keys): (&str, String, Vec<Span>) = match state {
        LinkState::Attached | LinkState::Detached => return None,
        LinkState::Opening => ("Opening the console…", String::new(), back),
        LinkState::Waiting => (
            "The guest is not running",
            "The console attaches by itself when it starts.".into(),
            back,
        ),
        LinkState::InUse(e) => (
            "The console is in use by another client",
            format!(
                "{e}. Taking it over disconnects the other session (virsh console, virt-manager)."
            ),
            [hint(key(Action::ForceConsole, "f"), "take over"), back].concat(),
        ),
        LinkState::Failed(e) => (
            "Could not open the console",
            e.clone(),
            [hint(key(Action::Retry, "<C-r>"), "retry"), back].concat(),
        ),
        LinkState::Ended(e) => (
            "The console closed",
            format!("{e}. Another client may have taken it over (--force)."),
            [
                hint(key(Action::ForceConsole, "f"), "take it back"),
                hint(key(Action::Retry, "<C-r>"), "retry"),
                back,
            ]
            .concat(),
        ),
    };
    let mut lines = vec![Line::from(Span::styled(title, t.title))];
    if !body.is_empty() {
        // libvirt's reason, sanitised before a Line drops its newlines.
        lines.push(Line::from(crate::sanitize::text(&body).into_owned()));
    }
    lines.push(Line::default());
    lines.push(Line::from(keys));
    Some(lines)
}
