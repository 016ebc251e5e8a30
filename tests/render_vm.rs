//! The VM detail screen on the demo fleet (test driver): each tab at a fixed size, and flows
//! driven by keys through a real worker: a snapshot created and deleted, a title edited, and
//! a redefinition libvirt refuses, which keeps the edit and shows the error.

mod common;

use std::time::Duration;

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use virtdeck::app::detail::{self, Tab, XmlStage};
use virtdeck::app::{App, Mode, View};

fn screen(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| virtdeck::ui::render(app, f)).unwrap();
    t.backend().to_string()
}

fn loaded(app: &App) -> bool {
    detail::cached(app).is_some_and(|c| !c.loading && c.details.is_some())
}

/// The detail screen of `name` with its definition read.
fn open(name: &str) -> common::Live {
    let mut live = common::demo();
    assert!(live.pump_until(Duration::from_secs(10), |a| a
        .hosts
        .iter()
        .all(|h| h.status.is_connected())));
    live.press("/");
    live.type_text(name);
    live.press("<Enter>");
    live.press("<Enter>");
    assert!(matches!(live.app.view, View::Detail { .. }));
    assert!(
        live.pump_until(Duration::from_secs(10), loaded),
        "details never came"
    );
    live
}

fn idle(live: &mut common::Live) {
    assert!(live.pump_until(Duration::from_secs(10), |a| loaded(a)
        && a.mode == Mode::Normal));
}

#[test]
fn tabs_render_overview_hardware_snapshots_and_xml() {
    let mut live = open("db-primary");
    assert_eq!(live.app.detail.tab, Tab::Overview);
    let s = screen(&live.app, 120, 30);
    assert!(s.contains("Overview"), "{s}");
    live.press("<Tab>");
    assert_eq!(live.app.detail.tab, Tab::Hardware);
    insta::assert_snapshot!("hardware_120x30", screen(&live.app, 120, 30));
    live.press("]");
    assert_eq!(live.app.detail.tab, Tab::Snapshots);
    insta::assert_snapshot!("snapshots_empty_120x30", screen(&live.app, 120, 30));
    live.press("]");
    assert_eq!(live.app.detail.tab, Tab::Xml);
    insta::assert_snapshot!("xml_120x30", screen(&live.app, 120, 30));
    live.press("[");
    assert_eq!(live.app.detail.tab, Tab::Snapshots);
}

#[test]
fn overview_shows_the_definition_facts() {
    let live = open("db-primary");
    let s = screen(&live.app, 120, 40);
    assert!(
        s.contains("persistent · autostart on · 0 snapshot(s)"),
        "{s}"
    );
    assert!(s.contains("“PostgreSQL 15 primary”"), "{s}");
}

/// The Snapshots tab with the creation times (wall clock) masked.
fn masked(s: &str) -> String {
    let re = |line: &str| {
        let mut out = String::new();
        let b = line.as_bytes();
        let mut i = 0;
        while i < line.len() {
            // "YYYY-MM-DD HH:MM"
            if i + 16 <= line.len()
                && b[i..i + 4].iter().all(u8::is_ascii_digit)
                && b[i + 4] == b'-'
                && b[i + 7] == b'-'
                && b[i + 13] == b':'
            {
                out.push_str("YYYY-MM-DD hh:mm");
                i += 16;
            } else {
                let c = line[i..].chars().next().unwrap();
                out.push(c);
                i += c.len_utf8();
            }
        }
        out
    };
    s.lines().map(re).collect::<Vec<_>>().join("\n")
}

#[test]
fn snapshot_created_and_deleted_by_keys() {
    let mut live = open("web-01");
    live.press("n");
    assert_eq!(live.app.detail.tab, Tab::Snapshots);
    let Mode::Wizard(w) = &live.app.mode else {
        panic!("no snapshot form: {:?}", live.app.mode)
    };
    assert_eq!(w.get("name"), "snap1");
    live.press("<Tab>");
    live.type_text("before upgrade");
    live.press("<Enter>"); // review page (the snapshot XML)
    live.press("<Enter>"); // create
    assert!(
        live.pump_until(Duration::from_secs(10), |a| {
            a.mode == Mode::Normal
                && detail::current(a).is_some_and(|d| d.snapshots.get("snap1").is_some())
        }),
        "snapshot never showed: {:?}",
        live.app.messages
    );
    idle(&mut live);
    let d = detail::current(&live.app).unwrap();
    assert_eq!(
        d.snapshots.get("snap1").unwrap().description.as_deref(),
        Some("before upgrade")
    );
    insta::assert_snapshot!("snapshots_one_100x20", masked(&screen(&live.app, 100, 20)));
    // Delete it: the form is the confirmation.
    live.press("D");
    assert!(matches!(live.app.mode, Mode::Wizard(_)));
    let form = screen(&live.app, 100, 20);
    assert!(
        form.contains("<Enter> delete") && !form.contains("define"),
        "the footer names the action: {form}"
    );
    live.press("<Enter>");
    assert!(
        live.pump_until(Duration::from_secs(10), |a| {
            a.mode == Mode::Normal
                && detail::current(a).is_some_and(|d| d.snapshots.snapshots.is_empty())
        }),
        "snapshot never went away"
    );
}

#[test]
fn title_edited_by_keys() {
    let mut live = open("web-01");
    live.press("<Tab>");
    live.press("j"); // Title
    live.press("e");
    let Mode::Wizard(w) = &live.app.mode else {
        panic!("no title form")
    };
    let old = w.get("text");
    for _ in 0..old.chars().count() {
        live.press("<Backspace>");
    }
    live.type_text("edited by keys");
    live.press("<Enter>");
    assert!(
        live.pump_until(Duration::from_secs(10), |a| {
            a.mode == Mode::Normal
                && detail::current(a)
                    .is_some_and(|d| d.hardware.title.as_deref() == Some("edited by keys"))
        }),
        "title never changed: {:?}",
        live.app.messages
    );
}

#[test]
fn refused_redefinition_keeps_the_edit_and_shows_libvirts_error() {
    let mut live = open("web-01");
    live.press("]");
    live.press("]");
    live.press("]");
    assert_eq!(live.app.detail.tab, Tab::Xml);
    let before = detail::current(&live.app)
        .unwrap()
        .inactive_xml
        .clone()
        .unwrap();
    live.press("e");
    assert!(live.app.detail.editor.as_ref().is_some_and(|e| e.open));
    // The cursor starts at the top: this makes the document two roots, which libvirt refuses.
    live.type_text("<bogus/>");
    live.press("<C-s>");
    assert!(matches!(
        live.app.detail.editor.as_ref().unwrap().stage,
        XmlStage::Review { .. }
    ));
    let review = screen(&live.app, 100, 20);
    assert!(review.contains("+ <bogus/><domain"), "{review}");
    live.press("y");
    assert!(
        live.pump_until(Duration::from_secs(10), |a| a
            .detail
            .editor
            .as_ref()
            .is_some_and(|e| e.error.is_some())),
        "no error came back"
    );
    let ed = live.app.detail.editor.as_ref().unwrap();
    assert_eq!(ed.stage, XmlStage::Editing);
    assert!(
        ed.content().starts_with("<bogus/><domain"),
        "the edit is kept"
    );
    let s = screen(&live.app, 100, 20);
    assert!(s.contains("libvirt refused the definition"), "{s}");
    // Nothing changed on the host.
    live.press("<Esc>");
    live.press("<Esc>");
    live.press("<Enter>");
    idle(&mut live);
    assert_eq!(
        detail::current(&live.app).unwrap().inactive_xml.as_deref(),
        Some(before.as_str())
    );
}

#[test]
fn help_lists_the_detail_keys_from_the_keymap() {
    let mut live = open("web-01");
    live.press("?");
    assert!(matches!(live.app.mode, Mode::Help { .. }));
    let s = screen(&live.app, 140, 200);
    for text in [
        "Next tab (Overview, Hardware, Snapshots, XML)",
        "Edit the XML in $EDITOR",
        "Attach a device (disk, NIC, RNG, virtiofs…)",
        "Snapshots: revert to the selected snapshot (confirm)",
        "Delete what the cursor is on: Hardware detaches the device",
        "Review the diff against the definition, then redefine",
    ] {
        assert!(s.contains(text), "help lacks {text:?}");
    }
}

#[test]
fn attach_form_shows_disk_fields_then_nic_fields() {
    let mut live = open("web-01");
    // The Hardware tab behind the form: the Overview's charts move with time.
    live.press("<Tab>");
    live.press("A");
    assert!(matches!(live.app.mode, Mode::Wizard(_)));
    insta::assert_snapshot!("attach_disk_100x30", screen(&live.app, 100, 30));
    // Device: nic (three steps right: new volume, cdrom, nic).
    live.press("<Right>");
    live.press("<Right>");
    live.press("<Right>");
    let s = screen(&live.app, 100, 30);
    assert!(s.contains("Connect to") && s.contains("MAC"), "{s}");
    assert!(!s.contains("Cache"), "{s}");
}

#[test]
fn delete_review_names_its_own_action() {
    let mut live = open("web-01");
    live.press("D");
    let Mode::Wizard(w) = &live.app.mode else {
        panic!("no delete form: {:?}", live.app.mode)
    };
    let pages = w.pages.len();
    for _ in 1..pages {
        live.press("<Enter>");
    }
    let review = screen(&live.app, 120, 40);
    assert!(
        review.contains("This is what will be deleted:") && review.contains("<Enter> delete"),
        "{review}"
    );
    assert!(!review.contains("defined"), "{review}");
}

/// Chooses device number `n` of the attach form (0 = disk) by keys.
fn choose_device(live: &mut common::Live, n: usize) {
    for _ in 0..n {
        live.press("<Right>");
    }
}

#[test]
fn attach_form_shows_the_other_devices() {
    let mut live = open("web-01");
    live.press("<Tab>");
    live.press("A");
    // Device: sound (after disk, new volume, cdrom, nic).
    choose_device(&mut live, 4);
    insta::assert_snapshot!("attach_sound_100x30", screen(&live.app, 100, 30));
    // Watchdog: model and action.
    choose_device(&mut live, 2);
    let s = screen(&live.app, 100, 30);
    assert!(s.contains("i6300esb") && s.contains("On expiry"), "{s}");
    // TPM: the models; the test driver cannot say whether swtpm is there (a warning, not a
    // refusal); QEMU has no TPM hotplug, so only the definition for the next boot.
    choose_device(&mut live, 6);
    assert!(live.pump_until(std::time::Duration::from_secs(5), |a| a
        .hosts
        .iter()
        .any(|h| h.caps.is_some())));
    live.press("<Tab>");
    live.press("<Tab>");
    insta::assert_snapshot!("attach_tpm_100x30", screen(&live.app, 100, 30));
    live.press("<BackTab>");
    live.press("<BackTab>");
    // virtiofs: the share's fields, then the review.
    choose_device(&mut live, 1);
    insta::assert_snapshot!("attach_virtiofs_100x30", screen(&live.app, 100, 30));
    live.press("<Tab>");
    live.type_text("/srv/share");
    live.press("<Tab>");
    live.type_text("share");
    // web-01 runs without shared memory: the review says why it cannot be attached now.
    live.press("<Enter>");
    insta::assert_snapshot!("attach_virtiofs_review_100x30", screen(&live.app, 100, 30));
}

#[test]
fn attach_virtiofs_to_a_stopped_vm_reviews_the_memory_backing_it_adds() {
    let mut live = open("web-04");
    live.press("<Tab>");
    live.press("A");
    choose_device(&mut live, 13);
    live.press("<Tab>");
    live.type_text("/srv/a<&>");
    live.press("<Tab>");
    live.type_text("share");
    live.press("<Enter>");
    let s = screen(&live.app, 100, 30);
    assert!(
        s.contains("memoryBacking") && s.contains("/srv/a&lt;&amp;&gt;"),
        "{s}"
    );
    insta::assert_snapshot!("attach_virtiofs_stopped_review_100x30", s);
}
