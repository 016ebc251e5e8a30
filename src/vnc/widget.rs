//! Draws [`Cells`] with upper half blocks: foreground = upper pixel, background = lower.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::widgets::Widget;

use super::frame::Cells;

/// The preview image, centred in the area (clipped if the area is smaller).
pub struct PreviewWidget<'a>(pub &'a Cells);

impl Widget for PreviewWidget<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let cells = self.0;
        let w = cells.cols.min(area.width);
        let h = cells.rows.min(area.height);
        let x0 = area.x + (area.width - w) / 2;
        let y0 = area.y + (area.height - h) / 2;
        let rgb = |p: [u8; 3]| Color::Rgb(p[0], p[1], p[2]);
        for row in 0..h {
            for col in 0..w {
                let i = usize::from(row) * usize::from(cells.cols) + usize::from(col);
                let (Some(&top), Some(&bottom)) = (cells.top.get(i), cells.bottom.get(i)) else {
                    continue;
                };
                if let Some(c) = buf.cell_mut((x0 + col, y0 + row)) {
                    c.set_symbol("▀").set_fg(rgb(top)).set_bg(rgb(bottom));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_half_blocks_centred() {
        let mut cells = Cells::black(2, 1);
        cells.top[0] = [255, 0, 0];
        cells.bottom[0] = [0, 0, 255];
        cells.top[1] = [1, 2, 3];
        let area = Rect::new(0, 0, 6, 3);
        let mut buf = Buffer::empty(area);
        PreviewWidget(&cells).render(area, &mut buf);
        let c = &buf[(2, 1)];
        assert_eq!(c.symbol(), "▀");
        assert_eq!(c.fg, Color::Rgb(255, 0, 0));
        assert_eq!(c.bg, Color::Rgb(0, 0, 255));
        assert_eq!(buf[(3, 1)].fg, Color::Rgb(1, 2, 3));
        assert_eq!(buf[(1, 1)].symbol(), " ");
        assert_eq!(buf[(2, 0)].symbol(), " ");
        // A smaller area clips instead of panicking.
        let small = Rect::new(0, 0, 1, 1);
        let mut buf = Buffer::empty(small);
        PreviewWidget(&cells).render(small, &mut buf);
        assert_eq!(buf[(0, 0)].fg, Color::Rgb(255, 0, 0));
    }
}
