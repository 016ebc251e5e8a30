//! `virtdeck backup` and `virtdeck restore`: one job without the terminal UI, for cron and
//! systemd timers. Progress is one line per 10 % on stdout, errors on stderr; SIGINT or
//! SIGTERM cancels the job (which removes what it made) and exits with 130.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::app::HostSpec;
use crate::cli::{BackupArgs, RestoreArgs};
use crate::fmt;
use crate::host::backup::{self, BackupSpec, RestoreSpec};
use crate::job::{Job, JobState};
use crate::script::{find_host, new_tenths};

/// Exit statuses.
pub const OK: i32 = 0;
pub const FAILED: i32 = 1;
pub const INTERRUPTED: i32 = 130;

/// `VM[@HOST]`: the host part when it names one of `hosts` or is a URI, else the whole
/// text is the VM (VM names may contain `@`). Without a host: the first of `hosts`.
pub fn split_target(target: &str, hosts: &[HostSpec]) -> (String, Option<HostSpec>) {
    if let Some((vm, host)) = target.rsplit_once('@') {
        if let Some(h) = find_host(host, hosts) {
            return (vm.to_string(), Some(h));
        }
    }
    (target.to_string(), hosts.first().cloned())
}

/// The progress lines for `done` of `total` since `printed` tenths: each new tenth once.
pub fn progress_lines(what: &str, done: u64, total: u64, printed: &mut u64) -> Vec<String> {
    if total == 0 {
        return Vec::new();
    }
    new_tenths(done.min(total) * 10 / total, printed)
        .map(|t| {
            format!(
                "{what}: {:>3} % ({} of {})",
                t * 10,
                fmt::bytes(total * t / 10),
                fmt::bytes(total)
            )
        })
        .collect()
}

/// Runs `work` on a thread while printing its progress; a signal cancels it.
fn supervise<T: Send + 'static>(
    what: &str,
    job: &Job,
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> (Result<T, String>, bool) {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&stop));
    }
    let handle = std::thread::spawn(work);
    let mut printed = 0;
    let mut interrupted = false;
    while !handle.is_finished() {
        if stop.load(Ordering::Relaxed) && !interrupted {
            interrupted = true;
            eprintln!("{what}: interrupted, cancelling…");
            job.cancel();
        }
        for l in progress_lines(what, job.done(), job.total(), &mut printed) {
            println!("{l}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let result = handle
        .join()
        .unwrap_or_else(|_| Err("internal error in the job".into()));
    if result.is_ok() {
        for l in progress_lines(what, job.total(), job.total(), &mut printed) {
            println!("{l}");
        }
    }
    (result, interrupted)
}

fn status<T>(what: &str, job: &Job, result: &Result<T, String>, interrupted: bool) -> i32 {
    match result {
        Ok(_) => {
            job.finish(JobState::Done);
            OK
        }
        Err(e) => {
            eprintln!("{what}: {e}");
            if interrupted || job.is_cancelled() {
                job.finish(JobState::Cancelled);
                INTERRUPTED
            } else {
                job.finish(JobState::Failed(e.clone()));
                FAILED
            }
        }
    }
}

pub fn backup(args: &BackupArgs, hosts: &[HostSpec]) -> i32 {
    let (vm, host) = split_target(&args.vm, hosts);
    let Some(host) = host else {
        eprintln!("backup: no host (give VM@URI)");
        return FAILED;
    };
    let spec = BackupSpec {
        vm: vm.clone(),
        dest: args.to.clone(),
        incremental: args.incremental,
        disks: args.disks.clone(),
        keep: args.keep,
    };
    let what = format!("backup {vm}");
    let job = Job::new(what.clone());
    let on_thread = job.clone();
    let uri = host.uri.clone();
    let (result, interrupted) = supervise(&what, &job, move || {
        let conn = backup::connect(&uri)?;
        backup::run(&conn, &uri, &spec, &on_thread)
    });
    if let Ok(o) = &result {
        for n in &o.notes {
            println!("{what}: note: {n}");
        }
        let size: u64 = o.backup.manifest.disks.iter().map(|d| d.size).sum();
        println!(
            "{what}: {} backup in {} ({})",
            o.backup.manifest.kind.as_str(),
            o.backup.dir.display(),
            fmt::bytes(size)
        );
        for r in &o.removed {
            println!("{what}: retention removed {}", r.display());
        }
    }
    status(&what, &job, &result, interrupted)
}

pub fn restore(args: &RestoreArgs, hosts: &[HostSpec]) -> i32 {
    let host = match &args.host {
        Some(h) => find_host(h, hosts),
        None => hosts.first().cloned(),
    };
    let Some(host) = host else {
        eprintln!("restore: no such host (give a URI or a name from config.toml)");
        return FAILED;
    };
    let uri = host.uri.clone();
    if let Some(vm) = &args.over {
        let what = format!("restore over {vm}");
        let job = Job::new(what.clone());
        let on_thread = job.clone();
        let (backup_dir, vm) = (args.manifest.clone(), vm.clone());
        let (result, interrupted) = supervise(&what, &job, move || {
            let conn = backup::connect(&uri)?;
            backup::restore_over(&conn, &uri, &backup_dir, &vm, &on_thread)
        });
        if let Ok(said) = &result {
            println!("{what}: {said}");
        }
        return status(&what, &job, &result, interrupted);
    }
    let name = args.name.clone().unwrap_or_default();
    let spec = RestoreSpec {
        backup: args.manifest.clone(),
        name: name.clone(),
        pool: args.pool.clone(),
    };
    let what = format!("restore {name}");
    let job = Job::new(what.clone());
    let on_thread = job.clone();
    let (result, interrupted) = supervise(&what, &job, move || {
        let conn = backup::connect(&uri)?;
        backup::restore(&conn, &uri, &spec, &on_thread)
    });
    if let Ok(uuid) = &result {
        println!("{what}: defined VM {name} ({uuid}) on {}", host.name);
    }
    status(&what, &job, &result, interrupted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> Vec<HostSpec> {
        vec![
            HostSpec {
                name: "kvm1".into(),
                uri: "qemu:///system".into(),
            },
            HostSpec {
                name: "kvm2".into(),
                uri: "qemu+ssh://root@kvm2/system".into(),
            },
        ]
    }

    #[test]
    fn the_host_part_is_a_known_host_or_a_uri_else_part_of_the_name() {
        let (vm, h) = split_target("web@kvm2", &hosts());
        assert_eq!((vm.as_str(), h.unwrap().name.as_str()), ("web", "kvm2"));
        let (vm, h) = split_target("mail@example.org", &hosts());
        assert_eq!(
            (vm.as_str(), h.unwrap().name.as_str()),
            ("mail@example.org", "kvm1")
        );
        let (vm, h) = split_target("db@qemu+tcp://h3/system", &hosts());
        assert_eq!(vm, "db");
        assert_eq!(h.unwrap().uri, "qemu+tcp://h3/system");
        assert!(split_target("x", &[]).1.is_none());
    }

    #[test]
    fn progress_is_one_line_per_tenth() {
        let mut p = 0;
        assert!(progress_lines("b", 5, 100, &mut p).is_empty());
        let l = progress_lines("b", 35, 100, &mut p);
        assert_eq!(l.len(), 3);
        assert!(l[2].starts_with("b:  30 %"), "{l:?}");
        assert_eq!(progress_lines("b", 100, 100, &mut p).len(), 7);
        assert!(progress_lines("b", 100, 100, &mut p).is_empty());
        assert!(progress_lines("b", 1, 0, &mut p).is_empty());
    }
}
