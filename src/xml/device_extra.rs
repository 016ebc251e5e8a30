//! Device XML for the attach form's other devices: sound, RNG, watchdog, video, input, serial,
//! console, USB redirection, an emulated TPM and virtiofs shares. Models and actions are picked from fixed
//! lists; the only free text (a virtiofs share's directory and tag) goes through serde, so
//! it is escaped. The element shapes match what `virt-xml --build-xml` writes (see the test
//! in tests/xml_validate.rs).

use serde::Serialize;

use crate::xml::domain::{write, XmlError};

/// Sound card models, for a q35 machine (ICH9 is its own chipset's HDA) first.
pub const SOUND_MODELS_Q35: &[&str] = &["ich9", "ich6", "ac97"];
/// …and for i440fx and others: ich6 is the usual HDA there.
pub const SOUND_MODELS_PC: &[&str] = &["ich6", "ac97", "ich9"];
/// i6300esb is a PCI card (any machine). itco, the watchdog built into q35's ICH9, is not
/// offered: libvirt 9.0 (Debian 12) does not know it and its schema refuses the model.
pub const WATCHDOG_MODELS: &[&str] = &["i6300esb"];
pub const WATCHDOG_ACTIONS: &[&str] = &["reset", "poweroff", "pause", "none"];
pub const VIDEO_MODELS: &[&str] = &["virtio", "qxl", "vga", "bochs", "ramfb"];
pub const INPUT_KINDS: &[&str] = &["tablet", "keyboard", "mouse"];
pub const INPUT_BUSES: &[&str] = &["usb", "virtio"];
/// TPM models; the form offers those the host's domain capabilities list (`xml::domcaps`).
pub const TPM_MODELS: &[&str] = &["tpm-crb", "tpm-tis"];

/// The longest virtiofs mount tag the guest driver accepts (`virtio_fs_config.tag`).
pub const TAG_MAX: usize = 36;

/// One device to attach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtraDevice {
    Sound {
        model: &'static str,
    },
    /// virtio-rng fed from the host's /dev/urandom.
    Rng,
    Watchdog {
        model: &'static str,
        action: &'static str,
    },
    Video {
        model: &'static str,
    },
    Input {
        kind: &'static str,
        bus: &'static str,
    },
    /// A serial port on a pty (libvirt picks the port).
    Serial,
    /// A virtio console on a pty.
    Console,
    /// A USB redirection channel through the SPICE client.
    UsbRedir,
    /// An emulated TPM 2.0 (swtpm on the host).
    Tpm {
        model: &'static str,
    },
    Virtiofs(FsShare),
}

/// A host directory shared with virtiofs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsShare {
    pub source: String,
    pub tag: String,
    pub readonly: bool,
}

/// `value` when it is one of `list` (the form's choices), as the list's own `&'static str`.
pub fn pick(list: &[&'static str], value: &str) -> Option<&'static str> {
    list.iter().copied().find(|v| *v == value)
}

impl FsShare {
    /// Problems as (field, message): `fs_source`, `fs_tag`.
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !self.source.starts_with('/') {
            out.push((
                "fs_source",
                "an absolute host directory like /srv/share".into(),
            ));
        } else if self.source.chars().any(char::is_control) {
            out.push(("fs_source", "no control characters in the path".into()));
        }
        if self.tag.is_empty() {
            out.push((
                "fs_tag",
                "the name the guest mounts: mount -t virtiofs TAG /mnt".into(),
            ));
        } else if self.tag.len() > TAG_MAX {
            out.push(("fs_tag", format!("at most {TAG_MAX} bytes")));
        } else if self
            .tag
            .chars()
            .any(|c| c.is_control() || c.is_whitespace())
        {
            out.push(("fs_tag", "one word: no spaces or control characters".into()));
        }
        out
    }
}

impl ExtraDevice {
    /// The element name, for messages (`sound`, `rng`…).
    pub fn element(&self) -> &'static str {
        match self {
            ExtraDevice::Sound { .. } => "sound",
            ExtraDevice::Rng => "rng",
            ExtraDevice::Watchdog { .. } => "watchdog",
            ExtraDevice::Video { .. } => "video",
            ExtraDevice::Input { .. } => "input",
            ExtraDevice::Serial => "serial",
            ExtraDevice::Console => "console",
            ExtraDevice::UsbRedir => "redirdev",
            ExtraDevice::Tpm { .. } => "tpm",
            ExtraDevice::Virtiofs(_) => "filesystem",
        }
    }

    /// Whether libvirt's QEMU driver can add it to a running guest. Sound cards and video
    /// adapters are not hotpluggable in QEMU; a serial port sits on the ISA bus, which is not
    /// either, and libvirt has no TPM hotplug. The rest go through device_add.
    pub fn hotpluggable(&self) -> bool {
        !matches!(
            self,
            ExtraDevice::Sound { .. }
                | ExtraDevice::Video { .. }
                | ExtraDevice::Serial
                | ExtraDevice::Tpm { .. }
        )
    }

    /// Problems as (field, message).
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        match self {
            ExtraDevice::Virtiofs(fs) => fs.validate(),
            _ => Vec::new(),
        }
    }

    /// The device element.
    pub fn to_xml(&self) -> Result<String, XmlError> {
        match self {
            ExtraDevice::Sound { model } => write("sound", &ModelAttr { model }),
            ExtraDevice::Rng => write(
                "rng",
                &RngXml {
                    model: "virtio",
                    backend: Backend {
                        model: "random",
                        path: "/dev/urandom",
                    },
                },
            ),
            ExtraDevice::Watchdog { model, action } => {
                write("watchdog", &WatchdogXml { model, action })
            }
            ExtraDevice::Video { model } => write(
                "video",
                &VideoXml {
                    model: TypeAttr { kind: model },
                },
            ),
            ExtraDevice::Input { kind, bus } => write("input", &InputXml { kind, bus }),
            ExtraDevice::Serial => write(
                "serial",
                &CharXml {
                    kind: "pty",
                    target: None,
                },
            ),
            ExtraDevice::Console => write(
                "console",
                &CharXml {
                    kind: "pty",
                    target: Some(TypeAttr { kind: "virtio" }),
                },
            ),
            ExtraDevice::UsbRedir => write(
                "redirdev",
                &RedirXml {
                    bus: "usb",
                    kind: "spicevmc",
                },
            ),
            ExtraDevice::Tpm { model } => write("tpm", &TpmXml::emulated(model)),
            ExtraDevice::Virtiofs(fs) => write(
                "filesystem",
                &FsXml {
                    kind: "mount",
                    accessmode: "passthrough",
                    driver: TypeAttr { kind: "virtiofs" },
                    source: DirAttr {
                        dir: fs.source.clone(),
                    },
                    target: DirAttr {
                        dir: fs.tag.clone(),
                    },
                    readonly: fs.readonly.then_some(Empty {}),
                },
            ),
        }
    }
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct ModelAttr {
    #[serde(rename = "@model")]
    model: &'static str,
}

#[derive(Serialize)]
struct TypeAttr {
    #[serde(rename = "@type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct RngXml {
    #[serde(rename = "@model")]
    model: &'static str,
    backend: Backend,
}

#[derive(Serialize)]
struct Backend {
    #[serde(rename = "@model")]
    model: &'static str,
    #[serde(rename = "$text")]
    path: &'static str,
}

#[derive(Serialize)]
struct WatchdogXml {
    #[serde(rename = "@model")]
    model: &'static str,
    #[serde(rename = "@action")]
    action: &'static str,
}

#[derive(Serialize)]
struct VideoXml {
    model: TypeAttr,
}

#[derive(Serialize)]
struct InputXml {
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(rename = "@bus")]
    bus: &'static str,
}

#[derive(Serialize)]
struct CharXml {
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<TypeAttr>,
}

#[derive(Serialize)]
struct RedirXml {
    #[serde(rename = "@bus")]
    bus: &'static str,
    #[serde(rename = "@type")]
    kind: &'static str,
}

/// `<tpm model><backend type='emulator' version='2.0'/></tpm>` (also the wizard's).
#[derive(Serialize)]
pub(crate) struct TpmXml {
    #[serde(rename = "@model")]
    model: &'static str,
    backend: TpmBackend,
}

#[derive(Serialize)]
struct TpmBackend {
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(rename = "@version")]
    version: &'static str,
}

impl TpmXml {
    pub(crate) fn emulated(model: &'static str) -> TpmXml {
        TpmXml {
            model,
            backend: TpmBackend {
                kind: "emulator",
                version: "2.0",
            },
        }
    }
}

#[derive(Serialize)]
struct DirAttr {
    #[serde(rename = "@dir")]
    dir: String,
}

#[derive(Serialize)]
struct FsXml {
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(rename = "@accessmode")]
    accessmode: &'static str,
    driver: TypeAttr,
    source: DirAttr,
    target: DirAttr,
    #[serde(skip_serializing_if = "Option::is_none")]
    readonly: Option<Empty>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_devices_match_virt_xml_shapes() {
        assert_eq!(
            ExtraDevice::Rng.to_xml().unwrap(),
            "<rng model=\"virtio\">\n  <backend model=\"random\">/dev/urandom</backend>\n</rng>\n"
        );
        assert_eq!(
            ExtraDevice::Watchdog {
                model: "i6300esb",
                action: "poweroff"
            }
            .to_xml()
            .unwrap(),
            "<watchdog model=\"i6300esb\" action=\"poweroff\"/>\n"
        );
        assert_eq!(
            ExtraDevice::Console.to_xml().unwrap(),
            "<console type=\"pty\">\n  <target type=\"virtio\"/>\n</console>\n"
        );
        assert_eq!(
            ExtraDevice::Serial.to_xml().unwrap(),
            "<serial type=\"pty\"/>\n"
        );
        assert_eq!(
            ExtraDevice::Tpm { model: "tpm-crb" }.to_xml().unwrap(),
            "<tpm model=\"tpm-crb\">\n  <backend type=\"emulator\" version=\"2.0\"/>\n</tpm>\n"
        );
        assert!(!ExtraDevice::Tpm { model: "tpm-tis" }.hotpluggable());
        assert!(!ExtraDevice::Sound { model: "ich9" }.hotpluggable());
        assert!(ExtraDevice::Rng.hotpluggable());
        assert_eq!(pick(VIDEO_MODELS, "qxl"), Some("qxl"));
        assert_eq!(pick(VIDEO_MODELS, "qxl'/>"), None);
    }

    #[test]
    fn a_hostile_share_is_escaped_and_checked() {
        let fs = FsShare {
            source: "/srv/a'\"<b>&c/池".into(),
            tag: "t<&>".into(),
            readonly: true,
        };
        assert!(fs.validate().is_empty(), "{:?}", fs.validate());
        let xml = ExtraDevice::Virtiofs(fs).to_xml().unwrap();
        assert!(
            xml.contains("<source dir=\"/srv/a'&quot;&lt;b&gt;&amp;c/池\"/>"),
            "{xml}"
        );
        assert!(xml.contains("<target dir=\"t&lt;&amp;&gt;\"/>") && xml.contains("<readonly/>"));
        let root = crate::xml::tree::parse(&xml, "filesystem").unwrap();
        assert_eq!(root.child_attr("source", "dir"), Some("/srv/a'\"<b>&c/池"));
        let bad = FsShare {
            source: "rel/dir\n".into(),
            tag: "a b".into(),
            readonly: false,
        };
        let fields: Vec<_> = bad.validate().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["fs_source", "fs_tag"]);
        let long = FsShare {
            source: "/x\u{7}".into(),
            tag: "t".repeat(TAG_MAX + 1),
            readonly: false,
        };
        assert_eq!(long.validate().len(), 2);
    }
}
