//! Number formatting in one tested place: IEC sizes, percentages, durations.

use std::time::Duration;

const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/// Bytes as an IEC size with at most one decimal: `512 MiB`, `1.5 GiB`, `64 GiB`.
pub fn bytes(n: u64) -> String {
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == UNITS.len() - 1 && value >= 15.95 {
        // "16 EiB" is 2^64, one more than a u64 holds: round down so the text reads back.
        return format!(
            "{:.1} {}",
            ((value * 10.0).floor() / 10.0).min(15.9),
            UNITS[unit]
        );
    }
    if (value - value.round()).abs() < 0.05 || value >= 100.0 {
        format!("{:.0} {}", value, UNITS[unit])
    } else {
        format!("{:.1} {}", value, UNITS[unit])
    }
}

/// KiB (libvirt's memory unit) as an IEC size.
pub fn kib(n: u64) -> String {
    bytes(n.saturating_mul(1024))
}

/// A byte rate in at most 5 cells for table columns: `0`, `512`, `1.2K`, `34K`, `1.2M`, `-`.
pub fn rate_short(bps: Option<f64>) -> String {
    let Some(mut v) = bps else {
        return "-".to_string();
    };
    // Bytes carry their `B` too: a bare `0` reads as a missing unit.
    const SHORT: [&str; 6] = ["B", "K", "M", "G", "T", "P"];
    let mut unit = 0;
    while v >= 999.5 && unit < SHORT.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0}B")
    } else if v < 9.95 {
        format!("{v:.1}{}", SHORT[unit])
    } else {
        format!("{v:.0}{}", SHORT[unit])
    }
}

/// A byte rate for labels: `1.2 MiB/s`.
pub fn rate(bps: f64) -> String {
    format!("{}/s", bytes(bps.max(0.0) as u64))
}

/// A percentage with one decimal under 10 and none above, `-` when unknown.
pub fn percent(p: Option<f64>) -> String {
    match p {
        None => "-".to_string(),
        Some(p) if p < 10.0 => format!("{p:.1}%"),
        Some(p) => format!("{p:.0}%"),
    }
}

/// A short human duration: `4s`, `3m12s`, `2h05m`, `3d04h`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// Truncates to `width` display cells, ending with `…` when cut. The text is sanitised first
/// (host text is the usual input), so the width counted is the width drawn.
pub fn truncate(s: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let s = crate::sanitize::text(s);
    let total: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= width {
        return s.into_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        used += w;
        out.push(c);
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// Like `truncate`, but the cut is in the middle: host names differ at their end
/// (`kvm-prod-01`, `kvm-prod-02`), so `kvm-…-01` and `kvm-…-02` stay apart where
/// `kvm-prod…` would show two hosts as one.
pub fn truncate_middle(s: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let s = crate::sanitize::text(s);
    let total: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= width || width < 5 {
        return truncate(&s, width);
    }
    let tail_w = (width - 1).min(8) / 2;
    let head_w = width - 1 - tail_w;
    let mut head = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > head_w {
            break;
        }
        used += w;
        head.push(c);
    }
    let mut tail: Vec<char> = Vec::new();
    let mut used = 0;
    for c in s.chars().rev() {
        let w = c.width().unwrap_or(0);
        if used + w > tail_w {
            break;
        }
        used += w;
        tail.push(c);
    }
    head.push('…');
    head.extend(tail.into_iter().rev());
    head
}

/// Pads with spaces to `width` display cells (`format!("{:<w$}")` counts chars, which
/// misaligns CJK and emoji).
pub fn pad(s: &str, width: usize) -> String {
    let w = unicode_width::UnicodeWidthStr::width(s);
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}

#[cfg(test)]
mod tests {

    #[test]
    fn middle_cut_keeps_the_end_that_tells_hosts_apart() {
        assert_eq!(truncate_middle("kvm-prod-01", 8), "kvm-…-01");
        assert_ne!(
            truncate_middle("kvm-prod-01", 8),
            truncate_middle("kvm-prod-02", 8)
        );
        assert_eq!(truncate_middle("short", 8), "short");
        assert_eq!(
            truncate_middle("kvm-production-east-17", 12),
            "kvm-pro…t-17"
        );
        assert_eq!(truncate_middle("abcdefgh", 4), "abc…");
    }
    use super::*;

    #[test]
    fn short_rates() {
        assert_eq!(rate_short(None), "-");
        assert_eq!(rate_short(Some(0.0)), "0B");
        assert_eq!(rate_short(Some(512.0)), "512B");
        assert_eq!(rate_short(Some(999.0)), "999B");
        assert_eq!(rate_short(Some(1000.0)), "1.0K");
        assert_eq!(rate_short(Some(1536.0)), "1.5K");
        assert_eq!(rate_short(Some(34.0 * 1024.0)), "34K");
        assert_eq!(rate_short(Some(1.25 * 1024.0 * 1024.0)), "1.2M");
        assert_eq!(rate(1536.0), "1.5 KiB/s");
    }

    #[test]
    fn sizes_use_iec_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1 KiB");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(512 * 1024 * 1024), "512 MiB");
        assert_eq!(kib(65_536 * 1024), "64 GiB");
        assert_eq!(kib(1_572_864), "1.5 GiB");
        assert_eq!(bytes(u64::MAX), "15.9 EiB");
    }

    #[test]
    fn percent_and_duration() {
        assert_eq!(percent(None), "-");
        assert_eq!(percent(Some(3.24159)), "3.2%");
        assert_eq!(percent(Some(57.6)), "58%");
        assert_eq!(duration(Duration::from_secs(4)), "4s");
        assert_eq!(duration(Duration::from_secs(192)), "3m12s");
        assert_eq!(duration(Duration::from_secs(7500)), "2h05m");
        assert_eq!(
            duration(Duration::from_secs(3 * 86_400 + 4 * 3600)),
            "3d04h"
        );
    }

    #[test]
    fn truncate_counts_cells() {
        assert_eq!(truncate("web-01", 10), "web-01");
        assert_eq!(truncate("database-primary", 8), "databas…");
        assert_eq!(truncate("日本語のVM", 5), "日本…");
        assert_eq!(truncate("abc", 0), "");
        assert_eq!(pad("日本", 6), "日本  ");
        assert_eq!(pad("toolong", 3), "toolong");
        assert_eq!(truncate("a\nb", 4), "a\\nb");
        assert_eq!(truncate("a\u{202e}bcdefghij", 6), "a\\u{2…");
    }
}
