//! libvirt's push-mode backup and checkpoint documents (`virDomainBackupBegin`): which disks
//! go to which file, since which checkpoint (incremental), and the checkpoint the backup
//! leaves for the next one (qcow2 dirty bitmaps). Paths come from the backup layout and disk
//! targets from the host; both go through serde, so they are escaped.

use serde::Serialize;

use super::domain::{write, XmlError};

/// One disk of the VM: backed up into `file` (qcow2), or left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupDisk {
    /// `<target dev>` (vda).
    pub target: String,
    /// Where the copy goes; `None`: not backed up (and no bitmap for it).
    pub file: Option<String>,
}

#[derive(Serialize)]
struct DomainBackup {
    #[serde(rename = "@mode")]
    mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    incremental: Option<String>,
    disks: Disks<BackupDiskXml>,
}

#[derive(Serialize)]
struct Disks<T> {
    disk: Vec<T>,
}

#[derive(Serialize)]
struct BackupDiskXml {
    #[serde(rename = "@name")]
    name: String,
    #[serde(rename = "@backup")]
    backup: &'static str,
    #[serde(rename = "@type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<FileAttr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    driver: Option<TypeAttr>,
}

#[derive(Serialize)]
struct FileAttr {
    #[serde(rename = "@file")]
    file: String,
}

#[derive(Serialize)]
struct TypeAttr {
    #[serde(rename = "@type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct DomainCheckpoint {
    name: String,
    description: &'static str,
    disks: Disks<CheckpointDisk>,
}

#[derive(Serialize)]
struct CheckpointDisk {
    #[serde(rename = "@name")]
    name: String,
    #[serde(rename = "@checkpoint")]
    checkpoint: &'static str,
}

/// `<domainbackup mode='push'>`: every disk listed, the chosen ones into qcow2 files;
/// `since`: the checkpoint an incremental backup starts from.
pub fn backup_xml(disks: &[BackupDisk], since: Option<&str>) -> Result<String, XmlError> {
    let disk = disks
        .iter()
        .map(|d| match &d.file {
            Some(f) => BackupDiskXml {
                name: d.target.clone(),
                backup: "yes",
                kind: Some("file"),
                target: Some(FileAttr { file: f.clone() }),
                driver: Some(TypeAttr { kind: "qcow2" }),
            },
            None => BackupDiskXml {
                name: d.target.clone(),
                backup: "no",
                kind: None,
                target: None,
                driver: None,
            },
        })
        .collect();
    write(
        "domainbackup",
        &DomainBackup {
            mode: "push",
            incremental: since.map(str::to_string),
            disks: Disks { disk },
        },
    )
}

/// `<domaincheckpoint>` named `name`: a dirty bitmap on every backed-up disk.
pub fn checkpoint_xml(name: &str, disks: &[BackupDisk]) -> Result<String, XmlError> {
    let disk = disks
        .iter()
        .map(|d| CheckpointDisk {
            name: d.target.clone(),
            checkpoint: if d.file.is_some() { "bitmap" } else { "no" },
        })
        .collect();
    write(
        "domaincheckpoint",
        &DomainCheckpoint {
            name: name.to_string(),
            description: "virtdeck backup",
            disks: Disks { disk },
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disks() -> Vec<BackupDisk> {
        vec![
            BackupDisk {
                target: "vda".into(),
                file: Some("/b/web <&'\">/vda.qcow2".into()),
            },
            BackupDisk {
                target: "vdb".into(),
                file: None,
            },
        ]
    }

    #[test]
    fn a_full_and_an_incremental_backup_and_their_checkpoint() {
        let full = backup_xml(&disks(), None).unwrap();
        assert!(full.starts_with("<domainbackup mode=\"push\">"), "{full}");
        assert!(!full.contains("<incremental>"));
        assert!(full.contains(
            "<disk name=\"vda\" backup=\"yes\" type=\"file\">\n      <target file=\"/b/web &lt;&amp;'&quot;&gt;/vda.qcow2\"/>\n      <driver type=\"qcow2\"/>"
        ), "{full}");
        assert!(
            full.contains("<disk name=\"vdb\" backup=\"no\"/>"),
            "{full}"
        );
        let inc = backup_xml(&disks(), Some("virtdeck-1")).unwrap();
        assert!(
            inc.contains("<incremental>virtdeck-1</incremental>"),
            "{inc}"
        );
        let ck = checkpoint_xml("virtdeck-2", &disks()).unwrap();
        assert!(ck.contains("<name>virtdeck-2</name>"));
        assert!(
            ck.contains("<disk name=\"vda\" checkpoint=\"bitmap\"/>"),
            "{ck}"
        );
        assert!(ck.contains("<disk name=\"vdb\" checkpoint=\"no\"/>"));
        // Parsed back, the hostile path is the same text.
        let root = crate::xml::tree::parse(&full, "backup").unwrap();
        let vda = root.path(&["disks", "disk"]).unwrap();
        assert_eq!(
            vda.child_attr("target", "file"),
            Some("/b/web <&'\">/vda.qcow2")
        );
    }
}
