//! Key handling per mode. Keys resolve to actions through the keymap; only text entry in the
//! filter line reads raw characters.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{lifecycle, App, Effect, Mode};
use crate::config::keymap::{Action, Key, Section};
use crate::host::LifecycleOp;

pub fn handle(app: &mut App, ev: KeyEvent) -> Vec<Effect> {
    if ev.kind == KeyEventKind::Release {
        return Vec::new();
    }
    let key = Key::from_event(&ev);
    match app.mode.clone() {
        Mode::Normal => normal(app, app.keymap.action(Section::Normal, key)),
        Mode::Filter => filter(app, key, app.keymap.action(Section::Filter, key)),
        Mode::Confirm(c) => match app.keymap.action(Section::Confirm, key) {
            Some(Action::Confirm) => {
                app.mode = Mode::Normal;
                lifecycle::dispatch(app, c.op, &c.targets)
            }
            Some(Action::Cancel) | Some(Action::Back) => {
                app.mode = Mode::Normal;
                Vec::new()
            }
            Some(Action::Quit) => vec![Effect::Quit],
            _ => Vec::new(),
        },
        Mode::Help { scroll } => {
            scroll_mode(app, app.keymap.action(Section::Help, key), scroll, |s| {
                Mode::Help { scroll: s }
            })
        }
        // The log opens at its newest line, so `scroll` counts lines back in time: up is +1.
        Mode::Log { scroll } => {
            let action = match app.keymap.action(Section::Log, key) {
                Some(Action::Up) => Some(Action::Down),
                Some(Action::Down) => Some(Action::Up),
                a => a,
            };
            scroll_mode(app, action, scroll, |s| Mode::Log { scroll: s })
        }
    }
}

fn scroll_mode(
    app: &mut App,
    action: Option<Action>,
    scroll: usize,
    mode: impl Fn(usize) -> Mode,
) -> Vec<Effect> {
    match action {
        Some(Action::Back) | Some(Action::Cancel) => app.mode = Mode::Normal,
        Some(Action::Down) => app.mode = mode(scroll + 1),
        Some(Action::Up) => app.mode = mode(scroll.saturating_sub(1)),
        Some(Action::Quit) => return vec![Effect::Quit],
        _ => {}
    }
    Vec::new()
}

fn move_to(app: &mut App, target: isize) {
    app.cursor_moved = true;
    let last = app.rows.len().saturating_sub(1) as isize;
    app.selected = target.clamp(0, last.max(0)) as usize;
}

fn normal(app: &mut App, action: Option<Action>) -> Vec<Effect> {
    let Some(action) = action else {
        return Vec::new();
    };
    let page = app.table_page.get().max(1) as isize;
    let sel = app.selected as isize;
    match action {
        Action::Down => move_to(app, sel + 1),
        Action::Up => move_to(app, sel - 1),
        Action::PageDown => move_to(app, sel + page),
        Action::PageUp => move_to(app, sel - page),
        Action::Top => move_to(app, 0),
        Action::Bottom => move_to(app, isize::MAX / 2),
        Action::Filter => app.mode = Mode::Filter,
        Action::Help => app.mode = Mode::Help { scroll: 0 },
        Action::Log => app.mode = Mode::Log { scroll: 0 },
        Action::Quit => return vec![Effect::Quit],
        Action::Mark => {
            if let Some(r) = app.selected_row() {
                let (h, vm) = app.vm(r);
                let key = (h.id, vm.uuid.clone());
                if !app.marks.remove(&key) {
                    app.marks.insert(key);
                }
                move_to(app, sel + 1);
            }
        }
        Action::MarkAll => {
            let shown: Vec<_> = app
                .rows
                .iter()
                .map(|r| {
                    let (h, vm) = app.vm(*r);
                    (h.id, vm.uuid.clone())
                })
                .collect();
            if shown.iter().all(|k| app.marks.contains(k)) {
                for k in &shown {
                    app.marks.remove(k);
                }
            } else {
                app.marks.extend(shown);
            }
        }
        Action::ClearMarks => app.marks.clear(),
        Action::Back => {
            if !app.marks.is_empty() {
                app.marks.clear();
            } else if !app.filter_text.is_empty() {
                app.set_filter(String::new());
            }
        }
        Action::SortNext => {
            app.sort = app.sort.next();
            app.descending = false;
            app.rebuild();
        }
        Action::SortReverse => {
            app.descending = !app.descending;
            app.rebuild();
        }
        Action::Start => return lifecycle::request(app, LifecycleOp::Start),
        Action::Shutdown => return lifecycle::request(app, LifecycleOp::Shutdown),
        Action::Reboot => return lifecycle::request(app, LifecycleOp::Reboot),
        Action::Reset => return lifecycle::request(app, LifecycleOp::Reset),
        Action::ForceOff => return lifecycle::request(app, LifecycleOp::ForceOff),
        Action::Pause => return lifecycle::request(app, LifecycleOp::Pause),
        Action::Resume => return lifecycle::request(app, LifecycleOp::Resume),
        Action::ManagedSave => return lifecycle::request(app, LifecycleOp::ManagedSave),
        // The per-VM value is decided in `request` (each VM flips its own flag).
        Action::ToggleAutostart => return lifecycle::request(app, LifecycleOp::SetAutostart(true)),
        Action::Confirm | Action::Cancel | Action::Noop => {}
    }
    Vec::new()
}

fn filter(app: &mut App, key: Key, action: Option<Action>) -> Vec<Effect> {
    match action {
        Some(Action::Confirm) => app.mode = Mode::Normal,
        Some(Action::Cancel) | Some(Action::Back) => {
            app.mode = Mode::Normal;
            app.set_filter(String::new());
        }
        Some(Action::Down) => move_to(app, app.selected as isize + 1),
        Some(Action::Up) => move_to(app, app.selected as isize - 1),
        Some(Action::Quit) => return vec![Effect::Quit],
        _ => {
            let mut text = app.filter_text.clone();
            match key.code {
                KeyCode::Char('u') if key.mods.contains(KeyModifiers::CONTROL) => text.clear(),
                KeyCode::Char('w') if key.mods.contains(KeyModifiers::CONTROL) => {
                    let trimmed = text.trim_end().len();
                    text.truncate(text[..trimmed].rfind(' ').map_or(0, |i| i + 1));
                }
                KeyCode::Char(c) if !key.mods.contains(KeyModifiers::CONTROL) => text.push(c),
                KeyCode::Backspace => {
                    text.pop();
                }
                _ => return Vec::new(),
            }
            app.set_filter(text);
        }
    }
    Vec::new()
}
