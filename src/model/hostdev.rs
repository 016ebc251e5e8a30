//! A host's devices a guest can be given (`HostCommand::NodeDevices`), and what to warn
//! about before giving one away: a PCI function that shares its IOMMU group (the whole group
//! goes to vfio together), one without a group (no IOMMU: no passthrough), and one the host
//! itself uses.
//!
//! "Used by the host" is what the node devices say, nothing more: a network interface below
//! the device (with its link state and, for the machine virtdeck runs on, its addresses) or a
//! block device below it. A disk controller whose disks are not in the list, or a GPU driving
//! the console, is not detected; the bound driver is always shown so the user can judge.

use std::collections::HashMap;

use crate::sanitize;
use crate::xml::hostdev::HostdevSpec;
use crate::xml::nodedev::{class_name, DevKind, IdName, NodeDevice, PciAddr};

/// The host's node devices as the worker read them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostDevices {
    /// PCI, USB and mediated devices, and the network interfaces and block devices that show
    /// which of them the host uses.
    pub devices: Vec<NodeDevice>,
    /// Addresses per interface name, for the machine virtdeck runs on (`None` for a remote
    /// host: libvirt does not report them).
    pub addrs: Option<HashMap<String, Vec<String>>>,
}

/// Lookups over one `HostDevices` (`HostDevices::index`).
pub struct Index<'a> {
    by_addr: HashMap<PciAddr, &'a NodeDevice>,
    /// Device name → what the host uses below it.
    uses: HashMap<&'a str, Vec<String>>,
}

/// How a USB device is named in the guest's definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsbBy {
    /// Vendor and product ID: the device wherever it is plugged.
    Id,
    /// Bus and device number: this one of identical devices (changes on replug).
    Address,
}

/// What a node device is, for the picker's line (raw host text: `line` escapes it).
fn id_text(i: &IdName) -> String {
    i.name.clone().unwrap_or_else(|| format!("{:04x}", i.id))
}

impl HostDevices {
    /// The devices a guest can be given: PCI functions (not bridges) by address, USB
    /// devices (not root hubs), mediated devices.
    pub fn offered(&self) -> Vec<&NodeDevice> {
        let rank = |d: &NodeDevice| match &d.kind {
            DevKind::Pci(_) => 0,
            DevKind::Usb(_) => 1,
            _ => 2,
        };
        let mut out: Vec<&NodeDevice> = self
            .devices
            .iter()
            .filter(|d| match &d.kind {
                // Host and PCI bridges are the host's plumbing, never a guest's device.
                DevKind::Pci(p) => !p
                    .class
                    .is_some_and(|c| c >> 8 == 0x0600 || c >> 8 == 0x0604),
                DevKind::Usb(u) => !u.is_root_hub(),
                DevKind::Mdev(_) => true,
                _ => false,
            })
            .collect();
        // PCI by address (the names spell it), USB by bus and device.
        out.sort_by_key(|d| {
            let usb = match &d.kind {
                DevKind::Usb(u) => (u.bus, u.device),
                _ => (0, 0),
            };
            (rank(d), usb, d.name.clone())
        });
        out
    }

    /// The spec a device becomes (USB named as `usb`).
    pub fn spec(&self, d: &NodeDevice, usb: UsbBy) -> Option<HostdevSpec> {
        match &d.kind {
            DevKind::Pci(p) => Some(HostdevSpec::Pci(p.addr)),
            DevKind::Usb(u) => Some(match usb {
                UsbBy::Id => HostdevSpec::UsbId {
                    vendor: u.vendor.id,
                    product: u.product.id,
                },
                UsbBy::Address => HostdevSpec::UsbAddr {
                    bus: u.bus,
                    device: u.device,
                },
            }),
            DevKind::Mdev(m) => m.uuid.clone().map(|uuid| HostdevSpec::Mdev { uuid }),
            _ => None,
        }
    }

    /// One line for the picker, escaped: "PCI 0000:00:03.0 network · Red Hat, Inc. Virtio
    /// 1.0 network device · virtio-pci · group 12".
    pub fn line(&self, d: &NodeDevice) -> String {
        let driver = d.driver.as_deref().unwrap_or("no driver");
        let s = match &d.kind {
            DevKind::Pci(p) => format!(
                "PCI {} {} · {} {} · {driver}{}",
                p.addr,
                p.class.map(class_name).unwrap_or("other"),
                id_text(&p.vendor),
                id_text(&p.product),
                p.iommu_group
                    .map(|g| format!(" · group {g}"))
                    .unwrap_or_default()
            ),
            DevKind::Usb(u) => format!(
                "USB {:04x}:{:04x} bus {} dev {} · {} {}",
                u.vendor.id,
                u.product.id,
                u.bus,
                u.device,
                id_text(&u.vendor),
                id_text(&u.product)
            ),
            DevKind::Mdev(m) => format!(
                "mdev {} · {} on {}",
                m.uuid.as_deref().unwrap_or("?"),
                m.type_id,
                d.parent.as_deref().unwrap_or("?")
            ),
            _ => d.name.clone(),
        };
        sanitize::text(&s).into_owned()
    }

    /// A device's name for the Hardware tab, from what a VM's `<hostdev>` names: "Red Hat,
    /// Inc. Virtio 1.0 network device" (escaped), if the host has it.
    pub fn describe(&self, spec: &HostdevSpec) -> Option<String> {
        let found = self.devices.iter().find_map(|d| match (&d.kind, spec) {
            (DevKind::Pci(p), HostdevSpec::Pci(a)) if p.addr == *a => {
                Some((p.vendor.clone(), p.product.clone()))
            }
            (DevKind::Usb(u), HostdevSpec::UsbId { vendor, product })
                if u.vendor.id == *vendor && u.product.id == *product =>
            {
                Some((u.vendor.clone(), u.product.clone()))
            }
            (DevKind::Usb(u), HostdevSpec::UsbAddr { bus, device })
                if u.bus == *bus && u.device == *device =>
            {
                Some((u.vendor.clone(), u.product.clone()))
            }
            _ => None,
        })?;
        let s = format!("{} {}", id_text(&found.0), id_text(&found.1));
        Some(sanitize::text(&s).into_owned())
    }

    /// Looks every device up once: the pane asks for the warnings of hundreds of devices
    /// each frame, and a device's host use is found by walking up from the interfaces and
    /// disks rather than down from each device.
    pub fn index(&self) -> Index<'_> {
        let by_name: HashMap<&str, &NodeDevice> =
            self.devices.iter().map(|d| (d.name.as_str(), d)).collect();
        let by_addr = self
            .devices
            .iter()
            .filter_map(|d| match &d.kind {
                DevKind::Pci(p) => Some((p.addr, d)),
                _ => None,
            })
            .collect();
        let mut uses: HashMap<&str, Vec<String>> = HashMap::new();
        for child in &self.devices {
            let what = match &child.kind {
                DevKind::Net { iface, up } => {
                    let addrs = self
                        .addrs
                        .as_ref()
                        .and_then(|a| a.get(iface))
                        .filter(|a| !a.is_empty());
                    let state = if *up { "up" } else { "down" };
                    match addrs {
                        Some(a) => format!("interface {iface} ({state}, {})", a.join(", ")),
                        None => format!("interface {iface} ({state})"),
                    }
                }
                DevKind::Storage { block } => format!("disk {block}"),
                _ => continue,
            };
            // Every ancestor carries it. Bounded, and each once: the host could send a cycle.
            let mut seen: Vec<&str> = vec![child.name.as_str()];
            let mut cur = child.parent.as_deref();
            while let Some(p) = cur.filter(|p| seen.len() < 16 && !seen.contains(p)) {
                seen.push(p);
                uses.entry(p).or_default().push(what.clone());
                cur = by_name.get(p).and_then(|x| x.parent.as_deref());
            }
        }
        Index { by_addr, uses }
    }

    /// What the host uses below `d`: "interface eth0 (up, 10.0.0.2/24)", "disk /dev/vda".
    pub fn host_use(&self, d: &NodeDevice) -> Vec<String> {
        self.index()
            .uses
            .remove(d.name.as_str())
            .unwrap_or_default()
    }

    /// The warnings for giving `d` to a guest (escaped; empty: nothing known against it).
    pub fn warnings(&self, d: &NodeDevice) -> Vec<String> {
        self.warnings_in(&self.index(), d)
    }

    /// `warnings` with the lookups of `index` (one index for many devices).
    pub fn warnings_in(&self, index: &Index<'_>, d: &NodeDevice) -> Vec<String> {
        let mut out = Vec::new();
        if let DevKind::Pci(p) = &d.kind {
            match p.iommu_group {
                None => out.push(
                    "no IOMMU group: the host has no IOMMU enabled (intel_iommu=on or \
                     amd_iommu=on, VT-d/AMD-Vi in the firmware), so libvirt cannot pass it \
                     through"
                        .to_string(),
                ),
                Some(g) => {
                    let others: Vec<String> = p
                        .group_members
                        .iter()
                        .filter(|a| **a != p.addr)
                        .map(|a| match index.by_addr.get(a) {
                            Some(o) => {
                                let DevKind::Pci(op) = &o.kind else {
                                    return a.to_string();
                                };
                                format!(
                                    "{a} ({} {}, {})",
                                    id_text(&op.vendor),
                                    id_text(&op.product),
                                    o.driver.as_deref().unwrap_or("no driver")
                                )
                            }
                            None => a.to_string(),
                        })
                        .collect();
                    if !others.is_empty() {
                        out.push(format!(
                            "shares IOMMU group {g} with {}: the whole group must leave the \
                             host (each function bound to vfio-pci or unbound) before the \
                             guest starts",
                            others.join("; ")
                        ));
                    }
                }
            }
        }
        let used = index.uses.get(d.name.as_str()).cloned().unwrap_or_default();
        if !used.is_empty() {
            let driver = match d.driver.as_deref() {
                Some(drv) => format!("driver {drv}"),
                None => "it".into(),
            };
            out.push(format!(
                "in use by the host: {driver} carries {}; giving it to the guest takes it \
                 from the host",
                used.join(", ")
            ));
        }
        out.into_iter()
            .map(|w| sanitize::text(&w).into_owned())
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests;
