//! The tags form (`t` in the VM table): the tags and note of one VM, or tags added to and
//! removed from the marked VMs (on any hosts). Each VM is changed by its host's worker in
//! virtdeck's metadata (`VmOp::EditMeta`); other metadata of the domain stays as it is.

use crate::app::requests;
use crate::app::wizard::{self, check, Context, Field, Spec, Wizard};
use crate::app::{App, Effect, Level, Mode};
use crate::host::vm::{VmCmd, VmOp};
use crate::host::HostCommand;
use crate::model::HostId;
use crate::xml::meta::parse_tags;

/// The VMs the form changes: (host, UUID, name).
#[derive(Clone, Debug, PartialEq)]
pub struct TagsForm {
    targets: Vec<(HostId, String, String)>,
}

impl TagsForm {
    fn one(&self) -> bool {
        self.targets.len() == 1
    }
}

/// Opens the form for the marked VMs, else the selected one.
pub fn open(app: &mut App) -> Vec<Effect> {
    let picked: Vec<(HostId, String)> = if app.vms.marks.is_empty() {
        app.focused_vm().into_iter().collect()
    } else {
        app.vms.marks.iter().cloned().collect()
    };
    let targets: Vec<(HostId, String, String)> = picked
        .iter()
        .filter_map(|(h, uuid)| {
            let v = app.host(*h)?.vms.iter().find(|v| &v.uuid == uuid)?;
            Some((*h, uuid.clone(), v.name.clone()))
        })
        .collect();
    let Some((host, uuid, name)) = targets.first().cloned() else {
        app.messages
            .push(Level::Info, "no VM selected to tag", app.now);
        return Vec::new();
    };
    let form = TagsForm { targets };
    let w = if form.one() {
        let vm = app
            .host(host)
            .and_then(|h| h.vms.iter().find(|v| v.uuid == uuid));
        let tags = vm.map(|v| v.tags.join(" ")).unwrap_or_default();
        let note = vm.and_then(|v| v.note.clone()).unwrap_or_default();
        Wizard::new(
            format!("Tags of {name}"),
            host,
            form,
            vec!["Tags"],
            vec![
                Field::text("tags", "Tags", 0, &tags)
                    .hint("words (letters, digits, - _ . : / @ +); filter with tag:NAME"),
                Field::text("note", "Note", 0, &note)
                    .hint("free text: who owns it, what it is for"),
            ],
        )
    } else {
        let n = form.targets.len();
        Wizard::new(
            format!("Tags of {n} marked VMs"),
            host,
            form,
            vec!["Tags"],
            vec![
                Field::text("add", "Add tags", 0, ""),
                Field::text("remove", "Remove tags", 0, ""),
            ],
        )
    };
    wizard::open(app, w)
}

impl Spec for TagsForm {
    fn verb(&self) -> &'static str {
        "apply"
    }

    fn refresh(&self, w: &mut Wizard, _ctx: &Context) {
        let keys: &[&str] = if self.one() {
            &["tags"]
        } else {
            &["add", "remove"]
        };
        for k in keys {
            let r = parse_tags(&w.get(k)).map(|_| ());
            check(w, k, r);
        }
        if let Some(f) = w.field("note") {
            let note = f.value();
            if note.chars().count() > 1000 {
                check(w, "note", Err("at most 1,000 characters".into()));
            }
        }
    }

    fn submit(&self, app: &mut App) -> Vec<Effect> {
        let Mode::Wizard(w) = &app.mode else {
            return Vec::new();
        };
        let op = if self.one() {
            VmOp::EditMeta {
                set: Some(parse_tags(&w.get("tags")).unwrap_or_default()),
                add: Vec::new(),
                remove: Vec::new(),
                note: Some(w.get("note")),
            }
        } else {
            VmOp::EditMeta {
                set: None,
                add: parse_tags(&w.get("add")).unwrap_or_default(),
                remove: parse_tags(&w.get("remove")).unwrap_or_default(),
                note: None,
            }
        };
        app.pop_overlay();
        let mut fx = Vec::new();
        for (host, uuid, name) in &self.targets {
            let (uuid, op) = (uuid.clone(), op.clone());
            fx.extend(requests::send(app, *host, format!("{name}: tags"), |id| {
                HostCommand::Vm(VmCmd::Act { id, uuid, op })
            }));
        }
        fx
    }

    fn needs_host(&self) -> bool {
        false
    }
}
