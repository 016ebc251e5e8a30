//! Toasts: the newest messages, one line each, stacked above the status bar in rows of their
//! own, so they never cover a table's rows (the log, `L`, keeps every message whole).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::toast::Level;
use crate::app::App;

/// Toasts shown at most.
pub const SHOWN: usize = 3;

/// Rows the toasts take now (0 when there are none, or the screen is too small to spare any).
pub fn height(app: &App, screen_height: u16) -> u16 {
    if screen_height < 12 {
        return 0;
    }
    app.messages.toasts.len().min(SHOWN) as u16
}

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let shown = app.messages.toasts.len().min(area.height as usize);
    let skip = app.messages.toasts.len() - shown;
    for (i, toast) in app.messages.toasts.iter().skip(skip).enumerate() {
        let (style, mark) = match toast.level {
            Level::Info => (app.theme.toast_info, "•"),
            Level::Error => (app.theme.toast_error, "✖"),
        };
        // Toasts quote host text (names, libvirt's errors).
        let text = crate::sanitize::text(&toast.text);
        let width = area.width.saturating_sub(4) as usize;
        let line = Line::from(vec![
            Span::raw(format!(" {mark} ")),
            Span::raw(crate::fmt::truncate(&text, width)),
        ]);
        let rect = Rect {
            y: area.y + i as u16,
            height: 1,
            ..area
        };
        f.render_widget(Paragraph::new(line).style(style), rect);
    }
}
