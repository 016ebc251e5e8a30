//! libvirt network XML: a typed parser for what `virNetworkGetXMLDesc` returns, builders for
//! the new-network wizard, and the checks the wizard runs while the user types (the address
//! arithmetic behind them is `crate::subnet`, the naming rules `crate::names`).
//!
//! Only the elements virtdeck shows or creates are modelled; `to_xml` writes those and drops
//! the rest (`<dns>`, `<route>`, `<portgroup>`…), so it is for new networks, not for editing a
//! foreign definition in place.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::model::network::{ForwardMode, NetIp, NetUser, Network};
use crate::names::{self, NameKind};
use crate::subnet::*;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetXmlError {
    #[error("network XML: {0}")]
    Parse(String),
    #[error("network XML: cannot write: {0}")]
    Write(String),
    #[error("network XML: {0}")]
    Invalid(String),
}

// ---------------------------------------------------------------- typed XML

/// `<network>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename = "network")]
pub struct NetworkDef {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// `None`: an isolated network.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward: Option<Forward>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bridge: Option<Bridge>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<Mac>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<DnsDomain>,
    #[serde(rename = "ip", skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<IpDef>,
}

/// `<forward mode dev>`; libvirt's default mode is nat.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forward {
    #[serde(rename = "@mode", default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(rename = "@dev", default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
}

/// `<bridge name stp delay>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bridge {
    #[serde(rename = "@name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(
        rename = "@stp",
        default,
        skip_serializing_if = "Option::is_none",
        with = "on_off"
    )]
    pub stp: Option<bool>,
    #[serde(rename = "@delay", default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<u32>,
}

/// `<mac address>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mac {
    #[serde(rename = "@address")]
    pub address: String,
}

/// `<domain name localOnly>`: the DNS domain dnsmasq serves.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsDomain {
    #[serde(rename = "@name")]
    pub name: String,
    #[serde(
        rename = "@localOnly",
        default,
        skip_serializing_if = "Option::is_none",
        with = "yes_no"
    )]
    pub local_only: Option<bool>,
}

/// `<ip family address prefix|netmask>` with its DHCP settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpDef {
    /// "ipv4" (the default when absent) or "ipv6".
    #[serde(rename = "@family", default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The host's address on the subnet (empty if the XML has none).
    #[serde(rename = "@address", default)]
    pub address: String,
    #[serde(rename = "@prefix", default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<u8>,
    #[serde(rename = "@netmask", default, skip_serializing_if = "Option::is_none")]
    pub netmask: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp: Option<Dhcp>,
}

/// `<dhcp>`: ranges and static hosts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Dhcp {
    #[serde(rename = "range", skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<DhcpRange>,
    #[serde(rename = "host", skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<DhcpHost>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DhcpRange {
    #[serde(rename = "@start")]
    pub start: String,
    #[serde(rename = "@end")]
    pub end: String,
}

/// A static lease: `mac` for IPv4, `id` (DUID) or `name` for IPv6.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DhcpHost {
    #[serde(rename = "@mac", default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    #[serde(rename = "@id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "@name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "@ip", default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// `stp='on|off'`.
mod on_off {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(true) => s.serialize_str("on"),
            Some(false) => s.serialize_str("off"),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "on" | "yes" => Ok(Some(true)),
            "off" | "no" => Ok(Some(false)),
            other => Err(serde::de::Error::custom(format!(
                "expected on or off, found '{other}'"
            ))),
        }
    }
}

/// `localOnly='yes|no'`.
mod yes_no {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(true) => s.serialize_str("yes"),
            Some(false) => s.serialize_str("no"),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "yes" | "on" => Ok(Some(true)),
            "no" | "off" => Ok(Some(false)),
            other => Err(serde::de::Error::custom(format!(
                "expected yes or no, found '{other}'"
            ))),
        }
    }
}

// `<network>` and `<dhcp>` are read by hand-written visitors: the derived ones reject a list
// whose items are interleaved with other elements (`<ip/><route/><ip/>`, legal XML) as a
// "duplicate field", and quick-xml's `overlapped-lists` feature is not enabled.

impl<'de> Deserialize<'de> for NetworkDef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NetworkDef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a <network> element")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NetworkDef, A::Error> {
                let mut def = NetworkDef::default();
                let mut name = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "name" => name = Some(map.next_value::<String>()?),
                        "uuid" => def.uuid = Some(map.next_value()?),
                        "forward" => def.forward = Some(map.next_value()?),
                        "bridge" => def.bridge = Some(map.next_value()?),
                        "mac" => def.mac = Some(map.next_value()?),
                        "domain" => def.domain = Some(map.next_value()?),
                        "ip" => def.ips.push(map.next_value()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                def.name = name.ok_or_else(|| de::Error::missing_field("name"))?;
                Ok(def)
            }
        }
        d.deserialize_struct(
            "network",
            &["name", "uuid", "forward", "bridge", "mac", "domain", "ip"],
            V,
        )
    }
}

impl<'de> Deserialize<'de> for Dhcp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Dhcp;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a <dhcp> element")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Dhcp, A::Error> {
                let mut dhcp = Dhcp::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "range" => dhcp.ranges.push(map.next_value()?),
                        "host" => dhcp.hosts.push(map.next_value()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(dhcp)
            }
            // `<dhcp/>` with nothing inside.
            fn visit_unit<E: de::Error>(self) -> Result<Dhcp, E> {
                Ok(Dhcp::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Dhcp, E> {
                Ok(Dhcp::default())
            }
        }
        d.deserialize_struct("dhcp", &["range", "host"], V)
    }
}

/// Parses a network definition as libvirt writes it (live or inactive XML).
pub fn parse(xml: &str) -> Result<NetworkDef, NetXmlError> {
    crate::xml::de::from_str(xml).map_err(|e| NetXmlError::Parse(e.to_string()))
}

impl NetworkDef {
    /// The definition as XML, indented for the wizard's review page. Every value is escaped
    /// by the serializer.
    pub fn to_xml(&self) -> Result<String, NetXmlError> {
        let mut out = String::new();
        let mut ser = quick_xml::se::Serializer::new(&mut out);
        ser.indent(' ', 2);
        ser.set_quote_level(quick_xml::se::QuoteLevel::Full);
        self.serialize(ser)
            .map_err(|e| NetXmlError::Write(e.to_string()))?;
        out.push('\n');
        Ok(out)
    }

    /// The forward mode as the pane shows it.
    pub fn forward_mode(&self) -> ForwardMode {
        match &self.forward {
            None => ForwardMode::Isolated,
            Some(f) => match f.mode.as_deref() {
                None | Some("nat") => ForwardMode::Nat,
                Some("route") => ForwardMode::Route,
                Some("open") => ForwardMode::Open,
                Some("bridge") => ForwardMode::Bridge,
                Some(_) => ForwardMode::Other,
            },
        }
    }

    pub fn bridge_name(&self) -> Option<&str> {
        self.bridge.as_ref().and_then(|b| b.name.as_deref())
    }

    /// The pane's row for this network.
    pub fn to_model(
        &self,
        active: bool,
        autostart: bool,
        persistent: bool,
        users: Vec<NetUser>,
    ) -> Network {
        Network {
            name: self.name.clone(),
            uuid: self.uuid.clone().unwrap_or_default(),
            forward: self.forward_mode(),
            bridge: self.bridge_name().map(str::to_string),
            ips: self
                .ips
                .iter()
                .map(|ip| NetIp {
                    family: if ip.is_ipv6() { "ipv6" } else { "ipv4" }.to_string(),
                    address: ip.address.clone(),
                    prefix: ip.prefix_len().unwrap_or(0),
                    dhcp: ip
                        .dhcp
                        .iter()
                        .flat_map(|d| &d.ranges)
                        .map(|r| (r.start.clone(), r.end.clone()))
                        .collect(),
                })
                .collect(),
            active,
            autostart,
            persistent,
            users,
        }
    }

    /// Every subnet of the network, for overlap checks.
    pub fn subnets(&self) -> Vec<Cidr> {
        self.ips.iter().filter_map(IpDef::subnet).collect()
    }
}

impl IpDef {
    pub fn is_ipv6(&self) -> bool {
        match self.family.as_deref() {
            Some(f) => f.eq_ignore_ascii_case("ipv6"),
            None => self.address.contains(':'),
        }
    }

    /// The prefix length from `prefix`, else `netmask`, else libvirt's default (the classful
    /// one for IPv4, 64 for IPv6).
    pub fn prefix_len(&self) -> Result<u8, String> {
        if let Some(p) = self.prefix {
            return Ok(p);
        }
        if let Some(mask) = &self.netmask {
            return netmask_prefix(mask);
        }
        if self.is_ipv6() {
            return Ok(64);
        }
        let a: Ipv4Addr = self
            .address
            .parse()
            .map_err(|_| format!("'{}' is not an IPv4 address", self.address))?;
        Ok(match a.octets()[0] {
            0..=127 => 8,
            128..=191 => 16,
            _ => 24,
        })
    }

    /// The subnet with the host address kept (`192.168.122.1/24`).
    pub fn subnet(&self) -> Option<Cidr> {
        let addr: IpAddr = self.address.parse().ok()?;
        Cidr::new(addr, self.prefix_len().ok()?).ok()
    }
}

// ---------------------------------------------------------------- builders

/// What kind of network the wizard creates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NewKind {
    /// NAT to the host's uplink (libvirt's default network).
    #[default]
    Nat,
    /// Routed: guests' addresses are visible, the upstream router needs a route.
    Route,
    /// No `<forward>`: guests and the host only.
    Isolated,
    /// Guests join an existing host bridge; no addresses of libvirt's own.
    Bridge,
}

/// One IP block as typed in the wizard.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubnetSpec {
    /// `192.168.100.0/24` or `fd00:100::/64`.
    pub cidr: String,
    /// The host's address on it; empty: the first address.
    pub gateway: String,
    /// DHCP range (start, end); `None`: no DHCP.
    pub dhcp: Option<(String, String)>,
}

/// The new-network wizard's fields, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewNetwork {
    pub name: String,
    pub kind: NewKind,
    /// Bridge kind: the existing host bridge (required). Others: the bridge libvirt creates
    /// (empty: libvirt picks virbrN).
    pub bridge: String,
    /// NAT/route: the host interface to forward through (empty: any).
    pub forward_dev: String,
    pub ipv4: Option<SubnetSpec>,
    pub ipv6: Option<SubnetSpec>,
    /// DNS domain for the guests (empty: none).
    pub domain: String,
}

/// The part of a network definition a problem is about (the wizard shows it on that field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    Name,
    Bridge,
    ForwardDev,
    Domain,
    Subnet { v6: bool },
    Gateway { v6: bool },
    Dhcp { v6: bool },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: Part,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let v = |v6: bool| if v6 { "IPv6" } else { "IPv4" };
        match self.field {
            Part::Name => write!(f, "name: {}", self.message),
            Part::Bridge => write!(f, "bridge: {}", self.message),
            Part::ForwardDev => write!(f, "forward device: {}", self.message),
            Part::Domain => write!(f, "DNS domain: {}", self.message),
            Part::Subnet { v6 } => write!(f, "{} subnet: {}", v(v6), self.message),
            Part::Gateway { v6 } => write!(f, "{} host address: {}", v(v6), self.message),
            Part::Dhcp { v6 } => write!(f, "{} DHCP range: {}", v(v6), self.message),
        }
    }
}

impl NewNetwork {
    /// A NAT network on `cidr` with the suggested DHCP range.
    pub fn nat(name: &str, cidr: &str) -> NewNetwork {
        NewNetwork::with_subnet(name, NewKind::Nat, cidr)
    }

    pub fn routed(name: &str, cidr: &str) -> NewNetwork {
        NewNetwork::with_subnet(name, NewKind::Route, cidr)
    }

    /// An isolated network; `cidr` empty for one without addresses.
    pub fn isolated(name: &str, cidr: &str) -> NewNetwork {
        if cidr.is_empty() {
            NewNetwork {
                name: name.into(),
                kind: NewKind::Isolated,
                ..NewNetwork::default()
            }
        } else {
            NewNetwork::with_subnet(name, NewKind::Isolated, cidr)
        }
    }

    /// Guests join the existing host bridge `bridge`.
    pub fn bridged(name: &str, bridge: &str) -> NewNetwork {
        NewNetwork {
            name: name.into(),
            kind: NewKind::Bridge,
            bridge: bridge.into(),
            ..NewNetwork::default()
        }
    }

    fn with_subnet(name: &str, kind: NewKind, cidr: &str) -> NewNetwork {
        let dhcp = parse_subnet(cidr).ok().and_then(|c| {
            let g = gateway(&c, "").ok()?;
            suggest_dhcp(&c, g).map(|(a, b)| (a.to_string(), b.to_string()))
        });
        NewNetwork {
            name: name.into(),
            kind,
            ipv4: Some(SubnetSpec {
                cidr: cidr.into(),
                gateway: String::new(),
                dhcp,
            }),
            ..NewNetwork::default()
        }
    }

    /// Every problem with the fields; empty when `build` will succeed.
    pub fn validate(&self) -> Vec<FieldError> {
        match self.build() {
            Ok(_) => Vec::new(),
            Err(e) => e,
        }
    }

    /// The definition to hand to `NetCmd::Define` (via `to_xml`).
    pub fn build(&self) -> Result<NetworkDef, Vec<FieldError>> {
        let mut errs = Vec::new();
        let mut err = |field, message: String| errs.push(FieldError { field, message });
        if let Err(m) = names::check(NameKind::Network, &self.name) {
            err(Part::Name, m);
        }
        let bridge = self.bridge.trim();
        if self.kind == NewKind::Bridge && bridge.is_empty() {
            err(
                Part::Bridge,
                "choose the host bridge the guests join".into(),
            );
        } else if !bridge.is_empty() {
            if let Err(m) = names::check_iface(bridge) {
                err(Part::Bridge, m);
            }
        }
        let dev = self.forward_dev.trim();
        if !dev.is_empty() {
            if !matches!(self.kind, NewKind::Nat | NewKind::Route) {
                err(
                    Part::ForwardDev,
                    "only NAT and routed networks forward through a device".into(),
                );
            } else if let Err(m) = names::check_iface(dev) {
                err(Part::ForwardDev, m);
            }
        }
        let domain = self.domain.trim();
        if !domain.is_empty() {
            if self.kind == NewKind::Bridge {
                err(
                    Part::Domain,
                    "a bridged network has no DNS server of its own".into(),
                );
            } else if let Err(m) = names::check_dns_domain(domain) {
                err(Part::Domain, m);
            }
        }
        let mut ips = Vec::new();
        for (spec, v6) in [(&self.ipv4, false), (&self.ipv6, true)] {
            let Some(spec) = spec else { continue };
            if self.kind == NewKind::Bridge {
                err(
                    Part::Subnet { v6 },
                    "a bridged network has no addresses of its own: the host bridge's network provides them".into(),
                );
                continue;
            }
            match ip_block(spec, v6) {
                Ok(ip) => ips.push(ip),
                Err((field, m)) => err(field, m),
            }
        }
        let has_v4 = self.ipv4.is_some();
        match self.kind {
            NewKind::Nat if !has_v4 => err(
                Part::Subnet { v6: false },
                "a NAT network needs an IPv4 subnet".into(),
            ),
            NewKind::Route if self.ipv4.is_none() && self.ipv6.is_none() => err(
                Part::Subnet { v6: false },
                "a routed network needs a subnet".into(),
            ),
            _ => {}
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        let forward = match self.kind {
            NewKind::Isolated => None,
            kind => Some(Forward {
                mode: Some(
                    match kind {
                        NewKind::Route => "route",
                        NewKind::Bridge => "bridge",
                        _ => "nat",
                    }
                    .into(),
                ),
                dev: (!dev.is_empty()).then(|| dev.to_string()),
            }),
        };
        let bridge = match (self.kind, bridge.is_empty()) {
            (NewKind::Bridge, _) => Some(Bridge {
                name: Some(bridge.to_string()),
                ..Bridge::default()
            }),
            (_, true) => None,
            (_, false) => Some(Bridge {
                name: Some(bridge.to_string()),
                stp: Some(true),
                delay: Some(0),
            }),
        };
        Ok(NetworkDef {
            name: self.name.clone(),
            forward,
            bridge,
            domain: (!domain.is_empty()).then(|| DnsDomain {
                name: domain.to_string(),
                local_only: None,
            }),
            ips,
            ..NetworkDef::default()
        })
    }
}

fn ip_block(spec: &SubnetSpec, v6: bool) -> Result<IpDef, (Part, String)> {
    let subnet = parse_subnet(&spec.cidr).map_err(|m| (Part::Subnet { v6 }, m))?;
    if subnet.is_ipv6() != v6 {
        return Err((
            Part::Subnet { v6 },
            format!(
                "{} is an {} subnet",
                spec.cidr.trim(),
                family_name(subnet.addr)
            ),
        ));
    }
    let gw = gateway(&subnet, &spec.gateway).map_err(|m| (Part::Gateway { v6 }, m))?;
    let dhcp = match &spec.dhcp {
        None => None,
        Some((start, end)) => {
            let (a, b) = dhcp_range(&subnet, gw, start, end).map_err(|m| (Part::Dhcp { v6 }, m))?;
            Some(Dhcp {
                ranges: vec![DhcpRange {
                    start: a.to_string(),
                    end: b.to_string(),
                }],
                hosts: Vec::new(),
            })
        }
    };
    Ok(IpDef {
        family: v6.then(|| "ipv6".to_string()),
        address: gw.to_string(),
        prefix: Some(subnet.prefix),
        netmask: None,
        dhcp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `virsh -c qemu:///system net-dumpxml` of a running NAT network with IPv4 + IPv6, DHCP
    /// and a static host (libvirt 9.0, Debian 12).
    const LIBVIRT9_LIVE: &str = r#"<network connections='1'>
  <name>vdk-capture-3</name>
  <uuid>959d4569-6952-41a4-868c-f84805065a5f</uuid>
  <forward mode='nat'>
    <nat>
      <port start='1024' end='65535'/>
    </nat>
  </forward>
  <bridge name='vdkcap3' stp='on' delay='0'/>
  <mac address='52:54:00:6f:8a:90'/>
  <domain name='cap.test'/>
  <ip address='10.213.77.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='10.213.77.100' end='10.213.77.200'/>
      <host mac='52:54:00:aa:bb:cc' name='h1' ip='10.213.77.10'/>
    </dhcp>
  </ip>
  <ip family='ipv6' address='fd00:77::1' prefix='64'>
    <dhcp>
      <range start='fd00:77::100' end='fd00:77::1ff'/>
    </dhcp>
  </ip>
</network>
"#;

    /// `virsh -c test:///default net-dumpxml default`.
    const TEST_DRIVER_DEFAULT: &str = r#"<network>
  <name>default</name>
  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='on' delay='0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
"#;

    /// libvirt 9.0 `net-dumpxml` of a bridged network.
    const LIBVIRT9_BRIDGED: &str = r#"<network>
  <name>vdk-v4d</name>
  <uuid>a0ede8c3-a951-42a5-bbf1-7caa1903bdef</uuid>
  <forward mode='bridge'/>
  <bridge name='vdkcap3'/>
</network>
"#;

    fn c(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    #[test]
    fn parses_libvirt9_live_xml() {
        let d = parse(LIBVIRT9_LIVE).unwrap();
        assert_eq!(d.name, "vdk-capture-3");
        assert_eq!(
            d.uuid.as_deref(),
            Some("959d4569-6952-41a4-868c-f84805065a5f")
        );
        assert_eq!(d.forward_mode(), ForwardMode::Nat);
        assert_eq!(
            d.bridge,
            Some(Bridge {
                name: Some("vdkcap3".into()),
                stp: Some(true),
                delay: Some(0)
            })
        );
        assert_eq!(d.mac.as_ref().unwrap().address, "52:54:00:6f:8a:90");
        assert_eq!(d.domain.as_ref().unwrap().name, "cap.test");
        assert_eq!(d.ips.len(), 2);
        let v4 = &d.ips[0];
        assert!(!v4.is_ipv6());
        assert_eq!(v4.prefix_len(), Ok(24));
        let dhcp = v4.dhcp.as_ref().unwrap();
        assert_eq!(
            dhcp.ranges,
            vec![DhcpRange {
                start: "10.213.77.100".into(),
                end: "10.213.77.200".into()
            }]
        );
        assert_eq!(
            dhcp.hosts,
            vec![DhcpHost {
                mac: Some("52:54:00:aa:bb:cc".into()),
                id: None,
                name: Some("h1".into()),
                ip: Some("10.213.77.10".into())
            }]
        );
        let v6 = &d.ips[1];
        assert!(v6.is_ipv6());
        assert_eq!(v6.prefix_len(), Ok(64));
        assert_eq!(v6.subnet().unwrap().subnet(), c("fd00:77::/64"));

        let on = NetUser {
            vm: "web".into(),
            running: true,
        };
        let m = d.to_model(true, false, true, vec![on.clone()]);
        assert_eq!(m.forward, ForwardMode::Nat);
        assert_eq!(m.bridge.as_deref(), Some("vdkcap3"));
        assert_eq!(m.ips[0].family, "ipv4");
        assert_eq!(m.ips[0].prefix, 24);
        assert_eq!(
            m.ips[0].dhcp,
            vec![("10.213.77.100".into(), "10.213.77.200".into())]
        );
        assert_eq!(m.ips[1].family, "ipv6");
        assert!(m.active && !m.autostart && m.persistent);
        assert_eq!(m.users, vec![on]);
        assert_eq!(m.users_label(), "1 (1 on)");
    }

    #[test]
    fn parses_test_driver_and_bridged_xml() {
        let d = parse(TEST_DRIVER_DEFAULT).unwrap();
        assert_eq!(d.name, "default");
        assert_eq!(d.forward_mode(), ForwardMode::Nat);
        assert_eq!(d.bridge_name(), Some("virbr0"));
        assert_eq!(d.subnets(), vec![c("192.168.122.1/24")]);
        let b = parse(LIBVIRT9_BRIDGED).unwrap();
        assert_eq!(b.forward_mode(), ForwardMode::Bridge);
        assert!(b.ips.is_empty());
        let iso = parse("<network><name>i</name><ip address='10.1.2.3'/></network>").unwrap();
        assert_eq!(iso.forward_mode(), ForwardMode::Isolated);
        // No prefix nor netmask: libvirt's classful default.
        assert_eq!(iso.ips[0].prefix_len(), Ok(8));
        let other = parse("<network><name>p</name><forward mode='passthrough'/></network>");
        assert_eq!(other.unwrap().forward_mode(), ForwardMode::Other);
        let default_mode = parse("<network><name>n</name><forward/></network>").unwrap();
        assert_eq!(default_mode.forward_mode(), ForwardMode::Nat);
    }

    #[test]
    fn interleaved_lists_and_unknown_elements_parse() {
        let d = parse(
            "<network><name>x</name><ip address='10.0.0.1' prefix='24'><dhcp><range start='10.0.0.5' end='10.0.0.6'/><bootp file='a'/><range start='10.0.0.9' end='10.0.0.9'/><host mac='52:54:00:00:00:01' ip='10.0.0.7'/><range start='10.0.0.20' end='10.0.0.30'/></dhcp></ip><route address='10.9.0.0' prefix='16' gateway='10.0.0.2'/><ip family='ipv6' address='fd00::1' prefix='64'><dhcp/></ip><dns><host ip='1.2.3.4'><hostname>h</hostname></host></dns></network>",
        )
        .unwrap();
        assert_eq!(d.ips.len(), 2);
        assert_eq!(d.ips[0].dhcp.as_ref().unwrap().ranges.len(), 3);
        assert_eq!(d.ips[0].dhcp.as_ref().unwrap().hosts.len(), 1);
        assert_eq!(d.ips[1].dhcp, Some(Dhcp::default()));
    }

    #[test]
    fn bad_xml_is_an_error() {
        assert!(
            parse("<network><uuid>x</uuid></network>").is_err(),
            "no name"
        );
        assert!(parse("<network><name>x</name>").is_err());
        assert!(parse("<network><name>x</name><bridge stp='maybe'/></network>").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn round_trip_keeps_modelled_fields() {
        let d = parse(LIBVIRT9_LIVE).unwrap();
        let xml = d.to_xml().unwrap();
        let back = parse(&xml).unwrap();
        assert_eq!(back, d);
        assert!(!xml.contains("connections"));
        // And again from the written form: stable.
        assert_eq!(
            parse(&back.to_xml().unwrap()).unwrap().to_xml().unwrap(),
            xml
        );
    }

    #[test]
    fn hostile_names_are_escaped() {
        for name in [
            "a<b>&c'd\"e",
            "</name><forward mode='open'/><name>x",
            "ünï cödé 网络 🚀",
            "]]> <!-- --> <?pi?>",
        ] {
            // The builder refuses '/' (libvirt does too); the serializer must escape anyway.
            let d = if name.contains('/') {
                NetworkDef {
                    name: name.into(),
                    ..NetworkDef::default()
                }
            } else {
                let mut n = NewNetwork::isolated(name, "");
                n.domain = "lab.test".into();
                n.build().unwrap()
            };
            let xml = d.to_xml().unwrap();
            assert!(!xml.contains("<forward"), "{xml}");
            let back = parse(&xml).unwrap();
            assert_eq!(back.name, name);
            assert_eq!(back.forward_mode(), ForwardMode::Isolated);
            assert_eq!(back, d);
        }
    }

    #[test]
    fn builders_produce_the_expected_xml() {
        let nat = NewNetwork::nat("lab", "192.168.100.0/24").build().unwrap();
        assert_eq!(
            nat.to_xml().unwrap(),
            "<network>\n  <name>lab</name>\n  <forward mode=\"nat\"/>\n  <ip address=\"192.168.100.1\" prefix=\"24\">\n    <dhcp>\n      <range start=\"192.168.100.128\" end=\"192.168.100.254\"/>\n    </dhcp>\n  </ip>\n</network>\n"
        );
        let mut routed = NewNetwork::routed("r", "10.20.0.0/16");
        routed.bridge = "vdkr0".into();
        routed.forward_dev = "eth0".into();
        routed.ipv6 = Some(SubnetSpec {
            cidr: "fd00:20::/64".into(),
            gateway: String::new(),
            dhcp: Some(("fd00:20::100".into(), "fd00:20::1ff".into())),
        });
        let r = routed.build().unwrap();
        assert_eq!(r.forward_mode(), ForwardMode::Route);
        assert_eq!(r.forward.as_ref().unwrap().dev.as_deref(), Some("eth0"));
        assert_eq!(r.bridge_name(), Some("vdkr0"));
        assert_eq!(r.ips[1].family.as_deref(), Some("ipv6"));
        assert_eq!(r.ips[1].address, "fd00:20::1");
        let xml = r.to_xml().unwrap();
        assert!(
            xml.contains("<bridge name=\"vdkr0\" stp=\"on\" delay=\"0\"/>"),
            "{xml}"
        );

        let iso = NewNetwork::isolated("iso", "").build().unwrap();
        assert!(iso.forward.is_none() && iso.ips.is_empty());
        let mut iso4 = NewNetwork::isolated("iso4", "10.5.0.0/24");
        iso4.ipv4.as_mut().unwrap().dhcp = None;
        let iso4 = iso4.build().unwrap();
        assert!(iso4.forward.is_none());
        assert_eq!(iso4.ips[0].dhcp, None);

        let br = NewNetwork::bridged("br", "br0").build().unwrap();
        assert_eq!(
            br.to_xml().unwrap(),
            "<network>\n  <name>br</name>\n  <forward mode=\"bridge\"/>\n  <bridge name=\"br0\"/>\n</network>\n"
        );
    }

    #[test]
    fn builder_reports_every_field() {
        let mut n = NewNetwork::nat("a/b", "192.168.100.1/24");
        n.bridge = "this-bridge-name-is-long".into();
        n.domain = "bad_domain".into();
        let errs = n.validate();
        let fields: Vec<Part> = errs.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            vec![
                Part::Name,
                Part::Bridge,
                Part::Domain,
                Part::Subnet { v6: false }
            ],
            "{errs:?}"
        );
        assert_eq!(
            errs[3].to_string(),
            "IPv4 subnet: 192.168.100.1/24 has host bits set: the network is 192.168.100.0/24"
        );
        let mut n = NewNetwork::bridged("b", "");
        n.ipv4 = Some(SubnetSpec::default());
        let f: Vec<Part> = n.validate().iter().map(|e| e.field).collect();
        assert_eq!(f, vec![Part::Bridge, Part::Subnet { v6: false }]);
        let mut nat = NewNetwork::nat("n", "10.0.0.0/24");
        nat.ipv4 = None;
        assert_eq!(
            nat.validate()[0].message,
            "a NAT network needs an IPv4 subnet"
        );
        let mut wrong_family = NewNetwork::nat("n", "10.0.0.0/24");
        wrong_family.ipv6 = Some(SubnetSpec {
            cidr: "10.1.0.0/24".into(),
            ..SubnetSpec::default()
        });
        assert_eq!(
            wrong_family.validate()[0].to_string(),
            "IPv6 subnet: 10.1.0.0/24 is an IPv4 subnet"
        );
        let mut iso = NewNetwork::isolated("i", "");
        iso.forward_dev = "eth0".into();
        assert_eq!(iso.validate()[0].field, Part::ForwardDev);
    }

    #[test]
    fn network_subnets_of_parsed_networks() {
        let model =
            vec![parse(TEST_DRIVER_DEFAULT)
                .unwrap()
                .to_model(true, true, true, Vec::new())];
        assert_eq!(
            network_subnets(&model),
            vec![("default".to_string(), c("192.168.122.1/24"))]
        );
    }
}
