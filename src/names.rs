//! Names of the libvirt objects virtdeck creates or renames (VMs, pools, volumes, networks,
//! snapshots): one rule table per kind drives both the check and the hint under the field, so
//! what the form promises is what it enforces. The names a network hands to the host's own
//! tools (Linux interface names, its DNS domain) have their checks here too.
//!
//! What libvirt 9 itself refuses (checked with virsh on qemu:///system): '/' in every one of
//! these names (they become file names), a snapshot name starting with '.'. virtdeck adds what
//! breaks later or elsewhere: a leading '.' hides the object's config file, control and format
//! characters (newlines, bidi overrides) garble every listing, spaces in a pool name end up in
//! its default path and in `virsh` command lines, and file names have a length limit
//! (NAME_MAX 255 bytes, less the `.xml` or dnsmasq suffix libvirt appends).

/// Which kind of object a name is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    Vm,
    Pool,
    Volume,
    /// A volume of a `logical` pool: an LVM logical volume.
    LogicalVolume,
    Network,
    Snapshot,
}

/// The rules of one kind.
struct Rules {
    /// "pool name", for messages.
    what: &'static str,
    /// Characters allowed besides ASCII letters and digits; `None`: any character except '/'
    /// and control or format characters.
    charset: Option<&'static str>,
    /// Characters a name cannot start with.
    no_lead: &'static str,
    /// Longest name in bytes (UTF-8), the unit file names are limited in.
    max_bytes: usize,
}

fn rules(kind: NameKind) -> Rules {
    match kind {
        // <name>.xml under /etc/libvirt/qemu; the new-VM wizard also names volumes after it
        // (<name>.qcow2, <name>-cidata.iso), which must fit a file name too.
        NameKind::Vm => Rules {
            what: "VM name",
            charset: None,
            no_lead: ".",
            max_bytes: 240,
        },
        // The hint always promised this set; '-' first would read as an option to virsh.
        NameKind::Pool => Rules {
            what: "pool name",
            charset: Some("-_."),
            no_lead: ".-",
            max_bytes: 64,
        },
        // A file name in a dir pool.
        NameKind::Volume => Rules {
            what: "volume name",
            charset: None,
            no_lead: ".",
            max_bytes: 250,
        },
        // lvm(8) "VALID NAMES": a-z A-Z 0-9 + _ . -, not starting with '-', 127 characters.
        NameKind::LogicalVolume => Rules {
            what: "logical volume name",
            charset: Some("+_.-"),
            no_lead: ".-",
            max_bytes: 127,
        },
        // <name>.xml, and <name>.conf / .hostsfile / .addnhosts for dnsmasq.
        NameKind::Network => Rules {
            what: "network name",
            charset: None,
            no_lead: ".",
            max_bytes: 64,
        },
        // <name>.xml under /var/lib/libvirt/qemu/snapshot/<vm>; libvirt refuses a leading '.'.
        NameKind::Snapshot => Rules {
            what: "snapshot name",
            charset: None,
            no_lead: ".",
            max_bytes: 250,
        },
    }
}

impl NameKind {
    /// The kind of a volume's name in a pool of type `pool_kind` (as the pool's XML says).
    pub fn volume_in(pool_kind: Option<&str>) -> NameKind {
        match pool_kind {
            Some("logical") => NameKind::LogicalVolume,
            _ => NameKind::Volume,
        }
    }
}

/// Why `name` is not acceptable for `kind`, in a short message for the field; uniqueness is
/// the caller's check.
pub fn check(kind: NameKind, name: &str) -> Result<(), String> {
    let r = rules(kind);
    let what = r.what;
    if name.trim().is_empty() {
        return Err("enter a name".into());
    }
    if name.trim() != name {
        return Err(format!("no spaces at the start or end of a {what}"));
    }
    if name.contains('/') {
        return Err(format!("no '/' in a {what}"));
    }
    if name.chars().any(crate::sanitize::is_unsafe) {
        return Err(format!("no control or format characters in a {what}"));
    }
    if let Some(extra) = r.charset {
        if let Some(c) = name
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && !extra.contains(*c))
        {
            let c = if c == ' ' {
                "spaces".to_string()
            } else {
                format!("'{c}'")
            };
            return Err(format!("no {c} in a {what}: only {}", allowed(extra)));
        }
    }
    if let Some(c) = name.chars().next().filter(|c| r.no_lead.contains(*c)) {
        return Err(format!("a {what} cannot start with '{c}'"));
    }
    if name.len() > r.max_bytes {
        return Err(format!(
            "the {what} is {} bytes long (at most {})",
            name.len(),
            r.max_bytes
        ));
    }
    Ok(())
}

/// The rules of `kind` in one line, for the hint under a name field.
pub fn hint(kind: NameKind) -> String {
    let r = rules(kind);
    let chars = match r.charset {
        Some(extra) => format!("only {}", allowed(extra)),
        None => "no '/' or control characters".to_string(),
    };
    let lead: Vec<String> = r.no_lead.chars().map(|c| format!("'{c}'")).collect();
    let unit = if r.charset.is_some() {
        "characters"
    } else {
        "bytes"
    };
    format!(
        "{chars}; not starting with {}; at most {} {unit}",
        lead.join(" or "),
        r.max_bytes
    )
}

fn allowed(extra: &str) -> String {
    let extra: Vec<String> = extra.chars().map(|c| c.to_string()).collect();
    format!("letters a-z A-Z, digits and {}", extra.join(" "))
}

/// Linux interface names (bridges, forward devices): 1-15 bytes (IFNAMSIZ less its NUL), no
/// '/', ':' or white space, not "." or "..".
pub fn check_iface(name: &str) -> Result<(), String> {
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

/// A DNS domain such as `lab.example` (a network's `<domain>`): labels of letters, digits and
/// '-'.
pub fn check_dns_domain(name: &str) -> Result<(), String> {
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

#[cfg(test)]
mod tests {
    use super::NameKind::*;
    use super::*;

    const ALL: [NameKind; 6] = [Vm, Pool, Volume, LogicalVolume, Network, Snapshot];

    #[test]
    fn what_every_kind_refuses() {
        for k in ALL {
            for bad in [
                "",
                "  ",
                " lead",
                "trail ",
                "a/b",
                ".hidden",
                "a\nb",
                "a\u{202e}b",
                "a\u{2028}b",
                "a\u{7f}b",
            ] {
                assert!(check(k, bad).is_err(), "{k:?} {bad:?}");
            }
            assert!(check(k, "web-01_a.b").is_ok(), "{k:?}");
            assert!(check(k, &"x".repeat(300)).is_err(), "{k:?}");
        }
    }

    #[test]
    fn pools_take_only_the_characters_their_hint_names() {
        let e = check(Pool, "my pool").unwrap_err();
        assert!(e.contains("no spaces"), "{e}");
        for bad in ["café", "a<b>", "池", "a:b", "-opt", "a+b"] {
            assert!(check(Pool, bad).is_err(), "{bad:?}");
        }
        assert!(check(Pool, &"p".repeat(64)).is_ok());
        assert!(check(Pool, &"p".repeat(65)).is_err());
        let h = hint(Pool);
        assert!(
            h.contains("a-z A-Z") && h.contains("- _ .") && h.contains("64"),
            "{h}"
        );
    }

    #[test]
    fn logical_volumes_follow_lvm() {
        assert_eq!(NameKind::volume_in(Some("logical")), LogicalVolume);
        assert_eq!(NameKind::volume_in(Some("dir")), Volume);
        assert_eq!(NameKind::volume_in(None), Volume);
        assert!(check(LogicalVolume, "web01+root_a.b-c").is_ok());
        for bad in ["my disk", "disk:1", "-x", "café"] {
            assert!(check(LogicalVolume, bad).is_err(), "{bad:?}");
        }
        assert!(check(Volume, "my disk").is_ok(), "a file may have a space");
    }

    #[test]
    fn other_kinds_take_any_printable_text_as_libvirt_does() {
        for k in [Vm, Volume, Network, Snapshot] {
            for ok in ["Windows 10", "café <&'\"> 网络", "a:b+c", "-x"] {
                assert!(check(k, ok).is_ok(), "{k:?} {ok:?}");
            }
        }
        // Bytes, not characters: 22 three-byte characters are 66 bytes.
        assert!(check(Network, &"网".repeat(21)).is_ok());
        assert!(check(Network, &"网".repeat(22)).is_err());
        assert!(check(Vm, &"v".repeat(240)).is_ok());
        assert!(check(Vm, &"v".repeat(241)).is_err());
    }

    #[test]
    fn the_hint_states_the_limits_the_check_enforces() {
        for k in ALL {
            let h = hint(k);
            let r = rules(k);
            assert!(h.contains(&r.max_bytes.to_string()), "{k:?}: {h}");
            let over = "a".repeat(r.max_bytes + 1);
            assert!(check(k, &over).is_err());
            for c in r.no_lead.chars() {
                assert!(h.contains(&format!("'{c}'")), "{k:?}: {h}");
                assert!(check(k, &format!("{c}x")).is_err(), "{k:?} {c}");
            }
            if let Some(extra) = r.charset {
                for c in extra.chars() {
                    assert!(h.contains(c), "{k:?}: {h}");
                    assert!(check(k, &format!("a{c}b")).is_ok(), "{k:?} {c}");
                }
            } else {
                assert!(h.contains("'/'"), "{k:?}: {h}");
            }
        }
    }

    #[test]
    fn network_names_interfaces_and_dns_domains() {
        let net = |n: &str| check(Network, n);
        assert!(net("lab-net_1").is_ok());
        assert!(net("<&'\"> ü 网络").is_ok());
        assert_eq!(net("").unwrap_err(), "enter a name");
        assert_eq!(net("a/b").unwrap_err(), "no '/' in a network name");
        assert!(net(".hidden").is_err());
        assert!(net(&"x".repeat(64)).is_ok());
        assert_eq!(
            net(&"x".repeat(65)).unwrap_err(),
            "the network name is 65 bytes long (at most 64)"
        );
        assert!(check_iface("br0").is_ok());
        assert!(check_iface("virbr-lab-12345").is_ok());
        assert_eq!(
            check_iface("virbr-lab-123456").unwrap_err(),
            "'virbr-lab-123456' is 16 bytes long: interface names have at most 15"
        );
        assert!(check_iface("br 0").is_err());
        assert!(check_iface("br:0").is_err());
        assert!(check_iface("..").is_err());
        assert!(check_iface("").is_err());
        assert!(check_dns_domain("lab.example").is_ok());
        assert!(check_dns_domain("-lab").is_err());
        assert!(check_dns_domain("a..b").is_err());
    }
}
