//! The storage panes: pools across hosts, one pool's volumes, one host's secrets. Actions go
//! to the host workers as tagged commands; destructive ones ask first, and deleting anything
//! that holds data or is in use asks the user to type its name.

use std::time::Duration;

pub mod download;
pub mod pool_wizard;
pub mod secret_wizard;
pub mod volume_wizard;
#[cfg(test)]
mod wizard_tests;

use super::jobs::JobKind;
use super::panes::PaneId;
use super::requests;
use super::toast::Level;
use super::wizard;
use super::{App, Effect, View};
use crate::config::keymap::Action;
use crate::host::{HostCommand, PoolOp, RequestId, StorageCmd, VolOp};
use crate::job::{Job, JobState};
use crate::model::storage::{Pool, Secret, StorageInventory, Volume};
use crate::model::HostId;
use secret_wizard::SecretForm;
use volume_wizard::VolumeForm;

/// How often an open storage pane re-reads the inventory.
pub const REFRESH_EVERY: Duration = Duration::from_secs(5);

/// Cursor positions and running transfers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StorageUi {
    pub pool_sel: usize,
    pub vol_sel: usize,
    pub secret_sel: usize,
    pub last_refresh: Option<std::time::Instant>,
}

/// The uploads and downloads the volumes pane of `host` shows: running ones, and finished ones
/// until the next transfer starts (the jobs pane keeps them all).
pub fn transfers(app: &App, host: HostId) -> Vec<&Job> {
    const KINDS: &[JobKind] = &[JobKind::Upload, JobKind::Download];
    let latest = app.jobs.of(KINDS).last().map(|j| (j.id, j.started));
    app.jobs
        .of(KINDS)
        .filter(|j| j.host == host)
        .filter(|j| {
            j.job.state() == JobState::Running
                || latest.is_some_and(|(id, started)| {
                    j.id == id || j.finished.is_some_and(|f| f >= started)
                })
        })
        .map(|j| &j.job)
        .collect()
}

/// Every pool of every host that reported storage, in host order then by name.
/// Narrowed by `:pools @HOST /TEXT`.
pub fn pool_rows(app: &App) -> Vec<(HostId, &Pool)> {
    all_pools(app)
        .into_iter()
        .filter(|(h, p)| super::panes::keeps(app, PaneId::Pools, *h, &p.name))
        .collect()
}

/// Every pool of every host, whatever the pools pane is narrowed to (the palette's `:vols`).
pub fn all_pools(app: &App) -> Vec<(HostId, &Pool)> {
    app.hosts
        .iter()
        .filter_map(|h| h.storage.as_ref().map(|s| (h.id, s)))
        .flat_map(|(id, s)| s.pools.iter().map(move |p| (id, p)))
        .collect()
}

pub fn inventory(app: &App, host: HostId) -> Option<&StorageInventory> {
    app.host(host)?.storage.as_ref()
}

pub fn pool<'a>(app: &'a App, host: HostId, name: &str) -> Option<&'a Pool> {
    inventory(app, host)?.pools.iter().find(|p| p.name == name)
}

pub fn selected_pool(app: &App) -> Option<(HostId, &Pool)> {
    let rows = pool_rows(app);
    let i = app.storage.pool_sel.min(rows.len().checked_sub(1)?);
    rows.get(i).copied()
}

/// A pool's volumes as the volumes pane lists them (narrowed by `:vols POOL /TEXT`).
pub fn volume_rows<'a>(app: &App, p: &'a Pool) -> Vec<&'a Volume> {
    let scope = app.scopes.get(PaneId::Volumes);
    p.volumes
        .iter()
        .filter(|v| scope.is_none_or(|s| s.filter.name_matches(&v.name, "")))
        .collect()
}

pub fn selected_volume(app: &App) -> Option<(HostId, &Pool, &Volume)> {
    let View::Volumes { host, pool: name } = &app.view else {
        return None;
    };
    let p = pool(app, *host, name)?;
    let rows = volume_rows(app, p);
    let i = app.storage.vol_sel.min(rows.len().checked_sub(1)?);
    Some((*host, p, rows.get(i)?))
}

pub fn selected_secret(app: &App) -> Option<(HostId, &Secret)> {
    let View::Secrets { host } = &app.view else {
        return None;
    };
    let s = &inventory(app, *host)?.secrets;
    let i = app.storage.secret_sel.min(s.len().checked_sub(1)?);
    Some((*host, s.get(i)?))
}

/// Asks every connected host for its storage now.
pub fn refresh_all(app: &mut App) -> Vec<Effect> {
    app.storage.last_refresh = Some(app.now);
    requests::reachable(app)
        .into_iter()
        .map(|h| Effect::Host(h, HostCommand::Storage(StorageCmd::Refresh)))
        .collect()
}

/// Called on every tick: an open storage pane stays current.
pub fn tick(app: &mut App) -> Vec<Effect> {
    let open = matches!(
        app.view,
        View::Pane(PaneId::Pools) | View::Volumes { .. } | View::Secrets { .. }
    );
    let due = app
        .storage
        .last_refresh
        .is_none_or(|t| app.now.saturating_duration_since(t) >= REFRESH_EVERY);
    if open && due {
        refresh_all(app)
    } else {
        Vec::new()
    }
}

pub fn open_volumes(app: &mut App, host: HostId, pool: String) -> Vec<Effect> {
    app.storage.vol_sel = 0;
    app.view = View::Volumes { host, pool };
    refresh_all(app)
}

pub fn open_secrets(app: &mut App, host: HostId) -> Vec<Effect> {
    app.storage.secret_sel = 0;
    app.view = View::Secrets { host };
    refresh_all(app)
}

/// A storage action that asks first.
#[allow(clippy::too_many_arguments)]
fn confirm(
    app: &mut App,
    title: String,
    body: Vec<String>,
    typed: Option<String>,
    host: HostId,
    what: String,
    cmd: impl FnOnce(RequestId) -> StorageCmd,
) {
    requests::confirm(app, title, body, typed, host, what, |id| {
        HostCommand::Storage(cmd(id))
    });
}

fn pool_cmd(app: &mut App, host: HostId, pool: &str, op: PoolOp, what: &str) -> Vec<Effect> {
    let pool = pool.to_string();
    requests::send(app, host, format!("{what} pool {pool}"), |id| {
        HostCommand::Storage(StorageCmd::Pool { id, pool, op })
    })
}

/// Keys on the pools pane.
pub fn pools_key(app: &mut App, action: Action) -> Vec<Effect> {
    let n = pool_rows(app).len();
    if let Some(i) = requests::step(app.storage.pool_sel, n, action, 10) {
        app.storage.pool_sel = i;
        return Vec::new();
    }
    if action == Action::NewItem {
        return open_pool_wizard(app);
    }
    let Some((host, p)) = selected_pool(app) else {
        return Vec::new();
    };
    let (name, active, autostart, nvols, kind) = (
        p.name.clone(),
        p.state.is_active(),
        p.autostart,
        p.volumes.len(),
        p.kind.clone(),
    );
    match action {
        Action::Open => return open_volumes(app, host, name),
        Action::Secrets => return open_secrets(app, host),
        Action::Start if active => note(app, format!("pool {name} is already running")),
        Action::Start => return pool_cmd(app, host, &name, PoolOp::Start, "start"),
        Action::Shutdown if !active => note(app, format!("pool {name} is not running")),
        Action::Shutdown => {
            let users = users_of(app, host, &name);
            let mut body = vec![format!(
                "Stop pool {name}? Its data stays; its volumes become unavailable."
            )];
            if !users.is_empty() {
                body.push(format!("Used by: {}", users.join(", ")));
            }
            confirm(
                app,
                "Stop pool".into(),
                body,
                None,
                host,
                format!("stop pool {name}"),
                |id| StorageCmd::Pool {
                    id,
                    pool: name,
                    op: PoolOp::Stop,
                },
            );
        }
        Action::RefreshItem if !active => {
            note(app, format!("pool {name} is not running: start it first"))
        }
        Action::RefreshItem => return pool_cmd(app, host, &name, PoolOp::Refresh, "refresh"),
        Action::Build => confirm(
            app,
            "Build pool".into(),
            vec![
                format!("Build pool {name} ({kind})?"),
                build_effect(&kind).to_string(),
            ],
            None,
            host,
            format!("build pool {name}"),
            |id| StorageCmd::Pool {
                id,
                pool: name,
                op: PoolOp::Build,
            },
        ),
        Action::ToggleAutostart => {
            return pool_cmd(
                app,
                host,
                &name,
                PoolOp::SetAutostart(!autostart),
                if autostart {
                    "disable autostart of"
                } else {
                    "enable autostart of"
                },
            )
        }
        Action::Undefine => confirm(
            app,
            "Undefine pool".into(),
            vec![
                format!("Remove the definition of pool {name}?"),
                "The data stays on disk; only libvirt forgets the pool.".into(),
            ],
            None,
            host,
            format!("undefine pool {name}"),
            |id| StorageCmd::Pool {
                id,
                pool: name,
                op: PoolOp::Undefine,
            },
        ),
        // `W`: pool-delete wipes the pool's storage (`D` only undefines it).
        Action::Wipe if active => note(
            app,
            format!("pool {name} is running: stop it before deleting its storage"),
        ),
        Action::Wipe => {
            let mut body = vec![
                format!("Delete the storage of pool {name} ({kind})?"),
                delete_effect(&kind).to_string(),
            ];
            // Volumes are only listed while the pool runs: an inactive pool's may be unknown.
            let typed = if nvols > 0 || kind != "dir" {
                body.push(format!("Type the pool's name ({name}) to confirm."));
                Some(name.clone())
            } else {
                None
            };
            confirm(
                app,
                "Delete pool storage".into(),
                body,
                typed,
                host,
                format!("delete pool {name}"),
                |id| StorageCmd::Pool {
                    id,
                    pool: name,
                    op: PoolOp::Delete,
                },
            );
        }
        _ => {}
    }
    Vec::new()
}

fn note(app: &mut App, text: String) {
    app.messages.push(Level::Info, text, app.now);
}

fn build_effect(kind: &str) -> &'static str {
    match kind {
        "dir" => "Creates the target directory.",
        "fs" | "netfs" => {
            "Creates the mount point (fs: formats the device only when it has no filesystem)."
        }
        "logical" => "Creates the volume group on the source devices: their data is lost.",
        "disk" => "Writes a new partition table on the device: its data is lost.",
        _ => "Prepares the pool's storage as libvirt does for this type.",
    }
}

fn delete_effect(kind: &str) -> &'static str {
    match kind {
        "dir" => "Removes the (empty) target directory.",
        "logical" => "Removes the volume group and every logical volume in it.",
        "disk" => "Removes the partition table's pool data.",
        _ => "Removes the pool's underlying storage where libvirt can.",
    }
}

/// Names of the VMs using any volume of a pool.
fn users_of(app: &App, host: HostId, pool_name: &str) -> Vec<String> {
    let mut v: Vec<String> = pool(app, host, pool_name)
        .map(|p| {
            p.volumes
                .iter()
                .flat_map(|v| v.used_by.iter().cloned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v.dedup();
    v
}

/// Keys on a pool's volumes pane.
pub fn volumes_key(app: &mut App, action: Action) -> Vec<Effect> {
    let View::Volumes { host, pool: pname } = app.view.clone() else {
        return Vec::new();
    };
    let n = pool(app, host, &pname)
        .map(|p| volume_rows(app, p).len())
        .unwrap_or(0);
    if let Some(i) = requests::step(app.storage.vol_sel, n, action, 10) {
        app.storage.vol_sel = i;
        return Vec::new();
    }
    match action {
        Action::Back => {
            app.view = View::Pane(PaneId::Pools);
            return Vec::new();
        }
        Action::CancelJob => {
            if let Some(job) = transfers(app, host)
                .into_iter()
                .rev()
                .find(|j| j.state() == JobState::Running)
            {
                job.cancel();
            }
            return Vec::new();
        }
        Action::NewItem => {
            return open_volume_wizard(app, host, VolumeForm::New { pool: pname });
        }
        _ => {}
    }
    let Some((_, _, v)) = selected_volume(app) else {
        return Vec::new();
    };
    let (vname, capacity, users) = (v.name.clone(), v.capacity, v.used_by.clone());
    let vol_cmd = |op: VolOp, pool: String, volume: String| {
        move |id| StorageCmd::Volume {
            id,
            pool,
            volume,
            op,
        }
    };
    match action {
        Action::CloneItem => {
            return open_volume_wizard(
                app,
                host,
                VolumeForm::Clone {
                    pool: pname,
                    source: vname,
                },
            )
        }
        Action::Resize => {
            return open_volume_wizard(
                app,
                host,
                VolumeForm::Resize {
                    pool: pname,
                    volume: vname,
                    capacity,
                },
            )
        }
        Action::Upload => {
            return open_volume_wizard(
                app,
                host,
                VolumeForm::Upload {
                    pool: pname,
                    volume: vname,
                    capacity,
                },
            )
        }
        Action::Download => {
            return open_volume_wizard(
                app,
                host,
                VolumeForm::Download {
                    pool: pname,
                    volume: vname,
                },
            )
        }
        Action::Wipe => {
            let mut body = vec![format!(
                "Overwrite every byte of {vname} with zeros? Its data is lost."
            )];
            if !users.is_empty() {
                body.push(format!("Used by: {}", users.join(", ")));
            }
            let typed = (!users.is_empty()).then(|| vname.clone());
            if typed.is_some() {
                body.push(format!("Type the volume's name ({vname}) to confirm."));
            }
            confirm(
                app,
                "Wipe volume".into(),
                body,
                typed,
                host,
                format!("wipe {vname}"),
                vol_cmd(VolOp::Wipe, pname, vname.clone()),
            );
        }
        Action::Delete => {
            let mut body = vec![format!(
                "Delete volume {vname} from pool {pname}? Its data is lost."
            )];
            let typed = if users.is_empty() {
                None
            } else {
                body.push(format!(
                    "⚠ It is a disk of: {}. Those VMs will fail to start.",
                    users.join(", ")
                ));
                body.push(format!(
                    "Type the volume's name ({vname}) to delete it anyway."
                ));
                Some(vname.clone())
            };
            confirm(
                app,
                "Delete volume".into(),
                body,
                typed,
                host,
                format!("delete {vname}"),
                vol_cmd(VolOp::Delete, pname, vname.clone()),
            );
        }
        _ => {}
    }
    Vec::new()
}

/// Keys on a host's secrets pane.
pub fn secrets_key(app: &mut App, action: Action) -> Vec<Effect> {
    let View::Secrets { host } = app.view.clone() else {
        return Vec::new();
    };
    let n = inventory(app, host).map(|s| s.secrets.len()).unwrap_or(0);
    if let Some(i) = requests::step(app.storage.secret_sel, n, action, 10) {
        app.storage.secret_sel = i;
        return Vec::new();
    }
    if action == Action::Back {
        app.view = View::Pane(PaneId::Pools);
        return Vec::new();
    }
    if action == Action::NewItem {
        return wizard::open(app, secret_wizard::new(host, SecretForm::New));
    }
    let Some((_, s)) = selected_secret(app) else {
        return Vec::new();
    };
    let (uuid, label) = (s.uuid.clone(), secret_label(s));
    match action {
        Action::SetValue => {
            return wizard::open(app, secret_wizard::new(host, SecretForm::Value { uuid }))
        }
        Action::Delete => confirm(
            app,
            "Delete secret".into(),
            vec![
                format!("Delete secret {label}?"),
                "Pools that authenticate with it (rbd, iscsi) stop working.".into(),
            ],
            None,
            host,
            format!("delete secret {label}"),
            |id| StorageCmd::DeleteSecret { id, uuid },
        ),
        _ => {}
    }
    Vec::new()
}

pub fn secret_label(s: &Secret) -> String {
    if s.usage_id.is_empty() {
        s.uuid.clone()
    } else {
        format!("{} {}", s.usage, s.usage_id)
    }
}

fn open_volume_wizard(app: &mut App, host: HostId, form: VolumeForm) -> Vec<Effect> {
    let ctx = wizard::context(app, host, &form);
    let w = volume_wizard::new(host, form, &ctx);
    wizard::open(app, w)
}

fn open_pool_wizard(app: &mut App) -> Vec<Effect> {
    let Some(host) = requests::target_host(app, selected_pool(app).map(|(h, _)| h)) else {
        note(app, "no connected host to define a pool on".into());
        return Vec::new();
    };
    wizard::open(app, pool_wizard::new(host))
}

pub struct PoolsPane;

impl super::panes::Pane for PoolsPane {
    fn opened(&self, app: &mut App) -> Vec<Effect> {
        refresh_all(app)
    }

    fn on_action(&self, app: &mut App, action: Action) -> Vec<Effect> {
        match action {
            Action::CyclePane | Action::CyclePaneBack => pools_key(app, Action::Open),
            a => pools_key(app, a),
        }
    }

    fn position(&self, app: &App) -> String {
        super::panes::position(app.storage.pool_sel, pool_rows(app).len(), "pools")
    }

    fn cursor(&self, app: &App) -> Option<(usize, usize)> {
        Some((app.storage.pool_sel, pool_rows(app).len()))
    }

    fn select(&self, app: &mut App, i: usize) -> Vec<Effect> {
        app.storage.pool_sel = i;
        Vec::new()
    }

    fn hints(&self, _app: &App) -> &'static [(Action, &'static str)] {
        &[
            (Action::Help, "help"),
            (Action::Open, "volumes"),
            (Action::NewItem, "new"),
            (Action::Start, "start"),
            (Action::Shutdown, "stop"),
            (Action::ToggleAutostart, "autostart"),
            (Action::Undefine, "undefine"),
            (Action::Secrets, "secrets"),
            (Action::Quit, "quit"),
        ]
    }

    /// One tick for the three storage panes.
    fn tick(&self, app: &mut App) -> Vec<Effect> {
        tick(app)
    }
}

pub struct VolumesPane;

impl super::panes::Pane for VolumesPane {
    fn on_action(&self, app: &mut App, action: Action) -> Vec<Effect> {
        match action {
            Action::CyclePane | Action::CyclePaneBack => super::panes::show(app, PaneId::Pools),
            a => volumes_key(app, a),
        }
    }

    fn position(&self, app: &App) -> String {
        let n = self.cursor(app).map_or(0, |(_, n)| n);
        super::panes::position(app.storage.vol_sel, n, "volumes")
    }

    fn cursor(&self, app: &App) -> Option<(usize, usize)> {
        let View::Volumes { host, pool: name } = &app.view else {
            return None;
        };
        let n = pool(app, *host, name).map_or(0, |p| volume_rows(app, p).len());
        Some((app.storage.vol_sel, n))
    }

    fn select(&self, app: &mut App, i: usize) -> Vec<Effect> {
        app.storage.vol_sel = i;
        Vec::new()
    }

    fn hints(&self, _app: &App) -> &'static [(Action, &'static str)] {
        &[
            (Action::Help, "help"),
            (Action::Back, "pools"),
            (Action::NewItem, "new"),
            (Action::CloneItem, "clone"),
            (Action::Resize, "grow"),
            (Action::Upload, "upload"),
            (Action::Download, "download"),
            (Action::Wipe, "wipe"),
            (Action::Delete, "delete"),
            (Action::CancelJob, "cancel transfer"),
        ]
    }
}

pub struct SecretsPane;

impl super::panes::Pane for SecretsPane {
    fn on_action(&self, app: &mut App, action: Action) -> Vec<Effect> {
        match action {
            Action::CyclePane | Action::CyclePaneBack => super::panes::show(app, PaneId::Pools),
            a => secrets_key(app, a),
        }
    }

    fn position(&self, app: &App) -> String {
        let n = self.cursor(app).map_or(0, |(_, n)| n);
        super::panes::position(app.storage.secret_sel, n, "secrets")
    }

    fn cursor(&self, app: &App) -> Option<(usize, usize)> {
        let View::Secrets { host } = &app.view else {
            return None;
        };
        let n = inventory(app, *host).map_or(0, |s| s.secrets.len());
        Some((app.storage.secret_sel, n))
    }

    fn select(&self, app: &mut App, i: usize) -> Vec<Effect> {
        app.storage.secret_sel = i;
        Vec::new()
    }

    fn hints(&self, _app: &App) -> &'static [(Action, &'static str)] {
        &[
            (Action::Help, "help"),
            (Action::Back, "pools"),
            (Action::NewItem, "new"),
            (Action::SetValue, "set value"),
            (Action::Delete, "delete"),
        ]
    }
}
