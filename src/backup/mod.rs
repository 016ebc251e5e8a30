//! Backups on disk: where a VM's backups go, the manifest written next to the images, the
//! chain an incremental backup belongs to, and which old backups retention may delete.
//!
//! Layout under the destination `DIR`: `DIR/<vm>-<uuid8>/<time>-<kind>/`, holding one qcow2
//! image per disk (`<target>.qcow2`) and `manifest.toml`. `<vm>` is the VM's name with
//! everything but letters, digits, `.`, `_` and `-` replaced (a hostile name cannot leave
//! `DIR`). An incremental backup's manifest names the backup it builds on (`base`), so a
//! restore reads the chain back to its full backup.
//!
//! The libvirt side (push-mode `virDomainBackupBegin`, checkpoints, job progress) is
//! `host::backup`; flattening a chain with qemu-img is [`restore`].

pub mod cli;
pub mod restore;
pub mod retention;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const MANIFEST: &str = "manifest.toml";

/// What a backup holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Every block of the chosen disks, from the running VM (push mode), with a checkpoint.
    Full,
    /// The blocks changed since the base backup's checkpoint.
    Incremental,
    /// A shut-off VM's disks copied with qemu-img (no checkpoint).
    Copy,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Full => "full",
            Kind::Incremental => "incremental",
            Kind::Copy => "copy",
        }
    }
}

/// One disk in a backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskEntry {
    /// `<target dev>` in the VM (vda).
    pub target: String,
    /// The image's file name in the backup's directory.
    pub file: String,
    /// Where the VM reads the disk from (a path on the host).
    pub source: String,
    /// The guest-visible size in bytes.
    pub capacity: u64,
    /// The image file's size in bytes once written.
    pub size: u64,
}

/// `manifest.toml`: enough to restore the VM without its host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub vm: String,
    pub uuid: String,
    /// The libvirt URI it was taken from.
    pub host: String,
    pub kind: Kind,
    /// Seconds since the epoch (UTC) when the backup started.
    pub time: u64,
    /// The checkpoint this backup left on the VM (the next incremental starts from it).
    pub checkpoint: Option<String>,
    /// Incremental: the checkpoint it starts from, and the directory (a sibling) of the
    /// backup that holds the blocks before it.
    pub since: Option<String>,
    pub base: Option<String>,
    pub disks: Vec<DiskEntry>,
    /// The persistent definition (without secrets) at backup time.
    pub domain_xml: String,
}

impl Manifest {
    pub fn to_toml(&self) -> Result<String, String> {
        toml::to_string(self).map_err(|e| format!("backup manifest: {e}"))
    }

    pub fn from_toml(text: &str) -> Result<Manifest, String> {
        let m: Manifest = toml::from_str(text).map_err(|e| format!("backup manifest: {e}"))?;
        if m.version != 1 {
            return Err(format!("backup manifest version {} is not 1", m.version));
        }
        for d in &m.disks {
            if !safe_file_name(&d.file) {
                return Err(format!("backup manifest: bad image file name {:?}", d.file));
            }
        }
        if m.base.as_deref().is_some_and(|b| !safe_file_name(b)) {
            return Err("backup manifest: the base must be a sibling directory".into());
        }
        Ok(m)
    }
}

/// A file or directory name that stays where it is put: no separators, not `.` or `..`.
fn safe_file_name(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('/') && !s.contains('\0')
}

/// `s` with every character but ASCII letters, digits, `.`, `_` and `-` replaced by `_`,
/// never starting with `.` (so never `.` or `..`), at most 64 characters.
pub fn path_safe(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if out.is_empty() || out.starts_with('.') {
        out.insert(0, '_');
    }
    out
}

/// The directory holding every backup of one VM.
pub fn vm_dir(dest: &Path, vm: &str, uuid: &str) -> PathBuf {
    let short: String = uuid.chars().filter(|c| *c != '-').take(8).collect();
    dest.join(format!("{}-{}", path_safe(vm), path_safe(&short)))
}

/// A backup's directory name: its UTC time to the millisecond (sortable) and kind.
pub fn backup_dir_name(ms: u64, kind: Kind) -> String {
    let base = utc(ms / 1000);
    let (date, z) = base.split_at(base.len() - 1);
    format!("{date}.{:03}{z}-{}", ms % 1000, kind.as_str())
}

/// `20261205T075312Z` for seconds since the epoch.
pub fn utc(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = crate::osinfo::civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A backup found on disk: its directory and manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl Found {
    /// The directory's own name (what a later manifest's `base` names).
    pub fn name(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// Every readable backup in a VM's directory, oldest first; unreadable ones are skipped and
/// reported in the second list.
pub fn list(vm_dir: &Path) -> (Vec<Found>, Vec<String>) {
    let mut found = Vec::new();
    let mut bad = Vec::new();
    let Ok(entries) = std::fs::read_dir(vm_dir) else {
        return (found, bad);
    };
    for e in entries.flatten() {
        let dir = e.path();
        let path = dir.join(MANIFEST);
        // A directory without a manifest is an unfinished backup: not listed.
        if let Ok(text) = std::fs::read_to_string(&path) {
            match Manifest::from_toml(&text) {
                Ok(manifest) => found.push(Found { dir, manifest }),
                Err(err) => bad.push(format!("{}: {err}", path.display())),
            }
        }
    }
    found.sort_by_key(|f| (f.manifest.time, f.name()));
    (found, bad)
}

/// The chain a restore of `top` reads: its full backup first, `top` last.
pub fn chain(all: &[Found], top: &Found) -> Result<Vec<Found>, String> {
    let mut out = vec![top.clone()];
    let mut cur = top.clone();
    while cur.manifest.kind == Kind::Incremental {
        let base = cur
            .manifest
            .base
            .clone()
            .ok_or_else(|| format!("{}: an incremental backup without a base", cur.name()))?;
        let prev = all
            .iter()
            .find(|f| f.name() == base)
            .cloned()
            .or_else(|| {
                let dir = cur.dir.parent()?.join(&base);
                let text = std::fs::read_to_string(dir.join(MANIFEST)).ok()?;
                Some(Found {
                    manifest: Manifest::from_toml(&text).ok()?,
                    dir,
                })
            })
            .ok_or_else(|| format!("{}: its base backup {base} is missing", cur.name()))?;
        if out.len() > 10_000 || out.iter().any(|f| f.dir == prev.dir) {
            return Err(format!("{}: the backup chain loops", top.name()));
        }
        out.push(prev.clone());
        cur = prev;
    }
    out.reverse();
    Ok(out)
}

#[cfg(test)]
mod tests;
