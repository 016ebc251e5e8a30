//! The migrate wizard (target and mode, tuning, pre-flight checks) and the small form that
//! changes a running migration's speed and downtime. The fields map onto
//! `model::migration::MigrationOptions`, whose `validate` catches what libvirt would refuse.

use crate::app::wizard::{check, Context, Field, Input, Spec, Wizard};
use crate::app::{App, Effect};
use crate::model::migration::{Compression, CopyStorage, MigrationId, MigrationOptions, PostCopy};
use crate::model::HostId;

const MODES: &[&str] = &["live", "suspended", "offline"];
const COPY: &[&str] = &["no (shared storage)", "all disks", "incremental"];
const COMPRESSION: &[&str] = &["none", "xbzrle", "mt", "xbzrle + mt"];
const POST_COPY: &[&str] = &[
    "off",
    "allowed (P in the migrations pane)",
    "after the first pass",
];
const ON_FAIL: &[&str] = &["block", "migrate anyway"];

/// VMs of the wizard's host (uuid, name) to one of `targets` (the other connected hosts).
#[derive(Clone, Debug, PartialEq)]
pub struct MigrateForm {
    pub vms: Vec<(String, String)>,
    pub targets: Vec<(HostId, String)>,
}

impl Spec for MigrateForm {
    fn verb(&self) -> &'static str {
        "migrate"
    }

    fn refresh(&self, w: &mut Wizard, _: &Context) {
        refresh(w)
    }

    fn submit(&self, app: &mut App) -> Vec<Effect> {
        super::submit(app)
    }

    fn on_last_page(&self, app: &mut App) -> Vec<Effect> {
        super::preflight(app)
    }

    fn needs_host(&self) -> bool {
        false
    }
}

/// Speed and downtime of running migration `id` (its source is the wizard's host).
#[derive(Clone, Debug, PartialEq)]
pub struct TuneForm {
    pub id: MigrationId,
}

impl Spec for TuneForm {
    fn verb(&self) -> &'static str {
        "apply"
    }

    fn refresh(&self, w: &mut Wizard, _: &Context) {
        refresh(w)
    }

    fn submit(&self, app: &mut App) -> Vec<Effect> {
        super::submit_tune(app)
    }

    fn needs_host(&self) -> bool {
        false
    }
}

pub fn new(host: HostId, form: MigrateForm, any_running: bool) -> Wizard {
    let MigrateForm { vms, targets } = &form;
    let title = match vms.as_slice() {
        [(_, name)] => format!("Migrate {name}"),
        more => format!("Migrate {} VMs", more.len()),
    };
    let names: Vec<&str> = targets.iter().map(|(_, n)| n.as_str()).collect();
    let mut mode = Field::choice("mode", "Mode", 0, MODES).hint(
        "live: the guest keeps running; suspended: paused while copying; offline: only the \
         definition (stopped VMs)",
    );
    if !any_running {
        if let Input::Choice { selected, .. } = &mut mode.input {
            *selected = 2;
        }
    }
    let defaults = MigrationOptions::default();
    Wizard::new(
        title,
        host,
        form.clone(),
        vec!["Target", "Tuning", "Checks"],
        vec![
            Field::choice("target", "Target host", 0, &names),
            mode,
            Field::toggle("p2p", "Peer-to-peer", 0, defaults.peer_to_peer)
                .hint("the source daemon connects to the target itself"),
            Field::toggle("tunnelled", "Tunnelled", 0, defaults.tunnelled)
                .hint("data through the libvirtd connection (needs peer-to-peer)"),
            copy_field(0),
            Field::toggle("persist", "Persist on target", 0, defaults.persist),
            Field::toggle(
                "undefine",
                "Undefine on source",
                0,
                defaults.undefine_source,
            ),
            unsafe_field(0),
            bandwidth_field(1),
            downtime_field(1),
            Field::choice("compression", "Compression", 1, COMPRESSION),
            Field::toggle("autoconverge", "Auto-converge", 1, defaults.auto_converge)
                .hint("slow the guest's vCPUs when it dirties memory faster than the link"),
            Field::choice("postcopy", "Post-copy", 1, POST_COPY),
            Field::choice("onfail", "If checks fail", 1, ON_FAIL),
        ],
    )
}

/// The options a batch (host evacuation) offers too: the same fields, so the same parsing
/// in [`options`] and the same checks in [`refresh`].
pub fn copy_field(page: usize) -> Field {
    Field::choice("copy", "Copy storage", page, COPY)
        .hint("copy disks the target cannot see (slow: whole images over the network)")
}

pub fn unsafe_field(page: usize) -> Field {
    Field::toggle(
        "unsafe",
        "Allow unsafe",
        page,
        MigrationOptions::default().allow_unsafe,
    )
    .hint(
        "the disks are shared in a way libvirt cannot tell (same path on both hosts, cluster \
         filesystem); corrupts data if they are not",
    )
}

pub fn bandwidth_field(page: usize) -> Field {
    Field::text("bandwidth", "Bandwidth MiB/s", page, "").hint("empty: unlimited")
}

pub fn downtime_field(page: usize) -> Field {
    Field::text("downtime", "Max downtime ms", page, "")
        .hint("longest pause at switch-over; empty: the hypervisor's default (300 ms)")
}

/// The chosen target host.
pub fn target(w: &Wizard) -> Option<HostId> {
    let MigrateForm { targets, .. } = w.spec_as()?;
    let name = w.get("target");
    targets.iter().find(|(_, n)| *n == name).map(|(id, _)| *id)
}

pub fn override_failures(w: &Wizard) -> bool {
    w.get("onfail") == ON_FAIL[1]
}

/// A whole number field; empty is `None`.
pub(super) fn number(w: &Wizard, key: &str, what: &str) -> Result<Option<u64>, String> {
    let v = w.get(key);
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<u64>()
        .map(Some)
        .map_err(|_| format!("{what}: a whole number, e.g. 100"))
}

/// A toggle's value, or the default when this wizard has no such field.
fn toggle_or(w: &Wizard, key: &str, default: bool) -> bool {
    if w.field(key).is_some() {
        w.on(key)
    } else {
        default
    }
}

/// The options as the fields say (a field the wizard lacks keeps its default); the error
/// names what is wrong.
pub fn options(w: &Wizard) -> Result<MigrationOptions, String> {
    let d = MigrationOptions::default();
    use crate::model::migration::MigrationKind as Mode;
    let kind = match w.get("mode").as_str() {
        "suspended" => Mode::Suspended,
        "offline" => Mode::Offline,
        _ => Mode::Live,
    };
    let copy_storage = match COPY.iter().position(|c| *c == w.get("copy")) {
        Some(1) => CopyStorage::All,
        Some(2) => CopyStorage::Incremental,
        _ => CopyStorage::None,
    };
    let compression = match w.get("compression").as_str() {
        "xbzrle" => vec![Compression::Xbzrle],
        "mt" => vec![Compression::Mt],
        "xbzrle + mt" => vec![Compression::Xbzrle, Compression::Mt],
        _ => Vec::new(),
    };
    let post_copy = match POST_COPY.iter().position(|c| *c == w.get("postcopy")) {
        Some(1) => PostCopy::Manual,
        Some(2) => PostCopy::AfterFirstPass,
        _ => PostCopy::Off,
    };
    let o = MigrationOptions {
        kind,
        peer_to_peer: toggle_or(w, "p2p", d.peer_to_peer),
        tunnelled: toggle_or(w, "tunnelled", d.tunnelled),
        copy_storage,
        persist: toggle_or(w, "persist", d.persist),
        undefine_source: toggle_or(w, "undefine", d.undefine_source),
        bandwidth_mib_s: number(w, "bandwidth", "bandwidth")?.filter(|b| *b > 0),
        max_downtime_ms: number(w, "downtime", "downtime")?,
        compression,
        auto_converge: toggle_or(w, "autoconverge", d.auto_converge),
        post_copy,
        allow_unsafe: toggle_or(w, "unsafe", d.allow_unsafe),
    };
    o.validate().map_err(|e| e.to_string())?;
    Ok(o)
}

pub fn refresh(w: &mut Wizard) {
    if w.spec_as::<TuneForm>().is_some() {
        check(
            w,
            "bandwidth",
            number(w, "bandwidth", "max speed").map(|_| ()),
        );
        let downtime = match number(w, "downtime", "max downtime") {
            Ok(Some(0)) => Err("at least 1 ms".to_string()),
            r => r.map(|_| ()),
        };
        check(w, "downtime", downtime);
        return;
    }
    check(
        w,
        "bandwidth",
        number(w, "bandwidth", "bandwidth").map(|_| ()),
    );
    check(w, "downtime", number(w, "downtime", "downtime").map(|_| ()));
    // A combination libvirt refuses shows on the first field of the first page (mode in
    // this wizard), so Next stops there; the number errors above come first.
    let combo = match (number(w, "bandwidth", ""), number(w, "downtime", "")) {
        (Ok(_), Ok(_)) => options(w).map(|_| ()),
        _ => Ok(()),
    };
    let first = if w.field("mode").is_some() {
        "mode"
    } else {
        "copy"
    };
    check(w, first, combo);
    // The checks page shows the pre-flight round (app::migrations), not a document.
    w.review = Some(Ok(String::new()));
}

/// The form for a running migration: new max speed and max downtime.
pub fn tune(host: HostId, form: TuneForm, current: &MigrationOptions) -> Wizard {
    let speed = current
        .bandwidth_mib_s
        .map(|b| b.to_string())
        .unwrap_or_default();
    let downtime = current
        .max_downtime_ms
        .map(|d| d.to_string())
        .unwrap_or_default();
    Wizard::new(
        "Tune the running migration",
        host,
        form,
        vec!["Limits"],
        vec![
            Field::text("bandwidth", "Max speed MiB/s", 0, &speed).hint("empty or 0: unlimited"),
            Field::text("downtime", "Max downtime ms", 0, &downtime).hint("empty: leave as it is"),
        ],
    )
}

/// (MiB/s with 0 for unlimited, downtime ms if given) from the tune form.
pub fn tune_values(w: &Wizard) -> Result<(u64, Option<u64>), String> {
    let speed = number(w, "bandwidth", "max speed")?.unwrap_or(0);
    let downtime = number(w, "downtime", "max downtime")?;
    if downtime == Some(0) {
        return Err("max downtime: at least 1 ms".into());
    }
    Ok((speed, downtime))
}
