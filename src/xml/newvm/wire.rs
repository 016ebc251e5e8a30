//! Builds the domain XML ([`super::schema`]) from a [`super::NewVm`]: the device choices
//! virt-install makes for the OS. Every user value goes through quick-xml's escaping.

use super::schema::*;
use super::{
    target_name, BootDev, CpuMode, DiskSource, Firmware, HostFile, InstallMethod, NewVm, NicSource,
    Record,
};
use crate::osinfo::{DiskBus, Machine};
use crate::xml::domain::XmlError;

/// virt-install's default number of PCIe root ports on q35 (hot-plug slots).
const PCIE_ROOT_PORTS: usize = 14;

pub(super) fn domain(vm: &NewVm, install: bool) -> Result<String, XmlError> {
    domain_with_record(vm, install, None)
}

pub(super) fn domain_with_record(
    vm: &NewVm,
    install: bool,
    record: Option<&Record>,
) -> Result<String, XmlError> {
    crate::xml::domain::write("domain", &build(vm, install, record))
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

fn build(vm: &NewVm, install: bool, record: Option<&Record>) -> Domain {
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
        uuid: record.map(|r| r.uuid.clone()),
        metadata: metadata(os.id.as_str(), record),
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
            firmware: matches!(vm.firmware, Firmware::Uefi { .. }).then_some("efi"),
            features: firmware_features(vm.firmware),
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
            // The guest agent's channel (by default per `OsChoice::agent_by_default`).
            channel: vm
                .agent
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
            // bochs-display under UEFI (no VGA BIOS needed), as virt-install picks it.
            video: vec![Video {
                model: model_type(if dev.virtio_gpu {
                    "virtio"
                } else if matches!(vm.firmware, Firmware::Uefi { .. }) {
                    "bochs"
                } else {
                    "vga"
                }),
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
            tpm: vm
                .tpm
                .map(crate::xml::device_extra::TpmXml::emulated)
                .into_iter()
                .collect(),
        },
    }
}

/// Secure Boot is said either way: left out, libvirt may pick a Secure Boot build (it ranks
/// first among Debian's firmware descriptors), which needs SMM a nested host may not have.
/// With it on, the enrolled-keys build (Microsoft's keys, as Windows needs), as virt-install
/// writes it.
fn firmware_features(firmware: Firmware) -> Option<FirmwareFeatures> {
    let Firmware::Uefi { secure_boot } = firmware else {
        return None;
    };
    let on = if secure_boot { "yes" } else { "no" };
    let mut feature = vec![FirmwareFeature {
        enabled: on,
        name: "secure-boot",
    }];
    if secure_boot {
        feature.push(FirmwareFeature {
            enabled: "yes",
            name: "enrolled-keys",
        });
    }
    Some(FirmwareFeatures { feature })
}

/// libosinfo's OS id (as virt-install writes it) and virtdeck's record of the volumes it made
/// for the VM; `None` when there is neither.
fn metadata(os_id: &str, record: Option<&Record>) -> Option<Metadata> {
    let libosinfo = (!os_id.is_empty()).then(|| LibOsinfo {
        xmlns: "http://libosinfo.org/xmlns/libvirt/domain/1.0",
        os: IdAttr {
            id: os_id.to_string(),
        },
    });
    let virtdeck = record
        .filter(|r| !r.volumes.is_empty())
        .map(|r| VirtdeckVm {
            xmlns: crate::xml::hardware::VIRTDECK_NS,
            uuid: r.uuid.clone(),
            volumes: r
                .volumes
                .iter()
                .map(|(pool, name)| OwnedVolume {
                    pool: pool.clone(),
                    name: name.clone(),
                })
                .collect(),
        });
    (libosinfo.is_some() || virtdeck.is_some()).then_some(Metadata {
        libosinfo,
        virtdeck,
    })
}
