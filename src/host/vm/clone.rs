//! Cloning a VM the way virt-clone does, on a thread of its own: copy (or overlay) each
//! writable disk into a chosen pool, rewrite the definition (`xml::edit::clone_xml`: new
//! name, UUID and MACs) and define it. Progress and cancel go through the `Job`; a failed or
//! cancelled clone deletes the volumes it created, so nothing is left half made.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use virt::connect::Connect;
use virt::storage_pool::StoragePool;
use virt::storage_vol::StorageVol;
use virt::sys;

use crate::host::message;
use crate::job::{Job, JobState};
use crate::xml::device::DiskSource;
use crate::xml::edit::{clone_xml, CloneDisk};
use crate::xml::hardware::{self, Disk, Source};
use crate::xml::volume::VolumeDef;

/// What to clone into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloneSpec {
    /// The new VM's name.
    pub name: String,
    /// Pool receiving the disk copies (or overlays).
    pub pool: String,
    /// Make each disk a qcow2 overlay backed by the original image instead of a full copy:
    /// instant and small, but the original must stay unchanged from then on (treat the
    /// source VM as a template), or the clone's data is corrupted.
    pub linked: bool,
    /// First-boot configuration for the copy (a VM from a template): a NoCloud seed ISO is
    /// written into the pool and attached as a CD-ROM.
    pub cloud: Option<crate::cloudinit::CloudConfig>,
}

pub(super) enum Stop {
    Cancelled,
    Failed(String),
}

impl From<virt::error::Error> for Stop {
    fn from(e: virt::error::Error) -> Stop {
        Stop::Failed(message(&e))
    }
}

pub(super) fn spawn(conn: &Connect, uuid: String, spec: CloneSpec, job: Job) {
    // Another reference to the same connection: it stays open even if the worker reconnects.
    let conn = conn.clone();
    let on_thread = job.clone();
    let started = std::thread::Builder::new()
        .name("vm-clone".into())
        .spawn(move || {
            let job = on_thread;
            // The virt crate panics when freeing a handle fails: still end the job.
            let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                clone(&conn, &uuid, &spec, &job)
            }));
            job.finish(match ended {
                Ok(Ok(())) => JobState::Done,
                Ok(Err(Stop::Cancelled)) => JobState::Cancelled,
                Ok(Err(Stop::Failed(text))) => JobState::Failed(text),
                Err(_) => JobState::Failed("internal error in the clone thread".into()),
            });
        });
    if let Err(e) = started {
        job.finish(JobState::Failed(format!("cannot start the clone: {e}")));
    }
}

/// One disk to copy: the original volume and what it holds.
pub(super) struct Plan {
    pub(super) target: String,
    /// The disk was `type='volume'`: the clone refers to its copy the same way.
    pub(super) by_volume: bool,
    pub(super) source: StorageVol,
    pub(super) path: String,
    pub(super) format: String,
    pub(super) capacity: u64,
    /// Bytes the copy moves (the image's physical size), for progress.
    pub(super) size: u64,
    pub(super) ext: Option<String>,
}

fn clone(conn: &Connect, uuid: &str, spec: &CloneSpec, job: &Job) -> Result<(), Stop> {
    if spec.name.trim().is_empty() {
        return Err(Stop::Failed("the clone needs a name".into()));
    }
    if conn.lookup_domain_by_name(&spec.name).is_ok() {
        return Err(Stop::Failed(format!(
            "a VM named {} already exists",
            spec.name
        )));
    }
    let dom = conn.lookup_domain_by_uuid_string(uuid)?;
    let src_name = dom.name()?;
    // A running guest's disks change while they are copied: the copy would be torn.
    if dom.is_active()? {
        return Err(Stop::Failed(format!(
            "{src_name} is running: shut it down before cloning"
        )));
    }
    let xml = dom
        .xml_desc(sys::VIR_DOMAIN_XML_INACTIVE | sys::VIR_DOMAIN_XML_SECURE)
        .or_else(|_| dom.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE))?;
    let hw = hardware::parse(&xml).map_err(|e| Stop::Failed(e.to_string()))?;
    let pool = conn.lookup_storage_pool_by_name(&spec.pool)?;
    if !pool.is_active()? {
        return Err(Stop::Failed(format!("pool {} is not running", spec.pool)));
    }
    let plans = hw
        .disks
        .iter()
        .filter(|d| d.is_clonable())
        .map(|d| plan(conn, d))
        .collect::<Result<Vec<_>, _>>()?;
    if spec.linked {
        job.set_total(plans.len() as u64);
    } else {
        job.set_total(plans.iter().map(|p| p.size).sum());
    }
    let mut created: Vec<(StorageVol, String)> = Vec::new();
    let outcome = copy_and_define(conn, &pool, spec, &xml, &plans, job, &mut created);
    if outcome.is_err() {
        let left = rollback(created);
        if !left.is_empty() {
            let note = format!("cleanup incomplete: {}", left.join("; "));
            return Err(match outcome {
                Err(Stop::Failed(t)) => Stop::Failed(format!("{t} ({note})")),
                _ => Stop::Failed(format!("cancelled ({note})")),
            });
        }
    }
    outcome
}

fn copy_and_define(
    conn: &Connect,
    pool: &StoragePool,
    spec: &CloneSpec,
    xml: &str,
    plans: &[Plan],
    job: &Job,
    created: &mut Vec<(StorageVol, String)>,
) -> Result<(), Stop> {
    let mut map = HashMap::new();
    let mut used = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        if job.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        let name = volume_name(pool, &spec.name, i, p, spec.linked, &used);
        used.push(name.clone());
        let vol = if spec.linked {
            let def = VolumeDef::new(
                &name,
                p.capacity,
                "qcow2",
                false,
                Some((p.path.clone(), p.format.clone())),
            );
            let vol = StorageVol::create_xml(pool, &xml_of(&def)?, 0)?;
            job.advance(1);
            vol
        } else {
            let def = VolumeDef::new(&name, p.capacity, &p.format, false, None);
            copy_with_progress(conn, pool, &spec.pool, &name, &xml_of(&def)?, p, job)?
        };
        created.push((vol.clone(), name.clone()));
        let path = vol.path()?;
        let block = vol.info()?.kind == sys::VIR_STORAGE_VOL_BLOCK;
        let source = if p.by_volume {
            DiskSource::Volume {
                pool: spec.pool.clone(),
                volume: name,
            }
        } else if block {
            DiskSource::Block(path)
        } else {
            DiskSource::File(path)
        };
        map.insert(
            p.target.clone(),
            CloneDisk {
                source,
                format: Some(if spec.linked {
                    "qcow2".into()
                } else {
                    p.format.clone()
                }),
            },
        );
        if job.is_cancelled() {
            return Err(Stop::Cancelled);
        }
    }
    let mut new_xml =
        clone_xml(xml, &spec.name, &map, None).map_err(|e| Stop::Failed(e.to_string()))?;
    if let Some(cloud) = &spec.cloud {
        new_xml = with_seed(conn, pool, spec, cloud, &new_xml, created)?;
    }
    let dom = conn.define_domain_xml_flags(&new_xml, sys::VIR_DOMAIN_DEFINE_VALIDATE)?;
    // A clone of a template is an ordinary VM (the metadata came along with the XML).
    if let Ok(mut m) = crate::host::meta::read(&dom) {
        if m.template {
            m.template = false;
            crate::host::meta::write(&dom, &m)?;
        }
    }
    Ok(())
}

/// Writes the NoCloud seed of `cloud` into the pool and adds it to `xml` as a CD-ROM on the
/// bus the machine has (SATA on q35, IDE on pc).
fn with_seed(
    conn: &Connect,
    pool: &StoragePool,
    spec: &CloneSpec,
    cloud: &crate::cloudinit::CloudConfig,
    xml: &str,
    created: &mut Vec<(StorageVol, String)>,
) -> Result<String, Stop> {
    let iso =
        crate::cloudinit::seed_iso(cloud, &spec.name).map_err(|e| Stop::Failed(e.to_string()))?;
    let name = (0..)
        .map(|n| match n {
            0 => format!("{}-cidata.iso", spec.name.replace('/', "_")),
            n => format!("{}-cidata-{n}.iso", spec.name.replace('/', "_")),
        })
        .find(|n| pool.lookup_storage_vol_by_name(n).is_err())
        .unwrap_or_default();
    let def = VolumeDef::new(&name, iso.len() as u64, "raw", false, None);
    let vol = StorageVol::create_xml(pool, &xml_of(&def)?, 0)?;
    created.push((vol.clone(), name.clone()));
    let stream = virt::stream::Stream::new(conn, 0)?;
    vol.upload(&stream, 0, iso.len() as u64, 0)?;
    let mut sent = 0;
    while sent < iso.len() {
        match stream.send(&iso[sent..]) {
            Ok(n) if n > 0 => sent += n as usize,
            Ok(_) => {
                let _ = stream.abort();
                return Err(Stop::Failed(format!("the host stopped accepting {name}")));
            }
            Err(e) => {
                let _ = stream.abort();
                return Err(e.into());
            }
        }
    }
    stream.finish()?;
    let hw = hardware::parse(xml).map_err(|e| Stop::Failed(e.to_string()))?;
    let bus = if hw.os.machine.as_deref().is_some_and(|m| m.contains("q35")) {
        crate::xml::device::Bus::Sata
    } else {
        crate::xml::device::Bus::Ide
    };
    let used: Vec<&str> = hw.disks.iter().map(|d| d.target.as_str()).collect();
    let target = crate::xml::device::next_target(bus, &used)
        .ok_or_else(|| Stop::Failed("no free CD-ROM slot for the cloud-init seed".into()))?;
    let path = vol.path()?;
    let cdrom = crate::xml::device::DiskSpec::cdrom(Some(&path), bus, &target)
        .to_xml()
        .map_err(|e| Stop::Failed(e.to_string()))?;
    crate::xml::edit::add_device(xml, &cdrom).map_err(|e| Stop::Failed(e.to_string()))
}

pub(super) fn xml_of(def: &VolumeDef) -> Result<String, Stop> {
    def.to_xml().map_err(|e| Stop::Failed(e.to_string()))
}

/// Finds the volume behind a disk; a file outside every pool cannot be copied through
/// libvirt (the host may be remote), so say how to fix that.
pub(super) fn plan(conn: &Connect, d: &Disk) -> Result<Plan, Stop> {
    let (source, by_volume) = match &d.source {
        Source::Volume { pool, volume } => (
            conn.lookup_storage_pool_by_name(pool)?
                .lookup_storage_vol_by_name(volume)?,
            true,
        ),
        s => {
            let Some(path) = s.path() else {
                return Err(Stop::Failed(format!(
                    "disk {} ({}) is network storage: virtdeck cannot copy it",
                    d.target,
                    s.label()
                )));
            };
            let vol = conn.lookup_storage_vol_by_path(path).map_err(|_| {
                Stop::Failed(format!(
                    "disk {} ({path}) is not in a storage pool: add its directory as a pool \
                     (or refresh the pool) to clone it",
                    d.target
                ))
            })?;
            (vol, false)
        }
    };
    let def =
        crate::xml::volume::parse(&source.xml_desc(0)?).map_err(|e| Stop::Failed(e.to_string()))?;
    let name = source.name()?;
    let info = source.info()?;
    let physical = source
        .info_flags(sys::VIR_STORAGE_VOL_GET_PHYSICAL)
        .map(|i| i.allocation)
        .unwrap_or(info.allocation);
    let ext = std::path::Path::new(&name)
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| e.len() <= 5 && e.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(str::to_string);
    Ok(Plan {
        target: d.target.clone(),
        by_volume,
        path: source.path()?,
        format: def
            .format
            .or_else(|| d.format.clone())
            .unwrap_or_else(|| "raw".into()),
        capacity: info.capacity,
        size: physical.max(1),
        ext,
        source,
    })
}

/// `<clone>.qcow2`, `<clone>-1.qcow2`… (virt-clone's scheme), skipping names the pool has.
fn volume_name(
    pool: &StoragePool,
    clone: &str,
    index: usize,
    p: &Plan,
    linked: bool,
    used: &[String],
) -> String {
    let base = clone.replace('/', "_");
    let ext = if linked {
        Some("qcow2")
    } else {
        p.ext.as_deref()
    };
    let make = |n: usize| {
        let stem = if n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        match ext {
            Some(e) => format!("{stem}.{e}"),
            None => stem,
        }
    };
    (index..)
        .map(make)
        .find(|n| !used.contains(n) && pool.lookup_storage_vol_by_name(n).is_err())
        .unwrap_or_else(|| make(index))
}

/// `virStorageVolCreateXMLFrom` copies on the host and cannot report progress or be
/// aborted: a second thread watches the new volume grow. Cancel takes effect once the
/// running copy ends (the volume is then deleted again).
pub(super) fn copy_with_progress(
    conn: &Connect,
    pool: &StoragePool,
    pool_name: &str,
    name: &str,
    xml: &str,
    p: &Plan,
    job: &Job,
) -> Result<StorageVol, Stop> {
    let copying = AtomicBool::new(true);
    let start = job.done();
    let result = std::thread::scope(|s| {
        s.spawn(|| {
            let mut seen = 0u64;
            while copying.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(300));
                let now = conn
                    .lookup_storage_pool_by_name(pool_name)
                    .and_then(|pl| pl.lookup_storage_vol_by_name(name))
                    .and_then(|v| v.info())
                    .map(|i| i.allocation.min(p.size))
                    .unwrap_or(seen);
                if now > seen && copying.load(Ordering::Relaxed) {
                    job.advance(now - seen);
                    seen = now;
                }
            }
        });
        let r = StorageVol::create_xml_from(pool, xml, &p.source, 0);
        copying.store(false, Ordering::Relaxed);
        r
    });
    // Settle the counter at exactly this disk's share, whatever the watcher saw.
    let done = job.done().saturating_sub(start);
    if done < p.size {
        job.advance(p.size - done);
    }
    Ok(result?)
}

/// Deletes what the clone created; returns what could not be deleted.
pub(super) fn rollback(created: Vec<(StorageVol, String)>) -> Vec<String> {
    created
        .into_iter()
        .rev()
        .filter_map(|(vol, name)| {
            vol.delete(0)
                .err()
                .map(|e| format!("volume {name} is still there: {}", message(&e)))
        })
        .collect()
}
