//! `virtdeck migrate VM[@SRC] --to HOST`: the wizard's migration without a terminal. The
//! pre-flight checks run first and are printed one per line; a failed one stops it (exit 3)
//! unless `--force` overrides it (an unreachable host or invalid options never can). Then
//! the migration runs on the host layer's runner and prints one line per 10 % of its data;
//! SIGINT/SIGTERM cancel it. The equivalent `virsh migrate` line is printed with the plan.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use super::{tell, FAILED, NOT_FOUND, OK, REFUSED, UNREACHABLE};
use crate::app::HostSpec;
use crate::cli::MigrateArgs;
use crate::host::migrate::{run_detached, MigrateCmd, MigrationTarget, Report};
use crate::host::script::locate_vm;
use crate::host::{HostCommand, HostEvent, Reply, RequestId};
use crate::migrate::preflight::{blocking, Check, CheckKind, Status};
use crate::model::migration::{
    CopyStorage, Migration, MigrationEvent, MigrationKind, MigrationOptions, Phase,
};
use crate::model::HostId;
use crate::sanitize::text as say;

/// Exit status of a migration cancelled by a signal (as the backup command).
const INTERRUPTED: i32 = 130;
/// How long the pre-flight may take (it opens the target and reads both hosts).
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(120);
const ID: u64 = 1;

/// The options the flags ask for; `active` is the VM's state (the kind without --live).
pub fn options(a: &MigrateArgs, active: bool) -> MigrationOptions {
    MigrationOptions {
        kind: match (a.live, active) {
            (true, _) => MigrationKind::Live,
            (false, true) => MigrationKind::Suspended,
            (false, false) => MigrationKind::Offline,
        },
        peer_to_peer: a.p2p,
        copy_storage: match a.copy_storage.as_deref() {
            Some("all") => CopyStorage::All,
            Some("inc") => CopyStorage::Incremental,
            _ => CopyStorage::None,
        },
        undefine_source: !a.keep_source,
        bandwidth_mib_s: a.bandwidth,
        allow_unsafe: a.allow_unsafe,
        ..MigrationOptions::default()
    }
}

/// One check as a line: `  ✔ name: detail` (✔ pass, ⚠ warn, ✖ fail).
pub fn check_line(c: &Check) -> String {
    let mark = match c.status {
        Status::Pass => "✔",
        Status::Warn => "⚠",
        Status::Fail => "✖",
    };
    format!("  {mark} {}: {}", say(&c.name), say(&c.detail))
}

/// What stops the migration, and the exit status it means: a target that does not answer
/// is "unreachable" (4), any other failed check "refused" (3).
pub fn verdict(checks: &[Check], force: bool) -> Option<(i32, String)> {
    if !blocking(checks, force) {
        return None;
    }
    let failed: Vec<&Check> = checks.iter().filter(|c| c.status == Status::Fail).collect();
    if failed.iter().any(|c| c.kind == CheckKind::Reachable) {
        return Some((UNREACHABLE, "the target does not answer".into()));
    }
    let soft = failed.iter().filter(|c| !c.kind.hard()).count();
    let hard = failed.len() - soft;
    let text = if hard > 0 {
        format!(
            "{} check(s) failed that --force cannot override",
            failed.len()
        )
    } else {
        format!("{soft} check(s) failed (--force migrates anyway)")
    };
    Some((REFUSED, text))
}

pub fn migrate(a: &MigrateArgs, hosts: &[HostSpec], addresses: &HashMap<String, String>) -> i32 {
    let (vm, pinned) = super::target(&a.vm, hosts);
    let Some(to) = super::find_host(&a.to, hosts) else {
        eprintln!(
            "migrate: --to {}: not a host of config.toml nor a URI",
            say(&a.to)
        );
        return NOT_FOUND;
    };
    if pinned.as_deref() == Some(to.uri.as_str()) {
        eprintln!("migrate {}: it is on {} already", say(&a.vm), say(&to.name));
        return REFUSED;
    }
    // The target is not where the VM is looked for (a copy there would make it ambiguous).
    let pairs: Vec<_> = super::pairs(hosts)
        .into_iter()
        .filter(|h| h.1 != to.uri)
        .collect();
    let (found, troubles) = locate_vm(&pairs, &vm, pinned.as_deref());
    let mut status = OK;
    for f in &troubles {
        status = status.max(tell("migrate", &a.vm, f));
    }
    let src = match found {
        Ok(l) => l,
        Err(f) => return status.max(tell("migrate", &a.vm, &f)),
    };
    let opts = options(a, src.active);
    let (tx, rx) = mpsc::channel();
    let report = Report::new(move |ev| {
        let _ = tx.send(ev);
    });
    let target = MigrationTarget {
        uri: to.uri.clone(),
        migration_address: a
            .address
            .clone()
            .or_else(|| addresses.get(&to.uri).cloned()),
    };
    println!(
        "migrate {}@{} → {} ({})",
        say(&src.name),
        say(&src.host.0),
        say(&to.name),
        opts.summary()
    );
    let start = MigrateCmd::Start {
        id: ID,
        uuid: src.uuid.clone(),
        target: target.clone(),
        options: opts.clone(),
        report: report.clone(),
    };
    let subject = crate::virsh::Subject {
        uri: &src.host.1,
        vm: &src.name,
    };
    if let Some(argv) = crate::virsh::equivalent(subject, &HostCommand::Migrate(start.clone())) {
        println!("  as: {}", say(&crate::virsh::quote(&argv)));
    }

    run_detached(
        &src.conn,
        MigrateCmd::Preflight {
            vms: vec![(RequestId(ID), src.uuid.clone())],
            target,
            options: opts.clone(),
            report,
        },
    );
    let checks = match wait_preflight(&rx) {
        Some(c) => c,
        None => {
            eprintln!("migrate: the pre-flight checks did not answer");
            return FAILED;
        }
    };
    println!("pre-flight:");
    for c in &checks {
        println!("{}", check_line(c));
    }
    if let Some((code, why)) = verdict(&checks, a.force) {
        eprintln!("migrate {}: not started: {why}", say(&a.vm));
        return status.max(code);
    }
    if a.force && checks.iter().any(|c| c.status == Status::Fail) {
        println!("  --force: going on despite the failed checks");
    }

    // The migration.
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&stop));
    }
    let mut m = Migration::new(
        ID,
        src.name.clone(),
        src.uuid.clone(),
        HostId(0),
        HostId(1),
        opts.clone(),
    );
    run_detached(&src.conn, start);
    let what = format!("migrate {}", say(&src.name));
    let mut printed = 0;
    let mut cancelled = false;
    while !m.phase.is_finished() {
        if stop.load(Ordering::Relaxed) && !cancelled {
            cancelled = true;
            eprintln!("{what}: interrupted, cancelling…");
            run_detached(&src.conn, MigrateCmd::Cancel { id: ID });
        }
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(HostEvent::Migration(u)) if u.id == ID => {
                m.apply(&u.event, Instant::now());
                if let MigrationEvent::Control { result: Err(e), .. } = &u.event {
                    eprintln!("{what}: {}", say(e));
                }
                if m.phase != Phase::Succeeded {
                    if let Some(r) = m.ratio() {
                        for l in progress(&what, r, &mut printed) {
                            println!("{l}");
                        }
                    }
                }
            }
            Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                eprintln!("{what}: the migration thread went away");
                return FAILED;
            }
        }
    }
    match m.phase {
        Phase::Succeeded => {
            for l in progress(&what, 1.0, &mut printed) {
                println!("{l}");
            }
            let took = m
                .elapsed(Instant::now())
                .map_or("-".into(), crate::fmt::duration);
            println!(
                "{what}@{} → {}: done in {took} (downtime {})",
                say(&src.host.0),
                say(&to.name),
                m.downtime_label()
            );
            status
        }
        Phase::Cancelled => {
            eprintln!("{what}: cancelled; the VM stays on {}", say(&src.host.0));
            INTERRUPTED
        }
        _ => {
            let e = m.error.as_deref().unwrap_or("failed");
            eprintln!("{what}: {}", say(e));
            status.max(REFUSED)
        }
    }
}

fn wait_preflight(rx: &mpsc::Receiver<HostEvent>) -> Option<Vec<Check>> {
    let until = Instant::now() + PREFLIGHT_TIMEOUT;
    loop {
        let left = until.checked_duration_since(Instant::now())?;
        match rx.recv_timeout(left).ok()? {
            HostEvent::Reply {
                id: RequestId(ID),
                reply: Reply::Preflight(checks),
            } => return Some(checks),
            _ => continue,
        }
    }
}

/// A line per new tenth of `ratio` since `printed` tenths.
pub fn progress(what: &str, ratio: f64, printed: &mut u64) -> Vec<String> {
    let tenth = (ratio.clamp(0.0, 1.0) * 10.0).floor() as u64;
    super::new_tenths(tenth, printed)
        .map(|t| format!("{what}: {:>3} %", t * 10))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(line: &[&str]) -> MigrateArgs {
        let mut all = vec!["virtdeck", "migrate"];
        all.extend_from_slice(line);
        match crate::cli::Cli::parse_from(all).command {
            Some(crate::cli::Command::Migrate(a)) => a,
            other => panic!("{other:?}"),
        }
    }

    fn check(kind: CheckKind, status: Status) -> Check {
        Check {
            kind,
            name: "n <\u{1b}[31m>".into(),
            status,
            detail: "d\u{202e}".into(),
        }
    }

    #[test]
    fn flags_make_the_options() {
        let a = args(&["web@kvm1", "--to", "kvm2", "--live", "--bandwidth", "50"]);
        let o = options(&a, true);
        assert_eq!(o.kind, MigrationKind::Live);
        assert_eq!(o.bandwidth_mib_s, Some(50));
        assert!(o.undefine_source && o.persist && !o.allow_unsafe);
        assert!(o.validate().is_ok());
        let a = args(&["web", "--to", "kvm2", "--keep-source", "--unsafe"]);
        assert_eq!(options(&a, true).kind, MigrationKind::Suspended);
        assert_eq!(options(&a, false).kind, MigrationKind::Offline);
        assert!(!options(&a, false).undefine_source);
        assert!(options(&a, false).allow_unsafe);
        let a = args(&["web", "--to", "kvm2", "--copy-storage", "inc", "--p2p"]);
        assert_eq!(options(&a, true).copy_storage, CopyStorage::Incremental);
        assert!(options(&a, true).peer_to_peer);
        assert!(crate::cli::Cli::try_parse_from([
            "virtdeck",
            "migrate",
            "web",
            "--to",
            "k",
            "--bandwidth",
            "0"
        ])
        .is_err());
    }

    #[test]
    fn failed_checks_block_unless_forced_and_unreachable_is_its_own_status() {
        let pass = check(CheckKind::Cpu, Status::Pass);
        let warn = check(CheckKind::Memory, Status::Warn);
        let soft = check(CheckKind::Network, Status::Fail);
        assert_eq!(verdict(&[pass.clone(), warn.clone()], false), None);
        assert_eq!(
            verdict(&[pass.clone(), soft.clone()], false).unwrap().0,
            REFUSED
        );
        assert!(verdict(&[pass.clone(), soft.clone()], false)
            .unwrap()
            .1
            .contains("--force"));
        assert_eq!(verdict(&[warn, soft.clone()], true), None);
        let opts = check(CheckKind::Options, Status::Fail);
        assert_eq!(verdict(&[opts, soft.clone()], true).unwrap().0, REFUSED);
        let gone = check(CheckKind::Reachable, Status::Fail);
        assert_eq!(verdict(&[gone, soft], true).unwrap().0, UNREACHABLE);
    }

    #[test]
    fn check_lines_are_sanitised_and_marked() {
        let l = check_line(&check(CheckKind::Network, Status::Fail));
        assert!(l.starts_with("  ✖ "), "{l}");
        assert!(!l.contains('\u{1b}') && !l.contains('\u{202e}'), "{l:?}");
    }

    #[test]
    fn progress_prints_each_tenth_once() {
        let mut p = 0;
        assert!(progress("m", 0.05, &mut p).is_empty());
        assert_eq!(
            progress("m", 0.31, &mut p),
            ["m:  10 %", "m:  20 %", "m:  30 %"]
        );
        assert!(progress("m", 0.2, &mut p).is_empty(), "never backwards");
        assert_eq!(progress("m", 1.0, &mut p).len(), 7);
        assert_eq!(p, 10);
    }
}
