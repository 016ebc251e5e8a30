//! The layers stay apart (see README, Design): `host/` (libvirt I/O) never reaches up into the
//! app or the UI; libvirt is only called from `host/`, so `console/`, `vnc/` and every other
//! module hold no libvirt types; and the app and the UI do no file-system I/O (a path check is
//! an `Effect::Probe` the runtime answers), so a hung mount cannot freeze the screen. A source
//! scan, so a new import fails here rather than in review.

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

/// Test-only files: `tests.rs` and `*_tests.rs` are only ever declared as `#[cfg(test)] mod`.
fn is_test_file(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n == "tests.rs" || n.ends_with("_tests.rs"))
}

/// The lines of `text` (number, text) that are not test code: the item after a
/// `#[cfg(test)]` (a module, a function, a `mod tests;`) is skipped up to its closing brace
/// or semicolon, and scanning goes on after it. Comments are cut off.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    // Inside a test item: brace depth, and whether its body has opened.
    let mut skip: Option<(i32, bool)> = None;
    for (i, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        if skip.is_none() && code.trim_start().starts_with("#[cfg(test)]") {
            skip = Some((0, false));
            continue;
        }
        let Some((depth, opened)) = skip.as_mut() else {
            out.push((i + 1, code.to_string()));
            continue;
        };
        for c in code.chars() {
            match c {
                '{' => {
                    *depth += 1;
                    *opened = true;
                }
                '}' => *depth -= 1,
                ';' if *depth == 0 && !*opened => *opened = true,
                _ => {}
            }
        }
        if *opened && *depth <= 0 {
            skip = None;
        }
    }
    out
}

/// `code` contains `word` not as the tail of a longer name (`virt::` is not in `virtdeck::`,
/// nor `crate::app` in `crate::apple`).
fn mentions(code: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices(word).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = code[i + word.len()..].chars().next();
        let glued_before = word.starts_with(ident) && before.is_some_and(ident);
        let glued_after = word.ends_with(ident) && after.is_some_and(ident);
        !glued_before && !glued_after
    })
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Non-test lines of `files` that mention any of `banned`.
fn scan(files: Vec<PathBuf>, banned: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for f in files.into_iter().filter(|f| !is_test_file(f)) {
        let text = std::fs::read_to_string(&f).expect("read source");
        for (n, code) in code_lines(&text) {
            if banned.iter().any(|b| mentions(&code, b)) {
                out.push(format!("{}:{n}: {}", f.display(), code.trim()));
            }
        }
    }
    out
}

/// Sources under `src/<dir>` (and the file `src/<dir>.rs`).
fn sources(dir: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let sub = src().join(dir);
    if sub.is_dir() {
        rust_files(&sub, &mut files);
    }
    let single = src().join(format!("{dir}.rs"));
    if single.is_file() {
        files.push(single);
    }
    assert!(!files.is_empty(), "no sources under src/{dir}");
    files
}

/// Lines under `src/<dir>` (or the file `src/<dir>.rs`) that mention any of `banned`.
fn offenders(dir: &str, banned: &[&str]) -> Vec<String> {
    scan(sources(dir), banned)
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

/// Modules outside `src/host/` allowed to name libvirt, with the reason. Empty: keep it so.
const LIBVIRT_OUTSIDE_HOST: &[(&str, &str)] = &[];

#[test]
fn libvirt_is_called_only_under_host() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let host = src().join("host");
    let files = files
        .into_iter()
        .filter(|f| !f.starts_with(&host))
        .filter(|f| {
            !LIBVIRT_OUTSIDE_HOST
                .iter()
                .any(|(p, _)| f.ends_with(Path::new(p)))
        })
        .collect();
    let bad = scan(files, &["virt::", "virt_sys", "use virt;"]);
    assert!(
        bad.is_empty(),
        "libvirt outside src/host/ (move the call into host/, or list the file with a reason):\n{}",
        bad.join("\n")
    );
}

/// What reads the file system from the calling thread.
const FS_IO: &[&str] = &[
    "std::fs",
    "File::open",
    "metadata(",
    ".exists()",
    ".is_file()",
    ".is_dir()",
    "read_dir(",
    "canonicalize(",
    "directories::",
    "OsDb::shared",
];

#[test]
fn the_app_and_the_ui_do_no_file_io() {
    for dir in ["app", "ui"] {
        let bad = offenders(dir, FS_IO);
        assert!(
            bad.is_empty(),
            "{dir}/ touches the file system (make it an Effect::Probe):\n{}",
            bad.join("\n")
        );
    }
}

#[test]
fn test_code_is_skipped_and_code_after_it_is_not() {
    let text = "use a;\n#[cfg(test)]\nmod tests;\nfn b() { std::fs::read(x) }\n\
                #[cfg(test)]\n#[path = \"x_tests.rs\"]\nmod t {\n    fn c() {\n        \
                std::fs::read(y);\n    }\n}\nfn d() {}\n";
    let kept: Vec<usize> = code_lines(text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(kept, [1, 4, 12]);
    assert!(mentions("use virt::connect", "virt::"));
    assert!(!mentions("use virtdeck::app", "virt::"));
    assert!(!mentions("crate::apple", "crate::app"));
    assert!(mentions("x.is_file()", ".is_file()"));
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

/// The generic wizard knows no specific wizard (issue 19): each one is a `wizard::Spec` owned
/// by the pane that opens it (`app/storage`, `app/networks`, `app/migrations`, `app/newvm`),
/// and the wizard asks the spec instead of matching on which wizard it shows.
#[test]
fn the_generic_wizard_names_no_specific_wizard() {
    let mut banned = vec![
        "pool_wizard",
        "volume_wizard",
        "secret_wizard",
        "networks::wizard",
        "migrate_wizard",
        "evacuate_wizard",
        "newvm",
        "NewVm",
        "CreateVm",
        "migrations::",
        "app::storage",
        "super::storage",
        "app::networks",
        "super::networks",
        "Kind::",
    ];
    // The old children of `app/wizard`, declared or reached as such.
    let old = [
        "pool", "volume", "secret", "network", "download", "migrate", "evacuate",
    ];
    let declared: Vec<String> = old.iter().map(|m| format!("mod {m}")).collect();
    let reached: Vec<String> = old.iter().map(|m| format!("super::{m}")).collect();
    let named: Vec<String> = old.iter().map(|m| format!("wizard::{m}")).collect();
    let local: Vec<String> = old.iter().map(|m| format!(" {m}::")).collect();
    for list in [&declared, &reached, &named, &local] {
        banned.extend(list.iter().map(String::as_str));
    }
    let bad = offenders("app/wizard", &banned);
    assert!(
        bad.is_empty(),
        "app/wizard/ names a specific wizard (give the Spec a method instead):\n{}",
        bad.join("\n")
    );
    // Nor does the view that draws any wizard: a spec's own keys come from the spec, the
    // migration wizards' last page from `ui::migrations`.
    let specs = [
        "pool_wizard",
        "volume_wizard",
        "secret_wizard",
        "networks::wizard",
        "migrate_wizard",
        "evacuate_wizard",
        "newvm",
        "PoolForm",
        "MigrateForm",
        "EvacuateForm",
    ];
    let bad = offenders("ui/wizard", &specs);
    assert!(
        bad.is_empty(),
        "ui/wizard.rs names a specific wizard:\n{}",
        bad.join("\n")
    );
}
