//! New and delete snapshot. A new snapshot is internal (disks, and memory while the VM runs)
//! or disk-only (external overlays); deleting one may take the snapshots below it along.

use super::{Layout, Ops, Wizard};
use crate::app::wizard::{check, Field};
use crate::host::vm::{VmDetails, VmOp};
use crate::names::{self, NameKind};
use crate::xml::snapshot::SnapshotSpec;

pub(super) fn fields_new(d: &VmDetails) -> Layout {
    let modes: &[&str] = if d.active {
        &["disk and memory", "disk only"]
    } else {
        &["disk", "disk only"]
    };
    let n = (1..)
        .map(|i| format!("snap{i}"))
        .find(|n| d.snapshots.get(n).is_none())
        .unwrap_or_default();
    (
        format!("New snapshot of {}", d.name),
        vec!["Snapshot", "Review"],
        vec![
            Field::text("name", "Name", 0, &n).hint(&names::hint(NameKind::Snapshot)),
            Field::text("description", "Description", 0, ""),
            Field::choice("mode", "Contents", 0, modes).hint(
                "internal snapshots (qcow2) keep disks, and memory while running; disk only: external overlay files",
            ),
            {
                let mut q = Field::toggle("quiesce", "Quiesce (freeze file systems)", 0, false)
                    .hint("the guest agent flushes and freezes the guest's file systems meanwhile (disk only)");
                q.visible = d.active && crate::app::detail::has_agent_channel(&d.hardware);
                q
            },
        ],
    )
}

pub(super) fn fields_delete(d: &VmDetails, snap: &str) -> Layout {
    let below = d.snapshots.descendants(snap).len();
    let mut f = Field::toggle("children", "With children", 0, false).hint(&format!(
        "also delete the {below} snapshot(s) below it; without, they move up to its parent"
    ));
    f.visible = below > 0;
    (
        format!("Delete snapshot {snap} of {}?", d.name),
        vec!["Delete snapshot"],
        vec![f],
    )
}

/// Checks the name and contents and rebuilds the review (the snapshot's XML).
pub(super) fn check_new(w: &mut Wizard, d: &VmDetails) {
    let spec = spec(w, d);
    let mut errs = spec.validate();
    let name = w.get("name");
    if d.snapshots.get(&name).is_some() {
        errs.push(("name", format!("{name} exists")));
    }
    check(
        w,
        "name",
        errs.iter()
            .find(|(k, _)| *k == "name")
            .map_or(Ok(()), |(_, e)| Err(e.clone())),
    );
    check(
        w,
        "mode",
        errs.iter()
            .find(|(k, _)| *k == "disks")
            .map_or(Ok(()), |(_, e)| Err(e.clone())),
    );
    // libvirt freezes file systems only for disk-only snapshots.
    check(
        w,
        "quiesce",
        if spec.quiesce && !spec.disk_only {
            Err("choose disk only: a snapshot with memory cannot be quiesced".into())
        } else {
            Ok(())
        },
    );
    w.review = Some(spec.to_xml().map_err(|e| e.to_string()));
}

pub(super) fn ops_new(w: &Wizard, d: &VmDetails) -> Ops {
    let spec = spec(w, d);
    vec![(
        format!("snapshot {}", spec.name),
        VmOp::CreateSnapshot(spec),
    )]
}

pub(super) fn ops_delete(w: &Wizard, name: &str) -> Ops {
    vec![(
        format!("delete snapshot {name}"),
        VmOp::DeleteSnapshot {
            name: name.to_string(),
            children: w.on("children"),
        },
    )]
}

fn spec(w: &Wizard, d: &VmDetails) -> SnapshotSpec {
    let desc = w.get("description");
    let mut spec = SnapshotSpec::for_domain(
        &d.hardware,
        &w.get("name"),
        Some(desc.as_str()).filter(|s| !s.is_empty()),
        w.get("mode") == "disk only",
    );
    spec.quiesce = w.field("quiesce").is_some_and(|f| f.visible) && w.on("quiesce");
    spec
}
