//! Confirmation dialog for destructive and bulk actions.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::centered;
use crate::app::{App, Confirm};
use crate::config::keymap::{Action, Section};
use crate::sanitize;

pub fn render(app: &App, f: &mut Frame, area: Rect, c: &Confirm) {
    let t = &app.theme;
    let mut lines: Vec<Line> = vec![
        Line::from(Span::styled(sanitize::text(&c.title), t.title)),
        Line::default(),
    ];
    // Sanitised before they become lines (a Line drops newlines): a name shows as it must be
    // typed.
    lines.extend(c.body.iter().map(|b| Line::from(sanitize::text(b))));
    if let Some(cmd) = &c.command {
        lines.push(Line::default());
        lines.push(Line::from(vec![
            Span::styled("same as: ", t.dim),
            Span::styled(sanitize::text(cmd).into_owned(), t.dim),
        ]));
    }
    if let Some((expected, typed)) = &c.typed {
        let bulk = matches!(c.action, crate::app::ConfirmAction::Lifecycle { .. });
        let ok = sanitize::typed_matches(expected, typed)
            || (bulk && typed.trim().eq_ignore_ascii_case("yes"));
        lines.push(Line::default());
        lines.push(Line::from(vec![
            Span::styled(if bulk { "Confirm: " } else { "Name: " }, t.header),
            Span::styled(format!("{typed}█"), t.filter),
            Span::styled(if ok { "  ✓" } else { "" }, t.level_ok),
        ]));
        lines.push(Line::default());
        lines.push(Line::from(vec![
            Span::styled("<Enter>", t.key_hint),
            Span::raw(match (ok, bulk) {
                (true, false) => " delete    ",
                (true, true) => " go ahead    ",
                (false, false) => " (type the name first)    ",
                (false, true) => " (type yes or the count first)    ",
            }),
            Span::styled("<Esc>", t.key_hint),
            Span::raw(" cancel"),
        ]));
        let rect = centered(area, 72, wrapped_height(&lines, 70) + 2);
        boxed(app, f, rect, lines, t.toast_error, " Confirm ");
        return;
    }
    let yes = app
        .keymap
        .key_for(Section::Confirm, Action::Confirm)
        .unwrap_or("y");
    let no = app
        .keymap
        .key_for(Section::Confirm, Action::Cancel)
        .unwrap_or("n");
    lines.push(Line::default());
    // Enter answers no unless the keymap says otherwise: a question is never run by habit.
    let enter = crate::config::keymap::Key::new(
        crossterm::event::KeyCode::Enter,
        crossterm::event::KeyModifiers::NONE,
    );
    let enter_no = app.keymap.action(Section::Confirm, enter) == Some(Action::Cancel);
    lines.push(Line::from(vec![
        Span::styled(yes.to_string(), t.key_hint),
        Span::raw(" yes    "),
        Span::styled(no.to_string(), t.key_hint),
        Span::raw(if enter_no { " no (also Enter)" } else { " no" }),
    ]));
    let rect = centered(area, 64, wrapped_height(&lines, 62) + 2);
    boxed(app, f, rect, lines, t.toast_error, " Confirm ");
}

/// Rows `lines` take wrapped at `width` columns (a long command line takes several), so the
/// box is tall enough for its last line, the keys.
fn wrapped_height(lines: &[Line], width: usize) -> u16 {
    lines
        .iter()
        .map(|l| l.width().div_ceil(width.max(1)).max(1))
        .sum::<usize>()
        .min(u16::MAX as usize) as u16
}

/// A bordered box of wrapped lines drawn over whatever is under `rect` (dialogs, panels,
/// notices). An empty `title` draws none. The lines quote host text (names, paths, libvirt's
/// errors), so they are sanitised here: a name shows as it must be typed in a confirmation.
pub(crate) fn boxed(
    app: &App,
    f: &mut Frame,
    rect: Rect,
    lines: Vec<Line>,
    border: ratatui::style::Style,
    title: &str,
) {
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(super::safe_lines(lines))
            .wrap(Wrap { trim: false })
            .style(app.theme.dialog)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(border)
                    .title(title),
            ),
        rect,
    );
}
