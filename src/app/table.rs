//! The VM table's rows: which VMs pass the filter, in which order, and where the cursor is.

use std::cmp::Ordering;

use super::filter::Filter;
use super::hosts::HostView;
use crate::metrics::VmRates;
use crate::model::{HostId, Vm};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Host,
    Name,
    State,
    Vcpus,
    Memory,
    Cpu,
    Disk,
    Net,
    Autostart,
    Persistent,
}

impl SortKey {
    pub const ALL: [SortKey; 10] = [
        SortKey::Host,
        SortKey::Name,
        SortKey::State,
        SortKey::Vcpus,
        SortKey::Memory,
        SortKey::Cpu,
        SortKey::Disk,
        SortKey::Net,
        SortKey::Autostart,
        SortKey::Persistent,
    ];

    pub fn next(self) -> SortKey {
        cycle(&SortKey::ALL, self)
    }

    pub fn title(self) -> &'static str {
        match self {
            SortKey::Host => "host",
            SortKey::Name => "name",
            SortKey::State => "state",
            SortKey::Vcpus => "vCPUs",
            SortKey::Memory => "memory",
            SortKey::Cpu => "CPU%",
            SortKey::Disk => "disk I/O",
            SortKey::Net => "network I/O",
            SortKey::Autostart => "autostart",
            SortKey::Persistent => "persistent",
        }
    }
}

/// The entry after `cur` in `all`, wrapping around (sort-key cycling for `o`).
pub fn cycle<T: Copy + PartialEq>(all: &[T], cur: T) -> T {
    let i = all.iter().position(|k| *k == cur).unwrap_or(0);
    all[(i + 1) % all.len()]
}

/// A row: index of the host in `App::hosts` and of the VM in that host's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RowRef {
    pub host: u32,
    pub idx: u32,
}

/// Every VM, sorted by `key` (ties: host, name, uuid, so the order is stable). Sorting does
/// not depend on the filter, so the app keeps this and re-sorts only when data or key change.
pub fn sort_rows(hosts: &[HostView], key: SortKey, descending: bool) -> Vec<RowRef> {
    let mut rows: Vec<RowRef> = hosts
        .iter()
        .enumerate()
        .flat_map(|(h, host)| {
            (0..host.vms.len()).map(move |i| RowRef {
                host: h as u32,
                idx: i as u32,
            })
        })
        .collect();
    // Host order by name, computed once instead of per comparison.
    let mut by_name: Vec<usize> = (0..hosts.len()).collect();
    by_name.sort_by(|a, b| natural_cmp(&hosts[*a].name, &hosts[*b].name));
    let mut rank = vec![0usize; hosts.len()];
    for (r, h) in by_name.into_iter().enumerate() {
        rank[h] = r;
    }
    let rates = rate_keys(hosts, key);
    let vm = |r: &RowRef| -> &Vm { &hosts[r.host as usize].vms[r.idx as usize] };
    rows.sort_by(|a, b| {
        let (va, vb) = (vm(a), vm(b));
        // Templates are listed apart: after every VM, whatever the sort.
        if va.template != vb.template {
            return va.template.cmp(&vb.template);
        }
        let primary = match key {
            SortKey::Host => Ordering::Equal,
            SortKey::Name => natural_cmp(&va.name, &vb.name),
            SortKey::State => va.state.cmp(&vb.state),
            SortKey::Vcpus => va.vcpus.cmp(&vb.vcpus),
            SortKey::Memory => va.max_memory_kib.cmp(&vb.max_memory_kib),
            SortKey::Cpu | SortKey::Disk | SortKey::Net => {
                let rate = |r: &RowRef| rates[r.host as usize][r.idx as usize];
                rate(a).total_cmp(&rate(b))
            }
            SortKey::Autostart => va.autostart.cmp(&vb.autostart),
            SortKey::Persistent => va.persistent.cmp(&vb.persistent),
        };
        let primary = if descending {
            primary.reverse()
        } else {
            primary
        };
        let (ra, rb) = (rank[a.host as usize], rank[b.host as usize]);
        let host_order = if key == SortKey::Host && descending {
            rb.cmp(&ra)
        } else {
            ra.cmp(&rb)
        };
        primary
            .then(host_order)
            .then_with(|| natural_cmp(&va.name, &vb.name))
            .then_with(|| va.uuid.cmp(&vb.uuid))
    });
    rows
}

/// Each VM's rate under `key` (-1 for none), per host and VM index, read once per sort: a
/// comparison would otherwise decode two VMs' rates, 2·n·log n times for n rows.
fn rate_keys(hosts: &[HostView], key: SortKey) -> Vec<Vec<f32>> {
    if !orders_by_rates(key) {
        return vec![Vec::new(); hosts.len()];
    }
    hosts
        .iter()
        .map(|h| {
            (0..h.vms.len())
                .map(|i| {
                    h.rates_at(i)
                        .and_then(|r| match key {
                            SortKey::Cpu => r.cpu_pct,
                            SortKey::Disk => VmRates::sum(r.disk_rd_bps, r.disk_wr_bps),
                            _ => VmRates::sum(r.net_rx_bps, r.net_tx_bps),
                        })
                        .map_or(-1.0, |v| v as f32)
                })
                .collect()
        })
        .collect()
}

/// Whether `key` orders rows by their rates (CPU, disk or network).
pub fn orders_by_rates(key: SortKey) -> bool {
    matches!(key, SortKey::Cpu | SortKey::Disk | SortKey::Net)
}

/// Whether the change from `old` to `new` (the same VM) can move its row under `key` or take
/// it in or out of a filter (which looks at name and state). Rates are `orders_by_rates`'.
pub fn moves(key: SortKey, old: &Vm, new: &Vm) -> bool {
    old.name != new.name
        || old.state != new.state
        || match key {
            SortKey::Host | SortKey::Name | SortKey::State => false,
            SortKey::Cpu | SortKey::Disk | SortKey::Net => false,
            SortKey::Vcpus => old.vcpus != new.vcpus,
            SortKey::Memory => old.max_memory_kib != new.max_memory_kib,
            SortKey::Autostart => old.autostart != new.autostart,
            SortKey::Persistent => old.persistent != new.persistent,
        }
}

/// The sorted rows that pass `filter`, in one pass.
/// The rows `filter` keeps, of `only` host when the palette scoped the table (`:vms @HOST`).
pub fn filter_rows(
    hosts: &[HostView],
    sorted: &[RowRef],
    filter: &Filter,
    only: Option<HostId>,
) -> Vec<RowRef> {
    if filter.is_empty() && only.is_none() {
        return sorted.to_vec();
    }
    let host_ok: Vec<bool> = hosts
        .iter()
        .map(|h| only.is_none_or(|o| o == h.id) && filter.host_matches(&h.name))
        .collect();
    sorted
        .iter()
        .copied()
        .filter(|r| {
            host_ok[r.host as usize]
                && filter.vm_matches(&hosts[r.host as usize].vms[r.idx as usize])
        })
        .collect()
}

/// Compares names so that `web-2` sorts before `web-10`; case-insensitive first, then exact,
/// so the order is total. No allocation: it runs for every comparison of every sort.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut ia, mut ib) = (a.char_indices().peekable(), b.char_indices().peekable());
    let mut exact = Ordering::Equal;
    loop {
        match (ia.peek().copied(), ib.peek().copied()) {
            (None, None) => return exact,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some((sa, ca)), Some((sb, cb))) if ca.is_ascii_digit() && cb.is_ascii_digit() => {
                let ea = digits_end(a, sa);
                let eb = digits_end(b, sb);
                let (ta, tb) = (
                    a[sa..ea].trim_start_matches('0'),
                    b[sb..eb].trim_start_matches('0'),
                );
                let ord = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb));
                if ord != Ordering::Equal {
                    return ord;
                }
                exact = exact.then((ea - sa).cmp(&(eb - sb)));
                while ia.next_if(|(i, _)| *i < ea).is_some() {}
                while ib.next_if(|(i, _)| *i < eb).is_some() {}
            }
            (Some((_, ca)), Some((_, cb))) => {
                let ord = if ca.is_ascii() && cb.is_ascii() {
                    ca.to_ascii_lowercase().cmp(&cb.to_ascii_lowercase())
                } else {
                    ca.to_lowercase().cmp(cb.to_lowercase())
                };
                if ord != Ordering::Equal {
                    return ord;
                }
                exact = exact.then(ca.cmp(&cb));
                ia.next();
                ib.next();
            }
        }
    }
}

fn digits_end(s: &str, start: usize) -> usize {
    s[start..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(s.len(), |i| start + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["web-10", "web-2", "Web-1", "db", "web-02b"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, vec!["db", "Web-1", "web-2", "web-02b", "web-10"]);
        assert_eq!(natural_cmp("a", "a"), Ordering::Equal);
        assert_ne!(natural_cmp("Web", "web"), Ordering::Equal, "total order");
        assert_eq!(
            natural_cmp("vm-007", "vm-7"),
            Ordering::Greater,
            "padding breaks ties"
        );
        assert_eq!(natural_cmp("café-2", "CAFÉ-10"), Ordering::Less);
        assert_eq!(natural_cmp("東京-1", "東京-01"), Ordering::Less);
    }

    #[test]
    fn sort_keys_cycle() {
        let mut k = SortKey::Host;
        for _ in 0..SortKey::ALL.len() {
            k = k.next();
        }
        assert_eq!(k, SortKey::Host);
    }

    #[test]
    fn rates_order_rows_and_a_vm_without_any_comes_last_descending() {
        use crate::app::hosts::HostView;
        use crate::app::tests::vm;
        use crate::app::HostId;
        use crate::metrics::VmRates;
        use crate::model::VmState;
        let mut hosts: Vec<HostView> = ["b", "a"]
            .iter()
            .enumerate()
            .map(|(i, n)| HostView::new(HostId(i), n.to_string(), format!("test:///{n}"), 10))
            .collect();
        hosts[0].vms =
            crate::model::shared(vec![vm("x", VmState::Running), vm("y", VmState::Running)]);
        hosts[1].vms =
            crate::model::shared(vec![vm("p", VmState::Running), vm("q", VmState::Shutoff)]);
        let rates = |cpu: f64, rd: f64, tx: f64| VmRates {
            cpu_pct: Some(cpu),
            disk_rd_bps: Some(rd),
            net_tx_bps: Some(tx),
            ..VmRates::default()
        };
        hosts[0].set_rates("uuid-x", rates(5.0, 300.0, 1.0));
        hosts[0].set_rates("uuid-y", rates(50.0, 100.0, 3.0));
        hosts[1].set_rates("uuid-p", rates(20.0, 200.0, 2.0));
        let names = |key: SortKey, desc: bool| -> Vec<String> {
            sort_rows(&hosts, key, desc)
                .iter()
                .map(|r| hosts[r.host as usize].vms[r.idx as usize].name.clone())
                .collect()
        };
        assert_eq!(names(SortKey::Cpu, true), ["y", "p", "x", "q"]);
        assert_eq!(names(SortKey::Cpu, false), ["q", "x", "p", "y"]);
        assert_eq!(names(SortKey::Disk, true), ["x", "p", "y", "q"]);
        assert_eq!(names(SortKey::Net, true), ["y", "p", "x", "q"]);
    }
}
