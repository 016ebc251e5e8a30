//! The Hardware tab's model: a domain definition (live or inactive XML) read into plain data.
//! Unknown elements are skipped and devices virtdeck has no type for are listed generically,
//! so a definition written by a newer libvirt still reads.

use crate::xml::domain::XmlError;
use crate::xml::tree::{self, Node};

/// Everything the detail screen shows about a domain's definition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hardware {
    pub name: String,
    pub uuid: Option<String>,
    /// `<domain type>`: kvm, qemu, test…
    pub domain_type: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// libosinfo id from `<metadata><libosinfo:os id>` (`http://debian.org/debian/12`).
    pub os_id: Option<String>,
    /// Volumes virtdeck made for this VM that its devices need not name (the cloud-init seed,
    /// a downloaded kernel and initrd), as recorded in virtdeck's `<metadata>` when it created
    /// the VM: `Source::Volume`s. Only a record made for this very UUID counts: a copied
    /// definition (clone, virt-clone, hand copy) keeps the record but gets a new UUID.
    pub owned: Vec<Source>,
    pub vcpus: Vcpus,
    pub memory: Memory,
    pub os: OsInfo,
    pub disks: Vec<Disk>,
    pub nics: Vec<Nic>,
    pub graphics: Vec<Graphics>,
    /// serial, console, channel and parallel devices.
    pub chardevs: Vec<CharDev>,
    pub controllers: Vec<Controller>,
    /// Everything else under `<devices>` (video, sound, input, hostdev, rng, watchdog, tpm,
    /// memballoon, filesystem, redirdev…), in document order. `<emulator>` is in `os`.
    pub other: Vec<Device>,
    /// Guest memory is shared with host processes (`<memoryBacking><access mode='shared'>`,
    /// or every NUMA cell's `memAccess='shared'`): what virtiofs (vhost-user) needs.
    pub shared_memory: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vcpus {
    /// `<vcpu>`: the most the guest can have (hotplug limit).
    pub max: u32,
    /// `<vcpu current>`, else `max`.
    pub current: u32,
    /// `<vcpu placement>`: static or auto.
    pub placement: Option<String>,
    /// `<vcpu cpuset>`.
    pub cpuset: Option<String>,
}

/// Sizes in KiB (libvirt's unit attribute is applied).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// `<memory>`: the boot-time maximum.
    pub memory_kib: u64,
    /// `<currentMemory>` (balloon target), else `memory_kib`.
    pub current_kib: u64,
    /// `<maxMemory>` (memory hotplug limit) and its slots.
    pub max_kib: Option<u64>,
    pub max_slots: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OsInfo {
    /// `<os><type>`: hvm, xen, exe…
    pub os_type: String,
    pub arch: Option<String>,
    pub machine: Option<String>,
    /// `<os firmware>`: efi or bios (automatic firmware selection).
    pub firmware: Option<String>,
    pub loader: Option<Loader>,
    /// `<nvram>` path (UEFI variable store), and its template.
    pub nvram: Option<String>,
    pub nvram_template: Option<String>,
    /// `<os><firmware><feature name='secure-boot'>` (auto-selection) or `<loader secure>`.
    pub secure_boot: Option<bool>,
    /// `<os><boot dev>` in order (hd, cdrom, network, fd).
    pub boot: Vec<String>,
    pub boot_menu: Option<bool>,
    pub emulator: Option<String>,
}

impl OsInfo {
    /// Boots from UEFI: auto-selected (`firmware='efi'`) or a pflash loader with NVRAM.
    pub fn uefi(&self) -> bool {
        self.firmware.as_deref() == Some("efi")
            || self.loader.as_ref().and_then(|l| l.kind.as_deref()) == Some("pflash")
            || self.nvram.is_some()
    }

    /// "UEFI, Secure Boot", "UEFI" or "BIOS".
    pub fn firmware_label(&self) -> &'static str {
        match (self.uefi(), self.secure_boot) {
            (true, Some(true)) => "UEFI, Secure Boot",
            (true, _) => "UEFI",
            (false, _) => "BIOS",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Loader {
    pub path: Option<String>,
    pub readonly: Option<bool>,
    /// `type`: rom or pflash.
    pub kind: Option<String>,
    pub secure: Option<bool>,
}

/// Where a disk's data comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Source {
    /// No `<source>`: an empty CD-ROM or floppy.
    #[default]
    None,
    File(String),
    Block(String),
    Dir(String),
    Volume {
        pool: String,
        volume: String,
    },
    Network {
        protocol: String,
        name: Option<String>,
        /// `host[:port]` of each `<host>`.
        hosts: Vec<String>,
    },
}

impl Source {
    /// A host path, when the source is one (file, block device or directory).
    pub fn path(&self) -> Option<&str> {
        match self {
            Source::File(p) | Source::Block(p) | Source::Dir(p) => Some(p),
            _ => None,
        }
    }

    /// One line for a table: the path, `pool/volume`, `rbd://mon1/pool/image`, or "empty".
    pub fn label(&self) -> String {
        match self {
            Source::None => "empty".into(),
            Source::File(p) | Source::Block(p) | Source::Dir(p) => p.clone(),
            Source::Volume { pool, volume } => format!("{pool}/{volume}"),
            Source::Network {
                protocol,
                name,
                hosts,
            } => format!(
                "{protocol}://{}/{}",
                hosts.join(","),
                name.as_deref().unwrap_or("")
            ),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Disk {
    /// `device`: disk, cdrom, floppy, lun.
    pub device: String,
    /// `type`: file, block, dir, volume, network.
    pub kind: String,
    pub source: Source,
    /// `<target dev>`: vda, sda, hdc…
    pub target: String,
    /// `<target bus>`: virtio, sata, scsi, ide, usb, fdc…
    pub bus: Option<String>,
    /// `<driver type>`: raw, qcow2…
    pub format: Option<String>,
    /// `<driver name>`: qemu.
    pub driver: Option<String>,
    pub cache: Option<String>,
    pub io: Option<String>,
    pub discard: Option<String>,
    pub readonly: bool,
    pub shareable: bool,
    pub serial: Option<String>,
    /// Per-device `<boot order>`.
    pub boot_order: Option<u32>,
    /// `<alias name>` (live XML): the device name for monitor-level calls.
    pub alias: Option<String>,
}

impl Disk {
    /// Whether virt-clone would copy it: a writable, unshared disk with a source.
    pub fn is_clonable(&self) -> bool {
        self.device == "disk"
            && !self.readonly
            && !self.shareable
            && !matches!(self.source, Source::None)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Nic {
    /// `type`: network, bridge, direct, user, ethernet, hostdev, vhostuser…
    pub kind: String,
    /// The network, bridge or host device it is attached to (`<source network|bridge|dev>`).
    pub source: Option<String>,
    /// `<source mode>` of a direct (macvtap) interface: vepa, bridge, private, passthrough.
    pub source_mode: Option<String>,
    pub model: Option<String>,
    pub mac: Option<String>,
    /// `<target dev>` (live XML): the host-side tap device, vnet0…
    pub target_dev: Option<String>,
    /// `<link state>`: up or down.
    pub link: Option<String>,
    pub boot_order: Option<u32>,
    pub alias: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Graphics {
    /// vnc, spice, sdl, rdp, egl-headless, dbus.
    pub kind: String,
    /// `port` (-1 with autoport in the inactive XML; the real port in the live one).
    pub port: Option<i32>,
    pub autoport: Option<bool>,
    pub listen: Option<String>,
    /// A password is set (never the password itself).
    pub has_password: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CharDev {
    /// serial, console, channel or parallel.
    pub element: String,
    /// `type`: pty, unix, file, tcp, spicevmc…
    pub kind: String,
    /// `<target type>`: isa-serial, serial, virtio, guestfwd…
    pub target_type: Option<String>,
    /// `<target name>` of a channel (org.qemu.guest_agent.0).
    pub target_name: Option<String>,
    pub target_port: Option<String>,
    /// `<source path>` (the pty in the live XML, the socket of a unix channel).
    pub source_path: Option<String>,
    /// The element as the definition has it (what detaching it sends back to libvirt).
    pub xml: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Controller {
    /// `type`: usb, pci, scsi, sata, ide, virtio-serial…
    pub kind: String,
    pub model: Option<String>,
    pub index: Option<u32>,
}

/// A device shown by kind and a one-line summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Device {
    /// The element name: video, sound, input, hostdev, rng, watchdog, tpm, memballoon…
    pub kind: String,
    /// The most telling model or type: `<model type>`, `model`, `type` or `bus`.
    pub model: Option<String>,
    /// The element's attributes as `key=value` (for "details").
    pub summary: String,
    pub boot_order: Option<u32>,
    /// The element as the definition has it (what detaching it sends back to libvirt).
    pub xml: String,
}

impl Hardware {
    /// Every disk's `<target dev>` (what `device::next_target` needs).
    pub fn disk_targets(&self) -> Vec<String> {
        self.disks.iter().map(|d| d.target.clone()).collect()
    }

    /// The boot configuration in the form `edit::set_boot_order` takes: per-device orders
    /// when any disk or NIC has one (sorted by order), else the `<os><boot>` list.
    pub fn boot_order(&self) -> crate::xml::edit::BootOrder {
        use crate::xml::edit::{BootDevice, BootOrder};
        let mut devs: Vec<(u32, BootDevice)> = self
            .disks
            .iter()
            .filter_map(|d| Some((d.boot_order?, BootDevice::Disk(d.target.clone()))))
            .chain(
                self.nics
                    .iter()
                    .filter_map(|n| Some((n.boot_order?, BootDevice::Nic(n.mac.clone()?)))),
            )
            .collect();
        if devs.is_empty() {
            return BootOrder::Os(self.os.boot.clone());
        }
        devs.sort_by_key(|(o, _)| *o);
        BootOrder::Devices(devs.into_iter().map(|(_, d)| d).collect())
    }
}

/// libvirt's `unit` attribute to KiB (`<memory unit='MiB'>64</memory>`), with libvirt's unit
/// table (`crate::size`); no unit (or an empty one) is KiB, as for libvirt's memory elements.
pub(crate) fn to_kib(value: &str, unit: Option<&str>) -> Option<u64> {
    let v: u64 = value.trim().parse().ok()?;
    let unit = unit.filter(|u| !u.trim().is_empty()).unwrap_or("KiB");
    let bytes = crate::size::unit_multiplier(unit).ok()?;
    u64::try_from(u128::from(v) * u128::from(bytes) / 1024).ok()
}

fn size_kib(n: &Node) -> u64 {
    to_kib(&n.text, n.attr("unit")).unwrap_or(0)
}

fn yes(v: Option<&str>) -> Option<bool> {
    v.map(|v| v == "yes" || v == "on")
}

fn owned(v: Option<&str>) -> Option<String> {
    v.map(str::to_string)
}

fn boot_order(n: &Node) -> Option<u32> {
    n.child_attr("boot", "order").and_then(|o| o.parse().ok())
}

/// Parses a domain's XML (live or inactive) into the Hardware model.
pub fn parse(domain_xml: &str) -> Result<Hardware, XmlError> {
    let root = tree::parse(domain_xml, "domain")?;
    let mut hw = from_tree(&root)?;
    keep_element_xml(&mut hw, &root, domain_xml);
    Ok(hw)
}

/// Copies each character device's and generic device's element text from `src` (the same
/// order `from_tree` listed them in), so detaching one names it exactly as libvirt wrote it
/// (with its alias in the live XML), whatever its kind.
fn keep_element_xml(hw: &mut Hardware, root: &Node, src: &str) {
    let Some(devices) = root.child("devices") else {
        return;
    };
    let (mut chars, mut others) = (hw.chardevs.iter_mut(), hw.other.iter_mut());
    for d in &devices.children {
        let text = src.get(d.span.clone()).unwrap_or_default().to_string();
        match d.name.as_str() {
            "emulator" | "disk" | "interface" | "graphics" | "controller" => {}
            "serial" | "console" | "channel" | "parallel" => {
                if let Some(c) = chars.next() {
                    c.xml = text;
                }
            }
            _ => {
                if let Some(o) = others.next() {
                    o.xml = text;
                }
            }
        }
    }
}

/// Whether the guest's memory is shared (see `Hardware::shared_memory`).
fn shared_memory(root: &Node) -> bool {
    if root
        .path(&["memoryBacking", "access"])
        .and_then(|a| a.attr("mode"))
        == Some("shared")
    {
        return true;
    }
    let cells: Vec<&Node> = root
        .path(&["cpu", "numa"])
        .map(|n| n.children_named("cell").collect())
        .unwrap_or_default();
    !cells.is_empty() && cells.iter().all(|c| c.attr("memAccess") == Some("shared"))
}

pub(crate) fn from_tree(root: &Node) -> Result<Hardware, XmlError> {
    if root.name != "domain" {
        return Err(XmlError(format!(
            "domain XML: the root element is <{}>, not <domain>",
            root.name
        )));
    }
    let mut hw = Hardware {
        name: root.child_text("name").unwrap_or_default().to_string(),
        uuid: owned(root.child_text("uuid")),
        domain_type: root.attr("type").unwrap_or_default().to_string(),
        // Title and description keep inner whitespace (the description may span lines).
        title: root.child("title").map(|n| n.text.clone()),
        description: root.child("description").map(|n| n.text.clone()),
        os_id: root.child("metadata").and_then(libosinfo_id),
        shared_memory: shared_memory(root),
        ..Hardware::default()
    };
    if let (Some(m), Some(uuid)) = (root.child("metadata"), &hw.uuid) {
        hw.owned = owned_volumes(m, uuid);
    }
    if let Some(v) = root.child("vcpu") {
        let max = v.text.trim().parse().unwrap_or(0);
        hw.vcpus = Vcpus {
            max,
            current: v
                .attr("current")
                .and_then(|c| c.parse().ok())
                .unwrap_or(max),
            placement: owned(v.attr("placement")),
            cpuset: owned(v.attr("cpuset")),
        };
    }
    let memory = root.child("memory").map(size_kib).unwrap_or(0);
    hw.memory = Memory {
        memory_kib: memory,
        current_kib: root.child("currentMemory").map(size_kib).unwrap_or(memory),
        max_kib: root.child("maxMemory").map(size_kib),
        max_slots: root
            .child_attr("maxMemory", "slots")
            .and_then(|s| s.parse().ok()),
    };
    if let Some(os) = root.child("os") {
        let ty = os.child("type");
        hw.os = OsInfo {
            os_type: ty.map(|t| t.text.trim().to_string()).unwrap_or_default(),
            arch: owned(ty.and_then(|t| t.attr("arch"))),
            machine: owned(ty.and_then(|t| t.attr("machine"))),
            firmware: owned(os.attr("firmware")),
            loader: os.child("loader").map(|l| Loader {
                path: Some(l.text.trim().to_string()).filter(|p| !p.is_empty()),
                readonly: yes(l.attr("readonly")),
                kind: owned(l.attr("type")),
                secure: yes(l.attr("secure")),
            }),
            nvram: os
                .child("nvram")
                .map(|n| n.text.trim().to_string())
                .filter(|p| !p.is_empty()),
            nvram_template: owned(os.child_attr("nvram", "template")),
            secure_boot: os
                .child("firmware")
                .into_iter()
                .flat_map(|f| f.children_named("feature"))
                .find(|f| f.attr("name") == Some("secure-boot"))
                .and_then(|f| yes(f.attr("enabled")))
                .or_else(|| yes(os.child("loader").and_then(|l| l.attr("secure")))),
            boot: os
                .children_named("boot")
                .filter_map(|b| b.attr("dev").map(str::to_string))
                .collect(),
            boot_menu: yes(os.child_attr("bootmenu", "enable")),
            emulator: None,
        };
    }
    if let Some(devices) = root.child("devices") {
        for d in &devices.children {
            match d.name.as_str() {
                "emulator" => hw.os.emulator = Some(d.text.trim().to_string()),
                "disk" => hw.disks.push(disk(d)),
                "interface" => hw.nics.push(nic(d)),
                "graphics" => hw.graphics.push(Graphics {
                    kind: d.attr("type").unwrap_or_default().to_string(),
                    port: d.attr("port").and_then(|p| p.parse().ok()),
                    autoport: yes(d.attr("autoport")),
                    listen: owned(
                        d.attr("listen")
                            .or_else(|| d.child_attr("listen", "address")),
                    ),
                    has_password: d.attr("passwd").is_some(),
                }),
                "serial" | "console" | "channel" | "parallel" => hw.chardevs.push(CharDev {
                    element: d.name.clone(),
                    kind: d.attr("type").unwrap_or_default().to_string(),
                    target_type: owned(d.child_attr("target", "type")),
                    target_name: owned(d.child_attr("target", "name")),
                    target_port: owned(d.child_attr("target", "port")),
                    source_path: owned(d.attr("tty").or_else(|| d.child_attr("source", "path"))),
                    xml: String::new(),
                }),
                "controller" => hw.controllers.push(Controller {
                    kind: d.attr("type").unwrap_or_default().to_string(),
                    model: owned(d.attr("model")),
                    index: d.attr("index").and_then(|i| i.parse().ok()),
                }),
                _ => hw.other.push(generic(d)),
            }
        }
    }
    Ok(hw)
}

/// `<metadata><libosinfo:libosinfo><libosinfo:os id>`, by local names: the prefix is the
/// writer's choice, the namespace URI is what counts, and both spellings are seen in practice.
fn libosinfo_id(metadata: &Node) -> Option<String> {
    metadata
        .children
        .iter()
        .filter(|c| c.local() == "libosinfo")
        .flat_map(|c| c.children.iter())
        .find(|os| os.local() == "os")
        .and_then(|os| owned(os.attr("id")))
}

/// Namespace of the element in `<metadata>` where virtdeck records what it made for a VM:
/// `<virtdeck:vm uuid='…'><virtdeck:volume pool='…' name='…'/></virtdeck:vm>`.
pub const VIRTDECK_NS: &str = "urn:virtdeck:domain";

/// Whether `n` is in namespace `ns`, declared on the element itself (libvirt keeps each
/// metadata element with its own declaration; the prefix is the writer's choice).
fn in_namespace(n: &Node, ns: &str) -> bool {
    let decl = match n.name.split_once(':') {
        Some((prefix, _)) => format!("xmlns:{prefix}"),
        None => "xmlns".to_string(),
    };
    n.attr(&decl) == Some(ns)
}

/// The volumes virtdeck's record in `metadata` lists, when it was made for `uuid`.
fn owned_volumes(metadata: &Node, uuid: &str) -> Vec<Source> {
    metadata
        .children
        .iter()
        .filter(|c| c.local() == "vm" && in_namespace(c, VIRTDECK_NS))
        .filter(|c| c.attr("uuid").is_some_and(|u| u.eq_ignore_ascii_case(uuid)))
        .flat_map(|c| c.children.iter())
        .filter(|v| v.local() == "volume")
        .filter_map(|v| {
            Some(Source::Volume {
                pool: v.attr("pool")?.to_string(),
                volume: v.attr("name")?.to_string(),
            })
        })
        .collect()
}

fn disk(d: &Node) -> Disk {
    let kind = d.attr("type").unwrap_or("file").to_string();
    let source = match d.child("source") {
        None => Source::None,
        Some(s) => match kind.as_str() {
            "block" => s.attr("dev").map(|p| Source::Block(p.into())),
            "dir" => s.attr("dir").map(|p| Source::Dir(p.into())),
            "volume" => Some(Source::Volume {
                pool: s.attr("pool").unwrap_or_default().into(),
                volume: s.attr("volume").unwrap_or_default().into(),
            }),
            "network" => Some(Source::Network {
                protocol: s.attr("protocol").unwrap_or_default().into(),
                name: owned(s.attr("name")),
                hosts: s
                    .children_named("host")
                    .map(|h| match (h.attr("name"), h.attr("port")) {
                        (Some(n), Some(p)) => format!("{n}:{p}"),
                        (Some(n), None) => n.to_string(),
                        (None, _) => h.attr("socket").unwrap_or_default().to_string(),
                    })
                    .collect(),
            }),
            _ => s.attr("file").map(|p| Source::File(p.into())),
        }
        .unwrap_or_default(),
    };
    let driver = d.child("driver");
    Disk {
        device: d.attr("device").unwrap_or("disk").to_string(),
        kind,
        source,
        target: d
            .child_attr("target", "dev")
            .unwrap_or_default()
            .to_string(),
        bus: owned(d.child_attr("target", "bus")),
        format: owned(driver.and_then(|x| x.attr("type"))),
        driver: owned(driver.and_then(|x| x.attr("name"))),
        cache: owned(driver.and_then(|x| x.attr("cache"))),
        io: owned(driver.and_then(|x| x.attr("io"))),
        discard: owned(driver.and_then(|x| x.attr("discard"))),
        readonly: d.child("readonly").is_some(),
        shareable: d.child("shareable").is_some(),
        serial: owned(d.child_text("serial")),
        boot_order: boot_order(d),
        alias: owned(d.child_attr("alias", "name")),
    }
}

fn nic(d: &Node) -> Nic {
    let source = d.child("source");
    let src = source.and_then(|s| {
        s.attr("network")
            .or_else(|| s.attr("bridge"))
            .or_else(|| s.attr("dev"))
            .or_else(|| s.attr("path"))
    });
    Nic {
        kind: d.attr("type").unwrap_or_default().to_string(),
        source: owned(src),
        source_mode: owned(source.and_then(|s| s.attr("mode"))),
        model: owned(d.child_attr("model", "type")),
        mac: owned(d.child_attr("mac", "address")),
        target_dev: owned(d.child_attr("target", "dev")),
        link: owned(d.child_attr("link", "state")),
        boot_order: boot_order(d),
        alias: owned(d.child_attr("alias", "name")),
    }
}

fn generic(d: &Node) -> Device {
    // A host device by what it names: "PCI 0000:01:00.0", "USB 046d:c52b".
    if let Some(spec) = (d.name == "hostdev")
        .then(|| crate::xml::hostdev::spec_of(d))
        .flatten()
    {
        return Device {
            kind: d.name.clone(),
            model: owned(d.attr("type")),
            summary: spec.label(),
            boot_order: boot_order(d),
            xml: String::new(),
        };
    }
    let model = d
        .child_attr("model", "type")
        .or_else(|| d.attr("model"))
        .or_else(|| d.attr("type"))
        .or_else(|| d.attr("bus"));
    // The attributes, then what a few children say: a video's model, a share's driver,
    // directory and tag (its attributes alone say little).
    let mut parts: Vec<String> = d.attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    for (child, attr) in [
        ("model", "type"),
        ("driver", "type"),
        ("source", "dir"),
        ("target", "dir"),
    ] {
        if let Some(v) = d.child_attr(child, attr) {
            parts.push(format!("{child}={v}"));
        }
    }
    if d.child("readonly").is_some() {
        parts.push("readonly".into());
    }
    Device {
        kind: d.name.clone(),
        model: owned(model),
        summary: parts.join(" "),
        boot_order: boot_order(d),
        xml: String::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `virt-install --print-xml --connect qemu:///system --osinfo debian11 --boot
    /// loader=…,nvram=…,hd,cdrom --disk …,cache=none,io=native --disk device=cdrom,bus=sata
    /// --network bridge=br0,model=virtio --network network=default --rng /dev/urandom
    /// --watchdog i6300esb --sound ich9 --channel unix,…guest_agent…` (libvirt 9, virtinst 4.1),
    /// with a title added and the pcie-root-port list shortened.
    pub(crate) const VIRT_INSTALL: &str = r#"<domain type="kvm">
  <name>web</name>
  <uuid>c69a60f2-cb4c-46e4-87f1-d4f4867de1db</uuid>
  <title>Web &lt;front&gt; &amp; "café"</title>
  <metadata>
    <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
      <libosinfo:os id="http://debian.org/debian/11"/>
    </libosinfo:libosinfo>
  </metadata>
  <memory>2097152</memory>
  <currentMemory>2097152</currentMemory>
  <vcpu current="2">4</vcpu>
  <os>
    <type arch="x86_64" machine="q35">hvm</type>
    <loader readonly="yes" type="pflash">/usr/share/OVMF/OVMF_CODE.fd</loader>
    <nvram>/var/lib/libvirt/qemu/nvram/web_VARS.fd</nvram>
    <boot dev="hd"/>
    <boot dev="cdrom"/>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <cpu mode="host-passthrough"/>
  <clock offset="utc">
    <timer name="rtc" tickpolicy="catchup"/>
    <timer name="pit" tickpolicy="delay"/>
    <timer name="hpet" present="no"/>
  </clock>
  <pm>
    <suspend-to-mem enabled="no"/>
    <suspend-to-disk enabled="no"/>
  </pm>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type="file" device="disk">
      <driver name="qemu" type="qcow2" cache="none" discard="unmap" io="native"/>
      <source file="/var/lib/libvirt/images/web.qcow2"/>
      <target dev="vda" bus="virtio"/>
    </disk>
    <disk type="file" device="cdrom">
      <target dev="sda" bus="sata"/>
      <readonly/>
    </disk>
    <controller type="usb" model="qemu-xhci" ports="15"/>
    <controller type="pci" model="pcie-root"/>
    <controller type="pci" model="pcie-root-port"/>
    <controller type="pci" model="pcie-root-port"/>
    <interface type="bridge">
      <source bridge="br0"/>
      <mac address="52:54:00:60:c2:d4"/>
      <model type="virtio"/>
    </interface>
    <interface type="network">
      <source network="default"/>
      <mac address="52:54:00:08:6c:1a"/>
      <model type="virtio"/>
    </interface>
    <console type="pty"/>
    <channel type="unix">
      <source mode="bind"/>
      <target type="virtio" name="org.qemu.guest_agent.0"/>
    </channel>
    <input type="tablet" bus="usb"/>
    <graphics type="vnc" port="-1"/>
    <sound model="ich9"/>
    <video>
      <model type="virtio"/>
    </video>
    <watchdog model="i6300esb" action="reset"/>
    <memballoon model="virtio"/>
    <rng model="virtio">
      <backend model="random">/dev/urandom</backend>
    </rng>
  </devices>
</domain>
"#;

    /// The tiny test guest as libvirt 9 reports it while running (live XML), with a hostile
    /// name, a qcow2 overlay, an empty CD-ROM and a per-device boot order.
    pub(crate) const TINY_LIVE: &str = r#"<domain type='kvm' id='7'>
  <name>vdk-x &lt;&amp;&apos;&quot;&gt; ü</name>
  <uuid>0d7e6f4e-3a57-4b8e-9a51-3f1a4f6f0a11</uuid>
  <description>line one
line &lt;two&gt;</description>
  <memory unit='KiB'>65536</memory>
  <currentMemory unit='KiB'>65536</currentMemory>
  <maxMemory slots='16' unit='GiB'>4</maxMemory>
  <vcpu placement='static'>1</vcpu>
  <resource>
    <partition>/machine</partition>
  </resource>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <bios useserial='yes'/>
  </os>
  <features>
    <acpi/>
  </features>
  <cpu mode='custom' match='exact' check='full'>
    <model fallback='forbid'>qemu64</model>
  </cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/tmp/vdk-guest-x/over&amp;lay.qcow2' index='2'/>
      <backingStore type='file' index='3'>
        <format type='raw'/>
        <source file='/tmp/vdk-guest-x/tiny.img'/>
        <backingStore/>
      </backingStore>
      <target dev='hda' bus='ide'/>
      <boot order='1'/>
      <alias name='ide0-0-0'/>
      <address type='drive' controller='0' bus='0' target='0' unit='0'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
      <alias name='ide0-1-0'/>
    </disk>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='raw' cache='writeback' io='threads'/>
      <source pool='p&lt;1&gt;' volume='v ü.img'/>
      <target dev='vdb' bus='virtio'/>
      <shareable/>
    </disk>
    <controller type='usb' index='0' model='piix3-uhci'>
      <alias name='usb'/>
    </controller>
    <controller type='pci' index='0' model='pci-root'/>
    <controller type='ide' index='0'/>
    <interface type='network'>
      <mac address='52:54:00:aa:bb:cc'/>
      <source network='default' portid='x' bridge='virbr0'/>
      <target dev='vnet3'/>
      <model type='e1000'/>
      <link state='up'/>
      <boot order='2'/>
      <alias name='net0'/>
    </interface>
    <interface type='direct'>
      <source dev='eth0' mode='vepa'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'>
      <source path='/dev/pts/5'/>
      <target type='isa-serial' port='0'>
        <model name='isa-serial'/>
      </target>
      <alias name='serial0'/>
    </serial>
    <console type='pty' tty='/dev/pts/5'>
      <source path='/dev/pts/5'/>
      <target type='serial' port='0'/>
    </console>
    <input type='mouse' bus='ps2'/>
    <graphics type='vnc' port='5900' autoport='yes' listen='127.0.0.1' passwd='s3cret'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    <video>
      <model type='vga' vram='16384' heads='1' primary='yes'/>
    </video>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></source>
      <boot order='3'/>
    </hostdev>
    <tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>
    <memballoon model='none'/>
    <panic model='isa'/>
    <futuredevice flavour='new'/>
  </devices>
  <seclabel type='dynamic' model='dac' relabel='yes'/>
</domain>
"#;

    #[test]
    fn firmware_auto_selection_and_secure_boot_are_read() {
        let xml = |os: &str| format!("<domain type='kvm'><name>f</name>{os}</domain>");
        let sb = parse(&xml("<os firmware='efi'><type>hvm</type><firmware>\
            <feature enabled='yes' name='enrolled-keys'/><feature enabled='yes' name='secure-boot'/>\
            </firmware></os>"))
        .unwrap();
        assert_eq!(sb.os.firmware_label(), "UEFI, Secure Boot");
        let off = parse(&xml("<os firmware='efi'><type>hvm</type><firmware>\
            <feature enabled='no' name='secure-boot'/></firmware></os>"))
        .unwrap();
        assert_eq!(
            (off.os.secure_boot, off.os.firmware_label()),
            (Some(false), "UEFI")
        );
        // What libvirt writes into the live XML: the loader it chose.
        let live = parse(&xml(
            "<os><type>hvm</type><loader readonly='yes' secure='yes' \
            type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.ms.fd</loader>\
            <nvram template='/usr/share/OVMF/OVMF_VARS_4M.ms.fd'>/var/lib/x_VARS.fd</nvram></os>",
        ))
        .unwrap();
        assert_eq!(live.os.firmware_label(), "UEFI, Secure Boot");
        let bios = parse(&xml("<os><type>hvm</type></os>")).unwrap();
        assert_eq!(bios.os.firmware_label(), "BIOS");
    }

    #[test]
    fn virt_install_domain() {
        let hw = parse(VIRT_INSTALL).unwrap();
        assert_eq!(hw.name, "web");
        assert_eq!(hw.domain_type, "kvm");
        assert_eq!(hw.title.as_deref(), Some("Web <front> & \"café\""));
        assert_eq!(hw.os_id.as_deref(), Some("http://debian.org/debian/11"));
        assert_eq!(
            hw.vcpus,
            Vcpus {
                max: 4,
                current: 2,
                placement: None,
                cpuset: None
            }
        );
        assert_eq!(hw.memory.memory_kib, 2 * 1024 * 1024);
        assert_eq!(hw.memory.current_kib, 2 * 1024 * 1024);
        assert_eq!(hw.os.machine.as_deref(), Some("q35"));
        assert_eq!(hw.os.boot, vec!["hd", "cdrom"]);
        let loader = hw.os.loader.clone().unwrap();
        assert_eq!(loader.path.as_deref(), Some("/usr/share/OVMF/OVMF_CODE.fd"));
        assert_eq!(loader.kind.as_deref(), Some("pflash"));
        assert_eq!(loader.readonly, Some(true));
        assert_eq!(
            hw.os.nvram.as_deref(),
            Some("/var/lib/libvirt/qemu/nvram/web_VARS.fd")
        );
        assert_eq!(hw.os.firmware_label(), "UEFI");
        assert_eq!(
            hw.os.emulator.as_deref(),
            Some("/usr/bin/qemu-system-x86_64")
        );
        assert_eq!(hw.disks.len(), 2);
        let vda = &hw.disks[0];
        assert_eq!(
            vda.source,
            Source::File("/var/lib/libvirt/images/web.qcow2".into())
        );
        assert_eq!(
            (
                vda.bus.as_deref(),
                vda.format.as_deref(),
                vda.cache.as_deref(),
                vda.io.as_deref()
            ),
            (Some("virtio"), Some("qcow2"), Some("none"), Some("native"))
        );
        assert!(vda.is_clonable());
        let cd = &hw.disks[1];
        assert_eq!((cd.device.as_str(), cd.readonly), ("cdrom", true));
        assert_eq!(cd.source, Source::None);
        assert!(!cd.is_clonable());
        assert_eq!(hw.nics.len(), 2);
        assert_eq!(hw.nics[0].kind, "bridge");
        assert_eq!(hw.nics[0].source.as_deref(), Some("br0"));
        assert_eq!(hw.nics[0].mac.as_deref(), Some("52:54:00:60:c2:d4"));
        assert_eq!(hw.nics[1].source.as_deref(), Some("default"));
        assert_eq!(hw.nics[1].model.as_deref(), Some("virtio"));
        assert_eq!(hw.controllers.len(), 4);
        assert_eq!(hw.controllers[0].model.as_deref(), Some("qemu-xhci"));
        assert_eq!(hw.chardevs.len(), 2);
        assert_eq!(
            hw.chardevs[1].target_name.as_deref(),
            Some("org.qemu.guest_agent.0")
        );
        assert_eq!(hw.graphics[0].kind, "vnc");
        assert_eq!(hw.graphics[0].port, Some(-1));
        let kinds: Vec<_> = hw.other.iter().map(|d| d.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["input", "sound", "video", "watchdog", "memballoon", "rng"]
        );
        assert_eq!(hw.other[2].model.as_deref(), Some("virtio"));
        assert_eq!(hw.other[3].model.as_deref(), Some("i6300esb"));
    }

    #[test]
    fn tiny_live_domain_with_hostile_text() {
        let hw = parse(TINY_LIVE).unwrap();
        assert_eq!(hw.name, "vdk-x <&'\"> ü");
        assert_eq!(hw.description.as_deref(), Some("line one\nline <two>"));
        assert_eq!(hw.title, None);
        assert_eq!(hw.os_id, None);
        assert_eq!(hw.vcpus.placement.as_deref(), Some("static"));
        assert_eq!((hw.vcpus.max, hw.vcpus.current), (1, 1));
        assert_eq!(hw.memory.memory_kib, 65536);
        assert_eq!(hw.memory.max_kib, Some(4 * 1024 * 1024));
        assert_eq!(hw.memory.max_slots, Some(16));
        assert!(hw.os.boot.is_empty());
        let hda = &hw.disks[0];
        // The backing chain's source is not the disk's.
        assert_eq!(
            hda.source,
            Source::File("/tmp/vdk-guest-x/over&lay.qcow2".into())
        );
        assert_eq!(hda.boot_order, Some(1));
        assert_eq!(hda.alias.as_deref(), Some("ide0-0-0"));
        let vol = &hw.disks[2];
        assert_eq!(
            vol.source,
            Source::Volume {
                pool: "p<1>".into(),
                volume: "v ü.img".into()
            }
        );
        assert_eq!(vol.source.label(), "p<1>/v ü.img");
        assert!(vol.shareable && !vol.is_clonable());
        assert_eq!(
            (vol.cache.as_deref(), vol.io.as_deref()),
            (Some("writeback"), Some("threads"))
        );
        let net = &hw.nics[0];
        assert_eq!(net.target_dev.as_deref(), Some("vnet3"));
        assert_eq!(net.source.as_deref(), Some("default"));
        assert_eq!(net.boot_order, Some(2));
        assert_eq!(net.link.as_deref(), Some("up"));
        assert_eq!(hw.nics[1].kind, "direct");
        assert_eq!(hw.nics[1].source_mode.as_deref(), Some("vepa"));
        assert_eq!(hw.chardevs[0].source_path.as_deref(), Some("/dev/pts/5"));
        assert_eq!(hw.chardevs[1].element, "console");
        assert_eq!(hw.graphics[0].port, Some(5900));
        assert!(hw.graphics[0].has_password);
        let hostdev = hw.other.iter().find(|d| d.kind == "hostdev").unwrap();
        assert_eq!(hostdev.boot_order, Some(3));
        assert_eq!(hostdev.model.as_deref(), Some("pci"));
        // Unknown devices are listed, not dropped.
        let future = hw.other.iter().find(|d| d.kind == "futuredevice").unwrap();
        assert_eq!(future.summary, "flavour=new");
        let fs = parse(
            "<domain><devices><video><model type='qxl' vram='1'/></video>\
             <filesystem type='mount'><driver type='virtiofs'/><source dir='/s'/>\
             <target dir='t'/><readonly/></filesystem></devices></domain>",
        )
        .unwrap();
        assert_eq!(fs.other[0].summary, "model=qxl");
        assert_eq!(
            fs.other[1].summary,
            "type=mount driver=virtiofs source=/s target=t readonly"
        );
        assert!(fs.other[1].xml.starts_with("<filesystem type='mount'>"));
        assert!(fs.other[1].xml.ends_with("</filesystem>"));
        assert!(hw.other.iter().any(|d| d.kind == "tpm"));
    }

    #[test]
    fn boot_order_and_targets() {
        use crate::xml::edit::{BootDevice, BootOrder};
        let hw = parse(VIRT_INSTALL).unwrap();
        assert_eq!(
            hw.boot_order(),
            BootOrder::Os(vec!["hd".into(), "cdrom".into()])
        );
        assert_eq!(hw.disk_targets(), ["vda", "sda"]);
        let hw = parse(TINY_LIVE).unwrap();
        assert_eq!(
            hw.boot_order(),
            BootOrder::Devices(vec![
                BootDevice::Disk("hda".into()),
                BootDevice::Nic("52:54:00:aa:bb:cc".into())
            ])
        );
    }

    #[test]
    fn units_and_errors() {
        assert_eq!(to_kib("64", Some("MiB")), Some(65536));
        assert_eq!(to_kib("1", Some("GB")), Some(976_562));
        assert_eq!(to_kib("2048", Some("bytes")), Some(2));
        assert_eq!(to_kib("5", None), Some(5));
        assert_eq!(to_kib("x", None), None);
        assert!(parse("<pool/>").is_err());
        assert!(parse("<domain><name>x</domain>").is_err());
        let hw = parse("<domain><name>only</name></domain>").unwrap();
        assert_eq!(hw.name, "only");
        assert!(hw.disks.is_empty());
    }
}
