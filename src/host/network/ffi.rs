//! libvirt network calls the `virt` crate 0.5 lacks (DHCP leases) or wraps with a
//! leak (domain interface addresses: it never calls `virDomainInterfaceFree`). Everything
//! libvirt allocates here is freed here.

use std::ffi::CStr;
use std::os::raw::{c_char, c_void};

use virt::domain::Domain;
use virt::error::Error;
use virt::network::Network;
use virt::sys;

use crate::model::network::Lease;

extern "C" {
    // libvirt hands out arrays from malloc and documents free() for them.
    fn free(p: *mut c_void);
}

/// SAFETY: `p` is NULL or a NUL-terminated string that outlives the call.
unsafe fn string(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        Some(CStr::from_ptr(p).to_string_lossy().into_owned())
    }
}

/// Every DHCP lease of a network (`virNetworkGetDHCPLeases`).
pub fn dhcp_leases(net: &Network) -> Result<Vec<Lease>, Error> {
    let mut leases: *mut sys::virNetworkDHCPLeasePtr = std::ptr::null_mut();
    // SAFETY: plain FFI call; on success libvirt returns an array of `n` leases we free below.
    let n = unsafe { sys::virNetworkGetDHCPLeases(net.as_ptr(), std::ptr::null(), &mut leases, 0) };
    if n < 0 {
        return Err(Error::last_error());
    }
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        // SAFETY: i < n; each element is a valid lease until virNetworkDHCPLeaseFree.
        unsafe {
            let l = *leases.add(i);
            if l.is_null() {
                continue;
            }
            out.push(Lease {
                mac: string((*l).mac).unwrap_or_default(),
                ip: string((*l).ipaddr).unwrap_or_default(),
                prefix: (*l).prefix.min(128) as u8,
                hostname: string((*l).hostname).filter(|h| !h.is_empty()),
                expiry: (*l).expirytime,
            });
            sys::virNetworkDHCPLeaseFree(l);
        }
    }
    if !leases.is_null() {
        // SAFETY: the array itself comes from malloc; its elements are freed above.
        unsafe { free(leases as *mut c_void) };
    }
    Ok(out)
}

/// One interface of a domain with its addresses: (name, mac, [(ip, prefix)]).
pub type DomIface = (String, Option<String>, Vec<(String, u8)>);

/// `virDomainInterfaceAddresses` from one source.
pub fn interface_addresses(dom: &Domain, source: u32) -> Result<Vec<DomIface>, Error> {
    let mut ifaces: *mut sys::virDomainInterfacePtr = std::ptr::null_mut();
    // SAFETY: plain FFI call; on success libvirt returns `n` interfaces we free below.
    let n = unsafe { sys::virDomainInterfaceAddresses(dom.as_ptr(), &mut ifaces, source, 0) };
    if n < 0 {
        return Err(Error::last_error());
    }
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        // SAFETY: i < n; each element and its `addrs` array (naddrs long) stay valid until
        // virDomainInterfaceFree.
        unsafe {
            let p = *ifaces.add(i);
            if p.is_null() {
                continue;
            }
            let mut addrs = Vec::new();
            if !(*p).addrs.is_null() {
                for j in 0..(*p).naddrs as usize {
                    let a = &*(*p).addrs.add(j);
                    if let Some(ip) = string(a.addr) {
                        addrs.push((ip, a.prefix.min(128) as u8));
                    }
                }
            }
            out.push((
                string((*p).name).unwrap_or_default(),
                string((*p).hwaddr),
                addrs,
            ));
            sys::virDomainInterfaceFree(p);
        }
    }
    if !ifaces.is_null() {
        // SAFETY: the array comes from malloc; its elements are freed above.
        unsafe { free(ifaces as *mut c_void) };
    }
    Ok(out)
}
