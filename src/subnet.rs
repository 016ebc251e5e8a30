//! IPv4 and IPv6 subnet arithmetic for the network wizard and pane: CIDR parsing, netmasks,
//! gateways, DHCP ranges (checked, suggested, moved with their subnet), free subnets and
//! overlaps. Pure functions of addresses; no XML.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::network::Network;

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

pub(crate) fn family_name(a: IpAddr) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
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
    }
}
