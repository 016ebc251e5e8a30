//! The VM detail screen: a tab bar, then the tab (Overview, Hardware, Snapshots, XML).

mod hardware;
mod overview;
pub(crate) mod snapshots;
pub mod xml;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::app::detail::{Cached, Tab};
use crate::app::App;
use crate::sanitize;

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let [bar, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    tab_bar(app, f, bar);
    match app.detail.tab {
        Tab::Overview => overview::render(app, f, body),
        tab => {
            if app.detail_vm().is_none() {
                // The overview explains a vanished VM.
                return overview::render(app, f, body);
            }
            match crate::app::detail::current(app) {
                Some(d) => match tab {
                    Tab::Hardware => hardware::render(app, f, body, d),
                    Tab::Snapshots => snapshots::render(app, f, body, d),
                    _ => xml::render(app, f, body, d),
                },
                None => {
                    let t = &app.theme;
                    let (text, style) = match crate::app::detail::cached(app) {
                        Some(Cached { error: Some(e), .. }) => (
                            format!("cannot read the definition: {}", sanitize::text(e)),
                            t.level_crit,
                        ),
                        _ => ("reading the definition…".to_string(), t.pending),
                    };
                    f.render_widget(
                        Paragraph::new(text).style(style).block(
                            Block::default()
                                .borders(Borders::ALL)
                                .border_style(t.border),
                        ),
                        body,
                    );
                }
            }
        }
    }
}

fn tab_bar(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let mut spans = Vec::new();
    let mut x = area.x;
    for (i, tab) in Tab::ALL.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" │ ", t.dim));
            x = x.saturating_add(3);
        }
        let style = if *tab == app.detail.tab {
            t.selected
        } else {
            t.header
        };
        let label = Span::styled(format!(" {} ", tab.title()), style);
        // Where the mouse finds the tab (clipped to the bar on a narrow terminal).
        let w = label.width() as u16;
        let hit = Rect::new(x, area.y, w, 1).intersection(area);
        app.hits.tab(hit, *tab);
        x = x.saturating_add(w);
        spans.push(label);
    }
    let loading = match crate::app::detail::cached(app) {
        Some(c) if c.loading && c.details.is_none() => "  (loading…)",
        Some(c) if c.loading => "  (refreshing…)",
        _ => "",
    };
    if let Some((h, vm)) = app.detail_vm() {
        // Long names give way to the tabs (the loading note comes after, as room allows).
        let fixed = Line::from(spans.clone()).width() + "    on ".len();
        let [vm_name, host_name] = super::fit_names([&vm.name, &h.name], fixed, area.width + 2);
        spans.push(Span::styled(
            format!("   {vm_name} on {host_name}"),
            t.title,
        ));
    }
    if !loading.is_empty() {
        spans.push(Span::styled(loading, t.pending));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
