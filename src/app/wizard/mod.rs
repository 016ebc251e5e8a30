//! A generic multi-page form: text, secret, choice and toggle fields, validation as the user
//! types, and a last page that shows the XML before anything is defined. Each wizard is a
//! [`Spec`] owned by the pane that opens it (new pool, volume and secret: `app::storage`;
//! network: `app::networks`; migrate, evacuate, tune: `app::migrations`; new VM: `app::newvm`;
//! the VM detail forms: `app::detail::forms`). It says which fields it has, how to check them
//! and what to send; this module does the typing, paging and waiting for the host's answer,
//! and names no specific wizard.

pub mod checks;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;

use super::requests::Owner;
use super::{App, Effect, Mode};
use crate::config::keymap::Action;
use crate::host::{HostCommand, RequestId};
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

/// What a wizard is: its fields' checks, what submitting sends, and the hooks its owner (the
/// pane that opens it) needs. The generic wizard types and pages and calls these; it names no
/// specific wizard, and the owners import the wizard, not the other way round.
///
/// `refresh`, `submit` and the hooks are called on a copy (the wizard is borrowed mutably
/// meanwhile): the spec's current state is the one in `w.spec`, read back with
/// `Wizard::spec_as`.
pub trait Spec: SpecBase + std::fmt::Debug + Send {
    /// What submitting does (the last page's key hint and review heading).
    fn verb(&self) -> &'static str;
    /// Re-checks every field and rebuilds the review after a change.
    fn refresh(&self, w: &mut Wizard, ctx: &Context);
    /// The last page was confirmed (`app.mode` holds the wizard).
    fn submit(&self, app: &mut App) -> Vec<Effect>;
    /// The pool the wizard works in: its volumes and free space go into the `Context`.
    fn pool(&self) -> Option<&str> {
        None
    }
    /// Facts only this spec checks against, gathered from the app (`Context::extra`).
    fn facts(&self, _app: &App, _host: HostId) -> Option<Extra> {
        None
    }
    /// The user reached the last page (a migration's checks start there).
    fn on_last_page(&self, _app: &mut App) -> Vec<Effect> {
        Vec::new()
    }
    /// The form re-checks after every host message (new pools, networks, names).
    fn follows_host(&self) -> bool {
        false
    }
    /// Keys this spec adds on `page` (action, what it does), for the hint line.
    fn page_keys(&self, _page: usize) -> Vec<(Action, &'static str)> {
        Vec::new()
    }
    /// A wizard key the generic wizard does not handle itself (the pool's source search).
    fn on_action(&self, _action: Action, _app: &mut App) -> Vec<Effect> {
        Vec::new()
    }
    /// Submitting needs the host connected (a migration's checks page says so on its own).
    fn needs_host(&self) -> bool {
        true
    }
}

/// What every spec gets for free from being `Clone + PartialEq`: copying and comparing it
/// behind `dyn Spec`, and reading its own type back.
pub trait SpecBase {
    fn boxed(&self) -> Box<dyn Spec>;
    fn as_any(&self) -> &dyn std::any::Any;
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;
    /// Equal to `other` (same type, same contents).
    fn same(&self, other: &dyn Spec) -> bool;
}

impl<T: Spec + Clone + PartialEq + 'static> SpecBase for T {
    fn boxed(&self) -> Box<dyn Spec> {
        Box::new(self.clone())
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }

    fn same(&self, other: &dyn Spec) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }
}

/// A spec's own facts, carried in the `Context` without the wizard knowing their type.
pub type Extra = std::sync::Arc<dyn std::any::Any + Send + Sync>;

impl Clone for Box<dyn Spec> {
    fn clone(&self) -> Self {
        self.boxed()
    }
}

/// The line above the review page's document, from what submitting does.
fn review_heading(verb: &str) -> &'static str {
    match verb {
        "define" => "This is what will be defined:",
        "delete" => "This is what will be deleted:",
        "create" | "clone" => "This is what will be created:",
        "attach" => "This device will be attached:",
        _ => "This is what will change:",
    }
}

/// Where a submitted wizard stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Submit {
    Editing,
    /// Sent to the host; the answer carries this id.
    Waiting(crate::host::RequestId),
}

#[derive(Clone, Debug)]
pub struct Wizard {
    pub title: String,
    /// The host the wizard acts on.
    pub host: HostId,
    /// Which wizard this is: its checks, its submit and its own memory.
    pub spec: Box<dyn Spec>,
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
    /// A submitted job with progress (new VM), and the labels of its steps in order.
    pub job: Option<(crate::job::Job, Vec<String>)>,
    /// A spec's memory between refreshes, by key (the network wizard's last valid subnet).
    pub memo: std::collections::BTreeMap<&'static str, String>,
    /// What the wizard did on its own that the user should know before confirming (a DHCP
    /// range moved with its subnet): shown above the review's document.
    pub review_notes: Vec<String>,
    /// File-system checks asked for and their answers (`checks`).
    pub checks: checks::Checks,
    /// Pass over pages whose fields are all hidden (a method that needs none of them);
    /// otherwise such a page shows its note ("no storage choices…").
    pub skip_empty: bool,
}

impl PartialEq for Wizard {
    fn eq(&self, o: &Self) -> bool {
        self.host == o.host
            && self.spec.same(o.spec.as_ref())
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
        host: HostId,
        spec: impl Spec + 'static,
        pages: Vec<&'static str>,
        fields: Vec<Field>,
    ) -> Wizard {
        let mut w = Wizard {
            title: title.into(),
            host,
            spec: Box::new(spec),
            pages,
            page: 0,
            fields,
            focus: 0,
            review: None,
            review_scroll: 0,
            submit: Submit::Editing,
            error: None,
            note: None,
            job: None,
            memo: Default::default(),
            review_notes: Vec::new(),
            checks: Default::default(),
            skip_empty: false,
        };
        w.focus_first();
        w
    }

    /// The spec as its own type (None when this wizard is another one).
    pub fn spec_as<T: 'static>(&self) -> Option<&T> {
        self.spec.as_any().downcast_ref()
    }

    pub fn spec_as_mut<T: 'static>(&mut self) -> Option<&mut T> {
        self.spec.as_any_mut().downcast_mut()
    }

    /// The last page's action, for its key hint: each confirmation names what it does.
    pub fn verb(&self) -> &'static str {
        self.spec.verb()
    }

    /// The line above the review page's document.
    pub fn review_heading(&self) -> &'static str {
        review_heading(self.spec.verb())
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

    pub fn set_toggle(&mut self, key: &str, on: bool) {
        if let Some(Input::Toggle(t)) = self.field_mut(key).map(|f| &mut f.input) {
            *t = on;
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
            // A page whose fields are all hidden (a method that needs none of them) is
            // passed over; the last page is the review and always shown.
            while self.skip_empty
                && self.page + 1 < self.pages.len()
                && !self.page_has_fields(self.page)
            {
                self.page += 1;
            }
            self.review_scroll = 0;
            self.focus_first();
        }
        true
    }

    fn page_has_fields(&self, page: usize) -> bool {
        self.fields.iter().any(|f| f.page == page && f.visible)
    }

    /// Back one page; false on the first page (the caller closes the wizard).
    pub fn prev_page(&mut self) -> bool {
        if self.page == 0 {
            return false;
        }
        self.page -= 1;
        while self.skip_empty && self.page > 0 && !self.page_has_fields(self.page) {
            self.page -= 1;
        }
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
            Input::Text(t) | Input::Secret(t) => crate::app::add_host::edit_line(t, ev),
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
    /// What the host can give a guest (UEFI, TPM), once asked (`HostCommand::Caps`).
    pub caps: Option<Result<crate::xml::domcaps::GuestCaps, String>>,
    /// The host's devices for passthrough, once asked (`HostCommand::NodeDevices`).
    pub hostdevs: Option<Result<crate::model::hostdev::HostDevices, String>>,
    /// What only the open wizard's spec checks against (`Spec::facts`).
    pub extra: Option<Extra>,
}

impl Context {
    /// The spec's own facts, as its type.
    pub fn extra<T: 'static>(&self) -> Option<&T> {
        self.extra.as_ref().and_then(|e| e.downcast_ref())
    }
}

/// The facts the open-or-opening wizard `spec` on `host` checks against.
pub fn context(app: &App, host: HostId, spec: &dyn Spec) -> Context {
    let mut ctx = host_context(app, host, spec.pool());
    ctx.extra = spec.facts(app, host);
    ctx
}

/// The facts a wizard on `host` checks against, from what the app knows of the host
/// (`pool`: the pool it works in).
pub fn host_context(app: &App, host: HostId, pool: Option<&str>) -> Context {
    let inv = app.host(host).and_then(|h| h.storage.as_ref());
    let p = pool.and_then(|n| inv?.pools.iter().find(|p| p.name == n));
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
        caps: app.host(host).and_then(|h| h.caps.clone()),
        hostdevs: app.host(host).and_then(|h| h.hostdevs.clone()),
        extra: None,
    }
}

/// Re-checks every field and rebuilds the review after a change.
pub fn refresh(w: &mut Wizard, ctx: &Context) {
    let spec = w.spec.clone();
    spec.refresh(w, ctx);
}

/// Re-checks the open wizard with what the app now knows (unless it waits for an answer).
pub fn refresh_open(app: &mut App) {
    let Mode::Wizard(w) = &app.mode else {
        return;
    };
    let ctx = context(app, w.host, w.spec.as_ref());
    if let Mode::Wizard(w) = &mut app.mode {
        if w.submit == Submit::Editing {
            refresh(w, &ctx);
        }
    }
}

/// Checks `w` against what the app knows and shows it over the screen.
pub fn open(app: &mut App, mut w: Wizard) -> Vec<Effect> {
    let ctx = context(app, w.host, w.spec.as_ref());
    refresh(&mut w, &ctx);
    app.push_overlay(Mode::Wizard(Box::new(w)));
    Vec::new()
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
    let spec = w.spec.clone();
    if spec.needs_host() {
        if let Some(p) = app.host(w.host).and_then(super::lifecycle::host_problem) {
            if let Mode::Wizard(w) = &mut app.mode {
                w.error = Some(p);
            }
            return Vec::new();
        }
    }
    spec.submit(app)
}

/// Sends the command `build` makes of the open wizard (with the request id its answer carries); the wizard
/// waits for the answer, or shows why nothing could be built.
pub fn send(
    app: &mut App,
    build: impl FnOnce(&mut Wizard, &Context, RequestId) -> Result<HostCommand, String>,
) -> Vec<Effect> {
    let Mode::Wizard(w) = &app.mode else {
        return Vec::new();
    };
    let host = w.host;
    let ctx = context(app, host, w.spec.as_ref());
    let id = app.requests.issue(host, Owner::Wizard);
    let Mode::Wizard(w) = &mut app.mode else {
        return Vec::new();
    };
    match build(w, &ctx, id) {
        Ok(cmd) => {
            w.submit = Submit::Waiting(id);
            w.error = None;
            vec![Effect::Host(host, cmd)]
        }
        Err(e) => {
            w.error = Some(e);
            app.requests.forget(id);
            Vec::new()
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
