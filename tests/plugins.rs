//! Plugins (issue 24) on the hostile fleet (tests/fixtures/hostile-fleet.xml through the test
//! driver): a recording program gets exactly the VM's name, UUID, host and URI as single
//! arguments whatever the name holds, `$MARKED` becomes one argument per marked VM, a
//! dangerous plugin is refused in `--readonly`, a `confirm` one shows its command line first,
//! and help and the status bar list them.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use virtdeck::app::{HostSpec, Mode};
use virtdeck::config::keymap::Keymap;
use virtdeck::host::WorkerOptions;

/// A program that writes its arguments, NUL-separated, to the file named first.
fn recorder(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("record");
    std::fs::write(
        &p,
        "#!/bin/sh\nout=$1\nshift\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"$out.tmp\"\nmv \"$out.tmp\" \"$out\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn live() -> common::Live {
    let uri = format!(
        "test://{}/tests/fixtures/hostile-fleet.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut live = common::start(
        vec![(
            HostSpec {
                name: "kvm-hostile".into(),
                uri,
            },
            WorkerOptions::default(),
        )],
        false,
    );
    assert!(live.pump_until(Duration::from_secs(20), |a| a.hosts[0].read_in_full()));
    live
}

fn recorded(out: &Path, live: &mut common::Live) -> Vec<String> {
    let ok = live.pump_until(Duration::from_secs(10), |_| out.exists());
    assert!(
        ok,
        "the plugin did not run; log: {:?}",
        live.app.messages.log
    );
    // Its end reaches the events pane.
    live.pump_until(Duration::from_secs(5), |a| {
        a.events.list.iter().any(|e| e.label().contains("finished"))
    });
    let bytes = std::fs::read(out).unwrap();
    std::fs::remove_file(out).unwrap();
    bytes
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8(a.to_vec()).unwrap())
        .collect()
}

#[test]
fn hostile_names_are_single_arguments_and_dangerous_ones_are_refused_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recorder(dir.path());
    let out = dir.path().join("args");
    let src = format!(
        r#"
[[plugins]]
key = "<C-e>"
name = "record"
description = "Record the VM's arguments"
scopes = ["vm"]
command = ["{rec}", "{out}", "$VM", "$UUID", "$HOST", "$URI", "vm=$VM"]
background = true

[[plugins]]
key = "<C-b>"
name = "bulk"
scopes = ["vm"]
command = ["{rec}", "{out}", "$MARKED"]
background = true
dangerous = true
confirm = true
"#,
        rec = rec.display(),
        out = out.display()
    );
    let mut live = live();
    live.app.settings.plugins =
        virtdeck::plugin::parse("plugins.toml", &src, &Keymap::preset()).unwrap();

    let n = live.app.vms.rows.len();
    assert!(n >= 5, "the hostile fleet has VMs");
    for i in 0..n {
        live.app.vms.selected = i;
        let (h, vm) = live.app.vm(live.app.vms.rows[i]);
        let want = vec![
            vm.name.clone(),
            vm.uuid.clone(),
            h.name.clone(),
            h.uri.clone(),
            format!("vm={}", vm.name),
        ];
        live.press("<C-e>");
        assert_eq!(recorded(&out, &mut live), want, "row {i}");
    }

    // `$MARKED`: one argument per marked VM; asks first, with the command line.
    for i in 0..3 {
        live.app.vms.selected = i;
        live.press("<Space>");
    }
    let marked: Vec<String> = live.app.vms.rows[..3]
        .iter()
        .map(|r| live.app.vm(*r).1.name.clone())
        .collect();
    live.press("<C-b>");
    let Mode::Confirm(c) = &live.app.mode else {
        panic!("no confirmation: {:?}", live.app.mode)
    };
    assert!(c
        .body
        .iter()
        .any(|l| l.contains(&rec.display().to_string())));
    live.press("y");
    let mut got = recorded(&out, &mut live);
    got.sort();
    let mut want = marked.clone();
    want.sort();
    assert_eq!(got, want);

    // Read-only: the dangerous one does not run (nor ask); the other still does.
    live.app.settings.readonly = true;
    live.press("<C-b>");
    assert_eq!(live.app.mode, Mode::Normal);
    assert!(live.app.messages.log.iter().any(|m| m
        .text
        .contains("plugin bulk changes things: not in --readonly")));
    std::thread::sleep(Duration::from_millis(300));
    live.pump_until(Duration::from_millis(300), |_| false);
    assert!(!out.exists(), "refused in --readonly");
    live.app.vms.selected = 0;
    live.press("<C-e>");
    assert_eq!(recorded(&out, &mut live).len(), 5);

    // The status bar hints them, help lists them.
    live.app.messages.toasts.clear();
    let mut t = Terminal::new(TestBackend::new(200, 30)).unwrap();
    t.draw(|f| virtdeck::ui::render(&live.app, f)).unwrap();
    let screen = t.backend().to_string();
    assert!(screen.contains("<C-e> record"), "{screen}");
    live.press("?");
    t.draw(|f| virtdeck::ui::render(&live.app, f)).unwrap();
    let screen = t.backend().to_string();
    assert!(screen.contains("Plugins (plugins.toml)"), "{screen}");
    assert!(screen.contains("Record the VM's arguments"), "{screen}");
}

#[test]
fn a_failing_plugin_and_a_missing_address_are_told() {
    let mut live = live();
    let src = r#"
[[plugins]]
key = "<C-e>"
name = "fails"
scopes = ["vm"]
command = ["sh", "-c", "echo broken pipe >&2; exit 7", "$VM"]
background = true

[[plugins]]
key = "<C-s>"
name = "ssh"
scopes = ["vm"]
command = ["ssh", "root@$IP"]
"#;
    live.app.settings.plugins =
        virtdeck::plugin::parse("plugins.toml", src, &Keymap::preset()).unwrap();
    live.press("<C-e>");
    let ok = live.pump_until(Duration::from_secs(10), |a| {
        a.events
            .list
            .iter()
            .any(|e| e.label() == "plugin fails exited with 7" && e.is_bad())
    });
    assert!(ok, "{:?}", live.app.messages.log);
    assert!(live
        .app
        .messages
        .log
        .iter()
        .any(|m| m.text == "fails: broken pipe"));
    live.press("<C-s>");
    assert!(live.app.messages.log.iter().any(|m| m
        .text
        .contains("plugin ssh: $IP: the VM has no known address")));
}
