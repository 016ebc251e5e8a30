//! `<hostdev>` elements: the attach form's host device (a PCI function, a USB device by
//! vendor/product or by bus/device, a mediated device) and the Hardware tab's label of one a
//! VM has. Built with serde, so nothing the host said reaches the XML unescaped; the
//! numbers are formatted from integers.

use serde::Serialize;

use crate::xml::domain::{write, XmlError};
use crate::xml::nodedev::PciAddr;
use crate::xml::tree::Node;

/// A host device to give a guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostdevSpec {
    /// A PCI function, `managed='yes'`: libvirt unbinds it from the host driver and binds
    /// it to vfio-pci when the guest starts, and gives it back when the guest stops.
    Pci(PciAddr),
    /// A USB device by vendor and product: follows the device to any port.
    UsbId { vendor: u16, product: u16 },
    /// A USB device by bus and device number: that one of several identical devices, until
    /// it is replugged (the number changes).
    UsbAddr { bus: u32, device: u32 },
    /// A mediated device (a vGPU slice) by its UUID.
    Mdev { uuid: String },
}

impl HostdevSpec {
    /// "PCI 0000:01:00.0", "USB 046d:c52b", "USB bus 1 device 3", "mdev <uuid>".
    pub fn label(&self) -> String {
        match self {
            HostdevSpec::Pci(a) => format!("PCI {a}"),
            HostdevSpec::UsbId { vendor, product } => format!("USB {vendor:04x}:{product:04x}"),
            HostdevSpec::UsbAddr { bus, device } => format!("USB bus {bus} device {device}"),
            HostdevSpec::Mdev { uuid } => format!("mdev {uuid}"),
        }
    }

    /// Whether libvirt's QEMU driver can add it to a running guest: all of them can
    /// (vfio-pci and usb-host are hotpluggable) when the host allows it.
    pub fn hotpluggable(&self) -> bool {
        true
    }

    pub fn to_xml(&self) -> Result<String, XmlError> {
        let hex = |v: u32, w: usize| format!("0x{v:0w$x}");
        let (kind, model, source) = match self {
            HostdevSpec::Pci(a) => (
                "pci",
                None,
                Source {
                    address: Some(Address {
                        domain: Some(hex(a.domain, 4)),
                        bus: Some(hex(a.bus, 2)),
                        slot: Some(hex(a.slot, 2)),
                        function: Some(hex(a.function, 1)),
                        ..Address::default()
                    }),
                    ..Source::default()
                },
            ),
            HostdevSpec::UsbId { vendor, product } => (
                "usb",
                None,
                Source {
                    vendor: Some(Id {
                        id: hex(u32::from(*vendor), 4),
                    }),
                    product: Some(Id {
                        id: hex(u32::from(*product), 4),
                    }),
                    ..Source::default()
                },
            ),
            HostdevSpec::UsbAddr { bus, device } => (
                "usb",
                None,
                Source {
                    address: Some(Address {
                        bus: Some(bus.to_string()),
                        device: Some(device.to_string()),
                        ..Address::default()
                    }),
                    ..Source::default()
                },
            ),
            HostdevSpec::Mdev { uuid } => {
                if !valid_uuid(uuid) {
                    return Err(XmlError(format!("not a UUID: {uuid:?}")));
                }
                (
                    "mdev",
                    Some("vfio-pci"),
                    Source {
                        address: Some(Address {
                            uuid: Some(uuid.clone()),
                            ..Address::default()
                        }),
                        ..Source::default()
                    },
                )
            }
        };
        write(
            "hostdev",
            &HostdevXml {
                mode: "subsystem",
                kind,
                // mdevs are not bound and unbound by libvirt: `managed` does not apply.
                managed: (kind != "mdev").then_some("yes"),
                model,
                source,
            },
        )
    }
}

fn valid_uuid(s: &str) -> bool {
    let lens: Vec<usize> = s.split('-').map(str::len).collect();
    lens == [8, 4, 4, 4, 12] && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

fn num(s: &str) -> Option<u32> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// What a VM's `<hostdev>` (or `<hostdev>`-like `<interface type='hostdev'>`) names, for the
/// Hardware tab; `None` when it is not a subsystem device this module knows.
pub fn spec_of(d: &Node) -> Option<HostdevSpec> {
    let src = d.child("source")?;
    match d.attr("type")? {
        "pci" => {
            let a = src.child("address")?;
            Some(HostdevSpec::Pci(PciAddr {
                domain: a.attr("domain").and_then(num).unwrap_or(0),
                bus: num(a.attr("bus")?)?,
                slot: num(a.attr("slot")?)?,
                function: a.attr("function").and_then(num).unwrap_or(0),
            }))
        }
        "usb" => match (
            src.child("vendor"),
            src.child("product"),
            src.child("address"),
        ) {
            (Some(v), Some(p), _) => Some(HostdevSpec::UsbId {
                vendor: u16::try_from(num(v.attr("id")?)?).ok()?,
                product: u16::try_from(num(p.attr("id")?)?).ok()?,
            }),
            (_, _, Some(a)) => Some(HostdevSpec::UsbAddr {
                bus: num(a.attr("bus")?)?,
                device: num(a.attr("device")?)?,
            }),
            _ => None,
        },
        "mdev" => Some(HostdevSpec::Mdev {
            uuid: src.child_attr("address", "uuid")?.to_string(),
        }),
        _ => None,
    }
}

#[derive(Serialize)]
struct HostdevXml {
    #[serde(rename = "@mode")]
    mode: &'static str,
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(rename = "@managed", skip_serializing_if = "Option::is_none")]
    managed: Option<&'static str>,
    #[serde(rename = "@model", skip_serializing_if = "Option::is_none")]
    model: Option<&'static str>,
    source: Source,
}

#[derive(Serialize, Default)]
struct Source {
    #[serde(skip_serializing_if = "Option::is_none")]
    vendor: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<Address>,
}

#[derive(Serialize)]
struct Id {
    #[serde(rename = "@id")]
    id: String,
}

#[derive(Serialize, Default)]
struct Address {
    #[serde(rename = "@uuid", skip_serializing_if = "Option::is_none")]
    uuid: Option<String>,
    #[serde(rename = "@domain", skip_serializing_if = "Option::is_none")]
    domain: Option<String>,
    #[serde(rename = "@bus", skip_serializing_if = "Option::is_none")]
    bus: Option<String>,
    #[serde(rename = "@slot", skip_serializing_if = "Option::is_none")]
    slot: Option<String>,
    #[serde(rename = "@function", skip_serializing_if = "Option::is_none")]
    function: Option<String>,
    #[serde(rename = "@device", skip_serializing_if = "Option::is_none")]
    device: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_builds_libvirts_shape_and_reads_back() {
        let pci = HostdevSpec::Pci(PciAddr {
            domain: 0,
            bus: 1,
            slot: 0,
            function: 1,
        });
        assert_eq!(
            pci.to_xml().unwrap(),
            "<hostdev mode=\"subsystem\" type=\"pci\" managed=\"yes\">\n  <source>\n    \
             <address domain=\"0x0000\" bus=\"0x01\" slot=\"0x00\" function=\"0x1\"/>\n  \
             </source>\n</hostdev>\n"
        );
        let usb = HostdevSpec::UsbId {
            vendor: 0x046d,
            product: 0xc52b,
        };
        assert_eq!(
            usb.to_xml().unwrap(),
            "<hostdev mode=\"subsystem\" type=\"usb\" managed=\"yes\">\n  <source>\n    \
             <vendor id=\"0x046d\"/>\n    <product id=\"0xc52b\"/>\n  </source>\n</hostdev>\n"
        );
        let addr = HostdevSpec::UsbAddr { bus: 1, device: 3 };
        assert!(addr
            .to_xml()
            .unwrap()
            .contains("<address bus=\"1\" device=\"3\"/>"));
        let mdev = HostdevSpec::Mdev {
            uuid: "4b20d080-1b54-4048-85b3-a6a62d165c01".into(),
        };
        let m = mdev.to_xml().unwrap();
        assert!(
            m.starts_with("<hostdev mode=\"subsystem\" type=\"mdev\" model=\"vfio-pci\">"),
            "{m}"
        );
        for spec in [pci, usb, addr, mdev] {
            let xml = spec.to_xml().unwrap();
            let node = crate::xml::tree::parse(&xml, "hostdev").unwrap();
            assert_eq!(spec_of(&node), Some(spec.clone()), "{xml}");
        }
        assert_eq!(
            HostdevSpec::UsbId {
                vendor: 0x46d,
                product: 0xc52b
            }
            .label(),
            "USB 046d:c52b"
        );
    }

    #[test]
    fn a_hostile_uuid_is_refused_and_foreign_hostdevs_are_none() {
        let bad = HostdevSpec::Mdev {
            uuid: "x'/><evil/>".into(),
        };
        assert!(bad.to_xml().is_err());
        for xml in [
            "<hostdev mode='capabilities' type='storage'><source><block>/dev/sdf1</block></source></hostdev>",
            "<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/></source></hostdev>",
            "<hostdev mode='subsystem' type='pci'/>",
        ] {
            let node = crate::xml::tree::parse(xml, "hostdev").unwrap();
            assert_eq!(spec_of(&node), None, "{xml}");
        }
    }
}
