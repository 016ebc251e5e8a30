use super::*;

/// A framebuffer whose pixel (x, y) is `f(x, y)`.
fn fb_from(w: u16, h: u16, f: impl Fn(u16, u16) -> [u8; 3]) -> Framebuffer {
    let mut fb = Framebuffer::new(w, h);
    for y in 0..h {
        for x in 0..w {
            fb.pixels[usize::from(y) * usize::from(w) + usize::from(x)] = f(x, y);
        }
    }
    fb
}

/// BGRX bytes for a block of pixels.
fn bgrx(px: &[[u8; 3]]) -> Vec<u8> {
    px.iter().flat_map(|p| [p[2], p[1], p[0], 0xff]).collect()
}

/// Deterministic pseudo-random numbers (xorshift), no extra crates.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u16) -> u16 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % u64::from(n.max(1))) as u16
    }
}

#[test]
fn downscale_averages_boxes() {
    // 4x4 source into 2 cols x 1 row = 2x2 output pixels: each averages a 2x2 block.
    let fb = fb_from(4, 4, |x, y| {
        let v = (y * 4 + x) as u8 * 10;
        [v, 255 - v, if x < 2 { 0 } else { 200 }]
    });
    let c = downscale(&fb, 2, 1);
    assert_eq!((c.cols, c.rows), (2, 1));
    // Top-left block: values 0, 10, 40, 50 -> 25.
    assert_eq!(c.top[0], [25, 230, 0]);
    // Top-right: 20, 30, 60, 70 -> 45.
    assert_eq!(c.top[1], [45, 210, 200]);
    // Bottom-left: 80, 90, 120, 130 -> 105.
    assert_eq!(c.bottom[0], [105, 150, 0]);
    assert_eq!(c.bottom[1], [125, 130, 200]);
}

#[test]
fn downscale_keeps_aspect_with_black_bars() {
    // 720x400 (VGA text mode) into 80x24 cells = 80x48 pixels: 80x44 image, 2 black rows
    // above and below.
    let white = fb_from(720, 400, |_, _| [255, 255, 255]);
    let c = downscale(&white, 80, 24);
    for y in 0..48 {
        let want = if (2..46).contains(&y) {
            [255; 3]
        } else {
            [0; 3]
        };
        for x in 0..80 {
            assert_eq!(c.pixel(x, y), Some(want), "({x},{y})");
        }
    }
    // A tall image gets bars left and right: 100x400 into 40x10 cells = 40x20 -> 5x20.
    let tall = fb_from(100, 400, |_, _| [9, 9, 9]);
    let c = downscale(&tall, 40, 10);
    let lit: Vec<u16> = (0..40)
        .filter(|&x| c.pixel(x, 10) == Some([9; 3]))
        .collect();
    assert_eq!(lit, (17..22).collect::<Vec<_>>());
    // Empty inputs and targets do not panic.
    assert_eq!(downscale(&Framebuffer::default(), 3, 2), Cells::black(3, 2));
    assert_eq!(downscale(&white, 0, 0).top.len(), 0);
}

#[test]
fn upscale_repeats_pixels() {
    let fb = fb_from(2, 1, |x, _| [x as u8 * 100; 3]);
    let c = downscale(&fb, 4, 1);
    // 2x1 into 4x2 pixels: 4x2 image, each source pixel twice.
    assert_eq!(c.top, vec![[0; 3], [0; 3], [100; 3], [100; 3]]);
    assert_eq!(c.bottom, c.top);
}

#[test]
fn put_converts_pixel_formats() {
    let mut fb = Framebuffer::new(2, 1);
    fb.put(
        Rect::new(0, 0, 2, 1),
        &bgrx(&[[1, 2, 3], [250, 0, 7]]),
        &PixelLayout::BGRX,
    )
    .unwrap();
    assert_eq!(fb.pixels, vec![[1, 2, 3], [250, 0, 7]]);
    // rgba(): bytes [r, g, b, x].
    let rgbx = PixelLayout {
        channels: [(255, 0), (255, 8), (255, 16)],
        ..PixelLayout::BGRX
    };
    fb.put(Rect::new(1, 0, 1, 1), &[9, 8, 7, 0], &rgbx).unwrap();
    assert_eq!(fb.pixels[1], [9, 8, 7]);
    // 16-bit big endian RGB565: white and pure red.
    let rgb565 = PixelLayout {
        bytes_per_pixel: 2,
        big_endian: true,
        channels: [(31, 11), (63, 5), (31, 0)],
    };
    fb.put(Rect::new(0, 0, 2, 1), &[0xff, 0xff, 0xf8, 0x00], &rgb565)
        .unwrap();
    assert_eq!(fb.pixels, vec![[255, 255, 255], [255, 0, 0]]);
}

#[test]
fn put_rejects_bad_rects() {
    let mut fb = Framebuffer::new(4, 4);
    let px = bgrx(&[[1, 1, 1]; 4]);
    assert!(fb
        .put(Rect::new(3, 0, 2, 2), &px, &PixelLayout::BGRX)
        .is_err());
    assert!(fb
        .put(Rect::new(0, 0, 2, 3), &px, &PixelLayout::BGRX)
        .is_err());
    assert!(fb
        .put(
            Rect::new(u16::MAX, u16::MAX, u16::MAX, 1),
            &px,
            &PixelLayout::BGRX
        )
        .is_err());
    let odd = PixelLayout {
        bytes_per_pixel: 3,
        ..PixelLayout::BGRX
    };
    assert!(fb.put(Rect::new(0, 0, 1, 1), &px, &odd).is_err());
    assert!(fb
        .copy(Rect::new(3, 3, 2, 2), Rect::new(0, 0, 2, 2))
        .is_err());
    assert!(fb
        .copy(Rect::new(0, 0, 2, 2), Rect::new(0, 0, 1, 2))
        .is_err());
    assert!(fb
        .put(Rect::new(1, 1, 0, 0), &[], &PixelLayout::BGRX)
        .is_ok());
    assert_eq!(fb, Framebuffer::new(4, 4));
}

#[test]
fn copy_rect_handles_overlap() {
    let src = fb_from(6, 6, |x, y| [x as u8, y as u8, 0]);
    for (dx, dy) in [(1, 1), (0, 2), (2, 0), (0, 0)] {
        for (sx, sy) in [(0, 0), (1, 2), (2, 1)] {
            let mut fb = src.clone();
            fb.copy(Rect::new(dx, dy, 4, 4), Rect::new(sx, sy, 4, 4))
                .unwrap();
            for y in 0..6 {
                for x in 0..6 {
                    let inside = (dx..dx + 4).contains(&x) && (dy..dy + 4).contains(&y);
                    let want = if inside {
                        src.get(x - dx + sx, y - dy + sy)
                    } else {
                        src.get(x, y)
                    };
                    assert_eq!(
                        fb.get(x, y),
                        want,
                        "copy to ({dx},{dy}) from ({sx},{sy}) at ({x},{y})"
                    );
                }
            }
        }
    }
}

#[test]
fn partial_recompute_equals_full_recompute() {
    let mut rng = Rng(0x5eed);
    for (w, h, cols, rows) in [
        (720, 400, 80, 24),
        (640, 480, 37, 11),
        (50, 30, 80, 24),
        (1024, 768, 200, 60),
    ] {
        let mut fb = fb_from(w, h, |x, y| {
            [(x % 251) as u8, (y % 241) as u8, ((x ^ y) % 256) as u8]
        });
        let mut cache = CellCache::default();
        assert_eq!(cache.cells(&fb, cols, rows), &downscale(&fb, cols, rows));
        for round in 0..40 {
            // Paint a random rect (or copy one), tell the cache, compare with a full pass.
            let rw = 1 + rng.next(w / 3);
            let rh = 1 + rng.next(h / 3);
            let r = Rect::new(rng.next(w - rw), rng.next(h - rh), rw, rh);
            if round % 4 == 3 {
                let s = Rect::new(rng.next(w - rw), rng.next(h - rh), rw, rh);
                fb.copy(r, s).unwrap();
            } else {
                let c = [
                    rng.next(256) as u8,
                    rng.next(256) as u8,
                    rng.next(256) as u8,
                ];
                let px = bgrx(&vec![c; usize::from(rw) * usize::from(rh)]);
                fb.put(r, &px, &PixelLayout::BGRX).unwrap();
            }
            cache.mark(r);
            if round % 3 == 0 {
                assert_eq!(
                    cache.cells(&fb, cols, rows),
                    &downscale(&fb, cols, rows),
                    "{w}x{h} round {round}"
                );
            }
        }
        assert_eq!(cache.cells(&fb, cols, rows), &downscale(&fb, cols, rows));
        // A changed pixel the cache was not told about stays stale: proof that the cached
        // path really skips recomputation (and so the equality above tests it).
        fb.pixels[0] = [255, 255, 255];
        fb.pixels[1] = [255, 255, 255];
        let stale = cache.cells(&fb, cols, rows).clone();
        if downscale(&fb, cols, rows) != stale {
            // New target size: full recompute.
            assert_eq!(
                cache.cells(&fb, cols + 1, rows),
                &downscale(&fb, cols + 1, rows)
            );
        } else {
            panic!("test pixel change not visible at {w}x{h} -> {cols}x{rows}");
        }
    }
}

#[test]
fn cache_follows_resize_and_many_dirty_rects() {
    let mut fb = fb_from(64, 64, |x, _| [x as u8; 3]);
    let mut cache = CellCache::default();
    cache.cells(&fb, 16, 8);
    // Hundreds of 1-pixel updates collapse into a bounding box and still come out right.
    for i in 0..300u16 {
        let r = Rect::new(i % 64, (i * 7) % 64, 1, 1);
        fb.put(r, &bgrx(&[[200, 100, 50]]), &PixelLayout::BGRX)
            .unwrap();
        cache.mark(r);
    }
    assert_eq!(cache.cells(&fb, 16, 8), &downscale(&fb, 16, 8));
    // Resize: a new size means a full recompute even without dirty rects.
    let fb = fb_from(32, 100, |_, y| [y as u8; 3]);
    cache.invalidate();
    assert_eq!(cache.cells(&fb, 16, 8), &downscale(&fb, 16, 8));
    let fb2 = fb_from(100, 32, |_, y| [y as u8; 3]);
    assert_eq!(cache.cells(&fb2, 16, 8), &downscale(&fb2, 16, 8));
}

#[test]
fn ppm_decodes_p6() {
    let mut ppm = b"P6\n# a comment\n3 2\n255\n".to_vec();
    let px: Vec<u8> = (0..18).map(|i| i * 10).collect();
    ppm.extend(&px);
    let fb = decode_ppm(&ppm).unwrap();
    assert_eq!((fb.width, fb.height), (3, 2));
    assert_eq!(fb.pixels[0], [0, 10, 20]);
    assert_eq!(fb.get(2, 1), Some([150, 160, 170]));
    // Lower maxval scales to 0..=255; extra trailing bytes are ignored.
    let fb = decode_ppm(b"P6 1 1 15 \x0f\x00\x07xyz").unwrap();
    assert_eq!(fb.pixels, vec![[255, 0, 119]]);
    // A raster starting with a whitespace byte value is still read as data.
    let fb = decode_ppm(b"P6\n1 1\n255\n\n\t ").unwrap();
    assert_eq!(fb.pixels, vec![[b'\n', b'\t', b' ']]);
}

#[test]
fn ppm_rejects_malformed_input() {
    for bad in [
        &b""[..],
        b"P3\n1 1\n255\n0 0 0",
        b"P6\n",
        b"P6\n2 2\n255\n\x00\x00\x00",
        b"P6\n-1 2\n255\n",
        b"P6\nx 2\n255\n",
        b"P6\n1 1\n65535\n\x00\x00\x00\x00\x00\x00",
        b"P6\n1 1\n0\n\x00\x00\x00",
        b"P6\n99999 99999\n255\n",
        b"P6\n18446744073709551617 1\n255\n",
        b"P6 # unterminated comment",
    ] {
        assert!(
            decode_ppm(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

/// 1:1 keeps every pixel (a one-pixel checkerboard, which fitting a 720×400 console into a
/// terminal averages to grey) and puts black past the frame's edges.
#[test]
fn region_shows_pixels_one_to_one() {
    let white = [255, 255, 255];
    let fb = fb_from(
        720,
        400,
        |x, y| if (x + y) % 2 == 0 { white } else { [0; 3] },
    );
    let cells = region(&fb, 10, 20, 80, 24);
    for (x, y) in [(0u16, 0u16), (1, 0), (0, 1), (79, 47), (33, 12)] {
        let want = if (10 + x + 20 + y) % 2 == 0 {
            white
        } else {
            [0; 3]
        };
        assert_eq!(cells.pixel(x, y), Some(want), "({x}, {y})");
    }
    // Fitted, the same frame is a uniform grey: the text is gone.
    let fitted = downscale(&fb, 80, 24);
    let p = fitted.pixel(40, 20).unwrap();
    assert!(p[0] > 60 && p[0] < 200, "{p:?}");
    // Past the right and bottom edges: black.
    let edge = region(&fb, 700, 390, 40, 10);
    assert_eq!(edge.pixel(19, 9), fb.get(719, 399));
    assert_eq!(edge.pixel(20, 0), Some([0; 3]));
    assert_eq!(edge.pixel(0, 10), Some([0; 3]));
}

#[test]
fn the_window_is_kept_inside_the_frame() {
    // An 80×24 body shows 80×48 pixels of a 720×400 frame.
    assert_eq!(clamp_origin(720, 400, -5, -5, 80, 24), (0, 0));
    assert_eq!(clamp_origin(720, 400, 100, 60, 80, 24), (100, 60));
    assert_eq!(clamp_origin(720, 400, 9999, 9999, 80, 24), (640, 352));
    // A body larger than the frame: the whole frame, from the corner.
    assert_eq!(clamp_origin(64, 32, 10, 10, 160, 45), (0, 0));
}
