//! The detail screen's logic without libvirt: keys → effects, and host answers fed back as
//! messages (details, Done, the external editor's text).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::app::{HostSpec, Mode, Msg, Settings};
use crate::config::keymap::{Key, Keymap};
use crate::config::theme::Theme;
use crate::host::vm::{Scope, VmDetails};
use crate::host::HostEvent;
use crate::model::{HostInfo, Snapshot, Vm, VmState};
use crate::xml::hardware::Source;
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

fn details(active: bool) -> Box<VmDetails> {
    let hw = crate::xml::hardware::parse(XML).unwrap();
    Box::new(VmDetails {
        uuid: UUID.into(),
        name: "web-01".into(),
        active,
        persistent: true,
        autostart: false,
        live_xml: active.then(|| XML.to_string()),
        inactive_xml: Some(XML.to_string()),
        secure: true,
        next_boot: active.then(|| hw.clone()),
        hardware: hw,
        snapshots: SnapshotTree::default(),
        snapshot_error: None,
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
    app.view = View::Vms;
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
        started: None,
    };
    let now = app.now;
    app.update(Msg::Host(
        HostId(0),
        HostEvent::Snapshot(Snapshot {
            vms: vec![vm],
            taken_at: now,
            receipt: Default::default(),
            node: None,
        }),
    ));
    app
}

fn press(app: &mut App, spec: &str) -> Vec<Effect> {
    let k = Key::parse(spec).unwrap();
    app.update(Msg::Key(KeyEvent::new(k.code, k.mods)))
}

fn type_text(app: &mut App, s: &str) {
    for c in s.chars() {
        app.update(Msg::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )));
    }
}

fn answer(app: &mut App, d: Box<VmDetails>) {
    app.update(Msg::Host(
        HostId(0),
        HostEvent::VmDetails {
            uuid: UUID.into(),
            result: Ok(d),
        },
    ));
}

/// Opens the detail screen and answers its read.
fn opened(active: bool) -> App {
    let mut a = app(active, false);
    let fx = press(&mut a, "<Enter>");
    assert_eq!(
        fx,
        vec![Effect::Host(
            HostId(0),
            HostCommand::Vm(VmCmd::Details { uuid: UUID.into() })
        )]
    );
    // A second read is not sent while one is under way.
    assert!(request(&mut a, HostId(0), UUID.into()).is_empty());
    answer(&mut a, details(active));
    a
}

/// The host's poll names its active pools (what forms offer before the pools pane opened).
fn with_pools(a: &mut App, names: &[&str]) {
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

/// The VM ops in effects, with their tags.
fn ops(fx: &[Effect]) -> Vec<(u64, VmOp)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Host(_, HostCommand::Vm(VmCmd::Act { tag, op, .. })) => {
                Some((*tag, op.clone()))
            }
            _ => None,
        })
        .collect()
}

fn select_item(a: &mut App, item: HwItem) {
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
fn vcpus_edit_sends_setvcpus_with_the_chosen_scope_and_closes_on_done() {
    let mut a = opened(true);
    select_item(&mut a, HwItem::Vcpus);
    press(&mut a, "e");
    let Mode::Wizard(w) = &a.mode else {
        panic!("no form")
    };
    assert_eq!(w.get("count"), "1");
    assert_eq!(w.get("scope"), "live and persistent");
    press(&mut a, "<Backspace>");
    type_text(&mut a, "3");
    // Scope: live only (the field is the third; ← → cycles it).
    press(&mut a, "<Tab>");
    press(&mut a, "<Tab>");
    press(&mut a, "<Right>");
    let fx = press(&mut a, "<Enter>");
    let sent = ops(&fx);
    assert_eq!(
        sent.iter().map(|(_, o)| o.clone()).collect::<Vec<_>>(),
        vec![VmOp::SetVcpus {
            count: 3,
            scope: Scope::LIVE
        }]
    );
    assert!(matches!(a.mode, Mode::Wizard(_)), "waits for the answer");
    a.update(Msg::Host(
        HostId(0),
        HostEvent::Done {
            tag: sent[0].0,
            result: Ok("vCPUs set".into()),
        },
    ));
    assert_eq!(a.mode, Mode::Normal);
}

#[test]
fn more_vcpus_than_the_maximum_is_refused_in_the_form() {
    let mut a = opened(false);
    select_item(&mut a, HwItem::Vcpus);
    press(&mut a, "e");
    press(&mut a, "<Backspace>");
    type_text(&mut a, "9");
    let fx = press(&mut a, "<Enter>");
    assert!(ops(&fx).is_empty());
    let Mode::Wizard(w) = &a.mode else {
        panic!("form closed")
    };
    assert!(w.field("count").unwrap().error.is_some());
    // Raising the maximum too makes it valid: both ops go, maximum first.
    press(&mut a, "<Tab>");
    press(&mut a, "<Backspace>");
    type_text(&mut a, "16");
    let fx = press(&mut a, "<Enter>");
    let sent: Vec<VmOp> = ops(&fx).into_iter().map(|(_, o)| o).collect();
    assert_eq!(
        sent,
        vec![
            VmOp::SetMaxVcpus { count: 16 },
            VmOp::SetVcpus {
                count: 9,
                scope: Scope::CONFIG
            }
        ]
    );
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
    let [(tag, VmOp::DefineXml { xml })] = sent.as_slice() else {
        panic!("{sent:?}")
    };
    assert!(xml.starts_with("<!-- x --><domain"));
    a.update(Msg::Host(
        HostId(0),
        HostEvent::Done {
            tag: *tag,
            result: Err("XML error: bad".into()),
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
    let tag = ops(&fx)[0].0;
    a.update(Msg::Host(
        HostId(0),
        HostEvent::Done {
            tag,
            result: Ok("redefined".into()),
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
        let tag = ops(&press(a, "y"))[0].0;
        a.update(Msg::Host(
            HostId(0),
            HostEvent::Done {
                tag,
                result: Err("unsupported unit 'XB'".into()),
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
fn delete_vm_lists_volumes_and_wants_the_name_typed() {
    let mut a = opened(false);
    press(&mut a, "X");
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
    let ctx = crate::app::wizard::context(&a, &a_kind(&a));
    if let Mode::Wizard(w) = &mut a.mode {
        crate::app::wizard::refresh(w, &ctx);
        let e = w.field("pool").unwrap().error.clone().unwrap_or_default();
        assert!(e.contains("no pool default"), "{e}");
    }
}

fn a_kind(a: &App) -> crate::app::wizard::Kind {
    match &a.mode {
        Mode::Wizard(w) => w.kind.clone(),
        m => panic!("no form: {m:?}"),
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
    let [Effect::Host(_, HostCommand::Vm(VmCmd::Clone { spec, job, .. }))] = fx.as_slice() else {
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

#[test]
fn readonly_refuses_changes_but_not_reading() {
    let mut a = app(false, true);
    press(&mut a, "<Enter>");
    answer(&mut a, details(false));
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
    let mut running = a.hosts[0].vms[0].clone();
    running.state = VmState::Running;
    let now = a.now;
    a.update(Msg::Host(
        HostId(0),
        HostEvent::Snapshot(Snapshot {
            vms: vec![running],
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
            tag, pool, volume, ..
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
        HostEvent::Done {
            tag: *tag,
            result: Ok("created".into()),
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

/// A VM named with newlines (`nl-a&#10;[[hosts]]&#10;b` in its XML) is deleted by typing the
/// name as the dialog shows it.
#[test]
fn delete_vm_named_with_newlines_confirms_with_the_shown_name() {
    let raw = "nl-a\n[[hosts]]\nb";
    let mut a = opened(false);
    let mut d = details(false);
    d.name = raw.into();
    answer(&mut a, d);
    press(&mut a, "X");
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
    crate::app::detail::forms::refresh(w, &Default::default());
    assert!(field_error(&a, "name").is_some(), "clone name '.hidden'");
    // Snapshot: libvirt refuses a leading '.'; a bidi override garbles every listing.
    for bad in [".s", "s\u{202e}1"] {
        let mut a = opened(false);
        press(&mut a, "n");
        let Mode::Wizard(w) = &mut a.mode else {
            panic!("no snapshot form")
        };
        w.set_text("name", bad);
        crate::app::detail::forms::refresh(w, &Default::default());
        assert!(field_error(&a, "name").is_some(), "snapshot {bad:?}");
    }
}
