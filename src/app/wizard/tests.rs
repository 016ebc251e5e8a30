use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn typ(w: &mut Wizard, ctx: &Context, s: &str) {
    for ch in s.chars() {
        w.input(key(KeyCode::Char(ch)));
    }
    refresh(w, ctx);
}

fn focus(w: &mut Wizard, k: &str) {
    w.focus = w.fields.iter().position(|f| f.key == k).expect("field");
}

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
    let mut w = volume::new(
        Kind::Volume {
            host: HostId(0),
            pool: "p".into(),
        },
        &ctx,
    );
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
    let kind = Kind::Resize {
        host: HostId(0),
        pool: "p".into(),
        volume: "v".into(),
        capacity: 1 << 30,
    };
    let mut w = volume::new(kind, &ctx);
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
fn network_wizard_suggests_a_free_subnet_and_checks_the_range() {
    let ctx = Context::default();
    let mut w = network::new(HostId(0), &ctx);
    refresh(&mut w, &ctx);
    assert_eq!(w.get("subnet"), "192.168.100.0/24");
    assert_eq!(w.get("dhcp_start"), "192.168.100.128");
    w.set_text("name", "lab<&>");
    w.set_text("dhcp_start", "192.168.101.10");
    refresh(&mut w, &ctx);
    assert!(w
        .field("dhcp_start")
        .and_then(|f| f.error.clone())
        .is_some_and(|e| e.contains("outside")));
    w.set_text("dhcp_start", "192.168.100.10");
    refresh(&mut w, &ctx);
    assert!(w
        .field("dhcp_start")
        .and_then(|f| f.error.clone())
        .is_none());
    let Some(Ok(xml)) = &w.review else {
        panic!("{:?}", w.review);
    };
    assert!(
        xml.contains("lab&lt;&amp;&gt;") && xml.contains("nat"),
        "{xml}"
    );
}

#[test]
fn network_wizard_avoids_and_warns_about_the_hosts_own_addresses() {
    let ctx = Context {
        ifaces: vec![crate::model::network::HostIface {
            name: "eth0".into(),
            kind: "ethernet".into(),
            mac: None,
            active: true,
            addrs: vec!["192.168.100.7/24".into(), "127.0.0.1/8".into()],
        }],
        ..Context::default()
    };
    let mut w = network::new(HostId(0), &ctx);
    refresh(&mut w, &ctx);
    assert_eq!(
        w.get("subnet"),
        "192.168.101.0/24",
        "the host's LAN is skipped"
    );
    assert!(w.field("subnet").and_then(|f| f.warning.clone()).is_none());
    w.set_text("subnet", "192.168.100.0/24");
    refresh(&mut w, &ctx);
    let warn = w.field("subnet").and_then(|f| f.warning.clone());
    assert!(
        warn.as_deref()
            .is_some_and(|m| m.contains("host's address 192.168.100.7/24")),
        "{warn:?}"
    );
}

#[test]
fn field_moving_keys_never_type_into_a_text_field() {
    use crate::app::form::edit_line;
    let mut t = ratatui_textarea::TextArea::default();
    for (code, mods) in [
        (KeyCode::BackTab, KeyModifiers::SHIFT),
        (KeyCode::BackTab, KeyModifiers::NONE),
        (KeyCode::Tab, KeyModifiers::SHIFT),
        (KeyCode::Tab, KeyModifiers::NONE),
        (KeyCode::Enter, KeyModifiers::SHIFT),
    ] {
        assert!(!edit_line(&mut t, KeyEvent::new(code, mods)), "{code:?}");
    }
    assert!(edit_line(&mut t, key(KeyCode::Char('a'))));
    assert_eq!(t.lines(), ["a"]);
}

/// Types `s` one character at a time, re-checking after each, as the app does.
fn type_slowly(w: &mut Wizard, ctx: &Context, s: &str) {
    for ch in s.chars() {
        w.input(key(KeyCode::Char(ch)));
        refresh(w, ctx);
    }
}

fn clear(w: &mut Wizard, ctx: &Context, k: &str) {
    focus(w, k);
    for _ in 0..w.get(k).chars().count() {
        w.input(key(KeyCode::Backspace));
        refresh(w, ctx);
    }
}

/// Answers the wizard's file-system probes (the runtime's part) and re-checks the form.
fn deliver(w: &mut Wizard, ctx: &Context) {
    w.checks.run_here();
    refresh(w, ctx);
}

fn error(w: &Wizard, k: &str) -> Option<String> {
    w.field(k).and_then(|f| f.error.clone())
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
fn volume_and_network_names_refuse_control_and_format_characters() {
    let ctx = Context::default();
    let mut w = volume::new(
        Kind::Volume {
            host: HostId(0),
            pool: "p".into(),
        },
        &ctx,
    );
    w.set_text("name", "disk\u{202e}gpj.qcow2");
    refresh(&mut w, &ctx);
    assert!(error(&w, "name").is_some(), "volume with a bidi override");
    let mut w = network::new(HostId(0), &ctx);
    w.set_text("name", ".hidden");
    refresh(&mut w, &ctx);
    assert!(error(&w, "name").is_some(), "network named '.hidden'");
}

#[test]
fn network_wizard_moves_the_dhcp_range_with_the_subnet() {
    let ctx = Context::default();
    let mut w = network::new(HostId(0), &ctx);
    refresh(&mut w, &ctx);
    w.set_text("name", "lab");
    assert_eq!(w.get("subnet"), "192.168.100.0/24");
    assert_eq!(w.get("dhcp_start"), "192.168.100.128");
    assert_eq!(w.get("dhcp_end"), "192.168.100.254");
    // Typed over, one key at a time (each intermediate text is checked too).
    clear(&mut w, &ctx, "subnet");
    type_slowly(&mut w, &ctx, "10.0.5.0/24");
    assert_eq!(w.get("dhcp_start"), "10.0.5.128");
    assert_eq!(w.get("dhcp_end"), "10.0.5.254");
    assert_eq!(error(&w, "dhcp_start"), None);
    // A smaller subnet: the old offsets do not fit, so the range is suggested afresh.
    w.set_text("subnet", "10.0.6.0/28");
    refresh(&mut w, &ctx);
    assert_eq!(error(&w, "dhcp_start"), None, "{}", w.get("dhcp_start"));
    let r = (w.get("dhcp_start"), w.get("dhcp_end"));
    assert!(
        r.0.starts_with("10.0.6.") && r.1.starts_with("10.0.6."),
        "{r:?}"
    );
    // A range the user set outside the subnet on purpose is theirs: it stays (and is flagged).
    w.set_text("dhcp_start", "172.16.0.10");
    w.set_text("dhcp_end", "172.16.0.20");
    refresh(&mut w, &ctx);
    w.set_text("subnet", "10.0.7.0/24");
    refresh(&mut w, &ctx);
    assert_eq!(w.get("dhcp_start"), "172.16.0.10");
    assert!(error(&w, "dhcp_start").is_some());
}

#[test]
fn download_defaults_outside_the_working_directory_and_names_the_full_path() {
    use std::path::Path;
    let ctx = Context::default();
    let mut w = volume::new(
        Kind::Download {
            host: HostId(0),
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
    let kind = Kind::Volume {
        host: HostId(0),
        pool: "vg".into(),
    };
    let mut w = volume::new(kind, &ctx);
    w.set_text("name", "my disk");
    refresh(&mut w, &ctx);
    assert!(error(&w, "name").is_some(), "LVM names take no spaces");
    let hint = w.field("name").unwrap().hint.clone();
    assert!(hint.contains("+ _ . -"), "{hint}");
    w.set_text("name", "web01-root");
    refresh(&mut w, &ctx);
    assert_eq!(error(&w, "name"), None);
}
