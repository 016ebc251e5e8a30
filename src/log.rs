//! The log for bug reports: `--log-file PATH` or `VIRTDECK_LOG=info|debug|trace` (then
//! `$XDG_STATE_HOME/virtdeck/virtdeck.log`) writes `tracing` lines to a file, never to the
//! terminal. The writer is non-blocking: a slow disk never stalls the UI thread. With neither,
//! no subscriber is installed and each `tracing` macro costs one disabled-level check.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tracing::level_filters::LevelFilter;

/// The file being written, for the panic hook and the message printed after a panic.
static PATH: OnceLock<PathBuf> = OnceLock::new();

/// The log file in use, if any.
pub fn path() -> Option<&'static Path> {
    PATH.get().map(PathBuf::as_path)
}

/// Where `VIRTDECK_LOG` alone writes: the state directory (beside the event log).
pub fn default_path() -> Option<PathBuf> {
    crate::config::history::state_dir().map(|d| d.join("virtdeck.log"))
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("VIRTDECK_LOG={0:?}: expected info, debug or trace")]
    Level(String),
    #[error("no state directory for the log: give --log-file PATH")]
    NoDir,
    #[error("opening the log {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
}

/// `VIRTDECK_LOG`'s value as a level; `off` or empty is no log.
pub fn level(var: &str) -> Result<Option<LevelFilter>, LogError> {
    Ok(Some(match var.trim().to_ascii_lowercase().as_str() {
        "" | "off" => return Ok(None),
        "error" => LevelFilter::ERROR,
        "warn" => LevelFilter::WARN,
        "info" => LevelFilter::INFO,
        "debug" => LevelFilter::DEBUG,
        "trace" => LevelFilter::TRACE,
        _ => return Err(LogError::Level(var.to_string())),
    }))
}

/// Flushes the log's last lines when dropped: keep it until exit.
pub struct Guard(#[allow(dead_code)] tracing_appender::non_blocking::WorkerGuard);

/// Starts the log when `--log-file` or `VIRTDECK_LOG` asks for one. `--log-file` alone logs at
/// debug.
pub fn init(file: Option<&Path>) -> Result<Option<Guard>, LogError> {
    let var = std::env::var("VIRTDECK_LOG").ok();
    let level = match (var.as_deref().map(level).transpose()?.flatten(), file) {
        (Some(l), _) => l,
        (None, Some(_)) if var.is_none() => LevelFilter::DEBUG,
        _ => return Ok(None),
    };
    let path = match file {
        Some(p) => p.to_path_buf(),
        None => default_path().ok_or(LogError::NoDir)?,
    };
    let out = open(&path).map_err(|source| LogError::Open {
        path: path.display().to_string(),
        source,
    })?;
    let (writer, guard) = tracing_appender::non_blocking(out);
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_thread_names(true)
        .with_max_level(level)
        .finish();
    // Fails only when a subscriber is already set (a second init): that one keeps logging.
    let _ = tracing::subscriber::set_global_default(subscriber);
    let _ = PATH.set(path);
    tracing::info!(version = env!("CARGO_PKG_VERSION"), %level, "virtdeck started");
    Ok(Some(Guard(guard)))
}

fn open(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new().create(true).append(true).open(path)
}

/// Appends a panic and its backtrace to the log, written at once (not through the
/// non-blocking writer, whose thread may never run again). Control characters escaped.
pub fn panicked(info: &std::panic::PanicHookInfo<'_>) {
    let Some(path) = path() else { return };
    let Ok(mut f) = open(path) else { return };
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("unnamed");
    let msg = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into());
    let at = info
        .location()
        .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
        .unwrap_or_default();
    let backtrace = std::backtrace::Backtrace::force_capture();
    let _ = writeln!(
        f,
        "ERROR panic: thread {name:?} panicked at {at}: {}\nbacktrace:\n{backtrace}",
        crate::sanitize::text(&msg)
    );
}

/// Logs `what` with its duration (`elapsed_ms`) at debug when dropped, on every way out of a
/// scope (`?`, `continue`, `return`). Nothing is formatted or timed while debug is off.
pub struct Timed(Option<(String, std::time::Instant)>);

pub fn timed(what: impl FnOnce() -> String) -> Timed {
    Timed(tracing::enabled!(tracing::Level::DEBUG).then(|| (what(), std::time::Instant::now())))
}

impl Timed {
    /// Nothing to log.
    pub fn off() -> Timed {
        Timed(None)
    }
}

impl Drop for Timed {
    fn drop(&mut self) {
        if let Some((what, t0)) = self.0.take() {
            tracing::debug!(elapsed_ms = ms(t0), "{what}");
        }
    }
}

/// Milliseconds since `t0`, with a fraction (most local calls take well under one).
pub fn ms(t0: std::time::Instant) -> f64 {
    (t0.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

/// A command's variant name for the log: never its fields (a VNC password, whole XML).
pub fn variant<T: std::fmt::Debug>(v: &T) -> String {
    let s = format!("{v:?}");
    let end = s.find([' ', '(', '{']).unwrap_or(s.len());
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(level("debug").unwrap(), Some(LevelFilter::DEBUG));
        assert_eq!(level(" TRACE ").unwrap(), Some(LevelFilter::TRACE));
        assert_eq!(level("off").unwrap(), None);
        assert!(level("loud").is_err());
    }

    #[test]
    fn variant_names_only() {
        #[derive(Debug)]
        #[allow(dead_code)]
        enum C {
            Stop,
            Preview { password: String },
            Op(u8),
        }
        assert_eq!(variant(&C::Stop), "Stop");
        assert_eq!(
            variant(&C::Preview {
                password: "s3cret".into()
            }),
            "Preview"
        );
        assert_eq!(variant(&C::Op(1)), "Op");
    }
}
