use super::*;
use crate::xml::nodedev::parse;

fn pci(name: &str, addr: (u32, u32), class: &str, driver: Option<&str>, group: &str) -> String {
    let drv = driver
        .map(|d| format!("<driver><name>{d}</name></driver>"))
        .unwrap_or_default();
    format!(
        "<device><name>{name}</name><parent>computer</parent>{drv}<capability type='pci'>\
         <class>{class}</class><domain>0</domain><bus>{}</bus><slot>0</slot><function>{}</function>\
         <product id='0x1c82'>GP107</product><vendor id='0x10de'>NVIDIA Corporation</vendor>\
         {group}</capability></device>",
        addr.0, addr.1
    )
}

/// A GPU and its audio function in one IOMMU group, a NIC carrying the host's eth0, a
/// bridge, a USB receiver and a root hub, and a disk controller with /dev/vda.
pub(crate) fn sample() -> HostDevices {
    let group = "<iommuGroup number='12'><address domain='0x0000' bus='0x01' slot='0x00' \
                 function='0x0'/><address domain='0x0000' bus='0x01' slot='0x00' \
                 function='0x1'/></iommuGroup>";
    let xmls = [
        pci("pci_0000_00_00_0", (0, 0), "0x060000", None, ""),
        pci("pci_0000_01_00_0", (1, 0), "0x030000", Some("nouveau"), group),
        pci("pci_0000_01_00_1", (1, 1), "0x040300", Some("snd_hda_intel"), group),
        pci(
            "pci_0000_02_00_0",
            (2, 0),
            "0x020000",
            Some("e1000e"),
            "<iommuGroup number='13'><address domain='0x0000' bus='0x02' slot='0x00' function='0x0'/></iommuGroup>",
        ),
        pci("pci_0000_03_00_0", (3, 0), "0x010802", Some("nvme"), ""),
        "<device><name>net_eth0_x</name><parent>pci_0000_02_00_0</parent><capability type='net'>\
         <interface>eth0</interface><link state='up'/></capability></device>"
            .into(),
        "<device><name>nvme_0</name><parent>pci_0000_03_00_0</parent><capability type='other'/></device>".into(),
        "<device><name>block_vda</name><parent>nvme_0</parent><capability type='storage'>\
         <block>/dev/vda</block></capability></device>"
            .into(),
        "<device><name>usb_usb1</name><parent>computer</parent><capability type='usb_device'><bus>1</bus>\
         <device>1</device><product id='0x0002'>2.0 root hub</product><vendor id='0x1d6b'>Linux Foundation</vendor>\
         </capability></device>"
            .into(),
        "<device><name>usb_1_5</name><parent>usb_usb1</parent><driver><name>usb</name></driver>\
         <capability type='usb_device'><bus>1</bus><device>3</device><product id='0xc52b'>Unifying Receiver</product>\
         <vendor id='0x046d'>Logitech, Inc.</vendor></capability></device>"
            .into(),
    ];
    HostDevices {
        devices: xmls.iter().map(|x| parse(x).unwrap()).collect(),
        addrs: Some(HashMap::from([(
            "eth0".into(),
            vec!["192.0.2.5/24".into()],
        )])),
    }
}

fn dev<'a>(h: &'a HostDevices, name: &str) -> &'a NodeDevice {
    h.devices.iter().find(|d| d.name == name).unwrap()
}

#[test]
fn offered_leaves_out_bridges_root_hubs_and_helpers() {
    let h = sample();
    let names: Vec<&str> = h.offered().iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "pci_0000_01_00_0",
            "pci_0000_01_00_1",
            "pci_0000_02_00_0",
            "pci_0000_03_00_0",
            "usb_1_5"
        ]
    );
    assert_eq!(
        h.line(dev(&h, "pci_0000_02_00_0")),
        "PCI 0000:02:00.0 network · NVIDIA Corporation GP107 · e1000e · group 13"
    );
    assert_eq!(
        h.line(dev(&h, "usb_1_5")),
        "USB 046d:c52b bus 1 dev 3 · Logitech, Inc. Unifying Receiver"
    );
    let usb = dev(&h, "usb_1_5");
    assert_eq!(
        h.spec(usb, UsbBy::Address),
        Some(HostdevSpec::UsbAddr { bus: 1, device: 3 })
    );
    let spec = h.spec(usb, UsbBy::Id).unwrap();
    assert_eq!(
        h.describe(&spec).as_deref(),
        Some("Logitech, Inc. Unifying Receiver")
    );
}

#[test]
fn warnings_name_the_group_and_what_the_host_uses() {
    let h = sample();
    let gpu = h.warnings(dev(&h, "pci_0000_01_00_0"));
    assert_eq!(gpu.len(), 1, "{gpu:?}");
    assert!(
        gpu[0]
            .contains("IOMMU group 12 with 0000:01:00.1 (NVIDIA Corporation GP107, snd_hda_intel)"),
        "{gpu:?}"
    );
    let nic = h.warnings(dev(&h, "pci_0000_02_00_0"));
    assert_eq!(
        nic,
        [
            "in use by the host: driver e1000e carries interface eth0 (up, 192.0.2.5/24); giving it to \
          the guest takes it from the host"
        ]
    );
    let nvme = h.warnings(dev(&h, "pci_0000_03_00_0"));
    assert!(nvme[0].starts_with("no IOMMU group"), "{nvme:?}");
    assert!(
        nvme[1].contains("driver nvme carries disk /dev/vda"),
        "{nvme:?}"
    );
    assert!(h.warnings(dev(&h, "usb_1_5")).is_empty());
    // A remote host: no addresses, the link state only.
    let mut remote = sample();
    remote.addrs = None;
    assert!(remote.warnings(dev(&remote, "pci_0000_02_00_0"))[0].contains("eth0 (up)"));
}

#[test]
fn hostile_host_text_is_escaped_and_parent_cycles_end() {
    let mut h = sample();
    h.devices.push(
        parse(
            "<device><name>net_x</name><parent>pci_0000_01_00_1</parent><capability type='net'>\
             <interface>ev\u{202e}il&#x1b;[2J</interface><link state='down'/></capability></device>",
        )
        .unwrap(),
    );
    // A cycle: a → b → a.
    for (n, p) in [("loop_a", "loop_b"), ("loop_b", "loop_a")] {
        h.devices.push(
            parse(&format!(
                "<device><name>{n}</name><parent>{p}</parent><capability type='net'>\
                 <interface>x</interface></capability></device>"
            ))
            .unwrap(),
        );
    }
    let w = h.warnings(dev(&h, "pci_0000_01_00_1"));
    assert!(
        w.iter()
            .all(|w| !w.contains('\u{202e}') && !w.contains('\u{1b}')),
        "{w:?}"
    );
    assert!(w.iter().any(|w| w.contains("down")), "{w:?}");
    assert_eq!(h.host_use(dev(&h, "loop_a")), ["interface x (down)"]);
}

/// The pane computes every device's warnings each frame: a big host (1,000 functions, each
/// with an interface below it) takes one index, not a walk per pair.
#[test]
fn warnings_for_a_big_host_are_one_pass() {
    let mut h = HostDevices::default();
    for i in 0..1000u32 {
        let (bus, f) = (i / 8, i % 8);
        let name = format!("pci_0000_{bus:02x}_00_{f}");
        h.devices.push(NodeDevice {
            name: name.clone(),
            parent: Some("computer".into()),
            driver: Some("ixgbe".into()),
            kind: DevKind::Pci(crate::xml::nodedev::Pci {
                addr: PciAddr {
                    domain: 0,
                    bus,
                    slot: 0,
                    function: f,
                },
                iommu_group: Some(bus),
                group_members: (0..8)
                    .map(|function| PciAddr {
                        domain: 0,
                        bus,
                        slot: 0,
                        function,
                    })
                    .collect(),
                ..Default::default()
            }),
        });
        h.devices.push(NodeDevice {
            name: format!("net_{i}"),
            parent: Some(name),
            driver: None,
            kind: DevKind::Net {
                iface: format!("eth{i}"),
                up: true,
            },
        });
    }
    let t = std::time::Instant::now();
    let index = h.index();
    let all: Vec<Vec<String>> = h
        .offered()
        .iter()
        .map(|d| h.warnings_in(&index, d))
        .collect();
    let took = t.elapsed();
    println!("warnings of 1,000 functions (2,000 devices) in {took:?}");
    assert_eq!(all.len(), 1000);
    assert!(all.iter().all(|w| w.len() == 2), "{:?}", all[0]);
    assert!(took < std::time::Duration::from_secs(1), "{took:?}");
}
