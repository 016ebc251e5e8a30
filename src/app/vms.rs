//! The VM table pane: the cursor, marks, sort and the lifecycle keys of the selected or
//! marked VMs.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};

use super::filter::Filter;
use super::groups::{Group, GroupBy, Line};
use super::panes::Pane;
use super::table::{RowRef, SortKey};
use super::{lifecycle, App, Effect, Mode};
use crate::config::keymap::Action;
use crate::host::LifecycleOp;
use crate::model::HostId;

/// The VM table's state: the sorted and filtered rows, the cursor, marks, the filter and the
/// `:vms @HOST` scope, and what the renderer keeps between frames.
#[derive(Debug)]
pub struct VmsUi {
    /// Every VM in sort order; `rows` is its filtered view.
    pub(super) sorted: Vec<RowRef>,
    pub rows: Vec<RowRef>,
    pub selected: usize,
    pub sort: SortKey,
    pub descending: bool,
    pub filter_text: String,
    /// Why the text typed last is not the filter in force (an invalid `re:` pattern).
    pub filter_error: Option<String>,
    pub(super) filter: Filter,
    pub marks: HashSet<(HostId, String)>,
    /// Lifecycle operations sent and not answered yet, by VM.
    pub pending: HashMap<(HostId, String), LifecycleOp>,
    /// View state the renderer keeps between frames: first visible row and rows per page.
    pub table_offset: Cell<usize>,
    pub table_page: Cell<usize>,
    /// Once the user moves the cursor it follows that VM through refreshes; before that it
    /// stays on the first row while hosts report in.
    pub cursor_moved: bool,
    /// `:vms @HOST`: the VM table shows one host.
    pub vm_scope: Option<HostId>,
    /// `Z`: rows grouped under headers; the cursor then moves over `lines`.
    pub group_by: Option<GroupBy>,
    /// Keys of the folded groups (`z`).
    pub folded: HashSet<String>,
    pub groups: Vec<Group>,
    pub lines: Vec<Line>,
}

impl VmsUi {
    /// Lines the cursor moves over: headers and rows when grouped, else the rows.
    pub fn cursor_len(&self) -> usize {
        if self.group_by.is_some() {
            self.lines.len()
        } else {
            self.rows.len()
        }
    }

    /// The VM row under the cursor (none on a group's header).
    pub fn row_at_cursor(&self) -> Option<RowRef> {
        let i = if self.group_by.is_some() {
            match self.lines.get(self.selected)? {
                Line::Row(i) => *i,
                Line::Header(_) => return None,
            }
        } else {
            self.selected
        };
        self.rows.get(i).copied()
    }

    /// The group whose header is under the cursor.
    pub fn header_at_cursor(&self) -> Option<usize> {
        match self.lines.get(self.selected)? {
            Line::Header(g) if self.group_by.is_some() => Some(*g),
            _ => None,
        }
    }

    /// The group of the line under the cursor (its header or a row under it).
    fn group_at_cursor(&self) -> Option<usize> {
        self.lines[..=self.selected.min(self.lines.len().checked_sub(1)?)]
            .iter()
            .rev()
            .find_map(|l| match l {
                Line::Header(g) => Some(*g),
                Line::Row(_) => None,
            })
    }

    /// The cursor position of `rows[i]`.
    pub fn line_of_row(&self, i: usize) -> usize {
        if self.group_by.is_none() {
            return i;
        }
        self.lines
            .iter()
            .position(|l| *l == Line::Row(i))
            .unwrap_or(0)
    }

    pub fn line_of_header(&self, g: usize) -> usize {
        self.lines
            .iter()
            .position(|l| *l == Line::Header(g))
            .unwrap_or(0)
    }

    /// The rows shown under group `g`.
    fn rows_of(&self, g: usize) -> Vec<RowRef> {
        let from = self.line_of_header(g) + 1;
        self.lines[from.min(self.lines.len())..]
            .iter()
            .map_while(|l| match l {
                Line::Row(i) => self.rows.get(*i).copied(),
                Line::Header(_) => None,
            })
            .collect()
    }
}

impl Default for VmsUi {
    fn default() -> Self {
        VmsUi {
            sorted: Vec::new(),
            rows: Vec::new(),
            selected: 0,
            sort: SortKey::Host,
            descending: false,
            filter_text: String::new(),
            filter_error: None,
            filter: Filter::default(),
            marks: HashSet::new(),
            pending: HashMap::new(),
            table_offset: Cell::new(0),
            table_page: Cell::new(20),
            cursor_moved: false,
            vm_scope: None,
            group_by: None,
            folded: HashSet::new(),
            groups: Vec::new(),
            lines: Vec::new(),
        }
    }
}

/// ` 3/40 of 67 VMs `: the cursor among the rows shown, and all VMs when a filter hides some.
pub fn position(app: &App) -> String {
    let shown = app.vms.rows.len();
    let total = app.total_vms();
    // Grouped: the VM rows up to the cursor (a header counts as the row before it).
    let pos = match app.vms.group_by {
        Some(_) => app.vms.lines[..(app.vms.selected + 1).min(app.vms.lines.len())]
            .iter()
            .filter(|l| matches!(l, Line::Row(_)))
            .count(),
        None if shown == 0 => 0,
        None => app.vms.selected + 1,
    };
    let mut right = format!(" {pos}/{shown}");
    if shown != total {
        right.push_str(&format!(" of {total}"));
    }
    right.push_str(" VMs ");
    right
}

pub struct VmsPane;

impl Pane for VmsPane {
    fn on_action(&self, app: &mut App, action: Action) -> Vec<Effect> {
        on_action(app, action)
    }

    fn cursor(&self, app: &App) -> Option<(usize, usize)> {
        Some((app.vms.selected, app.vms.cursor_len()))
    }

    fn select(&self, app: &mut App, i: usize) -> Vec<Effect> {
        super::keys::move_to(app, i as isize);
        Vec::new()
    }

    fn hints(&self, _app: &App) -> &'static [(Action, &'static str)] {
        &[
            (Action::Help, "help"),
            (Action::Filter, "filter"),
            (Action::Open, "details"),
            (Action::Console, "console"),
            (Action::Start, "start"),
            (Action::Shutdown, "shutdown"),
            (Action::ForceOff, "force off"),
            (Action::Mark, "mark"),
            (Action::SortNext, "sort"),
            (Action::Palette, "command"),
            (Action::ViewDashboard, "dashboard"),
            (Action::Log, "log"),
            (Action::Quit, "quit"),
        ]
    }
}

fn on_action(app: &mut App, action: Action) -> Vec<Effect> {
    // Any other key after `D` (Esc, a move) drops the delete form still waiting for its read.
    if action != Action::DeleteVm {
        app.detail.delete_when_read = None;
    }
    if let Some(op) = lifecycle::op_for(action) {
        return lifecycle::request(app, op);
    }
    let page = app.vms.table_page.get().max(1) as isize;
    let sel = app.vms.selected as isize;
    match action {
        Action::Down => super::keys::move_to(app, sel + 1),
        Action::Up => super::keys::move_to(app, sel - 1),
        Action::PageDown => super::keys::move_to(app, sel + page),
        Action::PageUp => super::keys::move_to(app, sel - page),
        Action::Top => super::keys::move_to(app, 0),
        Action::Bottom => super::keys::move_to(app, isize::MAX / 2),
        Action::Filter => app.push_overlay(Mode::Filter),
        // On a header: the group's shown VMs, all marked or all unmarked.
        Action::Mark if app.vms.header_at_cursor().is_some() => {
            let rows = app
                .vms
                .header_at_cursor()
                .map(|g| app.vms.rows_of(g))
                .unwrap_or_default();
            toggle_marks(app, &rows);
        }
        Action::Mark => {
            if let Some(r) = app.selected_row() {
                let (h, vm) = app.vm(r);
                let key = (h.id, vm.uuid.clone());
                // Toggles and stays (k9s): `Space j Space` marks two neighbours, `Space Space`
                // takes a mark back.
                if !app.vms.marks.remove(&key) {
                    app.vms.marks.insert(key);
                }
            }
        }
        Action::MarkAll => {
            let rows = app.vms.rows.clone();
            toggle_marks(app, &rows);
        }
        Action::ClearMarks => app.vms.marks.clear(),
        Action::Back => {
            if !app.vms.marks.is_empty() {
                app.vms.marks.clear();
            } else if !app.vms.filter_text.is_empty() {
                app.set_filter(String::new());
            } else if app.vms.vm_scope.take().is_some() {
                // `:vms @HOST` last: the table shows every host again.
                app.rebuild();
            }
        }
        Action::SortNext => {
            app.vms.sort = app.vms.sort.next();
            app.vms.descending = false;
            app.rebuild();
        }
        Action::SortReverse => {
            app.vms.descending = !app.vms.descending;
            app.rebuild();
        }
        // The per-VM value is decided in `request` (each VM flips its own flag).
        Action::ToggleAutostart => return lifecycle::request(app, LifecycleOp::SetAutostart(true)),
        Action::Open | Action::Fold if app.vms.header_at_cursor().is_some() => fold(app),
        Action::Fold => fold(app),
        Action::GroupNext => {
            app.vms.group_by = GroupBy::next(app.vms.group_by);
            app.vms.folded.clear();
            app.rebuild();
            let text = match app.vms.group_by {
                Some(by) => format!(
                    "VMs grouped by {} (z folds a group, Z groups by the next)",
                    by.title()
                ),
                None => "VMs not grouped".to_string(),
            };
            app.messages.push(super::toast::Level::Info, text, app.now);
        }
        Action::Open => {
            if let Some(r) = app.selected_row() {
                let (h, vm) = app.vm(r);
                let (host, uuid) = (h.id, vm.uuid.clone());
                return super::detail::open(app, host, uuid);
            }
        }
        // `e`: edits are per item, on the detail's Hardware tab.
        Action::Edit => {
            if let Some(r) = app.selected_row() {
                let (h, vm) = app.vm(r);
                let (host, uuid) = (h.id, vm.uuid.clone());
                let fx = super::detail::open(app, host, uuid);
                app.detail.tab = super::detail::Tab::Hardware;
                return fx;
            }
        }
        Action::DeleteVm => return super::detail::delete_vm(app),
        Action::Migrate => return super::migrations::open_wizard(app),
        Action::Tags => return super::tags::open(app),
        Action::AddHost => open_form(app),
        Action::NewVm => {
            let host = app.selected_row().map(|r| app.vm(r).0.id);
            return super::newvm::open(app, host);
        }
        Action::Console => return super::console::open(app),
        Action::Display => return super::display::open(app),
        _ => {}
    }
    Vec::new()
}

/// Marks every VM of `rows`, or unmarks them when all are marked already.
fn toggle_marks(app: &mut App, rows: &[RowRef]) {
    let keys: Vec<_> = rows
        .iter()
        .map(|r| {
            let (h, vm) = app.vm(*r);
            (h.id, vm.uuid.clone())
        })
        .collect();
    if keys.iter().all(|k| app.vms.marks.contains(k)) {
        for k in &keys {
            app.vms.marks.remove(k);
        }
    } else {
        app.vms.marks.extend(keys);
    }
}

/// Folds the group under the cursor, or unfolds it; the cursor goes to its header.
fn fold(app: &mut App) {
    let Some(g) = app.vms.group_at_cursor() else {
        return;
    };
    let key = app.vms.groups[g].key.clone();
    if !app.vms.folded.remove(&key) {
        app.vms.folded.insert(key.clone());
    }
    app.vms.cursor_moved = true;
    app.vms.selected = app.vms.line_of_header(g);
    // `refilter` keeps the cursor on this header.
    app.rebuild();
}

pub(super) fn open_form(app: &mut App) {
    app.push_overlay(Mode::AddHost(Box::default()));
}
