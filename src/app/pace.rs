//! Which hosts the screen shows, so the others poll slowly (`host::Pace`).
//!
//! With 100 hosts the VM table shows the rows of one or two; polling the other 98 every
//! 2 s was most of the idle CPU (their stats, their node readings and the wake-ups of
//! libvirt's event loop that every call costs). Lifecycle events still arrive at once, so a
//! background host's states stay live; its CPU and I/O figures are up to
//! `background_interval` old until a view shows them, when its worker polls at once.

use std::collections::HashSet;

use super::panes::PaneId;
use super::table::SortKey;
use super::{App, Effect, View};
use crate::host::{HostCommand, Pace};
use crate::model::HostId;

/// The hosts whose figures are on screen; `None`: all of them (a view of every host, or a
/// table sorted by a figure every row needs).
pub fn shown(app: &App) -> Option<HashSet<HostId>> {
    let one = |h: &HostId| Some(HashSet::from([*h]));
    match &app.view {
        View::Pane(PaneId::Vms) => {
            if matches!(app.vms.sort, SortKey::Cpu | SortKey::Disk | SortKey::Net) {
                return None;
            }
            let from = app.vms.table_offset.get();
            let page = app.vms.table_page.get().max(1);
            let host_of =
                |r: &crate::app::table::RowRef| app.hosts.get(r.host as usize).map(|h| h.id);
            if app.vms.group_by.is_some() {
                // Grouped, the table scrolls over headers and rows.
                let lines = app.vms.lines.iter().skip(from).take(page);
                return Some(
                    lines
                        .filter_map(|l| match l {
                            crate::app::groups::Line::Row(i) => app.vms.rows.get(*i),
                            crate::app::groups::Line::Header(_) => None,
                        })
                        .filter_map(host_of)
                        .collect(),
                );
            }
            let rows = app.vms.rows.iter().skip(from).take(page);
            Some(rows.filter_map(host_of).collect())
        }
        View::Detail { host, .. } | View::Volumes { host, .. } | View::Secrets { host } => {
            one(host)
        }
        View::Console(c) => one(&c.host),
        View::Preview(p) => one(&p.host),
        View::Pane(_) => None,
    }
}

/// A `Pace` command for each host whose pace changed since the last one it was sent.
pub fn effects(app: &mut App) -> Vec<Effect> {
    let shown = shown(app);
    let mut fx = Vec::new();
    for h in &app.hosts {
        let want = match &shown {
            Some(set) if !set.contains(&h.id) => Pace::Background,
            _ => Pace::Shown,
        };
        // A worker starts (and reconnects) at `Shown`, which is what no entry means.
        let had = app.paced.get(&h.id).copied().unwrap_or(Pace::Shown);
        if had != want {
            app.paced.insert(h.id, want);
            fx.push(Effect::Host(h.id, HostCommand::Pace(want)));
        }
    }
    fx
}

#[cfg(test)]
mod tests;
