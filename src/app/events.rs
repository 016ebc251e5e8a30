//! The events pane: libvirt lifecycle events of the whole fleet, newest first, as the workers
//! report them (started, paused on an I/O error, crashed…). A bounded ring: the oldest go.

use std::collections::VecDeque;

use super::panes::{Pane, PaneId};
use super::{App, Effect};
use crate::config::keymap::Action;
use crate::model::event::LifecycleEvent;
use crate::model::HostId;

/// Events kept (a bulk action on 5,000 VMs fits).
pub const KEPT: usize = 10_000;

#[derive(Clone, Debug)]
pub struct Entry {
    pub host: HostId,
    /// The VM's name when the event arrived (the UUID when the host had not listed it).
    pub vm: String,
    pub event: LifecycleEvent,
    /// From an earlier run of virtdeck (the event log), not seen by this one.
    pub earlier: bool,
    /// Not a libvirt lifecycle event: a host's connection, an action, a job.
    pub note: Option<Note>,
}

/// What happened when it is not a lifecycle event.
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    pub kind: NoteKind,
    pub text: String,
    /// Shown as trouble (lost host, failed action or job).
    pub bad: bool,
    /// For an action: the `virsh` command line that does the same (`y` copies it).
    pub command: Option<Vec<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteKind {
    Host,
    Action,
    Job,
    /// An alert rule fired or cleared.
    Alert,
}

impl NoteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Host => "host",
            NoteKind::Action => "action",
            NoteKind::Job => "job",
            NoteKind::Alert => "alert",
        }
    }

    fn parse(s: &str) -> Option<NoteKind> {
        [
            NoteKind::Host,
            NoteKind::Action,
            NoteKind::Job,
            NoteKind::Alert,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

impl Entry {
    /// What the EVENT column says.
    pub fn label(&self) -> String {
        match &self.note {
            Some(n) => n.text.clone(),
            None => self.event.label(),
        }
    }

    pub fn is_bad(&self) -> bool {
        self.note
            .as_ref()
            .map_or_else(|| self.event.is_bad(), |n| n.bad)
    }

    /// `lifecycle`, `host`, `action` or `job` (the `kind:` filter).
    pub fn kind(&self) -> &'static str {
        self.note.as_ref().map_or("lifecycle", |n| n.kind.as_str())
    }
}

/// Adds a host, action or job event for `vm` (its UUID and name; empty for the host).
pub fn note(
    app: &mut App,
    host: HostId,
    vm: (&str, &str),
    kind: NoteKind,
    text: String,
    bad: bool,
) {
    note_cmd(app, host, vm, kind, text, bad, None)
}

/// `note` of an action with the `virsh` command line that does the same.
pub fn note_cmd(
    app: &mut App,
    host: HostId,
    vm: (&str, &str),
    kind: NoteKind,
    text: String,
    bad: bool,
    command: Option<Vec<String>>,
) {
    let (uuid, name) = vm;
    let at = std::time::SystemTime::now();
    // The demo's hosts are made up: nothing of theirs goes to the log.
    if app.settings.keep_events && !app.host(host).is_some_and(|h| h.simulated()) {
        let host_name = app.host(host).map(|h| h.name.clone()).unwrap_or_default();
        app.events.unsaved.push(crate::eventlog::Record {
            t: at
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            host: host_name,
            uuid: uuid.into(),
            vm: name.into(),
            event: -1,
            detail: 0,
            kind: kind.as_str().into(),
            text: text.clone(),
            bad,
            command: command.clone(),
        });
    }
    let list = &mut app.events.list;
    list.push_back(Entry {
        host,
        vm: name.into(),
        event: LifecycleEvent {
            uuid: uuid.into(),
            event: -1,
            detail: 0,
            at,
        },
        earlier: false,
        note: Some(Note {
            kind,
            text,
            bad,
            command,
        }),
    });
    if list.len() > KEPT {
        list.pop_front();
    }
}

#[derive(Debug, Default)]
pub struct EventsUi {
    /// Oldest first.
    pub list: VecDeque<Entry>,
    pub sel: usize,
    /// The first row the last frame showed (the view builds only the rows on screen).
    pub offset: std::cell::Cell<usize>,
    /// Events not yet handed to the event log (`Effect::SaveEvents` after the update).
    pub unsaved: Vec<crate::eventlog::Record>,
}

/// A host's batch of events: named from its VM list, appended, the oldest dropped past `KEPT`.
pub fn arrived(app: &mut App, host: HostId, events: Vec<LifecycleEvent>) {
    let Some(h) = app.host(host) else { return };
    // A bulk action on 10,000 VMs sends 10,000 events at once: one lookup table for a big
    // batch, a scan for a few.
    let table: Option<std::collections::HashMap<&str, &str>> = (events.len() > 16).then(|| {
        h.vms
            .iter()
            .map(|v| (v.uuid.as_str(), v.name.as_str()))
            .collect()
    });
    let name_of = |uuid: &str| match &table {
        Some(t) => t.get(uuid).map(|n| n.to_string()),
        None => h
            .vms
            .iter()
            .find(|v| v.uuid == uuid)
            .map(|v| v.name.clone()),
    };
    let named: Vec<Entry> = events
        .into_iter()
        .map(|event| Entry {
            host,
            vm: name_of(&event.uuid).unwrap_or_else(|| event.uuid.clone()),
            event,
            earlier: false,
            note: None,
        })
        .collect();
    if app.settings.keep_events && !h.simulated() {
        let host_name = h.name.clone();
        app.events.unsaved.extend(named.iter().map(|e| {
            crate::eventlog::Record {
                t: e.event
                    .at
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64),
                host: host_name.clone(),
                uuid: e.event.uuid.clone(),
                vm: e.vm.clone(),
                event: e.event.event,
                detail: e.event.detail,
                kind: String::new(),
                text: String::new(),
                bad: false,
                command: None,
            }
        }));
    }
    let list = &mut app.events.list;
    list.extend(named);
    let extra = list.len().saturating_sub(KEPT);
    list.drain(..extra);
}

/// Events of earlier runs from the event log, before this run's: those of hosts this run
/// has (by name) are listed as earlier; says how many were read and skipped.
pub fn load_earlier(app: &mut App, records: Vec<crate::eventlog::Record>, skipped: usize) {
    let n = records.len();
    let mut other_hosts = 0;
    let mut earlier: Vec<Entry> = records
        .into_iter()
        .filter_map(|r| {
            let Some(host) = app.hosts.iter().find(|h| h.name == r.host).map(|h| h.id) else {
                other_hosts += 1;
                return None;
            };
            let note = NoteKind::parse(&r.kind).map(|kind| Note {
                kind,
                text: r.text,
                bad: r.bad,
                command: r.command,
            });
            Some(Entry {
                host,
                vm: r.vm,
                event: LifecycleEvent {
                    uuid: r.uuid,
                    event: r.event,
                    detail: r.detail,
                    at: std::time::UNIX_EPOCH + std::time::Duration::from_millis(r.t),
                },
                earlier: true,
                note,
            })
        })
        .collect();
    let extra = earlier.len().saturating_sub(KEPT);
    earlier.drain(..extra);
    let list = &mut app.events.list;
    let now: Vec<Entry> = list.drain(..).collect();
    list.extend(earlier);
    list.extend(now);
    let extra = list.len().saturating_sub(KEPT);
    list.drain(..extra);
    if n > 0 || skipped > 0 {
        let mut text = format!("events: {} from earlier runs", n - other_hosts);
        if other_hosts > 0 {
            text.push_str(&format!(", {other_hosts} of hosts not configured now"));
        }
        if skipped > 0 {
            text.push_str(&format!(", {skipped} unreadable line(s) skipped"));
        }
        let level = if skipped > 0 {
            super::toast::Level::Error
        } else {
            super::toast::Level::Info
        };
        app.messages.log(level, text, app.now);
    }
}

/// What the pane lists, newest first, narrowed by `:events @HOST /TEXT`.
pub fn rows(app: &App) -> Vec<&Entry> {
    app.events
        .list
        .iter()
        .rev()
        .filter(|e| {
            super::panes::keeps(app, PaneId::Events, e.host, &e.vm)
                && app
                    .scopes
                    .get(PaneId::Events)
                    .is_none_or(|s| s.filter.kind_matches(e.kind()))
        })
        .collect()
}

pub struct EventsPane;

impl Pane for EventsPane {
    fn on_action(&self, app: &mut App, action: Action) -> Vec<Effect> {
        let n = rows(app).len();
        if let Some(i) = super::requests::step(app.events.sel, n, action, 10) {
            app.events.sel = i;
            return Vec::new();
        }
        match action {
            Action::ClearFinished => {
                app.events.list.clear();
                app.events.sel = 0;
                Vec::new()
            }
            Action::CopyCommand => {
                let line = rows(app)
                    .get(app.events.sel)
                    .and_then(|e| e.note.as_ref()?.command.as_deref())
                    .map(crate::virsh::quote);
                match line {
                    Some(l) => {
                        app.messages.push(
                            super::toast::Level::Info,
                            format!("copied: {l}"),
                            app.now,
                        );
                        vec![Effect::Copy(l)]
                    }
                    None => {
                        app.messages.push(
                            super::toast::Level::Info,
                            "no virsh command for this event (only actions taken from virtdeck have one)",
                            app.now,
                        );
                        Vec::new()
                    }
                }
            }
            // The VM the event is about.
            Action::Open => {
                let target = rows(app)
                    .get(app.events.sel)
                    .map(|e| (e.host, e.event.uuid.clone()));
                match target {
                    Some((host, uuid))
                        if app
                            .host(host)
                            .is_some_and(|h| h.vms.iter().any(|v| v.uuid == uuid)) =>
                    {
                        super::detail::open(app, host, uuid)
                    }
                    Some(_) => {
                        app.messages.push(
                            super::toast::Level::Info,
                            "that VM is not listed any more",
                            app.now,
                        );
                        Vec::new()
                    }
                    None => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }

    fn position(&self, app: &App) -> String {
        super::panes::position(app.events.sel, rows(app).len(), "events")
    }

    fn cursor(&self, app: &App) -> Option<(usize, usize)> {
        Some((app.events.sel, rows(app).len()))
    }

    fn select(&self, app: &mut App, i: usize) -> Vec<Effect> {
        app.events.sel = i;
        Vec::new()
    }

    fn hints(&self, _app: &App) -> &'static [(Action, &'static str)] {
        &[
            (Action::Help, "help"),
            (Action::Open, "the VM"),
            (Action::CopyCommand, "copy virsh"),
            (Action::ClearFinished, "clear"),
            (Action::Palette, "command"),
            (Action::Quit, "quit"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::tests::{app, press};
    use crate::app::{Msg, PaneId, View};
    use crate::host::HostEvent;
    use std::time::SystemTime;

    fn ev(uuid: &str, event: i32) -> LifecycleEvent {
        LifecycleEvent {
            uuid: uuid.into(),
            event,
            detail: 0,
            at: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn events_are_named_newest_first_scoped_and_bounded() {
        let mut a = app();
        let uuid = a.hosts[1].vms[0].uuid.clone();
        let name = a.hosts[1].vms[0].name.clone();
        a.update(Msg::Host(
            HostId(1),
            HostEvent::DomainEvents(vec![ev(&uuid, 2), ev("gone-uuid", 5)]),
        ));
        a.update(Msg::Host(
            HostId(0),
            HostEvent::DomainEvents(vec![ev("x", 3)]),
        ));
        // Both hosts' connections are events of their own.
        let hosts: Vec<(usize, String)> = rows(&a)
            .iter()
            .filter(|e| e.kind() == "host")
            .map(|e| (e.host.0, e.label()))
            .collect();
        assert_eq!(
            hosts,
            [(1, "host connected".into()), (0, "host connected".into())]
        );
        let r: Vec<(usize, String, String)> = rows(&a)
            .iter()
            .filter(|e| e.kind() == "lifecycle")
            .map(|e| (e.host.0, e.vm.clone(), e.label()))
            .collect();
        assert_eq!(
            r,
            [
                (0, "x".to_string(), "paused (by request)".to_string()),
                (1, "gone-uuid".into(), "stopped (shut down)".into()),
                (1, name.clone(), "started (booted)".into()),
            ]
        );
        // `:events @kvm-b /NAME` narrows; `7` opens it too.
        press(&mut a, ":");
        for c in format!("events @kvm-b /{name}").chars() {
            a.update(Msg::Key(crossterm::event::KeyEvent::new(
                crossterm::event::KeyCode::Char(c),
                crossterm::event::KeyModifiers::NONE,
            )));
        }
        press(&mut a, "<Enter>");
        assert_eq!(a.view, View::Pane(PaneId::Events));
        assert_eq!(rows(&a).len(), 1);
        // Enter: the VM's details.
        press(&mut a, "<Enter>");
        assert!(matches!(&a.view, View::Detail { uuid: u, .. } if *u == uuid));
        press(&mut a, "7");
        assert_eq!(a.view, View::Pane(PaneId::Events));
        // A storm keeps the newest KEPT.
        let storm = (0..KEPT + 5).map(|i| ev(&format!("u{i}"), 4)).collect();
        a.update(Msg::Host(HostId(0), HostEvent::DomainEvents(storm)));
        assert_eq!(a.events.list.len(), KEPT);
        assert_eq!(a.events.list.back().map(|e| e.vm.as_str()), Some("u10004"));
        press(&mut a, "X");
        assert!(a.events.list.is_empty());
    }
}

#[cfg(test)]
mod log_tests {
    use super::*;
    use crate::app::tests::app;
    use crate::app::{Effect, Msg};
    use crate::eventlog::Record;
    use crate::host::HostEvent;

    fn rec(host: &str, vm: &str, t: u64) -> Record {
        Record {
            t,
            host: host.into(),
            uuid: format!("u-{vm}"),
            vm: vm.into(),
            event: 8,
            detail: 0,
            kind: String::new(),
            text: String::new(),
            bad: false,
            command: None,
        }
    }

    /// The log's events come before this run's, marked earlier; other hosts' are left out
    /// and counted; new events go to the log as an effect only when it is kept.
    #[test]
    fn earlier_runs_are_loaded_marked_and_new_events_saved() {
        let mut a = app();
        a.update(Msg::Host(
            HostId(0),
            HostEvent::DomainEvents(vec![LifecycleEvent {
                uuid: "now".into(),
                event: 2,
                detail: 0,
                at: std::time::SystemTime::now(),
            }]),
        ));
        load_earlier(
            &mut a,
            vec![rec("kvm-a", "old-db", 1_000), rec("gone-host", "x", 2_000)],
            3,
        );
        let list: Vec<(&str, bool)> = a
            .events
            .list
            .iter()
            .filter(|e| e.note.is_none())
            .map(|e| (e.vm.as_str(), e.earlier))
            .collect();
        assert_eq!(list, [("old-db", true), ("now", false)]);
        let said = &a.messages.log.back().unwrap().text;
        assert_eq!(
            said,
            "events: 1 from earlier runs, 1 of hosts not configured now, 3 unreadable line(s) skipped"
        );
        // Kept: the next events become an effect for the log.
        a.settings.keep_events = true;
        let fx = a.update(Msg::Host(
            HostId(1),
            HostEvent::DomainEvents(vec![LifecycleEvent {
                uuid: "u2".into(),
                event: 5,
                detail: 2,
                at: std::time::UNIX_EPOCH + std::time::Duration::from_millis(42),
            }]),
        ));
        let saved: Vec<&Record> = fx
            .iter()
            .filter_map(|e| match e {
                Effect::SaveEvents(r) => Some(r),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(saved.len(), 1);
        assert_eq!(
            (saved[0].host.as_str(), saved[0].t, saved[0].detail),
            ("kvm-b", 42, 2)
        );
    }
}

#[cfg(test)]
mod note_tests {
    use super::*;
    use crate::app::tests::{app, press, select};
    use crate::app::Msg;
    use crate::host::HostEvent;

    /// Host troubles, actions and their outcomes are events too, found with `kind:`.
    #[test]
    fn host_action_and_job_events_and_the_kind_filter() {
        let mut a = app();
        select(&mut a, "web-02");
        let fx = press(&mut a, "s");
        let ids: Vec<crate::host::RequestId> = fx
            .iter()
            .filter_map(|e| match e {
                crate::app::Effect::Host(_, crate::host::HostCommand::Lifecycle { id, .. }) => {
                    Some(*id)
                }
                _ => None,
            })
            .collect();
        assert!(!ids.is_empty(), "{fx:?}");
        for id in ids {
            a.update(Msg::Host(
                HostId(0),
                HostEvent::Reply {
                    id,
                    reply: crate::host::Reply::Op(Err("refused".into())),
                },
            ));
        }
        a.update(Msg::Host(
            HostId(0),
            HostEvent::Lost {
                error: "EOF \u{1b}[2J".into(),
            },
        ));
        let all: Vec<(&'static str, String, bool)> = a
            .events
            .list
            .iter()
            .map(|e| (e.kind(), e.label(), e.is_bad()))
            .collect();
        assert!(
            all.contains(&("host", "host lost: EOF \u{1b}[2J".into(), true)),
            "{all:?}"
        );
        assert!(
            all.iter().any(|(k, l, bad)| *k == "action"
                && l.starts_with("start failed: refused")
                && *bad),
            "{all:?}"
        );
        // `:events /kind:host` keeps the host's events only.
        a.scopes.set(
            PaneId::Events,
            crate::app::panes::Scope {
                host: None,
                text: "kind:host".into(),
                filter: crate::app::filter::Filter::parse("kind:host").unwrap(),
                error: None,
            },
        );
        assert!(rows(&a).iter().all(|e| e.kind() == "host") && !rows(&a).is_empty());
    }
}
