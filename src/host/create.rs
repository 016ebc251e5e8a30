//! The new-VM wizard's Create: one job on the worker's connection that creates the new
//! volumes, builds and uploads the cloud-init seed, defines the domain and starts it. Each
//! step that made something records how to take it back; when a step fails (or the job is
//! cancelled between steps) those are undone latest first — destroy, undefine (with NVRAM),
//! delete the volumes — and the caller gets libvirt's error text.
//!
//! It runs on a thread with a connection of its own (the worker starts it, as for storage
//! actions): downloading an install tree's kernel and initrd and booting can take a while.
//! An install tree given by URL is fetched on this machine and uploaded into the pool of the
//! VM's new disk, so it works for remote hosts too. Progress goes through the
//! [`Job`]: `total` is the number of steps, `done` the steps finished; [`steps`] names them
//! so the UI can show "creating volume vm.qcow2 (1/3)". The job ends Done, Failed or
//! Cancelled, and the worker answers `Reply::Done` as well.

use virt::connect::Connect;
use virt::domain::Domain;
use virt::error::Error;
use virt::storage_vol::StorageVol;
use virt::stream::Stream;

use super::{message, HostEvent, Reply, RequestId};
use crate::job::{Job, JobState};
use crate::xml::newvm::{DiskSource, InstallMethod, NewVm, Record};
use crate::xml::volume::VolumeDef;

/// `HostCommand::CreateVm`: create `spec` on the host, then start it if `start`.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateVm {
    pub id: RequestId,
    pub spec: NewVm,
    /// Start the VM once defined. An install-tree (kernel/initrd) install always starts:
    /// its first boot exists only as a transient definition.
    pub start: bool,
    pub job: Job,
}

/// One step of the job, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Create volume `name` in `pool`.
    Volume {
        pool: String,
        name: String,
    },
    /// Build the cloud-init seed ISO and upload it as `name` in `pool`.
    Seed {
        pool: String,
        name: String,
    },
    /// Download the install tree's kernel (or initrd) from `url` on this machine and upload
    /// it as volume `name` in `pool`, whose path the domain then boots.
    Fetch {
        url: String,
        pool: String,
        name: String,
        kernel: bool,
    },
    Define,
    Start,
}

impl Step {
    /// What the UI shows while the step runs.
    pub fn label(&self) -> String {
        match self {
            Step::Volume { pool, name } => format!("creating volume {name} in pool {pool}"),
            Step::Fetch { url, pool, .. } => format!("downloading {url} into pool {pool}"),
            Step::Seed { pool, name } => {
                format!("uploading cloud-init seed {name} to pool {pool}")
            }
            Step::Define => "defining the VM".into(),
            Step::Start => "starting the VM".into(),
        }
    }
}

/// The steps `CreateVm` runs for `spec`; `job.done()` of them are finished.
pub fn steps(spec: &NewVm, start: bool) -> Vec<Step> {
    let mut out: Vec<Step> = spec
        .disks
        .iter()
        .filter(|d| d.is_new())
        .filter_map(|d| d.pool_volume())
        .map(|(pool, name)| Step::Volume {
            pool: pool.to_string(),
            name: name.to_string(),
        })
        .collect();
    if let Some((pool, name)) = spec.seed_volume() {
        out.push(Step::Seed { pool, name });
    }
    out.extend(fetch_steps(spec));
    out.push(Step::Define);
    if start || matches!(spec.install, InstallMethod::Url { .. }) {
        out.push(Step::Start);
    }
    out
}

/// An install tree given by URL: its kernel and initrd are downloaded into the pool of the
/// VM's first new disk (an install always writes one), next to it, as `<vm>-kernel` and
/// `<vm>-initrd`. Host paths need no step.
fn fetch_steps(spec: &NewVm) -> Vec<Step> {
    let InstallMethod::Url { kernel, initrd, .. } = &spec.install else {
        return Vec::new();
    };
    let Some(pool) = spec
        .disks
        .iter()
        .filter(|d| d.is_new())
        .find_map(|d| d.pool_volume())
        .map(|(p, _)| p.to_string())
    else {
        return Vec::new();
    };
    [(kernel, true), (initrd, false)]
        .into_iter()
        .filter(|(u, _)| crate::xml::newvm::is_url(u))
        .map(|(url, is_kernel)| Step::Fetch {
            url: url.clone(),
            pool: pool.clone(),
            name: format!(
                "{}-{}",
                spec.name,
                if is_kernel { "kernel" } else { "initrd" }
            ),
            kernel: is_kernel,
        })
        .collect()
}

/// Why the pool cannot hold a new volume, or `None`. Raw volumes are refused when larger
/// than the pool's free space (they will fill it); qcow2 grows on demand, so only a volume
/// larger than the whole pool is refused. The wizard can call this with the pool figures
/// from the storage inventory; the job checks again just before creating.
pub fn space_problem(
    name: &str,
    capacity: u64,
    format: &str,
    pool: &str,
    pool_capacity: u64,
    available: u64,
) -> Option<String> {
    let limit = if format == "raw" {
        available
    } else {
        pool_capacity
    };
    (capacity > limit).then(|| {
        format!(
            "volume {name} ({}) does not fit in pool {pool} ({} free of {})",
            crate::fmt::bytes(capacity),
            crate::fmt::bytes(available),
            crate::fmt::bytes(pool_capacity)
        )
    })
}

/// How a step is taken back.
enum Undo {
    DeleteVolume(StorageVol, String),
    Undefine(Domain),
    Destroy(Domain),
}

/// Why the job stopped.
enum Stop {
    Libvirt(Error),
    Refused(String),
    Cancelled,
}

impl From<Error> for Stop {
    fn from(e: Error) -> Stop {
        Stop::Libvirt(e)
    }
}

/// Runs the job, answers `Reply::Done` and finishes `job`. Returns the libvirt error that
/// failed it, so the worker can tell a dead connection from a refused action.
pub(super) fn run(
    conn: &Connect,
    cmd: Box<CreateVm>,
    notify: &dyn Fn(HostEvent),
) -> Result<(), Error> {
    let CreateVm {
        id,
        spec,
        start,
        job,
    } = *cmd;
    let plan = steps(&spec, start);
    job.set_total(plan.len() as u64);
    let mut undo = Vec::new();
    let outcome = run_steps(conn, &spec, &plan, &job, &mut undo);
    let (result, state, error) = match outcome {
        Ok(text) => (Ok(text.clone()), JobState::Done, None),
        Err(stop) => {
            let left = rollback(undo);
            let note = if left.is_empty() {
                "nothing was left behind".to_string()
            } else {
                format!("cleanup incomplete: {}", left.join("; "))
            };
            match stop {
                Stop::Libvirt(e) => {
                    let text = format!("{} ({note})", message(&e));
                    (Err(text.clone()), JobState::Failed(text), Some(e))
                }
                Stop::Refused(why) => {
                    let text = format!("{why} ({note})");
                    (Err(text.clone()), JobState::Failed(text), None)
                }
                Stop::Cancelled => {
                    let text = format!("cancelled ({note})");
                    (Err(text), JobState::Cancelled, None)
                }
            }
        }
    };
    job.finish(state);
    notify(HostEvent::Reply {
        id,
        reply: Reply::Done(result),
    });
    error.map_or(Ok(()), Err)
}

fn run_steps(
    conn: &Connect,
    spec: &NewVm,
    plan: &[Step],
    job: &Job,
    undo: &mut Vec<Undo>,
) -> Result<String, Stop> {
    let problems = crate::xml::newvm::validate(spec);
    if let Some((field, why)) = problems.into_iter().next() {
        return Err(Stop::Refused(format!("{field}: {why}")));
    }
    // The definition records the volumes made here that it need not name later (the seed
    // may be ejected, the boot files are only in the transient install boot), under a UUID
    // chosen now, so deleting the VM with its storage finds them.
    let record = Record {
        uuid: crate::xml::edit::random_uuid(),
        volumes: plan
            .iter()
            .filter_map(|s| match s {
                Step::Seed { pool, name } | Step::Fetch { pool, name, .. } => {
                    Some((pool.clone(), name.clone()))
                }
                _ => None,
            })
            .collect(),
    };
    // Downloaded boot files replace their URLs with the volumes' paths.
    let mut spec = spec.clone();
    let mut dom = None;
    let mut started = false;
    for step in plan {
        if job.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        match step {
            Step::Volume { pool, name } => {
                let disk = spec
                    .disks
                    .iter()
                    .find(|d| d.is_new() && d.pool_volume() == Some((pool, name)));
                if let Some(disk) = disk {
                    let vol = create_volume(conn, disk)?;
                    undo.push(Undo::DeleteVolume(vol, name.clone()));
                }
            }
            Step::Seed { pool, name } => {
                let InstallMethod::Cloud { config, .. } = &spec.install else {
                    continue;
                };
                let iso = crate::cloudinit::seed_iso(config, &instance_id(&spec.name))
                    .map_err(|e| Stop::Refused(e.to_string()))?;
                upload_bytes(conn, pool, name, &iso, undo)?;
            }
            Step::Fetch {
                url,
                pool,
                name,
                kernel,
            } => {
                let bytes = fetch(url, job)?;
                let path = upload_bytes(conn, pool, name, &bytes, undo)?.path()?;
                if let InstallMethod::Url {
                    kernel: k,
                    initrd: i,
                    ..
                } = &mut spec.install
                {
                    *(if *kernel { k } else { i }) = path;
                }
            }
            Step::Define => {
                let xml = spec
                    .recorded_xml(&record)
                    .map_err(|e| Stop::Refused(e.to_string()))?;
                let d = conn.define_domain_xml(&xml)?;
                undo.push(Undo::Undefine(d.clone()));
                dom = Some(d);
            }
            Step::Start => {
                let Some(d) = &dom else { continue };
                match spec
                    .install_xml(&record)
                    .map_err(|e| Stop::Refused(e.to_string()))?
                {
                    // The install boot runs as the live definition of the same domain;
                    // the persistent one (booting the disk) stays for later starts.
                    Some(first) => {
                        conn.create_domain_xml(&first, 0)?;
                    }
                    None => d.create()?,
                }
                undo.push(Undo::Destroy(d.clone()));
                started = true;
            }
        }
        job.advance(1);
    }
    Ok(format!(
        "VM {} created{}",
        spec.name,
        if started { " and started" } else { "" }
    ))
}

/// A fresh instance id per creation, so cloud-init runs on a re-created VM too.
fn instance_id(name: &str) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let clean: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("virtdeck-{clean}-{t:x}")
}

fn create_volume(conn: &Connect, disk: &DiskSource) -> Result<StorageVol, Stop> {
    let (def, pool_name) = match disk {
        DiskSource::New {
            pool,
            name,
            capacity,
            format,
        } => (
            VolumeDef::new(name, *capacity, format.as_str(), false, None),
            pool,
        ),
        DiskSource::Overlay {
            pool,
            name,
            capacity,
            base_pool,
            base,
            base_format,
        } => {
            let base_vol = conn
                .lookup_storage_pool_by_name(base_pool)?
                .lookup_storage_vol_by_name(base)?;
            let backing = (base_vol.path()?, base_format.clone());
            (
                VolumeDef::new(name, *capacity, "qcow2", false, Some(backing)),
                pool,
            )
        }
        _ => return Err(Stop::Refused("not a new volume".into())),
    };
    let pool = conn.lookup_storage_pool_by_name(pool_name)?;
    // Free space as the pool sees it now (a refresh picks up files written meanwhile).
    let _ = pool.refresh(0);
    let info = pool.info()?;
    if let Some(why) = space_problem(
        &def.name,
        def.capacity,
        def.format.as_deref().unwrap_or("raw"),
        pool_name,
        info.capacity,
        info.available,
    ) {
        return Err(Stop::Refused(why));
    }
    let xml = def.to_xml().map_err(|e| Stop::Refused(e.to_string()))?;
    Ok(StorageVol::create_xml(&pool, &xml, 0)?)
}

/// Largest boot file downloaded (installer initrds are tens of MiB).
const FETCH_MAX: u64 = 1 << 30;

/// Downloads `url` into memory on this machine, checking for cancel between 1 MiB reads.
fn fetch(url: &str, job: &Job) -> Result<Vec<u8>, Stop> {
    use std::io::Read;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(std::time::Duration::from_secs(15)))
        .timeout_recv_body(Some(std::time::Duration::from_secs(60)))
        .build()
        .into();
    let fail = |e: &dyn std::fmt::Display| Stop::Refused(format!("downloading {url}: {e}"));
    let mut resp = agent.get(url).call().map_err(|e| fail(&e))?;
    let mut reader = resp.body_mut().as_reader();
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        if job.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        let n = reader.read(&mut chunk).map_err(|e| fail(&e))?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&chunk[..n]);
        if out.len() as u64 > FETCH_MAX {
            return Err(fail(&format!(
                "larger than {}",
                crate::fmt::bytes(FETCH_MAX)
            )));
        }
    }
    if out.is_empty() {
        return Err(fail(&"the server sent an empty file"));
    }
    Ok(out)
}

/// Creates raw volume `name` in `pool_name` holding `bytes` (recorded for rollback).
fn upload_bytes(
    conn: &Connect,
    pool_name: &str,
    name: &str,
    iso: &[u8],
    undo: &mut Vec<Undo>,
) -> Result<StorageVol, Stop> {
    let pool = conn.lookup_storage_pool_by_name(pool_name)?;
    let def = VolumeDef::new(name, iso.len() as u64, "raw", false, None);
    let xml = def.to_xml().map_err(|e| Stop::Refused(e.to_string()))?;
    let vol = StorageVol::create_xml(&pool, &xml, 0)?;
    undo.push(Undo::DeleteVolume(vol.clone(), name.to_string()));
    let stream = Stream::new(conn, 0)?;
    vol.upload(&stream, 0, iso.len() as u64, 0)?;
    let mut sent = 0;
    while sent < iso.len() {
        match stream.send(&iso[sent..]) {
            Ok(n) if n > 0 => sent += n as usize,
            Ok(_) => {
                let _ = stream.abort();
                return Err(Stop::Refused(format!(
                    "the host stopped accepting the upload of {name}"
                )));
            }
            Err(e) => {
                let _ = stream.abort();
                return Err(e.into());
            }
        }
    }
    stream.finish()?;
    Ok(vol)
}

/// Takes the steps back, latest first; returns what could not be undone.
fn rollback(undo: Vec<Undo>) -> Vec<String> {
    let mut left = Vec::new();
    for step in undo.into_iter().rev() {
        let (result, what) = match &step {
            Undo::Destroy(d) => (d.destroy(), "the VM is still running".to_string()),
            Undo::Undefine(d) => (
                d.undefine_flags(
                    virt::sys::VIR_DOMAIN_UNDEFINE_NVRAM
                        | virt::sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE,
                ),
                "the VM is still defined".to_string(),
            ),
            Undo::DeleteVolume(v, name) => (v.delete(0), format!("volume {name} is still there")),
        };
        if let Err(e) = result {
            left.push(format!("{what}: {}", message(&e)));
        }
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osinfo::OsVariant;
    use crate::xml::newvm::{DiskFormat, HostFile};

    #[test]
    fn steps_follow_the_spec() {
        let os = OsVariant::generic();
        let mut vm = NewVm::for_os("a", &os, InstallMethod::Iso(HostFile::Path("/i".into())));
        vm.disks.push(vm.default_disk(&os, "p"));
        vm.disks.push(DiskSource::Path {
            path: "/x".into(),
            format: "raw".into(),
        });
        let s = steps(&vm, true);
        assert_eq!(
            s,
            vec![
                Step::Volume {
                    pool: "p".into(),
                    name: "a.qcow2".into()
                },
                Step::Define,
                Step::Start
            ]
        );
        assert_eq!(steps(&vm, false).len(), 2);
        vm.install = InstallMethod::Url {
            kernel: "/k".into(),
            initrd: "/i".into(),
            cmdline: String::new(),
        };
        assert_eq!(steps(&vm, false).last(), Some(&Step::Start));
        assert_eq!(s[0].label(), "creating volume a.qcow2 in pool p");
        let _ = DiskFormat::Raw;
    }

    #[test]
    fn space_rules() {
        const G: u64 = 1 << 30;
        assert!(space_problem("v", 5 * G, "raw", "p", 10 * G, 4 * G).is_some());
        assert!(space_problem("v", 4 * G, "raw", "p", 10 * G, 4 * G).is_none());
        // Thin qcow2: up to the pool's size.
        assert!(space_problem("v", 8 * G, "qcow2", "p", 10 * G, 4 * G).is_none());
        let why = space_problem("v", 11 * G, "qcow2", "p", 10 * G, 4 * G).unwrap();
        assert!(why.contains("does not fit in pool p"), "{why}");
    }

    #[test]
    fn instance_ids_differ() {
        let a = instance_id("vm <&> ü");
        assert!(a.starts_with("virtdeck-vm-----"), "{a}");
        std::thread::sleep(std::time::Duration::from_millis(1));
        assert_ne!(a, instance_id("vm <&> ü"));
    }
}
