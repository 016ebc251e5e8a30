//! The request registry: every host command that expects an answer carries a `RequestId`, and
//! the host answers `HostEvent::Reply { id, reply }`. This remembers, per id, what to do with
//! the answer: close or reopen a waiting wizard, toast a pane action's outcome, clear a VM
//! row's pending label. An answer nobody waits for any more is dropped. The pieces every
//! resource pane shares (read-only refusal, confirmation, cursor moves, which hosts to ask)
//! live here too.

use std::collections::HashMap;

use super::toast::Level;
use super::wizard::Submit;
use super::{App, Confirm, ConfirmAction, Effect, Mode};
use crate::config::keymap::Action;
use crate::host::{HostCommand, LifecycleOp, Reply, RequestId};
use crate::model::migration::MigrationId;
use crate::model::HostId;

/// Who waits for an answer, and so what happens with it.
#[derive(Clone, Debug, PartialEq)]
pub enum Owner {
    /// The wizard whose submit is `Submit::Waiting(id)`: closes on success, shows the error.
    Wizard,
    /// A wizard as above whose success also sends a follow-up change to the VM (the
    /// detail screen's attach of a volume it creates first).
    WizardThen(Box<super::detail::After>),
    /// A pane action: its description for the messages.
    Action(String),
    /// The XML editor's redefinition (a pane action whose answer also reaches the editor).
    Redefine(String),
    /// A lifecycle operation on a VM row: clears its pending label, logs the outcome.
    Lifecycle {
        uuid: String,
        name: String,
        op: LifecycleOp,
    },
    /// The display panel opened on this VM (dropped when it was closed or moved on).
    Display { uuid: String },
    /// The detail screen's cache of this VM.
    VmDetails { uuid: String },
    /// The pool wizard's source search for this pool type.
    Sources { kind: String },
    /// The new-VM wizard's verdict on an image (`pool/volume`).
    ImageHead { pool: String, volume: String },
    /// The host's lease list of this network (the networks pane).
    Leases { network: String },
    /// The migration wizard's checks of one VM.
    Preflight(MigrationId),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Requests {
    next: u64,
    owners: HashMap<RequestId, (HostId, Owner)>,
    /// The `virsh` command line of an action request, for its events entry.
    commands: HashMap<RequestId, Vec<String>>,
}

impl Requests {
    /// A new id whose answer goes to `owner`.
    pub fn issue(&mut self, host: HostId, owner: Owner) -> RequestId {
        self.next += 1;
        let id = RequestId(self.next);
        self.owners.insert(id, (host, owner));
        id
    }

    pub fn forget(&mut self, id: RequestId) {
        self.owners.remove(&id);
        self.commands.remove(&id);
    }

    /// Keeps what `cmd` is in virsh's words until request `id` is answered.
    pub fn remember(&mut self, id: RequestId, command: Option<Vec<String>>) {
        if let Some(c) = command {
            self.commands.insert(id, c);
        }
    }

    /// Forgets every request sent to `host` (the host was removed).
    pub fn forget_host(&mut self, host: HostId) {
        self.owners.retain(|_, (h, _)| *h != host);
        let owners = &self.owners;
        self.commands.retain(|id, _| owners.contains_key(id));
    }

    /// How many requests wait for an answer.
    pub fn len(&self) -> usize {
        self.owners.len()
    }

    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }

    /// The request `owner` waits for, if any (the oldest when several).
    pub fn find(&self, owner: &Owner) -> Option<RequestId> {
        self.owners
            .iter()
            .filter(|(_, (_, o))| o == owner)
            .map(|(id, _)| *id)
            .min()
    }

    /// Who waits for `id`, if anyone.
    pub fn owner(&self, id: RequestId) -> Option<&Owner> {
        self.owners.get(&id).map(|(_, o)| o)
    }
}

/// Sends a pane action: `make` builds the command around its request id.
pub fn send(
    app: &mut App,
    host: HostId,
    what: String,
    make: impl FnOnce(RequestId) -> HostCommand,
) -> Vec<Effect> {
    if let Some(h) = app.host(host) {
        if let Some(p) = super::lifecycle::host_problem(h) {
            app.messages
                .push(Level::Error, format!("{what}: {p}"), app.now);
            return Vec::new();
        }
    }
    let id = app.requests.issue(host, Owner::Action(what));
    let cmd = make(id);
    let line = equivalent(app, host, &cmd);
    app.requests.remember(id, line);
    vec![Effect::Host(host, cmd)]
}

/// `cmd` in virsh's words, with the host's URI and the VM's name.
pub fn equivalent(app: &App, host: HostId, cmd: &HostCommand) -> Option<Vec<String>> {
    use crate::host::migrate::MigrateCmd;
    use crate::host::vm::VmCmd;
    let h = app.host(host)?;
    let uuid = match cmd {
        HostCommand::Lifecycle { uuid, .. }
        | HostCommand::Vm(VmCmd::Act { uuid, .. } | VmCmd::Clone { uuid, .. })
        | HostCommand::Migrate(MigrateCmd::Start { uuid, .. }) => Some(uuid.as_str()),
        _ => None,
    };
    let vm = uuid.map_or("", |u| {
        h.vms
            .iter()
            .find(|v| v.uuid == u)
            .map_or(u, |v| v.name.as_str())
    });
    crate::virsh::equivalent(crate::virsh::Subject { uri: &h.uri, vm }, cmd)
}

/// The host answered request `id`: hand the answer to whoever waits for it.
pub fn answered(app: &mut App, host: HostId, id: RequestId, reply: Reply) {
    let Some((_, owner)) = app.requests.owners.remove(&id) else {
        return;
    };
    let command = app.requests.commands.remove(&id);
    let host_name = app.host(host).map(|h| h.name.clone()).unwrap_or_default();
    let now = app.now;
    match (owner, reply) {
        (Owner::Lifecycle { uuid, name, op }, Reply::Op(result)) => {
            app.vms.pending.remove(&(host, uuid.clone()));
            let (text, bad) = match &result {
                Ok(()) => (format!("{} (virtdeck)", op.verb()), false),
                Err(e) => (format!("{} failed: {e}", op.verb()), true),
            };
            let uri = app.host(host).map(|h| h.uri.clone()).unwrap_or_default();
            let command = crate::virsh::lifecycle(
                crate::virsh::Subject {
                    uri: &uri,
                    vm: &name,
                },
                op,
            );
            super::events::note_cmd(
                app,
                host,
                (&uuid, &name),
                super::events::NoteKind::Action,
                text,
                bad,
                Some(command),
            );
            match result {
                // Said, not only logged: a key that acts at once must show it did.
                Ok(()) => app.messages.push(
                    Level::Info,
                    format!("{name} on {host_name}: {}", op.done()),
                    now,
                ),
                Err(e) => app.messages.push(
                    Level::Error,
                    format!("{name} on {host_name}: {} failed: {e}", op.verb()),
                    now,
                ),
            }
        }
        (Owner::Display { uuid }, Reply::Display(result)) => {
            super::display::answered(app, host, &uuid, result)
        }
        (Owner::VmDetails { uuid }, Reply::VmDetails(result)) => {
            super::detail::answered(app, host, uuid, result)
        }
        (Owner::Sources { kind }, Reply::Sources(result)) => {
            super::storage::pool_wizard::sources(app, host, &kind, result)
        }
        (Owner::ImageHead { pool, volume }, Reply::ImageHead(result)) => {
            super::newvm::image_head(app, host, format!("{pool}/{volume}"), result)
        }
        (Owner::Leases { network }, Reply::Leases(result)) => {
            if let Some(h) = app.hosts.iter_mut().find(|h| h.id == host) {
                h.leases.insert(network, result);
            }
        }
        (Owner::Preflight(migration), Reply::Preflight(checks)) => {
            super::migrations::on_preflight(app, migration, checks)
        }
        (Owner::Redefine(what), Reply::Done(result)) => {
            super::detail::redefined(app, host, id, &result);
            action_done(app, &host_name, &what, result)
        }
        (Owner::WizardThen(then), Reply::Done(result)) => {
            if result.is_ok() {
                app.detail.after.push(*then);
            }
            wizard_done(app, host, &host_name, id, result)
        }
        (Owner::Wizard, Reply::Done(result)) => wizard_done(app, host, &host_name, id, result),
        (Owner::Action(what), Reply::Done(result)) => {
            let (text, bad) = match &result {
                Ok(t) => (t.clone(), false),
                Err(e) => (format!("{what} failed: {e}"), true),
            };
            if let Some(c) = &command {
                app.messages
                    .log(Level::Info, format!("  = {}", crate::virsh::quote(c)), now);
            }
            super::events::note_cmd(
                app,
                host,
                ("", ""),
                super::events::NoteKind::Action,
                text,
                bad,
                command,
            );
            action_done(app, &host_name, &what, result)
        }
        // A worker answering with the wrong shape is a bug; the log keeps a trace.
        (_, _) => app.messages.log(
            Level::Error,
            format!("{host_name}: an answer of an unexpected kind was dropped"),
            now,
        ),
    }
}

/// A pane action's outcome, as a message.
fn action_done(app: &mut App, host_name: &str, what: &str, result: Result<String, String>) {
    let now = app.now;
    match result {
        Ok(text) => app
            .messages
            .push(Level::Info, format!("{host_name}: {text}"), now),
        Err(e) => app.messages.push(
            Level::Error,
            format!("{host_name}: {what} failed: {e}"),
            now,
        ),
    }
}

/// A wizard's submit answered: success closes the wizard waiting for `id` (on top or under
/// help opened meanwhile), a failure keeps it open with the error. A wizard closed
/// meanwhile only leaves the message.
fn wizard_done(
    app: &mut App,
    host: HostId,
    host_name: &str,
    id: RequestId,
    result: Result<String, String>,
) {
    let now = app.now;
    let waiting = |m: &Mode| matches!(m, Mode::Wizard(w) if w.submit == Submit::Waiting(id));
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
            if let Some(w) = app.wizard_mut().filter(|w| w.submit == Submit::Waiting(id)) {
                w.submit = Submit::Editing;
                w.error = Some(e.clone());
            }
            app.messages
                .log(Level::Error, format!("{host_name}: {e}"), now);
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

/// Asks before a pane action; `typed` is the name the user must type, if any. The request is
/// registered now and forgotten when the user says no.
#[allow(clippy::too_many_arguments)]
pub fn confirm(
    app: &mut App,
    title: String,
    body: Vec<String>,
    typed: Option<String>,
    host: HostId,
    what: String,
    make: impl FnOnce(RequestId) -> HostCommand,
) {
    let id = app.requests.issue(host, Owner::Action(what));
    // A form that ends in a question hands over to it: answered or not, the form is done.
    if matches!(app.mode, Mode::Wizard(_)) {
        app.pop_overlay();
    }
    let cmd = make(id);
    let line = equivalent(app, host, &cmd);
    app.push_overlay(Mode::Confirm(Confirm {
        command: line.as_deref().map(crate::virsh::quote),
        title,
        body,
        typed: typed.map(|expected| (expected, String::new())),
        action: ConfirmAction::Send {
            host,
            id,
            cmd: Box::new(cmd),
        },
    }));
    app.requests.remember(id, line);
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

#[cfg(test)]
mod tests;
