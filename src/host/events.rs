//! libvirt's event loop (needed for keepalive and domain events) and the domain event
//! callbacks (lifecycle, metadata).

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
    send_for(dom, opaque, |uuid| {
        Input::DomainEvent(crate::model::event::LifecycleEvent {
            uuid,
            event,
            detail,
            at: std::time::SystemTime::now(),
        })
    });
}

/// Sends the worker (`opaque`, a `Sender<Input>`) the input made of `dom`'s UUID.
///
/// # Safety
/// `dom` and `opaque` come from libvirt's event callback: null or valid for the call.
unsafe fn send_for(
    dom: sys::virDomainPtr,
    opaque: *mut c_void,
    input: impl FnOnce(String) -> Input,
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
        let _ = tx.send(input(uuid));
    }
}

/// A change of a domain's metadata (`virConnectDomainEventMetadataChangeCallback`). Only
/// virtdeck's own element matters (template mark, tags, note): another virtdeck or tool that
/// changes it shows here without a reconnect.
unsafe extern "C" fn metadata_cb(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    kind: c_int,
    nsuri: *const std::os::raw::c_char,
    opaque: *mut c_void,
) {
    if nsuri.is_null()
        || kind != sys::VIR_DOMAIN_METADATA_ELEMENT as c_int
        || std::ffi::CStr::from_ptr(nsuri).to_bytes() != crate::xml::meta::NS.as_bytes()
    {
        return;
    }
    send_for(dom, opaque, Input::MetadataChanged);
}

unsafe extern "C" fn free_opaque(opaque: *mut c_void) {
    if !opaque.is_null() {
        drop(Box::from_raw(opaque as *mut Sender<Input>));
    }
}

/// The generic callback type `virConnectDomainEventRegisterAny` takes; each event id calls
/// its own signature through it.
type AnyCallback = unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, *mut c_void);

/// Registers for lifecycle events (each one becomes `Input::DomainEvent` for the worker) and
/// for changes of virtdeck's metadata (`Input::MetadataChanged`). Returns the callback ids;
/// none when the driver has no events (the poll covers state; metadata then shows after a
/// reconnect or the VM's next change).
pub fn register(conn: &Connect, tx: &Sender<Input>) -> Vec<c_int> {
    type Lifecycle =
        unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, c_int, c_int, *mut c_void);
    type Metadata = unsafe extern "C" fn(
        sys::virConnectPtr,
        sys::virDomainPtr,
        c_int,
        *const std::os::raw::c_char,
        *mut c_void,
    );
    // SAFETY: each callback has the signature libvirt documents for its event id, and libvirt
    // calls it through that signature; the generic type is only how the C API passes it.
    let (lifecycle, metadata) = unsafe {
        (
            std::mem::transmute::<Lifecycle, AnyCallback>(lifecycle_cb),
            std::mem::transmute::<Metadata, AnyCallback>(metadata_cb),
        )
    };
    [
        (sys::VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle),
        (sys::VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, metadata),
    ]
    .into_iter()
    .filter_map(|(id, cb)| register_any(conn, id as c_int, cb, tx.clone()))
    .collect()
}

fn register_any(conn: &Connect, event: c_int, cb: AnyCallback, tx: Sender<Input>) -> Option<c_int> {
    let opaque = Box::into_raw(Box::new(tx)) as *mut c_void;
    // SAFETY: libvirt owns `opaque` from here and releases it through `free_opaque`.
    let id = unsafe {
        sys::virConnectDomainEventRegisterAny(
            conn.as_ptr(),
            std::ptr::null_mut(),
            event,
            Some(cb),
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
