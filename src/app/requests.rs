//! Storage and network actions carry a tag; the host answers `Done { tag, result }`. This
//! remembers who asked: an open wizard (which keeps the form on failure) or a pane action
//! (a toast).

use std::collections::HashMap;

use super::toast::Level;
use super::wizard::Submit;
use super::{App, Effect, Mode};
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

    pub fn pending(&self, host: HostId) -> usize {
        self.owners.values().filter(|(h, _)| *h == host).count()
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
            let open = matches!(&app.mode, Mode::Wizard(w) if w.submit == Submit::Waiting(tag));
            match result {
                Ok(text) => {
                    if open {
                        app.mode = Mode::Normal;
                    }
                    app.messages
                        .push(Level::Info, format!("{host_name}: {text}"), now);
                }
                Err(e) => {
                    if let (true, Mode::Wizard(w)) = (open, &mut app.mode) {
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
