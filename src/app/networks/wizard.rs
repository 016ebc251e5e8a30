//! The new-network wizard: NAT, routed, isolated, or a bridge to an existing host bridge. The
//! fields map onto `xml::network::NewNetwork`, whose checks run as the user types; overlaps with
//! the host's other networks are warnings (libvirt has the last word).

use crate::app::wizard::{self, Context, Field, Input, Spec, Wizard};
use crate::app::{App, Effect};
use crate::host::{HostCommand, NetCmd};
use crate::model::HostId;
use crate::names::{self, NameKind};
use crate::subnet::{
    gateway, move_dhcp, network_subnets, overlaps, parse_subnet, rebase, suggest_dhcp,
    suggest_subnet, Cidr,
};
use crate::xml::network::{NewKind, NewNetwork, Part as F, SubnetSpec};

const KINDS: &[&str] = &["nat", "route", "isolated", "bridge"];

/// The host's own addresses (loopback aside: 127/8 is never a candidate anyway).
fn host_addrs(ctx: &Context) -> Vec<Cidr> {
    ctx.ifaces
        .iter()
        .flat_map(|i| &i.addrs)
        .filter_map(|a| Cidr::parse(a).ok())
        .filter(|c| !c.addr.is_loopback())
        .collect()
}

/// The new-network wizard as the generic wizard carries it.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkForm;

impl Spec for NetworkForm {
    fn verb(&self) -> &'static str {
        "define"
    }

    fn refresh(&self, w: &mut Wizard, ctx: &Context) {
        refresh(w, ctx)
    }

    fn submit(&self, app: &mut App) -> Vec<Effect> {
        wizard::send(app, |w, _, id| command(w, id).map(HostCommand::Network))
    }
}

pub fn new(host: HostId, ctx: &Context) -> Wizard {
    let taken: Vec<_> = network_subnets(&ctx.networks)
        .into_iter()
        .map(|(_, c)| c)
        .chain(host_addrs(ctx))
        .collect();
    let subnet = suggest_subnet(&taken)
        .map(|c| c.to_string())
        .unwrap_or_default();
    let (start, end) = parse_subnet(&subnet)
        .ok()
        .and_then(|c| suggest_dhcp(&c, gateway(&c, "").ok()?))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .unwrap_or_default();
    let mut w = Wizard::new(
        "New virtual network",
        host,
        NetworkForm,
        vec!["Network", "Addresses", "Options", "Review"],
        vec![
            Field::text("name", "Name", 0, "").hint(&names::hint(NameKind::Network)),
            Field::choice("kind", "Type", 0, KINDS)
                .hint("nat: guests reach out through the host; route: guests are routed; isolated: host only; bridge: join a host bridge"),
            Field::text("bridge", "Bridge name", 0, "").hint("the bridge libvirt creates; empty: virbrN"),
            Field::choice("hostbridge", "Host bridge", 0, &[]).hint("an existing bridge on the host (see i on the networks pane)"),
            Field::text("dev", "Forward via", 0, "").hint("optional: the host interface traffic leaves by (e.g. eth0)"),
            Field::text("domain", "DNS domain", 0, "").hint("optional: guests get NAME.DOMAIN"),
            Field::text("subnet", "IPv4 subnet", 1, &subnet).hint("CIDR, e.g. 192.168.100.0/24 (empty: no IPv4)"),
            Field::text("gateway", "Host address", 1, "").hint("empty: the first address of the subnet"),
            Field::toggle("dhcp", "DHCP", 1, true),
            Field::text("dhcp_start", "DHCP from", 1, &start),
            Field::text("dhcp_end", "DHCP to", 1, &end),
            Field::text("subnet6", "IPv6 subnet", 1, "").hint("optional, e.g. fd00:100::/64"),
            Field::toggle("start", "Start now", 2, true),
            Field::toggle("autostart", "Autostart", 2, true).hint("start with the host"),
        ],
    );
    let bridges: Vec<String> = ctx
        .ifaces
        .iter()
        .filter(|i| i.kind == "bridge")
        .map(|i| i.name.clone())
        .collect();
    w.set_options("hostbridge", bridges);
    w
}

fn kind(w: &Wizard) -> NewKind {
    match w.get("kind").as_str() {
        "route" => NewKind::Route,
        "isolated" => NewKind::Isolated,
        "bridge" => NewKind::Bridge,
        _ => NewKind::Nat,
    }
}

fn spec(w: &Wizard) -> NewNetwork {
    let k = kind(w);
    let bridged = k == NewKind::Bridge;
    let subnet = w.get("subnet");
    let ipv4 = (!bridged && !subnet.is_empty()).then(|| SubnetSpec {
        cidr: subnet,
        gateway: w.get("gateway"),
        dhcp: w
            .on("dhcp")
            .then(|| (w.get("dhcp_start"), w.get("dhcp_end"))),
    });
    let v6 = w.get("subnet6");
    let ipv6 = (!bridged && !v6.is_empty()).then(|| SubnetSpec {
        cidr: v6,
        gateway: String::new(),
        dhcp: None,
    });
    NewNetwork {
        name: w.get("name"),
        kind: k,
        bridge: if bridged {
            w.get("hostbridge")
        } else {
            w.get("bridge")
        },
        forward_dev: if matches!(k, NewKind::Nat | NewKind::Route) {
            w.get("dev")
        } else {
            String::new()
        },
        ipv4,
        ipv6,
        domain: if bridged {
            String::new()
        } else {
            w.get("domain")
        },
    }
}

fn field_key(f: F) -> &'static str {
    match f {
        F::Name => "name",
        F::Bridge => "bridge",
        F::ForwardDev => "dev",
        F::Domain => "domain",
        F::Subnet { v6: false } => "subnet",
        F::Subnet { v6: true } | F::Gateway { v6: true } | F::Dhcp { v6: true } => "subnet6",
        F::Gateway { v6: false } => "gateway",
        F::Dhcp { v6: false } => "dhcp_start",
    }
}

/// Memo keys: the last subnet that parsed, the DHCP range before the wizard first moved it,
/// and the range it moved it to (a range the user edits afterwards is theirs).
const SUBNET_WAS: &str = "subnet";
const RANGE_WAS: &str = "dhcp_was";
const RANGE_SET: &str = "dhcp_set";

fn range(w: &Wizard) -> String {
    format!("{} - {}", w.get("dhcp_start"), w.get("dhcp_end"))
}

/// A new subnet takes the host address and the DHCP range along when they were inside the old
/// one (same offsets when they fit, else a fresh suggestion): a range left in the old subnet
/// is never what the user meant. Says so on the field and in the review.
fn follow_subnet(w: &mut Wizard) {
    if w.memo.get(RANGE_SET).is_some_and(|set| *set != range(w)) {
        // Edited by hand since the last move: no longer the wizard's doing.
        w.memo.remove(RANGE_WAS);
        w.memo.remove(RANGE_SET);
    }
    let Ok(new) = parse_subnet(&w.get("subnet")) else {
        return;
    };
    let old = w.memo.insert(SUBNET_WAS, new.to_string());
    let Some(old) = old
        .and_then(|o| parse_subnet(&o).ok())
        .filter(|o| *o != new)
    else {
        return;
    };
    if let Some(g) = w
        .get("gateway")
        .parse()
        .ok()
        .and_then(|g| rebase(g, &old, &new))
    {
        w.set_text("gateway", &g.to_string());
    }
    let Ok(gw) = gateway(&new, &w.get("gateway")) else {
        return;
    };
    let before = range(w);
    if let Some((a, b)) = move_dhcp(&old, &new, gw, &w.get("dhcp_start"), &w.get("dhcp_end")) {
        w.set_text("dhcp_start", &a.to_string());
        w.set_text("dhcp_end", &b.to_string());
        w.memo.entry(RANGE_WAS).or_insert(before);
        w.memo.insert(RANGE_SET, range(w));
    }
}

pub fn refresh(w: &mut Wizard, ctx: &Context) {
    follow_subnet(w);
    let k = kind(w);
    let bridged = k == NewKind::Bridge;
    let dhcp = w.on("dhcp");
    for f in &mut w.fields {
        f.error = None;
        f.warning = None;
        f.visible = match f.key {
            "bridge" | "domain" => !bridged,
            "hostbridge" => bridged,
            "dev" => matches!(k, NewKind::Nat | NewKind::Route),
            "subnet" | "gateway" | "dhcp" | "subnet6" => !bridged,
            "dhcp_start" | "dhcp_end" => !bridged && dhcp,
            _ => true,
        };
    }
    if bridged
        && matches!(&w.field("hostbridge").map(|f| &f.input), Some(Input::Choice { options, .. }) if options.is_empty())
    {
        if let Some(f) = w.field_mut("hostbridge") {
            f.error = Some("the host reports no bridges (create one first, e.g. br0)".into());
        }
    }
    let s = spec(w);
    for e in s.validate() {
        let mut key = field_key(e.field);
        if bridged && key == "bridge" {
            key = "hostbridge";
        }
        if let Some(f) = w.field_mut(key) {
            if f.visible {
                f.error.get_or_insert(e.message);
            } else if let Some(f) = w.fields.iter_mut().find(|f| f.key == "name") {
                f.error.get_or_insert(e.to_string());
            }
        }
    }
    let name = w.get("name");
    if ctx.networks.iter().any(|n| n.name == name) {
        if let Some(f) = w.field_mut("name") {
            f.error = Some(format!("the host already has a network named {name}"));
        }
    }
    w.review_notes.clear();
    let moved = w
        .memo
        .get(RANGE_WAS)
        .filter(|was| **was != range(w) && dhcp && !bridged)
        .cloned();
    if let Some(was) = moved {
        let note = format!("DHCP range moved with the subnet: {was} → {}", range(w));
        if let Some(f) = w.field_mut("dhcp_start") {
            f.warning = Some(format!("moved with the subnet (was {was})"));
        }
        w.review_notes.push(note);
    }
    if let Ok(c) = parse_subnet(&w.get("subnet")) {
        let others = network_subnets(&ctx.networks);
        let warns = overlaps(&c, &others, &host_addrs(ctx));
        if let (false, Some(f)) = (warns.is_empty() || bridged, w.field_mut("subnet")) {
            f.warning = Some(warns.join("; "));
        }
    }
    w.review = Some(
        s.build()
            .map_err(|e| {
                e.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .and_then(|d| d.to_xml().map_err(|e| e.to_string())),
    );
}

pub fn command(w: &Wizard, id: crate::host::RequestId) -> Result<NetCmd, String> {
    let xml = match &w.review {
        Some(Ok(x)) => x.clone(),
        Some(Err(e)) => return Err(e.clone()),
        None => return Err("nothing to define".into()),
    };
    Ok(NetCmd::Define {
        id,
        xml,
        start: w.on("start"),
        autostart: w.on("autostart"),
    })
}
