//! Streaming reader for one osinfo-db file (`os/<vendor>/<os>.xml`). Only the elements virtdeck
//! uses are kept; translated names (`xml:lang`) and everything else are skipped without
//! building a tree, which keeps loading the whole database fast.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::{InstallTree, Media, OsinfoError, Resources};

/// One `<os>` as written in its file, before inherited devices and resources are resolved.
#[derive(Clone, Debug, Default)]
pub(super) struct RawOs {
    pub id: String,
    pub short_ids: Vec<String>,
    pub name: String,
    pub vendor: Option<String>,
    pub family: Option<String>,
    pub distro: Option<String>,
    pub version: Option<String>,
    pub codename: Option<String>,
    pub release_date: Option<String>,
    pub eol: Option<String>,
    pub release_status: Option<String>,
    /// `derives-from` and `clones` ids: the relations libosinfo follows for devices.
    pub parents: Vec<String>,
    /// (device id, supported): `supported="false"` takes an inherited device away.
    pub devices: Vec<(String, bool)>,
    pub minimum: Option<Resources>,
    pub recommended: Option<Resources>,
    /// `<resources inherit="true"/>`: take the parent's.
    pub inherit_resources: bool,
    pub trees: Vec<InstallTree>,
    pub media: Vec<Media>,
    pub cloud_image: bool,
    /// `<firmware arch='x86_64' type='bios' supported='false'/>`: boots only from UEFI.
    pub uefi_only: bool,
}

fn attr(e: &BytesStart, name: &[u8]) -> Option<String> {
    let a = e.try_get_attribute(name).ok()??;
    a.unescape_value().ok().map(|v| v.into_owned())
}

/// Every `<os>` in `xml`; `file` only labels errors.
pub(super) fn parse_file(xml: &[u8], file: &str) -> Result<Vec<RawOs>, OsinfoError> {
    let mut r = Reader::from_reader(xml);
    let mut out = Vec::new();
    let mut stack: Vec<Vec<u8>> = Vec::new();
    let mut os: Option<RawOs> = None;
    let mut text = String::new();
    // Inside an element carrying xml:lang (a translation): its text is not wanted.
    let mut translated = false;
    // Which arch the `<resources>` being read is for, and whether it applies to x86_64.
    let mut res_applies = false;
    let mut buf = Vec::new();
    let bad = |e: &dyn std::fmt::Display| OsinfoError::Parse {
        file: file.to_string(),
        message: e.to_string(),
    };
    loop {
        let ev = r.read_event_into(&mut buf).map_err(|e| bad(&e))?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                let name = e.local_name().as_ref().to_vec();
                text.clear();
                translated = e.try_get_attribute("xml:lang").ok().flatten().is_some();
                let parent = stack.last().map(Vec::as_slice);
                match (name.as_slice(), parent) {
                    (b"os", _) => {
                        os = Some(RawOs {
                            id: attr(e, b"id").unwrap_or_default(),
                            ..RawOs::default()
                        })
                    }
                    (b"derives-from" | b"clones", Some(b"os")) => {
                        if let (Some(o), Some(id)) = (os.as_mut(), attr(e, b"id")) {
                            o.parents.push(id);
                        }
                    }
                    (b"device", Some(b"devices")) => {
                        if let (Some(o), Some(id)) = (os.as_mut(), attr(e, b"id")) {
                            let supported = attr(e, b"supported").as_deref() != Some("false");
                            o.devices.push((id, supported));
                        }
                    }
                    (b"resources", Some(b"os")) => {
                        let arch = attr(e, b"arch").unwrap_or_else(|| "all".into());
                        res_applies = arch == "all" || arch == "x86_64";
                        if res_applies && attr(e, b"inherit").as_deref() == Some("true") {
                            if let Some(o) = os.as_mut() {
                                o.inherit_resources = true;
                            }
                        }
                    }
                    (b"minimum" | b"recommended", Some(b"resources")) if res_applies => {
                        if let Some(o) = os.as_mut() {
                            let slot = if name == b"minimum" {
                                &mut o.minimum
                            } else {
                                &mut o.recommended
                            };
                            // arch="all" and arch="x86_64" may both exist: the specific wins.
                            slot.get_or_insert_with(Resources::default);
                        }
                    }
                    (b"media", Some(b"os")) => {
                        if let Some(o) = os.as_mut() {
                            o.media.push(Media {
                                arch: attr(e, b"arch").unwrap_or_else(|| "all".into()),
                                ..Media::default()
                            });
                        }
                    }
                    (b"tree", Some(b"os")) => {
                        if let Some(o) = os.as_mut() {
                            o.trees.push(InstallTree {
                                arch: attr(e, b"arch").unwrap_or_else(|| "all".into()),
                                ..InstallTree::default()
                            });
                        }
                    }
                    (b"firmware", Some(b"os"))
                        if attr(e, b"type").as_deref() == Some("bios")
                            && attr(e, b"supported").as_deref() == Some("false")
                            && matches!(attr(e, b"arch").as_deref(), None | Some("x86_64")) =>
                    {
                        if let Some(o) = os.as_mut() {
                            o.uefi_only = true;
                        }
                    }
                    (b"image", Some(b"os"))
                        if attr(e, b"cloud-init").as_deref() == Some("true") =>
                    {
                        if let Some(o) = os.as_mut() {
                            o.cloud_image = true;
                        }
                    }
                    _ => {}
                }
                if !empty {
                    stack.push(name);
                }
            }
            Event::Text(t) if !translated => {
                text.push_str(&t.decode().map_err(|e| bad(&e))?);
            }
            Event::CData(t) if !translated => {
                text.push_str(&t.decode().map_err(|e| bad(&e))?);
            }
            Event::GeneralRef(g) if !translated => {
                if let Some(c) = g.resolve_char_ref().map_err(|e| bad(&e))? {
                    text.push(c);
                } else {
                    let n = g.decode().map_err(|e| bad(&e))?;
                    if let Some(s) = quick_xml::escape::resolve_predefined_entity(&n) {
                        text.push_str(s);
                    }
                }
            }
            Event::End(_) => {
                let Some(name) = stack.pop() else { continue };
                let value = text.trim().to_string();
                let parent = stack.last().map(Vec::as_slice);
                let grand = stack.len().checked_sub(2).map(|i| stack[i].as_slice());
                if name == b"os" {
                    if let Some(o) = os.take() {
                        out.push(o);
                    }
                } else if let Some(o) = os.as_mut() {
                    if !translated {
                        assign(o, &name, parent, grand, value, res_applies);
                    }
                }
                text.clear();
                translated = false;
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

/// Stores the text of a closed element where it belongs.
fn assign(
    o: &mut RawOs,
    name: &[u8],
    parent: Option<&[u8]>,
    grand: Option<&[u8]>,
    value: String,
    res_applies: bool,
) {
    let num = || value.parse::<u64>().ok();
    match (parent, name) {
        (Some(b"os"), b"short-id") => o.short_ids.push(value),
        (Some(b"os"), b"name") => o.name = value,
        (Some(b"os"), b"vendor") => o.vendor = Some(value),
        (Some(b"os"), b"family") => o.family = Some(value),
        (Some(b"os"), b"distro") => o.distro = Some(value),
        (Some(b"os"), b"version") => o.version = Some(value),
        (Some(b"os"), b"codename") => o.codename = Some(value),
        (Some(b"os"), b"release-date") => o.release_date = Some(value),
        (Some(b"os"), b"eol-date") => o.eol = Some(value),
        (Some(b"os"), b"release-status") => o.release_status = Some(value),
        (Some(p @ (b"minimum" | b"recommended")), field) if grand == Some(b"resources") => {
            if !res_applies {
                return;
            }
            let slot = if p == b"minimum" {
                o.minimum.as_mut()
            } else {
                o.recommended.as_mut()
            };
            if let Some(r) = slot {
                match field {
                    b"n-cpus" => r.vcpus = num().map(|n| n as u32),
                    b"ram" => r.ram = num(),
                    b"storage" => r.storage = num(),
                    _ => {}
                }
            }
        }
        (Some(b"iso"), b"volume-id") if grand == Some(b"media") => {
            if let Some(m) = o.media.last_mut() {
                m.volume_id = Some(value);
            }
        }
        (Some(b"media"), field) => {
            if let Some(m) = o.media.last_mut() {
                match field {
                    b"url" => m.url = Some(value),
                    b"kernel" => m.kernel = Some(value),
                    b"initrd" => m.initrd = Some(value),
                    _ => {}
                }
            }
        }
        (Some(b"tree"), field) => {
            if let Some(t) = o.trees.last_mut() {
                match field {
                    b"url" => t.url = Some(value),
                    b"kernel" => t.kernel = Some(value),
                    b"initrd" => t.initrd = Some(value),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}
