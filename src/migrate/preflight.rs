//! Pre-flight checks before a migration, as a pure function of facts read from both hosts
//! (`host::migrate::gather` reads them): each check is pass / warn / fail with a line of
//! detail, and [`blocking`] says whether the wizard may go on.

use crate::model::migration::{CopyStorage, MigrationKind, MigrationOptions};
use crate::xml::domain::XmlError;
use crate::xml::{hardware, tree};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// What a check looks at. `Options`, `Source` and `Reachable` failures can never be
/// overridden: there is nothing to migrate with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckKind {
    /// The chosen options are a combination libvirt accepts.
    Options,
    /// The VM could be read on the source.
    Source,
    /// The target daemon answers.
    Reachable,
    /// The VM's state fits the kind (live needs it running, offline stopped).
    State,
    Cpu,
    /// One disk is on storage the target sees, or is copied.
    Storage,
    /// Shared disks use `cache='none'` (QEMU must not cache what the other host writes).
    CacheMode,
    /// One interface's network / bridge / device exists on the target.
    Network,
    Memory,
    /// No domain with this name or UUID on the target.
    Name,
}

impl CheckKind {
    pub fn hard(self) -> bool {
        matches!(
            self,
            CheckKind::Options | CheckKind::Source | CheckKind::Reachable
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub kind: CheckKind,
    /// Shown in the list: `target reachable`, `disk vda`, `network default`…
    pub name: String,
    pub status: Status,
    pub detail: String,
}

impl Check {
    fn new(
        kind: CheckKind,
        name: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
    ) -> Check {
        Check {
            kind,
            name: name.into(),
            status,
            detail: detail.into(),
        }
    }
}

/// True when the migration must not start: any failed check, unless the user chose to
/// override (then only the hard ones: invalid options, unreadable VM, unreachable target).
pub fn blocking(checks: &[Check], allow_override: bool) -> bool {
    checks
        .iter()
        .any(|c| c.status == Status::Fail && (!allow_override || c.kind.hard()))
}

/// The worst status of a list (Pass for an empty one): the wizard's summary line.
pub fn worst(checks: &[Check]) -> Status {
    checks
        .iter()
        .map(|c| c.status)
        .max()
        .unwrap_or(Status::Pass)
}

/// Where a disk reads from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskSource {
    /// No medium (an empty CD-ROM).
    None,
    /// A host path: `<source file>` or `<source dir>`.
    File(String),
    /// A host block device.
    Block(String),
    Volume {
        pool: String,
        volume: String,
    },
    /// rbd, iscsi, gluster, nbd…: storage reached over the network, shared by nature.
    Network {
        protocol: String,
        name: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disk {
    /// `<target dev>`: vda, hdc…
    pub target: String,
    /// disk, cdrom, floppy, lun.
    pub device: String,
    pub source: DiskSource,
    /// `<driver cache>`; `None` is the hypervisor default (writeback for QEMU).
    pub cache: Option<String>,
    pub readonly: bool,
    pub shareable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IfaceSource {
    /// A libvirt virtual network.
    Network(String),
    /// A host bridge.
    Bridge(String),
    /// macvtap on a host device.
    Direct(String),
    /// Anything else (user, ethernet, vhostuser…): nothing to look up on the target.
    Other(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Iface {
    pub mac: Option<String>,
    pub source: IfaceSource,
}

/// The VM, read on the source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmFacts {
    pub name: String,
    pub uuid: String,
    pub active: bool,
    pub persistent: bool,
    /// Current memory, KiB.
    pub memory_kib: u64,
    pub disks: Vec<Disk>,
    pub interfaces: Vec<Iface>,
    /// The `<cpu>` element as written in the XML (`None`: the hypervisor's default model).
    pub cpu_xml: Option<String>,
    /// `<cpu mode>`: custom, host-model, host-passthrough, maximum.
    pub cpu_mode: Option<String>,
    /// `<cpu check>`: none, partial, full (`None`: libvirt's default).
    pub cpu_check: Option<String>,
}

/// Whether the target sees one of the VM's disks (see `host::migrate::gather::disk_visibility`
/// for the heuristic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// The path is a volume of this pool on the target. `shared`: the pool type is network
    /// storage (netfs, rbd, iscsi…); otherwise (dir, logical…) the same path may be a
    /// different local disk of the target.
    Volume {
        pool: String,
        shared: bool,
    },
    /// Network storage: every host reaches it.
    Network,
    /// Nothing to see (empty drive).
    NoMedium,
    No,
}

impl Visibility {
    pub fn seen(&self) -> bool {
        !matches!(self, Visibility::No)
    }
}

/// One CPU comparison's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CpuCmp {
    Identical,
    Superset,
    /// libvirt's reason (it names the missing features).
    Incompatible(String),
    /// The comparison itself failed (old libvirt, another architecture…).
    Error(String),
}

/// The VM's CPU compared the way libvirt will treat it at migration time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CpuCompat {
    /// No `<cpu>` element: QEMU's default model, which every x86 host runs.
    DefaultModel,
    /// host-passthrough / maximum: the guest sees the host's own CPU, so what changes is the
    /// host CPU: the source's compared with the target's.
    HostCpu(CpuCmp),
    /// The VM's `<cpu>` compared with what each side's hypervisor can provide
    /// (`virConnectCompareHypervisorCPU`), as libvirt checks it when QEMU starts there.
    Guest { target: CpuCmp, source: CpuCmp },
    /// Nothing to compare with (the source reports no host CPU…).
    Unknown(String),
}

/// The target, read over a connection from this machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetFacts {
    pub hostname: String,
    /// Virtual networks with their active flag.
    pub networks: Vec<(String, bool)>,
    /// Host interfaces (including bridges); `None` when the target cannot list them.
    pub interfaces: Option<Vec<String>>,
    pub free_memory_kib: Option<u64>,
    /// (name, uuid) of every domain defined or running there.
    pub domains: Vec<(String, String)>,
    /// One entry per `VmFacts::disks`, in order.
    pub disk_visibility: Vec<Visibility>,
    pub cpu: Option<CpuCompat>,
}

/// Everything the checks look at. `target` is `Err(libvirt's text)` when it cannot be
/// reached; `vm` is `Err` when the VM cannot be read on the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facts {
    pub vm: Result<VmFacts, String>,
    pub target: Result<TargetFacts, String>,
}

/// Free memory below VM memory × this is a warning: QEMU's own overhead and other VMs
/// starting meanwhile need room too.
const MEMORY_MARGIN: f64 = 1.1;

/// Runs every check. Per-disk and per-interface checks get one line each.
pub fn checks(facts: &Facts, opts: &MigrationOptions) -> Vec<Check> {
    use Status::*;
    let mut out = Vec::new();
    out.push(match opts.validate() {
        Ok(()) => Check::new(CheckKind::Options, "options", Pass, opts.summary()),
        Err(e) => Check::new(CheckKind::Options, "options", Fail, e.to_string()),
    });
    let vm = match &facts.vm {
        Ok(vm) => vm,
        Err(e) => {
            out.push(Check::new(CheckKind::Source, "VM", Fail, e.clone()));
            return out;
        }
    };
    let target = match &facts.target {
        Ok(t) => {
            out.push(Check::new(
                CheckKind::Reachable,
                "target reachable",
                Pass,
                format!("connected to {}", t.hostname),
            ));
            t
        }
        Err(e) => {
            out.push(Check::new(
                CheckKind::Reachable,
                "target reachable",
                Fail,
                e.clone(),
            ));
            return out;
        }
    };
    let offline = opts.kind == MigrationKind::Offline;
    out.push(state_check(vm, opts));
    out.push(cpu_check(vm, target.cpu.as_ref(), offline));
    storage_checks(vm, target, opts, &mut out);
    network_checks(vm, target, offline, &mut out);
    out.push(memory_check(vm, target, offline));
    out.push(name_check(vm, target));
    out
}

fn state_check(vm: &VmFacts, opts: &MigrationOptions) -> Check {
    use Status::*;
    let name = "VM state";
    let state = if vm.active { "running" } else { "shut off" };
    match (opts.kind, vm.active) {
        (MigrationKind::Offline, true) => Check::new(
            CheckKind::State,
            name,
            Fail,
            "the VM is running: offline migration moves a stopped VM (choose live, or shut it down)",
        ),
        (MigrationKind::Offline, false) if !vm.persistent => Check::new(
            CheckKind::State,
            name,
            Fail,
            "the VM is not defined (transient): nothing to move offline",
        ),
        (MigrationKind::Live | MigrationKind::Suspended, false) => Check::new(
            CheckKind::State,
            name,
            Fail,
            "the VM is shut off: choose offline migration",
        ),
        _ => Check::new(CheckKind::State, name, Pass, state),
    }
}

/// What libvirt's comparison says is missing: the feature list when it names one.
fn missing(why: &str) -> String {
    match why.rsplit_once("required features: ") {
        Some((_, list)) => format!("lacks {}", list.trim()),
        None if why.is_empty() => "cannot provide it".into(),
        None => why.to_string(),
    }
}

/// Mirrors what libvirt does with the VM's CPU on the target: a host-passthrough CPU is not
/// compared at all (the guest gets the target's own CPU); a custom (or running host-model)
/// CPU is checked when QEMU starts there unless `check='none'`, in which case QEMU silently
/// runs without what the target lacks. A CPU the source's hypervisor cannot provide either
/// runs the same way on both hosts, so migrating changes nothing.
fn cpu_check(vm: &VmFacts, cpu: Option<&CpuCompat>, offline: bool) -> Check {
    use Status::*;
    let name = "CPU compatible";
    let new = |status, detail: String| Check::new(CheckKind::Cpu, name, status, detail);
    // A stopped VM only needs the CPU when it is started on the target: a warning then.
    let bad = if offline { Warn } else { Fail };
    let mode = vm.cpu_mode.as_deref().unwrap_or("custom");
    let cannot = |e: &str| new(Warn, format!("cannot compare: {e}"));
    match cpu {
        None => new(Warn, "not compared".into()),
        Some(CpuCompat::DefaultModel) => new(Pass, "default CPU model (runs on any host)".into()),
        Some(CpuCompat::Unknown(e)) => cannot(e),
        // A stopped host-model VM gets the target's own model when it starts there.
        Some(_) if mode == "host-model" && !vm.active => new(
            Pass,
            "host-model: the VM takes the target's CPU model when it starts there".into(),
        ),
        Some(CpuCompat::HostCpu(c)) => match c {
            CpuCmp::Identical => new(
                Pass,
                format!("{mode}: the target's CPU is identical to the source's"),
            ),
            CpuCmp::Superset => new(
                Pass,
                format!("{mode}: the target's CPU has everything the source's has"),
            ),
            CpuCmp::Incompatible(why) => new(
                bad,
                format!(
                    "{mode}: the guest sees the host's own CPU and libvirt does not compare it, so it migrates anyway, but the target's CPU {} compared with the source's: a guest using that fails there",
                    missing(why)
                ),
            ),
            CpuCmp::Error(e) => cannot(e),
        },
        Some(CpuCompat::Guest { target, source }) => {
            let check = vm.cpu_check.as_deref().unwrap_or("partial");
            match target {
                CpuCmp::Identical | CpuCmp::Superset => new(
                    Pass,
                    format!("the target's hypervisor provides the VM's {mode} CPU"),
                ),
                CpuCmp::Error(e) => cannot(e),
                CpuCmp::Incompatible(why) => {
                    let same = matches!(source, CpuCmp::Incompatible(s) if missing(s) == missing(why));
                    let lacks = missing(why);
                    match (same, check) {
                        (true, "none") => new(
                            Pass,
                            format!(
                                "the source's hypervisor also {lacks}; with check='none' libvirt does not verify the CPU and QEMU runs the VM without those features, on the target as on the source"
                            ),
                        ),
                        (false, "none") => new(
                            Warn,
                            format!(
                                "the target's hypervisor {lacks}, the source's does not; with check='none' libvirt does not verify the CPU: QEMU starts the VM there without those features, and a guest using them fails"
                            ),
                        ),
                        (true, _) => new(
                            Warn,
                            format!(
                                "both hypervisors report it {lacks}; with check='{check}' libvirt verifies the CPU when QEMU starts on the target and may refuse there as it would here"
                            ),
                        ),
                        (false, _) => new(
                            bad,
                            format!(
                                "the target's hypervisor {lacks}: with check='{check}' libvirt verifies the CPU when QEMU starts there and refuses"
                            ),
                        ),
                    }
                }
            }
        }
    }
}

fn storage_checks(vm: &VmFacts, t: &TargetFacts, opts: &MigrationOptions, out: &mut Vec<Check>) {
    use Status::*;
    let copy = opts.copy_storage != CopyStorage::None;
    let offline = opts.kind == MigrationKind::Offline;
    for (i, d) in vm.disks.iter().enumerate() {
        let name = format!("disk {}", d.target);
        let vis = t.disk_visibility.get(i).cloned().unwrap_or(Visibility::No);
        let what = describe(&d.source);
        let check = match &vis {
            Visibility::NoMedium => Check::new(CheckKind::Storage, name, Pass, "no medium"),
            Visibility::Network => Check::new(
                CheckKind::Storage,
                name,
                Pass,
                format!("{what}: network storage"),
            ),
            Visibility::Volume { pool, shared: true } if copy => Check::new(
                CheckKind::Storage,
                name,
                Warn,
                format!(
                    "{what}: on shared pool {pool}, yet copy storage is chosen: the copy would write onto the disk it reads"
                ),
            ),
            Visibility::Volume { pool, shared: true } => Check::new(
                CheckKind::Storage,
                name,
                Pass,
                format!("{what}: volume of shared pool {pool} on the target"),
            ),
            Visibility::Volume { pool, shared: false } if !copy && opts.allow_unsafe => {
                Check::new(
                    CheckKind::Storage,
                    name,
                    Warn,
                    format!(
                        "{what}: found in local pool {pool} on the target; make sure it is the same storage (a shared mount), not a copy"
                    ),
                )
            }
            // libvirt only trusts storage it can prove shared (network disks, NFS, cluster
            // filesystems): a writable disk in a local pool is refused as "Migration without
            // shared storage is unsafe" unless copied or VIR_MIGRATE_UNSAFE is set. The
            // source's filesystem type is not visible through libvirt, so a dir pool on an NFS
            // mount fails here too; "allow unsafe" is harmless there.
            Visibility::Volume { pool, shared: false } if !copy && !offline && !d.readonly => {
                Check::new(
                    CheckKind::Storage,
                    name,
                    Fail,
                    format!(
                        "{what}: in local pool {pool} on the target, which libvirt cannot prove shared: unless the file is on NFS or a cluster filesystem on the source, it refuses the migration as unsafe. Choose allow unsafe if both hosts see the same storage, or copy storage"
                    ),
                )
            }
            Visibility::Volume { pool, shared: false } if !copy => Check::new(
                CheckKind::Storage,
                name,
                Warn,
                format!(
                    "{what}: found in local pool {pool} on the target; make sure it is the same storage (a shared mount), not a copy"
                ),
            ),
            Visibility::Volume { .. } => Check::new(
                CheckKind::Storage,
                name,
                Pass,
                format!("{what}: copied over the file of the same path on the target"),
            ),
            Visibility::No if copy && !d.readonly => Check::new(
                CheckKind::Storage,
                name,
                Pass,
                format!("{what}: copied to the target"),
            ),
            // A read-only medium (ISO) is not copied by libvirt: it must exist there.
            Visibility::No if offline => Check::new(
                CheckKind::Storage,
                name,
                Warn,
                format!("{what}: not seen by the target; the VM will not start there until it is"),
            ),
            Visibility::No => Check::new(
                CheckKind::Storage,
                name,
                Fail,
                format!("{what}: not seen by the target; choose copy storage or put it on shared storage"),
            ),
        };
        out.push(check);
        // Shared storage (both hosts open the same disk): QEMU must not cache writes the other
        // side cannot see. Copied and read-only disks are safe either way.
        let shared = !copy && matches!(vis, Visibility::Network | Visibility::Volume { .. });
        let cache = d.cache.as_deref().unwrap_or("default");
        if shared && !offline && !d.readonly && !matches!(cache, "none" | "directsync") {
            out.push(Check::new(
                CheckKind::CacheMode,
                format!("cache {}", d.target),
                Warn,
                format!(
                    "cache mode {cache} on shared storage: libvirt refuses the migration as unsafe unless cache is none (or \"allow unsafe\" is set)"
                ),
            ));
        }
    }
}

fn describe(s: &DiskSource) -> String {
    match s {
        DiskSource::None => "empty".into(),
        DiskSource::File(p) | DiskSource::Block(p) => p.clone(),
        DiskSource::Volume { pool, volume } => format!("{pool}/{volume}"),
        DiskSource::Network { protocol, name } => format!("{protocol}:{name}"),
    }
}

fn network_checks(vm: &VmFacts, t: &TargetFacts, offline: bool, out: &mut Vec<Check>) {
    use Status::*;
    // A missing network only stops a stopped VM from starting later: a warning offline.
    let missing = if offline { Warn } else { Fail };
    for iface in &vm.interfaces {
        let check = match &iface.source {
            IfaceSource::Network(n) => {
                let name = format!("network {n}");
                match t.networks.iter().find(|(m, _)| m == n) {
                    Some((_, true)) => {
                        Check::new(CheckKind::Network, name, Pass, "exists and is active")
                    }
                    Some((_, false)) => Check::new(
                        CheckKind::Network,
                        name,
                        missing,
                        "exists on the target but is not active: start it there first",
                    ),
                    None => Check::new(
                        CheckKind::Network,
                        name,
                        missing,
                        format!("no network {n} on the target"),
                    ),
                }
            }
            IfaceSource::Bridge(b) | IfaceSource::Direct(b) => {
                let what = if matches!(iface.source, IfaceSource::Bridge(_)) {
                    "bridge"
                } else {
                    "device"
                };
                let name = format!("{what} {b}");
                match &t.interfaces {
                    None => Check::new(
                        CheckKind::Network,
                        name,
                        Warn,
                        "the target cannot list its host interfaces",
                    ),
                    Some(list) if list.iter().any(|i| i == b) => {
                        Check::new(CheckKind::Network, name, Pass, "exists on the target")
                    }
                    Some(_) => Check::new(
                        CheckKind::Network,
                        name,
                        missing,
                        format!("no {what} {b} on the target"),
                    ),
                }
            }
            IfaceSource::Other(_) => continue,
        };
        out.push(check);
    }
}

fn memory_check(vm: &VmFacts, t: &TargetFacts, offline: bool) -> Check {
    use Status::*;
    let name = "free memory";
    let need = crate::fmt::kib(vm.memory_kib);
    if offline {
        return Check::new(
            CheckKind::Memory,
            name,
            Pass,
            format!("not started by an offline migration (needs {need})"),
        );
    }
    match t.free_memory_kib {
        None => Check::new(
            CheckKind::Memory,
            name,
            Warn,
            "the target does not report free memory",
        ),
        Some(free) => {
            let have = crate::fmt::kib(free);
            let detail = format!("{have} free, the VM needs {need}");
            if free < vm.memory_kib {
                Check::new(CheckKind::Memory, name, Fail, detail)
            } else if (free as f64) < vm.memory_kib as f64 * MEMORY_MARGIN {
                Check::new(
                    CheckKind::Memory,
                    name,
                    Warn,
                    format!("{detail}: little room left"),
                )
            } else {
                Check::new(CheckKind::Memory, name, Pass, detail)
            }
        }
    }
}

fn name_check(vm: &VmFacts, t: &TargetFacts) -> Check {
    use Status::*;
    let name = "name free";
    if let Some((n, _)) = t
        .domains
        .iter()
        .find(|(_, u)| u.eq_ignore_ascii_case(&vm.uuid))
    {
        return Check::new(
            CheckKind::Name,
            name,
            Fail,
            format!("the target already has this VM's UUID (as {n})"),
        );
    }
    if t.domains.iter().any(|(n, _)| n == &vm.name) {
        return Check::new(
            CheckKind::Name,
            name,
            Fail,
            format!("the target already has a VM named {}", vm.name),
        );
    }
    Check::new(
        CheckKind::Name,
        name,
        Pass,
        format!("{} is free there", vm.name),
    )
}

/// Reads name, UUID, memory, disks, interfaces and the `<cpu>` element from domain XML,
/// through the Hardware tab's reader (`xml::hardware`). `active` and `persistent` are not in
/// the XML: the caller fills them in.
pub fn vm_facts(domain_xml: &str) -> Result<VmFacts, XmlError> {
    let root = tree::parse(domain_xml, "domain")?;
    let hw = hardware::from_tree(&root)?;
    // Strict here, where the Hardware tab shows 0: the memory check must not guess.
    let kib = |el: &str| {
        root.child(el)
            .map(|n| {
                hardware::to_kib(&n.text, n.attr("unit")).ok_or_else(|| {
                    XmlError(format!("domain XML: bad memory value {:?}", n.text.trim()))
                })
            })
            .transpose()
    };
    let memory = kib("memory")?;
    // currentMemory wins over memory (the maximum).
    let current = kib("currentMemory")?;
    let cpu = root.child("cpu");
    // An empty `<cpu/>` means the default model; `<cpu mode='host-passthrough'/>` does not.
    let cpu_xml = cpu
        .filter(|c| c.inner.is_some() || c.attr("mode").is_some())
        .and_then(|c| domain_xml.get(c.span.clone()))
        .map(|x| x.trim().to_string());
    Ok(VmFacts {
        name: hw.name,
        uuid: hw.uuid.unwrap_or_default(),
        active: false,
        persistent: false,
        memory_kib: current.or(memory).unwrap_or(0),
        disks: hw.disks.into_iter().map(disk_facts).collect(),
        interfaces: hw.nics.into_iter().map(iface_facts).collect(),
        cpu_xml,
        cpu_mode: cpu.and_then(|c| c.attr("mode")).map(str::to_string),
        cpu_check: cpu.and_then(|c| c.attr("check")).map(str::to_string),
    })
}

fn disk_facts(d: hardware::Disk) -> Disk {
    use hardware::Source as S;
    let source = match d.source {
        S::None => DiskSource::None,
        S::File(p) | S::Dir(p) => DiskSource::File(p),
        S::Block(p) => DiskSource::Block(p),
        S::Volume { pool, volume } if !pool.is_empty() && !volume.is_empty() => {
            DiskSource::Volume { pool, volume }
        }
        S::Volume { .. } => DiskSource::None,
        S::Network { protocol, name, .. } => DiskSource::Network {
            protocol,
            name: name.unwrap_or_default(),
        },
    };
    Disk {
        // A CD-ROM is read-only even without the element.
        readonly: d.readonly || d.device == "cdrom",
        target: d.target,
        device: d.device,
        source,
        cache: d.cache,
        shareable: d.shareable,
    }
}

fn iface_facts(n: hardware::Nic) -> Iface {
    let source = match (n.kind.as_str(), n.source) {
        ("network", Some(s)) => IfaceSource::Network(s),
        ("bridge", Some(s)) => IfaceSource::Bridge(s),
        ("direct", Some(s)) => IfaceSource::Direct(s),
        (k, _) => IfaceSource::Other(k.to_string()),
    };
    Iface { mac: n.mac, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<domain type='kvm' id='3'>
  <name>web &amp; db</name>
  <uuid>0b0c1e5e-8f1d-4c4e-9a55-1d6a2f3c4b5a</uuid>
  <memory unit='KiB'>2097152</memory>
  <currentMemory unit='MiB'>1024</currentMemory>
  <cpu mode='custom' match='exact' check='full'>
    <model fallback='forbid'>Skylake-Client</model>
    <feature policy='require' name='hypervisor'/>
  </cpu>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='/var/lib/libvirt/images/web.qcow2'/>
      <backingStore type='file'><source file='/base.qcow2'/></backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw'/>
      <source dev='/dev/vg0/data'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='network' device='disk'>
      <source protocol='rbd' name='pool/img'><host name='mon1'/></source>
      <target dev='vdc' bus='virtio'/>
    </disk>
    <disk type='volume' device='disk'>
      <source pool='nfs' volume='x.img'/>
      <target dev='vdd' bus='virtio'/>
      <shareable/>
    </disk>
    <disk type='file' device='cdrom'>
      <target dev='hdc' bus='ide'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:aa:bb:cc'/>
      <source network='default' bridge='virbr0'/>
    </interface>
    <interface type='bridge'>
      <source bridge='br0'/>
    </interface>
    <interface type='direct'>
      <source dev='eth1' mode='bridge'/>
    </interface>
    <interface type='user'/>
  </devices>
</domain>"#;

    #[test]
    fn reads_the_domain_xml() {
        let vm = vm_facts(XML).unwrap();
        assert_eq!(vm.name, "web & db");
        assert_eq!(vm.uuid, "0b0c1e5e-8f1d-4c4e-9a55-1d6a2f3c4b5a");
        assert_eq!(vm.memory_kib, 1024 * 1024, "currentMemory, in its unit");
        assert_eq!(vm.cpu_mode.as_deref(), Some("custom"));
        assert_eq!(vm.cpu_check.as_deref(), Some("full"));
        let cpu = vm.cpu_xml.as_deref().unwrap();
        assert!(
            cpu.starts_with("<cpu mode='custom'") && cpu.ends_with("</cpu>"),
            "{cpu}"
        );
        assert!(cpu.contains("Skylake-Client"));
        assert_eq!(vm.disks.len(), 5);
        assert_eq!(
            vm.disks[0].source,
            DiskSource::File("/var/lib/libvirt/images/web.qcow2".into()),
            "the backing store is not the disk"
        );
        assert_eq!(vm.disks[0].cache.as_deref(), Some("none"));
        assert_eq!(
            vm.disks[1].source,
            DiskSource::Block("/dev/vg0/data".into())
        );
        assert_eq!(vm.disks[1].cache, None);
        assert_eq!(
            vm.disks[2].source,
            DiskSource::Network {
                protocol: "rbd".into(),
                name: "pool/img".into()
            }
        );
        assert_eq!(
            vm.disks[3].source,
            DiskSource::Volume {
                pool: "nfs".into(),
                volume: "x.img".into()
            }
        );
        assert!(vm.disks[3].shareable);
        assert_eq!(vm.disks[4].source, DiskSource::None);
        assert!(vm.disks[4].readonly, "a cdrom is read-only");
        assert_eq!(
            vm.interfaces
                .iter()
                .map(|i| i.source.clone())
                .collect::<Vec<_>>(),
            vec![
                IfaceSource::Network("default".into()),
                IfaceSource::Bridge("br0".into()),
                IfaceSource::Direct("eth1".into()),
                IfaceSource::Other("user".into()),
            ]
        );
        assert_eq!(vm.interfaces[0].mac.as_deref(), Some("52:54:00:aa:bb:cc"));
    }

    #[test]
    fn passthrough_cpu_and_default_cpu() {
        let vm = vm_facts("<domain><name>a</name><cpu mode='host-passthrough'/></domain>").unwrap();
        assert_eq!(vm.cpu_mode.as_deref(), Some("host-passthrough"));
        assert_eq!(
            vm.cpu_xml.as_deref(),
            Some("<cpu mode='host-passthrough'/>")
        );
        let vm = vm_facts("<domain><name>a</name><memory>65536</memory></domain>").unwrap();
        assert_eq!(vm.cpu_xml, None);
        assert_eq!(vm.memory_kib, 65536, "KiB without a unit");
        assert!(vm_facts("<domain><memory>lots</memory></domain>").is_err());
    }

    fn good() -> Facts {
        Facts {
            vm: Ok(VmFacts {
                name: "web".into(),
                uuid: "u-1".into(),
                active: true,
                persistent: true,
                memory_kib: 1024 * 1024,
                disks: vec![Disk {
                    target: "vda".into(),
                    device: "disk".into(),
                    source: DiskSource::File("/nfs/web.img".into()),
                    cache: Some("none".into()),
                    readonly: false,
                    shareable: false,
                }],
                interfaces: vec![Iface {
                    mac: None,
                    source: IfaceSource::Network("default".into()),
                }],
                cpu_xml: None,
                cpu_mode: None,
                cpu_check: None,
            }),
            target: Ok(TargetFacts {
                hostname: "kvm2".into(),
                networks: vec![("default".into(), true), ("off".into(), false)],
                interfaces: Some(vec!["eth0".into(), "br0".into()]),
                free_memory_kib: Some(8 * 1024 * 1024),
                domains: vec![("other".into(), "u-2".into())],
                disk_visibility: vec![Visibility::Volume {
                    pool: "nfs".into(),
                    shared: true,
                }],
                cpu: Some(CpuCompat::Guest {
                    target: CpuCmp::Identical,
                    source: CpuCmp::Identical,
                }),
            }),
        }
    }

    fn vm(f: &mut Facts) -> &mut VmFacts {
        f.vm.as_mut().unwrap()
    }
    fn tgt(f: &mut Facts) -> &mut TargetFacts {
        f.target.as_mut().unwrap()
    }
    fn find(c: &[Check], name: &str) -> Check {
        c.iter()
            .find(|c| c.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("no check {name}: {c:?}"))
    }
    fn live() -> MigrationOptions {
        MigrationOptions::default()
    }

    #[test]
    fn all_good_passes_and_does_not_block() {
        let c = checks(&good(), &live());
        assert!(c.iter().all(|c| c.status == Status::Pass), "{c:#?}");
        let names: Vec<_> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "options",
                "target reachable",
                "VM state",
                "CPU compatible",
                "disk vda",
                "network default",
                "free memory",
                "name free"
            ]
        );
        assert!(!blocking(&c, false));
        assert_eq!(worst(&c), Status::Pass);
    }

    #[test]
    fn missing_network_fails_and_blocks_unless_overridden() {
        let mut f = good();
        vm(&mut f).interfaces[0].source = IfaceSource::Network("lab-only".into());
        let c = checks(&f, &live());
        let n = find(&c, "network lab-only");
        assert_eq!(n.status, Status::Fail);
        assert_eq!(n.detail, "no network lab-only on the target");
        assert!(blocking(&c, false));
        assert!(
            !blocking(&c, true),
            "the user may override a missing network"
        );
        // Inactive network: also a failure for a live migration.
        vm(&mut f).interfaces[0].source = IfaceSource::Network("off".into());
        assert_eq!(
            find(&checks(&f, &live()), "network off").status,
            Status::Fail
        );
        // Offline: the VM is not started, so only a warning.
        vm(&mut f).active = false;
        let off = MigrationOptions {
            kind: MigrationKind::Offline,
            ..live()
        };
        assert_eq!(find(&checks(&f, &off), "network off").status, Status::Warn);
    }

    #[test]
    fn bridges_and_direct_devices_must_exist() {
        let mut f = good();
        vm(&mut f).interfaces = vec![
            Iface {
                mac: None,
                source: IfaceSource::Bridge("br0".into()),
            },
            Iface {
                mac: None,
                source: IfaceSource::Direct("eth9".into()),
            },
            Iface {
                mac: None,
                source: IfaceSource::Other("user".into()),
            },
        ];
        let c = checks(&f, &live());
        assert_eq!(find(&c, "bridge br0").status, Status::Pass);
        assert_eq!(find(&c, "device eth9").status, Status::Fail);
        assert!(c.iter().all(|c| !c.name.contains("user")));
        tgt(&mut f).interfaces = None;
        assert_eq!(
            find(&checks(&f, &live()), "bridge br0").status,
            Status::Warn
        );
    }

    #[test]
    fn disk_not_visible_fails_unless_copied() {
        let mut f = good();
        tgt(&mut f).disk_visibility = vec![Visibility::No];
        let c = checks(&f, &live());
        let d = find(&c, "disk vda");
        assert_eq!(d.status, Status::Fail);
        assert!(
            d.detail.contains("/nfs/web.img") && d.detail.contains("copy storage"),
            "{}",
            d.detail
        );
        assert!(blocking(&c, false));
        let copy = MigrationOptions {
            copy_storage: CopyStorage::All,
            ..live()
        };
        let c = checks(&f, &copy);
        assert_eq!(find(&c, "disk vda").status, Status::Pass);
        assert!(!blocking(&c, false));
        // A read-only medium is not copied by libvirt.
        vm(&mut f).disks[0].readonly = true;
        assert_eq!(find(&checks(&f, &copy), "disk vda").status, Status::Fail);
    }

    #[test]
    fn local_or_doubly_used_pools_warn() {
        let mut f = good();
        tgt(&mut f).disk_visibility = vec![Visibility::Volume {
            pool: "default".into(),
            shared: false,
        }];
        // libvirt refuses a writable disk it cannot prove shared: a failure naming the ways
        // out, unless "allow unsafe" says the user knows (then a warning).
        let c = checks(&f, &live());
        let d = find(&c, "disk vda");
        assert_eq!(d.status, Status::Fail, "{d:?}");
        assert!(
            d.detail.contains("local pool default") && d.detail.contains("allow unsafe"),
            "{}",
            d.detail
        );
        assert!(blocking(&c, false));
        let unsafe_ok = MigrationOptions {
            allow_unsafe: true,
            ..live()
        };
        let c = checks(&f, &unsafe_ok);
        let d = find(&c, "disk vda");
        assert_eq!(d.status, Status::Warn);
        assert!(d.detail.contains("local pool default"), "{}", d.detail);
        assert!(!blocking(&c, false));
        // Read-only media and offline moves are not checked by libvirt.
        vm(&mut f).disks[0].readonly = true;
        assert_eq!(find(&checks(&f, &live()), "disk vda").status, Status::Warn);
        tgt(&mut f).disk_visibility = vec![Visibility::Volume {
            pool: "nfs".into(),
            shared: true,
        }];
        let copy = MigrationOptions {
            copy_storage: CopyStorage::All,
            ..live()
        };
        let d = find(&checks(&f, &copy), "disk vda");
        assert_eq!(d.status, Status::Warn);
        assert!(d.detail.contains("onto the disk it reads"), "{}", d.detail);
    }

    #[test]
    fn shared_disk_without_cache_none_warns() {
        let mut f = good();
        vm(&mut f).disks[0].cache = None;
        let c = checks(&f, &live());
        let w = find(&c, "cache vda");
        assert_eq!(w.status, Status::Warn);
        assert!(w.detail.contains("default"), "{}", w.detail);
        assert!(!blocking(&c, false), "a warning does not block");
        vm(&mut f).disks[0].cache = Some("writeback".into());
        assert_eq!(find(&checks(&f, &live()), "cache vda").status, Status::Warn);
        vm(&mut f).disks[0].cache = Some("directsync".into());
        assert!(checks(&f, &live())
            .iter()
            .all(|c| c.kind != CheckKind::CacheMode));
        // Copied (not shared) disks do not care.
        vm(&mut f).disks[0].cache = None;
        tgt(&mut f).disk_visibility = vec![Visibility::No];
        let copy = MigrationOptions {
            copy_storage: CopyStorage::All,
            ..live()
        };
        assert!(checks(&f, &copy)
            .iter()
            .all(|c| c.kind != CheckKind::CacheMode));
    }

    #[test]
    fn cpu_memory_and_name() {
        let mut f = good();
        tgt(&mut f).cpu = Some(CpuCompat::Guest {
            target: CpuCmp::Incompatible(
                "Host CPU does not provide required features: avx512f".into(),
            ),
            source: CpuCmp::Superset,
        });
        let c = find(&checks(&f, &live()), "CPU compatible");
        assert_eq!(c.status, Status::Fail);
        assert!(c.detail.contains("lacks avx512f"), "{}", c.detail);
        tgt(&mut f).cpu = Some(CpuCompat::Unknown("unsupported".into()));
        assert_eq!(
            find(&checks(&f, &live()), "CPU compatible").status,
            Status::Warn
        );

        tgt(&mut f).free_memory_kib = Some(512 * 1024);
        let m = find(&checks(&f, &live()), "free memory");
        assert_eq!(m.status, Status::Fail);
        assert_eq!(m.detail, "512 MiB free, the VM needs 1 GiB");
        tgt(&mut f).free_memory_kib = Some(1100 * 1024);
        assert_eq!(
            find(&checks(&f, &live()), "free memory").status,
            Status::Warn
        );

        tgt(&mut f).domains.push(("web".into(), "u-9".into()));
        assert_eq!(find(&checks(&f, &live()), "name free").status, Status::Fail);
        tgt(&mut f).domains = vec![("renamed".into(), "U-1".into())];
        let n = find(&checks(&f, &live()), "name free");
        assert!(
            n.status == Status::Fail && n.detail.contains("UUID"),
            "{n:?}"
        );
    }

    /// The CPU check as libvirt treats each `<cpu mode>` and `check` at migration time.
    #[test]
    fn cpu_verdicts_follow_what_libvirt_does() {
        let lacks = |f: &str| {
            CpuCmp::Incompatible(format!(
                "the CPU is incompatible with host CPU: Host CPU does not provide required features: {f}"
            ))
        };
        let verdict = |mode: &str, check: Option<&str>, active: bool, cpu: CpuCompat| {
            let mut f = good();
            vm(&mut f).cpu_mode = Some(mode.into());
            vm(&mut f).cpu_check = check.map(Into::into);
            vm(&mut f).active = active;
            tgt(&mut f).cpu = Some(cpu);
            let opts = MigrationOptions {
                kind: if active {
                    MigrationKind::Live
                } else {
                    MigrationKind::Offline
                },
                ..live()
            };
            find(&checks(&f, &opts), "CPU compatible")
        };
        let guest = |target, source| CpuCompat::Guest { target, source };

        // Two daemons on one host, a stopped VM with libvirt's default qemu64 (check='none'):
        // both hypervisors lack the same features, QEMU runs it without them on both.
        let c = verdict(
            "custom",
            Some("none"),
            false,
            guest(lacks("pni, svm"), lacks("pni, svm")),
        );
        assert_eq!(c.status, Status::Pass, "{c:?}");
        assert!(
            c.detail.contains("also lacks pni, svm") && c.detail.contains("check='none'"),
            "{}",
            c.detail
        );
        // check='none', only the target lacks it: libvirt lets it start, the guest may fail.
        let c = verdict(
            "custom",
            Some("none"),
            true,
            guest(lacks("avx2"), CpuCmp::Superset),
        );
        assert_eq!(c.status, Status::Warn, "{c:?}");
        assert!(c.detail.contains("does not verify"), "{}", c.detail);
        // check='partial' / 'full': libvirt refuses on the target.
        for check in [Some("partial"), Some("full"), None] {
            let c = verdict(
                "custom",
                check,
                true,
                guest(lacks("avx2"), CpuCmp::Identical),
            );
            assert_eq!(c.status, Status::Fail, "{check:?}: {c:?}");
            assert!(
                c.detail.contains("lacks avx2") && c.detail.contains("refuses"),
                "{}",
                c.detail
            );
        }
        // …a stopped VM only when it is started there: a warning.
        let c = verdict(
            "custom",
            Some("full"),
            false,
            guest(lacks("avx2"), CpuCmp::Identical),
        );
        assert_eq!(c.status, Status::Warn);
        // Both sides lack the same with a checked CPU: a warning that explains.
        let c = verdict("custom", Some("full"), true, guest(lacks("x"), lacks("x")));
        assert_eq!(c.status, Status::Warn);
        assert!(c.detail.contains("both hypervisors"), "{}", c.detail);
        // A stopped host-model VM takes the target's model when it starts.
        let c = verdict(
            "host-model",
            Some("partial"),
            false,
            guest(lacks("x"), lacks("y")),
        );
        assert_eq!(c.status, Status::Pass, "{c:?}");
        // A running host-model VM is compared as its expanded CPU.
        let c = verdict(
            "host-model",
            Some("partial"),
            true,
            guest(lacks("x"), CpuCmp::Superset),
        );
        assert_eq!(c.status, Status::Fail, "{c:?}");
        // host-passthrough: libvirt does not compare; the host CPUs are what differ.
        let c = verdict(
            "host-passthrough",
            Some("none"),
            true,
            CpuCompat::HostCpu(CpuCmp::Identical),
        );
        assert_eq!(c.status, Status::Pass);
        let c = verdict(
            "host-passthrough",
            Some("none"),
            true,
            CpuCompat::HostCpu(lacks("avx512f")),
        );
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.detail.contains("does not compare it") && c.detail.contains("lacks avx512f"),
            "{}",
            c.detail
        );
        // A comparison that failed is a warning with libvirt's text.
        let c = verdict(
            "custom",
            None,
            true,
            guest(
                CpuCmp::Error("this function is not supported".into()),
                CpuCmp::Superset,
            ),
        );
        assert_eq!(c.status, Status::Warn);
        assert!(c.detail.contains("not supported"), "{}", c.detail);
    }

    #[test]
    fn state_must_fit_the_kind() {
        let mut f = good();
        let off = MigrationOptions {
            kind: MigrationKind::Offline,
            ..live()
        };
        assert_eq!(find(&checks(&f, &off), "VM state").status, Status::Fail);
        vm(&mut f).active = false;
        assert_eq!(find(&checks(&f, &off), "VM state").status, Status::Pass);
        assert_eq!(find(&checks(&f, &live()), "VM state").status, Status::Fail);
        // Offline needs no memory and tolerates an unseen disk (warning).
        tgt(&mut f).free_memory_kib = Some(0);
        tgt(&mut f).disk_visibility = vec![Visibility::No];
        let c = checks(&f, &off);
        assert_eq!(find(&c, "free memory").status, Status::Pass);
        assert_eq!(find(&c, "disk vda").status, Status::Warn);
        assert!(!blocking(&c, false));
    }

    #[test]
    fn unreachable_target_and_bad_options_block_even_with_override() {
        let mut f = good();
        f.target =
            Err("unable to connect to server at '10.0.0.2:16509': Connection refused".into());
        let c = checks(&f, &live());
        assert_eq!(c.len(), 2, "nothing else can be checked: {c:?}");
        assert_eq!(find(&c, "target reachable").status, Status::Fail);
        assert!(blocking(&c, true));
        let bad = MigrationOptions {
            tunnelled: true,
            ..live()
        };
        let c = checks(&good(), &bad);
        assert_eq!(
            find(&c, "options").detail,
            "tunnelled migration needs peer-to-peer"
        );
        assert!(blocking(&c, true));
        let mut f = good();
        f.vm = Err("Domain not found".into());
        assert!(blocking(&checks(&f, &live()), true));
    }
}
