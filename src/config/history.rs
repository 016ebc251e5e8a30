//! The palette's history: one line per command run, oldest first, in
//! `$VIRTDECK_STATE_DIR` or the XDG state dir (`~/.local/state/virtdeck/history`).

use std::path::{Path, PathBuf};

pub fn state_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("VIRTDECK_STATE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let dirs = directories::ProjectDirs::from("", "", "virtdeck")?;
    // No state dir outside Linux: the data dir is the next best place.
    Some(
        dirs.state_dir()
            .map_or_else(|| dirs.data_local_dir().to_path_buf(), Path::to_path_buf),
    )
}

fn file(dir: &Path) -> PathBuf {
    dir.join("history")
}

/// The saved lines; a missing or unreadable file is an empty history (it is a convenience).
pub fn load(dir: &Path) -> Vec<String> {
    match super::read_optional(&file(dir)) {
        Ok(Some(text)) => {
            let mut lines: Vec<String> = text
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty() && !l.chars().any(char::is_control))
                .collect();
            let extra = lines.len().saturating_sub(crate::app::palette::HISTORY);
            lines.drain(..extra);
            lines
        }
        _ => Vec::new(),
    }
}

/// Writes the lines (through a temporary file, so a crash never leaves half a history).
pub fn save(dir: &Path, lines: &[String]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("history.{}.tmp", std::process::id()));
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, file(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_round_trips_and_drops_junk() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).is_empty());
        let lines = vec!["vms @kvm2 /web".to_string(), "pools".to_string()];
        save(&dir.path().join("sub"), &lines).unwrap();
        assert_eq!(load(&dir.path().join("sub")), lines);
        std::fs::write(file(dir.path()), "a\n\n  \nb\u{1b}[2J\nc\n").unwrap();
        assert_eq!(load(dir.path()), ["a", "c"]);
    }
}
