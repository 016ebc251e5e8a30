//! libvirt network XML: a typed parser for what `virNetworkGetXMLDesc` returns, builders for
//! the new-network wizard, and the pure checks the wizard runs while the user types (subnet
//! syntax, DHCP range, names, overlaps with other networks and host addresses).
//!
//! Only the elements virtdeck shows or creates are modelled; `to_xml` writes those and drops
//! the rest (`<dns>`, `<route>`, `<portgroup>`…), so it is for new networks, not for editing a
//! foreign definition in place.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::model::network::{ForwardMode, NetIp, NetUser, Network};

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

/// `255.255.255.0` → 24; the mask must be contiguous.
pub fn netmask_prefix(mask: &str) -> Result<u8, String> {
    let m: Ipv4Addr = mask
        .trim()
        .parse()
        .map_err(|_| format!("'{mask}' is not a netmask"))?;
    let bits = u32::from(m);
    let ones = bits.leading_ones();
    if bits.checked_shl(ones).unwrap_or(0) != 0 {
        return Err(format!("netmask {mask} is not contiguous"));
    }
    Ok(ones as u8)
}

// ---------------------------------------------------------------- addresses

/// An address with a prefix length: a subnet (`192.168.100.0/24`) or a host address on one
/// (`192.168.100.1/24`). IPv4 and IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

fn bits(a: IpAddr) -> u32 {
    match a {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn to_u128(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u32::from(v) as u128,
        IpAddr::V6(v) => u128::from(v),
    }
}

fn from_u128(like: IpAddr, n: u128) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(n as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(n)),
    }
}

fn family_name(a: IpAddr) -> &'static str {
    match a {
        IpAddr::V4(_) => "IPv4",
        IpAddr::V6(_) => "IPv6",
    }
}

impl Cidr {
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Cidr, String> {
        if u32::from(prefix) > bits(addr) {
            return Err(format!(
                "prefix /{prefix} is too long for an {} address (at most /{})",
                family_name(addr),
                bits(addr)
            ));
        }
        Ok(Cidr { addr, prefix })
    }

    /// `a.b.c.d/p` or `x::y/p`; host bits may be set (`192.168.1.10/24`); a bare address is a
    /// /32 or /128.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("enter a subnet such as 192.168.100.0/24".into());
        }
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("'{addr}' is not an IPv4 or IPv6 address"))?;
        let prefix = match prefix {
            None => bits(addr) as u8,
            Some(p) => p.parse::<u8>().map_err(|_| {
                format!(
                    "'/{p}' is not a prefix length (0 to {} for {})",
                    bits(addr),
                    family_name(addr)
                )
            })?,
        };
        Cidr::new(addr, prefix)
    }

    pub fn is_ipv6(&self) -> bool {
        self.addr.is_ipv6()
    }

    fn mask(&self) -> u128 {
        let host_bits = bits(self.addr) - u32::from(self.prefix);
        let all = if bits(self.addr) == 128 {
            u128::MAX
        } else {
            u32::MAX as u128
        };
        all.checked_shl(host_bits).unwrap_or(0) & all
    }

    /// The subnet's own address (host bits cleared).
    pub fn network(&self) -> IpAddr {
        from_u128(self.addr, to_u128(self.addr) & self.mask())
    }

    /// The last address of the subnet (the IPv4 broadcast address).
    pub fn last(&self) -> IpAddr {
        let all = if self.is_ipv6() {
            u128::MAX
        } else {
            u32::MAX as u128
        };
        from_u128(
            self.addr,
            (to_u128(self.addr) & self.mask()) | (!self.mask() & all),
        )
    }

    /// This subnet without host bits.
    pub fn subnet(&self) -> Cidr {
        Cidr {
            addr: self.network(),
            prefix: self.prefix,
        }
    }

    pub fn is_network(&self) -> bool {
        self.addr == self.network()
    }

    /// Number of addresses (saturating at u128::MAX for ::/0).
    pub fn size(&self) -> u128 {
        let host_bits = bits(self.addr) - u32::from(self.prefix);
        1u128.checked_shl(host_bits).unwrap_or(u128::MAX)
    }

    /// The dotted netmask (IPv4) or the mask as an IPv6 address.
    pub fn netmask(&self) -> IpAddr {
        from_u128(self.addr, self.mask())
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv6() == self.is_ipv6() && (to_u128(ip) & self.mask()) == to_u128(self.network())
    }

    pub fn overlaps(&self, other: &Cidr) -> bool {
        if self.is_ipv6() != other.is_ipv6() {
            return false;
        }
        let shorter = if self.prefix <= other.prefix {
            self
        } else {
            other
        };
        let longer = if shorter == self { other } else { self };
        shorter.contains(longer.addr)
    }

    /// The `n`th address of the subnet (0 = the network address), if inside.
    pub fn nth(&self, n: u128) -> Option<IpAddr> {
        (n < self.size()).then(|| from_u128(self.addr, to_u128(self.network()) + n))
    }

    /// Whether `ip` is the network or (IPv4) broadcast address, which no host may use.
    fn reserved(&self, ip: IpAddr) -> Option<&'static str> {
        if ip == self.network() {
            return Some("the network address");
        }
        if !self.is_ipv6() && ip == self.last() {
            return Some("the broadcast address");
        }
        None
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A subnet as the user types it: must be the network itself (`192.168.100.0/24`), with a
/// prefix that leaves room for the host and guests.
pub fn parse_subnet(s: &str) -> Result<Cidr, String> {
    let c = Cidr::parse(s)?;
    if !s.contains('/') {
        return Err(format!(
            "add the prefix length, e.g. {}/{}",
            c.addr,
            if c.is_ipv6() { 64 } else { 24 }
        ));
    }
    if !c.is_network() {
        return Err(format!(
            "{c} has host bits set: the network is {}",
            c.subnet()
        ));
    }
    let (lo, hi) = if c.is_ipv6() { (8, 126) } else { (8, 30) };
    if c.prefix < lo || c.prefix > hi {
        return Err(format!(
            "prefix /{} is out of range: use /{lo} to /{hi} for {}",
            c.prefix,
            family_name(c.addr)
        ));
    }
    Ok(c)
}

/// The host's own address on the network: `gateway` as typed, or the first address after the
/// network address when empty.
pub fn gateway(subnet: &Cidr, typed: &str) -> Result<IpAddr, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return subnet
            .nth(1)
            .ok_or_else(|| format!("{subnet} has no room for a host address"));
    }
    let ip: IpAddr = typed
        .parse()
        .map_err(|_| format!("'{typed}' is not an IP address"))?;
    if !subnet.contains(ip) {
        return Err(format!("{ip} is not inside {}", subnet.subnet()));
    }
    if let Some(what) = subnet.reserved(ip) {
        return Err(format!("{ip} is {what} of {}", subnet.subnet()));
    }
    Ok(ip)
}

/// Checks a DHCP range against its subnet and the host's address. Returns the parsed ends.
pub fn dhcp_range(
    subnet: &Cidr,
    gateway: IpAddr,
    start: &str,
    end: &str,
) -> Result<(IpAddr, IpAddr), String> {
    let parse = |what: &str, s: &str| -> Result<IpAddr, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err(format!("enter the DHCP range's {what} address"));
        }
        let ip: IpAddr = s
            .parse()
            .map_err(|_| format!("DHCP {what} '{s}' is not an IP address"))?;
        if !subnet.contains(ip) {
            return Err(format!(
                "DHCP {what} {ip} is outside the subnet {}",
                subnet.subnet()
            ));
        }
        if let Some(r) = subnet.reserved(ip) {
            return Err(format!("DHCP {what} {ip} is {r} of {}", subnet.subnet()));
        }
        Ok(ip)
    };
    let a = parse("start", start)?;
    let b = parse("end", end)?;
    if to_u128(a) > to_u128(b) {
        return Err(format!("the DHCP range starts ({a}) after it ends ({b})"));
    }
    let g = to_u128(gateway);
    if g >= to_u128(a) && g <= to_u128(b) {
        return Err(format!(
            "the DHCP range {a} - {b} contains the host's own address {gateway}"
        ));
    }
    Ok((a, b))
}

/// A DHCP range for a subnet, the way virt-manager suggests one: the upper half, minus the
/// broadcast address and the host's own address.
pub fn suggest_dhcp(subnet: &Cidr, gateway: IpAddr) -> Option<(IpAddr, IpAddr)> {
    let net = to_u128(subnet.network());
    let size = subnet.size();
    let last = if subnet.is_ipv6() {
        // DHCPv6: a modest block like virt-manager's ::100 - ::1ff.
        net.checked_add(0x1ff.min(size - 1))?
    } else {
        net + size.checked_sub(2)?
    };
    let mut first = if subnet.is_ipv6() {
        net + 0x100.min(size / 2)
    } else {
        net + (size / 2).max(1)
    };
    let g = to_u128(gateway);
    if g >= first && g <= last {
        first = g + 1;
    }
    (first <= last && first > net)
        .then(|| (from_u128(subnet.addr, first), from_u128(subnet.addr, last)))
}

/// Where address `ip` of subnet `from` lands when the subnet becomes `to`: the same offset from
/// the network address, if that fits in `to`.
pub fn rebase(ip: IpAddr, from: &Cidr, to: &Cidr) -> Option<IpAddr> {
    if !from.contains(ip) || from.is_ipv6() != to.is_ipv6() {
        return None;
    }
    to.nth(to_u128(ip) - to_u128(from.network()))
}

/// The DHCP range `start`-`end` of subnet `from`, moved along when the subnet becomes `to`
/// (host address `gateway` there): the same offsets when they make a valid range in `to`,
/// else the range [`suggest_dhcp`] gives. `None` when the range was not inside `from`: a
/// range the user put elsewhere is theirs to fix.
pub fn move_dhcp(
    from: &Cidr,
    to: &Cidr,
    gateway: IpAddr,
    start: &str,
    end: &str,
) -> Option<(IpAddr, IpAddr)> {
    let a: IpAddr = start.trim().parse().ok()?;
    let b: IpAddr = end.trim().parse().ok()?;
    if !from.contains(a) || !from.contains(b) {
        return None;
    }
    let same = rebase(a, from, to).zip(rebase(b, from, to));
    match same {
        Some((a, b)) if dhcp_range(to, gateway, &a.to_string(), &b.to_string()).is_ok() => {
            Some((a, b))
        }
        _ => suggest_dhcp(to, gateway),
    }
}

/// The first free /24 in 192.168.100-254.0 then 10.0-255.x.0, for the wizard's default.
pub fn suggest_subnet(taken: &[Cidr]) -> Option<Cidr> {
    let candidates = (100..=254u8)
        .map(|c| Ipv4Addr::new(192, 168, c, 0))
        .chain((0..=255u8).flat_map(|b| (0..=255u8).map(move |c| Ipv4Addr::new(10, b, c, 0))));
    candidates
        .map(|a| Cidr {
            addr: IpAddr::V4(a),
            prefix: 24,
        })
        .find(|c| !taken.iter().any(|t| t.overlaps(c)))
}

/// Warnings (not errors: libvirt decides) for a new subnet that overlaps another network or an
/// address the host already has. `others` are (network name, subnet); `host_addrs` are the
/// host's addresses with their prefix (`192.168.1.10/24`).
pub fn overlaps(subnet: &Cidr, others: &[(String, Cidr)], host_addrs: &[Cidr]) -> Vec<String> {
    let mut out = Vec::new();
    for (name, other) in others {
        if subnet.overlaps(other) {
            out.push(format!(
                "{} overlaps network '{name}' ({})",
                subnet.subnet(),
                other.subnet()
            ));
        }
    }
    for h in host_addrs {
        if subnet.contains(h.addr) {
            out.push(format!(
                "{} contains the host's address {h}",
                subnet.subnet()
            ));
        } else if subnet.overlaps(h) {
            out.push(format!(
                "{} overlaps the host's network {} (address {h})",
                subnet.subnet(),
                h.subnet()
            ));
        }
    }
    out
}

/// (name, subnet) of every IP block of the given networks, for `overlaps`.
pub fn network_subnets(nets: &[Network]) -> Vec<(String, Cidr)> {
    nets.iter()
        .flat_map(|n| {
            n.ips.iter().filter_map(move |ip| {
                let addr: IpAddr = ip.address.parse().ok()?;
                Some((n.name.clone(), Cidr::new(addr, ip.prefix).ok()?))
            })
        })
        .collect()
}

// ---------------------------------------------------------------- names

/// Network name rules: see [`crate::names`].
pub fn validate_name(name: &str) -> Result<(), String> {
    crate::names::check(crate::names::NameKind::Network, name)
}

/// Linux interface names (bridges, forward devices): 1-15 bytes, no '/', ':' or white space,
/// not "." or "..".
pub fn validate_iface_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("enter an interface name".into());
    }
    if name.len() > 15 {
        return Err(format!(
            "'{name}' is {} bytes long: interface names have at most 15",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Err(format!("'{name}' is not a valid interface name"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| *c == '/' || *c == ':' || c.is_whitespace() || c.is_control())
    {
        return Err(format!("interface names cannot contain {c:?}"));
    }
    Ok(())
}

/// A DNS domain such as `lab.example`: labels of letters, digits and '-'.
pub fn validate_domain(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err("a DNS domain has 1 to 253 characters".into());
    }
    for label in name.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return Err(format!(
                "'{label}' is not a valid DNS label (letters, digits, '-', at most 63)"
            ));
        }
    }
    Ok(())
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

/// Which wizard field a problem belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
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
    pub field: Field,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let v = |v6: bool| if v6 { "IPv6" } else { "IPv4" };
        match self.field {
            Field::Name => write!(f, "name: {}", self.message),
            Field::Bridge => write!(f, "bridge: {}", self.message),
            Field::ForwardDev => write!(f, "forward device: {}", self.message),
            Field::Domain => write!(f, "DNS domain: {}", self.message),
            Field::Subnet { v6 } => write!(f, "{} subnet: {}", v(v6), self.message),
            Field::Gateway { v6 } => write!(f, "{} host address: {}", v(v6), self.message),
            Field::Dhcp { v6 } => write!(f, "{} DHCP range: {}", v(v6), self.message),
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
        if let Err(m) = validate_name(&self.name) {
            err(Field::Name, m);
        }
        let bridge = self.bridge.trim();
        if self.kind == NewKind::Bridge && bridge.is_empty() {
            err(
                Field::Bridge,
                "choose the host bridge the guests join".into(),
            );
        } else if !bridge.is_empty() {
            if let Err(m) = validate_iface_name(bridge) {
                err(Field::Bridge, m);
            }
        }
        let dev = self.forward_dev.trim();
        if !dev.is_empty() {
            if !matches!(self.kind, NewKind::Nat | NewKind::Route) {
                err(
                    Field::ForwardDev,
                    "only NAT and routed networks forward through a device".into(),
                );
            } else if let Err(m) = validate_iface_name(dev) {
                err(Field::ForwardDev, m);
            }
        }
        let domain = self.domain.trim();
        if !domain.is_empty() {
            if self.kind == NewKind::Bridge {
                err(
                    Field::Domain,
                    "a bridged network has no DNS server of its own".into(),
                );
            } else if let Err(m) = validate_domain(domain) {
                err(Field::Domain, m);
            }
        }
        let mut ips = Vec::new();
        for (spec, v6) in [(&self.ipv4, false), (&self.ipv6, true)] {
            let Some(spec) = spec else { continue };
            if self.kind == NewKind::Bridge {
                err(
                    Field::Subnet { v6 },
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
                Field::Subnet { v6: false },
                "a NAT network needs an IPv4 subnet".into(),
            ),
            NewKind::Route if self.ipv4.is_none() && self.ipv6.is_none() => err(
                Field::Subnet { v6: false },
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

fn ip_block(spec: &SubnetSpec, v6: bool) -> Result<IpDef, (Field, String)> {
    let subnet = parse_subnet(&spec.cidr).map_err(|m| (Field::Subnet { v6 }, m))?;
    if subnet.is_ipv6() != v6 {
        return Err((
            Field::Subnet { v6 },
            format!(
                "{} is an {} subnet",
                spec.cidr.trim(),
                family_name(subnet.addr)
            ),
        ));
    }
    let gw = gateway(&subnet, &spec.gateway).map_err(|m| (Field::Gateway { v6 }, m))?;
    let dhcp = match &spec.dhcp {
        None => None,
        Some((start, end)) => {
            let (a, b) =
                dhcp_range(&subnet, gw, start, end).map_err(|m| (Field::Dhcp { v6 }, m))?;
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

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
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
        let fields: Vec<Field> = errs.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            vec![
                Field::Name,
                Field::Bridge,
                Field::Domain,
                Field::Subnet { v6: false }
            ],
            "{errs:?}"
        );
        assert_eq!(
            errs[3].to_string(),
            "IPv4 subnet: 192.168.100.1/24 has host bits set: the network is 192.168.100.0/24"
        );
        let mut n = NewNetwork::bridged("b", "");
        n.ipv4 = Some(SubnetSpec::default());
        let f: Vec<Field> = n.validate().iter().map(|e| e.field).collect();
        assert_eq!(f, vec![Field::Bridge, Field::Subnet { v6: false }]);
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
        assert_eq!(iso.validate()[0].field, Field::ForwardDev);
    }

    #[test]
    fn subnet_syntax_and_prefix_range() {
        assert_eq!(parse_subnet("192.168.100.0/24"), Ok(c("192.168.100.0/24")));
        assert_eq!(parse_subnet(" 10.0.0.0/8 "), Ok(c("10.0.0.0/8")));
        assert_eq!(
            parse_subnet("192.168.100.7/24").unwrap_err(),
            "192.168.100.7/24 has host bits set: the network is 192.168.100.0/24"
        );
        assert_eq!(
            parse_subnet("192.168.100.0").unwrap_err(),
            "add the prefix length, e.g. 192.168.100.0/24"
        );
        assert_eq!(
            parse_subnet("192.168.100.0/33").unwrap_err(),
            "prefix /33 is too long for an IPv4 address (at most /32)"
        );
        assert_eq!(
            parse_subnet("192.168.100.0/31").unwrap_err(),
            "prefix /31 is out of range: use /8 to /30 for IPv4"
        );
        assert_eq!(
            parse_subnet("0.0.0.0/0").unwrap_err(),
            "prefix /0 is out of range: use /8 to /30 for IPv4"
        );
        assert_eq!(
            parse_subnet("192.168.1000.0/24").unwrap_err(),
            "'192.168.1000.0' is not an IPv4 or IPv6 address"
        );
        assert_eq!(
            parse_subnet("10.0.0.0/x").unwrap_err(),
            "'/x' is not a prefix length (0 to 32 for IPv4)"
        );
        assert!(parse_subnet("").is_err());
        assert_eq!(parse_subnet("fd00:1::/64"), Ok(c("fd00:1::/64")));
        assert_eq!(
            parse_subnet("fd00:1::5/64").unwrap_err(),
            "fd00:1::5/64 has host bits set: the network is fd00:1::/64"
        );
        assert!(parse_subnet("fd00::/129").is_err());
        assert!(parse_subnet("fd00:::1/64").is_err());
        assert_eq!(netmask_prefix("255.255.240.0"), Ok(20));
        assert_eq!(netmask_prefix("0.0.0.0"), Ok(0));
        assert_eq!(netmask_prefix("255.255.255.255"), Ok(32));
        assert_eq!(
            netmask_prefix("255.0.255.0").unwrap_err(),
            "netmask 255.0.255.0 is not contiguous"
        );
    }

    #[test]
    fn cidr_arithmetic() {
        let s = c("192.168.100.0/24");
        assert_eq!(s.network(), ip("192.168.100.0"));
        assert_eq!(s.last(), ip("192.168.100.255"));
        assert_eq!(s.netmask(), ip("255.255.255.0"));
        assert_eq!(s.size(), 256);
        assert_eq!(s.nth(1), Some(ip("192.168.100.1")));
        assert_eq!(s.nth(256), None);
        assert!(s.contains(ip("192.168.100.77")));
        assert!(!s.contains(ip("192.168.101.0")));
        assert!(!s.contains(ip("::1")));
        assert!(s.overlaps(&c("192.168.0.0/16")));
        assert!(c("192.168.0.0/16").overlaps(&s));
        assert!(!s.overlaps(&c("192.168.101.0/24")));
        assert!(!s.overlaps(&c("fd00::/8")));
        let v6 = c("fd00:77::/64");
        assert_eq!(v6.last(), ip("fd00:77::ffff:ffff:ffff:ffff"));
        assert!(v6.contains(ip("fd00:77::1ff")));
        assert!(!v6.contains(ip("fd00:78::1")));
        assert_eq!(c("::/0").size(), u128::MAX);
        assert_eq!(c("0.0.0.0/0").last(), ip("255.255.255.255"));
        assert_eq!(c("10.1.2.3").prefix, 32);
    }

    #[test]
    fn gateway_and_dhcp_range_checks() {
        let s = c("192.168.100.0/24");
        assert_eq!(gateway(&s, ""), Ok(ip("192.168.100.1")));
        assert_eq!(gateway(&s, "192.168.100.254"), Ok(ip("192.168.100.254")));
        assert_eq!(
            gateway(&s, "192.168.100.255").unwrap_err(),
            "192.168.100.255 is the broadcast address of 192.168.100.0/24"
        );
        assert_eq!(
            gateway(&s, "192.168.101.1").unwrap_err(),
            "192.168.101.1 is not inside 192.168.100.0/24"
        );
        let g = ip("192.168.100.1");
        assert_eq!(
            dhcp_range(&s, g, "192.168.100.2", "192.168.100.254"),
            Ok((ip("192.168.100.2"), ip("192.168.100.254")))
        );
        assert_eq!(
            dhcp_range(&s, g, "192.168.100.200", "192.168.100.100").unwrap_err(),
            "the DHCP range starts (192.168.100.200) after it ends (192.168.100.100)"
        );
        assert_eq!(
            dhcp_range(&s, g, "192.168.100.1", "192.168.100.100").unwrap_err(),
            "the DHCP range 192.168.100.1 - 192.168.100.100 contains the host's own address 192.168.100.1"
        );
        assert_eq!(
            dhcp_range(&s, g, "192.168.100.0", "192.168.100.100").unwrap_err(),
            "DHCP start 192.168.100.0 is the network address of 192.168.100.0/24"
        );
        assert_eq!(
            dhcp_range(&s, g, "192.168.100.2", "192.168.100.255").unwrap_err(),
            "DHCP end 192.168.100.255 is the broadcast address of 192.168.100.0/24"
        );
        assert_eq!(
            dhcp_range(&s, g, "192.168.101.2", "192.168.101.9").unwrap_err(),
            "DHCP start 192.168.101.2 is outside the subnet 192.168.100.0/24"
        );
        assert_eq!(
            dhcp_range(&s, g, "", "192.168.100.9").unwrap_err(),
            "enter the DHCP range's start address"
        );
        assert_eq!(
            dhcp_range(&s, g, "fd00::2", "fd00::9").unwrap_err(),
            "DHCP start fd00::2 is outside the subnet 192.168.100.0/24"
        );
        let v6 = c("fd00:77::/64");
        let g6 = gateway(&v6, "").unwrap();
        assert_eq!(g6, ip("fd00:77::1"));
        assert!(dhcp_range(&v6, g6, "fd00:77::100", "fd00:77::1ff").is_ok());
        assert!(dhcp_range(&v6, g6, "fd00:77::1", "fd00:77::1ff").is_err());
        assert!(dhcp_range(&v6, g6, "fd00:78::100", "fd00:78::1ff").is_err());
        assert!(dhcp_range(&v6, g6, "fd00:77::1ff", "fd00:77::100").is_err());
    }

    #[test]
    fn a_dhcp_range_moves_with_its_subnet() {
        let (old, new) = (c("192.168.100.0/24"), c("10.0.5.0/24"));
        let g = ip("10.0.5.1");
        assert_eq!(
            move_dhcp(&old, &new, g, "192.168.100.10", "192.168.100.99"),
            Some((ip("10.0.5.10"), ip("10.0.5.99"))),
            "same offsets"
        );
        // Larger: the offsets still fit.
        assert_eq!(
            move_dhcp(
                &old,
                &c("10.8.0.0/16"),
                ip("10.8.0.1"),
                "192.168.100.128",
                "192.168.100.254"
            ),
            Some((ip("10.8.0.128"), ip("10.8.0.254")))
        );
        // Smaller: they do not, so the range is suggested afresh.
        let small = c("10.0.6.0/28");
        let gs = ip("10.0.6.1");
        assert_eq!(
            move_dhcp(&old, &small, gs, "192.168.100.128", "192.168.100.254"),
            suggest_dhcp(&small, gs)
        );
        // The offsets would cover the new host address: suggested afresh too.
        assert_eq!(
            move_dhcp(
                &old,
                &new,
                ip("10.0.5.50"),
                "192.168.100.10",
                "192.168.100.99"
            ),
            suggest_dhcp(&new, ip("10.0.5.50"))
        );
        // Not inside the old subnet (the user's own choice), or not addresses: left alone.
        assert_eq!(move_dhcp(&old, &new, g, "172.16.0.1", "172.16.0.9"), None);
        assert_eq!(move_dhcp(&old, &new, g, "", "192.168.100.9"), None);
        assert_eq!(
            rebase(ip("192.168.100.7"), &old, &new),
            Some(ip("10.0.5.7"))
        );
        assert_eq!(rebase(ip("192.168.100.7"), &old, &c("fd00::/64")), None);
    }

    #[test]
    fn suggestions() {
        let s = c("192.168.100.0/24");
        assert_eq!(
            suggest_dhcp(&s, ip("192.168.100.1")),
            Some((ip("192.168.100.128"), ip("192.168.100.254")))
        );
        assert_eq!(
            suggest_dhcp(&s, ip("192.168.100.200")),
            Some((ip("192.168.100.201"), ip("192.168.100.254")))
        );
        let small = c("10.0.0.0/30");
        assert_eq!(
            suggest_dhcp(&small, ip("10.0.0.1")),
            Some((ip("10.0.0.2"), ip("10.0.0.2")))
        );
        let v6 = c("fd00:77::/64");
        assert_eq!(
            suggest_dhcp(&v6, ip("fd00:77::1")),
            Some((ip("fd00:77::100"), ip("fd00:77::1ff")))
        );
        // Every suggestion passes the range check.
        for net in ["10.0.0.0/8", "172.16.5.0/24", "192.168.1.0/29", "fd00::/64"] {
            let n = c(net);
            let g = gateway(&n, "").unwrap();
            let (a, b) = suggest_dhcp(&n, g).unwrap();
            assert!(
                dhcp_range(&n, g, &a.to_string(), &b.to_string()).is_ok(),
                "{net}"
            );
        }
        assert_eq!(
            suggest_subnet(&[c("192.168.100.1/24"), c("192.168.101.0/24")]),
            Some(c("192.168.102.0/24"))
        );
        assert_eq!(
            suggest_subnet(&[c("192.168.0.0/16")]),
            Some(c("10.0.0.0/24"))
        );
    }

    #[test]
    fn overlap_warnings() {
        let others = vec![
            ("default".to_string(), c("192.168.122.1/24")),
            ("lab".to_string(), c("10.10.0.1/16")),
            ("v6".to_string(), c("fd00::1/64")),
        ];
        let host = vec![c("192.168.1.10/24"), c("10.10.5.5/8"), c("fe80::1/64")];
        assert!(overlaps(&c("192.168.100.0/24"), &others, &host).is_empty());
        assert_eq!(
            overlaps(&c("192.168.122.0/24"), &others, &host),
            vec!["192.168.122.0/24 overlaps network 'default' (192.168.122.0/24)"]
        );
        assert_eq!(
            overlaps(&c("192.168.1.0/24"), &others, &host),
            vec!["192.168.1.0/24 contains the host's address 192.168.1.10/24"]
        );
        assert_eq!(
            overlaps(&c("10.10.7.0/24"), &others, &host),
            vec![
                "10.10.7.0/24 overlaps network 'lab' (10.10.0.0/16)",
                "10.10.7.0/24 overlaps the host's network 10.0.0.0/8 (address 10.10.5.5/8)"
            ]
        );
        assert_eq!(overlaps(&c("fd00::/48"), &others, &host).len(), 1);
        let model =
            vec![parse(TEST_DRIVER_DEFAULT)
                .unwrap()
                .to_model(true, true, true, Vec::new())];
        assert_eq!(
            network_subnets(&model),
            vec![("default".to_string(), c("192.168.122.1/24"))]
        );
    }

    #[test]
    fn name_rules() {
        // The rules themselves are tested in crate::names; this is the network's use of them.
        assert!(validate_name("lab-net_1").is_ok());
        assert!(validate_name("<&'\"> ü 网络").is_ok());
        assert_eq!(validate_name("").unwrap_err(), "enter a name");
        assert_eq!(
            validate_name("a/b").unwrap_err(),
            "no '/' in a network name"
        );
        assert!(validate_name(".hidden").is_err());
        assert!(validate_name(&"x".repeat(64)).is_ok());
        assert_eq!(
            validate_name(&"x".repeat(65)).unwrap_err(),
            "the network name is 65 bytes long (at most 64)"
        );
        assert!(validate_iface_name("br0").is_ok());
        assert!(validate_iface_name("virbr-lab-12345").is_ok());
        assert_eq!(
            validate_iface_name("virbr-lab-123456").unwrap_err(),
            "'virbr-lab-123456' is 16 bytes long: interface names have at most 15"
        );
        assert!(validate_iface_name("br 0").is_err());
        assert!(validate_iface_name("br:0").is_err());
        assert!(validate_iface_name("..").is_err());
        assert!(validate_iface_name("").is_err());
        assert!(validate_domain("lab.example").is_ok());
        assert!(validate_domain("-lab").is_err());
        assert!(validate_domain("a..b").is_err());
    }
}
