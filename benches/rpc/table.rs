//! The report: calls per host size with their verdicts, then the big host's table.

use std::process::Command;
use std::time::Instant;

use super::report::{print_table, row, sorted};
use super::{median, Out};

pub fn print(
    out: &Out,
    count_rows: &[(usize, String, String)],
    big: usize,
    virsh_secs: &[f64],
    started: Instant,
) {
    let commit = Command::new("git")
        .args([
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "rev-parse",
            "--short",
            "HEAD",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown (not a git checkout)".into());
    println!();
    println!(
        "virtdeck round trips ({} CPUs, commit {commit}, {:.0} s)",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        started.elapsed().as_secs_f64()
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    println!("load average at the end: {}", load.join(" "));
    match (out.last("calibrate.made"), out.last("calibrate.counted")) {
        (Some(m), Some(c)) => println!(
            "calibration: {m:.0} known calls, {c:.0} counted: {}",
            if m == c { "PASS" } else { "FAIL" }
        ),
        _ => println!("calibration: n/a"),
    }
    println!();

    // 1. Calls per host.
    let n_or = |k: String| out.last(&k).map_or("n/a".into(), |v| format!("{v:.0}"));
    let head = [
        "VMs",
        "to first snapshot",
        "connect RPCs",
        "RPCs per tick",
        "per tick w/ inventory",
        "virsh list --all",
        "virsh domstats",
    ];
    let body: Vec<Vec<String>> = count_rows
        .iter()
        .map(|(n, list, stats)| {
            let p = format!("n{n}");
            vec![
                n.to_string(),
                n_or(format!("{p}.first_snapshot")),
                n_or(format!("{p}.connect")),
                n_or(format!("{p}.tick")),
                n_or(format!("{p}.tick_inventory")),
                list.clone(),
                stats.clone(),
            ]
        })
        .collect();
    print_grid(&head, &body);
    println!();
    let (lo, hi) = match (count_rows.first(), count_rows.last()) {
        (Some(a), Some(b)) if a.0 != b.0 => (format!("n{}", a.0), format!("n{}", b.0)),
        _ => (String::new(), String::new()),
    };
    // Allowed difference: none. gen_fleet's hosts differ only in their VMs (the same 3 pools
    // and 3 networks at every size), so a worker whose calls do not depend on the number of
    // VMs makes exactly the same calls on each.
    let same = |k: &str, what: &str| {
        let verdict = match (
            out.last(&format!("{lo}.{k}")),
            out.last(&format!("{hi}.{k}")),
        ) {
            (Some(a), Some(b)) => {
                let pass = b <= a;
                format!(
                    "{} ({a:.0} at {} VMs, {b:.0} at {} VMs)",
                    if pass { "PASS" } else { "FAIL" },
                    &lo[1..],
                    &hi[1..]
                )
            }
            _ => "n/a".into(),
        };
        println!("{what}: {verdict}");
    };
    same("connect", "connect RPCs do not grow with the number of VMs");
    same("tick", "RPCs per tick do not grow with the number of VMs");
    same(
        "tick_inventory",
        "RPCs per tick with the inventory re-read do not grow with the number of VMs",
    );

    // 2. The big host.
    let rows_ms = out.all("big.rows_ms");
    let v = median(virsh_secs).map(|s| s * 1e3);
    let r = median(&rows_ms);
    let ratio = match (r, v) {
        (Some(r), Some(v)) if v > 0.0 => Some(r / v),
        _ => None,
    };
    let keys = sorted(out.all("big.key_ms"));
    let pct = |p: f64| {
        (!keys.is_empty()).then(|| {
            keys[((p / 100.0 * keys.len() as f64).ceil() as usize).clamp(1, keys.len()) - 1]
        })
    };
    let rss = out.all("big.rss_mib").into_iter().reduce(f64::max);
    let fmt_ms = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.0} ms"));
    let rows = vec![
        row(
            format!(
                "{big} VMs: start → first frame with VM rows (median of {})",
                rows_ms.len()
            ),
            fmt_ms(r),
            "-",
            None,
        ),
        row(
            format!(
                "  virsh list --all, same URI (median of {})",
                virsh_secs.len()
            ),
            fmt_ms(v),
            "-",
            None,
        ),
        row(
            "  ratio",
            ratio.map_or("n/a".into(), |x| format!("{x:.2}×")),
            "≤ 1.2×",
            ratio.map(|x| x <= 1.2),
        ),
        row(
            "  same, from exec of the process (median)",
            fmt_ms(median(&out.all("big.spawn_to_rows_ms"))),
            "-",
            None,
        ),
        row(
            "RSS once the rows are shown (max)",
            rss.map_or("n/a".into(), |v| format!("{v:.1} MiB")),
            "≤ 50 MB",
            rss.map(|v| v * 1.048576 <= 50.0),
        ),
        row(
            format!("filter key → frame 200x50, p50/p99/max (n={})", keys.len()),
            match (pct(50.0), pct(99.0), pct(100.0)) {
                (Some(a), Some(b), Some(c)) => format!("{a:.2} / {b:.2} / {c:.2} ms"),
                _ => "n/a".into(),
            },
            "p99 ≤ 16 ms",
            pct(99.0).map(|v| v <= 16.0),
        ),
    ];
    println!();
    print_table(&rows);
    out.print_notes();
}

/// A markdown table with free columns (`report::print_table` has four fixed ones).
fn print_grid(head: &[&str], body: &[Vec<String>]) {
    let widths: Vec<usize> = (0..head.len())
        .map(|i| {
            body.iter()
                .map(|r| r[i].chars().count())
                .chain([head[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        println!("| {} |", padded.join(" | "));
    };
    line(head.to_vec());
    println!(
        "|{}|",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("|")
    );
    for r in body {
        line(r.iter().map(String::as_str).collect());
    }
}
