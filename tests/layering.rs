//! The layers stay apart (see README, Design): `host/` (libvirt I/O) never reaches up into the
//! app or the UI, and `console/` and `vnc/` hold no libvirt types, so each can be tested and
//! replaced alone. A source scan, so a new import fails here rather than in review.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source dir") {
        let p = entry.expect("dir entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Lines under `src/<dir>` (or the file `src/<dir>.rs`) that mention any of `banned`.
fn offenders(dir: &str, banned: &[&str]) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let sub = src.join(dir);
    if sub.is_dir() {
        rust_files(&sub, &mut files);
    }
    let single = src.join(format!("{dir}.rs"));
    if single.is_file() {
        files.push(single);
    }
    assert!(!files.is_empty(), "no sources under src/{dir}");
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read source");
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if banned.iter().any(|b| code.contains(b)) {
                out.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
            }
        }
    }
    out
}

#[test]
fn host_never_imports_the_app_or_the_ui() {
    let bad = offenders("host", &["crate::app", "crate::ui", "super::super::app"]);
    assert!(bad.is_empty(), "host/ reaches up:\n{}", bad.join("\n"));
}

#[test]
fn console_and_vnc_hold_no_libvirt_types() {
    for dir in ["console", "vnc"] {
        let bad = offenders(dir, &["virt::", "crate::host"]);
        assert!(
            bad.is_empty(),
            "{dir}/ touches libvirt:\n{}",
            bad.join("\n")
        );
    }
}

/// The generic wizard types and pages; the forms it shows belong to the panes that open them.
/// The VM detail screen's forms live under `app/detail/forms` and reach the wizard as a
/// `wizard::Spec`, so nothing under `app/wizard` names them or the detail pane.
#[test]
fn the_generic_wizard_names_no_detail_form() {
    let bad = offenders(
        "app/wizard",
        &["::detail", "detail::", "{detail", "mod vm;"],
    );
    assert!(
        bad.is_empty(),
        "app/wizard/ names the detail forms:\n{}",
        bad.join("\n")
    );
}
