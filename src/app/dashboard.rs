//! The dashboard's logic: host order, load levels from the configured thresholds.

use std::cmp::Ordering;

use super::hosts::HostView;
use super::table::{cycle, natural_cmp};
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
