// Generators shared by the fuzz targets (tests/fuzz_*.rs): hostile strings, libvirt-shaped XML
// documents whose slots are filled with hostile values, random element trees and byte-level
// mutations. `scripts/fuzz.sh` runs the targets for minutes; CI runs a few cases of each.
#![allow(dead_code)] // each fuzz_*.rs uses a different part of this module

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::Config;

/// Cases per target: `PROPTEST_CASES`, else a count small enough for CI.
pub fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(64);
    let default = Config::default();
    Config {
        cases,
        // A slow input shrinks slowly: stop after a minute unless PROPTEST_MAX_SHRINK_TIME says.
        max_shrink_time: if std::env::var_os("PROPTEST_MAX_SHRINK_TIME").is_some() {
            default.max_shrink_time
        } else {
            60_000
        },
        // Crashers become named #[test]s with their literal input, not files next to the code.
        failure_persistence: None,
        ..default
    }
}

/// Upper bound for one call on one generated input: anything near it is super-linear work
/// on hostile input, not noise. `scripts/fuzz.sh` (release) holds 2 s; the debug build CI
/// runs in parallel with every other test binary reads a 1 MB document through every reader
/// in seconds, so it gets room for that and still catches quadratic blowups (minutes).
pub const SLOW: Duration = if cfg!(debug_assertions) {
    Duration::from_secs(20)
} else {
    Duration::from_secs(2)
};

/// Runs `f` and fails the case when it takes longer than [`SLOW`].
pub fn bounded<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    let took = t.elapsed();
    assert!(took < SLOW, "{what} took {took:?}");
    out
}

/// Runs `f` on its own thread and fails when it has not finished within `limit`: for the
/// regression tests of inputs that used to hang (the thread is left behind, the test fails).
pub fn finishes_within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(e) => panic!("{what} did not finish within {limit:?} ({e})"),
    }
}

/// Pieces that break naive readers: entities (valid, unknown, out of range), markup openers,
/// numbers at type limits, units, shell syntax and characters terminals mishandle.
pub const PIECES: &[&str] = &[
    "&amp;",
    "&lt;",
    "&gt;",
    "&quot;",
    "&apos;",
    "&#0;",
    "&#x0;",
    "&#9;",
    "&#10;",
    "&#xD800;",
    "&#xDFFF;",
    "&#1114111;",
    "&#1114112;",
    "&#x110000;",
    "&#99999999999999999999;",
    "&#xFFFFFFFFFFFFFFFF;",
    "&#-1;",
    "&#;",
    "&#x;",
    "&#x20",
    "&bogus;",
    "&",
    "&;",
    "<",
    ">",
    "'",
    "\"",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<?",
    "?>",
    "<!DOCTYPE x [<!ENTITY a 'b'>]>",
    "</",
    "/>",
    "=",
    ":",
    "xmlns:vd='urn:x'",
    "\u{0}",
    "\u{1}",
    "\u{7f}",
    "\u{85}",
    "\u{9b}",
    "\u{feff}",
    "\u{200d}",
    "\u{2028}",
    "\u{2029}",
    "\u{202e}",
    "\u{fffd}",
    "\u{10ffff}",
    "池",
    "💥",
    "é",
    "\t",
    "\n",
    "\r\n",
    " ",
    "0",
    "1",
    "-1",
    "65535",
    "65536",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999999999999999",
    "1e309",
    "NaN",
    "inf",
    "0x10",
    "1.5",
    "KiB",
    "EiB",
    "E",
    "b",
    "yes",
    "no",
    "$(touch /tmp/p)",
    "`id`",
    ";",
    "|",
    "/var/lib/libvirt/qemu/x;touch /tmp/pwn;.sock",
    "::",
    "[::1]",
    "0.0.0.0",
    "127.0.0.1",
    "fe80::1%eth0",
    "192.168.122.0/24",
    "/",
    "..",
    "@",
    "?",
    "#",
    "%00",
    "+",
    "+ssh",
    "qemu",
    "qemu+ssh://",
    "://",
];

/// A string made of hostile pieces and arbitrary characters.
pub fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(PIECES).prop_map(str::to_string),
        2 => "[a-z0-9._-]{1,8}",
        1 => any::<char>().prop_map(String::from),
    ];
    prop_oneof![
        6 => prop::collection::vec(piece, 0..8).prop_map(|v| v.concat()),
        1 => any::<String>(),
        // Long values: quadratic work shows up here.
        1 => (prop::sample::select(PIECES), 100usize..3000).prop_map(|(p, n)| p.repeat(n)),
    ]
}

/// Escapes text for an attribute value or element content.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// How one slot of a template is filled.
#[derive(Clone, Debug)]
pub enum Fill {
    /// The template's own value.
    Keep,
    /// A hostile value, escaped: the document stays well formed.
    Escaped(String),
    /// A hostile value written as is: the document may break.
    Raw(String),
    /// Text only: the value in a CDATA section.
    CData(String),
    /// Element slots only: a random element tree.
    Tree(String),
}

pub fn fill() -> impl Strategy<Value = Fill> {
    prop_oneof![
        5 => Just(Fill::Keep),
        4 => hostile().prop_map(Fill::Escaped),
        1 => hostile().prop_map(Fill::Raw),
        1 => hostile().prop_map(|s| Fill::CData(s.replace("]]>", "]]"))),
        2 => element(3).prop_map(Fill::Tree),
    ]
}

/// Fills a template's slots: `{A:default}` (attribute value), `{T:default}` (text) and `{E}`
/// (room for extra elements), taking fills in order and cycling.
pub fn render(template: &str, fills: &[Fill]) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    let mut k = 0;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let slot = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        let (kind, default) = slot.split_once(':').unwrap_or((slot, ""));
        let f = if fills.is_empty() {
            &Fill::Keep
        } else {
            &fills[k % fills.len()]
        };
        k += 1;
        match (kind, f) {
            (_, Fill::Keep) | ("E", Fill::Escaped(_) | Fill::CData(_)) => out.push_str(default),
            ("A", Fill::Tree(_)) => out.push_str(default),
            (_, Fill::Escaped(s)) => out.push_str(&escape(s)),
            (_, Fill::Raw(s)) => out.push_str(s),
            ("T", Fill::CData(s)) => {
                out.push_str("<![CDATA[");
                out.push_str(s);
                out.push_str("]]>");
            }
            (_, Fill::CData(s)) => out.push_str(&escape(s)),
            (_, Fill::Tree(t)) => out.push_str(t),
        }
    }
    out.push_str(rest);
    out
}

/// Element names libvirt documents use, so random trees reach the readers' paths.
pub const NAMES: &[&str] = &[
    "domain",
    "name",
    "uuid",
    "title",
    "description",
    "metadata",
    "libosinfo:libosinfo",
    "libosinfo:os",
    "memory",
    "currentMemory",
    "maxMemory",
    "vcpu",
    "os",
    "type",
    "boot",
    "loader",
    "nvram",
    "devices",
    "disk",
    "source",
    "target",
    "driver",
    "backingStore",
    "readonly",
    "interface",
    "mac",
    "model",
    "graphics",
    "listen",
    "serial",
    "console",
    "controller",
    "host",
    "network",
    "forward",
    "bridge",
    "ip",
    "dhcp",
    "range",
    "pool",
    "volume",
    "capacity",
    "allocation",
    "available",
    "path",
    "format",
    "device",
    "dir",
    "auth",
    "secret",
    "usage",
    "domainsnapshot",
    "parent",
    "state",
    "creationTime",
    "sources",
    "vd:overlay",
    "vd:autostart",
    "vd:inactive",
    "os",
    "short-id",
    "derives-from",
    "resources",
    "minimum",
    "x",
    "a:b:c",
];

pub const ATTRS: &[&str] = &[
    "type",
    "device",
    "dev",
    "file",
    "dir",
    "name",
    "unit",
    "port",
    "tlsPort",
    "autoport",
    "listen",
    "socket",
    "address",
    "passwd",
    "bus",
    "order",
    "current",
    "id",
    "pool",
    "volume",
    "protocol",
    "mode",
    "domain",
    "network",
    "arch",
    "machine",
    "start",
    "end",
    "prefix",
    "netmask",
    "family",
    "ephemeral",
    "private",
    "slots",
    "xml:lang",
    "xmlns:vd",
    "inherit",
    "supported",
];

fn attr() -> impl Strategy<Value = String> {
    (
        prop::sample::select(ATTRS),
        hostile(),
        any::<bool>(),
        0u8..10,
    )
        .prop_map(|(k, v, dq, raw)| {
            let v = if raw == 0 { v } else { escape(&v) };
            if dq {
                format!(" {k}=\"{v}\"")
            } else {
                format!(" {k}='{v}'")
            }
        })
}

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => hostile().prop_map(|s| escape(&s)),
        1 => hostile(),
        1 => hostile().prop_map(|s| format!("<![CDATA[{}]]>", s.replace("]]>", ""))),
        1 => hostile().prop_map(|s| format!("<!--{}-->", s.replace("--", ""))),
        1 => "[a-z]{1,6}".prop_map(|s| format!("<?{s} x?>")),
        1 => prop::sample::select(PIECES).prop_map(str::to_string),
    ]
}

/// A random element tree up to `depth` levels deep, mostly well formed.
pub fn element(depth: u32) -> impl Strategy<Value = String> {
    let leaf_el = (
        prop::sample::select(NAMES),
        prop::collection::vec(attr(), 0..4),
    )
        .prop_map(|(n, a)| format!("<{n}{}/>", a.concat()));
    leaf_el.prop_recursive(depth, 48, 6, |inner| {
        (
            prop::sample::select(NAMES),
            prop::collection::vec(attr(), 0..4),
            prop::collection::vec(prop_oneof![2 => inner, 1 => leaf()], 0..6),
            0u8..20,
        )
            .prop_map(|(n, a, kids, odd)| {
                let end = match odd {
                    // Mismatched or missing end tags, now and then.
                    0 => "</other>".to_string(),
                    1 => String::new(),
                    _ => format!("</{n}>"),
                };
                format!("<{n}{}>{}{end}", a.concat(), kids.concat())
            })
    })
}

/// Byte-level damage at a char boundary: cut, duplicate a span, or insert a hostile piece.
#[derive(Clone, Debug)]
pub enum Mutation {
    Truncate(usize),
    Duplicate(usize, usize),
    Insert(usize, String),
    Delete(usize, usize),
}

pub fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let m = prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 0usize..64).prop_map(|(a, n)| Mutation::Duplicate(a, n)),
        (any::<usize>(), prop::sample::select(PIECES))
            .prop_map(|(a, p)| Mutation::Insert(a, p.into())),
        (any::<usize>(), 0usize..16).prop_map(|(a, n)| Mutation::Delete(a, n)),
    ];
    prop_oneof![
        3 => Just(Vec::new()),
        2 => prop::collection::vec(m, 1..4),
    ]
}

fn boundary(s: &str, at: usize) -> usize {
    if s.is_empty() {
        return 0;
    }
    let mut i = at % (s.len() + 1);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

pub fn mutate(mut s: String, ms: &[Mutation]) -> String {
    for m in ms {
        match m {
            Mutation::Truncate(a) => {
                let i = boundary(&s, *a);
                s.truncate(i);
            }
            Mutation::Duplicate(a, n) => {
                let i = boundary(&s, *a);
                let j = boundary(&s, i + n);
                let j = j.max(i);
                let span = s[i..j].to_string();
                s.insert_str(j, &span);
            }
            Mutation::Insert(a, p) => {
                let i = boundary(&s, *a);
                s.insert_str(i, p);
            }
            Mutation::Delete(a, n) => {
                let i = boundary(&s, *a);
                let j = boundary(&s, i + n).max(i);
                s.replace_range(i..j, "");
            }
        }
    }
    s
}

/// A document from `template` with hostile fills and, sometimes, byte damage.
pub fn doc(template: &'static str) -> impl Strategy<Value = String> {
    (prop::collection::vec(fill(), 1..24), mutations())
        .prop_map(move |(fills, ms)| mutate(render(template, &fills), &ms))
}

/// Arbitrary bytes read as text the way the program reads host output (lossy).
pub fn bytes_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 0..512)
        .prop_map(|b| String::from_utf8_lossy(&b).into_owned())
}
