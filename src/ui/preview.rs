//! The live VNC preview: a title line with the connection state and zoom, then the guest's
//! screen in half-block cells (two pixels per cell): fitted with its aspect ratio kept, or
//! 1:1 (`z`) from a panned origin so a text console stays readable.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::preview::PreviewView;
use crate::app::App;
use crate::vnc::widget::PreviewWidget;
use crate::vnc::PreviewStatus;

pub fn render(app: &App, f: &mut Frame, area: Rect, pv: &PreviewView) {
    let t = &app.theme;
    let [title_area, body] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let host = app.host(pv.host).map(|h| h.name.as_str()).unwrap_or("?");
    let status = pv.target.preview.status();
    let (label, style) = match &status {
        PreviewStatus::Connecting => ("◌ connecting".to_string(), t.host_connecting),
        PreviewStatus::Live { width, height } => {
            (format!("● live {width}×{height}"), t.host_connected)
        }
        PreviewStatus::Failed(e) => (
            format!("✗ {}", crate::sanitize::text(e)),
            t.host_unreachable,
        ),
        PreviewStatus::Closed => ("closed".to_string(), t.dim),
    };
    let zoom = match &status {
        PreviewStatus::Live { width, height } if pv.native => {
            let (x, y) =
                crate::app::preview::window(pv, (*width, *height), body.width, body.height);
            let x1 = (u32::from(x) + u32::from(body.width)).min(u32::from(*width));
            let y1 = (u32::from(y) + 2 * u32::from(body.height)).min(u32::from(*height));
            format!("  1:1 x {x}–{x1} y {y}–{y1}")
        }
        _ => "  fit".to_string(),
    };
    let keys = if pv.forward {
        Span::styled("  ⌨ keys go to the guest", t.pending)
    } else {
        Span::styled("  keys stay here", t.dim)
    };
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" VNC preview ", t.title),
            Span::raw(format!(
                "{} on {}  ",
                crate::fmt::truncate(&pv.name, 40),
                crate::fmt::truncate(host, 24)
            )),
            Span::styled(label, style),
            Span::raw(zoom),
            keys,
        ]))
        .style(t.status_bar),
        title_area,
    );
    pv.body.set((body.width, body.height));
    if let PreviewStatus::Live { width, height } = status {
        let cells = if pv.native {
            let (x, y) = crate::app::preview::window(pv, (width, height), body.width, body.height);
            pv.target.preview.region(x, y, body.width, body.height).0
        } else {
            pv.target.preview.cells(body.width, body.height)
        };
        f.render_widget(PreviewWidget(&cells), body);
    }
}
