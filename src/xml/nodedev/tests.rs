use super::*;

/// `virsh -c qemu:///system nodedev-dumpxml pci_0000_00_03_0` on the lab machine (a nested
/// KVM guest: no IOMMU, so no `<iommuGroup>`).
const LAB_NIC: &str = "<device>
  <name>pci_0000_00_03_0</name>
  <path>/sys/devices/pci0000:00/0000:00:03.0</path>
  <parent>computer</parent>
  <driver>
    <name>virtio-pci</name>
  </driver>
  <capability type='pci'>
    <class>0x020000</class>
    <domain>0</domain>
    <bus>0</bus>
    <slot>3</slot>
    <function>0</function>
    <product id='0x1041'>Virtio 1.0 network device</product>
    <vendor id='0x1af4'>Red Hat, Inc.</vendor>
  </capability>
</device>
";

/// `nodedev-dumpxml net_eth0_02_fc_00_00_00_01` on the lab machine: eth0 on that NIC.
const LAB_ETH0: &str = "<device>
  <name>net_eth0_02_fc_00_00_00_01</name>
  <path>/sys/devices/pci0000:00/0000:00:03.0/virtio2/net/eth0</path>
  <parent>pci_0000_00_03_0</parent>
  <capability type='net'>
    <interface>eth0</interface>
    <address>02:fc:00:00:00:01</address>
    <link speed='4294967295' state='up'/>
    <feature name='rx'/>
    <capability type='80203'/>
  </capability>
</device>
";

/// The host bridge: no driver, a product ID without a name.
const LAB_HOST_BRIDGE: &str = "<device>
  <name>pci_0000_00_00_0</name>
  <path>/sys/devices/pci0000:00/0000:00:00.0</path>
  <parent>computer</parent>
  <capability type='pci'>
    <class>0x060000</class>
    <domain>0</domain>
    <bus>0</bus>
    <slot>0</slot>
    <function>0</function>
    <product id='0x0d57'/>
    <vendor id='0x8086'>Intel Corporation</vendor>
    <pci-express/>
  </capability>
</device>
";

/// A bare-metal host's GPU function sharing its IOMMU group with its audio function (the
/// shape of libvirt's docs/formatnode and tests/nodedevschemadata).
pub(crate) const GPU: &str = "<device>
  <name>pci_0000_01_00_0</name>
  <path>/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0</path>
  <parent>pci_0000_00_01_0</parent>
  <driver>
    <name>nouveau</name>
  </driver>
  <capability type='pci'>
    <class>0x030000</class>
    <domain>0</domain>
    <bus>1</bus>
    <slot>0</slot>
    <function>0</function>
    <product id='0x1c82'>GP107 [GeForce GTX 1050 Ti]</product>
    <vendor id='0x10de'>NVIDIA Corporation</vendor>
    <iommuGroup number='12'>
      <address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
      <address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/>
    </iommuGroup>
    <pci-express>
      <link validity='cap' port='0' speed='8' width='16'/>
    </pci-express>
  </capability>
</device>
";

const USB: &str = "<device>
  <name>usb_1_5</name>
  <path>/sys/devices/pci0000:00/0000:00:14.0/usb1/1-5</path>
  <devnode type='dev'>/dev/bus/usb/001/003</devnode>
  <parent>usb_usb1</parent>
  <driver>
    <name>usb</name>
  </driver>
  <capability type='usb_device'>
    <bus>1</bus>
    <device>3</device>
    <product id='0xc52b'>Unifying Receiver</product>
    <vendor id='0x046d'>Logitech, Inc.</vendor>
  </capability>
</device>
";

const MDEV_OLD: &str = "<device>
  <name>mdev_4b20d080_1b54_4048_85b3_a6a62d165c01</name>
  <parent>pci_0000_00_02_0</parent>
  <driver><name>vfio_mdev</name></driver>
  <capability type='mdev'>
    <type id='i915-GVTg_V5_4'/>
    <iommuGroup number='9'/>
  </capability>
</device>";

#[test]
fn lab_pci_devices_parse() {
    let nic = parse(LAB_NIC).unwrap();
    assert_eq!(nic.name, "pci_0000_00_03_0");
    assert_eq!(nic.parent.as_deref(), Some("computer"));
    assert_eq!(nic.driver.as_deref(), Some("virtio-pci"));
    let DevKind::Pci(p) = &nic.kind else {
        panic!("{nic:?}")
    };
    assert_eq!(p.addr.to_string(), "0000:00:03.0");
    assert_eq!(p.class, Some(0x020000));
    assert_eq!(class_name(0x020000), "network");
    assert_eq!(p.vendor.id, 0x1af4);
    assert_eq!(p.vendor.name.as_deref(), Some("Red Hat, Inc."));
    assert_eq!(p.product.name.as_deref(), Some("Virtio 1.0 network device"));
    assert_eq!((p.iommu_group, p.group_members.len()), (None, 0));
    let br = parse(LAB_HOST_BRIDGE).unwrap();
    assert_eq!(br.driver, None);
    let DevKind::Pci(p) = &br.kind else { panic!() };
    assert_eq!((p.product.id, p.product.name.clone()), (0x0d57, None));
    let eth = parse(LAB_ETH0).unwrap();
    assert_eq!(eth.parent.as_deref(), Some("pci_0000_00_03_0"));
    assert_eq!(
        eth.kind,
        DevKind::Net {
            iface: "eth0".into(),
            up: true
        }
    );
}

#[test]
fn iommu_group_usb_and_mdev() {
    let gpu = parse(GPU).unwrap();
    let DevKind::Pci(p) = &gpu.kind else { panic!() };
    assert_eq!(p.iommu_group, Some(12));
    let members: Vec<String> = p.group_members.iter().map(|a| a.to_string()).collect();
    assert_eq!(members, ["0000:01:00.0", "0000:01:00.1"]);
    let usb = parse(USB).unwrap();
    let DevKind::Usb(u) = &usb.kind else { panic!() };
    assert_eq!(
        (u.bus, u.device, u.vendor.id, u.product.id),
        (1, 3, 0x046d, 0xc52b)
    );
    assert!(!u.is_root_hub());
    let m = parse(MDEV_OLD).unwrap();
    let DevKind::Mdev(m) = &m.kind else { panic!() };
    assert_eq!(m.type_id, "i915-GVTg_V5_4");
    assert_eq!(
        m.uuid.as_deref(),
        Some("4b20d080-1b54-4048-85b3-a6a62d165c01")
    );
    assert_eq!(m.iommu_group, Some(9));
    // libvirt 7.3+ says the UUID itself.
    let new = MDEV_OLD.replace(
        "<iommuGroup",
        "<uuid>11111111-2222-3333-4444-555555555555</uuid><iommuGroup",
    );
    let DevKind::Mdev(m) = parse(&new).unwrap().kind else {
        panic!()
    };
    assert_eq!(
        m.uuid.as_deref(),
        Some("11111111-2222-3333-4444-555555555555")
    );
    assert_eq!(uuid_from_name("mdev_xyz"), None);
}

#[test]
fn hostile_names_arrive_as_text_and_bad_documents_are_errors() {
    let evil = USB
        .replace("Logitech, Inc.", "&lt;b&gt;&amp;'\"\u{202e}evil\u{1b}[2J")
        .replace("<name>usb</name>", "<name>drv&#x7;</name>");
    let d = parse(&evil).unwrap();
    let DevKind::Usb(u) = &d.kind else { panic!() };
    assert_eq!(
        u.vendor.name.as_deref(),
        Some("<b>&'\"\u{202e}evil\u{1b}[2J")
    );
    assert_eq!(d.driver.as_deref(), Some("drv\u{7}"));
    // Sanitised for the screen: no control or bidi character survives.
    let shown = crate::sanitize::text(u.vendor.name.as_deref().unwrap());
    assert!(
        !shown.contains('\u{202e}') && !shown.contains('\u{1b}'),
        "{shown}"
    );
    for bad in [
        "",
        "<device>",
        "<domain><name>x</name></domain>",
        "<device><capability type='pci'/></device>",
        "<device><name>p</name><capability type='pci'><domain>0</domain></capability></device>",
        "<device><name>p</name></device>",
    ] {
        assert!(parse(bad).is_err(), "{bad:?}");
    }
    // Out-of-range IDs are 0, not a panic.
    let big = USB.replace("0xc52b", "0x1ffff");
    let DevKind::Usb(u) = parse(&big).unwrap().kind else {
        panic!()
    };
    assert_eq!(u.product.id, 0);
    let vda = "<device><name>block_vda</name><parent>pci_0000_00_02_0</parent>\
               <capability type='storage'><block>/dev/vda</block></capability></device>";
    assert_eq!(
        parse(vda).unwrap().kind,
        DevKind::Storage {
            block: "/dev/vda".into()
        }
    );
    let other = parse("<device><name>computer</name><capability type='system'/></device>").unwrap();
    assert_eq!(other.kind, DevKind::Other("system".into()));
}
