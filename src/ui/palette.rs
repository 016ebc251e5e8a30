//! The `:` palette: the command line over the status bar, its completions in a list just
//! above it (k9s), and why the last Enter did nothing.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::app::palette::Palette;
use crate::app::App;
use crate::sanitize;

/// Completions shown at once; the rest are counted.
const SHOWN: usize = 8;

pub fn render(app: &App, f: &mut Frame, main: Rect, line: Rect, p: &Palette) {
    let t = &app.theme;
    let mut spans = vec![
        Span::styled(" :", t.key_hint),
        Span::styled(sanitize::text(&p.input).into_owned(), t.filter),
        Span::styled("█", t.filter),
    ];
    if let Some(e) = &p.error {
        spans.push(Span::styled(
            format!("   ✖ {}", sanitize::text(e)),
            t.level_crit,
        ));
    } else if p.input.is_empty() {
        spans.push(Span::styled(
            "   Tab completes · ↑↓ history · Enter runs · Esc closes",
            t.dim,
        ));
    }
    f.render_widget(Clear, line);
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.status_bar), line);
    if p.suggestions.is_empty() {
        return;
    }
    // The list sits right above the command line, as wide as its longest entry.
    let start = p
        .pick
        .map_or(0, |i| i.saturating_sub(SHOWN - 1))
        .min(p.suggestions.len().saturating_sub(SHOWN));
    let shown = &p.suggestions[start..p.suggestions.len().min(start + SHOWN)];
    let word_w = shown
        .iter()
        .map(|s| sanitize::width(&s.word))
        .max()
        .unwrap_or(0);
    let mut lines: Vec<Line> = shown
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let style = if p.pick == Some(start + i) {
                t.selected
            } else {
                t.base
            };
            Line::from(vec![
                Span::styled(
                    format!(" {} ", crate::fmt::pad(&sanitize::text(&s.word), word_w)),
                    style.patch(t.key_hint),
                ),
                Span::styled(format!(" {} ", sanitize::text(&s.about)), style),
            ])
        })
        .collect();
    let more = p.suggestions.len() - shown.len();
    if more > 0 {
        lines.push(Line::from(Span::styled(format!(" … {more} more"), t.dim)));
    }
    let width = lines
        .iter()
        .map(|l| l.width() as u16)
        .max()
        .unwrap_or(0)
        .saturating_add(2)
        .min(main.width);
    let height = (lines.len() as u16 + 2).min(main.height);
    let area = Rect {
        x: main.x + 1.min(main.width.saturating_sub(width)),
        y: main.y + main.height - height,
        width,
        height,
    };
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border_focus)
                .style(t.dialog),
        ),
        area,
    );
}
