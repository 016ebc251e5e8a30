//! The vCPU and memory forms: the online count (or balloon target) and, for a persistent VM,
//! the boot-time maximum; a maximum that changes goes first so the count fits under it.

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
