//! A generic multi-page form: text, secret, choice and toggle fields, validation as the user
//! types, and a last page that shows the XML before anything is defined. The wizards (new
//! pool, volume, secret, network…) only say which fields they have, how to check them and what
//! to build; this module does the typing, paging and waiting for the host's answer.

pub mod checks;
pub mod download;
pub mod evacuate;
pub mod migrate;
pub mod network;
pub mod newvm;
pub mod pool;
pub mod secret;
pub mod volume;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;

use super::jobs::JobKind;
use super::requests::Owner;
use super::{App, Effect, Mode};
use crate::host::{HostCommand, StorageCmd};
use crate::job::Job;
use crate::model::HostId;

/// What a field holds.
#[derive(Clone, Debug)]
pub enum Input {
    Text(TextArea<'static>),
    /// Typed text drawn as dots (secret values).
    Secret(TextArea<'static>),
    /// One of `options`; ←/→ cycle.
    Choice {
        options: Vec<String>,
        selected: usize,
    },
    Toggle(bool),
    /// A searchable list: typed text filters, ←/→ move through the matches. The spec fills
    /// `items` (value, label) from the query on every refresh; the value is the chosen item's.
    Pick {
        query: TextArea<'static>,
        items: Vec<(String, String)>,
        selected: usize,
    },
}

#[derive(Clone, Debug)]
pub struct Field {
    pub key: &'static str,
    pub label: &'static str,
    /// One line under the field when it is focused and has no error.
    pub hint: String,
    pub page: usize,
    pub input: Input,
    pub visible: bool,
    pub error: Option<String>,
    /// Shown but does not block (an overlap, a guess).
    pub warning: Option<String>,
}

impl Field {
    fn new(key: &'static str, label: &'static str, page: usize, input: Input) -> Field {
        Field {
            key,
            label,
            hint: String::new(),
            page,
            input,
            visible: true,
            error: None,
            warning: None,
        }
    }

    pub fn text(key: &'static str, label: &'static str, page: usize, value: &str) -> Field {
        Field::new(key, label, page, Input::Text(text_area(value)))
    }

    pub fn secret(key: &'static str, label: &'static str, page: usize) -> Field {
        let mut t = text_area("");
        t.set_mask_char('•');
        Field::new(key, label, page, Input::Secret(t))
    }

    pub fn choice(key: &'static str, label: &'static str, page: usize, options: &[&str]) -> Field {
        Field::new(
            key,
            label,
            page,
            Input::Choice {
                options: options.iter().map(|s| s.to_string()).collect(),
                selected: 0,
            },
        )
    }

    pub fn toggle(key: &'static str, label: &'static str, page: usize, on: bool) -> Field {
        Field::new(key, label, page, Input::Toggle(on))
    }

    pub fn pick(key: &'static str, label: &'static str, page: usize) -> Field {
        Field::new(
            key,
            label,
            page,
            Input::Pick {
                query: text_area(""),
                items: Vec::new(),
                selected: 0,
            },
        )
    }

    pub fn hint(mut self, h: &str) -> Field {
        self.hint = h.to_string();
        self
    }

    /// The field's value as text: typed text (trimmed), the chosen option, "yes"/"no".
    pub fn value(&self) -> String {
        match &self.input {
            Input::Text(t) | Input::Secret(t) => t.lines().concat().trim().to_string(),
            Input::Choice { options, selected } => {
                options.get(*selected).cloned().unwrap_or_default()
            }
            Input::Toggle(on) => if *on { "yes" } else { "no" }.to_string(),
            Input::Pick {
                items, selected, ..
            } => items
                .get(*selected)
                .map(|i| i.0.clone())
                .unwrap_or_default(),
        }
    }

    /// What was typed into a searchable list's filter ("" for other inputs).
    pub fn query(&self) -> String {
        match &self.input {
            Input::Pick { query, .. } => query.lines().concat().trim().to_string(),
            _ => String::new(),
        }
    }

    fn editable(&self) -> bool {
        self.visible
    }
}

fn text_area(value: &str) -> TextArea<'static> {
    let mut t = TextArea::new(vec![value.to_string()]);
    t.set_cursor_line_style(ratatui::style::Style::default());
    t.move_cursor(ratatui_textarea::CursorMove::End);
    t
}

/// A form another pane owns (the VM detail screen's): this module types and pages, the owner
/// checks the fields, names the action and sends it. The wizard so carries the form without
/// naming it (or the pane), and the owner imports the wizard, not the other way round.
///
/// `refresh` and `submit` are called on a copy (the wizard is borrowed mutably meanwhile): the
/// spec's current state is the one in `w.kind`, read back with `as_any`.
pub trait Spec: std::fmt::Debug + Send {
    /// What submitting does (the last page's key hint and review heading).
    fn verb(&self) -> &'static str;
    /// Re-checks every field and rebuilds the review after a change.
    fn refresh(&self, w: &mut Wizard, ctx: &Context);
    /// The last page was confirmed (`app.mode` holds the wizard).
    fn submit(&self, app: &mut App) -> Vec<Effect>;
    fn boxed(&self) -> Box<dyn Spec>;
    /// The owner reads (and updates) its own type back out of the wizard.
    fn as_any(&self) -> &dyn std::any::Any;
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;
    /// Equal to `other` (same type, same contents).
    fn same(&self, other: &dyn Spec) -> bool;
}

impl Clone for Box<dyn Spec> {
    fn clone(&self) -> Self {
        self.boxed()
    }
}

impl PartialEq for Box<dyn Spec> {
    fn eq(&self, other: &Self) -> bool {
        self.same(other.as_ref())
    }
}

/// Which wizard this is, and what it acts on.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Pool {
        host: HostId,
    },
    Volume {
        host: HostId,
        pool: String,
    },
    Clone {
        host: HostId,
        pool: String,
        source: String,
    },
    Resize {
        host: HostId,
        pool: String,
        volume: String,
        capacity: u64,
    },
    Upload {
        host: HostId,
        pool: String,
        volume: String,
        capacity: u64,
    },
    Download {
        host: HostId,
        pool: String,
        volume: String,
    },
    Secret {
        host: HostId,
    },
    SecretValue {
        host: HostId,
        uuid: String,
    },
    Network {
        host: HostId,
    },
    /// VMs of `host` (uuid, name) to one of `targets` (the other connected hosts).
    Migrate {
        host: HostId,
        vms: Vec<(String, String)>,
        targets: Vec<(HostId, String)>,
    },
    /// Every running VM of `host` (named `name`) to the other connected hosts.
    Evacuate {
        host: HostId,
        name: String,
        vms: Vec<crate::migrate::plan::VmLoad>,
        targets: Vec<(HostId, String)>,
    },
    /// Speed and downtime of running migration `id` (its source is `host`).
    MigrationTune {
        host: HostId,
        id: crate::model::migration::MigrationId,
    },
    /// A form of the VM detail screen (edit, attach, snapshot, clone, delete): the detail
    /// pane owns it (`app::detail::forms`).
    Vm {
        host: HostId,
        spec: Box<dyn Spec>,
    },
    NewVm {
        host: HostId,
    },
}

impl Kind {
    /// The last page's action, for its key hint: each confirmation names what it does.
    pub fn submit_verb(&self) -> &'static str {
        match self {
            Kind::Pool { .. }
            | Kind::Volume { .. }
            | Kind::Secret { .. }
            | Kind::Network { .. } => "define",
            Kind::Clone { .. } => "clone",
            Kind::Resize { .. } => "resize",
            Kind::Upload { .. } => "upload",
            Kind::Download { .. } => "download",
            Kind::SecretValue { .. } => "set",
            Kind::Migrate { .. } => "migrate",
            Kind::Evacuate { .. } => "evacuate",
            Kind::MigrationTune { .. } => "apply",
            Kind::NewVm { .. } => "create",
            Kind::Vm { spec, .. } => spec.verb(),
        }
    }

    /// The line above the review page's document.
    pub fn review_heading(&self) -> &'static str {
        match self.submit_verb() {
            "define" => "This is what will be defined:",
            "delete" => "This is what will be deleted:",
            "create" | "clone" => "This is what will be created:",
            "attach" => "This device will be attached:",
            _ => "This is what will change:",
        }
    }

    pub fn host(&self) -> HostId {
        match self {
            Kind::Pool { host }
            | Kind::Volume { host, .. }
            | Kind::Clone { host, .. }
            | Kind::Resize { host, .. }
            | Kind::Upload { host, .. }
            | Kind::Download { host, .. }
            | Kind::Secret { host }
            | Kind::SecretValue { host, .. }
            | Kind::Network { host }
            | Kind::Migrate { host, .. }
            | Kind::Evacuate { host, .. }
            | Kind::MigrationTune { host, .. }
            | Kind::Vm { host, .. }
            | Kind::NewVm { host } => *host,
        }
    }
}

/// Where a submitted wizard stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Submit {
    Editing,
    /// Sent to the host; the answer carries this tag.
    Waiting(crate::host::RequestId),
}

#[derive(Clone, Debug)]
pub struct Wizard {
    pub title: String,
    pub kind: Kind,
    /// Page titles; the last page is the review when `review` is set.
    pub pages: Vec<&'static str>,
    pub page: usize,
    pub fields: Vec<Field>,
    /// Index into `fields` of the focused one.
    pub focus: usize,
    /// The document that will be defined (review page), or why it cannot be built yet.
    pub review: Option<Result<String, String>>,
    pub review_scroll: u16,
    pub submit: Submit,
    /// The host's answer to the last submit (the form keeps what was typed).
    pub error: Option<String>,
    /// A note from an async helper (source discovery…).
    pub note: Option<String>,
    /// Sources the host found (pool wizard), and which one was last copied into the fields.
    pub sources: Vec<crate::model::storage::PoolSource>,
    pub source_applied: Option<usize>,
    /// A submitted job with progress (new VM), and the labels of its steps in order.
    pub job: Option<(Job, Vec<String>)>,
    /// The new-VM wizard's own memory (detection, which OS defaults were applied).
    pub newvm: Option<Box<newvm::State>>,
    /// A spec's memory between refreshes, by key (the network wizard's last valid subnet).
    pub memo: std::collections::BTreeMap<&'static str, String>,
    /// What the wizard did on its own that the user should know before confirming (a DHCP
    /// range moved with its subnet): shown above the review's document.
    pub review_notes: Vec<String>,
    /// File-system checks asked for and their answers (`checks`).
    pub checks: checks::Checks,
}

impl PartialEq for Wizard {
    fn eq(&self, o: &Self) -> bool {
        self.kind == o.kind
            && self.page == o.page
            && self.focus == o.focus
            && self.submit == o.submit
            && self.error == o.error
            && self.fields.len() == o.fields.len()
            && self
                .fields
                .iter()
                .zip(&o.fields)
                .all(|(a, b)| a.key == b.key && a.value() == b.value())
    }
}

impl Wizard {
    pub fn new(
        title: impl Into<String>,
        kind: Kind,
        pages: Vec<&'static str>,
        fields: Vec<Field>,
    ) -> Wizard {
        let mut w = Wizard {
            title: title.into(),
            kind,
            pages,
            page: 0,
            fields,
            focus: 0,
            review: None,
            review_scroll: 0,
            submit: Submit::Editing,
            error: None,
            note: None,
            sources: Vec::new(),
            source_applied: None,
            job: None,
            newvm: None,
            memo: Default::default(),
            review_notes: Vec::new(),
            checks: Default::default(),
        };
        w.focus_first();
        w
    }

    pub fn field(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.key == key)
    }

    pub fn field_mut(&mut self, key: &str) -> Option<&mut Field> {
        self.fields.iter_mut().find(|f| f.key == key)
    }

    /// A field's value ("" when there is no such field).
    pub fn get(&self, key: &str) -> String {
        self.field(key).map(Field::value).unwrap_or_default()
    }

    pub fn on(&self, key: &str) -> bool {
        matches!(self.field(key).map(|f| &f.input), Some(Input::Toggle(true)))
    }

    pub fn set_text(&mut self, key: &str, value: &str) {
        if let Some(f) = self.field_mut(key) {
            match &mut f.input {
                Input::Text(t) => *t = text_area(value),
                Input::Secret(t) => {
                    *t = text_area(value);
                    t.set_mask_char('•');
                }
                _ => {}
            }
        }
    }

    pub fn set_options(&mut self, key: &str, opts: Vec<String>) {
        if let Some(f) = self.field_mut(key) {
            if let Input::Choice { options, selected } = &mut f.input {
                let keep = options.get(*selected).cloned();
                *selected = keep
                    .and_then(|k| opts.iter().position(|o| *o == k))
                    .unwrap_or(0);
                *options = opts;
            }
        }
    }

    /// Replaces a searchable list's matches. A value the user moved to stays chosen while it
    /// is still there; the first (best) match is a default and follows the new list.
    pub fn set_items(&mut self, key: &str, new: Vec<(String, String)>) {
        if let Some(f) = self.field_mut(key) {
            if let Input::Pick {
                items, selected, ..
            } = &mut f.input
            {
                let keep = items
                    .get(*selected)
                    .filter(|_| *selected > 0)
                    .map(|i| i.0.clone());
                *selected = keep
                    .and_then(|k| new.iter().position(|i| i.0 == k))
                    .unwrap_or(0);
                *items = new;
            }
        }
    }

    /// Sets a searchable list's filter text (the spec refreshes the matches).
    pub fn set_query(&mut self, key: &str, value: &str) {
        if let Some(f) = self.field_mut(key) {
            if let Input::Pick {
                query, selected, ..
            } = &mut f.input
            {
                *query = text_area(value);
                *selected = 0;
            }
        }
    }

    /// Sets a choice by its text; false when it is not one of the options.
    pub fn choose(&mut self, key: &str, value: &str) -> bool {
        if let Some(f) = self.field_mut(key) {
            if let Input::Choice { options, selected } = &mut f.input {
                if let Some(i) = options.iter().position(|o| o == value) {
                    *selected = i;
                    return true;
                }
            }
        }
        false
    }

    /// The review page also has fields (new VM: name, toggles): the XML then scrolls with
    /// PageUp/PageDown and the other keys edit the fields.
    pub fn review_has_fields(&self) -> bool {
        self.fields
            .iter()
            .any(|f| f.page + 1 == self.pages.len() && f.visible)
    }

    pub fn is_review(&self) -> bool {
        self.review.is_some() && self.page + 1 == self.pages.len()
    }

    fn on_page(&self, i: usize) -> bool {
        self.fields[i].page == self.page && self.fields[i].editable()
    }

    fn focus_first(&mut self) {
        self.focus = (0..self.fields.len())
            .find(|&i| self.on_page(i))
            .unwrap_or(0);
    }

    pub fn next_field(&mut self, forward: bool) {
        let n = self.fields.len();
        if n == 0 {
            return;
        }
        for step in 1..=n {
            let i = if forward {
                (self.focus + step) % n
            } else {
                (self.focus + n - step) % n
            };
            if self.on_page(i) {
                self.focus = i;
                return;
            }
        }
    }

    /// Fields of the current page that stop the user from going on.
    pub fn page_errors(&self) -> Vec<&Field> {
        self.fields
            .iter()
            .filter(|f| f.page == self.page && f.visible && f.error.is_some())
            .collect()
    }

    /// Goes to the next page when this one is valid; false when it is not (focus moves to
    /// the first bad field).
    pub fn next_page(&mut self) -> bool {
        if let Some(i) = self
            .fields
            .iter()
            .position(|f| f.page == self.page && f.visible && f.error.is_some())
        {
            self.focus = i;
            return false;
        }
        if self.page + 1 < self.pages.len() {
            self.page += 1;
            self.review_scroll = 0;
            self.focus_first();
        }
        true
    }

    /// Back one page; false on the first page (the caller closes the wizard).
    pub fn prev_page(&mut self) -> bool {
        if self.page == 0 {
            return false;
        }
        self.page -= 1;
        self.error = None;
        self.focus_first();
        true
    }

    /// Typing into the focused field. Returns true when a value changed (re-validate).
    /// Pasted text (already one line) into the focused text field; false when the focus is
    /// not on one (a choice, a toggle, the review page).
    pub fn paste(&mut self, line: &str) -> bool {
        let review_only = self.is_review() && !self.review_has_fields();
        let focus = self.focus;
        if self.submit != Submit::Editing
            || review_only
            || focus >= self.fields.len()
            || !self.on_page(focus)
        {
            return false;
        }
        match &mut self.fields[focus].input {
            Input::Text(t) | Input::Secret(t) => {
                t.insert_str(line);
            }
            Input::Pick {
                query,
                items,
                selected,
            } => {
                // As typing does: a new filter starts at its best match.
                items.clear();
                *selected = 0;
                query.insert_str(line);
            }
            Input::Choice { .. } | Input::Toggle(_) => return false,
        }
        true
    }

    pub fn input(&mut self, ev: KeyEvent) -> bool {
        if self.submit != Submit::Editing {
            return false;
        }
        if self.is_review() && self.review_has_fields() {
            match ev.code {
                KeyCode::PageDown => {
                    self.review_scroll += 10;
                    return false;
                }
                KeyCode::PageUp => {
                    self.review_scroll = self.review_scroll.saturating_sub(10);
                    return false;
                }
                _ => {}
            }
        } else if self.is_review() {
            match ev.code {
                KeyCode::Down | KeyCode::Char('j') => self.review_scroll += 1,
                KeyCode::Up | KeyCode::Char('k') => {
                    self.review_scroll = self.review_scroll.saturating_sub(1)
                }
                KeyCode::PageDown => self.review_scroll += 10,
                KeyCode::PageUp => self.review_scroll = self.review_scroll.saturating_sub(10),
                _ => {}
            }
            return false;
        }
        let focus = self.focus;
        // A page whose fields are all hidden leaves the focus on another page: type into
        // nothing rather than into a field the user cannot see.
        if !(0..self.fields.len()).any(|i| self.on_page(i)) {
            return false;
        }
        let Some(f) = self.fields.get_mut(focus) else {
            return false;
        };
        match &mut f.input {
            Input::Text(t) | Input::Secret(t) => crate::app::form::edit_line(t, ev),
            Input::Choice { options, selected } => {
                let n = options.len().max(1);
                match ev.code {
                    KeyCode::Right | KeyCode::Char(' ') | KeyCode::Char('l') => {
                        *selected = (*selected + 1) % n
                    }
                    KeyCode::Left | KeyCode::Char('h') => *selected = (*selected + n - 1) % n,
                    _ => return false,
                }
                true
            }
            Input::Toggle(on) => match ev.code {
                KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right => {
                    *on = !*on;
                    true
                }
                _ => false,
            },
            Input::Pick {
                query,
                items,
                selected,
            } => match ev.code {
                KeyCode::Right => {
                    *selected = (*selected + 1).min(items.len().saturating_sub(1));
                    true
                }
                KeyCode::Left => {
                    *selected = selected.saturating_sub(1);
                    true
                }
                KeyCode::Enter => false,
                _ => {
                    let changed = query.input(ev);
                    // A new filter starts at its best match (the spec refills the list).
                    if changed {
                        items.clear();
                        *selected = 0;
                    }
                    changed
                }
            },
        }
    }
}

/// Host facts a wizard checks against (duplicate names, overlaps, choices).
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub pools: Vec<String>,
    /// `pools` is the host's answer (its storage inventory or a poll's pool figures), not
    /// "nothing known yet".
    pub pools_known: bool,
    /// Volumes of the pool the wizard works in: (name, path, format, capacity).
    pub volumes: Vec<(String, String, String, u64)>,
    pub secrets: Vec<crate::model::storage::Secret>,
    /// Free bytes in the pool the wizard works in.
    pub available: Option<u64>,
    /// The type of the pool the wizard works in (dir, logical…): volume names follow it.
    pub pool_kind: Option<String>,
    /// The host is this machine (local paths can be checked).
    pub local: bool,
    pub networks: Vec<crate::model::network::Network>,
    pub ifaces: Vec<crate::model::network::HostIface>,
    /// Everything the new-VM wizard checks against (only for `Kind::NewVm`).
    pub newvm: Option<Box<newvm::Facts>>,
}

/// The facts a wizard checks against, from what the app knows of the host.
pub fn context(app: &App, kind: &Kind) -> Context {
    let host = kind.host();
    let inv = super::storage::inventory(app, host);
    let pool_name = match kind {
        Kind::Volume { pool, .. }
        | Kind::Clone { pool, .. }
        | Kind::Resize { pool, .. }
        | Kind::Upload { pool, .. }
        | Kind::Download { pool, .. } => Some(pool.as_str()),
        _ => None,
    };
    let p = pool_name.and_then(|n| super::storage::pool(app, host, n));
    let nets = app.host(host).and_then(|h| h.networks.as_ref());
    // Before the pools pane was ever opened, the poll's pool figures name the active pools.
    let polled: Vec<String> = app
        .host(host)
        .map(|h| h.node.pools.iter().map(|p| p.name.clone()).collect())
        .unwrap_or_default();
    Context {
        pools_known: inv.is_some() || !polled.is_empty(),
        pools: inv
            .map(|i| i.pools.iter().map(|p| p.name.clone()).collect())
            .unwrap_or(polled),
        volumes: p
            .map(|p| {
                p.volumes
                    .iter()
                    .map(|v| (v.name.clone(), v.path.clone(), v.format.clone(), v.capacity))
                    .collect()
            })
            .unwrap_or_default(),
        secrets: inv.map(|i| i.secrets.clone()).unwrap_or_default(),
        available: p.map(|p| p.available),
        pool_kind: p.map(|p| p.kind.clone()),
        local: app
            .host(host)
            .is_some_and(|h| crate::host::is_local_uri(&h.uri)),
        networks: nets.map(|n| n.networks.clone()).unwrap_or_default(),
        ifaces: nets.map(|n| n.ifaces.clone()).unwrap_or_default(),
        newvm: matches!(kind, Kind::NewVm { .. }).then(|| Box::new(newvm::facts(app, host))),
    }
}

/// Re-checks every field and rebuilds the review after a change.
pub fn refresh(w: &mut Wizard, ctx: &Context) {
    match w.kind.clone() {
        Kind::Pool { .. } => pool::refresh(w, ctx),
        Kind::Secret { .. } | Kind::SecretValue { .. } => secret::refresh(w, ctx),
        Kind::Network { .. } => network::refresh(w, ctx),
        Kind::Migrate { .. } | Kind::MigrationTune { .. } => migrate::refresh(w),
        Kind::Evacuate { .. } => evacuate::refresh(w),
        Kind::Vm { spec, .. } => spec.refresh(w, ctx),
        Kind::NewVm { .. } => newvm::refresh(w, ctx),
        Kind::Volume { .. }
        | Kind::Clone { .. }
        | Kind::Resize { .. }
        | Kind::Upload { .. }
        | Kind::Download { .. } => volume::refresh(w, ctx),
    }
}

/// Sets the error of `key` (None clears it).
pub fn check(w: &mut Wizard, key: &str, result: Result<(), String>) {
    if let Some(f) = w.field_mut(key) {
        f.error = if f.visible { result.err() } else { None };
    }
}

/// The wizard's last page was confirmed: send what it built.
pub fn submit(app: &mut App) -> Vec<Effect> {
    let Mode::Wizard(w) = &app.mode else {
        return Vec::new();
    };
    match w.kind {
        Kind::Migrate { .. } => return super::migrations::submit(app),
        Kind::Evacuate { .. } => return super::migrations::submit_evacuation(app),
        Kind::MigrationTune { .. } => return super::migrations::submit_tune(app),
        _ => {}
    }
    let host = w.kind.host();
    if let Some(h) = app.host(host) {
        if let Some(p) = super::lifecycle::host_problem(h) {
            if let Mode::Wizard(w) = &mut app.mode {
                w.error = Some(p);
            }
            return Vec::new();
        }
    }
    if let Kind::Vm { spec, .. } = &w.kind {
        let spec = spec.clone();
        return spec.submit(app);
    }
    // Transfers are jobs, not tagged requests.
    let job_cmd = match &w.kind {
        Kind::Upload { pool, volume, .. } => Some((
            JobKind::Upload,
            format!("upload into {volume}"),
            pool.clone(),
            volume.clone(),
            w.get("file"),
            true,
        )),
        Kind::Download { pool, volume, .. } => {
            let file = download::target(w);
            Some((
                JobKind::Download,
                format!("download of {volume} to {}", file.display()),
                pool.clone(),
                volume.clone(),
                file.display().to_string(),
                false,
            ))
        }
        _ => None,
    };
    if let Some((kind, label, pool, volume, file, up)) = job_cmd {
        let job = Job::new(label);
        let target = format!("{pool}/{volume}");
        let file = std::path::PathBuf::from(file);
        let cmd = if up {
            StorageCmd::Upload {
                pool,
                volume,
                file,
                job: job.clone(),
            }
        } else {
            StorageCmd::Download {
                pool,
                volume,
                file,
                job: job.clone(),
            }
        };
        app.jobs.add(kind, host, target, job, app.now);
        app.pop_overlay();
        return vec![Effect::Host(host, HostCommand::Storage(cmd))];
    }
    let ctx = context(app, &w.kind);
    let tag = app.requests.issue(host, Owner::Wizard);
    let Mode::Wizard(w) = &mut app.mode else {
        return Vec::new();
    };
    let cmd = match &w.kind {
        Kind::NewVm { .. } => newvm::command(w, &ctx, tag),
        Kind::Pool { .. } => pool::command(w, tag).map(HostCommand::Storage),
        Kind::Secret { .. } | Kind::SecretValue { .. } => {
            secret::command(w, tag).map(HostCommand::Storage)
        }
        Kind::Network { .. } => network::command(w, tag).map(HostCommand::Network),
        _ => volume::command(w, tag).map(HostCommand::Storage),
    };
    match cmd {
        Ok(cmd) => {
            w.submit = Submit::Waiting(tag);
            w.error = None;
            // A VM creation is a job of the fleet too: the jobs pane shows and cancels it.
            if let HostCommand::CreateVm(c) = &cmd {
                let (name, job) = (c.spec.name.clone(), c.job.clone());
                app.jobs.add(JobKind::NewVm, host, name, job, app.now);
            }
            vec![Effect::Host(host, cmd)]
        }
        Err(e) => {
            w.error = Some(e);
            app.requests.forget(tag);
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests;
