//! The release binary is laid out by `link/order.txt` (build.rs, issue 20's idle RSS): the
//! functions it lists sit together at the start of `.text`, and relocations are packed.
//!
//! Needs the release binary (`VIRTDECK_BIN`, which scripts/test.sh sets) and binutils. The list
//! names functions by their mangled names, which hold hashes that differ between rustc versions,
//! so with another rustc than the one that wrote the list the test says it is skipped.

use std::collections::{HashMap, HashSet};
use std::process::Command;

/// How much of the list must still name functions of the binary before it counts as stale.
const FOUND_AT_LEAST: f64 = 0.8;

fn tool(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn the_listed_functions_come_first_in_text_and_relocations_are_packed() {
    let Ok(bin) = std::env::var("VIRTDECK_BIN") else {
        eprintln!("skipped: VIRTDECK_BIN is not set (scripts/test.sh sets it)");
        return;
    };
    let list = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/link/order.txt"))
        .expect("link/order.txt");
    let rustc = tool("rustc", &["--version"]).unwrap_or_default();
    if !list.lines().next().unwrap_or("").contains(rustc.trim()) {
        eprintln!(
            "skipped: link/order.txt was written with another rustc than {} (run scripts/link-order.sh)",
            rustc.trim()
        );
        return;
    }
    let Some(symbols) = tool("nm", &["--defined-only", "-S", &bin]) else {
        eprintln!("skipped: nm (binutils) is not installed");
        return;
    };
    let listed: Vec<&str> = list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let wanted: HashSet<&str> = listed.iter().copied().collect();

    // Text symbols with a size: name → (address, size).
    let mut text: HashMap<&str, (u64, u64)> = HashMap::new();
    for line in symbols.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [addr, size, kind, name] = f[..] {
            if matches!(kind, "t" | "T" | "w" | "W") {
                let (Ok(a), Ok(s)) = (u64::from_str_radix(addr, 16), u64::from_str_radix(size, 16))
                else {
                    continue;
                };
                text.insert(name, (a, s));
            }
        }
    }
    let found: Vec<(u64, u64)> = listed.iter().filter_map(|n| text.get(n).copied()).collect();
    let share = found.len() as f64 / listed.len().max(1) as f64;
    assert!(
        share >= FOUND_AT_LEAST,
        "only {} of the {} functions in link/order.txt are in {bin}: the list is stale, run scripts/link-order.sh",
        found.len(),
        listed.len()
    );

    // The listed functions fill the start of .text: in address order, no function that is not
    // listed comes before one that is (names at one address count as one function).
    let mut by_address: Vec<(u64, bool)> = Vec::new();
    for (name, (addr, size)) in &text {
        if *size > 0 {
            by_address.push((*addr, wanted.contains(name)));
        }
    }
    by_address.sort_unstable();
    let mut first_unlisted: Option<u64> = None;
    let mut late = Vec::new();
    for group in by_address.chunk_by(|a, b| a.0 == b.0) {
        let listed = group.iter().any(|(_, l)| *l);
        match (listed, first_unlisted) {
            (false, None) => first_unlisted = Some(group[0].0),
            (true, Some(_)) => late.push(group[0].0),
            _ => {}
        }
    }
    let start = by_address.first().map_or(0, |(a, _)| *a);
    assert!(
        late.is_empty(),
        "{} listed functions come after an unlisted one at .text+{:#x} (first at {:?})",
        late.len(),
        first_unlisted.unwrap_or(0) - start,
        late.iter()
            .take(5)
            .map(|a| format!("{:#x}", a - start))
            .collect::<Vec<_>>()
    );

    let sections = tool("readelf", &["-S", "-W", &bin]).expect("readelf");
    assert!(
        sections.contains(".relr.dyn"),
        "no packed relocations (-z pack-relative-relocs) in {bin}"
    );
}
