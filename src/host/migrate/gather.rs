//! Reads the facts the pre-flight checks need, from the source (the VM) and the target (its
//! networks, interfaces, memory, domains, storage, CPU). Runs on a thread of its own.

use std::path::Path;

use virt::connect::Connect;
use virt::error::Error;
use virt::storage_pool::StoragePool;
use virt::sys;

use crate::host::message;
use crate::migrate::preflight::{
    CpuCmp, CpuCompat, DiskSource, Facts, TargetFacts, Visibility, VmFacts,
};
use crate::xml::domain::XmlError;

#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error("{0}")]
    Libvirt(String),
    #[error(transparent)]
    Xml(#[from] XmlError),
}

impl From<Error> for GatherError {
    fn from(e: Error) -> GatherError {
        GatherError::Libvirt(message(&e))
    }
}

/// Both sides. `target` is `Err(text)` when the target could not be opened.
pub fn facts(source: &Connect, uuid: &str, target: Result<&Connect, String>) -> Facts {
    let vm = vm(source, uuid).map_err(|e| e.to_string());
    let target = match (&vm, target) {
        (_, Err(e)) => Err(e),
        (Ok(vm), Ok(t)) => Ok(target_facts(source, t, vm)),
        // Nothing to compare against; the VM check already fails.
        (Err(_), Ok(t)) => Ok(TargetFacts {
            hostname: t.hostname().unwrap_or_default(),
            ..TargetFacts::default()
        }),
    };
    Facts { vm, target }
}

/// The VM as it is now: live XML when running (its `<cpu>` is then the expanded model the
/// guest really sees), the inactive definition otherwise.
pub fn vm(conn: &Connect, uuid: &str) -> Result<VmFacts, GatherError> {
    let dom = conn.lookup_domain_by_uuid_string(uuid)?;
    let active = dom.is_active()?;
    let flags = if active {
        0
    } else {
        sys::VIR_DOMAIN_XML_INACTIVE
    };
    let mut vm = crate::migrate::preflight::vm_facts(&dom.xml_desc(flags)?)?;
    vm.active = active;
    vm.persistent = dom.is_persistent()?;
    Ok(vm)
}

/// What the target offers. A call that fails leaves its part empty or unknown rather than
/// failing the whole pre-flight: the checks then warn.
pub fn target_facts(source: &Connect, target: &Connect, vm: &VmFacts) -> TargetFacts {
    let networks = target
        .list_all_networks(0)
        .map(|nets| {
            nets.iter()
                .filter_map(|n| Some((n.name().ok()?, n.is_active().unwrap_or(false))))
                .collect()
        })
        .unwrap_or_default();
    // Host interfaces need the interface driver; without it the bridge check warns.
    let interfaces = target
        .list_all_interfaces(0)
        .ok()
        .map(|l| l.iter().filter_map(|i| i.name().ok()).collect());
    let domains = target
        .list_all_domains(0)
        .map(|l| {
            l.iter()
                .filter_map(|d| Some((d.name().ok()?, d.uuid_string().ok()?)))
                .collect()
        })
        .unwrap_or_default();
    TargetFacts {
        hostname: target.hostname().unwrap_or_default(),
        networks,
        interfaces,
        free_memory_kib: target.free_memory().ok().map(|b| b / 1024),
        domains,
        disk_visibility: vm
            .disks
            .iter()
            .map(|d| disk_visibility(target, &d.source))
            .collect(),
        cpu: Some(cpu_compat(source, target, vm)),
    }
}

/// Pool types whose storage several hosts reach: a volume there is the same data on both.
fn shared_pool_type(t: &str) -> bool {
    matches!(
        t,
        "netfs"
            | "gluster"
            | "rbd"
            | "iscsi"
            | "iscsi-direct"
            | "sheepdog"
            | "vstorage"
            | "mpath"
            | "scsi"
    )
}

/// Does the target see this disk? libvirt only tells us what is in the target's storage
/// pools, so that is the test: the path is a volume of a target pool (`virStorageVolLookupByPath`).
/// A file that appeared after the pool's last refresh is not listed yet, so pools whose
/// target directory contains the path are refreshed once and the lookup repeated. A `dir`
/// pool at the same path on both hosts can be two different local directories (every host
/// has /var/lib/libvirt/images): such a match is reported with `shared: false` and the
/// check warns instead of passing. Network disks (rbd, iscsi…) are reachable from anywhere.
pub fn disk_visibility(target: &Connect, src: &DiskSource) -> Visibility {
    match src {
        DiskSource::None => Visibility::NoMedium,
        DiskSource::Network { .. } => Visibility::Network,
        DiskSource::Volume { pool, volume } => target
            .lookup_storage_pool_by_name(pool)
            .ok()
            .filter(|p| p.lookup_storage_vol_by_name(volume).is_ok())
            .map(|p| Visibility::Volume {
                pool: pool.clone(),
                shared: shared_pool_type(&pool_type_and_path(&p).0),
            })
            .unwrap_or(Visibility::No),
        DiskSource::File(path) | DiskSource::Block(path) => {
            if let Some(v) = volume_by_path(target, path) {
                return v;
            }
            let Ok(pools) =
                target.list_all_storage_pools(sys::VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)
            else {
                return Visibility::No;
            };
            let mut refreshed = false;
            for p in &pools {
                let (_, dir) = pool_type_and_path(p);
                if dir
                    .as_deref()
                    .is_some_and(|d| d != "/" && Path::new(path).starts_with(d))
                {
                    refreshed |= p.refresh(0).is_ok();
                }
            }
            if refreshed {
                if let Some(v) = volume_by_path(target, path) {
                    return v;
                }
            }
            Visibility::No
        }
    }
}

fn volume_by_path(target: &Connect, path: &str) -> Option<Visibility> {
    let vol = target.lookup_storage_vol_by_path(path).ok()?;
    let pool = vol.lookup_storage_pool().ok()?;
    let (kind, _) = pool_type_and_path(&pool);
    Some(Visibility::Volume {
        pool: pool.name().unwrap_or_default(),
        shared: shared_pool_type(&kind),
    })
}

/// A pool's `type` attribute and `<target><path>`.
fn pool_type_and_path(p: &StoragePool) -> (String, Option<String>) {
    let Ok(xml) = p.xml_desc(0) else {
        return (String::new(), None);
    };
    let kind = xml
        .split_once("type='")
        .and_then(|(_, r)| r.split_once('\''))
        .map(|(t, _)| t.to_string())
        .unwrap_or_default();
    let path = xml
        .split_once("<target>")
        .and_then(|(_, r)| r.split_once("</target>"))
        .and_then(|(t, _)| t.split_once("<path>"))
        .and_then(|(_, r)| r.split_once("</path>"))
        .map(|(p, _)| unescape(p.trim()));
    (kind, path)
}

fn unescape(s: &str) -> String {
    quick_xml::escape::unescape(s)
        .map(|c| c.into_owned())
        .unwrap_or_else(|_| s.to_string())
}

/// The VM's CPU compared the way libvirt treats it at migration time (the verdict is
/// `preflight`'s). No `<cpu>`: QEMU's default model. host-passthrough (or maximum): libvirt
/// does not compare, the guest simply gets the target's CPU, so the source host's CPU (from
/// its capabilities) is compared with the target's. Any other mode: the VM's `<cpu>` (the
/// live, expanded one when running) is compared with what each side's hypervisor can
/// provide, as libvirt checks it when QEMU starts; the source's answer tells whether the
/// target is any worse than where the VM runs now.
pub fn cpu_compat(source: &Connect, target: &Connect, vm: &VmFacts) -> CpuCompat {
    let Some(xml) = vm.cpu_xml.as_deref() else {
        return CpuCompat::DefaultModel;
    };
    let passthrough = matches!(vm.cpu_mode.as_deref(), Some("host-passthrough" | "maximum"));
    if passthrough {
        let host_cpu = match source.capabilities().map(|c| host_cpu(&c)) {
            Ok(Some(cpu)) => cpu,
            Ok(None) => return CpuCompat::Unknown("the source reports no host CPU".into()),
            Err(e) => return CpuCompat::Unknown(message(&e)),
        };
        return CpuCompat::HostCpu(cmp(
            target.compare_cpu(&host_cpu, sys::VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE)
        ));
    }
    CpuCompat::Guest {
        target: cmp(super::ffi::compare_hypervisor_cpu(target, xml)),
        source: cmp(super::ffi::compare_hypervisor_cpu(source, xml)),
    }
}

/// libvirt's answer (asked with `VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE`, so an
/// incompatible CPU comes back as an error naming the missing features).
fn cmp(r: Result<i32, Error>) -> CpuCmp {
    match r {
        Ok(1) => CpuCmp::Identical,
        Ok(2) => CpuCmp::Superset,
        Ok(_) => CpuCmp::Incompatible(String::new()),
        Err(e) if e.code().to_raw() == sys::VIR_ERR_CPU_INCOMPATIBLE => {
            CpuCmp::Incompatible(message(&e))
        }
        Err(e) => CpuCmp::Error(message(&e)),
    }
}

/// The `<host><cpu>…</cpu>` element of capabilities XML.
fn host_cpu(caps: &str) -> Option<String> {
    let host = &caps[caps.find("<host>")?..];
    let start = host.find("<cpu>")?;
    let end = host[start..].find("</cpu>")? + start + "</cpu>".len();
    Some(host[start..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_cpu_is_cut_from_capabilities() {
        let caps = "<capabilities><host><uuid>x</uuid><cpu><arch>x86_64</arch><model>Skylake</model></cpu><power_management/></host><guest><cpu>no</cpu></guest></capabilities>";
        assert_eq!(
            host_cpu(caps).as_deref(),
            Some("<cpu><arch>x86_64</arch><model>Skylake</model></cpu>")
        );
        assert_eq!(host_cpu("<capabilities/>"), None);
    }

    #[test]
    fn shared_pool_types() {
        assert!(shared_pool_type("netfs") && shared_pool_type("rbd"));
        assert!(!shared_pool_type("dir") && !shared_pool_type("logical"));
    }
}
