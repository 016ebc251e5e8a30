//! libvirt's event loop (needed for keepalive and domain events) and lifecycle event callbacks.

use std::os::raw::{c_int, c_void};
use std::sync::mpsc::Sender;
use std::sync::Once;

use virt::connect::Connect;
use virt::sys;

use super::worker::Input;

static EVENT_LOOP: Once = Once::new();

/// Registers libvirt's default event implementation and runs it on its own thread. Must run
/// before the first connection is opened; later calls do nothing.
pub fn ensure_event_loop() {
    EVENT_LOOP.call_once(|| {
        // Without this libvirt prints every error on stderr, over the UI.
        virt::error::clear_error_callback();
        if virt::event::event_register_default_impl().is_err() {
            return;
        }
        let _ = std::thread::Builder::new()
            .name("libvirt-events".into())
            .spawn(|| loop {
                if virt::event::event_run_default_impl().is_err() {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
            });
    });
}

unsafe extern "C" fn lifecycle_cb(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    event: c_int,
    detail: c_int,
    opaque: *mut c_void,
) {
    if opaque.is_null() || dom.is_null() {
        return;
    }
    let tx = &*(opaque as *const Sender<Input>);
    let mut buf = [0 as std::os::raw::c_char; sys::VIR_UUID_STRING_BUFLEN as usize];
    if sys::virDomainGetUUIDString(dom, buf.as_mut_ptr()) == 0 {
        let uuid = std::ffi::CStr::from_ptr(buf.as_ptr())
            .to_string_lossy()
            .into_owned();
        let _ = tx.send(Input::DomainEvent(crate::model::event::LifecycleEvent {
            uuid,
            event,
            detail,
            at: std::time::SystemTime::now(),
        }));
    }
}

unsafe extern "C" fn free_opaque(opaque: *mut c_void) {
    if !opaque.is_null() {
        drop(Box::from_raw(opaque as *mut Sender<Input>));
    }
}

/// Registers for lifecycle events; each one becomes `Input::DomainEvent` for the worker.
/// Returns the callback id, or None when the driver has no events (the poll covers it).
pub fn register_lifecycle(conn: &Connect, tx: Sender<Input>) -> Option<c_int> {
    let opaque = Box::into_raw(Box::new(tx)) as *mut c_void;
    // SAFETY: the callback matches virConnectDomainEventCallback's signature for the lifecycle
    // event id; libvirt owns `opaque` from here and releases it through `free_opaque`.
    let id = unsafe {
        let cb: unsafe extern "C" fn(
            sys::virConnectPtr,
            sys::virDomainPtr,
            c_int,
            c_int,
            *mut c_void,
        ) = lifecycle_cb;
        sys::virConnectDomainEventRegisterAny(
            conn.as_ptr(),
            std::ptr::null_mut(),
            sys::VIR_DOMAIN_EVENT_ID_LIFECYCLE as c_int,
            Some(std::mem::transmute::<
                unsafe extern "C" fn(
                    sys::virConnectPtr,
                    sys::virDomainPtr,
                    c_int,
                    c_int,
                    *mut c_void,
                ),
                unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, *mut c_void),
            >(cb)),
            opaque,
            Some(free_opaque),
        )
    };
    if id < 0 {
        // Registration failed, so libvirt did not take ownership.
        unsafe { free_opaque(opaque) };
        None
    } else {
        Some(id)
    }
}

pub fn deregister(conn: &Connect, id: c_int) {
    unsafe {
        sys::virConnectDomainEventDeregisterAny(conn.as_ptr(), id);
    }
}
