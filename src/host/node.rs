//! Host-level readings taken with each poll: node CPU and memory every tick, storage pools and
//! the local machine's load, memory and disks less often (they change slowly, and cost one
//! call per pool or a few /proc files).

use std::time::{Duration, Instant};

use virt::connect::Connect;
use virt::error::Error;

use super::stats;
use crate::model::{version_string, LocalDisk, LocalMachine, NodeSample, PoolUsage};

const SLOW_EVERY: Duration = Duration::from_secs(10);

pub(crate) struct NodeSampler {
    total_kib: u64,
    cpu_supported: bool,
    /// The node CPU stats' count of values, once known (one call a poll instead of two).
    cpu_size: Option<i32>,
    memory: stats::MemoryReading,
    last_slow: Option<Instant>,
    /// The machine virtdeck runs on, sampled only for local URIs, with the slow readings:
    /// its memory, load and disks move slowly, and reading them parses /proc files (the
    /// memory's cgroup limits read the mount table).
    local: Option<sysinfo::System>,
    local_reading: Option<LocalMachine>,
    /// CPUs this process may use: std reads the cgroup files and mount table for it.
    cpus: usize,
}

impl NodeSampler {
    pub fn new(total_kib: u64, local: bool) -> NodeSampler {
        NodeSampler {
            total_kib,
            cpu_supported: true,
            cpu_size: None,
            memory: stats::MemoryReading::default(),
            last_slow: None,
            local: local.then(sysinfo::System::new),
            local_reading: None,
            cpus: if local {
                std::thread::available_parallelism().map_or(0, |n| n.get())
            } else {
                0
            },
        }
    }

    /// One reading. Errors from optional calls are swallowed (the field stays None); an error
    /// is returned only when the connection itself failed.
    pub fn sample(&mut self, conn: &Connect) -> Result<NodeSample, Error> {
        let mut out = NodeSample::default();
        if self.cpu_supported {
            match stats::node_cpu(conn, &mut self.cpu_size) {
                Ok(c) => out.cpu = c,
                Err(e) => {
                    if !conn.is_alive().unwrap_or(false) {
                        return Err(e);
                    }
                    // The driver has no node CPU stats (test driver): stop asking.
                    self.cpu_supported = false;
                }
            }
        }
        out.memory = stats::node_memory(conn, self.total_kib, &mut self.memory);
        let slow = self.last_slow.is_none_or(|t| t.elapsed() >= SLOW_EVERY);
        if slow {
            self.last_slow = Some(Instant::now());
            out.pools = Some(pools(conn)?);
            if let Some(sys) = self.local.as_mut() {
                sys.refresh_memory();
                let l = sysinfo::System::load_average();
                self.local_reading = Some(LocalMachine {
                    load: [l.one, l.five, l.fifteen],
                    cpus: self.cpus,
                    mem_total: sys.total_memory(),
                    mem_used: sys.used_memory(),
                    disks: local_disks(),
                });
            }
        }
        out.local = self.local_reading.clone();
        Ok(out)
    }
}

fn pools(conn: &Connect) -> Result<Vec<PoolUsage>, Error> {
    let list = match conn.list_all_storage_pools(virt::sys::VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE) {
        Ok(l) => l,
        // No storage driver on this connection: no pools, not a lost host.
        Err(_) if conn.is_alive().unwrap_or(false) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out: Vec<PoolUsage> = list
        .iter()
        .filter_map(|p| {
            let info = p.info().ok()?;
            Some(PoolUsage {
                name: p.name().ok()?,
                capacity: info.capacity,
                allocation: info.allocation,
                available: info.available,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Real filesystems of this machine, one per mount point, biggest first.
fn local_disks() -> Vec<LocalDisk> {
    let disks = sysinfo::Disks::new_with_refreshed_list();
    let mut out: Vec<LocalDisk> = Vec::new();
    for d in disks.list() {
        let fs = d.file_system().to_string_lossy();
        if d.total_space() == 0 || matches!(fs.as_ref(), "overlay" | "tmpfs" | "squashfs") {
            continue;
        }
        let mount = d.mount_point().to_string_lossy().into_owned();
        if out.iter().any(|o| o.mount == mount) {
            continue;
        }
        out.push(LocalDisk {
            mount,
            total: d.total_space(),
            available: d.available_space(),
        });
    }
    out.sort_by(|a, b| b.total.cmp(&a.total).then(a.mount.cmp(&b.mount)));
    out.truncate(8);
    out
}

/// Opens `uri` once for the add-host form's test and describes what answered (hostname,
/// driver, versions), or the error with a hint for well-known setup problems. Blocks: the
/// caller runs it on a thread of its own and times it out.
pub fn test_connection(uri: &str, readonly: bool) -> Result<String, String> {
    let eff = super::effective_uri(uri);
    let opened = if readonly {
        Connect::open_read_only(Some(&eff))
    } else {
        Connect::open(Some(&eff))
    };
    match opened {
        Ok(c) => Ok(format!(
            "{}: {} {} (libvirt {})",
            c.hostname().unwrap_or_else(|_| "?".into()),
            c.driver_type().unwrap_or_default(),
            c.hyp_version().map(version_string).unwrap_or_default(),
            c.lib_version().map(version_string).unwrap_or_default(),
        )),
        Err(e) => Err(super::with_hint(uri, super::message(&e))),
    }
}

/// True for a URI that talks to this machine (no host part), so local load means something.
pub fn is_local_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return false;
    };
    if scheme.starts_with("test") {
        return false;
    }
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    matches!(host, "" | "localhost" | "127.0.0.1" | "::1" | "[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_uris() {
        assert!(is_local_uri("qemu:///system"));
        assert!(is_local_uri("qemu+unix:///system?socket=/run/x"));
        assert!(is_local_uri("qemu+ssh://root@127.0.0.1/system"));
        assert!(is_local_uri("qemu+tcp://localhost:16510/system"));
        assert!(!is_local_uri("qemu+ssh://root@kvm2/system"));
        assert!(!is_local_uri("test:///default"));
        assert!(!is_local_uri("garbage"));
    }
}
