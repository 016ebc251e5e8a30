//! A started dir pool over a temp directory on qemu:///system and a domain guard, both undone
//! on drop (also when a test fails half-way), for tests that create VMs and volumes.

use std::process::Command;

use quick_xml::escape::escape;
use virt::connect::Connect;

use super::guest::{unique, URI};
use super::loopdev::run;

const MIB: u64 = 1024 * 1024;

fn conn() -> Connect {
    Connect::open(Some(URI)).unwrap()
}

/// A started dir pool; stopped and undefined on drop (the directory goes with its TempDir,
/// unmounted first when a test mounted a filesystem there).
pub struct Pool {
    pub name: String,
    pub dir: tempfile::TempDir,
    /// A filesystem mounted on `dir`, unmounted before the directory is removed.
    pub mounted: bool,
}

impl Pool {
    /// A pool named after `tag` over a new temp directory.
    pub fn new(tag: &str) -> Pool {
        let dir = tempfile::Builder::new()
            .prefix("vdk-pool-")
            .tempdir()
            .unwrap();
        Pool::at(unique(tag), dir)
    }

    pub fn at(name: String, dir: tempfile::TempDir) -> Pool {
        let xml = format!(
            "<pool type='dir'><name>{}</name><target><path>{}</path></target></pool>",
            escape(&name),
            escape(dir.path().to_string_lossy().as_ref())
        );
        let p = conn().define_storage_pool_xml(&xml, 0).unwrap();
        let pool = Pool {
            name,
            dir,
            mounted: false,
        };
        p.create(0).unwrap();
        pool
    }

    /// The pool's volumes, sorted (an ext4 mount's lost+found is not one).
    pub fn volumes(&self) -> Vec<String> {
        let p = conn().lookup_storage_pool_by_name(&self.name).unwrap();
        p.refresh(0).unwrap();
        let mut v: Vec<String> = p
            .list_all_volumes(0)
            .unwrap()
            .iter()
            .map(|v| v.name().unwrap())
            .filter(|n| n != "lost+found")
            .collect();
        v.sort();
        v
    }

    /// Assembles the tiny guest's boot sector into the pool as `tiny.img` (1 MiB, raw).
    pub fn add_tiny_guest(&self) {
        let img = self.dir.path().join("tiny.img");
        let out = Command::new("nasm")
            .args(["-f", "bin", "-o"])
            .arg(&img)
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/guest/tiny.asm"))
            .output()
            .expect("nasm is installed (scripts/lab.sh installs it)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // SeaBIOS boots a one-sector disk only from IDE; virtio-blk (and AHCI) want more.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&img)
            .and_then(|f| f.set_len(MIB))
            .unwrap();
        let p = conn().lookup_storage_pool_by_name(&self.name).unwrap();
        p.refresh(0).unwrap();
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if let Ok(p) = conn().lookup_storage_pool_by_name(&self.name) {
            let _ = p.destroy();
            let _ = p.undefine();
        }
        if self.mounted {
            let _ = run("umount", &[&self.dir.path().to_string_lossy()]);
        }
    }
}

/// A domain destroyed and undefined (with NVRAM and managed save) on drop, if it exists.
pub struct DomainGuard(pub String);

impl Drop for DomainGuard {
    fn drop(&mut self) {
        if let Ok(d) = conn().lookup_domain_by_name(&self.0) {
            let _ = d.destroy();
            let _ = d.undefine_flags(
                virt::sys::VIR_DOMAIN_UNDEFINE_NVRAM | virt::sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE,
            );
        }
    }
}

/// A dir pool on its own small ext4 filesystem (a loop device): a pool that fills up.
/// `None` where loop devices cannot be used. Fields drop in order: the pool (stopped and
/// unmounted), the loop device, the directory holding its backing file.
pub struct FsPool {
    pub pool: Pool,
    _dev: super::loopdev::LoopDev,
    _base: tempfile::TempDir,
}

impl FsPool {
    pub fn new(tag: &str, mib: u64) -> Option<FsPool> {
        let base = tempfile::Builder::new()
            .prefix("vdk-fs-")
            .tempdir()
            .unwrap();
        let dev = super::loopdev::LoopDev::create(base.path(), mib)?;
        dev.mkfs_ext4();
        let mnt = tempfile::Builder::new()
            .prefix("vdk-fs-mnt-")
            .tempdir()
            .unwrap();
        run("mount", &[&dev.dev, &mnt.path().to_string_lossy()]).expect("mount the loop fs");
        let mut pool = Pool::at(unique(tag), mnt);
        pool.mounted = true;
        Some(FsPool {
            pool,
            _dev: dev,
            _base: base,
        })
    }
}
