//! How the VM is named and described: its title (one line), description and name. libvirt
//! renames only shut-off VMs, and a new name must follow the shared rules and be free on the
//! host.

use super::{at, scope_field, Facts, Layout, Ops, Wizard};
use crate::app::wizard::{check, Field};
use crate::host::vm::{Scope, VmDetails, VmOp};
use crate::names::{self, NameKind};

pub(super) fn fields_title(d: &VmDetails) -> Layout {
    (
        format!("Title of {}", d.name),
        vec!["Title"],
        vec![
            Field::text(
                "text",
                "Title",
                0,
                d.hardware.title.as_deref().unwrap_or(""),
            )
            .hint("one line shown by virsh list --title; empty removes it"),
            scope_field(d),
        ],
    )
}

pub(super) fn fields_description(d: &VmDetails) -> Layout {
    (
        format!("Description of {}", d.name),
        vec!["Description"],
        vec![
            Field::text(
                "text",
                "Description",
                0,
                &d.hardware
                    .description
                    .as_deref()
                    .unwrap_or("")
                    .replace('\n', " "),
            )
            .hint("free text; empty removes it"),
            scope_field(d),
        ],
    )
}

pub(super) fn fields_rename(d: &VmDetails) -> Layout {
    (
        format!("Rename {}", d.name),
        vec!["Rename"],
        vec![Field::text("name", "New name", 0, &d.name).hint(&format!(
            "libvirt renames only shut-off VMs; {}",
            names::hint(NameKind::Vm)
        ))],
    )
}

pub(super) fn check_title(w: &mut Wizard) {
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

pub(super) fn check_rename(w: &mut Wizard, facts: &Facts) {
    let d = &facts.details;
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

pub(super) fn ops_title(w: &Wizard, scope: Scope) -> Ops {
    vec![(
        format!("title{}", at(scope)),
        VmOp::SetTitle {
            text: w.get("text"),
            scope,
        },
    )]
}

pub(super) fn ops_description(w: &Wizard, scope: Scope) -> Ops {
    vec![(
        format!("description{}", at(scope)),
        VmOp::SetDescription {
            text: w.get("text"),
            scope,
        },
    )]
}

pub(super) fn ops_rename(w: &Wizard) -> Ops {
    vec![(
        format!("rename to {}", w.get("name")),
        VmOp::Rename {
            name: w.get("name"),
        },
    )]
}
