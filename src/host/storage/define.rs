//! Defining pools and secrets from the wizard. A pool definition runs several steps (secret,
//! define, build, start, autostart); when one fails, what the earlier ones created is removed
//! again in reverse order, so a failed wizard leaves the host as it was.

use std::collections::HashSet;

use virt::connect::Connect;
use virt::error::Error;
use virt::secret::Secret;
use virt::storage_pool::StoragePool;

use super::{message, Failure, Outcome};
use crate::xml::pool::PoolKind;

#[derive(Clone, Copy, Debug)]
pub(super) struct Steps {
    pub build: bool,
    pub start: bool,
    pub autostart: bool,
}

/// What to do to take one finished step back, latest first.
enum Undo {
    UndefineSecret(Secret),
    UndefinePool(StoragePool, String),
    /// Remove what `build` created (a logical pool's VG).
    DeleteStorage(StoragePool, String),
    Stop(StoragePool, String),
}

pub(super) fn define_pool(
    conn: &Connect,
    xml: &str,
    secret: Option<(String, Vec<u8>)>,
    steps: Steps,
) -> Outcome {
    let mut undo = Vec::new();
    match define_steps(conn, xml, secret, steps, &mut undo) {
        Ok(text) => Ok(text),
        Err(e) => {
            let left = rollback(undo);
            let note = if left.is_empty() {
                "nothing was left defined".to_string()
            } else {
                format!("cleanup incomplete: {}", left.join("; "))
            };
            Err(Failure {
                text: format!("{} ({note})", message(&e)),
                error: Some(e),
            })
        }
    }
}

fn define_steps(
    conn: &Connect,
    xml: &str,
    secret: Option<(String, Vec<u8>)>,
    steps: Steps,
    undo: &mut Vec<Undo>,
) -> Result<String, Error> {
    if let Some((secret_xml, value)) = secret {
        let s = new_secret(conn, &secret_xml, undo)?;
        s.set_value(&value, 0)?;
    }
    // A definition with the UUID of an existing pool replaces that pool's definition instead
    // of failing: such a pool is not ours to remove when a later step fails.
    let existing = pool_names(conn)?;
    let pool = conn.define_storage_pool_xml(xml, 0)?;
    let name = pool.name()?;
    let ours = !existing.contains(&name);
    let mut done = vec!["defined"];
    if ours {
        undo.push(Undo::UndefinePool(pool.clone(), name.clone()));
    }
    if steps.build {
        pool.build(0)?;
        if ours && build_undoable(xml) {
            undo.push(Undo::DeleteStorage(pool.clone(), name.clone()));
        }
        done.push("built");
    }
    if steps.start {
        pool.create(0)?;
        if ours {
            undo.push(Undo::Stop(pool.clone(), name.clone()));
        }
        done.push("started");
    }
    if steps.autostart {
        // Undefining removes the autostart link too: no undo step of its own.
        pool.set_autostart(true)?;
        done.push("set to autostart");
    }
    Ok(format!("pool {name} {}", join_steps(&done)))
}

/// Whether `virStoragePoolDelete` takes back exactly what `build` made. For a logical pool it
/// does: build (flags 0) refuses a device already in use and creates the VG, delete removes the
/// VG and PV. For dir, fs and netfs pools, delete only removes the target directory, which may
/// well have existed (with images in it) before the wizard ran: leave it alone.
fn build_undoable(xml: &str) -> bool {
    crate::xml::pool::parse(xml).is_ok_and(|def| def.kind == PoolKind::Logical)
}

/// "defined", "defined and started", "defined, built and started".
fn join_steps(done: &[&str]) -> String {
    match done {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn pool_names(conn: &Connect) -> Result<HashSet<String>, Error> {
    Ok(conn
        .list_all_storage_pools(0)?
        .iter()
        .filter_map(|p| p.name().ok())
        .collect())
}

fn secret_uuids(conn: &Connect) -> Result<HashSet<String>, Error> {
    Ok(conn
        .list_all_secrets(0)?
        .iter()
        .filter_map(|s| s.uuid_string().ok())
        .collect())
}

/// Defines a secret and records its undo, unless the XML redefined an existing secret (same
/// UUID), which must survive a rollback.
fn new_secret(conn: &Connect, xml: &str, undo: &mut Vec<Undo>) -> Result<Secret, Error> {
    let existing = secret_uuids(conn)?;
    let s = conn.define_secret_xml(xml, 0)?;
    if !existing.contains(&s.uuid_string()?) {
        undo.push(Undo::UndefineSecret(s.clone()));
    }
    Ok(s)
}

/// Takes the steps back, latest first; returns what could not be undone.
fn rollback(undo: Vec<Undo>) -> Vec<String> {
    let mut left = Vec::new();
    for step in undo.into_iter().rev() {
        let (result, what) = match &step {
            Undo::Stop(p, name) => (p.destroy(), format!("pool {name} is still running")),
            Undo::DeleteStorage(p, name) => (
                p.delete(0),
                format!("the storage built for pool {name} was left in place"),
            ),
            Undo::UndefinePool(p, name) => (p.undefine(), format!("pool {name} is still defined")),
            Undo::UndefineSecret(s) => (
                s.undefine(),
                format!(
                    "secret {} is still defined",
                    s.uuid_string().unwrap_or_default()
                ),
            ),
        };
        if let Err(e) = result {
            left.push(format!("{what}: {}", message(&e)));
        }
    }
    left
}

/// Defines a secret and sets its value; a value that cannot be set removes the new secret again.
pub(super) fn define_secret(conn: &Connect, xml: &str, value: Option<&[u8]>) -> Outcome {
    let mut undo = Vec::new();
    let secret = new_secret(conn, xml, &mut undo)?;
    let label = secret_label(&secret);
    if let Some(value) = value {
        if let Err(e) = secret.set_value(value, 0) {
            let left = rollback(undo);
            let note = if left.is_empty() {
                "the secret was removed again".to_string()
            } else {
                left.join("; ")
            };
            return Err(Failure {
                text: format!("{} ({note})", message(&e)),
                error: Some(e),
            });
        }
        return Ok(format!("secret {label} defined with its value"));
    }
    Ok(format!("secret {label} defined"))
}

/// The usage id (ceph client name, iSCSI target, volume path) says more than the UUID. Read
/// from the XML: `Secret::usage_id` in virt 0.5 frees libvirt's constant string (double free).
fn secret_label(s: &Secret) -> String {
    s.xml_desc(0)
        .ok()
        .and_then(|xml| crate::xml::secret::parse(&xml).ok())
        .map(|def| def.usage_id)
        .filter(|u| !u.is_empty())
        .or_else(|| s.uuid_string().ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_as_a_sentence() {
        assert_eq!(join_steps(&["defined"]), "defined");
        assert_eq!(join_steps(&["defined", "started"]), "defined and started");
        assert_eq!(
            join_steps(&["defined", "built", "started", "set to autostart"]),
            "defined, built, started and set to autostart"
        );
    }
}
