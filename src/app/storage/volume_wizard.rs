//! Volume forms: new volume (raw/qcow2, thin or preallocated, qcow2 backing volume), clone,
//! resize (grow only), upload a local file, download to a local file (destination rules in
//! `download`).

use crate::app::jobs::JobKind;
use crate::app::wizard::{self, check, Context, Field, Spec, Wizard};
use crate::app::{App, Effect};
use crate::fmt;
use crate::host::{HostCommand, StorageCmd, VolOp};
use crate::job::Job;
use crate::model::HostId;
use crate::names::{self, NameKind};
use crate::size::parse_size;
use crate::xml::volume::VolumeDef;

const NO_BACKING: &str = "(none)";

/// Which volume form, and what it acts on (all in pool `pool`).
#[derive(Clone, Debug, PartialEq)]
pub enum VolumeForm {
    New {
        pool: String,
    },
    Clone {
        pool: String,
        source: String,
    },
    Resize {
        pool: String,
        volume: String,
        capacity: u64,
    },
    Upload {
        pool: String,
        volume: String,
        capacity: u64,
    },
    Download {
        pool: String,
        volume: String,
    },
}

impl Spec for VolumeForm {
    fn verb(&self) -> &'static str {
        match self {
            VolumeForm::New { .. } => "define",
            VolumeForm::Clone { .. } => "clone",
            VolumeForm::Resize { .. } => "resize",
            VolumeForm::Upload { .. } => "upload",
            VolumeForm::Download { .. } => "download",
        }
    }

    fn refresh(&self, w: &mut Wizard, ctx: &Context) {
        refresh(w, ctx)
    }

    fn submit(&self, app: &mut App) -> Vec<Effect> {
        match self {
            VolumeForm::Upload { pool, volume, .. } | VolumeForm::Download { pool, volume } => {
                transfer(app, pool, volume)
            }
            _ => wizard::send(app, |w, _, id| command(w, id).map(HostCommand::Storage)),
        }
    }

    fn pool(&self) -> Option<&str> {
        match self {
            VolumeForm::New { pool }
            | VolumeForm::Clone { pool, .. }
            | VolumeForm::Resize { pool, .. }
            | VolumeForm::Upload { pool, .. }
            | VolumeForm::Download { pool, .. } => Some(pool),
        }
    }
}

/// Transfers are jobs, not tagged requests: the form closes and the jobs pane follows them.
fn transfer(app: &mut App, pool: &str, volume: &str) -> Vec<Effect> {
    let crate::app::Mode::Wizard(w) = &app.mode else {
        return Vec::new();
    };
    let host = w.host;
    let (pool, volume) = (pool.to_string(), volume.to_string());
    let target = format!("{pool}/{volume}");
    let (kind, cmd) = if matches!(w.spec_as(), Some(VolumeForm::Upload { .. })) {
        let job = Job::new(format!("upload into {volume}"));
        let file = std::path::PathBuf::from(w.get("file"));
        let cmd = StorageCmd::Upload {
            pool,
            volume,
            file,
            job: job.clone(),
        };
        ((JobKind::Upload, job), cmd)
    } else {
        let file = super::download::target(w);
        let job = Job::new(format!("download of {volume} to {}", file.display()));
        let cmd = StorageCmd::Download {
            pool,
            volume,
            file,
            job: job.clone(),
        };
        ((JobKind::Download, job), cmd)
    };
    let (kind, job) = kind;
    app.jobs.add(kind, host, target, job, app.now);
    app.pop_overlay();
    vec![Effect::Host(host, HostCommand::Storage(cmd))]
}

/// Opens `form` on `host` (ctx: the pool's facts, for the defaults).
pub fn new(host: HostId, form: VolumeForm, ctx: &Context) -> Wizard {
    let spec = form.clone();
    match &form {
        VolumeForm::New { pool } => {
            let mut backing = vec![NO_BACKING.to_string()];
            backing.extend(
                ctx.volumes
                    .iter()
                    .filter(|v| v.2 == "qcow2" || v.2 == "raw")
                    .map(|v| v.0.clone()),
            );
            let mut w = Wizard::new(
                format!("New volume in {pool}"),
                host,
                spec,
                vec!["Volume", "Review"],
                vec![
                    Field::text("name", "Name", 0, "").hint(&format!(
                        "e.g. web01-root.qcow2; {}",
                        names::hint(kind_in(ctx))
                    )),
                    Field::text("size", "Size", 0, "10G")
                        .hint("10G, 512MiB, 1.5T (K/M/G/T are 1024-based; KB/MB/GB 1000-based)"),
                    Field::choice("format", "Format", 0, &["qcow2", "raw"]),
                    Field::choice("alloc", "Allocation", 0, &["thin", "preallocated"]).hint(
                        "thin: space is used as the guest writes; preallocated: reserved now",
                    ),
                    Field::choice("backing", "Backing volume", 0, &[])
                        .hint("qcow2 overlay on top of another volume (copy on write)"),
                ],
            );
            w.set_options("backing", backing);
            w
        }
        VolumeForm::Clone { source, .. } => Wizard::new(
            format!("Clone {source}"),
            host,
            spec,
            vec!["Clone", "Review"],
            vec![Field::text("name", "New name", 0, &clone_name(source, ctx))
                .hint(&names::hint(kind_in(ctx)))],
        ),
        VolumeForm::Resize {
            volume, capacity, ..
        } => Wizard::new(
            format!("Resize {volume}"),
            host,
            spec,
            vec!["Resize"],
            vec![Field::text(
                "size",
                "New size",
                0,
                &fmt::bytes(*capacity).replace(' ', ""),
            )
            .hint(&format!("now {}; volumes only grow", fmt::bytes(*capacity)))],
        ),
        VolumeForm::Upload {
            volume, capacity, ..
        } => Wizard::new(
            format!("Upload into {volume}"),
            host,
            spec,
            vec!["Upload"],
            vec![Field::text("file", "Local file", 0, "").hint(&format!(
                "a file on this machine, at most {}; overwrites the volume's start",
                fmt::bytes(*capacity)
            ))],
        ),
        // The file field is filled once the download directory is known (`download`).
        VolumeForm::Download { volume, .. } => Wizard::new(
            format!("Download {volume}"),
            host,
            spec,
            vec!["Download"],
            vec![Field::text("file", "Save as", 0, "")],
        ),
    }
}

fn clone_name(source: &str, ctx: &Context) -> String {
    let (stem, ext) = match source.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() && e.len() <= 5 => (s, format!(".{e}")),
        _ => (source, String::new()),
    };
    (1..)
        .map(|i| {
            if i == 1 {
                format!("{stem}-clone{ext}")
            } else {
                format!("{stem}-clone{i}{ext}")
            }
        })
        .find(|n| !ctx.volumes.iter().any(|v| v.0 == *n))
        .unwrap_or_default()
}

/// Volume names follow the pool's type (an LVM volume takes fewer characters than a file).
fn kind_in(ctx: &Context) -> NameKind {
    NameKind::volume_in(ctx.pool_kind.as_deref())
}

fn check_name(name: &str, ctx: &Context) -> Result<(), String> {
    names::check(kind_in(ctx), name)?;
    if ctx.volumes.iter().any(|v| v.0 == name) {
        return Err(format!("the pool already has a volume named {name}"));
    }
    Ok(())
}

pub fn refresh(w: &mut Wizard, ctx: &Context) {
    let Some(form) = w.spec_as::<VolumeForm>().cloned() else {
        return;
    };
    match form {
        VolumeForm::New { .. } => {
            let qcow2 = w.get("format") == "qcow2";
            if let Some(f) = w.field_mut("backing") {
                f.visible = qcow2;
            }
            let backing = w.get("backing");
            let has_backing = qcow2 && backing != NO_BACKING && !backing.is_empty();
            check(w, "name", check_name(&w.get("name"), ctx));
            let size = w.get("size");
            let prealloc = w.get("alloc") == "preallocated";
            let parsed = if size.is_empty() && has_backing {
                Ok(0)
            } else {
                parse_size(&size).map_err(|e| e.to_string()).and_then(|b| {
                    if b == 0 {
                        Err("the size must be more than 0".into())
                    } else {
                        Ok(b)
                    }
                })
            };
            let mut warn = None;
            let parsed = parsed.and_then(|b| match ctx.available {
                Some(free) if b > free && prealloc => Err(format!(
                    "only {} free in the pool: preallocating {} cannot fit",
                    fmt::bytes(free),
                    fmt::bytes(b)
                )),
                Some(free) if b > free => {
                    warn = Some(format!(
                        "more than the {} free: the pool can fill up as the guest writes",
                        fmt::bytes(free)
                    ));
                    Ok(b)
                }
                _ => Ok(b),
            });
            check(w, "size", parsed.clone().map(|_| ()));
            if let Some(f) = w.field_mut("size") {
                f.warning = warn;
            }
            w.review = Some(build_new(w, ctx).and_then(|d| d.to_xml().map_err(|e| e.to_string())));
        }
        VolumeForm::Clone { source, .. } => {
            check(w, "name", check_name(&w.get("name"), ctx));
            w.review = Some(
                clone_def(w, ctx, &source).and_then(|d| d.to_xml().map_err(|e| e.to_string())),
            );
        }
        VolumeForm::Resize { capacity, .. } => {
            let r = parse_size(&w.get("size")).map_err(|e| e.to_string()).and_then(|b| {
                if b < capacity {
                    Err(format!(
                        "shrinking ({} → {}) would cut off data the guest may use: virtdeck only grows volumes",
                        fmt::bytes(capacity),
                        fmt::bytes(b)
                    ))
                } else if b == capacity {
                    Err("that is the current size".into())
                } else {
                    Ok(())
                }
            });
            check(w, "size", r);
        }
        VolumeForm::Upload { capacity, .. } => {
            let path = w.get("file");
            let r = if path.is_empty() {
                Err("enter the path of a local file".to_string())
            } else {
                match wizard::checks::stat(w, "file", &path) {
                    None => Err(format!("checking {path}…")),
                    Some(Err(e)) => Err(format!("{path}: {e}")),
                    Some(Ok(m)) if !m.file => Err(format!("{path} is not a regular file")),
                    Some(Ok(m)) if m.len > capacity => Err(format!(
                        "the file ({}) is larger than the volume ({}): resize the volume first",
                        fmt::bytes(m.len),
                        fmt::bytes(capacity)
                    )),
                    Some(Ok(_)) => Ok(()),
                }
            };
            check(w, "file", r);
        }
        VolumeForm::Download { .. } => super::download::refresh(w),
    }
}

fn build_new(w: &Wizard, ctx: &Context) -> Result<VolumeDef, String> {
    let qcow2 = w.get("format") == "qcow2";
    let backing = w.get("backing");
    let backing = (qcow2 && backing != NO_BACKING && !backing.is_empty())
        .then(|| ctx.volumes.iter().find(|v| v.0 == backing))
        .flatten();
    let size = w.get("size");
    let capacity = match (parse_size(&size), backing) {
        (Ok(b), _) if !size.is_empty() => b,
        (_, Some(b)) => b.3,
        (Err(e), None) => return Err(e.to_string()),
        (Ok(b), None) => b,
    };
    Ok(VolumeDef::new(
        &w.get("name"),
        capacity,
        if qcow2 { "qcow2" } else { "raw" },
        w.get("alloc") == "preallocated",
        backing.map(|b| {
            (
                b.1.clone(),
                if b.2.is_empty() {
                    "raw".to_string()
                } else {
                    b.2.clone()
                },
            )
        }),
    ))
}

fn clone_def(w: &Wizard, ctx: &Context, source: &str) -> Result<VolumeDef, String> {
    let src = ctx
        .volumes
        .iter()
        .find(|v| v.0 == source)
        .ok_or_else(|| format!("{source} is no longer in the pool"))?;
    let format = if src.2.is_empty() {
        "raw"
    } else {
        src.2.as_str()
    };
    Ok(VolumeDef::new(&w.get("name"), src.3, format, false, None))
}

/// The command the form's last page sends.
pub fn command(w: &Wizard, id: crate::host::RequestId) -> Result<StorageCmd, String> {
    let xml = || match &w.review {
        Some(Ok(x)) => Ok(x.clone()),
        Some(Err(e)) => Err(e.clone()),
        None => Err("nothing to define".to_string()),
    };
    let (pool, volume, op) = match w.spec_as::<VolumeForm>() {
        Some(VolumeForm::New { pool }) => {
            (pool.clone(), w.get("name"), VolOp::Create { xml: xml()? })
        }
        Some(VolumeForm::Clone { pool, source }) => (
            pool.clone(),
            w.get("name"),
            VolOp::Clone {
                source: source.clone(),
                xml: xml()?,
            },
        ),
        Some(VolumeForm::Resize { pool, volume, .. }) => (
            pool.clone(),
            volume.clone(),
            VolOp::Resize {
                capacity: parse_size(&w.get("size")).map_err(|e| e.to_string())?,
            },
        ),
        _ => return Err("not a volume form".into()),
    };
    Ok(StorageCmd::Volume {
        id,
        pool,
        volume,
        op,
    })
}
