//! The new-VM wizard's choices ([`NewVm`]) and the libvirt domain XML they make.
//!
//! The XML follows what `virt-install --print-xml` (virtinst 4.1) defines for the same choices
//! in everything that matters to the guest: q35 or pc, `host-passthrough` CPU, ACPI/APIC,
//! clock and timers, disk and cdrom buses, NIC model, USB, the guest-agent channel, RNG,
//! balloon, tablet, video (tests/newvm_xml.rs compares both, fixtures from
//! scripts/virt-install-fixtures.sh). Graphics are VNC on 127.0.0.1; there is always a serial
//! pty console, so virtdeck's console works from the first boot.
//!
//! **Install phase.** virt-install defines two XMLs (the install boot, then the final one).
//! virtdeck defines one persistent domain whose boot order finishes the install by itself:
//! an ISO install boots `hd` then `cdrom` (the empty disk falls through to the installer,
//! the installed disk boots afterwards; the ISO stays attached until the user ejects it), PXE
//! boots `hd` then `network`. Only a kernel/initrd (install tree) boot cannot be expressed as a
//! boot order: for it [`NewVm::install_xml`] gives a transient first-boot definition (same
//! name and UUID, with `<kernel>`, `<initrd>`, `<cmdline>` and `on_reboot=destroy`), started
//! with `virDomainCreateXML` after the final XML is defined — as virt-install does — so the
//! installer's reboot stops the VM and the next start boots the disk.
//!
//! Disks from storage pools are written as `<disk type='volume'>` (pool + volume name), which
//! libvirt resolves on the host: the same XML works on remote hosts and for every pool type.

mod schema;
mod wire;

use crate::osinfo::{DiskBus, Machine, NicModel, OsDevices, OsVariant};
use crate::xml::domain::XmlError;

/// The OS the VM is for, with the device choices derived from osinfo-db.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OsChoice {
    /// osinfo short id (`debian11`), `generic` when unknown.
    pub short_id: String,
    /// osinfo id (`http://debian.org/debian/11`), recorded in `<metadata>` like virt-install
    /// does (virt-manager shows it); empty for generic.
    pub id: String,
    pub machine: Machine,
    pub disk_bus: DiskBus,
    pub cdrom_bus: DiskBus,
    pub devices: OsDevices,
    /// Windows: clock in local time and Hyper-V enlightenments.
    pub windows: bool,
}

impl OsChoice {
    pub fn from_variant(v: &OsVariant) -> OsChoice {
        OsChoice {
            short_id: v.short_id.clone(),
            id: v.id.clone(),
            machine: v.machine(),
            disk_bus: v.disk_bus(),
            cdrom_bus: v.cdrom_bus(),
            devices: v.devices,
            windows: matches!(v.family.as_deref(), Some("winnt" | "win9x" | "win16")),
        }
    }

    /// An unknown OS: pc, IDE, e1000, no virtio devices.
    pub fn generic() -> OsChoice {
        OsChoice::from_variant(&OsVariant::generic())
    }

    /// Whether the guest agent's channel comes by default: wherever the OS may run an agent,
    /// what osinfo says has virtio-serial (virt-install's rule) and an OS it does not know
    /// (most often a current Linux). An OS osinfo lists without virtio (Windows, old
    /// systems) would only see an unknown device: the wizard's toggle can still add it.
    pub fn agent_by_default(&self) -> bool {
        self.devices.virtio_serial || self.short_id == "generic"
    }
}

/// A file on the VM's host: a storage volume (preferred: works on remote hosts) or a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostFile {
    Volume { pool: String, volume: String },
    Path(String),
}

/// How the OS gets onto the VM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstallMethod {
    /// Boot an installer ISO (a pool volume or a host path) as a CD-ROM.
    Iso(HostFile),
    /// Boot a kernel and initrd from a network install tree. Both are paths on the host
    /// (fetched from the tree's URL beforehand; `osinfo::InstallTree::boot_urls` names them);
    /// `cmdline` usually carries the installer's `url=`/`inst.repo=` pointing at the tree.
    Url {
        kernel: String,
        initrd: String,
        cmdline: String,
    },
    /// Network boot (PXE) from the NIC.
    Pxe,
    /// The first disk already holds an installed OS.
    Import,
    /// The first disk is a cloud image; a NoCloud seed ISO built from `config` is uploaded
    /// as volume [`NewVm::seed_volume`] into `seed_pool` and attached as a CD-ROM.
    Cloud {
        config: crate::cloudinit::CloudConfig,
        seed_pool: String,
    },
}

/// Image formats offered for new volumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskFormat {
    Raw,
    Qcow2,
}

impl DiskFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            DiskFormat::Raw => "raw",
            DiskFormat::Qcow2 => "qcow2",
        }
    }
}

/// Where a disk comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskSource {
    /// A new volume created in `pool` (capacity in bytes; the pool's free space is checked
    /// before anything is created).
    New {
        pool: String,
        name: String,
        capacity: u64,
        format: DiskFormat,
    },
    /// A new qcow2 volume in `pool` backed by the existing volume `base` of `base_pool` (a
    /// cloud image stays untouched and can serve many VMs). `capacity` 0: the base's size.
    Overlay {
        pool: String,
        name: String,
        capacity: u64,
        base_pool: String,
        base: String,
        base_format: String,
    },
    /// An existing volume, used as it is (`format`: its format, e.g. from the volumes pane).
    Volume {
        pool: String,
        volume: String,
        format: String,
    },
    /// An existing file or block device on the host.
    Path { path: String, format: String },
}

impl DiskSource {
    /// The (pool, volume) this disk lives in, if it is a pool volume.
    pub fn pool_volume(&self) -> Option<(&str, &str)> {
        match self {
            DiskSource::New { pool, name, .. } | DiskSource::Overlay { pool, name, .. } => {
                Some((pool, name))
            }
            DiskSource::Volume { pool, volume, .. } => Some((pool, volume)),
            DiskSource::Path { .. } => None,
        }
    }

    /// The image format the disk's driver reads.
    pub fn format(&self) -> &str {
        match self {
            DiskSource::New { format, .. } => format.as_str(),
            DiskSource::Overlay { .. } => "qcow2",
            DiskSource::Volume { format, .. } | DiskSource::Path { format, .. } => format,
        }
    }

    /// Whether the create job makes this volume (and removes it again on failure).
    pub fn is_new(&self) -> bool {
        matches!(self, DiskSource::New { .. } | DiskSource::Overlay { .. })
    }
}

/// What the NIC connects to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NicSource {
    /// A libvirt virtual network (`default`).
    Network(String),
    /// A host bridge (`br0`).
    Bridge(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NicSpec {
    pub source: NicSource,
    pub model: NicModel,
    /// A fixed MAC (`52:54:00:…`); `None`: libvirt picks one.
    pub mac: Option<String>,
}

/// The guest CPU. virt-install 4.1 defaults to host-passthrough (best performance, but the
/// VM can only migrate to identical hosts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CpuMode {
    #[default]
    HostPassthrough,
    HostModel,
    /// No `<cpu>`: QEMU's generic model. For nested hosts whose KVM refuses the host CPU's
    /// MSRs (seen in this project's lab: "failed to set MSR 0x10a", with both host modes).
    Hypervisor,
}

/// The firmware the VM boots. UEFI is chosen by libvirt's firmware auto-selection
/// (`<os firmware='efi'>` with the `secure-boot` feature on or off), so no loader or NVRAM
/// path is written: libvirt picks the host's OVMF build and makes the NVRAM file from its
/// template at the first start, as virt-install does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Firmware {
    #[default]
    Bios,
    Uefi {
        /// A Secure Boot loader with Microsoft's keys enrolled (Windows 11 wants it); needs
        /// the q35 machine (SMM).
        secure_boot: bool,
    },
}

/// Everything the wizard asks. Build with [`NewVm::for_os`] for osinfo's defaults, then set
/// fields; check with [`validate`]; turn into XML with [`NewVm::domain_xml`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewVm {
    pub name: String,
    pub memory_mib: u64,
    pub vcpus: u32,
    pub cpu: CpuMode,
    pub os: OsChoice,
    pub install: InstallMethod,
    pub disks: Vec<DiskSource>,
    /// `None`: no network.
    pub nic: Option<NicSpec>,
    pub firmware: Firmware,
    /// An emulated TPM 2.0 of this model (`tpm-crb`, `tpm-tis`); swtpm on the host.
    pub tpm: Option<&'static str>,
    /// The guest agent's channel (`org.qemu.guest_agent.0`, virtio-serial).
    pub agent: bool,
}

/// Boot devices, in `<os><boot dev>` order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootDev {
    Hd,
    Cdrom,
    Network,
}

impl BootDev {
    pub fn as_str(self) -> &'static str {
        match self {
            BootDev::Hd => "hd",
            BootDev::Cdrom => "cdrom",
            BootDev::Network => "network",
        }
    }
}

impl NewVm {
    /// A spec with osinfo's recommendations for `os` (memory, vCPUs, NIC model, UEFI where
    /// the OS cannot boot from BIOS, with Secure Boot and a TPM for Windows 11) and a NIC on
    /// the `default` network; disks are left to the caller (see [`NewVm::default_disk`]).
    pub fn for_os(name: &str, os: &OsVariant, install: InstallMethod) -> NewVm {
        let choice = OsChoice::from_variant(os);
        NewVm {
            agent: choice.agent_by_default(),
            name: name.to_string(),
            memory_mib: os.memory_mib(),
            vcpus: os.vcpus(),
            cpu: CpuMode::default(),
            os: choice,
            install,
            disks: Vec::new(),
            nic: Some(NicSpec {
                source: NicSource::Network("default".into()),
                model: os.nic_model(),
                mac: None,
            }),
            firmware: if os.needs_uefi() {
                Firmware::Uefi {
                    secure_boot: os.needs_tpm(),
                }
            } else {
                Firmware::Bios
            },
            tpm: os.needs_tpm().then_some("tpm-crb"),
        }
    }

    /// A new qcow2 volume `<vm name>.qcow2` of osinfo's recommended size in `pool`.
    pub fn default_disk(&self, os: &OsVariant, pool: &str) -> DiskSource {
        DiskSource::New {
            pool: pool.to_string(),
            name: format!("{}.qcow2", self.name),
            capacity: os.storage_bytes(),
            format: DiskFormat::Qcow2,
        }
    }

    /// The (pool, volume name) of the cloud-init seed ISO, for the cloud method.
    pub fn seed_volume(&self) -> Option<(String, String)> {
        match &self.install {
            InstallMethod::Cloud { seed_pool, .. } => {
                Some((seed_pool.clone(), seed_name(&self.name)))
            }
            _ => None,
        }
    }

    /// The persistent boot order (see the module docs).
    pub fn boot_order(&self) -> Vec<BootDev> {
        let disk = !self.disks.is_empty();
        let mut out = Vec::new();
        if disk {
            out.push(BootDev::Hd);
        }
        match self.install {
            InstallMethod::Iso(_) => out.push(BootDev::Cdrom),
            InstallMethod::Pxe => out.push(BootDev::Network),
            _ => {}
        }
        out
    }

    /// The XML to define: the VM as it stays after installation.
    pub fn domain_xml(&self) -> Result<String, XmlError> {
        wire::domain(self, false)
    }

    /// [`NewVm::domain_xml`] with the create job's [`Record`]: its UUID, and the volumes it
    /// made listed in `<metadata>` so deleting the VM with its storage finds them.
    pub fn recorded_xml(&self, record: &Record) -> Result<String, XmlError> {
        wire::domain_with_record(self, false, Some(record))
    }

    /// For an install-tree install only: the transient first-boot XML (kernel, initrd,
    /// cmdline, `on_reboot=destroy`), to start with `virDomainCreateXML` after defining
    /// [`NewVm::recorded_xml`] with the same `record`.
    pub fn install_xml(&self, record: &Record) -> Result<Option<String>, XmlError> {
        match self.install {
            InstallMethod::Url { .. } => {
                wire::domain_with_record(self, true, Some(record)).map(Some)
            }
            _ => Ok(None),
        }
    }
}

/// What the create job writes into the definition besides the spec: the UUID it defines the
/// VM with and the (pool, volume) pairs it made that the definition need not name after the
/// install (the cloud-init seed, a downloaded kernel and initrd). Read back as
/// `xml::hardware::Hardware::owned`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    pub uuid: String,
    pub volumes: Vec<(String, String)>,
}

/// The volume name of the cloud-init seed ISO of VM `vm`.
pub fn seed_name(vm: &str) -> String {
    format!("{vm}-cidata.iso")
}

/// An http(s) URL (downloaded by the create job) rather than a host path.
pub fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// Why a domain name is not acceptable, or `None` (rules in [`crate::names`]). Uniqueness is
/// the caller's check against the host's names ([`name_taken`]).
pub fn name_problem(name: &str) -> Option<String> {
    crate::names::check(crate::names::NameKind::Vm, name).err()
}

/// Whether `name` is used by a VM of the host (`existing`: its domains' names).
pub fn name_taken<'a>(name: &str, existing: impl IntoIterator<Item = &'a str>) -> bool {
    existing.into_iter().any(|n| n == name)
}

/// Whether `mac` is a unicast MAC written as six `:`-separated hex pairs.
pub fn mac_ok(mac: &str) -> bool {
    let parts: Vec<&str> = mac.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
        && u8::from_str_radix(parts[0], 16).is_ok_and(|b| b & 1 == 0)
}

/// Problems with a spec, as (field, short message): `name`, `memory`, `vcpus`, `disks`,
/// `install`, `mac`, `cloud-init`. Host-side checks (name taken, free space, pool exists)
/// are the caller's and the create job's.
pub fn validate(vm: &NewVm) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(p) = name_problem(&vm.name) {
        out.push(("name", p));
    }
    if vm.memory_mib < 16 {
        out.push(("memory", "at least 16 MiB".into()));
    }
    if vm.vcpus == 0 || vm.vcpus > 4096 {
        out.push(("vcpus", "between 1 and 4096".into()));
    }
    for d in &vm.disks {
        let problem = match d {
            DiskSource::New { name, capacity, .. } | DiskSource::Overlay { name, capacity, .. } => {
                let base = matches!(d, DiskSource::Overlay { .. });
                let def = crate::xml::volume::VolumeDef::new(
                    name,
                    if base && *capacity == 0 { 1 } else { *capacity },
                    d.format(),
                    false,
                    None,
                );
                crate::xml::volume::validate(&def)
                    .into_iter()
                    .next()
                    .map(|(f, m)| format!("volume {f}: {m}"))
            }
            DiskSource::Path { path, .. } if !path.starts_with('/') => {
                Some("a disk path must be absolute".into())
            }
            _ => None,
        };
        if let Some(p) = problem {
            out.push(("disks", p));
        }
    }
    match &vm.install {
        InstallMethod::Import | InstallMethod::Cloud { .. } => match vm.disks.first() {
            None => out.push(("disks", "needs the disk image to boot".into())),
            Some(DiskSource::New { .. }) => {
                out.push(("disks", "the first disk must be an existing image".into()))
            }
            Some(_) => {}
        },
        InstallMethod::Url { kernel, initrd, .. }
            if [kernel, initrd]
                .iter()
                .any(|f| !f.starts_with('/') && !is_url(f)) =>
        {
            out.push((
                "install",
                "kernel and initrd: absolute host paths or http(s) URLs".into(),
            ));
        }
        InstallMethod::Url { kernel, initrd, .. }
            if (is_url(kernel) || is_url(initrd))
                && !vm
                    .disks
                    .iter()
                    .any(|d| d.is_new() && d.pool_volume().is_some()) =>
        {
            out.push((
                "disks",
                "downloading the kernel and initrd needs a new disk in a pool to put them next to"
                    .into(),
            ));
        }
        InstallMethod::Iso(HostFile::Path(p)) if !p.starts_with('/') => {
            out.push(("install", "the ISO path must be absolute".into()))
        }
        _ => {}
    }
    if let InstallMethod::Cloud { config, seed_pool } = &vm.install {
        if seed_pool.is_empty() {
            out.push(("cloud-init", "choose a pool for the seed ISO".into()));
        }
        for (_, m) in crate::cloudinit::validate(config) {
            out.push(("cloud-init", m));
        }
    }
    if let InstallMethod::Pxe = vm.install {
        if vm.nic.is_none() {
            out.push(("install", "PXE needs a network interface".into()));
        }
    }
    if vm.firmware == (Firmware::Uefi { secure_boot: true }) && vm.os.machine != Machine::Q35 {
        out.push((
            "firmware",
            "Secure Boot needs the q35 machine (this OS uses i440fx)".into(),
        ));
    }
    if let Some(mac) = vm.nic.as_ref().and_then(|n| n.mac.as_deref()) {
        if !mac_ok(mac) {
            out.push((
                "mac",
                "six hex pairs like 52:54:00:12:34:56, unicast".into(),
            ));
        }
    }
    out
}

/// Target device names: `vd` + a, b, … z, aa, ab…
fn target_name(prefix: &str, index: usize) -> String {
    let mut n = index;
    let mut letters = Vec::new();
    loop {
        letters.push((b'a' + (n % 26) as u8) as char);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    letters.reverse();
    format!("{prefix}{}", letters.into_iter().collect::<String>())
}

#[cfg(test)]
mod tests;
