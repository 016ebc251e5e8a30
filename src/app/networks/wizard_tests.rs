//! The new-network wizard without a terminal or a host: suggested subnets, the host's own
//! addresses, names, the DHCP range following the subnet.

use super::wizard as network;
use crate::app::wizard::tests::{clear, error, type_slowly};
use crate::app::wizard::{refresh, Context};
use crate::model::HostId;

#[test]
fn network_wizard_suggests_a_free_subnet_and_checks_the_range() {
    let ctx = Context::default();
    let mut w = network::new(HostId(0), &ctx);
    refresh(&mut w, &ctx);
    assert_eq!(w.get("subnet"), "192.168.100.0/24");
    assert_eq!(w.get("dhcp_start"), "192.168.100.128");
    w.set_text("name", "lab<&>");
    w.set_text("dhcp_start", "192.168.101.10");
    refresh(&mut w, &ctx);
    assert!(w
        .field("dhcp_start")
        .and_then(|f| f.error.clone())
        .is_some_and(|e| e.contains("outside")));
    w.set_text("dhcp_start", "192.168.100.10");
    refresh(&mut w, &ctx);
    assert!(w
        .field("dhcp_start")
        .and_then(|f| f.error.clone())
        .is_none());
    let Some(Ok(xml)) = &w.review else {
        panic!("{:?}", w.review);
    };
    assert!(
        xml.contains("lab&lt;&amp;&gt;") && xml.contains("nat"),
        "{xml}"
    );
}

#[test]
fn network_wizard_avoids_and_warns_about_the_hosts_own_addresses() {
    let ctx = Context {
        ifaces: vec![crate::model::network::HostIface {
            name: "eth0".into(),
            kind: "ethernet".into(),
            mac: None,
            active: true,
            addrs: vec!["192.168.100.7/24".into(), "127.0.0.1/8".into()],
        }],
        ..Context::default()
    };
    let mut w = network::new(HostId(0), &ctx);
    refresh(&mut w, &ctx);
    assert_eq!(
        w.get("subnet"),
        "192.168.101.0/24",
        "the host's LAN is skipped"
    );
    assert!(w.field("subnet").and_then(|f| f.warning.clone()).is_none());
    w.set_text("subnet", "192.168.100.0/24");
    refresh(&mut w, &ctx);
    let warn = w.field("subnet").and_then(|f| f.warning.clone());
    assert!(
        warn.as_deref()
            .is_some_and(|m| m.contains("host's address 192.168.100.7/24")),
        "{warn:?}"
    );
}

#[test]
fn network_names_refuse_control_and_format_characters() {
    let ctx = Context::default();
    let mut w = network::new(HostId(0), &ctx);
    w.set_text("name", ".hidden");
    refresh(&mut w, &ctx);
    assert!(error(&w, "name").is_some(), "network named '.hidden'");
}

#[test]
fn network_wizard_moves_the_dhcp_range_with_the_subnet() {
    let ctx = Context::default();
    let mut w = network::new(HostId(0), &ctx);
    refresh(&mut w, &ctx);
    w.set_text("name", "lab");
    assert_eq!(w.get("subnet"), "192.168.100.0/24");
    assert_eq!(w.get("dhcp_start"), "192.168.100.128");
    assert_eq!(w.get("dhcp_end"), "192.168.100.254");
    // Typed over, one key at a time (each intermediate text is checked too).
    clear(&mut w, &ctx, "subnet");
    type_slowly(&mut w, &ctx, "10.0.5.0/24");
    assert_eq!(w.get("dhcp_start"), "10.0.5.128");
    assert_eq!(w.get("dhcp_end"), "10.0.5.254");
    assert_eq!(error(&w, "dhcp_start"), None);
    // A smaller subnet: the old offsets do not fit, so the range is suggested afresh.
    w.set_text("subnet", "10.0.6.0/28");
    refresh(&mut w, &ctx);
    assert_eq!(error(&w, "dhcp_start"), None, "{}", w.get("dhcp_start"));
    let r = (w.get("dhcp_start"), w.get("dhcp_end"));
    assert!(
        r.0.starts_with("10.0.6.") && r.1.starts_with("10.0.6."),
        "{r:?}"
    );
    // A range the user set outside the subnet on purpose is theirs: it stays (and is flagged).
    w.set_text("dhcp_start", "172.16.0.10");
    w.set_text("dhcp_end", "172.16.0.20");
    refresh(&mut w, &ctx);
    w.set_text("subnet", "10.0.7.0/24");
    refresh(&mut w, &ctx);
    assert_eq!(w.get("dhcp_start"), "172.16.0.10");
    assert!(error(&w, "dhcp_start").is_some());
}
