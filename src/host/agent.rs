//! What the QEMU guest agent says about a running guest: OS, host name, time zone, users,
//! file systems with their use, and every interface's addresses. Asked on a thread of its
//! own (never holding up the host's worker), with libvirt's agent timeout set to 1 s first,
//! so an absent or stuck agent costs a second once; the answer goes into an [`AgentSlot`]
//! the detail screen holds (one per boot of the VM). Everything here is the guest's word:
//! the screen sanitizes it.

use std::ffi::CStr;
use std::sync::{Arc, Mutex, PoisonError};

use virt::connect::Connect;
use virt::domain::Domain;
use virt::sys;

use crate::wake::Wake;

/// The agent's answer, as shown on the Overview.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GuestInfo {
    /// "Debian GNU/Linux 12 (bookworm)" (`os.pretty-name`, else name and version).
    pub os: Option<String>,
    pub kernel: Option<String>,
    pub hostname: Option<String>,
    /// Zone name and offset from UTC in seconds.
    pub timezone: Option<(String, i64)>,
    pub users: Vec<String>,
    pub filesystems: Vec<Filesystem>,
    /// Interface name and its addresses (`ip/prefix`).
    pub interfaces: Vec<(String, Vec<String>)>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filesystem {
    pub mountpoint: String,
    pub fstype: String,
    pub used_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
}

impl Filesystem {
    /// Used share in percent, when the agent reports sizes; a guest claiming more used than
    /// total shows 100 %.
    pub fn use_percent(&self) -> Option<f64> {
        match (self.used_bytes, self.total_bytes) {
            (Some(u), Some(t)) if t > 0 => Some((u as f64 * 100.0 / t as f64).min(100.0)),
            _ => None,
        }
    }
}

/// A typed parameter's value as the agent info uses them.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Num(i64),
    Other,
}

impl Value {
    fn str(&self) -> Option<String> {
        match self {
            Value::Str(s) => Some(s.clone()),
            _ => None,
        }
    }
    fn num(&self) -> Option<i64> {
        match self {
            Value::Num(n) => Some(*n),
            Value::Str(s) => s.parse().ok(),
            Value::Other => None,
        }
    }
}

/// Builds the info from `virDomainGetGuestInfo`'s parameters (`os.pretty-name`,
/// `user.count`, `user.0.name`, `fs.0.mountpoint`, `fs.0.used-bytes`…).
pub fn from_params(params: &[(String, Value)]) -> GuestInfo {
    let get = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v);
    let s = |k: &str| get(k).and_then(Value::str).filter(|v| !v.is_empty());
    let n = |k: &str| get(k).and_then(Value::num);
    let count = |k: &str| n(k).map_or(0, |c| c.clamp(0, 256) as usize);
    let os = s("os.pretty-name").or_else(|| match (s("os.name"), s("os.version")) {
        (Some(a), Some(b)) => Some(format!("{a} {b}")),
        (a, b) => a.or(b),
    });
    let kernel = match (s("os.kernel-release"), s("os.machine")) {
        (Some(k), Some(m)) => Some(format!("{k} ({m})")),
        (k, _) => k,
    };
    let timezone = s("timezone.name")
        .or_else(|| n("timezone.offset").map(|_| "UTC offset".to_string()))
        .map(|name| (name, n("timezone.offset").unwrap_or(0)));
    let users = (0..count("user.count"))
        .filter_map(|i| s(&format!("user.{i}.name")))
        .collect();
    let filesystems = (0..count("fs.count"))
        .filter_map(|i| {
            let mountpoint = s(&format!("fs.{i}.mountpoint"))?;
            let bytes = |k: &str| n(&format!("fs.{i}.{k}")).and_then(|v| u64::try_from(v).ok());
            Some(Filesystem {
                mountpoint,
                fstype: s(&format!("fs.{i}.fstype")).unwrap_or_default(),
                used_bytes: bytes("used-bytes"),
                total_bytes: bytes("total-bytes"),
            })
        })
        .collect();
    GuestInfo {
        os,
        kernel,
        hostname: s("hostname"),
        timezone,
        users,
        filesystems,
        interfaces: Vec::new(),
    }
}

/// Asks the agent (1 s at most per call); the error says why there is no answer.
///
/// libvirt keeps the agent timeout per VM for as long as it runs, and other agent calls
/// (a filesystem freeze for a quiesced snapshot, `virsh shutdown --mode=agent`) may need
/// longer than 1 s: libvirt's default is put back after the read.
pub fn read(dom: &Domain) -> Result<GuestInfo, String> {
    short(dom, || read_info(dom))
}

/// Runs `f` with the VM's agent timeout at 1 s, then puts libvirt's default back: a silent
/// agent then holds the calling thread (the worker, for a password change) 1 s at most.
pub fn short<T>(dom: &Domain, f: impl FnOnce() -> T) -> T {
    // SAFETY: valid handle; the timeout is in seconds. A libvirt without the call keeps
    // its default, and `f` still runs.
    let set = unsafe { sys::virDomainAgentSetResponseTimeout(dom.as_ptr(), 1, 0) } == 0;
    let out = f();
    if set {
        // SAFETY: as above.
        unsafe {
            sys::virDomainAgentSetResponseTimeout(
                dom.as_ptr(),
                sys::VIR_DOMAIN_AGENT_RESPONSE_TIMEOUT_DEFAULT,
                0,
            )
        };
    }
    out
}

fn read_info(dom: &Domain) -> Result<GuestInfo, String> {
    let e = || crate::host::message(&virt::error::Error::last_error());
    let mut params: sys::virTypedParameterPtr = std::ptr::null_mut();
    let mut n: std::os::raw::c_int = 0;
    let types = sys::VIR_DOMAIN_GUEST_INFO_USERS
        | sys::VIR_DOMAIN_GUEST_INFO_OS
        | sys::VIR_DOMAIN_GUEST_INFO_TIMEZONE
        | sys::VIR_DOMAIN_GUEST_INFO_HOSTNAME
        | sys::VIR_DOMAIN_GUEST_INFO_FILESYSTEM;
    // SAFETY: plain FFI call; libvirt allocates `n` parameters, freed below.
    if unsafe { sys::virDomainGetGuestInfo(dom.as_ptr(), types, &mut params, &mut n, 0) } < 0 {
        return Err(e());
    }
    let mut list = Vec::with_capacity(n.max(0) as usize);
    for i in 0..n.max(0) as usize {
        // SAFETY: `params` holds `n` parameters.
        let p = unsafe { &*params.add(i) };
        // SAFETY: a NUL-terminated field name inside the parameter.
        let key = unsafe { CStr::from_ptr(p.field.as_ptr()) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: the union member matches the type tag.
        let v = unsafe {
            match p.type_ as u32 {
                sys::VIR_TYPED_PARAM_STRING if !p.value.s.is_null() => {
                    Value::Str(CStr::from_ptr(p.value.s).to_string_lossy().into_owned())
                }
                sys::VIR_TYPED_PARAM_INT => Value::Num(i64::from(p.value.i)),
                sys::VIR_TYPED_PARAM_UINT => Value::Num(i64::from(p.value.ui)),
                sys::VIR_TYPED_PARAM_LLONG => Value::Num(p.value.l),
                sys::VIR_TYPED_PARAM_ULLONG => Value::Num(p.value.ul.min(i64::MAX as u64) as i64),
                _ => Value::Other,
            }
        };
        list.push((key, v));
    }
    // SAFETY: frees the array and its strings, once.
    unsafe { sys::virTypedParamsFree(params, n) };
    let mut info = from_params(&list);
    info.interfaces = crate::host::network::agent_addresses(dom).unwrap_or_default();
    Ok(info)
}

/// Where the agent's answer lands: empty while asked, then the info or why there is none.
#[derive(Clone, Default)]
pub struct AgentSlot(Arc<Shared>);

#[derive(Default)]
struct Shared {
    answer: Mutex<Option<Result<GuestInfo, String>>>,
    wake: Mutex<Option<Wake>>,
}

impl PartialEq for AgentSlot {
    fn eq(&self, o: &Self) -> bool {
        Arc::ptr_eq(&self.0, &o.0)
    }
}

impl std::fmt::Debug for AgentSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AgentSlot").field(&self.answer()).finish()
    }
}

impl AgentSlot {
    pub fn answer(&self) -> Option<Result<GuestInfo, String>> {
        self.0
            .answer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn set_wake(&self, w: Wake) {
        *self.0.wake.lock().unwrap_or_else(PoisonError::into_inner) = Some(w);
    }

    pub fn fill(&self, r: Result<GuestInfo, String>) {
        *self.0.answer.lock().unwrap_or_else(PoisonError::into_inner) = Some(r);
        let w = self
            .0
            .wake
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(w) = w {
            w();
        }
    }
}

/// Asks the agent of `uuid` on a thread of its own and fills `slot`.
pub fn spawn(conn: &Connect, uuid: String, slot: AgentSlot) {
    let conn = conn.clone();
    let on_thread = slot.clone();
    let started = std::thread::Builder::new()
        .name("guest-agent".into())
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let dom = conn
                    .lookup_domain_by_uuid_string(&uuid)
                    .map_err(|e| crate::host::message(&e))?;
                read(&dom)
            }));
            on_thread.fill(r.unwrap_or_else(|_| Err("internal error asking the agent".into())));
        });
    if let Err(e) = started {
        slot.fill(Err(format!("cannot ask the agent: {e}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(k: &str, v: Value) -> (String, Value) {
        (k.to_string(), v)
    }

    #[test]
    fn params_become_the_overview_facts() {
        let params = vec![
            p("os.name", Value::Str("Debian GNU/Linux".into())),
            p(
                "os.pretty-name",
                Value::Str("Debian 12 \u{202e}evil".into()),
            ),
            p("os.kernel-release", Value::Str("6.1.0-18-amd64".into())),
            p("os.machine", Value::Str("x86_64".into())),
            p("hostname", Value::Str("web-1".into())),
            p("timezone.name", Value::Str("CET".into())),
            p("timezone.offset", Value::Num(3600)),
            p("user.count", Value::Num(2)),
            p("user.0.name", Value::Str("root".into())),
            p("user.1.name", Value::Str("ops".into())),
            p("fs.count", Value::Num(1_000_000)),
            p("fs.0.mountpoint", Value::Str("/".into())),
            p("fs.0.fstype", Value::Str("ext4".into())),
            p("fs.0.used-bytes", Value::Num(3 << 30)),
            p("fs.0.total-bytes", Value::Num(12 << 30)),
        ];
        let g = from_params(&params);
        assert_eq!(
            g.os.as_deref(),
            Some("Debian 12 \u{202e}evil"),
            "sanitized when drawn"
        );
        assert_eq!(g.kernel.as_deref(), Some("6.1.0-18-amd64 (x86_64)"));
        assert_eq!(g.hostname.as_deref(), Some("web-1"));
        assert_eq!(g.timezone, Some(("CET".into(), 3600)));
        assert_eq!(g.users, ["root", "ops"]);
        assert_eq!(
            g.filesystems.len(),
            1,
            "a huge count reads only what is there"
        );
        assert_eq!(g.filesystems[0].use_percent(), Some(25.0));
        // Without a pretty name: name and version.
        let g = from_params(&[
            p("os.name", Value::Str("Alpine".into())),
            p("os.version", Value::Str("3.19".into())),
        ]);
        assert_eq!(g.os.as_deref(), Some("Alpine 3.19"));
        assert_eq!(from_params(&[]), GuestInfo::default());
    }

    #[test]
    fn hostile_parameters() {
        let g = from_params(&[
            p("user.count", Value::Num(i64::MAX)),
            p("user.0.name", Value::Num(7)),
            p("user.1.name", Value::Str("x".into())),
            p("user.300.name", Value::Str("beyond the cap".into())),
            p("fs.count", Value::Num(-4)),
            p("fs.0.mountpoint", Value::Str("/".into())),
            p("hostname", Value::Other),
            p("timezone.offset", Value::Str("not a number".into())),
        ]);
        assert_eq!(g.users, ["x"], "a number is no name; the cap holds");
        assert!(g.filesystems.is_empty(), "a negative count reads nothing");
        assert_eq!(g.hostname, None);
        assert_eq!(g.timezone, None);
        let fs = |used, total| Filesystem {
            mountpoint: "/".into(),
            fstype: String::new(),
            used_bytes: used,
            total_bytes: total,
        };
        assert_eq!(fs(Some(u64::MAX), Some(1)).use_percent(), Some(100.0));
        assert_eq!(fs(Some(5), Some(0)).use_percent(), None);
        assert_eq!(fs(None, Some(5)).use_percent(), None);
        // Sizes that do not fit or are negative are unknown, not wrapped.
        let g = from_params(&[
            p("fs.count", Value::Num(1)),
            p("fs.0.mountpoint", Value::Str("/".into())),
            p("fs.0.used-bytes", Value::Num(-1)),
            p("fs.0.total-bytes", Value::Num(10)),
        ]);
        assert_eq!(g.filesystems[0].used_bytes, None);
    }
}
