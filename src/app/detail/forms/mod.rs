//! The VM detail screen's forms: vCPUs, memory, title, description, rename, boot order, CD-ROM
//! media, block resize, attach a device, new snapshot, delete snapshot, clone and
//! delete the VM. Each carries the VM's details as they were when it opened; the scope
//! field shows where a change applies (live, persistent or both, as the VM allows).
//!
//! The generic wizard types and pages; it carries a form as a `wizard::Spec` (`VmForm`) and
//! hands checking and submitting back here. This module dispatches by form to the group that
//! owns it: `resources` (vCPUs, memory, disk size), `identity` (title, description, rename),
//! `boot` (boot order, media), `attach` (disk, CD-ROM, NIC; the other devices in `devices`,
//! host devices in `hostdev`),
//! `snapshots`, `lifecycle` (clone, delete); `facts` is what they check against.

mod attach;
mod backup;
mod boot;
mod devices;
mod disk_move;
mod facts;
mod hostdev;
mod identity;
mod lifecycle;
mod password;
mod resources;
mod restore;
mod snapshots;

use crate::app::requests::Owner;
use crate::app::wizard::{self, Context, Field, Spec, Submit, Wizard};
use crate::app::{App, Effect, Mode};
use crate::host::vm::{Scope, VmCmd, VmDetails, VmOp};
use crate::host::{HostCommand, RequestId};
use crate::model::HostId;

use facts::Facts;

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
    Backup,
    Restore,
    /// Set a guest user's password through the agent.
    Password,
    /// Move `disks[disk]` to another pool or format.
    MoveDisk {
        disk: usize,
    },
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
            Form::Backup => "back up",
            Form::Restore => "restore",
            Form::Password => "set",
            Form::MoveDisk { .. } => "move",
        }
    }
}

/// A detail form as the generic wizard carries it: which form, and what it checks against.
#[derive(Clone, Debug, PartialEq)]
struct VmForm {
    form: Form,
    facts: Facts,
}

impl Spec for VmForm {
    fn verb(&self) -> &'static str {
        self.form.verb()
    }

    fn refresh(&self, w: &mut Wizard, ctx: &Context) {
        refresh(w, ctx)
    }

    fn submit(&self, app: &mut App) -> Vec<Effect> {
        submit(app)
    }

    fn follows_host(&self) -> bool {
        true
    }
}

/// The detail form `w` shows, if it shows one.
fn of(w: &Wizard) -> Option<&VmForm> {
    w.spec_as()
}

fn of_mut(w: &mut Wizard) -> Option<&mut VmForm> {
    w.spec_as_mut()
}

/// What a form opens with: its title, page titles and fields.
type Layout = (String, Vec<&'static str>, Vec<Field>);

/// The changes a form asks for, each with what it does, in order (the last one is what the
/// form waits for).
type Ops = Vec<(String, VmOp)>;

/// Where a change can apply, widest first (see `Scope::for_vm`).
fn scopes(d: &VmDetails) -> Vec<Scope> {
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

pub use disk_move::refusal as move_refusal;

/// Opens a form on the detail screen's VM.
pub fn open(app: &mut App, host: HostId, d: &VmDetails, form: Form) -> Vec<Effect> {
    let inv = crate::app::storage::inventory(app, host);
    let attach = matches!(form, Form::Attach);
    let w = new(host, form, facts::gather(app, host, d));
    // Attach and clone want the host's pools and networks: ask, the form fills in on the answer.
    let mut fx = Vec::new();
    if inv.is_none() {
        fx.push(Effect::Host(
            host,
            HostCommand::Storage(crate::host::StorageCmd::Refresh),
        ));
    }
    // The attach form offers a TPM as the host allows (models, swtpm installed).
    if attach {
        fx.push(Effect::Host(host, HostCommand::Caps));
        // Devices come and go (USB): read them again each time the form opens.
        fx.push(Effect::Host(host, HostCommand::NodeDevices));
    }
    fx.extend(wizard::open(app, w));
    fx
}

fn new(host: HostId, form: Form, facts: Facts) -> Wizard {
    let d = &facts.details;
    let (title, pages, fields) = match &form {
        Form::Vcpus => resources::fields_vcpus(d),
        Form::Memory => resources::fields_memory(d),
        Form::Title => identity::fields_title(d),
        Form::Description => identity::fields_description(d),
        Form::Rename => identity::fields_rename(d),
        Form::Boot => boot::fields_order(d),
        Form::Cdrom { disk } => boot::fields_media(d, *disk),
        Form::Resize { disk } => resources::fields_resize(d, *disk),
        Form::Attach => attach::fields_attach(&facts),
        Form::Snapshot => snapshots::fields_new(d),
        Form::DeleteSnapshot { name } => snapshots::fields_delete(d, name),
        Form::Clone => lifecycle::fields_clone(&facts),
        Form::Backup => backup::fields(&facts),
        Form::Restore => restore::fields(&facts),
        Form::Password => password::fields(d),
        Form::MoveDisk { disk } => disk_move::fields(&facts, *disk),
        Form::Delete => lifecycle::fields_delete(d),
    };
    Wizard::new(title, host, VmForm { form, facts }, pages, fields)
}

/// Re-checks the fields after a change.
fn refresh(w: &mut Wizard, ctx: &Context) {
    facts::learn_pools(w, ctx);
    let Some(VmForm { form, facts }) = of(w).cloned() else {
        return;
    };
    let d = &facts.details;
    match form {
        Form::Vcpus => resources::check_vcpus(w, d),
        Form::Memory => resources::check_memory(w, d),
        Form::Title => identity::check_title(w),
        Form::Rename => identity::check_rename(w, &facts),
        Form::Boot => boot::check_order(w),
        Form::Resize { disk } => resources::check_resize(w, d, disk),
        Form::Attach => attach::check_attach(w, &facts),
        Form::Snapshot => snapshots::check_new(w, d),
        Form::Clone => lifecycle::check_clone(w, &facts),
        Form::Backup => backup::check_form(w, &facts),
        Form::Restore => restore::check_form(w, &facts),
        Form::Password => password::check_form(w, d),
        Form::MoveDisk { disk } => disk_move::check_form(w, &facts, disk),
        Form::Delete => lifecycle::check_delete(w, d),
        Form::Description | Form::Cdrom { .. } | Form::DeleteSnapshot { .. } => {}
    }
}

/// The changes the form asks for (forms that send one `VmOp` after another).
fn ops(w: &Wizard, form: &Form, d: &VmDetails) -> Result<Ops, String> {
    let scope = scope_of(w, d);
    match form {
        Form::Vcpus => resources::ops_vcpus(w, d, scope),
        Form::Memory => resources::ops_memory(w, d, scope),
        Form::Title => Ok(identity::ops_title(w, scope)),
        Form::Description => Ok(identity::ops_description(w, scope)),
        Form::Rename => Ok(identity::ops_rename(w)),
        Form::Boot => boot::ops_order(w, d),
        Form::Cdrom { disk } => boot::ops_media(w, d, *disk, scope),
        Form::Resize { disk } => resources::ops_resize(w, d, *disk),
        Form::Attach => attach::ops_attach(w, d, scope),
        Form::Snapshot => Ok(snapshots::ops_new(w, d)),
        Form::Password => Ok(password::ops(w)),
        Form::DeleteSnapshot { name } => Ok(snapshots::ops_delete(w, name)),
        Form::Clone | Form::Backup | Form::Restore | Form::MoveDisk { .. } | Form::Delete => {
            Ok(Vec::new())
        }
    }
}

/// " (live)": where a change applies, for its label.
fn at(scope: Scope) -> String {
    format!(" ({})", scope.label())
}

/// The last page was confirmed.
fn submit(app: &mut App) -> Vec<Effect> {
    let Mode::Wizard(w) = &app.mode else {
        return Vec::new();
    };
    let Some(vf) = of(w) else {
        return Vec::new();
    };
    let (host, form, d) = (w.host, vf.form.clone(), vf.facts.details.clone());
    match form {
        Form::Clone => lifecycle::submit_clone(app, host, &d),
        Form::Backup => backup::submit(app, host, &d),
        Form::Restore => restore::submit(app, host, &d),
        Form::MoveDisk { disk } => disk_move::submit(app, host, &d, disk),
        Form::Delete => lifecycle::submit_delete(app, host, &d),
        Form::Attach if attach::new_volume(w) => attach::submit_new_volume(app, host, &d),
        _ => {
            let list = match ops(w, &form, &d) {
                Ok(l) => l,
                Err(e) => {
                    fail(app, e);
                    return Vec::new();
                }
            };
            send(app, host, &d, list)
        }
    }
}

/// Sends the form's changes one after another; the form waits for the last one.
fn send(app: &mut App, host: HostId, d: &VmDetails, list: Ops) -> Vec<Effect> {
    let n = list.len();
    let mut fx = Vec::new();
    for (i, (what, op)) in list.into_iter().enumerate() {
        let owner = if i + 1 == n {
            Owner::Wizard
        } else {
            Owner::Action(format!("{}: {what}", d.name))
        };
        let id = app.requests.issue(host, owner);
        if i + 1 == n {
            waiting(app, id);
        }
        fx.push(Effect::Host(
            host,
            HostCommand::Vm(VmCmd::Act {
                id,
                uuid: d.uuid.clone(),
                op,
            }),
        ));
    }
    fx
}

/// The form stays open with `e` under it.
fn fail(app: &mut App, e: String) {
    if let Mode::Wizard(w) = &mut app.mode {
        w.error = Some(e);
    }
}

/// The form waits for the answer tagged `id`.
fn waiting(app: &mut App, id: RequestId) {
    if let Mode::Wizard(w) = &mut app.mode {
        w.submit = Submit::Waiting(id);
        w.error = None;
    }
}

#[cfg(test)]
mod tests {
    use crate::app::detail::tests::{opened, press};
    use crate::app::{App, Mode};

    /// Every name field of the detail forms refuses what the shared rules refuse (a leading '.',
    /// a bidi override), not only '/'.
    #[test]
    fn detail_name_fields_follow_the_shared_rules() {
        let field_error = |a: &App, key: &str| match &a.mode {
            Mode::Wizard(w) => w.field(key).and_then(|f| f.error.clone()),
            other => panic!("no form: {other:?}"),
        };
        // Clone: a leading '.' would hide the new VM's config file.
        let mut a = opened(false);
        press(&mut a, "C");
        let Mode::Wizard(w) = &mut a.mode else {
            panic!("no clone form")
        };
        w.set_text("name", ".hidden");
        super::refresh(w, &Default::default());
        assert!(field_error(&a, "name").is_some(), "clone name '.hidden'");
        // Snapshot: libvirt refuses a leading '.'; a bidi override garbles every listing.
        for bad in [".s", "s\u{202e}1"] {
            let mut a = opened(false);
            press(&mut a, "n");
            let Mode::Wizard(w) = &mut a.mode else {
                panic!("no snapshot form")
            };
            w.set_text("name", bad);
            super::refresh(w, &Default::default());
            assert!(field_error(&a, "name").is_some(), "snapshot {bad:?}");
        }
    }
}
