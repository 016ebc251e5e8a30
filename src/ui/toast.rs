//! Toasts: the newest messages, stacked at the bottom right of the table.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::toast::Level;
use crate::app::App;

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let width = (area.width.saturating_sub(4)).min(70);
    if width < 10 {
        return;
    }
    let mut bottom = area.y + area.height.saturating_sub(1);
    for toast in app.messages.toasts.iter().rev() {
        let style = match toast.level {
            Level::Info => app.theme.toast_info,
            Level::Error => app.theme.toast_error,
        };
        // Toasts quote host text (names, libvirt's errors).
        let text = format!(" {} ", crate::sanitize::text(&toast.text));
        let lines = (unicode_width::UnicodeWidthStr::width(text.as_str()) as u16)
            .div_ceil(width)
            .clamp(1, 3);
        if bottom < area.y + 1 + lines {
            break;
        }
        let rect = Rect {
            x: area.x + area.width - width - 2,
            y: bottom - lines,
            width,
            height: lines,
        };
        f.render_widget(Clear, rect);
        f.render_widget(
            Paragraph::new(Line::from(text))
                .wrap(Wrap { trim: true })
                .style(style),
            rect,
        );
        bottom -= lines;
    }
}
