// Fuzz targets for what users type: the `/` filter, libvirt URIs (add-host form, display
// panel, host names), sizes, the command line, and the network and storage wizards' field
// checks. Run for minutes by scripts/fuzz.sh; CI runs a few cases of each.

mod fuzz_gen;

use std::net::IpAddr;

use clap::Parser;
use fuzz_gen::{bounded, config, hostile};
use proptest::prelude::*;

use virtdeck::app::add_host::validate_uri;
use virtdeck::app::filter::Filter;
use virtdeck::app::HostSpec;
use virtdeck::cli::{self, Cli};
use virtdeck::config::Config;
use virtdeck::display::uri_host;
use virtdeck::model::{Vm, VmState};
use virtdeck::names;
use virtdeck::size::{parse_size, scale, unit_multiplier};
use virtdeck::subnet::{self, Cidr};
use virtdeck::xml::{device, newvm, pool};

fn vm(name: &str, state: VmState) -> Vm {
    Vm {
        uuid: name.into(),
        name: name.into(),
        id: None,
        state,
        vcpus: 1,
        memory_kib: 0,
        max_memory_kib: 0,
        cpu_time_ns: None,
        io: Default::default(),
        autostart: false,
        persistent: true,
        managed_save: false,
        known: Default::default(),
        template: false,
        tags: Vec::new(),
        note: None,
        started: None,
    }
}

const STATES: &[VmState] = &[
    VmState::Running,
    VmState::Paused,
    VmState::Shutoff,
    VmState::Shutdown,
    VmState::Crashed,
    VmState::NoState,
];

/// A libvirt URI built from random parts: driver, transport, user, host (name, IPv4,
/// bracketed IPv6, hostile), port, path and query.
fn uri() -> impl Strategy<Value = String> {
    let driver = prop_oneof![
        prop::sample::select(&["qemu", "test", "lxc", "xen", "ch", "remote", "QEMU", ""][..])
            .prop_map(str::to_string),
        hostile(),
    ];
    let transport = prop::sample::select(
        &[
            "", "+ssh", "+tls", "+tcp", "+unix", "+ext", "+libssh2", "+", "++ssh", "+ssh+tls",
        ][..],
    );
    let user = prop::option::of(prop_oneof!["[a-z]{1,8}", hostile()]);
    let host = prop_oneof![
        Just(String::new()),
        "[a-z0-9.-]{1,20}",
        "\\[[0-9a-f:]{0,20}\\]",
        "\\[[0-9a-f:]{0,20}",
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
        hostile(),
    ];
    let port = prop::option::of(prop_oneof!["[0-9]{0,6}", hostile()]);
    let path = prop_oneof![
        "/(system|session)",
        "/[a-z/]{0,10}",
        hostile(),
        Just(String::new())
    ];
    let query = prop::option::of(prop_oneof![
        "(no_verify|keyfile|command|socket|mode)=[a-z/;$()]{0,10}(&[a-z]{1,5}=[^&]{0,5}){0,3}",
        hostile(),
    ]);
    (driver, transport, user, host, port, path, query).prop_map(|(d, t, u, h, p, path, q)| {
        let mut s = format!("{d}{t}://");
        if let Some(u) = u {
            s.push_str(&u);
            s.push('@');
        }
        s.push_str(&h);
        if let Some(p) = p {
            s.push(':');
            s.push_str(&p);
        }
        s.push_str(&path);
        if let Some(q) = q {
            s.push('?');
            s.push_str(&q);
        }
        s
    })
}

/// Sizes as users type them, and as sizes are formatted.
fn size_text() -> impl Strategy<Value = String> {
    prop_oneof![
        hostile(),
        "[+-]?[0-9]{0,25}(\\.[0-9]{0,25})?[ \\t]*([KkMmGgTtPpEe]([Ii]?[Bb])?|[Bb]|bytes?|[A-Za-z]{0,4})?",
        any::<u64>().prop_map(|n| n.to_string()),
    ]
}

fn addr() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|b| IpAddr::from(b).to_string()),
        any::<[u8; 16]>().prop_map(|b| IpAddr::from(b).to_string()),
        hostile(),
    ]
}

fn cidr_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (addr(), 0u16..300).prop_map(|(a, p)| format!("{a}/{p}")),
        (addr(), hostile()).prop_map(|(a, p)| format!("{a}/{p}")),
        addr(),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// The filter never panics, whatever is typed, on any name; a term a name contains
    /// matches it (case-insensitively).
    #[test]
    fn filter(text in prop_oneof![hostile(), "(!?(host:|state:)?[a-zA-Z!]{0,6} ?){0,5}"],
              name in hostile(), host in hostile(), s in 0..STATES.len()) {
        let f = bounded("filter", || Filter::parse(&text));
        let Ok(f) = f else { return Ok(()) };
        let _ = f.is_empty();
        let _ = bounded("filter host", || f.host_matches(&host));
        let _ = bounded("filter vm", || f.vm_matches(&vm(&name, STATES[s])));
        if let Some(word) = name.split_whitespace().find(|w| !w.contains(':') && !w.starts_with('!')) {
            prop_assert!(Filter::parse(word).expect("plain words parse").vm_matches(&vm(&name, STATES[s])), "{word:?} in {name:?}");
        }
    }

    #[test]
    fn uris(u in prop_oneof![uri(), hostile(), any::<String>()]) {
        bounded("uri", || {
            let h = uri_host(&u);
            let _ = validate_uri(&u);
            let _ = virtdeck::config::name_from_uri(&u);
            h
        });
    }

    /// `virtdeck doctor` on any URI: the URI check never panics, and the ssh command built
    /// from an ssh URI keeps the URI's words where they cannot be options: the user only
    /// as `-l`'s value, the host right after `--`, then the fixed remote command.
    #[test]
    fn doctor_uri_and_ssh_args(u in prop_oneof![uri(), hostile()]) {
        use virtdeck::doctor::{checks, ssh};
        let _ = bounded("doctor uri", || checks::uri(&u));
        if let Some(t) = ssh::target(&u) {
            let a = ssh::args(&t, std::time::Duration::from_secs(5));
            let dd = a.iter().position(|w| w == "--").expect("--");
            prop_assert_eq!(a.len(), dd + 3);
            prop_assert_eq!(&a[dd + 1], &t.host);
            prop_assert!(a[..dd].iter().all(|w| !w.is_empty()));
            if let Some(user) = &t.user {
                let l = a.iter().position(|w| w == "-l").expect("-l");
                prop_assert_eq!(&a[l + 1], user);
            }
        }
    }

    /// A URI the add-host form accepts has the host and port `uri_host` reads back.
    #[test]
    fn uri_parts_agree(u in uri()) {
        if validate_uri(&u).is_ok() {
            let h = uri_host(&u);
            if let Some(host) = &h.host {
                prop_assert!(u.contains(host.as_str()), "{h:?} from {u:?}");
            }
        }
    }

    #[test]
    fn sizes(s in size_text(), unit in prop_oneof![hostile(), "[KkMmGgTtPpEe]?[Ii]?[Bb]?"], v in any::<u64>()) {
        let _ = bounded("size", || parse_size(&s));
        let _ = unit_multiplier(&unit);
        let _ = scale(v, &unit);
    }

    /// Formatting a size then parsing it gives it back within the display's rounding
    /// (one decimal: 5% of the unit).
    #[test]
    fn size_round_trip(n in prop_oneof![any::<u64>(), 0u64..1 << 40]) {
        let shown = virtdeck::fmt::bytes(n);
        let back = parse_size(&shown).unwrap_or_else(|e| panic!("{shown:?}: {e}"));
        let (a, b) = (n as f64, back as f64);
        prop_assert!((a - b).abs() <= a * 0.05 + 1.0, "{n} shown as {shown:?} reads {back}");
    }

    /// A size typed exactly reads back exactly.
    #[test]
    fn size_exact(n in 0u64..1 << 50, unit in prop::sample::select(&["", "B", "K", "KiB", "M", "MiB", "G", "KB", "MB"][..])) {
        let m = unit_multiplier(unit).expect("known unit");
        if let Some(want) = n.checked_mul(m) {
            prop_assert_eq!(parse_size(&format!("{n}{unit}")), Ok(want));
            prop_assert_eq!(parse_size(&format!(" {n} {unit} ")), Ok(want));
        }
    }

    #[test]
    fn command_line(args in prop::collection::vec(prop_oneof![
        prop::sample::select(&["-c", "--connect", "--demo", "--readonly", "--theme", "--config-dir", "--", "-", "-cqemu:///system", "--connect="][..]).prop_map(str::to_string),
        uri(),
        hostile(),
    ], 0..12)) {
        let argv = std::iter::once("virtdeck".to_string()).chain(args);
        if let Ok(c) = Cli::try_parse_from(argv) {
            let specs = bounded("hosts", || cli::hosts(&c, &Config::default()));
            let names: std::collections::HashSet<_> = specs.iter().map(|s| &s.name).collect();
            prop_assert_eq!(names.len(), specs.len(), "names are unique");
            let _ = cli::theme_name(&c, &Config::default(), true);
        }
    }

    #[test]
    fn network_fields(c in cidr_text(), g in addr(), a in addr(), b in addr(), name in hostile()) {
        bounded("network fields", || {
            let _ = subnet::netmask_prefix(&c);
            let _ = names::check(names::NameKind::Network, &name);
            let _ = names::check_iface(&name);
            let _ = names::check_dns_domain(&name);
            let parsed = Cidr::parse(&c);
            let _ = subnet::parse_subnet(&c);
            if let Ok(cidr) = parsed {
                let _ = (cidr.network(), cidr.last(), cidr.subnet(), cidr.is_network(),
                    cidr.size(), cidr.netmask(), cidr.to_string());
                let _ = (cidr.nth(0), cidr.nth(1), cidr.nth(u128::MAX));
                let _ = subnet::gateway(&cidr, &g);
                if let Ok(gw) = g.parse::<IpAddr>() {
                    let _ = subnet::dhcp_range(&cidr, gw, &a, &b);
                    let _ = subnet::suggest_dhcp(&cidr, gw);
                    let _ = cidr.contains(gw);
                }
                let _ = subnet::overlaps(&cidr, &[("x".into(), cidr)], &[cidr]);
                let _ = subnet::suggest_subnet(&[cidr]);
            }
        });
    }

    #[test]
    fn storage_and_vm_fields(s in hostile(), t in prop::collection::vec(hostile(), 0..6)) {
        bounded("fields", || {
            let _ = pool::check_host(&s);
            let _ = pool::parse_port(&s);
            let _ = pool::check_iqn(&s);
            let _ = device::valid_mac(&s);
            let _ = newvm::name_problem(&s);
            let _ = newvm::mac_ok(&s);
            let _ = newvm::is_url(&s);
            for bus in [device::Bus::Virtio, device::Bus::Sata, device::Bus::Scsi, device::Bus::Ide] {
                let _ = device::next_target(bus, &t);
            }
        });
    }

    /// Host names stay unique however many hosts share one, in linear-ish time.
    #[test]
    fn host_names_dedupe(names in prop::collection::vec(prop::sample::select(&["a", "a#2", "b", "a#3", ""][..]), 0..64)) {
        let mut specs: Vec<HostSpec> = names.iter().map(|n| HostSpec { name: n.to_string(), uri: String::new() }).collect();
        cli::dedupe_names(&mut specs);
        let set: std::collections::HashSet<_> = specs.iter().map(|s| &s.name).collect();
        prop_assert_eq!(set.len(), specs.len());
    }
}

// ---- regression tests: inputs the targets above found ------------------------------------

/// Sizes near 2^64 were shown as "16384 PiB", which the size parser refuses as too large.
#[test]
fn the_largest_sizes_read_back() {
    for n in [18_446_181_123_756_129_280u64, u64::MAX, 1 << 60, 1 << 62] {
        let shown = virtdeck::fmt::bytes(n);
        let back = parse_size(&shown).unwrap_or_else(|e| panic!("{shown:?}: {e}"));
        let (a, b) = (n as f64, back as f64);
        assert!(
            (a - b).abs() <= a * 0.05,
            "{n} shown as {shown:?} reads {back}"
        );
    }
    assert_eq!(virtdeck::fmt::bytes(1 << 60), "1 EiB");
}
