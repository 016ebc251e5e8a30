use super::*;

fn manifest(kind: Kind, base: Option<&str>) -> Manifest {
    Manifest {
        version: 1,
        vm: "web <&'\"> 池".into(),
        uuid: "6a3c2f0e-1b2d-4c5e-8f90-123456789abc".into(),
        host: "qemu:///system".into(),
        kind,
        time: 1_764_921_192,
        checkpoint: Some("virtdeck-1764921192".into()),
        since: base.map(|_| "virtdeck-1".into()),
        base: base.map(str::to_string),
        disks: vec![DiskEntry {
            target: "vda".into(),
            file: "vda.qcow2".into(),
            source: "/var/lib/libvirt/images/web.qcow2".into(),
            capacity: 1 << 30,
            size: 1 << 20,
        }],
        domain_xml: "<domain type='kvm'>\n  <name>web &lt;&amp;</name>\n</domain>\n".into(),
    }
}

#[test]
fn the_manifest_round_trips_and_refuses_paths_that_leave_the_backup() {
    let m = manifest(Kind::Incremental, Some("20251205T075312Z-full"));
    let text = m.to_toml().unwrap();
    assert!(text.contains("kind = \"incremental\""), "{text}");
    assert_eq!(Manifest::from_toml(&text).unwrap(), m);
    let mut bad = m.clone();
    bad.disks[0].file = "../../etc/shadow".into();
    assert!(Manifest::from_toml(&bad.to_toml().unwrap()).is_err());
    let mut bad = m.clone();
    bad.base = Some("..".into());
    assert!(Manifest::from_toml(&bad.to_toml().unwrap()).is_err());
    let mut v2 = m;
    v2.version = 2;
    assert!(Manifest::from_toml(&v2.to_toml().unwrap())
        .unwrap_err()
        .contains("version 2"));
}

#[test]
fn hostile_names_stay_inside_the_destination() {
    assert_eq!(path_safe("web-01.prod"), "web-01.prod");
    assert_eq!(path_safe("../../etc"), "_.._.._etc");
    assert_eq!(path_safe(".."), "_..");
    assert_eq!(path_safe(""), "_");
    assert_eq!(path_safe("a/b\n\u{202e}c"), "a_b__c");
    assert_eq!(path_safe(&"x".repeat(100)).len(), 64);
    let d = vm_dir(Path::new("/backups"), "../x", "6a3c2f0e-1b2d");
    assert_eq!(d, Path::new("/backups/_.._x-6a3c2f0e"));
}

#[test]
fn backup_directories_sort_by_time() {
    assert_eq!(utc(0), "19700101T000000Z");
    assert_eq!(utc(1_764_921_192), "20251205T075312Z");
    assert_eq!(utc(951_782_400), "20000229T000000Z");
    assert_eq!(
        backup_dir_name(1_764_921_192_007, Kind::Full),
        "20251205T075312.007Z-full"
    );
}

#[test]
fn list_and_chain_read_the_backups_on_disk() {
    let root = tempfile::tempdir().unwrap();
    let put = |name: &str, m: &Manifest| {
        let d = root.path().join(name);
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join(MANIFEST), m.to_toml().unwrap()).unwrap();
    };
    let mut full = manifest(Kind::Full, None);
    full.time = 10;
    put("a-full", &full);
    let mut inc = manifest(Kind::Incremental, Some("a-full"));
    inc.time = 20;
    put("b-inc", &inc);
    let mut inc2 = manifest(Kind::Incremental, Some("b-inc"));
    inc2.time = 30;
    put("c-inc", &inc2);
    // An unfinished backup (no manifest) and a broken one.
    std::fs::create_dir(root.path().join("d-partial")).unwrap();
    std::fs::create_dir(root.path().join("e-bad")).unwrap();
    std::fs::write(root.path().join("e-bad").join(MANIFEST), "version = ").unwrap();
    let (found, bad) = list(root.path());
    let names: Vec<String> = found.iter().map(Found::name).collect();
    assert_eq!(names, ["a-full", "b-inc", "c-inc"]);
    assert_eq!(bad.len(), 1);
    let c = chain(&found, &found[2]).unwrap();
    let names: Vec<String> = c.iter().map(Found::name).collect();
    assert_eq!(names, ["a-full", "b-inc", "c-inc"]);
    // A missing base is an error, not a partial restore.
    std::fs::remove_dir_all(root.path().join("b-inc")).unwrap();
    let (found, _) = list(root.path());
    assert!(chain(&found, &found[1]).unwrap_err().contains("missing"));
}
