//! Backups on real KVM (qemu:///system): a running tiny guest on a qcow2 disk is backed up
//! full, a marker is written into its disk through QEMU (`qemu-io` over the monitor), an
//! incremental backup follows, and `virtdeck restore` (the binary) rebuilds the chain into a
//! new VM whose disk holds the marker byte for byte, while the full backup alone does not.
//! Also: a cancelled backup leaves no file and no checkpoint; retention removes exactly the
//! chains nothing kept needs; a shut-off VM is copied; a failure exits 1. Skipped without
//! KVM unless VIRTDECK_REQUIRE_KVM=1.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::guest::{kvm_available, unique, URI};
use common::pool::Pool;
use virt::connect::Connect;
use virtdeck::backup::{self, Kind};
use virtdeck::host::backup::{run, BackupSpec};
use virtdeck::job::Job;

const MIB: u64 = 1 << 20;

fn conn() -> Connect {
    Connect::open(Some(URI)).unwrap()
}

/// Destroyed and undefined with its checkpoints (libvirt refuses otherwise) on drop.
struct Vm(String);

impl Drop for Vm {
    fn drop(&mut self) {
        if let Ok(d) = conn().lookup_domain_by_name(&self.0) {
            let _ = d.destroy();
            let _ = d.undefine_flags(
                virt::sys::VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
                    | virt::sys::VIR_DOMAIN_UNDEFINE_NVRAM,
            );
        }
    }
}

/// A fresh backup destination, removed when dropped.
fn dest_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("vdk-bk-")
        .tempdir()
        .unwrap()
}

/// The tiny guest on a 64 MiB qcow2 copy of its boot sector (IDE: SeaBIOS boots it).
fn define(pool: &Pool, name: &str) -> Vm {
    pool.add_tiny_guest();
    let disk = pool.dir.path().join("disk.qcow2");
    let tiny = pool.dir.path().join("tiny.img");
    qemu_img(&["convert", "-f", "raw", "-O", "qcow2"], &[&tiny, &disk]);
    qemu_img(&["resize", "-q"], &[&disk, Path::new("64M")]);
    let template = include_str!("guest/tiny.xml");
    let xml = template
        .replace("@NAME@", &quick_xml::escape::escape(name))
        .replace(
            "@DISK@",
            &quick_xml::escape::escape(disk.to_string_lossy().as_ref()),
        )
        .replace("type='raw'", "type='qcow2'");
    conn().define_domain_xml(&xml).expect("define");
    Vm(name.to_string())
}

fn qemu_img(args: &[&str], paths: &[&Path]) {
    let out = Command::new("qemu-img")
        .args(args)
        .args(paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn virsh(args: &[&str]) -> String {
    let out = Command::new("virsh")
        .args(["-c", URI])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "virsh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes 64 KiB of 0x5a at 1 MiB into the running guest's disk through QEMU, as the guest
/// would (the device's own block backend: the format node refuses a second writer).
fn write_marker(vm: &str) {
    write_pattern(vm, "0x5a", "1M");
}

fn write_pattern(vm: &str, pattern: &str, at: &str) {
    let info = virsh(&["qemu-monitor-command", "--hmp", vm, "info block"]);
    let dev = info
        .lines()
        .find_map(|l| l.trim().strip_prefix("Attached to:"))
        .map(str::trim)
        .expect("the disk's device in `info block`");
    let out = virsh(&[
        "qemu-monitor-command",
        "--hmp",
        vm,
        &format!("qemu-io -d {dev} \"write -P {pattern} {at} 64k\""),
    ]);
    assert!(!out.contains("rror"), "qemu-io: {out}");
}

/// Whether `image` holds the marker (qemu-io verifies the pattern).
fn has_marker(image: &Path) -> bool {
    has_pattern(image, "0x5a", "1M")
}

fn has_pattern(image: &Path, pattern: &str, at: &str) -> bool {
    let out = Command::new("qemu-io")
        .args(["-r", "-U", "-f", "qcow2", "-c"])
        .arg(format!("read -P {pattern} {at} 64k"))
        .arg(image)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    out.status.success() && !text.contains("verification failed")
}

fn checkpoints(vm: &str) -> Vec<String> {
    virsh(&["checkpoint-list", vm, "--name"])
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn spec(vm: &str, dest: &Path, incremental: bool, keep: usize) -> BackupSpec {
    BackupSpec {
        vm: vm.to_string(),
        dest: dest.to_path_buf(),
        incremental,
        disks: Vec::new(),
        keep,
    }
}

fn names(dir: &Path) -> Vec<String> {
    let (found, _) = backup::list(dir);
    found.iter().map(backup::Found::name).collect()
}

#[test]
fn full_then_incremental_restores_the_marker_byte_for_byte() {
    if !kvm_available() {
        return;
    }
    let pool = Pool::new("bk");
    let name = unique("bk");
    let _vm = define(&pool, &name);
    virsh(&["start", &name]);
    let dest = dest_dir();
    let full = run(
        &conn(),
        URI,
        &spec(&name, dest.path(), false, 0),
        &Job::new("b"),
    )
    .unwrap_or_else(|e| panic!("full backup: {e}"));
    let f = &full.backup.manifest;
    assert_eq!(f.kind, Kind::Full);
    assert_eq!(f.disks.len(), 1);
    assert_eq!(f.disks[0].capacity, 64 * MIB);
    assert!(full.backup.dir.join(&f.disks[0].file).is_file());
    assert_eq!(checkpoints(&name), [f.checkpoint.clone().unwrap()]);
    // Progress reached the whole disk.
    write_marker(&name);
    let job = Job::new("i");
    let inc = run(&conn(), URI, &spec(&name, dest.path(), true, 0), &job)
        .unwrap_or_else(|e| panic!("incremental backup: {e}"));
    let i = &inc.backup.manifest;
    assert_eq!(i.kind, Kind::Incremental);
    assert_eq!(i.base.as_deref(), Some(full.backup.name().as_str()));
    assert_eq!(i.since, f.checkpoint);
    assert!(job.done() > 0 && job.done() == job.total(), "{job:?}");
    // The increment holds only what changed: far less than the full image.
    assert!(i.disks[0].size < f.disks[0].size + MIB, "{:?}", i.disks);

    // Restore the chain with the binary, as cron would.
    let new = format!("{name}-restored");
    let _restored = Vm(new.clone());
    let out = Command::new(env!("CARGO_BIN_EXE_virtdeck"))
        .args([
            "restore", "--host", URI, "--pool", &pool.name, "--name", &new,
        ])
        .arg(&inc.backup.dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("100 %") && stdout.contains("defined VM"),
        "{stdout}"
    );
    let restored_disk = pool
        .dir
        .path()
        .join(format!("{}-hda.qcow2", backup::path_safe(&new)));
    assert!(
        has_marker(&restored_disk),
        "the marker is in the restored disk"
    );
    // …and it came from the increment: the full backup alone does not have it.
    let full_only = pool.dir.path().join("full-only.qcow2");
    backup::restore::flatten(std::slice::from_ref(&full.backup), "hda", &full_only).unwrap();
    assert!(!has_marker(&full_only));
    // The restored VM is a new VM on the new disk, and it starts.
    let xml = virsh(&["dumpxml", &new]);
    assert!(
        xml.contains(&format!("volume='{}-hda.qcow2'", backup::path_safe(&new))),
        "{xml}"
    );
    assert!(!xml.contains(
        &conn()
            .lookup_domain_by_name(&name)
            .unwrap()
            .uuid_string()
            .unwrap()
    ));
    virsh(&["start", &new]);
}

#[test]
fn a_cancelled_backup_leaves_no_file_and_no_checkpoint() {
    if !kvm_available() {
        return;
    }
    let pool = Pool::new("bkc");
    let name = unique("bkc");
    let _vm = define(&pool, &name);
    // Enough data that the backup runs a while: cancelled as soon as libvirt shows the job.
    let disk = pool.dir.path().join("disk.qcow2");
    qemu_img(&["resize", "-q"], &[&disk, Path::new("384M")]);
    let out = Command::new("qemu-io")
        .args(["-f", "qcow2", "-c", "write -P 0x11 2M 382M"])
        .arg(&disk)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    virsh(&["start", &name]);
    let dest = dest_dir();
    let job = Job::new("c");
    let watcher = {
        let job = job.clone();
        let name = name.clone();
        std::thread::spawn(move || {
            let dom = conn().lookup_domain_by_name(&name).unwrap();
            let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while std::time::Instant::now() < until {
                if dom.job_info().is_ok_and(|s| s.r#type != 0) {
                    job.cancel();
                    return true;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            false
        })
    };
    let r = run(&conn(), URI, &spec(&name, dest.path(), false, 0), &job);
    assert!(watcher.join().unwrap(), "the backup job was seen");
    assert_eq!(r.unwrap_err(), "cancelled");
    let vm_dir = std::fs::read_dir(dest.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(
        std::fs::read_dir(&vm_dir).unwrap().count(),
        0,
        "no partial backup"
    );
    assert!(checkpoints(&name).is_empty());
    // An incremental with nothing to build on is a full one, and says so.
    let r = run(
        &conn(),
        URI,
        &spec(&name, dest.path(), true, 0),
        &Job::new("i"),
    )
    .unwrap();
    assert_eq!(r.backup.manifest.kind, Kind::Full);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("no earlier backup") && n.contains("full backup was taken")),
        "{:?}",
        r.notes
    );
}

#[test]
fn retention_removes_exactly_what_nothing_kept_needs_and_a_stopped_vm_is_copied() {
    if !kvm_available() {
        return;
    }
    let pool = Pool::new("bkr");
    let name = unique("bkr");
    let _vm = define(&pool, &name);
    let dest = dest_dir();
    // Shut off: a copy.
    let copy = run(
        &conn(),
        URI,
        &spec(&name, dest.path(), true, 0),
        &Job::new("c"),
    )
    .unwrap();
    assert_eq!(copy.backup.manifest.kind, Kind::Copy);
    assert!(copy.notes[0].contains("shut off"));
    let img = copy.backup.dir.join("hda.qcow2");
    assert!(img.is_file());
    virsh(&["start", &name]);
    let take = |inc: bool, keep: usize| {
        run(
            &conn(),
            URI,
            &spec(&name, dest.path(), inc, keep),
            &Job::new("r"),
        )
        .unwrap_or_else(|e| panic!("backup: {e}"))
    };
    let f1 = take(false, 0);
    let i1 = take(true, 0);
    let vm_dir: PathBuf = f1.backup.dir.parent().unwrap().to_path_buf();
    // Keep 1: the increment needs its full backup; only the copy goes.
    let i2 = take(true, 1);
    assert_eq!(i2.removed, std::slice::from_ref(&copy.backup.dir));
    assert_eq!(
        names(&vm_dir),
        [f1.backup.name(), i1.backup.name(), i2.backup.name()]
    );
    // A new full backup with keep 1: the old chain goes, its checkpoints too.
    let f2 = take(false, 1);
    assert_eq!(
        f2.removed,
        [
            f1.backup.dir.clone(),
            i1.backup.dir.clone(),
            i2.backup.dir.clone()
        ]
    );
    assert_eq!(names(&vm_dir), [f2.backup.name()]);
    assert_eq!(
        checkpoints(&name),
        [f2.backup.manifest.checkpoint.clone().unwrap()]
    );
}

#[test]
fn the_backup_command_exits_1_on_failure_and_leaves_nothing() {
    if !kvm_available() {
        return;
    }
    let dest = dest_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_virtdeck"))
        .args(["backup", &format!("{}@{URI}", unique("nosuch")), "--to"])
        .arg(dest.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no VM"));
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
}

/// Restore over the VM's own disks: refused while it runs and for a wrong typed name; then
/// the disk is the incremental backup's state again (its marker in, a later write gone) in
/// the same file, the checkpoints are gone (the next backup is full) and the guest boots.
#[test]
fn restore_over_the_vms_own_disks_returns_it_to_the_backup() {
    if !kvm_available() {
        return;
    }
    let pool = Pool::new("bko");
    let name = unique("bko");
    let _vm = define(&pool, &name);
    virsh(&["start", &name]);
    let dest = dest_dir();
    let b = |inc: bool| {
        run(
            &conn(),
            URI,
            &spec(&name, dest.path(), inc, 0),
            &Job::new("b"),
        )
        .unwrap_or_else(|e| panic!("backup: {e}"))
    };
    b(false);
    write_marker(&name);
    let inc = b(true);
    // Written after the backup: the restore takes it away.
    write_pattern(&name, "0x6b", "2M");
    let restore = |confirm: &str| {
        Command::new(env!("CARGO_BIN_EXE_virtdeck"))
            .args(["restore", "--host", URI, "--over", confirm])
            .arg(&inc.backup.dir)
            .output()
            .unwrap()
    };
    let out = restore(&name);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is running"),
        "{out:?}"
    );
    virsh(&["destroy", &name]);
    let out = restore("someone-else");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("type the VM's name"),
        "{out:?}"
    );
    let disk = pool.dir.path().join("disk.qcow2");
    assert!(
        has_pattern(&disk, "0x6b", "2M"),
        "the later write is there before"
    );

    let out = restore(&name);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 disk(s) of") && stdout.contains("next backup is full"),
        "{stdout}"
    );
    assert!(has_marker(&disk), "the backup's marker");
    assert!(has_pattern(&disk, "0", "2M"), "the later write is gone");
    assert!(checkpoints(&name).is_empty());
    virsh(&["start", &name]);
    // With no checkpoint left, an incremental is taken full.
    let next = b(true);
    assert_eq!(next.backup.manifest.kind, Kind::Full);
}

/// `pool:NAME` as the destination: the pool's directory; an unknown pool is an error.
#[test]
fn a_pool_names_the_backup_directory() {
    if !kvm_available() {
        return;
    }
    let pool = Pool::new("bkp");
    let name = unique("bkp");
    let _vm = define(&pool, &name);
    let dest = std::path::PathBuf::from(format!("pool:{}", pool.name));
    let copy = run(&conn(), URI, &spec(&name, &dest, false, 0), &Job::new("p"))
        .unwrap_or_else(|e| panic!("backup into a pool: {e}"));
    assert!(copy.backup.dir.starts_with(pool.dir.path()), "{copy:?}");
    assert!(copy.backup.dir.join("hda.qcow2").is_file());
    let missing = std::path::PathBuf::from("pool:vdk-no-such-pool");
    let e = run(
        &conn(),
        URI,
        &spec(&name, &missing, false, 0),
        &Job::new("p"),
    )
    .unwrap_err();
    assert!(e.starts_with("pool vdk-no-such-pool:"), "{e}");
}
