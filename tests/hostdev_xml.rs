// The attach form's `<hostdev>` elements (xml::hostdev) inside a domain, checked against
// libvirt's RelaxNG schema with `virt-xml-validate` (required, as in tests/xml_validate.rs).

use std::io::Write;
use std::process::Command;

use virtdeck::xml::edit::add_device;
use virtdeck::xml::hostdev::HostdevSpec;
use virtdeck::xml::nodedev::PciAddr;

const DOMAIN: &str = "<domain type='kvm'>\n  <name>v</name>\n  <memory unit='KiB'>65536</memory>\n  \
<currentMemory unit='KiB'>65536</currentMemory>\n  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n  \
</os>\n  <devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n  </devices>\n</domain>\n";

fn validate(xml: &str) -> Result<(), String> {
    let mut file = tempfile::Builder::new()
        .prefix("virtdeck-hostdev-")
        .suffix(".xml")
        .tempfile()
        .expect("temp file");
    file.write_all(xml.as_bytes()).expect("write temp file");
    let out = Command::new("virt-xml-validate")
        .arg(file.path())
        .arg("domain")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run virt-xml-validate ({e}): install libvirt-clients and libxml2-utils")
        });
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[test]
fn every_hostdev_kind_validates_in_a_domain() {
    let specs = [
        HostdevSpec::Pci(PciAddr {
            domain: 0,
            bus: 0x3b,
            slot: 0x1f,
            function: 7,
        }),
        HostdevSpec::Pci(PciAddr {
            domain: 0x10000,
            bus: 0xff,
            slot: 0,
            function: 0,
        }),
        HostdevSpec::UsbId {
            vendor: 0x1cf1,
            product: 0x0030,
        },
        HostdevSpec::UsbAddr {
            bus: 3,
            device: 127,
        },
        HostdevSpec::Mdev {
            uuid: "4b20d080-1b54-4048-85b3-a6a62d165c01".into(),
        },
    ];
    for spec in specs {
        let xml = spec.to_xml().unwrap();
        let dom = add_device(DOMAIN, &xml).expect("domain");
        if let Err(e) = validate(&dom) {
            panic!(
                "libvirt's domain schema rejects {}:\n{dom}\n{e}",
                spec.label()
            );
        }
    }
    // The validator does refuse a broken one.
    let bad = add_device(
        DOMAIN,
        "<hostdev mode='subsystem' type='pci'><source><address bus='zz'/></source></hostdev>",
    )
    .unwrap();
    assert!(validate(&bad).is_err());
}
