//! The one sanitiser for text a host or a guest supplied (names, titles, paths, errors, agent
//! data). Control characters move the terminal's cursor or start escape sequences; format
//! characters (bidi overrides and isolates, zero-width spaces and joiners, BOM, tags) and the
//! line/paragraph separators reorder or hide text, or make the terminal and ratatui disagree on
//! widths, which shifts rows and leaves stray cells behind. Each such character is shown as an
//! escape the user can type back (`\n`, `\t`, `\u{202e}`), so a typed confirmation can match
//! what is drawn. Everything else (CJK, emoji, accents) passes through unchanged.

use std::borrow::Cow;
use std::fmt::Write;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_width::UnicodeWidthStr;

/// Whether `c` must not reach the terminal as it is: C0 and C1 controls and DEL (Cc), format
/// characters (Cf), line and paragraph separators (Zl, Zp).
pub fn is_unsafe(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_control();
    }
    // Every Cc, Cf, Zl and Zp code point lies in these ranges (checked by a test over all
    // of Unicode), so accented Latin, Greek, Cyrillic, box drawing and CJK skip the table
    // lookup: the buffer guard asks this for every non-ASCII cell of every frame.
    if !matches!(
        c as u32,
        0x80..=0xad | 0x600..=0x8e2 | 0x180e | 0x200b..=0x206f | 0xfeff | 0xfff9..=0xfffb | 0x110bd..
    ) {
        return false;
    }
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

fn escape(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        // Writing into a String cannot fail.
        _ => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// A single-line string safe to draw: every unsafe character as an escape. Borrows when
/// there is nothing to replace (the usual case), so it is cheap on every frame.
pub fn text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A multi-line document (the XML tab): keeps its newlines and shows tabs as spaces, escapes
/// every other unsafe character like [`text`].
pub fn document(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push_str("    "),
            c if is_unsafe(c) => escape(&mut out, c),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The cells `s` takes once sanitised, as drawn.
pub fn width(s: &str) -> usize {
    text(s).width()
}

/// Whether `typed` names `raw` in a typed confirmation: its shown form (what the user reads
/// and can type, escapes included) or the raw name itself.
pub fn typed_matches(raw: &str, typed: &str) -> bool {
    typed == raw || typed == text(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dangerous_class_is_escaped() {
        let cases = [
            // C0 controls, DEL, C1 controls.
            ("a\nb", "a\\nb"),
            ("a\tb\rc", "a\\tb\\rc"),
            ("\u{1b}[2J", "\\u{1b}[2J"),
            ("\u{0}\u{7}\u{8}", "\\u{0}\\u{7}\\u{8}"),
            ("x\u{7f}", "x\\u{7f}"),
            (
                "\u{80}\u{85}\u{9b}31m\u{9f}",
                "\\u{80}\\u{85}\\u{9b}31m\\u{9f}",
            ),
            // Line and paragraph separators.
            ("a\u{2028}b\u{2029}c", "a\\u{2028}b\\u{2029}c"),
            // Bidi embeddings, overrides, isolates and marks.
            (
                "\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}",
                "\\u{202a}\\u{202b}\\u{202c}\\u{202d}\\u{202e}",
            ),
            (
                "\u{2066}\u{2067}\u{2068}\u{2069}",
                "\\u{2066}\\u{2067}\\u{2068}\\u{2069}",
            ),
            ("\u{200e}\u{200f}\u{61c}", "\\u{200e}\\u{200f}\\u{61c}"),
            // Zero-width characters and the BOM.
            (
                "a\u{200b}\u{200c}\u{200d}\u{2060}\u{feff}",
                "a\\u{200b}\\u{200c}\\u{200d}\\u{2060}\\u{feff}",
            ),
            // Other format characters: soft hyphen, interlinear annotation, tags.
            ("\u{ad}\u{fff9}\u{e0041}", "\\u{ad}\\u{fff9}\\u{e0041}"),
        ];
        for (raw, shown) in cases {
            assert_eq!(text(raw), shown, "{raw:?}");
            assert!(!text(raw).chars().any(is_unsafe), "{raw:?}");
            // Escapes are plain ASCII: one cell each.
            assert_eq!(width(raw), shown.len(), "{raw:?}");
        }
    }

    #[test]
    fn the_quick_range_check_misses_no_unsafe_character() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let unsafe_category = matches!(
                c.general_category(),
                GeneralCategory::Control
                    | GeneralCategory::Format
                    | GeneralCategory::LineSeparator
                    | GeneralCategory::ParagraphSeparator
            );
            assert_eq!(is_unsafe(c), unsafe_category, "{c:?}");
        }
    }

    #[test]
    fn ordinary_text_passes_through_borrowed() {
        for s in [
            "web-01",
            "<&'\"> quotes",
            "日本語のVM",
            "데이터베이스",
            "🚀 rocket 🦀",
            "café naïve",
            "a\\nb (a typed backslash)",
            "",
        ] {
            assert!(matches!(text(s), Cow::Borrowed(_)), "{s:?}");
            assert!(matches!(document(s), Cow::Borrowed(_)), "{s:?}");
        }
        assert_eq!(width("日本語のVM"), 10);
        assert_eq!(width("🚀x"), 3);
        assert_eq!(width("a\u{202e}b"), 10);
    }

    #[test]
    fn sanitising_twice_changes_nothing() {
        let once = text("nl-a\n[[hosts]]\nb\u{202e}");
        assert_eq!(once, "nl-a\\n[[hosts]]\\nb\\u{202e}");
        assert_eq!(text(&once), once);
    }

    #[test]
    fn a_typed_name_matches_its_shown_or_raw_form() {
        let raw = "nl-a\n[[hosts]]\nb";
        assert!(typed_matches(raw, "nl-a\\n[[hosts]]\\nb"));
        assert!(typed_matches(raw, raw));
        assert!(!typed_matches(raw, "nl-a[[hosts]]b"));
        assert!(typed_matches("web-01", "web-01"));
        assert!(!typed_matches("web-01", "web-0"));
    }

    #[test]
    fn documents_keep_newlines_and_escape_the_rest() {
        assert_eq!(
            document("<a>\n\t<b>x\u{202e}y</b>\r\n</a>"),
            "<a>\n    <b>x\\u{202e}y</b>\\r\n</a>"
        );
    }
}
