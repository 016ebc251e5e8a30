//! Block devices for storage tests: a sparse file attached to a loop device, detached on drop
//! (after whatever was built on it), and an LVM volume group removed on drop.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs a command, returning stdout or a message with its stderr.
pub fn run(cmd: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(cmd)
        .args(args)
        // lvm warns on stderr about every inherited descriptor (the test harness's pipes).
        .env("LVM_SUPPRESS_FD_WARNINGS", "1")
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A loop device over a sparse file in `dir`.
pub struct LoopDev {
    pub dev: String,
    pub file: PathBuf,
}

impl LoopDev {
    /// `None` (with a note on stderr) when loop devices cannot be used here (not root, no
    /// /dev/loop-control in a container).
    pub fn create(dir: &Path, mib: u64) -> Option<LoopDev> {
        let file = dir.join(format!("loop-{mib}m.img"));
        std::fs::File::create(&file)
            .and_then(|f| f.set_len(mib * 1024 * 1024))
            .ok()?;
        let file_arg = file.to_string_lossy().into_owned();
        match run("losetup", &["-f", "--show", &file_arg]) {
            Ok(out) => Some(LoopDev {
                dev: out.trim().to_string(),
                file,
            }),
            Err(e) => {
                eprintln!("skipping: no loop device ({e})");
                None
            }
        }
    }

    pub fn mkfs_ext4(&self) {
        run("mkfs.ext4", &["-q", "-F", &self.dev]).expect("mkfs.ext4");
    }
}

impl Drop for LoopDev {
    fn drop(&mut self) {
        // A filesystem still mounted from the device (a pool the test left running) would
        // keep the loop device busy.
        let _ = run("umount", &[&self.dev]);
        let _ = run("losetup", &["-d", &self.dev]);
    }
}

/// An LVM volume group (and its physical volume), removed on drop if it still exists.
pub struct VgGuard {
    pub vg: String,
    pub pv: String,
}

impl VgGuard {
    pub fn exists(&self) -> bool {
        run("vgs", &["--noheadings", "-o", "vg_name", &self.vg]).is_ok()
    }
}

impl Drop for VgGuard {
    fn drop(&mut self) {
        if self.exists() {
            let _ = run("vgchange", &["-an", &self.vg]);
            let _ = run("vgremove", &["-f", &self.vg]);
        }
        let _ = run("pvremove", &["-ff", "-y", &self.pv]);
    }
}
