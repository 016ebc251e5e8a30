//! Configuration: `config.toml`, keymaps and themes. Presets are compiled in; files in the user's
//! config directory override them entry by entry.

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

/// Reads a file if it exists; a missing file is not an error, an unreadable one is.
pub fn read_optional(path: &Path) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ConfigError::new(
            path.display().to_string(),
            None,
            e.to_string(),
        )),
    }
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
    pub thresholds: Thresholds,
    pub hosts: Vec<HostEntry>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            poll_interval: 2.0,
            history_minutes: 10.0,
            call_timeout: 5.0,
            theme: None,
            thresholds: Thresholds::default(),
            hosts: Vec::new(),
        }
    }
}

impl Config {
    pub fn parse(path: &str, source: &str) -> Result<Config, ConfigError> {
        let cfg: Config =
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
