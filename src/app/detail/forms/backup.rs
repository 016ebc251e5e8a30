//! The backup form (`B`): where to (a directory of this machine), full or incremental, how
//! many to keep. It runs as a job in the jobs list (`host::backup`: push mode for a running
//! VM, a copy of a shut-off one); a failure reopens the form with the error.

use super::facts::Facts;
use super::{Layout, Wizard};
use crate::app::wizard::{check, Field};
use crate::app::{App, Effect, Mode};
use crate::host::backup::BackupSpec;
use crate::host::vm::{VmCmd, VmDetails};
use crate::job::Job;
use crate::model::HostId;

pub const FULL: &str = "full";
pub const INCREMENTAL: &str = "incremental";

pub(super) fn fields(facts: &Facts) -> Layout {
    let d = &facts.details;
    let kinds: &[&str] = if d.active {
        &[INCREMENTAL, FULL]
    } else {
        &[FULL]
    };
    (
        format!("Back up {}", d.name),
        vec!["Backup", "Review"],
        vec![
            Field::text("dest", "Directory", 0, &facts.backup_dir)
                .hint("on this machine, or pool:NAME (a dir pool's directory); the VM's backups go into a directory of their own"),
            Field::choice("kind", "Kind", 0, kinds).hint(if d.active {
                "incremental: what changed since the last backup there (qcow2 disks); \
                 the first one is full"
            } else {
                "the VM is shut off: its disks are copied whole (qemu-img)"
            }),
            Field::text("disks", "Disks", 0, "").hint(&format!(
                "empty: every disk ({}); else some of them, e.g. vda vdb",
                backup_disks(d).join(" ")
            )),
            Field::text("keep", "Keep", 0, &facts.backup_keep.to_string())
                .hint("backups kept per VM, with what they build on (0: all)"),
        ],
    )
}

pub(super) fn check_form(w: &mut Wizard, facts: &Facts) {
    let dest = w.get("dest");
    let r = if !facts.local {
        Err("backups are written on this machine: run `virtdeck backup` on that host".into())
    } else if let Some(pool) = dest.strip_prefix(crate::host::backup::POOL_PREFIX) {
        if facts.pools_known && !facts.pools.iter().any(|p| p == pool) {
            Err(format!(
                "no running pool {pool:?}: {}",
                super::facts::pool_hint(facts)
            ))
        } else {
            Ok(())
        }
    } else if !dest.starts_with('/') {
        Err("an absolute directory like /var/lib/libvirt/backups, or pool:NAME".into())
    } else if dest.chars().any(char::is_control) {
        Err("no control characters".into())
    } else {
        Ok(())
    };
    check(w, "dest", r);
    let chosen = chosen_disks(&w.get("disks"));
    let all = backup_disks(&facts.details);
    check(
        w,
        "disks",
        match chosen.iter().find(|t| !all.contains(t)) {
            Some(t) => Err(format!("{t} is not one of {}", all.join(" "))),
            None => Ok(()),
        },
    );
    let keep = w.get("keep");
    check(
        w,
        "keep",
        keep.parse::<usize>()
            .map(|_| ())
            .map_err(|_| "a whole number (0 keeps all)".to_string()),
    );
    let d = &facts.details;
    let mut lines = vec![format!(
        "{} backup of {} into {}/",
        if d.active {
            w.get("kind")
        } else {
            "offline copy".into()
        },
        d.name,
        dest.trim_end_matches('/'),
    )];
    lines.push(if d.active {
        "Running: libvirt copies the disks while the guest runs (push mode) and leaves a \
         checkpoint for the next incremental."
            .into()
    } else {
        "Shut off: each disk is copied with qemu-img.".into()
    });
    lines.push(match keep.parse::<usize>() {
        Ok(0) => "Every backup is kept.".into(),
        Ok(n) => format!("Then the newest {n} are kept, with the backups they build on."),
        Err(_) => String::new(),
    });
    lines.push("Restore: virtdeck restore <backup dir> --name NEW [--pool P]".into());
    w.review = Some(Ok(lines.join("\n")));
}

/// The disks a backup can copy: writable ones (not CD-ROMs or read-only disks).
fn backup_disks(d: &VmDetails) -> Vec<String> {
    d.hardware
        .disks
        .iter()
        .filter(|x| x.device == "disk" && !x.readonly)
        .map(|x| x.target.clone())
        .collect()
}

/// The targets typed (space or comma separated); none means every disk.
fn chosen_disks(text: &str) -> Vec<String> {
    text.split([' ', ','])
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// Starts the backup as a job; the form closes and comes back with the error if it fails.
pub(super) fn submit(app: &mut App, host: HostId, d: &VmDetails) -> Vec<Effect> {
    let Mode::Wizard(w) = &app.mode else {
        return Vec::new();
    };
    let form = w.clone();
    let spec = BackupSpec {
        vm: d.uuid.clone(),
        dest: w.get("dest").into(),
        incremental: d.active && w.get("kind") == INCREMENTAL,
        disks: chosen_disks(&w.get("disks")),
        keep: w.get("keep").parse().unwrap_or(0),
    };
    let job = Job::new(format!("backup of {}", d.name));
    crate::app::detail::start_job(
        app,
        host,
        (crate::app::jobs::JobKind::Backup, d.name.clone()),
        d.uuid.clone(),
        (job.clone(), form),
        VmCmd::Backup { spec, job },
    )
}

#[cfg(test)]
mod tests {
    use crate::app::detail::tests::{opened, press};
    use crate::app::jobs::JobKind;
    use crate::app::{Effect, Mode};
    use crate::host::vm::VmCmd;
    use crate::host::HostCommand;

    fn form(a: &crate::app::App) -> &crate::app::wizard::Wizard {
        match &a.mode {
            Mode::Wizard(w) => w,
            other => panic!("no form: {other:?}"),
        }
    }

    #[test]
    fn a_running_vm_is_backed_up_incrementally_as_a_job() {
        let mut a = opened(true);
        press(&mut a, "B");
        let w = form(&a);
        assert_eq!(w.get("kind"), "incremental");
        assert_eq!(w.get("dest"), crate::config::DEFAULT_BACKUP_DIR);
        // The fixture's host is test:///: not this machine.
        assert!(w
            .field("dest")
            .unwrap()
            .error
            .as_deref()
            .unwrap()
            .contains("this machine"));
        assert!(w.field("disks").unwrap().hint.contains("every disk (vda)"));
        assert_eq!(super::chosen_disks("vda, vdb  sda"), ["vda", "vdb", "sda"]);
        if let Mode::Wizard(w) = &mut a.mode {
            w.set_text("disks", "vdz");
        }
        let ctx = match &a.mode {
            Mode::Wizard(w) => crate::app::wizard::context(&a, w.host, w.spec.as_ref()),
            _ => unreachable!(),
        };
        if let Mode::Wizard(w) = &mut a.mode {
            crate::app::wizard::refresh(w, &ctx);
        }
        let e = form(&a).field("disks").unwrap().error.clone().unwrap();
        assert_eq!(e, "vdz is not one of vda");
    }

    #[test]
    fn a_local_host_sends_the_backup_and_lists_the_job() {
        let mut a = opened(true);
        a.hosts[0].uri = "qemu:///system".into();
        press(&mut a, "B");
        assert!(form(&a).field("dest").unwrap().error.is_none());
        press(&mut a, "<Enter>");
        let review = form(&a).review.clone().unwrap().unwrap();
        assert!(review.contains("incremental backup of") && review.contains("newest 7"));
        let fx = press(&mut a, "<Enter>");
        let (spec, job) = fx
            .iter()
            .find_map(|e| match e {
                Effect::Host(_, HostCommand::Vm(VmCmd::Backup { spec, job })) => Some((spec, job)),
                _ => None,
            })
            .expect("a backup command");
        assert!(spec.incremental);
        assert_eq!(spec.keep, 7);
        assert_eq!(a.jobs.of(&[JobKind::Backup]).count(), 1);
        assert_eq!(a.mode, Mode::Normal);
        // Done: the job's note (kind, where, size) is said with it.
        job.set_note("full backup in /b/x (64 MiB); no earlier backup to build on".into());
        job.finish(crate::job::JobState::Done);
        crate::app::jobs::tick(&mut a);
        let said = &a.messages.log.back().unwrap().text;
        assert!(
            said.ends_with("done: full backup in /b/x (64 MiB); no earlier backup to build on"),
            "{said}"
        );
        // A shut-off VM: only a copy is offered.
        let mut a = opened(false);
        a.hosts[0].uri = "qemu:///system".into();
        press(&mut a, "B");
        assert_eq!(form(&a).get("kind"), "full");
        press(&mut a, "<Enter>");
        assert!(form(&a)
            .review
            .clone()
            .unwrap()
            .unwrap()
            .contains("offline copy"));
    }
}
