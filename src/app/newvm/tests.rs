//! The new-VM wizard's logic without a terminal or a host: OS defaults, host limits and
//! overcommit, free space, names, method-specific checks, the searchable list, the command.

use crate::app::PaneId;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::app::wizard::{refresh as refresh_any, Input};
use crate::model::storage::{PoolState, Volume};

const GIB: u64 = 1 << 30;

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn vol(name: &str, format: &str, capacity: u64) -> Volume {
    Volume {
        name: name.into(),
        key: format!("/pools/{name}"),
        path: format!("/nonexistent/pools/{name}"),
        format: format.into(),
        kind: "file".into(),
        capacity,
        allocation: 0,
        backing: None,
        used_by: Vec::new(),
    }
}

fn pool(name: &str, capacity: u64, available: u64, volumes: Vec<Volume>) -> Pool {
    Pool {
        name: name.into(),
        uuid: String::new(),
        kind: "dir".into(),
        state: PoolState::Running,
        autostart: true,
        persistent: true,
        capacity,
        allocation: capacity - available,
        available,
        target: Some(format!("/var/lib/{name}")),
        volumes,
    }
}

fn db() -> &'static OsDb {
    match OsDb::shared() {
        Ok(db) => db,
        Err(e) => panic!("osinfo-db is needed (scripts/lab.sh installs it): {e}"),
    }
}

fn facts() -> Facts {
    Facts {
        host_name: "kvm1".into(),
        pools: vec![pool(
            "default",
            100 * GIB,
            50 * GIB,
            vec![
                vol("debian-11.iso", "raw", GIB / 2),
                vol("tiny.img", "raw", 1 << 20),
                vol("cloud.qcow2", "qcow2", 2 * GIB),
            ],
        )],
        networks: vec!["default".into()],
        bridges: vec!["br0".into()],
        storage_known: true,
        networks_known: true,
        cpus: 4,
        memory_kib: 8 * 1024 * 1024,
        running_vcpus: 0,
        running_kib: 0,
        vm_names: vec!["web".into(), "debian11".into()],
        local: false,
        db: OsDbState::Ready(db()),
        thresholds: Thresholds::default(),
        caps: Some(Ok(crate::xml::domcaps::GuestCaps::parse(include_str!(
            "../../../tests/fixtures/domcaps-q35-kvm.xml"
        ))
        .expect("domcaps fixture"))),
        templates: vec![("golden".into(), "u-golden".into())],
    }
}

fn ctx(f: Facts) -> Context {
    Context {
        extra: Some(std::sync::Arc::new(f)),
        ..Context::default()
    }
}

fn wizard(c: &Context) -> Wizard {
    let mut w = new(HostId(0), c);
    refresh_any(&mut w, c);
    w
}

fn focus(w: &mut Wizard, k: &str) {
    w.focus = w.fields.iter().position(|f| f.key == k).expect("field");
}

fn typ(w: &mut Wizard, c: &Context, k: &str, s: &str) {
    focus(w, k);
    for ch in s.chars() {
        w.input(key(KeyCode::Char(ch)));
    }
    refresh_any(w, c);
}

fn clear(w: &mut Wizard, c: &Context, k: &str) {
    w.set_text(k, "");
    refresh_any(w, c);
}

fn method(w: &mut Wizard, c: &Context, m: &str) {
    assert!(w.choose("method", m));
    refresh_any(w, c);
}

/// Answers the wizard's file-system probes (the runtime's part) and re-checks the form.
fn deliver(w: &mut Wizard, c: &Context) {
    w.checks.run_here();
    refresh_any(w, c);
}

fn err(w: &Wizard, k: &str) -> Option<String> {
    w.field(k).and_then(|f| f.error.clone())
}

fn warn(w: &Wizard, k: &str) -> Option<String> {
    w.field(k).and_then(|f| f.warning.clone())
}

#[test]
fn an_os_variant_sets_memory_vcpus_disk_nic_and_a_free_name() {
    let c = ctx(facts());
    let mut w = wizard(&c);
    typ(&mut w, &c, "os", "debian11");
    assert_eq!(w.get("os"), "debian11");
    let d = db().get("debian11").expect("debian11");
    assert_eq!(w.get("memory"), d.memory_mib().to_string());
    assert_eq!(w.get("vcpus"), d.vcpus().to_string());
    assert_eq!(w.get("size"), "20G");
    assert_eq!(w.get("model"), "virtio");
    // debian11 exists on the host: the proposal is the next free name.
    assert_eq!(w.get("name"), "debian11-2");
    assert!(err(&w, "name").is_none());
    // An old OS gets e1000, and the untouched proposal follows the OS.
    w.set_query("os", "win2k");
    refresh_any(&mut w, &c);
    assert_eq!(w.get("os"), "win2k");
    assert_eq!(
        w.get("model"),
        db().get("win2k").expect("win2k").nic_model().as_str()
    );
    assert_eq!(w.get("name"), "win2k");
    // A name the user typed stays when the OS changes.
    w.set_text("name", "mine");
    w.set_query("os", "debian11");
    refresh_any(&mut w, &c);
    assert_eq!(w.get("name"), "mine");
}

#[test]
fn without_the_database_only_generic_is_offered() {
    let mut f = facts();
    f.db = OsDbState::Loading;
    let c = ctx(f.clone());
    let w = wizard(&c);
    assert_eq!(w.get("os"), "generic");
    assert_eq!(warn(&w, "os").as_deref(), Some("loading OS list…"));
    f.db = OsDbState::Missing("/usr/share/osinfo/os: not found".into());
    let c = ctx(f);
    let w = wizard(&c);
    assert_eq!(w.get("os"), "generic");
    assert!(warn(&w, "os").is_some_and(|m| m.contains("install osinfo-db")));
}

#[test]
fn host_limits_are_errors_and_overcommit_is_a_warning() {
    let mut f = facts();
    f.running_kib = 6 * 1024 * 1024;
    f.running_vcpus = 8;
    let c = ctx(f);
    let mut w = wizard(&c);
    w.set_text("memory", "1024");
    w.set_text("vcpus", "1");
    refresh_any(&mut w, &c);
    // 6 GiB + 1 GiB of 8 GiB is 87.5% > 80%; 9 vCPUs on 4 CPUs is 2.25 > 2.0.
    assert!(err(&w, "memory").is_none());
    assert!(
        warn(&w, "memory").is_some_and(|m| m.contains("88%")),
        "{:?}",
        warn(&w, "memory")
    );
    assert!(warn(&w, "vcpus").is_some_and(|m| m.contains("9 vCPUs")));
    w.set_text("memory", "256");
    w.set_text("vcpus", "5");
    refresh_any(&mut w, &c);
    assert!(warn(&w, "memory").is_none());
    assert!(err(&w, "vcpus").is_some_and(|m| m.contains("4 CPUs")));
    w.set_text("memory", "9G");
    refresh_any(&mut w, &c);
    assert!(err(&w, "memory").is_some_and(|m| m.contains("host's")));
    w.page = 2;
    assert!(!w.next_page(), "an error keeps the user on the page");
}

#[test]
fn the_disk_must_fit_the_pool() {
    let mut f = facts();
    f.pools = vec![pool("small", 2 * GIB, GIB, Vec::new())];
    let c = ctx(f);
    let mut w = wizard(&c);
    assert_eq!(w.get("pool"), "small");
    assert!(w.field("pool").is_some_and(|p| p
        .hint
        .contains(&format!("{} free of", crate::fmt::bytes(GIB)))));
    w.set_text("size", "1536M");
    assert!(w.choose("format", "raw"));
    refresh_any(&mut w, &c);
    assert!(
        err(&w, "size").is_some_and(|m| m.contains("does not fit")),
        "{:?}",
        err(&w, "size")
    );
    // qcow2 grows on demand: more than free is a warning, more than the pool an error.
    assert!(w.choose("format", "qcow2"));
    refresh_any(&mut w, &c);
    assert!(err(&w, "size").is_none());
    assert!(warn(&w, "size").is_some());
    w.set_text("size", "3G");
    refresh_any(&mut w, &c);
    assert!(err(&w, "size").is_some());
    // No disk: nothing to check.
    assert!(w.choose("disk", DISK_NONE));
    refresh_any(&mut w, &c);
    assert!(w.field("size").is_some_and(|f| !f.visible));
    assert!(w.page_errors().is_empty() || w.page != 3);
}

#[test]
fn the_name_must_be_new_on_the_host_and_in_the_pool() {
    let mut f = facts();
    f.pools[0].volumes.push(vol("fresh.qcow2", "qcow2", GIB));
    let c = ctx(f);
    let mut w = wizard(&c);
    w.set_text("name", "web");
    refresh_any(&mut w, &c);
    assert!(err(&w, "name").is_some_and(|m| m.contains("kvm1 already has a VM named web")));
    w.set_text("name", "a/b");
    refresh_any(&mut w, &c);
    assert!(err(&w, "name").is_some());
    w.set_text("name", "fresh");
    refresh_any(&mut w, &c);
    assert!(err(&w, "name").is_some_and(|m| m.contains("fresh.qcow2")));
    w.set_text("name", "fresh2");
    refresh_any(&mut w, &c);
    assert!(err(&w, "name").is_none());
    assert!(matches!(&w.review, Some(Ok(x)) if x.contains("<name>fresh2</name>")));
}

#[test]
fn each_method_asks_for_its_own_fields() {
    let c = ctx(facts());
    let mut w = wizard(&c);
    // ISO: a pool volume by default (ISOs listed first), or a path.
    assert_eq!(w.get("iso"), "default/debian-11.iso");
    assert!(w.field("iso_path").is_some_and(|f| !f.visible));
    typ(&mut w, &c, "iso", "zzz");
    assert_eq!(w.get("iso"), ISO_PATH, "only the path item is left");
    assert!(w.field("iso_path").is_some_and(|f| f.visible));
    typ(&mut w, &c, "iso_path", "relative.iso");
    assert!(err(&w, "iso_path").is_some());
    assert!(!w.next_page());
    clear(&mut w, &c, "iso_path");
    typ(&mut w, &c, "iso_path", "/srv/x.iso");
    // A remote host: the path cannot be checked from here.
    assert!(err(&w, "iso_path").is_none());
    assert!(
        warn(&w, "os").is_some_and(|m| m.contains("remote host")),
        "{:?}",
        warn(&w, "os")
    );

    method(&mut w, &c, URL);
    assert!(w.field("iso").is_some_and(|f| !f.visible));
    assert!(err(&w, "kernel").is_some() && err(&w, "initrd").is_some());
    typ(&mut w, &c, "kernel", "/srv/vmlinuz");
    typ(&mut w, &c, "initrd", "/srv/initrd.gz");
    assert!(w.page_errors().is_empty());

    method(&mut w, &c, PXE);
    assert!(w.choose("nic", NIC_NONE));
    refresh_any(&mut w, &c);
    assert!(err(&w, "nic").is_some_and(|m| m.contains("PXE")));
    assert!(w.choose("nic", "bridge br0"));
    refresh_any(&mut w, &c);
    assert!(err(&w, "nic").is_none());

    method(&mut w, &c, CLOUD);
    assert!(
        w.field("disk").is_some_and(|f| !f.visible),
        "the image is the disk"
    );
    assert!(err(&w, "password").is_some(), "no password and no key");
    typ(&mut w, &c, "ssh_key", "not a key");
    assert!(err(&w, "ssh_key").is_some());
    clear(&mut w, &c, "ssh_key");
    typ(&mut w, &c, "password", "s3cret");
    assert!(err(&w, "password").is_none());
    typ(&mut w, &c, "image", "cloud");
    assert_eq!(w.get("image"), "default/cloud.qcow2");
    // The overlay cannot be smaller than its image.
    w.set_text("size", "1G");
    refresh_any(&mut w, &c);
    assert!(err(&w, "size").is_some_and(|m| m.contains("image's")));
    clear(&mut w, &c, "size");
    assert!(err(&w, "size").is_none(), "empty: the image's size");

    method(&mut w, &c, IMPORT);
    typ(&mut w, &c, "image", "nothing-matches");
    assert!(err(&w, "image").is_some());
}

#[test]
fn the_searchable_list_filters_and_keeps_the_choice() {
    let c = ctx(facts());
    let mut w = wizard(&c);
    method(&mut w, &c, IMPORT);
    focus(&mut w, "image");
    let items = |w: &Wizard| match &w.field("image").map(|f| &f.input) {
        Some(Input::Pick { items, .. }) => items.iter().map(|i| i.0.clone()).collect(),
        _ => Vec::<String>::new(),
    };
    assert_eq!(items(&w).len(), 3);
    w.input(key(KeyCode::Right));
    w.input(key(KeyCode::Right));
    refresh_any(&mut w, &c);
    let chosen = w.get("image");
    // A refresh with the same matches keeps the choice; ← stops at the first.
    refresh_any(&mut w, &c);
    assert_eq!(w.get("image"), chosen);
    for _ in 0..5 {
        w.input(key(KeyCode::Left));
    }
    assert_eq!(w.get("image"), items(&w)[0]);
    typ(&mut w, &c, "image", "tiny");
    assert_eq!(items(&w), vec!["default/tiny.img".to_string()]);
    assert_eq!(w.get("image"), "default/tiny.img");
}

#[test]
fn import_builds_the_spec_and_the_create_job() {
    let c = ctx(facts());
    let mut w = wizard(&c);
    method(&mut w, &c, IMPORT);
    typ(&mut w, &c, "image", "tiny");
    typ(&mut w, &c, "os", "debian11");
    w.set_text("name", "tiny1");
    w.set_text("memory", "64");
    assert!(w.choose("cpu", "hypervisor default"));
    refresh_any(&mut w, &c);
    let f = facts();
    let vm = build(&w, &f).expect("spec");
    assert_eq!(vm.name, "tiny1");
    assert_eq!(vm.memory_mib, 64);
    assert_eq!(vm.cpu, CpuMode::Hypervisor);
    assert_eq!(vm.install, InstallMethod::Import);
    assert_eq!(
        vm.disks,
        vec![DiskSource::Volume {
            pool: "default".into(),
            volume: "tiny.img".into(),
            format: "raw".into()
        }]
    );
    assert!(
        matches!(&vm.nic, Some(NicSpec { source: NicSource::Network(n), .. }) if n == "default")
    );
    match command(&mut w, &c, crate::host::RequestId(9)).expect("command") {
        HostCommand::CreateVm(cv) => {
            assert_eq!(cv.id, crate::host::RequestId(9));
            assert!(cv.start);
            assert_eq!(cv.spec, vm);
        }
        other => panic!("{other:?}"),
    }
    let (_, labels) = w.job.as_ref().expect("job");
    assert_eq!(
        labels,
        &["defining the VM".to_string(), "starting the VM".to_string()]
    );
    // A page with an error keeps the spec from being built.
    w.set_text("memory", "lots");
    refresh_any(&mut w, &c);
    assert!(build(&w, &f).is_err());
    assert!(matches!(w.review, Some(Err(_))));
}

#[test]
fn helpers() {
    assert_eq!(free_name("a", &["a".into(), "a-2".into()]), "a-3");
    assert_eq!(parse_memory("2G"), Ok(2048));
    assert_eq!(parse_memory("300"), Ok(300));
    assert!(parse_memory("").is_err());
}

/// An ISO image with `id` as its volume id (sector 16: the primary volume descriptor).
fn fake_iso(path: &std::path::Path, id: &str) {
    let mut bytes = vec![0u8; 17 * 2048];
    let pvd = &mut bytes[16 * 2048..];
    pvd[0] = 1;
    pvd[1..6].copy_from_slice(b"CD001");
    let mut field = [b' '; 32];
    field[..id.len()].copy_from_slice(id.as_bytes());
    pvd[40..72].copy_from_slice(&field);
    std::fs::write(path, bytes).expect("write the ISO");
}

/// A 25-byte text file or an ISO is not a disk image: refused on the method page (it used to
/// give "VM created and started" and a guest with "No bootable device"); an image another VM
/// uses is offered with a warning.
#[test]
fn a_cloud_image_must_be_a_disk_image() {
    let mut f = facts();
    let notes = vol("notes.txt", "raw", 25);
    let mut shared = vol("shared.qcow2", "qcow2", 2 * GIB);
    shared.used_by = vec!["web".into()];
    f.pools[0].volumes.extend([notes, shared]);
    let c = ctx(f);
    use crate::diskimage::Head;
    // `head`: what the host said of the image's first bytes (None: not answered yet).
    let chosen = |q: &str, head: Option<Head>| {
        let mut w = wizard(&c);
        method(&mut w, &c, CLOUD);
        typ(&mut w, &c, "image", q);
        let image = w.get("image");
        if let Some(h) = head {
            w.spec_as_mut::<NewVmForm>()
                .unwrap()
                .state
                .heads
                .insert(image.clone(), Some(Ok(h)));
            refresh_any(&mut w, &c);
        }
        (image, err(&w, "image"), warn(&w, "image"))
    };
    let (image, e, _) = chosen("notes", None);
    assert_eq!(image, "default/notes.txt");
    assert!(e.is_some_and(|e| e.contains("too small")));
    let (image, e, _) = chosen("debian-11", None);
    assert_eq!(image, "default/debian-11.iso");
    assert!(e.is_some_and(|e| e.contains("ISO image")));
    let (_, e, warning) = chosen("shared", Some(Head::Qcow2));
    assert_eq!(e, None);
    assert!(warning.is_some_and(|m| m.contains("in use by web") && m.contains("overlay")));
    // The host reads the first bytes: until it answers the form says so; a volume with no
    // qcow2 header, partition table or boot sector is refused.
    let (_, e, warning) = chosen("cloud.q", None);
    assert_eq!((e, warning.as_deref()), (None, Some("checking the image…")));
    let (_, e, _) = chosen("cloud.q", Some(Head::Unbootable));
    assert!(e.is_some_and(|e| e.contains("not a bootable disk image")));
    for h in [Head::Qcow2, Head::Gpt, Head::Mbr] {
        let (_, e, warning) = chosen("cloud.q", Some(h));
        assert_eq!((e, warning), (None, None), "{h:?}");
    }
}

#[test]
fn a_local_iso_picks_its_os_and_a_remote_one_is_not_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let iso = dir.path().join("debian.iso");
    fake_iso(&iso, "Debian 11.6.0 amd64 n");
    let mut f = facts();
    f.local = true;
    let c = ctx(f.clone());
    let mut w = wizard(&c);
    typ(&mut w, &c, "iso", "zzz");
    typ(&mut w, &c, "iso_path", &iso.display().to_string());
    // The file is read off the UI thread: until the probe answers the path is being checked.
    assert!(
        err(&w, "iso_path").is_some_and(|e| e.starts_with("checking ")),
        "{:?}",
        err(&w, "iso_path")
    );
    assert_ne!(w.get("os"), "debian11");
    deliver(&mut w, &c);
    assert_eq!(err(&w, "iso_path"), None);
    assert_eq!(w.get("os"), "debian11");
    assert!(warn(&w, "os").is_some_and(|m| m.contains("detected Debian 11")));
    // Detection waits for the database, then applies.
    f.db = OsDbState::Loading;
    let c = ctx(f.clone());
    let mut w = wizard(&c);
    typ(&mut w, &c, "iso", "zzz");
    typ(&mut w, &c, "iso_path", &iso.display().to_string());
    deliver(&mut w, &c);
    assert_eq!(w.get("os"), "generic");
    f.db = OsDbState::Ready(db());
    let c = ctx(f.clone());
    refresh_any(&mut w, &c);
    assert_eq!(w.get("os"), "debian11");
    // Not an ISO: said, and the OS stays the user's to choose.
    let junk = dir.path().join("junk.iso");
    std::fs::write(&junk, b"junk").expect("write");
    clear(&mut w, &c, "iso_path");
    typ(&mut w, &c, "iso_path", &junk.display().to_string());
    deliver(&mut w, &c);
    assert!(
        warn(&w, "os").is_some_and(|m| m.contains("OS detection:")),
        "{:?}",
        warn(&w, "os")
    );
    // Another method has no ISO: nothing is said about one (it used to stay on the OS page).
    for m in [IMPORT, CLOUD] {
        w.choose("method", m);
        refresh_any(&mut w, &c);
        assert_eq!(warn(&w, "os"), None, "{m}");
    }
    w.choose("method", ISO);
    refresh_any(&mut w, &c);
    assert!(warn(&w, "os").is_some_and(|m| m.contains("OS detection:")));
    // The same file on a remote host is not read.
    f.local = false;
    let c = ctx(f);
    let mut w = wizard(&c);
    typ(&mut w, &c, "iso", "zzz");
    typ(&mut w, &c, "iso_path", &iso.display().to_string());
    assert_eq!(
        err(&w, "iso_path"),
        None,
        "a remote path is not checked here"
    );
    assert_ne!(w.get("os"), "debian11");
    assert!(warn(&w, "os").is_some_and(|m| m.contains("remote host")));
}

mod app_level {
    use super::*;
    use crate::app::wizard::Submit;
    use crate::app::{HostSpec, Msg, Settings};
    use crate::config::keymap::Keymap;
    use crate::config::theme::Theme;
    use crate::host::HostEvent;
    use crate::model::{HostInfo, Snapshot, Vm, VmState};

    fn vm(name: &str) -> Vm {
        Vm {
            uuid: format!("uuid-{name}"),
            name: name.into(),
            id: Some(1),
            state: VmState::Running,
            vcpus: 1,
            memory_kib: 1024,
            max_memory_kib: 1024,
            cpu_time_ns: None,
            io: Default::default(),
            autostart: false,
            persistent: true,
            managed_save: false,
            known: Default::default(),
            template: false,
            tags: Vec::new(),
            note: None,
            started: None,
        }
    }

    fn app(readonly: bool) -> App {
        let mut app = App::new(
            vec![HostSpec {
                name: "kvm1".into(),
                uri: "test:///x".into(),
            }],
            Keymap::preset(),
            Theme::load("default", None).expect("theme"),
            Settings {
                readonly,
                ..Settings::default()
            },
        );
        app.view = View::Pane(PaneId::Vms);
        app.update(Msg::Host(
            HostId(0),
            HostEvent::Connected(HostInfo::default()),
        ));
        snapshot(&mut app, &["web"]);
        app
    }

    fn snapshot(app: &mut App, names: &[&str]) -> Vec<Effect> {
        let t = app.now;
        app.update(Msg::Host(
            HostId(0),
            HostEvent::Snapshot(Snapshot {
                vms: crate::model::shared(names.iter().map(|n| vm(n)).collect()),
                taken_at: t,
                receipt: Default::default(),
                node: None,
            }),
        ))
    }

    fn press(app: &mut App, spec: &str) -> Vec<Effect> {
        let k = crate::config::keymap::Key::parse(spec).expect("key");
        app.update(Msg::Key(KeyEvent::new(k.code, k.mods)))
    }

    /// The chosen image's first bytes are asked for once, on a tick; the host's answer is
    /// what the form then says of it.
    #[test]
    fn the_chosen_image_is_read_once_and_its_verdict_checked() {
        let mut a = app(false);
        press(&mut a, "N");
        a.update(Msg::Host(
            HostId(0),
            HostEvent::Storage(crate::model::storage::StorageInventory {
                pools: vec![pool(
                    "default",
                    100 * GIB,
                    50 * GIB,
                    vec![vol("img.raw", "raw", GIB)],
                )],
                ..Default::default()
            }),
        ));
        let Mode::Wizard(w) = &mut a.mode else {
            panic!("no wizard")
        };
        assert!(w.choose("method", CLOUD));
        w.set_text("image", "default/img.raw");
        let sniffs = |fx: &[Effect]| {
            fx.iter()
                .filter(|e| {
                    matches!(
                        e,
                        Effect::Host(_, HostCommand::Storage(StorageCmd::Sniff { .. }))
                    )
                })
                .count()
        };
        let now = a.now;
        let fx = a.update(Msg::Tick(now));
        assert_eq!(sniffs(&fx), 1);
        assert_eq!(sniffs(&a.update(Msg::Tick(now))), 0, "asked once");
        let id = fx
            .iter()
            .find_map(|e| match e {
                Effect::Host(_, HostCommand::Storage(StorageCmd::Sniff { id, pool, volume })) => {
                    assert_eq!((pool.as_str(), volume.as_str()), ("default", "img.raw"));
                    Some(*id)
                }
                _ => None,
            })
            .expect("sniff");
        a.update(Msg::Host(
            HostId(0),
            HostEvent::Reply {
                id,
                reply: crate::host::Reply::ImageHead(Ok(crate::diskimage::Head::Unbootable)),
            },
        ));
        let Mode::Wizard(w) = &a.mode else {
            panic!("no wizard")
        };
        let e = w
            .field("image")
            .and_then(|f| f.error.clone())
            .unwrap_or_default();
        assert!(e.contains("not a bootable disk image"), "{e:?}");
    }

    /// A template chosen in the wizard is cloned as a job of the jobs pane.
    #[test]
    fn a_new_vm_from_a_template_is_a_clone_job() {
        let mut a = app(false);
        let mut golden = vm("golden");
        golden.template = true;
        let t = a.now;
        a.update(Msg::Host(
            HostId(0),
            HostEvent::Snapshot(Snapshot {
                vms: crate::model::shared(vec![vm("web"), golden]),
                taken_at: t,
                receipt: Default::default(),
                node: None,
            }),
        ));
        press(&mut a, "N");
        a.update(Msg::Host(
            HostId(0),
            HostEvent::Storage(crate::model::storage::StorageInventory {
                pools: vec![pool("default", 100 * GIB, 50 * GIB, vec![])],
                ..Default::default()
            }),
        ));
        let Mode::Wizard(w) = &mut a.mode else {
            panic!("no wizard")
        };
        assert!(w.choose("method", TEMPLATE));
        crate::app::wizard::refresh_open(&mut a);
        // Install → Storage (the OS, CPU and network pages have nothing to ask) → Review.
        for _ in 0..2 {
            press(&mut a, "<Enter>");
        }
        let fx = press(&mut a, "<Enter>");
        let spec = fx
            .iter()
            .find_map(|e| match e {
                Effect::Host(
                    _,
                    HostCommand::Vm(crate::host::vm::VmCmd::Clone { uuid, spec, .. }),
                ) => {
                    assert_eq!(uuid, "uuid-golden");
                    Some(spec.clone())
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("a clone: {fx:?} {:?}", a.mode));
        assert!(spec.linked && spec.name.starts_with("golden") && spec.pool == "default");
        assert_eq!(a.jobs.of(&[crate::app::jobs::JobKind::Clone]).count(), 1);
        assert_eq!(a.mode, Mode::Normal);
    }

    #[test]
    fn n_opens_the_wizard_asks_for_inventories_and_loads_the_os_list_once() {
        let mut a = app(false);
        let fx = press(&mut a, "N");
        assert!(
            matches!(&a.mode, Mode::Wizard(w) if w.host == HostId(0) && w.spec_as::<NewVmForm>().is_some())
        );
        assert!(fx.contains(&Effect::LoadOsDb));
        assert!(fx.contains(&Effect::Host(
            HostId(0),
            HostCommand::Storage(StorageCmd::Rescan)
        )));
        assert!(fx.contains(&Effect::Host(
            HostId(0),
            HostCommand::Network(NetCmd::Refresh)
        )));
        press(&mut a, "<Esc>");
        assert_eq!(a.mode, Mode::Normal);
        // Loading already: not asked again.
        let fx = press(&mut a, "N");
        assert!(!fx.contains(&Effect::LoadOsDb));
        a.update(Msg::OsDb(Ok(db()), Duration::from_millis(5)));
        assert!(matches!(a.osdb, OsDbState::Ready(_)));
        let Mode::Wizard(w) = &a.mode else {
            panic!("closed")
        };
        let warning = w.field("os").and_then(|f| f.warning.clone());
        assert!(
            warning.is_none(),
            "no longer loading: {warning:?} iso={:?} path={:?}",
            w.get("iso"),
            w.get("iso_path")
        );
        // Read-only: refused.
        let mut ro = app(true);
        assert!(press(&mut ro, "N").is_empty());
        assert_eq!(ro.mode, Mode::Normal);
    }

    #[test]
    fn esc_cancels_the_running_job_and_success_selects_the_vm() {
        let mut a = app(false);
        a.update(Msg::OsDb(Ok(db()), Duration::ZERO));
        press(&mut a, "N");
        let Mode::Wizard(w) = &mut a.mode else {
            panic!("no wizard")
        };
        assert!(w.choose("method", PXE));
        assert!(w.choose("disk", DISK_NONE));
        w.set_query("os", "debian11");
        w.set_text("name", "fresh");
        // No networks known on this host: PXE needs one, so give it a bridge by hand.
        let (host, spec) = (w.host, w.spec.clone());
        let mut c = crate::app::wizard::context(&a, host, spec.as_ref());
        if let Some(mut f) = c.extra::<Facts>().cloned() {
            f.bridges = vec!["br0".into()];
            c.extra = Some(std::sync::Arc::new(f));
        }
        let Mode::Wizard(w) = &mut a.mode else {
            panic!("no wizard")
        };
        refresh_any(w, &c);
        assert!(w.choose("nic", "bridge br0"));
        refresh_any(w, &c);
        w.page = PAGES.len() - 1;
        let tag = a
            .requests
            .issue(HostId(0), crate::app::requests::Owner::Wizard);
        let Mode::Wizard(w) = &mut a.mode else {
            panic!("no wizard")
        };
        let cmd = command(w, &c, tag).expect("command");
        assert!(matches!(cmd, HostCommand::CreateVm(_)));
        w.submit = Submit::Waiting(tag);
        let job = w.job.clone().expect("job").0;
        // Esc while it runs cancels the job and keeps the form for the answer.
        press(&mut a, "<Esc>");
        assert!(job.is_cancelled());
        assert!(matches!(&a.mode, Mode::Wizard(_)));
        // The host says done: the form closes, the VM is selected when it shows up.
        a.update(Msg::Host(
            HostId(0),
            HostEvent::Reply {
                id: tag,
                reply: crate::host::Reply::Done(Ok("VM fresh created".into())),
            },
        ));
        assert_eq!(a.mode, Mode::Normal);
        assert!(a.created.is_some());
        snapshot(&mut a, &["web", "fresh"]);
        assert!(a.created.is_none());
        let r = a.selected_row().expect("a row");
        assert_eq!(a.vm(r).1.name, "fresh");
    }
}

#[test]
fn a_tree_url_gives_the_kernel_and_initrd_urls_of_the_chosen_os_and_fetch_steps() {
    let c = ctx(facts());
    let mut w = wizard(&c);
    method(&mut w, &c, URL);
    typ(&mut w, &c, "tree", "ftp://mirror/x");
    assert!(err(&w, "tree").is_some(), "only http(s)");
    clear(&mut w, &c, "tree");
    typ(
        &mut w,
        &c,
        "tree",
        "http://mirror.example/debian/dists/bullseye/main/installer-amd64/",
    );
    assert!(err(&w, "tree").is_none());
    assert!(
        err(&w, "kernel").is_none() && err(&w, "initrd").is_none(),
        "empty: from the tree"
    );
    typ(&mut w, &c, "os", "debian11");
    w.set_text("name", "net1");
    refresh_any(&mut w, &c);
    let f = facts();
    let vm = build(&w, &f).expect("spec");
    let InstallMethod::Url { kernel, initrd, .. } = &vm.install else {
        panic!("{:?}", vm.install)
    };
    let tree = db().get("debian11").unwrap().tree("x86_64").unwrap();
    let (k, i) = tree
        .boot_urls("http://mirror.example/debian/dists/bullseye/main/installer-amd64")
        .unwrap();
    assert_eq!((kernel, initrd), (&k, &i));
    let steps = crate::host::create::steps(&vm, true);
    let fetched: Vec<_> = steps
        .iter()
        .filter_map(|s| match s {
            crate::host::create::Step::Fetch { url, name, .. } => Some((url.clone(), name.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        fetched,
        vec![(k, "net1-kernel".into()), (i, "net1-initrd".into())],
        "{steps:?}"
    );
    // A typed path wins over the tree.
    typ(&mut w, &c, "kernel", "/srv/vmlinuz");
    refresh_any(&mut w, &c);
    let vm = build(&w, &f).expect("spec");
    assert!(matches!(&vm.install, InstallMethod::Url { kernel, .. } if kernel == "/srv/vmlinuz"));
}

#[test]
fn windows_11_preselects_uefi_secure_boot_and_a_tpm_and_the_host_must_have_them() {
    use crate::xml::newvm::Firmware;
    let c = ctx(facts());
    let mut w = wizard(&c);
    method(&mut w, &c, IMPORT);
    typ(&mut w, &c, "image", "tiny");
    typ(&mut w, &c, "os", "win11");
    assert_eq!(w.get("firmware"), "UEFI");
    assert!(w.on("secure_boot") && w.on("tpm"));
    let vm = build(&w, &facts()).expect("spec");
    assert_eq!(vm.firmware, Firmware::Uefi { secure_boot: true });
    assert_eq!(vm.tpm, Some("tpm-crb"));
    let xml = vm.domain_xml().unwrap();
    assert!(xml.contains("<os firmware=\"efi\">"), "{xml}");
    assert!(xml.contains("<feature enabled=\"yes\" name=\"secure-boot\"/>"));
    assert!(xml.contains("<tpm model=\"tpm-crb\">"));
    // BIOS is refused for an OS that cannot boot from it.
    assert!(w.choose("firmware", "BIOS"));
    refresh_any(&mut w, &c);
    assert!(err(&w, "firmware")
        .unwrap()
        .contains("does not boot from BIOS"));
    assert!(!w.field("secure_boot").unwrap().visible);

    // A host without OVMF or swtpm: UEFI and the TPM are refused with the reason.
    let mut bare = facts();
    bare.caps = Some(Ok(crate::xml::domcaps::GuestCaps::default()));
    let c = ctx(bare);
    assert!(w.choose("firmware", "UEFI"));
    refresh_any(&mut w, &c);
    assert!(err(&w, "firmware").unwrap().contains("apt install ovmf"));
    assert!(err(&w, "secure_boot").unwrap().contains("no Secure Boot"));
    assert!(err(&w, "tpm").unwrap().contains("no TPM device"));
    let mut no_swtpm = crate::xml::domcaps::GuestCaps::parse(include_str!(
        "../../../tests/fixtures/domcaps-q35-kvm.xml"
    ))
    .unwrap();
    no_swtpm.tpm_emulator = false;
    let mut f = facts();
    f.caps = Some(Ok(no_swtpm));
    let c = ctx(f);
    refresh_any(&mut w, &c);
    assert!(err(&w, "tpm").unwrap().contains("swtpm"));
    assert!(err(&w, "firmware").is_none());
    // Unknown capabilities (the test driver has none): a warning, not a refusal.
    let mut f = facts();
    f.caps = Some(Err(
        "this function is not supported by the connection driver".into(),
    ));
    let c = ctx(f);
    refresh_any(&mut w, &c);
    assert!(err(&w, "tpm").is_none());
    assert!(warn(&w, "tpm").unwrap().contains("not supported"));

    // Debian: BIOS by default; UEFI without Secure Boot says so explicitly.
    typ(&mut w, &c, "os", "");
    w.set_query("os", "debian11");
    refresh_any(&mut w, &c);
    assert_eq!(w.get("firmware"), "BIOS");
    assert!(!w.on("tpm"));
    assert!(w.choose("firmware", "UEFI"));
    refresh_any(&mut w, &c);
    let vm = build(&w, &facts()).expect("spec");
    assert_eq!(vm.firmware, Firmware::Uefi { secure_boot: false });
    let xml = vm.domain_xml().unwrap();
    assert!(
        xml.contains("<feature enabled=\"no\" name=\"secure-boot\"/>"),
        "{xml}"
    );
    assert!(!xml.contains("enrolled-keys") && !xml.contains("<tpm"));
}

/// "a template (clone)": only the template's own fields show, the empty pages are passed
/// over, and the review says what the clone does.
#[test]
fn a_template_is_a_method_with_its_own_fields_and_pages() {
    let c = ctx(facts());
    let mut w = wizard(&c);
    method(&mut w, &c, TEMPLATE);
    let shown: Vec<&str> = w
        .fields
        .iter()
        .filter(|f| f.visible)
        .map(|f| f.key)
        .collect();
    assert_eq!(
        shown,
        ["method", "template", "linked", "user", "ssh_key", "hostname", "pool", "name"]
    );
    assert_eq!(w.get("template"), "golden");
    assert!(w.on("linked"));
    assert!(w.get("name").starts_with("golden"), "{}", w.get("name"));
    w.set_text("name", "web-7");
    refresh_any(&mut w, &c);
    assert!(w.next_page());
    assert_eq!(w.pages[w.page], "Storage", "OS and CPU pages passed over");
    assert!(w.next_page());
    assert_eq!(w.pages[w.page], "Review");
    let review = w.review.clone().unwrap().unwrap();
    assert!(
        review.contains("Linked clone of template golden as web-7")
            && review.contains("No cloud-init"),
        "{review}"
    );
    assert!(w.prev_page());
    assert_eq!(w.pages[w.page], "Storage");
    assert!(w.prev_page());
    assert_eq!(w.page, 0);
    // A key asks for cloud-init, checked like the cloud image's.
    typ(&mut w, &c, "ssh_key", "not a key");
    assert!(err(&w, "ssh_key").is_some());
    clear(&mut w, &c, "ssh_key");
    // Back to an ISO install: its fields return.
    method(&mut w, &c, ISO);
    assert!(w.field("memory").unwrap().visible && !w.field("template").unwrap().visible);
}

/// The guest agent's channel: on by default for an OS with virtio-serial, the review page's
/// toggle leaves it out (and the XML has none); an OS without virtio gets it only when asked,
/// with a warning that the guest needs the driver; the user's choice survives a refresh.
#[test]
fn the_agent_channel_is_a_review_toggle_defaulted_per_os() {
    let agent = "org.qemu.guest_agent.0";
    let c = ctx(facts());
    let mut w = wizard(&c);
    method(&mut w, &c, IMPORT);
    typ(&mut w, &c, "image", "tiny");
    typ(&mut w, &c, "os", "debian11");
    assert_eq!(
        w.field("agent").map(|f| (f.page, f.visible)),
        Some((5, true))
    );
    assert!(w.on("agent"));
    let review = |w: &Wizard| w.review.clone().unwrap().unwrap();
    assert!(review(&w).contains(agent), "{}", review(&w));
    focus(&mut w, "agent");
    w.input(key(KeyCode::Char(' ')));
    refresh_any(&mut w, &c);
    assert!(!w.on("agent"), "the user's choice survives a refresh");
    assert!(!build(&w, &facts()).unwrap().agent);
    assert!(!review(&w).contains(agent), "{}", review(&w));
    assert!(warn(&w, "agent").is_none());

    // Windows XP: osinfo lists no virtio, so none by default; asked for, with a warning.
    typ(&mut w, &c, "os", "");
    w.set_query("os", "winxp");
    refresh_any(&mut w, &c);
    assert_eq!(w.get("os"), "winxp");
    assert!(!w.on("agent"));
    assert!(!review(&w).contains(agent));
    w.set_toggle("agent", true);
    refresh_any(&mut w, &c);
    assert!(review(&w).contains(agent));
    assert!(warn(&w, "agent").unwrap().contains("virtio-win"));
}
