//! Key handling per mode. Keys resolve to actions through the keymap; only text entry in the
//! filter line reads raw characters.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::add_host::{validate_uri, TestState};
use super::toast::Level;
use super::{lifecycle, App, ConfirmAction, Effect, HostSpec, Mode, View};
use crate::config::keymap::{Action, Key, Section};

pub fn handle(app: &mut App, ev: KeyEvent) -> Vec<Effect> {
    if ev.kind == KeyEventKind::Release {
        return Vec::new();
    }
    let key = Key::from_event(&ev);
    match app.mode.clone() {
        Mode::Normal if refused(app, key) => Vec::new(),
        Mode::Normal => match app.view {
            View::Detail { host, ref uuid } if app.detail.editing(host, uuid) => {
                let confirm = app.keymap.action(Section::Confirm, key);
                super::detail::editor_key(
                    app,
                    ev,
                    app.keymap.action(Section::XmlEdit, key),
                    confirm,
                )
            }
            // Unbound keys go to the guest: these panes read the raw event.
            View::Console(_) => super::console::key(app, ev),
            View::Preview(_) => super::preview::key(app, ev),
            _ => {
                let spec = super::panes::spec(app.view.pane());
                match app.keymap.action(spec.section, key) {
                    // `q` on a screen of one thing (a VM, a pool's volumes) goes back to its list.
                    Some(Action::Quit)
                        if key == Key::new(KeyCode::Char('q'), KeyModifiers::NONE)
                            && matches!(
                                app.view,
                                View::Detail { .. } | View::Volumes { .. } | View::Secrets { .. }
                            ) =>
                    {
                        spec.pane.on_action(app, Action::Back)
                    }
                    Some(a) => common(app, a).unwrap_or_else(|| spec.pane.on_action(app, a)),
                    // A key no binding takes may be a plugin's; else it is said to do nothing.
                    None => super::plugins::key(app, key).unwrap_or_else(|| {
                        unbound(app, key);
                        Vec::new()
                    }),
                }
            }
        },
        Mode::Palette(_) => super::palette::key(app, ev),
        Mode::Wizard(_) => wizard_key(app, ev, app.keymap.action(Section::Wizard, key)),
        Mode::Confirm(c) if c.typed.is_some() => typed_confirm(app, ev),
        Mode::Display(_) => super::display::key(app, app.keymap.action(Section::Display, key)),
        Mode::Filter => filter(app, key, app.keymap.action(Section::Filter, key)),
        Mode::AddHost(_) => form(app, ev, app.keymap.action(Section::Form, key)),
        Mode::Confirm(c) => match app.keymap.action(Section::Confirm, key) {
            Some(Action::Confirm) => {
                app.pop_overlay();
                match c.action {
                    ConfirmAction::Lifecycle { op, targets } => {
                        lifecycle::dispatch(app, op, &targets)
                    }
                    ConfirmAction::RemoveHost(id) => app.remove_host(id),
                    ConfirmAction::CancelJob(id) => {
                        super::jobs::cancel_confirmed(app, id);
                        Vec::new()
                    }
                    ConfirmAction::Send { host, cmd, .. } => vec![Effect::Host(host, *cmd)],
                    ConfirmAction::Migration { host, cmd } => {
                        vec![Effect::Host(host, crate::host::HostCommand::Migrate(*cmd))]
                    }
                    ConfirmAction::Plugin(run) => super::plugins::launch(app, *run),
                    ConfirmAction::Quit => vec![Effect::Quit],
                }
            }
            Some(Action::Cancel) | Some(Action::Back) => {
                if let ConfirmAction::Send { id, .. } = c.action {
                    app.requests.forget(id);
                }
                app.pop_overlay();
                Vec::new()
            }
            Some(Action::Quit) => vec![Effect::Quit],
            _ => Vec::new(),
        },
        // Typing the help's search: every key is text but Enter (keep) and Esc (clear).
        Mode::Help { .. } if app.help_search.1 => {
            let search = &mut app.help_search;
            match ev.code {
                KeyCode::Enter => search.1 = false,
                KeyCode::Esc => *search = (String::new(), false),
                KeyCode::Backspace => {
                    search.0.pop();
                }
                KeyCode::Char('c') if ev.modifiers.contains(KeyModifiers::CONTROL) => {
                    return vec![Effect::Quit]
                }
                KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => {
                    search.0.push(c)
                }
                _ => {}
            }
            app.mode = Mode::Help { scroll: 0 };
            Vec::new()
        }
        Mode::Help { scroll } => match app.keymap.action(Section::Help, key) {
            Some(Action::Filter) => {
                app.help_search = (String::new(), true);
                Vec::new()
            }
            action => {
                // Closing the help forgets its search.
                if matches!(action, Some(Action::Back | Action::Cancel)) {
                    app.help_search = (String::new(), false);
                }
                scroll_mode(app, action, scroll, |s| Mode::Help { scroll: s })
            }
        },
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

/// `--readonly`: a key of the focused pane that would change a host is refused here, with
/// the reason, before the pane sees it (the table is `actions::CHANGES`).
fn refused(app: &mut App, key: Key) -> bool {
    // Their keys go to the guest; nothing there is in the table.
    if matches!(app.view, View::Console(_) | View::Preview(_)) {
        return false;
    }
    let section = super::panes::focused_section(app);
    let action = app.keymap.action(section, key);
    super::actions::refused(app, section, action)
}

fn scroll_mode(
    app: &mut App,
    action: Option<Action>,
    scroll: usize,
    mode: impl Fn(usize) -> Mode,
) -> Vec<Effect> {
    match action {
        Some(Action::Back) | Some(Action::Cancel) => app.pop_overlay(),
        Some(Action::Down) => app.mode = mode(scroll + 1),
        Some(Action::Up) => app.mode = mode(scroll.saturating_sub(1)),
        Some(Action::Quit) => return vec![Effect::Quit],
        _ => {}
    }
    Vec::new()
}

pub(super) fn move_to(app: &mut App, target: isize) {
    app.vms.cursor_moved = true;
    let last = app.vms.cursor_len().saturating_sub(1) as isize;
    app.vms.selected = target.clamp(0, last.max(0)) as usize;
}

fn form(app: &mut App, ev: KeyEvent, action: Option<Action>) -> Vec<Effect> {
    let Mode::AddHost(f) = &mut app.mode else {
        return Vec::new();
    };
    match action {
        Some(Action::Cancel) | Some(Action::Back) => app.pop_overlay(),
        Some(Action::Quit) => return vec![Effect::Quit],
        Some(Action::NextField) => f.next_field(),
        Some(Action::TestConnection) => {
            let uri = f.uri_text();
            if let Err(e) = validate_uri(&uri) {
                f.error = Some(e);
                return Vec::new();
            }
            f.error = None;
            f.test = TestState::Running {
                uri: uri.clone(),
                since: app.now,
            };
            return vec![Effect::TestConnection { uri }];
        }
        Some(Action::Confirm) => return save_form(app),
        _ => {
            super::add_host::edit_line(f.focused(), ev);
            // Editing invalidates an earlier save error; a test result stays until the URI
            // differs from the one tested (the view greys it out).
            f.error = None;
        }
    }
    Vec::new()
}

fn save_form(app: &mut App) -> Vec<Effect> {
    let Mode::AddHost(f) = &mut app.mode else {
        return Vec::new();
    };
    let uri = f.uri_text();
    if let Err(e) = validate_uri(&uri) {
        f.error = Some(e);
        return Vec::new();
    }
    if let Some(h) = app.hosts.iter().find(|h| h.uri == uri) {
        f.error = Some(format!("{uri} is already in the list as {}", h.name));
        return Vec::new();
    }
    let mut name = f.effective_name();
    if app.hosts.iter().any(|h| h.name == name) {
        let base = name.clone();
        let mut n = 2;
        while app.hosts.iter().any(|h| h.name == name) {
            name = format!("{base}-{n}");
            n += 1;
        }
    }
    let failed = match &f.test {
        TestState::Failed { error, .. } => Some(error.clone()),
        _ => None,
    };
    app.pop_overlay();
    let fx = app.add_host(HostSpec { name, uri }, true);
    if let Some(error) = failed {
        app.messages.push(
            Level::Info,
            format!("added although the connection test failed ({error}); virtdeck keeps retrying"),
            app.now,
        );
    }
    fx
}

/// The filter line of the pane under it: the VM table's own, or a list pane's `/TEXT` scope.
fn filter(app: &mut App, key: Key, action: Option<Action>) -> Vec<Effect> {
    let pane = app.view.pane();
    let vms = pane == super::panes::PaneId::Vms;
    match action {
        Some(Action::Confirm) => app.pop_overlay(),
        Some(Action::Cancel) | Some(Action::Back) => {
            app.pop_overlay();
            set_pane_filter(app, String::new());
        }
        Some(Action::Down) if vms => move_to(app, app.vms.selected as isize + 1),
        Some(Action::Up) if vms => move_to(app, app.vms.selected as isize - 1),
        Some(a @ (Action::Down | Action::Up)) => {
            return super::panes::spec(pane).pane.on_action(app, a);
        }
        Some(Action::Quit) => return vec![Effect::Quit],
        _ => {
            let mut text = pane_filter_text(app);
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
            set_pane_filter(app, text);
        }
    }
    Vec::new()
}

/// The focused pane's filter text.
fn pane_filter_text(app: &App) -> String {
    super::panes::filter_state(app).0
}

fn set_pane_filter(app: &mut App, text: String) {
    match app.view.pane() {
        super::panes::PaneId::Vms => app.set_filter(text),
        p => app.scopes.set_text(p, text),
    }
}

/// Keys every pane shares: switching views, help, log, quit.
pub(super) fn common(app: &mut App, action: Action) -> Option<Vec<Effect>> {
    // A pane's own key (`1`…`6`), from the registry.
    if let Some(place) = super::panes::place_for_key(action) {
        return Some(super::panes::open(app, place));
    }
    match action {
        // `/` on a list pane: its filter line (the VM table has its own, with facets).
        Action::Filter
            if app.view.pane() != super::panes::PaneId::Vms
                && matches!(app.view, View::Pane(_) | View::Volumes { .. })
                && super::panes::spec(app.view.pane()).scoped =>
        {
            app.push_overlay(Mode::Filter)
        }
        Action::Palette => super::palette::open(app),
        Action::PrevPane => return Some(super::panes::back(app)),
        Action::Help => app.push_overlay(Mode::Help { scroll: 0 }),
        Action::Log => app.push_overlay(Mode::Log { scroll: 0 }),
        Action::Quit => return Some(quit(app)),
        _ => return None,
    }
    Some(Vec::new())
}

/// Quits, or asks first while transfers, clones, backups or migrations of virtdeck's run:
/// they stop with it.
fn quit(app: &mut App) -> Vec<Effect> {
    let running = super::jobs::rows(app)
        .iter()
        .filter(|r| r.running())
        .count();
    if running == 0 {
        return vec![Effect::Quit];
    }
    app.push_overlay(Mode::Confirm(super::Confirm {
        command: None,
        title: format!(
            "Quit with {running} job{} running?",
            if running == 1 { "" } else { "s" }
        ),
        body: vec![
            "Transfers, clones, backups and migrations started here stop or fail when virtdeck exits. `6` lists them."
                .into(),
        ],
        typed: None,
        action: ConfirmAction::Quit,
    }));
    Vec::new()
}

/// A printable key that means nothing on this pane: said, so it is not taken for done.
fn unbound(app: &mut App, key: Key) {
    if let KeyCode::Char(c) = key.code {
        if !key.mods.contains(KeyModifiers::CONTROL) && !key.mods.contains(KeyModifiers::ALT) {
            let help = app
                .keymap
                .key_for(super::panes::focused_section(app), Action::Help)
                .unwrap_or("?");
            app.messages.push(
                Level::Info,
                format!("{c}: no action on this screen ({help} lists its keys)"),
                app.now,
            );
        }
    }
}

/// A confirmation that wants the object's name typed: every key is text except Enter/Esc.
fn typed_confirm(app: &mut App, ev: KeyEvent) -> Vec<Effect> {
    let Mode::Confirm(c) = &mut app.mode else {
        return Vec::new();
    };
    let Some((expected, typed)) = &mut c.typed else {
        return Vec::new();
    };
    match ev.code {
        KeyCode::Esc => {
            if let ConfirmAction::Send { id, .. } = c.action {
                app.requests.forget(id);
            }
            app.pop_overlay();
        }
        KeyCode::Enter
            if crate::sanitize::typed_matches(expected, typed)
                || (matches!(c.action, ConfirmAction::Lifecycle { .. })
                    && typed.trim().eq_ignore_ascii_case("yes")) =>
        {
            let Mode::Confirm(c) = app.take_overlay() else {
                return Vec::new();
            };
            match c.action {
                ConfirmAction::Send { host, cmd, .. } => return vec![Effect::Host(host, *cmd)],
                ConfirmAction::Lifecycle { op, targets } => {
                    return lifecycle::dispatch(app, op, &targets)
                }
                _ => {}
            }
        }
        KeyCode::Backspace => {
            typed.pop();
        }
        KeyCode::Char(ch) if !ev.modifiers.contains(KeyModifiers::CONTROL) => typed.push(ch),
        KeyCode::Char('c') => return vec![Effect::Quit],
        _ => {}
    }
    Vec::new()
}

/// Keys in a wizard: paging and field focus come from the keymap, the rest edits the field.
fn wizard_key(app: &mut App, ev: KeyEvent, action: Option<Action>) -> Vec<Effect> {
    use super::wizard::Submit;
    let Mode::Wizard(w) = &mut app.mode else {
        return Vec::new();
    };
    let waiting = w.submit != Submit::Editing;
    match action {
        Some(Action::Quit) => return vec![Effect::Quit],
        Some(Action::Cancel) => {
            // A running job (new VM) is cancelled, not abandoned: the form stays for its
            // answer, which says what was rolled back.
            if let (true, Some((job, _))) = (waiting, &w.job) {
                if job.state() == crate::job::JobState::Running {
                    job.cancel();
                    w.note = Some("cancelling: the job stops after the current step…".into());
                    return Vec::new();
                }
            }
            if waiting || !w.prev_page() {
                // A submitted form keeps going on the host; its answer still arrives as a message.
                app.pop_overlay();
            }
            return Vec::new();
        }
        _ if waiting => return Vec::new(),
        Some(Action::NextField) if w.is_review() && !w.review_has_fields() => w.review_scroll += 1,
        Some(Action::PrevField) if w.is_review() && !w.review_has_fields() => {
            w.review_scroll = w.review_scroll.saturating_sub(1)
        }
        Some(Action::NextField) => w.next_field(true),
        Some(Action::PrevField) => w.next_field(false),
        Some(Action::FindSources) => {
            let spec = w.spec.clone();
            return spec.on_action(Action::FindSources, app);
        }
        Some(Action::Confirm) => {
            let last = w.page + 1 == w.pages.len();
            if last {
                if w.page_errors().is_empty() && !matches!(w.review, Some(Err(_))) {
                    return super::wizard::submit(app);
                }
                w.next_page();
            } else if w.next_page() && w.page + 1 == w.pages.len() {
                let spec = w.spec.clone();
                return spec.on_last_page(app);
            }
        }
        _ => {
            if w.input(ev) {
                let (host, spec) = (w.host, w.spec.clone());
                let ctx = super::wizard::context(app, host, spec.as_ref());
                if let Mode::Wizard(w) = &mut app.mode {
                    super::wizard::refresh(w, &ctx);
                }
            }
        }
    }
    Vec::new()
}
