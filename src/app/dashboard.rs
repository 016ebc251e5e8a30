//! The dashboard's logic: host order, load levels from the configured thresholds.

use crate::app::PaneId;
use std::cmp::Ordering;

use super::hosts::HostView;
use super::panes::Pane;
use super::table::{cycle, natural_cmp};
use super::{App, Confirm, ConfirmAction, Effect, Mode, View};
use crate::config::keymap::Action;
use crate::config::{Threshold, Thresholds};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DashSort {
    Name,
    /// The worst of the host's levels, then CPU.
    Load,
    Cpu,
    Memory,
    Vms,
}

impl DashSort {
    pub const ALL: [DashSort; 5] = [
        DashSort::Name,
        DashSort::Load,
        DashSort::Cpu,
        DashSort::Memory,
        DashSort::Vms,
    ];

    pub fn next(self) -> DashSort {
        cycle(&DashSort::ALL, self)
    }

    pub fn title(self) -> &'static str {
        match self {
            DashSort::Name => "name",
            DashSort::Load => "load",
            DashSort::Cpu => "CPU",
            DashSort::Memory => "memory",
            DashSort::Vms => "running VMs",
        }
    }
}

/// How loaded a reading is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warn,
    Crit,
}

impl Level {
    /// The dashboard's LOAD column: words, so it reads without colour.
    pub fn label(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Crit => "crit",
        }
    }
}

pub fn level(v: Option<f64>, t: Threshold) -> Level {
    match v {
        Some(v) if v >= t.crit => Level::Crit,
        Some(v) if v >= t.warn => Level::Warn,
        _ => Level::Ok,
    }
}

/// Storage use of the host's active pools, percent of capacity.
pub fn storage_pct(h: &HostView) -> Option<f64> {
    let (cap, alloc, _) = h.node.storage()?;
    (cap > 0).then(|| alloc as f64 / cap as f64 * 100.0)
}

/// The levels of one host: CPU, memory, overcommit, storage.
pub fn levels(h: &HostView, t: &Thresholds) -> [Level; 4] {
    [
        level(h.node.cpu_pct, t.cpu),
        level(h.node.memory_pct(), t.memory),
        level(h.overcommit(), t.overcommit),
        level(storage_pct(h), t.storage),
    ]
}

pub fn host_level(h: &HostView, t: &Thresholds) -> Level {
    levels(h, t).into_iter().max().unwrap_or(Level::Ok)
}

fn cmp_opt(a: Option<f64>, b: Option<f64>) -> Ordering {
    // Unknown sorts below every reading.
    a.unwrap_or(-1.0).total_cmp(&b.unwrap_or(-1.0))
}

/// Host indices in dashboard order. "Load" and the numeric keys sort the busiest first unless
/// reversed; names sort A→Z.
pub fn order(hosts: &[HostView], key: DashSort, descending: bool, t: &Thresholds) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..hosts.len()).collect();
    idx.sort_by(|&a, &b| {
        let (x, y) = (&hosts[a], &hosts[b]);
        let by_name = natural_cmp(&x.name, &y.name);
        let o = match key {
            DashSort::Name => by_name,
            DashSort::Load => host_level(y, t)
                .cmp(&host_level(x, t))
                .then(cmp_opt(y.node.cpu_pct, x.node.cpu_pct)),
            DashSort::Cpu => cmp_opt(y.node.cpu_pct, x.node.cpu_pct),
            DashSort::Memory => cmp_opt(y.node.memory_pct(), x.node.memory_pct()),
            DashSort::Vms => y.running().cmp(&x.running()),
        };
        let o = if descending { o.reverse() } else { o };
        o.then(by_name)
    });
    idx
}

/// The dashboard's cursor (an index into `order`) and sort.
#[derive(Debug)]
pub struct DashUi {
    pub selected: usize,
    pub sort: DashSort,
    pub descending: bool,
}

impl Default for DashUi {
    fn default() -> Self {
        DashUi {
            selected: 0,
            sort: DashSort::Name,
            descending: false,
        }
    }
}

pub struct DashboardPane;

impl Pane for DashboardPane {
    fn on_action(&self, app: &mut App, action: Action) -> Vec<Effect> {
        on_action(app, action)
    }

    fn position(&self, app: &App) -> String {
        super::panes::position(app.dash.selected, app.hosts.len(), "hosts")
    }

    fn cursor(&self, app: &App) -> Option<(usize, usize)> {
        Some((app.dash.selected, app.hosts.len()))
    }

    fn select(&self, app: &mut App, i: usize) -> Vec<Effect> {
        app.dash.selected = i;
        Vec::new()
    }

    fn hints(&self, _app: &App) -> &'static [(Action, &'static str)] {
        &[
            (Action::Help, "help"),
            (Action::Open, "VMs of host"),
            (Action::SortNext, "sort"),
            (Action::AddHost, "new host"),
            (Action::RemoveHost, "remove"),
            (Action::Palette, "command"),
            (Action::ViewVms, "all VMs"),
            (Action::Log, "log"),
            (Action::Quit, "quit"),
        ]
    }
}

fn on_action(app: &mut App, action: Action) -> Vec<Effect> {
    let n = app.hosts.len();
    let last = n.saturating_sub(1);
    let sel = app.dash.selected.min(last);
    let host_at = |app: &App, i: usize| {
        let ord = order(
            &app.hosts,
            app.dash.sort,
            app.dash.descending,
            &app.settings.thresholds,
        );
        ord.get(i).map(|&h| app.hosts[h].id)
    };
    match action {
        Action::Down => app.dash.selected = (sel + 1).min(last),
        Action::Up => app.dash.selected = sel.saturating_sub(1),
        Action::Top => app.dash.selected = 0,
        Action::Bottom => app.dash.selected = last,
        Action::SortNext | Action::SortReverse => {
            // Keep the cursor on the same host through the re-sort.
            let keep = host_at(app, sel);
            if action == Action::SortNext {
                app.dash.sort = app.dash.sort.next();
                app.dash.descending = false;
            } else {
                app.dash.descending = !app.dash.descending;
            }
            let ord = order(
                &app.hosts,
                app.dash.sort,
                app.dash.descending,
                &app.settings.thresholds,
            );
            app.dash.selected = ord
                .iter()
                .position(|&h| Some(app.hosts[h].id) == keep)
                .unwrap_or(0);
        }
        Action::Open => {
            if let Some(id) = host_at(app, sel) {
                let name = app.host(id).map(|h| h.name.clone()).unwrap_or_default();
                let word = name.split_whitespace().next().unwrap_or("").to_string();
                app.set_filter(format!("host:{word}"));
                app.view = View::Pane(PaneId::Vms);
            }
        }
        Action::AddHost => super::vms::open_form(app),
        Action::Evacuate => return super::migrations::evacuate(app),
        Action::NewVm => {
            let host = host_at(app, sel);
            return super::newvm::open(app, host);
        }
        Action::RemoveHost => {
            if let Some(id) = host_at(app, sel) {
                let h = app
                    .host(id)
                    .map(|h| (h.name.clone(), h.uri.clone(), h.vms.len()));
                if let Some((name, uri, vms)) = h {
                    app.push_overlay(Mode::Confirm(Confirm {
                        command: None,
                        typed: None,
                        title: format!("Remove host {name}?"),
                        body: vec![
                            uri,
                            if app.settings.readonly {
                                format!(
                                    "virtdeck stops watching it for this session; config.toml is not changed (read-only). Its {vms} VMs keep running."
                                )
                            } else {
                                format!(
                                    "virtdeck stops watching it and drops it from config.toml; its {vms} VMs keep running."
                                )
                            },
                        ],
                        action: ConfirmAction::RemoveHost(id),
                    }));
                }
            }
        }
        _ => {}
    }
    Vec::new()
}
