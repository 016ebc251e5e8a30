//! Clone and delete the VM. A clone is a job (it copies disks); deleting asks for the VM's
//! name typed in a confirm and lists the volumes, snapshots and NVRAM that go with it.

use super::facts::{default_pool, disk_pool, pool_check, pool_hint};
use super::{Facts, Layout, Wizard};
use crate::app::requests;
use crate::app::wizard::{check, Field};
use crate::app::{App, Effect, Mode};
use crate::host::vm::{storage_of, CloneSpec, DeleteOpts, VmCmd, VmDetails, VmOp};
use crate::host::HostCommand;
use crate::job::Job;
use crate::model::HostId;
use crate::names::{self, NameKind};

pub(super) fn fields_clone(facts: &Facts) -> Layout {
    let name = &facts.details.name;
    let pool = default_pool(facts, disk_pool(&facts.details));
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
    let mut cloud = vec![
        Field::text("user", "cloud-init user", 0, "admin")
            .hint("the sudo user the copy's first boot creates (with the SSH key below)"),
        Field::text("hostname", "Hostname", 0, "").hint("empty: the new VM's name"),
        Field::text("ssh_key", "SSH public key", 0, "")
            .hint("empty: no cloud-init; else a NoCloud seed ISO is attached as a CD-ROM"),
    ];
    for f in &mut cloud {
        f.visible = facts.template;
    }
    let title = if facts.template {
        format!("New VM from template {name}")
    } else {
        format!("Clone {name}")
    };
    (
        title,
        vec!["Clone"],
        vec![
            Field::text("name", "New name", 0, &clone_name).hint(&format!(
                "new UUID and MACs are generated, as virt-clone does; {}",
                names::hint(NameKind::Vm)
            )),
            Field::text("pool", "Into pool", 0, &pool).hint(&pool_hint(facts)),
            Field::toggle("linked", "Linked (qcow2 overlay)", 0, facts.template)
                .hint("instant and small, but the original must never change again"),
        ]
        .into_iter()
        .chain(cloud)
        .collect(),
    )
}

pub(super) fn fields_delete(d: &VmDetails) -> Layout {
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
    let mut nvram = Field::toggle("nvram", "Delete NVRAM", 0, true).hint("the UEFI variable store");
    nvram.visible = d.hardware.os.nvram.is_some();
    (
        format!("Delete {}", d.name),
        vec!["Delete", "Review"],
        vec![storage, snaps, nvram],
    )
}

pub(super) fn check_clone(w: &mut Wizard, facts: &Facts) {
    let d = &facts.details;
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
    check(w, "pool", pool_check(facts, &p));
    if facts.template {
        let c = cloud_of(w);
        let problems = c
            .as_ref()
            .map(crate::cloudinit::validate)
            .unwrap_or_default();
        for key in ["user", "hostname", "ssh_key"] {
            let msg = problems
                .iter()
                .find(|(f, _)| {
                    *f == key || (key == "ssh_key" && matches!(*f, "ssh_keys" | "password"))
                })
                .map(|(_, m)| m.clone());
            check(w, key, msg.map_or(Ok(()), Err));
        }
    }
}

/// The cloud-init of a VM from a template: none without an SSH key.
fn cloud_of(w: &Wizard) -> Option<crate::cloudinit::CloudConfig> {
    crate::cloudinit::for_copy(
        &w.get("user"),
        &w.get("hostname"),
        &w.get("ssh_key"),
        &w.get("name"),
    )
}

/// The review: what goes and what stays.
pub(super) fn check_delete(w: &mut Wizard, d: &VmDetails) {
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

/// Starts the clone as a job; the form closes and comes back with the error if it fails.
pub(super) fn submit_clone(app: &mut App, host: HostId, d: &VmDetails) -> Vec<Effect> {
    let Mode::Wizard(w) = &app.mode else {
        return Vec::new();
    };
    let form = w.clone();
    let spec = CloneSpec {
        name: w.get("name"),
        pool: w.get("pool"),
        linked: w.on("linked"),
        cloud: cloud_of(w),
    };
    let job = Job::new(format!("clone of {} as {}", d.name, spec.name));
    let uuid = d.uuid.clone();
    crate::app::detail::start_job(
        app,
        host,
        (crate::app::jobs::JobKind::Clone, spec.name.clone()),
        uuid.clone(),
        (job.clone(), form),
        VmCmd::Clone { uuid, spec, job },
    )
}

/// Asks for the VM's name typed before undefining it.
pub(super) fn submit_delete(app: &mut App, host: HostId, d: &VmDetails) -> Vec<Effect> {
    let Mode::Wizard(w) = &app.mode else {
        return Vec::new();
    };
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
    let uuid = d.uuid.clone();
    requests::confirm(
        app,
        format!("Delete VM {}?", d.name),
        body,
        Some(d.name.clone()),
        host,
        format!("{}: delete", d.name),
        |id| {
            HostCommand::Vm(VmCmd::Act {
                id,
                uuid,
                op: VmOp::Delete(opts),
            })
        },
    );
    Vec::new()
}

#[cfg(test)]
mod tests {
    use crate::app::detail::tests::{changed, details, opened, ops, press, type_text, with_pools};
    use crate::app::{Effect, Mode, Msg};
    use crate::host::vm::{VmCmd, VmOp};
    use crate::host::{HostCommand, HostEvent};
    use crate::model::{HostId, Snapshot};
    use crate::xml::hardware::Source;

    #[test]
    fn delete_vm_lists_volumes_and_wants_the_name_typed() {
        let mut a = opened(false);
        press(&mut a, "D");
        assert!(matches!(a.mode, Mode::Wizard(_)));
        press(&mut a, "<Space>"); // delete storage: on
        press(&mut a, "<Enter>"); // review
        let fx = press(&mut a, "<Enter>");
        assert!(fx.is_empty());
        let Mode::Confirm(c) = &a.mode else {
            panic!("no typed confirm: {:?}", a.mode)
        };
        assert!(c
            .body
            .iter()
            .any(|l| l.contains("/var/lib/libvirt/images/web-01.qcow2")));
        assert!(press(&mut a, "<Enter>").is_empty(), "name not typed yet");
        type_text(&mut a, "web-01");
        let fx = press(&mut a, "<Enter>");
        let sent = ops(&fx);
        let [(_, VmOp::Delete(opts))] = sent.as_slice() else {
            panic!("{sent:?}")
        };
        assert_eq!(
            opts.volumes,
            vec![Source::File("/var/lib/libvirt/images/web-01.qcow2".into())]
        );
    }

    /// A VM named with newlines (`nl-a&#10;[[hosts]]&#10;b` in its XML) is deleted by typing the
    /// name as the dialog shows it.
    #[test]
    fn delete_vm_named_with_newlines_confirms_with_the_shown_name() {
        let raw = "nl-a\n[[hosts]]\nb";
        let mut a = opened(false);
        let mut d = details(false);
        d.name = raw.into();
        changed(&mut a, d);
        press(&mut a, "D");
        press(&mut a, "<Enter>"); // review
        press(&mut a, "<Enter>");
        let Mode::Confirm(c) = &a.mode else {
            panic!("no typed confirm: {:?}", a.mode)
        };
        assert_eq!(c.typed.as_ref().map(|t| t.0.as_str()), Some(raw));
        type_text(&mut a, "nl-a\\n[[hosts]]\\nb");
        let fx = press(&mut a, "<Enter>");
        let sent = ops(&fx);
        assert!(
            matches!(sent.as_slice(), [(_, VmOp::Delete(_))]),
            "{sent:?}"
        );
    }

    /// Before the host has named its pools the clone form guesses none (it used to offer
    /// "default", which this host lacks, and lose the form to "Storage pool not found"); when the
    /// pools arrive the form takes the one the VM's disk is in, and a pool the host lacks is
    /// refused in the form.
    #[test]
    fn clone_waits_for_the_hosts_pools_and_offers_one_it_has() {
        let mut a = opened(false);
        press(&mut a, "C");
        let Mode::Wizard(w) = &a.mode else {
            panic!("no clone form")
        };
        assert_eq!(w.get("pool"), "");
        assert!(w.field("pool").unwrap().error.is_some());
        assert!(
            press(&mut a, "<Enter>").is_empty(),
            "nothing sent without a pool"
        );
        assert!(matches!(a.mode, Mode::Wizard(_)), "the form stays");
        // The host's poll arrives naming its pools; "default" is not one of them.
        with_pools(&mut a, &["fast", "bulk"]);
        let now = a.now;
        let vms = a.hosts[0].vms.clone();
        a.update(Msg::Host(
            HostId(0),
            HostEvent::Snapshot(Snapshot {
                vms,
                taken_at: now,
                receipt: Default::default(),
                node: None,
            }),
        ));
        let Mode::Wizard(w) = &mut a.mode else {
            panic!("form closed")
        };
        assert_eq!(w.get("pool"), "fast", "a pool the host has");
        assert!(w.field("pool").unwrap().hint.contains("fast, bulk"));
        assert!(w.field("pool").unwrap().error.is_none());
        w.set_text("pool", "default");
        let ctx = match &a.mode {
            Mode::Wizard(w) => crate::app::wizard::context(&a, w.host, w.spec.as_ref()),
            m => panic!("no form: {m:?}"),
        };
        if let Mode::Wizard(w) = &mut a.mode {
            crate::app::wizard::refresh(w, &ctx);
            let e = w.field("pool").unwrap().error.clone().unwrap_or_default();
            assert!(e.contains("no pool default"), "{e}");
        }
    }

    #[test]
    fn clone_refused_while_running_then_sent_as_a_job() {
        let mut a = opened(true);
        press(&mut a, "C");
        let fx = press(&mut a, "<Enter>");
        assert!(fx.is_empty(), "running VM: not cloned");
        let Mode::Wizard(w) = &a.mode else {
            panic!("form closed")
        };
        assert!(w.field("name").unwrap().error.is_some());

        let mut a = opened(false);
        with_pools(&mut a, &["default"]);
        press(&mut a, "C");
        let fx = press(&mut a, "<Enter>");
        let [Effect::Host(_, HostCommand::Vm(VmCmd::Clone { spec, job, .. }))] = fx.as_slice()
        else {
            panic!("{fx:?}")
        };
        assert_eq!(spec.name, "web-01-clone");
        assert_eq!(
            a.jobs.of(&[crate::app::jobs::JobKind::Clone]).count(),
            1,
            "the clone is a job of the jobs pane"
        );
        press(&mut a, "x");
        assert!(job.is_cancelled(), "x cancels the clone");
    }

    /// `T` marks a template; its clone form is "New VM from template" with cloud-init
    /// fields, linked by default, and sends the seed's configuration.
    #[test]
    fn a_templates_clone_form_offers_cloud_init() {
        let mut a = opened(false);
        with_pools(&mut a, &["default"]);
        let fx = press(&mut a, "T");
        assert!(
            fx.iter().any(|e| matches!(
                e,
                Effect::Host(
                    _,
                    HostCommand::Vm(VmCmd::Act {
                        op: crate::host::vm::VmOp::SetTemplate(true),
                        ..
                    })
                )
            )),
            "{fx:?}"
        );
        std::sync::Arc::make_mut(&mut a.hosts[0].vms[0]).template = true;
        press(&mut a, "C");
        let Mode::Wizard(w) = &a.mode else {
            panic!("no form")
        };
        assert!(w.title.starts_with("New VM from template"), "{}", w.title);
        assert!(w.on("linked"));
        assert!(w.field("user").unwrap().visible);
        // To the key field (the user is `admin` unless typed): a key asks for cloud-init.
        for c in ["<Tab>", "<Tab>", "<Tab>", "<Tab>", "<Tab>"] {
            press(&mut a, c);
        }
        crate::app::detail::tests::type_text(&mut a, "not-a-key");
        let Mode::Wizard(w) = &mut a.mode else {
            panic!("no form")
        };
        assert_eq!(w.get("user"), "admin");
        assert!(
            w.field("ssh_key").unwrap().error.is_some(),
            "a bad key is said"
        );
        w.set_text("ssh_key", "");
        crate::app::detail::tests::type_text(
            &mut a,
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm0Fb2z1mJ5v2nQ3m0s1l6c9dXbq2m3b8n5Yk2wQm5q t@h",
        );
        let fx = press(&mut a, "<Enter>");
        let spec = fx
            .iter()
            .find_map(|e| match e {
                Effect::Host(_, HostCommand::Vm(VmCmd::Clone { spec, .. })) => Some(spec),
                _ => None,
            })
            .unwrap_or_else(|| panic!("a clone: {fx:?} {:?}", a.mode));
        let cloud = spec.cloud.as_ref().unwrap();
        assert_eq!(
            (cloud.user.as_str(), cloud.hostname.as_str()),
            ("admin", spec.name.as_str())
        );
        assert!(spec.linked);
    }

    /// A clone the host refuses brings the form back with the error and what was typed.
    #[test]
    fn a_failed_clone_reopens_its_form_with_the_error() {
        let mut a = opened(false);
        with_pools(&mut a, &["default"]);
        press(&mut a, "C");
        if let Mode::Wizard(w) = &mut a.mode {
            w.set_text("name", "kept-name");
        }
        let fx = press(&mut a, "<Enter>");
        let [Effect::Host(_, HostCommand::Vm(VmCmd::Clone { job, .. }))] = fx.as_slice() else {
            panic!("{fx:?}")
        };
        assert_eq!(a.mode, Mode::Normal);
        job.finish(crate::job::JobState::Failed(
            "Storage pool not found: no storage pool with matching name 'default'".into(),
        ));
        crate::app::jobs::tick(&mut a);
        let Mode::Wizard(w) = &a.mode else {
            panic!("the form did not come back: {:?}", a.mode)
        };
        assert_eq!(w.get("name"), "kept-name");
        assert_eq!(w.submit, crate::app::wizard::Submit::Editing);
        assert!(w
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("Storage pool not found"));
        // The job stays in the jobs pane, finished, and the form is not offered twice.
        let j = &a.jobs.list[0];
        assert!(j.finished.is_some() && j.form.is_none());
        a.pop_overlay();
        crate::app::jobs::tick(&mut a);
        assert_eq!(a.mode, Mode::Normal);
    }
}
