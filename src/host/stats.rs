//! One `virConnectGetAllDomainStats` call per tick for every domain, plus the node's CPU and
//! memory counters. The `virt` crate's wrapper leaks the records and does not decode them, and
//! it has no node-stats calls, so this calls libvirt directly and frees what it gets.

use std::ffi::CStr;

use virt::connect::Connect;
use virt::error::Error;
use virt::sys;

use crate::model::{Counter, IoCounters, NodeCpu, NodeMemory};

/// A domain's UUID as libvirt writes it (`virUUIDFormat`: lowercase hex, dashes after bytes
/// 4, 6, 8 and 10), held inline: a tick of 8,000 running VMs and an inventory's three flag
/// lists would otherwise allocate a string per domain (a megabyte or two at each peak).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UuidText([u8; 36]);

impl UuidText {
    pub fn from_raw(raw: &[u8; sys::VIR_UUID_BUFLEN as usize]) -> UuidText {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'-'; 36];
        let mut at = 0;
        for (i, b) in raw.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                at += 1;
            }
            out[at] = HEX[usize::from(b >> 4)];
            out[at + 1] = HEX[usize::from(b & 0xf)];
            at += 2;
        }
        UuidText(out)
    }

    /// The domain's UUID, read from its handle (no round trip).
    pub fn of(dom: &virt::domain::Domain) -> Option<UuidText> {
        let mut raw = [0u8; sys::VIR_UUID_BUFLEN as usize];
        // SAFETY: the handle is valid while `dom` lives; libvirt writes VIR_UUID_BUFLEN bytes.
        let ok = unsafe { sys::virDomainGetUUID(dom.as_ptr(), raw.as_mut_ptr()) } == 0;
        ok.then(|| UuidText::from_raw(&raw))
    }

    pub fn as_str(&self) -> &str {
        // Always ASCII (hex digits and dashes).
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Debug for UuidText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A UUID's 128 bits, for the worker's sets keyed by VM: 16 bytes inline instead of a string
/// of 36 on the heap (10,000 VMs, two sets: 1.3 MB). Anything but 32 hex digits, with or
/// without dashes, is hashed instead (FNV-1a): libvirt hands out well-formed UUIDs only.
pub fn uuid_key(uuid: &str) -> u128 {
    let mut v: u128 = 0;
    let mut digits = 0;
    for b in uuid.bytes() {
        match char::from(b).to_digit(16) {
            Some(d) if digits < 32 => {
                v = (v << 4) | u128::from(d);
                digits += 1;
            }
            None if b == b'-' => {}
            _ => {
                digits = usize::MAX;
                break;
            }
        }
    }
    if digits == 32 {
        return v;
    }
    uuid.bytes()
        .fold(0x6c62272e07bb014262b821756295c58d, |h: u128, b| {
            (h ^ u128::from(b)).wrapping_mul(0x0000000001000000000000000000013b)
        })
}

/// The fields virtdeck reads from a domain's stats record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DomainStats {
    /// None when libvirt could not give it (the record is then skipped).
    pub uuid: Option<UuidText>,
    pub id: Option<u32>,
    pub state: Option<i64>,
    pub cpu_time_ns: Option<u64>,
    pub balloon_current_kib: Option<u64>,
    pub balloon_max_kib: Option<u64>,
    pub vcpu_current: Option<u64>,
    pub io: IoCounters,
}

impl DomainStats {
    /// Records one typed parameter; unknown keys are ignored.
    pub fn set(&mut self, key: &str, value: ParamValue) {
        let n = value.as_u64();
        match key {
            "state.state" => self.state = n.map(|v| v as i64),
            "cpu.time" => self.cpu_time_ns = n,
            "balloon.current" => self.balloon_current_kib = n,
            "balloon.maximum" => self.balloon_max_kib = n,
            "vcpu.current" => self.vcpu_current = n,
            "balloon.rss" => self.io.set(Counter::RssKib, n),
            _ => {
                // Per-device keys: `block.<i>.rd.bytes`, `net.<i>.rx.bytes`, …
                let Some((group, rest)) = key.split_once('.') else {
                    return;
                };
                let Some((index, field)) = rest.split_once('.') else {
                    return;
                };
                if !index.bytes().all(|b| b.is_ascii_digit()) {
                    return;
                }
                let io = &mut self.io;
                match (group, field) {
                    ("block", "rd.bytes") => io.add(Counter::DiskRdBytes, n),
                    ("block", "wr.bytes") => io.add(Counter::DiskWrBytes, n),
                    ("block", "rd.reqs") => io.add(Counter::DiskRdReqs, n),
                    ("block", "wr.reqs") => io.add(Counter::DiskWrReqs, n),
                    ("net", "rx.bytes") => io.add(Counter::NetRxBytes, n),
                    ("net", "tx.bytes") => io.add(Counter::NetTxBytes, n),
                    _ => {}
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamValue {
    Int(i64),
    UInt(u64),
    Double(f64),
    Other,
}

impl ParamValue {
    fn as_u64(self) -> Option<u64> {
        match self {
            ParamValue::Int(i) if i >= 0 => Some(i as u64),
            ParamValue::UInt(u) => Some(u),
            ParamValue::Double(d) if d >= 0.0 => Some(d as u64),
            _ => None,
        }
    }
}

/// SAFETY: `p` must point to a valid virTypedParameter.
/// The key is borrowed: a poll of 5,000 VMs decodes some 150,000 of them.
unsafe fn decode(p: &sys::virTypedParameter) -> (std::borrow::Cow<'_, str>, ParamValue) {
    let key = CStr::from_ptr(p.field.as_ptr()).to_string_lossy();
    let v = match p.type_ as u32 {
        sys::VIR_TYPED_PARAM_INT => ParamValue::Int(p.value.i as i64),
        sys::VIR_TYPED_PARAM_UINT => ParamValue::UInt(p.value.ui as u64),
        sys::VIR_TYPED_PARAM_LLONG => ParamValue::Int(p.value.l),
        sys::VIR_TYPED_PARAM_ULLONG => ParamValue::UInt(p.value.ul),
        sys::VIR_TYPED_PARAM_DOUBLE => ParamValue::Double(p.value.d),
        _ => ParamValue::Other,
    };
    (key, v)
}

/// Stats for every domain on the connection, in one round trip.
pub fn all_domain_stats(conn: &Connect) -> Result<Records, Error> {
    domain_stats(conn, 0, GROUPS)
}

/// Stats for the running and paused domains only (libvirt's "active": they have an id). A
/// shut-off domain's figures do not move, and on a host where most are off reading them every
/// poll was most of the call (and of the daemon's work: it opens their disk images).
///
/// Without the vCPU group: of it only the count is used, which the inventory's call (every
/// 30 s) and a changed domain's re-read bring, while QEMU reports each vCPU's state and
/// times too (several 96-byte parameters per vCPU, for every running VM at every tick).
pub fn active_domain_stats(conn: &Connect) -> Result<Records, Error> {
    domain_stats(
        conn,
        sys::VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE,
        GROUPS & !sys::VIR_DOMAIN_STATS_VCPU,
    )
}

/// The stats groups an inventory reads.
const GROUPS: u32 = sys::VIR_DOMAIN_STATS_STATE
    | sys::VIR_DOMAIN_STATS_CPU_TOTAL
    | sys::VIR_DOMAIN_STATS_BALLOON
    | sys::VIR_DOMAIN_STATS_VCPU
    | sys::VIR_DOMAIN_STATS_INTERFACE
    | sys::VIR_DOMAIN_STATS_BLOCK;

/// The records of one bulk stats call, as libvirt returned them: each is decoded when read
/// (`iter`), so a tick of 10,000 VMs holds libvirt's records alone, not a decoded copy
/// beside them (2.4 MB). Freed when dropped.
pub struct Records {
    list: *mut sys::virDomainStatsRecordPtr,
    n: usize,
}

// SAFETY: the records are plain heap memory and domain references, which libvirt lets any
// thread use and free; `Records` hands out no pointer into them.
unsafe impl Send for Records {}

impl Records {
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Each record decoded.
    pub fn iter(&self) -> impl Iterator<Item = DomainStats> + '_ {
        // SAFETY: i < n, and the list stays valid until `self` is dropped.
        (0..self.n).map(|i| unsafe { decode_record(&**self.list.add(i)) })
    }
}

impl Drop for Records {
    fn drop(&mut self) {
        if !self.list.is_null() {
            // SAFETY: frees the records, their params and domain references in one go.
            unsafe { sys::virDomainStatsRecordListFree(self.list) };
        }
    }
}

fn domain_stats(conn: &Connect, filter: u32, groups: u32) -> Result<Records, Error> {
    let mut list: *mut sys::virDomainStatsRecordPtr = std::ptr::null_mut();
    // SAFETY: plain FFI call; on success libvirt hands us a NULL-terminated array `Records`
    // frees.
    let n = unsafe { sys::virConnectGetAllDomainStats(conn.as_ptr(), groups, &mut list, filter) };
    if n < 0 {
        return Err(Error::last_error());
    }
    Ok(Records {
        list,
        n: n as usize,
    })
}

/// SAFETY: `rec` must be a valid record of a live list.
unsafe fn decode_record(rec: &sys::virDomainStatsRecord) -> DomainStats {
    let mut st = DomainStats::default();
    // The raw bytes, formatted here: libvirt's own string goes through snprintf, a twentieth
    // of an idle worker's CPU.
    let mut raw = [0u8; sys::VIR_UUID_BUFLEN as usize];
    if sys::virDomainGetUUID(rec.dom, raw.as_mut_ptr()) == 0 {
        st.uuid = Some(UuidText::from_raw(&raw));
    }
    let id = sys::virDomainGetID(rec.dom);
    st.id = (id != u32::MAX).then_some(id);
    for j in 0..rec.nparams.max(0) as usize {
        let (k, v) = decode(&*rec.params.add(j));
        st.set(&k, v);
    }
    st
}

/// Reads `(field, value)` pairs from one of libvirt's two-call node stats APIs: the first call
/// sizes the array, the second fills it. `size` remembers the count between polls (it never
/// changes for a host), so after the first poll it is one call, not two.
fn node_params(
    size: &mut Option<i32>,
    call: impl Fn(*mut sys::virNodeCPUStats, *mut i32) -> i32,
) -> Result<Vec<(String, u64)>, Error> {
    let mut n: i32 = match *size {
        Some(n) => n,
        None => {
            let mut n = 0;
            if call(std::ptr::null_mut(), &mut n) < 0 {
                return Err(Error::last_error());
            }
            n
        }
    };
    if n <= 0 {
        *size = Some(0);
        return Ok(Vec::new());
    }
    // SAFETY: an all-zero virNodeCPUStats is valid (a C char array and an integer).
    let mut buf: Vec<sys::virNodeCPUStats> = vec![unsafe { std::mem::zeroed() }; n as usize];
    if call(buf.as_mut_ptr(), &mut n) < 0 {
        // A remembered size that no longer fits: size it again next time.
        *size = None;
        return Err(Error::last_error());
    }
    *size = Some(buf.len() as i32);
    Ok(buf
        .iter()
        .take(n.max(0) as usize)
        .map(|p| {
            // SAFETY: libvirt NUL-terminates the field within its 80 bytes.
            let field = unsafe { CStr::from_ptr(p.field.as_ptr()) };
            (field.to_string_lossy().into_owned(), p.value)
        })
        .collect())
}

/// Cumulative CPU times over all the node's CPUs.
pub fn node_cpu(conn: &Connect, size: &mut Option<i32>) -> Result<Option<NodeCpu>, Error> {
    let params = node_params(size, |p, n| {
        // SAFETY: `p` is NULL or points to `*n` elements, as the API requires.
        unsafe { sys::virNodeGetCPUStats(conn.as_ptr(), sys::VIR_NODE_CPU_STATS_ALL_CPUS, p, n, 0) }
    })?;
    Ok(cpu_from_params(&params))
}

pub fn cpu_from_params(params: &[(String, u64)]) -> Option<NodeCpu> {
    let get = |k: &str| params.iter().find(|(f, _)| f == k).map(|(_, v)| *v);
    // Linux reports kernel/user/idle/iowait; other systems may report a single "utilization".
    let idle = get("idle")?;
    let total = params
        .iter()
        .filter(|(f, _)| matches!(f.as_str(), "kernel" | "user" | "idle" | "iowait"))
        .map(|(_, v)| *v)
        .fold(0u64, u64::saturating_add);
    Some(NodeCpu {
        total_ns: total,
        idle_ns: idle.saturating_add(get("iowait").unwrap_or(0)),
    })
}

/// How to read a host's memory, learnt from its first answers.
#[derive(Debug, Default)]
pub struct MemoryReading {
    size: Option<i32>,
    /// The driver has no memory stats (the test driver): only free memory is asked.
    free_only: bool,
}

/// Node memory in KiB; falls back to total/free memory for drivers without memory stats.
pub fn node_memory(conn: &Connect, total_kib: u64, how: &mut MemoryReading) -> Option<NodeMemory> {
    if !how.free_only {
        let params = node_params(&mut how.size, |p, n| {
            // SAFETY: virNodeMemoryStats has the same layout as virNodeCPUStats (char[80], u64).
            unsafe {
                sys::virNodeGetMemoryStats(
                    conn.as_ptr(),
                    sys::VIR_NODE_MEMORY_STATS_ALL_CELLS,
                    p.cast(),
                    n,
                    0,
                )
            }
        });
        match params {
            Ok(p) if !p.is_empty() => return memory_from_params(&p),
            Ok(_) => how.free_only = true,
            Err(_) if conn.is_alive().unwrap_or(false) => how.free_only = true,
            Err(_) => return None,
        }
    }
    let free = conn.free_memory().ok()? / 1024;
    (total_kib > 0).then_some(NodeMemory {
        total_kib,
        available_kib: free.min(total_kib),
    })
}

pub fn memory_from_params(params: &[(String, u64)]) -> Option<NodeMemory> {
    let get = |k: &str| params.iter().find(|(f, _)| f == k).map(|(_, v)| *v);
    let total = get("total")?;
    let available = get("free")?
        .saturating_add(get("buffers").unwrap_or(0))
        .saturating_add(get("cached").unwrap_or(0));
    Some(NodeMemory {
        total_kib: total,
        available_kib: available.min(total),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_written_as_libvirt_writes_them() {
        let raw = [
            0x66, 0x95, 0xeb, 0x01, 0xf6, 0xa4, 0x83, 0x04, 0x79, 0xaa, 0x97, 0xf2, 0x50, 0x2e,
            0x19, 0x3f,
        ];
        assert_eq!(
            UuidText::from_raw(&raw).as_str(),
            "6695eb01-f6a4-8304-79aa-97f2502e193f"
        );
        // And as libvirt's own string for every domain the bulk call returns, and for its
        // handle.
        let conn = Connect::open(Some("test:///default")).expect("the test driver");
        let stats: Vec<DomainStats> = all_domain_stats(&conn)
            .expect("bulk stats")
            .iter()
            .collect();
        assert!(!stats.is_empty());
        let doms = conn.list_all_domains(0).expect("list");
        assert_eq!(stats.len(), doms.len());
        for dom in doms {
            let libvirt = dom.uuid_string().expect("uuid");
            let ours = UuidText::of(&dom).expect("uuid");
            assert_eq!(ours.as_str(), libvirt);
            assert_eq!(format!("{ours:?}"), libvirt);
            assert!(stats.iter().any(|st| st.uuid == Some(ours)));
        }
    }

    #[test]
    fn uuid_keys_are_the_uuid_s_bits_and_anything_else_is_hashed() {
        assert_eq!(
            uuid_key("6695eb01-f6a4-8304-79aa-97f2502e193f"),
            0x6695eb01f6a4830479aa97f2502e193f
        );
        assert_eq!(
            uuid_key("6695EB01F6A4830479AA97F2502E193F"),
            uuid_key("6695eb01-f6a4-8304-79aa-97f2502e193f")
        );
        // Too short, too long, not hex: hashed, and apart from each other.
        let odd = [
            "",
            "uuid-web-01",
            "6695eb01",
            "6695eb01-f6a4-8304-79aa-97f2502e193f0",
        ];
        let keys: std::collections::HashSet<u128> = odd.iter().map(|u| uuid_key(u)).collect();
        assert_eq!(keys.len(), odd.len());
        assert!(!keys.contains(&0x6695eb01f6a4830479aa97f2502e193f));
    }

    #[test]
    fn known_keys_are_recorded() {
        let mut s = DomainStats::default();
        s.set("state.state", ParamValue::Int(1));
        s.set("cpu.time", ParamValue::UInt(123_456));
        s.set("balloon.current", ParamValue::UInt(65_536));
        s.set("vcpu.current", ParamValue::UInt(2));
        s.set("vcpu.0.state", ParamValue::Int(1));
        s.set("net.count", ParamValue::Int(-1));
        assert_eq!(s.state, Some(1));
        assert_eq!(s.cpu_time_ns, Some(123_456));
        assert_eq!(s.balloon_current_kib, Some(65_536));
        assert_eq!(s.vcpu_current, Some(2));
    }

    #[test]
    fn device_counters_are_summed() {
        let mut s = DomainStats::default();
        s.set("block.count", ParamValue::UInt(2));
        s.set("block.0.name", ParamValue::Other);
        s.set("block.0.rd.bytes", ParamValue::UInt(100));
        s.set("block.1.rd.bytes", ParamValue::UInt(50));
        s.set("block.0.wr.reqs", ParamValue::UInt(7));
        s.set("block.0.rd.times", ParamValue::UInt(999));
        s.set("net.0.rx.bytes", ParamValue::UInt(10));
        s.set("net.1.rx.bytes", ParamValue::UInt(5));
        s.set("net.0.tx.bytes", ParamValue::UInt(3));
        s.set("net.0.rx.pkts", ParamValue::UInt(1000));
        s.set("balloon.rss", ParamValue::UInt(4096));
        assert_eq!(s.io.get(Counter::DiskRdBytes), Some(150));
        assert_eq!(s.io.get(Counter::DiskWrReqs), Some(7));
        assert_eq!(s.io.get(Counter::DiskWrBytes), None);
        assert_eq!(s.io.get(Counter::NetRxBytes), Some(15));
        assert_eq!(s.io.get(Counter::NetTxBytes), Some(3));
        assert_eq!(s.io.rss_kib(), Some(4096));
    }

    #[test]
    fn node_params_decode() {
        let p = |v: &[(&str, u64)]| -> Vec<(String, u64)> {
            v.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        let cpu = cpu_from_params(&p(&[
            ("kernel", 10),
            ("user", 30),
            ("idle", 50),
            ("iowait", 10),
        ]))
        .unwrap();
        assert_eq!(cpu.total_ns, 100);
        assert_eq!(cpu.idle_ns, 60);
        assert_eq!(cpu_from_params(&p(&[("utilization", 5)])), None);
        let mem = memory_from_params(&p(&[
            ("total", 1000),
            ("free", 100),
            ("buffers", 50),
            ("cached", 250),
        ]))
        .unwrap();
        assert_eq!(mem.total_kib, 1000);
        assert_eq!(mem.available_kib, 400);
    }
}
