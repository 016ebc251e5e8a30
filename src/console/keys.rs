//! Keystrokes to the bytes a serial terminal (xterm/vt220) sends, so the guest's shell, editor
//! and getty see what they would from `virsh console`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The bytes for `k`, or None for keys a terminal cannot send (media keys, bare modifiers).
/// `app_cursor` is the guest's DECCKM mode: arrows then send `ESC O A` instead of `ESC [ A`.
pub fn encode(k: &KeyEvent, app_cursor: bool) -> Option<Vec<u8>> {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    let alt = k.modifiers.contains(KeyModifiers::ALT);
    let mut out = match k.code {
        KeyCode::Char(c) if ctrl => vec![control(c)?],
        KeyCode::Char(c) => c.to_string().into_bytes(),
        KeyCode::Enter => vec![b'\r'],
        KeyCode::Tab => vec![b'\t'],
        KeyCode::BackTab => b"\x1b[Z".to_vec(),
        KeyCode::Backspace => vec![0x7f],
        KeyCode::Esc => vec![0x1b],
        KeyCode::Up => cursor(b'A', app_cursor),
        KeyCode::Down => cursor(b'B', app_cursor),
        KeyCode::Right => cursor(b'C', app_cursor),
        KeyCode::Left => cursor(b'D', app_cursor),
        KeyCode::Home => b"\x1b[H".to_vec(),
        KeyCode::End => b"\x1b[F".to_vec(),
        KeyCode::Insert => b"\x1b[2~".to_vec(),
        KeyCode::Delete => b"\x1b[3~".to_vec(),
        KeyCode::PageUp => b"\x1b[5~".to_vec(),
        KeyCode::PageDown => b"\x1b[6~".to_vec(),
        KeyCode::F(n) => function(n)?,
        _ => return None,
    };
    // Meta sends ESC first, as xterm's metaSendsEscape.
    if alt {
        out.insert(0, 0x1b);
    }
    Some(out)
}

fn cursor(c: u8, app: bool) -> Vec<u8> {
    vec![0x1b, if app { b'O' } else { b'[' }, c]
}

/// Ctrl+letter and the ASCII control punctuation (`C-@` … `C-_`, `C-?` = DEL).
fn control(c: char) -> Option<u8> {
    let c = c.to_ascii_lowercase();
    match c {
        'a'..='z' => Some(c as u8 - b'a' + 1),
        '@' | ' ' | '2' => Some(0),
        '[' | '3' => Some(0x1b),
        '\\' | '4' => Some(0x1c),
        ']' | '5' => Some(0x1d),
        '^' | '6' => Some(0x1e),
        '_' | '7' | '/' => Some(0x1f),
        '?' | '8' => Some(0x7f),
        _ => None,
    }
}

fn function(n: u8) -> Option<Vec<u8>> {
    let s: &[u8] = match n {
        1 => b"\x1bOP",
        2 => b"\x1bOQ",
        3 => b"\x1bOR",
        4 => b"\x1bOS",
        5 => b"\x1b[15~",
        6 => b"\x1b[17~",
        7 => b"\x1b[18~",
        8 => b"\x1b[19~",
        9 => b"\x1b[20~",
        10 => b"\x1b[21~",
        11 => b"\x1b[23~",
        12 => b"\x1b[24~",
        _ => return None,
    };
    Some(s.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode, m: KeyModifiers) -> Vec<u8> {
        encode(&KeyEvent::new(code, m), false).unwrap_or_default()
    }

    #[test]
    fn text_and_editing_keys() {
        assert_eq!(k(KeyCode::Char('a'), KeyModifiers::NONE), b"a");
        assert_eq!(k(KeyCode::Char('A'), KeyModifiers::SHIFT), b"A");
        assert_eq!(k(KeyCode::Char('ü'), KeyModifiers::NONE), "ü".as_bytes());
        assert_eq!(k(KeyCode::Enter, KeyModifiers::NONE), b"\r");
        assert_eq!(k(KeyCode::Backspace, KeyModifiers::NONE), b"\x7f");
        assert_eq!(k(KeyCode::Delete, KeyModifiers::NONE), b"\x1b[3~");
        assert_eq!(k(KeyCode::F(5), KeyModifiers::NONE), b"\x1b[15~");
        assert_eq!(k(KeyCode::F(1), KeyModifiers::NONE), b"\x1bOP");
    }

    #[test]
    fn control_and_meta() {
        assert_eq!(k(KeyCode::Char('c'), KeyModifiers::CONTROL), [3]);
        assert_eq!(k(KeyCode::Char('D'), KeyModifiers::CONTROL), [4]);
        // crossterm reports 0x1d (Ctrl+]) as Ctrl+5 on legacy terminals.
        assert_eq!(k(KeyCode::Char('5'), KeyModifiers::CONTROL), [0x1d]);
        assert_eq!(k(KeyCode::Char(']'), KeyModifiers::CONTROL), [0x1d]);
        assert_eq!(k(KeyCode::Char('x'), KeyModifiers::ALT), b"\x1bx");
        assert!(encode(
            &KeyEvent::new(KeyCode::Char('1'), KeyModifiers::CONTROL),
            false
        )
        .is_none());
    }

    #[test]
    fn arrows_follow_the_cursor_key_mode() {
        let up = KeyEvent::new(KeyCode::Up, KeyModifiers::NONE);
        assert_eq!(encode(&up, false).unwrap(), b"\x1b[A");
        assert_eq!(encode(&up, true).unwrap(), b"\x1bOA");
    }
}
