//! The `?` overlay, generated from the active keymap so it always tells the truth.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::centered;
use crate::app::App;
use crate::config::keymap::{Binding, Section};

/// Lines of help: per section, each action once with all its keys.
pub fn lines(app: &App) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut out = Vec::new();
    for (title, section) in [
        ("VM table", Section::Normal),
        ("Dashboard", Section::Dashboard),
        ("VM details", Section::Detail),
        ("XML editor (VM details)", Section::XmlEdit),
        ("Add-host form", Section::Form),
        ("Filter line", Section::Filter),
        ("Confirmation", Section::Confirm),
    ] {
        out.push(Line::from(Span::styled(title.to_string(), t.header)));
        let bindings = app.keymap.bindings(section);
        let mut seen: Vec<&Binding> = Vec::new();
        for b in bindings {
            if seen
                .iter()
                .any(|s| s.action == b.action && s.desc == b.desc)
            {
                continue;
            }
            seen.push(b);
            let keys: Vec<&str> = bindings
                .iter()
                .filter(|o| o.action == b.action && o.desc == b.desc)
                .map(|o| o.on.as_str())
                .collect();
            out.push(Line::from(vec![
                Span::styled(format!("  {:<18}", keys.join(" ")), t.key_hint),
                Span::raw(b.desc.clone()),
            ]));
        }
        out.push(Line::default());
    }
    out.push(Line::from(Span::styled(
        "Filter: words match names; host:NAME, state:running|paused|off|active",
        t.dim,
    )));
    out
}

pub fn render(app: &App, f: &mut Frame, area: Rect, scroll: usize) {
    let lines = lines(app);
    let h = (lines.len() as u16 + 2).min(area.height);
    let rect = centered(area, 76, h);
    let max_scroll = lines
        .len()
        .saturating_sub(rect.height.saturating_sub(2) as usize);
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines)
            .scroll((scroll.min(max_scroll) as u16, 0))
            .style(app.theme.dialog)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(app.theme.border_focus)
                    .title(Span::styled(
                        " Help — keys from the active keymap ",
                        app.theme.title,
                    )),
            ),
        rect,
    );
}
