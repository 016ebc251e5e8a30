// Every XML document the wizards can build is checked against libvirt's own RelaxNG schemas with
// `virt-xml-validate` (libvirt-clients, which runs `xmllint` from libxml2-utils). The tool is
// required: a machine without it fails here rather than silently skipping the check.
// (Plain comments, not `//!`: a scratch harness `include!`s this file.)

use std::io::Write;
use std::process::Command;

use virtdeck::xml::pool::{PoolDef, PoolHost, SecretRef};
use virtdeck::xml::secret::SecretDef;
use virtdeck::xml::volume::VolumeDef;

const HOSTILE: &str = "a<b>&'\"café-池";

/// Runs `virt-xml-validate` on `xml` as schema `kind`; Err holds the validator's output.
fn validate(xml: &str, kind: &str) -> Result<(), String> {
    let mut file = tempfile::Builder::new()
        .prefix("virtdeck-xml-")
        .suffix(".xml")
        .tempfile()
        .expect("temp file");
    file.write_all(xml.as_bytes()).expect("write temp file");
    let out = match Command::new("virt-xml-validate")
        .arg(file.path())
        .arg(kind)
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!(
            "cannot run virt-xml-validate ({e}): install libvirt-clients and libxml2-utils \
             (apt-get install libvirt-clients libxml2-utils)"
        ),
    };
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

fn pools() -> Vec<PoolDef> {
    vec![
        PoolDef::dir("images", "/var/lib/libvirt/images"),
        PoolDef::dir(HOSTILE, "/srv/x<&>'\"/池"),
        PoolDef::fs("data", "/dev/sdc1", "ext4", "/mnt/data"),
        PoolDef::fs("data-auto", "/dev/disk/by-label/vm", "auto", "/mnt/vm"),
        PoolDef::netfs("nfs", "nas.example.com", "/export/vms", "nfs", "/mnt/nfs"),
        PoolDef::netfs("gfs", "10.0.0.5", "gv0", "glusterfs", "/mnt/gfs"),
        PoolDef::logical("vg-new", "vg_virt", &["/dev/sdb", "/dev/sdc"]),
        PoolDef::logical("vg-existing", "vg0", &[]),
        PoolDef::iscsi(
            "san",
            "192.168.1.10",
            Some(3260),
            "iqn.2013-06.com.example:iscsi-pool",
            Some("iqn.2013-06.com.example:host1"),
            Some(("chapuser", "libvirtiscsi")),
        ),
        PoolDef::iscsi(
            "san-plain",
            "san.example.com",
            None,
            "iqn.2004-04.com.qnap:ts-1",
            None,
            None,
        ),
        PoolDef::rbd(
            "ceph",
            vec![
                PoolHost::new("mon1.example.com", Some(6789)),
                PoolHost::new("10.0.0.2", Some(3300)),
                PoolHost::new("fd00::3", None),
            ],
            "libvirt-pool",
            Some((
                "libvirt",
                SecretRef::Uuid("2ec115d7-3a88-3ceb-bc12-0ac909a6fd87".into()),
            )),
        ),
        PoolDef::rbd(
            "ceph-usage",
            vec![PoolHost::new("mon", None)],
            "rbd",
            Some(("admin", SecretRef::Usage("client.admin".into()))),
        ),
        PoolDef::gluster("gl", "gluster.example.com", "gv0", "/"),
        PoolDef::disk("sdb", "/dev/sdb", "gpt"),
        PoolDef::disk("sdc", "/dev/sdc", "dos"),
    ]
}

#[test]
fn every_pool_builder_validates() {
    for p in pools() {
        let problems: Vec<_> = virtdeck::xml::pool::validate(&p)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        // The hostile name is there for the escaping; virtdeck's own pool name rules (the
        // wizard's hint: letters, digits, - _ .) refuse it, libvirt's schema does not.
        let expected = if p.name == HOSTILE {
            vec![virtdeck::xml::pool::field::NAME]
        } else {
            vec![]
        };
        assert_eq!(problems, expected, "{p:?}");
        assert_valid(&p.to_xml().expect("pool XML"), "storagepool");
    }
}

#[test]
fn volumes_validate() {
    let g = 1u64 << 30;
    let backing = |p: &str, f: &str| Some((p.to_string(), f.to_string()));
    let vols = [
        VolumeDef::new("disk.img", 10 * g, "raw", true, None),
        VolumeDef::new("sparse.img", 10 * g, "raw", false, None),
        VolumeDef::new("disk.qcow2", 10 * g, "qcow2", false, None),
        VolumeDef::new("full.qcow2", g, "qcow2", true, None),
        VolumeDef::new(
            "overlay.qcow2",
            20 * g,
            "qcow2",
            false,
            backing("/var/lib/libvirt/images/base.qcow2", "qcow2"),
        ),
        // Capacity left to the backing file: no <capacity> element.
        VolumeDef::new(
            "same-size.qcow2",
            0,
            "qcow2",
            false,
            backing("/var/lib/libvirt/images/base.img", "raw"),
        ),
        VolumeDef::new(
            &format!("{HOSTILE}.qcow2"),
            g,
            "qcow2",
            false,
            backing("/x/<&>'\"/池.img", "raw"),
        ),
    ];
    for v in &vols {
        assert_valid(&v.to_xml().expect("volume XML"), "storagevol");
    }
}

#[test]
fn secrets_validate() {
    for s in [
        SecretDef::ceph("client.libvirt secret", "Ceph key for libvirt"),
        SecretDef::iscsi("libvirtiscsi", ""),
        SecretDef::ceph(HOSTILE, HOSTILE),
    ] {
        assert_valid(&s.to_xml().expect("secret XML"), "secret");
    }
}

/// Proves the validator really judges the documents: a pool without the target a dir pool
/// needs, and a volume of an unknown format, are refused.
#[test]
fn invalid_documents_are_rejected() {
    let mut p = PoolDef::dir("images", "/var/lib/libvirt/images");
    p.target = None;
    let err = validate(&p.to_xml().expect("pool XML"), "storagepool")
        .expect_err("a dir pool without <target> must not validate");
    assert!(err.contains("fails to validate"), "{err}");
    let v = VolumeDef::new("x", 1 << 20, "not-a-format", false, None);
    assert!(validate(&v.to_xml().expect("volume XML"), "storagevol").is_err());
    assert!(validate("<secret><usage type='ceph'/></secret>", "secret").is_err());
}

// ---- the attach form's other devices (xml::device_extra), inside a domain ----

use virtdeck::xml::device_extra::{
    ExtraDevice, FsShare, INPUT_BUSES, INPUT_KINDS, SOUND_MODELS_Q35, VIDEO_MODELS,
    WATCHDOG_ACTIONS, WATCHDOG_MODELS,
};
use virtdeck::xml::edit::{add_device, share_memory};
use virtdeck::xml::tree::{self, Node};

/// The smallest domain libvirt's schema takes, to carry one device.
const DOMAIN: &str = "<domain type='kvm'>\n  <name>v</name>\n  <memory unit='KiB'>65536</memory>\n  \
<currentMemory unit='KiB'>65536</currentMemory>\n  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n  \
</os>\n  <devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n  </devices>\n</domain>\n";

fn share(source: &str, tag: &str, readonly: bool) -> ExtraDevice {
    ExtraDevice::Virtiofs(FsShare {
        source: source.into(),
        tag: tag.into(),
        readonly,
    })
}

/// Every choice the attach form offers.
fn every_device() -> Vec<ExtraDevice> {
    let mut v = vec![
        ExtraDevice::Rng,
        ExtraDevice::Serial,
        ExtraDevice::Console,
        ExtraDevice::UsbRedir,
        ExtraDevice::Tpm { model: "tpm-crb" },
        ExtraDevice::Tpm { model: "tpm-tis" },
        share("/srv/share", "share", false),
        share("/srv/x<&>'\"/池", "t&<>", true),
    ];
    v.extend(
        SOUND_MODELS_Q35
            .iter()
            .map(|&model| ExtraDevice::Sound { model }),
    );
    v.extend(
        VIDEO_MODELS
            .iter()
            .map(|&model| ExtraDevice::Video { model }),
    );
    for &model in WATCHDOG_MODELS {
        for &action in WATCHDOG_ACTIONS {
            v.push(ExtraDevice::Watchdog { model, action });
        }
    }
    for &kind in INPUT_KINDS {
        for &bus in INPUT_BUSES {
            v.push(ExtraDevice::Input { kind, bus });
        }
    }
    v
}

#[test]
fn every_other_device_validates_in_a_domain() {
    for dev in every_device() {
        let xml = dev.to_xml().expect("device XML");
        let base = if matches!(dev, ExtraDevice::Virtiofs(_)) {
            share_memory(DOMAIN).expect("shared memory")
        } else {
            DOMAIN.to_string()
        };
        assert_valid(&add_device(&base, &xml).expect("domain"), "domain");
    }
    // And the validator refuses a device libvirt does not know.
    let bad = add_device(DOMAIN, "<sound model='sb16-not'/>").expect("domain");
    assert!(validate(&bad, "domain").is_err());
}

/// `virt-xml --build-xml ARGS` (virt-install's device builder), on the test driver.
fn virt_xml(args: &[&str]) -> Option<String> {
    let out = Command::new("virt-xml")
        .args(["--connect", "test:///default", "--build-xml"])
        .args(args)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "virt-xml {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Every attribute, child element and text virt-xml writes, ours has the same (children
/// matched by name: the two order them differently). Ours may say more (libvirt defaults
/// written out, such as a share's accessmode).
fn same_where_theirs_speaks(ours: &Node, theirs: &Node, at: &str) {
    assert_eq!(ours.name, theirs.name, "{at}");
    for (k, v) in &theirs.attrs {
        assert_eq!(ours.attr(k), Some(v.as_str()), "{at}/@{k}");
    }
    assert_eq!(ours.text.trim(), theirs.text.trim(), "{at} text");
    for c in &theirs.children {
        let mine = ours
            .child(&c.name)
            .unwrap_or_else(|| panic!("{at}: no <{}>", c.name));
        same_where_theirs_speaks(mine, c, &format!("{at}/{}", c.name));
    }
}

#[test]
fn other_devices_match_virt_xml() {
    let cases: Vec<(ExtraDevice, Vec<&str>)> = vec![
        (ExtraDevice::Rng, vec!["--rng", "/dev/urandom"]),
        (
            ExtraDevice::Sound { model: "ich9" },
            vec!["--sound", "ich9"],
        ),
        (
            ExtraDevice::Sound { model: "ac97" },
            vec!["--sound", "ac97"],
        ),
        (
            ExtraDevice::Watchdog {
                model: "i6300esb",
                action: "poweroff",
            },
            vec!["--watchdog", "i6300esb,action=poweroff"],
        ),
        (
            ExtraDevice::Watchdog {
                model: "i6300esb",
                action: "none",
            },
            vec!["--watchdog", "i6300esb,action=none"],
        ),
        (
            ExtraDevice::Video { model: "virtio" },
            vec!["--video", "virtio"],
        ),
        (
            ExtraDevice::Video { model: "ramfb" },
            vec!["--video", "ramfb"],
        ),
        (
            ExtraDevice::Input {
                kind: "tablet",
                bus: "usb",
            },
            vec!["--input", "tablet,bus=usb"],
        ),
        (
            ExtraDevice::Input {
                kind: "keyboard",
                bus: "virtio",
            },
            vec!["--input", "keyboard,bus=virtio"],
        ),
        (ExtraDevice::Serial, vec!["--serial", "pty"]),
        (
            ExtraDevice::Console,
            vec!["--console", "pty,target_type=virtio"],
        ),
        (
            ExtraDevice::UsbRedir,
            vec!["--redirdev", "usb,type=spicevmc"],
        ),
        (
            ExtraDevice::Tpm { model: "tpm-tis" },
            vec!["--tpm", "emulator,model=tpm-tis,backend.version=2.0"],
        ),
        (
            share("/srv/x", "tag1", true),
            vec![
                "--filesystem",
                "source.dir=/srv/x,target.dir=tag1,driver.type=virtiofs,readonly=on",
            ],
        ),
    ];
    for (dev, args) in cases {
        let Some(theirs) = virt_xml(&args) else {
            println!("skipped: virt-xml (Debian virtinst) is not installed");
            return;
        };
        let ours = dev.to_xml().expect("device XML");
        let (o, t) = (
            tree::parse(&ours, "ours").expect("ours parses"),
            tree::parse(&theirs, "virt-xml").expect("virt-xml's parses"),
        );
        same_where_theirs_speaks(&o, &t, &o.name.clone());
    }
}
