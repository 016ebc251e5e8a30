//! libvirt migration calls the `virt` crate 0.5 lacks (abort job, post-copy switch, compare
//! with the hypervisor's CPU) or wraps with leaks (its typed parameters leak every string,
//! its job stats free libvirt's array with Rust's allocator and leak the strings in it).
//! Everything libvirt allocates here is freed here.

use std::ffi::{CStr, CString};
use std::os::raw::{c_int, c_uint, c_ulonglong};

use virt::connect::Connect;
use virt::domain::Domain;
use virt::error::Error;
use virt::sys;

use crate::model::migration::{Param, ParamValue, Progress};

/// A typed parameter list built by libvirt's own `virTypedParamsAdd*` (so libvirt can free
/// it, strings included).
pub(crate) struct TypedParams {
    ptr: sys::virTypedParameterPtr,
    n: c_int,
    max: c_int,
}

impl TypedParams {
    pub(crate) fn new(params: &[Param]) -> Result<TypedParams, Error> {
        let mut t = TypedParams {
            ptr: std::ptr::null_mut(),
            n: 0,
            max: 0,
        };
        for p in params {
            let name = CString::new(p.name)?;
            // SAFETY: ptr/n/max describe a list libvirt allocated (or NULL/0/0); the name and
            // value strings are copied by libvirt before the call returns.
            let rc = unsafe {
                match &p.value {
                    ParamValue::Str(s) => {
                        let v = CString::new(s.as_str())?;
                        sys::virTypedParamsAddString(
                            &mut t.ptr,
                            &mut t.n,
                            &mut t.max,
                            name.as_ptr(),
                            v.as_ptr(),
                        )
                    }
                    ParamValue::ULLong(v) => sys::virTypedParamsAddULLong(
                        &mut t.ptr,
                        &mut t.n,
                        &mut t.max,
                        name.as_ptr(),
                        *v as c_ulonglong,
                    ),
                }
            };
            if rc < 0 {
                return Err(Error::last_error());
            }
        }
        Ok(t)
    }
}

impl Drop for TypedParams {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: allocated by virTypedParamsAdd*, freed once.
            unsafe { sys::virTypedParamsFree(self.ptr, self.n) };
        }
    }
}

/// `virDomainMigrate3`: the client drives both sides (`dconn` is the target).
pub(crate) fn migrate3(
    dom: &Domain,
    dconn: &Connect,
    params: &TypedParams,
    flags: u32,
) -> Result<Domain, Error> {
    // SAFETY: valid handles; libvirt only reads the parameter list.
    let p = unsafe {
        sys::virDomainMigrate3(
            dom.as_ptr(),
            dconn.as_ptr(),
            params.ptr,
            params.n as c_uint,
            flags as c_uint,
        )
    };
    if p.is_null() {
        return Err(Error::last_error());
    }
    // SAFETY: a new reference we own.
    Ok(unsafe { Domain::from_ptr(p) })
}

/// `virDomainMigrateToURI3` with peer-to-peer: the source daemon connects to `dconnuri`.
pub(crate) fn migrate_to_uri3(
    dom: &Domain,
    dconnuri: &str,
    params: &TypedParams,
    flags: u32,
) -> Result<(), Error> {
    let uri = CString::new(dconnuri)?;
    // SAFETY: valid handle and strings; libvirt only reads them.
    let rc = unsafe {
        sys::virDomainMigrateToURI3(
            dom.as_ptr(),
            uri.as_ptr(),
            params.ptr,
            params.n as c_uint,
            flags as c_uint,
        )
    };
    if rc < 0 {
        return Err(Error::last_error());
    }
    Ok(())
}

pub(crate) fn abort_job(dom: &Domain) -> Result<(), Error> {
    // SAFETY: valid handle.
    if unsafe { sys::virDomainAbortJob(dom.as_ptr()) } < 0 {
        return Err(Error::last_error());
    }
    Ok(())
}

pub(crate) fn start_post_copy(dom: &Domain) -> Result<(), Error> {
    // SAFETY: valid handle.
    if unsafe { sys::virDomainMigrateStartPostCopy(dom.as_ptr(), 0) } < 0 {
        return Err(Error::last_error());
    }
    Ok(())
}

/// `virConnectCompareHypervisorCPU` for KVM with the host's default emulator, arch and
/// machine: can that hypervisor run a guest with this `<cpu>`? Returns libvirt's
/// `virCPUCompareResult` (1 identical, 2 superset); an incompatible CPU is an error
/// (`VIR_ERR_CPU_INCOMPATIBLE`) whose text names the missing features.
pub(crate) fn compare_hypervisor_cpu(conn: &Connect, cpu_xml: &str) -> Result<i32, Error> {
    let xml = CString::new(cpu_xml)?;
    let kvm = c"kvm";
    // SAFETY: valid handle and strings; NULLs pick the defaults.
    let rc = unsafe {
        sys::virConnectCompareHypervisorCPU(
            conn.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            std::ptr::null(),
            kvm.as_ptr(),
            xml.as_ptr(),
            sys::VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE,
        )
    };
    if rc < 0 {
        return Err(Error::last_error());
    }
    Ok(rc)
}

/// libvirt's job type (`virDomainJobType`) and statistics.
pub(crate) struct JobSample {
    pub kind: i32,
    pub progress: Progress,
    /// `errmsg` of a failed job (completed statistics).
    pub error: Option<String>,
}

/// `virDomainGetJobStats`; `flags` may ask for the completed job's statistics.
pub(crate) fn job_stats(dom: &Domain, flags: u32) -> Result<JobSample, Error> {
    let mut kind: c_int = 0;
    let mut params: sys::virTypedParameterPtr = std::ptr::null_mut();
    let mut n: c_int = 0;
    // SAFETY: libvirt allocates `params` (n entries) and we free it below.
    let rc = unsafe {
        sys::virDomainGetJobStats(
            dom.as_ptr(),
            &mut kind,
            &mut params,
            &mut n,
            flags as c_uint,
        )
    };
    if rc < 0 {
        return Err(Error::last_error());
    }
    let u = |name: &CStr| -> Option<u64> {
        let mut v: c_ulonglong = 0;
        // SAFETY: params/n as returned; the lookup only reads.
        let found = unsafe { sys::virTypedParamsGetULLong(params, n, name.as_ptr(), &mut v) };
        (found == 1).then_some(v)
    };
    let i = |name: &CStr| -> Option<i32> {
        let mut v: c_int = 0;
        // SAFETY: as above.
        let found = unsafe { sys::virTypedParamsGetInt(params, n, name.as_ptr(), &mut v) };
        (found == 1).then_some(v)
    };
    let progress = Progress {
        data_total: u(sys::VIR_DOMAIN_JOB_DATA_TOTAL),
        data_processed: u(sys::VIR_DOMAIN_JOB_DATA_PROCESSED),
        data_remaining: u(sys::VIR_DOMAIN_JOB_DATA_REMAINING),
        mem_total: u(sys::VIR_DOMAIN_JOB_MEMORY_TOTAL),
        mem_processed: u(sys::VIR_DOMAIN_JOB_MEMORY_PROCESSED),
        mem_remaining: u(sys::VIR_DOMAIN_JOB_MEMORY_REMAINING),
        disk_total: u(sys::VIR_DOMAIN_JOB_DISK_TOTAL),
        disk_processed: u(sys::VIR_DOMAIN_JOB_DISK_PROCESSED),
        disk_remaining: u(sys::VIR_DOMAIN_JOB_DISK_REMAINING),
        mem_dirty_rate: u(sys::VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE),
        mem_iteration: u(sys::VIR_DOMAIN_JOB_MEMORY_ITERATION),
        mem_bps: u(sys::VIR_DOMAIN_JOB_MEMORY_BPS),
        time_elapsed_ms: u(sys::VIR_DOMAIN_JOB_TIME_ELAPSED),
        time_remaining_ms: u(sys::VIR_DOMAIN_JOB_TIME_REMAINING),
        downtime_ms: u(sys::VIR_DOMAIN_JOB_DOWNTIME),
        auto_converge_throttle: i(sys::VIR_DOMAIN_JOB_AUTO_CONVERGE_THROTTLE)
            .and_then(|v| u32::try_from(v).ok()),
    };
    let mut msg: *const std::os::raw::c_char = std::ptr::null();
    // SAFETY: as above; the string stays owned by `params` until it is freed below.
    let found = unsafe {
        sys::virTypedParamsGetString(params, n, sys::VIR_DOMAIN_JOB_ERRMSG.as_ptr(), &mut msg)
    };
    let error = (found == 1 && !msg.is_null())
        // SAFETY: a NUL-terminated string libvirt returned, copied before the free.
        .then(|| {
            unsafe { CStr::from_ptr(msg) }
                .to_string_lossy()
                .into_owned()
        });
    if !params.is_null() {
        // SAFETY: allocated by libvirt for us, freed once.
        unsafe { sys::virTypedParamsFree(params, n) };
    }
    Ok(JobSample {
        kind,
        progress,
        error,
    })
}
