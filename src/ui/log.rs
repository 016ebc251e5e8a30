//! The message log (`L`): every error and notable event, newest last.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::toast::Level;
use crate::app::App;
use crate::fmt;

pub fn render(app: &App, f: &mut Frame, area: Rect, scroll: usize) {
    let t = &app.theme;
    let rect = Rect {
        x: area.x + 2,
        y: area.y + 1,
        width: area.width.saturating_sub(4),
        height: area.height.saturating_sub(2),
    };
    let lines: Vec<Line> = if app.messages.log.is_empty() {
        vec![Line::from(Span::styled("No messages yet.", t.dim))]
    } else {
        app.messages
            .log
            .iter()
            .map(|e| {
                let age = fmt::duration(app.clock().saturating_duration_since(e.at));
                let (tag, st) = match e.level {
                    Level::Info => ("info ", t.dim),
                    Level::Error => ("error", t.host_unreachable),
                };
                Line::from(vec![
                    Span::styled(format!("{age:>7} ago "), t.dim),
                    Span::styled(tag, st),
                    Span::raw(format!(" {}", crate::sanitize::text(&e.text))),
                ])
            })
            .collect()
    };
    // Start at the newest entries; `scroll` moves back in time.
    let inner_h = rect.height.saturating_sub(2) as usize;
    let top = lines.len().saturating_sub(inner_h).saturating_sub(scroll);
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((top as u16, 0))
            .style(t.dialog)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(t.border_focus)
                    .title(Span::styled(" Message log ", t.title)),
            ),
        rect,
    );
}
