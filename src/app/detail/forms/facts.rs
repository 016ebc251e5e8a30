//! What a detail form checks against: the VM as it was when the form opened and its host's
//! names (networks, bridges, pools, other VMs), and the pool helpers the attach and clone
//! forms share. The host's pools may arrive after the form opened: `learn_pools` takes them.

use super::{of_mut, Wizard};
use crate::app::wizard::{self, Context};
use crate::app::App;
use crate::host::vm::VmDetails;
use crate::model::HostId;

/// What a form checks against: the VM and its host's names.
#[derive(Clone, Debug, PartialEq)]
pub struct Facts {
    pub details: VmDetails,
    pub networks: Vec<String>,
    pub bridges: Vec<String>,
    pub pools: Vec<String>,
    /// The host has answered with its pools (else `pools` is empty for want of an answer).
    pub pools_known: bool,
    /// Other VMs on the host (rename and clone must not reuse one).
    pub vm_names: Vec<String>,
    /// What the host can give a guest (the attach form's TPM), once it answered.
    pub caps: Option<Result<crate::xml::domcaps::GuestCaps, String>>,
    /// The host's devices for the attach form's host-device picker, once it answered.
    pub hostdevs: Option<Result<crate::model::hostdev::HostDevices, String>>,
    /// The host is this machine (backups are written to a local directory).
    pub local: bool,
    /// The backup form's defaults (config.toml).
    pub backup_dir: String,
    pub backup_keep: usize,
    /// The VM is a template: its clone form is "new VM from template", with cloud-init.
    pub template: bool,
}

/// The facts of `d` on `host` from what the app knows of the host.
pub(super) fn gather(app: &App, host: HostId, d: &VmDetails) -> Facts {
    // Only the host matters for the pools the context names.
    let ctx = wizard::host_context(app, host, None);
    let nets = app.host(host).and_then(|h| h.networks.as_ref());
    Facts {
        details: d.clone(),
        networks: nets
            .map(|n| n.networks.iter().map(|n| n.name.clone()).collect())
            .unwrap_or_default(),
        bridges: nets
            .map(|n| {
                n.ifaces
                    .iter()
                    .filter(|i| i.kind == "bridge")
                    .map(|i| i.name.clone())
                    .collect()
            })
            .unwrap_or_default(),
        pools: ctx.pools,
        pools_known: ctx.pools_known,
        caps: ctx.caps,
        hostdevs: ctx.hostdevs,
        local: ctx.local,
        backup_dir: app.settings.backup_dir.clone(),
        backup_keep: app.settings.backup_keep,
        template: crate::app::detail::shown_vm(app).is_some_and(|v| v.template),
        vm_names: app
            .host(host)
            .map(|h| {
                h.vms
                    .iter()
                    .filter(|v| v.uuid != d.uuid)
                    .map(|v| v.name.clone())
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// A pool the host has: `preferred` (the VM's own disk's), else "default", else the first.
/// Empty while the host's pools are not known: never a guess the host may not have.
pub(super) fn default_pool(facts: &Facts, preferred: Option<&str>) -> String {
    let has = |p: &str| facts.pools.iter().any(|x| x == p);
    preferred
        .filter(|p| has(p))
        .or_else(|| has("default").then_some("default"))
        .or(facts.pools.first().map(String::as_str))
        .unwrap_or_default()
        .to_string()
}

/// The pool of the VM's first disk that is a pool volume.
pub(super) fn disk_pool(d: &VmDetails) -> Option<&str> {
    d.hardware.disks.iter().find_map(|x| match &x.source {
        crate::xml::hardware::Source::Volume { pool, .. } => Some(pool.as_str()),
        _ => None,
    })
}

pub(super) fn pool_hint(facts: &Facts) -> String {
    if facts.pools_known {
        format!("pools: {}", list(&facts.pools))
    } else {
        "asking the host for its pools…".into()
    }
}

/// A pool field's check: the pool must be one the host has.
pub(super) fn pool_check(facts: &Facts, pool: &str) -> Result<(), String> {
    if !facts.pools_known {
        Err("waiting for the host's list of pools".into())
    } else if facts.pools.is_empty() {
        Err("the host has no active storage pool: define one in the pools pane (3)".into())
    } else if pool.is_empty() {
        Err("name a pool".into())
    } else if !facts.pools.iter().any(|p| p == pool) {
        Err(format!("no pool {pool} (pools: {})", list(&facts.pools)))
    } else {
        Ok(())
    }
}

/// The host's pools arrived after the form opened: take them, fill an empty pool field with
/// the default (what the user typed stays) and say which pools there are.
pub(super) fn learn_pools(w: &mut Wizard, ctx: &Context) {
    let Some(vf) = of_mut(w) else {
        return;
    };
    let facts = &mut vf.facts;
    // The host's capabilities (asked when the attach form opened) may come later too.
    if ctx.caps.is_some() {
        facts.caps = ctx.caps.clone();
    }
    if ctx.hostdevs.is_some() {
        facts.hostdevs = ctx.hostdevs.clone();
    }
    if !ctx.pools_known || (facts.pools_known && facts.pools == ctx.pools) {
        return;
    }
    facts.pools = ctx.pools.clone();
    facts.pools_known = true;
    let default = default_pool(facts, disk_pool(&facts.details));
    let hint = pool_hint(facts);
    if w.get("pool").is_empty() {
        w.set_text("pool", &default);
    }
    if let Some(f) = w.field_mut("pool") {
        f.hint = hint;
    }
}

/// Names for a hint ("-" for none).
pub(super) fn list(v: &[String]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.join(", ")
    }
}
