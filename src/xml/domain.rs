//! What the storage and network panes need from a domain's XML: its name, where each disk
//! comes from (so a volume can list the VMs using it) and which virtual networks its NICs are
//! on. Read with the streaming reader rather than serde: domain XML is large, and only
//! `<name>`, `<devices><disk>` and `<devices><interface>` matter here.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// A libvirt XML document that could not be parsed or written. The text is user-facing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct XmlError(pub String);

impl XmlError {
    pub(crate) fn de(what: &str, e: impl std::fmt::Display) -> XmlError {
        XmlError(format!("{what} XML: {e}"))
    }
}

/// Serialises `value` as the document element `root`, indented by two spaces (the wizards
/// show it on their review page). All text and attributes go through quick-xml's escaping.
pub(crate) fn write<T: serde::Serialize>(root: &str, value: &T) -> Result<String, XmlError> {
    let mut out = String::new();
    let mut ser = quick_xml::se::Serializer::with_root(&mut out, Some(root))
        .map_err(|e| XmlError(format!("{root} XML: {e}")))?;
    ser.indent(' ', 2);
    value
        .serialize(ser)
        .map_err(|e| XmlError(format!("{root} XML: {e}")))?;
    out.push('\n');
    Ok(out)
}

/// Where one `<devices><disk>` of a domain reads from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskSource {
    /// `device` attribute: disk, cdrom, floppy or lun.
    pub device: String,
    /// `<target dev>`: vda, sda, hdc…
    pub target: String,
    /// `<source file>`, or `<source dir>` for a directory-backed disk (both are host paths).
    pub file: Option<String>,
    /// `<source dev>` (block device).
    pub dev: Option<String>,
    /// `<source pool>` of a `type='volume'` disk.
    pub pool: Option<String>,
    /// `<source volume>` of a `type='volume'` disk.
    pub volume: Option<String>,
    /// `<source protocol>` of a network disk: rbd, iscsi, gluster, nbd…
    pub protocol: Option<String>,
    /// `<source name>` of a network disk: `pool/image`, an IQN with LUN, a gluster path…
    pub name: Option<String>,
}

/// Attribute `name` of `e`, entity-decoded.
fn attr(r: &Reader<&[u8]>, e: &BytesStart, name: &[u8]) -> Result<Option<String>, XmlError> {
    match e.try_get_attribute(name) {
        Ok(Some(a)) => a
            .decode_and_unescape_value(r.decoder())
            .map(|v| Some(v.into_owned()))
            .map_err(|e| XmlError::de("domain", e)),
        Ok(None) => Ok(None),
        Err(e) => Err(XmlError::de("domain", e)),
    }
}

/// Every `<domain><devices><disk>` with its source. Disks without a `<source>` (an empty
/// CD-ROM) are listed with all source fields `None`; `<backingStore>` sources are skipped, as
/// they are the chain below the disk, not the disk itself.
pub fn disk_sources(domain_xml: &str) -> Result<Vec<DiskSource>, XmlError> {
    let mut r = Reader::from_str(domain_xml);
    let mut out = Vec::new();
    // Element names from the root down to the current element.
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut current: Option<DiskSource> = None;
    loop {
        let pos = r.buffer_position();
        let ev = r
            .read_event()
            .map_err(|e| XmlError(format!("domain XML: {e} at byte {pos}")))?;
        let (e, empty) = match ev {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                let closed = path.pop();
                // Closing the <disk> itself (path is now domain/devices).
                if closed.as_deref() == Some(b"disk") && path.len() == 2 {
                    if let Some(d) = current.take() {
                        out.push(d);
                    }
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let name = e.local_name().as_ref().to_vec();
        let depth = path.len();
        let in_devices = depth == 2 && path[0] == b"domain" && path[1] == b"devices";
        if in_devices && name == b"disk" {
            let d = DiskSource {
                device: attr(&r, &e, b"device")?.unwrap_or_else(|| "disk".into()),
                ..DiskSource::default()
            };
            if empty {
                out.push(d);
            } else {
                current = Some(d);
            }
        } else if depth == 3 && path[2] == b"disk" {
            // Direct children of the <disk> being read.
            if let Some(d) = current.as_mut() {
                match name.as_slice() {
                    b"source" => {
                        d.file = attr(&r, &e, b"file")?.or(attr(&r, &e, b"dir")?);
                        d.dev = attr(&r, &e, b"dev")?;
                        d.pool = attr(&r, &e, b"pool")?;
                        d.volume = attr(&r, &e, b"volume")?;
                        d.protocol = attr(&r, &e, b"protocol")?;
                        d.name = attr(&r, &e, b"name")?;
                    }
                    b"target" => d.target = attr(&r, &e, b"dev")?.unwrap_or_default(),
                    _ => {}
                }
            }
        }
        if !empty {
            path.push(name);
        }
    }
    Ok(out)
}

/// The virtual networks the domain's `<interface type='network'>` devices are on, each once,
/// in document order.
pub fn networks_used(domain_xml: &str) -> Result<Vec<String>, XmlError> {
    let mut r = Reader::from_str(domain_xml);
    let mut out: Vec<String> = Vec::new();
    let mut path: Vec<Vec<u8>> = Vec::new();
    // Inside an <interface type='network'> of <devices>.
    let mut on_network = false;
    loop {
        let pos = r.buffer_position();
        let ev = r
            .read_event()
            .map_err(|e| XmlError(format!("domain XML: {e} at byte {pos}")))?;
        let (e, empty) = match ev {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                if path.pop().as_deref() == Some(b"interface") && path.len() == 2 {
                    on_network = false;
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let name = e.local_name().as_ref().to_vec();
        let depth = path.len();
        if depth == 2 && path[0] == b"domain" && path[1] == b"devices" && name == b"interface" {
            on_network = !empty && attr(&r, &e, b"type")?.as_deref() == Some("network");
        } else if depth == 3 && on_network && path[2] == b"interface" && name == b"source" {
            if let Some(n) = attr(&r, &e, b"network")? {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        if !empty {
            path.push(name);
        }
    }
    Ok(out)
}

/// The domain's `<name>` (entity-decoded), or `None` if the XML is broken or has none.
pub fn name(domain_xml: &str) -> Option<String> {
    let mut r = Reader::from_str(domain_xml);
    let mut depth = 0usize;
    let mut in_name = false;
    let mut text = String::new();
    loop {
        match r.read_event().ok()? {
            Event::Start(e) => {
                depth += 1;
                in_name = depth == 2 && e.local_name().as_ref() == b"name";
            }
            Event::Text(t) if in_name => text.push_str(&t.decode().ok()?),
            Event::GeneralRef(g) if in_name => {
                // quick-xml reports `&amp;` and friends as separate events.
                let n = g.decode().ok()?;
                if let Some(c) = g.resolve_char_ref().ok()? {
                    text.push(c);
                } else {
                    text.push_str(quick_xml::escape::resolve_predefined_entity(&n)?);
                }
            }
            Event::CData(c) if in_name => text.push_str(&c.decode().ok()?),
            Event::End(_) => {
                if in_name {
                    return Some(text.trim().to_string());
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOMAIN: &str = r#"<domain type='kvm' id='3'>
  <name>web&amp;co-café</name>
  <uuid>5c1d4b4e-0f0c-4a47-9d85-0b1e5a8b9f11</uuid>
  <metadata><app:info xmlns:app="urn:x"><name>not-this</name></app:info></metadata>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/web.qcow2' index='2'/>
      <backingStore type='file' index='3'>
        <format type='raw'/>
        <source file='/var/lib/libvirt/images/base.img'/>
        <backingStore/>
      </backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='block' device='lun'>
      <source dev='/dev/sdb'/>
      <target dev='sda' bus='scsi'/>
    </disk>
    <disk type='volume' device='disk'>
      <source pool='default' volume='data&lt;1&gt;.img'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='network' device='disk'>
      <source protocol='rbd' name='rbdpool/image'>
        <host name='mon1' port='6789'/>
      </source>
      <target dev='vdc' bus='virtio'/>
    </disk>
    <disk type='dir' device='floppy'>
      <source dir='/srv/floppy'/>
      <target dev='fda'/>
    </disk>
    <disk type='file' device='cdrom'>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <interface type='network'><source network='default'/></interface>
  </devices>
</domain>"#;

    #[test]
    fn networks_of_the_nics_each_once() {
        assert_eq!(networks_used(DOMAIN).unwrap(), vec!["default"]);
        let xml = r#"<domain><name>x</name><devices>
          <interface type='network'><mac address='52:54:00:00:00:01'/><source network='lab&amp;1'/></interface>
          <interface type='bridge'><source bridge='br0'/></interface>
          <interface type='network'><source network='lab&amp;1'/></interface>
          <interface type='network'><source network='other'/></interface>
          <interface type='direct'><source dev='eth0' mode='vepa'/></interface>
        </devices><metadata><interface type='network'><source network='not-this'/></interface></metadata></domain>"#;
        assert_eq!(networks_used(xml).unwrap(), vec!["lab&1", "other"]);
        assert!(networks_used("<domain><devices><interface").is_err());
    }

    #[test]
    fn disks_of_every_kind() {
        let d = disk_sources(DOMAIN).unwrap();
        assert_eq!(d.len(), 6);
        assert_eq!(d[0].device, "disk");
        assert_eq!(d[0].target, "vda");
        // The backing chain's <source> must not replace the disk's own.
        assert_eq!(
            d[0].file.as_deref(),
            Some("/var/lib/libvirt/images/web.qcow2")
        );
        assert_eq!(d[1].device, "lun");
        assert_eq!(d[1].dev.as_deref(), Some("/dev/sdb"));
        assert_eq!(d[2].pool.as_deref(), Some("default"));
        assert_eq!(d[2].volume.as_deref(), Some("data<1>.img"));
        assert_eq!(d[3].protocol.as_deref(), Some("rbd"));
        assert_eq!(d[3].name.as_deref(), Some("rbdpool/image"));
        assert_eq!(d[4].file.as_deref(), Some("/srv/floppy"));
        assert_eq!(d[4].device, "floppy");
        assert_eq!(
            d[5],
            DiskSource {
                device: "cdrom".into(),
                target: "hdc".into(),
                ..DiskSource::default()
            }
        );
    }

    #[test]
    fn name_is_top_level_and_decoded() {
        assert_eq!(name(DOMAIN).as_deref(), Some("web&co-café"));
        assert_eq!(name("<domain><uuid>x</uuid></domain>"), None);
        assert_eq!(name("<domain><name>a"), None);
    }

    #[test]
    fn broken_xml_is_an_error() {
        assert!(disk_sources("<domain><devices><disk></devices></domain>").is_err());
        assert!(disk_sources("<domain><devices><disk device='disk/></devices></domain>").is_err());
    }

    #[test]
    fn no_disks() {
        assert_eq!(
            disk_sources("<domain><name>x</name></domain>").unwrap(),
            vec![]
        );
    }
}
