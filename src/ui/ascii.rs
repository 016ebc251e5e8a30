//! Any terminal (`--ascii`, `ascii = true`, or `TERM=linux`): the Linux console's font has
//! ASCII, Latin-1, the light and double box-drawing lines and a few blocks (`░▒▓█▄▀▌▐`), but
//! no braille, eighth blocks, arrows or symbols. Every frame's cells pass through here last
//! and each glyph outside that set that virtdeck draws becomes one that is inside it, of the
//! same width, so layouts do not move. Text a host reports (a CJK VM name) is left alone: the
//! console shows what it can of it, as any program's would.

use ratatui::buffer::Buffer;

/// The console stand-in for `c`, if it needs one.
pub fn map(c: char) -> Option<char> {
    Some(match c {
        // Sparklines: eight levels down to the three the console has.
        '▁' | '▂' => '_',
        '▃' | '▅' => '▄',
        '▆' | '▇' => '█',
        // Heavy and rounded lines as light ones.
        '━' => '─',
        '┃' => '│',
        '┏' | '╭' => '┌',
        '┓' | '╮' => '┐',
        '┗' | '╰' => '└',
        '┛' | '╯' => '┘',
        // States, marks and markers.
        '▶' | '▸' | '›' | '→' | '►' => '>',
        '◀' | '‹' | '←' | '◄' => '<',
        '▲' | '↑' => '^',
        '▼' | '▾' | '↓' => 'v',
        '↔' => '-',
        '‖' | '⏸' => '=',
        '■' | '▣' => '#',
        '●' | '•' | '✓' | '✔' => '*',
        '○' | '◌' => 'o',
        '✖' | '✗' => 'x',
        '⚠' => '!',
        '☾' => 'z',
        '⟳' => '@',
        'ⓘ' => 'i',
        '⌨' => 'k',
        '…' | '⋯' => '.',
        '—' | '–' => '-',
        '“' | '”' => '"',
        '≤' => '<',
        '≥' => '>',
        '⍰' => '?',
        // Braille chart dots by how many are set.
        '\u{2800}'..='\u{28ff}' => match (c as u32 - 0x2800).count_ones() {
            0 => ' ',
            1 | 2 => '.',
            3..=5 => ':',
            _ => '#',
        },
        _ => return None,
    })
}

/// Replaces every cell's glyph that the console cannot draw.
pub fn downgrade(buf: &mut Buffer) {
    let mut tmp = [0u8; 4];
    for cell in &mut buf.content {
        let s = cell.symbol();
        if s.is_ascii() {
            continue;
        }
        let mut chars = s.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            if let Some(r) = map(c) {
                cell.set_symbol(r.encode_utf8(&mut tmp));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_glyph_virtdeck_draws_has_a_console_stand_in_of_the_same_width() {
        use unicode_width::UnicodeWidthChar;
        for c in "▁▂▃▄▅▆▇█━┃╭╮╰╯▶▸›→◀‹←▲↑▼▾↓↔‖⏸■▣●•✓✔○◌✖✗⚠☾⟳ⓘ⌨…⋯—–“”≤≥⍰⣿⠁⡇".chars()
        {
            let r = map(c).unwrap_or(c);
            assert_eq!(r.width(), Some(1), "{c} → {r}");
            assert!(
                r.is_ascii() || "─│┌┐└┘░▒▓█▄▀▌▐".contains(r),
                "{c} → {r} is not in the console font"
            );
        }
        // What the console has stays.
        for c in "─│┌┐└┘█▄é·×東".chars() {
            assert_eq!(map(c), None, "{c}");
        }
    }
}
