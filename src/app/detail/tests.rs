//! The detail screen's logic without libvirt: keys → effects, and host answers fed back as
//! messages (details, Done, the external editor's text). The fixtures (`opened`, `press`…)
//! also serve the tests of each form group under `forms/`.

use crate::app::PaneId;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::app::{HostSpec, Mode, Msg, Settings};
use crate::config::keymap::{Key, Keymap};
use crate::config::theme::Theme;
use crate::host::vm::{Scope, VmDetails};
use crate::host::{HostEvent, RequestId};
use crate::model::{HostInfo, Snapshot, Vm, VmState};
use crate::xml::snapshot::SnapshotTree;

const XML: &str = "<domain type='kvm'>
  <name>web-01</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <title>old title</title>
  <memory unit='KiB'>1048576</memory>
  <currentMemory unit='KiB'>1048576</currentMemory>
  <vcpu placement='static' current='1'>4</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/web-01.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:aa:bb:cc'/>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>
";

const UUID: &str = "11111111-2222-3333-4444-555555555555";

pub(super) fn details(active: bool) -> Box<VmDetails> {
    details_of(active, XML)
}

/// The detail of a persistent VM defined by `xml` (the live XML too when `active`).
pub(super) fn details_of(active: bool, xml: &str) -> Box<VmDetails> {
    let hw = crate::xml::hardware::parse(xml).unwrap();
    Box::new(VmDetails {
        uuid: UUID.into(),
        name: "web-01".into(),
        active,
        persistent: true,
        autostart: false,
        live_xml: active.then(|| xml.to_string()),
        inactive_xml: Some(xml.to_string()),
        secure: true,
        next_boot: active.then(|| hw.clone()),
        hardware: hw,
        snapshots: SnapshotTree::default(),
        snapshot_error: None,
        checkpoints: Vec::new(),
    })
}

fn app(active: bool, readonly: bool) -> App {
    let mut app = App::new(
        vec![HostSpec {
            name: "kvm-a".into(),
            uri: "test:///a".into(),
        }],
        Keymap::preset(),
        Theme::load("default", None).unwrap(),
        Settings {
            readonly,
            ..Settings::default()
        },
    );
    app.view = View::Pane(PaneId::Vms);
    app.update(Msg::Host(
        HostId(0),
        HostEvent::Connected(HostInfo::default()),
    ));
    let vm = Vm {
        uuid: UUID.into(),
        name: "web-01".into(),
        id: active.then_some(1),
        state: if active {
            VmState::Running
        } else {
            VmState::Shutoff
        },
        vcpus: 1,
        memory_kib: 1 << 20,
        max_memory_kib: 1 << 20,
        cpu_time_ns: None,
        io: Default::default(),
        autostart: false,
        persistent: true,
        managed_save: false,
        known: Default::default(),
        template: false,
        tags: Vec::new(),
        note: None,
        started: None,
    };
    let now = app.now;
    app.update(Msg::Host(
        HostId(0),
        HostEvent::Snapshot(Snapshot {
            vms: crate::model::shared(vec![vm]),
            taken_at: now,
            receipt: Default::default(),
            node: None,
        }),
    ));
    app
}

pub(super) fn press(app: &mut App, spec: &str) -> Vec<Effect> {
    let k = Key::parse(spec).unwrap();
    app.update(Msg::Key(KeyEvent::new(k.code, k.mods)))
}

pub(super) fn type_text(app: &mut App, s: &str) {
    for c in s.chars() {
        app.update(Msg::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )));
    }
}

/// The request id of the details read `fx` sends (the only effect), registered for the VM.
pub(super) fn details_read(app: &App, fx: &[Effect]) -> RequestId {
    let [Effect::Host(HostId(0), HostCommand::Vm(VmCmd::Details { id, uuid }))] = fx else {
        panic!("one details read expected: {fx:?}")
    };
    assert_eq!(uuid, UUID);
    assert_eq!(
        app.requests.owner(*id),
        Some(&requests::Owner::VmDetails { uuid: UUID.into() })
    );
    *id
}

/// The host answers the details read `id`.
pub(super) fn answer(app: &mut App, id: RequestId, d: Box<VmDetails>) {
    app.update(Msg::Host(
        HostId(0),
        HostEvent::Reply {
            id,
            reply: crate::host::Reply::VmDetails(Ok(d)),
        },
    ));
}

/// The host sends the VM's details after a change (no request).
pub(super) fn changed(app: &mut App, d: Box<VmDetails>) {
    app.update(Msg::Host(
        HostId(0),
        HostEvent::VmChanged {
            uuid: UUID.into(),
            details: d,
        },
    ));
}

/// Opens the detail screen and answers its read.
pub(super) fn opened(active: bool) -> App {
    opened_with(active, XML)
}

/// The detail screen open on web-01 defined by `xml` (the fixture's name and UUID).
pub(super) fn opened_with(active: bool, xml: &str) -> App {
    let mut a = app(active, false);
    let fx = press(&mut a, "<Enter>");
    let id = details_read(&a, &fx);
    // A second read is not sent while one is under way.
    assert!(request(&mut a, HostId(0), UUID.into()).is_empty());
    answer(&mut a, id, details_of(active, xml));
    a
}

/// The fixture's definition with `devices` added at the end of `<devices>`.
pub(super) fn xml_with(devices: &str) -> String {
    XML.replacen("  </devices>", &format!("{devices}\n  </devices>"), 1)
}

/// The host's poll names its active pools (what forms offer before the pools pane opened).
pub(super) fn with_pools(a: &mut App, names: &[&str]) {
    a.hosts[0].node.pools = names
        .iter()
        .map(|n| crate::model::PoolUsage {
            name: n.to_string(),
            capacity: 1 << 40,
            allocation: 0,
            available: 1 << 40,
        })
        .collect();
}

/// The VM ops in effects, with their request ids.
pub(super) fn ops(fx: &[Effect]) -> Vec<(RequestId, VmOp)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Host(_, HostCommand::Vm(VmCmd::Act { id, op, .. })) => Some((*id, op.clone())),
            _ => None,
        })
        .collect()
}

pub(super) fn select_item(a: &mut App, item: HwItem) {
    a.detail.tab = Tab::Hardware;
    let list = items::hw_items(&current(a).unwrap().hardware);
    a.detail.hw_sel = list.iter().position(|i| *i == item).unwrap();
}

#[test]
fn tabs_cycle_both_ways() {
    let mut a = opened(true);
    assert_eq!(a.detail.tab, Tab::Overview);
    press(&mut a, "<Tab>");
    assert_eq!(a.detail.tab, Tab::Hardware);
    press(&mut a, "<BackTab>");
    press(&mut a, "<BackTab>");
    assert_eq!(a.detail.tab, Tab::Xml);
    // What terminals send for Shift-Tab: BackTab with Shift, or Tab with Shift (kitty).
    let shift = crossterm::event::KeyModifiers::SHIFT;
    a.update(Msg::Key(KeyEvent::new(KeyCode::BackTab, shift)));
    assert_eq!(a.detail.tab, Tab::Snapshots);
    a.update(Msg::Key(KeyEvent::new(KeyCode::Tab, shift)));
    assert_eq!(a.detail.tab, Tab::Hardware);
    a.update(Msg::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)));
    assert_eq!(a.detail.tab, Tab::Snapshots);
    press(&mut a, "]");
    assert_eq!(a.detail.tab, Tab::Xml);
}

#[test]
fn failed_redefine_keeps_the_edit_and_the_error() {
    let mut a = opened(false);
    a.detail.tab = Tab::Xml;
    press(&mut a, "e");
    assert!(a.detail.editing(HostId(0), UUID));
    type_text(&mut a, "<!-- x -->");
    press(&mut a, "<C-s>");
    let Some(XmlEditor {
        stage: XmlStage::Review { diff, .. },
        ..
    }) = &a.detail.editor
    else {
        panic!("no review")
    };
    assert!(diff
        .iter()
        .any(|l| matches!(l, crate::xml::edit::DiffLine::Added(s) if s.starts_with("<!-- x -->"))));
    let fx = press(&mut a, "y");
    let sent = ops(&fx);
    let [(id, VmOp::DefineXml { xml })] = sent.as_slice() else {
        panic!("{sent:?}")
    };
    assert!(xml.starts_with("<!-- x --><domain"));
    a.update(Msg::Host(
        HostId(0),
        HostEvent::Reply {
            id: *id,
            reply: crate::host::Reply::Done(Err("XML error: bad".into())),
        },
    ));
    let ed = a.detail.editor.as_ref().unwrap();
    assert_eq!(ed.stage, XmlStage::Editing);
    assert_eq!(ed.error.as_deref(), Some("XML error: bad"));
    assert!(ed.content().starts_with("<!-- x --><domain"));
    // The error is also in the messages (toast).
    assert!(a
        .messages
        .log
        .iter()
        .any(|m| m.text.contains("XML error: bad")));
    // Fixed and accepted: the editor closes.
    press(&mut a, "<C-s>");
    let fx = press(&mut a, "y");
    let id = ops(&fx)[0].0;
    a.update(Msg::Host(
        HostId(0),
        HostEvent::Reply {
            id,
            reply: crate::host::Reply::Done(Ok("redefined".into())),
        },
    ));
    assert!(a.detail.editor.is_none());
}

/// A refused draft closed with Esc is not reopened by `e` without asking (it used to come
/// back over the current definition, its old error above the next diff): `e` asks, `d`
/// discards it for the current definition, Enter continues it; a new diff drops the old error.
#[test]
fn a_refused_draft_is_offered_not_reopened_and_its_error_leaves_with_it() {
    let refused = |a: &mut App| {
        a.detail.tab = Tab::Xml;
        press(a, "e");
        type_text(a, "<!-- XB -->");
        press(a, "<C-s>");
        let id = ops(&press(a, "y"))[0].0;
        a.update(Msg::Host(
            HostId(0),
            HostEvent::Reply {
                id,
                reply: crate::host::Reply::Done(Err("unsupported unit 'XB'".into())),
            },
        ));
        press(a, "<Esc>");
        assert!(!a.detail.editing(HostId(0), UUID), "Esc closes the editor");
        press(a, "e");
    };
    let mut a = opened(false);
    refused(&mut a);
    let ed = a.detail.editor.as_ref().unwrap();
    assert_eq!(ed.stage, XmlStage::Resume, "asked, not reopened");
    press(&mut a, "d");
    let ed = a.detail.editor.as_ref().unwrap();
    assert_eq!((&ed.stage, ed.error.as_deref()), (&XmlStage::Editing, None));
    assert_eq!(ed.content(), ed.base, "the current definition");

    let mut a = opened(false);
    refused(&mut a);
    press(&mut a, "<Enter>");
    let ed = a.detail.editor.as_ref().unwrap();
    assert_eq!(ed.stage, XmlStage::Editing);
    assert!(
        ed.content().starts_with("<!-- XB -->"),
        "the draft, as typed"
    );
    assert!(ed.error.is_some(), "its refusal is shown with it");
    type_text(&mut a, "<!-- fixed -->");
    press(&mut a, "<C-s>");
    let ed = a.detail.editor.as_ref().unwrap();
    assert!(matches!(ed.stage, XmlStage::Review { .. }));
    assert_eq!(
        ed.error, None,
        "the old refusal is not shown over the new diff"
    );
}

#[test]
fn external_editor_round_trip_goes_to_the_diff() {
    let mut a = opened(false);
    let fx = press(&mut a, "E");
    let [Effect::EditExternal { text, .. }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(text, XML);
    a.update(Msg::Edited {
        host: HostId(0),
        uuid: UUID.into(),
        result: Ok(XML.replace("old title", "new title")),
    });
    assert_eq!(a.detail.tab, Tab::Xml);
    assert!(matches!(
        a.detail.editor.as_ref().map(|e| &e.stage),
        Some(XmlStage::Review { .. })
    ));
    // Unchanged text: nothing to review.
    a.update(Msg::Edited {
        host: HostId(0),
        uuid: UUID.into(),
        result: Ok(XML.to_string()),
    });
    assert!(!a.detail.editor.as_ref().unwrap().open);
}

#[test]
fn detach_nic_confirms_then_names_it_by_mac() {
    let mut a = opened(true);
    select_item(&mut a, HwItem::Nic(0));
    assert!(press(&mut a, "D").is_empty());
    let Mode::Confirm(c) = &a.mode else {
        panic!("no confirm")
    };
    assert!(c.body[0].contains("live and persistent"));
    let fx = press(&mut a, "y");
    let sent = ops(&fx);
    let [(_, VmOp::DetachDevice { xml, scope })] = sent.as_slice() else {
        panic!("{sent:?}")
    };
    assert!(xml.contains("52:54:00:aa:bb:cc"), "{xml}");
    assert_eq!(*scope, Scope::BOTH);
}

#[test]
fn readonly_refuses_changes_but_not_reading() {
    let mut a = app(false, true);
    let fx = press(&mut a, "<Enter>");
    let id = details_read(&a, &fx);
    answer(&mut a, id, details(false));
    press(&mut a, "<Tab>");
    assert_eq!(a.detail.tab, Tab::Hardware);
    assert!(press(&mut a, "A").is_empty());
    assert_eq!(a.mode, Mode::Normal);
    assert!(a.messages.log.iter().any(|m| m.text.contains("read-only")));
}

#[test]
fn state_change_seen_in_the_table_rereads_the_details() {
    let mut a = opened(false);
    assert!(tick(&mut a).is_empty(), "up to date");
    let mut running = crate::model::Vm::clone(&a.hosts[0].vms[0]);
    running.state = VmState::Running;
    let now = a.now;
    a.update(Msg::Host(
        HostId(0),
        HostEvent::Snapshot(Snapshot {
            vms: crate::model::shared(vec![running]),
            taken_at: now,
            receipt: Default::default(),
            node: None,
        }),
    ));
    let fx = tick(&mut a);
    assert!(matches!(
        fx.as_slice(),
        [Effect::Host(_, HostCommand::Vm(VmCmd::Details { .. }))]
    ));
}

#[test]
fn a_paste_is_one_insert_into_the_xml_editor_and_never_keys() {
    let mut a = opened(false);
    a.detail.tab = Tab::Xml;
    press(&mut a, "e");
    // 10 KB of XML with CR line ends (what terminals send), holding keys that would act.
    let block = "<!-- y q <C-s> -->\r".repeat(10 * 1024 / 20);
    a.update(Msg::Paste(block.clone()));
    let ed = a.detail.editor.as_ref().unwrap();
    assert_eq!(ed.stage, XmlStage::Editing, "nothing in the paste acted");
    let want = format!("{}{XML}", block.replace('\r', "\n"));
    assert_eq!(ed.content(), want);
    // One step: a single undo takes the whole paste back.
    press(&mut a, "<C-u>");
    assert_eq!(a.detail.editor.as_ref().unwrap().content(), XML);

    // In the diff review a paste is not an answer.
    type_text(&mut a, "<!-- x -->");
    press(&mut a, "<C-s>");
    a.update(Msg::Paste("y".into()));
    assert!(matches!(
        a.detail.editor.as_ref().unwrap().stage,
        XmlStage::Review { .. }
    ));
    assert!(a
        .messages
        .toasts
        .iter()
        .any(|m| m.text.contains("paste ignored")));
}
