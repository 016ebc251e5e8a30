//! The disk move form (`M` on a disk in Hardware): into which pool, as which format, and
//! whether the old volume goes afterwards. It runs as a job (`host::vm::disk_move`): a live
//! block copy and pivot for a running VM, a conversion into a new volume for a shut-off one.

use super::facts::{default_pool, pool_check, pool_hint, Facts};
use super::{Layout, Wizard};
use crate::app::wizard::{check, Field};
use crate::app::{App, Effect, Mode};
use crate::host::vm::disk_move::{MoveSpec, FORMATS};
use crate::host::vm::{VmCmd, VmDetails};
use crate::job::Job;
use crate::model::HostId;

const KEEP: &str = "keep it";
const REMOVE: &str = "remove it after the move";

/// The disk's format first, so the default is a move without conversion.
fn formats(current: Option<&str>) -> Vec<&'static str> {
    let mut v = FORMATS.to_vec();
    if current == Some("raw") {
        v.reverse();
    }
    v
}

pub(super) fn fields(facts: &Facts, disk: usize) -> Layout {
    let d = &facts.details;
    let x = d.hardware.disks.get(disk);
    let target = x.map(|x| x.target.as_str()).unwrap_or("");
    let from = x.map(|x| x.source.label()).unwrap_or_default();
    // Another pool than the disk's own, if it is in one.
    let own = x.and_then(|x| match &x.source {
        crate::xml::hardware::Source::Volume { pool, .. } => Some(pool.as_str()),
        _ => None,
    });
    let pool = facts
        .pools
        .iter()
        .find(|p| Some(p.as_str()) != own)
        .cloned()
        .unwrap_or_else(|| default_pool(facts, None));
    (
        format!("Move disk {target} of {}", d.name),
        vec!["Move", "Review"],
        vec![
            Field::text("pool", "Into pool", 0, &pool)
                .hint(&format!("now {from}; {}", pool_hint(facts))),
            Field::choice(
                "format",
                "Format",
                0,
                &formats(x.and_then(|x| x.format.as_deref())),
            )
            .hint("qcow2: thin, snapshots, incremental backups; raw: fastest"),
            Field::choice("old", "Old volume", 0, &[KEEP, REMOVE]).hint(
                "removed only after the VM uses the new one, and only if no other VM names it",
            ),
        ],
    )
}

pub(super) fn check_form(w: &mut Wizard, facts: &Facts, disk: usize) {
    let d = &facts.details;
    let pool = w.get("pool");
    let Some(x) = d.hardware.disks.get(disk) else {
        w.review = Some(Err("the disk is gone".into()));
        return;
    };
    let format = w.get("format");
    let same = matches!(&x.source, crate::xml::hardware::Source::Volume { pool: own, .. }
        if *own == pool && x.format.as_deref() == Some(format.as_str()));
    check(
        w,
        "pool",
        pool_check(facts, &pool).and_then(|()| {
            if same {
                Err(format!(
                    "{} is a {format} volume of {pool} already: choose another pool or format",
                    x.target
                ))
            } else {
                Ok(())
            }
        }),
    );
    let mut lines = vec![format!(
        "{} ({}) → a new {format} volume in pool {pool}",
        x.target,
        x.source.label()
    )];
    lines.push(if d.active {
        "Running: libvirt mirrors the disk while the guest runs (block copy), then switches \
         the guest to the copy (pivot). Cancel before the switch leaves the VM on its old disk."
            .into()
    } else {
        "Shut off: the volume is converted into the new one (qemu-img on the host), then the \
         definition points at it."
            .into()
    });
    lines.push(if w.get("old") == REMOVE {
        "Then the old volume is deleted (not if another VM names it, e.g. a linked clone).".into()
    } else {
        "The old volume stays where it is.".into()
    });
    w.review = Some(Ok(lines.join("\n")));
}

/// Why the disk on the Hardware row cannot move, if so (the form does not open then).
pub fn refusal(d: &VmDetails, disk: usize) -> Option<String> {
    let Some(x) = d.hardware.disks.get(disk) else {
        return Some("select a disk on the Hardware tab to move it".into());
    };
    if !x.is_clonable() {
        return Some(format!(
            "{} is a {}{}: only writable, unshared disks move",
            x.target,
            x.device,
            if x.readonly { " (read-only)" } else { "" }
        ));
    }
    if x.source.path().is_none() && !matches!(x.source, crate::xml::hardware::Source::Volume { .. })
    {
        return Some(format!(
            "{} is network storage: virtdeck cannot move it",
            x.target
        ));
    }
    let n = d.snapshots.snapshots.len();
    (n > 0).then(|| {
        format!(
            "the VM has {n} snapshot(s), whose data would not move with the disk: delete \
             them first"
        )
    })
}

/// Starts the move as a job; the form comes back with the error if it fails.
pub(super) fn submit(app: &mut App, host: HostId, d: &VmDetails, disk: usize) -> Vec<Effect> {
    let Mode::Wizard(w) = &app.mode else {
        return Vec::new();
    };
    let Some(x) = d.hardware.disks.get(disk) else {
        return Vec::new();
    };
    let form = w.clone();
    let spec = MoveSpec {
        target: x.target.clone(),
        pool: w.get("pool"),
        format: w.get("format"),
        remove_old: w.get("old") == REMOVE,
    };
    let job = Job::new(format!("move of {} {} to {}", d.name, x.target, spec.pool));
    crate::app::detail::start_job(
        app,
        host,
        (crate::app::jobs::JobKind::DiskMove, d.name.clone()),
        d.uuid.clone(),
        (job.clone(), form),
        VmCmd::MoveDisk {
            uuid: d.uuid.clone(),
            spec,
            job,
        },
    )
}

#[cfg(test)]
mod tests {
    use crate::app::detail::tests::{opened, opened_with, press, with_pools, xml_with};
    use crate::app::detail::Tab;
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

    /// The Hardware tab with the row of the first disk selected.
    fn on_disk(a: &mut crate::app::App) {
        a.detail.tab = Tab::Hardware;
        let d = crate::app::detail::current(a).unwrap();
        let list = crate::app::detail::items::hw_items(&d.hardware);
        a.detail.hw_sel = list
            .iter()
            .position(|i| matches!(i, crate::app::detail::items::HwItem::Disk(0)))
            .unwrap();
    }

    #[test]
    fn a_running_vms_disk_moves_as_a_job() {
        let mut a = opened(true);
        with_pools(&mut a, &["default", "fast"]);
        // Not on a disk: said, no form.
        press(&mut a, "M");
        assert_eq!(a.mode, Mode::Normal);
        assert!(a
            .messages
            .log
            .back()
            .unwrap()
            .text
            .contains("select a disk"));
        on_disk(&mut a);
        press(&mut a, "M");
        let w = form(&a);
        assert_eq!(w.get("format"), "qcow2", "the disk's own format first");
        assert_eq!(w.get("old"), super::KEEP);
        press(&mut a, "<Enter>");
        let review = form(&a).review.clone().unwrap().unwrap();
        assert!(
            review.contains("block copy") && review.contains("stays"),
            "{review}"
        );
        let fx = press(&mut a, "<Enter>");
        let spec = fx
            .iter()
            .find_map(|e| match e {
                Effect::Host(_, HostCommand::Vm(VmCmd::MoveDisk { spec, .. })) => Some(spec),
                _ => None,
            })
            .unwrap_or_else(|| panic!("a move: {fx:?} {:?}", a.mode));
        assert_eq!(spec.target, "vda");
        assert_eq!(spec.format, "qcow2");
        assert!(!spec.remove_old);
        assert_eq!(a.jobs.of(&[JobKind::DiskMove]).count(), 1);
        // x cancels it.
        press(&mut a, "x");
        assert!(a
            .jobs
            .of(&[JobKind::DiskMove])
            .next()
            .unwrap()
            .job
            .is_cancelled());
    }

    #[test]
    fn disks_that_cannot_move_are_refused_before_the_form() {
        let xml = xml_with(
            "    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>",
        );
        let mut a = opened_with(false, &xml);
        a.detail.tab = Tab::Hardware;
        let d = crate::app::detail::current(&a).unwrap();
        let list = crate::app::detail::items::hw_items(&d.hardware);
        a.detail.hw_sel = list
            .iter()
            .position(|i| matches!(i, crate::app::detail::items::HwItem::Disk(1)))
            .unwrap();
        press(&mut a, "M");
        assert_eq!(a.mode, Mode::Normal);
        let said = &a.messages.log.back().unwrap().text;
        assert!(said.contains("hdc is a cdrom (read-only)"), "{said}");
    }
}
