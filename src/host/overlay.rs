//! The demo fleet's overlay (see `crate::demo`): what the libvirt test driver cannot load
//! from its XML, read from the file and applied on each fresh connection. Here because
//! applying it is libvirt I/O.

use quick_xml::events::Event;
use quick_xml::Reader;
use virt::connect::Connect;

/// What the test driver cannot load from XML (autostart flags, inactive pools and networks),
/// kept in each file's `<vd:overlay>` and applied after connecting.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overlay {
    pub autostart_domains: Vec<String>,
    pub autostart_networks: Vec<String>,
    pub autostart_pools: Vec<String>,
    pub inactive_networks: Vec<String>,
    pub inactive_pools: Vec<String>,
}

impl Overlay {
    pub fn parse(xml: &str) -> Overlay {
        let mut out = Overlay::default();
        let mut reader = Reader::from_str(xml);
        loop {
            match reader.read_event() {
                Ok(Event::Empty(e)) | Ok(Event::Start(e)) => {
                    let tag = e.name();
                    let kind = match tag.as_ref() {
                        b"vd:autostart" => true,
                        b"vd:inactive" => false,
                        _ => continue,
                    };
                    for attr in e.attributes().flatten() {
                        let Ok(value) = attr.unescape_value() else {
                            continue;
                        };
                        let value = value.into_owned();
                        let list = match (kind, attr.key.as_ref()) {
                            (true, b"domain") => &mut out.autostart_domains,
                            (true, b"network") => &mut out.autostart_networks,
                            (true, b"pool") => &mut out.autostart_pools,
                            (false, b"network") => &mut out.inactive_networks,
                            (false, b"pool") => &mut out.inactive_pools,
                            _ => continue,
                        };
                        list.push(value);
                    }
                }
                Ok(Event::Eof) | Err(_) => break,
                _ => {}
            }
        }
        out
    }

    /// Applies the overlay on a fresh test-driver connection.
    pub fn apply(&self, conn: &Connect) -> Result<(), String> {
        let err = |what: &str, name: &str, e: virt::error::Error| {
            format!("demo overlay: {what} {name}: {}", e.message())
        };
        for n in &self.autostart_domains {
            let d = conn
                .lookup_domain_by_name(n)
                .map_err(|e| err("domain", n, e))?;
            d.set_autostart(true).map_err(|e| err("domain", n, e))?;
        }
        for n in &self.autostart_networks {
            let net = conn
                .lookup_network_by_name(n)
                .map_err(|e| err("network", n, e))?;
            net.set_autostart(true).map_err(|e| err("network", n, e))?;
        }
        for n in &self.autostart_pools {
            let p = conn
                .lookup_storage_pool_by_name(n)
                .map_err(|e| err("pool", n, e))?;
            p.set_autostart(true).map_err(|e| err("pool", n, e))?;
        }
        for n in &self.inactive_networks {
            let net = conn
                .lookup_network_by_name(n)
                .map_err(|e| err("network", n, e))?;
            if net.is_active().unwrap_or(false) {
                net.destroy().map_err(|e| err("network", n, e))?;
            }
        }
        for n in &self.inactive_pools {
            let p = conn
                .lookup_storage_pool_by_name(n)
                .map_err(|e| err("pool", n, e))?;
            if p.is_active().unwrap_or(false) {
                p.destroy().map_err(|e| err("pool", n, e))?;
            }
        }
        Ok(())
    }
}
