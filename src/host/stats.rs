//! One `virConnectGetAllDomainStats` call per tick for every domain. The `virt` crate's wrapper
//! leaks the records and does not decode them, so this calls libvirt directly and frees the list.

use std::ffi::CStr;
use std::os::raw::c_char;

use virt::connect::Connect;
use virt::error::Error;
use virt::sys;

/// The fields virtdeck reads from a domain's stats record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DomainStats {
    pub uuid: String,
    pub name: String,
    pub id: Option<u32>,
    pub state: Option<i64>,
    pub cpu_time_ns: Option<u64>,
    pub balloon_current_kib: Option<u64>,
    pub balloon_max_kib: Option<u64>,
    pub vcpu_current: Option<u64>,
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
            _ => {}
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
unsafe fn decode(p: &sys::virTypedParameter) -> (String, ParamValue) {
    let key = CStr::from_ptr(p.field.as_ptr())
        .to_string_lossy()
        .into_owned();
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
pub fn all_domain_stats(conn: &Connect) -> Result<Vec<DomainStats>, Error> {
    let groups = sys::VIR_DOMAIN_STATS_STATE
        | sys::VIR_DOMAIN_STATS_CPU_TOTAL
        | sys::VIR_DOMAIN_STATS_BALLOON
        | sys::VIR_DOMAIN_STATS_VCPU;
    let mut records: *mut sys::virDomainStatsRecordPtr = std::ptr::null_mut();
    // SAFETY: plain FFI call; on success libvirt hands us a NULL-terminated array we free below.
    let n = unsafe { sys::virConnectGetAllDomainStats(conn.as_ptr(), groups, &mut records, 0) };
    if n < 0 {
        return Err(Error::last_error());
    }
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        // SAFETY: i < n, records has n valid entries until virDomainStatsRecordListFree.
        unsafe {
            let rec = &**records.add(i);
            let mut st = DomainStats::default();
            let dom = rec.dom;
            let name = sys::virDomainGetName(dom);
            if !name.is_null() {
                st.name = CStr::from_ptr(name).to_string_lossy().into_owned();
            }
            let mut buf = [0 as c_char; sys::VIR_UUID_STRING_BUFLEN as usize];
            if sys::virDomainGetUUIDString(dom, buf.as_mut_ptr()) == 0 {
                st.uuid = CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned();
            }
            let id = sys::virDomainGetID(dom);
            st.id = (id != u32::MAX).then_some(id);
            for j in 0..rec.nparams.max(0) as usize {
                let (k, v) = decode(&*rec.params.add(j));
                st.set(&k, v);
            }
            out.push(st);
        }
    }
    // SAFETY: frees the records, their params and domain references in one go.
    unsafe { sys::virDomainStatsRecordListFree(records) };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
