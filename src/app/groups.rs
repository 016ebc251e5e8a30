//! Grouping the VM table by host, tag or state: headers with per-group counts (running/total,
//! vCPUs, memory) between the rows, folded and unfolded with `z`. When grouped, the table's
//! cursor moves over lines (headers and rows); `rows` keeps only the unfolded VMs, so marks,
//! bulk actions and the pane's counts see what is shown.

use std::collections::HashSet;

use super::hosts::HostView;
use super::table::{natural_cmp, RowRef};
use crate::model::{Vm, VmState};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Host,
    /// A VM's first tag (the order the user gave them); untagged VMs last.
    Tag,
    State,
}

impl GroupBy {
    /// `Z`: none → host → tag → state → none.
    pub fn next(current: Option<GroupBy>) -> Option<GroupBy> {
        match current {
            None => Some(GroupBy::Host),
            Some(GroupBy::Host) => Some(GroupBy::Tag),
            Some(GroupBy::Tag) => Some(GroupBy::State),
            Some(GroupBy::State) => None,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            GroupBy::Host => "host",
            GroupBy::Tag => "tag",
            GroupBy::State => "state",
        }
    }

    pub fn parse(s: &str) -> Option<Option<GroupBy>> {
        match s {
            "host" => Some(Some(GroupBy::Host)),
            "tag" => Some(Some(GroupBy::Tag)),
            "state" => Some(Some(GroupBy::State)),
            "none" | "off" => Some(None),
            _ => None,
        }
    }
}

/// One group's header.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// What it is keyed and folded by (the host's name, the tag, the state label).
    pub key: String,
    pub running: usize,
    pub total: usize,
    pub vcpus: u64,
    pub memory_kib: u64,
    pub folded: bool,
}

/// A line of the grouped table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line {
    Header(usize),
    /// An index into the table's `rows`.
    Row(usize),
}

/// What an untagged VM's group is called.
pub const UNTAGGED: &str = "(untagged)";

/// Where a state's group goes: running ones first, then the ones that need a look.
fn state_rank(s: VmState) -> u8 {
    match s {
        VmState::Running => 0,
        VmState::Blocked => 1,
        VmState::Paused => 2,
        VmState::Crashed => 3,
        VmState::Shutdown => 4,
        VmState::PmSuspended => 5,
        VmState::Shutoff => 6,
        VmState::NoState => 7,
    }
}

fn key_of(by: GroupBy, h: &HostView, vm: &Vm) -> String {
    match by {
        GroupBy::Host => h.name.clone(),
        GroupBy::Tag => vm.tags.first().cloned().unwrap_or_else(|| UNTAGGED.into()),
        GroupBy::State => vm.state.label().to_string(),
    }
}

/// Groups `rows` (filtered, in sort order; the order within a group is kept): the rows of
/// unfolded groups, the headers and the lines.
pub fn build(
    hosts: &[HostView],
    rows: &[RowRef],
    by: GroupBy,
    folded: &HashSet<String>,
) -> (Vec<RowRef>, Vec<Group>, Vec<Line>) {
    // (group order, key) per row, then a stable sort keeps the table's order inside.
    let mut keyed: Vec<(usize, u8, String, RowRef)> = rows
        .iter()
        .map(|r| {
            let h = &hosts[r.host as usize];
            let vm = &h.vms[r.idx as usize];
            let rank = match by {
                GroupBy::Host => 0,
                GroupBy::Tag => u8::from(vm.tags.is_empty()),
                GroupBy::State => state_rank(vm.state),
            };
            let host_order = if by == GroupBy::Host {
                r.host as usize
            } else {
                0
            };
            (host_order, rank, key_of(by, h, vm), *r)
        })
        .collect();
    keyed.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(a.1.cmp(&b.1))
            .then_with(|| natural_cmp(&a.2, &b.2))
    });
    let mut out_rows = Vec::with_capacity(rows.len());
    let mut groups: Vec<Group> = Vec::new();
    let mut lines = Vec::with_capacity(rows.len() + 8);
    for (_, _, key, r) in keyed {
        let vm = &hosts[r.host as usize].vms[r.idx as usize];
        if groups.last().is_none_or(|g| g.key != key) {
            lines.push(Line::Header(groups.len()));
            groups.push(Group {
                folded: folded.contains(&key),
                key,
                running: 0,
                total: 0,
                vcpus: 0,
                memory_kib: 0,
            });
        }
        let Some(g) = groups.last_mut() else { continue };
        g.total += 1;
        if vm.state.is_active() {
            g.running += 1;
            g.vcpus += u64::from(vm.vcpus);
            // The current allocation, the maximum while that is still being read.
            g.memory_kib += if vm.memory_kib > 0 {
                vm.memory_kib
            } else {
                vm.max_memory_kib
            };
        }
        if !g.folded {
            lines.push(Line::Row(out_rows.len()));
            out_rows.push(r);
        }
    }
    (out_rows, groups, lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::tests::vm;
    use crate::model::HostId;

    fn host(name: &str, vms: Vec<Vm>) -> HostView {
        let mut h = HostView::new(HostId(0), name.into(), "test:///x".into(), 10);
        h.vms = crate::model::shared(vms);
        h
    }

    fn tagged(name: &str, state: VmState, tags: &[&str]) -> Vm {
        let mut v = vm(name, state);
        v.tags = tags.iter().map(|t| t.to_string()).collect();
        v
    }

    fn all(hosts: &[HostView]) -> Vec<RowRef> {
        let mut rows = Vec::new();
        for (h, host) in hosts.iter().enumerate() {
            for i in 0..host.vms.len() {
                rows.push(RowRef {
                    host: h as u32,
                    idx: i as u32,
                });
            }
        }
        rows
    }

    fn names(hosts: &[HostView], rows: &[RowRef]) -> Vec<String> {
        rows.iter()
            .map(|r| hosts[r.host as usize].vms[r.idx as usize].name.clone())
            .collect()
    }

    #[test]
    fn by_tag_counts_running_vcpus_and_memory_and_folds() {
        let hosts = vec![
            host(
                "a",
                vec![
                    tagged("db1", VmState::Running, &["db", "prod"]),
                    tagged("web1", VmState::Running, &["web"]),
                    tagged("lone", VmState::Shutoff, &[]),
                ],
            ),
            host(
                "b",
                vec![
                    tagged("db2", VmState::Shutoff, &["db"]),
                    tagged("web2", VmState::Paused, &["web"]),
                ],
            ),
        ];
        let rows = all(&hosts);
        let (r, g, lines) = build(&hosts, &rows, GroupBy::Tag, &HashSet::new());
        let keys: Vec<_> = g.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys, ["db", "web", UNTAGGED]);
        assert_eq!((g[0].running, g[0].total, g[0].vcpus), (1, 2, 2));
        assert_eq!(g[0].memory_kib, 1024 * 1024);
        assert_eq!(
            (g[1].running, g[1].total),
            (2, 2),
            "paused counts as running"
        );
        assert_eq!(names(&hosts, &r), ["db1", "db2", "web1", "web2", "lone"]);
        assert_eq!(lines.len(), 5 + 3);
        assert_eq!(lines[0], Line::Header(0));
        assert_eq!(lines[3], Line::Header(1));

        let folded = HashSet::from(["web".to_string()]);
        let (r, g, lines) = build(&hosts, &rows, GroupBy::Tag, &folded);
        assert_eq!(names(&hosts, &r), ["db1", "db2", "lone"]);
        assert!(
            g[1].folded && g[1].total == 2,
            "a folded group keeps its counts"
        );
        assert_eq!(
            lines,
            [
                Line::Header(0),
                Line::Row(0),
                Line::Row(1),
                Line::Header(1),
                Line::Header(2),
                Line::Row(2)
            ]
        );
    }

    #[test]
    fn by_host_keeps_host_order_and_by_state_puts_running_first() {
        let hosts = vec![
            host(
                "zeta",
                vec![vm("z1", VmState::Shutoff), vm("z2", VmState::Running)],
            ),
            host("alpha", vec![vm("a1", VmState::Crashed)]),
        ];
        let rows = all(&hosts);
        let (r, g, _) = build(&hosts, &rows, GroupBy::Host, &HashSet::new());
        assert_eq!(
            g.iter().map(|g| g.key.as_str()).collect::<Vec<_>>(),
            ["zeta", "alpha"]
        );
        assert_eq!(
            names(&hosts, &r),
            ["z1", "z2", "a1"],
            "the table's order inside a group"
        );
        let (_, g, _) = build(&hosts, &rows, GroupBy::State, &HashSet::new());
        assert_eq!(
            g.iter().map(|g| g.key.as_str()).collect::<Vec<_>>(),
            ["running", "crashed", "shut off"]
        );
    }

    #[test]
    fn cycling_and_palette_words() {
        let mut g = None;
        let mut seen = Vec::new();
        for _ in 0..4 {
            g = GroupBy::next(g);
            seen.push(g);
        }
        assert_eq!(
            seen,
            [
                Some(GroupBy::Host),
                Some(GroupBy::Tag),
                Some(GroupBy::State),
                None
            ]
        );
        assert_eq!(GroupBy::parse("tag"), Some(Some(GroupBy::Tag)));
        assert_eq!(GroupBy::parse("none"), Some(None));
        assert_eq!(GroupBy::parse("owner"), None);
    }
}

#[cfg(test)]
mod app_tests {
    use crate::app::groups::{GroupBy, Line};
    use crate::app::tests::{app, press};
    use crate::app::Effect;
    use crate::host::HostCommand;

    fn line_names(a: &crate::app::App) -> Vec<String> {
        a.vms
            .lines
            .iter()
            .map(|l| match l {
                Line::Header(g) => format!("[{}]", a.vms.groups[*g].key),
                Line::Row(i) => a.vm(a.vms.rows[*i]).1.name.clone(),
            })
            .collect()
    }

    #[test]
    fn group_fold_mark_and_act_from_the_keys() {
        let mut a = app();
        press(&mut a, "Z");
        assert_eq!(a.vms.group_by, Some(GroupBy::Host));
        assert_eq!(
            line_names(&a),
            ["[kvm-a]", "db-01", "web-01", "web-02", "[kvm-b]", "cache", "web-10"]
        );
        assert_eq!(a.vms.groups[0].running, 2);
        // The cursor starts on the first header: no VM under it, so `s` starts nothing.
        press(&mut a, "g");
        assert!(a.selected_row().is_none());
        let fx = press(&mut a, "s");
        assert!(
            !fx.iter().any(|e| matches!(
                e,
                Effect::Host(_, HostCommand::Vm(..))
                    | Effect::Host(_, HostCommand::Lifecycle { .. })
            )),
            "{fx:?}"
        );
        // Space on a header marks its group's VMs; again unmarks them.
        press(&mut a, "<Space>");
        assert_eq!(a.vms.marks.len(), 3);
        press(&mut a, "<Space>");
        assert!(a.vms.marks.is_empty());
        // Enter on a header folds it; the cursor stays on it; rows hide, counts stay.
        press(&mut a, "<Enter>");
        assert_eq!(line_names(&a), ["[kvm-a]", "[kvm-b]", "cache", "web-10"]);
        assert_eq!(a.vms.selected, 0);
        assert_eq!(a.vms.groups[0].total, 3);
        assert_eq!(
            a.vms.rows.len(),
            2,
            "marks and bulk actions see the shown rows"
        );
        // `z` on a row folds that row's group and puts the cursor on its header.
        press(&mut a, "G");
        assert_eq!(
            a.selected_row().map(|r| a.vm(r).1.name.clone()).as_deref(),
            Some("web-10")
        );
        press(&mut a, "z");
        assert_eq!(line_names(&a), ["[kvm-a]", "[kvm-b]"]);
        assert_eq!(a.vms.selected, 1);
        press(&mut a, "z");
        press(&mut a, "j");
        assert_eq!(
            a.selected_row().map(|r| a.vm(r).1.name.clone()).as_deref(),
            Some("cache")
        );
        // By tag, by state, then back to no groups.
        press(&mut a, "Z");
        assert_eq!(a.vms.group_by, Some(GroupBy::Tag));
        assert_eq!(line_names(&a)[0], "[(untagged)]");
        press(&mut a, "Z");
        assert_eq!(a.vms.group_by, Some(GroupBy::State));
        assert_eq!(
            a.vms
                .groups
                .iter()
                .map(|g| g.key.as_str())
                .collect::<Vec<_>>(),
            ["running", "paused", "shut off"]
        );
        press(&mut a, "Z");
        assert_eq!(a.vms.group_by, None);
        assert!(a.vms.lines.is_empty());
        assert_eq!(a.vms.rows.len(), 5);
    }

    #[test]
    fn the_palette_groups_and_refuses_a_bad_word() {
        let mut a = app();
        crate::app::palette::run(&mut a, "vms group:state state:running").unwrap();
        assert_eq!(a.vms.group_by, Some(GroupBy::State));
        assert_eq!(a.vms.filter_text, "state:running");
        // Inside a group, the table's sort (by host, then name).
        assert_eq!(line_names(&a), ["[running]", "db-01", "web-01", "cache"]);
        let e = crate::app::palette::run(&mut a, "vms group:owner").unwrap_err();
        assert!(e.contains("group by host, tag, state or none"), "{e}");
        assert_eq!(a.vms.group_by, Some(GroupBy::State), "unchanged");
        crate::app::palette::run(&mut a, "vms group:none").unwrap();
        assert_eq!(a.vms.group_by, None);
    }
}
