//! Turning a backup chain into one image with qemu-img: the full backup, then each
//! increment on top. The increments are read through a JSON file name that names each
//! one's backing image, so the backup files are never modified (no `qemu-img rebase`) and
//! nothing is copied twice. qemu-img runs as a program with arguments, never through a shell.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use super::Found;

/// qemu-img's JSON description of `target`'s image in `chain` (full first): each image
/// backed by the one before it.
pub fn chain_spec(chain: &[Found], target: &str) -> Result<Value, String> {
    let mut spec: Option<Value> = None;
    for b in chain {
        let disk = b
            .manifest
            .disks
            .iter()
            .find(|d| d.target == target)
            .ok_or_else(|| format!("{}: no image of disk {target}", b.name()))?;
        let path = b.dir.join(&disk.file);
        let mut image = json!({
            "driver": "qcow2",
            "file": { "driver": "file", "filename": path.to_string_lossy() },
        });
        // A full backup (or copy) stands alone; libvirt wrote the VM's own disk as an
        // increment's backing file, which must not be read.
        image["backing"] = spec.take().unwrap_or(Value::Null);
        spec = Some(image);
    }
    spec.ok_or_else(|| "an empty backup chain".to_string())
}

/// Writes the disk `target` as it was at the chain's last backup into `dest` (a new qcow2).
pub fn flatten(chain: &[Found], target: &str, dest: &Path) -> Result<(), String> {
    let spec = chain_spec(chain, target)?;
    let source = format!("json:{spec}");
    run_qemu_img(&[
        "convert".as_ref(),
        "-O".as_ref(),
        "qcow2".as_ref(),
        source.as_ref(),
        dest.as_os_str(),
    ])
}

/// Writes the disk `target` as it was at the chain's last backup over the existing image
/// `dest`, in its format (`-n`: the file, its owner and labels stay; every block is written,
/// zeros included).
pub fn write_over(chain: &[Found], target: &str, dest: &Path, format: &str) -> Result<(), String> {
    let spec = chain_spec(chain, target)?;
    let source = format!("json:{spec}");
    run_qemu_img(&[
        "convert".as_ref(),
        "-n".as_ref(),
        "-O".as_ref(),
        format.as_ref(),
        source.as_ref(),
        dest.as_os_str(),
    ])
}

/// Copies a shut-off VM's disk image into `dest` (qcow2), for an offline backup.
pub fn copy_image(source: &Path, format: &str, dest: &Path) -> Result<(), String> {
    run_qemu_img(&[
        "convert".as_ref(),
        "-f".as_ref(),
        format.as_ref(),
        "-O".as_ref(),
        "qcow2".as_ref(),
        source.as_os_str(),
        dest.as_os_str(),
    ])
}

fn run_qemu_img(args: &[&std::ffi::OsStr]) -> Result<(), String> {
    let out = Command::new("qemu-img")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run qemu-img ({e}): install qemu-utils"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "qemu-img: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::{DiskEntry, Kind, Manifest};

    fn backup(dir: &str, kind: Kind) -> Found {
        Found {
            dir: dir.into(),
            manifest: Manifest {
                version: 1,
                vm: "vm".into(),
                uuid: "u".into(),
                host: "h".into(),
                kind,
                time: 0,
                checkpoint: None,
                since: None,
                base: None,
                disks: vec![DiskEntry {
                    target: "vda".into(),
                    file: "vda.qcow2".into(),
                    source: "/s".into(),
                    capacity: 1,
                    size: 1,
                }],
                domain_xml: String::new(),
            },
        }
    }

    #[test]
    fn the_chain_reads_each_increment_over_the_one_before() {
        let chain = [
            backup("/b/1-full", Kind::Full),
            backup("/b/2 \"inc\"", Kind::Incremental),
        ];
        let spec = chain_spec(&chain, "vda").unwrap();
        assert_eq!(spec["file"]["filename"], "/b/2 \"inc\"/vda.qcow2");
        assert_eq!(spec["backing"]["file"]["filename"], "/b/1-full/vda.qcow2");
        assert_eq!(spec["backing"]["backing"], Value::Null);
        // The quote in the path is escaped in the JSON qemu-img reads.
        assert!(spec.to_string().contains(r#"/b/2 \"inc\"/vda.qcow2"#));
        assert!(chain_spec(&chain, "vdb")
            .unwrap_err()
            .contains("no image of disk vdb"));
    }
}
