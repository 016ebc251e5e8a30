//! The events pane: time, host, VM and what happened, newest first.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row};
use ratatui::Frame;

use super::migrations::host_name;
use super::pools::{empty_note, list_table};
use crate::app::events::rows;
use crate::app::panes::{scope_label, PaneId};
use crate::app::App;
use crate::sanitize;

/// `HH:MM:SS` (UTC) of a wall-clock time.
fn clock(at: std::time::SystemTime) -> String {
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

/// `12-04 17:10` (UTC): an earlier run's event may be days old.
fn day_clock(at: std::time::SystemTime) -> String {
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    // "YYYY-MM-DD HH:MM" without the year.
    super::detail::snapshots::utc(secs)[5..].to_string()
}

pub fn render(app: &App, f: &mut Frame, full: Rect) {
    let t = &app.theme;
    let list = rows(app);
    // The selected action's virsh command line, under the table.
    let command = list
        .get(app.events.sel.min(list.len().saturating_sub(1)))
        .and_then(|e| e.note.as_ref()?.command.as_deref())
        .map(crate::virsh::quote);
    let (area, below) = match &command {
        Some(_) if full.height > 4 => {
            let [a, b] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(full);
            (a, Some(b))
        }
        _ => (full, None),
    };
    if let (Some(line), Some(rect)) = (&command, below) {
        let key = app
            .keymap
            .key_for(
                crate::config::keymap::Section::Events,
                crate::config::keymap::Action::CopyCommand,
            )
            .unwrap_or("y");
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(" $ ", t.dim),
                Span::raw(sanitize::text(line).into_owned()),
                Span::styled(format!("   ({key} copies)"), t.dim),
            ])),
            rect,
        );
    }
    // Only the rows on screen are built: the list holds up to 10,000.
    let page = (area.height as usize).saturating_sub(3).max(1);
    let sel = app.events.sel.min(list.len().saturating_sub(1));
    let first = app
        .events
        .offset
        .get()
        .clamp(sel.saturating_sub(page - 1), sel);
    app.events.offset.set(first);
    let body = list.iter().skip(first).take(page).map(|e| {
        let style = if e.is_bad() { t.toast_error } else { t.base };
        let (time, row_style) = if e.earlier {
            (day_clock(e.event.at), t.dim)
        } else {
            (clock(e.event.at), t.base)
        };
        Row::new(vec![
            Cell::from(time),
            Cell::from(host_name(app, e.host)),
            Cell::from(sanitize::text(&e.vm).into_owned()),
            Cell::from(sanitize::text(&e.label()).into_owned()).style(if e.earlier {
                t.dim
            } else {
                style
            }),
        ])
        .style(row_style)
    });
    let mut title = vec![
        Span::styled(" Events ", t.title),
        Span::styled(format!("{} ", list.len()), t.dim),
        Span::styled(scope_label(app, PaneId::Events), t.filter),
    ];
    if list.iter().any(|e| e.earlier) {
        title.push(Span::styled("(dimmed: earlier runs, MM-DD times) ", t.dim));
    }
    let widths = vec![
        Constraint::Length(12),
        Constraint::Fill(1),
        Constraint::Fill(2),
        Constraint::Fill(2),
    ];
    let shown = list.len().saturating_sub(first).min(page);
    let rect = list_table(
        app,
        f,
        area,
        title,
        vec!["TIME UTC", "HOST", "VM", "EVENT"],
        widths,
        body,
        (
            crate::app::hitmap::List::Pane(crate::app::panes::PaneId::Events),
            sel - first,
            shown,
        ),
    );
    // The mouse maps a row to the whole list, not to the window drawn.
    app.hits.list(
        crate::app::hitmap::List::Pane(crate::app::panes::PaneId::Events),
        rect,
        first,
    );
    if list.is_empty() {
        empty_note(
            app,
            f,
            area,
            "No events yet: VMs starting, stopping, pausing or crashing on any host show here",
        );
    }
}
