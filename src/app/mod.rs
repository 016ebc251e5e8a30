//! Application state and its pure update function: `update(msg) -> effects`. No I/O here; the
//! main loop delivers messages and carries out the effects.

pub mod filter;
pub mod hosts;
mod keys;
mod lifecycle;
pub mod table;
pub mod toast;

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::time::Instant;

use crossterm::event::KeyEvent;

use crate::config::keymap::Keymap;
use crate::config::theme::Theme;
use crate::host::{HostCommand, HostEvent, LifecycleOp};
use crate::model::{HostId, Vm};
use filter::Filter;
use hosts::{HostStatus, HostView};
use table::{filter_rows, sort_rows, RowRef, SortKey};
use toast::{Level, Messages};

pub use lifecycle::Target;

/// Everything that can change the app.
#[derive(Clone, Debug)]
pub enum Msg {
    Key(KeyEvent),
    Host(HostId, HostEvent),
    /// Time passes (toast expiry, retry countdowns).
    Tick(Instant),
    /// SIGTERM/SIGHUP/SIGINT: leave cleanly so the terminal is restored.
    Terminate,
}

/// What the app asks the outside world to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Host(HostId, HostCommand),
    Quit,
}

/// A question that must be answered before a destructive or bulk action runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Confirm {
    pub title: String,
    pub body: Vec<String>,
    pub op: LifecycleOp,
    pub targets: Vec<Target>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    Normal,
    Filter,
    Help { scroll: usize },
    Log { scroll: usize },
    Confirm(Confirm),
}

/// A host to open at start.
#[derive(Clone, Debug, PartialEq)]
pub struct HostSpec {
    pub name: String,
    pub uri: String,
}

pub struct App {
    pub hosts: Vec<HostView>,
    /// Every VM in sort order; `rows` is its filtered view.
    sorted: Vec<RowRef>,
    pub rows: Vec<RowRef>,
    pub selected: usize,
    pub sort: SortKey,
    pub descending: bool,
    pub filter_text: String,
    filter: Filter,
    pub marks: HashSet<(HostId, String)>,
    pub pending: HashMap<(HostId, String), LifecycleOp>,
    pub mode: Mode,
    pub messages: Messages,
    pub readonly: bool,
    pub keymap: Keymap,
    pub theme: Theme,
    pub now: Instant,
    /// View state the renderer keeps between frames: first visible row and rows per page.
    pub table_offset: Cell<usize>,
    pub table_page: Cell<usize>,
    /// Once the user moves the cursor it follows that VM through refreshes; before that it
    /// stays on the first row while hosts report in.
    pub cursor_moved: bool,
}

impl App {
    pub fn new(hosts: Vec<HostSpec>, keymap: Keymap, theme: Theme, readonly: bool) -> App {
        let hosts = hosts
            .into_iter()
            .enumerate()
            .map(|(i, h)| HostView::new(HostId(i), h.name, h.uri))
            .collect();
        App {
            hosts,
            sorted: Vec::new(),
            rows: Vec::new(),
            selected: 0,
            sort: SortKey::Host,
            descending: false,
            filter_text: String::new(),
            filter: Filter::default(),
            marks: HashSet::new(),
            pending: HashMap::new(),
            mode: Mode::Normal,
            messages: Messages::default(),
            readonly,
            keymap,
            theme,
            now: Instant::now(),
            table_offset: Cell::new(0),
            table_page: Cell::new(20),
            cursor_moved: false,
        }
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(k) => keys::handle(self, k),
            Msg::Host(id, ev) => {
                self.on_host(id, ev);
                Vec::new()
            }
            Msg::Tick(now) => {
                self.now = now;
                self.messages.expire(now);
                Vec::new()
            }
            Msg::Terminate => vec![Effect::Quit],
        }
    }

    pub fn vm(&self, r: RowRef) -> (&HostView, &Vm) {
        let h = &self.hosts[r.host as usize];
        (h, &h.vms[r.idx as usize])
    }

    pub fn selected_row(&self) -> Option<RowRef> {
        self.rows.get(self.selected).copied()
    }

    pub fn is_marked(&self, host: HostId, uuid: &str) -> bool {
        !self.marks.is_empty() && self.marks.contains(&(host, uuid.to_string()))
    }

    pub fn total_vms(&self) -> usize {
        self.hosts.iter().map(|h| h.vms.len()).sum()
    }

    /// Applies a new filter; the sort order is reused, so a keystroke is one pass.
    pub fn set_filter(&mut self, text: String) {
        self.filter = Filter::parse(&text);
        self.filter_text = text;
        let keep = self.cursor_key();
        self.refilter(keep);
    }

    /// Re-sorts and re-filters (after a sort change), keeping the cursor on the same VM.
    pub fn rebuild(&mut self) {
        let keep = self.cursor_key();
        self.rebuild_keeping(keep);
    }

    /// The VM under the cursor, once the user has moved it.
    fn cursor_key(&self) -> Option<(HostId, String)> {
        let r = self.selected_row().filter(|_| self.cursor_moved)?;
        let (h, vm) = self.vm(r);
        Some((h.id, vm.uuid.clone()))
    }

    fn rebuild_keeping(&mut self, keep: Option<(HostId, String)>) {
        self.sorted = sort_rows(&self.hosts, self.sort, self.descending);
        self.refilter(keep);
    }

    fn refilter(&mut self, keep: Option<(HostId, String)>) {
        self.rows = filter_rows(&self.hosts, &self.sorted, &self.filter);
        if let Some((host, uuid)) = keep {
            if let Some(i) = self.rows.iter().position(|r| {
                let (h, vm) = self.vm(*r);
                h.id == host && vm.uuid == uuid
            }) {
                self.selected = i;
                return;
            }
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
    }

    fn on_host(&mut self, id: HostId, ev: HostEvent) {
        let now = self.now;
        let Some(host) = self.hosts.get_mut(id.0) else {
            return;
        };
        let name = host.name.clone();
        match ev {
            HostEvent::Connecting { attempt } => {
                host.status = HostStatus::Connecting { attempt };
            }
            HostEvent::Connected(info) => {
                host.info = Some(info);
                host.status = HostStatus::Connected;
                let text = format!("{name}: connected");
                // A recovery is news; the first connection is not.
                if std::mem::take(&mut host.trouble) {
                    self.messages.push(Level::Info, text, now);
                } else {
                    self.messages.log(Level::Info, text, now);
                }
            }
            HostEvent::Unreachable { error, retry_in } => {
                let repeated = matches!(&host.status, HostStatus::Unreachable { error: e, .. } if *e == error)
                    || matches!(&host.status, HostStatus::Connecting { attempt } if *attempt > 0);
                host.trouble = true;
                host.status = HostStatus::Unreachable {
                    error: error.clone(),
                    retry_at: now + retry_in,
                };
                if !repeated {
                    self.messages
                        .push(Level::Error, format!("{name}: unreachable: {error}"), now);
                }
            }
            HostEvent::Lost { error } => {
                host.trouble = true;
                host.status = HostStatus::Lost {
                    error: error.clone(),
                };
                self.messages.push(
                    Level::Error,
                    format!("{name}: connection lost: {error}"),
                    now,
                );
            }
            HostEvent::Snapshot(snap) => {
                // Rows index into the old VM list: read the cursor's VM before replacing it.
                let keep = self.cursor_key();
                let host = &mut self.hosts[id.0];
                host.apply_snapshot(snap);
                let alive: HashSet<&str> = host.vms.iter().map(|v| v.uuid.as_str()).collect();
                self.marks
                    .retain(|(h, u)| *h != id || alive.contains(u.as_str()));
                self.rebuild_keeping(keep);
            }
            HostEvent::OpDone {
                uuid,
                name: vm,
                op,
                result,
            } => {
                self.pending.remove(&(id, uuid));
                match result {
                    Ok(()) => self.messages.log(
                        Level::Info,
                        format!("{vm} on {name}: {}", op.verb()),
                        now,
                    ),
                    Err(e) => self.messages.push(
                        Level::Error,
                        format!("{vm} on {name}: {} failed: {e}", op.verb()),
                        now,
                    ),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
