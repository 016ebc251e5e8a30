//! Where a volume download lands. Not the program's working directory: virtdeck is often run
//! from a checkout or a random shell, and a multi-GiB image written there silently is a
//! surprise (and, in a repository, a file one `git add -A` away from a commit). The default
//! is the user's download directory, else virtdeck's data directory; a relative name is taken
//! inside that directory; the form shows the full path, and says so when the file would land
//! inside the git work tree virtdeck was started from.

use std::path::{Path, PathBuf};

use super::Wizard;

/// Memo keys: the directory relative names are taken in, and the work tree of the directory
/// virtdeck runs in (both found when the form opens, not on every key).
const BASE: &str = "download_dir";
const REPO: &str = "repository";

/// The user's download directory (XDG `DOWNLOAD`, macOS/Windows Downloads), else
/// `downloads` in virtdeck's data directory: servers, and root, rarely have the former.
pub fn default_dir() -> Option<PathBuf> {
    directories::UserDirs::new()
        .and_then(|u| u.download_dir().map(Path::to_path_buf))
        .or_else(|| {
            directories::ProjectDirs::from("", "", "virtdeck")
                .map(|d| d.data_dir().join("downloads"))
        })
}

/// The git work tree holding `dir`: its nearest ancestor with a `.git` entry (a directory,
/// or the file a worktree or submodule has).
pub fn repo_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

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

/// Sets up the form's memory and returns the default value of its file field.
pub fn prepare(w: &mut Wizard, volume: &str) -> String {
    let cwd = std::env::current_dir().ok();
    let base = default_dir()
        .or_else(|| cwd.clone())
        .unwrap_or_else(|| PathBuf::from("/"));
    if let Some(repo) = cwd.as_deref().and_then(repo_root) {
        w.memo.insert(REPO, repo.display().to_string());
    }
    w.memo.insert(BASE, base.display().to_string());
    base.join(file_name(volume)).display().to_string()
}

/// The full path the form's file field means.
pub fn target(w: &Wizard) -> PathBuf {
    let base = w.memo.get(BASE).map(PathBuf::from).unwrap_or_default();
    resolve(&w.get("file"), &base)
}

/// Checks the destination: an error blocks, warnings are shown; the hint names the full path.
pub fn refresh(w: &mut Wizard) {
    let typed = w.get("file");
    let path = target(w);
    let repo = w.memo.get(REPO).map(PathBuf::from);
    let (error, warnings) = check(&typed, &path, repo.as_deref());
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

/// (error, warnings) for saving to `path` (typed as `typed`).
fn check(typed: &str, path: &Path, repo: Option<&Path>) -> (Option<String>, Vec<String>) {
    let mut warnings = Vec::new();
    if typed.is_empty() {
        return (Some("enter where to save the volume".into()), warnings);
    }
    if typed.ends_with('/') || path.file_name().is_none() {
        return (Some("end the path with a file name".into()), warnings);
    }
    if path.exists() {
        return (
            Some(format!("{} exists: choose a new file name", path.display())),
            warnings,
        );
    }
    // The first ancestor that exists decides: a file there blocks, a missing folder is made.
    let parent = path.parent().unwrap_or(Path::new("/"));
    match parent.ancestors().find(|d| d.exists()) {
        Some(d) if !d.is_dir() => {
            return (
                Some(format!("{} is not a directory", d.display())),
                warnings,
            );
        }
        Some(d) if d != parent => {
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
        let at = |p: &Path| check(&p.display().to_string(), p, None);
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
        assert!(check("", Path::new("/"), None).0.is_some());
        assert!(check("x/", &d.join("x/"), None).0.is_some());
        // Inside the repository virtdeck runs in: said, not refused.
        let (e, w) = check("x.img", &d.join("x.img"), Some(d));
        assert_eq!(e, None);
        assert!(w.iter().any(|w| w.contains("git work tree")), "{w:?}");
    }

    #[test]
    fn the_work_tree_is_found_from_below() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        assert_eq!(repo_root(&sub), None);
        // A worktree's .git is a file.
        std::fs::write(dir.path().join(".git"), "gitdir: /x").unwrap();
        assert_eq!(repo_root(&sub), Some(dir.path().to_path_buf()));
    }
}
