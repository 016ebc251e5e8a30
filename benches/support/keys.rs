//! Filter keystrokes and their key → frame times (the speed and rpc benches).

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use virtdeck::app::{App, Effect, Msg};
use virtdeck::ui;

use super::report::ms;

pub fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

/// Filter edits: words typed and deleted again, in several ways.
pub fn keystrokes(n: usize) -> Vec<KeyEvent> {
    const WORDS: &[&str] = &[
        "web-1",
        "web",
        "e",
        "b",
        "-",
        "1",
        "state:run",
        "host:fle",
        "state:run web-1",
        "db-00",
        "k8s-worker",
        "host:fleet state:paused app",
        "win2022-0",
        "café",
        "zzz",
        "host:nomatch",
        "state:off",
        "cache-4",
    ];
    let mut out = Vec::with_capacity(n + 64);
    let mut i = 0usize;
    while out.len() < n {
        let w = WORDS[i % WORDS.len()];
        out.extend(w.chars().map(|c| key(KeyCode::Char(c))));
        match i % 5 {
            // Clear the line in one go.
            3 => out.push(ctrl('u')),
            // Delete word by word, then what is left.
            4 => {
                for _ in 0..w.split_whitespace().count() {
                    out.push(ctrl('w'));
                }
                out.push(ctrl('u'));
            }
            _ => out.extend(w.chars().map(|_| key(KeyCode::Backspace))),
        }
        i += 1;
    }
    out.truncate(n);
    out
}

pub struct KeyTimes {
    pub total: Vec<f64>,
    pub update: Vec<f64>,
    pub draw: Vec<f64>,
    /// (total ms, filter text after the key, rows shown)
    pub worst: Vec<(f64, String, usize)>,
}

/// Opens the filter (`/`), then times each key from `update` to the drawn frame at `w`×`h`;
/// `apply` carries out the effects (after the frame, as `runtime::run` does).
pub fn time_keys(
    app: &mut App,
    apply: &mut dyn FnMut(Vec<Effect>),
    w: u16,
    h: u16,
    keys: &[KeyEvent],
) -> Result<KeyTimes, Box<dyn std::error::Error>> {
    let mut term = Terminal::new(TestBackend::new(w, h))?;
    term.draw(|f| ui::render(app, f))?;
    apply(app.update(Msg::Key(key(KeyCode::Char('/')))));
    term.draw(|f| ui::render(app, f))?;
    let mut t = KeyTimes {
        total: Vec::with_capacity(keys.len()),
        update: Vec::with_capacity(keys.len()),
        draw: Vec::with_capacity(keys.len()),
        worst: Vec::new(),
    };
    for k in keys {
        let t0 = Instant::now();
        let fx = app.update(Msg::Key(*k));
        let t1 = Instant::now();
        term.draw(|f| ui::render(app, f))?;
        let t2 = Instant::now();
        apply(fx);
        let total = ms(t2 - t0);
        t.total.push(total);
        t.update.push(ms(t1 - t0));
        t.draw.push(ms(t2 - t1));
        t.worst
            .push((total, app.vms.filter_text.clone(), app.vms.rows.len()));
    }
    // Leave the filter empty and the mode normal for the next run.
    apply(app.update(Msg::Key(key(KeyCode::Esc))));
    t.worst.sort_by(|a, b| b.0.total_cmp(&a.0));
    t.worst.truncate(5);
    Ok(t)
}
