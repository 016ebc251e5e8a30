//! What the VM boots from: the boot device order (written into its persistent definition,
//! replacing any per-device order) and the media in a CD-ROM drive (insert or eject).

use super::{at, scope_field, Layout, Ops, Wizard};
use crate::app::detail::items::bus_of;
use crate::app::wizard::{check, Field};
use crate::host::vm::{Scope, VmDetails, VmOp};
use crate::xml::device::DiskSpec;
use crate::xml::edit::{set_boot_order, BootOrder};

/// The devices `<os><boot dev>` takes.
const DEVICES: [&str; 4] = ["hd", "cdrom", "network", "fd"];

pub(super) fn fields_order(d: &VmDetails) -> Layout {
    (
        format!("Boot order of {}", d.name),
        vec!["Boot order"],
        vec![Field::text(
            "order",
            "Boot devices",
            0,
            &match d.hardware.boot_order() {
                BootOrder::Os(l) => l.join(","),
                BootOrder::Devices(_) => "hd".into(),
            },
        )
        .hint("comma-separated: hd, cdrom, network, fd (replaces per-device boot order)")],
    )
}

/// The media of CD-ROM `disks[disk]`.
pub(super) fn fields_media(d: &VmDetails, disk: usize) -> Layout {
    let drive = d.hardware.disks.get(disk);
    let cur = drive
        .and_then(|x| x.source.path().map(str::to_string))
        .unwrap_or_default();
    (
        format!(
            "CD-ROM {} of {}",
            drive.map(|x| x.target.as_str()).unwrap_or(""),
            d.name
        ),
        vec!["Media"],
        vec![
            Field::text("iso", "ISO image", 0, &cur)
                .hint("a path on the host; empty ejects the media"),
            scope_field(d),
        ],
    )
}

pub(super) fn check_order(w: &mut Wizard) {
    let r = boot_list(&w.get("order")).map(|_| ());
    check(w, "order", r);
}

pub(super) fn ops_order(w: &Wizard, d: &VmDetails) -> Result<Ops, String> {
    let base = d
        .inactive_xml
        .as_deref()
        .ok_or("a transient VM has no definition to change")?;
    let xml = set_boot_order(base, &BootOrder::Os(boot_list(&w.get("order"))?))
        .map_err(|e| e.to_string())?;
    Ok(vec![("boot order".into(), VmOp::DefineXml { xml })])
}

pub(super) fn ops_media(
    w: &Wizard,
    d: &VmDetails,
    disk: usize,
    scope: Scope,
) -> Result<Ops, String> {
    let x = d.hardware.disks.get(disk).ok_or("the drive is gone")?;
    let iso = w.get("iso");
    let spec = DiskSpec::cdrom(
        Some(iso.as_str()).filter(|s| !s.is_empty()),
        bus_of(x),
        &x.target,
    );
    Ok(vec![(
        if iso.is_empty() {
            format!("eject {}{}", x.target, at(scope))
        } else {
            format!("insert {iso} into {}{}", x.target, at(scope))
        },
        VmOp::UpdateDevice {
            xml: spec.to_xml().map_err(|e| e.to_string())?,
            scope,
        },
    )])
}

fn boot_list(text: &str) -> Result<Vec<String>, String> {
    let l: Vec<String> = text
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if l.is_empty() {
        return Err("at least one of hd, cdrom, network, fd".into());
    }
    if let Some(bad) = l.iter().find(|s| !DEVICES.contains(&s.as_str())) {
        return Err(format!("{bad}: not one of hd, cdrom, network, fd"));
    }
    Ok(l)
}
