// Fuzz targets for everything that reads XML a host sends (domains, networks, pools, volumes,
// secrets, snapshots, display settings, the demo overlay, osinfo files) and for the writers
// whose output must read back the same. Run for minutes by scripts/fuzz.sh; CI runs a few
// cases of each (PROPTEST_CASES, default 64).

mod fuzz_gen;

use std::collections::HashMap;

use fuzz_gen::{bounded, bytes_text, config, doc, element, hostile, mutate, mutations};
use proptest::prelude::*;

use virtdeck::xml::device::DiskSource;
use virtdeck::xml::edit::{self, BootDevice, BootOrder, CloneDisk};
use virtdeck::xml::pool::PoolDef;
use virtdeck::xml::secret::SecretDef;
use virtdeck::xml::snapshot::{SnapshotSpec, SnapshotTree};
use virtdeck::xml::volume::VolumeDef;
use virtdeck::xml::{domain, hardware, network, pool, secret, snapshot, tree, volume};

const DOMAIN: &str = "<?xml version='1.0'?>
<domain type='{A:kvm}' id='{A:3}'>
  <name>{T:web-01}</name>
  <uuid>{T:5c1d4b4e-0f0c-4a47-9d85-0b1e5a8b9f11}</uuid>
  <title>{T:A title}</title>
  <description>{T:line one}</description>
  <metadata>
    <libosinfo:libosinfo xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'>
      <libosinfo:os id='{A:http://debian.org/debian/12}'/>{E}
    </libosinfo:libosinfo>{E}
  </metadata>
  <memory unit='{A:KiB}'>{T:2097152}</memory>
  <currentMemory unit='{A:KiB}'>{T:1048576}</currentMemory>
  <maxMemory slots='{A:16}' unit='{A:GiB}'>{T:8}</maxMemory>
  <vcpu placement='{A:static}' current='{A:2}'>{T:4}</vcpu>
  <sysinfo type='smbios'><system><entry name='uuid'>{T:5c1d4b4e}</entry></system></sysinfo>
  <os firmware='{A:efi}'>
    <type arch='{A:x86_64}' machine='{A:pc-q35-8.2}'>{T:hvm}</type>
    <loader readonly='{A:yes}' type='{A:pflash}' secure='{A:no}'>{T:/usr/share/OVMF/OVMF_CODE.fd}</loader>
    <nvram template='{A:/usr/share/OVMF/OVMF_VARS.fd}'>{T:/var/lib/libvirt/qemu/nvram/web_VARS.fd}</nvram>
    <boot dev='{A:hd}'/>
    <boot dev='{A:cdrom}'/>
    <bootmenu enable='{A:yes}'/>{E}
  </os>
  <cpu mode='{A:host-model}' check='{A:partial}'>{E}</cpu>
  <devices>
    <emulator>{T:/usr/bin/qemu-system-x86_64}</emulator>
    <disk type='{A:file}' device='{A:disk}'>
      <driver name='{A:qemu}' type='{A:qcow2}' cache='{A:none}' io='{A:native}' discard='{A:unmap}'/>
      <source file='{A:/var/lib/libvirt/images/web.qcow2}' dir='{A:/srv}' dev='{A:/dev/sdb}' pool='{A:default}' volume='{A:vol}' protocol='{A:rbd}' name='{A:pool/image}'>
        <host name='{A:mon1}' port='{A:6789}' socket='{A:/run/s}'/>{E}
      </source>
      <backingStore type='file'><source file='{A:/base.qcow2}'/></backingStore>
      <target dev='{A:vda}' bus='{A:virtio}'/>
      <serial>{T:SER123}</serial>
      <boot order='{A:1}'/>
      <alias name='{A:virtio-disk0}'/>{E}
    </disk>
    <disk type='{A:block}' device='{A:cdrom}'>
      <source dev='{A:/dev/sr0}'/>
      <target dev='{A:sda}' bus='{A:sata}'/>
      <readonly/>
    </disk>
    <disk type='{A:volume}' device='{A:disk}'>
      <driver name='qemu' type='raw'/>
      <source pool='{A:default}' volume='{A:data.img}'/>
      <target dev='{A:vdb}'/>{E}
    </disk>
    <disk type='{A:network}' device='{A:disk}'>
      <source protocol='{A:rbd}' name='{A:rbdpool/image}'><host name='{A:mon1}'/></source>
      <target dev='{A:vdc}' bus='virtio'/>
    </disk>
    <disk type='file' device='{A:floppy}'><target dev='{A:fda}'/></disk>
    <interface type='{A:network}'>
      <mac address='{A:52:54:00:12:34:56}'/>
      <source network='{A:default}' bridge='{A:br0}' dev='{A:eth0}' mode='{A:bridge}'/>
      <target dev='{A:vnet0}'/>
      <model type='{A:virtio}'/>
      <link state='{A:up}'/>
      <boot order='{A:2}'/>
      <alias name='{A:net0}'/>{E}
    </interface>
    <graphics type='{A:vnc}' port='{A:5900}' tlsPort='{A:-1}' autoport='{A:yes}' listen='{A:127.0.0.1}' passwd='{A:secret}'>
      <listen type='{A:address}' address='{A:0.0.0.0}' socket='{A:/run/vnc.sock}'/>{E}
    </graphics>
    <graphics type='{A:spice}' socket='{A:/var/lib/libvirt/qemu/x.sock}'><listen type='{A:socket}' socket='{A:/s}'/></graphics>
    <serial type='{A:pty}' tty='{A:/dev/pts/3}'>
      <source path='{A:/dev/pts/3}'/>
      <target type='{A:isa-serial}' port='{A:0}' name='{A:n}'/>
    </serial>
    <controller type='{A:usb}' index='{A:0}' model='{A:qemu-xhci}'/>
    <memballoon model='{A:virtio}'/>{E}
  </devices>{E}
</domain>
";

const NETWORK: &str = "<network connections='{A:2}' ipv6='{A:yes}' trustGuestRxFilters='{A:no}'>
  <name>{T:default}</name>
  <uuid>{T:0b2c4d9e-1c33-4b8a-8f5e-3a2b1c0d9e8f}</uuid>
  <forward mode='{A:nat}' dev='{A:eth0}'>
    <nat><port start='{A:1024}' end='{A:65535}'/></nat>
    <interface dev='{A:eth1}'/>{E}
  </forward>
  <bridge name='{A:virbr0}' stp='{A:on}' delay='{A:0}'/>
  <mac address='{A:52:54:00:0a:0b:0c}'/>
  <domain name='{A:example.lan}' localOnly='{A:yes}'/>
  <dns enable='{A:yes}'><host ip='{A:192.168.122.2}'><hostname>{T:h}</hostname></host>{E}</dns>
  <ip address='{A:192.168.122.1}' netmask='{A:255.255.255.0}' prefix='{A:24}' family='{A:ipv4}'>
    <dhcp>
      <range start='{A:192.168.122.2}' end='{A:192.168.122.254}'/>
      <host mac='{A:52:54:00:aa:bb:cc}' name='{A:vm1}' ip='{A:192.168.122.10}'/>{E}
    </dhcp>{E}
  </ip>
  <ip family='{A:ipv6}' address='{A:fd00::1}' prefix='{A:64}'/>{E}
</network>
";

const POOL: &str = "<pool type='{A:netfs}'>
  <name>{T:nfs}</name>
  <uuid>{T:0b2c4d9e-1c33-4b8a-8f5e-3a2b1c0d9e8f}</uuid>
  <capacity unit='{A:bytes}'>{T:107374182400}</capacity>
  <allocation unit='{A:bytes}'>{T:1073741824}</allocation>
  <available unit='{A:KiB}'>{T:1024}</available>
  <source>
    <host name='{A:nas.example.com}' port='{A:2049}'/>
    <dir path='{A:/export/vms}'/>
    <device path='{A:/dev/sdb}'/>
    <name>{T:vg0}</name>
    <adapter type='{A:scsi_host}' name='{A:host0}'/>
    <format type='{A:nfs}'/>
    <initiator><iqn name='{A:iqn.2013-06.com.example:x}'/></initiator>
    <auth type='{A:chap}' username='{A:admin}'><secret usage='{A:lib}' uuid='{A:u}'/></auth>{E}
  </source>
  <target>
    <path>{T:/mnt/nfs}</path>
    <permissions><mode>{T:0755}</mode></permissions>{E}
  </target>{E}
</pool>
";

const SOURCES: &str = "<sources>
  <source>
    <host name='{A:nas}'/>
    <dir path='{A:/export}'/>
    <device path='{A:/dev/sdb1}'/>
    <name>{T:vg0}</name>
    <format type='{A:lvm2}'/>{E}
  </source>
  <source><device path='{A:/dev/sdc}'/>{E}</source>{E}
</sources>
";

const VOLUME: &str = "<volume type='{A:file}'>
  <name>{T:web.qcow2}</name>
  <key>{T:/var/lib/libvirt/images/web.qcow2}</key>
  <capacity unit='{A:bytes}'>{T:10737418240}</capacity>
  <allocation unit='{A:G}'>{T:2}</allocation>
  <physical unit='{A:bytes}'>{T:1}</physical>
  <target>
    <path>{T:/var/lib/libvirt/images/web.qcow2}</path>
    <format type='{A:qcow2}'/>{E}
  </target>
  <backingStore>
    <path>{T:/base.qcow2}</path>
    <format type='{A:raw}'/>
  </backingStore>{E}
</volume>
";

const SECRET: &str = "<secret ephemeral='{A:no}' private='{A:yes}'>
  <uuid>{T:0b2c4d9e-1c33-4b8a-8f5e-3a2b1c0d9e8f}</uuid>
  <description>{T:ceph key}</description>
  <usage type='{A:ceph}'>
    <name>{T:client.libvirt}</name>
    <target>{T:iqn}</target>
    <volume>{T:/v}</volume>{E}
  </usage>{E}
</secret>
";

const SNAPSHOT: &str = "<domainsnapshot>
  <name>{T:snap1}</name>
  <description>{T:before upgrade}</description>
  <state>{T:running}</state>
  <parent><name>{T:snap0}</name></parent>
  <creationTime>{T:1700000000}</creationTime>
  <memory snapshot='{A:internal}'/>
  <disks>
    <disk name='{A:vda}' snapshot='{A:internal}'/>
    <disk name='{A:hdc}' snapshot='{A:no}'>{E}</disk>
  </disks>
  <domain type='kvm'><name>{T:web}</name>{E}</domain>{E}
</domainsnapshot>
";

const OVERLAY: &str = "<node xmlns:vd='urn:virtdeck'>
  <vd:overlay>
    <vd:autostart domain='{A:web}' network='{A:default}' pool='{A:images}'/>
    <vd:inactive network='{A:lab}' pool='{A:iso}'/>{E}
  </vd:overlay>{E}
</node>
";

const OSINFO: &str = "<libosinfo version='0.0.1'>
  <os id='{A:http://debian.org/debian/12}'>
    <short-id>{T:debian12}</short-id>
    <name>{T:Debian 12}</name>
    <version>{T:12}</version>
    <vendor>{T:Debian Project}</vendor>
    <family>{T:linux}</family>
    <distro>{T:debian}</distro>
    <codename>{T:bookworm}</codename>
    <release-date>{T:2023-06-10}</release-date>
    <eol-date>{T:2028-06-10}</eol-date>
    <release-status>{T:released}</release-status>
    <derives-from id='{A:http://debian.org/debian/11}'/>
    <clones id='{A:http://debian.org/debian/12}'/>
    <devices>
      <device id='{A:http://pcisig.com/pci/1af4/1041}'/>
      <device id='{A:http://usb.org/usb/80ee/0021}' supported='{A:false}'/>{E}
    </devices>
    <resources arch='{A:all}' inherit='{A:true}'>
      <minimum><n-cpus>{T:1}</n-cpus><ram>{T:268435456}</ram><storage>{T:1073741824}</storage></minimum>
      <recommended><cpu>{T:1000000000}</cpu><ram>{T:1073741824}</ram><storage>{T:10737418240}</storage></recommended>{E}
    </resources>
    <media arch='{A:x86_64}' installer-script='{A:false}'>
      <url>{T:https://cdimage.debian.org/x.iso}</url>
      <iso><volume-id>{T:Debian 12.* amd64}</volume-id><system-id>{T:LINUX}</system-id></iso>
      <kernel>{T:install.amd/vmlinuz}</kernel>
      <initrd>{T:install.amd/initrd.gz}</initrd>{E}
    </media>
    <tree arch='{A:x86_64}'>
      <url>{T:https://deb.debian.org/debian/dists/bookworm/main/installer-amd64/}</url>
      <kernel>{T:current/images/netboot/debian-installer/amd64/linux}</kernel>
      <initrd>{T:initrd.gz}</initrd>
    </tree>
    <image arch='{A:x86_64}' format='{A:qcow2}' cloud-init='{A:true}'><url>{T:https://x}</url></image>{E}
  </os>
  <os id='{A:http://debian.org/debian/11}'>
    <short-id>{T:debian11}</short-id>
    <derives-from id='{A:http://debian.org/debian/12}'/>
    <resources arch='all' inherit='{A:true}'/>{E}
  </os>{E}
</libosinfo>
";

/// Every reader of a domain definition, on one document.
fn read_domain(xml: &str) {
    bounded("domain readers", || {
        let _ = tree::parse(xml, "domain");
        let _ = domain::disk_sources(xml);
        let _ = domain::name(xml);
        if let Ok(hw) = hardware::parse(xml) {
            let _ = hw.disk_targets();
            let _ = hw.boot_order();
            for d in &hw.disks {
                let _ = (d.source.label(), d.source.path(), d.is_clonable());
            }
            let spec = SnapshotSpec::for_domain(&hw, "s", None, false);
            let _ = (spec.validate(), spec.to_xml());
        }
        if let Ok(g) = virtdeck::display::parse(xml, true) {
            for g in &g {
                let _ = virtdeck::display::exposure(g);
                let _ = virtdeck::display::access(g, "qemu+ssh://root@kvm2:22/system", "kvm2");
                let _ = virtdeck::display::access(g, "qemu:///system", "h\u{202e}x");
            }
        }
        let _ = virtdeck::display::parse(xml, false);
        let _ = virtdeck::migrate::preflight::vm_facts(xml);
        let _ = virtdeck::demo::Overlay::parse(xml);
    });
}

/// Every edit on one document: none may panic, whatever the document holds.
fn edit_domain(xml: &str, value: &str) {
    bounded("domain edits", || {
        let _ = edit::set_title(xml, Some(value));
        let _ = edit::set_title(xml, None);
        let _ = edit::set_description(xml, Some(value));
        let _ = edit::set_description(xml, None);
        let _ = edit::set_vcpus(xml, 2, 4);
        let _ = edit::set_memory(xml, 2048, 1024);
        let _ = edit::set_boot_order(xml, &BootOrder::Os(vec!["hd".into(), "cdrom".into()]));
        let _ = edit::set_boot_order(
            xml,
            &BootOrder::Devices(vec![
                BootDevice::Disk("vda".into()),
                BootDevice::Nic("52:54:00:12:34:56".into()),
            ]),
        );
        let _ = edit::set_cdrom_source(xml, "sda", Some(value));
        let _ = edit::set_cdrom_source(xml, "fda", None);
        let mut disks = HashMap::new();
        disks.insert(
            "vda".to_string(),
            CloneDisk {
                source: DiskSource::File(value.to_string()),
                format: Some("qcow2".into()),
            },
        );
        let _ = edit::clone_xml(xml, value, &disks, Some(value));
        let _ = edit::clone_xml(xml, "c", &HashMap::new(), None);
        let _ = edit::diff(xml, value);
    });
}

/// What `xml::edit` writes for text: quick-xml's escaping of `<>&'"`.
fn quick_xml_escape(s: &str) -> String {
    fuzz_gen::escape(s)
}

/// A well-formed domain: template slots kept or filled with escaped hostile values.
fn good_domain() -> impl Strategy<Value = String> {
    use fuzz_gen::Fill;
    prop::collection::vec(
        prop_oneof![
            3 => Just(Fill::Keep),
            2 => hostile().prop_map(Fill::Escaped),
        ],
        1..16,
    )
    .prop_map(|f| fuzz_gen::render(DOMAIN, &f))
}

/// Values a user may type; XML 1.0 cannot carry most control characters at all.
fn user_text() -> impl Strategy<Value = String> {
    hostile().prop_map(|s| {
        s.chars()
            .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
            .collect()
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn domain_template(xml in doc(DOMAIN)) {
        read_domain(&xml);
    }

    #[test]
    fn domain_random_tree(body in element(5), ms in mutations()) {
        let xml = mutate(format!("<domain type='kvm'><devices>{body}</devices>{body}</domain>"), &ms);
        read_domain(&xml);
        read_domain(&body);
    }

    #[test]
    fn domain_bytes(xml in bytes_text()) {
        read_domain(&xml);
        edit_domain(&xml, "x");
    }

    #[test]
    fn domain_edits(xml in doc(DOMAIN), value in hostile()) {
        edit_domain(&xml, &value);
    }

    /// An edit changes only the element it is about, and the value reads back.
    #[test]
    fn edits_keep_other_bytes(xml in good_domain(), value in user_text()) {
        let Ok(root) = tree::parse(&xml, "domain") else { return Ok(()); };
        let description = root.child("description").map(|d| d.span.clone());
        if let Ok(new) = edit::set_description(&xml, Some(&value)) {
            let hw = hardware::parse(&new).expect("edited XML reads back");
            if value.is_empty() {
                prop_assert_eq!(hw.description, None);
            } else {
                prop_assert_eq!(hw.description.as_deref(), Some(value.as_str()));
            }
            if let Some(d) = &description {
                // Only the element changes; removal also takes its indentation and line break.
                let expected = if value.is_empty() {
                    let start = xml[..d.start].trim_end_matches([' ', '\t']).len();
                    let start = start - usize::from(xml[..start].ends_with('\n'));
                    format!("{}{}", &xml[..start], &xml[d.end..])
                } else {
                    format!("{}<description>{}</description>{}", &xml[..d.start],
                        quick_xml_escape(&value), &xml[d.end..])
                };
                prop_assert_eq!(new, expected);
            }
        }
        let one_line = value.replace(['\n', '\r'], " ");
        if let Ok(new) = edit::set_cdrom_source(&xml, "sda", Some(&one_line)) {
            let hw = hardware::parse(&new).expect("edited XML reads back");
            let sda = hw.disks.iter().find(|d| d.target == "sda").expect("sda");
            prop_assert_eq!(sda.source.path(), Some(one_line.as_str()));
        }
        if let Ok(new) = edit::set_memory(&xml, 4096, 2048) {
            let hw = hardware::parse(&new).expect("edited XML reads back");
            prop_assert_eq!((hw.memory.memory_kib, hw.memory.current_kib), (4096, 2048));
        }
        if !value.trim().is_empty() {
            if let Ok(new) = edit::clone_xml(&xml, &value, &HashMap::new(), None) {
                prop_assert_eq!(domain::name(&new), Some(value.trim().to_string()));
            }
        }
    }

    #[test]
    fn network_template(xml in doc(NETWORK)) {
        bounded("network", || {
            if let Ok(n) = network::parse(&xml) {
                let _ = (n.forward_mode(), n.bridge_name(), n.subnets(), n.to_xml());
                let _ = n.to_model(true, false, true, Vec::new());
                for ip in n.ips.iter() {
                    let _ = (ip.prefix_len(), ip.subnet(), ip.is_ipv6());
                }
            }
        });
    }

    #[test]
    fn storage_templates(p in doc(POOL), s in doc(SOURCES), v in doc(VOLUME), sec in doc(SECRET)) {
        bounded("storage", || {
            if let Ok(def) = pool::parse(&p) {
                let _ = (pool::validate(&def), def.to_xml());
            }
            let _ = pool::parse_sources(&s);
            if let Ok(def) = volume::parse(&v) {
                let _ = (volume::validate(&def), def.to_xml());
            }
            if let Ok(def) = secret::parse(&sec) {
                let _ = (secret::validate(&def), def.to_xml());
            }
        });
    }

    #[test]
    fn storage_random_tree(body in element(4)) {
        bounded("storage", || {
            for root in ["pool", "volume", "secret", "sources", "network"] {
                let xml = format!("<{root}>{body}</{root}>");
                let _ = pool::parse(&xml);
                let _ = pool::parse_sources(&xml);
                let _ = volume::parse(&xml);
                let _ = secret::parse(&xml);
                let _ = network::parse(&xml);
            }
        });
    }

    #[test]
    fn snapshot_template(xml in doc(SNAPSHOT), more in prop::collection::vec(doc(SNAPSHOT), 0..8)) {
        bounded("snapshot", || {
            let all: Vec<_> = std::iter::once(&xml)
                .chain(more.iter())
                .filter_map(|x| snapshot::parse(x).ok())
                .collect();
            let names: Vec<String> = all.iter().map(|s| s.name.clone()).collect();
            let tree = SnapshotTree::build(all);
            for r in &tree.rows {
                let _ = r.prefix();
            }
            for n in &names {
                let _ = tree.descendants(n);
            }
        });
    }

    #[test]
    fn overlay_and_display(xml in doc(OVERLAY), d in doc(DOMAIN)) {
        bounded("overlay", || {
            let _ = virtdeck::demo::Overlay::parse(&xml);
            let _ = virtdeck::display::parse(&xml, false);
            let _ = virtdeck::demo::Overlay::parse(&d);
        });
    }

    #[test]
    fn osinfo_files(a in doc(OSINFO), b in doc(OSINFO)) {
        let dir = tempfile::tempdir().expect("temp dir");
        let vendor = dir.path().join("os").join("debian.org");
        std::fs::create_dir_all(&vendor).expect("mkdir");
        std::fs::write(vendor.join("a.xml"), &a).expect("write");
        std::fs::write(vendor.join("b.xml"), &b).expect("write");
        let Ok(db) = bounded("osinfo load", || virtdeck::osinfo::OsDb::load(dir.path())) else {
            return Ok(());
        };
        bounded("osinfo variants", || {
            for v in db.variants() {
                let _ = (v.machine(), v.disk_bus(), v.memory_mib(), v.vcpus(), v.storage_bytes());
                let _ = v.is_eol_on("2026-01-01");
                if let Some(t) = v.tree("x86_64") {
                    let _ = t.boot_urls("http://x/");
                }
            }
        });
        bounded("osinfo search", || db.search("deb 12"));
        bounded("osinfo detect_iso", || db.detect_iso("Debian 12.1 amd64"));
    }

    /// Values written by the builders read back unchanged: user input is escaped.
    #[test]
    fn builders_round_trip(name in user_text(), path in user_text(), desc in user_text()) {
        let name = name.trim().to_string();
        let p = PoolDef::dir(&name, &path);
        let back = pool::parse(&p.to_xml().expect("pool XML")).expect("pool reads back");
        prop_assert_eq!(&back.name, &name);
        prop_assert_eq!(back.target.as_deref(), Some(path.as_str()));

        let v = VolumeDef::new(&name, 1 << 30, "qcow2", false, Some((path.clone(), "raw".into())));
        let back = volume::parse(&v.to_xml().expect("volume XML")).expect("volume reads back");
        prop_assert_eq!(&back.name, &name);
        prop_assert_eq!(back.backing.as_deref(), Some(path.as_str()));

        let s = SecretDef::ceph(&name, &desc);
        let back = secret::parse(&s.to_xml().expect("secret XML")).expect("secret reads back");
        prop_assert_eq!(&back.usage_id, &name);
        prop_assert_eq!(back.description.as_deref(), s.description.as_deref());

        let spec = SnapshotSpec { name: name.clone(), description: Some(desc.clone()),
            disk_only: false, disks: vec![], quiesce: false };
        let back = snapshot::parse(&spec.to_xml().expect("snapshot XML")).expect("reads back");
        prop_assert_eq!(&back.name, &name);
        prop_assert_eq!(back.description.as_deref(), Some(desc.as_str()));
    }
}

// ---- regression tests: inputs the targets above found ------------------------------------

/// Writes `files` as an osinfo database (`os/vendor/NAME`) and loads it.
fn load_osinfo(files: &[(&str, String)]) -> virtdeck::osinfo::OsDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let vendor = dir.path().join("os").join("example.org");
    std::fs::create_dir_all(&vendor).expect("mkdir");
    for (name, xml) in files {
        std::fs::write(vendor.join(name), xml).expect("write");
    }
    virtdeck::osinfo::OsDb::load(dir.path()).expect("osinfo loads")
}

/// Two entries that name each other as both `derives-from` and `clones` (a broken database):
/// device inheritance walked every path, 2^33 visits, and froze the new-VM wizard.
#[test]
fn osinfo_parent_cycle_with_two_parents_loads_at_once() {
    let xml = "<libosinfo>
  <os id='a'><short-id>a</short-id><derives-from id='b'/><clones id='b'/>
    <devices><device id='dev-a'/></devices></os>
  <os id='b'><short-id>b</short-id><derives-from id='a'/><clones id='a'/>
    <devices><device id='http://pcisig.com/pci/1af4/1041'/></devices></os>
</libosinfo>"
        .to_string();
    let db = fuzz_gen::finishes_within(
        std::time::Duration::from_secs(10),
        "osinfo load",
        move || load_osinfo(&[("a.xml", xml)]),
    );
    assert_eq!(db.variants().len(), 2);
}

/// Inheritance still follows every parent in order, a later one overriding an earlier one,
/// and the entry's own `supported` flags last.
#[test]
fn osinfo_devices_inherit_through_both_parents() {
    let virtio_net = "http://pcisig.com/pci/1af4/1041";
    let xml = format!(
        "<libosinfo>
  <os id='base'><short-id>base</short-id><devices><device id='{virtio_net}'/></devices></os>
  <os id='off'><short-id>off</short-id>
    <devices><device id='{virtio_net}' supported='false'/></devices></os>
  <os id='both'><short-id>both</short-id><derives-from id='base'/><clones id='off'/></os>
  <os id='back'><short-id>back</short-id><derives-from id='both'/>
    <devices><device id='{virtio_net}'/></devices></os>
</libosinfo>"
    );
    let db = load_osinfo(&[("a.xml", xml)]);
    let nic = |id: &str| db.get(id).expect(id).nic_model();
    assert_eq!(nic("base"), nic("back"));
    assert_eq!(nic("off"), nic("both"));
    assert_ne!(nic("base"), nic("both"));
}

/// libvirt writes XML 1.0: U+2028 and U+0085 are ordinary characters there, and a name
/// holding them must not read back as another name with a line feed.
#[test]
fn xml11_line_breaks_in_names_read_back_unchanged() {
    let xml = "<volume type='file'><name>a\u{2028}b\u{85}c</name>\
        <key><![CDATA[k\u{2028}]]></key><capacity>1</capacity>\
        <!-- \u{2028} <![CDATA[ --><target><path>/p\u{2028}q</path></target></volume>";
    let v = volume::parse(xml).expect("volume");
    assert_eq!(v.name, "a\u{2028}b\u{85}c");
    assert_eq!(v.key.as_deref(), Some("k\u{2028}"));
    assert_eq!(v.path.as_deref(), Some("/p\u{2028}q"));
    let p = PoolDef::dir("p", "/srv/\u{2028}");
    let back = pool::parse(&p.to_xml().expect("pool XML")).expect("pool");
    assert_eq!(back.target.as_deref(), Some("/srv/\u{2028}"));
    let s = secret::parse("<secret><description>x\u{85}</description></secret>").expect("secret");
    assert_eq!(s.description.as_deref(), Some("x\u{85}"));
    let n = network::parse("<network><name>n\u{2028}</name></network>").expect("network");
    assert_eq!(n.name, "n\u{2028}");
}

/// An attribute holding thousands of line breaks made the XML tab's diff take seconds
/// (Myers on 15,000 equal lines); it now answers within its deadline.
#[test]
fn diff_of_a_document_full_of_line_breaks_is_bounded() {
    let nl = "\n".repeat(3000);
    let xml = format!(
        "<domain type='{nl}'><name>a</name><memory unit='{nl}'/><vcpu>{nl}</vcpu>\
         <devices><graphics type='vnc' passwd='{nl}'/><serial type='{nl}'/></devices></domain>"
    );
    let t = std::time::Instant::now();
    let d = edit::diff(&xml, "<domain/>");
    // The deadline is 100 ms; without it this took 7 s in a debug build.
    assert!(
        t.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        t.elapsed()
    );
    assert!(d
        .iter()
        .any(|l| matches!(l, edit::DiffLine::Added(t) if t == "<domain/>")));
}

/// A `<!DOCTYPE` inside an element made quick-xml's deserializer panic (two text events in a
/// row); a network, pool, volume or secret holding one is an error or read, never a panic.
#[test]
fn doctype_inside_elements_never_panics_a_reader() {
    let bad = "/><!DOCTYPE x [<!ENTITY a 'b'>]>/>";
    let net = format!("<network><name>n{bad}</name><ip address='10.0.0.1'>{bad}</ip></network>");
    let _ = network::parse(&net);
    let _ = pool::parse(&format!("<pool type='dir'><name>{bad}</name></pool>"));
    let _ = volume::parse(&format!("<volume><name>{bad}</name></volume>"));
    let _ = secret::parse(&format!(
        "<secret><description>{bad}</description></secret>"
    ));
}
