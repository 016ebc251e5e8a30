//! Runs a lifecycle operation against libvirt and reads back one domain's inventory.

use virt::connect::Connect;
use virt::domain::Domain;
use virt::error::Error;

use super::LifecycleOp;
use crate::model::{Known, Vm, VmState};

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

/// Opens the domain's first console (`force` disconnects another client holding it).
pub fn open_console(
    conn: &Connect,
    uuid: &str,
    force: bool,
) -> Result<virt::stream::Stream, Error> {
    let dom = conn.lookup_domain_by_uuid_string(uuid)?;
    let stream = virt::stream::Stream::new(conn, 0)?;
    let flags = if force {
        virt::sys::VIR_DOMAIN_CONSOLE_FORCE
    } else {
        0
    };
    dom.open_console(None, &stream, flags)?;
    Ok(stream)
}

/// The serial console's guest end is a libvirt stream (the console module knows no libvirt).
impl crate::console::ConsoleIo for virt::stream::Stream {
    fn recv(&self, buf: &mut [u8]) -> Result<usize, String> {
        match virt::stream::Stream::recv(self, buf) {
            Ok(n) if n >= 0 => Ok(n as usize),
            // -2 (would block) only happens on non-blocking streams; treat it as no data.
            Ok(_) => Ok(0),
            Err(e) => Err(crate::host::message(&e)),
        }
    }

    fn send(&self, data: &[u8]) -> Result<usize, String> {
        match virt::stream::Stream::send(self, data) {
            Ok(n) if n >= 0 => Ok(n as usize),
            Ok(_) => Ok(0),
            Err(e) => Err(crate::host::message(&e)),
        }
    }

    fn abort(&self) {
        let _ = self.clone().abort();
    }
}

/// A socket connected to the domain's graphics device `idx`, authenticated by libvirt
/// (SKIPAUTH: no VNC password needed). Only local (UNIX socket) connections can pass it.
pub fn graphics_fd(conn: &Connect, uuid: &str, idx: u32) -> Result<std::os::fd::OwnedFd, Error> {
    use std::os::fd::FromRawFd;
    let dom = conn.lookup_domain_by_uuid_string(uuid)?;
    let fd = dom.open_graphics_fd(idx, virt::sys::VIR_DOMAIN_OPEN_GRAPHICS_SKIPAUTH)?;
    // SAFETY: libvirt hands over a fresh descriptor that nothing else owns.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// The domain's graphics devices. With `secure` (not on read-only connections) libvirt includes
/// passwords, so "no password" can be told apart from "hidden". The inner error is a parse error.
pub fn display(
    conn: &Connect,
    uuid: &str,
    secure: bool,
) -> Result<Result<super::DisplayInfo, String>, Error> {
    let dom = conn.lookup_domain_by_uuid_string(uuid)?;
    let flags = if secure {
        virt::sys::VIR_DOMAIN_XML_SECURE
    } else {
        0
    };
    let xml = dom.xml_desc(flags)?;
    let active = dom.is_active()?;
    Ok(crate::display::parse(&xml, secure).map(|graphics| super::DisplayInfo { graphics, active }))
}

/// Everything the VM table shows, read from one domain (a few calls; used on connect, after
/// actions and events, and for domains the bulk stats show for the first time).
/// A row from the list call alone (no round trip: name, UUID and id travel with the handle).
pub fn listed(dom: &Domain) -> Option<Vm> {
    let id = dom.id();
    Some(Vm {
        uuid: dom.uuid_string().ok()?,
        name: dom.name().ok()?,
        id,
        state: if id.is_some() {
            VmState::Running
        } else {
            VmState::Shutoff
        },
        vcpus: 0,
        memory_kib: 0,
        max_memory_kib: 0,
        cpu_time_ns: None,
        io: Default::default(),
        autostart: false,
        persistent: false,
        managed_save: false,
        started: None,
        known: Known::Listed,
        template: false,
        tags: Vec::new(),
        note: None,
    })
}

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
        started: None,
        template: false,
        tags: Vec::new(),
        note: None,
        known: Known::All,
    })
}
