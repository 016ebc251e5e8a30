//! The new-VM Create job (`HostCommand::CreateVm`) on a real qemu:///system daemon: import
//! the tiny boot-sector guest and see it run; a cloud-init VM whose seed ISO lands in a pool
//! and is attached; and failures at each stage — duplicate name (define fails), a pool too
//! small (second volume refused), a start that fails — each leaving nothing behind. Skipped
//! without a daemon unless VIRTDECK_REQUIRE_KVM=1.
//!
//! Names are unique per process; guards remove domains, pools and files on drop, also when an
//! assertion fails half-way.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::guest::{daemon_available, unique};
use common::pool::{DomainGuard, FsPool, Pool};
use common::worker::WAIT;
use quick_xml::escape::escape;
use virt::connect::Connect;
use virtdeck::cloudinit::CloudConfig;
use virtdeck::host::vm::{storage_of, DeleteOpts, VmCmd, VmOp};
use virtdeck::host::{CreateVm, HostCommand, HostEvent, Reply, RequestId};
use virtdeck::job::{Job, JobState};
use virtdeck::model::storage::StorageInventory;
use virtdeck::osinfo::OsDb;
use virtdeck::xml::hardware::Source;
use virtdeck::xml::newvm::{CpuMode, DiskFormat, DiskSource, HostFile, InstallMethod, NewVm};

const URI: &str = "qemu:///system";
const MIB: u64 = 1024 * 1024;

type Worker = common::worker::Worker<StorageInventory>;

fn conn() -> Connect {
    Connect::open(Some(URI)).unwrap()
}

fn domain_exists(name: &str) -> bool {
    conn().lookup_domain_by_name(name).is_ok()
}

fn is_running(name: &str) -> bool {
    conn()
        .lookup_domain_by_name(name)
        .and_then(|d| d.is_active())
        .unwrap_or(false)
}

/// A small VM for the tiny guest: osinfo's debian11 devices (q35, virtio disk, RNG, agent
/// channel…), so the daemon accepts the same XML a real install gets; no NIC (the lab
/// daemon has no networks). QEMU's own CPU model: the lab's nested KVM refuses the host
/// CPU's MSR 0x10a with host-passthrough and host-model alike.
fn spec(name: &str, install: InstallMethod) -> NewVm {
    let os = OsDb::shared().unwrap().get("debian11").unwrap();
    let mut vm = NewVm::for_os(name, os, install);
    vm.memory_mib = 128;
    vm.vcpus = 1;
    vm.cpu = CpuMode::Hypervisor;
    vm.nic = None;
    vm
}

/// A PXE install with a NIC on the network "default". The tests using it never start the VM,
/// so the network is never needed (the lab has none).
fn pxe_on_default(name: &str) -> NewVm {
    let mut vm = spec(name, InstallMethod::Pxe);
    vm.nic = Some(virtdeck::xml::newvm::NicSpec {
        source: virtdeck::xml::newvm::NicSource::Network("default".into()),
        model: virtdeck::osinfo::NicModel::Virtio,
        mac: None,
    });
    vm
}

/// Sends CreateVm and waits for its answer; checks the job agrees.
fn create(w: &Worker, tag: u64, spec: NewVm, start: bool) -> (Result<String, String>, Job) {
    create_with(w, tag, spec, start, Job::new("create"))
}

fn create_with(
    w: &Worker,
    tag: u64,
    spec: NewVm,
    start: bool,
    job: Job,
) -> (Result<String, String>, Job) {
    w.handle.send(HostCommand::CreateVm(Box::new(CreateVm {
        id: RequestId(tag),
        spec,
        start,
        job: job.clone(),
    })));
    let result = w.wait("create result", WAIT, |ev| match ev {
        HostEvent::Reply {
            id,
            reply: Reply::Done(result),
        } if id == RequestId(tag) => Some(result),
        _ => None,
    });
    match &result {
        Ok(_) => {
            assert_eq!(job.state(), JobState::Done);
            assert_eq!(job.done(), job.total(), "every step advanced the job");
        }
        Err(e) if job.is_cancelled() => {
            assert_eq!(job.state(), JobState::Cancelled, "{e}")
        }
        Err(e) => assert_eq!(job.state(), JobState::Failed(e.clone())),
    }
    (result, job)
}

#[test]
fn imports_the_tiny_guest_and_starts_it() {
    if !daemon_available() {
        return;
    }
    let pool = Pool::new("imp");
    pool.add_tiny_guest();
    let name = format!("{} <&'\"> ü", unique("imp"));
    let _dom = DomainGuard(name.clone());
    let mut vm = spec(&name, InstallMethod::Import);
    vm.disks.push(DiskSource::Volume {
        pool: pool.name.clone(),
        volume: "tiny.img".into(),
        format: "raw".into(),
    });
    // A second, new disk: the success path creates volumes too.
    vm.disks.push(DiskSource::New {
        pool: pool.name.clone(),
        name: format!("{name}-data.qcow2"),
        capacity: 16 * MIB,
        format: DiskFormat::Qcow2,
    });
    let w = Worker::start(URI);
    let (result, job) = create(&w, 1, vm, true);
    let text = result.unwrap_or_else(|e| panic!("create failed: {e}"));
    assert!(text.contains("created and started"), "{text}");
    assert_eq!(job.total(), 3, "volume, define, start");
    assert!(is_running(&name), "the VM runs");
    assert!(pool.volumes().contains(&format!("{name}-data.qcow2")));
    // The tiny guest answers on the serial console: it really booted from the imported
    // volume (virtio disk on q35).
    let dom = conn().lookup_domain_by_name(&name).unwrap();
    let xml = dom.xml_desc(0).unwrap();
    assert_eq!(
        virtdeck::xml::domain::name(&xml).as_deref(),
        Some(name.as_str()),
        "the hostile name survived"
    );
    assert!(
        wait_for_banner(&name),
        "the tiny guest answers on its console"
    );
}

/// Whether the tiny guest answers on its serial console within 30 s: its banner, or the
/// echo of an empty line (QEMU drops output nobody reads, so the banner may be gone).
fn wait_for_banner(name: &str) -> bool {
    let c = conn();
    let dom = c.lookup_domain_by_name(name).unwrap();
    let stream = std::sync::Arc::new(virt::stream::Stream::new(&c, 0).unwrap());
    if let Err(e) = dom.open_console(None, &stream, 0) {
        eprintln!("console: {e}");
        return false;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::sync::Arc::clone(&stream);
    // A blocking reader on its own thread; abort() ends it.
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.recv(&mut buf) {
            if n <= 0 || tx.send(buf[..n as usize].to_vec()).is_err() {
                break;
            }
        }
    });
    let until = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    let mut ok = false;
    while Instant::now() < until && !ok {
        let _ = stream.send(b"\r");
        while let Ok(chunk) = rx.recv_timeout(Duration::from_millis(500)) {
            seen.extend(chunk);
        }
        let text = String::from_utf8_lossy(&seen);
        ok = text.contains("VIRTDECK TINY GUEST READY") || text.contains("echo:");
    }
    // abort() takes the stream; a clone (virStreamRef) aborts the same stream.
    let _ = virt::stream::Stream::clone(&stream).abort();
    if !ok {
        eprintln!("console said: {:?}", String::from_utf8_lossy(&seen));
    }
    ok
}

#[test]
fn duplicate_name_leaves_nothing_behind() {
    if !daemon_available() {
        return;
    }
    let pool = Pool::new("dup");
    pool.add_tiny_guest();
    let name = unique("dup");
    let _dom = DomainGuard(name.clone());
    let w = Worker::start(URI);
    let mut first = spec(&name, InstallMethod::Import);
    first.disks.push(DiskSource::Volume {
        pool: pool.name.clone(),
        volume: "tiny.img".into(),
        format: "raw".into(),
    });
    create(&w, 1, first, false).0.unwrap();
    let uuid = conn()
        .lookup_domain_by_name(&name)
        .unwrap()
        .uuid_string()
        .unwrap();

    let mut again = spec(
        &name,
        InstallMethod::Iso(HostFile::Path("/nonexistent.iso".into())),
    );
    again.disks.push(DiskSource::New {
        pool: pool.name.clone(),
        name: "second.qcow2".into(),
        capacity: 16 * MIB,
        format: DiskFormat::Qcow2,
    });
    let (result, _) = create(&w, 2, again, true);
    let e = result.unwrap_err();
    // libvirt's own error, then what the rollback did.
    assert!(e.contains("already exists"), "{e}");
    assert!(e.contains("nothing was left behind"), "{e}");
    assert_eq!(pool.volumes(), ["tiny.img"], "the new volume was deleted");
    // The VM that had the name is untouched.
    assert_eq!(
        conn()
            .lookup_domain_by_name(&name)
            .unwrap()
            .uuid_string()
            .unwrap(),
        uuid
    );
}

#[test]
fn a_failing_start_undefines_and_deletes_everything() {
    if !daemon_available() {
        return;
    }
    let pool = Pool::new("start");
    let name = unique("start");
    let _dom = DomainGuard(name.clone());
    let os = OsDb::shared().unwrap().get("debian11").unwrap();
    let mut vm = spec(
        &name,
        InstallMethod::Iso(HostFile::Path(format!(
            "/nonexistent/{}.iso",
            unique("missing")
        ))),
    );
    vm.disks.push(vm.default_disk(os, &pool.name));
    if let DiskSource::New { capacity, .. } = &mut vm.disks[0] {
        *capacity = 16 * MIB;
    }
    let w = Worker::start(URI);
    let (result, job) = create(&w, 1, vm, true);
    let e = result.unwrap_err();
    assert!(
        e.contains("nonexistent"),
        "libvirt/QEMU names the missing ISO: {e}"
    );
    assert!(e.contains("nothing was left behind"), "{e}");
    assert_eq!(job.done(), 2, "volume and define finished, start failed");
    assert!(!domain_exists(&name), "the defined VM was undefined");
    assert_eq!(
        pool.volumes(),
        Vec::<String>::new(),
        "the new volume was deleted"
    );
}

#[test]
fn a_pool_too_small_leaves_nothing_behind() {
    if !daemon_available() {
        return;
    }
    let Some(small) = FsPool::new("small", 16) else {
        return;
    };
    let pool = &small.pool;
    let name = unique("small");
    let _dom = DomainGuard(name.clone());
    let mut vm = pxe_on_default(&name);
    // The first raw volume fits; the second (64 MiB on a 16 MiB filesystem) does not.
    vm.disks.push(DiskSource::New {
        pool: pool.name.clone(),
        name: "fits.img".into(),
        capacity: MIB,
        format: DiskFormat::Raw,
    });
    vm.disks.push(DiskSource::New {
        pool: pool.name.clone(),
        name: "too-big.img".into(),
        capacity: 64 * MIB,
        format: DiskFormat::Raw,
    });
    let w = Worker::start(URI);
    let (result, job) = create(&w, 1, vm, true);
    let e = result.unwrap_err();
    assert!(e.contains("does not fit in pool"), "{e}");
    assert!(e.contains("nothing was left behind"), "{e}");
    assert_eq!(
        job.done(),
        1,
        "the first volume was made before the refusal"
    );
    assert!(!domain_exists(&name));
    let left: Vec<String> = pool
        .volumes()
        .into_iter()
        .filter(|v| v != "lost+found")
        .collect();
    assert_eq!(
        left,
        Vec::<String>::new(),
        "the first volume was deleted again"
    );
}

#[test]
fn cloud_init_seed_is_uploaded_and_attached() {
    if !daemon_available() {
        return;
    }
    let pool = Pool::new("cloud");
    pool.add_tiny_guest();
    let name = unique("cloud");
    let _dom = DomainGuard(name.clone());
    let config = CloudConfig {
        hostname: "tiny-cloud".into(),
        user: "admin".into(),
        password: Some("s3cret <&>".into()),
        ssh_keys: vec![],
    };
    let mut vm = spec(
        &name,
        InstallMethod::Cloud {
            config,
            seed_pool: pool.name.clone(),
        },
    );
    // The "cloud image" stays untouched: the VM gets a qcow2 overlay on it.
    vm.disks.push(DiskSource::Overlay {
        pool: pool.name.clone(),
        name: format!("{name}.qcow2"),
        capacity: 0,
        base_pool: pool.name.clone(),
        base: "tiny.img".into(),
        base_format: "raw".into(),
    });
    let (seed_pool, seed) = vm.seed_volume().unwrap();
    assert_eq!(seed_pool, pool.name);
    let w = Worker::start(URI);
    let (result, job) = create(&w, 1, vm, true);
    result.unwrap_or_else(|e| panic!("create failed: {e}"));
    assert_eq!(job.total(), 4, "overlay, seed, define, start");
    assert!(is_running(&name));
    let vols = pool.volumes();
    assert!(
        vols.contains(&seed) && vols.contains(&format!("{name}.qcow2")),
        "{vols:?}"
    );
    // The seed in the pool is a cidata ISO holding user-data.
    let seed_path = pool.dir.path().join(&seed);
    let mut f = std::fs::File::open(&seed_path).unwrap();
    assert_eq!(virtdeck::osinfo::read_volume_id(&mut f).unwrap(), "cidata");
    let bytes = std::fs::read(&seed_path).unwrap();
    let needle = b"#cloud-config\nhostname: \"tiny-cloud\"";
    assert!(bytes.windows(needle.len()).any(|w| w == needle));
    // … attached to the defined VM as a CD-ROM from that volume.
    let xml = conn()
        .lookup_domain_by_name(&name)
        .unwrap()
        .xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE)
        .unwrap();
    let disks = virtdeck::xml::domain::disk_sources(&xml).unwrap();
    assert!(
        disks.iter().any(|d| d.device == "cdrom"
            && d.pool.as_deref() == Some(pool.name.as_str())
            && d.volume.as_deref() == Some(seed.as_str())),
        "{xml}"
    );
    // The overlay's backing file is the image, which stays as it was.
    let overlay = conn()
        .lookup_storage_pool_by_name(&pool.name)
        .unwrap()
        .lookup_storage_vol_by_name(&format!("{name}.qcow2"))
        .unwrap()
        .xml_desc(0)
        .unwrap();
    let def = virtdeck::xml::volume::parse(&overlay).unwrap();
    assert_eq!(
        def.backing.as_deref().map(Path::new),
        Some(pool.dir.path().join("tiny.img").as_path())
    );
    assert!(wait_for_banner(&name), "boots through the overlay");

    // Delete with storage, as the detail screen's delete does: the dialog lists the seed
    // (its user-data holds the password hash) beside the disk, and nothing named after the
    // VM is left in the pool.
    let (listed, result) = delete_with_storage(&w, 2, &name);
    result.unwrap_or_else(|e| panic!("delete failed: {e}"));
    let vol = |v: String| Source::Volume {
        pool: pool.name.clone(),
        volume: v,
    };
    assert_eq!(
        listed,
        vec![vol(format!("{name}.qcow2")), vol(seed.clone())]
    );
    assert!(!domain_exists(&name));
    let left: Vec<String> = pool
        .volumes()
        .into_iter()
        .filter(|v| v.contains(&name))
        .collect();
    assert_eq!(left, Vec::<String>::new(), "volumes left behind");
    assert!(
        pool.volumes().contains(&"tiny.img".to_string()),
        "the image is not the VM's"
    );
}

/// Deletes VM `name` with its storage through the detail screen's path: the worker reads the
/// VM's details, `storage_of` picks the volumes the delete dialog lists (and submits), and
/// `VmOp::Delete` removes them. Returns what was listed and the result.
fn delete_with_storage(w: &Worker, tag: u64, name: &str) -> (Vec<Source>, Result<String, String>) {
    let uuid = conn()
        .lookup_domain_by_name(name)
        .unwrap()
        .uuid_string()
        .unwrap();
    w.handle.send(HostCommand::Vm(VmCmd::Details {
        id: RequestId(tag + 1_000),
        uuid: uuid.clone(),
    }));
    let details = w.wait("VM details", WAIT, |ev| match ev {
        HostEvent::Reply {
            id,
            reply: Reply::VmDetails(result),
        } if id == RequestId(tag + 1_000) => Some(result),
        _ => None,
    });
    let details = details.unwrap_or_else(|e| panic!("details: {e}"));
    let volumes = storage_of(&details.hardware);
    w.handle.send(HostCommand::Vm(VmCmd::Act {
        id: RequestId(tag),
        uuid,
        op: VmOp::Delete(DeleteOpts {
            volumes: volumes.clone(),
            snapshots: true,
            nvram: true,
        }),
    }));
    let result = w.wait("delete result", WAIT, |ev| match ev {
        HostEvent::Reply {
            id,
            reply: Reply::Done(result),
        } if id == RequestId(tag) => Some(result),
        _ => None,
    });
    (volumes, result)
}

#[test]
fn a_cancelled_job_creates_nothing() {
    if !daemon_available() {
        return;
    }
    let pool = Pool::new("cancel");
    let name = unique("cancel");
    let _dom = DomainGuard(name.clone());
    let mut vm = pxe_on_default(&name);
    vm.disks.push(DiskSource::New {
        pool: pool.name.clone(),
        name: "never.qcow2".into(),
        capacity: MIB,
        format: DiskFormat::Qcow2,
    });
    let job = Job::new("create");
    // Cancelled while queued: the job stops before its first step.
    job.cancel();
    let w = Worker::start(URI);
    let (result, job) = create_with(&w, 1, vm, false, job);
    let e = result.unwrap_err();
    assert!(e.starts_with("cancelled"), "{e}");
    assert_eq!(job.done(), 0);
    assert!(!domain_exists(&name));
    assert_eq!(pool.volumes(), Vec::<String>::new());
}

#[test]
fn install_tree_boots_its_kernel_once_then_the_disk() {
    if !daemon_available() {
        return;
    }
    // The network test's kernel and busybox initramfs stand in for an installer's.
    let boot = common::dhcp_guest::boot_files();
    let pool = Pool::new("url");
    let name = unique("url");
    let _dom = DomainGuard(name.clone());
    let os = OsDb::shared().unwrap().get("debian11").unwrap();
    let mut vm = spec(
        &name,
        InstallMethod::Url {
            kernel: boot.kernel.to_string_lossy().into_owned(),
            initrd: boot.initrd.to_string_lossy().into_owned(),
            cmdline: "console=ttyS0 quiet".into(),
        },
    );
    vm.disks.push(vm.default_disk(os, &pool.name));
    if let DiskSource::New { capacity, .. } = &mut vm.disks[0] {
        *capacity = 16 * MIB;
    }
    let w = Worker::start(URI);
    // start = false: an install-tree install starts anyway (its first boot is transient).
    let (result, job) = create(&w, 1, vm, false);
    result.unwrap_or_else(|e| panic!("create failed: {e}"));
    assert_eq!(job.total(), 3, "volume, define, start");
    assert!(is_running(&name));
    let dom = conn().lookup_domain_by_name(&name).unwrap();
    assert!(dom.is_persistent().unwrap(), "the final definition stays");
    let live = dom.xml_desc(0).unwrap();
    assert!(live.contains("<kernel>") && live.contains("<cmdline>console=ttyS0 quiet</cmdline>"));
    assert!(live.contains("<on_reboot>destroy</on_reboot>"), "{live}");
    let inactive = dom.xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE).unwrap();
    assert!(!inactive.contains("<kernel>"), "{inactive}");
    assert!(inactive.contains("<boot dev='hd'/>"), "{inactive}");
    // Stopping the install boot leaves the VM defined, booting its disk next time.
    dom.destroy().unwrap();
    assert!(domain_exists(&name));
    let after = dom.xml_desc(0).unwrap();
    assert!(!after.contains("<kernel>"), "{after}");
}

/// Serves `files` (URL path → bytes) over HTTP on 127.0.0.1 until the process ends; 404 for
/// anything else. Enough for the create job's download (one GET per connection).
fn serve(files: Vec<(&'static str, Vec<u8>)>) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            // Skip the headers.
            let mut h = String::new();
            while reader.read_line(&mut h).is_ok_and(|n| n > 2) {
                h.clear();
            }
            let path = line.split_whitespace().nth(1).unwrap_or("");
            let mut out = &stream;
            match files.iter().find(|(p, _)| *p == path) {
                Some((_, body)) => {
                    let _ = write!(
                        out,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = out.write_all(body);
                }
                None => {
                    let _ = out.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                }
            }
        }
    });
    base
}

#[test]
fn install_tree_urls_are_downloaded_into_the_pool_and_booted() {
    if !daemon_available() {
        return;
    }
    let boot = common::dhcp_guest::boot_files();
    let kernel = std::fs::read(&boot.kernel).unwrap();
    let initrd = std::fs::read(&boot.initrd).unwrap();
    let base = serve(vec![
        ("/tree/linux", kernel.clone()),
        ("/tree/initrd.gz", initrd.clone()),
    ]);
    let pool = Pool::new("urlfetch");
    let os = OsDb::shared().unwrap().get("debian11").unwrap();
    let make = |name: &str, initrd_path: &str| {
        let mut vm = spec(
            name,
            InstallMethod::Url {
                kernel: format!("{base}/tree/linux"),
                initrd: format!("{base}{initrd_path}"),
                cmdline: "console=ttyS0 quiet".into(),
            },
        );
        vm.disks.push(vm.default_disk(os, &pool.name));
        if let DiskSource::New { capacity, .. } = &mut vm.disks[0] {
            *capacity = 16 * MIB;
        }
        vm
    };
    let w = Worker::start(URI);

    // A missing initrd: the kernel already downloaded and the disk are removed again.
    let name = unique("urlbad");
    let _dom = DomainGuard(name.clone());
    let (result, job) = create(&w, 1, make(&name, "/tree/missing.gz"), true);
    let e = result.unwrap_err();
    assert!(
        e.contains("404") && e.contains("nothing was left behind"),
        "{e}"
    );
    assert!(matches!(job.state(), JobState::Failed(_)));
    assert!(pool.volumes().is_empty(), "{:?}", pool.volumes());
    assert!(!domain_exists(&name));

    let name = unique("urlok");
    let _dom = DomainGuard(name.clone());
    let (result, job) = create(&w, 2, make(&name, "/tree/initrd.gz"), false);
    result.unwrap_or_else(|e| panic!("create failed: {e}"));
    assert_eq!(job.total(), 5, "volume, kernel, initrd, define, start");
    let mut want = vec![
        format!("{name}-initrd"),
        format!("{name}-kernel"),
        os_disk_name(&pool, &name),
    ];
    want.sort();
    assert_eq!(pool.volumes(), want);
    let on_disk = |v: &str| std::fs::read(pool.dir.path().join(v)).unwrap();
    assert_eq!(
        on_disk(&format!("{name}-kernel")),
        kernel,
        "kernel byte for byte"
    );
    assert_eq!(
        on_disk(&format!("{name}-initrd")),
        initrd,
        "initrd byte for byte"
    );
    assert!(is_running(&name));
    let live = conn()
        .lookup_domain_by_name(&name)
        .unwrap()
        .xml_desc(0)
        .unwrap();
    let kpath = pool.dir.path().join(format!("{name}-kernel"));
    assert!(
        live.contains(&format!(
            "<kernel>{}</kernel>",
            escape(kpath.to_string_lossy().as_ref())
        )),
        "{live}"
    );
    // The boot files are named only by the install boot: deleting the VM with its storage
    // still finds them (virtdeck recorded them) and leaves the pool empty.
    let (listed, result) = delete_with_storage(&w, 3, &name);
    result.unwrap_or_else(|e| panic!("delete failed: {e}"));
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(pool.volumes().is_empty(), "{:?}", pool.volumes());
}

/// The name of the VM's own new disk among the pool's volumes.
fn os_disk_name(pool: &Pool, vm: &str) -> String {
    pool.volumes()
        .into_iter()
        .find(|v| v.starts_with(vm) && !v.ends_with("-kernel") && !v.ends_with("-initrd"))
        .unwrap_or_default()
}
