//! Storage volume XML (`<volume>`): the parser the volumes pane uses and the builder the
//! new-volume wizard uses. Parsing ignores what virtdeck does not model (permissions,
//! timestamps, encryption, features…).

use serde::{Deserialize, Serialize};

use crate::xml::domain::XmlError;
use crate::xml::pool::{SizeXml, TypeAttr};

/// A storage volume definition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VolumeDef {
    pub name: String,
    /// `<volume type>`: file, block, dir, network, netdir (libvirt writes it; create ignores it).
    pub kind: Option<String>,
    /// `<key>`, set by libvirt (a path for file volumes).
    pub key: Option<String>,
    /// Bytes. On create, 0 together with a backing store means "as large as the backing
    /// file": `to_xml` then leaves `<capacity>` out, as libvirt allows.
    pub capacity: u64,
    /// Bytes actually allocated; on create, how much to preallocate (`None`: libvirt's choice,
    /// sparse).
    pub allocation: Option<u64>,
    /// `<target><path>`.
    pub path: Option<String>,
    /// `<target><format type>`: raw, qcow2, … (None for pools without formats).
    pub format: Option<String>,
    /// `<backingStore><path>`.
    pub backing: Option<String>,
    /// `<backingStore><format type>`.
    pub backing_format: Option<String>,
}

/// Volume formats the wizard offers (the first is the default).
pub const FORMATS: &[&str] = &["qcow2", "raw"];

impl VolumeDef {
    /// A volume to create in a file-based pool. `format` is `raw` or `qcow2`. `preallocate`
    /// asks for allocation = capacity (fully allocated file; for qcow2 libvirt preallocates
    /// metadata and space); otherwise allocation 0 (sparse). `backing` is (path, format) of the
    /// backing file of a qcow2 overlay; with it `capacity` may be 0 ("same as the backing file").
    pub fn new(
        name: &str,
        capacity: u64,
        format: &str,
        preallocate: bool,
        backing: Option<(String, String)>,
    ) -> VolumeDef {
        let (backing, backing_format) = match backing {
            Some((p, f)) => (Some(p), Some(f)),
            None => (None, None),
        };
        VolumeDef {
            name: name.to_string(),
            capacity,
            allocation: Some(if preallocate { capacity } else { 0 }),
            format: Some(format.to_string()),
            backing,
            backing_format,
            ..VolumeDef::default()
        }
    }

    /// Whether `virStorageVolCreateXML` needs `VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA`:
    /// libvirt 9 preallocates a qcow2 volume only with that flag (allocation alone is ignored),
    /// and refuses the flag for an overlay ("metadata preallocation conflicts with backing
    /// store"). Raw volumes are preallocated from `allocation` alone.
    pub fn wants_prealloc_metadata(&self) -> bool {
        self.format.as_deref() == Some("qcow2")
            && self.backing.is_none()
            && self.capacity > 0
            && self.allocation == Some(self.capacity)
    }

    /// The XML for `virStorageVolCreateXML`, indented for the wizard's review page.
    pub fn to_xml(&self) -> Result<String, XmlError> {
        let bytes = |v: u64| SizeXml {
            unit: Some("bytes".into()),
            value: v,
        };
        let omit_capacity = self.capacity == 0 && self.backing.is_some();
        let wire = VolumeXml {
            kind: self.kind.clone(),
            name: self.name.clone(),
            key: self.key.clone(),
            capacity: (!omit_capacity).then(|| bytes(self.capacity)),
            allocation: self.allocation.map(bytes),
            // libvirt's schema requires <target>, even empty.
            target: Some(TargetXml {
                path: self.path.clone(),
                format: self.format.clone().map(|kind| TypeAttr { kind }),
            }),
            backing_store: self.backing.as_ref().map(|p| BackingXml {
                path: Some(p.clone()),
                format: self.backing_format.clone().map(|kind| TypeAttr { kind }),
            }),
        };
        crate::xml::domain::write("volume", &wire)
    }
}

/// Problems with a volume to create, as (field, short message): `name`, `capacity`,
/// `allocation`, `format`, `backing`.
pub fn validate(def: &VolumeDef) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Err(m) = crate::names::check(crate::names::NameKind::Volume, &def.name) {
        out.push(("name", m));
    }
    if def.capacity == 0 && def.backing.is_none() {
        out.push(("capacity", "enter a size".to_string()));
    }
    if def.allocation.is_some_and(|a| a > def.capacity) && def.capacity > 0 {
        out.push(("allocation", "cannot exceed the capacity".to_string()));
    }
    if let Some(b) = &def.backing {
        if def.format.as_deref() != Some("qcow2") {
            out.push(("format", "a backing file needs qcow2".to_string()));
        }
        if !b.starts_with('/') {
            out.push(("backing", "backing path must be absolute".to_string()));
        }
        // qemu-img refuses preallocation on an overlay.
        if def.allocation.is_some_and(|a| a > 0) {
            out.push((
                "allocation",
                "an overlay cannot be preallocated".to_string(),
            ));
        }
    }
    out
}

/// Parses `virStorageVolGetXMLDesc` output.
pub fn parse(xml: &str) -> Result<VolumeDef, XmlError> {
    let w: VolumeXml = crate::xml::de::from_str(xml).map_err(|e| XmlError::de("volume", e))?;
    let (path, format) = match w.target {
        Some(t) => (t.path, t.format.map(|f| f.kind)),
        None => (None, None),
    };
    let (backing, backing_format) = match w.backing_store {
        Some(b) => (b.path, b.format.map(|f| f.kind)),
        None => (None, None),
    };
    Ok(VolumeDef {
        name: w.name,
        kind: w.kind,
        key: w.key,
        capacity: w.capacity.map(SizeXml::bytes).transpose()?.unwrap_or(0),
        allocation: w.allocation.map(SizeXml::bytes).transpose()?,
        path,
        format,
        backing,
        backing_format,
    })
}

// ---- wire format (serde) -----------------------------------------------------------------

#[derive(Serialize, Deserialize)]
struct VolumeXml {
    #[serde(rename = "@type", default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    capacity: Option<SizeXml>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    allocation: Option<SizeXml>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<TargetXml>,
    #[serde(
        rename = "backingStore",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    backing_store: Option<BackingXml>,
}

#[derive(Serialize, Deserialize)]
struct TargetXml {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    format: Option<TypeAttr>,
}

#[derive(Serialize, Deserialize)]
struct BackingXml {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    format: Option<TypeAttr>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: u64 = 1 << 30;

    fn roundtrip(v: &VolumeDef) {
        let xml = v.to_xml().unwrap();
        let back = parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        assert_eq!(&back, v, "{xml}");
    }

    #[test]
    fn builder_roundtrips() {
        let raw = VolumeDef::new("disk.img", 10 * G, "raw", true, None);
        assert_eq!(raw.allocation, Some(10 * G));
        roundtrip(&raw);
        let sparse = VolumeDef::new("disk.qcow2", 10 * G, "qcow2", false, None);
        assert_eq!(sparse.allocation, Some(0));
        roundtrip(&sparse);
        let overlay = VolumeDef::new(
            "vm1.qcow2",
            20 * G,
            "qcow2",
            false,
            Some(("/var/lib/libvirt/images/base.qcow2".into(), "qcow2".into())),
        );
        roundtrip(&overlay);
        for v in [&raw, &sparse, &overlay] {
            assert_eq!(validate(v), vec![]);
        }
    }

    #[test]
    fn overlay_without_capacity() {
        let v = VolumeDef::new(
            "o.qcow2",
            0,
            "qcow2",
            false,
            Some(("/b.img".into(), "raw".into())),
        );
        let xml = v.to_xml().unwrap();
        assert!(!xml.contains("<capacity"), "{xml}");
        assert!(
            xml.contains("<backingStore>") && xml.contains("<path>/b.img</path>"),
            "{xml}"
        );
        assert!(xml.contains("<format type=\"raw\"/>"), "{xml}");
        roundtrip(&v);
        assert_eq!(validate(&v), vec![]);
    }

    #[test]
    fn hostile_names_roundtrip() {
        let v = VolumeDef::new(
            "a<b>&'\"café-池.qcow2",
            G,
            "qcow2",
            false,
            Some(("/x/<&>'\"/池.img".into(), "raw".into())),
        );
        let xml = v.to_xml().unwrap();
        assert!(!xml.contains("a<b"), "{xml}");
        roundtrip(&v);
    }

    #[test]
    fn validation() {
        let f = |v: &VolumeDef| validate(v).into_iter().map(|(f, _)| f).collect::<Vec<_>>();
        assert_eq!(f(&VolumeDef::new("", G, "raw", false, None)), vec!["name"]);
        assert_eq!(
            f(&VolumeDef::new("a/b", G, "raw", false, None)),
            vec!["name"]
        );
        assert_eq!(
            f(&VolumeDef::new("..", G, "raw", false, None)),
            vec!["name"]
        );
        assert_eq!(
            f(&VolumeDef::new("a", 0, "raw", false, None)),
            vec!["capacity"]
        );
        let b = || Some(("/b".to_string(), "qcow2".to_string()));
        assert_eq!(
            f(&VolumeDef::new("a", G, "raw", false, b())),
            vec!["format"]
        );
        assert_eq!(
            f(&VolumeDef::new("a", G, "qcow2", true, b())),
            vec!["allocation"]
        );
        assert_eq!(
            f(&VolumeDef::new(
                "a",
                G,
                "qcow2",
                false,
                Some(("b".into(), "raw".into()))
            )),
            vec!["backing"]
        );
    }

    #[test]
    fn parses_libvirt_units_and_extras() {
        let xml = r#"<volume type='file'>
  <name>t.qcow2</name>
  <key>/p/t.qcow2</key>
  <source>
  </source>
  <capacity unit='G'>2</capacity>
  <allocation unit='KiB'>4</allocation>
  <physical unit='bytes'>200704</physical>
  <target>
    <path>/p/t.qcow2</path>
    <format type='qcow2'/>
    <permissions><mode>0600</mode><owner>0</owner><group>0</group></permissions>
    <timestamps><atime>1.5</atime></timestamps>
    <compat>1.1</compat>
    <clusterSize unit='B'>65536</clusterSize>
    <features><lazy_refcounts/></features>
  </target>
  <backingStore>
    <path>/p/base.img</path>
    <format type='raw'/>
  </backingStore>
</volume>"#;
        let v = parse(xml).unwrap();
        assert_eq!(
            v,
            VolumeDef {
                name: "t.qcow2".into(),
                kind: Some("file".into()),
                key: Some("/p/t.qcow2".into()),
                capacity: 2 * G,
                allocation: Some(4096),
                path: Some("/p/t.qcow2".into()),
                format: Some("qcow2".into()),
                backing: Some("/p/base.img".into()),
                backing_format: Some("raw".into()),
            }
        );
        let si = "<volume><name>x</name><capacity unit='GB'>1</capacity><target/></volume>";
        assert_eq!(parse(si).unwrap().capacity, 1_000_000_000);
        let plain = "<volume><name>x</name><capacity>512</capacity><target/></volume>";
        assert_eq!(parse(plain).unwrap().capacity, 512);
    }

    #[test]
    fn parses_real_libvirt_overlay() {
        // `virsh vol-dumpxml` (libvirt 9.0.0) of an overlay created from
        // `VolumeDef::new("ov0.qcow2", 0, "qcow2", false, Some((…/disk.qcow2, qcow2)))`:
        // libvirt took the backing file's 128 MiB as capacity.
        let xml = "<volume type='file'>
  <name>ov0.qcow2</name>
  <key>/tmp/scratch/ov0.qcow2</key>
  <capacity unit='bytes'>134217728</capacity>
  <allocation unit='bytes'>200704</allocation>
  <physical unit='bytes'>196616</physical>
  <target>
    <path>/tmp/scratch/ov0.qcow2</path>
    <format type='qcow2'/>
    <permissions>
      <mode>0600</mode>
      <owner>0</owner>
      <group>0</group>
    </permissions>
    <timestamps>
      <atime>1795623110.573583205</atime>
      <mtime>1795623110.570384891</mtime>
      <ctime>1795623110.570614930</ctime>
      <btime>0</btime>
    </timestamps>
  </target>
  <backingStore>
    <path>/tmp/scratch/disk.qcow2</path>
    <format type='qcow2'/>
    <permissions>
      <mode>0600</mode>
      <owner>0</owner>
      <group>0</group>
    </permissions>
    <timestamps>
      <atime>1795623104.415977764</atime>
      <mtime>1795623104.413658374</mtime>
      <ctime>1795623104.415930123</ctime>
      <btime>0</btime>
    </timestamps>
  </backingStore>
</volume>
";
        let v = parse(xml).unwrap();
        assert_eq!(v.kind.as_deref(), Some("file"));
        assert_eq!(v.key.as_deref(), Some("/tmp/scratch/ov0.qcow2"));
        assert_eq!(v.capacity, 128 << 20);
        assert_eq!(v.allocation, Some(200704));
        assert_eq!(v.path.as_deref(), Some("/tmp/scratch/ov0.qcow2"));
        assert_eq!(v.format.as_deref(), Some("qcow2"));
        assert_eq!(v.backing.as_deref(), Some("/tmp/scratch/disk.qcow2"));
        assert_eq!(v.backing_format.as_deref(), Some("qcow2"));

        // A name libvirt escapes with &apos; and &quot;.
        let xml = "<volume type='file'>
  <name>a&lt;b&gt;&amp;&apos;&quot;café-池.img</name>
  <key>/tmp/scratch/a&lt;b&gt;&amp;&apos;&quot;café-池.img</key>
  <capacity unit='bytes'>1048576</capacity>
  <allocation unit='bytes'>0</allocation>
  <physical unit='bytes'>1048576</physical>
  <target>
    <path>/tmp/scratch/a&lt;b&gt;&amp;&apos;&quot;café-池.img</path>
    <format type='raw'/>
  </target>
</volume>
";
        let v = parse(xml).unwrap();
        assert_eq!(v.name, "a<b>&'\"café-池.img");
        assert_eq!(v.path.as_deref(), Some("/tmp/scratch/a<b>&'\"café-池.img"));
        assert_eq!(v.backing, None);
    }

    #[test]
    fn prealloc_flag() {
        assert!(VolumeDef::new("a", G, "qcow2", true, None).wants_prealloc_metadata());
        assert!(!VolumeDef::new("a", G, "qcow2", false, None).wants_prealloc_metadata());
        assert!(!VolumeDef::new("a", G, "raw", true, None).wants_prealloc_metadata());
        let b = Some(("/b".to_string(), "raw".to_string()));
        assert!(!VolumeDef::new("a", G, "qcow2", true, b).wants_prealloc_metadata());
    }

    #[test]
    fn broken_xml_is_an_error() {
        assert!(parse("<volume><name>x</name>").is_err());
        assert!(parse("<volume><capacity>1</capacity></volume>").is_err());
        assert!(parse("<volume><name>x</name><capacity>ten</capacity></volume>").is_err());
        assert!(parse("<volume><name>x</name><capacity unit='X'>1</capacity></volume>").is_err());
        assert!(parse("<volume><name>x</name><capacity unit='E'>99</capacity></volume>").is_err());
    }
}
