//! The header: where you are and where else you can go. The current screen, every other
//! screen with its key, what narrows the view (`@HOST`, `/filter`), `[read-only]`, and the
//! count of alerts firing.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use crate::app::panes::{PaneId, PANES};
use crate::app::{App, View};
use crate::config::keymap::Section;

/// Short names for the panes a number key opens.
fn short(id: PaneId) -> &'static str {
    match id {
        PaneId::Dashboard => "Hosts",
        PaneId::Vms => "VMs",
        PaneId::Pools => "Pools",
        PaneId::Networks => "Networks",
        PaneId::Migrations => "Migrations",
        PaneId::Jobs => "Jobs",
        PaneId::Events => "Events",
        _ => "",
    }
}

/// The screen a sub-view belongs to (a VM's detail is under VMs, volumes under Pools).
fn home(app: &App) -> PaneId {
    match &app.view {
        View::Detail { .. } | View::Console(_) | View::Preview(_) => PaneId::Vms,
        View::Volumes { .. } | View::Secrets { .. } => PaneId::Pools,
        View::Pane(id) => *id,
    }
}

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let here = home(app);
    let mut spans = vec![Span::styled(" virtdeck ", t.title)];
    for p in PANES.iter() {
        let Some(action) = p.key else { continue };
        let key = app.keymap.key_for(Section::Normal, action).unwrap_or("");
        let name = short(p.id);
        if p.id == here {
            spans.push(Span::styled(format!(" {key} {name} "), t.selected));
        } else {
            spans.push(Span::styled(format!(" {key}"), t.key_hint));
            spans.push(Span::styled(format!(" {name} "), t.dim));
        }
    }
    // A screen reached only through `:` (host devices) or within another is named too.
    let title = crate::app::panes::spec(app.view.pane()).title;
    let sub =
        !matches!(app.view, View::Pane(id) if PANES.iter().any(|p| p.id == id && p.key.is_some()));
    let mut right = Vec::new();
    let sub_span = sub.then(|| Span::styled(format!("› {title} "), t.title));
    let scope = match app.view.pane() {
        PaneId::Vms => app.vms.vm_scope,
        p => app.scopes.of(p).and_then(|s| s.host),
    };
    if let Some(h) = scope.and_then(|h| app.host(h)) {
        right.push(Span::styled(
            format!(
                "@{} ",
                crate::fmt::truncate(&crate::sanitize::text(&h.name), 24)
            ),
            t.filter,
        ));
    }
    let (filter, _) = crate::app::panes::filter_state(app);
    if !filter.is_empty() {
        right.push(Span::styled(
            format!(
                "/{} ",
                crate::fmt::truncate(&crate::sanitize::text(&filter), 30)
            ),
            t.filter,
        ));
    }
    if app.settings.readonly {
        right.push(Span::styled("[read-only] ", t.pending));
    }
    let used: usize = spans.iter().map(|s| s.content.width()).sum();
    let right_w: usize = right
        .iter()
        .chain(&sub_span)
        .map(|s| s.content.width())
        .sum();
    let width = area.width as usize;
    if used + right_w < width {
        spans.push(Span::raw(" ".repeat(width - used - right_w)));
        spans.extend(sub_span);
        spans.extend(right);
    } else {
        // Narrow: the place first (a screen without a number key is named once), then what
        // narrows it (the other screens are in `?`).
        let mut keep = vec![Span::styled(
            format!(" {} ", short_or(here, title)),
            t.selected,
        )];
        if !short(here).is_empty() {
            keep.extend(sub_span);
        }
        keep.extend(right);
        spans = keep;
    }
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.status_bar), area);
}

fn short_or(id: PaneId, title: &'static str) -> &'static str {
    match short(id) {
        "" => title,
        s => s,
    }
}
