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

fn save(path: &Path, doc: &DocumentMut) -> Result<(), ConfigError> {
    let err = |e: std::io::Error| ConfigError::new(path.display().to_string(), None, e.to_string());
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp = dir.join(".config.toml.tmp");
    std::fs::write(&tmp, doc.to_string()).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
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
