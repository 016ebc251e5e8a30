//! How much the VM has: vCPUs and memory (the online count or balloon target and, for a
//! persistent VM, the boot-time maximum; a maximum that changes goes first so the count fits
//! under it) and a disk's capacity (grown in the running guest by a block resize).

use super::{at, scope_field, Layout, Ops, Wizard};
use crate::app::wizard::{check, Field};
use crate::fmt;
use crate::host::vm::{Scope, VmDetails, VmOp};
use crate::size::parse_size;

pub(super) fn fields_vcpus(d: &VmDetails) -> Layout {
    let hw = &d.hardware;
    let mut f = vec![
        Field::text("count", "vCPUs", 0, &hw.vcpus.current.to_string())
            .hint("online vCPUs; a live change needs CPU hotplug in the guest"),
    ];
    if d.persistent {
        f.push(
            Field::text("max", "Maximum", 0, &hw.vcpus.max.to_string())
                .hint("the boot-time maximum (persistent; next boot)"),
        );
    }
    f.push(scope_field(d));
    (format!("vCPUs of {}", d.name), vec!["vCPUs"], f)
}

pub(super) fn fields_memory(d: &VmDetails) -> Layout {
    let hw = &d.hardware;
    let mut f = vec![
        Field::text("current", "Memory", 0, &size_text(hw.memory.current_kib))
            .hint("the balloon target, e.g. 512M or 2G; live needs a balloon driver"),
    ];
    if d.persistent {
        f.push(
            Field::text("max", "Maximum", 0, &size_text(hw.memory.memory_kib))
                .hint("the boot-time maximum (persistent; QEMU cannot change it live)"),
        );
    }
    f.push(scope_field(d));
    (format!("Memory of {}", d.name), vec!["Memory"], f)
}

pub(super) fn check_vcpus(w: &mut Wizard, d: &VmDetails) {
    let c = count(&w.get("count"));
    let max = if d.persistent {
        count(&w.get("max"))
    } else {
        Ok(d.hardware.vcpus.max)
    };
    check(w, "max", max.clone().map(|_| ()));
    check(
        w,
        "count",
        c.and_then(|c| match max {
            Ok(m) if c > m => Err(format!("more than the maximum ({m})")),
            _ => Ok(()),
        }),
    );
}

pub(super) fn check_memory(w: &mut Wizard, d: &VmDetails) {
    let cur = kib(&w.get("current"));
    let max = if d.persistent {
        kib(&w.get("max"))
    } else {
        Ok(d.hardware.memory.memory_kib)
    };
    check(w, "max", max.clone().map(|_| ()));
    check(
        w,
        "current",
        cur.and_then(|c| match max {
            Ok(m) if c > m => Err(format!("more than the maximum ({})", fmt::kib(m))),
            _ => Ok(()),
        }),
    );
}

pub(super) fn ops_vcpus(w: &Wizard, d: &VmDetails, scope: Scope) -> Result<Ops, String> {
    let count = count(&w.get("count"))?;
    let mut v = Vec::new();
    if d.persistent {
        let max = self::count(&w.get("max"))?;
        if max != d.next_boot.as_ref().unwrap_or(&d.hardware).vcpus.max {
            v.push((
                format!("vCPU maximum {max}"),
                VmOp::SetMaxVcpus { count: max },
            ));
        }
    }
    v.push((
        format!("vCPUs {count}{}", at(scope)),
        VmOp::SetVcpus { count, scope },
    ));
    Ok(v)
}

pub(super) fn ops_memory(w: &Wizard, d: &VmDetails, scope: Scope) -> Result<Ops, String> {
    let cur = kib(&w.get("current"))?;
    let mut v = Vec::new();
    if d.persistent {
        let max = kib(&w.get("max"))?;
        if max
            != d.next_boot
                .as_ref()
                .unwrap_or(&d.hardware)
                .memory
                .memory_kib
        {
            v.push((
                format!("memory maximum {}", fmt::kib(max)),
                VmOp::SetMaxMemory {
                    kib: max,
                    scope: Scope::CONFIG,
                },
            ));
        }
    }
    v.push((
        format!("memory {}{}", fmt::kib(cur), at(scope)),
        VmOp::SetMemory { kib: cur, scope },
    ));
    Ok(v)
}

/// Grow `disks[disk]`.
pub(super) fn fields_resize(d: &VmDetails, disk: usize) -> Layout {
    (
        format!(
            "Resize disk {} of {}",
            d.hardware
                .disks
                .get(disk)
                .map(|x| x.target.as_str())
                .unwrap_or(""),
            d.name
        ),
        vec!["Resize"],
        vec![Field::text("size", "New size", 0, "")
            .hint("the new capacity, e.g. 20G; disks only grow (the running guest sees it)")],
    )
}

pub(super) fn check_resize(w: &mut Wizard, d: &VmDetails, disk: usize) {
    let r = parse_size(&w.get("size"))
        .map_err(|e| e.to_string())
        .and_then(|_| {
            if !d.active {
                Err("the VM is shut off: grow its volume in the pools pane (3)".into())
            } else if d.hardware.disks.get(disk).is_none() {
                Err("the disk is gone".into())
            } else {
                Ok(())
            }
        });
    check(w, "size", r);
}

pub(super) fn ops_resize(w: &Wizard, d: &VmDetails, disk: usize) -> Result<Ops, String> {
    let x = d.hardware.disks.get(disk).ok_or("the disk is gone")?;
    let bytes = parse_size(&w.get("size")).map_err(|e| e.to_string())?;
    Ok(vec![(
        format!("resize {} to {}", x.target, fmt::bytes(bytes)),
        VmOp::BlockResize {
            target: x.target.clone(),
            bytes,
        },
    )])
}

fn count(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("a whole number, at least 1".into()),
    }
}

/// The size as libvirt's KiB, entered like "512M" or "2G".
fn kib(text: &str) -> Result<u64, String> {
    let b = parse_size(text).map_err(|e| e.to_string())?;
    if b < 1024 {
        return Err("at least 1 KiB".into());
    }
    Ok(b / 1024)
}

fn size_text(kib: u64) -> String {
    fmt::kib(kib).replace(' ', "")
}

#[cfg(test)]
mod tests {
    use crate::app::detail::tests::{opened, ops, press, select_item, type_text};
    use crate::app::detail::HwItem;
    use crate::app::{Mode, Msg};
    use crate::host::vm::{Scope, VmOp};
    use crate::host::HostEvent;
    use crate::model::HostId;

    #[test]
    fn vcpus_edit_sends_setvcpus_with_the_chosen_scope_and_closes_on_done() {
        let mut a = opened(true);
        select_item(&mut a, HwItem::Vcpus);
        press(&mut a, "e");
        let Mode::Wizard(w) = &a.mode else {
            panic!("no form")
        };
        assert_eq!(w.get("count"), "1");
        assert_eq!(w.get("scope"), "live and persistent");
        press(&mut a, "<Backspace>");
        type_text(&mut a, "3");
        // Scope: live only (the field is the third; ← → cycles it).
        press(&mut a, "<Tab>");
        press(&mut a, "<Tab>");
        press(&mut a, "<Right>");
        let fx = press(&mut a, "<Enter>");
        let sent = ops(&fx);
        assert_eq!(
            sent.iter().map(|(_, o)| o.clone()).collect::<Vec<_>>(),
            vec![VmOp::SetVcpus {
                count: 3,
                scope: Scope::LIVE
            }]
        );
        assert!(matches!(a.mode, Mode::Wizard(_)), "waits for the answer");
        a.update(Msg::Host(
            HostId(0),
            HostEvent::Reply {
                id: sent[0].0,
                reply: crate::host::Reply::Done(Ok("vCPUs set".into())),
            },
        ));
        assert_eq!(a.mode, Mode::Normal);
    }

    #[test]
    fn more_vcpus_than_the_maximum_is_refused_in_the_form() {
        let mut a = opened(false);
        select_item(&mut a, HwItem::Vcpus);
        press(&mut a, "e");
        press(&mut a, "<Backspace>");
        type_text(&mut a, "9");
        let fx = press(&mut a, "<Enter>");
        assert!(ops(&fx).is_empty());
        let Mode::Wizard(w) = &a.mode else {
            panic!("form closed")
        };
        assert!(w.field("count").unwrap().error.is_some());
        // Raising the maximum too makes it valid: both ops go, maximum first.
        press(&mut a, "<Tab>");
        press(&mut a, "<Backspace>");
        type_text(&mut a, "16");
        let fx = press(&mut a, "<Enter>");
        let sent: Vec<VmOp> = ops(&fx).into_iter().map(|(_, o)| o).collect();
        assert_eq!(
            sent,
            vec![
                VmOp::SetMaxVcpus { count: 16 },
                VmOp::SetVcpus {
                    count: 9,
                    scope: Scope::CONFIG
                }
            ]
        );
    }
}
