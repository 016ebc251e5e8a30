//! The host-devices pane: host, device line (address, class, vendor, product, driver, IOMMU
//! group) with a ⚠ when something speaks against giving it away; the selected device's
//! warnings in full below.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Wrap};
use ratatui::Frame;

use super::migrations::host_name;
use super::pools::{empty_note, list_table};
use crate::app::hitmap::List;
use crate::app::hostdevs::{problems, rows};
use crate::app::panes::{scope_label, PaneId};
use crate::app::App;

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let [top, bottom] = Layout::vertical([Constraint::Min(4), Constraint::Length(6)]).areas(area);
    let list = rows(app);
    let page = (top.height as usize).saturating_sub(3).max(1);
    let sel = app.hostdevs.sel.min(list.len().saturating_sub(1));
    let first = app
        .hostdevs
        .offset
        .get()
        .clamp(sel.saturating_sub(page - 1), sel);
    app.hostdevs.offset.set(first);
    // Borders, the host and mark columns and the spaces between: a long line ends in "…".
    let line_w = (top.width as usize).saturating_sub(2 + 14 + 1 + 2);
    let body = list.iter().skip(first).take(page).map(|r| {
        let mark = if r.warnings.is_empty() { " " } else { "⚠" };
        Row::new(vec![
            Cell::from(crate::fmt::truncate_middle(&host_name(app, r.host), 14)),
            Cell::from(mark).style(t.level_warn),
            // Escaped by `HostDevices::line`.
            Cell::from(crate::fmt::truncate(&r.line, line_w)),
        ])
    });
    let title = vec![
        Span::styled(" Host devices ", t.title),
        Span::styled(format!("{} ", list.len()), t.dim),
        Span::styled(scope_label(app, PaneId::HostDevs), t.filter),
    ];
    let widths = vec![
        Constraint::Length(14),
        Constraint::Length(1),
        Constraint::Fill(1),
    ];
    let shown = list.len().saturating_sub(first).min(page);
    let rect = list_table(
        app,
        f,
        top,
        title,
        vec!["HOST", "", "DEVICE"],
        widths,
        body,
        (List::Pane(PaneId::HostDevs), sel - first, shown),
    );
    app.hits.list(List::Pane(PaneId::HostDevs), rect, first);
    let (errs, waiting) = problems(app);
    if list.is_empty() {
        let note = if waiting {
            "asking the hosts for their devices…".to_string()
        } else if let Some(e) = errs.first() {
            e.clone()
        } else {
            "No PCI, USB or mediated device a guest could be given".to_string()
        };
        empty_note(app, f, top, &note);
    }
    // The selected device's warnings, else what the pane is for.
    let mut lines: Vec<Line> = match list.get(sel) {
        Some(r) if !r.warnings.is_empty() => r
            .warnings
            .iter()
            .map(|w| Line::from(Span::styled(format!("⚠ {w}"), t.level_warn)))
            .collect(),
        Some(_) => vec![Line::from(Span::styled(
            "nothing known against giving it to a guest",
            t.dim,
        ))],
        None => Vec::new(),
    };
    for e in &errs {
        lines.push(Line::from(Span::styled(e.clone(), t.toast_error)));
    }
    lines.push(Line::from(Span::styled(
        "A on a VM's detail screen attaches one (host device) · C-r re-reads",
        t.dim,
    )));
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border),
        ),
        bottom,
    );
}
