//! Backing up a VM (`crate::backup` has the layout, manifest and retention): a running VM
//! in libvirt's push mode (`virDomainBackupBegin`), full or incremental since the checkpoint
//! the previous backup left, progress from the job statistics, cancel through
//! `virDomainAbortJob`; a shut-off VM by copying its images with qemu-img. A failed or
//! cancelled backup removes its directory and the checkpoint it made, so the next
//! incremental never builds on a backup that does not exist.
//!
//! The images are written by the host and the manifest by this process, so backups go to a
//! directory of a host this machine can see (a local URI): for a remote host, run
//! `virtdeck backup` there.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use virt::connect::Connect;
use virt::domain::Domain;
use virt::sys;

use super::migrate::ffi;
use super::{is_local_uri, message};
use crate::backup::{self, retention, DiskEntry, Found, Kind, Manifest};
use crate::job::Job;
use crate::xml::backup::{backup_xml, checkpoint_xml, BackupDisk};
use crate::xml::hardware::{self, Source};

/// What to back up and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupSpec {
    /// The VM's name or UUID.
    pub vm: String,
    /// The destination directory (the VM's own directory is made inside it).
    pub dest: PathBuf,
    /// Only the blocks changed since the last backup (running VMs with qcow2 disks).
    pub incremental: bool,
    /// Disk targets to back up; empty: every disk (not CD-ROMs or read-only disks).
    pub disks: Vec<String>,
    /// Keep this many backups of the VM afterwards (0: keep all).
    pub keep: usize,
}

/// What a finished backup made, and what retention removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub backup: Found,
    pub removed: Vec<PathBuf>,
    /// Said to the user (a raw disk left without a checkpoint, an incremental taken full…).
    pub notes: Vec<String>,
}

impl Outcome {
    /// One line: kind, where, size, then the notes and what retention removed.
    pub fn summary(&self) -> String {
        let size: u64 = self.backup.manifest.disks.iter().map(|d| d.size).sum();
        let mut s = format!(
            "{} backup in {} ({})",
            self.backup.manifest.kind.as_str(),
            self.backup.dir.display(),
            crate::fmt::bytes(size)
        );
        for n in &self.notes {
            s.push_str("; ");
            s.push_str(n);
        }
        if !self.removed.is_empty() {
            s.push_str(&format!("; retention removed {} older", self.removed.len()));
        }
        s
    }
}

/// One disk to copy.
struct Chosen {
    target: String,
    source: String,
    format: String,
    capacity: u64,
}

/// A destination naming a pool instead of a directory: `pool:NAME`.
pub const POOL_PREFIX: &str = "pool:";

/// Runs [`run`] on a thread of its own (the worker goes on polling); the job carries the
/// outcome.
pub fn spawn(conn: &Connect, spec: BackupSpec, job: Job) {
    let conn = conn.clone();
    let on_thread = job.clone();
    let started = std::thread::Builder::new()
        .name("vm-backup".into())
        .spawn(move || {
            let job = on_thread;
            let uri = conn.uri().unwrap_or_default();
            // The virt crate panics when freeing a handle fails: still end the job.
            let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run(&conn, &uri, &spec, &job)
            }));
            if let Ok(Ok(o)) = &ended {
                job.set_note(o.summary());
            }
            job.finish(match ended {
                Ok(Ok(_)) => crate::job::JobState::Done,
                Ok(Err(_)) if job.is_cancelled() => crate::job::JobState::Cancelled,
                Ok(Err(e)) => crate::job::JobState::Failed(e),
                Err(_) => crate::job::JobState::Failed("internal error in the backup".into()),
            });
        });
    if let Err(e) = started {
        job.finish(crate::job::JobState::Failed(format!(
            "cannot start the backup: {e}"
        )));
    }
}

/// Where a restore from the UI goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreTo {
    /// A new VM: its name and the pool receiving its disks.
    NewVm { name: String, pool: String },
    /// Over the disks of the VM the backup is of; `confirm` is its name as typed.
    Over { confirm: String },
}

/// Runs a restore on a thread of its own; the job carries the outcome and a note.
pub fn spawn_restore(conn: &Connect, backup: PathBuf, to: RestoreTo, job: Job) {
    let conn = conn.clone();
    let on_thread = job.clone();
    let started = std::thread::Builder::new()
        .name("vm-restore".into())
        .spawn(move || {
            let job = on_thread;
            let uri = conn.uri().unwrap_or_default();
            let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &to {
                RestoreTo::NewVm { name, pool } => {
                    let spec = RestoreSpec {
                        backup: backup.clone(),
                        name: name.clone(),
                        pool: pool.clone(),
                    };
                    restore(&conn, &uri, &spec, &job).map(|_| format!("VM {name} defined"))
                }
                RestoreTo::Over { confirm } => restore_over(&conn, &uri, &backup, confirm, &job),
            }));
            if let Ok(Ok(note)) = &ended {
                job.set_note(note.clone());
            }
            job.finish(match ended {
                Ok(Ok(_)) => crate::job::JobState::Done,
                Ok(Err(_)) if job.is_cancelled() => crate::job::JobState::Cancelled,
                Ok(Err(e)) => crate::job::JobState::Failed(e),
                Err(_) => crate::job::JobState::Failed("internal error in the restore".into()),
            });
        });
    if let Err(e) = started {
        job.finish(crate::job::JobState::Failed(format!(
            "cannot start the restore: {e}"
        )));
    }
}

/// A connection for a job run without the UI (the `backup`/`restore` commands).
pub fn connect(uri: &str) -> Result<Connect, String> {
    super::ensure_event_loop();
    Connect::open(Some(&super::effective_uri(uri)))
        .map_err(|e| super::with_hint(uri, format!("cannot connect to {uri}: {}", message(&e))))
}

pub fn lookup(conn: &Connect, vm: &str) -> Result<Domain, String> {
    conn.lookup_domain_by_uuid_string(vm)
        .or_else(|_| conn.lookup_domain_by_name(vm))
        .map_err(|e| format!("no VM {vm:?}: {}", message(&e)))
}

/// Runs a backup to the end (or its cancel through `job`).
pub fn run(conn: &Connect, uri: &str, spec: &BackupSpec, job: &Job) -> Result<Outcome, String> {
    if !is_local_uri(uri) {
        return Err(format!(
            "backups are written to a directory of this machine; {uri} is another host: \
             run `virtdeck backup` on it"
        ));
    }
    let dom = lookup(conn, &spec.vm)?;
    let e = |e: virt::error::Error| message(&e);
    let name = dom.name().map_err(e)?;
    let uuid = dom.uuid_string().map_err(e)?;
    let active = dom.is_active().map_err(e)?;
    let xml = dom.xml_desc(0).map_err(e)?;
    // The definition a restore gets: persistent, without secrets.
    let inactive = dom
        .xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)
        .unwrap_or_else(|_| xml.clone());
    let chosen = choose(conn, &dom, &xml, &spec.disks)?;
    let dest = resolve_dest(conn, &spec.dest)?;
    let vm_dir = backup::vm_dir(&dest, &name, &uuid);
    std::fs::create_dir_all(&vm_dir)
        .map_err(|err| format!("cannot create {}: {err}", vm_dir.display()))?;
    let (existing, _) = backup::list(&vm_dir);
    let mut notes = Vec::new();
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let time = ms / 1000;
    let no_bitmap = no_bitmap(&chosen);
    let mut kind = match (active, spec.incremental) {
        (false, inc) => {
            if inc {
                notes.push("the VM is shut off: its disks are copied whole".into());
            }
            Kind::Copy
        }
        (true, true) => Kind::Incremental,
        (true, false) => Kind::Full,
    };
    if kind == Kind::Incremental {
        if let Some(why) = &no_bitmap {
            notes.push(format!(
                "{why}: no dirty bitmaps, so a full backup was taken"
            ));
            kind = Kind::Full;
        }
    }
    // The base of an incremental: the newest backup, whose checkpoint must still be there.
    // Without one the backup is full (what a cron job asking for incrementals wants).
    let base = match kind {
        Kind::Incremental => match incremental_base(&dom, &existing) {
            Ok(base) => Some(base),
            Err(why) => {
                notes.push(format!("{why}: a full backup was taken"));
                kind = Kind::Full;
                None
            }
        },
        _ => None,
    };
    let dir = vm_dir.join(backup::backup_dir_name(ms, kind));
    if dir.exists() {
        return Err(format!("{} exists already: try again", dir.display()));
    }
    std::fs::create_dir(&dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    let mut made_checkpoint = None;
    let result = (|| -> Result<Manifest, String> {
        let files: Vec<(String, PathBuf)> = chosen
            .iter()
            .map(|c| {
                let f = format!("{}.qcow2", backup::path_safe(&c.target));
                let p = dir.join(&f);
                (f, p)
            })
            .collect();
        let checkpoint = if kind == Kind::Copy {
            None
        } else if let Some(why) = &no_bitmap {
            notes.push(format!(
                "{why}: no checkpoint, so the next backup is full too"
            ));
            None
        } else {
            Some(format!("virtdeck-{ms}"))
        };
        if kind == Kind::Copy {
            copy_disks(&chosen, &files, job)?;
        } else {
            let disks = all_disks(&xml, &chosen, &files);
            let bxml = backup_xml(&disks, base.as_ref().map(|b| b.1.as_str()))
                .map_err(|e| e.to_string())?;
            let cxml = match &checkpoint {
                Some(ck) => Some(checkpoint_xml(ck, &disks).map_err(|e| e.to_string())?),
                None => None,
            };
            begin(&dom, &bxml, cxml.as_deref())?;
            made_checkpoint = checkpoint.clone();
            follow(&dom, job)?;
        }
        let disks = chosen
            .iter()
            .zip(&files)
            .map(|(c, (file, path))| DiskEntry {
                target: c.target.clone(),
                file: file.clone(),
                source: c.source.clone(),
                capacity: c.capacity,
                size: std::fs::metadata(path).map_or(0, |m| m.len()),
            })
            .collect();
        let manifest = Manifest {
            version: 1,
            vm: name.clone(),
            uuid: uuid.clone(),
            host: uri.to_string(),
            kind,
            time,
            checkpoint,
            since: base.as_ref().map(|b| b.1.clone()),
            base: base.as_ref().map(|b| b.0.clone()),
            disks,
            domain_xml: inactive.clone(),
        };
        write_manifest(&dir, &manifest)?;
        Ok(manifest)
    })();
    let manifest = match result {
        Ok(m) => m,
        Err(err) => {
            let _ = std::fs::remove_dir_all(&dir);
            if let Some(ck) = &made_checkpoint {
                let _ = delete_checkpoint(&dom, ck, 0);
            }
            return Err(err);
        }
    };
    let backup = Found { dir, manifest };
    let (all, _) = backup::list(&vm_dir);
    let mut removed = Vec::new();
    for old in retention::to_delete(&all, spec.keep) {
        if let Some(ck) = &old.manifest.checkpoint {
            // Merged into its neighbours by libvirt; a gone checkpoint is fine.
            let _ = delete_checkpoint(&dom, ck, 0);
        }
        std::fs::remove_dir_all(&old.dir)
            .map_err(|err| format!("retention: cannot remove {}: {err}", old.dir.display()))?;
        removed.push(old.dir);
    }
    Ok(Outcome {
        backup,
        removed,
        notes,
    })
}

/// The disks to back up: `wanted` targets, or every writable disk.
fn choose(
    conn: &Connect,
    dom: &Domain,
    xml: &str,
    wanted: &[String],
) -> Result<Vec<Chosen>, String> {
    let hw = hardware::parse(xml).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for d in &hw.disks {
        let listed = wanted.contains(&d.target);
        if !(listed || wanted.is_empty() && d.device == "disk" && !d.readonly) {
            continue;
        }
        if d.device != "disk" {
            return Err(format!("{} is a {}, not a disk", d.target, d.device));
        }
        let source = match &d.source {
            Source::File(p) | Source::Block(p) => p.clone(),
            Source::Volume { pool, volume } => conn
                .lookup_storage_pool_by_name(pool)
                .and_then(|p| p.lookup_storage_vol_by_name(volume))
                .and_then(|v| v.path())
                .map_err(|e| format!("{}: volume {pool}/{volume}: {}", d.target, message(&e)))?,
            _ => return Err(format!("{}: only file, block and volume disks", d.target)),
        };
        out.push(Chosen {
            target: d.target.clone(),
            source,
            format: d.format.clone().unwrap_or_else(|| "raw".into()),
            capacity: dom.block_info(&d.target, 0).map_or(0, |b| b.capacity),
        });
    }
    for w in wanted {
        if !out.iter().any(|c| c.target == *w) {
            return Err(format!("the VM has no disk {w}"));
        }
    }
    if out.is_empty() {
        return Err("the VM has no disk to back up".into());
    }
    Ok(out)
}

/// Every disk of the VM for the backup document: the chosen ones into their files, the rest
/// left out (libvirt wants each disk said).
fn all_disks(xml: &str, chosen: &[Chosen], files: &[(String, PathBuf)]) -> Vec<BackupDisk> {
    let hw = hardware::parse(xml).unwrap_or_default();
    hw.disks
        .iter()
        .filter(|d| d.device == "disk")
        .map(|d| BackupDisk {
            target: d.target.clone(),
            file: chosen
                .iter()
                .zip(files)
                .find(|(c, _)| c.target == d.target)
                .map(|(_, (_, p))| p.to_string_lossy().into_owned()),
        })
        .collect()
}

fn copy_disks(chosen: &[Chosen], files: &[(String, PathBuf)], job: &Job) -> Result<(), String> {
    job.set_total(chosen.iter().map(|c| c.capacity.max(1)).sum());
    for (c, (_, path)) in chosen.iter().zip(files) {
        if job.is_cancelled() {
            return Err("cancelled".into());
        }
        backup::restore::copy_image(Path::new(&c.source), &c.format, path)?;
        job.advance(c.capacity.max(1));
    }
    Ok(())
}

fn begin(dom: &Domain, backup: &str, checkpoint: Option<&str>) -> Result<(), String> {
    let cstr = |s: &str| CString::new(s).map_err(|_| "a NUL byte in the backup XML".to_string());
    let b = cstr(backup)?;
    let c = checkpoint.map(cstr).transpose()?;
    // SAFETY: a valid domain handle and NUL-terminated strings libvirt only reads.
    let rc = unsafe {
        sys::virDomainBackupBegin(
            dom.as_ptr(),
            b.as_ptr(),
            c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
            0,
        )
    };
    if rc < 0 {
        return Err(message(&virt::error::Error::last_error()));
    }
    Ok(())
}

/// Follows the backup job to its end: progress into `job`, `job`'s cancel aborts it.
fn follow(dom: &Domain, job: &Job) -> Result<(), String> {
    let mut aborted = false;
    loop {
        let s = ffi::job_stats(dom, 0).map_err(|e| message(&e))?;
        if s.kind == sys::VIR_DOMAIN_JOB_NONE as i32 {
            break;
        }
        if let Some((done, total)) = bytes(&s.progress) {
            job.set_total(total);
            job.advance(done.saturating_sub(job.done()));
        }
        if job.is_cancelled() && !aborted {
            aborted = true;
            // The job may end on its own meanwhile ("no job is active"): the end decides.
            let _ = ffi::abort_job(dom);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let done = ffi::job_stats(dom, sys::VIR_DOMAIN_JOB_STATS_COMPLETED).map_err(|e| message(&e))?;
    match done.kind as u32 {
        sys::VIR_DOMAIN_JOB_COMPLETED if !aborted => {
            if let Some((_, total)) = bytes(&done.progress) {
                job.set_total(total);
                job.advance(total.saturating_sub(job.done()));
            }
            Ok(())
        }
        sys::VIR_DOMAIN_JOB_CANCELLED => Err("cancelled".into()),
        _ if aborted => Err("cancelled".into()),
        _ => Err(done.error.unwrap_or_else(|| "the backup job failed".into())),
    }
}

/// (processed, total) bytes of a backup job: libvirt reports them as the disk figures
/// (virsh's "File processed"), some versions as data.
fn bytes(p: &crate::model::migration::Progress) -> Option<(u64, u64)> {
    match (p.disk_processed, p.disk_total) {
        (Some(d), Some(t)) => Some((d, t)),
        _ => p.data_processed.zip(p.data_total),
    }
}

fn with_checkpoint<T>(
    dom: &Domain,
    name: &str,
    f: impl FnOnce(sys::virDomainCheckpointPtr) -> T,
) -> Option<T> {
    let n = CString::new(name).ok()?;
    // SAFETY: valid handle and string; the returned checkpoint is freed below.
    let ck = unsafe { sys::virDomainCheckpointLookupByName(dom.as_ptr(), n.as_ptr(), 0) };
    if ck.is_null() {
        return None;
    }
    let out = f(ck);
    // SAFETY: a checkpoint handle from the lookup, freed once.
    unsafe { sys::virDomainCheckpointFree(ck) };
    Some(out)
}

/// Why a checkpoint (a dirty bitmap in every disk) cannot be made, if so: a raw disk, or a
/// qcow2 v2 file (compat 0.10), which QEMU cannot store bitmaps in.
fn no_bitmap(chosen: &[Chosen]) -> Option<String> {
    if let Some(c) = chosen.iter().find(|c| c.format != "qcow2") {
        return Some(format!("{} is {}, not qcow2", c.target, c.format));
    }
    chosen
        .iter()
        .find(|c| qcow2_version(Path::new(&c.source)) == Some(2))
        .map(|c| {
            format!(
                "{} is qcow2 v2 (compat 0.10; `qemu-img amend -o compat=1.1` with the VM shut \
                 off upgrades it)",
                c.target
            )
        })
}

/// The version in a qcow2 header ("QFI\xfb", then a big-endian u32); none when the file
/// cannot be read (a block device of another host's layout, no permission): libvirt decides.
fn qcow2_version(path: &Path) -> Option<u32> {
    use std::io::Read;
    let mut head = [0u8; 8];
    std::fs::File::open(path).ok()?.read_exact(&mut head).ok()?;
    (head[..4] == *b"QFI\xfb").then(|| u32::from_be_bytes([head[4], head[5], head[6], head[7]]))
}

/// The newest backup (its name and checkpoint) when an incremental can build on it.
fn incremental_base(dom: &Domain, existing: &[Found]) -> Result<(String, String), String> {
    let last = existing
        .iter()
        .rev()
        .find(|f| f.manifest.kind != Kind::Copy)
        .filter(|f| existing.last() == Some(f))
        .ok_or("no earlier backup to build on")?;
    let ck = last
        .manifest
        .checkpoint
        .clone()
        .ok_or("the last backup left no checkpoint")?;
    if !checkpoint_exists(dom, &ck) {
        return Err(format!(
            "checkpoint {ck} of the last backup is gone from the VM"
        ));
    }
    Ok((last.name(), ck))
}

/// The VM's checkpoints, parents before children; none where the driver has none.
pub(crate) fn checkpoint_names(dom: &Domain) -> Vec<String> {
    let mut list: *mut sys::virDomainCheckpointPtr = std::ptr::null_mut();
    // SAFETY: valid handle; libvirt allocates the array, freed below with each element.
    let n = unsafe {
        sys::virDomainListAllCheckpoints(
            dom.as_ptr(),
            &mut list,
            sys::VIR_DOMAIN_CHECKPOINT_LIST_TOPOLOGICAL,
        )
    };
    if n < 0 {
        // The test driver and old daemons have no checkpoints: nothing to show.
        return Vec::new();
    }
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        // SAFETY: `list` holds `n` checkpoint handles.
        let ck = unsafe { *list.add(i) };
        // SAFETY: a valid checkpoint; the name belongs to it and is copied before the free.
        let name = unsafe { sys::virDomainCheckpointGetName(ck) };
        if !name.is_null() {
            // SAFETY: a NUL-terminated string owned by `ck`.
            out.push(
                unsafe { std::ffi::CStr::from_ptr(name) }
                    .to_string_lossy()
                    .into_owned(),
            );
        }
        // SAFETY: each handle freed once.
        unsafe { sys::virDomainCheckpointFree(ck) };
    }
    if !list.is_null() {
        // SAFETY: the array libvirt allocated with malloc.
        unsafe { libc::free(list.cast()) };
    }
    out
}

fn checkpoint_exists(dom: &Domain, name: &str) -> bool {
    with_checkpoint(dom, name, |_| ()).is_some()
}

fn delete_checkpoint(dom: &Domain, name: &str, flags: u32) -> Result<(), String> {
    // SAFETY: a valid checkpoint handle.
    match with_checkpoint(dom, name, |ck| unsafe {
        sys::virDomainCheckpointDelete(ck, flags)
    }) {
        Some(rc) if rc < 0 => Err(message(&virt::error::Error::last_error())),
        _ => Ok(()),
    }
}

fn write_manifest(dir: &Path, m: &Manifest) -> Result<(), String> {
    let text = m.to_toml()?;
    let tmp = dir.join(".manifest.toml.part");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, dir.join(backup::MANIFEST)))
        .map_err(|e| format!("cannot write the manifest in {}: {e}", dir.display()))
}

/// A restore: the backup (its directory or manifest), the new VM's name and pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreSpec {
    pub backup: PathBuf,
    pub name: String,
    /// A pool with a directory (dir, fs, netfs) receiving one qcow2 volume per disk.
    pub pool: String,
}

/// Restores a backup (and the chain it builds on) into a new VM: new name, UUID and MACs,
/// each disk flattened into a new volume of the pool. Anything made is removed again when a
/// step fails. Returns the new VM's UUID.
pub fn restore(conn: &Connect, uri: &str, spec: &RestoreSpec, job: &Job) -> Result<String, String> {
    if !is_local_uri(uri) {
        return Err(format!(
            "a restore reads the backup files on this machine; {uri} is another host: run \
             `virtdeck restore` on it"
        ));
    }
    if let Err(why) = crate::names::check(crate::names::NameKind::Vm, &spec.name) {
        return Err(format!("name {:?}: {why}", spec.name));
    }
    if conn.lookup_domain_by_name(&spec.name).is_ok() {
        return Err(format!("a VM named {:?} exists already", spec.name));
    }
    let (top, chain) = load_chain(&spec.backup)?;
    let pool = conn
        .lookup_storage_pool_by_name(&spec.pool)
        .map_err(|e| format!("pool {}: {}", spec.pool, message(&e)))?;
    let pool_xml = pool.xml_desc(0).map_err(|e| message(&e))?;
    let root = crate::xml::tree::parse(&pool_xml, "pool").map_err(|e| e.to_string())?;
    let kind = root.attr("type").unwrap_or_default().to_string();
    let path = root
        .path(&["target", "path"])
        .map(|p| p.text.trim().to_string())
        .filter(|_| matches!(kind.as_str(), "dir" | "fs" | "netfs"))
        .ok_or_else(|| {
            format!(
                "pool {} is a {kind} pool: restore writes qcow2 files, so choose a dir, fs \
                 or netfs pool",
                spec.pool
            )
        })?;
    let disks = &top.manifest.disks;
    job.set_total(disks.iter().map(|d| d.capacity.max(1)).sum());
    let mut made: Vec<PathBuf> = Vec::new();
    let result = (|| -> Result<String, String> {
        let mut map = std::collections::HashMap::new();
        for d in disks {
            if job.is_cancelled() {
                return Err("cancelled".into());
            }
            let volume = format!(
                "{}-{}.qcow2",
                backup::path_safe(&spec.name),
                backup::path_safe(&d.target)
            );
            let dest = Path::new(&path).join(&volume);
            if dest.exists() {
                return Err(format!("{} exists already in pool {}", volume, spec.pool));
            }
            made.push(dest.clone());
            backup::restore::flatten(&chain, &d.target, &dest)?;
            job.advance(d.capacity.max(1));
            map.insert(
                d.target.clone(),
                crate::xml::edit::CloneDisk {
                    source: crate::xml::device::DiskSource::Volume {
                        pool: spec.pool.clone(),
                        volume,
                    },
                    format: Some("qcow2".into()),
                },
            );
        }
        pool.refresh(0).map_err(|e| message(&e))?;
        let xml = crate::xml::edit::clone_xml(&top.manifest.domain_xml, &spec.name, &map, None)
            .map_err(|e| e.to_string())?;
        let dom = conn.define_domain_xml(&xml).map_err(|e| message(&e))?;
        dom.uuid_string().map_err(|e| message(&e))
    })();
    if result.is_err() {
        for f in &made {
            let _ = std::fs::remove_file(f);
        }
        let _ = pool.refresh(0);
    }
    result
}

/// The directory a destination names: a path, or `pool:NAME` for the directory of a
/// running dir, fs or netfs pool of the host.
fn resolve_dest(conn: &Connect, dest: &Path) -> Result<PathBuf, String> {
    let Some(name) = dest.to_str().and_then(|d| d.strip_prefix(POOL_PREFIX)) else {
        return Ok(dest.to_path_buf());
    };
    let pool = conn
        .lookup_storage_pool_by_name(name)
        .map_err(|e| format!("pool {name}: {}", message(&e)))?;
    if !pool.is_active().map_err(|e| message(&e))? {
        return Err(format!("pool {name} is not running"));
    }
    let xml = pool.xml_desc(0).map_err(|e| message(&e))?;
    let root = crate::xml::tree::parse(&xml, "pool").map_err(|e| e.to_string())?;
    let kind = root.attr("type").unwrap_or_default().to_string();
    root.path(&["target", "path"])
        .map(|p| PathBuf::from(p.text.trim()))
        .filter(|_| matches!(kind.as_str(), "dir" | "fs" | "netfs"))
        .ok_or_else(|| {
            format!(
                "pool {name} is a {kind} pool: backups need a directory (dir, fs or netfs pool)"
            )
        })
}

/// The backup at `backup` (its directory or manifest) and the chain it builds on, full first.
fn load_chain(backup: &Path) -> Result<(Found, Vec<Found>), String> {
    let top_dir = if backup.is_dir() {
        backup.to_path_buf()
    } else {
        backup.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let text = std::fs::read_to_string(top_dir.join(backup::MANIFEST))
        .map_err(|e| format!("{}: {e}", top_dir.join(backup::MANIFEST).display()))?;
    let top = Found {
        manifest: Manifest::from_toml(&text)?,
        dir: top_dir.clone(),
    };
    let (all, _) = top_dir.parent().map(backup::list).unwrap_or_default();
    let chain = backup::chain(&all, &top)?;
    Ok((top, chain))
}

/// Restores a backup over the disks of the VM it was taken of, which must be shut off and
/// named `confirm` (the name typed as confirmation). Each disk is written in place in its
/// own format (`qemu-img convert -n`), so its file, owner and labels stay; the VM's
/// checkpoints are deleted, since their bitmaps no longer describe the disks (the next
/// backup is full). Returns what to tell the user.
pub fn restore_over(
    conn: &Connect,
    uri: &str,
    backup: &Path,
    confirm: &str,
    job: &Job,
) -> Result<String, String> {
    if !is_local_uri(uri) {
        return Err(format!(
            "a restore reads the backup files on this machine; {uri} is another host: run \
             `virtdeck restore` on it"
        ));
    }
    let (top, chain) = load_chain(backup)?;
    let m = &top.manifest;
    let dom = conn.lookup_domain_by_uuid_string(&m.uuid).map_err(|_| {
        format!(
            "VM {} ({}) is not on this host: restore it as a new VM",
            m.vm, m.uuid
        )
    })?;
    let name = dom.name().map_err(|e| message(&e))?;
    if name != confirm {
        return Err(format!(
            "type the VM's name to confirm: {confirm:?} is not {name:?}"
        ));
    }
    if dom.is_active().map_err(|e| message(&e))? {
        return Err(format!(
            "{name} is running: shut it down before restoring over its disks"
        ));
    }
    let xml = dom
        .xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)
        .map_err(|e| message(&e))?;
    let hw = crate::xml::hardware::parse(&xml).map_err(|e| e.to_string())?;
    // Every disk is checked before the first is written.
    let mut plan = Vec::new();
    for d in &m.disks {
        let disk = hw
            .disks
            .iter()
            .find(|x| x.target == d.target)
            .ok_or_else(|| {
                format!(
                    "{name} has no disk {} any more: restore as a new VM",
                    d.target
                )
            })?;
        let path = match &disk.source {
            crate::xml::hardware::Source::Volume { pool, volume } => conn
                .lookup_storage_pool_by_name(pool)
                .and_then(|p| p.lookup_storage_vol_by_name(volume))
                .and_then(|v| v.path())
                .map_err(|e| format!("{}: {}", d.target, message(&e)))?,
            s => s
                .path()
                .map(str::to_string)
                .ok_or_else(|| format!("{} is network storage: restore as a new VM", d.target))?,
        };
        let format = disk.format.clone().unwrap_or_else(|| "raw".into());
        plan.push((
            d.target.clone(),
            PathBuf::from(path),
            format,
            d.capacity.max(1),
        ));
    }
    job.set_total(plan.iter().map(|p| p.3).sum());
    for (target, path, format, size) in &plan {
        if job.is_cancelled() {
            return Err("cancelled".into());
        }
        backup::restore::write_over(&chain, target, path, format)
            .map_err(|e| format!("{e} ({target} may be partly written: run the restore again)"))?;
        job.advance(*size);
    }
    let mut said = vec![format!(
        "{} disk(s) of {name} restored to {}",
        plan.len(),
        top.name()
    )];
    let checkpoints = checkpoint_names(&dom);
    let mut kept = Vec::new();
    for ck in checkpoints.iter().rev() {
        // Without its bitmaps, at least its metadata: an incremental must never build on it.
        if delete_checkpoint(&dom, ck, 0).is_err() {
            if let Err(e) =
                delete_checkpoint(&dom, ck, sys::VIR_DOMAIN_CHECKPOINT_DELETE_METADATA_ONLY)
            {
                kept.push(format!("{ck} ({e})"));
            }
        }
    }
    if !checkpoints.is_empty() {
        said.push(if kept.is_empty() {
            "its checkpoints were deleted: the next backup is full".into()
        } else {
            format!("checkpoints not deleted: {}", kept.join(", "))
        });
    }
    Ok(said.join("; "))
}

#[cfg(test)]
mod tests {
    use super::{no_bitmap, qcow2_version, Chosen};

    fn disk(target: &str, source: &str, format: &str) -> Chosen {
        Chosen {
            target: target.into(),
            source: source.into(),
            format: format.into(),
            capacity: 0,
        }
    }

    #[test]
    fn checkpoints_need_qcow2_v3_everywhere() {
        let dir = tempfile::tempdir().unwrap();
        let v2 = dir.path().join("v2.qcow2");
        let v3 = dir.path().join("v3.qcow2");
        std::fs::write(&v2, b"QFI\xfb\0\0\0\x02rest").unwrap();
        std::fs::write(&v3, b"QFI\xfb\0\0\0\x03rest").unwrap();
        assert_eq!(qcow2_version(&v2), Some(2));
        assert_eq!(qcow2_version(&v3), Some(3));
        assert_eq!(qcow2_version(&dir.path().join("none")), None);
        let s = |p: &std::path::Path| p.to_string_lossy().into_owned();
        assert_eq!(no_bitmap(&[disk("vda", &s(&v3), "qcow2")]), None);
        // Unreadable (another layout, no permission): libvirt decides.
        assert_eq!(no_bitmap(&[disk("vda", "/nonexistent", "qcow2")]), None);
        let why = no_bitmap(&[disk("vda", &s(&v3), "qcow2"), disk("vdb", &s(&v2), "qcow2")]);
        assert!(why.unwrap().starts_with("vdb is qcow2 v2"));
        let why = no_bitmap(&[disk("sda", "/dev/sdz", "raw")]);
        assert_eq!(why.unwrap(), "sda is raw, not qcow2");
    }
}
