//! libvirt's test driver (9.0 at least) dereferences a NULL pointer when it is asked for the
//! addresses of a running domain whose interface is on a network without an `<ip>` holding a
//! `<dhcp><range>`, or on a network it does not have: through `test+unix://` that kills the
//! shared libvirtd, through `test:///` virtdeck itself. So on the test driver a domain is
//! asked only when every network it uses has a DHCP range. Other drivers are asked as usual.

use std::collections::{HashMap, HashSet};

use virt::connect::Connect;
use virt::domain::Domain;

use crate::xml::hardware;
use crate::xml::network as netxml;

/// What the guard knows, kept by the host's worker from one addresses pass to the next so a
/// domain's definition is read once, not every pass (100 test hosts of 50 VMs re-read 3,400
/// definitions every 15 s otherwise).
#[derive(Default)]
pub(in crate::host) struct LeaseGuard {
    /// The connection's driver is the test driver (asked once per connection).
    test: bool,
    /// Networks with at least one DHCP range, as of the last pass.
    ranged: HashSet<String>,
    /// Verdicts by domain UUID and id: a restart (new id) or a changed network list asks again.
    verdicts: HashMap<(String, Option<u32>), bool>,
}

impl LeaseGuard {
    /// Brings the guard up to date for one pass: None for a driver other than the test
    /// driver (nothing to guard).
    pub(super) fn refresh<'a>(
        cache: &'a mut Option<LeaseGuard>,
        conn: &Connect,
    ) -> Option<&'a mut LeaseGuard> {
        let guard = cache.get_or_insert_with(|| LeaseGuard {
            test: conn
                .driver_type()
                .is_ok_and(|t| t.eq_ignore_ascii_case("test")),
            ..Default::default()
        });
        if !guard.test {
            return None;
        }
        let ranged: HashSet<String> = conn
            .list_all_networks(0)
            .unwrap_or_default()
            .iter()
            .filter_map(|n| netxml::parse(&n.xml_desc(0).ok()?).ok())
            .filter(has_range)
            .map(|def| def.name)
            .collect();
        if guard.ranged != ranged {
            guard.ranged = ranged;
            guard.verdicts.clear();
        }
        Some(guard)
    }

    /// Whether asking `dom` (of UUID `uuid`) for its addresses is safe.
    pub(super) fn allows(&mut self, dom: &Domain, uuid: &str) -> bool {
        let key = (uuid.to_string(), dom.id());
        if let Some(v) = self.verdicts.get(&key) {
            return *v;
        }
        let verdict = dom
            .xml_desc(0)
            .ok()
            .and_then(|x| hardware::parse(&x).ok())
            .is_some_and(|hw| self.allows_nics(&hw.nics));
        self.verdicts.insert(key, verdict);
        verdict
    }

    fn allows_nics(&self, nics: &[hardware::Nic]) -> bool {
        nics.iter().filter(|n| n.kind == "network").all(|n| {
            n.source
                .as_ref()
                .is_some_and(|net| self.ranged.contains(net))
        })
    }
}

fn has_range(def: &netxml::NetworkDef) -> bool {
    def.ips
        .iter()
        .any(|ip| ip.dhcp.as_ref().is_some_and(|d| !d.ranges.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nic(kind: &str, source: Option<&str>) -> hardware::Nic {
        hardware::Nic {
            kind: kind.into(),
            source: source.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn only_networks_with_a_dhcp_range_are_asked_about() {
        let ranged = netxml::parse(
            "<network><name>default</name><ip address='192.168.122.1' netmask='255.255.255.0'>\
             <dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp></ip></network>",
        )
        .unwrap();
        let bare = netxml::parse(
            "<network><name>prod-br</name><forward mode='bridge'/><bridge name='br0'/></network>",
        )
        .unwrap();
        let no_dhcp = netxml::parse(
            "<network><name>iso</name><ip address='10.0.0.1' prefix='24'/></network>",
        )
        .unwrap();
        assert!(has_range(&ranged));
        assert!(!has_range(&bare) && !has_range(&no_dhcp));
        let g = LeaseGuard {
            ranged: HashSet::from(["default".to_string()]),
            ..Default::default()
        };
        assert!(g.allows_nics(&[nic("network", Some("default"))]));
        assert!(g.allows_nics(&[nic("bridge", Some("br0")), nic("user", None)]));
        assert!(!g.allows_nics(&[
            nic("network", Some("default")),
            nic("network", Some("prod-br"))
        ]));
        assert!(!g.allows_nics(&[nic("network", Some("gone"))]));
        assert!(!g.allows_nics(&[nic("network", None)]));
    }
}
