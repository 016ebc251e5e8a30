//! The restore form (`R`): one of the VM's backups (found in its backup directory off the UI
//! thread), restored into a new VM (name, pool) or over this VM's own disks (shut off, its
//! name typed as confirmation). It runs as a job (`host::backup::spawn_restore`).

use std::path::{Path, PathBuf};

use super::facts::{default_pool, pool_check, pool_hint, Facts};
use super::{Layout, Wizard};
use crate::app::wizard::{check, checks, Field};
use crate::app::{App, Effect, Mode};
use crate::host::backup::RestoreTo;
use crate::host::vm::{VmCmd, VmDetails};
use crate::job::Job;
use crate::model::HostId;
use crate::names::{self, NameKind};

const NEW: &str = "a new VM";
const OVER: &str = "over this VM's disks";

pub(super) fn fields(facts: &Facts) -> Layout {
    let d = &facts.details;
    let name = (1..)
        .map(|i| match i {
            1 => format!("{}-restored", d.name),
            i => format!("{}-restored{i}", d.name),
        })
        .find(|n| !facts.vm_names.contains(n))
        .unwrap_or_default();
    (
        format!("Restore {}", d.name),
        vec!["Restore", "Review"],
        vec![
            Field::text("dir", "Backup directory", 0, &facts.backup_dir)
                .hint("where the backups were written, on this machine"),
            Field::text("backup", "Backup", 0, "").hint("looking for backups…"),
            Field::choice("to", "Restore to", 0, &[NEW, OVER]),
            Field::text("name", "New VM's name", 0, &name)
                .hint("new UUID and MACs; the disks are flattened into new qcow2 volumes"),
            Field::text("pool", "Into pool", 0, &default_pool(facts, None)).hint(&pool_hint(facts)),
            Field::text("confirm", "Type the VM's name", 0, "")
                .hint("its disks are overwritten with the backup's contents"),
        ],
    )
}

/// The VM's own directory under `dir`.
fn vm_dir(dir: &str, d: &VmDetails) -> PathBuf {
    crate::backup::vm_dir(Path::new(dir), &d.name, &d.uuid)
}

pub(super) fn check_form(w: &mut Wizard, facts: &Facts) {
    let d = &facts.details;
    let over = w.get("to") == OVER;
    for (key, on) in [("name", !over), ("pool", !over), ("confirm", over)] {
        if let Some(f) = w.field_mut(key) {
            f.visible = on;
        }
    }
    let dir = w.get("dir");
    let dir_ok = if !facts.local {
        Err("the backups are read on this machine: run `virtdeck restore` on that host".into())
    } else if !dir.starts_with('/') {
        Err("an absolute directory".to_string())
    } else {
        Ok(())
    };
    check(w, "dir", dir_ok.clone());
    let backup = w.get("backup");
    let found = if dir_ok.is_ok() {
        checks::backups(w, "backups", vm_dir(&dir, d))
    } else {
        Some(Ok(Vec::new()))
    };
    let chosen = match &found {
        None => Err("looking for backups…".to_string()),
        Some(Err(e)) => Err(e.clone()),
        Some(Ok(list)) if list.is_empty() => Err(format!(
            "no backups of {} in {}",
            d.name,
            vm_dir(&dir, d).display()
        )),
        Some(Ok(list)) => {
            let newest: Vec<String> = list.iter().rev().map(crate::backup::Found::name).collect();
            if let Some(f) = w.field_mut("backup") {
                f.hint = format!("newest first: {}", newest.join(", "));
            }
            if backup.is_empty() {
                w.set_text("backup", &newest[0]);
            }
            let want = w.get("backup");
            list.iter()
                .find(|f| f.name() == want)
                .cloned()
                .ok_or_else(|| format!("no backup {want}"))
        }
    };
    check(
        w,
        "backup",
        chosen.as_ref().map(|_| ()).map_err(Clone::clone),
    );
    if over {
        let confirm = w.get("confirm");
        check(
            w,
            "confirm",
            if d.active {
                Err(format!("{} is running: shut it down first", d.name))
            } else if confirm != d.name {
                Err(format!(
                    "type {} to confirm",
                    crate::sanitize::text(&d.name)
                ))
            } else {
                Ok(())
            },
        );
    } else {
        let n = w.get("name");
        let r = names::check(NameKind::Vm, &n).and_then(|()| {
            if n == d.name || facts.vm_names.contains(&n) {
                Err(format!("the host already has a VM named {n}"))
            } else {
                Ok(())
            }
        });
        check(w, "name", r);
        let p = w.get("pool");
        check(w, "pool", pool_check(facts, &p));
    }
    let Ok(b) = chosen else {
        w.review = Some(Err("choose a backup".into()));
        return;
    };
    let m = &b.manifest;
    let mut lines = vec![format!(
        "{} backup {} of {} ({} disk(s): {})",
        m.kind.as_str(),
        b.name(),
        m.vm,
        m.disks.len(),
        m.disks
            .iter()
            .map(|x| x.target.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )];
    if over {
        lines.push(format!(
            "Each disk of {} is overwritten in place with the backup's contents (its format \
             kept); the VM's checkpoints are deleted, so its next backup is full.",
            d.name
        ));
    } else {
        lines.push(format!(
            "A new VM {} (new UUID and MACs) with each disk flattened into a new qcow2 volume \
             of pool {}; the backup files are not changed.",
            w.get("name"),
            w.get("pool")
        ));
    }
    w.review = Some(Ok(lines.join("\n")));
}

/// Starts the restore as a job; the form comes back with the error if it fails.
pub(super) fn submit(app: &mut App, host: HostId, d: &VmDetails) -> Vec<Effect> {
    let Mode::Wizard(w) = &app.mode else {
        return Vec::new();
    };
    let form = w.clone();
    let backup = vm_dir(&w.get("dir"), d).join(w.get("backup"));
    let (to, label) = if w.get("to") == OVER {
        (
            RestoreTo::Over {
                confirm: w.get("confirm"),
            },
            d.name.clone(),
        )
    } else {
        let name = w.get("name");
        (
            RestoreTo::NewVm {
                name: name.clone(),
                pool: w.get("pool"),
            },
            name,
        )
    };
    let job = Job::new(format!("restore of {} into {label}", d.name));
    crate::app::detail::start_job(
        app,
        host,
        (crate::app::jobs::JobKind::Restore, label),
        d.uuid.clone(),
        (job.clone(), form),
        VmCmd::Restore { backup, to, job },
    )
}

#[cfg(test)]
mod tests {
    use super::{NEW, OVER};
    use crate::app::detail::tests::{opened, press, type_text, with_pools};
    use crate::app::{Effect, Mode};
    use crate::backup::{DiskEntry, Kind, Manifest};
    use crate::host::backup::RestoreTo;
    use crate::host::vm::VmCmd;
    use crate::host::HostCommand;

    const UUID: &str = "11111111-2222-3333-4444-555555555555";

    /// A backup of the fixture VM (web-01) in `dir`, named `name`.
    fn write_backup(dir: &std::path::Path, name: &str, time: u64) {
        let b = crate::backup::vm_dir(dir, "web-01", UUID).join(name);
        std::fs::create_dir_all(&b).unwrap();
        let m = Manifest {
            version: 1,
            vm: "web-01".into(),
            uuid: UUID.into(),
            host: "qemu:///system".into(),
            kind: Kind::Full,
            time,
            checkpoint: None,
            since: None,
            base: None,
            disks: vec![DiskEntry {
                target: "vda".into(),
                file: "vda.qcow2".into(),
                source: "/var/lib/libvirt/images/web-01.qcow2".into(),
                capacity: 1 << 30,
                size: 1 << 20,
            }],
            domain_xml: "<domain/>".into(),
        };
        std::fs::write(b.join(crate::backup::MANIFEST), m.to_toml().unwrap()).unwrap();
    }

    fn refresh(a: &mut crate::app::App) {
        let ctx = match &a.mode {
            Mode::Wizard(w) => crate::app::wizard::context(a, w.host, w.spec.as_ref()),
            m => panic!("no form: {m:?}"),
        };
        if let Mode::Wizard(w) = &mut a.mode {
            w.checks.run_here();
            crate::app::wizard::refresh(w, &ctx);
        }
    }

    fn form(a: &crate::app::App) -> &crate::app::wizard::Wizard {
        match &a.mode {
            Mode::Wizard(w) => w,
            other => panic!("no form: {other:?}"),
        }
    }

    #[test]
    fn the_newest_backup_restores_into_a_new_vm_or_over_the_typed_vm() {
        let tmp = tempfile::tempdir().unwrap();
        write_backup(tmp.path(), "a-full", 10);
        write_backup(tmp.path(), "b-full", 20);
        let mut a = opened(false);
        a.hosts[0].uri = "qemu:///system".into();
        a.settings.backup_dir = tmp.path().to_string_lossy().into_owned();
        with_pools(&mut a, &["default"]);
        press(&mut a, "I");
        let e = form(&a).field("backup").unwrap().error.clone();
        assert_eq!(
            e.as_deref(),
            Some("looking for backups…"),
            "off the UI thread"
        );
        refresh(&mut a);
        let w = form(&a);
        assert_eq!(w.get("backup"), "b-full", "the newest");
        assert!(w.field("backup").unwrap().hint.contains("b-full, a-full"));
        assert_eq!(w.get("to"), NEW);
        assert!(!w.field("confirm").unwrap().visible);
        press(&mut a, "<Enter>");
        let review = form(&a).review.clone().unwrap().unwrap();
        assert!(review.contains("A new VM web-01-restored"), "{review}");
        let fx = press(&mut a, "<Enter>");
        let Some((backup, to)) = fx.iter().find_map(|e| match e {
            Effect::Host(_, HostCommand::Vm(VmCmd::Restore { backup, to, .. })) => {
                Some((backup.clone(), to.clone()))
            }
            _ => None,
        }) else {
            panic!("a restore: {fx:?} {:?}", a.mode)
        };
        assert!(backup.ends_with("b-full"));
        assert_eq!(
            to,
            RestoreTo::NewVm {
                name: "web-01-restored".into(),
                pool: "default".into()
            }
        );

        // Over the VM's disks: its name must be typed.
        press(&mut a, "I");
        refresh(&mut a);
        if let Mode::Wizard(w) = &mut a.mode {
            w.focus = 2;
        }
        press(&mut a, "<Right>");
        refresh(&mut a);
        let w = form(&a);
        assert_eq!(w.get("to"), OVER);
        assert!(w.field("confirm").unwrap().visible && !w.field("name").unwrap().visible);
        assert!(w
            .field("confirm")
            .unwrap()
            .error
            .as_deref()
            .unwrap()
            .contains("type web-01"));
        if let Mode::Wizard(w) = &mut a.mode {
            w.focus = 5;
        }
        type_text(&mut a, "web-01");
        refresh(&mut a);
        assert!(form(&a).field("confirm").unwrap().error.is_none());
    }

    #[test]
    fn no_backups_is_said_and_blocks() {
        let tmp = tempfile::tempdir().unwrap();
        let mut a = opened(false);
        a.hosts[0].uri = "qemu:///system".into();
        a.settings.backup_dir = tmp.path().to_string_lossy().into_owned();
        press(&mut a, "I");
        refresh(&mut a);
        let e = form(&a).field("backup").unwrap().error.clone().unwrap();
        assert!(e.starts_with("no backups of web-01"), "{e}");
        assert!(press(&mut a, "<Enter>").is_empty());
    }
}
