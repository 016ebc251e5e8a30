//! Clone and delete the VM. A clone is a job (it copies disks); deleting asks for the VM's
//! name typed in a confirm and lists the volumes, snapshots and NVRAM that go with it.

use super::facts::{default_pool, disk_pool, pool_check, pool_hint};
use super::{Facts, Layout, Wizard};
use crate::app::requests;
use crate::app::wizard::{check, Field};
use crate::app::{App, Effect, Mode};
use crate::host::vm::{storage_of, CloneSpec, DeleteOpts, VmCmd, VmDetails, VmOp};
use crate::host::HostCommand;
use crate::job::Job;
use crate::model::HostId;
use crate::names::{self, NameKind};

pub(super) fn fields_clone(facts: &Facts) -> Layout {
    let name = &facts.details.name;
    let pool = default_pool(facts, disk_pool(&facts.details));
    let clone_name = (1..)
        .map(|i| {
            if i == 1 {
                format!("{name}-clone")
            } else {
                format!("{name}-clone{i}")
            }
        })
        .find(|n| !facts.vm_names.contains(n))
        .unwrap_or_default();
    (
        format!("Clone {name}"),
        vec!["Clone"],
        vec![
            Field::text("name", "New name", 0, &clone_name).hint(&format!(
                "new UUID and MACs are generated, as virt-clone does; {}",
                names::hint(NameKind::Vm)
            )),
            Field::text("pool", "Into pool", 0, &pool).hint(&pool_hint(facts)),
            Field::toggle("linked", "Linked (qcow2 overlay)", 0, false)
                .hint("instant and small, but the original must never change again"),
        ],
    )
}

pub(super) fn fields_delete(d: &VmDetails) -> Layout {
    let vols = storage_of(&d.hardware);
    let mut storage = Field::toggle("storage", "Delete storage", 0, false).hint(&format!(
        "{} volume(s): {}",
        vols.len(),
        vols.iter()
            .map(|s| s.label())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    storage.visible = !vols.is_empty();
    let mut snaps = Field::toggle("snapshots", "Delete snapshots", 0, true)
        .hint("their metadata; libvirt refuses to undefine a VM that still has snapshots");
    snaps.visible = !d.snapshots.snapshots.is_empty();
    let mut nvram = Field::toggle("nvram", "Delete NVRAM", 0, true).hint("the UEFI variable store");
    nvram.visible = d.hardware.os.nvram.is_some();
    (
        format!("Delete {}", d.name),
        vec!["Delete", "Review"],
        vec![storage, snaps, nvram],
    )
}

pub(super) fn check_clone(w: &mut Wizard, facts: &Facts) {
    let d = &facts.details;
    let n = w.get("name");
    let r = if let Err(e) = names::check(NameKind::Vm, &n) {
        Err(e)
    } else if n == d.name || facts.vm_names.contains(&n) {
        Err(format!("the host already has a VM named {n}"))
    } else if d.active {
        Err("shut the VM down first: virtdeck clones only shut-off VMs".into())
    } else {
        Ok(())
    };
    check(w, "name", r);
    let p = w.get("pool");
    check(w, "pool", pool_check(facts, &p));
}

/// The review: what goes and what stays.
pub(super) fn check_delete(w: &mut Wizard, d: &VmDetails) {
    let mut lines = vec![format!("Undefine {} ({})", d.name, d.uuid)];
    if d.active {
        lines.push("It is running: it is forced off first.".into());
    }
    if w.on("storage") {
        lines.push("Delete these volumes:".into());
        lines.extend(
            storage_of(&d.hardware)
                .iter()
                .map(|s| format!("  {}", s.label())),
        );
    } else {
        lines.push("Keep its storage.".into());
    }
    if !d.snapshots.snapshots.is_empty() {
        lines.push(if w.on("snapshots") {
            format!("Delete {} snapshot(s).", d.snapshots.snapshots.len())
        } else {
            "Keep snapshots: libvirt will refuse while they exist.".into()
        });
    }
    if d.hardware.os.nvram.is_some() {
        lines.push(if w.on("nvram") {
            "Delete the NVRAM file.".into()
        } else {
            "Keep the NVRAM file.".into()
        });
    }
    w.review = Some(Ok(lines.join("\n")));
}

/// Starts the clone as a job; the form closes and comes back with the error if it fails.
pub(super) fn submit_clone(app: &mut App, host: HostId, d: &VmDetails) -> Vec<Effect> {
    let Mode::Wizard(w) = &app.mode else {
        return Vec::new();
    };
    let form = w.clone();
    let spec = CloneSpec {
        name: w.get("name"),
        pool: w.get("pool"),
        linked: w.on("linked"),
    };
    let job = Job::new(format!("clone of {} as {}", d.name, spec.name));
    let uuid = d.uuid.clone();
    crate::app::detail::start_clone(
        app,
        host,
        uuid.clone(),
        spec.name.clone(),
        job.clone(),
        form,
    );
    app.pop_overlay();
    vec![Effect::Host(
        host,
        HostCommand::Vm(VmCmd::Clone { uuid, spec, job }),
    )]
}

/// Asks for the VM's name typed before undefining it.
pub(super) fn submit_delete(app: &mut App, host: HostId, d: &VmDetails) -> Vec<Effect> {
    let Mode::Wizard(w) = &app.mode else {
        return Vec::new();
    };
    let opts = DeleteOpts {
        volumes: if w.on("storage") {
            storage_of(&d.hardware)
        } else {
            Vec::new()
        },
        snapshots: w.on("snapshots"),
        nvram: w.on("nvram"),
    };
    let mut body = vec![format!("Undefine {} ({}).", d.name, d.uuid)];
    if d.active {
        body.push("It is running and is forced off first.".into());
    }
    for v in &opts.volumes {
        body.push(format!("delete volume {}", v.label()));
    }
    body.push(format!("Type {} to confirm.", d.name));
    let uuid = d.uuid.clone();
    requests::confirm(
        app,
        format!("Delete VM {}?", d.name),
        body,
        Some(d.name.clone()),
        host,
        format!("{}: delete", d.name),
        |tag| {
            HostCommand::Vm(VmCmd::Act {
                tag,
                uuid,
                op: VmOp::Delete(opts),
            })
        },
    );
    Vec::new()
}
