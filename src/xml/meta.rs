//! virtdeck's own facts about a VM, kept in the domain's `<metadata>` under virtdeck's XML
//! namespace so they travel with the VM (migration, backups, other tools leave them alone).
//! libvirt stores one element per namespace: it is read, changed and written back whole
//! (`virDomainGetMetadata` / `virDomainSetMetadata` with `VIR_DOMAIN_METADATA_ELEMENT`).

use super::tree;
use crate::xml::domain::XmlError;

/// virtdeck's metadata namespace.
pub const NS: &str = "https://virtdeck.dev/xmlns/virtdeck/1";
/// The prefix libvirt writes the element with.
pub const PREFIX: &str = "vd";

/// What virtdeck keeps in a VM's metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// A template: listed apart, never started; new VMs are cloned from it.
    pub template: bool,
    /// Labels to group and filter by (`tag:db`), each one word.
    pub tags: Vec<String>,
    /// Free text about the VM (who owns it, what it is for).
    pub note: Option<String>,
}

/// Longest tag, in characters.
pub const TAG_MAX: usize = 40;

/// Why `tag` cannot be a tag: one word of letters, digits and `-_.:/@+`, at most
/// [`TAG_MAX`] characters.
pub fn tag_problem(tag: &str) -> Option<String> {
    if tag.is_empty() {
        Some("an empty tag".into())
    } else if tag.chars().count() > TAG_MAX {
        Some(format!("{tag}: at most {TAG_MAX} characters"))
    } else {
        tag.chars()
            .find(|c| !(c.is_alphanumeric() || "-_.:/@+".contains(*c)))
            .map(|c| {
                format!(
                    "{}: {:?} is not allowed (letters, digits and - _ . : / @ +)",
                    crate::sanitize::text(tag),
                    c
                )
            })
    }
}

/// Tags typed as words (spaces or commas between), each once, in order.
pub fn parse_tags(text: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for t in text.split([' ', ',']).filter(|t| !t.is_empty()) {
        if let Some(p) = tag_problem(t) {
            return Err(p);
        }
        if !out.iter().any(|x| x == t) {
            out.push(t.to_string());
        }
    }
    Ok(out)
}

impl Meta {
    /// Nothing to keep: the element can be removed.
    pub fn is_empty(&self) -> bool {
        !self.template && self.tags.is_empty() && self.note.as_deref().is_none_or(str::is_empty)
    }

    /// The element as `virDomainSetMetadata` takes it (libvirt adds the namespace).
    pub fn to_xml(&self) -> String {
        let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
        let mut inner = String::new();
        if self.template {
            inner.push_str("<template/>");
        }
        if !self.tags.is_empty() {
            inner.push_str("<tags>");
            for t in &self.tags {
                inner.push_str(&format!("<tag>{}</tag>", esc(t)));
            }
            inner.push_str("</tags>");
        }
        if let Some(n) = self.note.as_deref().filter(|n| !n.is_empty()) {
            inner.push_str(&format!("<note>{}</note>", esc(n)));
        }
        format!("<virtdeck>{inner}</virtdeck>")
    }

    /// The element as `virDomainGetMetadata` returns it. Unknown children (a newer
    /// virtdeck's) are ignored.
    pub fn parse(xml: &str) -> Result<Meta, XmlError> {
        let root = tree::parse(xml, "virtdeck metadata")?;
        let local = |n: &str| n.rsplit(':').next().unwrap_or(n).to_string();
        if local(&root.name) != "virtdeck" {
            return Err(XmlError(format!(
                "virtdeck metadata: <{}> is not <virtdeck>",
                root.name
            )));
        }
        let child = |name: &str| root.children.iter().find(|c| local(&c.name) == name);
        Ok(Meta {
            template: child("template").is_some(),
            // A hand-written tag that is not one word is dropped rather than shown.
            tags: child("tags")
                .map(|t| {
                    t.children
                        .iter()
                        .filter(|c| local(&c.name) == "tag")
                        .map(|c| c.text.trim().to_string())
                        .filter(|t| tag_problem(t).is_none())
                        .collect()
                })
                .unwrap_or_default(),
            note: child("note")
                .map(|n| n.text.clone())
                .filter(|n| !n.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_what_libvirt_returns() {
        let m = Meta {
            template: true,
            ..Meta::default()
        };
        assert_eq!(m.to_xml(), "<virtdeck><template/></virtdeck>");
        assert_eq!(Meta::parse(&m.to_xml()).unwrap(), m);
        // libvirt hands the element back with its namespace declared on it.
        let back = format!("<vd:virtdeck xmlns:vd=\"{NS}\">\n  <vd:template/>\n</vd:virtdeck>");
        assert!(Meta::parse(&back).unwrap().template);
        let plain = format!("<virtdeck xmlns=\"{NS}\"><future a='1'/></virtdeck>");
        assert_eq!(Meta::parse(&plain).unwrap(), Meta::default());
        assert!(Meta::default().is_empty());
        assert!(Meta::parse("<other/>").is_err());
        assert!(Meta::parse("<virtdeck><template>").is_err());
    }

    #[test]
    fn tags_and_notes_round_trip_escaped_and_bad_tags_are_refused() {
        let m = Meta {
            template: false,
            tags: vec!["db".into(), "team:ops".into()],
            note: Some("owner <&> 'ü'\nsecond line".into()),
        };
        let xml = m.to_xml();
        assert!(xml.contains("&lt;&amp;&gt;"), "{xml}");
        assert_eq!(Meta::parse(&xml).unwrap(), m);
        assert_eq!(parse_tags("db, web db  x").unwrap(), ["db", "web", "x"]);
        assert!(parse_tags("a<b").unwrap_err().contains("not allowed"));
        assert!(parse_tags(&"x".repeat(41)).is_err());
        assert!(tag_problem("\u{202e}x").is_some());
        // Hand-written bad tags are dropped.
        let hand = format!(
            "<virtdeck xmlns='{NS}'><tags><tag>ok</tag><tag>no way</tag></tags></virtdeck>"
        );
        assert_eq!(Meta::parse(&hand).unwrap().tags, ["ok"]);
        assert!(!m.is_empty() && Meta::default().is_empty());
    }
}
