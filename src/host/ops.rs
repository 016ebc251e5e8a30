//! Runs a lifecycle operation against libvirt and reads back one domain's inventory.

use virt::connect::Connect;
use virt::domain::Domain;
use virt::error::Error;

use super::LifecycleOp;
use crate::model::{Vm, VmState};

pub fn run_op(conn: &Connect, uuid: &str, op: LifecycleOp) -> Result<(), Error> {
    let dom = conn.lookup_domain_by_uuid_string(uuid)?;
    match op {
        LifecycleOp::Start => dom.create(),
        LifecycleOp::Shutdown => dom.shutdown(),
        LifecycleOp::Reboot => dom.reboot(virt::sys::VIR_DOMAIN_REBOOT_DEFAULT),
        LifecycleOp::Reset => dom.reset(),
        LifecycleOp::ForceOff => dom.destroy(),
        LifecycleOp::Pause => dom.suspend(),
        LifecycleOp::Resume => dom.resume(),
        LifecycleOp::ManagedSave => dom.managed_save(0),
        LifecycleOp::SetAutostart(on) => dom.set_autostart(on),
    }
}

/// Everything the VM table shows, read from one domain (a few calls; used on connect, after
/// actions and events, and for domains the bulk stats show for the first time).
pub fn inventory(dom: &Domain) -> Result<Vm, Error> {
    let info = dom.info()?;
    let state = VmState::from_raw(info.state.to_raw() as i64);
    Ok(Vm {
        uuid: dom.uuid_string()?,
        name: dom.name()?,
        id: dom.id(),
        state,
        vcpus: info.nr_virt_cpu,
        memory_kib: info.memory,
        max_memory_kib: info.max_mem,
        // Only bulk stats' cpu.time is trusted: the test driver reports wall-clock time here.
        cpu_time_ns: None,
        io: Default::default(),
        autostart: dom.autostart()?,
        persistent: dom.is_persistent()?,
        managed_save: dom.has_managed_save(0).unwrap_or(false),
    })
}
