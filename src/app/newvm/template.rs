//! "a template (clone)" as the wizard's install method: a new VM cloned from one of the
//! host's templates (a full copy or a qcow2 linked overlay per disk, new name, UUID and
//! MACs) with optional cloud-init for its first boot. Only the method's own fields show (the
//! template, linked, cloud-init, the pool, the name); submitting sends a clone job.

use super::{visible, Facts, TEMPLATE};
use crate::app::wizard::{check, Field, Wizard};
use crate::app::{App, Effect, Mode};
use crate::host::vm::{CloneSpec, VmCmd};
use crate::job::Job;
use crate::names::{self, NameKind};

/// The fields this method uses; every other field of the wizard is hidden.
const OWN: [&str; 8] = [
    "method", "template", "linked", "user", "ssh_key", "hostname", "pool", "name",
];

/// The wizard's fields for the method (added to its field list, page 0).
pub fn fields() -> Vec<Field> {
    vec![
        Field::choice("template", "Template", 0, &[]).hint("the host's templates (T marks one)"),
        Field::toggle("linked", "Linked (qcow2 overlay)", 0, true)
            .hint("instant and small; the template must then never change"),
    ]
}

pub fn refresh(w: &mut Wizard, f: &Facts) {
    let on = w.get("method") == TEMPLATE;
    visible(w, "template", on);
    visible(w, "linked", on);
    if !on {
        return;
    }
    let keys: Vec<&'static str> = w.fields.iter().map(|x| x.key).collect();
    for k in keys {
        visible(w, k, OWN.contains(&k));
    }
    w.set_options(
        "template",
        f.templates.iter().map(|(n, _)| n.clone()).collect(),
    );
    let template = w.get("template");
    check(
        w,
        "template",
        if f.templates.is_empty() {
            Err("the host has no template: T on a shut-off VM's detail screen marks one".into())
        } else if f.templates.iter().any(|(n, _)| *n == template) {
            Ok(())
        } else {
            Err("choose a template".into())
        },
    );
    let pools: Vec<String> = f.pools.iter().map(|p| p.name.clone()).collect();
    w.set_options("pool", pools);
    let pool = w.get("pool");
    check(
        w,
        "pool",
        if f.pools.iter().any(|p| p.name == pool) {
            Ok(())
        } else if !f.storage_known {
            Err("waiting for the host's pools…".into())
        } else {
            Err("the host has no active pool".into())
        },
    );
    let name = w.get("name");
    check(
        w,
        "name",
        names::check(NameKind::Vm, &name).and_then(|()| {
            if f.vm_names.contains(&name) {
                Err(format!("{} already has a VM named {name}", f.host_name))
            } else {
                Ok(())
            }
        }),
    );
    let cloud = cloud(w);
    for k in ["user", "ssh_key", "hostname"] {
        check(w, k, Ok(()));
    }
    if let Some(c) = &cloud {
        for (field, msg) in crate::cloudinit::validate(c) {
            let key = match field {
                "ssh_keys" | "password" => "ssh_key",
                other => other,
            };
            check(w, key, Err(msg));
        }
    }
    let mut lines = vec![format!(
        "{} clone of template {template} as {name} into pool {pool}",
        if w.on("linked") { "Linked" } else { "Full" }
    )];
    lines.push("New UUID and MACs; the template stays as it is.".into());
    lines.push(match &cloud {
        Some(c) => format!(
            "cloud-init: user {}, host name {} (a NoCloud seed ISO attached as a CD-ROM)",
            c.user, c.hostname
        ),
        None => "No cloud-init (no SSH key given).".into(),
    });
    w.review = Some(Ok(lines.join("\n")));
}

/// The cloud-init the fields ask for: none without an SSH key.
fn cloud(w: &Wizard) -> Option<crate::cloudinit::CloudConfig> {
    crate::cloudinit::for_copy(
        &w.get("user"),
        &w.get("hostname"),
        &w.get("ssh_key"),
        &w.get("name"),
    )
}

/// Sends the clone of the chosen template as a job of the jobs pane.
pub fn submit(app: &mut App, f: &Facts) -> Vec<Effect> {
    let Mode::Wizard(w) = &app.mode else {
        return Vec::new();
    };
    let (host, form) = (w.host, w.clone());
    let template = w.get("template");
    let Some((_, uuid)) = f.templates.iter().find(|(n, _)| *n == template) else {
        return Vec::new();
    };
    let spec = CloneSpec {
        name: w.get("name"),
        pool: w.get("pool"),
        linked: w.on("linked"),
        cloud: cloud(w),
    };
    let job = Job::new(format!("new VM {} from template {template}", spec.name));
    crate::app::detail::start_job(
        app,
        host,
        (crate::app::jobs::JobKind::Clone, spec.name.clone()),
        uuid.clone(),
        (job.clone(), form),
        VmCmd::Clone {
            uuid: uuid.clone(),
            spec,
            job,
        },
    )
}
