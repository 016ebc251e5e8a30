//! Application state and its pure update function: `update(msg) -> effects`. No I/O here; the
//! main loop delivers messages and carries out the effects.

pub mod actions;
pub mod add_host;
pub mod alerts;
pub mod console;
pub mod dashboard;
pub mod detail;
pub mod display;
pub mod events;
pub mod filter;
pub mod groups;
pub mod hitmap;
pub mod hostdevs;
pub mod hosts;
pub mod jobs;
mod keys;
mod lifecycle;
pub mod migrations;
mod mouse;
pub mod networks;
pub mod newvm;
mod pace;
pub mod palette;
pub mod panes;
mod paste;
pub mod plugins;
pub mod preview;
pub mod requests;
pub mod storage;
pub mod table;
pub mod tags;
pub mod toast;
pub mod vms;
pub mod wizard;

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use crossterm::event::KeyEvent;

use crate::config::keymap::Keymap;
use crate::config::theme::Theme;
use crate::config::Thresholds;
use crate::host::{HostCommand, HostEvent, LifecycleOp};
use crate::model::{HostId, Vm};
use add_host::HostForm;
use filter::Filter;
use hosts::{HostStatus, HostView};
use table::{filter_rows, sort_rows, RowRef};
use toast::{Level, Messages};

pub use lifecycle::Target;
pub use panes::PaneId;

/// Everything that can change the app.
#[derive(Clone, Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// A click or a wheel notch (only when the mouse is on: `--no-mouse`, `mouse = false`).
    Mouse(crossterm::event::MouseEvent),
    /// Text the user pasted (bracketed paste): inserted as a whole, never read as keys.
    Paste(String),
    /// A line something wrote on stderr while the screen was ours (libvirt, libxml2).
    Stderr(String),
    Host(HostId, HostEvent),
    /// Time passes (toast expiry, retry countdowns).
    Tick(Instant),
    /// SIGTERM/SIGHUP/SIGINT: leave cleanly so the terminal is restored.
    Terminate,
    /// The demo fleet's hosts (answer to `Effect::StartDemo`): added for this session.
    DemoHosts(Vec<HostSpec>),
    /// A plugin ended (answer to `Effect::RunPlugin`).
    PluginDone(Box<plugins::Run>, crate::plugin::run::Outcome),
    /// The add-host form's connection test finished (hostname and hypervisor, or the error).
    ConnTest {
        uri: String,
        result: Result<String, String>,
    },
    /// A change to config.toml failed.
    ConfigError(String),
    /// Something the app does not hold changed what is shown (console output, a preview
    /// frame, a job's progress, the terminal's size): redraw.
    Wake,
    /// A viewer was started (its name) or failed (why).
    Viewer(Result<String, String>),
    /// `$EDITOR` exited: the edited XML of a VM's definition, or why it failed.
    Edited {
        host: HostId,
        uuid: String,
        result: Result<String, String>,
    },
    /// The OS database finished loading off the UI thread (answer to `Effect::LoadOsDb`),
    /// with how long it took.
    OsDb(
        Result<&'static crate::osinfo::OsDb, String>,
        std::time::Duration,
    ),
    /// A file-system check finished (answer to `Effect::Probe` with the same id).
    Probed {
        id: u64,
        answer: crate::probe::Answer,
    },
}

/// What the app asks the outside world to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Host(HostId, HostCommand),
    /// Try to open `uri` off the UI thread and answer with `Msg::ConnTest`.
    TestConnection {
        uri: String,
    },
    /// Start a worker for a new host and, when `persist`, add it to config.toml.
    AddHost {
        id: HostId,
        spec: HostSpec,
        persist: bool,
    },
    /// Stop the host's worker and, when `persist`, drop it from config.toml.
    RemoveHost {
        id: HostId,
        uri: String,
        persist: bool,
    },
    /// Put text on the user's clipboard through the terminal (OSC 52).
    Copy(String),
    /// Find a viewer on PATH and start it detached; answered with `Msg::Viewer`.
    LaunchViewer {
        graphics: crate::display::Graphics,
        access: crate::display::Access,
        uri: String,
        uuid: String,
    },
    /// Suspend the screen, edit `text` in `$VISUAL`/`$EDITOR` and answer with `Msg::Edited`.
    EditExternal {
        host: HostId,
        uuid: String,
        text: String,
    },
    /// Load the OS database on a background thread; answered with `Msg::OsDb`.
    LoadOsDb,
    /// Keep the palette's history (XDG state dir) for the next run.
    SaveHistory(Vec<String>),
    /// Append events to the event log in the state dir (`eventlog`), off the UI thread.
    SaveEvents(Vec<crate::eventlog::Record>),
    /// Write the demo fleet out (once) and answer with `Msg::DemoHosts`.
    StartDemo,
    /// Run a plugin: in the background (answered with `Msg::PluginDone`) or with the screen
    /// left to it.
    RunPlugin(Box<plugins::Run>),
    /// Run an alert's program (no shell) with the alert in its environment.
    AlertExec {
        argv: Vec<String>,
        env: Vec<(String, String)>,
    },
    /// Look at the local file system off the UI thread; answered with `Msg::Probed { id }`.
    Probe {
        id: u64,
        probe: crate::probe::Probe,
    },
    Quit,
}

/// A question that must be answered before a destructive or bulk action runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Confirm {
    /// The `virsh` command line that does the same, shown under the question.
    pub command: Option<String>,
    pub title: String,
    pub body: Vec<String>,
    /// For deletions of data in use: the name the user must type, and what they typed.
    pub typed: Option<(String, String)>,
    pub action: ConfirmAction,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ConfirmAction {
    Lifecycle {
        op: LifecycleOp,
        targets: Vec<Target>,
    },
    RemoveHost(HostId),
    /// A control command for a running migration (cancel, post-copy).
    Migration {
        host: HostId,
        cmd: Box<crate::host::migrate::MigrateCmd>,
    },
    /// Cancel a job of the jobs pane (by its id).
    CancelJob(u64),
    /// Run a plugin that asks first.
    Plugin(Box<plugins::Run>),
    /// Leave virtdeck although work of its own is running.
    Quit,
    /// A command whose answer someone waits for (its id is registered with `requests`).
    Send {
        host: HostId,
        id: crate::host::RequestId,
        cmd: Box<HostCommand>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    Normal,
    Filter,
    Help {
        scroll: usize,
    },
    Log {
        scroll: usize,
    },
    Confirm(Confirm),
    /// The add-host form.
    AddHost(Box<HostForm>),
    /// A VM's graphics: addresses, tunnel, viewer.
    Display(Box<display::DisplayPanel>),
    /// A multi-page form (new pool, volume, secret, network…).
    Wizard(Box<wizard::Wizard>),
    /// The `:` command palette.
    Palette(Box<palette::Palette>),
}

/// The screen under the overlays.
#[derive(Clone, Debug, PartialEq)]
pub enum View {
    /// A pane that shows everything it has without an argument (the dashboard, the VM
    /// table, pools, networks, migrations, jobs, events): see `panes::PANES`.
    Pane(PaneId),
    /// One VM's charts.
    Detail { host: HostId, uuid: String },
    /// A VM's serial console.
    Console(Box<console::ConsoleView>),
    /// A live VNC preview.
    Preview(Box<preview::PreviewView>),
    /// One pool's volumes.
    Volumes { host: HostId, pool: String },
    /// One host's libvirt secrets.
    Secrets { host: HostId },
}

/// Choices that come from config.toml and the command line.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub readonly: bool,
    /// Points kept per metric (history window / poll interval).
    pub history_len: usize,
    pub poll_interval: std::time::Duration,
    pub thresholds: Thresholds,
    /// Per host URI: the address migration data to that host goes to (config.toml
    /// `migration_address`), when its host name does not reach it on the right network.
    pub migration_addresses: HashMap<String, String>,
    /// `[aliases]` of config.toml: palette words that stand for a whole line.
    pub aliases: std::collections::BTreeMap<String, String>,
    /// The backup form's defaults (config.toml `backup_dir`, `backup_keep`).
    pub backup_dir: String,
    pub backup_keep: usize,
    /// Events are appended to the state dir's event log (`eventlog`); off in tests.
    pub keep_events: bool,
    /// `[[alerts]]` of config.toml.
    pub alerts: Vec<crate::alert::Rule>,
    /// `plugins.toml`.
    pub plugins: Vec<crate::plugin::Plugin>,
    /// Draw only what the Linux console's font has (`--ascii`, `ascii = true`, TERM=linux).
    pub ascii: bool,
}

impl Settings {
    pub fn from_config(cfg: &crate::config::Config, readonly: bool) -> Settings {
        Settings {
            readonly,
            history_len: cfg.history_len(),
            poll_interval: std::time::Duration::from_secs_f64(cfg.poll_interval),
            thresholds: cfg.thresholds,
            migration_addresses: cfg
                .hosts
                .iter()
                .filter_map(|h| Some((h.uri.clone(), h.migration_address.clone()?)))
                .collect(),
            aliases: cfg
                .aliases
                .iter()
                .map(|(k, v)| (k.to_lowercase(), v.clone()))
                .collect(),
            backup_dir: cfg.backup_dir.clone(),
            backup_keep: cfg.backup_keep,
            keep_events: false,
            alerts: cfg.alerts.clone(),
            plugins: Vec::new(),
            ascii: cfg.ascii,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            readonly: false,
            history_len: 300,
            poll_interval: std::time::Duration::from_secs(2),
            thresholds: Thresholds::default(),
            migration_addresses: HashMap::new(),
            aliases: Default::default(),
            backup_dir: crate::config::DEFAULT_BACKUP_DIR.into(),
            backup_keep: 7,
            keep_events: false,
            alerts: Vec::new(),
            plugins: Vec::new(),
            ascii: false,
        }
    }
}

/// A host to open at start.
#[derive(Clone, Debug, PartialEq)]
pub struct HostSpec {
    pub name: String,
    pub uri: String,
}

pub struct App {
    pub hosts: Vec<HostView>,
    /// The VM table pane's state.
    pub vms: vms::VmsUi,
    /// The pace each worker was last told (`pace.rs`); none: `Shown`, as workers start.
    paced: HashMap<HostId, crate::host::Pace>,
    /// The dashboard's cursor and sort.
    pub dash: dashboard::DashUi,
    /// The overlay on top (what keys go to); `Normal` when none is open.
    pub mode: Mode,
    /// Overlays under `mode`, bottom first: `Esc` pops one and the one below gets the keys
    /// again (help over a wizard, a confirmation over a form).
    pub under: Vec<Mode>,
    pub messages: Messages,
    pub settings: Settings,
    pub view: View,
    next_host_id: usize,
    pub keymap: Keymap,
    pub theme: Theme,
    pub now: Instant,
    /// Where the last frame drew its lists and tabs, for the mouse.
    pub hits: hitmap::HitMap,
    pub storage: storage::StorageUi,
    pub networks: networks::NetworksUi,
    pub migrations: migrations::MigrationsUi,
    pub requests: requests::Requests,
    pub detail: detail::DetailUi,
    /// The OS database for the new-VM wizard (loaded once, off the UI thread).
    pub osdb: newvm::OsDbState,
    /// A VM the new-VM wizard created: selected (and its console opened) once it shows up.
    pub created: Option<newvm::Created>,
    /// Transfers, clones and VM creations of the whole fleet.
    pub jobs: jobs::Jobs,
    /// Lifecycle events of the whole fleet.
    pub events: events::EventsUi,
    /// The help's search: the text, and whether it is being typed (`/` in the help).
    pub help_search: (String, bool),
    /// Alert rules' state (`alerts.rs`).
    pub alerts: alerts::AlertsUi,
    /// The host-devices pane.
    pub hostdevs: hostdevs::HostDevsUi,
    /// Palette lines run, oldest first (loaded at start, saved by an effect).
    pub history: Vec<String>,
    /// Panes left, for `-`.
    pub back: Vec<panes::Place>,
    /// `@HOST /TEXT` of the list panes the palette narrowed.
    pub scopes: panes::Scopes,
    /// Set by `-` so the pane it leaves is not remembered.
    going_back: bool,
    /// The last `Effect::Probe` id handed out.
    probe_seq: u64,
    /// The screen may be out of date (`take_redraw`): set by every message that can change
    /// what is shown. An idle screen is not redrawn at all.
    redraw: bool,
    /// The last frame showed something computed from the clock (`clock`): it is redrawn
    /// every `CLOCK_STEP`. Set while rendering, which only borrows the app.
    pub(crate) clocked: std::cell::Cell<bool>,
    /// `now` when the last frame was drawn.
    drawn_at: Instant,
}

/// How often a frame that shows ages or countdowns is redrawn.
const CLOCK_STEP: std::time::Duration = std::time::Duration::from_millis(900);

impl App {
    pub fn new(hosts: Vec<HostSpec>, keymap: Keymap, theme: Theme, settings: Settings) -> App {
        let n = hosts.len();
        let hosts = hosts
            .into_iter()
            .enumerate()
            .map(|(i, h)| HostView::new(HostId(i), h.name, h.uri, settings.history_len))
            .collect();
        App {
            settings,
            view: if n > 1 {
                View::Pane(PaneId::Dashboard)
            } else {
                View::Pane(PaneId::Vms)
            },
            next_host_id: n,
            hosts,
            vms: vms::VmsUi::default(),
            paced: HashMap::new(),
            dash: dashboard::DashUi::default(),
            mode: Mode::Normal,
            under: Vec::new(),
            messages: Messages::default(),
            keymap,
            theme,
            now: Instant::now(),
            hits: hitmap::HitMap::default(),
            storage: storage::StorageUi::default(),
            networks: networks::NetworksUi::default(),
            migrations: migrations::MigrationsUi::default(),
            requests: requests::Requests::default(),
            detail: detail::DetailUi::default(),
            osdb: newvm::OsDbState::default(),
            created: None,
            jobs: jobs::Jobs::default(),
            events: events::EventsUi::default(),
            alerts: alerts::AlertsUi::default(),
            help_search: (String::new(), false),
            hostdevs: hostdevs::HostDevsUi::default(),
            history: Vec::new(),
            back: Vec::new(),
            scopes: panes::Scopes::default(),
            going_back: false,
            probe_seq: 0,
            redraw: true,
            clocked: std::cell::Cell::new(false),
            drawn_at: Instant::now(),
        }
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        // Ticks and snapshots decide for themselves whether they changed what is shown (they
        // are what comes while the user does nothing); anything else redraws.
        if !matches!(msg, Msg::Tick(_) | Msg::Host(_, HostEvent::Snapshot(_))) {
            self.redraw = true;
        }
        // Every message is followed by a draw, which shows all console output so far: re-arm
        // the link's wake so the next output wakes the UI again.
        if let View::Console(c) = &self.view {
            c.link.take_dirty();
        }
        let from = self.view.place();
        let mut fx = self.dispatch(msg);
        if std::mem::take(&mut self.going_back) {
            // `-` itself: the pane left is not remembered, or `-` would only flip two.
        } else if self.view.place() != from {
            panes::left(self, from);
        }
        fx.extend(console::follow(self));
        fx.extend(wizard::checks::send(self));
        if !self.events.unsaved.is_empty() {
            fx.push(Effect::SaveEvents(std::mem::take(&mut self.events.unsaved)));
        }
        fx
    }

    fn dispatch(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(k) => keys::handle(self, k),
            Msg::Mouse(m) => mouse::handle(self, m),
            Msg::Paste(text) => paste::handle(self, &text),
            Msg::Stderr(line) => {
                self.messages
                    .log(Level::Error, format!("stderr: {line}"), self.now);
                Vec::new()
            }
            Msg::Host(id, ev) => {
                // A finished migration frees a slot for a queued one (evacuation).
                let slot = matches!(ev, HostEvent::Migration(_));
                self.on_host(id, ev);
                let mut fx = if slot {
                    migrations::pump(self)
                } else {
                    Vec::new()
                };
                fx.extend(newvm::follow_up(self));
                fx
            }
            Msg::OsDb(result, took) => {
                newvm::db_loaded(self, result, took);
                Vec::new()
            }
            Msg::Probed { id, answer } => {
                wizard::checks::probed(self, id, answer);
                Vec::new()
            }
            Msg::Tick(now) => {
                self.now = now;
                let expired = self.messages.expire(now);
                wizard::checks::tick(self);
                let mut fx = panes::tick(self);
                fx.extend(alerts::tick(self));
                fx.extend(newvm::tick(self));
                // Overlays (wizards, forms, the log) count time in many ways: they redraw
                // with every tick, as the whole screen used to.
                let overlay = !matches!(self.mode, Mode::Normal | Mode::Filter);
                let clock = self.clocked.get()
                    && now.saturating_duration_since(self.drawn_at) >= CLOCK_STEP;
                if expired || clock || overlay || !fx.is_empty() {
                    self.redraw = true;
                }
                // Not news for the screen: no redraw for these.
                fx.extend(pace::effects(self));
                fx
            }
            Msg::Terminate => vec![Effect::Quit],
            Msg::ConnTest { uri, result } => {
                if let Mode::AddHost(f) = &mut self.mode {
                    f.test_finished(&uri, result);
                }
                Vec::new()
            }
            Msg::ConfigError(e) => {
                self.messages.push(Level::Error, e, self.now);
                Vec::new()
            }
            // Only here to draw (`update` re-armed the console wake).
            Msg::Wake => Vec::new(),
            Msg::Edited { host, uuid, result } => {
                detail::edited(self, host, uuid, result);
                Vec::new()
            }
            Msg::DemoHosts(specs) => {
                let mut fx = Vec::new();
                for spec in specs {
                    if !self.hosts.iter().any(|h| h.uri == spec.uri) {
                        fx.extend(self.add_host(spec, false));
                    }
                }
                self.view = View::Pane(PaneId::Dashboard);
                fx
            }
            Msg::PluginDone(run, outcome) => {
                plugins::done(self, &run, outcome);
                Vec::new()
            }
            Msg::Viewer(r) => {
                match r {
                    Ok(name) => {
                        self.messages
                            .push(Level::Info, format!("started {name}"), self.now)
                    }
                    Err(e) => self.messages.push(Level::Error, e, self.now),
                }
                Vec::new()
            }
        }
    }

    /// The time, for a view that shows something computed from it (an age, a countdown):
    /// such a frame is redrawn every second, any other only when something changes.
    pub fn clock(&self) -> Instant {
        self.clocked.set(true);
        self.now
    }

    /// Whether a frame is owed, without taking it (the loop may hold it back a moment).
    pub fn redraw_pending(&self) -> bool {
        self.redraw
    }

    /// Whether the screen may be out of date; the caller draws it when true.
    pub fn take_redraw(&mut self) -> bool {
        let r = std::mem::take(&mut self.redraw);
        if r {
            self.drawn_at = self.now;
        }
        r
    }

    /// Opens `m` over whatever is open.
    pub fn push_overlay(&mut self, m: Mode) {
        let below = std::mem::replace(&mut self.mode, m);
        if below != Mode::Normal {
            self.under.push(below);
        }
    }

    /// Closes the top overlay; the one below (if any) gets the keys again.
    pub fn pop_overlay(&mut self) {
        self.take_overlay();
    }

    /// Closes the top overlay and hands it over.
    pub fn take_overlay(&mut self) -> Mode {
        let below = self.under.pop().unwrap_or(Mode::Normal);
        std::mem::replace(&mut self.mode, below)
    }

    /// Every open overlay, bottom first (the views draw them in this order).
    pub fn overlays(&self) -> impl Iterator<Item = &Mode> {
        self.under
            .iter()
            .chain(std::iter::once(&self.mode))
            .filter(|m| **m != Mode::Normal)
    }

    /// Closes the first overlay (from the top) that `which` picks, wherever it is in the stack:
    /// an answer that arrives while help is open over its wizard still closes the wizard.
    pub fn close_overlay(&mut self, which: impl Fn(&Mode) -> bool) -> bool {
        if which(&self.mode) {
            self.pop_overlay();
            return true;
        }
        match self.under.iter().rposition(which) {
            Some(i) => {
                self.under.remove(i);
                true
            }
            None => false,
        }
    }

    /// The open wizard, on top or under other overlays.
    pub fn wizard_mut(&mut self) -> Option<&mut wizard::Wizard> {
        std::iter::once(&mut self.mode)
            .chain(self.under.iter_mut().rev())
            .find_map(|m| match m {
                Mode::Wizard(w) => Some(w.as_mut()),
                _ => None,
            })
    }

    /// The VM an action applies to: the one on screen (detail view) or under the cursor.
    pub fn focused_vm(&self) -> Option<(HostId, String)> {
        match &self.view {
            View::Detail { host, uuid } => Some((*host, uuid.clone())),
            View::Console(c) => Some((c.host, c.uuid.clone())),
            View::Preview(p) => Some((p.host, p.uuid.clone())),
            View::Pane(PaneId::Vms) => {
                let (h, vm) = self.vm(self.selected_row()?);
                Some((h.id, vm.uuid.clone()))
            }
            View::Pane(_) | View::Volumes { .. } | View::Secrets { .. } => None,
        }
    }

    /// The host under the dashboard's cursor.
    pub fn dashboard_host(&self) -> Option<HostId> {
        let ord = dashboard::order(
            &self.hosts,
            self.dash.sort,
            self.dash.descending,
            &self.settings.thresholds,
        );
        let i = self.dash.selected.min(ord.len().checked_sub(1)?);
        ord.get(i).map(|&h| self.hosts[h].id)
    }

    /// Position of a host in `hosts` (ids stay stable when hosts are removed).
    pub fn host_index(&self, id: HostId) -> Option<usize> {
        self.hosts.iter().position(|h| h.id == id)
    }

    pub fn host(&self, id: HostId) -> Option<&HostView> {
        self.hosts.iter().find(|h| h.id == id)
    }

    /// Adds a host from the form; its worker is started by the effect. Read-only mode never
    /// persists it: config.toml is left alone.
    pub fn add_host(&mut self, spec: HostSpec, persist: bool) -> Vec<Effect> {
        let persist = persist && !self.settings.readonly;
        let id = HostId(self.next_host_id);
        self.next_host_id += 1;
        self.hosts.push(HostView::new(
            id,
            spec.name.clone(),
            spec.uri.clone(),
            self.settings.history_len,
        ));
        self.messages.push(
            Level::Info,
            format!(
                "added host {} ({}){}",
                spec.name,
                spec.uri,
                if self.settings.readonly {
                    " for this session (read-only: config.toml is not changed)"
                } else {
                    ""
                }
            ),
            self.now,
        );
        self.rebuild();
        vec![Effect::AddHost { id, spec, persist }]
    }

    /// Drops a host and everything that refers to it.
    pub fn remove_host(&mut self, id: HostId) -> Vec<Effect> {
        let Some(i) = self.host_index(id) else {
            return Vec::new();
        };
        let keep = self.cursor_key().filter(|(h, _)| *h != id);
        let h = self.hosts.remove(i);
        self.vms.marks.retain(|(hid, _)| *hid != id);
        self.scopes.forget_host(id);
        if self.vms.vm_scope == Some(id) {
            self.vms.vm_scope = None;
        }
        self.vms.pending.retain(|(hid, _), _| *hid != id);
        // Its worker's late answers are dropped anyway; nobody waits for them any more.
        self.requests.forget_host(id);
        let on_host = match &self.view {
            View::Detail { host, .. } => *host == id,
            View::Console(c) => {
                c.link.detach();
                c.host == id
            }
            View::Preview(p) => {
                p.target.preview.close();
                p.host == id
            }
            _ => false,
        };
        if on_host {
            self.view = View::Pane(PaneId::Vms);
        }
        self.dash.selected = self.dash.selected.min(self.hosts.len().saturating_sub(1));
        // Read-only changes nothing, config.toml included: the host is gone for this session.
        let persist = !self.settings.readonly;
        let note = if persist {
            ""
        } else {
            " for this session (read-only: config.toml is not changed)"
        };
        self.messages.push(
            Level::Info,
            format!("removed host {}{note}", h.name),
            self.now,
        );
        self.rebuild_keeping(keep);
        vec![Effect::RemoveHost {
            id,
            uri: h.uri,
            persist,
        }]
    }

    /// The VM a detail view shows, if it still exists.
    pub fn detail_vm(&self) -> Option<(&HostView, &Vm)> {
        let View::Detail { host, uuid } = &self.view else {
            return None;
        };
        let h = self.host(*host)?;
        Some((h, h.vms.iter().find(|v| &v.uuid == uuid)?))
    }

    pub fn vm(&self, r: RowRef) -> (&HostView, &Vm) {
        let h = &self.hosts[r.host as usize];
        (h, &h.vms[r.idx as usize])
    }

    pub fn selected_row(&self) -> Option<RowRef> {
        self.vms.row_at_cursor()
    }

    pub fn is_marked(&self, host: HostId, uuid: &str) -> bool {
        !self.vms.marks.is_empty() && self.vms.marks.contains(&(host, uuid.to_string()))
    }

    pub fn total_vms(&self) -> usize {
        self.hosts.iter().map(|h| h.vms.len()).sum()
    }

    /// Applies a new filter; the sort order is reused, so a keystroke is one pass.
    /// An invalid pattern keeps the filter in force and says why on the filter line.
    pub fn set_filter(&mut self, text: String) {
        match Filter::parse(&text) {
            Ok(f) => {
                self.vms.filter = f;
                self.vms.filter_error = None;
            }
            Err(e) => self.vms.filter_error = Some(e),
        }
        self.vms.filter_text = text;
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
        let r = self.selected_row().filter(|_| self.vms.cursor_moved)?;
        let (h, vm) = self.vm(r);
        Some((h.id, vm.uuid.clone()))
    }

    fn rebuild_keeping(&mut self, keep: Option<(HostId, String)>) {
        self.vms.sorted = sort_rows(&self.hosts, self.vms.sort, self.vms.descending);
        self.refilter(keep);
    }

    fn refilter(&mut self, keep: Option<(HostId, String)>) {
        let header = self
            .vms
            .header_at_cursor()
            .map(|g| self.vms.groups[g].key.clone());
        self.vms.rows = filter_rows(
            &self.hosts,
            &self.vms.sorted,
            &self.vms.filter,
            self.vms.vm_scope,
        );
        self.vms.groups.clear();
        self.vms.lines.clear();
        if let Some(by) = self.vms.group_by {
            let (rows, groups, lines) =
                groups::build(&self.hosts, &self.vms.rows, by, &self.vms.folded);
            (self.vms.rows, self.vms.groups, self.vms.lines) = (rows, groups, lines);
            // The cursor was on a header: it stays on that group's.
            if let Some(g) = header.and_then(|k| self.vms.groups.iter().position(|g| g.key == k)) {
                self.vms.selected = self.vms.line_of_header(g);
                return;
            }
        }
        if let Some((host, uuid)) = keep {
            if let Some(i) = self.vms.rows.iter().position(|r| {
                let (h, vm) = self.vm(*r);
                h.id == host && vm.uuid == uuid
            }) {
                self.vms.selected = self.vms.line_of_row(i);
                return;
            }
        }
        self.vms.selected = self
            .vms
            .selected
            .min(self.vms.cursor_len().saturating_sub(1));
    }

    fn on_host(&mut self, id: HostId, ev: HostEvent) {
        let now = self.now;
        // Late events from a removed host's worker are dropped.
        let Some(hi) = self.host_index(id) else {
            return;
        };
        let host = &mut self.hosts[hi];
        let name = host.name.clone();
        // What the events pane records of the host's connection.
        let mut noted: Option<(String, bool)> = None;
        match ev {
            HostEvent::Connecting { attempt } => {
                host.status = HostStatus::Connecting { attempt };
            }
            HostEvent::Connected(info) => {
                // A new session polls at `Shown` until told otherwise.
                self.paced.remove(&id);
                host.info = Some(info);
                host.status = HostStatus::Connected;
                host.stalled_since = None;
                // An open storage or network pane asks the new connection on the next tick
                // rather than after its usual interval.
                self.storage.last_refresh = None;
                self.networks.last_refresh = None;
                let text = format!("{name}: connected");
                // A recovery is news; the first connection is not.
                if std::mem::take(&mut host.trouble) {
                    self.messages.push(Level::Info, text, now);
                    noted = Some(("host connected again".into(), false));
                } else {
                    self.messages.log(Level::Info, text, now);
                    noted = Some(("host connected".into(), false));
                }
            }
            HostEvent::Unreachable { error, retry_in } => {
                let repeated = matches!(&host.status, HostStatus::Unreachable { error: e, .. } if *e == error)
                    || matches!(&host.status, HostStatus::Connecting { attempt } if *attempt > 0);
                host.trouble = true;
                host.stalled_since = None;
                host.status = HostStatus::Unreachable {
                    error: error.clone(),
                    retry_at: now + retry_in,
                };
                if !repeated {
                    self.messages
                        .push(Level::Error, format!("{name}: unreachable: {error}"), now);
                    noted = Some((format!("host unreachable: {error}"), true));
                }
            }
            HostEvent::Lost { error } => {
                host.trouble = true;
                host.stalled_since = None;
                host.status = HostStatus::Lost {
                    error: error.clone(),
                };
                self.messages.push(
                    Level::Error,
                    format!("{name}: connection lost: {error}"),
                    now,
                );
                noted = Some((format!("host lost: {error}"), true));
            }
            HostEvent::Stalled { for_ } => {
                host.stalled_since = Some(now.checked_sub(for_).unwrap_or(now));
                host.trouble = true;
                noted = Some(("host not responding".into(), true));
                self.messages.push(
                    Level::Error,
                    format!(
                        "{name}: not responding (a libvirt call has waited {})",
                        crate::fmt::duration(for_)
                    ),
                    now,
                );
            }
            HostEvent::Resumed => {
                if host.stalled_since.take().is_some() {
                    self.messages
                        .push(Level::Info, format!("{name}: responding again"), now);
                    noted = Some(("host responding again".into(), false));
                }
            }
            HostEvent::Snapshot(snap) => {
                // Rows index into the old VM list: read the cursor's VM before replacing it.
                let keep = self.cursor_key();
                let host = &mut self.hosts[hi];
                let applied = host.apply_snapshot(snap);
                if !self.vms.marks.is_empty() {
                    let alive: HashSet<&str> = host.vms.iter().map(|v| v.uuid.as_str()).collect();
                    self.vms
                        .marks
                        .retain(|(h, u)| *h != id || alive.contains(u.as_str()));
                }
                let host = &self.hosts[hi];
                let same_rows = applied.old.len() == host.vms.len()
                    && applied
                        .old
                        .iter()
                        .zip(&host.vms)
                        .all(|(a, b)| a.uuid == b.uuid);
                // Sorting every VM of every host costs milliseconds with thousands of VMs, and
                // a hundred hosts each send a snapshot per poll: the rows stay as they are
                // unless what orders or filters them changed.
                if !same_rows
                    || (applied.rates_changed && table::orders_by_rates(self.vms.sort))
                    || applied
                        .old
                        .iter()
                        .zip(&host.vms)
                        .any(|(a, b)| table::moves(self.vms.sort, a, b))
                {
                    self.rebuild_keeping(keep);
                }
                // The VM table shows neither node readings nor history.
                let charts = applied.node
                    && !(self.view == View::Pane(PaneId::Vms)
                        && matches!(self.mode, Mode::Normal | Mode::Filter));
                if charts || applied.rates_changed || applied.old != self.hosts[hi].vms {
                    self.redraw = true;
                }
            }
            HostEvent::Storage(inv) => self.hosts[hi].storage = Some(inv),
            HostEvent::DomainEvents(list) => events::arrived(self, id, list),
            HostEvent::Reply { id: rid, reply } => requests::answered(self, id, rid, reply),
            HostEvent::Networks(inv) => self.hosts[hi].networks = Some(inv),
            HostEvent::Addresses(map) => self.hosts[hi].addresses = map,
            HostEvent::Caps(caps) => self.hosts[hi].caps = Some(caps),
            HostEvent::NodeDevices(d) => self.hosts[hi].hostdevs = Some(d),
            HostEvent::Migration(update) => migrations::on_update(self, update),
            HostEvent::VmChanged { uuid, details } => detail::answered(self, id, uuid, Ok(details)),
        }
        if let Some((text, bad)) = noted {
            events::note(self, id, ("", ""), events::NoteKind::Host, text, bad);
        }
    }
}

#[cfg(test)]
mod redraw_tests;
#[cfg(test)]
pub(crate) mod tests;
