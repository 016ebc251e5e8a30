//! The storage pane's wizards without a terminal or a host: new pool, new volume, clone,
//! resize, download (upload and secrets are driven by keys in `tests/render_storage.rs`).

use crossterm::event::KeyCode;

use super::volume_wizard::VolumeForm;
use super::{pool_wizard as pool, volume_wizard as volume};
use crate::app::wizard::tests::{deliver, error, focus, key, typ, type_slowly};
use crate::app::wizard::{refresh, Context, Wizard};
use crate::host::StorageCmd;
use crate::model::HostId;

#[test]
fn pool_wizard_validates_as_typed_and_builds_escaped_xml() {
    let ctx = Context {
        pools: vec!["default".into()],
        ..Context::default()
    };
    let mut w = pool::new(HostId(0));
    refresh(&mut w, &ctx);
    assert!(w.field("name").and_then(|f| f.error.clone()).is_some());
    assert!(!w.next_page(), "an empty name keeps the user on page 1");
    focus(&mut w, "name");
    typ(&mut w, &ctx, "default");
    assert!(w
        .field("name")
        .and_then(|f| f.error.clone())
        .is_some_and(|e| e.contains("already has a pool")));
    for _ in 0..7 {
        w.input(key(KeyCode::Backspace));
    }
    typ(&mut w, &ctx, "café");
    // Only what the hint names (crate::names): letters a-z A-Z, digits, - _ .
    assert!(w.field("name").and_then(|f| f.error.clone()).is_some());
    for _ in 0.."café".chars().count() {
        w.input(key(KeyCode::Backspace));
    }
    typ(&mut w, &ctx, "scratch-01");
    assert!(w.field("name").and_then(|f| f.error.clone()).is_none());
    assert!(w.next_page());
    assert_eq!(w.page, 1);
    // dir: the target must be absolute.
    assert!(w.field("target").is_some_and(|f| f.visible));
    assert!(w.field("source.host").is_some_and(|f| !f.visible));
    focus(&mut w, "target");
    typ(&mut w, &ctx, "relative/path");
    assert!(w.field("target").and_then(|f| f.error.clone()).is_some());
    assert!(!w.next_page());
    for _ in 0.."relative/path".len() {
        w.input(key(KeyCode::Backspace));
    }
    typ(&mut w, &ctx, "/srv/pools/<&'\">");
    assert!(w.next_page());
    assert!(w.next_page());
    assert!(w.is_review());
    let xml = match &w.review {
        Some(Ok(x)) => x.clone(),
        other => panic!("no XML: {other:?}"),
    };
    assert!(xml.contains("/srv/pools/&lt;&amp;"), "{xml}");
    let parsed = crate::xml::pool::parse(&xml).expect("round trip");
    assert_eq!(parsed.name, "scratch-01");
    assert_eq!(parsed.target.as_deref(), Some("/srv/pools/<&'\">"));
    match pool::command(&w, crate::host::RequestId(7)).expect("command") {
        StorageCmd::DefinePool {
            id,
            build,
            start,
            autostart,
            secret,
            ..
        } => {
            assert_eq!(id, crate::host::RequestId(7));
            assert!(build && start && autostart);
            assert!(secret.is_none());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn pool_type_switch_shows_its_fields_and_keeps_typed_values() {
    let ctx = Context::default();
    let mut w = pool::new(HostId(0));
    focus(&mut w, "name");
    typ(&mut w, &ctx, "cephpool");
    focus(&mut w, "type");
    // dir → fs → netfs → logical → iscsi → rbd
    for _ in 0..5 {
        w.input(key(KeyCode::Right));
    }
    refresh(&mut w, &ctx);
    assert_eq!(w.get("type"), "rbd");
    assert_eq!(w.get("name"), "cephpool");
    assert!(w
        .field("source.host")
        .is_some_and(|f| f.visible && f.label == "Monitors"));
    assert!(w.field("target").is_some_and(|f| !f.visible));
    focus(&mut w, "source.host");
    typ(&mut w, &ctx, "mon1:6789 mon2");
    focus(&mut w, "source.name");
    typ(&mut w, &ctx, "rbdpool");
    focus(&mut w, "source.auth.username");
    typ(&mut w, &ctx, "libvirt");
    // A user without a key is an error; a key that is not base64 too.
    assert!(w.field("secret").and_then(|f| f.error.clone()).is_some());
    focus(&mut w, "secret");
    typ(&mut w, &ctx, "not base64!");
    assert!(w
        .field("secret")
        .and_then(|f| f.error.clone())
        .is_some_and(|e| e.contains("base64")));
    for _ in 0.."not base64!".len() {
        w.input(key(KeyCode::Backspace));
    }
    typ(&mut w, &ctx, "QVFCdXNlcmtleQ==");
    assert!(w.page_errors().is_empty() || w.page != 1);
    let StorageCmd::DefinePool {
        secret: Some((sxml, value)),
        xml,
        ..
    } = pool::command(&w, crate::host::RequestId(1)).expect("cmd")
    else {
        panic!("rbd with a user needs a secret");
    };
    assert_eq!(value, b"AQBuserkey");
    assert!(sxml.contains("ceph"), "{sxml}");
    assert!(
        xml.contains("mon1") && xml.contains("6789") && xml.contains("rbdpool"),
        "{xml}"
    );
    assert!(
        xml.contains("cephpool client.libvirt key"),
        "auth by secret usage: {xml}"
    );
}

#[test]
fn volume_sizes_parse_with_units_and_refuse_what_cannot_fit() {
    let ctx = Context {
        volumes: vec![(
            "base.qcow2".into(),
            "/p/base.qcow2".into(),
            "qcow2".into(),
            1 << 30,
        )],
        available: Some(5 << 30),
        ..Context::default()
    };
    let mut w = volume::new(HostId(0), VolumeForm::New { pool: "p".into() }, &ctx);
    refresh(&mut w, &ctx);
    focus(&mut w, "name");
    typ(&mut w, &ctx, "base.qcow2");
    assert!(w
        .field("name")
        .and_then(|f| f.error.clone())
        .is_some_and(|e| e.contains("already")));
    w.input(key(KeyCode::Backspace));
    typ(&mut w, &ctx, "3");
    focus(&mut w, "size");
    for _ in 0..3 {
        w.input(key(KeyCode::Backspace));
    }
    typ(&mut w, &ctx, "10X");
    assert!(w
        .field("size")
        .and_then(|f| f.error.clone())
        .is_some_and(|e| e.contains("unknown unit")));
    for _ in 0..3 {
        w.input(key(KeyCode::Backspace));
    }
    typ(&mut w, &ctx, "512MiB");
    assert!(w.field("size").and_then(|f| f.error.clone()).is_none());
    for _ in 0..6 {
        w.input(key(KeyCode::Backspace));
    }
    typ(&mut w, &ctx, "8G");
    // Thin: a warning; preallocated: an error.
    assert!(w.field("size").and_then(|f| f.warning.clone()).is_some());
    focus(&mut w, "alloc");
    w.input(key(KeyCode::Right));
    refresh(&mut w, &ctx);
    assert!(w
        .field("size")
        .and_then(|f| f.error.clone())
        .is_some_and(|e| e.contains("free")));
}

#[test]
fn resize_only_grows() {
    let ctx = Context::default();
    let kind = VolumeForm::Resize {
        pool: "p".into(),
        volume: "v".into(),
        capacity: 1 << 30,
    };
    let mut w = volume::new(HostId(0), kind, &ctx);
    w.set_text("size", "512M");
    refresh(&mut w, &ctx);
    assert!(w
        .field("size")
        .and_then(|f| f.error.clone())
        .is_some_and(|e| e.contains("only grows")));
    w.set_text("size", "2G");
    refresh(&mut w, &ctx);
    assert!(w.page_errors().is_empty());
    match volume::command(&w, crate::host::RequestId(3)).expect("cmd") {
        StorageCmd::Volume {
            op: crate::host::VolOp::Resize { capacity },
            volume,
            ..
        } => {
            assert_eq!(capacity, 2 << 30);
            assert_eq!(volume, "v");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn pool_name_with_a_space_is_refused_as_its_hint_says() {
    let ctx = Context::default();
    let mut w = pool::new(HostId(0));
    focus(&mut w, "name");
    type_slowly(&mut w, &ctx, "my pool");
    let e = error(&w, "name");
    assert!(e.as_deref().is_some_and(|e| e.contains("spaces")), "{e:?}");
    assert!(!w.next_page());
    for bad in ["café", "-x", ".x"] {
        w.set_text("name", bad);
        refresh(&mut w, &ctx);
        assert!(error(&w, "name").is_some(), "{bad:?}");
    }
}

#[test]
fn volume_names_refuse_control_and_format_characters() {
    let ctx = Context::default();
    let mut w = volume::new(HostId(0), VolumeForm::New { pool: "p".into() }, &ctx);
    w.set_text("name", "disk\u{202e}gpj.qcow2");
    refresh(&mut w, &ctx);
    assert!(error(&w, "name").is_some(), "volume with a bidi override");
}

#[test]
fn download_defaults_outside_the_working_directory_and_names_the_full_path() {
    use std::path::Path;
    let ctx = Context::default();
    let mut w = volume::new(
        HostId(0),
        VolumeForm::Download {
            pool: "p".into(),
            volume: "disk.img".into(),
        },
        &ctx,
    );
    refresh(&mut w, &ctx);
    // The download directory is found by a probe: until it answers the form says so.
    assert!(
        error(&w, "file").is_some_and(|e| e.contains("finding the download directory")),
        "{:?}",
        error(&w, "file")
    );
    deliver(&mut w, &ctx);
    // cargo runs unit tests in the crate's root: a git work tree.
    let cwd = std::env::current_dir().unwrap();
    let file = w.get("file");
    assert!(Path::new(&file).is_absolute(), "{file}");
    assert!(!Path::new(&file).starts_with(&cwd), "{file} is in {cwd:?}");
    assert_eq!(
        Path::new(&file),
        crate::probe::default_download_dir()
            .unwrap()
            .join("disk.img")
    );
    let shown = |w: &Wizard| {
        let f = w.field("file").unwrap();
        format!("{} {}", f.hint, f.warning.clone().unwrap_or_default())
    };
    // A relative name goes to the download directory, and the form says where exactly.
    w.set_text("file", "copy.img");
    refresh(&mut w, &ctx);
    deliver(&mut w, &ctx);
    let full = crate::probe::default_download_dir()
        .unwrap()
        .join("copy.img");
    assert!(
        shown(&w).contains(&full.display().to_string()),
        "{}",
        shown(&w)
    );
    // Into the work tree virtdeck runs in: allowed, but never silently.
    w.set_text("file", &cwd.join("x.img").display().to_string());
    refresh(&mut w, &ctx);
    assert!(
        error(&w, "file").is_some_and(|e| e.starts_with("checking ")),
        "{:?}",
        error(&w, "file")
    );
    deliver(&mut w, &ctx);
    let warning = w.field("file").and_then(|f| f.warning.clone());
    assert!(
        warning
            .as_deref()
            .is_some_and(|m| m.contains("git work tree")),
        "{warning:?}"
    );
}

#[test]
fn volume_names_in_a_logical_pool_follow_lvm() {
    let ctx = Context {
        pool_kind: Some("logical".into()),
        ..Context::default()
    };
    let kind = VolumeForm::New { pool: "vg".into() };
    let mut w = volume::new(HostId(0), kind, &ctx);
    w.set_text("name", "my disk");
    refresh(&mut w, &ctx);
    assert!(error(&w, "name").is_some(), "LVM names take no spaces");
    let hint = w.field("name").unwrap().hint.clone();
    assert!(hint.contains("+ _ . -"), "{hint}");
    w.set_text("name", "web01-root");
    refresh(&mut w, &ctx);
    assert_eq!(error(&w, "name"), None);
}

/// `C-f` reaches the pool wizard through its spec: the host is asked for sources of the chosen
/// type, and its answer fills "Found on host" and copies the picked source into the fields.
#[test]
fn c_f_asks_the_host_for_sources_and_the_answer_fills_the_form() {
    use crate::app::tests::{app, press};
    use crate::app::{Effect, Mode, Msg};
    use crate::host::{HostCommand, HostEvent};
    use crate::model::storage::PoolSource;
    let mut a = app();
    press(&mut a, "3");
    press(&mut a, "n");
    let Mode::Wizard(w) = &mut a.mode else {
        panic!("no pool wizard: {:?}", a.mode)
    };
    let host = w.host;
    assert!(w.choose("type", "logical"));
    let fx = press(&mut a, "<C-f>");
    // The search is a request of the registry; its answer comes back under its id.
    let id = match fx.as_slice() {
        [Effect::Host(_, HostCommand::Storage(StorageCmd::FindSources { id, .. }))] => *id,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        fx,
        vec![Effect::Host(
            host,
            HostCommand::Storage(StorageCmd::FindSources {
                id,
                kind: "logical".into(),
                spec: None,
            })
        )]
    );
    let vg = PoolSource {
        name: Some("vg0".into()),
        ..PoolSource::default()
    };
    a.update(Msg::Host(
        host,
        HostEvent::Reply {
            id,
            reply: crate::host::Reply::Sources(Ok(vec![vg])),
        },
    ));
    let Mode::Wizard(w) = &a.mode else {
        panic!("the wizard closed")
    };
    assert!(w.note.as_deref().is_some_and(|n| n.starts_with("found 1")));
    assert!(w.field("found").is_some_and(|f| f.visible));
    assert_eq!(w.get(crate::xml::pool::field::SOURCE_NAME), "vg0");
    assert!(!w.on("build"), "an existing VG is not built");
}
