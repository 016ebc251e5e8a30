//! Against the real database (Debian's osinfo-db, installed by scripts/lab.sh). Debian 12's
//! osinfo-db (20221130) predates bookworm's release: its newest Debian is debian11.

use super::*;

fn db() -> &'static OsDb {
    match OsDb::shared() {
        Ok(db) => db,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn loads_the_real_database_quickly() {
    let t = std::time::Instant::now();
    let db = OsDb::load(Path::new(DEFAULT_DIR)).unwrap();
    let took = t.elapsed();
    eprintln!("osinfo-db: {} variants in {took:?}", db.variants().len());
    assert!(db.variants().len() > 500, "{}", db.variants().len());
    assert!(db.skipped().is_empty(), "{:?}", db.skipped());
    // Generous (debug build, shared machine): the point is "no DOM, no per-file regexes".
    assert!(took.as_secs_f64() < 3.0, "{took:?}");
}

#[test]
fn debian11_with_inherited_devices_and_resources() {
    let d = db().get("debian11").expect("debian11");
    assert_eq!(d.name, "Debian 11");
    assert_eq!(d.vendor.as_deref(), Some("Debian Project"));
    assert_eq!(d.family.as_deref(), Some("linux"));
    assert_eq!(d.version.as_deref(), Some("11"));
    assert_eq!(d.release_date.as_deref(), Some("2021-08-14"));
    assert_eq!(d.aliases, vec!["debianbullseye".to_string()]);
    assert!(std::ptr::eq(db().get("debianbullseye").unwrap(), d));
    assert_eq!(d.recommended.ram, Some(GIB));
    assert_eq!(d.recommended.storage, Some(20 * GIB));
    assert_eq!(d.minimum.vcpus, Some(1));
    // debian-11.xml itself only lists virtio-gpu and virtio-fs: the rest comes through
    // derives-from debian10 → debian9 ….
    assert!(d.devices.virtio_disk && d.devices.virtio_net && d.devices.virtio1);
    assert!(d.devices.q35 && d.devices.virtio_gpu && d.devices.usb3);
    assert_eq!(d.machine(), Machine::Q35);
    assert_eq!(d.disk_bus(), DiskBus::Virtio);
    assert_eq!(d.nic_model(), NicModel::Virtio);
    assert!(d.cloud_image);
    let t = d.tree("x86_64").expect("tree");
    assert_eq!(
        t.boot_urls("http://deb.debian.org/debian/dists/bullseye/main/installer-amd64/")
            .unwrap()
            .0,
        "http://deb.debian.org/debian/dists/bullseye/main/installer-amd64/current/images/\
         netboot/debian-installer/amd64/linux"
    );
    assert!(d
        .media
        .iter()
        .any(|m| m.volume_id.as_deref() == Some(r"Debian 11.\d+.\d+ amd64 n")));
}

#[test]
fn an_old_os_gets_pc_ide_and_e1000() {
    // Windows XP: no virtio drivers in the box, no q35.
    let xp = db().get("winxp").expect("winxp");
    assert_eq!(xp.machine(), Machine::Pc);
    assert_eq!(xp.disk_bus(), DiskBus::Ide);
    assert_eq!(xp.nic_model(), NicModel::E1000);
    assert!(xp.is_eol_on("2026-01-01"));
    let g = OsVariant::generic();
    assert_eq!(
        (g.machine(), g.disk_bus(), g.nic_model()),
        (Machine::Pc, DiskBus::Ide, NicModel::E1000)
    );
}

#[test]
fn search_ranks_newest_first_and_eol_last() {
    let hits = db().search_on("debian", "2026-11-25");
    let pos = |id: &str| {
        hits.iter()
            .position(|v| v.short_id == id)
            .unwrap_or_else(|| panic!("{id} not found"))
    };
    assert!(pos("debian11") < pos("debian10"));
    assert!(pos("debian10") < pos("debian9"));
    // debian9's EOL (2022) is past: every supported Debian comes first.
    assert!(pos("debian9") > pos("debiantesting"));
    assert_eq!(
        hits[0].short_id,
        "debian11",
        "{:?}",
        hits.iter().take(5).map(|v| &v.short_id).collect::<Vec<_>>()
    );
    // Exact short id wins over newer substring matches.
    assert_eq!(db().search("debian9")[0].short_id, "debian9");
    // By name, case-insensitive.
    assert!(db()
        .search("WINDOWS 10")
        .iter()
        .any(|v| v.short_id == "win10"));
    // Fuzzy: characters in order.
    let fz = db().search("dbn11");
    assert!(fz.iter().any(|v| v.short_id == "debian11"), "fuzzy");
    assert!(db().search("zzzqqq-nothing").is_empty());
}

#[test]
fn eol_rules() {
    let mut v = OsVariant {
        eol: Some("2024-06-30".into()),
        ..OsVariant::default()
    };
    assert!(!v.is_eol_on("2024-06-30"));
    assert!(v.is_eol_on("2024-07-01"));
    v.eol = None;
    v.release_date = Some("2014-05-01".into());
    assert!(v.is_eol_on("2024-05-02"));
    assert!(!v.is_eol_on("2024-04-30"));
    v.release_status = Some("rolling".into());
    assert!(!v.is_eol_on("2099-01-01"));
}

#[test]
fn detects_debian_netinst_and_others() {
    let d = db().detect_iso("Debian 11.5.0 amd64 n").expect("detected");
    assert_eq!(d.short_id, "debian11");
    let d = db().detect_iso("Debian 10.13.0 amd64 n").expect("detected");
    assert_eq!(d.short_id, "debian10");
    let u = db()
        .detect_iso("Ubuntu-Server 22.04.1 LTS amd64")
        .expect("ubuntu");
    assert_eq!(u.short_id, "ubuntu22.04");
    assert!(db().detect_iso("MY_OWN_DISC").is_none());
}

#[test]
fn reads_the_volume_id_of_an_iso() {
    let mut img = vec![0u8; 17 * 2048];
    let pvd = &mut img[16 * 2048..];
    pvd[0] = 1;
    pvd[1..6].copy_from_slice(b"CD001");
    let id = b"Debian 11.5.0 amd64 n";
    pvd[40..72].fill(b' ');
    pvd[40..40 + id.len()].copy_from_slice(id);
    let vid = read_volume_id(&mut std::io::Cursor::new(&img)).unwrap();
    assert_eq!(vid, "Debian 11.5.0 amd64 n");
    assert_eq!(db().detect_iso(&vid).unwrap().short_id, "debian11");
    // Not an ISO: typed errors, not panics.
    assert!(matches!(
        read_volume_id(&mut std::io::Cursor::new(vec![0u8; 100])),
        Err(OsinfoError::NotIso(_))
    ));
    assert!(matches!(
        read_volume_id(&mut std::io::Cursor::new(vec![0u8; 40000])),
        Err(OsinfoError::NotIso(_))
    ));
}

#[test]
fn missing_or_broken_database_is_a_typed_error() {
    let e = OsDb::load(Path::new("/nonexistent/osinfo")).unwrap_err();
    assert!(matches!(e, OsinfoError::Missing { .. }), "{e}");
    assert!(e.to_string().contains("osinfo-db"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("os/x")).unwrap();
    std::fs::write(
        dir.path().join("os/x/bad.xml"),
        "<libosinfo><os id='a'><name>x</os>",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("os/x/good.xml"),
        "<libosinfo><os id='http://x/1'><short-id>x1</short-id><name>X 1</name></os></libosinfo>",
    )
    .unwrap();
    // The broken file is skipped with a typed error; the good one still loads.
    let db = OsDb::load(dir.path()).unwrap();
    assert_eq!(db.variants().len(), 1);
    assert_eq!(db.get("x1").unwrap().name, "X 1");
    assert!(
        matches!(db.skipped(), [OsinfoError::Parse { file, .. }] if file.ends_with("bad.xml")),
        "{:?}",
        db.skipped()
    );
    // An empty but present database loads and finds nothing.
    let empty = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(empty.path().join("os")).unwrap();
    let db = OsDb::load(empty.path()).unwrap();
    assert!(db.variants().is_empty() && db.search("debian").is_empty());
}

#[test]
fn today_is_a_date() {
    let t = today();
    assert_eq!(t.len(), 10);
    assert!(t.as_str() > "2024-01-01" && t.as_bytes()[4] == b'-', "{t}");
}

#[test]
fn windows_11_needs_uefi_secure_boot_and_a_tpm_and_debian_none() {
    let w = db().get("win11").expect("win11");
    assert!(w.needs_uefi() && w.needs_tpm());
    let w10 = db().get("win10").expect("win10");
    assert!(!w10.needs_uefi() && !w10.needs_tpm());
    let d = db().get("debian11").expect("debian11");
    assert!(!d.needs_uefi() && !d.needs_tpm());
    let vm = crate::xml::newvm::NewVm::for_os("w", w, crate::xml::newvm::InstallMethod::Pxe);
    assert_eq!(
        vm.firmware,
        crate::xml::newvm::Firmware::Uefi { secure_boot: true }
    );
    assert_eq!(vm.tpm, Some("tpm-crb"));
}
