//! Local file-system checks the forms need (is this a file, how big, which ISO is it, where
//! would a download land). The app asks for one with `Effect::Probe` and gets the answer as
//! `Msg::Probed`; the runtime runs [`run`] on a thread of its own, so a path on a hung
//! network mount delays one field's check, never the screen. Nothing here knows the app.

use std::path::{Path, PathBuf};

/// What to look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// What is at the path (a file to upload, a pool's target directory).
    Stat(PathBuf),
    /// An ISO image: whether it is a regular file and, if so, its volume id.
    Iso(PathBuf),
    /// A file a download would create: whether it exists, and its nearest existing ancestor.
    SaveTarget(PathBuf),
    /// The directory downloads go to by default, and the git work tree virtdeck runs in.
    DownloadBase,
    /// The backups in a VM's backup directory (`backup::list`).
    Backups(PathBuf),
}

/// What a probe found. Errors inside are the file system's answer ("No such file…").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    Stat(Result<Stat, String>),
    Iso(Iso),
    SaveTarget(SaveTarget),
    DownloadBase {
        base: PathBuf,
        repo: Option<PathBuf>,
    },
    /// Readable backups oldest first, and the manifests that could not be read.
    Backups(Vec<crate::backup::Found>, Vec<String>),
}

/// A probe's answer, or why there is none (it did not answer in time, no thread).
pub type Answer = Result<Found, String>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub file: bool,
    pub dir: bool,
    pub len: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Iso {
    /// A regular file (else nothing was read).
    pub file: bool,
    /// Its volume id, or why it could not be read (only for a regular file).
    pub volume_id: Option<Result<String, String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SaveTarget {
    pub exists: bool,
    /// The nearest ancestor of the file's folder that exists, and whether it is a directory.
    pub ancestor: Option<(PathBuf, bool)>,
}

/// Runs a probe here and now: blocks for as long as the file system does.
pub fn run(probe: &Probe) -> Found {
    match probe {
        Probe::Stat(p) => Found::Stat(
            std::fs::metadata(p)
                .map(|m| Stat {
                    file: m.is_file(),
                    dir: m.is_dir(),
                    len: m.len(),
                })
                .map_err(|e| e.to_string()),
        ),
        Probe::Iso(p) => {
            let file = p.is_file();
            Found::Iso(Iso {
                file,
                volume_id: file.then(|| read_volume_id(p)),
            })
        }
        Probe::SaveTarget(p) => {
            let parent = p.parent().unwrap_or(Path::new("/"));
            Found::SaveTarget(SaveTarget {
                exists: p.exists(),
                ancestor: parent
                    .ancestors()
                    .find(|d| d.exists())
                    .map(|d| (d.to_path_buf(), d.is_dir())),
            })
        }
        Probe::Backups(dir) => {
            let (found, bad) = crate::backup::list(dir);
            Found::Backups(found, bad)
        }
        Probe::DownloadBase => {
            let cwd = std::env::current_dir().ok();
            Found::DownloadBase {
                base: default_download_dir()
                    .or_else(|| cwd.clone())
                    .unwrap_or_else(|| PathBuf::from("/")),
                repo: cwd.as_deref().and_then(repo_root),
            }
        }
    }
}

/// Reads an ISO's volume id; only ever a few KiB.
fn read_volume_id(path: &Path) -> Result<String, String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    crate::osinfo::read_volume_id(&mut file).map_err(|e| e.to_string())
}

/// The user's download directory (XDG `DOWNLOAD`, macOS/Windows Downloads), else
/// `downloads` in virtdeck's data directory: servers, and root, rarely have the former.
pub fn default_download_dir() -> Option<PathBuf> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_work_tree_is_found_by_its_git_entry_file_or_directory() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        assert_eq!(repo_root(&sub), None);
        // A worktree or submodule has a `.git` file, not a directory.
        std::fs::write(dir.path().join(".git"), "gitdir: /x").unwrap();
        assert_eq!(repo_root(&sub), Some(dir.path().to_path_buf()));
    }

    #[test]
    fn probes_report_files_folders_and_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"abc").unwrap();
        assert_eq!(
            run(&Probe::Stat(f.clone())),
            Found::Stat(Ok(Stat {
                file: true,
                dir: false,
                len: 3
            }))
        );
        assert!(matches!(
            run(&Probe::Stat(dir.path().join("nope"))),
            Found::Stat(Err(e)) if e.contains("No such file")
        ));
        let Found::Iso(iso) = run(&Probe::Iso(f.clone())) else {
            panic!("not an ISO answer")
        };
        assert!(iso.file);
        assert!(matches!(iso.volume_id, Some(Err(_))), "{iso:?}");
        assert_eq!(
            run(&Probe::Iso(dir.path().to_path_buf())),
            Found::Iso(Iso {
                file: false,
                volume_id: None
            })
        );
        assert_eq!(
            run(&Probe::SaveTarget(f.join("x"))),
            Found::SaveTarget(SaveTarget {
                exists: false,
                ancestor: Some((f.clone(), false))
            })
        );
        assert_eq!(
            run(&Probe::SaveTarget(dir.path().join("new/sub/x"))),
            Found::SaveTarget(SaveTarget {
                exists: false,
                ancestor: Some((dir.path().to_path_buf(), true))
            })
        );
    }
}
