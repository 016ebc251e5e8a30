//! The serde side of [`super::NewVm`]: structs shaped like libvirt's domain XML, in the
//! element order virt-install writes. Every user value goes through quick-xml's escaping.

use serde::Serialize;

use super::{target_name, BootDev, CpuMode, DiskSource, HostFile, InstallMethod, NewVm, NicSource};
use crate::osinfo::{DiskBus, Machine};
use crate::xml::domain::XmlError;

/// virt-install's default number of PCIe root ports on q35 (hot-plug slots).
const PCIE_ROOT_PORTS: usize = 14;

pub(super) fn domain(vm: &NewVm, install: bool) -> Result<String, XmlError> {
    domain_with_uuid(vm, install, None)
}

pub(super) fn domain_with_uuid(
    vm: &NewVm,
    install: bool,
    uuid: Option<&str>,
) -> Result<String, XmlError> {
    crate::xml::domain::write("domain", &build(vm, install, uuid))
}

#[derive(Serialize)]
struct Domain {
    #[serde(rename = "@type")]
    kind: &'static str,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Metadata>,
    memory: Size,
    #[serde(rename = "currentMemory")]
    current_memory: Size,
    vcpu: u32,
    os: Os,
    features: Features,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu: Option<Cpu>,
    clock: Clock,
    on_poweroff: &'static str,
    on_reboot: &'static str,
    on_crash: &'static str,
    pm: Pm,
    devices: Devices,
}

#[derive(Serialize)]
struct Metadata {
    #[serde(rename = "libosinfo:libosinfo")]
    libosinfo: LibOsinfo,
}

#[derive(Serialize)]
struct LibOsinfo {
    #[serde(rename = "@xmlns:libosinfo")]
    xmlns: &'static str,
    #[serde(rename = "libosinfo:os")]
    os: IdAttr,
}

#[derive(Serialize)]
struct IdAttr {
    #[serde(rename = "@id")]
    id: String,
}

#[derive(Serialize)]
struct Size {
    #[serde(rename = "@unit")]
    unit: &'static str,
    #[serde(rename = "$text")]
    value: u64,
}

#[derive(Serialize)]
struct Os {
    #[serde(rename = "type")]
    kind: OsType,
    #[serde(skip_serializing_if = "Option::is_none")]
    kernel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    initrd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cmdline: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    boot: Vec<Dev>,
}

#[derive(Serialize)]
struct OsType {
    #[serde(rename = "@arch")]
    arch: &'static str,
    #[serde(rename = "@machine")]
    machine: &'static str,
    #[serde(rename = "$text")]
    text: &'static str,
}

#[derive(Serialize)]
struct Dev {
    #[serde(rename = "@dev")]
    dev: &'static str,
}

/// An element without content (`<acpi/>`).
#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct Features {
    acpi: Empty,
    apic: Empty,
    #[serde(skip_serializing_if = "Option::is_none")]
    hyperv: Option<Hyperv>,
}

#[derive(Serialize)]
struct Hyperv {
    relaxed: State,
    vapic: State,
    spinlocks: Spinlocks,
}

#[derive(Serialize)]
struct State {
    #[serde(rename = "@state")]
    state: &'static str,
}

#[derive(Serialize)]
struct Spinlocks {
    #[serde(rename = "@state")]
    state: &'static str,
    #[serde(rename = "@retries")]
    retries: u32,
}

#[derive(Serialize)]
struct Cpu {
    #[serde(rename = "@mode")]
    mode: &'static str,
}

#[derive(Serialize)]
struct Clock {
    #[serde(rename = "@offset")]
    offset: &'static str,
    timer: Vec<Timer>,
}

#[derive(Serialize)]
struct Timer {
    #[serde(rename = "@name")]
    name: &'static str,
    #[serde(rename = "@tickpolicy", skip_serializing_if = "Option::is_none")]
    tickpolicy: Option<&'static str>,
    #[serde(rename = "@present", skip_serializing_if = "Option::is_none")]
    present: Option<&'static str>,
}

#[derive(Serialize)]
struct Pm {
    #[serde(rename = "suspend-to-mem")]
    mem: Enabled,
    #[serde(rename = "suspend-to-disk")]
    disk: Enabled,
}

#[derive(Serialize)]
struct Enabled {
    #[serde(rename = "@enabled")]
    enabled: &'static str,
}

#[derive(Serialize)]
struct Devices {
    disk: Vec<Disk>,
    controller: Vec<Controller>,
    interface: Vec<Interface>,
    serial: Vec<Serial>,
    console: Vec<Console>,
    channel: Vec<Channel>,
    input: Vec<Input>,
    graphics: Vec<Graphics>,
    video: Vec<Video>,
    memballoon: Vec<Model>,
    rng: Vec<Rng>,
}

#[derive(Serialize)]
struct Disk {
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(rename = "@device")]
    device: &'static str,
    driver: Driver,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<DiskSourceXml>,
    target: Target,
    #[serde(skip_serializing_if = "Option::is_none")]
    readonly: Option<Empty>,
}

#[derive(Serialize)]
struct Driver {
    #[serde(rename = "@name")]
    name: &'static str,
    #[serde(rename = "@type")]
    kind: String,
    #[serde(rename = "@discard", skip_serializing_if = "Option::is_none")]
    discard: Option<&'static str>,
}

#[derive(Serialize, Default)]
struct DiskSourceXml {
    #[serde(rename = "@pool", skip_serializing_if = "Option::is_none")]
    pool: Option<String>,
    #[serde(rename = "@volume", skip_serializing_if = "Option::is_none")]
    volume: Option<String>,
    #[serde(rename = "@file", skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(rename = "@dev", skip_serializing_if = "Option::is_none")]
    dev: Option<String>,
}

#[derive(Serialize)]
struct Target {
    #[serde(rename = "@dev")]
    dev: String,
    #[serde(rename = "@bus")]
    bus: &'static str,
}

#[derive(Serialize)]
struct Controller {
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(rename = "@model")]
    model: &'static str,
    #[serde(rename = "@ports", skip_serializing_if = "Option::is_none")]
    ports: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    master: Option<Master>,
}

#[derive(Serialize)]
struct Master {
    #[serde(rename = "@startport")]
    startport: u32,
}

#[derive(Serialize)]
struct Interface {
    #[serde(rename = "@type")]
    kind: &'static str,
    source: NetSource,
    #[serde(skip_serializing_if = "Option::is_none")]
    mac: Option<Mac>,
    model: Model,
}

#[derive(Serialize)]
struct NetSource {
    #[serde(rename = "@network", skip_serializing_if = "Option::is_none")]
    network: Option<String>,
    #[serde(rename = "@bridge", skip_serializing_if = "Option::is_none")]
    bridge: Option<String>,
}

#[derive(Serialize)]
struct Mac {
    #[serde(rename = "@address")]
    address: String,
}

#[derive(Serialize)]
struct Model {
    #[serde(rename = "@model", skip_serializing_if = "Option::is_none")]
    model: Option<&'static str>,
    #[serde(rename = "@type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
}

#[derive(Serialize)]
struct Serial {
    #[serde(rename = "@type")]
    kind: &'static str,
    target: PortTarget,
}

#[derive(Serialize)]
struct PortTarget {
    #[serde(rename = "@type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(rename = "@port")]
    port: u32,
}

#[derive(Serialize)]
struct Console {
    #[serde(rename = "@type")]
    kind: &'static str,
    target: PortTarget,
}

#[derive(Serialize)]
struct Channel {
    #[serde(rename = "@type")]
    kind: &'static str,
    source: Mode,
    target: ChannelTarget,
}

#[derive(Serialize)]
struct Mode {
    #[serde(rename = "@mode")]
    mode: &'static str,
}

#[derive(Serialize)]
struct ChannelTarget {
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(rename = "@name")]
    name: &'static str,
}

#[derive(Serialize)]
struct Input {
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(rename = "@bus")]
    bus: &'static str,
}

#[derive(Serialize)]
struct Graphics {
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(rename = "@port")]
    port: &'static str,
    #[serde(rename = "@autoport")]
    autoport: &'static str,
    #[serde(rename = "@listen")]
    listen: &'static str,
    #[serde(rename = "listen")]
    listen_el: Listen,
}

#[derive(Serialize)]
struct Listen {
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(rename = "@address")]
    address: &'static str,
}

#[derive(Serialize)]
struct Video {
    model: Model,
}

#[derive(Serialize)]
struct Rng {
    #[serde(rename = "@model")]
    model: &'static str,
    backend: Backend,
}

#[derive(Serialize)]
struct Backend {
    #[serde(rename = "@model")]
    model: &'static str,
    #[serde(rename = "$text")]
    text: &'static str,
}

fn model(m: &'static str) -> Model {
    Model {
        model: Some(m),
        kind: None,
    }
}

fn model_type(t: &'static str) -> Model {
    Model {
        model: None,
        kind: Some(t),
    }
}

/// Hands out target names per prefix in order (disks first, then CD-ROMs, like virt-install).
#[derive(Default)]
struct Targets(std::collections::HashMap<&'static str, usize>);

impl Targets {
    fn next(&mut self, bus: DiskBus) -> String {
        let n = self.0.entry(bus.prefix()).or_insert(0);
        let name = target_name(bus.prefix(), *n);
        *n += 1;
        name
    }
}

fn source_of(file: &HostFile) -> (&'static str, DiskSourceXml) {
    match file {
        HostFile::Volume { pool, volume } => (
            "volume",
            DiskSourceXml {
                pool: Some(pool.clone()),
                volume: Some(volume.clone()),
                ..DiskSourceXml::default()
            },
        ),
        HostFile::Path(p) if p.starts_with("/dev/") => (
            "block",
            DiskSourceXml {
                dev: Some(p.clone()),
                ..DiskSourceXml::default()
            },
        ),
        HostFile::Path(p) => (
            "file",
            DiskSourceXml {
                file: Some(p.clone()),
                ..DiskSourceXml::default()
            },
        ),
    }
}

fn cdrom(file: &HostFile, bus: DiskBus, targets: &mut Targets) -> Disk {
    let (kind, source) = source_of(file);
    Disk {
        kind,
        device: "cdrom",
        driver: Driver {
            name: "qemu",
            kind: "raw".into(),
            discard: None,
        },
        source: Some(source),
        target: Target {
            dev: targets.next(bus),
            bus: bus.as_str(),
        },
        readonly: Some(Empty {}),
    }
}

fn disks(vm: &NewVm) -> Vec<Disk> {
    let mut targets = Targets::default();
    let mut out = Vec::new();
    for d in &vm.disks {
        let file = match d {
            DiskSource::Path { path, .. } => HostFile::Path(path.clone()),
            _ => match d.pool_volume() {
                Some((pool, volume)) => HostFile::Volume {
                    pool: pool.to_string(),
                    volume: volume.to_string(),
                },
                None => continue,
            },
        };
        let (kind, source) = source_of(&file);
        let format = d.format().to_string();
        out.push(Disk {
            kind,
            device: "disk",
            driver: Driver {
                name: "qemu",
                // A thin qcow2 gives freed guest blocks back (virt-install does the same).
                discard: (format == "qcow2").then_some("unmap"),
                kind: format,
            },
            source: Some(source),
            target: Target {
                dev: targets.next(vm.os.disk_bus),
                bus: vm.os.disk_bus.as_str(),
            },
            readonly: None,
        });
    }
    match &vm.install {
        InstallMethod::Iso(file) => out.push(cdrom(file, vm.os.cdrom_bus, &mut targets)),
        InstallMethod::Cloud { .. } => {
            if let Some((pool, volume)) = vm.seed_volume() {
                let seed = HostFile::Volume { pool, volume };
                out.push(cdrom(&seed, vm.os.cdrom_bus, &mut targets));
            }
        }
        _ => {}
    }
    out
}

fn build(vm: &NewVm, install: bool, uuid: Option<&str>) -> Domain {
    let os = &vm.os;
    let dev = os.devices;
    let q35 = os.machine == Machine::Q35;
    let (kernel, initrd, cmdline) = match (&vm.install, install) {
        (
            InstallMethod::Url {
                kernel,
                initrd,
                cmdline,
            },
            true,
        ) => (
            Some(kernel.clone()),
            Some(initrd.clone()),
            (!cmdline.is_empty()).then(|| cmdline.clone()),
        ),
        _ => (None, None, None),
    };
    let boot = if install {
        Vec::new()
    } else {
        vm.boot_order()
            .into_iter()
            .map(|b: BootDev| Dev { dev: b.as_str() })
            .collect()
    };
    let mut timers = vec![
        Timer {
            name: "rtc",
            tickpolicy: Some("catchup"),
            present: None,
        },
        Timer {
            name: "pit",
            tickpolicy: Some("delay"),
            present: None,
        },
        Timer {
            name: "hpet",
            tickpolicy: None,
            present: Some("no"),
        },
    ];
    if os.windows {
        timers.push(Timer {
            name: "hypervclock",
            tickpolicy: None,
            present: Some("yes"),
        });
    }
    let mut controllers = Vec::new();
    if dev.usb3 {
        controllers.push(Controller {
            kind: "usb",
            model: "qemu-xhci",
            ports: Some(15),
            master: None,
        });
    } else {
        controllers.push(Controller {
            kind: "usb",
            model: "ich9-ehci1",
            ports: None,
            master: None,
        });
        for (i, m) in ["ich9-uhci1", "ich9-uhci2", "ich9-uhci3"]
            .iter()
            .enumerate()
        {
            controllers.push(Controller {
                kind: "usb",
                model: m,
                ports: None,
                master: Some(Master {
                    startport: 2 * i as u32,
                }),
            });
        }
    }
    if q35 {
        for i in 0..=PCIE_ROOT_PORTS {
            controllers.push(Controller {
                kind: "pci",
                model: if i == 0 {
                    "pcie-root"
                } else {
                    "pcie-root-port"
                },
                ports: None,
                master: None,
            });
        }
    }
    let interface = vm
        .nic
        .iter()
        .map(|n| {
            let (kind, source) = match &n.source {
                NicSource::Network(net) => (
                    "network",
                    NetSource {
                        network: Some(net.clone()),
                        bridge: None,
                    },
                ),
                NicSource::Bridge(br) => (
                    "bridge",
                    NetSource {
                        network: None,
                        bridge: Some(br.clone()),
                    },
                ),
            };
            Interface {
                kind,
                source,
                mac: n.mac.as_ref().map(|m| Mac {
                    address: m.to_ascii_lowercase(),
                }),
                model: model_type(n.model.as_str()),
            }
        })
        .collect();
    Domain {
        kind: "kvm",
        name: vm.name.clone(),
        uuid: uuid.map(str::to_string),
        metadata: (!os.id.is_empty()).then(|| Metadata {
            libosinfo: LibOsinfo {
                xmlns: "http://libosinfo.org/xmlns/libvirt/domain/1.0",
                os: IdAttr { id: os.id.clone() },
            },
        }),
        memory: Size {
            unit: "MiB",
            value: vm.memory_mib,
        },
        current_memory: Size {
            unit: "MiB",
            value: vm.memory_mib,
        },
        vcpu: vm.vcpus,
        os: Os {
            kind: OsType {
                arch: "x86_64",
                machine: os.machine.as_str(),
                text: "hvm",
            },
            kernel,
            initrd,
            cmdline,
            boot,
        },
        features: Features {
            acpi: Empty {},
            apic: Empty {},
            hyperv: os.windows.then_some(Hyperv {
                relaxed: State { state: "on" },
                vapic: State { state: "on" },
                spinlocks: Spinlocks {
                    state: "on",
                    retries: 8191,
                },
            }),
        },
        cpu: match vm.cpu {
            CpuMode::HostPassthrough => Some(Cpu {
                mode: "host-passthrough",
            }),
            CpuMode::HostModel => Some(Cpu { mode: "host-model" }),
            CpuMode::Hypervisor => None,
        },
        clock: Clock {
            offset: if os.windows { "localtime" } else { "utc" },
            timer: timers,
        },
        on_poweroff: "destroy",
        // The installer's reboot ends the transient install boot (virt-install does the same).
        on_reboot: if install { "destroy" } else { "restart" },
        on_crash: "destroy",
        pm: Pm {
            mem: Enabled { enabled: "no" },
            disk: Enabled { enabled: "no" },
        },
        devices: Devices {
            disk: disks(vm),
            controller: controllers,
            interface,
            serial: vec![Serial {
                kind: "pty",
                target: PortTarget {
                    kind: None,
                    port: 0,
                },
            }],
            console: vec![Console {
                kind: "pty",
                target: PortTarget {
                    kind: Some("serial"),
                    port: 0,
                },
            }],
            channel: dev
                .virtio_serial
                .then_some(Channel {
                    kind: "unix",
                    source: Mode { mode: "bind" },
                    target: ChannelTarget {
                        kind: "virtio",
                        name: "org.qemu.guest_agent.0",
                    },
                })
                .into_iter()
                .collect(),
            input: vec![Input {
                kind: "tablet",
                bus: "usb",
            }],
            graphics: vec![Graphics {
                kind: "vnc",
                port: "-1",
                autoport: "yes",
                listen: "127.0.0.1",
                listen_el: Listen {
                    kind: "address",
                    address: "127.0.0.1",
                },
            }],
            video: vec![Video {
                model: model_type(if dev.virtio_gpu { "virtio" } else { "vga" }),
            }],
            memballoon: dev
                .virtio_balloon
                .then(|| model("virtio"))
                .into_iter()
                .collect(),
            rng: dev
                .virtio_rng
                .then_some(Rng {
                    model: "virtio",
                    backend: Backend {
                        model: "random",
                        text: "/dev/urandom",
                    },
                })
                .into_iter()
                .collect(),
        },
    }
}
