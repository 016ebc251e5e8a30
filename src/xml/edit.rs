//! Pure edits of a whole domain definition: each takes the XML and returns the new XML with
//! only the edited elements rewritten (spliced by byte range), so the XML tab's diff shows just
//! the change. Also the line diff for the XML tab's confirm, and `clone_xml` (virt-clone's
//! rewrite of a definition for a copy).

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use quick_xml::escape::escape;

use crate::xml::device::{random_mac, DiskSource};
use crate::xml::domain::XmlError;
use crate::xml::tree::{self, Node};

/// Byte-range replacements on one document, applied back to front.
struct Splices<'a> {
    xml: &'a str,
    edits: Vec<(Range<usize>, String)>,
}

impl<'a> Splices<'a> {
    fn new(xml: &'a str) -> Self {
        Splices {
            xml,
            edits: Vec::new(),
        }
    }

    fn replace(&mut self, r: Range<usize>, s: impl Into<String>) {
        self.edits.push((r, s.into()));
    }

    fn insert(&mut self, at: usize, s: impl Into<String>) {
        self.edits.push((at..at, s.into()));
    }

    /// Removes an element together with the indentation before it on its line.
    fn remove(&mut self, n: &Node) {
        let start = line_start(self.xml, n.span.start);
        let start = if start < n.span.start && self.xml[..start].ends_with('\n') {
            start - 1
        } else {
            start
        };
        self.edits.push((start..n.span.end, String::new()));
    }

    fn apply(mut self) -> Result<String, XmlError> {
        self.edits.sort_by_key(|e| (e.0.start, e.0.end));
        for w in self.edits.windows(2) {
            if w[0].0.end > w[1].0.start {
                return Err(XmlError("domain XML: overlapping edits".into()));
            }
        }
        let mut out = self.xml.to_string();
        for (r, s) in self.edits.into_iter().rev() {
            out.replace_range(r, &s);
        }
        Ok(out)
    }
}

/// Start of the whitespace run before `pos` on its line (`pos` itself if text precedes it).
fn line_start(xml: &str, pos: usize) -> usize {
    let before = &xml[..pos];
    let ws = before.len() - before.trim_end_matches([' ', '\t']).len();
    pos - ws
}

/// The indentation of the element starting at `pos` ("" when it does not start a line).
fn indent_of(xml: &str, pos: usize) -> &str {
    let s = line_start(xml, pos);
    if s == 0 || xml[..s].ends_with('\n') {
        &xml[s..pos]
    } else {
        ""
    }
}

/// Indentation for a new child of `parent`: that of its first child, else one step (two
/// spaces) deeper than the parent.
fn child_indent(xml: &str, parent: &Node) -> String {
    match parent.children.first() {
        Some(c) => indent_of(xml, c.span.start).to_string(),
        None => format!("{}  ", indent_of(xml, parent.span.start)),
    }
}

/// Inserts `element` as the last child of `parent` (which must have an end tag).
fn append_child(sp: &mut Splices, parent: &Node, element: &str) -> Result<(), XmlError> {
    let Some(inner) = parent.inner.clone() else {
        return Err(XmlError(format!(
            "domain XML: <{}/> has no room for children",
            parent.name
        )));
    };
    let indent = child_indent(sp.xml, parent);
    // Insert before the whitespace that indents the end tag.
    let at = line_start(sp.xml, inner.end);
    let at = if sp.xml[..at].ends_with('\n') && at > inner.start {
        at - 1
    } else {
        at
    };
    sp.insert(at, format!("\n{indent}{element}"));
    Ok(())
}

/// Inserts `element` right after `sibling`, on a line of its own.
fn insert_after(sp: &mut Splices, sibling: &Node, element: &str) {
    let indent = indent_of(sp.xml, sibling.span.start).to_string();
    sp.insert(sibling.span.end, format!("\n{indent}{element}"));
}

/// A start tag rebuilt from `attrs` (for edits that change attributes).
fn start_tag(name: &str, attrs: &[(String, String)], empty: bool) -> String {
    let mut s = format!("<{name}");
    for (k, v) in attrs {
        s.push_str(&format!(" {k}='{}'", escape(v.as_str())));
    }
    s.push_str(if empty { "/>" } else { ">" });
    s
}

/// `attrs` with `key` set to `value` (appended if missing) or removed (`None`).
fn with_attr(attrs: &[(String, String)], key: &str, value: Option<&str>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = attrs.iter().filter(|(k, _)| k != key).cloned().collect();
    if let Some(v) = value {
        match attrs.iter().position(|(k, _)| k == key) {
            Some(i) => out.insert(i, (key.to_string(), v.to_string())),
            None => out.push((key.to_string(), v.to_string())),
        }
    }
    out
}

fn domain(xml: &str) -> Result<Node, XmlError> {
    let root = tree::parse(xml, "domain")?;
    if root.name != "domain" {
        return Err(XmlError(format!(
            "domain XML: the root element is <{}>, not <domain>",
            root.name
        )));
    }
    Ok(root)
}

fn devices(root: &Node) -> Result<&Node, XmlError> {
    root.child("devices")
        .ok_or_else(|| XmlError("domain XML: no <devices>".into()))
}

/// Where a new title or description goes: after the last of name, uuid, genid (and title,
/// for the description), libvirt's own order.
fn meta_anchor<'a>(root: &'a Node, after: &[&str]) -> Option<&'a Node> {
    root.children
        .iter()
        .rfind(|c| after.contains(&c.name.as_str()))
}

fn set_text_element(xml: &str, element: &str, text: Option<&str>) -> Result<String, XmlError> {
    let root = domain(xml)?;
    let mut sp = Splices::new(xml);
    let text = text.filter(|t| !t.is_empty());
    let new = text.map(|t| format!("<{element}>{}</{element}>", escape(t)));
    match (root.child(element), new) {
        (Some(old), Some(new)) => sp.replace(old.span.clone(), new),
        (Some(old), None) => sp.remove(old),
        (None, Some(new)) => {
            let after: &[&str] = if element == "title" {
                &["name", "uuid", "genid"]
            } else {
                &["name", "uuid", "genid", "title"]
            };
            match meta_anchor(&root, after) {
                Some(a) => insert_after(&mut sp, a, &new),
                None => append_child(&mut sp, &root, &new)?,
            }
        }
        (None, None) => {}
    }
    sp.apply()
}

/// Sets (or with `None`/"" removes) `<title>`. libvirt refuses titles with line breaks.
pub fn set_title(xml: &str, title: Option<&str>) -> Result<String, XmlError> {
    if title.is_some_and(|t| t.contains(['\n', '\r'])) {
        return Err(XmlError("a title is one line".into()));
    }
    set_text_element(xml, "title", title)
}

/// Sets (or with `None`/"" removes) `<description>`.
pub fn set_description(xml: &str, description: Option<&str>) -> Result<String, XmlError> {
    set_text_element(xml, "description", description)
}

/// Sets `<vcpu>` to `max` with `current` online (the attribute is dropped when equal).
/// For the persistent definition when no API fits (the maximum of a running guest).
pub fn set_vcpus(xml: &str, current: u32, max: u32) -> Result<String, XmlError> {
    if current == 0 || current > max {
        return Err(XmlError(format!(
            "vCPUs: {current} online of at most {max} is not possible"
        )));
    }
    let root = domain(xml)?;
    let mut sp = Splices::new(xml);
    let (cur, maxs) = (current.to_string(), max.to_string());
    let current_attr = (current != max).then_some(cur.as_str());
    match root.child("vcpu") {
        Some(v) => {
            let attrs = with_attr(&v.attrs, "current", current_attr);
            sp.replace(
                v.span.clone(),
                format!("{}{maxs}</vcpu>", start_tag("vcpu", &attrs, false)),
            );
        }
        None => {
            let attrs = with_attr(&[], "current", current_attr);
            let el = format!("{}{maxs}</vcpu>", start_tag("vcpu", &attrs, false));
            match meta_anchor(&root, &["memory", "currentMemory", "maxMemory"]) {
                Some(a) => insert_after(&mut sp, a, &el),
                None => append_child(&mut sp, &root, &el)?,
            }
        }
    }
    sp.apply()
}

/// Sets `<memory>` (boot maximum) and `<currentMemory>` (balloon target) in KiB.
pub fn set_memory(xml: &str, memory_kib: u64, current_kib: u64) -> Result<String, XmlError> {
    if memory_kib == 0 || current_kib == 0 || current_kib > memory_kib {
        return Err(XmlError(format!(
            "memory: {current_kib} KiB in use of at most {memory_kib} KiB is not possible"
        )));
    }
    let root = domain(xml)?;
    let mut sp = Splices::new(xml);
    let mem = format!("<memory unit='KiB'>{memory_kib}</memory>");
    let cur = format!("<currentMemory unit='KiB'>{current_kib}</currentMemory>");
    let Some(m) = root.child("memory") else {
        return Err(XmlError("domain XML: no <memory>".into()));
    };
    sp.replace(m.span.clone(), mem);
    match root.child("currentMemory") {
        Some(c) => sp.replace(c.span.clone(), cur),
        None => insert_after(&mut sp, m, &cur),
    }
    sp.apply()
}

/// Makes guest memory shareable with host processes, as virtiofs needs: adds
/// `<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>` after
/// `<currentMemory>` (or `<memory>`), or completes an existing `<memoryBacking>` (a hugepage
/// backing keeps its source; only `<access>` becomes shared). libvirt reads this only when
/// the guest starts: callers change the persistent definition of a shut-off VM.
pub fn share_memory(xml: &str) -> Result<String, XmlError> {
    let root = domain(xml)?;
    let mut sp = Splices::new(xml);
    let access = "<access mode='shared'/>";
    match root.child("memoryBacking") {
        None => {
            let indent = root
                .children
                .first()
                .map(|c| indent_of(xml, c.span.start).to_string())
                .unwrap_or_default();
            let block = format!(
                "<memoryBacking>\n{indent}  <source type='memfd'/>\n{indent}  {access}\n{indent}</memoryBacking>"
            );
            match meta_anchor(&root, &["memory", "currentMemory"]) {
                Some(a) => insert_after(&mut sp, a, &block),
                None => append_child(&mut sp, &root, &block)?,
            }
        }
        Some(mb) => {
            match mb.child("access") {
                Some(a) if a.attr("mode") == Some("shared") => return Ok(xml.to_string()),
                Some(a) => sp.replace(a.span.clone(), access),
                None if mb.inner.is_none() => {
                    // `<memoryBacking/>`: nothing inside to keep.
                    sp.replace(
                        mb.span.clone(),
                        format!("<memoryBacking><source type='memfd'/>{access}</memoryBacking>"),
                    );
                }
                None => {
                    let memfd = mb.child("source").is_none() && mb.child("hugepages").is_none();
                    if memfd {
                        append_child(&mut sp, mb, "<source type='memfd'/>")?;
                    }
                    append_child(&mut sp, mb, access)?;
                }
            }
        }
    }
    sp.apply()
}

/// Appends a device element (from `xml::device` or `xml::device_extra`, already escaped) as
/// the last child of `<devices>`, indented to sit with its siblings.
pub fn add_device(xml: &str, element: &str) -> Result<String, XmlError> {
    let root = domain(xml)?;
    let devs = devices(&root)?;
    let indent = child_indent(xml, devs);
    let element = element.trim_end().replace('\n', &format!("\n{indent}"));
    let mut sp = Splices::new(xml);
    append_child(&mut sp, devs, &element)?;
    sp.apply()
}

/// Sets the model of the primary (first) `<video>`; its other model attributes (vram,
/// heads…) belong to the old model and go, so libvirt fills in the new one's defaults.
pub fn set_video_model(xml: &str, model: &str) -> Result<String, XmlError> {
    let root = domain(xml)?;
    let Some(video) = devices(&root)?.child("video") else {
        return Err(XmlError("domain XML: no <video> to change".into()));
    };
    let mut sp = Splices::new(xml);
    let new = format!("<model type='{}'/>", escape(model));
    match video.child("model") {
        Some(m) => sp.replace(m.span.clone(), new),
        None if video.inner.is_none() => {
            sp.replace(video.span.clone(), format!("<video>{new}</video>"))
        }
        None => append_child(&mut sp, video, &new)?,
    }
    sp.apply()
}

/// A device that can carry a per-device `<boot order>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BootDevice {
    /// A disk by `<target dev>`.
    Disk(String),
    /// An interface by MAC address.
    Nic(String),
}

/// How the guest picks its boot device. libvirt refuses a definition that mixes both kinds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BootOrder {
    /// `<os><boot dev>` list: hd, cdrom, network, fd.
    Os(Vec<String>),
    /// Per-device `<boot order='n'>` in this order; unlisted devices do not boot.
    Devices(Vec<BootDevice>),
}

/// Replaces the boot configuration: removes every `<os><boot>` and every per-device
/// `<boot order>`, then writes `order`.
pub fn set_boot_order(xml: &str, order: &BootOrder) -> Result<String, XmlError> {
    let root = domain(xml)?;
    let os = root
        .child("os")
        .ok_or_else(|| XmlError("domain XML: no <os>".into()))?;
    let devs = devices(&root)?;
    let mut sp = Splices::new(xml);
    for b in os.children_named("boot") {
        sp.remove(b);
    }
    for d in &devs.children {
        for b in d.children_named("boot") {
            sp.remove(b);
        }
    }
    match order {
        BootOrder::Os(list) => {
            const DEVS: [&str; 4] = ["hd", "cdrom", "network", "fd"];
            if let Some(bad) = list.iter().find(|d| !DEVS.contains(&d.as_str())) {
                return Err(XmlError(format!(
                    "boot device {bad:?}: use hd, cdrom, network or fd"
                )));
            }
            let anchor = os
                .children
                .iter()
                .rfind(|c| matches!(c.name.as_str(), "type" | "loader" | "nvram"));
            let els: Vec<String> = list.iter().map(|d| format!("<boot dev='{d}'/>")).collect();
            match anchor {
                Some(a) => {
                    let indent = indent_of(xml, a.span.start).to_string();
                    let text: String = els.iter().map(|e| format!("\n{indent}{e}")).collect();
                    sp.insert(a.span.end, text);
                }
                None => {
                    for e in &els {
                        append_child(&mut sp, os, e)?;
                    }
                }
            }
        }
        BootOrder::Devices(list) => {
            for (i, want) in list.iter().enumerate() {
                let dev = devs.children.iter().find(|d| match want {
                    BootDevice::Disk(t) => {
                        d.name == "disk" && d.child_attr("target", "dev") == Some(t)
                    }
                    BootDevice::Nic(mac) => {
                        d.name == "interface"
                            && d.child_attr("mac", "address")
                                .is_some_and(|m| m.eq_ignore_ascii_case(mac))
                    }
                });
                let Some(dev) = dev else {
                    return Err(XmlError(format!("no device {want:?} to boot from")));
                };
                append_child(&mut sp, dev, &format!("<boot order='{}'/>", i + 1))?;
            }
        }
    }
    sp.apply()
}

fn find_disk<'a>(devs: &'a Node, target: &str) -> Result<&'a Node, XmlError> {
    devs.children
        .iter()
        .find(|d| d.name == "disk" && d.child_attr("target", "dev") == Some(target))
        .ok_or_else(|| XmlError(format!("the domain has no disk {target}")))
}

/// Inserts `iso` into (or with `None` ejects) the CD-ROM at `target`, in the definition.
/// For a running guest, `UpdateDevice` with `DiskSpec::cdrom` does it live.
pub fn set_cdrom_source(xml: &str, target: &str, iso: Option<&str>) -> Result<String, XmlError> {
    let root = domain(xml)?;
    let disk = find_disk(devices(&root)?, target)?;
    if !matches!(disk.attr("device"), Some("cdrom" | "floppy")) {
        return Err(XmlError(format!(
            "{target} is not a CD-ROM: its media cannot be changed"
        )));
    }
    let mut sp = Splices::new(xml);
    let new = iso.map(|p| format!("<source file='{}'/>", escape(p)));
    if iso.is_some() && disk.attr("type") != Some("file") {
        let attrs = with_attr(&disk.attrs, "type", Some("file"));
        sp.replace(disk.start_tag.clone(), start_tag("disk", &attrs, false));
    }
    match (disk.child("source"), new) {
        (Some(old), Some(new)) => sp.replace(old.span.clone(), new),
        (Some(old), None) => sp.remove(old),
        (None, Some(new)) => match disk.child("driver") {
            Some(d) => insert_after(&mut sp, d, &new),
            None => append_child(&mut sp, disk, &new)?,
        },
        (None, None) => {}
    }
    sp.apply()
}

/// One line of a diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiffLine {
    Same(String),
    Removed(String),
    Added(String),
    /// Unchanged lines left out between two hunks.
    Skipped(usize),
}

/// A line diff of two definitions, with three lines of context around each change (what the
/// XML tab shows before redefining). Empty when nothing changed.
pub fn diff(old: &str, new: &str) -> Vec<DiffLine> {
    use similar::{ChangeTag, TextDiff};
    // Myers is O(N·D): thousands of equal lines (a hostile attribute full of line breaks)
    // took seconds. Past the deadline similar finishes with a coarser but correct diff.
    let d = TextDiff::configure()
        .timeout(std::time::Duration::from_millis(100))
        .diff_lines(old, new);
    let mut out = Vec::new();
    let mut last_end = 0usize;
    for group in d.grouped_ops(3) {
        let first = group.first().map(|op| op.old_range().start).unwrap_or(0);
        if first > last_end {
            out.push(DiffLine::Skipped(first - last_end));
        }
        for op in &group {
            for change in d.iter_changes(op) {
                let text = change.value().trim_end_matches(['\n', '\r']).to_string();
                out.push(match change.tag() {
                    ChangeTag::Equal => DiffLine::Same(text),
                    ChangeTag::Delete => DiffLine::Removed(text),
                    ChangeTag::Insert => DiffLine::Added(text),
                });
            }
            last_end = op.old_range().end;
        }
    }
    let total = old.lines().count();
    if !out.is_empty() && total > last_end {
        out.push(DiffLine::Skipped(total - last_end));
    }
    out
}

/// A disk's new home in a clone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloneDisk {
    pub source: DiskSource,
    /// New `<driver type>` (a linked clone is a qcow2 overlay); `None` keeps the old one.
    pub format: Option<String>,
}

/// A random version 4 UUID (same randomness as `random_mac`).
pub fn random_uuid() -> String {
    let hex: String = (0..6)
        .map(|_| random_mac()[9..].replace(':', ""))
        .collect::<String>();
    let mut b: Vec<u8> = hex.bytes().take(32).collect();
    b[12] = b'4';
    b[16] = b"89ab"[usize::from(b[16]) % 4];
    let s = String::from_utf8_lossy(&b).into_owned();
    format!(
        "{}-{}-{}-{}-{}",
        &s[..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..32]
    )
}

/// Rewrites a definition for a copy, as virt-clone does: the new name, a new UUID (also in
/// `<sysinfo>`, which libvirt checks against it), a new MAC for every interface and no
/// `<target dev>` (host tap names are per guest), the sources of the disks in `disks` (keyed
/// by target) replaced and their backing chain dropped (libvirt reads it from the new image).
/// Disks not in the map (CD-ROMs, read-only and shareable disks) keep pointing at the same
/// storage. `<nvram>` gets `nvram` as its path, or loses its path so libvirt creates a fresh
/// variable store from the template for the new name.
pub fn clone_xml(
    xml: &str,
    new_name: &str,
    disks: &HashMap<String, CloneDisk>,
    nvram: Option<&str>,
) -> Result<String, XmlError> {
    if new_name.trim().is_empty() {
        return Err(XmlError("the clone needs a name".into()));
    }
    let root = domain(xml)?;
    let devs = devices(&root)?;
    let mut sp = Splices::new(xml);
    let name = root
        .child("name")
        .ok_or_else(|| XmlError("domain XML: no <name>".into()))?;
    sp.replace(
        name.span.clone(),
        format!("<name>{}</name>", escape(new_name)),
    );
    let uuid = random_uuid();
    match root.child("uuid") {
        Some(u) => sp.replace(u.span.clone(), format!("<uuid>{uuid}</uuid>")),
        None => insert_after(&mut sp, name, &format!("<uuid>{uuid}</uuid>")),
    }
    if let Some(system) = root.path(&["sysinfo", "system"]) {
        for e in system.children_named("entry") {
            if e.attr("name") == Some("uuid") {
                if let Some(inner) = e.inner.clone() {
                    sp.replace(inner, uuid.clone());
                }
            }
        }
    }
    let mut used: HashSet<String> = devs
        .children_named("interface")
        .filter_map(|i| i.child_attr("mac", "address"))
        .map(str::to_ascii_lowercase)
        .collect();
    for nic in devs.children_named("interface") {
        if let Some(mac) = nic.child("mac") {
            let new = loop {
                let m = random_mac();
                if used.insert(m.clone()) {
                    break m;
                }
            };
            let attrs = with_attr(&mac.attrs, "address", Some(&new));
            sp.replace(mac.span.clone(), start_tag("mac", &attrs, true));
        }
        if let Some(t) = nic.child("target") {
            sp.remove(t);
        }
    }
    replace_disks(&mut sp, devs, disks)?;
    if let Some(nv) = root.path(&["os", "nvram"]) {
        match nvram {
            Some(p) => sp.replace(
                nv.span.clone(),
                format!(
                    "{}{}</nvram>",
                    start_tag("nvram", &nv.attrs, false),
                    escape(p)
                ),
            ),
            None if nv.attrs.is_empty() => sp.remove(nv),
            None => sp.replace(nv.span.clone(), start_tag("nvram", &nv.attrs, true)),
        }
    }
    sp.apply()
}

/// Points a VM's disks somewhere else in its definition (a disk moved to another pool or
/// format while the VM was shut off): the sources of the disks in `disks` (keyed by target),
/// their `<driver type>`, and no stale `<backingStore>`.
pub fn set_disk_sources(xml: &str, disks: &HashMap<String, CloneDisk>) -> Result<String, XmlError> {
    let root = domain(xml)?;
    let mut sp = Splices::new(xml);
    replace_disks(&mut sp, devices(&root)?, disks)?;
    sp.apply()
}

/// New sources (and formats) for the disks in `disks`; an unknown target is an error.
fn replace_disks(
    sp: &mut Splices,
    devs: &Node,
    disks: &HashMap<String, CloneDisk>,
) -> Result<(), XmlError> {
    let mut seen = HashSet::new();
    for disk in devs.children_named("disk") {
        let Some(target) = disk.child_attr("target", "dev") else {
            continue;
        };
        let Some(new) = disks.get(target) else {
            continue;
        };
        seen.insert(target.to_string());
        let (kind, source) = match &new.source {
            DiskSource::File(p) => ("file", format!("<source file='{}'/>", escape(p.as_str()))),
            DiskSource::Block(p) => ("block", format!("<source dev='{}'/>", escape(p.as_str()))),
            DiskSource::Volume { pool, volume } => (
                "volume",
                format!(
                    "<source pool='{}' volume='{}'/>",
                    escape(pool.as_str()),
                    escape(volume.as_str())
                ),
            ),
        };
        let attrs = with_attr(&disk.attrs, "type", Some(kind));
        sp.replace(
            disk.start_tag.clone(),
            start_tag("disk", &attrs, disk.inner.is_none()),
        );
        match disk.child("source") {
            Some(s) => sp.replace(s.span.clone(), source),
            None => insert_after(sp, disk.child("driver").unwrap_or(disk), &source),
        }
        if let Some(b) = disk.child("backingStore") {
            sp.remove(b);
        }
        if let (Some(fmt), Some(drv)) = (&new.format, disk.child("driver")) {
            let attrs = with_attr(&drv.attrs, "type", Some(fmt));
            sp.replace(
                drv.start_tag.clone(),
                start_tag("driver", &attrs, drv.inner.is_none()),
            );
        }
    }
    if let Some(missing) = disks.keys().find(|k| !seen.contains(*k)) {
        return Err(XmlError(format!("the domain has no disk {missing}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::hardware::{self, tests::TINY_LIVE, tests::VIRT_INSTALL};

    /// Lines that differ between `a` and `b` (removed then added), for compact asserts.
    fn changes(a: &str, b: &str) -> (Vec<String>, Vec<String>) {
        let mut removed = Vec::new();
        let mut added = Vec::new();
        for l in diff(a, b) {
            match l {
                DiffLine::Removed(t) => removed.push(t),
                DiffLine::Added(t) => added.push(t),
                _ => {}
            }
        }
        (removed, added)
    }

    #[test]
    fn title_and_description() {
        let x = set_title(VIRT_INSTALL, Some("new <&> 'ü'")).unwrap();
        let (r, a) = changes(VIRT_INSTALL, &x);
        assert_eq!(r, ["  <title>Web &lt;front&gt; &amp; \"café\"</title>"]);
        assert_eq!(a, ["  <title>new &lt;&amp;&gt; &apos;ü&apos;</title>"]);
        assert_eq!(
            hardware::parse(&x).unwrap().title.as_deref(),
            Some("new <&> 'ü'")
        );
        let gone = set_title(VIRT_INSTALL, None).unwrap();
        let (r, a) = changes(VIRT_INSTALL, &gone);
        assert_eq!((r.len(), a.len()), (1, 0));
        assert_eq!(hardware::parse(&gone).unwrap().title, None);
        assert!(set_title(VIRT_INSTALL, Some("two\nlines")).is_err());
        // A description is added after the title, indented like its siblings.
        let d = set_description(VIRT_INSTALL, Some("multi\nline & more")).unwrap();
        let (r, a) = changes(VIRT_INSTALL, &d);
        assert!(r.is_empty());
        assert_eq!(a, ["  <description>multi", "line &amp; more</description>"]);
        assert!(d.contains("</title>\n  <description>"));
        assert_eq!(
            hardware::parse(&d).unwrap().description.as_deref(),
            Some("multi\nline & more")
        );
        // No title yet: after the uuid.
        let t = set_title(TINY_LIVE, Some("T")).unwrap();
        assert!(
            t.contains("</uuid>\n  <title>T</title>\n  <description>"),
            "{t}"
        );
    }

    #[test]
    fn a_moved_disk_changes_only_its_source_and_format() {
        let target = hardware::parse(VIRT_INSTALL).unwrap().disks[0]
            .target
            .clone();
        let map = HashMap::from([(
            target.clone(),
            CloneDisk {
                source: DiskSource::Volume {
                    pool: "fast <&>".into(),
                    volume: "web'1.img".into(),
                },
                format: Some("raw".into()),
            },
        )]);
        let x = set_disk_sources(VIRT_INSTALL, &map).unwrap();
        let d = hardware::parse(&x).unwrap().disks.remove(0);
        assert_eq!(d.target, target);
        assert_eq!(d.format.as_deref(), Some("raw"));
        assert_eq!(
            d.source,
            hardware::Source::Volume {
                pool: "fast <&>".into(),
                volume: "web'1.img".into()
            }
        );
        // Nothing else moved: the name, UUID and MACs stay.
        let (r, a) = changes(VIRT_INSTALL, &x);
        assert!(r.len() <= 3 && a.len() <= 3, "{r:?} {a:?}");
        assert!(r
            .iter()
            .chain(&a)
            .all(|l| !l.contains("<name>") && !l.contains("mac")));
        let bad = HashMap::from([(
            "vdz".to_string(),
            CloneDisk {
                source: DiskSource::File("/x".into()),
                format: None,
            },
        )]);
        assert!(set_disk_sources(VIRT_INSTALL, &bad).is_err());
    }

    #[test]
    fn vcpus_and_memory() {
        let x = set_vcpus(VIRT_INSTALL, 3, 8).unwrap();
        let (r, a) = changes(VIRT_INSTALL, &x);
        assert_eq!(r, ["  <vcpu current=\"2\">4</vcpu>"]);
        assert_eq!(a, ["  <vcpu current='3'>8</vcpu>"]);
        let hw = hardware::parse(&set_vcpus(TINY_LIVE, 2, 2).unwrap()).unwrap();
        assert_eq!((hw.vcpus.current, hw.vcpus.max), (2, 2));
        assert_eq!(hw.vcpus.placement.as_deref(), Some("static"));
        assert!(set_vcpus(VIRT_INSTALL, 5, 4).is_err());
        assert!(set_vcpus(VIRT_INSTALL, 0, 4).is_err());
        let m = set_memory(TINY_LIVE, 131072, 98304).unwrap();
        let hw = hardware::parse(&m).unwrap();
        assert_eq!(
            (hw.memory.memory_kib, hw.memory.current_kib),
            (131072, 98304)
        );
        let (r, a) = changes(TINY_LIVE, &m);
        assert_eq!((r.len(), a.len()), (2, 2));
        assert!(set_memory(TINY_LIVE, 1024, 2048).is_err());
    }

    #[test]
    fn boot_order_os_list_and_per_device() {
        let x = set_boot_order(
            VIRT_INSTALL,
            &BootOrder::Os(vec!["cdrom".into(), "network".into(), "hd".into()]),
        )
        .unwrap();
        assert_eq!(
            hardware::parse(&x).unwrap().os.boot,
            ["cdrom", "network", "hd"]
        );
        assert!(x.contains("</nvram>\n    <boot dev='cdrom'/>\n    <boot dev='network'/>"));
        assert!(set_boot_order(VIRT_INSTALL, &BootOrder::Os(vec!["usb".into()])).is_err());
        // Per device: the os list goes, the listed devices get orders.
        let x = set_boot_order(
            VIRT_INSTALL,
            &BootOrder::Devices(vec![
                BootDevice::Nic("52:54:00:08:6C:1A".into()),
                BootDevice::Disk("vda".into()),
            ]),
        )
        .unwrap();
        let hw = hardware::parse(&x).unwrap();
        assert!(hw.os.boot.is_empty());
        assert_eq!(hw.nics[1].boot_order, Some(1));
        assert_eq!(hw.disks[0].boot_order, Some(2));
        assert_eq!(hw.disks[1].boot_order, None);
        assert!(x.contains(
            "<target dev=\"vda\" bus=\"virtio\"/>\n      <boot order='2'/>\n    </disk>"
        ));
        // Existing per-device orders are replaced, and back to an os list removes them.
        let y = set_boot_order(TINY_LIVE, &BootOrder::Os(vec!["hd".into()])).unwrap();
        let hw = hardware::parse(&y).unwrap();
        assert_eq!(hw.os.boot, ["hd"]);
        assert!(hw.disks.iter().all(|d| d.boot_order.is_none()));
        assert!(hw.nics.iter().all(|n| n.boot_order.is_none()));
        assert!(hw.other.iter().all(|d| d.boot_order.is_none()));
        assert!(set_boot_order(
            TINY_LIVE,
            &BootOrder::Devices(vec![BootDevice::Disk("vdz".into())])
        )
        .is_err());
    }

    #[test]
    fn cdrom_media() {
        let x = set_cdrom_source(VIRT_INSTALL, "sda", Some("/iso/de'b&ian.iso")).unwrap();
        let hw = hardware::parse(&x).unwrap();
        assert_eq!(
            hw.disks[1].source,
            hardware::Source::File("/iso/de'b&ian.iso".into())
        );
        let (r, a) = changes(VIRT_INSTALL, &x);
        assert!(r.is_empty() && a.len() == 1, "{a:?}");
        let out = set_cdrom_source(&x, "sda", None).unwrap();
        assert_eq!(out, VIRT_INSTALL, "eject restores the original bytes");
        assert!(set_cdrom_source(VIRT_INSTALL, "vda", None).is_err());
        assert!(set_cdrom_source(VIRT_INSTALL, "sdq", None).is_err());
    }

    #[test]
    fn diff_has_context_and_skips() {
        let old: String = (1..=20).map(|i| format!("l{i}\n")).collect();
        let new = old.replace("l10\n", "ten\n");
        let d = diff(&old, &new);
        assert_eq!(d[0], DiffLine::Skipped(6));
        assert_eq!(d[1], DiffLine::Same("l7".into()));
        assert!(d.contains(&DiffLine::Removed("l10".into())));
        assert!(d.contains(&DiffLine::Added("ten".into())));
        assert_eq!(d.last(), Some(&DiffLine::Skipped(7)));
        assert!(diff(&old, &old).is_empty());
    }

    #[test]
    fn clone_like_virt_clone() {
        let mut map = HashMap::new();
        map.insert(
            "hda".to_string(),
            CloneDisk {
                source: DiskSource::File("/pool/clone <1>.qcow2".into()),
                format: Some("qcow2".into()),
            },
        );
        let x = clone_xml(TINY_LIVE, "copy & 'ü'", &map, None).unwrap();
        let old = hardware::parse(TINY_LIVE).unwrap();
        let hw = hardware::parse(&x).unwrap();
        assert_eq!(hw.name, "copy & 'ü'");
        let uuid = hw.uuid.clone().unwrap();
        assert_ne!(Some(&uuid), old.uuid.as_ref());
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
        assert_eq!(
            hw.disks[0].source,
            hardware::Source::File("/pool/clone <1>.qcow2".into())
        );
        assert!(!x.contains("backingStore"), "backing chain dropped");
        // CD-ROM and the shareable volume disk stay as they were.
        assert_eq!(hw.disks[1], old.disks[1]);
        assert_eq!(hw.disks[2], old.disks[2]);
        // New MACs, no host tap names.
        assert_ne!(hw.nics[0].mac, old.nics[0].mac);
        assert!(hw.nics[0].mac.as_deref().unwrap().starts_with("52:54:00:"));
        assert_eq!(hw.nics[0].target_dev, None);
        assert_eq!(hw.nics[1].mac, None, "libvirt generates the missing one");
        assert!(clone_xml(TINY_LIVE, " ", &map, None).is_err());
        let mut bad = map.clone();
        bad.insert(
            "vdq".into(),
            CloneDisk {
                source: DiskSource::File("/x".into()),
                format: None,
            },
        );
        assert!(clone_xml(TINY_LIVE, "c", &bad, None).is_err());
    }

    #[test]
    fn clone_nvram_volume_source_and_sysinfo() {
        let mut map = HashMap::new();
        map.insert(
            "vda".to_string(),
            CloneDisk {
                source: DiskSource::Volume {
                    pool: "p".into(),
                    volume: "web-clone.qcow2".into(),
                },
                format: None,
            },
        );
        let with_sys = VIRT_INSTALL.replace(
            "  <os>",
            "  <sysinfo type='smbios'><system><entry name='uuid'>c69a60f2-cb4c-46e4-87f1-d4f4867de1db</entry></system></sysinfo>\n  <os>",
        );
        let x = clone_xml(&with_sys, "web-clone", &map, None).unwrap();
        let hw = hardware::parse(&x).unwrap();
        assert_eq!(hw.os.nvram, None, "libvirt makes a new variable store");
        assert!(!x.contains("web_VARS"));
        let uuid = hw.uuid.unwrap();
        assert!(x.contains(&format!("<entry name='uuid'>{uuid}</entry>")));
        assert_eq!(
            hw.disks[0].source,
            hardware::Source::Volume {
                pool: "p".into(),
                volume: "web-clone.qcow2".into()
            }
        );
        assert_eq!(hw.disks[0].kind, "volume");
        assert_eq!(hw.disks[0].format.as_deref(), Some("qcow2"), "format kept");
        let macs: HashSet<_> = hw.nics.iter().map(|n| n.mac.clone()).collect();
        assert_eq!(macs.len(), 2);
        let y = clone_xml(VIRT_INSTALL, "c", &HashMap::new(), Some("/nv/c_VARS.fd")).unwrap();
        assert_eq!(
            hardware::parse(&y).unwrap().os.nvram.as_deref(),
            Some("/nv/c_VARS.fd")
        );
    }

    #[test]
    fn shared_memory_for_virtiofs() {
        assert!(!hardware::parse(VIRT_INSTALL).unwrap().shared_memory);
        let x = share_memory(VIRT_INSTALL).unwrap();
        let (r, a) = changes(VIRT_INSTALL, &x);
        assert!(r.is_empty(), "{r:?}");
        assert_eq!(
            a,
            [
                "  <memoryBacking>",
                "    <source type='memfd'/>",
                "    <access mode='shared'/>",
                "  </memoryBacking>"
            ]
        );
        assert!(hardware::parse(&x).unwrap().shared_memory);
        assert_eq!(share_memory(&x).unwrap(), x, "already shared: unchanged");
        // A hugepage backing keeps its pages; only the access mode is added.
        let huge = VIRT_INSTALL.replacen(
            "</currentMemory>",
            "</currentMemory>\n  <memoryBacking>\n    <hugepages/>\n  </memoryBacking>",
            1,
        );
        let y = share_memory(&huge).unwrap();
        let (r, a) = changes(&huge, &y);
        assert!(
            r.is_empty() && a == ["    <access mode='shared'/>"],
            "{r:?} {a:?}"
        );
        let private = huge.replacen("<hugepages/>", "<access mode='private'/>", 1);
        let z = share_memory(&private).unwrap();
        assert!(hardware::parse(&z).unwrap().shared_memory, "{z}");
    }

    #[test]
    fn the_primary_video_model_is_replaced() {
        let x = set_video_model(TINY_LIVE, "virtio").unwrap();
        let (r, a) = changes(TINY_LIVE, &x);
        assert_eq!(
            r,
            ["      <model type='vga' vram='16384' heads='1' primary='yes'/>"]
        );
        assert_eq!(a, ["      <model type='virtio'/>"]);
        let first = hardware::parse(&x)
            .unwrap()
            .other
            .into_iter()
            .find(|d| d.kind == "video")
            .unwrap();
        assert_eq!(first.model.as_deref(), Some("virtio"));
        let none = VIRT_INSTALL
            .replacen("<video>", "<x>", 1)
            .replacen("</video>", "</x>", 1);
        assert!(
            set_video_model(&none, "vga").is_err(),
            "no video: attach instead"
        );
    }

    #[test]
    fn a_device_is_appended_to_devices() {
        let fs = "<filesystem type=\"mount\">\n  <source dir=\"/a&amp;b\"/>\n</filesystem>\n";
        let x = add_device(VIRT_INSTALL, fs).unwrap();
        let (r, a) = changes(VIRT_INSTALL, &x);
        assert!(r.is_empty(), "{r:?}");
        assert_eq!(
            a,
            [
                "    <filesystem type=\"mount\">",
                "      <source dir=\"/a&amp;b\"/>",
                "    </filesystem>"
            ]
        );
        let hw = hardware::parse(&x).unwrap();
        let last = hw.other.last().unwrap();
        assert_eq!(last.kind, "filesystem");
        assert!(
            last.xml.starts_with("<filesystem") && last.xml.contains("/a&amp;b"),
            "{}",
            last.xml
        );
    }
}
