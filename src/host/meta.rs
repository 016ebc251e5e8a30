//! Reading and writing virtdeck's metadata element of a domain (`xml::meta`).

use virt::connect::Connect;
use virt::domain::Domain;
use virt::error::Error;
use virt::sys;

use crate::xml::meta::{Meta, NS, PREFIX};

/// The domain's virtdeck metadata; empty when it has none. A malformed element (written by hand) reads as empty rather than failing the
/// row.
pub fn read(dom: &Domain) -> Result<Meta, Error> {
    // One round trip: the live definition of a running domain, else the persistent one
    // (`write` keeps both the same).
    match dom.metadata(
        sys::VIR_DOMAIN_METADATA_ELEMENT as i32,
        Some(NS),
        sys::VIR_DOMAIN_AFFECT_CURRENT,
    ) {
        Ok(xml) => Ok(Meta::parse(&xml).unwrap_or_default()),
        Err(e) if e.code().to_raw() == sys::VIR_ERR_NO_DOMAIN_METADATA => Ok(Meta::default()),
        Err(e) => Err(e),
    }
}

/// Writes (or, when empty, removes) the element in the persistent definition, and in the
/// live one too while the domain runs.
pub fn write(dom: &Domain, m: &Meta) -> Result<(), Error> {
    let mut flags = 0;
    if dom.is_persistent()? {
        flags |= sys::VIR_DOMAIN_AFFECT_CONFIG;
    }
    if dom.is_active()? {
        flags |= sys::VIR_DOMAIN_AFFECT_LIVE;
    }
    let xml = (!m.is_empty()).then(|| m.to_xml());
    dom.set_metadata(
        sys::VIR_DOMAIN_METADATA_ELEMENT as i32,
        xml.as_deref(),
        Some(PREFIX),
        Some(NS),
        flags,
    )
}

/// Why the domain must not be started: it is a template.
pub fn start_refusal(conn: &Connect, uuid: &str) -> Option<String> {
    let dom = conn.lookup_domain_by_uuid_string(uuid).ok()?;
    let m = read(&dom).ok()?;
    m.template.then(|| {
        format!(
            "{} is a template: it is not started; clone it (C) for a new VM, or unmark it (T)",
            dom.name().unwrap_or_default()
        )
    })
}
