//! The VM table's rows: which VMs pass the filter, in which order, and where the cursor is.

use std::cmp::Ordering;

use super::filter::Filter;
use super::hosts::HostView;
use crate::model::Vm;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Host,
    Name,
    State,
    Vcpus,
    Memory,
    Cpu,
    Autostart,
    Persistent,
}

impl SortKey {
    pub const ALL: [SortKey; 8] = [
        SortKey::Host,
        SortKey::Name,
        SortKey::State,
        SortKey::Vcpus,
        SortKey::Memory,
        SortKey::Cpu,
        SortKey::Autostart,
        SortKey::Persistent,
    ];

    pub fn next(self) -> SortKey {
        let i = SortKey::ALL.iter().position(|k| *k == self).unwrap_or(0);
        SortKey::ALL[(i + 1) % SortKey::ALL.len()]
    }

    pub fn title(self) -> &'static str {
        match self {
            SortKey::Host => "host",
            SortKey::Name => "name",
            SortKey::State => "state",
            SortKey::Vcpus => "vCPUs",
            SortKey::Memory => "memory",
            SortKey::Cpu => "CPU%",
            SortKey::Autostart => "autostart",
            SortKey::Persistent => "persistent",
        }
    }
}

/// A row: index of the host in `App::hosts` and of the VM in that host's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RowRef {
    pub host: u32,
    pub idx: u32,
}

/// Rows passing `filter`, sorted by `key` (ties: host, name, uuid, so the order is stable).
pub fn build_rows(
    hosts: &[HostView],
    filter: &Filter,
    key: SortKey,
    descending: bool,
) -> Vec<RowRef> {
    let mut rows = Vec::new();
    for (h, host) in hosts.iter().enumerate() {
        if !filter.host_matches(&host.name) {
            continue;
        }
        for (i, vm) in host.vms.iter().enumerate() {
            if filter.vm_matches(vm) {
                rows.push(RowRef {
                    host: h as u32,
                    idx: i as u32,
                });
            }
        }
    }
    let vm = |r: &RowRef| -> (&HostView, &Vm) {
        let h = &hosts[r.host as usize];
        (h, &h.vms[r.idx as usize])
    };
    rows.sort_by(|a, b| {
        let ((ha, va), (hb, vb)) = (vm(a), vm(b));
        let primary = match key {
            SortKey::Host => Ordering::Equal,
            SortKey::Name => natural_cmp(&va.name, &vb.name),
            SortKey::State => va.state.cmp(&vb.state),
            SortKey::Vcpus => va.vcpus.cmp(&vb.vcpus),
            SortKey::Memory => va.max_memory_kib.cmp(&vb.max_memory_kib),
            SortKey::Cpu => {
                let ca = ha.cpu.get(&va.uuid).copied().unwrap_or(-1.0);
                let cb = hb.cpu.get(&vb.uuid).copied().unwrap_or(-1.0);
                ca.total_cmp(&cb)
            }
            SortKey::Autostart => va.autostart.cmp(&vb.autostart),
            SortKey::Persistent => va.persistent.cmp(&vb.persistent),
        };
        let primary = if descending {
            primary.reverse()
        } else {
            primary
        };
        let host_order = if key == SortKey::Host && descending {
            natural_cmp(&hb.name, &ha.name)
        } else {
            natural_cmp(&ha.name, &hb.name)
        };
        primary
            .then(host_order)
            .then_with(|| natural_cmp(&va.name, &vb.name))
            .then_with(|| va.uuid.cmp(&vb.uuid))
    });
    rows
}

/// Compares names so that `web-2` sorts before `web-10`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut ia, mut ib) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (ia.peek().copied(), ib.peek().copied()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(ca), Some(cb)) if ca.is_ascii_digit() && cb.is_ascii_digit() => {
                let na: String =
                    std::iter::from_fn(|| ia.next_if(|c| c.is_ascii_digit())).collect();
                let nb: String =
                    std::iter::from_fn(|| ib.next_if(|c| c.is_ascii_digit())).collect();
                let (ta, tb) = (na.trim_start_matches('0'), nb.trim_start_matches('0'));
                let ord = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb));
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            (Some(ca), Some(cb)) => {
                let ord = ca.to_lowercase().cmp(cb.to_lowercase()).then(ca.cmp(&cb));
                if ord != Ordering::Equal {
                    return ord;
                }
                ia.next();
                ib.next();
            }
        }
    }
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
    }

    #[test]
    fn sort_keys_cycle() {
        let mut k = SortKey::Host;
        for _ in 0..SortKey::ALL.len() {
            k = k.next();
        }
        assert_eq!(k, SortKey::Host);
    }
}
