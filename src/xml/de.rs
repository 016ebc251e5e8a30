//! The one way host XML reaches serde. quick-xml's deserializer reads text as XML 1.1, so
//! U+2028 and U+0085 (ordinary characters in libvirt's XML 1.0) came back as line feeds, and
//! malformed input such as a `<!DOCTYPE` inside an element could panic it. Both come from
//! whoever defined the object, so documents holding them are rewritten first (the characters
//! as references, CDATA as escaped text, doctypes dropped), and a panic left in the library
//! becomes an error.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, BytesText, Event};
use quick_xml::{DeError, Reader, Writer};
use serde::de::DeserializeOwned;

/// Deserializes `xml` as `T`, reading U+2028 and U+0085 as themselves and never panicking.
pub fn from_str<T: DeserializeOwned>(xml: &str) -> Result<T, DeError> {
    let safe = if needs_rewrite(xml) {
        rewrite(xml).map(Cow::Owned).unwrap_or(Cow::Borrowed(xml))
    } else {
        Cow::Borrowed(xml)
    };
    std::panic::catch_unwind(|| quick_xml::de::from_str::<T>(&safe)).unwrap_or_else(|_| {
        Err(DeError::Custom(
            "malformed XML (the reader gave up on it)".into(),
        ))
    })
}

fn needs_rewrite(xml: &str) -> bool {
    xml.contains(['\u{2028}', '\u{85}']) || xml.contains("<!")
}

/// `raw` (escaped text or attribute value) with the two characters as references and no bare
/// `"` (attributes are written back double-quoted).
fn protect(raw: &str) -> String {
    raw.replace('"', "&quot;")
        .replace('\u{2028}', "&#x2028;")
        .replace('\u{85}', "&#x85;")
}

fn start(e: &BytesStart) -> Result<BytesStart<'static>, quick_xml::Error> {
    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    let mut out = BytesStart::new(name);
    for a in e.attributes() {
        let a = a?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = protect(&String::from_utf8_lossy(&a.value));
        // An `Attribute` built from raw parts is written as it is: `value` is escaped already.
        out.push_attribute(quick_xml::events::attributes::Attribute {
            key: quick_xml::name::QName(key.as_bytes()),
            value: Cow::Owned(value.into_bytes()),
        });
    }
    Ok(out)
}

fn rewrite(xml: &str) -> Result<String, quick_xml::Error> {
    let mut r = Reader::from_str(xml);
    let mut w = Writer::new(Vec::with_capacity(xml.len() + 64));
    loop {
        let ev = match r.read_event()? {
            Event::Eof => break,
            Event::DocType(_) | Event::Comment(_) | Event::PI(_) => continue,
            Event::Text(t) => {
                let raw = String::from_utf8_lossy(t.as_ref()).into_owned();
                Event::Text(BytesText::from_escaped(protect(&raw)))
            }
            Event::CData(c) => {
                let text = String::from_utf8_lossy(c.as_ref()).into_owned();
                Event::Text(BytesText::from_escaped(protect(
                    &quick_xml::escape::escape(&text),
                )))
            }
            Event::Start(e) => Event::Start(start(&e)?),
            Event::Empty(e) => Event::Empty(start(&e)?),
            other => other,
        };
        w.write_event(ev)?;
    }
    Ok(String::from_utf8_lossy(&w.into_inner()).into_owned())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Doc {
        #[serde(rename = "@a", default)]
        a: String,
        name: String,
    }

    #[test]
    fn xml11_line_breaks_stay_themselves_in_text_cdata_and_attributes() {
        let xml =
            "<d a='x\u{2028}\"y'><!-- c --><name><![CDATA[<n\u{85}]]>\u{2028}&amp;</name></d>";
        let d: Doc = super::from_str(xml).unwrap();
        assert_eq!(d.name, "<n\u{85}\u{2028}&");
        assert_eq!(d.a, "x\u{2028}\"y");
    }

    #[test]
    fn a_doctype_inside_an_element_is_an_error_or_ignored_never_a_panic() {
        let xml = "<d><name>a<!DOCTYPE x [<!ENTITY a 'b'>]>b</name></d>";
        match super::from_str::<Doc>(xml) {
            Ok(d) => assert_eq!(d.name, "ab"),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}
