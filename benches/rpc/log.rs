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
    /// One RPC call: the API that sent it (with its flags when not 0) and the procedure, and
    /// when it was sent (ms, see `millis`).
    Call(String, u64),
    /// A call's reply arrived.
    Reply(u64),
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
        let mut head = head.split(": ");
        let (Some(at), Some(tid)) = (head.next().and_then(millis), head.next()) else {
            return;
        };
        let func = func.split(':').next().unwrap_or("");
        let (tx, rx) = (
            msg.strip_prefix("RPC_CLIENT_MSG_TX_QUEUE: "),
            msg.strip_prefix("RPC_CLIENT_MSG_RX: "),
        );
        if let Some(rest) = tx.or(rx) {
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
            if prog == KEEPALIVE_PROG {
                return;
            }
            if rx.is_some() {
                // REPLY and REPLY_WITH_FDS; events and stream data are not answers.
                if matches!(kind, 1 | 5) {
                    self.events.push(Ev::Reply(at));
                }
            } else if matches!(kind, 0 | 4) {
                let api = self.api.get(tid).map_or("?", String::as_str);
                self.events
                    .push(Ev::Call(format!("{api} (proc {proc})"), at));
            }
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

/// "2026-12-04 23:55:26.200+0000" (libvirt logs in UTC) as milliseconds since 1970.
fn millis(ts: &str) -> Option<u64> {
    let (date, time) = ts.split_once(' ')?;
    let mut d = date.split('-').map(|v| v.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.split('+').next()?;
    let mut t = time.split(':');
    let (h, min, sec) = (t.next()?, t.next()?, t.next()?);
    let (s, ms) = sec.split_once('.').unwrap_or((sec, "0"));
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400
        + h.parse::<i64>().ok()? * 3600
        + min.parse::<i64>().ok()? * 60
        + s.parse::<i64>().ok()?;
    u64::try_from(secs * 1000 + ms.parse::<i64>().ok()?).ok()
}

/// A line of libvirt's public API (or its open path), not of the RPC layer underneath.
fn is_api(func: &str) -> bool {
    func.starts_with("vir")
        && !["virNet", "virKeepAlive", "virObject", "virLog", "virEvent"]
            .iter()
            .any(|p| func.starts_with(p))
}

pub fn is_call(e: &Ev) -> bool {
    matches!(e, Ev::Call(..))
}

/// Whether the call is `api` (with any flags).
pub fn is_api_call(e: &Ev, api: &str) -> bool {
    matches!(e, Ev::Call(n, _) if n.split([' ', '(']).next() == Some(api))
}

pub fn calls(events: &[Ev]) -> usize {
    events.iter().filter(|e| is_call(e)).count()
}

/// The calls in `events` by name, most frequent first: "virDomainGetInfo (proc 16) ×500, …".
pub fn breakdown(events: &[Ev]) -> String {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for e in events {
        if let Ev::Call(name, _) = e {
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
