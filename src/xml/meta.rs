//! virtdeck's own facts about a VM, kept in the domain's `<metadata>` under virtdeck's XML
//! namespace so they travel with the VM (migration, backups, other tools leave them alone).
//! libvirt stores one element per namespace: it is read, changed and written back whole
//! (`virDomainGetMetadata` / `virDomainSetMetadata` with `VIR_DOMAIN_METADATA_ELEMENT`).

use super::tree;
use crate::xml::domain::XmlError;

/// virtdeck's metadata namespace.
pub const NS: &str = "https://virtdeck.dev/xmlns/virtdeck/1";
/// The prefix libvirt writes the element with.
pub const PREFIX: &str = "vd";

/// What virtdeck keeps in a VM's metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// A template: listed apart, never started; new VMs are cloned from it.
    pub template: bool,
}

impl Meta {
    /// Nothing to keep: the element can be removed.
    pub fn is_empty(&self) -> bool {
        !self.template
    }

    /// The element as `virDomainSetMetadata` takes it (libvirt adds the namespace).
    pub fn to_xml(&self) -> String {
        let mut inner = String::new();
        if self.template {
            inner.push_str("<template/>");
        }
        format!("<virtdeck>{inner}</virtdeck>")
    }

    /// The element as `virDomainGetMetadata` returns it. Unknown children (a newer
    /// virtdeck's) are ignored.
    pub fn parse(xml: &str) -> Result<Meta, XmlError> {
        let root = tree::parse(xml, "virtdeck metadata")?;
        let local = |n: &str| n.rsplit(':').next().unwrap_or(n).to_string();
        if local(&root.name) != "virtdeck" {
            return Err(XmlError(format!(
                "virtdeck metadata: <{}> is not <virtdeck>",
                root.name
            )));
        }
        Ok(Meta {
            template: root.children.iter().any(|c| local(&c.name) == "template"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_what_libvirt_returns() {
        let m = Meta { template: true };
        assert_eq!(m.to_xml(), "<virtdeck><template/></virtdeck>");
        assert_eq!(Meta::parse(&m.to_xml()).unwrap(), m);
        // libvirt hands the element back with its namespace declared on it.
        let back = format!("<vd:virtdeck xmlns:vd=\"{NS}\">\n  <vd:template/>\n</vd:virtdeck>");
        assert!(Meta::parse(&back).unwrap().template);
        let plain = format!("<virtdeck xmlns=\"{NS}\"><future a='1'/></virtdeck>");
        assert_eq!(Meta::parse(&plain).unwrap(), Meta::default());
        assert!(Meta::default().is_empty());
        assert!(Meta::parse("<other/>").is_err());
        assert!(Meta::parse("<virtdeck><template>").is_err());
    }
}
