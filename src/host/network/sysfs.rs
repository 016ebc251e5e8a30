//! Host interfaces from /sys/class/net, for local hosts whose libvirt has no interface driver
//! (netcf/udev backend not built or not running).

use std::path::Path;

use crate::model::network::HostIface;

/// libvirt names guests' tap devices vnetN / macvtapN: guest NICs, not host interfaces.
pub fn is_guest_tap(name: &str) -> bool {
    ["vnet", "macvtap", "macvlan"].iter().any(|p| {
        name.strip_prefix(p)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Every interface under `root` (normally /sys/class/net) except tun/tap devices.
pub fn interfaces(root: &Path, vlan_dir: &Path) -> Vec<HostIface> {
    let Ok(dir) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut out: Vec<HostIface> = dir
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let p = root.join(&name);
            // tun/tap devices (guest NICs, VPNs) carry tun_flags.
            if p.join("tun_flags").exists() || is_guest_tap(&name) {
                return None;
            }
            let read = |f: &str| {
                std::fs::read_to_string(p.join(f))
                    .ok()
                    .map(|s| s.trim().to_string())
            };
            let kind = if p.join("bridge").exists() {
                "bridge"
            } else if p.join("bonding").exists() {
                "bond"
            } else if vlan_dir.join(&name).exists() {
                "vlan"
            } else {
                // libvirt's udev backend calls everything else (loopback too) ethernet.
                "ethernet"
            };
            let flags = read("flags")
                .and_then(|f| u32::from_str_radix(f.trim_start_matches("0x"), 16).ok())
                .unwrap_or(0);
            let active = match read("operstate").as_deref() {
                Some("up") => true,
                // Loopback and some virtual devices report "unknown" while up.
                Some("unknown") => flags & 1 != 0,
                _ => false,
            };
            Some(HostIface {
                name,
                kind: kind.to_string(),
                mac: read("address").filter(|m| !m.is_empty()),
                active,
                addrs: Vec::new(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_taps_are_recognised() {
        assert!(is_guest_tap("vnet0"));
        assert!(is_guest_tap("vnet1234"));
        assert!(is_guest_tap("macvtap3"));
        assert!(!is_guest_tap("vnet"));
        assert!(!is_guest_tap("vnetbr"));
        assert!(!is_guest_tap("virbr0"));
    }

    #[test]
    fn reads_a_fake_sysfs() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("net");
        let vlan = d.path().join("vlan");
        let mk = |name: &str, files: &[(&str, &str)], dirs: &[&str]| {
            let p = root.join(name);
            std::fs::create_dir_all(&p).unwrap();
            for (f, c) in files {
                std::fs::write(p.join(f), c).unwrap();
            }
            for s in dirs {
                std::fs::create_dir_all(p.join(s)).unwrap();
            }
        };
        mk(
            "br0",
            &[
                ("operstate", "up\n"),
                ("address", "aa:bb:cc:dd:ee:ff\n"),
                ("flags", "0x1003\n"),
            ],
            &["bridge"],
        );
        mk("lo", &[("operstate", "unknown\n"), ("flags", "0x9\n")], &[]);
        mk("eth0.10", &[("operstate", "down\n")], &[]);
        mk("bond0", &[("operstate", "down\n")], &["bonding"]);
        mk("tap0", &[("tun_flags", "0x1002\n")], &[]);
        mk("vnet3", &[("operstate", "up\n")], &[]);
        std::fs::create_dir_all(&vlan).unwrap();
        std::fs::write(vlan.join("eth0.10"), "").unwrap();
        let got = interfaces(&root, &vlan);
        let brief: Vec<(&str, &str, bool)> = got
            .iter()
            .map(|i| (i.name.as_str(), i.kind.as_str(), i.active))
            .collect();
        assert_eq!(
            brief,
            vec![
                ("bond0", "bond", false),
                ("br0", "bridge", true),
                ("eth0.10", "vlan", false),
                ("lo", "ethernet", true),
            ]
        );
        assert_eq!(got[1].mac.as_deref(), Some("aa:bb:cc:dd:ee:ff"));
        assert!(interfaces(&d.path().join("missing"), &vlan).is_empty());
    }
}
