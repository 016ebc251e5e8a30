//! A small element tree over a libvirt XML document, read with quick-xml's streaming reader.
//! Every element remembers where it sits in the source (byte ranges), so `xml::edit` can
//! splice single elements and leave the rest of a definition byte for byte as it was, and the
//! parsers (`hardware`, `snapshot`) can walk it without knowing every element libvirt may add.

use std::ops::Range;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::xml::domain::XmlError;

/// One element. Text is the decoded concatenation of its direct text children.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Node {
    /// Qualified name as written (`disk`, `libosinfo:os`).
    pub name: String,
    /// Attributes in document order, entity-decoded.
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
    pub text: String,
    /// The whole element, from `<` of the start tag to `>` of the end tag.
    pub span: Range<usize>,
    /// The start tag alone (for `<x/>` the same as `span`).
    pub start_tag: Range<usize>,
    /// Between the start and end tags; `None` for `<x/>`.
    pub inner: Option<Range<usize>>,
}

impl Node {
    /// The name without its namespace prefix.
    pub fn local(&self) -> &str {
        self.name.rsplit(':').next().unwrap_or(&self.name)
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first child element called `name` (qualified name).
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Attribute `attr` of child `name`.
    pub fn child_attr(&self, name: &str, attr: &str) -> Option<&str> {
        self.child(name).and_then(|c| c.attr(attr))
    }

    /// Trimmed text of child `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }

    /// Follows a path of child names (`["os", "type"]`).
    pub fn path(&self, names: &[&str]) -> Option<&Node> {
        let mut n = self;
        for name in names {
            n = n.child(name)?;
        }
        Some(n)
    }
}

fn attrs(r: &Reader<&[u8]>, e: &BytesStart, what: &str) -> Result<Vec<(String, String)>, XmlError> {
    let mut out = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| XmlError::de(what, e))?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = a
            .decode_and_unescape_value(r.decoder())
            .map_err(|e| XmlError::de(what, e))?
            .into_owned();
        out.push((key, value));
    }
    Ok(out)
}

/// Parses `xml` into its root element. `what` names the document in errors ("domain").
pub fn parse(xml: &str, what: &str) -> Result<Node, XmlError> {
    let mut r = Reader::from_str(xml);
    // Open elements, innermost last.
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        let before = r.buffer_position() as usize;
        let ev = r
            .read_event()
            .map_err(|e| XmlError(format!("{what} XML: {e} at byte {before}")))?;
        let after = r.buffer_position() as usize;
        match ev {
            Event::Start(_) | Event::Empty(_) if root.is_some() && stack.is_empty() => {
                return Err(XmlError(format!(
                    "{what} XML: a second root element at byte {before}"
                )));
            }
            Event::Start(e) => stack.push(Node {
                name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                attrs: attrs(&r, &e, what)?,
                span: before..after,
                start_tag: before..after,
                inner: Some(after..after),
                ..Node::default()
            }),
            Event::Empty(e) => {
                let node = Node {
                    name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                    attrs: attrs(&r, &e, what)?,
                    span: before..after,
                    start_tag: before..after,
                    ..Node::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None if root.is_none() => root = Some(node),
                    None => {}
                }
            }
            Event::End(_) => {
                let Some(mut node) = stack.pop() else {
                    return Err(XmlError(format!(
                        "{what} XML: unexpected end tag at byte {before}"
                    )));
                };
                node.span.end = after;
                if let Some(inner) = node.inner.as_mut() {
                    inner.end = before;
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => {
                if let Some(n) = stack.last_mut() {
                    n.text
                        .push_str(&t.decode().map_err(|e| XmlError::de(what, e))?);
                }
            }
            Event::CData(c) => {
                if let Some(n) = stack.last_mut() {
                    n.text
                        .push_str(&c.decode().map_err(|e| XmlError::de(what, e))?);
                }
            }
            Event::GeneralRef(g) => {
                // quick-xml reports `&amp;` and `&#252;` as events of their own.
                if let Some(n) = stack.last_mut() {
                    let name = g.decode().map_err(|e| XmlError::de(what, e))?;
                    if let Some(c) = g.resolve_char_ref().map_err(|e| XmlError::de(what, e))? {
                        n.text.push(c);
                    } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(&name) {
                        n.text.push_str(s);
                    } else {
                        return Err(XmlError(format!(
                            "{what} XML: unknown entity &{name}; at byte {before}"
                        )));
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(XmlError(format!(
            "{what} XML: <{}> is not closed",
            stack.last().map(|n| n.name.as_str()).unwrap_or("?")
        )));
    }
    root.ok_or_else(|| XmlError(format!("{what} XML: no root element")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_text() {
        let xml =
            "<?xml version='1.0'?>\n<a x='1&amp;2'><b>t&lt;u &#252;</b><c/><![CDATA[<z>]]></a>";
        let a = parse(xml, "test").unwrap();
        assert_eq!(a.attr("x"), Some("1&2"));
        assert_eq!(&xml[a.span.clone()], &xml[xml.find("<a").unwrap()..]);
        let b = a.child("b").unwrap();
        assert_eq!(b.text, "t<u ü");
        assert_eq!(&xml[b.span.clone()], "<b>t&lt;u &#252;</b>");
        assert_eq!(&xml[b.inner.clone().unwrap()], "t&lt;u &#252;");
        let c = a.child("c").unwrap();
        assert_eq!(&xml[c.span.clone()], "<c/>");
        assert_eq!(c.inner, None);
        assert_eq!(a.text, "<z>");
    }

    #[test]
    fn broken_documents_are_errors() {
        assert!(parse("<a><b></a>", "t").is_err());
        assert!(parse("<a>", "t").is_err());
        assert!(parse("", "t").is_err());
        assert!(parse("<a/><b/>", "t").is_err());
        assert!(parse("<a>&bogus;</a>", "t").is_err());
    }
}
