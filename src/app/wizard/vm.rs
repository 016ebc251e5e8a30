//! The VM detail screen's forms: vCPUs, memory, title, description, rename, boot order, CD-ROM
//! media, block resize, attach a disk/CD-ROM/NIC, new snapshot, delete snapshot, clone and
//! delete the VM. Each carries the VM's details as they were when it opened; the scope
//! field shows where a change applies (live, persistent or both, as the VM allows).

use super::{check, Field, Kind, Submit, Wizard};
use crate::app::requests::{self, Owner};
use crate::app::{App, Effect, Mode};
use crate::fmt;
use crate::host::vm::{storage_of, CloneSpec, DeleteOpts, Scope, VmCmd, VmDetails, VmOp};
use crate::host::{HostCommand, StorageCmd, VolOp};
use crate::job::Job;
use crate::model::HostId;
use crate::names::{self, NameKind};
use crate::size::parse_size;
use crate::xml::device::{
    next_target, valid_mac, Bus, Cache, DiskSource, DiskSpec, Io, NicSource, NicSpec, NIC_MODELS,
};
use crate::xml::edit::{set_boot_order, BootOrder};
use crate::xml::snapshot::SnapshotSpec;
use crate::xml::volume::VolumeDef;

/// Which form.
#[derive(Clone, Debug, PartialEq)]
pub enum Form {
    Vcpus,
    Memory,
    Title,
    Description,
    Rename,
    Boot,
    /// Change or eject the media of `disks[disk]`.
    Cdrom {
        disk: usize,
    },
    /// Grow `disks[disk]` of the running guest.
    Resize {
        disk: usize,
    },
    Attach,
    Snapshot,
    DeleteSnapshot {
        name: String,
    },
    Clone,
    Delete,
}

impl Form {
    /// What submitting the form does (its key hint and review heading).
    pub fn verb(&self) -> &'static str {
        match self {
            Form::Vcpus
            | Form::Memory
            | Form::Title
            | Form::Description
            | Form::Boot
            | Form::Cdrom { .. } => "apply",
            Form::Rename => "rename",
            Form::Resize { .. } => "grow",
            Form::Attach => "attach",
            Form::Snapshot => "create",
            Form::DeleteSnapshot { .. } | Form::Delete => "delete",
            Form::Clone => "clone",
        }
    }
}

/// What a form checks against: the VM and its host's names.
#[derive(Clone, Debug, PartialEq)]
pub struct Facts {
    pub details: VmDetails,
    pub networks: Vec<String>,
    pub bridges: Vec<String>,
    pub pools: Vec<String>,
    /// The host has answered with its pools (else `pools` is empty for want of an answer).
    pub pools_known: bool,
    /// Other VMs on the host (rename and clone must not reuse one).
    pub vm_names: Vec<String>,
}

const DEFAULT: &str = "(default)";
/// Attach a volume created for the purpose.
const NEW_DISK: &str = "new volume";

/// A pool the host has: `preferred` (the VM's own disk's), else "default", else the first.
/// Empty while the host's pools are not known: never a guess the host may not have.
fn default_pool(facts: &Facts, preferred: Option<&str>) -> String {
    let has = |p: &str| facts.pools.iter().any(|x| x == p);
    preferred
        .filter(|p| has(p))
        .or_else(|| has("default").then_some("default"))
        .or(facts.pools.first().map(String::as_str))
        .unwrap_or_default()
        .to_string()
}

/// The pool of the VM's first disk that is a pool volume.
fn disk_pool(d: &VmDetails) -> Option<&str> {
    d.hardware.disks.iter().find_map(|x| match &x.source {
        crate::xml::hardware::Source::Volume { pool, .. } => Some(pool.as_str()),
        _ => None,
    })
}

fn pool_hint(facts: &Facts) -> String {
    if facts.pools_known {
        format!("pools: {}", list(&facts.pools))
    } else {
        "asking the host for its pools…".into()
    }
}

/// A pool field's check: the pool must be one the host has.
fn pool_check(facts: &Facts, pool: &str) -> Result<(), String> {
    if !facts.pools_known {
        Err("waiting for the host's list of pools".into())
    } else if facts.pools.is_empty() {
        Err("the host has no active storage pool: define one in the pools pane (3)".into())
    } else if pool.is_empty() {
        Err("name a pool".into())
    } else if !facts.pools.iter().any(|p| p == pool) {
        Err(format!("no pool {pool} (pools: {})", list(&facts.pools)))
    } else {
        Ok(())
    }
}

/// Where a change can apply, widest first (see `Scope::for_vm`).
pub fn scopes(d: &VmDetails) -> Vec<Scope> {
    match (d.active, d.persistent) {
        (true, true) => vec![Scope::BOTH, Scope::LIVE, Scope::CONFIG],
        (true, false) => vec![Scope::LIVE],
        (false, _) => vec![Scope::CONFIG],
    }
}

fn scope_field(d: &VmDetails) -> Field {
    let labels: Vec<&str> = scopes(d).iter().map(|s| s.label()).collect();
    Field::choice("scope", "Applies", 0, &labels).hint(match (d.active, d.persistent) {
        (true, true) => "live: the running guest now; persistent: from the next boot",
        (true, false) => "a transient VM has only its running definition",
        (false, _) => "the VM is shut off: the change is in its definition",
    })
}

fn scope_of(w: &Wizard, d: &VmDetails) -> Scope {
    let v = w.get("scope");
    scopes(d)
        .into_iter()
        .find(|s| s.label() == v)
        .unwrap_or_else(|| d.scope())
}

/// The size as libvirt's KiB, entered like "512M" or "2G".
fn kib(text: &str) -> Result<u64, String> {
    let b = parse_size(text).map_err(|e| e.to_string())?;
    if b < 1024 {
        return Err("at least 1 KiB".into());
    }
    Ok(b / 1024)
}

fn size_text(kib: u64) -> String {
    fmt::kib(kib).replace(' ', "")
}

/// Opens a form on the detail screen's VM.
pub fn open(app: &mut App, host: HostId, d: &VmDetails, form: Form) -> Vec<Effect> {
    let inv = crate::app::storage::inventory(app, host);
    // Only the host matters for the pools the context names.
    let ctx = super::context(app, &Kind::Network { host });
    let nets = app.host(host).and_then(|h| h.networks.as_ref());
    let facts = Facts {
        details: d.clone(),
        networks: nets
            .map(|n| n.networks.iter().map(|n| n.name.clone()).collect())
            .unwrap_or_default(),
        bridges: nets
            .map(|n| {
                n.ifaces
                    .iter()
                    .filter(|i| i.kind == "bridge")
                    .map(|i| i.name.clone())
                    .collect()
            })
            .unwrap_or_default(),
        pools: ctx.pools,
        pools_known: ctx.pools_known,
        vm_names: app
            .host(host)
            .map(|h| {
                h.vms
                    .iter()
                    .filter(|v| v.uuid != d.uuid)
                    .map(|v| v.name.clone())
                    .collect()
            })
            .unwrap_or_default(),
    };
    let w = new(host, form, facts);
    // Attach and clone want the host's pools and networks: ask, the form fills in on the answer.
    let mut fx = Vec::new();
    if inv.is_none() {
        fx.push(Effect::Host(
            host,
            HostCommand::Storage(crate::host::StorageCmd::Refresh),
        ));
    }
    fx.extend(crate::app::storage::open_wizard(app, w));
    fx
}

pub fn new(host: HostId, form: Form, facts: Facts) -> Wizard {
    let d = &facts.details;
    let hw = &d.hardware;
    let name = d.name.clone();
    let (title, pages, fields): (String, Vec<&'static str>, Vec<Field>) = match &form {
        Form::Vcpus => {
            let mut f = vec![
                Field::text("count", "vCPUs", 0, &hw.vcpus.current.to_string())
                    .hint("online vCPUs; a live change needs CPU hotplug in the guest"),
            ];
            if d.persistent {
                f.push(
                    Field::text("max", "Maximum", 0, &hw.vcpus.max.to_string())
                        .hint("the boot-time maximum (persistent; next boot)"),
                );
            }
            f.push(scope_field(d));
            (format!("vCPUs of {name}"), vec!["vCPUs"], f)
        }
        Form::Memory => {
            let mut f =
                vec![
                    Field::text("current", "Memory", 0, &size_text(hw.memory.current_kib))
                        .hint("the balloon target, e.g. 512M or 2G; live needs a balloon driver"),
                ];
            if d.persistent {
                f.push(
                    Field::text("max", "Maximum", 0, &size_text(hw.memory.memory_kib))
                        .hint("the boot-time maximum (persistent; QEMU cannot change it live)"),
                );
            }
            f.push(scope_field(d));
            (format!("Memory of {name}"), vec!["Memory"], f)
        }
        Form::Title => (
            format!("Title of {name}"),
            vec!["Title"],
            vec![
                Field::text("text", "Title", 0, hw.title.as_deref().unwrap_or(""))
                    .hint("one line shown by virsh list --title; empty removes it"),
                scope_field(d),
            ],
        ),
        Form::Description => (
            format!("Description of {name}"),
            vec!["Description"],
            vec![
                Field::text(
                    "text",
                    "Description",
                    0,
                    &hw.description.as_deref().unwrap_or("").replace('\n', " "),
                )
                .hint("free text; empty removes it"),
                scope_field(d),
            ],
        ),
        Form::Rename => (
            format!("Rename {name}"),
            vec!["Rename"],
            vec![Field::text("name", "New name", 0, &name).hint(&format!(
                "libvirt renames only shut-off VMs; {}",
                names::hint(NameKind::Vm)
            ))],
        ),
        Form::Boot => (
            format!("Boot order of {name}"),
            vec!["Boot order"],
            vec![Field::text(
                "order",
                "Boot devices",
                0,
                &match hw.boot_order() {
                    BootOrder::Os(l) => l.join(","),
                    BootOrder::Devices(_) => "hd".into(),
                },
            )
            .hint("comma-separated: hd, cdrom, network, fd (replaces per-device boot order)")],
        ),
        Form::Cdrom { disk } => {
            let cur = hw
                .disks
                .get(*disk)
                .and_then(|x| x.source.path().map(str::to_string))
                .unwrap_or_default();
            (
                format!(
                    "CD-ROM {} of {name}",
                    hw.disks.get(*disk).map(|x| x.target.as_str()).unwrap_or("")
                ),
                vec!["Media"],
                vec![
                    Field::text("iso", "ISO image", 0, &cur)
                        .hint("a path on the host; empty ejects the media"),
                    scope_field(d),
                ],
            )
        }
        Form::Resize { disk } => (
            format!(
                "Resize disk {} of {name}",
                hw.disks.get(*disk).map(|x| x.target.as_str()).unwrap_or("")
            ),
            vec!["Resize"],
            vec![Field::text("size", "New size", 0, "")
                .hint("the new capacity, e.g. 20G; disks only grow (the running guest sees it)")],
        ),
        Form::Attach => {
            let mut nic_sources = facts.networks.clone();
            if nic_sources.is_empty() {
                nic_sources.push("default".into());
            }
            let source = nic_sources.first().cloned().unwrap_or_default();
            let mut f = vec![
                Field::choice("what", "Device", 0, &["disk", NEW_DISK, "cdrom", "nic"]),
                Field::text("path", "Image", 0, "")
                    .hint("a host path (/var/lib/libvirt/images/x.qcow2, /dev/sdb) or pool/volume"),
                Field::text("pool", "Pool", 0, &default_pool(&facts, None))
                    .hint(&pool_hint(&facts)),
                Field::text("vol_name", "Volume name", 0, &format!("{name}-disk.qcow2"))
                    .hint(&names::hint(NameKind::Volume)),
                Field::text("size", "Size", 0, "10G").hint("a thin volume: 10G, 512MiB"),
                Field::choice("bus", "Bus", 0, &["virtio", "sata", "scsi", "ide"]),
                Field::text("target", "Target", 0, "").hint("empty: the next free name on the bus"),
                Field::choice("format", "Format", 0, &["raw", "qcow2"]),
                Field::choice(
                    "cache",
                    "Cache",
                    0,
                    &[
                        DEFAULT,
                        "none",
                        "writeback",
                        "writethrough",
                        "directsync",
                        "unsafe",
                    ],
                ),
                Field::choice("io", "I/O", 0, &[DEFAULT, "native", "threads"])
                    .hint("native needs cache none or directsync"),
                Field::choice("nic_kind", "Connect to", 0, &["network", "bridge"]),
                Field::text("source", "Network", 0, &source).hint(&format!(
                    "networks: {}; bridges: {}",
                    list(&facts.networks),
                    list(&facts.bridges)
                )),
                Field::choice("model", "Model", 0, NIC_MODELS),
                Field::text("mac", "MAC", 0, "").hint("empty: libvirt picks one"),
                scope_field(d),
            ];
            for x in &mut f {
                x.page = 0;
            }
            (format!("Attach to {name}"), vec!["Device", "Review"], f)
        }
        Form::Snapshot => {
            let modes: &[&str] = if d.active {
                &["disk and memory", "disk only"]
            } else {
                &["disk", "disk only"]
            };
            let n = (1..)
                .map(|i| format!("snap{i}"))
                .find(|n| d.snapshots.get(n).is_none())
                .unwrap_or_default();
            (
                format!("New snapshot of {name}"),
                vec!["Snapshot", "Review"],
                vec![
                    Field::text("name", "Name", 0, &n).hint(&names::hint(NameKind::Snapshot)),
                    Field::text("description", "Description", 0, ""),
                    Field::choice("mode", "Contents", 0, modes).hint(
                        "internal snapshots (qcow2) keep disks, and memory while running; disk only: external overlay files",
                    ),
                ],
            )
        }
        Form::DeleteSnapshot { name: snap } => {
            let below = d.snapshots.descendants(snap).len();
            let mut f = Field::toggle("children", "With children", 0, false).hint(&format!(
                "also delete the {below} snapshot(s) below it; without, they move up to its parent"
            ));
            f.visible = below > 0;
            (
                format!("Delete snapshot {snap} of {name}?"),
                vec!["Delete snapshot"],
                vec![f],
            )
        }
        Form::Clone => {
            let pool = default_pool(&facts, disk_pool(&facts.details));
            let clone_name = (1..)
                .map(|i| {
                    if i == 1 {
                        format!("{name}-clone")
                    } else {
                        format!("{name}-clone{i}")
                    }
                })
                .find(|n| !facts.vm_names.contains(n))
                .unwrap_or_default();
            (
                format!("Clone {name}"),
                vec!["Clone"],
                vec![
                    Field::text("name", "New name", 0, &clone_name).hint(&format!(
                        "new UUID and MACs are generated, as virt-clone does; {}",
                        names::hint(NameKind::Vm)
                    )),
                    Field::text("pool", "Into pool", 0, &pool).hint(&pool_hint(&facts)),
                    Field::toggle("linked", "Linked (qcow2 overlay)", 0, false)
                        .hint("instant and small, but the original must never change again"),
                ],
            )
        }
        Form::Delete => {
            let vols = storage_of(&d.hardware);
            let mut storage = Field::toggle("storage", "Delete storage", 0, false).hint(&format!(
                "{} volume(s): {}",
                vols.len(),
                vols.iter()
                    .map(|s| s.label())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            storage.visible = !vols.is_empty();
            let mut snaps = Field::toggle("snapshots", "Delete snapshots", 0, true)
                .hint("their metadata; libvirt refuses to undefine a VM that still has snapshots");
            snaps.visible = !d.snapshots.snapshots.is_empty();
            let mut nvram =
                Field::toggle("nvram", "Delete NVRAM", 0, true).hint("the UEFI variable store");
            nvram.visible = d.hardware.os.nvram.is_some();
            (
                format!("Delete {name}"),
                vec!["Delete", "Review"],
                vec![storage, snaps, nvram],
            )
        }
    };
    Wizard::new(
        title,
        Kind::Vm {
            host,
            form,
            facts: Box::new(facts),
        },
        pages,
        fields,
    )
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.join(", ")
    }
}

/// The host's pools arrived after the form opened: take them, fill an empty pool field with
/// the default (what the user typed stays) and say which pools there are.
fn learn_pools(w: &mut Wizard, ctx: &super::Context) {
    let Kind::Vm { facts, .. } = &mut w.kind else {
        return;
    };
    if !ctx.pools_known || (facts.pools_known && facts.pools == ctx.pools) {
        return;
    }
    facts.pools = ctx.pools.clone();
    facts.pools_known = true;
    let default = default_pool(facts, disk_pool(&facts.details));
    let hint = pool_hint(facts);
    if w.get("pool").is_empty() {
        w.set_text("pool", &default);
    }
    if let Some(f) = w.field_mut("pool") {
        f.hint = hint;
    }
}

fn facts(w: &Wizard) -> Option<(Form, Box<Facts>)> {
    match &w.kind {
        Kind::Vm { form, facts, .. } => Some((form.clone(), facts.clone())),
        _ => None,
    }
}

fn count(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("a whole number, at least 1".into()),
    }
}

/// The disk to attach from the form (also its review).
fn attach_xml(w: &Wizard, d: &VmDetails) -> Result<String, String> {
    match w.get("what").as_str() {
        "nic" => {
            let src = w.get("source");
            let spec = NicSpec {
                source: if w.get("nic_kind") == "bridge" {
                    NicSource::Bridge(src)
                } else {
                    NicSource::Network(src)
                },
                model: Some(w.get("model")),
                mac: Some(w.get("mac")).filter(|m| !m.is_empty()),
            };
            if let Some((_, e)) = spec.validate().into_iter().next() {
                return Err(e);
            }
            spec.to_xml().map_err(|e| e.to_string())
        }
        what => {
            let bus = Bus::ALL
                .into_iter()
                .find(|b| b.as_str() == w.get("bus"))
                .unwrap_or(Bus::Virtio);
            let target = match w.get("target") {
                t if t.is_empty() => next_target(bus, &d.hardware.disk_targets())
                    .ok_or_else(|| format!("no free target name on {}", bus.as_str()))?,
                t => t,
            };
            let path = w.get("path");
            let mut spec = if what == NEW_DISK {
                DiskSpec::disk(
                    DiskSource::Volume {
                        pool: w.get("pool"),
                        volume: w.get("vol_name"),
                    },
                    bus,
                    &target,
                    Some(w.get("format").as_str()),
                )
            } else if what == "cdrom" {
                DiskSpec::cdrom(Some(path.as_str()).filter(|p| !p.is_empty()), bus, &target)
            } else {
                let source = if path.starts_with("/dev/") {
                    DiskSource::Block(path)
                } else if path.starts_with('/') {
                    DiskSource::File(path)
                } else if let Some((pool, volume)) = path.split_once('/') {
                    DiskSource::Volume {
                        pool: pool.to_string(),
                        volume: volume.to_string(),
                    }
                } else {
                    return Err("a host path starting with / or pool/volume".into());
                };
                DiskSpec::disk(source, bus, &target, Some(w.get("format").as_str()))
            };
            spec.cache = Cache::ALL
                .into_iter()
                .find(|c| c.as_str() == w.get("cache"));
            spec.io = Io::ALL.into_iter().find(|i| i.as_str() == w.get("io"));
            if let Some((_, e)) = spec.validate().into_iter().next() {
                return Err(e);
            }
            spec.to_xml().map_err(|e| e.to_string())
        }
    }
}

fn snapshot_spec(w: &Wizard, d: &VmDetails) -> SnapshotSpec {
    let desc = w.get("description");
    SnapshotSpec::for_domain(
        &d.hardware,
        &w.get("name"),
        Some(desc.as_str()).filter(|s| !s.is_empty()),
        w.get("mode") == "disk only",
    )
}

/// Re-checks the fields after a change.
pub fn refresh(w: &mut Wizard, ctx: &super::Context) {
    learn_pools(w, ctx);
    let Some((form, facts)) = facts(w) else {
        return;
    };
    let d = &facts.details;
    match form {
        Form::Vcpus => {
            let c = count(&w.get("count"));
            let max = if d.persistent {
                count(&w.get("max"))
            } else {
                Ok(d.hardware.vcpus.max)
            };
            check(w, "max", max.clone().map(|_| ()));
            check(
                w,
                "count",
                c.and_then(|c| match max {
                    Ok(m) if c > m => Err(format!("more than the maximum ({m})")),
                    _ => Ok(()),
                }),
            );
        }
        Form::Memory => {
            let cur = kib(&w.get("current"));
            let max = if d.persistent {
                kib(&w.get("max"))
            } else {
                Ok(d.hardware.memory.memory_kib)
            };
            check(w, "max", max.clone().map(|_| ()));
            check(
                w,
                "current",
                cur.and_then(|c| match max {
                    Ok(m) if c > m => Err(format!("more than the maximum ({})", fmt::kib(m))),
                    _ => Ok(()),
                }),
            );
        }
        Form::Title => {
            let t = w.get("text");
            check(
                w,
                "text",
                if t.contains('\n') {
                    Err("one line".into())
                } else {
                    Ok(())
                },
            );
        }
        Form::Description => {}
        Form::Rename => {
            let n = w.get("name");
            let r = if n == d.name {
                Err("that is its name".into())
            } else if let Err(e) = names::check(NameKind::Vm, &n) {
                Err(e)
            } else if facts.vm_names.contains(&n) {
                Err(format!("the host already has a VM named {n}"))
            } else if d.active {
                Err("shut the VM down first: libvirt renames only shut-off VMs".into())
            } else {
                Ok(())
            };
            check(w, "name", r);
        }
        Form::Boot => {
            let r = boot_list(&w.get("order")).map(|_| ());
            check(w, "order", r);
        }
        Form::Cdrom { .. } => {}
        Form::Resize { disk } => {
            let r = parse_size(&w.get("size"))
                .map_err(|e| e.to_string())
                .and_then(|_| {
                    if !d.active {
                        Err("the VM is shut off: grow its volume in the pools pane (3)".into())
                    } else if d.hardware.disks.get(disk).is_none() {
                        Err("the disk is gone".into())
                    } else {
                        Ok(())
                    }
                });
            check(w, "size", r);
        }
        Form::Attach => {
            let what = w.get("what");
            let nic = what == "nic";
            let buses: Vec<String> = if what == "cdrom" {
                vec!["sata".into(), "scsi".into(), "ide".into()]
            } else {
                Bus::ALL.iter().map(|b| b.as_str().to_string()).collect()
            };
            w.set_options("bus", buses);
            for k in ["bus", "target"] {
                if let Some(f) = w.field_mut(k) {
                    f.visible = !nic;
                }
            }
            let new_disk = what == NEW_DISK;
            for k in ["format", "cache", "io"] {
                if let Some(f) = w.field_mut(k) {
                    f.visible = what == "disk" || new_disk;
                }
            }
            for k in ["pool", "vol_name", "size"] {
                if let Some(f) = w.field_mut(k) {
                    f.visible = new_disk;
                }
            }
            if let Some(f) = w.field_mut("path") {
                f.visible = !nic && !new_disk;
            }
            let pool = w.get("pool");
            check(w, "pool", pool_check(&facts, &pool));
            let vol = w.get("vol_name");
            check(w, "vol_name", names::check(NameKind::Volume, &vol));
            check(
                w,
                "size",
                parse_size(&w.get("size"))
                    .map_err(|e| e.to_string())
                    .and_then(|b| {
                        if b == 0 {
                            Err("more than 0".into())
                        } else {
                            Ok(())
                        }
                    }),
            );
            for k in ["nic_kind", "source", "model", "mac"] {
                if let Some(f) = w.field_mut(k) {
                    f.visible = nic;
                }
            }
            if let Some(f) = w.field_mut("path") {
                f.label = if what == "cdrom" {
                    "ISO image"
                } else {
                    "Image"
                };
            }
            let bridge = w.get("nic_kind") == "bridge";
            if let Some(f) = w.field_mut("source") {
                f.label = if bridge { "Bridge" } else { "Network" };
            }
            let path = w.get("path");
            check(
                w,
                "path",
                if what == "disk" && path.is_empty() {
                    Err("enter the image's path or pool/volume".into())
                } else {
                    Ok(())
                },
            );
            let mac = w.get("mac");
            check(
                w,
                "mac",
                if !mac.is_empty() && !valid_mac(&mac) {
                    Err("six hex pairs like 52:54:00:12:34:56".into())
                } else {
                    Ok(())
                },
            );
            let src = w.get("source");
            check(
                w,
                "source",
                if src.is_empty() {
                    Err("name a network or bridge".into())
                } else {
                    Ok(())
                },
            );
            let target = w.get("target");
            check(
                w,
                "target",
                if d.hardware.disk_targets().contains(&target) {
                    Err(format!("{target} is taken"))
                } else {
                    Ok(())
                },
            );
            w.review = Some(attach_xml(w, d));
        }
        Form::Snapshot => {
            let spec = snapshot_spec(w, d);
            let mut errs = spec.validate();
            let name = w.get("name");
            if d.snapshots.get(&name).is_some() {
                errs.push(("name", format!("{name} exists")));
            }
            check(
                w,
                "name",
                errs.iter()
                    .find(|(k, _)| *k == "name")
                    .map_or(Ok(()), |(_, e)| Err(e.clone())),
            );
            check(
                w,
                "mode",
                errs.iter()
                    .find(|(k, _)| *k == "disks")
                    .map_or(Ok(()), |(_, e)| Err(e.clone())),
            );
            w.review = Some(spec.to_xml().map_err(|e| e.to_string()));
        }
        Form::DeleteSnapshot { .. } => {}
        Form::Clone => {
            let n = w.get("name");
            let r = if let Err(e) = names::check(NameKind::Vm, &n) {
                Err(e)
            } else if n == d.name || facts.vm_names.contains(&n) {
                Err(format!("the host already has a VM named {n}"))
            } else if d.active {
                Err("shut the VM down first: virtdeck clones only shut-off VMs".into())
            } else {
                Ok(())
            };
            check(w, "name", r);
            let p = w.get("pool");
            check(w, "pool", pool_check(&facts, &p));
        }
        Form::Delete => {
            let mut lines = vec![format!("Undefine {} ({})", d.name, d.uuid)];
            if d.active {
                lines.push("It is running: it is forced off first.".into());
            }
            if w.on("storage") {
                lines.push("Delete these volumes:".into());
                lines.extend(
                    storage_of(&d.hardware)
                        .iter()
                        .map(|s| format!("  {}", s.label())),
                );
            } else {
                lines.push("Keep its storage.".into());
            }
            if !d.snapshots.snapshots.is_empty() {
                lines.push(if w.on("snapshots") {
                    format!("Delete {} snapshot(s).", d.snapshots.snapshots.len())
                } else {
                    "Keep snapshots: libvirt will refuse while they exist.".into()
                });
            }
            if d.hardware.os.nvram.is_some() {
                lines.push(if w.on("nvram") {
                    "Delete the NVRAM file.".into()
                } else {
                    "Keep the NVRAM file.".into()
                });
            }
            w.review = Some(Ok(lines.join("\n")));
        }
    }
}

fn boot_list(text: &str) -> Result<Vec<String>, String> {
    let l: Vec<String> = text
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if l.is_empty() {
        return Err("at least one of hd, cdrom, network, fd".into());
    }
    if let Some(bad) = l
        .iter()
        .find(|s| !["hd", "cdrom", "network", "fd"].contains(&s.as_str()))
    {
        return Err(format!("{bad}: not one of hd, cdrom, network, fd"));
    }
    Ok(l)
}

/// The changes the form asks for, in order (the last one is what the form waits for).
fn ops(w: &Wizard, form: &Form, d: &VmDetails) -> Result<Vec<(String, VmOp)>, String> {
    let scope = scope_of(w, d);
    let at = format!(" ({})", scope.label());
    Ok(match form {
        Form::Vcpus => {
            let count = count(&w.get("count"))?;
            let mut v = Vec::new();
            if d.persistent {
                let max = self::count(&w.get("max"))?;
                if max != d.next_boot.as_ref().unwrap_or(&d.hardware).vcpus.max {
                    v.push((
                        format!("vCPU maximum {max}"),
                        VmOp::SetMaxVcpus { count: max },
                    ));
                }
            }
            v.push((
                format!("vCPUs {count}{at}"),
                VmOp::SetVcpus { count, scope },
            ));
            v
        }
        Form::Memory => {
            let cur = kib(&w.get("current"))?;
            let mut v = Vec::new();
            if d.persistent {
                let max = kib(&w.get("max"))?;
                if max
                    != d.next_boot
                        .as_ref()
                        .unwrap_or(&d.hardware)
                        .memory
                        .memory_kib
                {
                    v.push((
                        format!("memory maximum {}", fmt::kib(max)),
                        VmOp::SetMaxMemory {
                            kib: max,
                            scope: Scope::CONFIG,
                        },
                    ));
                }
            }
            v.push((
                format!("memory {}{at}", fmt::kib(cur)),
                VmOp::SetMemory { kib: cur, scope },
            ));
            v
        }
        Form::Title => vec![(
            format!("title{at}"),
            VmOp::SetTitle {
                text: w.get("text"),
                scope,
            },
        )],
        Form::Description => vec![(
            format!("description{at}"),
            VmOp::SetDescription {
                text: w.get("text"),
                scope,
            },
        )],
        Form::Rename => vec![(
            format!("rename to {}", w.get("name")),
            VmOp::Rename {
                name: w.get("name"),
            },
        )],
        Form::Boot => {
            let base = d
                .inactive_xml
                .as_deref()
                .ok_or("a transient VM has no definition to change")?;
            let xml = set_boot_order(base, &BootOrder::Os(boot_list(&w.get("order"))?))
                .map_err(|e| e.to_string())?;
            vec![("boot order".into(), VmOp::DefineXml { xml })]
        }
        Form::Cdrom { disk } => {
            let x = d.hardware.disks.get(*disk).ok_or("the drive is gone")?;
            let iso = w.get("iso");
            let spec = DiskSpec::cdrom(
                Some(iso.as_str()).filter(|s| !s.is_empty()),
                crate::app::detail::items::bus_of(x),
                &x.target,
            );
            vec![(
                if iso.is_empty() {
                    format!("eject {}{at}", x.target)
                } else {
                    format!("insert {iso} into {}{at}", x.target)
                },
                VmOp::UpdateDevice {
                    xml: spec.to_xml().map_err(|e| e.to_string())?,
                    scope,
                },
            )]
        }
        Form::Resize { disk } => {
            let x = d.hardware.disks.get(*disk).ok_or("the disk is gone")?;
            let bytes = parse_size(&w.get("size")).map_err(|e| e.to_string())?;
            vec![(
                format!("resize {} to {}", x.target, fmt::bytes(bytes)),
                VmOp::BlockResize {
                    target: x.target.clone(),
                    bytes,
                },
            )]
        }
        Form::Attach => vec![(
            format!("attach {}{at}", w.get("what")),
            VmOp::AttachDevice {
                xml: attach_xml(w, d)?,
                scope,
            },
        )],
        Form::Snapshot => {
            let spec = snapshot_spec(w, d);
            vec![(
                format!("snapshot {}", spec.name),
                VmOp::CreateSnapshot(spec),
            )]
        }
        Form::DeleteSnapshot { name } => vec![(
            format!("delete snapshot {name}"),
            VmOp::DeleteSnapshot {
                name: name.clone(),
                children: w.on("children"),
            },
        )],
        Form::Clone | Form::Delete => Vec::new(),
    })
}

/// The last page was confirmed.
pub fn submit(app: &mut App) -> Vec<Effect> {
    let Mode::Wizard(w) = &app.mode else {
        return Vec::new();
    };
    let Kind::Vm { host, form, facts } = &w.kind else {
        return Vec::new();
    };
    let (host, form, d) = (*host, form.clone(), facts.details.clone());
    let uuid = d.uuid.clone();
    match form {
        Form::Clone => {
            let spec = CloneSpec {
                name: w.get("name"),
                pool: w.get("pool"),
                linked: w.on("linked"),
            };
            let job = Job::new(format!("clone of {} as {}", d.name, spec.name));
            let form = match &app.mode {
                Mode::Wizard(w) => w.clone(),
                _ => return Vec::new(),
            };
            crate::app::detail::start_clone(
                app,
                host,
                uuid.clone(),
                spec.name.clone(),
                job.clone(),
                form,
            );
            app.pop_overlay();
            vec![Effect::Host(
                host,
                HostCommand::Vm(VmCmd::Clone { uuid, spec, job }),
            )]
        }
        Form::Delete => {
            let opts = DeleteOpts {
                volumes: if w.on("storage") {
                    storage_of(&d.hardware)
                } else {
                    Vec::new()
                },
                snapshots: w.on("snapshots"),
                nvram: w.on("nvram"),
            };
            let mut body = vec![format!("Undefine {} ({}).", d.name, d.uuid)];
            if d.active {
                body.push("It is running and is forced off first.".into());
            }
            for v in &opts.volumes {
                body.push(format!("delete volume {}", v.label()));
            }
            body.push(format!("Type {} to confirm.", d.name));
            requests::confirm(
                app,
                format!("Delete VM {}?", d.name),
                body,
                Some(d.name.clone()),
                host,
                format!("{}: delete", d.name),
                |tag| {
                    HostCommand::Vm(VmCmd::Act {
                        tag,
                        uuid,
                        op: VmOp::Delete(opts),
                    })
                },
            );
            Vec::new()
        }
        Form::Attach if w.get("what") == NEW_DISK => {
            let made = (|| {
                let bytes = parse_size(&w.get("size")).map_err(|e| e.to_string())?;
                let vol = VolumeDef::new(&w.get("vol_name"), bytes, &w.get("format"), false, None)
                    .to_xml()
                    .map_err(|e| e.to_string())?;
                let dev = attach_xml(w, &d)?;
                Ok::<_, String>((vol, dev))
            })();
            let (vol, dev) = match made {
                Ok(x) => x,
                Err(e) => {
                    if let Mode::Wizard(w) = &mut app.mode {
                        w.error = Some(e);
                    }
                    return Vec::new();
                }
            };
            let (pool, volume, scope) = (w.get("pool"), w.get("vol_name"), scope_of(w, &d));
            // The form waits for the volume; the attach follows once it exists.
            let tag = app.requests.tag(host, Owner::Wizard);
            if let Mode::Wizard(w) = &mut app.mode {
                w.submit = Submit::Waiting(tag);
                w.error = None;
            }
            crate::app::detail::then(
                app,
                tag,
                host,
                uuid,
                format!("attach {pool}/{volume}"),
                VmOp::AttachDevice { xml: dev, scope },
            );
            vec![Effect::Host(
                host,
                HostCommand::Storage(StorageCmd::Volume {
                    tag,
                    pool,
                    volume,
                    op: VolOp::Create { xml: vol },
                }),
            )]
        }
        _ => {
            let list = match ops(w, &form, &d) {
                Ok(l) => l,
                Err(e) => {
                    if let Mode::Wizard(w) = &mut app.mode {
                        w.error = Some(e);
                    }
                    return Vec::new();
                }
            };
            let n = list.len();
            let mut fx = Vec::new();
            for (i, (what, op)) in list.into_iter().enumerate() {
                let owner = if i + 1 == n {
                    Owner::Wizard
                } else {
                    Owner::Action(format!("{}: {what}", d.name))
                };
                let tag = app.requests.tag(host, owner);
                if i + 1 == n {
                    if let Mode::Wizard(w) = &mut app.mode {
                        w.submit = Submit::Waiting(tag);
                        w.error = None;
                    }
                }
                fx.push(Effect::Host(
                    host,
                    HostCommand::Vm(VmCmd::Act {
                        tag,
                        uuid: uuid.clone(),
                        op,
                    }),
                ));
            }
            fx
        }
    }
}
