//! The VM detail screen's host side: reading a VM's definitions and snapshots, and the edits,
//! snapshot actions, redefinition, clone and delete it offers. Commands run on the worker's
//! connection (clone on a thread of its own, like volume transfers). Each action answers with
//! `Reply::Done` and is followed by a fresh `HostEvent::VmChanged` for the VM
//! (unless it was deleted).

mod clone;
pub mod disk_move;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::error::Error;
use virt::sys;

use super::{message, HostEvent, Reply, RequestId};
use crate::job::Job;
use crate::xml::domain::XmlError;
use crate::xml::hardware::{self, Hardware, Source};
use crate::xml::snapshot::{self, SnapshotSpec, SnapshotTree};

pub use clone::CloneSpec;

/// Which definition a change applies to: the running guest, the persistent definition (next
/// boot), or both. Neither means libvirt's "current" (live if running, else config).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Scope {
    pub live: bool,
    pub config: bool,
}

impl Scope {
    pub const LIVE: Scope = Scope {
        live: true,
        config: false,
    };
    pub const CONFIG: Scope = Scope {
        live: false,
        config: true,
    };
    pub const BOTH: Scope = Scope {
        live: true,
        config: true,
    };

    /// The widest scope a VM allows: live only while it runs, config only when persistent.
    pub fn for_vm(active: bool, persistent: bool) -> Scope {
        Scope {
            live: active,
            config: persistent,
        }
    }

    /// libvirt's AFFECT_LIVE / AFFECT_CONFIG bits (the vCPU, memory, device and metadata
    /// flag families share these values).
    pub fn flags(self) -> u32 {
        let mut f = sys::VIR_DOMAIN_AFFECT_CURRENT;
        if self.live {
            f |= sys::VIR_DOMAIN_AFFECT_LIVE;
        }
        if self.config {
            f |= sys::VIR_DOMAIN_AFFECT_CONFIG;
        }
        f
    }

    /// "live", "persistent", "live and persistent", "current".
    pub fn label(self) -> &'static str {
        match (self.live, self.config) {
            (true, true) => "live and persistent",
            (true, false) => "live",
            (false, true) => "persistent",
            (false, false) => "current",
        }
    }
}

/// What the detail screen asks a worker.
#[derive(Clone, Debug, PartialEq)]
pub enum VmCmd {
    /// Read the VM's definitions and snapshots; answered with `Reply::VmDetails`.
    Details { id: RequestId, uuid: String },
    /// Change the VM; answered with `Reply::Done`, then `HostEvent::VmChanged`.
    Act {
        id: RequestId,
        uuid: String,
        op: VmOp,
    },
    /// Move one disk to another pool or format (`disk_move`: live block copy and pivot, or
    /// an offline conversion) on a thread of its own; progress, cancel and the outcome go
    /// through `job`.
    MoveDisk {
        uuid: String,
        spec: disk_move::MoveSpec,
        job: crate::job::Job,
    },
    /// Ask the VM's guest agent (`host::agent`) on a thread of its own; the answer goes into
    /// `slot`.
    GuestInfo {
        uuid: String,
        slot: crate::host::agent::AgentSlot,
    },
    /// Restore a backup (`host::backup`: a new VM, or over this VM's disks) on a thread of
    /// its own; progress, cancel and the outcome go through `job`.
    Restore {
        backup: std::path::PathBuf,
        to: crate::host::backup::RestoreTo,
        job: crate::job::Job,
    },
    /// Back the VM up (`host::backup`) on a thread of its own; progress, cancel and the
    /// outcome go through `job`.
    Backup {
        spec: crate::host::backup::BackupSpec,
        job: crate::job::Job,
    },
    /// Clone the (shut-off) VM on a thread of its own; progress, cancel and the outcome go
    /// through `job`. A failed or cancelled clone removes the volumes it created.
    Clone {
        uuid: String,
        spec: CloneSpec,
        job: Job,
    },
}

/// Text that must not show in logs or debug output (a password).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// One change to a VM.
#[derive(Clone, Debug, PartialEq)]
pub enum VmOp {
    /// Online vCPUs (`virDomainSetVcpusFlags`); live changes need guest hotplug support.
    SetVcpus {
        count: u32,
        scope: Scope,
    },
    /// The vCPU maximum of the persistent definition.
    SetMaxVcpus {
        count: u32,
    },
    /// The balloon target (`currentMemory`), KiB.
    SetMemory {
        kib: u64,
        scope: Scope,
    },
    /// The boot-time maximum (`memory`), KiB. QEMU cannot change it live.
    SetMaxMemory {
        kib: u64,
        scope: Scope,
    },
    /// Device XML from `xml::device` (disks, CD-ROMs, NICs) or any other device.
    AttachDevice {
        xml: String,
        scope: Scope,
    },
    DetachDevice {
        xml: String,
        scope: Scope,
    },
    /// Change a device in place: CD-ROM media (`DiskSpec::cdrom` with the drive's target).
    UpdateDevice {
        xml: String,
        scope: Scope,
    },
    /// Grow a disk of the running guest (`virDomainBlockResize`), in bytes.
    BlockResize {
        target: String,
        bytes: u64,
    },
    SetAutostart(bool),
    /// Mark (shut-off, persistent VMs) or unmark as a template (`xml::meta`).
    SetTemplate(bool),
    /// Set a guest user's password through the guest agent (never logged).
    SetUserPassword {
        user: String,
        password: Secret,
    },
    /// Change the VM's tags and note (`xml::meta`): `set` replaces the tags, then `add` and
    /// `remove` apply; a `note` of `Some("")` removes it, `None` leaves it.
    EditMeta {
        set: Option<Vec<String>>,
        add: Vec<String>,
        remove: Vec<String>,
        note: Option<String>,
    },
    /// Only while shut off (libvirt's rule).
    Rename {
        name: String,
    },
    /// Empty text removes the title.
    SetTitle {
        text: String,
        scope: Scope,
    },
    SetDescription {
        text: String,
        scope: Scope,
    },
    CreateSnapshot(SnapshotSpec),
    /// `force` allows reverts libvirt calls risky (e.g. to a snapshot without memory while
    /// running, which needs a restart of the guest).
    RevertSnapshot {
        name: String,
        force: bool,
    },
    /// With `children`, every snapshot below it goes too.
    DeleteSnapshot {
        name: String,
        children: bool,
    },
    /// Replace the persistent definition (the XML tab). libvirt validates it against its
    /// schema first; on error nothing changes and the error text comes back.
    DefineXml {
        xml: String,
    },
    Delete(DeleteOpts),
}

/// What deleting a VM removes besides its definition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteOpts {
    /// Storage to delete (each listed to the user first; see `storage_of`).
    pub volumes: Vec<Source>,
    /// Drop snapshot metadata. Without it libvirt refuses to undefine a VM with snapshots,
    /// and so does virtdeck, before anything is touched.
    pub snapshots: bool,
    /// Delete the UEFI variable store (`<nvram>`).
    pub nvram: bool,
}

/// Everything the detail screen shows.
#[derive(Clone, Debug, PartialEq)]
pub struct VmDetails {
    pub uuid: String,
    pub name: String,
    pub active: bool,
    pub persistent: bool,
    pub autostart: bool,
    /// The running guest's XML (only while active).
    pub live_xml: Option<String>,
    /// The persistent definition (only for persistent VMs): what the XML tab edits.
    pub inactive_xml: Option<String>,
    /// `inactive_xml` includes secrets (graphics passwords), so redefining it keeps them.
    /// False on read-only connections: redefining would then drop them.
    pub secure: bool,
    /// From the live XML while running, else the persistent one.
    pub hardware: Hardware,
    /// The persistent definition's hardware, when the VM runs and is persistent (to show
    /// changes pending for the next boot).
    pub next_boot: Option<Hardware>,
    pub snapshots: SnapshotTree,
    /// Snapshots could not be listed (driver without snapshots): the text, and an empty tree.
    pub snapshot_error: Option<String>,
    /// Backup checkpoints, oldest first (each incremental backup starts from the newest).
    pub checkpoints: Vec<String>,
}

impl VmDetails {
    /// The widest scope edits may use for this VM (see `Scope::for_vm`).
    pub fn scope(&self) -> Scope {
        Scope::for_vm(self.active, self.persistent)
    }
}

/// Why a VM command failed.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    /// libvirt refused or the connection broke.
    #[error("{}", message(.0))]
    Libvirt(#[from] Error),
    /// virtdeck refused before calling libvirt.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Xml(#[from] XmlError),
}

impl VmError {
    fn libvirt(&self) -> Option<&Error> {
        match self {
            VmError::Libvirt(e) => Some(e),
            _ => None,
        }
    }
}

fn refused<T>(text: impl Into<String>) -> Result<T, VmError> {
    Err(VmError::Refused(text.into()))
}

/// The storage deleting the VM can remove: writable, unshared disks with a local path or a
/// pool volume, then the volumes virtdeck made for the VM ([`Hardware::owned`]: the
/// cloud-init seed, downloaded boot files). Other CD-ROM images and shared disks belong to
/// others, except a CD-ROM holding the VM's seed by name (`NAME-cidata.iso`): a VM created
/// before virtdeck recorded what it made has no record.
pub fn storage_of(hw: &Hardware) -> Vec<Source> {
    let mut out: Vec<Source> = hw
        .disks
        .iter()
        .filter(|d| d.is_clonable())
        .filter(|d| {
            matches!(
                d.source,
                Source::File(_) | Source::Block(_) | Source::Volume { .. }
            )
        })
        .map(|d| d.source.clone())
        .collect();
    let seed = crate::xml::newvm::seed_name(&hw.name);
    let named_seed = hw
        .disks
        .iter()
        .filter(|d| d.device == "cdrom")
        .map(|d| &d.source)
        .filter(|s| matches!(s, Source::Volume { volume, .. } if *volume == seed));
    for s in hw.owned.iter().chain(named_seed) {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// Runs one VM command; answers through `notify`. Returns the UUID of a VM that changed (the
/// worker refreshes its row) and the libvirt error that failed the command, so the worker
/// can tell a lost connection from a refused action.
pub(super) fn run(
    conn: &Connect,
    cmd: VmCmd,
    notify: &dyn Fn(HostEvent),
) -> (Option<String>, Result<(), Error>) {
    match cmd {
        VmCmd::Details { id, uuid } => {
            let res = details(conn, &uuid);
            let err = res.as_ref().err().and_then(|e| e.libvirt().cloned());
            notify(HostEvent::Reply {
                id,
                reply: Reply::VmDetails(res.map(Box::new).map_err(|e| e.to_string())),
            });
            (None, err.map_or(Ok(()), Err))
        }
        VmCmd::Clone { uuid, spec, job } => {
            clone::spawn(conn, uuid, spec, job);
            (None, Ok(()))
        }
        VmCmd::MoveDisk { uuid, spec, job } => {
            disk_move::spawn(conn, uuid, spec, job);
            (None, Ok(()))
        }
        VmCmd::GuestInfo { uuid, slot } => {
            crate::host::agent::spawn(conn, uuid, slot);
            (None, Ok(()))
        }
        VmCmd::Restore { backup, to, job } => {
            crate::host::backup::spawn_restore(conn, backup, to, job);
            (None, Ok(()))
        }
        VmCmd::Backup { spec, job } => {
            crate::host::backup::spawn(conn, spec, job);
            (None, Ok(()))
        }
        VmCmd::Act { id, uuid, op } => {
            let deleting = matches!(op, VmOp::Delete(_));
            let res = act(conn, &uuid, op);
            let err = res.as_ref().err().and_then(|e| e.libvirt().cloned());
            notify(HostEvent::Reply {
                id,
                reply: Reply::Done(res.map_err(|e| e.to_string())),
            });
            if let Some(e) = err {
                // A dead link: a details read would only fail too (after the keepalive).
                if !conn.is_alive().unwrap_or(false) {
                    return (Some(uuid), Err(e));
                }
            }
            if !deleting || conn.lookup_domain_by_uuid_string(&uuid).is_ok() {
                if let Ok(d) = details(conn, &uuid) {
                    notify(HostEvent::VmChanged {
                        uuid: uuid.clone(),
                        details: Box::new(d),
                    });
                }
            }
            (Some(uuid), Ok(()))
        }
    }
}

/// Reads both definitions and the snapshots.
pub fn details(conn: &Connect, uuid: &str) -> Result<VmDetails, VmError> {
    let dom = conn.lookup_domain_by_uuid_string(uuid)?;
    let active = dom.is_active()?;
    let persistent = dom.is_persistent()?;
    let live_xml = if active { Some(dom.xml_desc(0)?) } else { None };
    let (inactive_xml, secure) = if persistent {
        let (xml, secure) = inactive_xml(&dom)?;
        (Some(xml), secure)
    } else {
        (None, false)
    };
    let hardware = match live_xml.as_deref().or(inactive_xml.as_deref()) {
        Some(x) => hardware::parse(x)?,
        None => return refused("libvirt returned no definition"),
    };
    let next_boot = match (&live_xml, &inactive_xml) {
        (Some(_), Some(x)) => Some(hardware::parse(x)?),
        _ => None,
    };
    let (snapshots, snapshot_error) = match snapshots(&dom) {
        Ok(t) => (t, None),
        Err(e) => (SnapshotTree::default(), Some(e.to_string())),
    };
    Ok(VmDetails {
        uuid: uuid.to_string(),
        name: dom.name()?,
        active,
        persistent,
        autostart: dom.autostart().unwrap_or(false),
        live_xml,
        inactive_xml,
        secure,
        hardware,
        next_boot,
        snapshots,
        snapshot_error,
        checkpoints: crate::host::backup::checkpoint_names(&dom),
    })
}

/// The persistent definition with secrets when the connection may read them.
fn inactive_xml(dom: &Domain) -> Result<(String, bool), Error> {
    match dom.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE | sys::VIR_DOMAIN_XML_SECURE) {
        Ok(x) => Ok((x, true)),
        Err(_) => Ok((dom.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)?, false)),
    }
}

fn snapshots(dom: &Domain) -> Result<SnapshotTree, VmError> {
    let mut list = Vec::new();
    for s in dom.list_all_snapshots(0)? {
        let mut info = snapshot::parse(&s.xml_desc(0)?)?;
        info.current = s.is_current(0).unwrap_or(false);
        list.push(info);
    }
    Ok(SnapshotTree::build(list))
}

fn act(conn: &Connect, uuid: &str, op: VmOp) -> Result<String, VmError> {
    let dom = conn.lookup_domain_by_uuid_string(uuid)?;
    let name = dom.name()?;
    Ok(match op {
        VmOp::SetVcpus { count, scope } => {
            if count == 0 {
                return refused("a VM needs at least one vCPU");
            }
            dom.set_vcpus_flags(count, scope.flags())?;
            format!("{name}: {count} vCPUs ({})", scope.label())
        }
        VmOp::SetMaxVcpus { count } => {
            if count == 0 {
                return refused("a VM needs at least one vCPU");
            }
            dom.set_vcpus_flags(
                count,
                sys::VIR_DOMAIN_VCPU_MAXIMUM | sys::VIR_DOMAIN_VCPU_CONFIG,
            )?;
            format!("{name}: at most {count} vCPUs from the next boot")
        }
        VmOp::SetMemory { kib, scope } => {
            dom.set_memory_flags(kib, scope.flags())?;
            format!(
                "{name}: memory {} ({})",
                crate::fmt::bytes(kib * 1024),
                scope.label()
            )
        }
        VmOp::SetMaxMemory { kib, scope } => {
            dom.set_memory_flags(kib, sys::VIR_DOMAIN_MEM_MAXIMUM | scope.flags())?;
            format!(
                "{name}: maximum memory {} ({})",
                crate::fmt::bytes(kib * 1024),
                scope.label()
            )
        }
        VmOp::AttachDevice { xml, scope } => {
            dom.attach_device_flags(&xml, scope.flags())?;
            format!(
                "{name}: {} attached ({})",
                device_label(&xml),
                scope.label()
            )
        }
        VmOp::DetachDevice { xml, scope } => {
            // Returns once QEMU was asked; the guest releases the device on its own time.
            dom.detach_device_flags(&xml, scope.flags())?;
            format!(
                "{name}: {} detached ({})",
                device_label(&xml),
                scope.label()
            )
        }
        VmOp::UpdateDevice { xml, scope } => {
            dom.update_device_flags(&xml, scope.flags())?;
            format!("{name}: {} updated ({})", device_label(&xml), scope.label())
        }
        VmOp::BlockResize { target, bytes } => {
            if !dom.is_active()? {
                return refused(format!(
                    "{name} is not running: resize the disk's volume in the storage pane instead"
                ));
            }
            dom.block_resize(&target, bytes, sys::VIR_DOMAIN_BLOCK_RESIZE_BYTES)?;
            format!("{name}: {target} is now {}", crate::fmt::bytes(bytes))
        }
        VmOp::SetUserPassword { user, password } => {
            if user.is_empty() || user.chars().any(char::is_control) {
                return refused("name the guest's user");
            }
            crate::host::agent::short(&dom, || dom.set_user_password(&user, &password.0, 0))?;
            format!("{name}: password of {user} set")
        }
        VmOp::SetTemplate(on) => {
            if on && dom.is_active()? {
                return refused("a running VM cannot become a template: shut it down first");
            }
            if on && !dom.is_persistent()? {
                return refused("a transient VM cannot become a template: define it first");
            }
            let mut m = crate::host::meta::read(&dom)?;
            m.template = on;
            crate::host::meta::write(&dom, &m)?;
            if on && dom.autostart()? {
                // A template must not start with the host either.
                dom.set_autostart(false)?;
            }
            format!(
                "{name} {}",
                if on {
                    "is a template: listed apart, never started; C clones a new VM from it"
                } else {
                    "is an ordinary VM again"
                }
            )
        }
        VmOp::EditMeta {
            set,
            add,
            remove,
            note,
        } => {
            if let Some(p) = set
                .iter()
                .flatten()
                .chain(&add)
                .find_map(|t| crate::xml::meta::tag_problem(t))
            {
                return refused(p);
            }
            let mut m = crate::host::meta::read(&dom)?;
            if let Some(tags) = set {
                m.tags = tags;
            }
            for t in add {
                if !m.tags.contains(&t) {
                    m.tags.push(t);
                }
            }
            m.tags.retain(|t| !remove.contains(t));
            if let Some(n) = note {
                m.note = (!n.trim().is_empty()).then_some(n);
            }
            crate::host::meta::write(&dom, &m)?;
            if m.tags.is_empty() {
                format!("{name}: no tags")
            } else {
                format!("{name}: tags {}", m.tags.join(" "))
            }
        }
        VmOp::SetAutostart(on) => {
            dom.set_autostart(on)?;
            format!(
                "{name} {}",
                if on {
                    "starts with the host"
                } else {
                    "no longer starts with the host"
                }
            )
        }
        VmOp::Rename { name: new } => {
            if new.trim().is_empty() {
                return refused("enter a name");
            }
            if dom.is_active()? {
                return refused(format!(
                    "{name} is running: libvirt renames shut-off VMs only"
                ));
            }
            dom.rename(&new, 0)?;
            format!("{name} renamed to {new}")
        }
        VmOp::SetTitle { text, scope } => {
            if text.contains(['\n', '\r']) {
                return refused("a title is one line");
            }
            set_meta(&dom, sys::VIR_DOMAIN_METADATA_TITLE as i32, &text, scope)?;
            format!("{name}: title set ({})", scope.label())
        }
        VmOp::SetDescription { text, scope } => {
            set_meta(
                &dom,
                sys::VIR_DOMAIN_METADATA_DESCRIPTION as i32,
                &text,
                scope,
            )?;
            format!("{name}: description set ({})", scope.label())
        }
        VmOp::CreateSnapshot(spec) => {
            if let Some((_, why)) = spec.validate().into_iter().next() {
                return refused(why);
            }
            let snap = dom.create_snapshot_xml(&spec.to_xml()?, snapshot_flags(&spec))?;
            format!("{name}: snapshot {} created", snap.name()?)
        }
        VmOp::RevertSnapshot { name: snap, force } => {
            let s = Domain::lookup_snapshot_by_name(&dom, &snap, 0)?;
            let flags = if force {
                sys::VIR_DOMAIN_SNAPSHOT_REVERT_FORCE
            } else {
                0
            };
            s.revert(flags)?;
            format!("{name}: reverted to snapshot {snap}")
        }
        VmOp::DeleteSnapshot {
            name: snap,
            children,
        } => {
            let s = Domain::lookup_snapshot_by_name(&dom, &snap, 0)?;
            let flags = if children {
                sys::VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN
            } else {
                0
            };
            s.delete(flags)?;
            if children {
                format!("{name}: snapshot {snap} and its children deleted")
            } else {
                format!("{name}: snapshot {snap} deleted")
            }
        }
        VmOp::DefineXml { xml } => define_xml(conn, uuid, &name, &xml)?,
        VmOp::Delete(opts) => delete(conn, &dom, &name, &opts)?,
    })
}

fn set_meta(dom: &Domain, kind: i32, text: &str, scope: Scope) -> Result<(), Error> {
    let value = (!text.is_empty()).then_some(text);
    dom.set_metadata(kind, value, None, None, scope.flags())
}

/// "disk vdb", "interface 52:54:00:…", or the element name.
fn device_label(xml: &str) -> String {
    let Ok(n) = crate::xml::tree::parse(xml, "device") else {
        return "device".into();
    };
    if n.name == "hostdev" {
        if let Some(spec) = crate::xml::hostdev::spec_of(&n) {
            return spec.label();
        }
    }
    let detail = match n.name.as_str() {
        "disk" => n.child_attr("target", "dev"),
        "interface" => n
            .child_attr("mac", "address")
            .or_else(|| n.child_attr("source", "network"))
            .or_else(|| n.child_attr("source", "bridge")),
        // A share by its mount tag; other devices by their model or type.
        "filesystem" => n.child_attr("target", "dir"),
        "sound" | "watchdog" => n.attr("model"),
        "input" | "redirdev" => n.attr("type"),
        "video" => n.child_attr("model", "type"),
        _ => None,
    };
    match (n.attr("device"), detail) {
        (Some("cdrom"), Some(d)) => format!("CD-ROM {d}"),
        (_, Some(d)) => format!("{} {d}", n.name),
        _ => n.name.clone(),
    }
}

/// Redefines the VM from edited XML. The XML must keep the VM's UUID: without it libvirt
/// would define a second VM instead of changing this one.
fn define_xml(conn: &Connect, uuid: &str, name: &str, xml: &str) -> Result<String, VmError> {
    let root = crate::xml::tree::parse(xml, "domain")?;
    match root.child_text("uuid") {
        Some(u) if u.eq_ignore_ascii_case(uuid) => {}
        Some(u) => {
            return refused(format!(
                "the XML has UUID {u}, not {name}'s {uuid}: that would define another VM"
            ))
        }
        None => {
            return refused(format!(
                "the XML has no <uuid>: keep {uuid} so it redefines {name}"
            ))
        }
    }
    let dom = conn.define_domain_xml_flags(xml, sys::VIR_DOMAIN_DEFINE_VALIDATE)?;
    let new = dom.name().unwrap_or_else(|_| name.to_string());
    Ok(if dom.is_active().unwrap_or(false) {
        format!("{new} redefined; changes apply from the next boot")
    } else {
        format!("{new} redefined")
    })
}

/// Stops (if running) and undefines the VM, then deletes the listed storage.
fn delete(conn: &Connect, dom: &Domain, name: &str, opts: &DeleteOpts) -> Result<String, VmError> {
    let persistent = dom.is_persistent()?;
    if persistent && !opts.snapshots {
        let n = dom.num_snapshots(0)?;
        if n > 0 {
            return refused(format!(
                "{name} has {n} snapshot(s): delete them too, or delete them first"
            ));
        }
    }
    if dom.is_active()? {
        dom.destroy()?;
    }
    if persistent {
        let mut flags = sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE;
        if opts.snapshots {
            flags |= sys::VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                | sys::VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA;
        }
        flags |= if opts.nvram {
            sys::VIR_DOMAIN_UNDEFINE_NVRAM
        } else {
            sys::VIR_DOMAIN_UNDEFINE_KEEP_NVRAM
        };
        // Drivers without NVRAM or checkpoints (the test driver behind --demo) refuse those
        // flags outright; such a domain has neither, so the flags it knows are enough.
        if let Err(e) = dom.undefine_flags(flags) {
            if !e.message().contains("unsupported flags") {
                return Err(e.into());
            }
            dom.undefine_flags(
                flags
                    & (sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                        | sys::VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA),
            )?;
        }
    }
    let mut left = Vec::new();
    let mut refreshed = false;
    for src in &opts.volumes {
        if let Err(e) = delete_volume(conn, src, &mut refreshed) {
            left.push(format!("{} ({})", src.label(), message(&e)));
        }
    }
    if left.is_empty() {
        Ok(match opts.volumes.len() {
            0 => format!("{name} deleted"),
            n => format!("{name} deleted with {n} volume(s)"),
        })
    } else {
        refused(format!(
            "{name} deleted, but storage was left behind: {}",
            left.join("; ")
        ))
    }
}

fn delete_volume(conn: &Connect, src: &Source, refreshed: &mut bool) -> Result<(), Error> {
    let vol = match src {
        Source::Volume { pool, volume } => conn
            .lookup_storage_pool_by_name(pool)?
            .lookup_storage_vol_by_name(volume)?,
        _ => {
            let path = src.path().unwrap_or_default();
            match conn.lookup_storage_vol_by_path(path) {
                Ok(v) => v,
                // A file created behind libvirt's back is unknown until its pool is refreshed.
                Err(_) if !*refreshed => {
                    *refreshed = true;
                    for p in
                        conn.list_all_storage_pools(sys::VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)?
                    {
                        let _ = p.refresh(0);
                    }
                    conn.lookup_storage_vol_by_path(path)?
                }
                Err(e) => return Err(e),
            }
        }
    };
    vol.delete(0)
}

/// `virDomainSnapshotCreateXML` flags: disk-only when asked, and atomic (all disks or none)
/// always.
fn snapshot_flags(spec: &crate::xml::snapshot::SnapshotSpec) -> u32 {
    let mut f = sys::VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC;
    if spec.disk_only {
        f |= sys::VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY;
    }
    if spec.quiesce {
        f |= sys::VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_are_atomic_and_disk_only_when_asked() {
        let hw = crate::xml::hardware::parse(crate::xml::hardware::tests::TINY_LIVE).unwrap();
        let spec = crate::xml::snapshot::SnapshotSpec::for_domain(&hw, "s", None, false);
        assert_eq!(
            snapshot_flags(&spec),
            sys::VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC
        );
        let ext = crate::xml::snapshot::SnapshotSpec::for_domain(&hw, "e", None, true);
        assert_eq!(
            snapshot_flags(&ext),
            sys::VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC | sys::VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY
        );
    }

    #[test]
    fn scope_flags_and_labels() {
        assert_eq!(Scope::default().flags(), 0);
        assert_eq!(Scope::LIVE.flags(), sys::VIR_DOMAIN_VCPU_LIVE);
        assert_eq!(Scope::CONFIG.flags(), sys::VIR_DOMAIN_MEM_CONFIG);
        assert_eq!(
            Scope::BOTH.flags(),
            sys::VIR_DOMAIN_DEVICE_MODIFY_LIVE | sys::VIR_DOMAIN_DEVICE_MODIFY_CONFIG
        );
        assert_eq!(Scope::for_vm(false, true), Scope::CONFIG);
        assert_eq!(Scope::BOTH.label(), "live and persistent");
    }

    #[test]
    fn device_labels() {
        let disk = crate::xml::device::DiskSpec::cdrom(None, crate::xml::device::Bus::Sata, "sdb");
        assert_eq!(device_label(&disk.to_xml().unwrap()), "CD-ROM sdb");
        assert_eq!(
            device_label("<interface type='network'><source network='default'/></interface>"),
            "interface default"
        );
        assert_eq!(device_label("<rng model='virtio'/>"), "rng");
        assert_eq!(
            device_label("<filesystem><target dir='t&lt;1'/></filesystem>"),
            "filesystem t<1"
        );
        assert_eq!(device_label("<sound model='ich9'/>"), "sound ich9");
        assert_eq!(device_label("<broken"), "device");
        assert_eq!(
            device_label(
                "<hostdev mode='subsystem' type='usb'><source><vendor id='0x1cf1'/>\
                 <product id='0x0030'/></source></hostdev>"
            ),
            "USB 1cf1:0030"
        );
    }

    #[test]
    fn storage_to_delete() {
        let hw = hardware::parse(hardware::tests::VIRT_INSTALL).unwrap();
        assert_eq!(
            storage_of(&hw),
            vec![Source::File("/var/lib/libvirt/images/web.qcow2".into())]
        );
        // The shareable volume and the empty CD-ROM are not the VM's to delete.
        let hw = hardware::parse(hardware::tests::TINY_LIVE).unwrap();
        assert_eq!(storage_of(&hw).len(), 1);
    }

    /// A VM the new-VM wizard made with cloud-init: its disk, the seed on a CD-ROM, an
    /// install ISO on another, and virtdeck's record of the volumes it made (the seed and a
    /// kernel no device names any more).
    fn cloud_vm(name: &str, uuid: &str, record: bool) -> String {
        let meta = if record {
            "<metadata><vd:vm xmlns:vd='urn:virtdeck:domain' uuid='6A3C2F0E-1B2D-4C5E-8F90-123456789ABC'>\
               <vd:volume pool='seeds' name='web-cidata.iso'/>\
               <vd:volume pool='default' name='web-kernel'/>\
             </vd:vm></metadata>"
        } else {
            ""
        };
        format!(
            "<domain type='kvm'><name>{name}</name><uuid>{uuid}</uuid>{meta}<devices>\
             <disk type='volume' device='disk'><source pool='default' volume='web.qcow2'/><target dev='vda'/></disk>\
             <disk type='volume' device='cdrom'><source pool='seeds' volume='web-cidata.iso'/><target dev='sda'/><readonly/></disk>\
             <disk type='file' device='cdrom'><source file='/isos/debian.iso'/><target dev='sdb'/><readonly/></disk>\
             </devices></domain>"
        )
    }

    #[test]
    fn storage_to_delete_includes_the_volumes_virtdeck_made() {
        let vol = |pool: &str, volume: &str| Source::Volume {
            pool: pool.into(),
            volume: volume.into(),
        };
        let uuid = "6a3c2f0e-1b2d-4c5e-8f90-123456789abc";
        let hw = hardware::parse(&cloud_vm("web", uuid, true)).unwrap();
        assert_eq!(
            storage_of(&hw),
            vec![
                vol("default", "web.qcow2"),
                vol("seeds", "web-cidata.iso"),
                vol("default", "web-kernel"),
            ],
            "disk, then the record (the seed once), never the install ISO"
        );
        // Renamed: the record still names them.
        let hw = hardware::parse(&cloud_vm("www", uuid, true)).unwrap();
        assert_eq!(storage_of(&hw).len(), 3);
        // A clone (new name and UUID, record copied): only its own disk.
        let other = "0b8f5a4e-0000-4000-8000-000000000001";
        let hw = hardware::parse(&cloud_vm("web2", other, true)).unwrap();
        assert_eq!(storage_of(&hw), vec![vol("default", "web.qcow2")]);
        // Made before the record existed: the seed is found by its name.
        let hw = hardware::parse(&cloud_vm("web", uuid, false)).unwrap();
        assert_eq!(
            storage_of(&hw),
            vec![vol("default", "web.qcow2"), vol("seeds", "web-cidata.iso")]
        );
    }
}
