//! The Hardware tab's rows: one per editable setting and one per device, in virt-manager's
//! order. The app (what `e`/`D` act on) and the view (what is drawn) share this list.

use crate::fmt;
use crate::xml::device::{Bus, DiskSource, DiskSpec, NicSource, NicSpec};
use crate::xml::hardware::{Disk, Hardware, Nic, Source};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HwItem {
    Name,
    Title,
    Description,
    Vcpus,
    Memory,
    Boot,
    Firmware,
    Autostart,
    Disk(usize),
    Nic(usize),
    Graphics(usize),
    CharDev(usize),
    Controller(usize),
    Other(usize),
}

/// "UEFI, Secure Boot · OVMF_CODE_4M.ms.fd": the loader's file name where libvirt says it.
fn firmware_label(hw: &Hardware) -> String {
    let loader = hw.os.loader.as_ref().and_then(|l| l.path.as_deref());
    match loader.and_then(|p| p.rsplit('/').next()) {
        Some(file) => format!("{} · {file}", hw.os.firmware_label()),
        None => hw.os.firmware_label().to_string(),
    }
}

pub fn hw_items(hw: &Hardware) -> Vec<HwItem> {
    let mut v = vec![
        HwItem::Name,
        HwItem::Title,
        HwItem::Description,
        HwItem::Vcpus,
        HwItem::Memory,
        HwItem::Boot,
        HwItem::Firmware,
        HwItem::Autostart,
    ];
    v.extend((0..hw.disks.len()).map(HwItem::Disk));
    v.extend((0..hw.nics.len()).map(HwItem::Nic));
    v.extend((0..hw.graphics.len()).map(HwItem::Graphics));
    v.extend((0..hw.chardevs.len()).map(HwItem::CharDev));
    v.extend((0..hw.controllers.len()).map(HwItem::Controller));
    v.extend((0..hw.other.len()).map(HwItem::Other));
    v
}

/// (label, one-line value) of a row.
pub fn describe(hw: &Hardware, autostart: bool, item: HwItem) -> (String, String) {
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    match item {
        HwItem::Name => ("Name".into(), hw.name.clone()),
        HwItem::Title => ("Title".into(), opt(&hw.title)),
        HwItem::Description => (
            "Description".into(),
            hw.description
                .as_deref()
                .map(|d| d.lines().next().unwrap_or("").to_string())
                .unwrap_or_else(|| "-".into()),
        ),
        HwItem::Vcpus => (
            "vCPUs".into(),
            format!("{} of {} max", hw.vcpus.current, hw.vcpus.max),
        ),
        HwItem::Memory => (
            "Memory".into(),
            format!(
                "{} of {} max",
                fmt::kib(hw.memory.current_kib),
                fmt::kib(hw.memory.memory_kib)
            ),
        ),
        HwItem::Boot => ("Boot order".into(), boot_label(hw)),
        HwItem::Firmware => ("Firmware".into(), firmware_label(hw)),
        HwItem::Autostart => (
            "Autostart".into(),
            if autostart { "yes" } else { "no" }.into(),
        ),
        HwItem::Disk(i) => hw.disks.get(i).describe_or_blank(|d| {
            (
                format!(
                    "{} {}",
                    if d.device == "cdrom" {
                        "CD-ROM"
                    } else {
                        "Disk"
                    },
                    d.target
                ),
                disk_label(d),
            )
        }),
        HwItem::Nic(i) => hw.nics.get(i).describe_or_blank(|n| {
            (
                format!("NIC {}", n.mac.as_deref().unwrap_or("")),
                nic_label(n),
            )
        }),
        HwItem::Graphics(i) => hw.graphics.get(i).describe_or_blank(|g| {
            let port = match (g.port, g.autoport) {
                (Some(p), _) if p > 0 => p.to_string(),
                (_, Some(true)) => "auto".into(),
                _ => "-".into(),
            };
            (
                format!("Graphics {}", g.kind),
                format!(
                    "listen {} port {port}{}",
                    g.listen.as_deref().unwrap_or("-"),
                    if g.has_password { " · password" } else { "" }
                ),
            )
        }),
        HwItem::CharDev(i) => hw.chardevs.get(i).describe_or_blank(|c| {
            (
                format!(
                    "{} {}",
                    capital(&c.element),
                    c.target_port.as_deref().unwrap_or("")
                ),
                format!(
                    "{}{}{}",
                    c.kind,
                    c.target_type
                        .as_deref()
                        .map(|t| format!(" · {t}"))
                        .unwrap_or_default(),
                    c.source_path
                        .as_deref()
                        .map(|p| format!(" · {p}"))
                        .unwrap_or_default()
                ),
            )
        }),
        HwItem::Controller(i) => hw.controllers.get(i).describe_or_blank(|c| {
            (
                format!(
                    "Controller {} {}",
                    c.kind,
                    c.index.map(|i| i.to_string()).unwrap_or_default()
                ),
                opt(&c.model),
            )
        }),
        HwItem::Other(i) => hw.other.get(i).describe_or_blank(|o| {
            let label = if o.kind == "hostdev" {
                "Host device".to_string()
            } else {
                capital(&o.kind)
            };
            (label, o.summary.clone())
        }),
    }
}

trait DescribeOrBlank<T> {
    fn describe_or_blank(self, f: impl FnOnce(T) -> (String, String)) -> (String, String);
}

impl<T> DescribeOrBlank<T> for Option<T> {
    fn describe_or_blank(self, f: impl FnOnce(T) -> (String, String)) -> (String, String) {
        self.map(f).unwrap_or_default()
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

pub fn boot_label(hw: &Hardware) -> String {
    match hw.boot_order() {
        crate::xml::edit::BootOrder::Os(list) if list.is_empty() => "-".into(),
        crate::xml::edit::BootOrder::Os(list) => list.join(", "),
        crate::xml::edit::BootOrder::Devices(list) => list
            .iter()
            .map(|d| match d {
                crate::xml::edit::BootDevice::Disk(t) => t.clone(),
                crate::xml::edit::BootDevice::Nic(m) => format!("nic {m}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

pub fn disk_label(d: &Disk) -> String {
    let mut parts = vec![d.source.label()];
    if let Some(b) = &d.bus {
        parts.push(b.clone());
    }
    if let Some(f) = &d.format {
        parts.push(f.clone());
    }
    if let Some(c) = &d.cache {
        parts.push(format!("cache {c}"));
    }
    if let Some(io) = &d.io {
        parts.push(format!("io {io}"));
    }
    if d.readonly {
        parts.push("read-only".into());
    }
    parts.join(" · ")
}

pub fn nic_label(n: &Nic) -> String {
    let mut parts = vec![format!("{} {}", n.kind, n.source.as_deref().unwrap_or("-"))];
    if let Some(m) = &n.model {
        parts.push(m.clone());
    }
    if let Some(t) = &n.target_dev {
        parts.push(t.clone());
    }
    if let Some(l) = &n.link {
        parts.push(format!("link {l}"));
    }
    parts.join(" · ")
}

/// The bus of a disk as a builder value (what libvirt reported, else virtio).
pub fn bus_of(d: &Disk) -> Bus {
    Bus::ALL
        .into_iter()
        .find(|b| Some(b.as_str()) == d.bus.as_deref())
        .unwrap_or(Bus::Virtio)
}

/// Device XML that names an existing disk for detach: libvirt matches disks by target.
pub fn disk_xml(d: &Disk) -> Result<String, String> {
    let bus = bus_of(d);
    let spec = if d.device == "cdrom" {
        DiskSpec::cdrom(d.source.path(), bus, &d.target)
    } else {
        let source = match &d.source {
            Source::File(p) => DiskSource::File(p.clone()),
            Source::Block(p) => DiskSource::Block(p.clone()),
            Source::Volume { pool, volume } => DiskSource::Volume {
                pool: pool.clone(),
                volume: volume.clone(),
            },
            other => {
                return Err(format!(
                    "disk {} ({}) cannot be detached here: edit the XML (E)",
                    d.target,
                    other.label()
                ))
            }
        };
        DiskSpec::disk(source, bus, &d.target, d.format.as_deref())
    };
    spec.to_xml().map_err(|e| e.to_string())
}

/// Device XML that names an existing interface for detach: libvirt matches NICs by MAC.
pub fn nic_xml(n: &Nic) -> Result<String, String> {
    let name = n.source.clone().unwrap_or_default();
    let source = match n.kind.as_str() {
        "bridge" => NicSource::Bridge(name),
        "network" => NicSource::Network(name),
        k => {
            return Err(format!(
                "a {k} interface cannot be detached here: edit the XML (E)"
            ))
        }
    };
    NicSpec {
        source,
        model: n.model.clone(),
        mac: n.mac.clone(),
    }
    .to_xml()
    .map_err(|e| e.to_string())
}
