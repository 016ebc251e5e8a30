//! Where a volume download lands. Not the program's working directory: virtdeck is often run
//! from a checkout or a random shell, and a multi-GiB image written there silently is a
//! surprise (and, in a repository, a file one `git add -A` away from a commit). The default
//! is the user's download directory, else virtdeck's data directory; a relative name is taken
//! inside that directory; the form shows the full path, and says so when the file would land
//! inside the git work tree virtdeck was started from.

use std::path::{Path, PathBuf};

use super::volume_wizard::VolumeForm;
use crate::app::wizard::{checks, Wizard};
use crate::probe::SaveTarget;

/// Memo keys: the directory relative names are taken in, and the work tree of the directory
/// virtdeck runs in (both found once, by a probe, when the form opens).
const BASE: &str = "download_dir";
const REPO: &str = "repository";

/// The file a typed name means: absolute as typed, else inside `base`.
pub fn resolve(typed: &str, base: &Path) -> PathBuf {
    let p = Path::new(typed);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// A volume name (the host's text) as a file name: no '/', no control or format characters,
/// and never `.` or `..`, which would name a directory.
fn file_name(volume: &str) -> String {
    let name: String = volume
        .chars()
        .map(|c| {
            if c == '/' || crate::sanitize::is_unsafe(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    match name.as_str() {
        "" | "." | ".." => "volume".into(),
        _ => name,
    }
}

/// Keeps the download directory once the probe finds it, and fills the file field with the
/// volume's name there unless the user has typed something.
fn learn_base(w: &mut Wizard) -> Result<(), String> {
    if w.memo.contains_key(BASE) {
        return Ok(());
    }
    let (base, repo) = match checks::download_base(w, "base") {
        None => return Err("finding the download directory…".into()),
        Some(Err(e)) => {
            return Err(format!(
                "the download directory did not answer ({e}): type an absolute path"
            ))
        }
        Some(Ok(found)) => found,
    };
    if let Some(repo) = repo {
        w.memo.insert(REPO, repo.display().to_string());
    }
    w.memo.insert(BASE, base.display().to_string());
    if w.get("file").is_empty() {
        let volume = match w.spec_as() {
            Some(VolumeForm::Download { volume, .. }) => volume.clone(),
            _ => String::new(),
        };
        w.set_text("file", &base.join(file_name(&volume)).display().to_string());
    }
    Ok(())
}

/// The full path the form's file field means.
pub fn target(w: &Wizard) -> PathBuf {
    let base = w.memo.get(BASE).map(PathBuf::from).unwrap_or_default();
    resolve(&w.get("file"), &base)
}

/// Checks the destination: an error blocks, warnings are shown; the hint names the full path.
pub fn refresh(w: &mut Wizard) {
    let base = learn_base(w);
    let typed = w.get("file");
    let path = target(w);
    let repo = w.memo.get(REPO).map(PathBuf::from);
    let (error, warnings) = match base {
        // Without the directory only an absolute path means something.
        Err(e) if !path.is_absolute() || typed.is_empty() => (Some(e), Vec::new()),
        _ if typed.is_empty() || typed.ends_with('/') || path.file_name().is_none() => {
            check(&typed, &path, None, &SaveTarget::default())
        }
        _ => match checks::save_target(w, "file", path.clone()) {
            None => (Some(format!("checking {}…", path.display())), Vec::new()),
            Some(Err(e)) => (Some(format!("{}: {e}", path.display())), Vec::new()),
            Some(Ok(found)) => check(&typed, &path, repo.as_deref(), &found),
        },
    };
    let hint = format!(
        "saves as {} (a new file, never overwritten; a relative name goes to {})",
        path.display(),
        w.memo.get(BASE).map(String::as_str).unwrap_or("?")
    );
    if let Some(f) = w.field_mut("file") {
        f.hint = hint;
        f.error = error;
        // A warning replaces the hint under the field: it names the full path too.
        f.warning = (!warnings.is_empty())
            .then(|| format!("saves as {}: {}", path.display(), warnings.join("; ")));
    }
}

/// (error, warnings) for saving to `path` (typed as `typed`), from what the probe `found`
/// there.
fn check(
    typed: &str,
    path: &Path,
    repo: Option<&Path>,
    found: &SaveTarget,
) -> (Option<String>, Vec<String>) {
    let mut warnings = Vec::new();
    if typed.is_empty() {
        return (Some("enter where to save the volume".into()), warnings);
    }
    if typed.ends_with('/') || path.file_name().is_none() {
        return (Some("end the path with a file name".into()), warnings);
    }
    if found.exists {
        return (
            Some(format!("{} exists: choose a new file name", path.display())),
            warnings,
        );
    }
    // The first ancestor that exists decides: a file there blocks, a missing folder is made.
    let parent = path.parent().unwrap_or(Path::new("/"));
    match &found.ancestor {
        Some((d, false)) => {
            return (
                Some(format!("{} is not a directory", d.display())),
                warnings,
            );
        }
        Some((d, true)) if d != parent => {
            warnings.push(format!("creates the folder {}", parent.display()));
        }
        _ => {}
    }
    if let Some(repo) = repo.filter(|r| path.starts_with(r)) {
        warnings.push(format!(
            "inside the git work tree {} virtdeck was started in",
            repo.display()
        ));
    }
    (None, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_names_go_to_the_base_not_the_working_directory() {
        let base = Path::new("/home/u/Downloads");
        assert_eq!(
            resolve("disk.img", base),
            PathBuf::from("/home/u/Downloads/disk.img")
        );
        assert_eq!(
            resolve("sub/disk.img", base),
            PathBuf::from("/home/u/Downloads/sub/disk.img")
        );
        assert_eq!(resolve("/srv/x.img", base), PathBuf::from("/srv/x.img"));
        assert_eq!(file_name("a/b.img"), "a_b.img");
        assert_eq!(file_name("x\n\u{202e}.img"), "x__.img");
        assert_eq!(file_name(".."), "volume");
    }

    #[test]
    fn destination_checks() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("taken"), b"x").unwrap();
        let found =
            |p: &Path| match crate::probe::run(&crate::probe::Probe::SaveTarget(p.to_path_buf())) {
                crate::probe::Found::SaveTarget(t) => t,
                other => panic!("{other:?}"),
            };
        let at = |p: &Path| check(&p.display().to_string(), p, None, &found(p));
        assert!(at(&d.join("taken")).0.unwrap().contains("exists"));
        assert!(at(&d.join("taken/x.img"))
            .0
            .unwrap()
            .contains("not a directory"));
        assert_eq!(at(&d.join("new.img")), (None, vec![]));
        let (e, w) = at(&d.join("a/b/new.img"));
        assert_eq!(e, None);
        assert!(
            w[0].contains("creates the folder") && w[0].contains("a/b"),
            "{w:?}"
        );
        let none = SaveTarget::default();
        assert!(check("", Path::new("/"), None, &none).0.is_some());
        assert!(check("x/", &d.join("x/"), None, &none).0.is_some());
        // Inside the repository virtdeck runs in: said, not refused.
        let (e, w) = check("x.img", &d.join("x.img"), Some(d), &found(&d.join("x.img")));
        assert_eq!(e, None);
        assert!(w.iter().any(|w| w.contains("git work tree")), "{w:?}");
    }
}
