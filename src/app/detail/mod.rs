//! The VM detail screen: tabs (Overview, Hardware, Snapshots, XML), a cache of each VM's
//! definitions and snapshots read through its host's worker, the cursors of each tab, the
//! in-app XML editor and the actions each tab offers. Nothing here waits on libvirt: reads
//! and changes go out as effects and come back as replies (`Reply::VmDetails`, `Reply::Done`)
//! and `HostEvent::VmChanged`.

mod editor;
pub mod forms;
pub mod items;

use crate::app::PaneId;
use std::cell::Cell;
use std::collections::HashMap;

use super::jobs::{JobEntry, JobKind};
use super::requests::{self, Owner};
use super::toast::Level;
use super::{App, Effect, View};
use crate::config::keymap::Action;
use crate::host::vm::{VmCmd, VmDetails, VmOp};
use crate::host::{HostCommand, RequestId};
use crate::job::{Job, JobState};
use crate::model::HostId;
use forms::Form;

pub use editor::{shown_xml, XmlEditor, XmlStage};
pub use items::HwItem;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tab {
    #[default]
    Overview,
    Hardware,
    Snapshots,
    Xml,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Overview, Tab::Hardware, Tab::Snapshots, Tab::Xml];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Hardware => "Hardware",
            Tab::Snapshots => "Snapshots",
            Tab::Xml => "XML",
        }
    }

    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    fn step(self, forward: bool) -> Tab {
        let n = Tab::ALL.len();
        let i = self.index();
        Tab::ALL[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }
}

/// What the app knows of one VM's definitions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cached {
    /// The last answer (kept while a newer read is under way, so the screen does not blink).
    pub details: Option<Box<VmDetails>>,
    /// A read is under way.
    pub loading: bool,
    /// The last read failed (shown above older details, if any).
    pub error: Option<String>,
    /// The guest agent's answer for one boot of the VM (its domain id), asked once.
    pub agent: Option<(Option<u32>, crate::host::agent::AgentSlot)>,
}

#[derive(Debug, Default)]
pub struct DetailUi {
    pub tab: Tab,
    pub cache: HashMap<(HostId, String), Cached>,
    pub hw_sel: usize,
    pub snap_sel: usize,
    pub xml_scroll: usize,
    pub editor: Option<XmlEditor>,
    /// Rows a page holds in the current tab, from the last draw.
    pub page: Cell<usize>,
    /// Follow-up changes whose first step succeeded, sent on the next tick (answers cannot
    /// send effects themselves).
    pub after: Vec<After>,
    /// Hosts asked for their devices so the Hardware tab can name host devices.
    pub devices_asked: Vec<HostId>,
    /// `D` on the VM table: the delete form opens once this VM's details are read.
    pub delete_when_read: Option<(HostId, String)>,
}

/// A VM change sent once an earlier request succeeded (attach after the new volume exists);
/// the registry keeps it with that request (`Owner::WizardThen`).
#[derive(Clone, Debug, PartialEq)]
pub struct After {
    pub host: HostId,
    pub uuid: String,
    pub what: String,
    pub op: VmOp,
}

impl DetailUi {
    /// The in-app editor is open on the VM shown.
    pub fn editing(&self, host: HostId, uuid: &str) -> bool {
        self.tab == Tab::Xml
            && self
                .editor
                .as_ref()
                .is_some_and(|e| e.open && e.host == host && e.uuid == uuid)
    }
}

/// The VM on screen.
fn shown(app: &App) -> Option<(HostId, String)> {
    match &app.view {
        View::Detail { host, uuid } => Some((*host, uuid.clone())),
        _ => None,
    }
}

/// The VM on screen as the host's list has it (state, template flag).
pub fn shown_vm(app: &App) -> Option<&crate::model::Vm> {
    let (host, uuid) = shown(app)?;
    app.host(host)?
        .vms
        .iter()
        .find(|v| v.uuid == uuid)
        .map(|v| &**v)
}

/// The cache entry of the VM on screen.
pub fn cached(app: &App) -> Option<&Cached> {
    let key = shown(app)?;
    app.detail.cache.get(&key)
}

/// The details of the VM on screen, once read.
pub fn current(app: &App) -> Option<&VmDetails> {
    cached(app)?.details.as_deref()
}

/// Opens the detail screen of a VM and reads its definitions.
pub fn open(app: &mut App, host: HostId, uuid: String) -> Vec<Effect> {
    let same = matches!(&app.view, View::Detail { host: h, uuid: u } if *h == host && *u == uuid);
    if !same {
        app.detail.hw_sel = 0;
        app.detail.snap_sel = 0;
        app.detail.xml_scroll = 0;
    }
    app.view = View::Detail {
        host,
        uuid: uuid.clone(),
    };
    request(app, host, uuid)
}

/// Asks the host for a VM's details (once at a time).
pub fn request(app: &mut App, host: HostId, uuid: String) -> Vec<Effect> {
    let connected = app
        .host(host)
        .is_some_and(|h| super::lifecycle::host_problem(h).is_none());
    let entry = app.detail.cache.entry((host, uuid.clone())).or_default();
    if entry.loading || !connected {
        return Vec::new();
    }
    entry.loading = true;
    let id = app
        .requests
        .issue(host, Owner::VmDetails { uuid: uuid.clone() });
    vec![Effect::Host(
        host,
        HostCommand::Vm(VmCmd::Details { id, uuid }),
    )]
}

/// The host answered a details read.
pub fn answered(app: &mut App, host: HostId, uuid: String, result: Result<Box<VmDetails>, String>) {
    let failed = result.as_ref().err().cloned();
    let entry = app.detail.cache.entry((host, uuid.clone())).or_default();
    entry.loading = false;
    match result {
        Ok(d) => {
            entry.error = None;
            entry.details = Some(d);
        }
        Err(e) => entry.error = Some(e),
    }
    if app.detail.delete_when_read.as_ref() == Some(&(host, uuid.clone())) {
        app.detail.delete_when_read = None;
        match failed {
            Some(e) => app
                .messages
                .push(Level::Error, format!("cannot read the VM: {e}"), app.now),
            None => delete_form(app, host, &uuid),
        }
    }
    // Cursors stay inside the lists, which may have shrunk.
    if shown(app) == Some((host, uuid)) {
        if let Some(d) = current(app) {
            let hw = items::hw_items(&d.hardware).len();
            let snaps = d.snapshots.rows.len();
            app.detail.hw_sel = app.detail.hw_sel.min(hw.saturating_sub(1));
            app.detail.snap_sel = app.detail.snap_sel.min(snaps.saturating_sub(1));
        }
    }
}

/// `D` on the VM table: the detail's delete form (options, the name typed) for the VM under
/// the cursor, once its definition is read. Bulk delete is not offered.
pub fn delete_vm(app: &mut App) -> Vec<Effect> {
    if !app.vms.marks.is_empty() {
        app.messages.push(
            Level::Info,
            "VMs are marked: delete them one at a time (Esc clears the marks)",
            app.now,
        );
        return Vec::new();
    }
    let Some(r) = app.selected_row() else {
        app.messages.push(Level::Info, "no VM selected", app.now);
        return Vec::new();
    };
    let (h, vm) = app.vm(r);
    let (host, uuid, problem) = (h.id, vm.uuid.clone(), super::lifecycle::host_problem(h));
    if let Some(p) = problem {
        app.messages.push(Level::Info, p, app.now);
        return Vec::new();
    }
    // Read afresh (a cached definition may list volumes it no longer has); the form opens on
    // the answer, or on the one already under way.
    app.detail.delete_when_read = Some((host, uuid.clone()));
    request(app, host, uuid)
}

/// Opens the delete form over the VM table with the VM's details just read. Its effects (a
/// pool read other forms want) are not needed for deleting.
fn delete_form(app: &mut App, host: HostId, uuid: &str) {
    let Some(d) = app
        .detail
        .cache
        .get(&(host, uuid.to_string()))
        .and_then(|c| c.details.clone())
    else {
        return;
    };
    // Another key moved on meanwhile (a form, the palette, another screen): nothing pops up.
    if app.mode != super::Mode::Normal || app.view != View::Pane(PaneId::Vms) {
        return;
    }
    let _ = forms::open(app, host, &d, Form::Delete);
}

/// Once a second: re-read the shown VM when its state, as the
/// periodic snapshot sees it, no longer matches the cached details (started, stopped…).
pub fn tick(app: &mut App) -> Vec<Effect> {
    // Follow-ups whose first step succeeded.
    let mut fx = Vec::new();
    for a in std::mem::take(&mut app.detail.after) {
        let name = app
            .host(a.host)
            .and_then(|h| h.vms.iter().find(|v| v.uuid == a.uuid))
            .map(|v| v.name.clone())
            .unwrap_or_default();
        let uuid = a.uuid.clone();
        let op = a.op;
        fx.extend(requests::send(
            app,
            a.host,
            format!("{name}: {}", a.what),
            |id| HostCommand::Vm(VmCmd::Act { id, uuid, op }),
        ));
    }
    let Some((host, uuid)) = shown(app) else {
        return fx;
    };
    // The Hardware tab names host devices ("PCI 0000:01:00.0 (Intel … I210)") from the
    // host's device list: read once per host, the first time a VM with one is shown.
    let has_hostdev =
        current(app).is_some_and(|d| d.hardware.other.iter().any(|o| o.kind == "hostdev"));
    if has_hostdev
        && !app.detail.devices_asked.contains(&host)
        && app.host(host).is_some_and(|h| h.hostdevs.is_none())
    {
        app.detail.devices_asked.push(host);
        fx.push(Effect::Host(host, HostCommand::NodeDevices));
    }
    let stale = match (app.detail_vm(), current(app)) {
        (Some((_, vm)), Some(d)) => {
            vm.state.is_active() != d.active
                || vm.autostart != d.autostart
                || vm.persistent != d.persistent
        }
        // Never read (the host was not connected when the screen opened).
        (Some(_), None) => cached(app).is_none_or(|c| c.error.is_none()),
        _ => false,
    };
    if stale {
        fx.extend(request(app, host, uuid.clone()));
    }
    fx.extend(ask_agent(app, host, uuid));
    fx
}

/// Asks the shown VM's guest agent once per boot, when it runs and has the agent's channel.
fn ask_agent(app: &mut App, host: HostId, uuid: String) -> Vec<Effect> {
    let id = match app.detail_vm() {
        Some((_, vm)) if vm.state.is_active() => vm.id,
        _ => return Vec::new(),
    };
    let has_channel = current(app).is_some_and(|d| d.active && has_agent_channel(&d.hardware));
    let Some(entry) = app.detail.cache.get_mut(&(host, uuid.clone())) else {
        return Vec::new();
    };
    if !has_channel || entry.agent.as_ref().is_some_and(|(i, _)| *i == id) {
        return Vec::new();
    }
    let slot = crate::host::agent::AgentSlot::default();
    entry.agent = Some((id, slot.clone()));
    vec![Effect::Host(
        host,
        HostCommand::Vm(VmCmd::GuestInfo { uuid, slot }),
    )]
}

/// The VM has a virtio channel for the QEMU guest agent.
pub fn has_agent_channel(hw: &crate::xml::hardware::Hardware) -> bool {
    hw.chardevs
        .iter()
        .any(|c| c.target_name.as_deref() == Some("org.qemu.guest_agent.0"))
}

/// The guest agent's answer for the VM on screen (None: not asked or no channel).
pub fn agent_answer(app: &App) -> Option<Option<Result<crate::host::agent::GuestInfo, String>>> {
    cached(app)?.agent.as_ref().map(|(_, slot)| slot.answer())
}

/// The answer to the editor's redefinition `id`: success closes the editor, a failure
/// reopens it with the error and the text. An editor closed meanwhile hears nothing.
pub fn redefined(app: &mut App, host: HostId, id: RequestId, result: &Result<String, String>) {
    if let Some(ed) = &mut app.detail.editor {
        if ed.host == host && ed.stage == XmlStage::Waiting(id) {
            match result {
                Ok(_) => app.detail.editor = None,
                Err(e) => {
                    ed.stage = XmlStage::Editing;
                    ed.error = Some(e.clone());
                }
            }
        }
    }
}

/// Keys of the detail screen that `keys::detail` does not handle (tabs, cursors, actions).
pub fn key(app: &mut App, action: Action) -> Vec<Effect> {
    let Some((host, uuid)) = shown(app) else {
        return Vec::new();
    };
    // The VM table's lifecycle keys, for this one VM: the same checks, questions, toasts.
    if let Some(op) = super::lifecycle::op_for(action) {
        return super::lifecycle::request_one(app, op, host, &uuid);
    }
    let page = app.detail.page.get().max(1);
    match action {
        Action::NextTab | Action::PrevTab => {
            app.detail.tab = app.detail.tab.step(action == Action::NextTab);
            return Vec::new();
        }
        Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::Top
        | Action::Bottom => {
            move_cursor(app, action, page);
            return Vec::new();
        }
        Action::CancelJob => {
            match clone_of(app, host, &uuid) {
                Some(c) => {
                    c.job.cancel();
                    let text = match c.kind {
                        JobKind::Backup => format!("cancelling the backup of {}", c.target),
                        JobKind::DiskMove => format!("cancelling the disk move of {}", c.target),
                        JobKind::Restore => format!("cancelling the restore into {}", c.target),
                        _ => format!("cancelling the clone {}", c.target),
                    };
                    app.messages.push(Level::Info, text, app.now);
                }
                None => app.messages.push(
                    Level::Info,
                    "no clone, backup or disk move of this VM is running",
                    app.now,
                ),
            }
            return Vec::new();
        }
        _ => {}
    }
    let Some(d) = current(app).cloned() else {
        let text = match cached(app) {
            Some(Cached { error: Some(e), .. }) => format!("cannot read the VM: {e}"),
            _ => "still reading the VM's definition".to_string(),
        };
        app.messages.push(Level::Info, text, app.now);
        return request(app, host, uuid);
    };
    match action {
        Action::Edit => match app.detail.tab {
            Tab::Xml => editor::open(app, host, &d),
            Tab::Snapshots => Vec::new(),
            // Edits are per item: show the items.
            Tab::Overview => {
                app.detail.tab = Tab::Hardware;
                Vec::new()
            }
            Tab::Hardware => edit_item(app, host, &d),
        },
        Action::EditExternal => editor::external(app, host, &d),
        Action::Attach => forms::open(app, host, &d, Form::Attach),
        Action::NewItem => {
            app.detail.tab = Tab::Snapshots;
            forms::open(app, host, &d, Form::Snapshot)
        }
        Action::CloneItem => forms::open(app, host, &d, Form::Clone),
        Action::Backup => forms::open(app, host, &d, Form::Backup),
        Action::Restore => forms::open(app, host, &d, Form::Restore),
        Action::SetPassword => forms::open(app, host, &d, Form::Password),
        // The answer is kept per boot: forgetting it makes the next tick ask again (an agent
        // that starts after the guest booted, or one restarted inside the guest).
        Action::RefreshItem => {
            if let Some(e) = app.detail.cache.get_mut(&(host, uuid.clone())) {
                e.agent = None;
            }
            ask_agent(app, host, uuid)
        }
        Action::MoveDisk => move_disk(app, host, &d),
        Action::ToggleTemplate => {
            let on = !shown_vm(app).is_some_and(|v| v.template);
            let what = if on {
                "mark as template"
            } else {
                "unmark template"
            };
            act(app, host, &d, what, VmOp::SetTemplate(on))
        }
        Action::ToggleAutostart => {
            let on = !d.autostart;
            let what = if on { "autostart on" } else { "autostart off" };
            act(app, host, &d, what, VmOp::SetAutostart(on))
        }
        Action::Delete => match app.detail.tab {
            Tab::Snapshots => match selected_snapshot(app, &d) {
                Some(name) => forms::open(app, host, &d, Form::DeleteSnapshot { name }),
                None => Vec::new(),
            },
            Tab::Hardware => detach(app, host, &d),
            // Nothing selectable here: `D` deletes the VM itself.
            Tab::Overview | Tab::Xml => forms::open(app, host, &d, Form::Delete),
        },
        Action::Revert if app.detail.tab == Tab::Snapshots => revert(app, host, &d),
        _ => Vec::new(),
    }
}

fn move_cursor(app: &mut App, action: Action, page: usize) {
    let (hw_len, snap_len, xml_len) = match current(app) {
        Some(d) => (
            items::hw_items(&d.hardware).len(),
            d.snapshots.rows.len(),
            editor::shown_xml(d).lines().count(),
        ),
        None => (0, 0, 0),
    };
    let ui = &mut app.detail;
    match ui.tab {
        Tab::Hardware => {
            ui.hw_sel = requests::step(ui.hw_sel, hw_len, action, page).unwrap_or(ui.hw_sel)
        }
        Tab::Snapshots => {
            ui.snap_sel = requests::step(ui.snap_sel, snap_len, action, page).unwrap_or(ui.snap_sel)
        }
        Tab::Xml => {
            let last = xml_len.saturating_sub(page);
            ui.xml_scroll =
                requests::step(ui.xml_scroll, last + 1, action, page).unwrap_or(ui.xml_scroll)
        }
        Tab::Overview => {}
    }
}

/// Name of the snapshot under the cursor.
pub fn selected_snapshot(app: &App, d: &VmDetails) -> Option<String> {
    let row = d.snapshots.rows.get(app.detail.snap_sel)?;
    d.snapshots.snapshots.get(row.index).map(|s| s.name.clone())
}

/// Sends one change to the VM, reported as a toast.
pub fn act(app: &mut App, host: HostId, d: &VmDetails, what: &str, op: VmOp) -> Vec<Effect> {
    let uuid = d.uuid.clone();
    requests::send(app, host, format!("{}: {what}", d.name), |id| {
        HostCommand::Vm(VmCmd::Act { id, uuid, op })
    })
}

/// `M`: the move form for the disk selected on the Hardware tab, unless it cannot move.
fn move_disk(app: &mut App, host: HostId, d: &VmDetails) -> Vec<Effect> {
    let list = items::hw_items(&d.hardware);
    let disk = match list.get(app.detail.hw_sel) {
        Some(HwItem::Disk(i)) if app.detail.tab == Tab::Hardware => *i,
        _ => usize::MAX,
    };
    match forms::move_refusal(d, disk) {
        Some(why) => {
            app.messages.push(Level::Info, why, app.now);
            Vec::new()
        }
        None => forms::open(app, host, d, Form::MoveDisk { disk }),
    }
}

/// Enter / `e` on the Hardware tab: the form for the selected item.
fn edit_item(app: &mut App, host: HostId, d: &VmDetails) -> Vec<Effect> {
    let list = items::hw_items(&d.hardware);
    let item = list.get(app.detail.hw_sel).copied();
    let form = match item {
        Some(HwItem::Name) => Form::Rename,
        Some(HwItem::Title) => Form::Title,
        Some(HwItem::Description) => Form::Description,
        Some(HwItem::Vcpus) => Form::Vcpus,
        Some(HwItem::Memory) => Form::Memory,
        Some(HwItem::Boot) => Form::Boot,
        Some(HwItem::Autostart) => {
            let on = !d.autostart;
            let what = if on { "autostart on" } else { "autostart off" };
            return act(app, host, d, what, VmOp::SetAutostart(on));
        }
        Some(HwItem::Disk(i)) => match d.hardware.disks.get(i) {
            Some(disk) if disk.device == "cdrom" => Form::Cdrom { disk: i },
            Some(disk) if disk.device == "disk" => Form::Resize { disk: i },
            _ => return not_editable(app),
        },
        _ => return not_editable(app),
    };
    forms::open(app, host, d, form)
}

fn not_editable(app: &mut App) -> Vec<Effect> {
    app.messages.push(
        Level::Info,
        "nothing to edit here: D detaches the device; E edits the whole XML",
        app.now,
    );
    Vec::new()
}

/// `D` on a device: confirm, then detach (live and persistent where the VM has both).
fn detach(app: &mut App, host: HostId, d: &VmDetails) -> Vec<Effect> {
    let list = items::hw_items(&d.hardware);
    let item = list.get(app.detail.hw_sel).copied();
    let (label, xml) = match item {
        Some(HwItem::Disk(i)) => match d.hardware.disks.get(i).map(items::disk_xml) {
            Some(Ok(x)) => (format!("disk {}", d.hardware.disks[i].target), x),
            Some(Err(e)) => {
                app.messages.push(Level::Error, e, app.now);
                return Vec::new();
            }
            None => return Vec::new(),
        },
        Some(HwItem::Nic(i)) => match d.hardware.nics.get(i).map(items::nic_xml) {
            Some(Ok(x)) => (
                format!(
                    "interface {}",
                    d.hardware.nics[i].mac.clone().unwrap_or_default()
                ),
                x,
            ),
            Some(Err(e)) => {
                app.messages.push(Level::Error, e, app.now);
                return Vec::new();
            }
            None => return Vec::new(),
        },
        // Any other device goes back to libvirt as the definition has it (its alias names
        // it in the live XML).
        Some(HwItem::CharDev(i)) => match d.hardware.chardevs.get(i) {
            Some(c) if !c.xml.is_empty() => (c.element.clone(), c.xml.clone()),
            _ => return Vec::new(),
        },
        Some(HwItem::Other(i)) => match d.hardware.other.get(i) {
            Some(o) if !o.xml.is_empty() => (o.kind.clone(), o.xml.clone()),
            _ => return Vec::new(),
        },
        Some(HwItem::Graphics(_) | HwItem::Controller(_)) => {
            app.messages.push(
                Level::Info,
                "graphics and controllers are not detached here (E edits the XML)",
                app.now,
            );
            return Vec::new();
        }
        _ => {
            app.messages.push(
                Level::Info,
                "settings cannot be detached: choose a device (E edits the XML)",
                app.now,
            );
            return Vec::new();
        }
    };
    let scope = d.scope();
    let uuid = d.uuid.clone();
    requests::confirm(
        app,
        format!("Detach {label} from {}?", d.name),
        vec![
            format!("Applies {} ({}).", scope.label(), scope_note(d)),
            "The guest loses the device; its storage is kept.".into(),
        ],
        None,
        host,
        format!("{}: detach {label}", d.name),
        |id| {
            HostCommand::Vm(VmCmd::Act {
                id,
                uuid,
                op: VmOp::DetachDevice { xml, scope },
            })
        },
    );
    Vec::new()
}

/// Why a change applies where it does, for confirmations and forms.
pub fn scope_note(d: &VmDetails) -> &'static str {
    match (d.active, d.persistent) {
        (true, true) => "running and persistent",
        (true, false) => "running, transient: lost when it stops",
        (false, _) => "shut off: the next boot sees it",
    }
}

fn revert(app: &mut App, host: HostId, d: &VmDetails) -> Vec<Effect> {
    let Some(name) = selected_snapshot(app, d) else {
        return Vec::new();
    };
    let Some(snap) = d.snapshots.get(&name) else {
        return Vec::new();
    };
    // Reverting a running guest to a snapshot without memory restarts it from the disks:
    // libvirt wants `force` for that, and the dialog says so.
    let force = d.active && !snap.has_memory();
    let mut body = vec![format!(
        "The VM returns to the state of {name} ({}); changes since then are lost.",
        snap.state
    )];
    if force {
        body.push(
            "The snapshot has no memory: the running guest is stopped and its disks rolled back."
                .into(),
        );
    }
    let uuid = d.uuid.clone();
    requests::confirm(
        app,
        format!("Revert {} to {name}?", d.name),
        body,
        None,
        host,
        format!("{}: revert to {name}", d.name),
        |id| {
            HostCommand::Vm(VmCmd::Act {
                id,
                uuid,
                op: VmOp::RevertSnapshot { name, force },
            })
        },
    );
    Vec::new()
}

/// The text from `$EDITOR` came back.
pub fn edited(app: &mut App, host: HostId, uuid: String, result: Result<String, String>) {
    editor::edited(app, host, uuid, result)
}

/// Keys while the in-app XML editor is open.
pub fn editor_key(
    app: &mut App,
    ev: crossterm::event::KeyEvent,
    action: Option<Action>,
    confirm: Option<Action>,
) -> Vec<Effect> {
    editor::key(app, ev, action, confirm)
}

/// Starts a VM's long operation (clone, backup, disk move, restore) as a job: the jobs pane
/// lists it (`jobs::tick` reports its end, reopening `form` with the error if it fails), the
/// Overview of `source` (the VM's UUID) draws its progress; the form closes and `cmd` goes.
pub fn start_job(
    app: &mut App,
    host: HostId,
    (kind, target): (JobKind, String),
    source: String,
    (job, form): (Job, Box<crate::app::wizard::Wizard>),
    cmd: VmCmd,
) -> Vec<Effect> {
    let now = app.now;
    let e = app.jobs.add(kind, host, target, job, now);
    e.source = Some(source);
    e.form = Some(form);
    app.pop_overlay();
    vec![Effect::Host(host, HostCommand::Vm(cmd))]
}

/// The running clone or backup of a VM.
pub fn clone_of<'a>(app: &'a App, host: HostId, uuid: &str) -> Option<&'a JobEntry> {
    app.jobs
        .of(&[
            JobKind::Clone,
            JobKind::Backup,
            JobKind::DiskMove,
            JobKind::Restore,
        ])
        .find(|j| {
            j.host == host
                && j.source.as_deref() == Some(uuid)
                && j.job.state() == JobState::Running
        })
}

/// Registers the editor's redefinition, whose answer the editor waits for.
pub fn register(app: &mut App, host: HostId, what: String) -> RequestId {
    app.requests.issue(host, Owner::Redefine(what))
}

pub struct DetailPane;

impl super::panes::Pane for DetailPane {
    fn on_action(&self, app: &mut App, action: Action) -> Vec<Effect> {
        match action {
            Action::Back => {
                app.view = View::Pane(PaneId::Vms);
                Vec::new()
            }
            Action::Console => super::console::open(app),
            Action::Display => super::display::open(app),
            Action::Migrate => super::migrations::open_wizard(app),
            a => key(app, a),
        }
    }

    fn hints(&self, _app: &App) -> &'static [(Action, &'static str)] {
        &[
            (Action::Help, "help"),
            (Action::NextTab, "tab"),
            (Action::Edit, "edit"),
            (Action::Attach, "attach"),
            (Action::NewItem, "snapshot"),
            (Action::CloneItem, "clone"),
            (Action::Backup, "backup"),
            (Action::Delete, "delete"),
            (Action::Back, "back"),
            (Action::Quit, "quit"),
        ]
    }

    fn tick(&self, app: &mut App) -> Vec<Effect> {
        tick(app)
    }
}

#[cfg(test)]
mod tests;
