//! The new-pool wizard: every pool type of libvirt's storage chapter (dir, fs, netfs, logical,
//! iscsi, rbd, gluster, disk). Fields are checked with `xml::pool::validate` as the user types;
//! rbd and iscsi CHAP keys become a libvirt secret created with the pool (and removed again if
//! the pool cannot be defined). `C-f` asks the host for sources (netfs, logical, iscsi).

use crate::app::toast::Level;
use crate::app::wizard::{self, check, Context, Field, Input, Spec, Wizard};
use crate::app::{App, Effect, Mode};
use crate::config::keymap::Action;
use crate::host::{HostCommand, StorageCmd};
use crate::model::storage::PoolSource;
use crate::model::HostId;
use crate::names::{self, NameKind};
use crate::xml::pool::{field as key, validate, PoolDef, PoolHost, SecretRef};
use crate::xml::secret::SecretDef;

const TYPES: &[&str] = &[
    "dir", "fs", "netfs", "logical", "iscsi", "rbd", "gluster", "disk",
];
const SECRET: &str = "secret";
const FOUND: &str = "found";

/// The new-pool wizard as the generic wizard carries it: the sources the host found (`C-f`),
/// and which one was last copied into the fields.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoolForm {
    sources: Vec<PoolSource>,
    applied: Option<usize>,
}

impl Spec for PoolForm {
    fn verb(&self) -> &'static str {
        "define"
    }

    fn refresh(&self, w: &mut Wizard, ctx: &Context) {
        refresh(w, ctx)
    }

    fn submit(&self, app: &mut App) -> Vec<Effect> {
        wizard::send(app, |w, _, id| command(w, id).map(HostCommand::Storage))
    }

    fn on_action(&self, action: Action, app: &mut App) -> Vec<Effect> {
        match action {
            Action::FindSources => discover(app),
            _ => Vec::new(),
        }
    }

    fn page_keys(&self, page: usize) -> Vec<(Action, &'static str)> {
        match page {
            1 => vec![(Action::FindSources, "find sources")],
            _ => Vec::new(),
        }
    }
}

pub fn new(host: HostId) -> Wizard {
    Wizard::new(
        "New storage pool",
        host,
        PoolForm::default(),
        vec!["Type", "Source", "Options", "Review"],
        vec![
            Field::text(key::NAME, "Name", 0, "").hint(&names::hint(NameKind::Pool)),
            Field::choice("type", "Type", 0, TYPES)
                .hint("←/→: dir, fs, netfs, logical, iscsi, rbd, gluster, disk"),
            Field::choice(FOUND, "Found on host", 1, &[])
                .hint("←/→ picks one and fills the fields below"),
            Field::text(key::HOST, "Host", 1, ""),
            Field::text(key::PORT, "Port", 1, ""),
            Field::text(key::DEVICE, "Device", 1, ""),
            Field::text(key::DIR, "Source path", 1, ""),
            Field::text(key::SOURCE_NAME, "Source name", 1, ""),
            Field::choice(key::FORMAT, "Format", 1, &[]),
            Field::text(key::INITIATOR, "Initiator IQN", 1, "")
                .hint("optional: this host's IQN if the target restricts initiators"),
            Field::text(key::AUTH_USER, "Auth user", 1, ""),
            Field::secret(SECRET, "Key / password", 1),
            Field::text(key::TARGET, "Target path", 1, ""),
            Field::toggle("build", "Build", 2, true),
            Field::toggle("start", "Start now", 2, true),
            Field::toggle("autostart", "Autostart", 2, true).hint("start with the host"),
        ],
    )
}

/// Per type: (field, label, hint) for the fields it shows on the source page.
fn layout(kind: &str) -> Vec<(&'static str, &'static str, &'static str)> {
    match kind {
        "dir" => vec![(
            key::TARGET,
            "Directory",
            "absolute path, e.g. /var/lib/libvirt/images/NAME",
        )],
        "fs" => vec![
            (
                key::DEVICE,
                "Block device",
                "e.g. /dev/sdb1 (holds the filesystem)",
            ),
            (key::FORMAT, "Filesystem", "auto detects it"),
            (
                key::TARGET,
                "Mount point",
                "absolute path; Build creates it",
            ),
        ],
        "netfs" => vec![
            (
                key::HOST,
                "Server",
                "NFS or Gluster server host name or address; C-f lists its exports",
            ),
            (
                key::DIR,
                "Export path",
                "NFS: /srv/export; glusterfs: the volume name",
            ),
            (key::FORMAT, "Protocol", "nfs or glusterfs"),
            (
                key::TARGET,
                "Mount point",
                "absolute path; Build creates it",
            ),
        ],
        "logical" => vec![
            (
                FOUND,
                "Found on host",
                "←/→ picks a volume group (C-f searches)",
            ),
            (
                key::SOURCE_NAME,
                "Volume group",
                "an existing VG, or the name of the VG Build creates",
            ),
            (
                key::DEVICE,
                "Devices",
                "for a new VG: /dev/sdb /dev/sdc (erased by Build); empty for an existing VG",
            ),
        ],
        "iscsi" => vec![
            (key::HOST, "Portal host", "C-f lists the portal's targets"),
            (key::PORT, "Port", "3260 when empty"),
            (
                key::DEVICE,
                "Target IQN",
                "iqn.2004-04.com.example:storage.lun1",
            ),
            (key::INITIATOR, "Initiator IQN", "optional"),
            (key::AUTH_USER, "CHAP user", "optional"),
            (SECRET, "CHAP password", "stored as a libvirt secret"),
        ],
        "rbd" => vec![
            (
                key::HOST,
                "Monitors",
                "mon1:6789 mon2 mon3 (space or comma separated)",
            ),
            (key::SOURCE_NAME, "Ceph pool", "e.g. libvirt-pool"),
            (key::AUTH_USER, "Ceph user", "e.g. libvirt (client.libvirt)"),
            (
                SECRET,
                "Ceph key",
                "the base64 key `ceph auth get-key client.USER` prints; stored as a libvirt secret",
            ),
        ],
        "gluster" => vec![
            (key::HOST, "Server", "a Gluster server"),
            (key::SOURCE_NAME, "Volume", "the Gluster volume name"),
            (key::DIR, "Directory", "inside the volume; / when empty"),
        ],
        "disk" => vec![
            (key::DEVICE, "Disk", "a whole disk, e.g. /dev/sdb"),
            (
                key::FORMAT,
                "Partition table",
                "Build writes a new one (data is lost)",
            ),
        ],
        _ => Vec::new(),
    }
}

fn formats(kind: &str) -> &'static [&'static str] {
    match kind {
        "fs" => crate::xml::pool::FS_FORMATS,
        "netfs" => crate::xml::pool::NETFS_FORMATS,
        "disk" => crate::xml::pool::DISK_FORMATS,
        _ => &[],
    }
}

fn list(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

fn opt(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// The secret a pool of this type needs, as (usage name, value), when the user gave a user.
fn secret_usage(w: &Wizard) -> Option<String> {
    let kind = w.get("type");
    let user = w.get(key::AUTH_USER);
    let name = w.get(key::NAME);
    match kind.as_str() {
        "rbd" if !user.is_empty() => Some(format!("{name} client.{user} key")),
        "iscsi" if !user.is_empty() => Some(format!("{name} chap")),
        _ => None,
    }
}

/// The pool the fields describe.
pub fn def(w: &Wizard) -> Result<PoolDef, String> {
    let name = w.get(key::NAME);
    let kind = w.get("type");
    let target = w.get(key::TARGET);
    let user = w.get(key::AUTH_USER);
    let d = match kind.as_str() {
        "dir" => PoolDef::dir(&name, &target),
        "fs" => PoolDef::fs(&name, &w.get(key::DEVICE), &w.get(key::FORMAT), &target),
        "netfs" => PoolDef::netfs(
            &name,
            &w.get(key::HOST),
            &w.get(key::DIR),
            &w.get(key::FORMAT),
            &target,
        ),
        "logical" => {
            let devs = list(&w.get(key::DEVICE));
            let refs: Vec<&str> = devs.iter().map(String::as_str).collect();
            let vg = opt(w.get(key::SOURCE_NAME)).unwrap_or_else(|| name.clone());
            PoolDef::logical(&name, &vg, &refs)
        }
        "iscsi" => {
            let port = crate::xml::pool::parse_port(&w.get(key::PORT))?;
            let usage = secret_usage(w);
            let initiator = opt(w.get(key::INITIATOR));
            PoolDef::iscsi(
                &name,
                &w.get(key::HOST),
                port,
                &w.get(key::DEVICE),
                initiator.as_deref(),
                usage.as_deref().map(|u| (user.as_str(), u)),
            )
        }
        "rbd" => {
            let mut mons = Vec::new();
            for m in list(&w.get(key::HOST)) {
                let (host, port) = match m.rsplit_once(':') {
                    Some((h, p)) if !h.contains(':') || h.starts_with('[') => (
                        h.trim_matches(|c| c == '[' || c == ']').to_string(),
                        crate::xml::pool::parse_port(p)?,
                    ),
                    _ => (m.clone(), None),
                };
                mons.push(PoolHost::new(&host, port));
            }
            let auth = secret_usage(w).map(|u| (user.as_str(), SecretRef::Usage(u)));
            PoolDef::rbd(&name, mons, &w.get(key::SOURCE_NAME), auth)
        }
        "gluster" => {
            let dir = opt(w.get(key::DIR)).unwrap_or_else(|| "/".into());
            PoolDef::gluster(&name, &w.get(key::HOST), &w.get(key::SOURCE_NAME), &dir)
        }
        "disk" => PoolDef::disk(&name, &w.get(key::DEVICE), &w.get(key::FORMAT)),
        other => return Err(format!("unknown pool type {other}")),
    };
    Ok(d)
}

pub fn refresh(w: &mut Wizard, ctx: &Context) {
    let kind = w.get("type");
    let shown = layout(&kind);
    apply_source(w);
    let found = w
        .spec_as::<PoolForm>()
        .is_some_and(|p| !p.sources.is_empty());
    for f in w.fields.iter_mut().filter(|f| f.page == 1) {
        match shown.iter().find(|(k, _, _)| *k == f.key) {
            Some((_, label, hint)) => {
                f.visible = f.key != FOUND || found;
                f.label = label;
                f.hint = hint.to_string();
            }
            None => f.visible = false,
        }
    }
    let fmts: Vec<String> = formats(&kind).iter().map(|s| s.to_string()).collect();
    let same = matches!(&w.field(key::FORMAT).map(|f| &f.input), Some(Input::Choice { options, .. }) if *options == fmts);
    if !same {
        w.set_options(key::FORMAT, fmts);
    }
    // Build is destructive for whole disks; default it off there (the user can still turn it on).
    for f in &mut w.fields {
        f.error = None;
        f.warning = None;
    }
    let d = def(w);
    match &d {
        Ok(d) => {
            for (k, msg) in validate(d) {
                let target = if w.field(k).is_some_and(|f| f.visible) {
                    k
                } else {
                    key::NAME
                };
                if let Some(f) = w.field_mut(target) {
                    f.error.get_or_insert(msg);
                }
            }
        }
        Err(e) => check(w, key::PORT, Err(e.clone())),
    }
    let name = w.get(key::NAME);
    if ctx.pools.contains(&name) {
        check(
            w,
            key::NAME,
            Err(format!("the host already has a pool named {name}")),
        );
    }
    if secret_usage(w).is_some() {
        let v = w.get(SECRET);
        let r = if v.is_empty() {
            Err("enter the key (or leave the user empty for no authentication)".to_string())
        } else if kind == "rbd" {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(v.as_bytes())
                .map(|_| ())
                .map_err(|_| {
                    "not a base64 Ceph key (see `ceph auth get-key client.USER`)".to_string()
                })
        } else {
            Ok(())
        };
        check(w, SECRET, r);
    }
    // A local directory that does not exist needs Build.
    if ctx.local && kind == "dir" && !w.on("build") {
        let t = w.get(key::TARGET);
        let missing = format!("{t} does not exist: turn Build on to create it");
        let error = if t.starts_with('/') {
            use crate::probe::{Found, Probe, Stat};
            match w.checks.ask("target", Probe::Stat(t.clone().into())) {
                None => Some(format!("checking {t}…")),
                // The check itself failed (a hung mount): say so rather than "does not exist".
                Some(Err(e)) => Some(format!("{t}: {e}")),
                Some(Ok(Found::Stat(Ok(Stat { dir: true, .. })))) => None,
                Some(Ok(_)) => Some(missing),
            }
        } else {
            None
        };
        if let (Some(f), Some(e)) = (w.field_mut("build"), error) {
            f.error = Some(e);
        }
    }
    if kind == "disk" || (kind == "logical" && !w.get(key::DEVICE).is_empty()) {
        if let Some(f) = w.field_mut("build") {
            if f.error.is_none() && matches!(f.input, Input::Toggle(true)) {
                f.warning = Some("Build erases the devices".into());
            }
        }
    }
    w.review = Some(d.and_then(|d| d.to_xml().map_err(|e| e.to_string())));
}

/// Copies the picked discovered source into the fields once per pick.
fn apply_source(w: &mut Wizard) {
    let Some(Input::Choice { selected, .. }) = w.field(FOUND).map(|f| &f.input) else {
        return;
    };
    let i = *selected;
    let Some(form) = w.spec_as_mut::<PoolForm>() else {
        return;
    };
    if form.applied == Some(i) {
        return;
    }
    let Some(s) = form.sources.get(i).cloned() else {
        return;
    };
    form.applied = Some(i);
    let kind = w.get("type");
    if let Some(h) = &s.host {
        w.set_text(key::HOST, h);
    }
    match kind.as_str() {
        "netfs" => {
            if let Some(d) = &s.dir {
                w.set_text(key::DIR, d);
            }
        }
        "logical" => {
            if let Some(n) = &s.name {
                w.set_text(key::SOURCE_NAME, n);
            }
            // An existing VG needs no devices (and Build would wipe them).
            w.set_text(key::DEVICE, "");
            if let Some(f) = w.field_mut("build") {
                f.input = Input::Toggle(false);
            }
        }
        "iscsi" => {
            if let Some(d) = s.devices.first() {
                w.set_text(key::DEVICE, d);
            }
        }
        _ => {}
    }
}

fn source_label(s: &PoolSource) -> String {
    let mut parts = Vec::new();
    if let Some(h) = &s.host {
        parts.push(h.clone());
    }
    if let Some(n) = &s.name {
        parts.push(n.clone());
    }
    if let Some(d) = &s.dir {
        parts.push(d.clone());
    }
    if !s.devices.is_empty() {
        parts.push(s.devices.join(" "));
    }
    parts.join(" ")
}

/// `C-f`: ask the host for sources of the chosen type.
fn discover(app: &mut App) -> Vec<Effect> {
    let Mode::Wizard(w) = &mut app.mode else {
        return Vec::new();
    };
    if w.spec_as::<PoolForm>().is_none() {
        return Vec::new();
    }
    let host = w.host;
    let kind = w.get("type");
    let host_name = w.get(key::HOST);
    let spec = match kind.as_str() {
        "logical" => None,
        "netfs" | "iscsi" if host_name.is_empty() => {
            w.note = Some(format!("enter the {} host first, then C-f", kind));
            return Vec::new();
        }
        "netfs" | "iscsi" => {
            let esc = quick_xml::escape::escape(host_name.as_str());
            let port = match kind.as_str() {
                "iscsi" => crate::xml::pool::parse_port(&w.get(key::PORT))
                    .ok()
                    .flatten()
                    .map(|p| format!(" port='{p}'"))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            Some(format!("<source><host name='{esc}'{port}/></source>"))
        }
        other => {
            w.note = Some(format!("libvirt cannot search for {other} sources"));
            return Vec::new();
        }
    };
    w.note = Some(format!("searching for {kind} sources…"));
    vec![Effect::Host(
        host,
        HostCommand::Storage(StorageCmd::FindSources {
            id: app.requests.issue(
                host,
                crate::app::requests::Owner::Sources { kind: kind.clone() },
            ),
            kind,
            spec,
        }),
    )]
}

/// The host's answer to `discover`.
pub fn sources(app: &mut App, host: HostId, kind: &str, result: Result<Vec<PoolSource>, String>) {
    let Mode::Wizard(w) = &mut app.mode else {
        if let Err(e) = result {
            app.messages
                .log(Level::Error, format!("source search: {e}"), app.now);
        }
        return;
    };
    if w.host != host || w.spec_as::<PoolForm>().is_none() || w.get("type") != kind {
        return;
    }
    match result {
        Ok(found) if found.is_empty() => w.note = Some(format!("no {kind} sources found")),
        Ok(found) => {
            w.note = Some(format!(
                "found {} — pick one with ←/→ in “Found on host”",
                found.len()
            ));
            let labels = found.iter().map(source_label).collect();
            if let Some(form) = w.spec_as_mut::<PoolForm>() {
                form.sources = found;
                form.applied = None;
            }
            w.set_options(FOUND, labels);
            if let Some(i) = w.fields.iter().position(|f| f.key == FOUND) {
                w.focus = i;
            }
        }
        Err(e) => w.note = Some(format!("search failed: {e}")),
    }
    let ctx = wizard::context(app, host, &PoolForm::default());
    if let Mode::Wizard(w) = &mut app.mode {
        wizard::refresh(w, &ctx);
    }
}

pub fn command(w: &Wizard, id: crate::host::RequestId) -> Result<StorageCmd, String> {
    let d = def(w)?;
    let xml = d.to_xml().map_err(|e| e.to_string())?;
    let secret = match secret_usage(w) {
        None => None,
        Some(usage) => {
            let kind = w.get("type");
            let desc = format!(
                "{} for pool {}",
                if kind == "rbd" {
                    "Ceph key"
                } else {
                    "CHAP password"
                },
                d.name
            );
            let (def, value) = if kind == "rbd" {
                use base64::Engine;
                let v = base64::engine::general_purpose::STANDARD
                    .decode(w.get(SECRET).as_bytes())
                    .map_err(|e| e.to_string())?;
                (SecretDef::ceph(&usage, &desc), v)
            } else {
                (SecretDef::iscsi(&usage, &desc), w.get(SECRET).into_bytes())
            };
            Some((def.to_xml().map_err(|e| e.to_string())?, value))
        }
    };
    Ok(StorageCmd::DefinePool {
        id,
        xml,
        secret,
        build: w.on("build"),
        start: w.on("start"),
        autostart: w.on("autostart"),
    })
}
