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
