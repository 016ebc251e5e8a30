//! Reading the whole storage picture of a host: pools, their volumes with the VMs using each
//! one, and secrets.
//!
//! Errors: a call that fails while the connection is still alive means the object went away
//! (a pool undefined, a volume deleted by someone else meanwhile) or the driver lacks the
//! feature; that item is skipped. Only a dead connection fails the whole read.

use std::collections::{BTreeSet, HashMap};

use virt::connect::Connect;
use virt::error::Error;
use virt::storage_pool::StoragePool;
use virt::storage_vol::StorageVol;

use crate::model::storage::{Pool, PoolState, Secret, StorageInventory, Volume};

pub(super) fn read(conn: &Connect) -> Result<StorageInventory, Error> {
    // A connection without a storage driver (some remote setups) has no pools, which is
    // not an error worth a toast.
    let Some(list) = skip_if_alive(conn, conn.list_all_storage_pools(0))? else {
        return Ok(StorageInventory::default());
    };
    let users = DiskUsers::read(conn)?;
    let mut pools = Vec::with_capacity(list.len());
    for p in &list {
        if let Some(pool) = skip_if_alive(conn, pool(conn, p, &users))? {
            pools.push(pool);
        }
    }
    pools.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(StorageInventory {
        pools,
        secrets: secrets(conn)?,
    })
}

/// `Ok(None)` for an error on a live connection (the item is gone or unsupported), the error
/// itself when the connection died.
fn skip_if_alive<T>(conn: &Connect, r: Result<T, Error>) -> Result<Option<T>, Error> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(_) if conn.is_alive().unwrap_or(false) => Ok(None),
        Err(e) => Err(e),
    }
}

fn pool(conn: &Connect, p: &StoragePool, users: &DiskUsers) -> Result<Pool, Error> {
    let name = p.name()?;
    let info = p.info()?;
    let state = PoolState::from_raw(info.state);
    let (kind, target) = pool_xml_facts(&p.xml_desc(0)?);
    let volumes = if state.is_active() {
        // A pool stopped between the two calls shows without volumes.
        let list = skip_if_alive(conn, p.list_all_volumes(0))?.unwrap_or_default();
        let mut vols = Vec::with_capacity(list.len());
        for v in &list {
            if let Some(vol) = skip_if_alive(conn, volume(v, &name, users))? {
                vols.push(vol);
            }
        }
        vols.sort_by(|a, b| a.name.cmp(&b.name));
        vols
    } else {
        Vec::new()
    };
    Ok(Pool {
        uuid: p.uuid_string()?,
        kind,
        state,
        autostart: p.autostart()?,
        persistent: p.is_persistent()?,
        capacity: info.capacity,
        allocation: info.allocation,
        available: info.available,
        target,
        volumes,
        name,
    })
}

/// Type and target path from the pool XML; a document the parser rejects still lists the
/// pool, with an unknown type.
fn pool_xml_facts(xml: &str) -> (String, Option<String>) {
    match crate::xml::pool::parse(xml) {
        Ok(def) => (def.kind.to_string(), def.target),
        Err(_) => ("unknown".to_string(), None),
    }
}

fn volume(v: &StorageVol, pool: &str, users: &DiskUsers) -> Result<Volume, Error> {
    let name = v.name()?;
    let path = v.path()?;
    let info = v.info()?;
    let (format, backing) = match crate::xml::volume::parse(&v.xml_desc(0)?) {
        Ok(def) => (def.format.unwrap_or_default(), def.backing),
        Err(_) => (String::new(), None),
    };
    Ok(Volume {
        used_by: users.of(pool, &name, &path),
        key: v.key()?,
        format,
        kind: vol_kind(info.kind).to_string(),
        capacity: info.capacity,
        allocation: info.allocation,
        backing,
        path,
        name,
    })
}

/// `virStorageVolType` as the label the panes show.
fn vol_kind(raw: u32) -> &'static str {
    match raw {
        virt::sys::VIR_STORAGE_VOL_FILE => "file",
        virt::sys::VIR_STORAGE_VOL_BLOCK => "block",
        virt::sys::VIR_STORAGE_VOL_DIR => "dir",
        virt::sys::VIR_STORAGE_VOL_NETWORK => "network",
        virt::sys::VIR_STORAGE_VOL_NETDIR => "netdir",
        virt::sys::VIR_STORAGE_VOL_PLOOP => "ploop",
        _ => "unknown",
    }
}

fn secrets(conn: &Connect) -> Result<Vec<Secret>, Error> {
    // No secret driver: no secrets.
    let Some(list) = skip_if_alive(conn, conn.list_all_secrets(0))? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(list.len());
    for s in &list {
        let read = s.uuid_string().and_then(|uuid| Ok((uuid, s.xml_desc(0)?)));
        if let Some((uuid, xml)) = skip_if_alive(conn, read)? {
            out.push(secret(uuid, &xml));
        }
    }
    out.sort_by(|a, b| (&a.usage_id, &a.uuid).cmp(&(&b.usage_id, &b.uuid)));
    Ok(out)
}

fn secret(uuid: String, xml: &str) -> Secret {
    match crate::xml::secret::parse(xml) {
        Ok(def) => Secret {
            uuid,
            usage: def.usage,
            usage_id: def.usage_id,
            description: def.description.unwrap_or_default(),
            ephemeral: def.ephemeral,
            private: def.private,
        },
        Err(_) => Secret {
            uuid,
            usage: "unknown".to_string(),
            usage_id: String::new(),
            description: String::new(),
            ephemeral: false,
            private: false,
        },
    }
}

/// Which defined VMs have a disk on which storage: keyed by host path, and by pool + volume
/// for `type='volume'` disks.
#[derive(Default)]
struct DiskUsers {
    by_path: HashMap<String, BTreeSet<String>>,
    by_volume: HashMap<(String, String), BTreeSet<String>>,
}

impl DiskUsers {
    /// One XML read per domain; the storage panes refresh on demand, not every poll, so this
    /// cost is paid only when someone looks.
    fn read(conn: &Connect) -> Result<DiskUsers, Error> {
        let mut users = DiskUsers::default();
        let Some(doms) = skip_if_alive(conn, conn.list_all_domains(0))? else {
            return Ok(users);
        };
        for d in &doms {
            if let Some((name, xml)) = skip_if_alive(conn, domain_xml(d))? {
                users.add(&name, &xml);
            }
        }
        Ok(users)
    }

    fn add(&mut self, vm: &str, xml: &str) {
        let Ok(disks) = crate::xml::domain::disk_sources(xml) else {
            return;
        };
        for d in disks {
            // A network disk's name (`rbdpool/image`) is what an rbd pool reports as the
            // volume's path; local paths are absolute, so the two never mix up.
            for path in [d.file, d.dev, d.name].into_iter().flatten() {
                self.by_path.entry(path).or_default().insert(vm.to_string());
            }
            if let (Some(pool), Some(volume)) = (d.pool, d.volume) {
                self.by_volume
                    .entry((pool, volume))
                    .or_default()
                    .insert(vm.to_string());
            }
        }
    }

    /// Sorted, each VM once (even with two disks on the volume).
    fn of(&self, pool: &str, volume: &str, path: &str) -> Vec<String> {
        let mut vms: BTreeSet<&String> = BTreeSet::new();
        if let Some(s) = self.by_path.get(path) {
            vms.extend(s);
        }
        if let Some(s) = self.by_volume.get(&(pool.to_string(), volume.to_string())) {
            vms.extend(s);
        }
        vms.into_iter().cloned().collect()
    }
}

/// The persistent definition for defined VMs (what they will use at next start); the live
/// XML for transient ones, which have no other.
fn domain_xml(d: &virt::domain::Domain) -> Result<(String, String), Error> {
    let flags = if d.is_persistent()? {
        virt::sys::VIR_DOMAIN_XML_INACTIVE
    } else {
        0
    };
    Ok((d.name()?, d.xml_desc(flags)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_by_path_and_by_pool_volume_each_once() {
        let mut u = DiskUsers::default();
        u.add(
            "a&b",
            "<domain><devices>\
               <disk type='file' device='disk'><source file='/p/x.img'/><target dev='vda'/></disk>\
               <disk type='volume' device='disk'><source pool='p' volume='x.img'/><target dev='vdb'/></disk>\
             </devices></domain>",
        );
        u.add(
            "c",
            "<domain><devices><disk type='network' device='disk'>\
               <source protocol='rbd' name='rbd/img'/><target dev='vda'/></disk></devices></domain>",
        );
        assert_eq!(u.of("p", "x.img", "/p/x.img"), vec!["a&b".to_string()]);
        assert_eq!(u.of("q", "x.img", "/q/x.img"), Vec::<String>::new());
        assert_eq!(u.of("ceph", "img", "rbd/img"), vec!["c".to_string()]);
    }

    #[test]
    fn volume_types_have_labels() {
        assert_eq!(vol_kind(virt::sys::VIR_STORAGE_VOL_BLOCK), "block");
        assert_eq!(vol_kind(99), "unknown");
    }
}
