//! Pixels for the preview: the RGB framebuffer the VNC session paints into, its downscaled
//! half-block [`Cells`] (box filter, aspect kept, letterboxed), a cache that recomputes only
//! the cells under dirty rectangles, and a binary PPM decoder (to compare with
//! `virsh screenshot`). Pure code: no I/O, no panics on bad input.

/// A rectangle of framebuffer pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u16,
    pub y: u16,
    pub w: u16,
    pub h: u16,
}

impl Rect {
    pub fn new(x: u16, y: u16, w: u16, h: u16) -> Rect {
        Rect { x, y, w, h }
    }

    fn right(&self) -> usize {
        usize::from(self.x) + usize::from(self.w)
    }

    fn bottom(&self) -> usize {
        usize::from(self.y) + usize::from(self.h)
    }

    fn is_empty(&self) -> bool {
        self.w == 0 || self.h == 0
    }
}

/// How the server's pixels are laid out on the wire (the RFB PIXEL_FORMAT, true colour only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelLayout {
    pub bytes_per_pixel: u8,
    pub big_endian: bool,
    /// (max, shift) of red, green and blue.
    pub channels: [(u16, u8); 3],
}

impl PixelLayout {
    /// 32-bit little endian with red in bits 16..24: bytes `[b, g, r, x]` (vnc-rs `bgra()`).
    pub const BGRX: PixelLayout = PixelLayout {
        bytes_per_pixel: 4,
        big_endian: false,
        channels: [(255, 16), (255, 8), (255, 0)],
    };

    fn check(&self) -> Result<(), String> {
        if !matches!(self.bytes_per_pixel, 1 | 2 | 4) {
            return Err(format!(
                "unsupported {} bytes per pixel",
                self.bytes_per_pixel
            ));
        }
        if self
            .channels
            .iter()
            .any(|&(max, shift)| max == 0 || shift >= 32)
        {
            return Err("invalid colour channel in pixel format".into());
        }
        Ok(())
    }

    fn rgb(&self, px: &[u8]) -> [u8; 3] {
        let mut v: u32 = 0;
        if self.big_endian {
            for &b in px {
                v = (v << 8) | u32::from(b);
            }
        } else {
            for &b in px.iter().rev() {
                v = (v << 8) | u32::from(b);
            }
        }
        self.channels.map(|(max, shift)| {
            let max = u32::from(max);
            let c = (v >> shift) & max;
            // Scale to 0..=255 (identity for 8-bit channels).
            ((c * 255 + max / 2) / max) as u8
        })
    }
}

/// The guest screen as RGB pixels, row-major.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Framebuffer {
    pub width: u16,
    pub height: u16,
    pub pixels: Vec<[u8; 3]>,
}

impl Framebuffer {
    /// A black framebuffer.
    pub fn new(width: u16, height: u16) -> Framebuffer {
        Framebuffer {
            width,
            height,
            pixels: vec![[0; 3]; usize::from(width) * usize::from(height)],
        }
    }

    pub fn full(&self) -> Rect {
        Rect::new(0, 0, self.width, self.height)
    }

    pub fn get(&self, x: u16, y: u16) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        self.pixels
            .get(usize::from(y) * usize::from(self.width) + usize::from(x))
            .copied()
    }

    fn contains(&self, r: &Rect) -> bool {
        r.right() <= usize::from(self.width)
            && r.bottom() <= usize::from(self.height)
            && self.pixels.len() == usize::from(self.width) * usize::from(self.height)
    }

    /// Paints `data` (pixels of `rect` in `layout`, row-major) into the framebuffer.
    pub fn put(&mut self, rect: Rect, data: &[u8], layout: &PixelLayout) -> Result<(), String> {
        layout.check()?;
        if !self.contains(&rect) {
            return Err(format!(
                "rectangle {rect:?} outside the {}x{} screen",
                self.width, self.height
            ));
        }
        let bpp = usize::from(layout.bytes_per_pixel);
        let (w, h) = (usize::from(rect.w), usize::from(rect.h));
        if data.len() < w * h * bpp {
            return Err(format!(
                "short pixel data for {rect:?}: {} bytes",
                data.len()
            ));
        }
        if w == 0 {
            return Ok(());
        }
        let fw = usize::from(self.width);
        for (row, src) in data.chunks_exact(w * bpp).take(h).enumerate() {
            let start = (usize::from(rect.y) + row) * fw + usize::from(rect.x);
            let Some(dst) = self.pixels.get_mut(start..start + w) else {
                return Err(format!("rectangle {rect:?} outside the screen"));
            };
            if *layout == PixelLayout::BGRX {
                // Fast path for the format the session asks for.
                for (d, s) in dst.iter_mut().zip(src.chunks_exact(4)) {
                    *d = [s[2], s[1], s[0]];
                }
            } else {
                for (d, s) in dst.iter_mut().zip(src.chunks_exact(bpp)) {
                    *d = layout.rgb(s);
                }
            }
        }
        Ok(())
    }

    /// RFB CopyRect: copies the pixels of `src` to `dst` (same size; overlap allowed).
    pub fn copy(&mut self, dst: Rect, src: Rect) -> Result<(), String> {
        if dst.w != src.w || dst.h != src.h {
            return Err(format!("copy between different sizes {src:?} -> {dst:?}"));
        }
        if !self.contains(&dst) || !self.contains(&src) {
            return Err(format!(
                "copy {src:?} -> {dst:?} outside the {}x{} screen",
                self.width, self.height
            ));
        }
        let fw = usize::from(self.width);
        let w = usize::from(src.w);
        let h = usize::from(src.h);
        for i in 0..h {
            // Walk rows away from the overlap so no source row is overwritten before it is read
            // (copy_within handles the overlap inside one row).
            let r = if dst.y > src.y { h - 1 - i } else { i };
            let s = (usize::from(src.y) + r) * fw + usize::from(src.x);
            let d = (usize::from(dst.y) + r) * fw + usize::from(dst.x);
            self.pixels.copy_within(s..s + w, d);
        }
        Ok(())
    }
}

/// Downscaled frame: `cols` x `rows` terminal cells, each with the colour of its upper and
/// lower half (one half block = one output pixel, so the image is `cols` x `2*rows` pixels).
/// `top` and `bottom` are row-major, index `row * cols + col`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cells {
    pub cols: u16,
    pub rows: u16,
    pub top: Vec<[u8; 3]>,
    pub bottom: Vec<[u8; 3]>,
}

impl Cells {
    pub fn black(cols: u16, rows: u16) -> Cells {
        let n = usize::from(cols) * usize::from(rows);
        Cells {
            cols,
            rows,
            top: vec![[0; 3]; n],
            bottom: vec![[0; 3]; n],
        }
    }

    /// Output pixel (x, y) with y in 0..2*rows.
    pub fn pixel(&self, x: u16, y: u16) -> Option<[u8; 3]> {
        if x >= self.cols || y / 2 >= self.rows {
            return None;
        }
        let i = usize::from(y / 2) * usize::from(self.cols) + usize::from(x);
        if y % 2 == 0 {
            self.top.get(i).copied()
        } else {
            self.bottom.get(i).copied()
        }
    }

    fn set(&mut self, x: usize, y: usize, c: [u8; 3]) {
        let i = (y / 2) * usize::from(self.cols) + x;
        let half = if y % 2 == 0 {
            &mut self.top
        } else {
            &mut self.bottom
        };
        if let Some(p) = half.get_mut(i) {
            *p = c;
        }
    }
}

/// Where the scaled image sits in the output pixel grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Geometry {
    src_w: usize,
    src_h: usize,
    /// Scaled image size and offset (letterbox) in output pixels.
    w: usize,
    h: usize,
    ox: usize,
    oy: usize,
}

impl Geometry {
    fn new(src_w: u16, src_h: u16, cols: u16, rows: u16) -> Geometry {
        let (sw, sh) = (usize::from(src_w), usize::from(src_h));
        let (ow, oh) = (usize::from(cols), 2 * usize::from(rows));
        if sw == 0 || sh == 0 || ow == 0 || oh == 0 {
            return Geometry {
                src_w: sw,
                src_h: sh,
                w: 0,
                h: 0,
                ox: 0,
                oy: 0,
            };
        }
        // Fit by the tighter dimension (integer cross-multiplication, no float rounding).
        let (w, h) = if ow * sh <= oh * sw {
            (ow, ((sh * ow + sw / 2) / sw).clamp(1, oh))
        } else {
            (((sw * oh + sh / 2) / sh).clamp(1, ow), oh)
        };
        Geometry {
            src_w: sw,
            src_h: sh,
            w,
            h,
            ox: (ow - w) / 2,
            oy: (oh - h) / 2,
        }
    }

    /// Source span [a, b) covered by output index `i` of `n` over `len` source pixels.
    fn span(i: usize, n: usize, len: usize) -> (usize, usize) {
        let a = i * len / n;
        let b = ((i + 1) * len / n).max(a + 1).min(len);
        (a, b)
    }

    /// Output indices (scaled-image coordinates) whose spans may touch source [a, b).
    fn cover(a: usize, b: usize, n: usize, len: usize) -> (usize, usize) {
        let lo = (a * n / len).saturating_sub(1);
        let hi = (b * n).div_ceil(len) + 1;
        (lo.min(n), hi.min(n))
    }
}

/// Box-filter average of the source pixels under output pixel (x, y) of the scaled image.
fn average(fb: &Framebuffer, g: &Geometry, x: usize, y: usize) -> [u8; 3] {
    let (x0, x1) = Geometry::span(x, g.w, g.src_w);
    let (y0, y1) = Geometry::span(y, g.h, g.src_h);
    let mut sum = [0u64; 3];
    for row in y0..y1 {
        let start = row * g.src_w;
        let Some(line) = fb.pixels.get(start + x0..start + x1) else {
            return [0; 3];
        };
        for p in line {
            sum[0] += u64::from(p[0]);
            sum[1] += u64::from(p[1]);
            sum[2] += u64::from(p[2]);
        }
    }
    let n = ((x1 - x0) * (y1 - y0)) as u64;
    if n == 0 {
        return [0; 3];
    }
    sum.map(|s| ((s + n / 2) / n) as u8)
}

fn paint(
    cells: &mut Cells,
    fb: &Framebuffer,
    g: &Geometry,
    xs: (usize, usize),
    ys: (usize, usize),
) {
    for y in ys.0..ys.1 {
        for x in xs.0..xs.1 {
            cells.set(g.ox + x, g.oy + y, average(fb, g, x, y));
        }
    }
}

/// The whole frame downscaled to `cols` x `rows` cells, aspect ratio kept, black bars around.
pub fn downscale(fb: &Framebuffer, cols: u16, rows: u16) -> Cells {
    let mut cells = Cells::black(cols, rows);
    if fb.pixels.len() != usize::from(fb.width) * usize::from(fb.height) {
        return cells;
    }
    let g = Geometry::new(fb.width, fb.height, cols, rows);
    paint(&mut cells, fb, &g, (0, g.w), (0, g.h));
    cells
}

/// A region of the frame at its own resolution (1:1): output pixel (x, y) is source pixel
/// (`left` + x, `top` + y), one column and two rows of pixels per cell, black past the edges.
/// Text in an 80×25 console stays readable where `downscale` blurs it.
pub fn region(fb: &Framebuffer, left: u16, top: u16, cols: u16, rows: u16) -> Cells {
    let mut cells = Cells::black(cols, rows);
    for y in 0..2 * usize::from(rows) {
        for x in 0..usize::from(cols) {
            let (sx, sy) = (usize::from(left) + x, usize::from(top) + y);
            if let (Ok(sx), Ok(sy)) = (u16::try_from(sx), u16::try_from(sy)) {
                if let Some(p) = fb.get(sx, sy) {
                    cells.set(x, y, p);
                }
            }
        }
    }
    cells
}

/// The top-left corner that keeps a `cols` × `2·rows` pixel window inside a `w` × `h` frame
/// (0 on an axis the window covers whole).
pub fn clamp_origin(w: u16, h: u16, x: i32, y: i32, cols: u16, rows: u16) -> (u16, u16) {
    let max_x = i32::from(w) - i32::from(cols);
    let max_y = i32::from(h) - 2 * i32::from(rows);
    let clamp = |v: i32, max: i32| u16::try_from(v.min(max).max(0)).unwrap_or(0);
    (clamp(x, max_x), clamp(y, max_y))
}

/// Most dirty rectangles kept before they collapse into their bounding box.
const MAX_DIRTY: usize = 64;

/// Downscaled cells kept between draws: only the cells under dirty rectangles are recomputed;
/// a new target size or a new framebuffer size recomputes everything.
#[derive(Debug, Clone, Default)]
pub struct CellCache {
    cells: Cells,
    /// Source size the cells were computed for.
    src: (u16, u16),
    valid: bool,
    dirty: Vec<Rect>,
}

impl CellCache {
    /// Notes that the pixels of `r` changed.
    pub fn mark(&mut self, r: Rect) {
        if r.is_empty() {
            return;
        }
        self.dirty.push(r);
        if self.dirty.len() > MAX_DIRTY {
            // Bound memory under a flood of tiny rects: one box covering them all.
            let x0 = self.dirty.iter().map(|r| r.x).min().unwrap_or(0);
            let y0 = self.dirty.iter().map(|r| r.y).min().unwrap_or(0);
            let x1 = self.dirty.iter().map(Rect::right).max().unwrap_or(0);
            let y1 = self.dirty.iter().map(Rect::bottom).max().unwrap_or(0);
            let w = u16::try_from(x1 - usize::from(x0)).unwrap_or(u16::MAX);
            let h = u16::try_from(y1 - usize::from(y0)).unwrap_or(u16::MAX);
            self.dirty = vec![Rect::new(x0, y0, w, h)];
        }
    }

    /// Forgets everything: the next `cells` recomputes the whole frame.
    pub fn invalidate(&mut self) {
        self.valid = false;
        self.dirty.clear();
    }

    /// The frame at `cols` x `rows`, recomputing only what changed since the last call.
    pub fn cells(&mut self, fb: &Framebuffer, cols: u16, rows: u16) -> &Cells {
        let same = self.valid
            && self.cells.cols == cols
            && self.cells.rows == rows
            && self.src == (fb.width, fb.height);
        if !same || fb.pixels.len() != usize::from(fb.width) * usize::from(fb.height) {
            self.cells = downscale(fb, cols, rows);
            self.src = (fb.width, fb.height);
            self.valid = true;
        } else {
            let g = Geometry::new(fb.width, fb.height, cols, rows);
            if g.w > 0 && g.h > 0 {
                for r in &self.dirty {
                    let xs = Geometry::cover(usize::from(r.x), r.right(), g.w, g.src_w);
                    let ys = Geometry::cover(usize::from(r.y), r.bottom(), g.h, g.src_h);
                    paint(&mut self.cells, fb, &g, xs, ys);
                }
            }
        }
        self.dirty.clear();
        &self.cells
    }
}

/// Decodes a binary PPM (P6, maxval ≤ 255) such as `virsh screenshot` writes for QEMU.
pub fn decode_ppm(bytes: &[u8]) -> Result<Framebuffer, String> {
    let mut pos = 0;
    let magic = token(bytes, &mut pos).ok_or("empty PPM")?;
    if magic != b"P6" {
        return Err("not a binary PPM (P6)".into());
    }
    let mut number = |what: &str| -> Result<usize, String> {
        let t =
            token(bytes, &mut pos).ok_or_else(|| format!("PPM header ends before the {what}"))?;
        std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| format!("bad PPM {what}"))
    };
    let width = number("width")?;
    let height = number("height")?;
    let maxval = number("maxval")?;
    if !(1..=255).contains(&maxval) {
        return Err(format!("unsupported PPM maxval {maxval}"));
    }
    let (Ok(w), Ok(h)) = (u16::try_from(width), u16::try_from(height)) else {
        return Err(format!("PPM too large: {width}x{height}"));
    };
    // Exactly one whitespace byte separates the header from the raster.
    pos += 1;
    let need = width * height * 3;
    let raster = bytes
        .get(pos..)
        .filter(|r| r.len() >= need)
        .ok_or_else(|| format!("PPM raster truncated: {width}x{height} needs {need} bytes"))?;
    let scale = |v: u8| ((usize::from(v) * 255 + maxval / 2) / maxval).min(255) as u8;
    let pixels = raster[..need]
        .chunks_exact(3)
        .map(|p| [scale(p[0]), scale(p[1]), scale(p[2])])
        .collect();
    Ok(Framebuffer {
        width: w,
        height: h,
        pixels,
    })
}

/// Next whitespace-separated header token, skipping `#` comments.
fn token<'a>(bytes: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    loop {
        match bytes.get(*pos)? {
            b if b.is_ascii_whitespace() => *pos += 1,
            b'#' => {
                while *bytes.get(*pos)? != b'\n' {
                    *pos += 1;
                }
            }
            _ => break,
        }
    }
    let start = *pos;
    while bytes
        .get(*pos)
        .is_some_and(|b| !b.is_ascii_whitespace() && *b != b'#')
    {
        *pos += 1;
    }
    Some(&bytes[start..*pos])
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;
