//! Sparklines as text, for table cells (ratatui's Sparkline widget needs its own area).

use crate::metrics::View;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The newest `width` points of `ring` as bar characters scaled to `max` (the series' own
/// maximum when None). Gaps are blank; missing history is padded on the left.
pub fn spark(ring: View, width: usize, max: Option<f32>) -> String {
    let n = ring.len();
    let skip = n.saturating_sub(width);
    let top = max.or_else(|| ring.max()).filter(|m| *m > 0.0);
    let mut out: String = " ".repeat(width.saturating_sub(n));
    for v in ring.iter().skip(skip) {
        out.push(match top {
            _ if v.is_nan() => ' ',
            None => BARS[0],
            Some(top) => {
                let i = ((v / top).clamp(0.0, 1.0) * (BARS.len() - 1) as f32).round() as usize;
                BARS[i]
            }
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Ring;

    #[test]
    fn scales_pads_and_leaves_gaps() {
        let mut r = Ring::new(10);
        for v in [Some(0.0), Some(50.0), None, Some(100.0)] {
            r.push(v);
        }
        assert_eq!(spark(r.view(), 6, Some(100.0)), "  ▁▅ █");
        assert_eq!(spark(r.view(), 2, Some(100.0)), " █");
        // Own maximum when none is given; an all-zero series stays flat.
        assert_eq!(spark(r.view(), 4, None), "▁▅ █");
        let mut z = Ring::new(3);
        z.push(Some(0.0));
        assert_eq!(spark(z.view(), 1, None), "▁");
    }
}
