//! The pane registry: every screen's `:` name, aliases, keymap section and how to open it.
//! The palette, `-` (back), help and the status bar read it; the README's design section lists
//! the few other places a new pane touches and why.

use std::collections::HashMap;

use super::filter::Filter;
use super::{App, Effect, View};
use crate::config::keymap::{Action, Section};
use crate::model::HostId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PaneId {
    Dashboard,
    Vms,
    Detail,
    Console,
    Preview,
    Pools,
    Volumes,
    Secrets,
    Networks,
    Migrations,
    Jobs,
    Events,
    HostDevs,
}

/// One screen's behaviour. Its state lives in `App` (the palette, the mouse and host events
/// reach it there); the pane says what its actions do, what to hint and what to do as time
/// passes. Its view is `ui::whole_pane`'s line or its `View` variant's arm in `ui::render`
/// (the views stay pure functions of the state).
pub trait Pane: Sync {
    /// What an action of its keymap section does (after the keys every pane shares:
    /// switching panes, the palette, help, log, quit).
    fn on_action(&self, app: &mut App, action: Action) -> Vec<Effect>;
    /// The status bar's hints, most useful first (the keys come from the keymap).
    fn hints(&self, app: &App) -> &'static [(Action, &'static str)];
    /// Every tick, shown or not (refresh intervals, finished work).
    fn tick(&self, _app: &mut App) -> Vec<Effect> {
        Vec::new()
    }
    /// Its list's cursor and length, for the mouse (None: no list to click).
    fn cursor(&self, _app: &App) -> Option<(usize, usize)> {
        None
    }
    /// The mouse picked row `i` (within the length `cursor` gave): move there as the keys do.
    fn select(&self, _app: &mut App, _i: usize) -> Vec<Effect> {
        Vec::new()
    }
    /// The cursor's place for the status bar's right end (`3/12 pools`); screens of one VM
    /// show the VM table's.
    fn position(&self, app: &App) -> String {
        super::vms::position(app)
    }
    /// It was opened as `View::Pane` (a whole pane): ask the hosts for what it shows.
    fn opened(&self, _app: &mut App) -> Vec<Effect> {
        Vec::new()
    }
}

/// ` 3/12 pools `: the cursor (0-based `sel`, clamped) among `n` rows of `what`.
pub fn position(sel: usize, n: usize, what: &str) -> String {
    let pos = if n == 0 { 0 } else { sel.min(n - 1) + 1 };
    format!(" {pos}/{n} {what} ")
}

pub struct PaneSpec {
    pub id: PaneId,
    pub pane: &'static dyn Pane,
    /// The action of its number key (`3` → pools), bound in every pane's section.
    pub key: Option<Action>,
    /// The `:` name first, then its aliases; empty for panes reached only from another
    /// (a VM's console opens from its row).
    pub names: &'static [&'static str],
    /// Its keymap section: help lists it first, the status bar hints from it.
    pub section: Section,
    /// Its heading in the help.
    pub title: &'static str,
    /// What the palette's suggestion list says about it.
    pub about: &'static str,
    /// `@HOST` and `/TEXT` narrow it.
    pub scoped: bool,
    /// It shows everything it has without an argument (not one VM, pool or host), so it
    /// opens as `View::Pane(id)` from its number key, the palette and `-`.
    pub whole: bool,
}

#[rustfmt::skip]
pub const PANES: &[PaneSpec] = &[
    pane(PaneId::Dashboard, &super::dashboard::DashboardPane, Some(Action::ViewDashboard), &["hosts", "dash", "dashboard", "host", "node", "nodes"], Section::Dashboard, "Dashboard", "hosts and their load", false, true),
    pane(PaneId::Vms, &super::vms::VmsPane, Some(Action::ViewVms), &["vms", "vm", "dom", "domains", "domain", "guests"], Section::Normal, "VM table", "VM table", true, true),
    pane(PaneId::Detail, &super::detail::DetailPane, None, &[], Section::Detail, "VM details", "", false, false),
    pane(PaneId::Console, &super::console::ConsolePane, None, &[], Section::Console, "Serial console (attached)", "", false, false),
    pane(PaneId::Preview, &super::preview::PreviewPane, None, &[], Section::Preview, "VNC preview", "", false, false),
    pane(PaneId::Pools, &super::storage::PoolsPane, Some(Action::ViewPools), &["pools", "pool", "sp", "storage"], Section::Pools, "Storage pools", "storage pools", true, true),
    pane(PaneId::Volumes, &super::storage::VolumesPane, None, &["vols", "vol", "volumes", "volume"], Section::Volumes, "Volumes", "volumes of POOL[@HOST]", true, false),
    pane(PaneId::Secrets, &super::storage::SecretsPane, None, &["secrets", "secret", "sec"], Section::Secrets, "Secrets", "libvirt secrets of @HOST", false, false),
    pane(PaneId::Networks, &super::networks::NetworksPane, Some(Action::ViewNetworks), &["nets", "net", "networks", "network"], Section::Networks, "Networks", "virtual networks", true, true),
    pane(PaneId::Migrations, &super::migrations::MigrationsPane, Some(Action::ViewMigrations), &["migrations", "mig", "migs", "migration"], Section::Migrations, "Migrations", "migrations and evacuations", true, true),
    pane(PaneId::Jobs, &super::jobs::JobsPane, Some(Action::ViewJobs), &["jobs", "job"], Section::Jobs, "Jobs", "uploads, downloads, clones, new VMs, migrations", true, true),
    pane(PaneId::Events, &super::events::EventsPane, Some(Action::ViewEvents), &["events", "event", "ev"], Section::Events, "Events", "lifecycle events of every VM", true, true),
    pane(PaneId::HostDevs, &super::hostdevs::HostDevsPane, None, &["hostdevs", "hostdev", "devices", "nodedevs"], Section::HostDevs, "Host devices", "PCI, USB and mediated devices of every host", true, true),
];

// One line per pane in the table above reads better than eight-field struct literals.
#[allow(clippy::too_many_arguments)]
const fn pane(
    id: PaneId,
    pane: &'static dyn Pane,
    key: Option<Action>,
    names: &'static [&'static str],
    section: Section,
    title: &'static str,
    about: &'static str,
    scoped: bool,
    whole: bool,
) -> PaneSpec {
    PaneSpec {
        id,
        pane,
        key,
        names,
        section,
        title,
        about,
        scoped,
        whole,
    }
}

/// The keymap section that has the keys behind any overlay (the help lists it first).
pub fn focused_section(app: &App) -> Section {
    match &app.view {
        View::Console(c) if !c.link.is_attached() => Section::ConsoleIdle,
        View::Detail { host, uuid } if app.detail.editing(*host, uuid) => Section::XmlEdit,
        v => spec(v.pane()).section,
    }
}

/// Every tick: each pane's own (one call per pane, shown or not).
pub fn tick(app: &mut App) -> Vec<Effect> {
    PANES.iter().flat_map(|p| p.pane.tick(app)).collect()
}

/// Where a pane's number key goes (panes that need an argument have none).
pub fn place_for_key(action: Action) -> Option<Place> {
    whole(PANES.iter().find(|p| p.key == Some(action))?.id)
}

/// The place of a pane that shows everything it can without an argument (not one VM, pool
/// or host's secrets).
pub fn whole(id: PaneId) -> Option<Place> {
    spec(id).whole.then_some(Place::Pane(id))
}

pub fn spec(id: PaneId) -> &'static PaneSpec {
    // Every id has a line (a unit test walks them), so the fallback is never taken.
    PANES.iter().find(|p| p.id == id).unwrap_or(&PANES[1])
}

impl View {
    pub fn pane(&self) -> PaneId {
        match self {
            View::Pane(id) => *id,
            View::Detail { .. } => PaneId::Detail,
            View::Console(_) => PaneId::Console,
            View::Preview(_) => PaneId::Preview,
            View::Volumes { .. } => PaneId::Volumes,
            View::Secrets { .. } => PaneId::Secrets,
        }
    }

    /// Where this view can be reopened from by `-`; consoles and previews hold live
    /// connections and are not reopened behind the user's back.
    pub fn place(&self) -> Option<Place> {
        Some(match self {
            View::Pane(id) => Place::Pane(*id),
            View::Detail { host, uuid } => Place::Detail(*host, uuid.clone()),
            View::Console(_) | View::Preview(_) => return None,
            View::Volumes { host, pool } => Place::Volumes(*host, pool.clone()),
            View::Secrets { host } => Place::Secrets(*host),
        })
    }
}

/// A pane and what it shows, for going back.
#[derive(Clone, Debug, PartialEq)]
pub enum Place {
    /// A whole pane (`PaneSpec::whole`).
    Pane(PaneId),
    Detail(HostId, String),
    Volumes(HostId, String),
    Secrets(HostId),
}

/// How many places `-` remembers.
const BACK_DEPTH: usize = 32;

/// Remembers `from` when the user left it for another pane.
pub fn left(app: &mut App, from: Option<Place>) {
    let Some(from) = from else { return };
    if app.view.place().as_ref() == Some(&from) {
        return;
    }
    if app.back.last() != Some(&from) {
        app.back.push(from);
    }
    if app.back.len() > BACK_DEPTH {
        app.back.remove(0);
    }
}

/// `-`: the previous pane, as it was left. A place whose host is gone is skipped.
pub fn back(app: &mut App) -> Vec<Effect> {
    while let Some(p) = app.back.pop() {
        let host_gone = |h: &HostId| app.host(*h).is_none();
        match &p {
            Place::Detail(h, _) | Place::Volumes(h, _) | Place::Secrets(h) if host_gone(h) => {
                continue
            }
            _ => {}
        }
        app.going_back = true;
        return open(app, p);
    }
    app.messages.push(
        super::toast::Level::Info,
        "no previous pane".to_string(),
        app.now,
    );
    Vec::new()
}

pub fn open(app: &mut App, p: Place) -> Vec<Effect> {
    match p {
        Place::Pane(id) => show(app, id),
        Place::Detail(h, uuid) => super::detail::open(app, h, uuid),
        Place::Volumes(host, pool) => super::storage::open_volumes(app, host, pool),
        Place::Secrets(host) => super::storage::open_secrets(app, host),
    }
}

/// Shows a whole pane and lets it ask for what it lists.
pub fn show(app: &mut App, id: PaneId) -> Vec<Effect> {
    app.view = View::Pane(id);
    spec(id).pane.opened(app)
}

/// The focused pane's `/` filter text and why it is not in force, if it is not.
pub fn filter_state(app: &App) -> (String, Option<String>) {
    match app.view.pane() {
        PaneId::Vms => (app.vms.filter_text.clone(), app.vms.filter_error.clone()),
        p => app
            .scopes
            .of(p)
            .map(|s| (s.text.clone(), s.error.clone()))
            .unwrap_or_default(),
    }
}

/// What `@HOST` and `/TEXT` narrowed a list pane to.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub host: Option<HostId>,
    pub text: String,
    pub filter: Filter,
    /// Why `text` is not the filter in force (an invalid `re:`): the last good one stays.
    pub error: Option<String>,
}

impl Scope {
    /// Whether a row of `host` named `name` is shown.
    pub fn keeps(&self, host: HostId, host_name: &str, name: &str) -> bool {
        self.host.is_none_or(|h| h == host) && self.filter.name_matches(name, host_name)
    }

    pub fn is_empty(&self) -> bool {
        self.host.is_none() && self.text.is_empty()
    }
}

/// The scopes of the list panes (the VM table keeps its own filter line).
#[derive(Clone, Debug, Default)]
pub struct Scopes(HashMap<PaneId, Scope>);

impl Scopes {
    pub fn get(&self, pane: PaneId) -> Option<&Scope> {
        self.0.get(&pane).filter(|s| !s.is_empty())
    }

    pub fn set(&mut self, pane: PaneId, scope: Scope) {
        self.0.insert(pane, scope);
    }

    /// The pane's scope as it is, empty or not (the filter line edits it).
    pub fn of(&self, pane: PaneId) -> Option<&Scope> {
        self.0.get(&pane)
    }

    /// The `/` filter line of a list pane typed `text`: the filter in force when it reads,
    /// the last good one with the reason when it does not. The `@HOST` scope stays.
    pub fn set_text(&mut self, pane: PaneId, text: String) {
        let scope = self.0.entry(pane).or_default();
        match Filter::parse(&text) {
            Ok(f) => {
                scope.filter = f;
                scope.error = None;
            }
            Err(e) => scope.error = Some(e),
        }
        scope.text = text;
    }

    /// Drops what refers to a removed host.
    pub fn forget_host(&mut self, host: HostId) {
        self.0.retain(|_, s| s.host != Some(host));
    }
}

/// Whether `pane` shows a row named `name` of `host`: the host's name is looked up only when
/// a scope is set (the events pane checks thousands of rows a frame).
pub fn keeps(app: &App, pane: PaneId, host: HostId, name: &str) -> bool {
    app.scopes.get(pane).is_none_or(|s| {
        let host_name = app.host(host).map_or("", |h| h.name.as_str());
        s.keeps(host, host_name, name)
    })
}

/// ` @host /text` for a pane's title, or nothing.
pub fn scope_label(app: &App, pane: PaneId) -> String {
    let Some(s) = app.scopes.get(pane) else {
        return String::new();
    };
    let mut out = String::new();
    if let Some(h) = s.host.and_then(|h| app.host(h)) {
        out.push_str(&format!(" @{}", crate::sanitize::text(&h.name)));
    }
    if !s.text.is_empty() {
        out.push_str(&format!(" /{}", crate::sanitize::text(&s.text)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_pane_opens_as_itself_and_the_others_need_their_argument() {
        let mut a = crate::app::tests::app();
        for p in PANES {
            match whole(p.id) {
                Some(place) => {
                    a.view = View::Pane(PaneId::Vms);
                    open(&mut a, place.clone());
                    assert_eq!(a.view.pane(), p.id);
                    assert_eq!(a.view.place(), Some(place));
                }
                None => assert!(!p.whole),
            }
        }
    }

    #[test]
    fn names_are_unique_and_every_pane_has_a_line() {
        let mut seen = std::collections::HashSet::new();
        for p in PANES {
            for n in p.names {
                assert!(seen.insert(*n), ":{n} is claimed twice");
                assert_eq!(*n, n.to_lowercase());
            }
        }
        for id in [
            PaneId::Dashboard,
            PaneId::Vms,
            PaneId::Detail,
            PaneId::Console,
            PaneId::Preview,
            PaneId::Pools,
            PaneId::Volumes,
            PaneId::Secrets,
            PaneId::Networks,
            PaneId::Migrations,
            PaneId::Jobs,
            PaneId::Events,
            PaneId::HostDevs,
        ] {
            assert_eq!(spec(id).id, id);
        }
    }
}
