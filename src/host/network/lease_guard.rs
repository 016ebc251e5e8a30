//! libvirt's test driver (9.0 at least) dereferences a NULL pointer when it is asked for the
//! addresses of a running domain whose interface is on a network without an `<ip>` holding a
//! `<dhcp><range>`, or on a network it does not have: through `test+unix://` that kills the
//! shared libvirtd, through `test:///` virtdeck itself. So on the test driver a domain is
//! asked only when every network it uses has a DHCP range. Other drivers are asked as usual.

use std::collections::HashSet;

use virt::connect::Connect;
use virt::domain::Domain;

use crate::xml::hardware;
use crate::xml::network as netxml;

pub(super) struct LeaseGuard {
    /// Networks with at least one DHCP range.
    ranged: HashSet<String>,
}

impl LeaseGuard {
    /// A guard for the test driver; None for any other driver (nothing to guard).
    pub(super) fn for_driver(conn: &Connect) -> Option<LeaseGuard> {
        if !conn
            .driver_type()
            .is_ok_and(|t| t.eq_ignore_ascii_case("test"))
        {
            return None;
        }
        let ranged = conn
            .list_all_networks(0)
            .unwrap_or_default()
            .iter()
            .filter_map(|n| netxml::parse(&n.xml_desc(0).ok()?).ok())
            .filter(has_range)
            .map(|def| def.name)
            .collect();
        Some(LeaseGuard { ranged })
    }

    /// Whether asking `dom` for its addresses is safe.
    pub(super) fn allows(&self, dom: &Domain) -> bool {
        let Some(hw) = dom.xml_desc(0).ok().and_then(|x| hardware::parse(&x).ok()) else {
            return false;
        };
        self.allows_nics(&hw.nics)
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
