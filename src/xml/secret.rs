//! Secret XML (`<secret>`): metadata only. The value is set separately
//! (`virSecretSetValue`) and never appears in the XML.

use serde::{Deserialize, Serialize};

use crate::xml::domain::XmlError;

/// A libvirt secret definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretDef {
    /// None on create: libvirt picks one.
    pub uuid: Option<String>,
    /// Kept in memory only, never on disk.
    pub ephemeral: bool,
    /// The value cannot be read back through the API.
    pub private: bool,
    pub description: Option<String>,
    /// `<usage type>`: ceph, iscsi, volume, tls, vtpm, or `none` without a `<usage>`.
    pub usage: String,
    /// The usage's id: `<name>` (ceph, tls, vtpm), `<target>` (iscsi), `<volume>` (volume).
    /// Pools refer to the secret by this (`<auth><secret usage=…>`).
    pub usage_id: String,
}

/// Usage types the wizard offers.
pub const USAGES: &[&str] = &["ceph", "iscsi"];

impl SecretDef {
    /// A persistent, private secret for a usage type and id.
    fn persistent(usage: &str, id: &str, description: &str) -> SecretDef {
        SecretDef {
            uuid: None,
            ephemeral: false,
            private: true,
            description: (!description.is_empty()).then(|| description.to_string()),
            usage: usage.to_string(),
            usage_id: id.to_string(),
        }
    }

    /// A cephx key for rbd pools; `usage_name` is what `<auth><secret usage=…>` names.
    pub fn ceph(usage_name: &str, description: &str) -> SecretDef {
        SecretDef::persistent("ceph", usage_name, description)
    }

    /// A CHAP password for iscsi pools; `target` is the usage id pools refer to.
    pub fn iscsi(target: &str, description: &str) -> SecretDef {
        SecretDef::persistent("iscsi", target, description)
    }

    /// The XML for `virSecretDefineXML`, indented for the wizard's review page.
    pub fn to_xml(&self) -> Result<String, XmlError> {
        let id = Some(self.usage_id.clone());
        let usage = match self.usage.as_str() {
            "none" | "" => None,
            "ceph" | "tls" | "vtpm" => Some(UsageXml {
                kind: self.usage.clone(),
                name: id,
                ..UsageXml::default()
            }),
            "iscsi" => Some(UsageXml {
                kind: self.usage.clone(),
                target: id,
                ..UsageXml::default()
            }),
            "volume" => Some(UsageXml {
                kind: self.usage.clone(),
                volume: id,
                ..UsageXml::default()
            }),
            other => return Err(XmlError(format!("unknown secret usage '{other}'"))),
        };
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
        let wire = SecretXml {
            ephemeral: Some(yes_no(self.ephemeral)),
            private: Some(yes_no(self.private)),
            uuid: self.uuid.clone(),
            description: self.description.clone(),
            usage,
        };
        crate::xml::domain::write("secret", &wire)
    }
}

/// Problems with a secret to define, as (field, short message): `usage`, `usage_id`, `uuid`.
pub fn validate(def: &SecretDef) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let id = &def.usage_id;
    match def.usage.as_str() {
        "none" => {}
        "volume" => {
            if !id.starts_with('/') {
                out.push(("usage_id", "enter the volume's absolute path".to_string()));
            }
        }
        "ceph" | "iscsi" | "tls" | "vtpm" => {
            if id.trim().is_empty() {
                out.push(("usage_id", "enter a usage name".to_string()));
            } else if id.contains('\n') {
                out.push(("usage_id", "no line breaks in a usage name".to_string()));
            }
        }
        _ => out.push(("usage", "unknown usage type".to_string())),
    }
    if def
        .uuid
        .as_deref()
        .is_some_and(|u| !crate::xml::pool::is_uuid(u))
    {
        out.push(("uuid", "not a UUID".to_string()));
    }
    out
}

/// Parses `virSecretGetXMLDesc` output.
pub fn parse(xml: &str) -> Result<SecretDef, XmlError> {
    let w: SecretXml = crate::xml::de::from_str(xml).map_err(|e| XmlError::de("secret", e))?;
    let flag = |v: Option<String>, what: &str| match v.as_deref() {
        None | Some("no") => Ok(false),
        Some("yes") => Ok(true),
        Some(o) => Err(XmlError(format!(
            "secret XML: {what}='{o}' is not yes or no"
        ))),
    };
    let (usage, usage_id) = match w.usage {
        None => ("none".to_string(), String::new()),
        Some(u) => {
            let id = match u.kind.as_str() {
                "iscsi" => u.target,
                "volume" => u.volume,
                _ => u.name,
            };
            (u.kind, id.unwrap_or_default())
        }
    };
    Ok(SecretDef {
        uuid: w.uuid,
        ephemeral: flag(w.ephemeral, "ephemeral")?,
        private: flag(w.private, "private")?,
        description: w.description,
        usage,
        usage_id,
    })
}

// ---- wire format (serde) -----------------------------------------------------------------

#[derive(Serialize, Deserialize)]
struct SecretXml {
    #[serde(
        rename = "@ephemeral",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    ephemeral: Option<String>,
    #[serde(rename = "@private", default, skip_serializing_if = "Option::is_none")]
    private: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    usage: Option<UsageXml>,
}

#[derive(Default, Serialize, Deserialize)]
struct UsageXml {
    #[serde(rename = "@type")]
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    volume: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(s: &SecretDef) {
        let xml = s.to_xml().unwrap();
        let back = parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        assert_eq!(&back, s, "{xml}");
    }

    #[test]
    fn builders() {
        let c = SecretDef::ceph("client.libvirt secret", "Ceph key");
        assert_eq!((c.ephemeral, c.private), (false, true));
        let xml = c.to_xml().unwrap();
        assert!(
            xml.contains(r#"<secret ephemeral="no" private="yes">"#),
            "{xml}"
        );
        assert!(xml.contains("<usage type=\"ceph\">"), "{xml}");
        assert!(xml.contains("<name>client.libvirt secret</name>"), "{xml}");
        roundtrip(&c);
        let i = SecretDef::iscsi("libvirtiscsi", "");
        assert_eq!(i.description, None);
        assert!(i
            .to_xml()
            .unwrap()
            .contains("<target>libvirtiscsi</target>"));
        roundtrip(&i);
        assert_eq!(validate(&c), vec![]);
        assert_eq!(validate(&i), vec![]);
    }

    #[test]
    fn every_usage_roundtrips() {
        for (usage, id) in [
            ("volume", "/var/lib/libvirt/images/enc.img"),
            ("tls", "t"),
            ("vtpm", "v"),
            ("none", ""),
        ] {
            let s = SecretDef {
                uuid: Some("c4b7f5b2-1c4e-4a4e-9f3b-2f7d2b0c1a11".into()),
                ephemeral: true,
                private: false,
                description: Some("d".into()),
                usage: usage.into(),
                usage_id: id.into(),
            };
            roundtrip(&s);
            assert_eq!(validate(&s), vec![]);
        }
        let mut bad = SecretDef::ceph("x", "");
        bad.usage = "kerberos".into();
        assert!(bad.to_xml().is_err());
    }

    #[test]
    fn hostile_text_roundtrips() {
        let s = SecretDef::ceph("a<b>&'\"café-池", "desc </description><usage type='x'> 池");
        let xml = s.to_xml().unwrap();
        assert!(
            !xml.contains("a<b") && !xml.contains("</description><usage"),
            "{xml}"
        );
        roundtrip(&s);
    }

    #[test]
    fn validation() {
        let f = |s: &SecretDef| validate(s).into_iter().map(|(f, _)| f).collect::<Vec<_>>();
        assert_eq!(f(&SecretDef::ceph("", "")), vec!["usage_id"]);
        assert_eq!(f(&SecretDef::iscsi(" ", "")), vec!["usage_id"]);
        let mut v = SecretDef::ceph("x", "");
        v.usage = "volume".into();
        assert_eq!(f(&v), vec!["usage_id"]);
        v.uuid = Some("123".into());
        assert_eq!(f(&v), vec!["usage_id", "uuid"]);
    }

    #[test]
    fn parses_libvirt_output() {
        // libvirt 9 `secret-dumpxml` shape.
        let xml = "<secret ephemeral='no' private='yes'>
  <uuid>7a3b0f36-4f6c-4d83-8c4e-5e0b1c6c9e01</uuid>
  <description>CHAP &amp; stuff</description>
  <usage type='iscsi'>
    <target>libvirtiscsi</target>
  </usage>
</secret>
";
        let s = parse(xml).unwrap();
        assert_eq!(
            s.uuid.as_deref(),
            Some("7a3b0f36-4f6c-4d83-8c4e-5e0b1c6c9e01")
        );
        assert_eq!((s.ephemeral, s.private), (false, true));
        assert_eq!(s.description.as_deref(), Some("CHAP & stuff"));
        assert_eq!(
            (s.usage.as_str(), s.usage_id.as_str()),
            ("iscsi", "libvirtiscsi")
        );
        let bare = parse("<secret><uuid>x</uuid></secret>").unwrap();
        assert_eq!(
            (bare.usage.as_str(), bare.ephemeral, bare.private),
            ("none", false, false)
        );
    }

    #[test]
    fn parses_real_libvirt_echo() {
        // `secret-dumpxml` (libvirt 9.0.0) of `SecretDef::ceph(NAME, DESC)` after `secret-define`.
        let xml = "<secret ephemeral='no' private='yes'>
  <uuid>1bd154f2-28cf-4df2-b851-ef305fb6f954</uuid>
  <description>virtdeck test &amp; &lt;desc&gt;</description>
  <usage type='ceph'>
    <name>scratch &lt;&amp;&apos;&quot;café-池&gt;</name>
  </usage>
</secret>
";
        let mut want = SecretDef::ceph("scratch <&'\"café-池>", "virtdeck test & <desc>");
        want.uuid = Some("1bd154f2-28cf-4df2-b851-ef305fb6f954".into());
        assert_eq!(parse(xml).unwrap(), want);
    }

    #[test]
    fn broken_xml_is_an_error() {
        assert!(parse("<secret>").is_err());
        assert!(parse("<secret ephemeral='maybe'/>").is_err());
        assert!(parse("<secret><usage><name>x</name></usage></secret>").is_err());
    }
}
