//! Writes host changes made in the app back to `config.toml`, keeping the user's comments,
//! order and formatting (`toml_edit`). The file is replaced atomically.

use std::path::{Path, PathBuf};

use toml_edit::{value, ArrayOfTables, DocumentMut, Item, Table};

use super::{read_optional, Config, ConfigError};

fn load(path: &Path) -> Result<DocumentMut, ConfigError> {
    let shown = path.display().to_string();
    let src = read_optional(path)?.unwrap_or_default();
    // Refuse to rewrite a file the app itself would not accept.
    Config::parse(&shown, &src)?;
    src.parse::<DocumentMut>()
        .map_err(|e| ConfigError::new(shown, None, e.to_string()))
}

/// Replaces the file atomically. A symlinked `config.toml` (dotfiles) is written through to
/// its target, which keeps its mode and owner: the link stays a link and a 0600 file does not
/// become world-readable.
fn save(path: &Path, doc: &DocumentMut) -> Result<(), ConfigError> {
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;

    let err = |e: std::io::Error| ConfigError::new(path.display().to_string(), None, e.to_string());
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).map_err(err)?,
        _ => path.to_path_buf(),
    };
    let dir = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    // Next to the target, so the rename stays on one filesystem; created 0600.
    let mut tmp = tempfile::Builder::new()
        .prefix(".config.toml.")
        .tempfile_in(dir)
        .map_err(err)?;
    if let Ok(old) = std::fs::metadata(&target) {
        tmp.as_file()
            .set_permissions(old.permissions())
            .map_err(err)?;
        let mine = tmp.as_file().metadata().map_err(err)?;
        if (mine.uid(), mine.gid()) != (old.uid(), old.gid()) {
            // Refuse rather than hand someone else's file over to us.
            std::os::unix::fs::fchown(tmp.as_file(), Some(old.uid()), Some(old.gid())).map_err(
                |e| {
                    ConfigError::new(
                        target.display().to_string(),
                        None,
                        format!("cannot keep the file's owner ({e}); not written"),
                    )
                },
            )?;
        }
    }
    tmp.write_all(doc.to_string().as_bytes()).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(&target).map_err(|e| err(e.error))?;
    Ok(())
}

fn hosts(doc: &mut DocumentMut) -> Result<&mut ArrayOfTables, String> {
    let item = doc
        .entry("hosts")
        .or_insert(Item::ArrayOfTables(ArrayOfTables::new()));
    item.as_array_of_tables_mut()
        .ok_or_else(|| "`hosts` is not a list of [[hosts]] tables".to_string())
}

/// Appends a `[[hosts]]` entry (unless one with this URI exists). Returns the file written.
pub fn add_host(dir: &Path, name: &str, uri: &str) -> Result<PathBuf, ConfigError> {
    let path = dir.join("config.toml");
    if uri.trim().is_empty() {
        // The loader refuses an empty URI (libvirt would open its default): never write one.
        return Err(ConfigError::new(
            path.display().to_string(),
            None,
            "uri is empty".to_string(),
        ));
    }
    let mut doc = load(&path)?;
    let list =
        hosts(&mut doc).map_err(|m| ConfigError::new(path.display().to_string(), None, m))?;
    let exists = list
        .iter()
        .any(|t| t.get("uri").and_then(|v| v.as_str()) == Some(uri));
    if !exists {
        let mut t = Table::new();
        t["name"] = value(name);
        t["uri"] = value(uri);
        list.push(t);
        save(&path, &doc)?;
    }
    Ok(path)
}

/// Removes every `[[hosts]]` entry with this URI. False when the file had none (the host came
/// from the command line).
pub fn remove_host(dir: &Path, uri: &str) -> Result<bool, ConfigError> {
    let path = dir.join("config.toml");
    if read_optional(&path)?.is_none() {
        return Ok(false);
    }
    let mut doc = load(&path)?;
    let list =
        hosts(&mut doc).map_err(|m| ConfigError::new(path.display().to_string(), None, m))?;
    let before = list.len();
    list.retain(|t| t.get("uri").and_then(|v| v.as_str()) != Some(uri));
    let removed = list.len() != before;
    if removed {
        save(&path, &doc)?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_remove_keep_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "# my fleet\npoll_interval = 3 # seconds\n\n[[hosts]]\nname = \"a\"\nuri = \"qemu:///system\"\n",
        )
        .unwrap();
        add_host(dir.path(), "b <&'\"> ü", "qemu+ssh://root@b/system").unwrap();
        // Adding the same URI twice does not duplicate it.
        add_host(dir.path(), "b2", "qemu+ssh://root@b/system").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# my fleet\npoll_interval = 3 # seconds\n"),
            "{text}"
        );
        let cfg = Config::parse("c", &text).unwrap();
        assert_eq!(cfg.hosts.len(), 2);
        assert_eq!(cfg.hosts[1].name.as_deref(), Some("b <&'\"> ü"));
        assert_eq!(cfg.hosts[1].uri, "qemu+ssh://root@b/system");

        assert!(remove_host(dir.path(), "qemu:///system").unwrap());
        assert!(!remove_host(dir.path(), "qemu:///nothing").unwrap());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("# my fleet"), "{text}");
        let cfg = Config::parse("c", &text).unwrap();
        assert_eq!(cfg.hosts.len(), 1);
    }

    #[test]
    fn writes_through_a_symlink_keeping_mode_and_owner() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let home = tempfile::tempdir().unwrap();
        let dotfiles = home.path().join("dotfiles");
        std::fs::create_dir(&dotfiles).unwrap();
        let target = dotfiles.join("virtdeck.toml");
        std::fs::write(&target, "# mine\npoll_interval = 3\n").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        // Root can hand the file to someone else; the rewrite must keep that owner.
        let root = nix_is_root();
        if root {
            std::os::unix::fs::chown(&target, Some(65534), Some(65534)).unwrap();
        } else {
            eprintln!("skipped: the owner half of this test needs root");
        }
        let conf = home.path().join("conf");
        std::fs::create_dir(&conf).unwrap();
        let link = conf.join("config.toml");
        std::os::unix::fs::symlink("../dotfiles/virtdeck.toml", &link).unwrap();

        add_host(&conf, "x", "qemu:///system").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "the link stays a link"
        );
        let text = std::fs::read_to_string(&target).unwrap();
        assert!(
            text.starts_with("# mine\npoll_interval = 3\n") && text.contains("qemu:///system"),
            "{text}"
        );
        let meta = std::fs::metadata(&target).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
        if root {
            assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
        }
        assert!(remove_host(&conf, "qemu:///system").unwrap());
        assert_eq!(
            std::fs::metadata(&target).unwrap().permissions().mode() & 0o7777,
            0o600
        );
        // No temporary files left beside either.
        for d in [&conf, &dotfiles] {
            assert_eq!(std::fs::read_dir(d).unwrap().count(), 1, "{}", d.display());
        }
    }

    fn nix_is_root() -> bool {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
    }

    #[test]
    fn creates_the_file_and_refuses_a_broken_one() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("new");
        add_host(&sub, "x", "qemu:///system").unwrap();
        let cfg = Config::parse(
            "c",
            &std::fs::read_to_string(sub.join("config.toml")).unwrap(),
        )
        .unwrap();
        assert_eq!(cfg.hosts[0].uri, "qemu:///system");
        assert!(
            !remove_host(dir.path(), "qemu:///system").unwrap(),
            "no file"
        );

        std::fs::write(dir.path().join("config.toml"), "poll_interval = [\n").unwrap();
        let err = add_host(dir.path(), "x", "qemu:///system").unwrap_err();
        assert!(err.to_string().contains("config.toml"), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("config.toml")).unwrap(),
            "poll_interval = [\n",
            "a broken file is left alone"
        );
    }
}
