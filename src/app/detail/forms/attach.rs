//! Attach a device to the VM: a disk (a host path, a pool volume, or a new volume created
//! first), a CD-ROM, a NIC, or one of the other devices `devices` builds (sound, RNG,
//! watchdog, video, input, serial, console, USB redirection, virtiofs), or a host device
//! (`hostdev`). One form; the device chosen shows its own fields.

use super::devices;
use super::facts::{default_pool, list, pool_check, pool_hint};
use super::hostdev;
use super::{at, fail, scope_field, scope_of, waiting, Facts, Layout, Ops, Wizard};
use crate::app::detail::After;
use crate::app::requests::Owner;
use crate::app::wizard::{check, Field};
use crate::app::{App, Effect, Mode};
use crate::host::vm::{Scope, VmDetails, VmOp};
use crate::host::{HostCommand, StorageCmd, VolOp};
use crate::model::HostId;
use crate::names::{self, NameKind};
use crate::size::parse_size;
use crate::xml::device::{
    next_target, valid_mac, Bus, Cache, DiskSource, DiskSpec, Io, NicSource, NicSpec, NIC_MODELS,
};
use crate::xml::volume::VolumeDef;

const DEFAULT: &str = "(default)";
/// Attach a volume created for the purpose.
const NEW_DISK: &str = "new volume";

pub(super) fn fields_attach(facts: &Facts) -> Layout {
    let d = &facts.details;
    let name = &d.name;
    let mut nic_sources = facts.networks.clone();
    if nic_sources.is_empty() {
        nic_sources.push("default".into());
    }
    let source = nic_sources.first().cloned().unwrap_or_default();
    let mut kinds = vec!["disk", NEW_DISK, "cdrom", "nic"];
    kinds.extend_from_slice(devices::KINDS);
    kinds.push(hostdev::KIND);
    let mut f = vec![
        Field::choice("what", "Device", 0, &kinds),
        Field::text("path", "Image", 0, "")
            .hint("a host path (/var/lib/libvirt/images/x.qcow2, /dev/sdb) or pool/volume"),
        Field::text("pool", "Pool", 0, &default_pool(facts, None)).hint(&pool_hint(facts)),
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
    ];
    f.extend(devices::fields(d));
    f.extend(hostdev::fields());
    f.push(scope_field(d));
    for x in &mut f {
        x.page = 0;
    }
    (format!("Attach to {name}"), vec!["Device", "Review"], f)
}

/// Shows the fields of the chosen device, checks them and rebuilds the review.
pub(super) fn check_attach(w: &mut Wizard, facts: &Facts) {
    let d = &facts.details;
    let what = w.get("what");
    let nic = what == "nic";
    let disk_like = !nic && !devices::owns(&what) && what != hostdev::KIND;
    let buses: Vec<String> = if what == "cdrom" {
        vec!["sata".into(), "scsi".into(), "ide".into()]
    } else {
        Bus::ALL.iter().map(|b| b.as_str().to_string()).collect()
    };
    w.set_options("bus", buses);
    let new_disk = what == NEW_DISK;
    for (keys, visible) in [
        (&["bus", "target"][..], disk_like),
        (&["format", "cache", "io"][..], what == "disk" || new_disk),
        (&["pool", "vol_name", "size"][..], new_disk),
        (&["path"][..], disk_like && !new_disk),
    ] {
        for k in keys {
            if let Some(f) = w.field_mut(k) {
                f.visible = visible;
            }
        }
    }
    let pool = w.get("pool");
    check(w, "pool", pool_check(facts, &pool));
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
    devices::check_device(w, d, facts.caps.as_ref(), &what);
    hostdev::check_hostdev(w, facts, &what);
    if devices::owns(&what) || what == hostdev::KIND {
        return;
    }
    // A disk or NIC goes where the VM allows (another device may have narrowed the scope).
    devices::offer_all_scopes(w, d);
    w.review_notes = Vec::new();
    w.review = Some(attach_xml(w, d));
}

pub(super) fn ops_attach(w: &Wizard, d: &VmDetails, scope: Scope) -> Result<Ops, String> {
    if devices::owns(&w.get("what")) {
        return devices::ops(w, d, scope);
    }
    if w.get("what") == hostdev::KIND {
        return hostdev::ops(w, scope);
    }
    Ok(vec![(
        format!("attach {}{}", w.get("what"), at(scope)),
        VmOp::AttachDevice {
            xml: attach_xml(w, d)?,
            scope,
        },
    )])
}

/// The form attaches a volume it creates first.
pub(super) fn new_volume(w: &Wizard) -> bool {
    w.get("what") == NEW_DISK
}

/// Creates the volume; the attach follows once it exists (`Owner::WizardThen`).
pub(super) fn submit_new_volume(app: &mut App, host: HostId, d: &VmDetails) -> Vec<Effect> {
    let Mode::Wizard(w) = &app.mode else {
        return Vec::new();
    };
    let made = (|| {
        let bytes = parse_size(&w.get("size")).map_err(|e| e.to_string())?;
        let vol = VolumeDef::new(&w.get("vol_name"), bytes, &w.get("format"), false, None)
            .to_xml()
            .map_err(|e| e.to_string())?;
        let dev = attach_xml(w, d)?;
        Ok::<_, String>((vol, dev))
    })();
    let (vol, dev) = match made {
        Ok(x) => x,
        Err(e) => {
            fail(app, e);
            return Vec::new();
        }
    };
    let (pool, volume, scope) = (w.get("pool"), w.get("vol_name"), scope_of(w, d));
    // The form waits for the volume; the attach follows once it exists.
    let then = After {
        host,
        uuid: d.uuid.clone(),
        what: format!("attach {pool}/{volume}"),
        op: VmOp::AttachDevice { xml: dev, scope },
    };
    let id = app.requests.issue(host, Owner::WizardThen(Box::new(then)));
    waiting(app, id);
    vec![Effect::Host(
        host,
        HostCommand::Storage(StorageCmd::Volume {
            id,
            pool,
            volume,
            op: VolOp::Create { xml: vol },
        }),
    )]
}

/// The device to attach from the form (also its review).
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

#[cfg(test)]
mod tests {
    use crate::app::detail::tests::{opened, ops, press, with_pools};
    use crate::app::detail::tick;
    use crate::app::{Effect, Mode, Msg};
    use crate::host::vm::{Scope, VmOp};
    use crate::host::{HostCommand, HostEvent};
    use crate::model::HostId;

    #[test]
    fn attach_new_volume_creates_it_then_attaches_it() {
        let mut a = opened(true);
        with_pools(&mut a, &["default"]);
        press(&mut a, "A");
        press(&mut a, "<Right>"); // Device: new volume
        let Mode::Wizard(w) = &a.mode else {
            panic!("no form")
        };
        assert_eq!(w.get("what"), "new volume");
        assert!(w.field("size").unwrap().visible && !w.field("path").unwrap().visible);
        press(&mut a, "<Enter>"); // review: the device XML
        let fx = press(&mut a, "<Enter>");
        let [Effect::Host(
            _,
            HostCommand::Storage(crate::host::StorageCmd::Volume {
                id, pool, volume, ..
            }),
        )] = fx.as_slice()
        else {
            panic!("{fx:?}")
        };
        assert_eq!(
            (pool.as_str(), volume.as_str()),
            ("default", "web-01-disk.qcow2")
        );
        assert!(
            tick(&mut a).is_empty(),
            "nothing attached before the volume exists"
        );
        a.update(Msg::Host(
            HostId(0),
            HostEvent::Reply {
                id: *id,
                reply: crate::host::Reply::Done(Ok("created".into())),
            },
        ));
        assert_eq!(a.mode, Mode::Normal);
        let sent = ops(&tick(&mut a));
        let [(_, VmOp::AttachDevice { xml, scope })] = sent.as_slice() else {
            panic!("{sent:?}")
        };
        assert!(
            xml.contains("web-01-disk.qcow2") && xml.contains("vdb"),
            "{xml}"
        );
        assert_eq!(*scope, Scope::BOTH);
        assert!(tick(&mut a).is_empty(), "sent once");
    }

    #[test]
    fn a_failed_new_volume_keeps_the_form_and_attaches_nothing() {
        let mut a = opened(true);
        with_pools(&mut a, &["default"]);
        press(&mut a, "A");
        press(&mut a, "<Right>"); // Device: new volume
        press(&mut a, "<Enter>"); // review
        let fx = press(&mut a, "<Enter>");
        let [Effect::Host(_, HostCommand::Storage(crate::host::StorageCmd::Volume { id, .. }))] =
            fx.as_slice()
        else {
            panic!("{fx:?}")
        };
        a.update(Msg::Host(
            HostId(0),
            HostEvent::Reply {
                id: *id,
                reply: crate::host::Reply::Done(Err("no space left".into())),
            },
        ));
        let Mode::Wizard(w) = &a.mode else {
            panic!("the form stays open")
        };
        assert_eq!(w.error.as_deref(), Some("no space left"));
        assert!(tick(&mut a).is_empty(), "the attach is dropped");
        assert!(a.requests.is_empty());
    }
}
