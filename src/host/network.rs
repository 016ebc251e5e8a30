//! Network commands on the worker's connection: networks, leases, host interfaces, VM
//! addresses.

mod ffi;
mod lease_guard;

pub(super) use lease_guard::LeaseGuard;
mod sysfs;

use std::collections::HashMap;
use std::path::Path;

use virt::connect::Connect;
use virt::error::Error;
use virt::network::Network;
use virt::sys;

use super::{message, HostEvent, NetCmd, NetOp, Reply, RequestId};
use crate::model::network::{AddrSource, HostIface, NetUser, NetworkInventory, VmAddr};
use crate::xml::network as netxml;

/// Runs one network command; answers through `notify`. Returns the libvirt error that failed
/// the command, so the worker can tell a lost connection from a refused action.
pub(super) fn run(
    conn: &Connect,
    cmd: NetCmd,
    notify: &dyn Fn(HostEvent),
    leases: &mut Option<LeaseGuard>,
) -> Result<(), virt::error::Error> {
    match cmd {
        NetCmd::Refresh => {
            notify(HostEvent::Networks(inventory(conn)?));
            Ok(())
        }
        NetCmd::Leases { id, network } => {
            let got = conn
                .lookup_network_by_name(&network)
                .and_then(|n| ffi::dhcp_leases(&n));
            match got {
                Ok(mut leases) => {
                    // By address, numerically (10.0.0.9 before 10.0.0.10).
                    leases.sort_by_key(|l| (l.ip.parse::<std::net::IpAddr>().ok(), l.ip.clone()));
                    notify(HostEvent::Reply {
                        id,
                        reply: Reply::Leases(Ok(leases)),
                    });
                    Ok(())
                }
                Err(e) => {
                    notify(HostEvent::Reply {
                        id,
                        reply: Reply::Leases(Err(message(&e))),
                    });
                    Err(e)
                }
            }
        }
        NetCmd::Addresses => {
            notify(HostEvent::Addresses(addresses(conn, leases)?));
            Ok(())
        }
        NetCmd::Net { id, network, op } => {
            let result = net_op(conn, &network, op);
            finish(conn, id, result, notify)
        }
        NetCmd::Define {
            id,
            xml,
            start,
            autostart,
        } => {
            let result = define(conn, &xml, start, autostart);
            finish(conn, id, result, notify)
        }
    }
}

/// Reports an action's outcome, then the fresh inventory (also after a failure: a half-done
/// action may have changed something). The action's error wins over the refresh's.
fn finish(
    conn: &Connect,
    id: RequestId,
    result: Result<String, (String, Error)>,
    notify: &dyn Fn(HostEvent),
) -> Result<(), Error> {
    let (result, err) = match result {
        Ok(text) => (Ok(text), None),
        Err((text, e)) => (Err(text), Some(e)),
    };
    notify(HostEvent::Reply {
        id,
        reply: Reply::Done(result),
    });
    let refreshed = inventory(conn).map(|inv| notify(HostEvent::Networks(inv)));
    match err {
        Some(e) => Err(e),
        None => refreshed,
    }
}

/// libvirt's message, plus what to do when the cause is a known host setup problem.
fn explain(e: &Error) -> String {
    with_advice(message(e))
}

fn with_advice(m: String) -> String {
    if m.contains("cannot execute binary") && m.contains("tables") {
        // libvirt 9 remembers the failed firewall setup until the daemon restarts, so
        // installing iptables alone does not help.
        format!("{m} (install iptables on the host, then restart libvirtd)")
    } else {
        m
    }
}

fn unsupported(e: &Error) -> bool {
    matches!(
        e.code().to_raw(),
        sys::VIR_ERR_NO_SUPPORT | sys::VIR_ERR_OPERATION_UNSUPPORTED
    )
}

/// Every network (sorted by name) and the host's interfaces.
fn inventory(conn: &Connect) -> Result<NetworkInventory, Error> {
    let nets = match conn.list_all_networks(0) {
        Ok(n) => n,
        // A driver without networks (e.g. some remote ESX/Hyper-V) shows an empty pane.
        Err(e) if unsupported(&e) => Vec::new(),
        Err(e) => return Err(e),
    };
    let mut users = network_users(conn)?;
    let mut networks = Vec::with_capacity(nets.len());
    for net in &nets {
        match network_row(net, &mut users) {
            Ok(row) => networks.push(row),
            // Undefined between the list and these calls, unless the link itself broke.
            Err(e) => {
                if !conn.is_alive().unwrap_or(false) {
                    return Err(e);
                }
            }
        }
    }
    networks.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(NetworkInventory {
        networks,
        ifaces: host_ifaces(conn)?,
    })
}

/// Which VMs have an interface on which network, by network name. One XML read per domain,
/// as the storage pane's disk users: paid only while the networks pane (or the new-VM wizard)
/// asks. Running domains answer with their live XML (what they use now), others with their
/// definition (what they will need to start).
fn network_users(conn: &Connect) -> Result<HashMap<String, Vec<NetUser>>, Error> {
    let doms = match conn.list_all_domains(0) {
        Ok(d) => d,
        Err(e) if unsupported(&e) => return Ok(HashMap::new()),
        Err(e) => return Err(e),
    };
    let mut users: HashMap<String, Vec<NetUser>> = HashMap::new();
    for d in &doms {
        let read = d
            .name()
            .and_then(|name| Ok((name, d.is_active()?, d.xml_desc(0)?)));
        let (vm, running, xml) = match read {
            Ok(r) => r,
            // Undefined meanwhile, unless the link itself broke.
            Err(e) if !conn.is_alive().unwrap_or(false) => return Err(e),
            Err(_) => continue,
        };
        for net in crate::xml::domain::networks_used(&xml).unwrap_or_default() {
            users.entry(net).or_default().push(NetUser {
                vm: vm.clone(),
                running,
            });
        }
    }
    for list in users.values_mut() {
        list.sort_by(|a, b| a.vm.cmp(&b.vm));
    }
    Ok(users)
}

fn network_row(
    net: &Network,
    users: &mut HashMap<String, Vec<NetUser>>,
) -> Result<crate::model::network::Network, Error> {
    let xml = net.xml_desc(0)?;
    let active = net.is_active()?;
    let autostart = net.autostart()?;
    let persistent = net.is_persistent()?;
    let def = match netxml::parse(&xml) {
        // The handle's name is libvirt's own: the XML round trip turns U+2028 and U+0085 into
        // newlines, and actions look the network up by this name.
        Ok(d) => netxml::NetworkDef {
            name: net.name()?,
            ..d
        },
        // XML virtdeck cannot read still gets a row with what the handle knows.
        Err(_) => netxml::NetworkDef {
            name: net.name()?,
            uuid: net.uuid_string().ok(),
            ..netxml::NetworkDef::default()
        },
    };
    let users = users.remove(&def.name).unwrap_or_default();
    Ok(def.to_model(active, autostart, persistent, users))
}

/// The host's interfaces from libvirt's interface driver; without one, /sys for local hosts
/// and nothing for remote ones. Guests' tap devices are left out.
fn host_ifaces(conn: &Connect) -> Result<Vec<HostIface>, Error> {
    let all = match conn.list_all_interfaces(0) {
        Ok(all) => all,
        Err(e) => {
            if !conn.is_alive().unwrap_or(false) {
                return Err(e);
            }
            let local = conn.uri().is_ok_and(|u| super::is_local_uri(&u));
            return Ok(if local {
                with_local_addrs(sysfs::interfaces(
                    Path::new("/sys/class/net"),
                    Path::new("/proc/net/vlan"),
                ))
            } else {
                Vec::new()
            });
        }
    };
    // Two list calls give every interface's state instead of one call per interface.
    let active: std::collections::HashSet<String> = conn
        .list_all_interfaces(sys::VIR_CONNECT_LIST_INTERFACES_ACTIVE)
        .map(|l| l.iter().filter_map(|i| i.name().ok()).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for iface in &all {
        let Ok(name) = iface.name() else { continue };
        if sysfs::is_guest_tap(&name) {
            continue;
        }
        let kind = match iface.xml_desc(0) {
            Ok(xml) => iface_kind(&xml),
            Err(e) => {
                if !conn.is_alive().unwrap_or(false) {
                    return Err(e);
                }
                // Vanished meanwhile.
                continue;
            }
        };
        out.push(HostIface {
            active: active.contains(&name),
            mac: iface.mac_string().ok().filter(|m| !m.is_empty()),
            name,
            kind,
            addrs: Vec::new(),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    let local = conn.uri().is_ok_and(|u| super::is_local_uri(&u));
    Ok(if local { with_local_addrs(out) } else { out })
}

/// Fills in this machine's addresses (getifaddrs), which the network wizard's overlap check
/// needs. Remote hosts keep none: libvirt has no call that reports them.
fn with_local_addrs(mut ifaces: Vec<HostIface>) -> Vec<HostIface> {
    let Ok(all) = if_addrs::get_if_addrs() else {
        return ifaces;
    };
    for a in all {
        let (ip, prefix) = match &a.addr {
            if_addrs::IfAddr::V4(v) => (std::net::IpAddr::V4(v.ip), v.prefixlen),
            if_addrs::IfAddr::V6(v) => (std::net::IpAddr::V6(v.ip), v.prefixlen),
        };
        if let Some(i) = ifaces.iter_mut().find(|i| i.name == a.name) {
            i.addrs.push(format!("{ip}/{prefix}"));
        }
    }
    ifaces
}

/// `<interface type='bridge|ethernet|bond|vlan'>`.
fn iface_kind(xml: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Iface {
        #[serde(rename = "@type", default)]
        kind: Option<String>,
    }
    crate::xml::de::from_str::<Iface>(xml)
        .ok()
        .and_then(|i| i.kind)
        .unwrap_or_else(|| "ethernet".into())
}

/// Every interface's addresses as the guest agent reports them: (name, `ip/prefix`s).
pub(crate) fn agent_addresses(
    dom: &virt::domain::Domain,
) -> Result<Vec<(String, Vec<String>)>, Error> {
    Ok(
        ffi::interface_addresses(dom, sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT)?
            .into_iter()
            .filter(|(name, _, _)| name != "lo")
            .map(|(name, _, addrs)| {
                (
                    name,
                    addrs
                        .into_iter()
                        .map(|(ip, p)| format!("{ip}/{p}"))
                        .collect(),
                )
            })
            .collect(),
    )
}

/// [`addresses`] for a one-shot caller (`virtdeck list`).
pub fn all_addresses(conn: &Connect) -> Result<HashMap<String, Vec<VmAddr>>, Error> {
    addresses(conn, &mut None)
}

/// Addresses of every running domain: the first source (DHCP lease, guest agent, ARP table)
/// that answers with addresses wins. A source the driver does not implement is not asked
/// again for the other domains, nor is ARP after it failed once, nor the agent once one agent
/// was slow to answer (libvirt waits up to 5 s for a stuck agent), so one pass stays bounded.
fn addresses(
    conn: &Connect,
    leases: &mut Option<LeaseGuard>,
) -> Result<HashMap<String, Vec<VmAddr>>, Error> {
    const SOURCES: [(u32, AddrSource); 3] = [
        (
            sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE,
            AddrSource::Lease,
        ),
        (
            sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT,
            AddrSource::Agent,
        ),
        (sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP, AddrSource::Arp),
    ];
    let doms = conn.list_all_domains(sys::VIR_CONNECT_LIST_DOMAINS_ACTIVE)?;
    let mut guard = LeaseGuard::refresh(leases, conn);
    // Sources not asked any more in this pass.
    let mut skip: Vec<u32> = Vec::new();
    let mut out = HashMap::with_capacity(doms.len());
    for dom in &doms {
        let Ok(uuid) = dom.uuid_string() else {
            continue;
        };
        if guard.as_mut().is_some_and(|g| !g.allows(dom, &uuid)) {
            continue;
        }
        let mut found = Vec::new();
        for (raw, source) in SOURCES {
            if skip.contains(&raw) {
                continue;
            }
            let asked = std::time::Instant::now();
            let got = ffi::interface_addresses(dom, raw);
            if source == AddrSource::Agent && asked.elapsed() > SLOW_AGENT {
                skip.push(raw);
            }
            match got {
                Ok(ifaces) => {
                    found = to_addrs(ifaces, source);
                    if !found.is_empty() {
                        break;
                    }
                }
                // Only NO_SUPPORT means the driver lacks the source altogether; agents that
                // are not configured or not connected fail per domain (ARGUMENT_UNSUPPORTED,
                // AGENT_UNRESPONSIVE).
                Err(e) if e.code().to_raw() == sys::VIR_ERR_NO_SUPPORT => skip.push(raw),
                // The ARP source reads the host's neighbour table, the same for every domain:
                // when that fails (libvirt 9.0 on kernel 6.18: "internal error: wrong nlmsg
                // len"), it fails for all.
                Err(_) if source == AddrSource::Arp && conn.is_alive().unwrap_or(false) => {
                    skip.push(raw)
                }
                // No agent, domain stopped meanwhile…: try the next source, unless the link
                // itself is gone.
                Err(e) => {
                    if !conn.is_alive().unwrap_or(false) {
                        return Err(e);
                    }
                }
            }
        }
        out.insert(uuid, found);
    }
    Ok(out)
}

/// An agent slower than this is not asked again in the same pass.
const SLOW_AGENT: std::time::Duration = std::time::Duration::from_secs(1);

fn to_addrs(ifaces: Vec<ffi::DomIface>, source: AddrSource) -> Vec<VmAddr> {
    ifaces
        .into_iter()
        // The agent reports the guest's loopback too.
        .filter(|(name, _, _)| name != "lo")
        .flat_map(|(iface, mac, addrs)| {
            addrs.into_iter().map(move |(ip, prefix)| VmAddr {
                iface: iface.clone(),
                mac: mac.clone().unwrap_or_default(),
                ip,
                prefix,
                source,
            })
        })
        .collect()
}

fn net_op(conn: &Connect, name: &str, op: NetOp) -> Result<String, (String, Error)> {
    let fail = |e: Error| (explain(&e), e);
    let net = conn.lookup_network_by_name(name).map_err(fail)?;
    match op {
        NetOp::Start => net
            .create()
            .map(|_| format!("network '{name}' started"))
            .map_err(fail),
        NetOp::Stop => net
            .destroy()
            .map(|_| format!("network '{name}' stopped"))
            .map_err(fail),
        NetOp::SetAutostart(on) => net.set_autostart(on).map_err(fail).map(|_| {
            format!(
                "network '{name}' autostart {}",
                if on { "enabled" } else { "disabled" }
            )
        }),
        NetOp::Undefine => {
            let active = net.is_active().unwrap_or(false);
            net.undefine().map_err(fail)?;
            Ok(if active {
                format!("network '{name}' undefined (it runs until stopped)")
            } else {
                format!("network '{name}' undefined")
            })
        }
    }
}

/// Defines, then starts and marks autostart as asked. When a later step fails, what the
/// earlier ones did is undone, and the message says so.
fn define(
    conn: &Connect,
    xml: &str,
    start: bool,
    autostart: bool,
) -> Result<String, (String, Error)> {
    let net = conn.define_network_xml(xml).map_err(|e| (explain(&e), e))?;
    let name = net.name().unwrap_or_default();
    let mut started = false;
    let step = (|| {
        if start {
            net.create()?;
            started = true;
        }
        if autostart {
            net.set_autostart(true)?;
        }
        Ok::<(), Error>(())
    })();
    match step {
        Ok(()) => Ok(match (start, autostart) {
            (true, true) => format!("network '{name}' defined, started, autostart enabled"),
            (true, false) => format!("network '{name}' defined and started"),
            (false, true) => format!("network '{name}' defined, autostart enabled"),
            (false, false) => format!("network '{name}' defined"),
        }),
        Err(e) => {
            let mut text = explain(&e);
            let mut undone = Vec::new();
            if started {
                match net.destroy() {
                    Ok(()) => undone.push("stopped".to_string()),
                    Err(e2) => undone.push(format!("stopping failed: {}", message(&e2))),
                }
            }
            match net.undefine() {
                Ok(()) => undone.push(format!("network '{name}' undefined again")),
                Err(e2) => undone.push(format!("undefining '{name}' failed too: {}", message(&e2))),
            }
            text.push_str("; rolled back: ");
            text.push_str(&undone.join(", "));
            Err((text, e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_iptables_gets_advice() {
        let m = "internal error: Failed to apply firewall rules /usr/sbin/iptables -w --table filter --list-rules: libvirt:  error : cannot execute binary /usr/sbin/iptables: No such file or directory";
        assert!(with_advice(m.into())
            .ends_with("(install iptables on the host, then restart libvirtd)"));
        assert_eq!(with_advice("other".into()), "other");
    }

    #[test]
    fn iface_kind_from_xml() {
        assert_eq!(
            iface_kind("<interface type='bridge' name='br0'><bridge stp='on'/></interface>"),
            "bridge"
        );
        assert_eq!(iface_kind("<interface name='x'/>"), "ethernet");
        assert_eq!(iface_kind("not xml"), "ethernet");
    }

    #[test]
    fn agent_loopback_is_dropped() {
        let got = to_addrs(
            vec![
                ("lo".into(), None, vec![("127.0.0.1".into(), 8)]),
                (
                    "eth0".into(),
                    Some("52:54:00:00:00:01".into()),
                    vec![("10.0.0.5".into(), 24), ("fd00::5".into(), 64)],
                ),
            ],
            AddrSource::Agent,
        );
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].ip, "10.0.0.5");
        assert_eq!(got[0].mac, "52:54:00:00:00:01");
        assert_eq!(got[1].prefix, 64);
        assert_eq!(got[1].source, AddrSource::Agent);
    }
}
