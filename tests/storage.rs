//! Storage through the host worker on a real qemu:///system daemon: pools of type dir, fs
//! (ext4 on a loop device) and logical (a VG on a loop device), volumes (create, clone,
//! resize, upload, download, wipe, delete, the VMs using them) and secrets. Every command goes
//! through `HostCommand::Storage`, so the worker's whole path is covered. Skipped when no
//! daemon is reachable, unless VIRTDECK_REQUIRE_KVM=1; one test runs on the test driver.
//!
//! Names are unique per process and test; guards undo everything on drop, also when an
//! assertion fails half-way.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::guest::{daemon_available, unique};
use common::loopdev::{LoopDev, VgGuard};
use common::worker::WAIT;
use quick_xml::escape::escape;
use virt::connect::Connect;
use virtdeck::host::{HostEvent, PoolOp, Reply, RequestId, StorageCmd, VolOp};
use virtdeck::job::{Job, JobState};
use virtdeck::model::storage::{Pool, PoolSource, PoolState, StorageInventory, Volume};

const URI: &str = "qemu:///system";
const MIB: u64 = 1024 * 1024;

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("vdk-storage-")
        .tempdir()
        .unwrap()
}

type Worker = common::worker::Worker<StorageInventory>;

impl Worker {
    fn sources(&self, kind: &str, spec: Option<&str>) -> Result<Vec<PoolSource>, String> {
        let id = RequestId(1 << 40);
        self.send(StorageCmd::FindSources {
            id,
            kind: kind.into(),
            spec: spec.map(str::to_string),
        });
        self.wait("sources", WAIT, |ev| match ev {
            HostEvent::Reply {
                id: i,
                reply: Reply::Sources(result),
            } if i == id => Some(result),
            _ => None,
        })
    }

    fn pool_op(&mut self, pool: &str, op: PoolOp) -> StorageInventory {
        self.ok(|id| StorageCmd::Pool {
            id,
            pool: pool.into(),
            op,
        })
        .1
    }

    fn vol_op(
        &mut self,
        pool: &str,
        volume: &str,
        op: VolOp,
    ) -> (Result<String, String>, StorageInventory) {
        self.act(|id| StorageCmd::Volume {
            id,
            pool: pool.into(),
            volume: volume.into(),
            op,
        })
    }

    /// Creates a volume of `bytes` in `pool` (`volume_xml`).
    fn create_vol(
        &mut self,
        pool: &str,
        volume: &str,
        bytes: u64,
        format: &str,
        backing: Option<&str>,
    ) -> (Result<String, String>, StorageInventory) {
        let xml = volume_xml(volume, bytes, format, backing);
        self.vol_op(pool, volume, VolOp::Create { xml })
    }

    /// Defines, builds and starts a directory pool under `dir`, named after `tag`; the guard
    /// removes it.
    fn dir_pool(&mut self, dir: &Path, tag: &str) -> (String, PoolGuard) {
        let name = unique(tag);
        let guard = PoolGuard(name.clone());
        self.define_pool(&dir_pool_xml(&name, &dir.join("pool")), true, true);
        (name, guard)
    }

    fn define_pool(&mut self, xml: &str, build: bool, start: bool) -> (String, StorageInventory) {
        self.ok(|id| StorageCmd::DefinePool {
            id,
            xml: xml.into(),
            secret: None,
            build,
            start,
            autostart: false,
        })
    }

    /// Sends a transfer and waits for its end.
    fn transfer(&self, cmd: StorageCmd, job: &Job) -> JobState {
        self.send(cmd);
        let until = Instant::now() + Duration::from_secs(30);
        while job.state() == JobState::Running {
            assert!(Instant::now() < until, "transfer still running: {job:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        job.state()
    }
}

fn pool<'a>(inv: &'a StorageInventory, name: &str) -> Option<&'a Pool> {
    inv.pools.iter().find(|p| p.name == name)
}

fn vol<'a>(inv: &'a StorageInventory, pool_name: &str, name: &str) -> Option<&'a Volume> {
    pool(inv, pool_name)?
        .volumes
        .iter()
        .find(|v| v.name == name)
}

fn conn() -> Connect {
    Connect::open(Some(URI)).unwrap()
}

/// A pool destroyed and undefined on drop, if still there.
struct PoolGuard(String);

impl Drop for PoolGuard {
    fn drop(&mut self) {
        if let Ok(p) = conn().lookup_storage_pool_by_name(&self.0) {
            let _ = p.destroy();
            let _ = p.undefine();
        }
    }
}

struct SecretGuard(String);

impl Drop for SecretGuard {
    fn drop(&mut self) {
        if let Ok(s) = conn().lookup_secret_by_uuid_string(&self.0) {
            let _ = s.undefine();
        }
    }
}

struct DomainGuard(String);

impl Drop for DomainGuard {
    fn drop(&mut self) {
        if let Ok(d) = conn().lookup_domain_by_uuid_string(&self.0) {
            let _ = d.undefine();
        }
    }
}

fn dir_pool_xml(name: &str, path: &Path) -> String {
    format!(
        "<pool type='dir'><name>{}</name><target><path>{}</path></target></pool>",
        escape(name),
        escape(path.to_string_lossy().as_ref())
    )
}

fn volume_xml(name: &str, bytes: u64, format: &str, backing: Option<&str>) -> String {
    let backing = backing
        .map(|p| {
            format!(
                "<backingStore><path>{}</path><format type='raw'/></backingStore>",
                escape(p)
            )
        })
        .unwrap_or_default();
    format!(
        "<volume><name>{}</name><capacity unit='bytes'>{bytes}</capacity>\
         <target><format type='{format}'/></target>{backing}</volume>",
        escape(name)
    )
}

fn mounted(dir: &Path) -> bool {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    let dir = dir.to_string_lossy();
    mounts
        .lines()
        .any(|l| l.split(' ').nth(1) == Some(dir.as_ref()))
}

#[test]
fn dir_pool_define_lifecycle_and_duplicate() {
    if !daemon_available() {
        return;
    }
    let dir = tempdir();
    let mut w = Worker::start(URI);
    let name = unique("dir");
    let _guard = PoolGuard(name.clone());
    let path = dir.path().join("pool dir");
    let xml = dir_pool_xml(&name, &path);

    let (text, inv) = w.ok(|id| StorageCmd::DefinePool {
        id,
        xml: xml.clone(),
        secret: None,
        build: true,
        start: true,
        autostart: true,
    });
    assert_eq!(
        text,
        format!("pool {name} defined, built, started and set to autostart")
    );
    let p = pool(&inv, &name).expect("new pool listed");
    assert_eq!(p.state, PoolState::Running);
    assert!(p.autostart && p.persistent, "{p:?}");
    assert!(p.capacity > 0 && p.available > 0, "{p:?}");
    assert_eq!(p.kind, "dir");
    assert_eq!(p.target.as_deref(), Some(path.to_string_lossy().as_ref()));
    assert!(p.volumes.is_empty());
    assert!(path.is_dir(), "build created the directory");

    let inv = w.pool_op(&name, PoolOp::Stop);
    let p = pool(&inv, &name).unwrap();
    assert_eq!((p.state, p.volumes.len()), (PoolState::Inactive, 0));
    // Building a stopped dir pool over its existing directory is fine.
    w.pool_op(&name, PoolOp::Build);
    let inv = w.pool_op(&name, PoolOp::Start);
    assert_eq!(pool(&inv, &name).unwrap().state, PoolState::Running);
    w.pool_op(&name, PoolOp::Refresh);
    let inv = w.pool_op(&name, PoolOp::SetAutostart(false));
    assert!(!pool(&inv, &name).unwrap().autostart);
    let inv = w.pool_op(&name, PoolOp::SetAutostart(true));
    assert!(pool(&inv, &name).unwrap().autostart);
    // libvirt builds inactive pools only.
    let (e, _) = w.err(|id| StorageCmd::Pool {
        id,
        pool: name.clone(),
        op: PoolOp::Build,
    });
    assert!(e.contains("already active"), "{e}");

    // Deleting the storage of a running pool is refused before libvirt is asked.
    let (e, _) = w.err(|id| StorageCmd::Pool {
        id,
        pool: name.clone(),
        op: PoolOp::Delete,
    });
    assert!(e.contains("stop the pool first"), "{e}");

    // Same name again: libvirt's text, and the existing pool is untouched.
    let (e, inv) = w.err(|id| StorageCmd::DefinePool {
        id,
        xml: xml.clone(),
        secret: None,
        build: true,
        start: true,
        autostart: false,
    });
    eprintln!("duplicate pool: {e}");
    assert!(e.contains("already exists"), "{e}");
    assert!(!e.contains("code="), "no crate debug suffix: {e}");
    let p = pool(&inv, &name).expect("original pool kept");
    assert_eq!(p.state, PoolState::Running);

    w.pool_op(&name, PoolOp::Stop);
    let (text, _) = w.ok(|id| StorageCmd::Pool {
        id,
        pool: name.clone(),
        op: PoolOp::Delete,
    });
    assert_eq!(text, format!("storage of pool {name} deleted"));
    assert!(!path.exists(), "delete removed the directory");
    let inv = w.pool_op(&name, PoolOp::Undefine);
    assert!(pool(&inv, &name).is_none());

    // An unknown pool: libvirt's "not found" text.
    let (e, _) = w.err(|id| StorageCmd::Pool {
        id,
        pool: name.clone(),
        op: PoolOp::Start,
    });
    eprintln!("unknown pool: {e}");
    assert!(e.contains(&name), "{e}");
}

#[test]
fn failed_pool_definition_leaves_nothing_defined() {
    if !daemon_available() {
        return;
    }
    let dir = tempdir();
    let mut w = Worker::start(URI);
    let name = unique("bad");
    let _guard = PoolGuard(name.clone());
    // A directory under a regular file cannot be created.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let usage = format!("{} client", unique("rollback"));
    let secret_xml = format!(
        "<secret ephemeral='no' private='yes'><usage type='ceph'><name>{}</name></usage></secret>",
        escape(usage.as_str())
    );
    let (e, inv) = w.err(|id| StorageCmd::DefinePool {
        id,
        xml: dir_pool_xml(&name, &file.join("pool")),
        secret: Some((secret_xml, b"AQBtest==".to_vec())),
        build: true,
        start: true,
        autostart: true,
    });
    eprintln!("failed build: {e}");
    assert!(e.ends_with("(nothing was left defined)"), "{e}");
    assert!(pool(&inv, &name).is_none(), "pool undefined again");
    assert!(
        inv.secrets.iter().all(|s| s.usage_id != usage),
        "secret undefined again: {:?}",
        inv.secrets
    );
    // Checked behind the worker's back too.
    let c = conn();
    assert!(c.lookup_storage_pool_by_name(&name).is_err());
    assert!(c
        .lookup_secret_by_usage(virt::sys::VIR_SECRET_USAGE_TYPE_CEPH as i32, &usage)
        .is_err());

    // Start failing after a successful define (no build, the directory does not exist).
    let (e, inv) = w.err(|id| StorageCmd::DefinePool {
        id,
        xml: dir_pool_xml(&name, &dir.path().join("missing")),
        secret: None,
        build: false,
        start: true,
        autostart: false,
    });
    eprintln!("failed start: {e}");
    assert!(e.ends_with("(nothing was left defined)"), "{e}");
    assert!(pool(&inv, &name).is_none());
}

#[test]
fn fs_pool_on_an_ext4_loop_device_mounts_and_unmounts() {
    if !daemon_available() {
        return;
    }
    let dir = tempdir();
    let Some(lo) = LoopDev::create(dir.path(), 32) else {
        return;
    };
    lo.mkfs_ext4();
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let mut w = Worker::start(URI);
    let name = unique("fs");
    let _guard = PoolGuard(name.clone());
    let xml = format!(
        "<pool type='fs'><name>{}</name><source><device path='{}'/><format type='ext4'/>\
         </source><target><path>{}</path></target></pool>",
        escape(name.as_str()),
        escape(lo.dev.as_str()),
        escape(mnt.to_string_lossy().as_ref())
    );
    // Already formatted: no build (libvirt's build would refuse to overwrite the ext4).
    let (_, inv) = w.define_pool(&xml, false, true);
    let p = pool(&inv, &name).unwrap();
    assert_eq!((p.kind.as_str(), p.state), ("fs", PoolState::Running));
    assert!(p.capacity > 20 * MIB, "{p:?}");
    assert!(mounted(&mnt), "start mounted the filesystem");

    let (r, inv) = w.create_vol(&name, "data.raw", MIB, "raw", None);
    assert_eq!(
        r.unwrap(),
        format!("volume data.raw created in pool {name}")
    );
    let v = vol(&inv, &name, "data.raw").expect("volume listed");
    assert_eq!(v.path, mnt.join("data.raw").to_string_lossy());
    assert_eq!((v.capacity, v.kind.as_str()), (MIB, "file"));

    w.pool_op(&name, PoolOp::Stop);
    assert!(!mounted(&mnt), "stop unmounted it");
    let inv = w.pool_op(&name, PoolOp::Undefine);
    assert!(pool(&inv, &name).is_none());
}

#[test]
fn logical_pool_builds_and_deletes_its_volume_group() {
    if !daemon_available() {
        return;
    }
    let dir = tempdir();
    let Some(lo) = LoopDev::create(dir.path(), 64) else {
        return;
    };
    let vg = unique("vg").replace('-', "_");
    let vg_guard = VgGuard {
        vg: vg.clone(),
        pv: lo.dev.clone(),
    };
    let mut w = Worker::start(URI);
    let name = unique("lvm");
    let _guard = PoolGuard(name.clone());
    let xml = format!(
        "<pool type='logical'><name>{}</name><source><device path='{}'/><name>{vg}</name>\
         <format type='lvm2'/></source><target><path>/dev/{vg}</path></target></pool>",
        escape(name.as_str()),
        escape(lo.dev.as_str()),
    );
    let (text, inv) = w.define_pool(&xml, true, true);
    assert_eq!(text, format!("pool {name} defined, built and started"));
    assert!(vg_guard.exists(), "build created the VG");
    let p = pool(&inv, &name).unwrap();
    assert_eq!((p.kind.as_str(), p.state), ("logical", PoolState::Running));
    assert!(p.capacity > 32 * MIB, "{p:?}");

    let found = w.sources("logical", None).expect("logical sources");
    assert!(
        found
            .iter()
            .any(|s| s.name.as_deref() == Some(vg.as_str()) && s.devices.contains(&lo.dev)),
        "{vg} on {} among {found:?}",
        lo.dev
    );

    let (r, inv) = w.vol_op(
        &name,
        "lv1",
        VolOp::Create {
            xml: "<volume><name>lv1</name><capacity unit='MiB'>8</capacity></volume>".into(),
        },
    );
    match r {
        Ok(_) => {
            let v = vol(&inv, &name, "lv1").expect("LV listed");
            assert_eq!((v.kind.as_str(), v.capacity), ("block", 8 * MIB));
            let (r, inv) = w.vol_op(&name, "lv1", VolOp::Delete);
            r.unwrap();
            assert!(vol(&inv, &name, "lv1").is_none());
        }
        // Containers without the device-mapper driver can make VGs but no LVs.
        Err(e) if e.contains("device-mapper") => {
            eprintln!("note: no LVs on this kernel (no device-mapper): {e}");
        }
        Err(e) => panic!("lvcreate: {e}"),
    }

    w.pool_op(&name, PoolOp::Stop);
    w.pool_op(&name, PoolOp::Delete);
    assert!(!vg_guard.exists(), "pool delete removed the VG");
    let inv = w.pool_op(&name, PoolOp::Undefine);
    assert!(pool(&inv, &name).is_none());
}

/// Deterministic pseudo-random bytes (xorshift), so a failure is reproducible.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn part_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".part"))
        .collect()
}

#[test]
fn volumes_create_clone_resize_transfer_wipe_and_their_users() {
    if !daemon_available() {
        return;
    }
    let dir = tempdir();
    let mut w = Worker::start(URI);
    let (name, _guard) = w.dir_pool(dir.path(), "vols");
    let create = |w: &mut Worker, v: &str, bytes: u64, format: &str, backing: Option<&str>| {
        let (r, inv) = w.create_vol(&name, v, bytes, format, backing);
        (r.unwrap(), inv)
    };

    create(&mut w, "raw.img", 8 * MIB, "raw", None);
    create(&mut w, "thin.qcow2", 64 * MIB, "qcow2", None);
    let inv = w.inventory();
    let raw_path = vol(&inv, &name, "raw.img").unwrap().path.clone();
    let (_, inv) = create(&mut w, "child.qcow2", 8 * MIB, "qcow2", Some(&raw_path));
    let raw = vol(&inv, &name, "raw.img").unwrap();
    assert_eq!((raw.format.as_str(), raw.kind.as_str()), ("raw", "file"));
    assert_eq!(raw.capacity, 8 * MIB);
    assert!(raw.key.ends_with("raw.img"), "{raw:?}");
    let thin = vol(&inv, &name, "thin.qcow2").unwrap();
    assert_eq!((thin.format.as_str(), thin.capacity), ("qcow2", 64 * MIB));
    assert!(thin.allocation < MIB, "thin: {thin:?}");
    let child = vol(&inv, &name, "child.qcow2").unwrap();
    assert_eq!(child.format, "qcow2");
    assert_eq!(child.backing.as_deref(), Some(raw_path.as_str()));
    let names: Vec<&str> = pool(&inv, &name)
        .unwrap()
        .volumes
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(names, ["child.qcow2", "raw.img", "thin.qcow2"], "sorted");

    let (r, inv) = w.vol_op(
        &name,
        "copy.img",
        VolOp::Clone {
            source: "raw.img".into(),
            xml: volume_xml("copy.img", 8 * MIB, "raw", None),
        },
    );
    assert_eq!(r.unwrap(), "volume copy.img cloned from raw.img");
    assert_eq!(vol(&inv, &name, "copy.img").unwrap().capacity, 8 * MIB);

    // Grow, then a refused shrink that leaves the size alone.
    let (r, inv) = w.vol_op(&name, "raw.img", VolOp::Resize { capacity: 16 * MIB });
    assert_eq!(r.unwrap(), "volume raw.img grown to 16 MiB");
    assert_eq!(vol(&inv, &name, "raw.img").unwrap().capacity, 16 * MIB);
    let (r, inv) = w.vol_op(&name, "raw.img", VolOp::Resize { capacity: 4 * MIB });
    let e = r.unwrap_err();
    eprintln!("shrink: {e}");
    assert!(e.contains("virtdeck only grows volumes"), "{e}");
    assert_eq!(vol(&inv, &name, "raw.img").unwrap().capacity, 16 * MIB);

    transfers(&w, &name, dir.path());

    // Wipe: the uploaded bytes are gone.
    let (r, _) = w.vol_op(&name, "raw.img", VolOp::Wipe);
    assert_eq!(r.unwrap(), "volume raw.img wiped");
    let wiped = std::fs::read(&raw_path).unwrap();
    assert!(wiped.iter().all(|b| *b == 0), "wipe zeroed the volume");

    used_by(&mut w, &name);

    for v in ["child.qcow2", "thin.qcow2", "copy.img", "raw.img"] {
        let (r, _) = w.vol_op(&name, v, VolOp::Delete);
        assert_eq!(r.unwrap(), format!("volume {v} deleted"));
    }
    let inv = w.inventory();
    assert!(pool(&inv, &name).unwrap().volumes.is_empty());
    let (r, _) = w.vol_op(&name, "raw.img", VolOp::Delete);
    let e = r.unwrap_err();
    eprintln!("unknown volume: {e}");
    assert!(e.contains("raw.img"), "{e}");
}

/// A file copied into a dir pool's directory is unknown to libvirt until the pool is
/// refreshed: `Refresh` does not list it, `Rescan` (what the new-VM wizard sends when it
/// opens) does.
#[test]
fn rescan_lists_a_file_copied_into_a_pool() {
    if !daemon_available() {
        return;
    }
    let dir = tempdir();
    let mut w = Worker::start(URI);
    let name = unique("rescan");
    let _guard = PoolGuard(name.clone());
    let path = dir.path().join("pool");
    w.define_pool(&dir_pool_xml(&name, &path), true, true);
    std::fs::write(path.join("copied.img"), vec![0u8; 4096]).unwrap();
    let listed = |w: &mut Worker, cmd: StorageCmd| {
        w.send(cmd);
        w.wait("inventory", WAIT, |ev| match ev {
            HostEvent::Storage(inv) => Some(vol(&inv, &name, "copied.img").is_some()),
            _ => None,
        })
    };
    assert!(
        !listed(&mut w, StorageCmd::Refresh),
        "libvirt knew the file already"
    );
    assert!(
        listed(&mut w, StorageCmd::Rescan),
        "the rescan did not list it"
    );
}

/// The new-VM wizard's image check reads a volume's first bytes through libvirt: a 25-byte
/// text file is no boot disk, a qcow2 made by qemu-img is, and an unknown volume is an error.
#[test]
fn sniff_tells_a_disk_image_from_a_text_file() {
    use virtdeck::diskimage::Head;
    if !daemon_available() {
        return;
    }
    let dir = tempdir();
    let mut w = Worker::start(URI);
    let name = unique("sniff");
    let _guard = PoolGuard(name.clone());
    let path = dir.path().join("pool");
    w.define_pool(&dir_pool_xml(&name, &path), true, true);
    std::fs::write(path.join("notes.txt"), b"just some text, 25 bytes\n").unwrap();
    let made = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(path.join("cloud.qcow2"))
        .arg("64M")
        .status()
        .unwrap();
    assert!(made.success(), "qemu-img create");
    w.send(StorageCmd::Rescan);
    w.wait("inventory", WAIT, |ev| {
        matches!(ev, HostEvent::Storage(_)).then_some(())
    });
    let sniff = |volume: &str| {
        // One at a time: each answer is taken before the next question.
        let id = RequestId(1 << 40);
        w.send(StorageCmd::Sniff {
            id,
            pool: name.clone(),
            volume: volume.into(),
        });
        w.wait("image head", WAIT, |ev| match ev {
            HostEvent::Reply {
                id: i,
                reply: Reply::ImageHead(result),
            } if i == id => Some(result),
            _ => None,
        })
    };
    assert_eq!(sniff("notes.txt"), Ok(Head::Unbootable));
    assert_eq!(sniff("cloud.qcow2"), Ok(Head::Qcow2));
    let e = sniff("missing.img").unwrap_err();
    assert!(e.contains("missing.img"), "{e}");
}

/// Wiping 2 GiB takes seconds; the worker must keep answering meanwhile (the action runs on
/// a thread of its own), or a busy host would be shown as "not responding".
#[test]
fn a_long_volume_action_does_not_hold_up_the_worker() {
    if !daemon_available() {
        return;
    }
    let dir = tempdir();
    let mut w = Worker::start(URI);
    let (name, _guard) = w.dir_pool(dir.path(), "slow");
    let (r, _) = w.create_vol(&name, "big.img", 2048 * MIB, "raw", None);
    r.unwrap();
    w.send(StorageCmd::Volume {
        id: RequestId(9_000),
        pool: name.clone(),
        volume: "big.img".into(),
        op: VolOp::Wipe,
    });
    std::thread::sleep(Duration::from_millis(100));
    let asked = Instant::now();
    w.send(StorageCmd::Refresh);
    let mut order = Vec::new();
    w.wait("wipe result", WAIT, |ev| match ev {
        HostEvent::Storage(_) if order.is_empty() => {
            order.push(format!("inventory after {:?}", asked.elapsed()));
            None
        }
        HostEvent::Reply {
            id: RequestId(9_000),
            reply: Reply::Done(result),
        } => {
            order.push(format!("wipe: {result:?}"));
            Some(())
        }
        _ => None,
    });
    eprintln!("{order:?}");
    assert!(
        order[0].starts_with("inventory"),
        "the refresh waited for the wipe: {order:?}"
    );
    assert_eq!(order[1], "wipe: Ok(\"volume big.img wiped\")");
    let (r, _) = w.vol_op(&name, "big.img", VolOp::Delete);
    r.unwrap();
}

/// Upload into raw.img (16 MiB), download it back, and the refusals around them.
fn transfers(w: &Worker, pool: &str, dir: &Path) {
    let data = noise(5 * MIB as usize + 4321, 0x9e37_79b9_7f4a_7c15);
    let up = dir.join("up.bin");
    std::fs::write(&up, &data).unwrap();
    let upload = |volume: &str, file: &Path| {
        let job = Job::new("upload");
        let cmd = StorageCmd::Upload {
            pool: pool.into(),
            volume: volume.into(),
            file: file.to_path_buf(),
            job: job.clone(),
        };
        (w.transfer(cmd, &job), job)
    };
    let download = |file: &Path, job: &Job| {
        let cmd = StorageCmd::Download {
            pool: pool.into(),
            volume: "raw.img".into(),
            file: file.to_path_buf(),
            job: job.clone(),
        };
        w.transfer(cmd, job)
    };

    let (state, job) = upload("raw.img", &up);
    assert_eq!(state, JobState::Done);
    assert_eq!(
        (job.done(), job.total()),
        (data.len() as u64, data.len() as u64)
    );

    let down = dir.join("down.bin");
    let job = Job::new("download");
    assert_eq!(download(&down, &job), JobState::Done);
    let back = std::fs::read(&down).unwrap();
    assert_eq!(back.len() as u64, 16 * MIB, "the whole volume comes back");
    assert!(
        back[..data.len()] == data[..],
        "uploaded bytes come back unchanged"
    );
    assert_eq!(job.done(), 16 * MIB);

    // Never overwrites.
    let job = Job::new("download");
    match download(&down, &job) {
        JobState::Failed(e) => assert!(e.contains("already exists"), "{e}"),
        s => panic!("{s:?}"),
    }

    // Cancelled on the first progress report: nothing left behind.
    let cancelled = dir.join("cancelled.bin");
    let job = Job::new("download");
    let j = job.clone();
    job.set_wake(Arc::new(move || j.cancel()));
    assert_eq!(download(&cancelled, &job), JobState::Cancelled);
    job.set_wake(Arc::new(|| {}));
    assert!(job.done() < 16 * MIB, "stopped early: {job:?}");
    assert!(!cancelled.exists());
    assert!(part_files(dir).is_empty(), "{:?}", part_files(dir));

    // Bigger than the volume (copy.img is 8 MiB), and a missing file.
    let big = dir.join("big.bin");
    std::fs::write(&big, vec![1u8; 9 * MIB as usize]).unwrap();
    match upload("copy.img", &big).0 {
        JobState::Failed(e) => {
            eprintln!("too big: {e}");
            assert!(e.contains("larger than volume copy.img"), "{e}");
        }
        s => panic!("{s:?}"),
    }
    match upload("copy.img", &dir.join("nope.bin")).0 {
        JobState::Failed(e) => assert!(e.contains("nope.bin"), "{e}"),
        s => panic!("{s:?}"),
    }
}

/// A defined (shut-off) VM with a file disk on child.qcow2 and a pool/volume disk on copy.img.
fn used_by(w: &mut Worker, pool_name: &str) {
    let inv = w.inventory();
    let child = vol(&inv, pool_name, "child.qcow2").unwrap().path.clone();
    let vm = format!("{} <&'\"> ü", unique("user"));
    let xml = format!(
        "<domain type='qemu'><name>{}</name><memory unit='MiB'>64</memory>\
         <os><type arch='x86_64'>hvm</type></os><devices>\
         <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
         <source file='{}'/><target dev='vda' bus='virtio'/></disk>\
         <disk type='volume' device='disk'><driver name='qemu' type='raw'/>\
         <source pool='{}' volume='copy.img'/><target dev='vdb' bus='virtio'/></disk>\
         </devices></domain>",
        escape(vm.as_str()),
        escape(child.as_str()),
        escape(pool_name)
    );
    let dom = conn().define_domain_xml(&xml).expect("define the test VM");
    let _guard = DomainGuard(dom.uuid_string().unwrap());
    assert_eq!(dom.name().unwrap(), vm);
    let inv = w.inventory();
    assert_eq!(
        vol(&inv, pool_name, "child.qcow2").unwrap().used_by,
        std::slice::from_ref(&vm)
    );
    assert_eq!(
        vol(&inv, pool_name, "copy.img").unwrap().used_by,
        std::slice::from_ref(&vm)
    );
    assert!(vol(&inv, pool_name, "thin.qcow2")
        .unwrap()
        .used_by
        .is_empty());
}

#[test]
fn secrets_define_set_value_and_delete() {
    if !daemon_available() {
        return;
    }
    let mut w = Worker::start(URI);
    let usage = format!("{} client.admin", unique("ceph"));
    let xml = format!(
        "<secret ephemeral='no' private='no'><description>virtdeck test &amp; co</description>\
         <usage type='ceph'><name>{}</name></usage></secret>",
        escape(usage.as_str())
    );
    let (text, inv) = w.ok(|id| StorageCmd::DefineSecret {
        id,
        xml,
        value: Some(b"first".to_vec()),
    });
    assert_eq!(text, format!("secret {usage} defined with its value"));
    let s = inv
        .secrets
        .iter()
        .find(|s| s.usage_id == usage)
        .expect("secret listed")
        .clone();
    let _guard = SecretGuard(s.uuid.clone());
    assert_eq!(s.usage, "ceph");
    assert_eq!(s.description, "virtdeck test & co");
    assert!(!s.ephemeral && !s.private, "{s:?}");
    let value = || {
        conn()
            .lookup_secret_by_uuid_string(&s.uuid)
            .unwrap()
            .value(0)
            .unwrap()
    };
    assert_eq!(value(), b"first");

    w.ok(|id| StorageCmd::SetSecretValue {
        id,
        uuid: s.uuid.clone(),
        value: b"second".to_vec(),
    });
    assert_eq!(value(), b"second");

    let (_, inv) = w.ok(|id| StorageCmd::DeleteSecret {
        id,
        uuid: s.uuid.clone(),
    });
    assert!(inv.secrets.iter().all(|x| x.uuid != s.uuid));
    let (e, _) = w.err(|id| StorageCmd::DeleteSecret {
        id,
        uuid: s.uuid.clone(),
    });
    eprintln!("unknown secret: {e}");
    assert!(e.contains(&s.uuid), "{e}");
}

#[test]
fn find_sources_answers_for_netfs() {
    if !daemon_available() {
        return;
    }
    let w = Worker::start(URI);
    let t = Instant::now();
    let r = w.sources("netfs", Some("<source><host name='127.0.0.1'/></source>"));
    eprintln!("netfs sources on 127.0.0.1 ({:?}): {r:?}", t.elapsed());
    if let Err(e) = r {
        assert!(!e.is_empty() && !e.contains("code="), "{e}");
    }
    // A type without source discovery.
    let r = w.sources("dir", None);
    eprintln!("dir sources: {r:?}");
    assert!(r.is_err());
}

/// The libvirt test driver has a storage driver too: the same path works without a daemon.
#[test]
fn test_driver_inventory_and_volume_actions() {
    virtdeck::host::ensure_event_loop();
    let mut w = Worker::start("test:///default");
    let inv = w.inventory();
    let p = pool(&inv, "default-pool").expect("test driver's pool");
    assert_eq!((p.kind.as_str(), p.state), ("dir", PoolState::Running));
    assert_eq!(p.target.as_deref(), Some("/default-pool"));
    assert!(p.capacity > 0 && p.persistent);

    let (r, inv) = w.create_vol("default-pool", "a.img", MIB, "raw", None);
    assert_eq!(r.unwrap(), "volume a.img created in pool default-pool");
    let v = vol(&inv, "default-pool", "a.img").unwrap();
    assert_eq!(
        (v.path.as_str(), v.format.as_str(), v.capacity),
        ("/default-pool/a.img", "raw", MIB)
    );
    let (r, _) = w.vol_op("default-pool", "a.img", VolOp::Resize { capacity: 1 });
    assert!(r.unwrap_err().contains("only grows"));
    let (r, inv) = w.vol_op("default-pool", "a.img", VolOp::Delete);
    r.unwrap();
    assert!(vol(&inv, "default-pool", "a.img").is_none());
}

/// The whole UI path of a transfer on the real daemon: the volumes pane, `i` and `e`, their
/// forms, the job in the transfers panel, and the bytes that arrive.
#[test]
fn upload_and_download_through_the_ui() {
    use virtdeck::app::{storage, HostSpec, Mode, View};
    if !daemon_available() {
        return;
    }
    let dir = tempdir();
    let mut w = Worker::start(URI);
    let (name, _guard) = w.dir_pool(dir.path(), "ui");
    let (r, _) = w.create_vol(&name, "disk.img", 4 * MIB, "raw", None);
    r.unwrap();
    let data = noise(3 * MIB as usize + 17, 42);
    let src = dir.path().join("in.bin");
    std::fs::write(&src, &data).unwrap();

    let mut live = common::start(
        vec![(
            HostSpec {
                name: "local".into(),
                uri: URI.into(),
            },
            virtdeck::host::WorkerOptions::default(),
        )],
        false,
    );
    assert!(live.pump_until(WAIT, |a| a.hosts[0].status.is_connected()));
    live.press("3");
    assert!(live.pump_until(WAIT, |a| a.hosts[0].storage.is_some()));
    // The form's file field is no longer being checked (the probe answered).
    let checked = |a: &virtdeck::app::App| match &a.mode {
        Mode::Wizard(w) => !w
            .field("file")
            .and_then(|f| f.error.as_deref())
            .is_some_and(|e| e.starts_with("checking ") || e.starts_with("finding ")),
        _ => true,
    };
    let row = storage::pool_rows(&live.app)
        .iter()
        .position(|(_, p)| p.name == name)
        .expect("the test pool in the pane");
    live.press("g");
    for _ in 0..row {
        live.press("j");
    }
    live.press("<Enter>");
    assert!(matches!(live.app.view, View::Volumes { .. }));
    assert!(live.pump_until(WAIT, |a| storage::selected_volume(a)
        .is_some_and(|(_, _, v)| v.name == "disk.img")));

    live.press("<");
    live.type_text(&src.display().to_string());
    // The file is looked at off the UI thread: the form waits for that answer.
    assert!(live.pump_until(WAIT, checked), "{:?}", live.app.mode);
    live.press("<Enter>");
    assert_eq!(live.app.mode, Mode::Normal, "{:?}", live.app.mode);
    let finished = |a: &virtdeck::app::App| {
        a.jobs
            .list
            .last()
            .is_some_and(|j| j.job.state() != JobState::Running)
    };
    assert!(live.pump_until(WAIT, finished));
    assert_eq!(live.app.jobs.list[0].job.state(), JobState::Done);
    let path = dir.path().join("pool/disk.img");
    let stored = std::fs::read(&path).unwrap();
    assert_eq!(&stored[..data.len()], &data[..], "uploaded bytes");

    let out = dir.path().join("out.bin");
    live.press(">");
    // The default (the download directory) arrives from a probe.
    assert!(live.pump_until(
        WAIT,
        |a| matches!(&a.mode, Mode::Wizard(w) if !w.get("file").is_empty())
    ));
    let Mode::Wizard(wz) = &live.app.mode else {
        panic!("no download form: {:?}", live.app.mode)
    };
    for _ in 0..wz.get("file").chars().count() {
        live.press("<Backspace>");
    }
    live.type_text(&out.display().to_string());
    assert!(live.pump_until(WAIT, checked), "{:?}", live.app.mode);
    live.press("<Enter>");
    assert_eq!(live.app.mode, Mode::Normal, "{:?}", live.app.mode);
    assert!(live.pump_until(WAIT, finished));
    let job = &live.app.jobs.list.last().unwrap().job;
    assert_eq!(job.state(), JobState::Done);
    assert_eq!(job.done(), 4 * MIB, "the whole volume");
    assert_eq!(std::fs::read(&out).unwrap(), stored, "downloaded bytes");
    assert!(
        job.label().contains(&out.display().to_string()),
        "the transfer names the full path: {}",
        job.label()
    );

    // Into a folder that does not exist yet: the form says it makes it, and the job does.
    let nested = dir.path().join("new/sub/out2.bin");
    live.press(">");
    assert!(live.pump_until(
        WAIT,
        |a| matches!(&a.mode, Mode::Wizard(w) if !w.get("file").is_empty())
    ));
    let Mode::Wizard(wz) = &live.app.mode else {
        panic!("no download form: {:?}", live.app.mode)
    };
    for _ in 0..wz.get("file").chars().count() {
        live.press("<Backspace>");
    }
    live.type_text(&nested.display().to_string());
    assert!(live.pump_until(WAIT, checked), "{:?}", live.app.mode);
    let Mode::Wizard(wz) = &live.app.mode else {
        panic!("form closed")
    };
    let warning = wz.field("file").and_then(|f| f.warning.clone());
    assert!(
        warning
            .as_deref()
            .is_some_and(|m| m.contains("creates the folder")),
        "{warning:?}"
    );
    live.press("<Enter>");
    assert_eq!(live.app.mode, Mode::Normal, "{:?}", live.app.mode);
    assert!(live.pump_until(WAIT, finished));
    let job = &live.app.jobs.list.last().unwrap().job;
    assert_eq!(job.state(), JobState::Done);
    assert_eq!(std::fs::read(&nested).unwrap(), stored, "downloaded bytes");
}
