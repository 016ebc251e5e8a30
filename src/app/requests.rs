//! Storage and network actions carry a tag; the host answers `Done { tag, result }`. This
//! remembers who asked: an open wizard (which keeps the form on failure) or a pane action
//! (a toast). The pieces every resource pane shares (read-only refusal, confirmation, cursor
//! moves, which hosts to ask) live here too.

use std::collections::HashMap;

use super::toast::Level;
use super::wizard::Submit;
use super::{App, Confirm, ConfirmAction, Effect, Mode};
use crate::config::keymap::Action;
use crate::host::HostCommand;
use crate::model::HostId;

#[derive(Clone, Debug, PartialEq)]
pub enum Owner {
    Wizard,
    /// A pane action: its description for the messages.
    Action(String),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Requests {
    next: u64,
    owners: HashMap<u64, (HostId, Owner)>,
}

impl Requests {
    pub fn tag(&mut self, host: HostId, owner: Owner) -> u64 {
        self.next += 1;
        self.owners.insert(self.next, (host, owner));
        self.next
    }

    pub fn forget(&mut self, tag: u64) {
        self.owners.remove(&tag);
    }
}

/// Sends a pane action: `make` builds the command around its tag.
pub fn send(
    app: &mut App,
    host: HostId,
    what: String,
    make: impl FnOnce(u64) -> HostCommand,
) -> Vec<Effect> {
    if let Some(h) = app.host(host) {
        if let Some(p) = super::lifecycle::host_problem(h) {
            app.messages
                .push(Level::Error, format!("{what}: {p}"), app.now);
            return Vec::new();
        }
    }
    let tag = app.requests.tag(host, Owner::Action(what));
    vec![Effect::Host(host, make(tag))]
}

/// The host answered a tagged action.
pub fn done(app: &mut App, host: HostId, tag: u64, result: Result<String, String>) {
    let Some((_, owner)) = app.requests.owners.remove(&tag) else {
        return;
    };
    let host_name = app.host(host).map(|h| h.name.clone()).unwrap_or_default();
    let now = app.now;
    match owner {
        Owner::Action(what) => match result {
            Ok(text) => app
                .messages
                .push(Level::Info, format!("{host_name}: {text}"), now),
            Err(e) => app.messages.push(
                Level::Error,
                format!("{host_name}: {what} failed: {e}"),
                now,
            ),
        },
        Owner::Wizard => {
            // The wizard that waits for this answer, on top or under help opened meanwhile.
            let waiting =
                |m: &Mode| matches!(m, Mode::Wizard(w) if w.submit == Submit::Waiting(tag));
            match result {
                Ok(text) => {
                    let w = app.overlays().find(|m| waiting(m)).cloned();
                    if let Some(Mode::Wizard(w)) = w {
                        super::newvm::created(app, host, &w);
                        app.close_overlay(waiting);
                    }
                    app.messages
                        .push(Level::Info, format!("{host_name}: {text}"), now);
                }
                Err(e) => {
                    if let Some(w) = app
                        .wizard_mut()
                        .filter(|w| w.submit == Submit::Waiting(tag))
                    {
                        w.submit = Submit::Editing;
                        w.error = Some(e.clone());
                    }
                    app.messages
                        .log(Level::Error, format!("{host_name}: {e}"), now);
                }
            }
        }
    }
}

/// Hosts commands can go to now (connected and answering).
pub fn reachable(app: &App) -> Vec<HostId> {
    app.hosts
        .iter()
        .filter(|h| super::lifecycle::host_problem(h).is_none())
        .map(|h| h.id)
        .collect()
}

/// The host a new object is created on: the one under the cursor, else the first connected.
pub fn target_host(app: &App, selected: Option<HostId>) -> Option<HostId> {
    selected.or_else(|| {
        app.hosts
            .iter()
            .find(|h| h.status.is_connected())
            .map(|h| h.id)
    })
}

/// Asks before a pane action; `typed` is the name the user must type, if any. The tag is
/// registered now and forgotten when the user says no.
#[allow(clippy::too_many_arguments)]
pub fn confirm(
    app: &mut App,
    title: String,
    body: Vec<String>,
    typed: Option<String>,
    host: HostId,
    what: String,
    make: impl FnOnce(u64) -> HostCommand,
) {
    let tag = app.requests.tag(host, Owner::Action(what));
    // A form that ends in a question hands over to it: answered or not, the form is done.
    if matches!(app.mode, Mode::Wizard(_)) {
        app.pop_overlay();
    }
    app.push_overlay(Mode::Confirm(Confirm {
        title,
        body,
        typed: typed.map(|expected| (expected, String::new())),
        action: ConfirmAction::Send {
            host,
            tag,
            cmd: Box::new(make(tag)),
        },
    }));
}

/// Moves a list cursor for a movement action; None when `action` is not one.
pub fn step(sel: usize, len: usize, action: Action, page: usize) -> Option<usize> {
    let last = len.saturating_sub(1);
    Some(match action {
        Action::Down => (sel + 1).min(last),
        Action::Up => sel.saturating_sub(1),
        Action::PageDown => (sel + page).min(last),
        Action::PageUp => sel.saturating_sub(page),
        Action::Top => 0,
        Action::Bottom => last,
        _ => return None,
    })
}
