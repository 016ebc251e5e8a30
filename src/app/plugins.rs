//! Plugins in the app: a key of the focused pane's scope that no binding takes runs its plugin
//! with the context of what the cursor is on (`plugin::expand`). Dangerous ones are refused in
//! `--readonly`; `confirm` ones ask first, showing the command line; background ones report
//! their exit code to the events pane and their output to the message log.

use super::events::{self, NoteKind};
use super::panes::PaneId;
use super::toast::Level;
use super::{App, Confirm, ConfirmAction, Effect, Mode, View};
use crate::config::keymap::Key;
use crate::model::HostId;
use crate::plugin::expand::{self, Context};
use crate::plugin::{Plugin, Scope};

/// The scope of what has the focus, the host it is on, and its context.
pub fn context(app: &App) -> Option<(Scope, Option<HostId>, Context)> {
    let host_ctx = |id: HostId| {
        let h = app.host(id);
        Context {
            host: h.map(|h| h.name.clone()),
            uri: h.map(|h| h.uri.clone()),
            ..Context::default()
        }
    };
    match &app.view {
        View::Pane(PaneId::Vms) | View::Detail { .. } => {
            let (host, uuid) = match &app.view {
                View::Detail { host, uuid } => (*host, uuid.clone()),
                _ => {
                    let r = app.selected_row()?;
                    let (h, vm) = app.vm(r);
                    (h.id, vm.uuid.clone())
                }
            };
            let h = app.host(host)?;
            let vm = h.vms.iter().find(|v| v.uuid == uuid)?;
            let ip = h.addresses.get(&uuid).and_then(|a| {
                a.iter()
                    .find(|a| !a.ip.contains(':'))
                    .or(a.first())
                    .map(|a| a.ip.clone())
            });
            // Marked VMs of the table (any host), else this one.
            let mut marked: Vec<String> = app
                .hosts
                .iter()
                .flat_map(|h| h.vms.iter().map(move |v| (h.id, v)))
                .filter(|(id, v)| app.is_marked(*id, &v.uuid))
                .map(|(_, v)| v.name.clone())
                .collect();
            if marked.is_empty() {
                marked.push(vm.name.clone());
            }
            Some((
                Scope::Vm,
                Some(host),
                Context {
                    vm: Some(vm.name.clone()),
                    uuid: Some(uuid),
                    ip,
                    marked,
                    ..host_ctx(host)
                },
            ))
        }
        View::Pane(PaneId::Dashboard) => {
            let ord = super::dashboard::order(
                &app.hosts,
                app.dash.sort,
                app.dash.descending,
                &app.settings.thresholds,
            );
            let sel = app.dash.selected.min(ord.len().checked_sub(1)?);
            let id = app.hosts.get(*ord.get(sel)?)?.id;
            Some((Scope::Host, Some(id), host_ctx(id)))
        }
        View::Pane(PaneId::Pools) => {
            let (id, pool) = super::storage::selected_pool(app)?;
            Some((
                Scope::Pool,
                Some(id),
                Context {
                    pool: Some(pool.name.clone()),
                    path: pool.target.clone(),
                    ..host_ctx(id)
                },
            ))
        }
        View::Volumes { .. } => {
            let (id, pool, vol) = super::storage::selected_volume(app)?;
            Some((
                Scope::Volume,
                Some(id),
                Context {
                    pool: Some(pool.name.clone()),
                    volume: Some(vol.name.clone()),
                    path: Some(vol.path.clone()),
                    ..host_ctx(id)
                },
            ))
        }
        View::Pane(PaneId::Networks) => {
            let (id, net) = super::networks::selected(app)?;
            Some((
                Scope::Network,
                Some(id),
                Context {
                    network: Some(net.name.clone()),
                    ..host_ctx(id)
                },
            ))
        }
        View::Pane(PaneId::Jobs) => {
            let rows = super::jobs::rows(app);
            let row = rows.get(app.jobs.sel.min(rows.len().checked_sub(1)?))?;
            let id = row.host();
            Some((
                Scope::Job,
                Some(id),
                Context {
                    vm: Some(row.target().to_string()),
                    ..host_ctx(id)
                },
            ))
        }
        _ => None,
    }
}

/// The plugins of the focused scope (for help and hints).
pub fn of_scope(app: &App) -> Vec<&Plugin> {
    let Some(scope) = scope_now(app) else {
        return Vec::new();
    };
    app.settings
        .plugins
        .iter()
        .filter(|p| p.scopes.contains(&scope))
        .collect()
}

/// The scope of the focused pane, whether or not its cursor is on something.
fn scope_now(app: &App) -> Option<Scope> {
    Some(match &app.view {
        View::Pane(PaneId::Vms) | View::Detail { .. } => Scope::Vm,
        View::Pane(PaneId::Dashboard) => Scope::Host,
        View::Pane(PaneId::Pools) => Scope::Pool,
        View::Volumes { .. } => Scope::Volume,
        View::Pane(PaneId::Networks) => Scope::Network,
        View::Pane(PaneId::Jobs) => Scope::Job,
        _ => return None,
    })
}

/// A key no binding of the focused pane took: its plugin, if one has it, is run (or refused,
/// or asked about). `None`: no plugin has the key here.
pub fn key(app: &mut App, key: Key) -> Option<Vec<Effect>> {
    let scope = scope_now(app)?;
    let plugin = app
        .settings
        .plugins
        .iter()
        .find(|p| p.key == key && p.scopes.contains(&scope))?
        .clone();
    Some(start(app, &plugin))
}

fn start(app: &mut App, plugin: &Plugin) -> Vec<Effect> {
    let now = app.now;
    if plugin.dangerous && app.settings.readonly {
        app.messages.push(
            Level::Error,
            format!("plugin {} changes things: not in --readonly", plugin.name),
            now,
        );
        return Vec::new();
    }
    let Some((_, host, ctx)) = context(app) else {
        app.messages.push(
            Level::Error,
            format!("plugin {}: nothing under the cursor", plugin.name),
            now,
        );
        return Vec::new();
    };
    let argv = match expand::expand(&plugin.command, &ctx) {
        Ok(a) => a,
        Err(e) => {
            app.messages
                .push(Level::Error, format!("plugin {}: {e}", plugin.name), now);
            return Vec::new();
        }
    };
    let run = Run {
        name: plugin.name.clone(),
        host: host.unwrap_or(HostId(usize::MAX)),
        vm: (
            ctx.uuid.clone().unwrap_or_default(),
            ctx.vm.clone().unwrap_or_default(),
        ),
        argv,
        background: plugin.background,
    };
    if plugin.confirm {
        app.push_overlay(Mode::Confirm(Confirm {
            command: None,
            title: format!("Run plugin {}?", plugin.name),
            body: vec![
                plugin.description.clone(),
                String::new(),
                crate::virsh::quote(&run.argv),
            ],
            typed: None,
            action: ConfirmAction::Plugin(Box::new(run)),
        }));
        return Vec::new();
    }
    launch(app, run)
}

/// A plugin about to run, with its filled command.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub name: String,
    pub host: HostId,
    /// The VM's UUID and name, empty outside the VM scope.
    pub vm: (String, String),
    pub argv: Vec<String>,
    pub background: bool,
}

/// Runs it: the effect, and the events pane's note of what was run.
pub fn launch(app: &mut App, run: Run) -> Vec<Effect> {
    let line = crate::virsh::quote(&run.argv);
    events::note(
        app,
        run.host,
        (&run.vm.0, &run.vm.1),
        NoteKind::Action,
        format!("plugin {}: {line}", run.name),
        false,
    );
    vec![Effect::RunPlugin(Box::new(run))]
}

/// A plugin ended (`Msg::PluginDone`): the outcome in the events pane, a toast, the output
/// in the message log.
pub fn done(app: &mut App, run: &Run, outcome: crate::plugin::run::Outcome) {
    let now = app.now;
    let (text, bad) = match &outcome.status {
        Ok(Some(0)) => (format!("plugin {} finished", run.name), false),
        Ok(Some(c)) => (format!("plugin {} exited with {c}", run.name), true),
        Ok(None) => (format!("plugin {} was killed by a signal", run.name), true),
        Err(e) => (format!("plugin {}: {e}", run.name), true),
    };
    let level = if bad { Level::Error } else { Level::Info };
    for line in outcome.output.lines() {
        app.messages
            .log(level, format!("{}: {line}", run.name), now);
    }
    let last = outcome.output.lines().rev().find(|l| !l.trim().is_empty());
    let toast = match last {
        Some(l) => format!("{text}: {l}"),
        None => text.clone(),
    };
    app.messages.push(level, toast, now);
    events::note(
        app,
        run.host,
        (&run.vm.0, &run.vm.1),
        NoteKind::Action,
        text,
        bad,
    );
}
