//! The serde shape of the domain XML the new-VM wizard writes: element and attribute names
//! as libvirt spells them, in the order virt-install writes them.

use serde::Serialize;

#[derive(Serialize)]
pub(super) struct Domain {
    #[serde(rename = "@type")]
    pub(super) kind: &'static str,
    pub(super) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) metadata: Option<Metadata>,
    pub(super) memory: Size,
    #[serde(rename = "currentMemory")]
    pub(super) current_memory: Size,
    pub(super) vcpu: u32,
    pub(super) os: Os,
    pub(super) features: Features,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) cpu: Option<Cpu>,
    pub(super) clock: Clock,
    pub(super) on_poweroff: &'static str,
    pub(super) on_reboot: &'static str,
    pub(super) on_crash: &'static str,
    pub(super) pm: Pm,
    pub(super) devices: Devices,
}

#[derive(Serialize)]
pub(super) struct Metadata {
    #[serde(
        rename = "libosinfo:libosinfo",
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) libosinfo: Option<LibOsinfo>,
    #[serde(rename = "virtdeck:vm", skip_serializing_if = "Option::is_none")]
    pub(super) virtdeck: Option<VirtdeckVm>,
}

/// What virtdeck made for the VM (read back by `xml::hardware`, see `VIRTDECK_NS`).
#[derive(Serialize)]
pub(super) struct VirtdeckVm {
    #[serde(rename = "@xmlns:virtdeck")]
    pub(super) xmlns: &'static str,
    #[serde(rename = "@uuid")]
    pub(super) uuid: String,
    #[serde(rename = "virtdeck:volume")]
    pub(super) volumes: Vec<OwnedVolume>,
}

#[derive(Serialize)]
pub(super) struct OwnedVolume {
    #[serde(rename = "@pool")]
    pub(super) pool: String,
    #[serde(rename = "@name")]
    pub(super) name: String,
}

#[derive(Serialize)]
pub(super) struct LibOsinfo {
    #[serde(rename = "@xmlns:libosinfo")]
    pub(super) xmlns: &'static str,
    #[serde(rename = "libosinfo:os")]
    pub(super) os: IdAttr,
}

#[derive(Serialize)]
pub(super) struct IdAttr {
    #[serde(rename = "@id")]
    pub(super) id: String,
}

#[derive(Serialize)]
pub(super) struct Size {
    #[serde(rename = "@unit")]
    pub(super) unit: &'static str,
    #[serde(rename = "$text")]
    pub(super) value: u64,
}

#[derive(Serialize)]
pub(super) struct Os {
    /// `efi`: libvirt's firmware auto-selection.
    #[serde(rename = "@firmware", skip_serializing_if = "Option::is_none")]
    pub(super) firmware: Option<&'static str>,
    #[serde(rename = "type")]
    pub(super) kind: OsType,
    #[serde(rename = "firmware", skip_serializing_if = "Option::is_none")]
    pub(super) features: Option<FirmwareFeatures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) kernel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) initrd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) cmdline: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) boot: Vec<Dev>,
}

/// `<firmware><feature enabled name/>…</firmware>`: what auto-selection must match.
#[derive(Serialize)]
pub(super) struct FirmwareFeatures {
    pub(super) feature: Vec<FirmwareFeature>,
}

#[derive(Serialize)]
pub(super) struct FirmwareFeature {
    #[serde(rename = "@enabled")]
    pub(super) enabled: &'static str,
    #[serde(rename = "@name")]
    pub(super) name: &'static str,
}

#[derive(Serialize)]
pub(super) struct OsType {
    #[serde(rename = "@arch")]
    pub(super) arch: &'static str,
    #[serde(rename = "@machine")]
    pub(super) machine: &'static str,
    #[serde(rename = "$text")]
    pub(super) text: &'static str,
}

#[derive(Serialize)]
pub(super) struct Dev {
    #[serde(rename = "@dev")]
    pub(super) dev: &'static str,
}

/// An element without content (`<acpi/>`).
#[derive(Serialize)]
pub(super) struct Empty {}

#[derive(Serialize)]
pub(super) struct Features {
    pub(super) acpi: Empty,
    pub(super) apic: Empty,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) hyperv: Option<Hyperv>,
}

#[derive(Serialize)]
pub(super) struct Hyperv {
    pub(super) relaxed: State,
    pub(super) vapic: State,
    pub(super) spinlocks: Spinlocks,
}

#[derive(Serialize)]
pub(super) struct State {
    #[serde(rename = "@state")]
    pub(super) state: &'static str,
}

#[derive(Serialize)]
pub(super) struct Spinlocks {
    #[serde(rename = "@state")]
    pub(super) state: &'static str,
    #[serde(rename = "@retries")]
    pub(super) retries: u32,
}

#[derive(Serialize)]
pub(super) struct Cpu {
    #[serde(rename = "@mode")]
    pub(super) mode: &'static str,
}

#[derive(Serialize)]
pub(super) struct Clock {
    #[serde(rename = "@offset")]
    pub(super) offset: &'static str,
    pub(super) timer: Vec<Timer>,
}

#[derive(Serialize)]
pub(super) struct Timer {
    #[serde(rename = "@name")]
    pub(super) name: &'static str,
    #[serde(rename = "@tickpolicy", skip_serializing_if = "Option::is_none")]
    pub(super) tickpolicy: Option<&'static str>,
    #[serde(rename = "@present", skip_serializing_if = "Option::is_none")]
    pub(super) present: Option<&'static str>,
}

#[derive(Serialize)]
pub(super) struct Pm {
    #[serde(rename = "suspend-to-mem")]
    pub(super) mem: Enabled,
    #[serde(rename = "suspend-to-disk")]
    pub(super) disk: Enabled,
}

#[derive(Serialize)]
pub(super) struct Enabled {
    #[serde(rename = "@enabled")]
    pub(super) enabled: &'static str,
}

#[derive(Serialize)]
pub(super) struct Devices {
    pub(super) disk: Vec<Disk>,
    pub(super) controller: Vec<Controller>,
    pub(super) interface: Vec<Interface>,
    pub(super) serial: Vec<Serial>,
    pub(super) console: Vec<Console>,
    pub(super) channel: Vec<Channel>,
    pub(super) input: Vec<Input>,
    pub(super) graphics: Vec<Graphics>,
    pub(super) video: Vec<Video>,
    pub(super) memballoon: Vec<Model>,
    pub(super) rng: Vec<Rng>,
    pub(super) tpm: Vec<crate::xml::device_extra::TpmXml>,
}

#[derive(Serialize)]
pub(super) struct Disk {
    #[serde(rename = "@type")]
    pub(super) kind: &'static str,
    #[serde(rename = "@device")]
    pub(super) device: &'static str,
    pub(super) driver: Driver,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) source: Option<DiskSourceXml>,
    pub(super) target: Target,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) readonly: Option<Empty>,
}

#[derive(Serialize)]
pub(super) struct Driver {
    #[serde(rename = "@name")]
    pub(super) name: &'static str,
    #[serde(rename = "@type")]
    pub(super) kind: String,
    #[serde(rename = "@discard", skip_serializing_if = "Option::is_none")]
    pub(super) discard: Option<&'static str>,
}

#[derive(Serialize, Default)]
pub(super) struct DiskSourceXml {
    #[serde(rename = "@pool", skip_serializing_if = "Option::is_none")]
    pub(super) pool: Option<String>,
    #[serde(rename = "@volume", skip_serializing_if = "Option::is_none")]
    pub(super) volume: Option<String>,
    #[serde(rename = "@file", skip_serializing_if = "Option::is_none")]
    pub(super) file: Option<String>,
    #[serde(rename = "@dev", skip_serializing_if = "Option::is_none")]
    pub(super) dev: Option<String>,
}

#[derive(Serialize)]
pub(super) struct Target {
    #[serde(rename = "@dev")]
    pub(super) dev: String,
    #[serde(rename = "@bus")]
    pub(super) bus: &'static str,
}

#[derive(Serialize)]
pub(super) struct Controller {
    #[serde(rename = "@type")]
    pub(super) kind: &'static str,
    #[serde(rename = "@model")]
    pub(super) model: &'static str,
    #[serde(rename = "@ports", skip_serializing_if = "Option::is_none")]
    pub(super) ports: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) master: Option<Master>,
}

#[derive(Serialize)]
pub(super) struct Master {
    #[serde(rename = "@startport")]
    pub(super) startport: u32,
}

#[derive(Serialize)]
pub(super) struct Interface {
    #[serde(rename = "@type")]
    pub(super) kind: &'static str,
    pub(super) source: NetSource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) mac: Option<Mac>,
    pub(super) model: Model,
}

#[derive(Serialize)]
pub(super) struct NetSource {
    #[serde(rename = "@network", skip_serializing_if = "Option::is_none")]
    pub(super) network: Option<String>,
    #[serde(rename = "@bridge", skip_serializing_if = "Option::is_none")]
    pub(super) bridge: Option<String>,
}

#[derive(Serialize)]
pub(super) struct Mac {
    #[serde(rename = "@address")]
    pub(super) address: String,
}

#[derive(Serialize)]
pub(super) struct Model {
    #[serde(rename = "@model", skip_serializing_if = "Option::is_none")]
    pub(super) model: Option<&'static str>,
    #[serde(rename = "@type", skip_serializing_if = "Option::is_none")]
    pub(super) kind: Option<&'static str>,
}

#[derive(Serialize)]
pub(super) struct Serial {
    #[serde(rename = "@type")]
    pub(super) kind: &'static str,
    pub(super) target: PortTarget,
}

#[derive(Serialize)]
pub(super) struct PortTarget {
    #[serde(rename = "@type", skip_serializing_if = "Option::is_none")]
    pub(super) kind: Option<&'static str>,
    #[serde(rename = "@port")]
    pub(super) port: u32,
}

#[derive(Serialize)]
pub(super) struct Console {
    #[serde(rename = "@type")]
    pub(super) kind: &'static str,
    pub(super) target: PortTarget,
}

#[derive(Serialize)]
pub(super) struct Channel {
    #[serde(rename = "@type")]
    pub(super) kind: &'static str,
    pub(super) source: Mode,
    pub(super) target: ChannelTarget,
}

#[derive(Serialize)]
pub(super) struct Mode {
    #[serde(rename = "@mode")]
    pub(super) mode: &'static str,
}

#[derive(Serialize)]
pub(super) struct ChannelTarget {
    #[serde(rename = "@type")]
    pub(super) kind: &'static str,
    #[serde(rename = "@name")]
    pub(super) name: &'static str,
}

#[derive(Serialize)]
pub(super) struct Input {
    #[serde(rename = "@type")]
    pub(super) kind: &'static str,
    #[serde(rename = "@bus")]
    pub(super) bus: &'static str,
}

#[derive(Serialize)]
pub(super) struct Graphics {
    #[serde(rename = "@type")]
    pub(super) kind: &'static str,
    #[serde(rename = "@port")]
    pub(super) port: &'static str,
    #[serde(rename = "@autoport")]
    pub(super) autoport: &'static str,
    #[serde(rename = "@listen")]
    pub(super) listen: &'static str,
    #[serde(rename = "listen")]
    pub(super) listen_el: Listen,
}

#[derive(Serialize)]
pub(super) struct Listen {
    #[serde(rename = "@type")]
    pub(super) kind: &'static str,
    #[serde(rename = "@address")]
    pub(super) address: &'static str,
}

#[derive(Serialize)]
pub(super) struct Video {
    pub(super) model: Model,
}

#[derive(Serialize)]
pub(super) struct Rng {
    #[serde(rename = "@model")]
    pub(super) model: &'static str,
    pub(super) backend: Backend,
}

#[derive(Serialize)]
pub(super) struct Backend {
    #[serde(rename = "@model")]
    pub(super) model: &'static str,
    #[serde(rename = "$text")]
    pub(super) text: &'static str,
}
