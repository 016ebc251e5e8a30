//! Domain snapshots: the `<domainsnapshot>` XML to create one, the parser for libvirt's
//! description of one, and the tree the Snapshots tab draws (parents before children,
//! depth-first, the current snapshot marked).

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::xml::domain::{write, XmlError};
use crate::xml::hardware::{Hardware, Source};
use crate::xml::tree;

/// How a disk takes part in a snapshot (`<disk snapshot>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskMode {
    /// Inside the qcow2 image itself.
    Internal,
    /// A new overlay file; `None` lets libvirt name it (`<image>.<snapshot>`).
    External(Option<String>),
    /// Left out (CD-ROMs, read-only and shared disks).
    No,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotDisk {
    pub target: String,
    pub mode: DiskMode,
}

/// A snapshot to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotSpec {
    pub name: String,
    pub description: Option<String>,
    /// Disk-only (external overlays, no memory, the guest keeps running) instead of an
    /// internal snapshot (disks and, when running, memory; every included disk must be qcow2).
    pub disk_only: bool,
    /// Per-disk modes; empty lets libvirt decide for every disk.
    pub disks: Vec<SnapshotDisk>,
    /// Freeze the guest's file systems through its agent while the snapshot is taken
    /// (disk-only snapshots of a running VM with the agent).
    pub quiesce: bool,
}

impl SnapshotSpec {
    /// A snapshot of the domain described by `hw`, with each disk's mode chosen the way
    /// virt-manager does: writable disks with a source take part (internal, or external for
    /// disk-only), CD-ROMs, empty drives, read-only and shareable disks are left out.
    pub fn for_domain(
        hw: &Hardware,
        name: &str,
        description: Option<&str>,
        disk_only: bool,
    ) -> SnapshotSpec {
        let disks = hw
            .disks
            .iter()
            .filter(|d| !d.target.is_empty())
            .map(|d| {
                let skip = d.device != "disk"
                    || d.readonly
                    || d.shareable
                    || matches!(d.source, Source::None);
                SnapshotDisk {
                    target: d.target.clone(),
                    mode: match (skip, disk_only) {
                        (true, _) => DiskMode::No,
                        (false, true) => DiskMode::External(None),
                        (false, false) => DiskMode::Internal,
                    },
                }
            })
            .collect();
        SnapshotSpec {
            name: name.to_string(),
            description: description.map(str::to_string).filter(|d| !d.is_empty()),
            disk_only,
            disks,
            quiesce: false,
        }
    }

    /// Problems as (field, message): `name`, `disks`.
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Err(m) = crate::names::check(crate::names::NameKind::Snapshot, &self.name) {
            out.push(("name", m));
        }
        if !self.disks.is_empty() && self.disks.iter().all(|d| d.mode == DiskMode::No) {
            out.push(("disks", "no disk can be snapshotted".to_string()));
        }
        if self.disk_only && self.disks.iter().any(|d| d.mode == DiskMode::Internal) {
            out.push((
                "disks",
                "a disk-only snapshot keeps disks external".to_string(),
            ));
        }
        out
    }

    /// The `<domainsnapshot>` document for `virDomainSnapshotCreateXML`.
    pub fn to_xml(&self) -> Result<String, XmlError> {
        let wire = SnapXml {
            name: self.name.clone(),
            description: self.description.clone(),
            memory: self.disk_only.then_some(MemXml { snapshot: "no" }),
            disks: (!self.disks.is_empty()).then(|| DisksXml {
                disk: self
                    .disks
                    .iter()
                    .map(|d| SnapDiskXml {
                        name: d.target.clone(),
                        snapshot: match d.mode {
                            DiskMode::Internal => "internal",
                            DiskMode::External(_) => "external",
                            DiskMode::No => "no",
                        },
                        source: match &d.mode {
                            DiskMode::External(Some(f)) => Some(FileXml { file: f.clone() }),
                            _ => None,
                        },
                    })
                    .collect(),
            }),
        };
        write("domainsnapshot", &wire)
    }
}

#[derive(Serialize)]
struct SnapXml {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<MemXml>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disks: Option<DisksXml>,
}

#[derive(Serialize)]
struct MemXml {
    #[serde(rename = "@snapshot")]
    snapshot: &'static str,
}

#[derive(Serialize)]
struct DisksXml {
    disk: Vec<SnapDiskXml>,
}

#[derive(Serialize)]
struct SnapDiskXml {
    #[serde(rename = "@name")]
    name: String,
    #[serde(rename = "@snapshot")]
    snapshot: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<FileXml>,
}

#[derive(Serialize)]
struct FileXml {
    #[serde(rename = "@file")]
    file: String,
}

/// One snapshot as libvirt describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub name: String,
    pub description: Option<String>,
    /// The domain's state when taken: running, paused, shutoff, or disk-snapshot.
    pub state: String,
    pub parent: Option<String>,
    /// Seconds since the epoch.
    pub creation_time: i64,
    /// `<memory snapshot>`: internal, external or no.
    pub memory: Option<String>,
    /// Taken with disk-only (external overlays, no memory).
    pub disk_only: bool,
    /// `(target, mode)` of each `<disks><disk>`.
    pub disks: Vec<(String, String)>,
    /// The domain's current snapshot (set from `virDomainSnapshotIsCurrent`, not the XML).
    pub current: bool,
}

impl SnapshotInfo {
    /// Whether reverting brings back a running (or paused) guest with its memory.
    pub fn has_memory(&self) -> bool {
        matches!(self.state.as_str(), "running" | "paused") && self.memory.as_deref() != Some("no")
    }
}

/// Parses `virDomainSnapshotGetXMLDesc` output. The embedded `<domain>` is skipped.
pub fn parse(xml: &str) -> Result<SnapshotInfo, XmlError> {
    let root = tree::parse(xml, "snapshot")?;
    if root.name != "domainsnapshot" {
        return Err(XmlError(format!(
            "snapshot XML: the root element is <{}>",
            root.name
        )));
    }
    let state = root.child_text("state").unwrap_or_default().to_string();
    Ok(SnapshotInfo {
        name: root.child_text("name").unwrap_or_default().to_string(),
        description: root.child("description").map(|d| d.text.clone()),
        disk_only: state == "disk-snapshot",
        state,
        parent: root
            .path(&["parent", "name"])
            .map(|n| n.text.trim().to_string()),
        creation_time: root
            .child_text("creationTime")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0),
        memory: root.child_attr("memory", "snapshot").map(str::to_string),
        disks: root
            .child("disks")
            .map(|d| {
                d.children_named("disk")
                    .map(|x| {
                        (
                            x.attr("name").unwrap_or_default().to_string(),
                            x.attr("snapshot").unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        current: false,
    })
}

/// One line of the tree view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeRow {
    /// Index into `SnapshotTree::snapshots`.
    pub index: usize,
    pub depth: usize,
    /// The last child of its parent (draw `└─` rather than `├─`).
    pub last: bool,
    /// For each ancestor level above this row (outermost first): whether a vertical guide
    /// continues there (that ancestor has siblings below).
    pub guides: Vec<bool>,
}

impl TreeRow {
    /// The box-drawing prefix: `"│  └─ "` and friends; empty for roots.
    pub fn prefix(&self) -> String {
        if self.depth == 0 {
            return String::new();
        }
        let mut s: String = self
            .guides
            .iter()
            .map(|g| if *g { "│  " } else { "   " })
            .collect();
        s.push_str(if self.last { "└─ " } else { "├─ " });
        s
    }
}

/// Snapshots as a tree, flattened depth-first for a list view.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotTree {
    pub snapshots: Vec<SnapshotInfo>,
    /// Every snapshot exactly once, parents before children, siblings oldest first.
    pub rows: Vec<TreeRow>,
}

impl SnapshotTree {
    /// Builds the tree from parent links. A snapshot whose parent is missing is a root, and a
    /// parent cycle (corrupt metadata) is broken, so every snapshot shows exactly once.
    pub fn build(snapshots: Vec<SnapshotInfo>) -> SnapshotTree {
        let by_name: HashMap<&str, usize> = snapshots
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); snapshots.len()];
        let mut roots = Vec::new();
        for (i, s) in snapshots.iter().enumerate() {
            match s.parent.as_deref().and_then(|p| by_name.get(p)) {
                Some(&p) if p != i => children[p].push(i),
                _ => roots.push(i),
            }
        }
        let order = |v: &mut Vec<usize>| {
            v.sort_by(|&a, &b| {
                (snapshots[a].creation_time, &snapshots[a].name)
                    .cmp(&(snapshots[b].creation_time, &snapshots[b].name))
            })
        };
        order(&mut roots);
        for c in &mut children {
            order(c);
        }
        let mut rows = Vec::with_capacity(snapshots.len());
        let mut seen = HashSet::new();
        // (index, depth, last, guides)
        let mut stack: Vec<(usize, usize, bool, Vec<bool>)> = Vec::new();
        let push_level = |stack: &mut Vec<(usize, usize, bool, Vec<bool>)>,
                          list: &[usize],
                          depth: usize,
                          guides: Vec<bool>| {
            for (k, &i) in list.iter().enumerate().rev() {
                stack.push((i, depth, k + 1 == list.len(), guides.clone()));
            }
        };
        push_level(&mut stack, &roots, 0, Vec::new());
        loop {
            while let Some((i, depth, last, guides)) = stack.pop() {
                if !seen.insert(i) {
                    continue;
                }
                let mut child_guides = guides.clone();
                if depth > 0 {
                    child_guides.push(!last);
                }
                rows.push(TreeRow {
                    index: i,
                    depth,
                    last,
                    guides,
                });
                push_level(&mut stack, &children[i], depth + 1, child_guides);
            }
            // Members of a parent cycle are reachable from no root: start from the oldest.
            let mut rest: Vec<usize> = (0..snapshots.len()).filter(|i| !seen.contains(i)).collect();
            if rest.is_empty() {
                break;
            }
            order(&mut rest);
            push_level(&mut stack, &rest[..1], 0, Vec::new());
        }
        SnapshotTree { snapshots, rows }
    }

    pub fn get(&self, name: &str) -> Option<&SnapshotInfo> {
        self.snapshots.iter().find(|s| s.name == name)
    }

    pub fn current(&self) -> Option<&SnapshotInfo> {
        self.snapshots.iter().find(|s| s.current)
    }

    /// Names of every snapshot below `name` (what "delete with children" removes too).
    pub fn descendants(&self, name: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut todo = vec![name];
        while let Some(n) = todo.pop() {
            for s in &self.snapshots {
                if s.parent.as_deref() == Some(n)
                    && !out.contains(&s.name.as_str())
                    && s.name != name
                {
                    out.push(s.name.as_str());
                    todo.push(s.name.as_str());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIBVIRT: &str = r#"<domainsnapshot>
  <name>before &lt;upgrade&gt; ü</name>
  <description>kernel 6.1 &amp; "tools"</description>
  <state>running</state>
  <parent>
    <name>base</name>
  </parent>
  <creationTime>1732550000</creationTime>
  <memory snapshot='internal'/>
  <disks>
    <disk name='hda' snapshot='internal'/>
    <disk name='hdc' snapshot='no'/>
  </disks>
  <domain type='kvm'>
    <name>vm</name>
    <description>not this one</description>
  </domain>
</domainsnapshot>
"#;

    #[test]
    fn parses_libvirt_description() {
        let s = parse(LIBVIRT).unwrap();
        assert_eq!(s.name, "before <upgrade> ü");
        assert_eq!(s.description.as_deref(), Some("kernel 6.1 & \"tools\""));
        assert_eq!(s.parent.as_deref(), Some("base"));
        assert_eq!(s.creation_time, 1732550000);
        assert_eq!(s.state, "running");
        assert!(s.has_memory() && !s.disk_only);
        assert_eq!(
            s.disks,
            vec![
                ("hda".to_string(), "internal".to_string()),
                ("hdc".to_string(), "no".to_string())
            ]
        );
        let d = parse(
            "<domainsnapshot><name>d</name><state>disk-snapshot</state>\
             <memory snapshot='no'/></domainsnapshot>",
        )
        .unwrap();
        assert!(d.disk_only && !d.has_memory() && d.parent.is_none());
        assert!(parse("<domain/>").is_err());
    }

    #[test]
    fn builds_xml_for_the_domain() {
        let hw = crate::xml::hardware::parse(crate::xml::hardware::tests::TINY_LIVE).unwrap();
        let spec = SnapshotSpec::for_domain(&hw, "s<1>&", Some("why 'ü'"), false);
        assert!(spec.validate().is_empty());
        let modes: Vec<_> = spec.disks.iter().map(|d| d.mode.clone()).collect();
        // hda (qcow2) in, the CD-ROM and the shareable disk out.
        assert_eq!(modes, [DiskMode::Internal, DiskMode::No, DiskMode::No]);
        assert_eq!(
            spec.to_xml().unwrap(),
            "<domainsnapshot>\n  <name>s&lt;1&gt;&amp;</name>\n  <description>why 'ü'</description>\n  \
             <disks>\n    <disk name=\"hda\" snapshot=\"internal\"/>\n    \
             <disk name=\"hdc\" snapshot=\"no\"/>\n    <disk name=\"vdb\" snapshot=\"no\"/>\n  \
             </disks>\n</domainsnapshot>\n"
        );
        let mut ext = SnapshotSpec::for_domain(&hw, "e", None, true);
        ext.disks[0].mode = DiskMode::External(Some("/s/e&.qcow2".into()));
        let xml = ext.to_xml().unwrap();
        assert!(xml.contains("<memory snapshot=\"no\"/>"));
        assert!(xml.contains(
            "<disk name=\"hda\" snapshot=\"external\">\n      <source file=\"/s/e&amp;.qcow2\"/>"
        ));
        let back = parse(&xml).unwrap();
        assert_eq!(back.name, "e");
        let mut bad = spec.clone();
        bad.name = "a/b".into();
        bad.disks.iter_mut().for_each(|d| d.mode = DiskMode::No);
        let fields: Vec<_> = bad.validate().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["name", "disks"]);
    }

    fn snap(name: &str, parent: Option<&str>, t: i64) -> SnapshotInfo {
        SnapshotInfo {
            name: name.into(),
            parent: parent.map(Into::into),
            creation_time: t,
            ..SnapshotInfo::default()
        }
    }

    #[test]
    fn tree_is_depth_first_with_guides() {
        let mut list = vec![
            snap("c2", Some("b"), 5),
            snap("a", None, 1),
            snap("b", Some("a"), 2),
            snap("c1", Some("b"), 3),
            snap("d", Some("a"), 4),
            snap("orphan", Some("gone"), 0),
        ];
        list[3].current = true;
        let t = SnapshotTree::build(list);
        let lines: Vec<String> = t
            .rows
            .iter()
            .map(|r| format!("{}{}", r.prefix(), t.snapshots[r.index].name))
            .collect();
        assert_eq!(
            lines,
            ["orphan", "a", "├─ b", "│  ├─ c1", "│  └─ c2", "└─ d"]
        );
        assert_eq!(t.current().map(|s| s.name.as_str()), Some("c1"));
        let mut d = t.descendants("a");
        d.sort();
        assert_eq!(d, ["b", "c1", "c2", "d"]);
        assert!(t.descendants("d").is_empty());
    }

    #[test]
    fn cycles_and_self_parents_still_list_everything_once() {
        let t = SnapshotTree::build(vec![
            snap("x", Some("y"), 2),
            snap("y", Some("x"), 1),
            snap("s", Some("s"), 3),
        ]);
        let mut names: Vec<_> = t
            .rows
            .iter()
            .map(|r| t.snapshots[r.index].name.as_str())
            .collect();
        assert_eq!(names.len(), 3);
        names.sort();
        assert_eq!(names, ["s", "x", "y"]);
        assert!(SnapshotTree::build(Vec::new()).rows.is_empty());
    }
}
