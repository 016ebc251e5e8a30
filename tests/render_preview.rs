//! The VNC preview's zoom on a still frame (no VNC session): fitted, an 80×25 text console
//! (720×400 pixels) is averaged into blobs; `z` shows it 1:1 from a panned origin, arrows
//! move the window and stop at the frame's edges, and the title says which part is shown.

mod common;

use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;
use virtdeck::app::preview::PreviewView;
use virtdeck::app::PaneId;
use virtdeck::app::{App, View};
use virtdeck::vnc::frame::Framebuffer;
use virtdeck::vnc::PreviewTarget;

fn draw(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| virtdeck::ui::render(app, f)).unwrap();
    t
}

/// A 720×400 frame: a one-pixel checkerboard whose colour says where it is (red grows to the
/// right, blue downwards), so a cell's colour tells which pixel it shows.
fn console_frame() -> Framebuffer {
    let mut fb = Framebuffer::new(720, 400);
    for y in 0..400u16 {
        for x in 0..720u16 {
            let on = (x + y) % 2 == 0;
            let px = if on {
                [(x / 3) as u8, 200, (u32::from(y) * 255 / 399) as u8]
            } else {
                [0, 0, 0]
            };
            let i = usize::from(y) * 720 + usize::from(x);
            fb.pixels[i] = px;
        }
    }
    fb
}

fn previewing() -> common::Live {
    let mut live = common::demo();
    let target = PreviewTarget::new();
    target.preview.show(console_frame());
    live.app.view = View::Preview(Box::new(PreviewView {
        host: live.app.hosts[0].id,
        uuid: "u".into(),
        name: "console-vm".into(),
        target,
        forward: false,
        native: false,
        origin: (0, 0),
        body: Default::default(),
        back: Box::new(View::Pane(PaneId::Vms)),
    }));
    live
}

fn title(t: &Terminal<TestBackend>) -> String {
    let b = t.backend().buffer();
    (0..b.area.width)
        .map(|x| b[(x, 0)].symbol().to_string())
        .collect()
}

fn pixel_at(t: &Terminal<TestBackend>, col: u16, row: u16) -> (Color, Color) {
    let c = &t.backend().buffer()[(col, row)];
    (c.fg, c.bg)
}

fn rgb(p: [u8; 3]) -> Color {
    Color::Rgb(p[0], p[1], p[2])
}

#[test]
fn zoom_shows_pixels_one_to_one_and_pans_inside_the_frame() {
    let mut live = previewing();
    let fb = console_frame();
    let (w, h) = (160u16, 45u16);
    let t = draw(&live.app, w, h);
    assert!(title(&t).contains("fit"), "{}", title(&t));

    live.press("z");
    let t = draw(&live.app, w, h);
    // The body starts under the title line: cell (c, 1 + r) shows pixels (c, 2r) and (c, 2r+1).
    assert!(title(&t).contains("1:1 x 0–160 y 0–86"), "{}", title(&t));
    for (c, r) in [(0u16, 0u16), (1, 0), (37, 11), (159, 42)] {
        let want = (
            rgb(fb.get(c, 2 * r).unwrap()),
            rgb(fb.get(c, 2 * r + 1).unwrap()),
        );
        assert_eq!(pixel_at(&t, c, 1 + r), want, "cell ({c}, {r})");
    }

    live.press("<Right>");
    live.press("<Down>");
    let t = draw(&live.app, w, h);
    assert!(title(&t).contains("1:1 x 72–232 y 40–126"), "{}", title(&t));
    assert_eq!(pixel_at(&t, 0, 1).0, rgb(fb.get(72, 40).unwrap()));

    // Panning stops at the frame's edges.
    for _ in 0..30 {
        live.press("<Right>");
        live.press("<Down>");
        let _ = draw(&live.app, w, h);
    }
    let t = draw(&live.app, w, h);
    assert!(
        title(&t).contains("1:1 x 560–720 y 314–400"),
        "{}",
        title(&t)
    );
    for _ in 0..30 {
        live.press("<Left>");
        live.press("<Up>");
    }
    let t = draw(&live.app, w, h);
    assert!(title(&t).contains("1:1 x 0–160 y 0–86"), "{}", title(&t));

    // While keys go to the guest, z and the arrows are the guest's.
    live.press("<C-k>");
    live.press("z");
    let t = draw(&live.app, w, h);
    assert!(title(&t).contains("1:1"), "{}", title(&t));
    live.press("<C-k>");
    live.press("z");
    let t = draw(&live.app, w, h);
    assert!(title(&t).contains("fit"), "{}", title(&t));
}
