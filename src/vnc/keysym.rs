//! Terminal keys to X11 keysyms, the key codes RFB KeyEvent messages carry.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

pub const SHIFT_L: u32 = 0xffe1;
pub const CONTROL_L: u32 = 0xffe3;
pub const ALT_L: u32 = 0xffe9;

/// The keysym of a key without modifiers, if it has one.
pub fn keysym(code: KeyCode) -> Option<u32> {
    Some(match code {
        KeyCode::Char(c) => char_keysym(c),
        KeyCode::Enter => 0xff0d,
        KeyCode::Backspace => 0xff08,
        KeyCode::Tab | KeyCode::BackTab => 0xff09,
        KeyCode::Esc => 0xff1b,
        KeyCode::Home => 0xff50,
        KeyCode::Left => 0xff51,
        KeyCode::Up => 0xff52,
        KeyCode::Right => 0xff53,
        KeyCode::Down => 0xff54,
        KeyCode::PageUp => 0xff55,
        KeyCode::PageDown => 0xff56,
        KeyCode::End => 0xff57,
        KeyCode::Insert => 0xff63,
        KeyCode::Delete => 0xffff,
        KeyCode::F(n @ 1..=12) => 0xffbe + u32::from(n) - 1,
        _ => return None,
    })
}

/// Latin-1 characters are their own keysym; other Unicode uses the 0x01000000 plane.
fn char_keysym(c: char) -> u32 {
    let cp = u32::from(c);
    if (0x20..=0x7e).contains(&cp) || (0xa0..=0xff).contains(&cp) {
        cp
    } else {
        0x0100_0000 + cp
    }
}

/// Characters typed with Shift on a US layout. QEMU turns keysyms into scancodes and does
/// not add Shift itself, so without it `!` would arrive as `1`.
fn needs_shift(c: char) -> bool {
    c.is_ascii_uppercase() || "~!@#$%^&*()_+{}|:\"<>?".contains(c)
}

/// Press/release sequence `(keysym, down)` for one terminal key event: modifiers pressed
/// first (Control, Alt, Shift), the key pressed and released, modifiers released in reverse.
/// Empty for key releases and keys without a keysym.
pub fn sequence(k: &KeyEvent) -> Vec<(u32, bool)> {
    if k.kind == KeyEventKind::Release {
        return Vec::new();
    }
    let Some(sym) = keysym(k.code) else {
        return Vec::new();
    };
    let shift = k.modifiers.contains(KeyModifiers::SHIFT)
        || k.code == KeyCode::BackTab
        || matches!(k.code, KeyCode::Char(c) if needs_shift(c));
    let mods: Vec<u32> = [
        (k.modifiers.contains(KeyModifiers::CONTROL), CONTROL_L),
        (k.modifiers.contains(KeyModifiers::ALT), ALT_L),
        (shift, SHIFT_L),
    ]
    .into_iter()
    .filter_map(|(on, sym)| on.then_some(sym))
    .collect();
    let mut out: Vec<(u32, bool)> = mods.iter().map(|&m| (m, true)).collect();
    out.push((sym, true));
    out.push((sym, false));
    out.extend(mods.iter().rev().map(|&m| (m, false)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, mods: KeyModifiers) -> Vec<(u32, bool)> {
        sequence(&KeyEvent::new(code, mods))
    }

    #[test]
    fn printable_chars_are_latin1_or_unicode_plane() {
        let none = KeyModifiers::NONE;
        assert_eq!(key(KeyCode::Char('a'), none), [(0x61, true), (0x61, false)]);
        assert_eq!(key(KeyCode::Char(' '), none), [(0x20, true), (0x20, false)]);
        assert_eq!(key(KeyCode::Char('é'), none), [(0xe9, true), (0xe9, false)]);
        assert_eq!(
            key(KeyCode::Char('€'), none),
            [(0x0100_20ac, true), (0x0100_20ac, false)]
        );
    }

    #[test]
    fn special_keys() {
        let cases = [
            (KeyCode::Enter, 0xff0d),
            (KeyCode::Backspace, 0xff08),
            (KeyCode::Tab, 0xff09),
            (KeyCode::Esc, 0xff1b),
            (KeyCode::Left, 0xff51),
            (KeyCode::Up, 0xff52),
            (KeyCode::Right, 0xff53),
            (KeyCode::Down, 0xff54),
            (KeyCode::Home, 0xff50),
            (KeyCode::End, 0xff57),
            (KeyCode::PageUp, 0xff55),
            (KeyCode::PageDown, 0xff56),
            (KeyCode::Insert, 0xff63),
            (KeyCode::Delete, 0xffff),
            (KeyCode::F(1), 0xffbe),
            (KeyCode::F(5), 0xffc2),
            (KeyCode::F(12), 0xffc9),
        ];
        for (code, sym) in cases {
            assert_eq!(
                key(code, KeyModifiers::NONE),
                [(sym, true), (sym, false)],
                "{code:?}"
            );
        }
        assert!(key(KeyCode::F(13), KeyModifiers::NONE).is_empty());
        assert!(key(KeyCode::Null, KeyModifiers::NONE).is_empty());
    }

    #[test]
    fn modifiers_wrap_the_key_in_order() {
        assert_eq!(
            key(KeyCode::Char('c'), KeyModifiers::CONTROL),
            [
                (CONTROL_L, true),
                (0x63, true),
                (0x63, false),
                (CONTROL_L, false)
            ]
        );
        assert_eq!(
            key(KeyCode::F(2), KeyModifiers::CONTROL | KeyModifiers::ALT),
            [
                (CONTROL_L, true),
                (ALT_L, true),
                (0xffbf, true),
                (0xffbf, false),
                (ALT_L, false),
                (CONTROL_L, false)
            ]
        );
        // Shift for uppercase and shifted symbols even when the terminal omits the modifier.
        for (c, mods) in [
            ('A', KeyModifiers::SHIFT),
            ('A', KeyModifiers::NONE),
            ('!', KeyModifiers::NONE),
        ] {
            let s = u32::from(c);
            assert_eq!(
                key(KeyCode::Char(c), mods),
                [(SHIFT_L, true), (s, true), (s, false), (SHIFT_L, false)],
                "{c}"
            );
        }
        assert_eq!(
            key(KeyCode::BackTab, KeyModifiers::SHIFT),
            [
                (SHIFT_L, true),
                (0xff09, true),
                (0xff09, false),
                (SHIFT_L, false)
            ]
        );
    }

    #[test]
    fn releases_are_ignored() {
        let mut k = KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE);
        k.kind = KeyEventKind::Release;
        assert!(sequence(&k).is_empty());
        k.kind = KeyEventKind::Repeat;
        assert_eq!(sequence(&k).len(), 2);
    }
}
