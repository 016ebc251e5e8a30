//! The events pane's memory across runs: every event appended as one JSON line to
//! `events.jsonl` in the state dir (`$VIRTDECK_STATE_DIR` or `~/.local/state/virtdeck`),
//! rotated to `events.jsonl.1` past [`ROTATE_AT`]; read back at start. A line that does not
//! parse (a crash mid-write, an edit by hand) is skipped and counted, never fatal. Writes go
//! through one thread of their own, in order, off the UI thread.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};

/// Past this size the file is rotated before the next append.
pub const ROTATE_AT: u64 = 4 << 20;
/// At most this much of the file is read at start (its end: the newest events).
const READ_AT_MOST: u64 = 8 << 20;

/// One event as kept on disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Unix time in milliseconds.
    pub t: u64,
    /// The host's name (from config.toml or -c).
    pub host: String,
    pub uuid: String,
    pub vm: String,
    /// libvirt's lifecycle event and detail numbers.
    pub event: i32,
    pub detail: i32,
    /// Not a lifecycle event: `host`, `action` or `job`, with its text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bad: bool,
    /// The `virsh` command line that does the same as the action (`virsh::equivalent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
}

pub fn file(dir: &Path) -> PathBuf {
    dir.join("events.jsonl")
}

/// Appends `records` (rotating first when the file is big).
pub fn append(dir: &Path, records: &[Record]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = file(dir);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > ROTATE_AT) {
        std::fs::rename(&path, dir.join("events.jsonl.1"))?;
    }
    // A crash mid-write leaves a line without its end: start on a new line.
    let mut text = String::new();
    if ends_mid_line(&path) {
        text.push('\n');
    }
    for r in records {
        // serde_json escapes control characters: one record is one line whatever the names.
        text.push_str(&serde_json::to_string(r).map_err(std::io::Error::other)?);
        text.push('\n');
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    f.write_all(text.as_bytes())
}

fn ends_mid_line(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut last = [0u8; 1];
    f.seek(SeekFrom::End(-1)).is_ok() && f.read_exact(&mut last).is_ok() && last[0] != b'\n'
}

/// The kept events, oldest first, and how many lines were skipped as unreadable.
pub fn load(dir: &Path) -> (Vec<Record>, usize) {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(file(dir)) else {
        return (Vec::new(), 0);
    };
    let len = f.metadata().map_or(0, |m| m.len());
    let start = len.saturating_sub(READ_AT_MOST);
    let mut bytes = Vec::new();
    if f.seek(SeekFrom::Start(start)).is_err() || f.read_to_end(&mut bytes).is_err() {
        return (Vec::new(), 0);
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    if start > 0 {
        // Cut mid-line by the seek: not a record.
        lines.next();
    }
    let mut out = Vec::new();
    let mut skipped = 0;
    for l in lines.filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Record>(l) {
            Ok(r) => out.push(r),
            Err(_) => skipped += 1,
        }
    }
    (out, skipped)
}

/// Hands `records` to the writer thread (started on first use); errors come back through
/// `on_error` from that thread.
pub fn write_later(dir: PathBuf, records: Vec<Record>, on_error: impl Fn(String) + Send + 'static) {
    type Batch = (PathBuf, Vec<Record>);
    static WRITER: OnceLock<Mutex<Sender<Batch>>> = OnceLock::new();
    let tx = WRITER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Batch>();
        let on_error = Mutex::new(Box::new(on_error) as Box<dyn Fn(String) + Send>);
        let _ = std::thread::Builder::new()
            .name("event-log".into())
            .spawn(move || {
                for (dir, batch) in rx {
                    if let Err(e) = append(&dir, &batch) {
                        if let Ok(f) = on_error.lock() {
                            f(format!("events not saved in {}: {e}", dir.display()));
                        }
                    }
                }
            });
        Mutex::new(tx)
    });
    if let Ok(tx) = tx.lock() {
        let _ = tx.send((dir, records));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: u64, vm: &str) -> Record {
        Record {
            t: 1_700_000_000_000 + i,
            host: "kvm-1".into(),
            uuid: format!("u-{i}"),
            vm: vm.into(),
            event: 5,
            detail: 2,
            kind: String::new(),
            text: String::new(),
            bad: false,
            command: None,
        }
    }

    #[test]
    fn records_round_trip_one_line_each_and_bad_lines_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()), (Vec::new(), 0));
        let hostile = rec(1, "nl\nvm \u{202e} \"q\" \u{1b}[2J");
        append(dir.path(), &[rec(0, "web"), hostile.clone()]).unwrap();
        let text = std::fs::read_to_string(file(dir.path())).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        // A truncated last line (a crash mid-write) and junk between.
        std::fs::write(
            file(dir.path()),
            format!("{text}not json\n{{\"t\":1,\"host\":\"h\""),
        )
        .unwrap();
        append(dir.path(), &[rec(2, "db")]).unwrap();
        let (got, skipped) = load(dir.path());
        assert_eq!(got, [rec(0, "web"), hostile, rec(2, "db")]);
        assert_eq!(skipped, 2, "the junk and the truncated line");
    }

    #[test]
    fn a_big_file_is_rotated() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(file(dir.path()), vec![b'x'; ROTATE_AT as usize + 1]).unwrap();
        append(dir.path(), &[rec(0, "web")]).unwrap();
        assert!(dir.path().join("events.jsonl.1").is_file());
        assert_eq!(load(dir.path()), (vec![rec(0, "web")], 0));
    }
}
