//! Device XML for attach, detach and update: disks, CD-ROMs and network interfaces. Built with
//! serde so every path and name is escaped; `validate` catches what libvirt or QEMU would
//! refuse later with a less helpful message.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::xml::domain::{write, XmlError};

/// Disk buses offered for new disks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bus {
    Virtio,
    Sata,
    Scsi,
    Ide,
}

impl Bus {
    pub const ALL: [Bus; 4] = [Bus::Virtio, Bus::Sata, Bus::Scsi, Bus::Ide];

    pub fn as_str(self) -> &'static str {
        match self {
            Bus::Virtio => "virtio",
            Bus::Sata => "sata",
            Bus::Scsi => "scsi",
            Bus::Ide => "ide",
        }
    }

    /// The `<target dev>` prefix libvirt expects for the bus. SATA and SCSI share `sd`.
    pub fn prefix(self) -> &'static str {
        match self {
            Bus::Virtio => "vd",
            Bus::Sata | Bus::Scsi => "sd",
            Bus::Ide => "hd",
        }
    }

    /// Whether QEMU can add a disk on this bus to a running guest. IDE and SATA (AHCI) disks
    /// can only be added to the persistent definition.
    pub fn hotpluggable(self) -> bool {
        matches!(self, Bus::Virtio | Bus::Scsi)
    }

    /// The most targets the bus takes: IDE has two channels with two units each.
    fn max_targets(self) -> usize {
        match self {
            Bus::Ide => 4,
            _ => 26 * 27,
        }
    }
}

/// `<driver cache>` modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cache {
    None,
    Writeback,
    Writethrough,
    Directsync,
    Unsafe,
}

impl Cache {
    pub const ALL: [Cache; 5] = [
        Cache::None,
        Cache::Writeback,
        Cache::Writethrough,
        Cache::Directsync,
        Cache::Unsafe,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Cache::None => "none",
            Cache::Writeback => "writeback",
            Cache::Writethrough => "writethrough",
            Cache::Directsync => "directsync",
            Cache::Unsafe => "unsafe",
        }
    }

    /// Modes that open the image with O_DIRECT (bypass the host page cache).
    fn direct(self) -> bool {
        matches!(self, Cache::None | Cache::Directsync)
    }
}

/// `<driver io>` modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Io {
    Native,
    Threads,
}

impl Io {
    pub const ALL: [Io; 2] = [Io::Native, Io::Threads];

    pub fn as_str(self) -> &'static str {
        match self {
            Io::Native => "native",
            Io::Threads => "threads",
        }
    }
}

/// Where a new disk's data lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskSource {
    /// A file on the host (`type='file'`): an image or an ISO.
    File(String),
    /// A block device (`type='block'`).
    Block(String),
    /// A volume of a storage pool (`type='volume'`).
    Volume { pool: String, volume: String },
}

/// A disk or CD-ROM to attach (or, for a CD-ROM, the media to put in with UpdateDevice).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskSpec {
    /// `None` only for an empty CD-ROM drive.
    pub source: Option<DiskSource>,
    pub cdrom: bool,
    pub bus: Bus,
    /// `<target dev>`; `next_target` picks a free one.
    pub target: String,
    /// `<driver type>`: raw, qcow2… (`None`: libvirt probes nothing and assumes raw).
    pub format: Option<String>,
    /// `None` keeps the hypervisor default.
    pub cache: Option<Cache>,
    pub io: Option<Io>,
    /// Always true for a CD-ROM.
    pub readonly: bool,
}

impl DiskSpec {
    /// A writable disk on `bus` at `target`.
    pub fn disk(source: DiskSource, bus: Bus, target: &str, format: Option<&str>) -> DiskSpec {
        DiskSpec {
            source: Some(source),
            cdrom: false,
            bus,
            target: target.to_string(),
            format: format.map(str::to_string),
            cache: None,
            io: None,
            readonly: false,
        }
    }

    /// A CD-ROM drive with `iso` inserted, or empty. Also the XML for changing or ejecting the
    /// media of an existing drive (same target and bus).
    pub fn cdrom(iso: Option<&str>, bus: Bus, target: &str) -> DiskSpec {
        DiskSpec {
            source: iso.map(|p| DiskSource::File(p.to_string())),
            cdrom: true,
            bus,
            target: target.to_string(),
            format: Some("raw".into()),
            cache: None,
            io: None,
            readonly: true,
        }
    }

    /// Problems as (field, message): `source`, `bus`, `target`, `io`, `format`.
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        match &self.source {
            None if !self.cdrom => out.push(("source", "choose a file, device or volume".into())),
            Some(DiskSource::File(p) | DiskSource::Block(p)) if p.trim().is_empty() => {
                out.push(("source", "enter a path".into()))
            }
            Some(DiskSource::File(p) | DiskSource::Block(p)) if !p.starts_with('/') => {
                out.push(("source", "the path must be absolute".into()))
            }
            Some(DiskSource::Volume { pool, volume }) if pool.is_empty() || volume.is_empty() => {
                out.push(("source", "choose a pool and a volume".into()))
            }
            _ => {}
        }
        if self.cdrom && self.bus == Bus::Virtio {
            out.push((
                "bus",
                "CD-ROMs cannot be on virtio: use sata, scsi or ide".into(),
            ));
        }
        if !self.target.starts_with(self.bus.prefix())
            || self.target.len() <= 2
            || !self.target[2..].bytes().all(|b| b.is_ascii_lowercase())
        {
            out.push((
                "target",
                format!(
                    "a {} disk is named {}a, {}b…",
                    self.bus.as_str(),
                    self.bus.prefix(),
                    self.bus.prefix()
                ),
            ));
        }
        // QEMU refuses aio=native without O_DIRECT ("aio=native was specified, but it
        // requires cache.direct=on"); libvirt passes the combination through, so the guest
        // would fail to start or the attach would fail.
        if self.io == Some(Io::Native) && !self.cache.is_some_and(Cache::direct) {
            out.push(("io", "io native needs cache none or directsync".into()));
        }
        if let Some(f) = &self.format {
            if f.is_empty() || !f.bytes().all(|b| b.is_ascii_alphanumeric()) {
                out.push(("format", "a format is a word like raw or qcow2".into()));
            }
        }
        out
    }

    /// The `<disk>` element.
    pub fn to_xml(&self) -> Result<String, XmlError> {
        let (kind, source) = match &self.source {
            None => ("file", None),
            Some(DiskSource::File(p)) => (
                "file",
                Some(SourceXml {
                    file: Some(p.clone()),
                    ..SourceXml::default()
                }),
            ),
            Some(DiskSource::Block(p)) => (
                "block",
                Some(SourceXml {
                    dev: Some(p.clone()),
                    ..SourceXml::default()
                }),
            ),
            Some(DiskSource::Volume { pool, volume }) => (
                "volume",
                Some(SourceXml {
                    pool: Some(pool.clone()),
                    volume: Some(volume.clone()),
                    ..SourceXml::default()
                }),
            ),
        };
        let wire = DiskXml {
            kind,
            device: if self.cdrom { "cdrom" } else { "disk" },
            driver: DriverXml {
                name: "qemu",
                format: self.format.clone(),
                cache: self.cache.map(Cache::as_str),
                io: self.io.map(Io::as_str),
            },
            source,
            target: TargetXml {
                dev: self.target.clone(),
                bus: self.bus.as_str(),
            },
            readonly: (self.readonly || self.cdrom).then_some(Empty {}),
        };
        write("disk", &wire)
    }
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct DiskXml {
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(rename = "@device")]
    device: &'static str,
    driver: DriverXml,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<SourceXml>,
    target: TargetXml,
    #[serde(skip_serializing_if = "Option::is_none")]
    readonly: Option<Empty>,
}

#[derive(Serialize)]
struct DriverXml {
    #[serde(rename = "@name")]
    name: &'static str,
    #[serde(rename = "@type", skip_serializing_if = "Option::is_none")]
    format: Option<String>,
    #[serde(rename = "@cache", skip_serializing_if = "Option::is_none")]
    cache: Option<&'static str>,
    #[serde(rename = "@io", skip_serializing_if = "Option::is_none")]
    io: Option<&'static str>,
}

#[derive(Serialize, Default)]
struct SourceXml {
    #[serde(rename = "@file", skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(rename = "@dev", skip_serializing_if = "Option::is_none")]
    dev: Option<String>,
    #[serde(rename = "@pool", skip_serializing_if = "Option::is_none")]
    pool: Option<String>,
    #[serde(rename = "@volume", skip_serializing_if = "Option::is_none")]
    volume: Option<String>,
}

#[derive(Serialize)]
struct TargetXml {
    #[serde(rename = "@dev")]
    dev: String,
    #[serde(rename = "@bus")]
    bus: &'static str,
}

/// `vda`, `vdb`, … `vdz`, `vdaa`: libvirt's disk naming (index 0 = `a`, 26 = `aa`).
fn target_name(prefix: &str, mut index: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'a' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.reverse();
    format!("{prefix}{}", String::from_utf8_lossy(&letters))
}

/// The first free `<target dev>` for a new disk on `bus`, given the targets of all the
/// domain's disks (any bus: SATA and SCSI share the `sd` names). `None` when the bus is full
/// (IDE: hda–hdd).
pub fn next_target<S: AsRef<str>>(bus: Bus, existing: &[S]) -> Option<String> {
    (0..bus.max_targets())
        .map(|i| target_name(bus.prefix(), i))
        .find(|t| !existing.iter().any(|e| e.as_ref() == t))
}

/// A new interface's source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NicSource {
    /// A libvirt virtual network.
    Network(String),
    /// A host bridge.
    Bridge(String),
}

/// NIC models offered (the first is the default).
pub const NIC_MODELS: &[&str] = &["virtio", "e1000e", "e1000", "rtl8139"];

/// A network interface to attach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NicSpec {
    pub source: NicSource,
    /// `<model type>`; `None`: the hypervisor default.
    pub model: Option<String>,
    /// `None`: libvirt generates one.
    pub mac: Option<String>,
}

impl NicSpec {
    /// Problems as (field, message): `source`, `model`, `mac`.
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let (NicSource::Network(s) | NicSource::Bridge(s)) = &self.source;
        if s.trim().is_empty() {
            out.push(("source", "choose a network or bridge".into()));
        }
        if let Some(m) = &self.model {
            if m.is_empty()
                || !m
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                out.push(("model", "a model is a word like virtio or e1000e".into()));
            }
        }
        if let Some(mac) = &self.mac {
            if !valid_mac(mac) {
                out.push(("mac", "six hex pairs like 52:54:00:12:34:56".into()));
            } else if u8::from_str_radix(&mac[..2], 16).is_ok_and(|b| b & 1 == 1) {
                out.push(("mac", "a multicast address cannot be a NIC's".into()));
            }
        }
        out
    }

    /// The `<interface>` element.
    pub fn to_xml(&self) -> Result<String, XmlError> {
        let (kind, source) = match &self.source {
            NicSource::Network(n) => (
                "network",
                NicSourceXml {
                    network: Some(n.clone()),
                    bridge: None,
                },
            ),
            NicSource::Bridge(b) => (
                "bridge",
                NicSourceXml {
                    network: None,
                    bridge: Some(b.clone()),
                },
            ),
        };
        let wire = NicXml {
            kind,
            source,
            mac: self.mac.clone().map(|address| MacXml { address }),
            model: self.model.clone().map(|kind| ModelXml { kind }),
        };
        write("interface", &wire)
    }
}

#[derive(Serialize)]
struct NicXml {
    #[serde(rename = "@type")]
    kind: &'static str,
    source: NicSourceXml,
    #[serde(skip_serializing_if = "Option::is_none")]
    mac: Option<MacXml>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<ModelXml>,
}

#[derive(Serialize)]
struct NicSourceXml {
    #[serde(rename = "@network", skip_serializing_if = "Option::is_none")]
    network: Option<String>,
    #[serde(rename = "@bridge", skip_serializing_if = "Option::is_none")]
    bridge: Option<String>,
}

#[derive(Serialize)]
struct MacXml {
    #[serde(rename = "@address")]
    address: String,
}

#[derive(Serialize)]
struct ModelXml {
    #[serde(rename = "@type")]
    kind: String,
}

/// `aa:bb:cc:dd:ee:ff` with hex digits.
pub fn valid_mac(mac: &str) -> bool {
    let parts: Vec<&str> = mac.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A random MAC in QEMU's `52:54:00` range, as virt-install and virt-clone make them.
/// Randomness from std's per-process hasher keys mixed with the time and a counter: enough
/// to make collisions between guests unlikely without a dependency.
pub fn random_mac() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    h.write_u128(nanos);
    let v = h.finish();
    format!(
        "52:54:00:{:02x}:{:02x}:{:02x}",
        (v >> 16) as u8,
        (v >> 8) as u8,
        v as u8
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_names_follow_libvirt() {
        assert_eq!(target_name("vd", 0), "vda");
        assert_eq!(target_name("vd", 25), "vdz");
        assert_eq!(target_name("vd", 26), "vdaa");
        assert_eq!(target_name("sd", 27), "sdab");
        assert_eq!(target_name("sd", 26 + 26 * 26), "sdaaa");
        assert_eq!(
            next_target::<&str>(Bus::Virtio, &[]).as_deref(),
            Some("vda")
        );
        assert_eq!(
            next_target(Bus::Virtio, &["vda", "vdc", "hda"]).as_deref(),
            Some("vdb")
        );
        // SATA and SCSI share the sd names.
        assert_eq!(
            next_target(Bus::Scsi, &["sda", "sdb", "vda"]).as_deref(),
            Some("sdc")
        );
        assert_eq!(next_target(Bus::Ide, &["hda", "hdb", "hdc", "hdd"]), None);
        let many: Vec<String> = (0..26).map(|i| target_name("vd", i)).collect();
        assert_eq!(next_target(Bus::Virtio, &many).as_deref(), Some("vdaa"));
    }

    #[test]
    fn disk_xml_is_escaped_and_complete() {
        let mut d = DiskSpec::disk(
            DiskSource::File("/srv/a<b>&'\"ü.qcow2".into()),
            Bus::Virtio,
            "vdb",
            Some("qcow2"),
        );
        d.cache = Some(Cache::None);
        d.io = Some(Io::Native);
        assert!(d.validate().is_empty(), "{:?}", d.validate());
        let xml = d.to_xml().unwrap();
        assert_eq!(
            xml,
            "<disk type=\"file\" device=\"disk\">\n  <driver name=\"qemu\" type=\"qcow2\" \
             cache=\"none\" io=\"native\"/>\n  <source file=\"/srv/a&lt;b&gt;&amp;'&quot;ü.qcow2\"/>\n  \
             <target dev=\"vdb\" bus=\"virtio\"/>\n</disk>\n"
        );
        let hw = crate::xml::hardware::parse(&format!("<domain><devices>{xml}</devices></domain>"))
            .unwrap();
        assert_eq!(
            hw.disks[0].source,
            crate::xml::hardware::Source::File("/srv/a<b>&'\"ü.qcow2".into())
        );
        assert!(!hw.disks[0].readonly);
    }

    #[test]
    fn block_volume_and_cdrom() {
        let b = DiskSpec::disk(DiskSource::Block("/dev/sdz".into()), Bus::Scsi, "sdb", None);
        let xml = b.to_xml().unwrap();
        assert!(xml.contains("type=\"block\"") && xml.contains("<source dev=\"/dev/sdz\"/>"));
        assert!(!xml.contains("readonly"));
        let v = DiskSpec::disk(
            DiskSource::Volume {
                pool: "p&1".into(),
                volume: "v.img".into(),
            },
            Bus::Sata,
            "sda",
            Some("raw"),
        );
        let xml = v.to_xml().unwrap();
        assert!(
            xml.contains("<source pool=\"p&amp;1\" volume=\"v.img\"/>"),
            "{xml}"
        );
        let empty = DiskSpec::cdrom(None, Bus::Sata, "sdc");
        assert!(empty.validate().is_empty());
        let xml = empty.to_xml().unwrap();
        assert!(xml.contains("device=\"cdrom\"") && xml.contains("<readonly/>"));
        assert!(!xml.contains("<source"));
        let iso = DiskSpec::cdrom(Some("/iso/d.iso"), Bus::Ide, "hdc")
            .to_xml()
            .unwrap();
        assert!(iso.contains("<source file=\"/iso/d.iso\"/>"));
    }

    #[test]
    fn disk_validation() {
        let mut d = DiskSpec::disk(DiskSource::File("rel.img".into()), Bus::Virtio, "sda", None);
        d.io = Some(Io::Native);
        d.cache = Some(Cache::Writeback);
        let fields: Vec<_> = d.validate().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["source", "target", "io"]);
        d.cache = Some(Cache::Directsync);
        d.source = Some(DiskSource::File("/a".into()));
        d.target = "vdq".into();
        assert!(d.validate().is_empty());
        // The hypervisor default cache is not O_DIRECT either.
        d.cache = None;
        assert_eq!(d.validate()[0].0, "io");
        d.io = Some(Io::Threads);
        assert!(d.validate().is_empty());
        let cd = DiskSpec::cdrom(None, Bus::Virtio, "vdc");
        assert_eq!(cd.validate()[0].0, "bus");
        let mut none = DiskSpec::cdrom(None, Bus::Sata, "sdc");
        none.cdrom = false;
        assert_eq!(none.validate()[0].0, "source");
        assert!(Bus::Virtio.hotpluggable() && !Bus::Sata.hotpluggable());
    }

    #[test]
    fn nic_xml_and_validation() {
        let n = NicSpec {
            source: NicSource::Network("net<&>".into()),
            model: Some("virtio".into()),
            mac: Some("52:54:00:01:02:03".into()),
        };
        assert!(n.validate().is_empty());
        assert_eq!(
            n.to_xml().unwrap(),
            "<interface type=\"network\">\n  <source network=\"net&lt;&amp;&gt;\"/>\n  \
             <mac address=\"52:54:00:01:02:03\"/>\n  <model type=\"virtio\"/>\n</interface>\n"
        );
        let b = NicSpec {
            source: NicSource::Bridge("br0".into()),
            model: None,
            mac: None,
        };
        assert_eq!(
            b.to_xml().unwrap(),
            "<interface type=\"bridge\">\n  <source bridge=\"br0\"/>\n</interface>\n"
        );
        let bad = NicSpec {
            source: NicSource::Bridge(" ".into()),
            model: Some("vir tio".into()),
            mac: Some("01:00:5e:00:00:01".into()),
        };
        let fields: Vec<_> = bad.validate().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["source", "model", "mac"]);
        assert!(!valid_mac("52:54:00:1:2:3"));
    }

    #[test]
    fn random_macs_are_local_and_differ() {
        let a = random_mac();
        assert!(valid_mac(&a) && a.starts_with("52:54:00:"), "{a}");
        // 4096 draws from 2^24 repeat about 0.5 times by chance (birthday bound); a weak
        // source (a counter, the clock alone) repeats far more or never varies the bytes.
        let draws: Vec<String> = (0..4096).map(|_| random_mac()).collect();
        let all: std::collections::HashSet<&String> = draws.iter().collect();
        assert!(all.len() >= 4090, "{} distinct", all.len());
        for byte in [9, 12, 15] {
            let firsts: std::collections::HashSet<&str> =
                draws.iter().map(|m| &m[byte..byte + 1]).collect();
            assert_eq!(firsts.len(), 16, "every hex digit shows up at {byte}");
        }
    }
}
