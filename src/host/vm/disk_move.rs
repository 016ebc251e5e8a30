//! Moving one disk of a VM to another pool or format, on a thread of its own. A running VM
//! keeps running: libvirt mirrors the disk into a new volume (`virDomainBlockCopy`, whole
//! chain, as a transient job so persistent VMs qualify) and pivots to it once the copy is in
//! step; libvirt then points the definition at the new volume too (checked, and redefined if
//! not). A shut-off VM's volume is converted into a new one (`virStorageVolCreateXMLFrom`:
//! qemu-img on the host) and the definition redefined. The old volume is deleted only after
//! the move succeeded, only when asked, and only when no other VM uses it. A failed or
//! cancelled move deletes the new volume; the VM stays on its old disk.

use std::collections::HashMap;
use std::ffi::CString;
use std::time::Duration;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::storage_vol::StorageVol;
use virt::sys;

use super::clone::{self, Plan, Stop};
use crate::host::message;
use crate::job::{Job, JobState};
use crate::xml::device::DiskSource;
use crate::xml::edit::{set_disk_sources, CloneDisk};
use crate::xml::hardware;
use crate::xml::volume::VolumeDef;

/// Where one disk goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoveSpec {
    /// The disk's `<target dev>`.
    pub target: String,
    /// The pool receiving the new volume.
    pub pool: String,
    /// qcow2 or raw.
    pub format: String,
    /// Delete the old volume once the VM uses the new one.
    pub remove_old: bool,
}

pub const FORMATS: [&str; 2] = ["qcow2", "raw"];

/// How often the live copy's progress is read.
const POLL: Duration = Duration::from_millis(200);

pub(super) fn spawn(conn: &Connect, uuid: String, spec: MoveSpec, job: Job) {
    let conn = conn.clone();
    let on_thread = job.clone();
    let started = std::thread::Builder::new()
        .name("disk-move".into())
        .spawn(move || {
            let job = on_thread;
            // The virt crate panics when freeing a handle fails: still end the job.
            let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run(&conn, &uuid, &spec, &job)
            }));
            job.finish(match ended {
                Ok(Ok(note)) => {
                    job.set_note(note);
                    JobState::Done
                }
                Ok(Err(Stop::Cancelled)) => JobState::Cancelled,
                Ok(Err(Stop::Failed(text))) => JobState::Failed(text),
                Err(_) => JobState::Failed("internal error in the disk move".into()),
            });
        });
    if let Err(e) = started {
        job.finish(JobState::Failed(format!("cannot start the move: {e}")));
    }
}

/// Moves the disk; returns what to tell the user (where it went, the old volume's fate).
fn run(conn: &Connect, uuid: &str, spec: &MoveSpec, job: &Job) -> Result<String, Stop> {
    if !FORMATS.contains(&spec.format.as_str()) {
        return Err(Stop::Failed(format!(
            "format {} is not one of qcow2, raw",
            spec.format
        )));
    }
    let dom = conn.lookup_domain_by_uuid_string(uuid)?;
    let active = dom.is_active()?;
    let snapshots = dom.num_snapshots(0).unwrap_or(0);
    if snapshots > 0 {
        // Internal snapshots live inside the image and external ones build on it: neither
        // would follow the disk.
        return Err(Stop::Failed(format!(
            "the VM has {snapshots} snapshot(s), whose data would not move with the disk: \
             delete them first"
        )));
    }
    let xml = dom.xml_desc(if active {
        0
    } else {
        sys::VIR_DOMAIN_XML_INACTIVE
    })?;
    let hw = hardware::parse(&xml).map_err(|e| Stop::Failed(e.to_string()))?;
    let disk = hw
        .disks
        .iter()
        .find(|d| d.target == spec.target)
        .ok_or_else(|| Stop::Failed(format!("the VM has no disk {}", spec.target)))?;
    if !disk.is_clonable() {
        return Err(Stop::Failed(format!(
            "{} is a {}{}: only writable, unshared disks move",
            spec.target,
            disk.device,
            if disk.readonly { " (read-only)" } else { "" }
        )));
    }
    let plan = clone::plan(conn, disk)?;
    let from_pool = plan
        .source
        .lookup_storage_pool()
        .and_then(|p| p.name())
        .unwrap_or_default();
    if from_pool == spec.pool && plan.format == spec.format {
        return Err(Stop::Failed(format!(
            "{} is already a {} volume in pool {}: choose another pool or format",
            spec.target, spec.format, spec.pool
        )));
    }
    let pool = conn.lookup_storage_pool_by_name(&spec.pool)?;
    if !pool.is_active()? {
        return Err(Stop::Failed(format!("pool {} is not running", spec.pool)));
    }
    let name = volume_name(&pool, &plan, &spec.format);
    let def = VolumeDef::new(&name, plan.capacity, &spec.format, false, None);
    let def = clone::xml_of(&def)?;
    let mut created = Vec::new();
    let moved = (|| {
        let vol = if active {
            let vol = StorageVol::create_xml(&pool, &def, 0)?;
            created.push((vol.clone(), name.clone()));
            live(&dom, &spec.target, &vol, &spec.format, job)?;
            vol
        } else {
            job.set_total(plan.size);
            let vol = clone::copy_with_progress(conn, &pool, &spec.pool, &name, &def, &plan, job)?;
            created.push((vol.clone(), name.clone()));
            vol
        };
        if job.is_cancelled() && !active {
            return Err(Stop::Cancelled);
        }
        let to = NewHome {
            pool: &spec.pool,
            name: &name,
            vol: &vol,
            format: &spec.format,
        };
        point_definition(&dom, active, &spec.target, &plan, &to)
    })();
    if let Err(stop) = moved {
        let left = clone::rollback(created);
        return Err(match (stop, left.is_empty()) {
            (s, true) => s,
            (Stop::Failed(t), false) => Stop::Failed(format!("{t} ({})", left.join("; "))),
            (Stop::Cancelled, false) => Stop::Failed(format!("cancelled ({})", left.join("; "))),
        });
    }
    let mut note = format!(
        "{} now on {}/{name} ({})",
        spec.target, spec.pool, spec.format
    );
    if spec.remove_old {
        note.push_str("; ");
        note.push_str(&remove_old(conn, uuid, &plan));
    } else {
        note.push_str(&format!("; the old volume {} is kept", plan.path));
    }
    Ok(note)
}

/// `<old stem>.<format ext>`, or with `-1`, `-2`… when the pool has that name already.
fn volume_name(pool: &virt::storage_pool::StoragePool, p: &Plan, format: &str) -> String {
    let name = p.source.name().unwrap_or_else(|_| p.target.clone());
    let stem = match &p.ext {
        Some(ext) => name
            .strip_suffix(ext.as_str())
            .and_then(|s| s.strip_suffix('.'))
            .unwrap_or(&name)
            .to_string(),
        None => name.clone(),
    };
    let ext = if format == "qcow2" { "qcow2" } else { "img" };
    let make = |n: usize| match n {
        0 => format!("{stem}.{ext}"),
        n => format!("{stem}-{n}.{ext}"),
    };
    (0..1000)
        .map(make)
        .find(|n| pool.lookup_storage_vol_by_name(n).is_err())
        .unwrap_or_else(|| make(std::process::id() as usize))
}

/// Mirrors the running disk into `vol`, then pivots to it. Cancel aborts the mirror (the VM
/// stays on its old disk).
fn live(dom: &Domain, target: &str, vol: &StorageVol, format: &str, job: &Job) -> Result<(), Stop> {
    let path = vol.path()?;
    let block = vol.info()?.kind == sys::VIR_STORAGE_VOL_BLOCK;
    let dest = copy_dest_xml(&path, block, format);
    let c = |s: &str| CString::new(s).map_err(|_| Stop::Failed("a NUL in a name".into()));
    let (ctarget, cdest) = (c(target)?, c(&dest)?);
    // SAFETY: valid handle and NUL-terminated strings; no typed parameters.
    let rc = unsafe {
        sys::virDomainBlockCopy(
            dom.as_ptr(),
            ctarget.as_ptr(),
            cdest.as_ptr(),
            std::ptr::null_mut(),
            0,
            sys::VIR_DOMAIN_BLOCK_COPY_REUSE_EXT | sys::VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB,
        )
    };
    if rc < 0 {
        return Err(Stop::Failed(message(&virt::error::Error::last_error())));
    }
    let abort = |flags: u32| {
        // SAFETY: valid handle and target string.
        let rc = unsafe { sys::virDomainBlockJobAbort(dom.as_ptr(), ctarget.as_ptr(), flags) };
        if rc < 0 {
            Err(message(&virt::error::Error::last_error()))
        } else {
            Ok(())
        }
    };
    let mut not_ready = 0;
    loop {
        std::thread::sleep(POLL);
        if job.is_cancelled() {
            let _ = abort(0);
            return Err(Stop::Cancelled);
        }
        let Some((cur, end)) = block_job(dom, &ctarget)? else {
            return Err(Stop::Failed(
                "the copy ended before it was in step (the host's log says why)".into(),
            ));
        };
        job.set_total(end);
        if cur > job.done() {
            job.advance(cur - job.done());
        }
        if end == 0 || cur < end {
            continue;
        }
        // In step: switch the guest over. libvirt refuses while the job is not ready yet
        // (the READY event lags the counters): try again for a while.
        match abort(sys::VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT) {
            Ok(()) => return Ok(()),
            Err(e) if not_ready < 50 => {
                not_ready += 1;
                let _ = e;
            }
            Err(e) => {
                let _ = abort(0);
                return Err(Stop::Failed(format!("the switch to the copy failed: {e}")));
            }
        }
    }
}

/// `<disk>` naming the copy's destination, as `virDomainBlockCopy` takes it.
pub(crate) fn copy_dest_xml(path: &str, block: bool, format: &str) -> String {
    let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
    let (kind, attr) = if block {
        ("block", "dev")
    } else {
        ("file", "file")
    };
    format!(
        "<disk type='{kind}'><source {attr}='{}'/><driver type='{}'/></disk>",
        esc(path),
        esc(format)
    )
}

/// The block job on `target`: (done, total), or none when there is no job.
fn block_job(dom: &Domain, target: &CString) -> Result<Option<(u64, u64)>, Stop> {
    let mut info = sys::virDomainBlockJobInfo {
        type_: 0,
        bandwidth: 0,
        cur: 0,
        end: 0,
    };
    // SAFETY: valid handle, target string and an out struct of the right type.
    let rc = unsafe { sys::virDomainGetBlockJobInfo(dom.as_ptr(), target.as_ptr(), &mut info, 0) };
    match rc {
        rc if rc < 0 => Err(Stop::Failed(message(&virt::error::Error::last_error()))),
        0 => Ok(None),
        _ => Ok(Some((info.cur, info.end))),
    }
}

/// The volume a disk moved to.
struct NewHome<'a> {
    pool: &'a str,
    name: &'a str,
    vol: &'a StorageVol,
    format: &'a str,
}

/// Makes the persistent definition use the new volume: a shut-off VM's is redefined; after
/// a pivot libvirt updates it itself (9.0 does), else it is redefined here too.
fn point_definition(
    dom: &Domain,
    live: bool,
    target: &str,
    plan: &Plan,
    to: &NewHome,
) -> Result<(), Stop> {
    if !live && dom.is_active()? {
        return Err(Stop::Failed(
            "the VM was started during the move: it runs on its old disk".into(),
        ));
    }
    if !dom.is_persistent()? {
        return Ok(());
    }
    let path = to.vol.path()?;
    let inactive = dom.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE | sys::VIR_DOMAIN_XML_SECURE)?;
    let hw = hardware::parse(&inactive).map_err(|e| Stop::Failed(e.to_string()))?;
    let already = hw
        .disks
        .iter()
        .find(|d| d.target == target)
        .is_some_and(|d| match &d.source {
            hardware::Source::Volume { pool, volume } => pool == to.pool && volume == to.name,
            s => s.path() == Some(path.as_str()),
        });
    if already {
        return Ok(());
    }
    let block = to.vol.info()?.kind == sys::VIR_STORAGE_VOL_BLOCK;
    let source = if plan.by_volume {
        DiskSource::Volume {
            pool: to.pool.into(),
            volume: to.name.into(),
        }
    } else if block {
        DiskSource::Block(path)
    } else {
        DiskSource::File(path)
    };
    let map = HashMap::from([(
        target.to_string(),
        CloneDisk {
            source,
            format: Some(to.format.into()),
        },
    )]);
    let xml = set_disk_sources(&inactive, &map).map_err(|e| Stop::Failed(e.to_string()))?;
    dom.connect()?
        .define_domain_xml_flags(&xml, sys::VIR_DOMAIN_DEFINE_VALIDATE)?;
    Ok(())
}

/// Deletes the old volume unless another VM's definition names it (a linked clone's base,
/// a shared disk); says what happened.
fn remove_old(conn: &Connect, uuid: &str, plan: &Plan) -> String {
    let escaped = quick_xml::escape::escape(plan.path.as_str()).into_owned();
    let users: Vec<String> = conn
        .list_all_domains(0)
        .unwrap_or_default()
        .iter()
        .filter(|d| d.uuid_string().is_ok_and(|u| u != uuid))
        .filter(|d| {
            d.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)
                .is_ok_and(|x| x.contains(&escaped) || x.contains(&plan.path))
        })
        .filter_map(|d| d.name().ok())
        .collect();
    if !users.is_empty() {
        return format!(
            "the old volume {} is kept: {} use(s) it",
            plan.path,
            users.join(", ")
        );
    }
    match plan.source.delete(0) {
        Ok(()) => format!("the old volume {} was removed", plan.path),
        Err(e) => format!(
            "the old volume {} could not be removed: {}",
            plan.path,
            message(&e)
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_copy_destination_is_escaped_and_typed() {
        assert_eq!(
            super::copy_dest_xml("/p/a'<&>.img", false, "raw"),
            "<disk type='file'><source file='/p/a&apos;&lt;&amp;&gt;.img'/><driver type='raw'/></disk>"
        );
        assert_eq!(
            super::copy_dest_xml("/dev/vg/x", true, "qcow2"),
            "<disk type='block'><source dev='/dev/vg/x'/><driver type='qcow2'/></disk>"
        );
    }
}
