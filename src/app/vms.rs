//! The VM table pane: the cursor, marks, sort and the lifecycle keys of the selected or
//! marked VMs.

use super::panes::Pane;
use super::{lifecycle, App, Effect, Mode};
use crate::config::keymap::Action;
use crate::host::LifecycleOp;

pub struct VmsPane;

impl Pane for VmsPane {
    fn on_action(&self, app: &mut App, action: Action) -> Vec<Effect> {
        on_action(app, action)
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
    let page = app.table_page.get().max(1) as isize;
    let sel = app.selected as isize;
    match action {
        Action::Down => super::keys::move_to(app, sel + 1),
        Action::Up => super::keys::move_to(app, sel - 1),
        Action::PageDown => super::keys::move_to(app, sel + page),
        Action::PageUp => super::keys::move_to(app, sel - page),
        Action::Top => super::keys::move_to(app, 0),
        Action::Bottom => super::keys::move_to(app, isize::MAX / 2),
        Action::Filter => app.push_overlay(Mode::Filter),
        Action::Mark => {
            if let Some(r) = app.selected_row() {
                let (h, vm) = app.vm(r);
                let key = (h.id, vm.uuid.clone());
                // Toggles and stays (k9s): `Space j Space` marks two neighbours, `Space Space`
                // takes a mark back.
                if !app.marks.remove(&key) {
                    app.marks.insert(key);
                }
            }
        }
        Action::MarkAll => {
            let shown: Vec<_> = app
                .rows
                .iter()
                .map(|r| {
                    let (h, vm) = app.vm(*r);
                    (h.id, vm.uuid.clone())
                })
                .collect();
            if shown.iter().all(|k| app.marks.contains(k)) {
                for k in &shown {
                    app.marks.remove(k);
                }
            } else {
                app.marks.extend(shown);
            }
        }
        Action::ClearMarks => app.marks.clear(),
        Action::Back => {
            if !app.marks.is_empty() {
                app.marks.clear();
            } else if !app.filter_text.is_empty() {
                app.set_filter(String::new());
            } else if app.vm_scope.take().is_some() {
                // `:vms @HOST` last: the table shows every host again.
                app.rebuild();
            }
        }
        Action::SortNext => {
            app.sort = app.sort.next();
            app.descending = false;
            app.rebuild();
        }
        Action::SortReverse => {
            app.descending = !app.descending;
            app.rebuild();
        }
        Action::Start => return lifecycle::request(app, LifecycleOp::Start),
        Action::Shutdown => return lifecycle::request(app, LifecycleOp::Shutdown),
        Action::Reboot => return lifecycle::request(app, LifecycleOp::Reboot),
        Action::Reset => return lifecycle::request(app, LifecycleOp::Reset),
        Action::ForceOff => return lifecycle::request(app, LifecycleOp::ForceOff),
        Action::Pause => return lifecycle::request(app, LifecycleOp::Pause),
        Action::Resume => return lifecycle::request(app, LifecycleOp::Resume),
        Action::ManagedSave => return lifecycle::request(app, LifecycleOp::ManagedSave),
        // The per-VM value is decided in `request` (each VM flips its own flag).
        Action::ToggleAutostart => return lifecycle::request(app, LifecycleOp::SetAutostart(true)),
        Action::Open => {
            if let Some(r) = app.selected_row() {
                let (h, vm) = app.vm(r);
                let (host, uuid) = (h.id, vm.uuid.clone());
                return super::detail::open(app, host, uuid);
            }
        }
        Action::Migrate => return super::migrations::open_wizard(app),
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

pub(super) fn open_form(app: &mut App) {
    app.push_overlay(Mode::AddHost(Box::default()));
}
