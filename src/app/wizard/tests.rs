//! The generic wizard's own behaviour, and helpers the specific wizards' tests share (typing,
//! focus, probes answered here). The wizards themselves are tested next to their owners:
//! `app/storage/wizard_tests.rs`, `app/networks/wizard_tests.rs`, `app/newvm/tests.rs`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;

pub(crate) fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

pub(crate) fn typ(w: &mut Wizard, ctx: &Context, s: &str) {
    for ch in s.chars() {
        w.input(key(KeyCode::Char(ch)));
    }
    refresh(w, ctx);
}

pub(crate) fn focus(w: &mut Wizard, k: &str) {
    w.focus = w.fields.iter().position(|f| f.key == k).expect("field");
}

/// Types `s` one character at a time, re-checking after each, as the app does.
pub(crate) fn type_slowly(w: &mut Wizard, ctx: &Context, s: &str) {
    for ch in s.chars() {
        w.input(key(KeyCode::Char(ch)));
        refresh(w, ctx);
    }
}

pub(crate) fn clear(w: &mut Wizard, ctx: &Context, k: &str) {
    focus(w, k);
    for _ in 0..w.get(k).chars().count() {
        w.input(key(KeyCode::Backspace));
        refresh(w, ctx);
    }
}

/// Answers the wizard's file-system probes (the runtime's part) and re-checks the form.
pub(crate) fn deliver(w: &mut Wizard, ctx: &Context) {
    w.checks.run_here();
    refresh(w, ctx);
}

pub(crate) fn error(w: &Wizard, k: &str) -> Option<String> {
    w.field(k).and_then(|f| f.error.clone())
}

#[test]
fn field_moving_keys_never_type_into_a_text_field() {
    use crate::app::add_host::edit_line;
    let mut t = ratatui_textarea::TextArea::default();
    for (code, mods) in [
        (KeyCode::BackTab, KeyModifiers::SHIFT),
        (KeyCode::BackTab, KeyModifiers::NONE),
        (KeyCode::Tab, KeyModifiers::SHIFT),
        (KeyCode::Tab, KeyModifiers::NONE),
        (KeyCode::Enter, KeyModifiers::SHIFT),
    ] {
        assert!(!edit_line(&mut t, KeyEvent::new(code, mods)), "{code:?}");
    }
    assert!(edit_line(&mut t, key(KeyCode::Char('a'))));
    assert_eq!(t.lines(), ["a"]);
}
