//! Reads libvirt's client log (`LIBVIRT_LOG_FILTERS="1:rpc 1:libvirt"`) as a list of RPC
//! calls, each named after the public API call that sent it, and the bench's own marks.
//!
//! One call is one `RPC_CLIENT_MSG_TX_QUEUE` line of type CALL (0) or CALL_WITH_FDS (4): the
//! client queues every request exactly once (replies, stream data and keepalive pings have
//! other types or the keepalive program). The calibration scenario checks this on a known
//! sequence. The public API's entry lines (`1:libvirt`) name the call: the last one logged
//! by the same thread before the request.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What the filters must be for `Tail` to see calls and their names.
pub const FILTERS: &str = "1:rpc 1:libvirt";
/// libvirt's keepalive program ("keep"): pings, not calls.
const KEEPALIVE_PROG: u64 = 0x6b65_6570;
/// Prefix of the bench's own lines in the log.
const MARK: &str = "VDMARK ";

#[derive(Clone, Debug, PartialEq)]
pub enum Ev {
    /// One RPC call: the API that sent it (with its flags when not 0) and the procedure.
    Call(String),
    Mark(String),
}

/// Appends marks to the log libvirt writes. libvirt opens its log file with O_APPEND and
/// writes each message with one write(2), as this does, so lines never interleave and a mark
/// written by the worker's thread sits exactly between that thread's calls.
pub struct Marks(Mutex<File>);

impl Marks {
    pub fn open(path: &Path) -> std::io::Result<Marks> {
        let f = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Marks(Mutex::new(f)))
    }

    pub fn write(&self, text: &str) {
        let line = format!("{MARK}{}\n", text.replace('\n', " "));
        if let Ok(mut f) = self.0.lock() {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// Follows the log as it grows.
pub struct Tail {
    path: PathBuf,
    offset: u64,
    partial: String,
    /// The last public API call each thread logged.
    api: HashMap<String, String>,
    pub events: Vec<Ev>,
}

impl Tail {
    pub fn new(path: &Path) -> Tail {
        Tail {
            path: path.to_path_buf(),
            offset: 0,
            partial: String::new(),
            api: HashMap::new(),
            events: Vec::new(),
        }
    }

    /// Reads what was appended since the last call (nothing if the file is not there yet).
    pub fn poll(&mut self) -> std::io::Result<()> {
        let Ok(mut f) = File::open(&self.path) else {
            return Ok(());
        };
        f.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        self.offset += buf.len() as u64;
        self.partial.push_str(&String::from_utf8_lossy(&buf));
        let Some(end) = self.partial.rfind('\n') else {
            return Ok(());
        };
        let done: String = self.partial.drain(..=end).collect();
        for line in done.lines() {
            self.line(line);
        }
        Ok(())
    }

    fn line(&mut self, line: &str) {
        if let Some(m) = line.strip_prefix(MARK) {
            self.events.push(Ev::Mark(m.to_string()));
            return;
        }
        // "2026-12-04 23:55:26.200+0000: 9276: info : virNetClientSendInternal:2145 : MSG"
        let mut parts = line.splitn(3, " : ");
        let (Some(head), Some(func), Some(msg)) = (parts.next(), parts.next(), parts.next()) else {
            return;
        };
        let Some(tid) = head.split(": ").nth(1) else {
            return;
        };
        let func = func.split(':').next().unwrap_or("");
        if let Some(rest) = msg.strip_prefix("RPC_CLIENT_MSG_TX_QUEUE: ") {
            let field = |k: &str| -> Option<u64> {
                rest.split_whitespace()
                    .find_map(|w| w.strip_prefix(k))
                    .and_then(|v| v.parse().ok())
            };
            let (Some(prog), Some(proc), Some(kind)) =
                (field("prog="), field("proc="), field("type="))
            else {
                return;
            };
            if prog == KEEPALIVE_PROG || !matches!(kind, 0 | 4) {
                return;
            }
            let api = self.api.get(tid).map_or("?", String::as_str);
            self.events.push(Ev::Call(format!("{api} (proc {proc})")));
        } else if is_api(func) {
            let flags = msg
                .split([' ', ','])
                .find_map(|w| w.strip_prefix("flags="))
                .filter(|f| !matches!(*f, "0x0" | "0"));
            let name = match flags {
                Some(f) => format!("{func} flags={f}"),
                None => func.to_string(),
            };
            self.api.insert(tid.to_string(), name);
        }
    }
}

/// A line of libvirt's public API (or its open path), not of the RPC layer underneath.
fn is_api(func: &str) -> bool {
    func.starts_with("vir")
        && !["virNet", "virKeepAlive", "virObject", "virLog", "virEvent"]
            .iter()
            .any(|p| func.starts_with(p))
}

pub fn is_call(e: &Ev) -> bool {
    matches!(e, Ev::Call(_))
}

pub fn calls(events: &[Ev]) -> usize {
    events.iter().filter(|e| is_call(e)).count()
}

/// The calls in `events` by name, most frequent first: "virDomainGetInfo (proc 16) ×500, …".
pub fn breakdown(events: &[Ev]) -> String {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for e in events {
        if let Ev::Call(name) = e {
            *by.entry(name).or_default() += 1;
        }
    }
    let mut v: Vec<_> = by.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v.iter()
        .map(|(n, c)| format!("{n} ×{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Position of the first mark equal to `text` at or after `from`.
pub fn find_mark(events: &[Ev], from: usize, text: &str) -> Option<usize> {
    events[from.min(events.len())..]
        .iter()
        .position(|e| matches!(e, Ev::Mark(m) if m == text))
        .map(|i| i + from)
}
