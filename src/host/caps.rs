//! `HostCommand::Caps`: the host's domain capabilities for the guests virtdeck defines
//! (x86_64, q35, KVM; plain QEMU where the host has no KVM).

use virt::connect::Connect;
use virt::error::Error;

use crate::xml::domcaps::GuestCaps;

/// The capabilities, or why they cannot be read (`Err(Ok(..))`: the daemon's answer did not
/// parse; `Err(Err(e))`: the call failed).
pub(super) fn read(conn: &Connect) -> Result<GuestCaps, Result<String, Error>> {
    let xml = match conn.domain_capabilities(None, Some("x86_64"), Some("q35"), Some("kvm"), 0) {
        Ok(xml) => xml,
        Err(_) => conn
            .domain_capabilities(None, Some("x86_64"), Some("q35"), Some("qemu"), 0)
            .map_err(Err)?,
    };
    GuestCaps::parse(&xml).map_err(|e| Ok(e.to_string()))
}
