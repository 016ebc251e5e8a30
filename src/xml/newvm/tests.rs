use super::*;
use crate::osinfo::OsDb;

fn debian() -> &'static OsVariant {
    OsDb::shared().unwrap().get("debian11").unwrap()
}

fn iso_vm(name: &str) -> NewVm {
    let mut vm = NewVm::for_os(
        name,
        debian(),
        InstallMethod::Iso(HostFile::Volume {
            pool: "isos".into(),
            volume: "debian-11.5.0-amd64-netinst.iso".into(),
        }),
    );
    vm.disks.push(vm.default_disk(debian(), "default"));
    vm
}

#[test]
fn defaults_come_from_osinfo() {
    let vm = iso_vm("vm1");
    assert_eq!(vm.memory_mib, 1024);
    assert_eq!(vm.os.machine, Machine::Q35);
    assert_eq!(vm.os.disk_bus, DiskBus::Virtio);
    assert_eq!(vm.nic.as_ref().unwrap().model, NicModel::Virtio);
    assert_eq!(
        vm.disks[0],
        DiskSource::New {
            pool: "default".into(),
            name: "vm1.qcow2".into(),
            capacity: 20 << 30,
            format: DiskFormat::Qcow2
        }
    );
    assert_eq!(validate(&vm), vec![]);
    assert_eq!(vm.boot_order(), vec![BootDev::Hd, BootDev::Cdrom]);
}

#[test]
fn hostile_name_roundtrips() {
    let name = "vm <&'\"> ü";
    let mut vm = iso_vm(name);
    vm.nic = Some(NicSpec {
        source: NicSource::Bridge("br<0>&".into()),
        model: NicModel::E1000e,
        mac: Some("52:54:00:AB:cd:01".into()),
    });
    assert_eq!(validate(&vm), vec![]);
    let xml = vm.domain_xml().unwrap();
    assert!(!xml.contains("<&'"), "{xml}");
    assert_eq!(crate::xml::domain::name(&xml).as_deref(), Some(name));
    let disks = crate::xml::domain::disk_sources(&xml).unwrap();
    assert_eq!(disks[0].volume.as_deref(), Some("vm <&'\"> ü.qcow2"));
    assert_eq!(disks[0].target, "vda");
    assert_eq!(disks[1].device, "cdrom");
    assert_eq!(disks[1].target, "sda");
    assert!(xml.contains("bridge=\"br&lt;0&gt;&amp;\""), "{xml}");
    assert!(xml.contains("52:54:00:ab:cd:01"), "{xml}");
}

#[test]
fn names() {
    assert_eq!(name_problem("vm <&'\"> ü"), None);
    for bad in ["", " ", "a/b", "a\nb", ".hidden", " lead", "trail "] {
        assert!(name_problem(bad).is_some(), "{bad:?}");
    }
    assert!(name_problem(&"x".repeat(251)).is_some());
    assert!(name_taken("a", ["b", "a"]));
    assert!(!name_taken("a", ["A"]));
    assert!(mac_ok("52:54:00:12:34:56"));
    for bad in [
        "52:54:00:12:34",
        "53:54:00:12:34:56",
        "52-54-00-12-34-56",
        "zz:54:00:12:34:56",
    ] {
        assert!(!mac_ok(bad), "{bad}");
    }
}

#[test]
fn validation_per_method() {
    let f = |vm: &NewVm| validate(vm).into_iter().map(|(f, _)| f).collect::<Vec<_>>();
    let mut vm = iso_vm("x");
    vm.install = InstallMethod::Import;
    assert_eq!(f(&vm), vec!["disks"], "import needs an existing first disk");
    vm.disks = vec![];
    assert_eq!(f(&vm), vec!["disks"]);
    vm.install = InstallMethod::Pxe;
    vm.nic = None;
    assert_eq!(f(&vm), vec!["install"]);
    vm.install = InstallMethod::Url {
        kernel: "vmlinuz".into(),
        initrd: "/i".into(),
        cmdline: String::new(),
    };
    assert_eq!(f(&vm), vec!["install"]);
    let mut vm = iso_vm("x");
    vm.memory_mib = 0;
    vm.vcpus = 0;
    vm.nic.as_mut().unwrap().mac = Some("x".into());
    assert_eq!(f(&vm), vec!["memory", "vcpus", "mac"]);
}

#[test]
fn targets_continue_across_buses() {
    assert_eq!(target_name("vd", 0), "vda");
    assert_eq!(target_name("vd", 25), "vdz");
    assert_eq!(target_name("vd", 26), "vdaa");
    assert_eq!(target_name("sd", 27), "sdab");
    // pc + IDE: the disk is hda, the CD-ROM hdb (as virt-install numbers them).
    let xp = OsDb::shared().unwrap().get("winxp").unwrap();
    let mut vm = NewVm::for_os(
        "xp",
        xp,
        InstallMethod::Iso(HostFile::Path("/x.iso".into())),
    );
    vm.disks.push(vm.default_disk(xp, "default"));
    let d = crate::xml::domain::disk_sources(&vm.domain_xml().unwrap()).unwrap();
    assert_eq!(
        d.iter().map(|d| d.target.as_str()).collect::<Vec<_>>(),
        ["hda", "hdb"]
    );
    assert_eq!(d[1].file.as_deref(), Some("/x.iso"));
}

#[test]
fn url_install_has_a_transient_first_boot() {
    let mut vm = iso_vm("u");
    vm.install = InstallMethod::Url {
        kernel: "/var/lib/libvirt/boot/linux".into(),
        initrd: "/var/lib/libvirt/boot/initrd.gz".into(),
        cmdline: "auto=true priority=critical".into(),
    };
    let fin = vm.domain_xml().unwrap();
    assert!(!fin.contains("<kernel>"), "{fin}");
    assert!(fin.contains("<boot dev=\"hd\"/>"), "{fin}");
    let inst = vm
        .install_xml(&Record {
            uuid: "11111111-2222-3333-4444-555555555555".into(),
            volumes: Vec::new(),
        })
        .unwrap()
        .unwrap();
    assert!(
        inst.contains("<kernel>/var/lib/libvirt/boot/linux</kernel>"),
        "{inst}"
    );
    assert!(
        inst.contains("<cmdline>auto=true priority=critical</cmdline>"),
        "{inst}"
    );
    assert!(inst.contains("<on_reboot>destroy</on_reboot>"), "{inst}");
    assert!(
        inst.contains("<uuid>11111111-2222-3333-4444-555555555555</uuid>"),
        "{inst}"
    );
    assert!(!inst.contains("<boot "), "{inst}");
    assert_eq!(iso_vm("i").install_xml(&Record::default()).unwrap(), None);
}

#[test]
fn the_record_of_made_volumes_reads_back_for_its_uuid_only() {
    let mut vm = iso_vm("c <&>");
    vm.install = InstallMethod::Cloud {
        config: crate::cloudinit::CloudConfig {
            hostname: "c".into(),
            user: "admin".into(),
            password: None,
            ssh_keys: vec!["ssh-ed25519 AAAA k".into()],
        },
        seed_pool: "seeds".into(),
    };
    let (pool, seed) = vm.seed_volume().unwrap();
    assert_eq!(seed, "c <&>-cidata.iso");
    let record = Record {
        uuid: "11111111-2222-4333-8444-555555555555".into(),
        volumes: vec![(pool.clone(), seed.clone())],
    };
    let xml = vm.recorded_xml(&record).unwrap();
    let hw = crate::xml::hardware::parse(&xml).unwrap();
    assert_eq!(hw.uuid.as_deref(), Some(record.uuid.as_str()));
    assert_eq!(
        hw.owned,
        vec![crate::xml::hardware::Source::Volume { pool, volume: seed }],
        "{xml}"
    );
    // libosinfo's id is still there beside it.
    assert_eq!(hw.os_id.as_deref(), Some(debian().id.as_str()));
    // A copy of the definition (another <uuid>, the record unchanged) does not own them.
    let copy = xml.replace(
        &format!("<uuid>{}</uuid>", record.uuid),
        "<uuid>99999999-2222-4333-8444-555555555555</uuid>",
    );
    assert_ne!(copy, xml);
    assert!(crate::xml::hardware::parse(&copy).unwrap().owned.is_empty());
    // Without a record (the wizard's review XML) nothing is owned.
    assert!(crate::xml::hardware::parse(&vm.domain_xml().unwrap())
        .unwrap()
        .owned
        .is_empty());
}
