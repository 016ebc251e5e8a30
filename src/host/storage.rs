//! Storage commands on the worker's connection (pools, volumes, secrets) and the transfer
//! threads for upload and download.

mod define;
mod inventory;
mod transfer;

use virt::connect::Connect;
use virt::error::Error;
use virt::storage_pool::StoragePool;
use virt::storage_vol::StorageVol;

use super::worker::Side;
use super::{message, HostCommand, HostEvent, Notify, PoolOp, Reply, RequestId, StorageCmd, VolOp};

/// Why an action failed: the text for the user, and the libvirt error behind it (none for a
/// refusal decided here), which the worker needs to tell a dead connection from a refused call.
struct Failure {
    text: String,
    error: Option<Error>,
}

impl Failure {
    fn refused(text: impl Into<String>) -> Failure {
        Failure {
            text: text.into(),
            error: None,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure {
            text: message(&e),
            error: Some(e),
        }
    }
}

type Outcome = Result<String, Failure>;

/// Runs one storage command. Only the inventory is read here: every action, even a quick
/// one, runs on a thread of its own with a connection of its own (`Side`), because
/// building a pool, wiping or cloning a big volume and mounting an NFS export take minutes,
/// and a worker stuck that long would be reported as "not responding". Answers arrive
/// through `shared` (`Done`, `Sources`, then a fresh inventory). Returns the libvirt error of
/// a failed inventory read, so the worker can tell a lost connection.
pub(super) fn run(
    conn: &Connect,
    cmd: StorageCmd,
    shared: &Notify,
    side: &Side,
) -> Result<(), Error> {
    match cmd {
        StorageCmd::Refresh => send_inventory(conn, &**shared),
        StorageCmd::Upload {
            pool,
            volume,
            file,
            job,
        } => {
            transfer::spawn_upload(conn, pool, volume, file, job);
            Ok(())
        }
        StorageCmd::Download {
            pool,
            volume,
            file,
            job,
        } => {
            transfer::spawn_download(conn, pool, volume, file, job);
            Ok(())
        }
        action => {
            let answer = HostCommand::Storage(action.clone());
            side.spawn(
                "storage-action",
                "the storage action",
                conn,
                shared,
                answer,
                |conn, notify| {
                    // A failure was answered already; a dead link is the worker's to notice.
                    let _ = act(conn, action, notify);
                },
            );
            Ok(())
        }
    }
}

/// One storage action on the calling thread; answers through `notify`.
fn act(conn: &Connect, cmd: StorageCmd, notify: &dyn Fn(HostEvent)) -> Result<(), Error> {
    let (id, outcome) = match cmd {
        StorageCmd::FindSources { id, kind, spec } => {
            return find_sources(conn, id, kind, spec, notify)
        }
        StorageCmd::Refresh | StorageCmd::Upload { .. } | StorageCmd::Download { .. } => {
            return send_inventory(conn, notify)
        }
        StorageCmd::Sniff { id, pool, volume } => {
            let result = transfer::head(conn, &pool, &volume).map(|b| crate::diskimage::sniff(&b));
            notify(HostEvent::Reply {
                id,
                reply: Reply::ImageHead(result),
            });
            return Ok(());
        }
        StorageCmd::Rescan => {
            let active =
                conn.list_all_storage_pools(virt::sys::VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)?;
            for p in &active {
                // A pool busy with a volume job refuses; it keeps what libvirt knew.
                let _ = p.refresh(0);
            }
            return send_inventory(conn, notify);
        }
        StorageCmd::Pool { id, pool, op } => (id, pool_op(conn, &pool, op)),
        StorageCmd::DefinePool {
            id,
            xml,
            secret,
            build,
            start,
            autostart,
        } => {
            let steps = define::Steps {
                build,
                start,
                autostart,
            };
            (id, define::define_pool(conn, &xml, secret, steps))
        }
        StorageCmd::Volume {
            id,
            pool,
            volume,
            op,
        } => (id, volume_op(conn, &pool, &volume, op)),
        StorageCmd::DefineSecret { id, xml, value } => {
            (id, define::define_secret(conn, &xml, value.as_deref()))
        }
        StorageCmd::SetSecretValue { id, uuid, value } => {
            (id, set_secret_value(conn, &uuid, &value))
        }
        StorageCmd::DeleteSecret { id, uuid } => (id, delete_secret(conn, &uuid)),
    };
    let (result, error) = match outcome {
        Ok(text) => (Ok(text), None),
        Err(f) => (Err(f.text), f.error),
    };
    notify(HostEvent::Reply {
        id,
        reply: Reply::Done(result),
    });
    match error {
        // The link died: a refresh would only fail too (after the keepalive timeout).
        Some(e) if !conn.is_alive().unwrap_or(false) => Err(e),
        Some(e) => send_inventory(conn, notify).and(Err(e)),
        None => send_inventory(conn, notify),
    }
}

fn send_inventory(conn: &Connect, notify: &dyn Fn(HostEvent)) -> Result<(), Error> {
    let inv = inventory::read(conn)?;
    notify(HostEvent::Storage(inv));
    Ok(())
}

fn find_sources(
    conn: &Connect,
    id: RequestId,
    kind: String,
    spec: Option<String>,
    notify: &dyn Fn(HostEvent),
) -> Result<(), Error> {
    match conn.find_storage_pool_sources(&kind, spec.as_deref(), 0) {
        Ok(xml) => {
            let result = crate::xml::pool::parse_sources(&xml)
                .map_err(|e| format!("libvirt's answer for {kind} sources could not be read: {e}"));
            notify(HostEvent::Reply {
                id,
                reply: Reply::Sources(result),
            });
            Ok(())
        }
        Err(e) => {
            notify(HostEvent::Reply {
                id,
                reply: Reply::Sources(Err(message(&e))),
            });
            Err(e)
        }
    }
}

fn pool_op(conn: &Connect, name: &str, op: PoolOp) -> Outcome {
    let pool = conn.lookup_storage_pool_by_name(name)?;
    let done = match op {
        PoolOp::Start => pool.create(0).map(|_| "started"),
        PoolOp::Stop => pool.destroy().map(|_| "stopped"),
        PoolOp::Refresh => pool.refresh(0).map(|_| "refreshed"),
        PoolOp::Build => pool.build(0).map(|_| "built"),
        PoolOp::SetAutostart(true) => pool.set_autostart(true).map(|_| "set to autostart"),
        PoolOp::SetAutostart(false) => pool.set_autostart(false).map(|_| "no longer autostarts"),
        PoolOp::Undefine => pool.undefine().map(|_| "undefined"),
        PoolOp::Delete => return delete_pool_storage(&pool, name),
    }?;
    Ok(format!("pool {name} {done}"))
}

/// `virStoragePoolDelete` removes the directory, VG… behind the pool. libvirt only allows it
/// on inactive pools; saying so before the call gives a clearer message than libvirt's.
fn delete_pool_storage(pool: &StoragePool, name: &str) -> Outcome {
    if pool.is_active()? {
        return Err(Failure::refused(format!(
            "pool {name} is running: stop the pool first, then delete its storage"
        )));
    }
    pool.delete(0)?;
    Ok(format!("storage of pool {name} deleted"))
}

fn volume_op(conn: &Connect, pool_name: &str, volume: &str, op: VolOp) -> Outcome {
    let pool = conn.lookup_storage_pool_by_name(pool_name)?;
    match op {
        VolOp::Create { xml } => {
            // qcow2 is only preallocated with this flag; its allocation alone is ignored.
            let prealloc =
                crate::xml::volume::parse(&xml).is_ok_and(|d| d.wants_prealloc_metadata());
            let flags = if prealloc {
                virt::sys::VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA
            } else {
                0
            };
            let vol = StorageVol::create_xml(&pool, &xml, flags)?;
            Ok(format!(
                "volume {} created in pool {pool_name}",
                vol_label(&vol, volume)
            ))
        }
        VolOp::Clone { source, xml } => {
            let src = pool.lookup_storage_vol_by_name(&source)?;
            let vol = StorageVol::create_xml_from(&pool, &xml, &src, 0)?;
            Ok(format!(
                "volume {} cloned from {source}",
                vol_label(&vol, volume)
            ))
        }
        VolOp::Resize { capacity } => {
            let vol = pool.lookup_storage_vol_by_name(volume)?;
            resize(&vol, volume, capacity)
        }
        VolOp::Wipe => {
            pool.lookup_storage_vol_by_name(volume)?.wipe(0)?;
            Ok(format!("volume {volume} wiped"))
        }
        VolOp::Delete => {
            pool.lookup_storage_vol_by_name(volume)?.delete(0)?;
            Ok(format!("volume {volume} deleted"))
        }
    }
}

/// The name libvirt gave the new volume (from its XML), else the one the command carried.
fn vol_label(vol: &StorageVol, asked: &str) -> String {
    vol.name().unwrap_or_else(|_| asked.to_string())
}

/// Grows only: libvirt can shrink with a flag, but the guest's filesystem would lose its end.
fn resize(vol: &StorageVol, name: &str, capacity: u64) -> Outcome {
    let current = vol.info()?.capacity;
    if capacity < current {
        return Err(Failure::refused(format!(
            "volume {name} is {} and cannot become {}: shrinking a volume destroys data in use \
             by guests; virtdeck only grows volumes",
            crate::fmt::bytes(current),
            crate::fmt::bytes(capacity)
        )));
    }
    if capacity == current {
        return Ok(format!(
            "volume {name} already has {}",
            crate::fmt::bytes(current)
        ));
    }
    vol.resize(capacity, 0)?;
    Ok(format!(
        "volume {name} grown to {}",
        crate::fmt::bytes(capacity)
    ))
}

fn set_secret_value(conn: &Connect, uuid: &str, value: &[u8]) -> Outcome {
    let secret = conn.lookup_secret_by_uuid_string(uuid)?;
    secret.set_value(value, 0)?;
    Ok(format!("value of secret {uuid} set"))
}

fn delete_secret(conn: &Connect, uuid: &str) -> Outcome {
    let secret = conn.lookup_secret_by_uuid_string(uuid)?;
    secret.undefine()?;
    Ok(format!("secret {uuid} deleted"))
}
