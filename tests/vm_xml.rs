// The VM detail screen's XML (device builders, definition edits, clone rewrite, snapshot
// documents) checked against libvirt's own RelaxNG schemas with `virt-xml-validate`
// (libvirt-clients + libxml2-utils). The tool is required, as in tests/xml_validate.rs.

use std::collections::HashMap;
use std::io::Write;
use std::process::Command;

use virtdeck::xml::device::{Bus, Cache, DiskSource, DiskSpec, Io, NicSource, NicSpec};
use virtdeck::xml::edit::{self, BootDevice, BootOrder, CloneDisk};
use virtdeck::xml::hardware;
use virtdeck::xml::snapshot::SnapshotSpec;

const HOSTILE: &str = "a<b>&'\"café-池";

fn validate(xml: &str, kind: &str) -> Result<(), String> {
    let mut file = tempfile::Builder::new()
        .prefix("virtdeck-vmxml-")
        .suffix(".xml")
        .tempfile()
        .expect("temp file");
    file.write_all(xml.as_bytes()).expect("write temp file");
    let out = Command::new("virt-xml-validate")
        .arg(file.path())
        .arg(kind)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run virt-xml-validate ({e}): apt-get install libvirt-clients libxml2-utils"
            )
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

fn assert_valid(xml: &str, kind: &str) {
    if let Err(e) = validate(xml, kind) {
        panic!("libvirt's {kind} schema rejects:\n{xml}\n{e}");
    }
}

/// The tiny test guest with a hostile name, `devices` added to `<devices>`.
fn domain(devices: &str) -> String {
    include_str!("guest/tiny.xml")
        .replace("@NAME@", &quick_xml::escape::escape(HOSTILE))
        .replace("@DISK@", "/var/lib/libvirt/images/tiny.img")
        .replace(
            "<memballoon model='none'/>",
            &format!("{devices}\n    <memballoon model='none'/>"),
        )
}

fn devices() -> String {
    let mut fast = DiskSpec::disk(
        DiskSource::File(format!("/srv/{HOSTILE}.qcow2")),
        Bus::Virtio,
        "vda",
        Some("qcow2"),
    );
    fast.cache = Some(Cache::None);
    fast.io = Some(Io::Native);
    let mut ro = DiskSpec::disk(DiskSource::Block("/dev/sdz".into()), Bus::Scsi, "sda", None);
    ro.readonly = true;
    ro.cache = Some(Cache::Unsafe);
    ro.io = Some(Io::Threads);
    let vol = DiskSpec::disk(
        DiskSource::Volume {
            pool: HOSTILE.into(),
            volume: "v.img".into(),
        },
        Bus::Sata,
        "sdb",
        Some("raw"),
    );
    let specs = [
        fast,
        ro,
        vol,
        DiskSpec::cdrom(None, Bus::Sata, "sdc"),
        DiskSpec::cdrom(Some("/iso/debian 12.iso"), Bus::Ide, "hdc"),
    ];
    let mut out = String::new();
    for s in &specs {
        assert!(s.validate().is_empty(), "{s:?}: {:?}", s.validate());
        out.push_str(&s.to_xml().unwrap());
    }
    for n in [
        NicSpec {
            source: NicSource::Network(HOSTILE.into()),
            model: Some("virtio".into()),
            mac: Some("52:54:00:aa:bb:cc".into()),
        },
        NicSpec {
            source: NicSource::Bridge("br0".into()),
            model: None,
            mac: None,
        },
    ] {
        assert!(n.validate().is_empty());
        out.push_str(&n.to_xml().unwrap());
    }
    out
}

#[test]
fn device_builders_make_a_valid_domain() {
    assert_valid(&domain(&devices()), "domain");
}

#[test]
fn every_edit_keeps_the_domain_valid() {
    let base = domain(&devices());
    let edits: Vec<(&str, String)> = vec![
        ("title", edit::set_title(&base, Some(HOSTILE)).unwrap()),
        (
            "description",
            edit::set_description(&base, Some("two\nlines & <more>")).unwrap(),
        ),
        ("vcpus", edit::set_vcpus(&base, 2, 4).unwrap()),
        ("memory", edit::set_memory(&base, 262144, 131072).unwrap()),
        (
            "boot list",
            edit::set_boot_order(
                &base,
                &BootOrder::Os(vec!["cdrom".into(), "hd".into(), "network".into()]),
            )
            .unwrap(),
        ),
        (
            "boot per device",
            edit::set_boot_order(
                &base,
                &BootOrder::Devices(vec![
                    BootDevice::Disk("hdc".into()),
                    BootDevice::Nic("52:54:00:AA:BB:CC".into()),
                    BootDevice::Disk("vda".into()),
                ]),
            )
            .unwrap(),
        ),
        (
            "cdrom insert",
            edit::set_cdrom_source(&base, "sdc", Some("/iso/x&y.iso")).unwrap(),
        ),
        (
            "cdrom eject",
            edit::set_cdrom_source(&base, "hdc", None).unwrap(),
        ),
    ];
    for (what, xml) in &edits {
        if let Err(e) = validate(xml, "domain") {
            panic!("{what}: libvirt's schema rejects the edit:\n{xml}\n{e}");
        }
        assert!(
            !edit::diff(&base, xml).is_empty(),
            "{what} changed something"
        );
    }
    let per_device = hardware::parse(&edits[5].1).unwrap();
    assert!(per_device.os.boot.is_empty());
    let order = |t: &str| {
        per_device
            .disks
            .iter()
            .find(|d| d.target == t)
            .and_then(|d| d.boot_order)
    };
    assert_eq!(
        (order("hdc"), order("vda"), order("hda")),
        (Some(1), Some(3), None)
    );
    assert_eq!(per_device.nics[0].boot_order, Some(2));
}

#[test]
fn clone_xml_is_valid() {
    let base = domain(&devices());
    let mut map = HashMap::new();
    map.insert(
        "hda".to_string(),
        CloneDisk {
            source: DiskSource::File(format!("/pool/{HOSTILE}-clone.qcow2")),
            format: Some("qcow2".into()),
        },
    );
    map.insert(
        "vda".to_string(),
        CloneDisk {
            source: DiskSource::Volume {
                pool: "p".into(),
                volume: "c-1.qcow2".into(),
            },
            format: None,
        },
    );
    let xml = edit::clone_xml(&base, &format!("{HOSTILE} clone"), &map, None).unwrap();
    assert_valid(&xml, "domain");
    let hw = hardware::parse(&xml).unwrap();
    assert_eq!(hw.name, format!("{HOSTILE} clone"));
    assert!(hw
        .nics
        .iter()
        .all(|n| n.mac.as_deref() != Some("52:54:00:aa:bb:cc")));
}

#[test]
fn snapshot_documents_are_valid() {
    let hw = hardware::parse(&domain(&devices())).unwrap();
    for disk_only in [false, true] {
        let spec = SnapshotSpec::for_domain(&hw, HOSTILE, Some("why <&>"), disk_only);
        assert!(spec.validate().is_empty(), "{:?}", spec.validate());
        assert_valid(&spec.to_xml().unwrap(), "domainsnapshot");
    }
}
