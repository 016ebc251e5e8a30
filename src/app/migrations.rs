//! Migrations: the migrate wizard's pre-flight round, the fleet-wide migrations pane (cancel,
//! speed and downtime while running, post-copy switch) and host evacuation (its own wizard:
//! options, then a plan built from every VM's pre-flight; see `evacuation`) with a
//! concurrency limit. The runner lives in `host::migrate`; commands go to the *source* host's
//! worker; progress comes back as `HostEvent::Migration`, each VM's checks as a
//! `Reply::Preflight` to its own request.

use crate::app::PaneId;
use std::collections::HashMap;

use super::requests;
use super::toast::Level;
use super::wizard;
use super::{App, Confirm, ConfirmAction, Effect, Mode, View};
use crate::config::keymap::Action;
use crate::host::migrate::{MigrateCmd, MigrationTarget, Report};
use crate::host::HostCommand;
use crate::migrate::plan::{Queue, VmLoad};
use crate::migrate::preflight::{blocking, Check};
use crate::model::migration::{
    Migration, MigrationEvent, MigrationId, MigrationOptions, MigrationUpdate, Outcome, Phase,
};
use crate::model::HostId;
use evacuate_wizard::EvacuateForm;
use migrate_wizard::{MigrateForm, TuneForm};

/// How many migrations an evacuation runs at once: each one saturates a link and costs the
/// guest some CPU; two keeps the host busy without starving the VMs that are still there.
pub const EVACUATION_PARALLEL: usize = 2;

/// One VM's pre-flight in the open migrate wizard.
#[derive(Clone, Debug, PartialEq)]
pub struct Preflight {
    pub id: MigrationId,
    pub uuid: String,
    pub vm: String,
    /// The host it was checked against (an evacuation checks every VM on every host).
    pub target: HostId,
    /// `None` while the hosts are being asked.
    pub checks: Option<Vec<Check>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MigrationsUi {
    /// Every migration of this session, oldest first; finished ones stay until cleared.
    pub list: Vec<Migration>,
    pub sel: usize,
    next_id: MigrationId,
    /// The pre-flight round of the open migrate wizard.
    pub preflight: Vec<Preflight>,
    /// Evacuation migrations waiting for a slot.
    queue: Queue,
    held: HashMap<MigrationId, (HostId, HostCommand)>,
}

impl Default for MigrationsUi {
    fn default() -> Self {
        MigrationsUi {
            list: Vec::new(),
            sel: 0,
            next_id: 1,
            preflight: Vec::new(),
            queue: Queue::new(EVACUATION_PARALLEL),
            held: HashMap::new(),
        }
    }
}

impl MigrationsUi {
    pub fn clear_finished(&mut self) {
        self.list.retain(|m| !m.phase.is_finished());
        self.sel = 0;
    }

    fn id(&mut self) -> MigrationId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub fn selected(&self) -> Option<&Migration> {
        self.list.get(self.sel.min(self.list.len().checked_sub(1)?))
    }

    /// Migrations not finished yet (queued, running, completing).
    pub fn active(&self) -> usize {
        self.list.iter().filter(|m| !m.phase.is_finished()).count()
    }
}

/// Where `target`'s migration stream goes: its URI, and the per-host migration address from
/// config.toml when there is one.
fn target_of(app: &App, target: HostId) -> Option<MigrationTarget> {
    let h = app.host(target)?;
    Some(MigrationTarget {
        uri: h.uri.clone(),
        migration_address: app.settings.migration_addresses.get(&h.uri).cloned(),
    })
}

/// `m`: the migrate wizard for the marked VMs (all on one host) or the one under the cursor.
pub fn open_wizard(app: &mut App) -> Vec<Effect> {
    let picked: Vec<(HostId, String)> =
        if app.vms.marks.is_empty() || matches!(app.view, View::Detail { .. }) {
            app.focused_vm().into_iter().collect()
        } else {
            app.vms.marks.iter().cloned().collect()
        };
    let Some(&(host, _)) = picked.first() else {
        return Vec::new();
    };
    if picked.iter().any(|(h, _)| *h != host) {
        app.messages.push(
            Level::Error,
            "the marked VMs are on different hosts: migrate one host's VMs at a time",
            app.now,
        );
        return Vec::new();
    }
    let Some(h) = app.host(host) else {
        return Vec::new();
    };
    let vms: Vec<(String, String, bool)> = picked
        .iter()
        .filter_map(|(_, uuid)| h.vms.iter().find(|v| &v.uuid == uuid))
        .map(|v| (v.uuid.clone(), v.name.clone(), v.state.is_active()))
        .collect();
    let targets: Vec<(HostId, String)> = app
        .hosts
        .iter()
        .filter(|t| t.id != host && t.status.is_connected())
        .map(|t| (t.id, t.name.clone()))
        .collect();
    if targets.is_empty() {
        app.messages.push(
            Level::Error,
            "no other connected host to migrate to (n on the dashboard adds one)",
            app.now,
        );
        return Vec::new();
    }
    if vms.is_empty() {
        return Vec::new();
    }
    let form = MigrateForm {
        vms: vms.iter().map(|(u, n, _)| (u.clone(), n.clone())).collect(),
        targets,
    };
    let any_running = vms.iter().any(|(_, _, running)| *running);
    let mut w = migrate_wizard::new(host, form, any_running);
    let ctx = wizard::context(app, host, w.spec.as_ref());
    wizard::refresh(&mut w, &ctx);
    app.migrations.preflight.clear();
    app.push_overlay(Mode::Wizard(Box::new(w)));
    Vec::new()
}

/// The wizard reached its checks page: ask the source host to check every VM against the
/// chosen target (an evacuation: against every candidate host) with the chosen options.
pub fn preflight(app: &mut App) -> Vec<Effect> {
    let Mode::Wizard(w) = &app.mode else {
        return Vec::new();
    };
    let Ok(options) = migrate_wizard::options(w) else {
        return Vec::new();
    };
    let host = w.host;
    let pairs: Vec<(String, String, HostId)> = if let Some(m) = w.spec_as::<MigrateForm>() {
        let Some(target) = migrate_wizard::target(w) else {
            return Vec::new();
        };
        m.vms
            .iter()
            .map(|(u, n)| (u.clone(), n.clone(), target))
            .collect()
    } else if let Some(EvacuateForm { vms, targets, .. }) = w.spec_as() {
        vms.iter()
            .flat_map(|v| {
                targets
                    .iter()
                    .map(|(t, _)| (v.uuid.clone(), v.name.clone(), *t))
            })
            .collect()
    } else {
        return Vec::new();
    };
    // One command per target: the source checks its VMs against it over one connection.
    let mut per_target: Vec<(HostId, Vec<(MigrationId, String)>)> = Vec::new();
    let mut round = Vec::new();
    for (uuid, vm, target) in pairs {
        let id = app.migrations.id();
        match per_target.iter_mut().find(|(t, _)| *t == target) {
            Some((_, vms)) => vms.push((id, uuid.clone())),
            None => per_target.push((target, vec![(id, uuid.clone())])),
        }
        round.push(Preflight {
            id,
            uuid,
            vm,
            target,
            checks: None,
        });
    }
    let mut fx = Vec::new();
    for (target, vms) in per_target {
        let Some(to) = target_of(app, target) else {
            round.retain(|p| p.target != target);
            continue;
        };
        // Each VM's checks answer a request of their own, found again by migration id.
        let vms = vms
            .into_iter()
            .map(|(id, uuid)| {
                (
                    app.requests.issue(host, requests::Owner::Preflight(id)),
                    uuid,
                )
            })
            .collect();
        fx.push(Effect::Host(
            host,
            HostCommand::Migrate(MigrateCmd::Preflight {
                vms,
                target: to,
                options: options.clone(),
                report: Report::default(),
            }),
        ));
    }
    app.migrations.preflight = round;
    fx
}

/// A pre-flight answer; answers of an older round (the user went back and changed options)
/// are dropped.
pub fn on_preflight(app: &mut App, id: MigrationId, checks: Vec<Check>) {
    if let Some(p) = app.migrations.preflight.iter_mut().find(|p| p.id == id) {
        p.checks = Some(checks);
    }
}

/// Enter on the checks page: start every VM's migration unless a check blocks.
pub fn submit(app: &mut App) -> Vec<Effect> {
    let Mode::Wizard(w) = &app.mode else {
        return Vec::new();
    };
    if w.spec_as::<MigrateForm>().is_none() {
        return Vec::new();
    }
    let host = w.host;
    let plan = match start_plan(app, w) {
        Ok(p) => p,
        Err(e) => {
            if let Mode::Wizard(w) = &mut app.mode {
                w.error = Some(e);
            }
            return Vec::new();
        }
    };
    let (target, to, options) = plan;
    let round = std::mem::take(&mut app.migrations.preflight);
    let mut fx = Vec::new();
    for p in round {
        let mut m = Migration::new(p.id, &p.vm, &p.uuid, host, target, options.clone());
        m.phase = Phase::Queued;
        app.migrations.list.push(m);
        let cmd = start_cmd(p.id, p.uuid.clone(), &to, &options);
        let command = super::requests::equivalent(app, host, &cmd);
        let target_name = app.host(target).map(|h| h.name.clone()).unwrap_or_default();
        super::events::note_cmd(
            app,
            host,
            (&p.uuid, &p.vm),
            super::events::NoteKind::Action,
            format!("migration to {target_name} started"),
            false,
            command,
        );
        fx.push(Effect::Host(host, cmd));
    }
    app.migrations.sel = app.migrations.list.len().saturating_sub(1);
    app.pop_overlay();
    app.view = View::Pane(PaneId::Migrations);
    fx
}

/// What the wizard's checks page allows: the target and the options, or why not.
fn start_plan(
    app: &App,
    w: &wizard::Wizard,
) -> Result<(HostId, MigrationTarget, MigrationOptions), String> {
    let round = &app.migrations.preflight;
    if round.is_empty() || round.iter().any(|p| p.checks.is_none()) {
        return Err("the checks are still running".into());
    }
    let allow = migrate_wizard::override_failures(w);
    if round
        .iter()
        .any(|p| p.checks.as_deref().is_some_and(|c| blocking(c, allow)))
    {
        return Err(if allow {
            "a check that cannot be overridden failed (see ✖ above)".into()
        } else {
            "failed checks block the migration: fix them, or go back and set \
             \"If checks fail\" to \"migrate anyway\""
                .into()
        });
    }
    let options = migrate_wizard::options(w)?;
    let target = migrate_wizard::target(w).ok_or("choose a target host")?;
    let to = target_of(app, target).ok_or("the target host is gone")?;
    Ok((target, to, options))
}

fn start_cmd(
    id: MigrationId,
    uuid: String,
    to: &MigrationTarget,
    options: &MigrationOptions,
) -> HostCommand {
    HostCommand::Migrate(MigrateCmd::Start {
        id,
        uuid,
        target: to.clone(),
        options: options.clone(),
        report: Report::default(),
    })
}

/// A runner event for migration `update.id`.
pub fn on_update(app: &mut App, update: MigrationUpdate) {
    let now = app.now;
    let Some(m) = app.migrations.list.iter_mut().find(|m| m.id == update.id) else {
        return;
    };
    m.apply(&update.event, now);
    let m = m.clone();
    if let MigrationEvent::Control {
        result: Err(e),
        setting,
    } = &update.event
    {
        let text = format!("{}: {setting:?} refused: {e}", m.vm_name);
        app.messages.push(Level::Error, text, now);
        return;
    }
    let MigrationEvent::Finished(outcome) = &update.event else {
        return;
    };
    let target = app
        .host(m.target)
        .map(|h| h.name.clone())
        .unwrap_or_default();
    let (level, text) = match outcome {
        Outcome::Succeeded { .. } => (
            Level::Info,
            format!(
                "{} migrated to {target} (downtime {})",
                m.vm_name,
                m.downtime_label()
            ),
        ),
        Outcome::Failed(e) => (
            Level::Error,
            format!("migration of {} to {target} failed: {e}", m.vm_name),
        ),
        Outcome::Cancelled => (
            Level::Info,
            format!("migration of {} to {target} cancelled", m.vm_name),
        ),
    };
    app.migrations.queue.finished(update.id);
    app.messages.push(level, text, now);
}

/// Starts queued evacuation migrations while the queue has free slots.
pub fn pump(app: &mut App) -> Vec<Effect> {
    let mut fx = Vec::new();
    for id in app.migrations.queue.start_next() {
        if let Some((host, cmd)) = app.migrations.held.remove(&id) {
            fx.push(Effect::Host(host, cmd));
        }
    }
    fx
}

/// `M` on the dashboard: the evacuation wizard for the selected host (options, then the
/// plan with every VM's pre-flight verdicts; see `evacuation`).
pub fn evacuate(app: &mut App) -> Vec<Effect> {
    let Some(source) = app.dashboard_host() else {
        return Vec::new();
    };
    let Some(h) = app.host(source) else {
        return Vec::new();
    };
    let name = h.name.clone();
    let mut vms = VmLoad::active(&h.vms);
    // The planner keeps this order among VMs of equal size: by name, so plans are stable.
    vms.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.uuid.cmp(&b.uuid)));
    if vms.is_empty() {
        app.messages.push(
            Level::Info,
            format!("{name} runs no VMs: nothing to evacuate"),
            app.now,
        );
        return Vec::new();
    }
    let targets: Vec<(HostId, String)> = app
        .hosts
        .iter()
        .filter(|t| t.id != source && t.status.is_connected())
        .map(|t| (t.id, t.name.clone()))
        .collect();
    if targets.is_empty() {
        app.messages.push(
            Level::Error,
            format!("no other connected host to evacuate {name} to (n on the dashboard adds one)"),
            app.now,
        );
        return Vec::new();
    }
    let form = EvacuateForm { name, vms, targets };
    app.migrations.preflight.clear();
    app.push_overlay(Mode::Wizard(Box::new(evacuate_wizard::new(
        source,
        form,
        EVACUATION_PARALLEL,
    ))));
    Vec::new()
}

/// Enter on the evacuation plan: queue the migrations of the VMs that can go.
pub fn submit_evacuation(app: &mut App) -> Vec<Effect> {
    let Mode::Wizard(w) = &app.mode else {
        return Vec::new();
    };
    if w.spec_as::<EvacuateForm>().is_none() {
        return Vec::new();
    }
    let host = w.host;
    let started = (|| {
        let plan = evacuation::plan(app, w).ok_or("the checks are still running")?;
        if plan.assignments().next().is_none() {
            return Err("no VM can move: see why under each one".to_string());
        }
        let options = migrate_wizard::options(w)?;
        let limit = evacuate_wizard::concurrency(w)?;
        Ok((plan, options, limit))
    })();
    match started {
        Ok((plan, options, limit)) => {
            let assignments = plan
                .assignments()
                .map(|(vm, to)| (vm.uuid.clone(), vm.name.clone(), to))
                .collect();
            app.pop_overlay();
            app.migrations.preflight.clear();
            start_evacuation(app, host, assignments, options, limit)
        }
        Err(e) => {
            if let Mode::Wizard(w) = &mut app.mode {
                w.error = Some(e);
            }
            Vec::new()
        }
    }
}

/// Queues one migration per VM (uuid, name, target) off `source`, `limit` at a time.
fn start_evacuation(
    app: &mut App,
    source: HostId,
    assignments: Vec<(String, String, HostId)>,
    options: MigrationOptions,
    limit: usize,
) -> Vec<Effect> {
    app.migrations.queue.set_limit(limit);
    for (uuid, vm, target) in assignments {
        let Some(to) = target_of(app, target) else {
            continue;
        };
        let id = app.migrations.id();
        let mut m = Migration::new(id, &vm, &uuid, source, target, options.clone());
        m.phase = Phase::Queued;
        app.migrations.list.push(m);
        app.migrations
            .held
            .insert(id, (source, start_cmd(id, uuid, &to, &options)));
        app.migrations.queue.push(id);
    }
    app.view = View::Pane(PaneId::Migrations);
    pump(app)
}

/// Keys of the migrations pane.
pub fn key(app: &mut App, action: Action) -> Vec<Effect> {
    let n = app.migrations.list.len();
    if let Some(i) = requests::step(app.migrations.sel, n, action, 10) {
        app.migrations.sel = i;
        return Vec::new();
    }
    let Some(m) = app.migrations.selected().cloned() else {
        return Vec::new();
    };
    match action {
        Action::CancelJob => cancel(app, &m),
        // `e` edits the running migration's max speed / downtime.
        Action::Edit if m.phase.is_active() => {
            let form = TuneForm { id: m.id };
            app.push_overlay(Mode::Wizard(Box::new(migrate_wizard::tune(
                m.source, form, &m.options,
            ))));
            Vec::new()
        }
        Action::Edit => {
            app.messages.push(
                Level::Info,
                "the migration is over: nothing to edit",
                app.now,
            );
            Vec::new()
        }
        Action::PostCopy => post_copy(app, &m),
        Action::ClearFinished => {
            app.migrations.clear_finished();
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// `x` on a migration in the jobs pane.
pub fn cancel_by_id(app: &mut App, id: MigrationId) -> Vec<Effect> {
    match app.migrations.list.iter().find(|m| m.id == id).cloned() {
        Some(m) => cancel(app, &m),
        None => Vec::new(),
    }
}

fn cancel(app: &mut App, m: &Migration) -> Vec<Effect> {
    if m.phase == Phase::Queued && app.migrations.queue.cancel_waiting(m.id) {
        app.migrations.held.remove(&m.id);
        let now = app.now;
        if let Some(x) = app.migrations.list.iter_mut().find(|x| x.id == m.id) {
            x.phase = Phase::Cancelled;
            x.finished = Some(now);
        }
        return Vec::new();
    }
    if m.phase.is_finished() {
        return Vec::new();
    }
    app.push_overlay(Mode::Confirm(Confirm {
        command: None,
        title: format!("Cancel the migration of {}?", m.vm_name),
        body: vec!["The VM keeps running on its source host.".into()],
        action: ConfirmAction::Migration {
            host: m.source,
            cmd: Box::new(MigrateCmd::Cancel { id: m.id }),
        },
        typed: None,
    }));
    Vec::new()
}

fn post_copy(app: &mut App, m: &Migration) -> Vec<Effect> {
    use crate::model::migration::PostCopy;
    if !m.phase.is_active() || m.postcopy {
        return Vec::new();
    }
    if m.options.post_copy == PostCopy::Off {
        app.messages.push(
            Level::Error,
            "this migration was not started with post-copy allowed",
            app.now,
        );
        return Vec::new();
    }
    app.push_overlay(Mode::Confirm(Confirm {
        command: None,
        title: format!("Switch {} to post-copy?", m.vm_name),
        body: vec![
            "The guest runs on the target from now on and fetches missing pages over the \
             network."
                .into(),
            "⚠ If the link or either host fails now, the guest is lost.".into(),
        ],
        action: ConfirmAction::Migration {
            host: m.source,
            cmd: Box::new(MigrateCmd::PostCopy { id: m.id }),
        },
        typed: None,
    }));
    Vec::new()
}

/// The tune form was confirmed: new speed and downtime for a running migration.
pub fn submit_tune(app: &mut App) -> Vec<Effect> {
    let Mode::Wizard(w) = &mut app.mode else {
        return Vec::new();
    };
    let Some(&TuneForm { id }) = w.spec_as() else {
        return Vec::new();
    };
    let host = w.host;
    let (speed, downtime) = match migrate_wizard::tune_values(w) {
        Ok(v) => v,
        Err(e) => {
            w.error = Some(e);
            return Vec::new();
        }
    };
    app.pop_overlay();
    let mut fx = vec![Effect::Host(
        host,
        HostCommand::Migrate(MigrateCmd::SetSpeed { id, mib_s: speed }),
    )];
    if let Some(ms) = downtime {
        fx.push(Effect::Host(
            host,
            HostCommand::Migrate(MigrateCmd::SetDowntime { id, ms }),
        ));
    }
    fx
}

pub mod evacuate_wizard;
pub mod evacuation;
pub mod migrate_wizard;

pub struct MigrationsPane;

impl super::panes::Pane for MigrationsPane {
    fn on_action(&self, app: &mut App, action: Action) -> Vec<Effect> {
        key(app, action)
    }

    fn position(&self, app: &App) -> String {
        let m = &app.migrations;
        super::panes::position(m.sel, m.list.len(), "migrations")
    }

    fn cursor(&self, app: &App) -> Option<(usize, usize)> {
        Some((app.migrations.sel, app.migrations.list.len()))
    }

    fn select(&self, app: &mut App, i: usize) -> Vec<Effect> {
        app.migrations.sel = i;
        Vec::new()
    }

    fn hints(&self, _app: &App) -> &'static [(Action, &'static str)] {
        &[
            (Action::Help, "help"),
            (Action::CancelJob, "cancel"),
            (Action::Edit, "speed/downtime"),
            (Action::PostCopy, "post-copy"),
            (Action::ClearFinished, "clear finished"),
            (Action::Quit, "quit"),
        ]
    }
}

#[cfg(test)]
mod tests;
