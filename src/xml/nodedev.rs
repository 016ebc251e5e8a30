//! A host's node devices (`virNodeDeviceGetXMLDesc`): what the attach form's host-device
//! picker lists (PCI functions, USB devices, mediated devices) and the network interfaces
//! that tell which PCI functions the host itself uses. Read with the element tree: libvirt
//! adds capabilities over the releases and only a few elements matter here. Every string is
//! the host's text (names, vendor and product names from its ID database): the views escape it.

use std::fmt;

use crate::xml::domain::XmlError;
use crate::xml::tree::{self, Node};

/// One node device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeDevice {
    /// libvirt's name (`pci_0000_00_1f_2`, `usb_1_5`, `mdev_<uuid>`, `net_eth0_…`).
    pub name: String,
    pub parent: Option<String>,
    /// The host driver bound to it (`e1000e`, `vfio-pci`, `usb`), if any.
    pub driver: Option<String>,
    pub kind: DevKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DevKind {
    Pci(Pci),
    Usb(Usb),
    Mdev(Mdev),
    /// A network interface (a child of the PCI or USB device that carries it).
    Net {
        iface: String,
        /// `<link state='up'>`.
        up: bool,
    },
    /// A block device (a child of the controller it sits on).
    Storage {
        block: String,
    },
    /// Any other capability (`system`, `scsi_host`, `usb` interfaces…), by its type.
    Other(String),
}

/// A vendor or product: its ID and the name the host's ID database gives it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdName {
    pub id: u16,
    pub name: Option<String>,
}

/// A PCI function's address (`0000:01:00.0`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PciAddr {
    pub domain: u32,
    pub bus: u32,
    pub slot: u32,
    pub function: u32,
}

impl fmt::Display for PciAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.domain, self.bus, self.slot, self.function
        )
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pci {
    pub addr: PciAddr,
    /// The 24-bit class code (`0x020000`: Ethernet controller).
    pub class: Option<u32>,
    pub vendor: IdName,
    pub product: IdName,
    /// The IOMMU group, when the host has an IOMMU (no group: no passthrough).
    pub iommu_group: Option<u32>,
    /// Every function in that group, this one included.
    pub group_members: Vec<PciAddr>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usb {
    pub bus: u32,
    pub device: u32,
    pub vendor: IdName,
    pub product: IdName,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mdev {
    /// The mdev type (`nvidia-11`, `i915-GVTg_V5_4`).
    pub type_id: String,
    /// The UUID a `<hostdev type='mdev'>` names (libvirt 7.3+ says it; older ones only in the
    /// device name, which the parser reads it from).
    pub uuid: Option<String>,
    pub iommu_group: Option<u32>,
}

impl Usb {
    /// A USB root hub (the Linux Foundation's vendor ID): the host's own, never passed through.
    pub fn is_root_hub(&self) -> bool {
        self.vendor.id == 0x1d6b
    }
}

/// `0x1af4` or `26`: libvirt writes hex with a prefix and decimal without.
fn number(s: &str) -> Option<u32> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

fn id_name(cap: &Node, name: &str) -> IdName {
    let Some(n) = cap.child(name) else {
        return IdName::default();
    };
    IdName {
        id: n
            .attr("id")
            .and_then(number)
            .and_then(|v| u16::try_from(v).ok())
            .unwrap_or(0),
        name: Some(n.text.trim().to_string()).filter(|t| !t.is_empty()),
    }
}

fn child_number(n: &Node, name: &str) -> Option<u32> {
    n.child_text(name).and_then(number)
}

fn pci_addr_attrs(a: &Node) -> Option<PciAddr> {
    Some(PciAddr {
        domain: number(a.attr("domain")?)?,
        bus: number(a.attr("bus")?)?,
        slot: number(a.attr("slot")?)?,
        function: number(a.attr("function")?)?,
    })
}

fn pci(cap: &Node) -> Result<Pci, String> {
    let field = |name: &str| child_number(cap, name).ok_or(format!("PCI device without <{name}>"));
    let group = cap.child("iommuGroup");
    Ok(Pci {
        addr: PciAddr {
            domain: field("domain")?,
            bus: field("bus")?,
            slot: field("slot")?,
            function: field("function")?,
        },
        class: child_number(cap, "class"),
        vendor: id_name(cap, "vendor"),
        product: id_name(cap, "product"),
        iommu_group: group.and_then(|g| g.attr("number")).and_then(number),
        group_members: group
            .map(|g| {
                g.children_named("address")
                    .filter_map(pci_addr_attrs)
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// The UUID in an mdev's name (`mdev_4b20d080_1b54_…`), for libvirt before 7.3.
fn uuid_from_name(name: &str) -> Option<String> {
    let hex = name.strip_prefix("mdev_")?;
    let parts: Vec<&str> = hex.split('_').collect();
    let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
    (lens == [8, 4, 4, 4, 12] && hex.chars().all(|c| c == '_' || c.is_ascii_hexdigit()))
        .then(|| parts.join("-"))
}

/// Parses one node device's XML.
pub fn parse(xml: &str) -> Result<NodeDevice, XmlError> {
    let root = tree::parse(xml, "node device")?;
    if root.name != "device" {
        return Err(XmlError(format!(
            "node device XML: <{}> instead of <device>",
            root.name
        )));
    }
    let name = root
        .child_text("name")
        .ok_or_else(|| XmlError("node device XML without <name>".into()))?
        .to_string();
    let cap = root
        .child("capability")
        .ok_or_else(|| XmlError(format!("node device {name} without <capability>")))?;
    let kind = match cap.attr("type").unwrap_or_default() {
        "pci" => DevKind::Pci(pci(cap).map_err(|e| XmlError(format!("{name}: {e}")))?),
        "usb_device" => DevKind::Usb(Usb {
            bus: child_number(cap, "bus").unwrap_or(0),
            device: child_number(cap, "device").unwrap_or(0),
            vendor: id_name(cap, "vendor"),
            product: id_name(cap, "product"),
        }),
        "mdev" => DevKind::Mdev(Mdev {
            type_id: cap.child_attr("type", "id").unwrap_or_default().to_string(),
            uuid: cap
                .child_text("uuid")
                .map(str::to_string)
                .or_else(|| uuid_from_name(&name)),
            iommu_group: cap.child_attr("iommuGroup", "number").and_then(number),
        }),
        "net" => DevKind::Net {
            iface: cap.child_text("interface").unwrap_or_default().to_string(),
            up: cap.child_attr("link", "state") == Some("up"),
        },
        "storage" => DevKind::Storage {
            block: cap.child_text("block").unwrap_or_default().to_string(),
        },
        other => DevKind::Other(other.to_string()),
    };
    Ok(NodeDevice {
        parent: root.child_text("parent").map(str::to_string),
        driver: root
            .path(&["driver", "name"])
            .map(|n| n.text.trim().to_string())
            .filter(|d| !d.is_empty()),
        name,
        kind,
    })
}

/// "Ethernet controller" for the common PCI classes (the picker's first column).
pub fn class_name(class: u32) -> &'static str {
    match class >> 8 {
        0x0100..=0x01ff => "storage",
        0x0200..=0x02ff => "network",
        0x0300..=0x03ff => "display",
        0x0400..=0x04ff => "multimedia",
        0x0600..=0x06ff => "bridge",
        0x0c03 => "USB controller",
        0x0c00..=0x0cff => "serial bus",
        _ => "other",
    }
}

#[cfg(test)]
mod tests;
