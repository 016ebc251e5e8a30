//! Configuration: `config.toml`, keymaps and themes. Presets are compiled in; files in the user's
//! config directory override them entry by entry.

pub mod alerts;
pub mod history;
pub mod keymap;
pub mod persist;
pub mod theme;

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A configuration file that could not be used, with the file and line to look at.
#[derive(Debug, thiserror::Error)]
#[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    pub path: String,
    pub line: Option<usize>,
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, line: Option<usize>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            line,
            message: message.into(),
        }
    }

    /// Wraps a TOML error, keeping the line it points at.
    pub fn from_toml(path: &str, source: &str, err: &toml::de::Error) -> Self {
        let line = err.span().map(|s| line_of(source, s.start));
        ConfigError::new(path, line, err.message().trim())
    }
}

/// 1-based line number of a byte offset.
pub fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}

/// Where virtdeck reads its user files: `$VIRTDECK_CONFIG_DIR`, else the XDG config dir.
pub fn config_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("VIRTDECK_CONFIG_DIR") {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "virtdeck").map(|d| d.config_dir().to_path_buf())
}

/// The largest configuration file read: far above any real one, and a bound on what a
/// mistaken path (a log, `/dev/zero`) can make virtdeck read.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads a file if it exists; a missing file is not an error, an unreadable one is, and so is
/// a symbolic link to nothing (a config that silently went missing) or anything that is not a
/// regular file of at most [`MAX_FILE_BYTES`].
pub fn read_optional(path: &Path) -> Result<Option<String>, ConfigError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;

    let fail = |m: String| ConfigError::new(path.display().to_string(), None, m);
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever;
    // O_NOCTTY: a terminal device must not become our controlling terminal. The checks below
    // run on the opened file (fstat), so nothing can be swapped in between.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path);
    let mut file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return match std::fs::read_link(path) {
                Ok(target) => Err(fail(format!(
                    "is a symbolic link to {}, which does not exist",
                    target.display()
                ))),
                Err(_) => Ok(None),
            };
        }
        Err(e) => return Err(fail(e.to_string())),
    };
    let meta = file.metadata().map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() {
        return Err(fail(
            "not a regular file (a directory, FIFO or device): refusing to read it".into(),
        ));
    }
    let too_big = || fail(format!("larger than {} KiB", MAX_FILE_BYTES / 1024));
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big());
    }
    // The size can change after fstat: never read more than the cap plus one byte.
    let mut bytes = Vec::new();
    file.by_ref()
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big());
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| fail("not valid UTF-8".into()))
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HostEntry {
    /// Short name shown in the UI; derived from the URI when absent.
    pub name: Option<String>,
    pub uri: String,
    /// Where migration data to this host goes (`tcp://ADDRESS`), when its host name does
    /// not resolve to the address on the migration network.
    #[serde(default)]
    pub migration_address: Option<String>,
}

/// Amber from `warn`, red from `crit`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub warn: f64,
    pub crit: f64,
}

/// Dashboard colouring: `[thresholds.cpu]` etc. in config.toml.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// Host CPU busy, percent.
    pub cpu: Threshold,
    /// Host memory used, percent.
    pub memory: Threshold,
    /// Running vCPUs per host CPU.
    pub overcommit: Threshold,
    /// Active pools' allocation, percent of capacity.
    pub storage: Threshold,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            cpu: Threshold {
                warn: 70.0,
                crit: 90.0,
            },
            memory: Threshold {
                warn: 80.0,
                crit: 95.0,
            },
            overcommit: Threshold {
                warn: 2.0,
                crit: 4.0,
            },
            storage: Threshold {
                warn: 80.0,
                crit: 95.0,
            },
        }
    }
}

/// `config.toml`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Seconds between polls of each host.
    pub poll_interval: f64,
    /// Minutes of metric history kept for charts.
    pub history_minutes: f64,
    /// Seconds a libvirt call may run before its host shows as not responding.
    pub call_timeout: f64,
    /// Theme name (preset or a file in `themes/`).
    pub theme: Option<String>,
    /// Clicks and the wheel; off leaves the mouse to the terminal's text selection.
    pub mouse: bool,
    /// Draw only glyphs the Linux console font has (also `--ascii`, and TERM=linux).
    pub ascii: bool,
    pub thresholds: Thresholds,
    pub hosts: Vec<HostEntry>,
    /// Palette aliases: `prod = "vms @kvm-prod /web"` makes `:prod` run that line.
    pub aliases: std::collections::BTreeMap<String, String>,
    /// Where the backup form puts backups (a directory of this machine).
    pub backup_dir: String,
    /// Backups kept per VM by the backup form (0: all).
    pub backup_keep: usize,
    /// `[[alerts]]` as written; read into `alerts` by `parse`.
    #[serde(rename = "alerts")]
    pub alert_entries: Vec<alerts::AlertEntry>,
    #[serde(skip)]
    pub alerts: Vec<crate::alert::Rule>,
}

/// The backup form's destination unless config.toml says `backup_dir`.
pub const DEFAULT_BACKUP_DIR: &str = "/var/lib/libvirt/backups";

impl Default for Config {
    fn default() -> Self {
        Config {
            poll_interval: 2.0,
            history_minutes: 10.0,
            call_timeout: 5.0,
            theme: None,
            mouse: true,
            ascii: false,
            thresholds: Thresholds::default(),
            hosts: Vec::new(),
            aliases: Default::default(),
            backup_dir: DEFAULT_BACKUP_DIR.into(),
            backup_keep: 7,
            alert_entries: Vec::new(),
            alerts: Vec::new(),
        }
    }
}

impl Config {
    pub fn parse(path: &str, source: &str) -> Result<Config, ConfigError> {
        let mut cfg: Config =
            toml::from_str(source).map_err(|e| ConfigError::from_toml(path, source, &e))?;
        let range = |key: &str, v: f64, lo: f64, hi: f64, unit: &str| {
            if (lo..=hi).contains(&v) {
                return Ok(());
            }
            let line = source.find(key).map(|off| line_of(source, off));
            Err(ConfigError::new(
                path,
                line,
                format!("{key} must be between {lo} and {hi} {unit}, got {v}"),
            ))
        };
        range("poll_interval", cfg.poll_interval, 0.2, 3600.0, "seconds")?;
        range(
            "history_minutes",
            cfg.history_minutes,
            0.1,
            1440.0,
            "minutes",
        )?;
        range("call_timeout", cfg.call_timeout, 0.5, 600.0, "seconds")?;
        if !cfg.backup_dir.starts_with('/') {
            let line = source.find("backup_dir").map(|off| line_of(source, off));
            return Err(ConfigError::new(
                path,
                line,
                format!(
                    "backup_dir must be an absolute path, got {:?}",
                    cfg.backup_dir
                ),
            ));
        }
        let t = &cfg.thresholds;
        for (key, th) in [
            ("cpu", t.cpu),
            ("memory", t.memory),
            ("overcommit", t.overcommit),
            ("storage", t.storage),
        ] {
            if !(th.warn >= 0.0 && th.warn <= th.crit) {
                let line = source
                    .find(&format!("thresholds.{key}"))
                    .map(|off| line_of(source, off));
                return Err(ConfigError::new(
                    path,
                    line,
                    format!(
                        "thresholds.{key}: warn ({}) must be at least 0 and not above crit ({})",
                        th.warn, th.crit
                    ),
                ));
            }
        }
        for (name, line) in &cfg.aliases {
            let bad_name = name.is_empty()
                || name.starts_with(['@', '/', ':'])
                || name.chars().any(|c| c.is_whitespace() || c.is_control());
            if bad_name || line.trim().is_empty() {
                let at = source.find(name.as_str()).map(|off| line_of(source, off));
                return Err(ConfigError::new(
                    path,
                    at,
                    format!(
                        "aliases: {name:?} = {line:?}: an alias is one word (no spaces, not starting with @ / or :) standing for a palette line, e.g. prod = \"vms @kvm-prod /web\""
                    ),
                ));
            }
        }
        if cfg.hosts.iter().any(|h| h.uri.trim().is_empty()) {
            // libvirt opens its default URI for an empty one: refuse rather than connect
            // somewhere the user did not name. A second pass keeps the value's position.
            #[derive(Deserialize)]
            struct Spans {
                #[serde(default)]
                hosts: Vec<UriSpan>,
            }
            #[derive(Deserialize)]
            struct UriSpan {
                uri: toml::Spanned<String>,
            }
            let line = toml::from_str::<Spans>(source).ok().and_then(|s| {
                s.hosts
                    .iter()
                    .find(|h| h.uri.get_ref().trim().is_empty())
                    .map(|h| line_of(source, h.uri.span().start))
            });
            return Err(ConfigError::new(
                path,
                line,
                "uri is empty (e.g. uri = \"qemu+ssh://root@kvm1/system\")",
            ));
        }
        cfg.alerts = alerts::rules(path, source, &cfg.alert_entries)?;
        Ok(cfg)
    }

    /// Points of history per metric: the window divided by the poll interval.
    pub fn history_len(&self) -> usize {
        ((self.history_minutes * 60.0 / self.poll_interval).ceil() as usize).clamp(2, 100_000)
    }

    /// Loads `config.toml` from `dir`; defaults when the file is absent.
    pub fn load(dir: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(dir) = dir else {
            return Ok(Config::default());
        };
        let path = dir.join("config.toml");
        match read_optional(&path)? {
            Some(src) => Config::parse(&path.display().to_string(), &src),
            None => Ok(Config::default()),
        }
    }
}

/// A short display name for a URI: the host part, else the driver and path.
pub fn name_from_uri(uri: &str) -> String {
    let (scheme, rest) = uri.split_once("://").unwrap_or(("", uri));
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = host.split(':').next().unwrap_or("");
    if !host.is_empty() {
        return host.to_string();
    }
    let driver = scheme.split('+').next().unwrap_or(scheme);
    let path = rest.trim_start_matches('/');
    if driver == "test" {
        // test:///path/to/kvm-prod-01.xml → kvm-prod-01
        let file = path.rsplit('/').next().unwrap_or(path);
        return file.trim_end_matches(".xml").to_string();
    }
    if path.is_empty() {
        "localhost".to_string()
    } else {
        format!("localhost/{}", path.split('?').next().unwrap_or(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_parses_hosts_and_interval() {
        let src = "poll_interval = 5\ntheme = \"light\"\n[[hosts]]\nname = \"kvm1\"\nuri = \"qemu+ssh://root@kvm1/system\"\n";
        let cfg = Config::parse("config.toml", src).unwrap();
        assert_eq!(cfg.poll_interval, 5.0);
        assert_eq!(cfg.theme.as_deref(), Some("light"));
        assert_eq!(cfg.hosts[0].uri, "qemu+ssh://root@kvm1/system");
    }

    #[test]
    fn mouse_is_on_unless_config_turns_it_off() {
        assert!(Config::parse("config.toml", "").unwrap().mouse);
        let cfg = Config::parse("config.toml", "mouse = false\n").unwrap();
        assert!(!cfg.mouse);
        let err = Config::parse("config.toml", "mouse = \"no\"\n").unwrap_err();
        assert_eq!(err.line, Some(1), "{err}");
    }

    #[test]
    fn config_errors_name_file_and_line() {
        let src = "poll_interval = 2\n\n[[hosts]]\nurl = \"qemu:///system\"\n";
        let err = Config::parse("/etc/x/config.toml", src).unwrap_err();
        assert_eq!(err.line, Some(4), "{err}");
        assert!(
            err.to_string().starts_with("/etc/x/config.toml:4: "),
            "{err}"
        );
        assert!(err.to_string().contains("url"), "{err}");

        let err = Config::parse("c.toml", "theme = [\n").unwrap_err();
        assert!(err.to_string().starts_with("c.toml:"), "{err}");

        let err = Config::parse("c.toml", "\npoll_interval = 0\n").unwrap_err();
        assert_eq!(err.line, Some(2));
    }

    #[test]
    fn aliases_parse_and_bad_ones_name_their_line() {
        let cfg = Config::parse("c", "[aliases]\nprod = \"vms @kvm-prod /web\"\n").unwrap();
        assert_eq!(cfg.aliases["prod"], "vms @kvm-prod /web");
        let e = Config::parse("c", "poll_interval = 2.0\n[aliases]\n\"a b\" = \"vms\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("c:3") && e.contains("one word"), "{e}");
        let e = Config::parse("c", "[aliases]\nx = \" \"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("one word"), "{e}");
    }

    #[test]
    fn backup_defaults_and_a_relative_directory_is_refused_with_its_line() {
        let cfg = Config::parse("c", "").unwrap();
        assert_eq!(cfg.backup_dir, DEFAULT_BACKUP_DIR);
        assert_eq!(cfg.backup_keep, 7);
        let cfg = Config::parse("c", "backup_dir = \"/srv/b\"\nbackup_keep = 0\n").unwrap();
        assert_eq!((cfg.backup_dir.as_str(), cfg.backup_keep), ("/srv/b", 0));
        let e = Config::parse("c", "mouse = true\nbackup_dir = \"b\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("c:2: backup_dir must be an absolute path"),
            "{e}"
        );
        assert!(Config::parse("c", "backup_keep = -1\n").is_err());
    }

    #[test]
    fn empty_uris_are_refused_with_their_line() {
        for uri in ["\"\"", "\"  \""] {
            let src = format!(
                "[[hosts]]\nuri = \"qemu:///system\"\n\n[[hosts]]\nname = \"x\"\nuri = {uri}\n"
            );
            let err = Config::parse("/c/config.toml", &src).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("/c/config.toml:6: uri is empty"),
                "{err}"
            );
        }
    }

    fn run_with_timeout<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("reading the file hung")
    }

    #[test]
    fn fifos_devices_and_huge_files_are_refused_without_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("config.toml");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let d = dir.path().to_path_buf();
        let err = run_with_timeout(move || Config::load(Some(&d))).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");

        // A symlink to /dev/zero would otherwise be read until memory runs out.
        std::fs::remove_file(&fifo).unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("keymap.toml")).unwrap();
        let d = dir.path().to_path_buf();
        let Err(err) = run_with_timeout(move || keymap::Keymap::load(Some(&d))) else {
            panic!("/dev/zero accepted as keymap.toml");
        };
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let err = run_with_timeout(|| read_optional(Path::new("/dev/zero"))).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");

        let big = "# filler\n".repeat(120_000);
        std::fs::write(&fifo, &big).unwrap();
        let err = Config::load(Some(dir.path())).unwrap_err();
        assert!(err.to_string().contains("larger than 1024 KiB"), "{err}");
        std::fs::write(&fifo, &big[..100_000]).unwrap();
        assert!(
            Config::load(Some(dir.path())).is_ok(),
            "a comment-only file"
        );
    }

    #[test]
    fn a_dangling_symlink_names_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("dotfiles/virtdeck.toml");
        std::os::unix::fs::symlink(&gone, dir.path().join("config.toml")).unwrap();
        let err = Config::load(Some(dir.path())).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("symbolic link to {}", gone.display())),
            "{err}"
        );
        // No file at all is still fine.
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(Config::load(Some(empty.path())).unwrap(), Config::default());
    }

    #[test]
    fn thresholds_and_history() {
        let cfg = Config::parse("c.toml", "").unwrap();
        assert_eq!(cfg.history_len(), 300, "10 minutes at 2 s");
        assert_eq!(cfg.thresholds.cpu.warn, 70.0);
        let src =
            "poll_interval = 5\nhistory_minutes = 1\n[thresholds.cpu]\nwarn = 50\ncrit = 60\n";
        let cfg = Config::parse("c.toml", src).unwrap();
        assert_eq!(cfg.history_len(), 12);
        assert_eq!(cfg.thresholds.cpu.crit, 60.0);
        assert_eq!(cfg.thresholds.memory.warn, 80.0, "others keep defaults");
        let err =
            Config::parse("c.toml", "[thresholds.memory]\nwarn = 90\ncrit = 80\n").unwrap_err();
        assert_eq!(err.line, Some(1), "{err}");
        assert!(err.to_string().contains("warn (90)"), "{err}");
        let err = Config::parse("c.toml", "\ncall_timeout = 0\n").unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
    }

    #[test]
    fn names_from_uris() {
        assert_eq!(
            name_from_uri("qemu+ssh://root@kvm2.example/system"),
            "kvm2.example"
        );
        assert_eq!(name_from_uri("qemu+tls://kvm3:16514/system"), "kvm3");
        assert_eq!(name_from_uri("qemu:///system"), "localhost/system");
        assert_eq!(
            name_from_uri("test:///tmp/x/kvm-prod-01.xml"),
            "kvm-prod-01"
        );
        assert_eq!(name_from_uri("test:///default"), "default");
    }
}
