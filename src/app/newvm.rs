//! The new-VM wizard (issue 8): install method, OS variant (osinfo-db, searchable, detected
//! from a local ISO), CPU and memory against the host, storage, network, and a review page
//! with the name, the toggles and the domain XML. Create is one `HostCommand::CreateVm` job
//! (`host::create`): the wizard shows its steps while it runs and keeps the form when it
//! fails. The host's facts come from what the app already has ([`facts`]).

use crate::app::PaneId;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::app::requests;
use crate::app::toast::Level;
use crate::app::wizard::{self, check, Context, Field, Spec, Wizard};
use crate::app::{App, Effect, Mode, View};
use crate::config::Thresholds;
use crate::fmt;
use crate::host::create::{space_problem, steps, CreateVm};
use crate::host::{HostCommand, NetCmd, StorageCmd};
use crate::job::Job;
use crate::model::storage::Pool;
use crate::model::HostId;
use crate::names::{self, NameKind};
use crate::osinfo::{NicModel, OsDb, OsVariant};
use crate::size::parse_size;
use crate::xml::newvm::{
    self, CpuMode, DiskFormat, DiskSource, HostFile, InstallMethod, NewVm, NicSource, NicSpec,
    OsChoice,
};

pub const PAGES: [&str; 6] = [
    "Install",
    "OS",
    "CPU & memory",
    "Storage",
    "Network",
    "Review",
];

pub const ISO: &str = "local ISO";
pub const IMPORT: &str = "import disk image";
pub const CLOUD: &str = "cloud image + cloud-init";
pub const URL: &str = "network install (kernel/initrd)";
pub const PXE: &str = "PXE boot";
pub const TEMPLATE: &str = "a template (clone)";
const METHODS: [&str; 6] = [ISO, IMPORT, CLOUD, URL, PXE, TEMPLATE];

/// The ISO list's last item: type a path instead.
pub const ISO_PATH: &str = "(path)";
pub const DISK_NEW: &str = "new volume";
pub const DISK_EXISTING: &str = "existing volume";
pub const DISK_NONE: &str = "none";
const CPU_MODES: [&str; 3] = ["host-passthrough", "host-model", "hypervisor default"];
pub const NIC_NONE: &str = "none";
/// Matches shown in a searchable list (more only cost refresh time).
const MAX_MATCHES: usize = 40;

/// The OS database, loaded once per process off the UI thread.
#[derive(Clone, Debug, Default)]
pub enum OsDbState {
    #[default]
    NotLoaded,
    Loading,
    Ready(&'static OsDb),
    Missing(String),
}

/// What the wizard checks against, from the app's view of the host.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub host_name: String,
    /// Active pools with their volumes.
    pub pools: Vec<Pool>,
    /// Active virtual networks and host bridges.
    pub networks: Vec<String>,
    pub bridges: Vec<String>,
    pub storage_known: bool,
    pub networks_known: bool,
    /// Host CPUs and memory (0: not known yet).
    pub cpus: u32,
    pub memory_kib: u64,
    /// What the running VMs already use.
    pub running_vcpus: u32,
    pub running_kib: u64,
    pub vm_names: Vec<String>,
    /// The host is this machine: local paths can be read (ISO detection).
    pub local: bool,
    pub db: OsDbState,
    pub thresholds: Thresholds,
    /// UEFI, Secure Boot and TPM support (`HostCommand::Caps`, asked when the wizard opens).
    pub caps: Option<Result<crate::xml::domcaps::GuestCaps, String>>,
    /// The host's templates: (name, UUID).
    pub templates: Vec<(String, String)>,
}

pub fn facts(app: &App, host: HostId) -> Facts {
    let Some(h) = app.host(host) else {
        return Facts::default();
    };
    let running = h.vms.iter().filter(|v| v.state.is_active());
    Facts {
        host_name: h.name.clone(),
        pools: h
            .storage
            .as_ref()
            .map(|s| {
                s.pools
                    .iter()
                    .filter(|p| p.state == crate::model::storage::PoolState::Running)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default(),
        networks: h
            .networks
            .as_ref()
            .map(|n| {
                n.networks
                    .iter()
                    .filter(|n| n.active)
                    .map(|n| n.name.clone())
                    .collect()
            })
            .unwrap_or_default(),
        bridges: h
            .networks
            .as_ref()
            .map(|n| {
                n.ifaces
                    .iter()
                    .filter(|i| i.kind == "bridge" && i.active)
                    .map(|i| i.name.clone())
                    .collect()
            })
            .unwrap_or_default(),
        storage_known: h.storage.is_some(),
        networks_known: h.networks.is_some(),
        cpus: h.info.as_ref().map_or(0, |i| i.cpus),
        memory_kib: h.info.as_ref().map_or(0, |i| i.memory_kib),
        running_vcpus: running.clone().map(|v| v.vcpus).sum(),
        running_kib: running.map(|v| v.memory_kib).sum(),
        vm_names: h.vms.iter().map(|v| v.name.clone()).collect(),
        local: crate::host::is_local_uri(&h.uri),
        db: app.osdb.clone(),
        thresholds: app.settings.thresholds,
        caps: h.caps.clone(),
        templates: h
            .vms
            .iter()
            .filter(|v| v.template)
            .map(|v| (v.name.clone(), v.uuid.clone()))
            .collect(),
    }
}

/// The wizard's own memory between refreshes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct State {
    /// The ISO last looked at (so detection reads it once), and its volume id.
    pub iso_seen: String,
    pub volume_id: Option<String>,
    /// What detection found or why it was skipped (shown under the OS list).
    pub detection: Option<String>,
    /// Detection waits for the database.
    pub detect_pending: bool,
    /// The OS whose recommendations are in the fields.
    pub defaults_for: String,
    /// The name the wizard proposed (replaced when the OS changes, unless the user typed one).
    pub auto_name: String,
    /// The NIC default was chosen once the host's networks were known.
    pub nic_chosen: bool,
    /// What each chosen image's first bytes say ("pool/volume" → None while the host reads
    /// them): asked once per image, on the next tick.
    pub heads: BTreeMap<String, Option<Result<crate::diskimage::Head, String>>>,
}

/// The new-VM wizard as the generic wizard carries it, with its memory between refreshes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewVmForm {
    pub state: State,
}

impl Spec for NewVmForm {
    fn verb(&self) -> &'static str {
        "create"
    }

    fn refresh(&self, w: &mut Wizard, ctx: &Context) {
        refresh(w, ctx)
    }

    fn submit(&self, app: &mut App) -> Vec<Effect> {
        let Mode::Wizard(w) = &app.mode else {
            return Vec::new();
        };
        let host = w.host;
        if w.get("method") == TEMPLATE {
            let f = facts(app, host);
            return template::submit(app, &f);
        }
        let fx = wizard::send(app, command);
        // A VM creation is a job of the fleet too: the jobs pane shows and cancels it.
        for e in &fx {
            if let Effect::Host(_, HostCommand::CreateVm(c)) = e {
                let (name, job) = (c.spec.name.clone(), c.job.clone());
                app.jobs
                    .add(crate::app::jobs::JobKind::NewVm, host, name, job, app.now);
            }
        }
        fx
    }

    fn facts(&self, app: &App, host: HostId) -> Option<wizard::Extra> {
        Some(std::sync::Arc::new(facts(app, host)))
    }

    fn follows_host(&self) -> bool {
        true
    }
}

/// A VM the wizard created: selected in the table (console opened) once a snapshot has it.
#[derive(Clone, Debug, PartialEq)]
pub struct Created {
    pub host: HostId,
    pub name: String,
    pub console: bool,
}

/// `N`: opens the wizard for `host` (or the first connected one), asks that host for fresh
/// storage and network inventories, and starts loading the OS database if needed.
pub fn open(app: &mut App, host: Option<HostId>) -> Vec<Effect> {
    let Some(host) = requests::target_host(app, host) else {
        app.messages.push(
            Level::Error,
            "new VM: no connected host".to_string(),
            app.now,
        );
        return Vec::new();
    };
    // Rescan: cloud images are usually copied into a pool's directory, which libvirt lists
    // only after a pool refresh.
    let mut fx = vec![
        Effect::Host(host, HostCommand::Storage(StorageCmd::Rescan)),
        Effect::Host(host, HostCommand::Network(NetCmd::Refresh)),
        Effect::Host(host, HostCommand::Caps),
    ];
    if matches!(app.osdb, OsDbState::NotLoaded) {
        app.osdb = OsDbState::Loading;
        fx.push(Effect::LoadOsDb);
    }
    let ctx = wizard::context(app, host, &NewVmForm::default());
    let w = new(host, &ctx);
    fx.extend(wizard::open(app, w));
    fx
}

pub fn new(host: HostId, ctx: &Context) -> Wizard {
    let on = ctx
        .extra::<Facts>()
        .map_or_else(String::new, |f| format!(" on {}", f.host_name));
    let pick_hint = "type to filter · ←/→ choose";
    let w =
        Wizard::new(
            format!("New VM{on}"),
            host,
            NewVmForm::default(),
            PAGES.to_vec(),
            std::iter::once(Field::choice("method", "Install from", 0, &METHODS))
                .chain(template::fields())
                .chain(vec![
            Field::pick("iso", "ISO image", 0)
                .hint("a volume of the host's pools (type to filter · ←/→ choose)"),
            Field::text("iso_path", "ISO path", 0, "").hint("absolute path of an ISO on the host"),
            Field::pick("image", "Disk image", 0).hint(pick_hint),
            Field::text("tree", "Install tree URL", 0, "").hint(
                "http(s) URL of the tree (a distribution mirror); the kernel and initrd are \
                 found in it for the OS chosen next and downloaded by Create",
            ),
            Field::text("kernel", "Kernel", 0, "")
                .hint("empty: from the tree URL; or a host path / URL of the kernel"),
            Field::text("initrd", "Initrd", 0, "")
                .hint("empty: from the tree URL; or a host path / URL of the initrd"),
            Field::text("cmdline", "Kernel arguments", 0, "")
                .hint("e.g. inst.repo=https://… or url=… pointing at the tree"),
            Field::text("user", "Login user", 0, "admin"),
            Field::secret("password", "Password", 0)
                .hint("hashed into the seed; empty: SSH key login only"),
            Field::text("ssh_key", "SSH public key", 0, "").hint("ssh-ed25519 AAAA… (optional)"),
            Field::text("hostname", "Hostname", 0, "").hint("empty: the VM's name"),
            Field::pick("os", "OS variant", 1).hint(pick_hint),
            Field::text("memory", "Memory (MiB)", 2, "1024").hint("MiB, or with a unit: 2G"),
            Field::text("vcpus", "vCPUs", 2, "1"),
            Field::choice("cpu", "CPU model", 2, &CPU_MODES).hint(
                "host-passthrough: fastest, migrates only to identical hosts; \
                 hypervisor default: nested hosts whose KVM refuses the host CPU",
            ),
        ])
                .chain(firmware::fields())
                .chain([
                    Field::choice("disk", "Disk", 3, &[DISK_NEW, DISK_EXISTING, DISK_NONE]),
                    Field::choice("pool", "Pool", 3, &[]),
                    Field::text("size", "Size", 3, "20G").hint("10G, 512MiB…"),
                    Field::choice("format", "Format", 3, &["qcow2", "raw"])
                        .hint("qcow2: thin, snapshots; raw: fastest, takes its full size at once"),
                    Field::pick("volume", "Volume", 3).hint(pick_hint),
                    Field::choice("nic", "Connect to", 4, &[NIC_NONE]),
                    Field::choice(
                        "model",
                        "NIC model",
                        4,
                        &NicModel::ALL.map(NicModel::as_str),
                    ),
                    Field::text("mac", "Fixed MAC", 4, "")
                        .hint("empty: libvirt picks one (52:54:00:…)"),
                    Field::text("name", "Name", 5, "").hint(&names::hint(NameKind::Vm)),
                    Field::toggle("start", "Start after create", 5, true),
                    Field::toggle("console", "Open console", 5, false)
                        .hint("attach the serial console once the VM runs"),
                    Field::toggle("agent", "Guest agent channel", 5, true).hint(
                        "org.qemu.guest_agent.0 for qemu-ga in the guest: its addresses, \
                         file systems, quiesced snapshots",
                    ),
                ])
                .collect(),
        );
    w
}

fn visible(w: &mut Wizard, key: &str, on: bool) {
    if let Some(f) = w.field_mut(key) {
        f.visible = on;
    }
}

/// All volumes of the active pools as (pool/volume, label) matching `query`; ISO images
/// first when `isos_first`.
fn volume_items(f: &Facts, query: &str, isos_first: bool) -> Vec<(String, String)> {
    let q = query.to_lowercase();
    let mut out: Vec<(bool, String, String)> = f
        .pools
        .iter()
        .flat_map(|p| p.volumes.iter().map(move |v| (p, v)))
        .filter(|(p, v)| {
            q.is_empty() || v.name.to_lowercase().contains(&q) || p.name.to_lowercase().contains(&q)
        })
        .map(|(p, v)| {
            let iso = v.name.to_lowercase().ends_with(".iso");
            let used = if v.used_by.is_empty() {
                String::new()
            } else {
                format!(", used by {}", v.used_by.join(" "))
            };
            (
                iso != isos_first,
                format!("{}/{}", p.name, v.name),
                format!("{}/{}  ({}{used})", p.name, v.name, fmt::bytes(v.capacity)),
            )
        })
        .collect();
    out.sort();
    out.into_iter()
        .take(MAX_MATCHES)
        .map(|(_, v, l)| (v, l))
        .collect()
}

/// The volume a `pool/volume` value names.
fn find_volume<'a>(
    f: &'a Facts,
    value: &str,
) -> Option<(&'a Pool, &'a crate::model::storage::Volume)> {
    let (pool, vol) = value.split_once('/')?;
    let p = f.pools.iter().find(|p| p.name == pool)?;
    Some((p, p.volumes.iter().find(|v| v.name == vol)?))
}

fn os_items(f: &Facts, query: &str) -> Vec<(String, String)> {
    let generic = || ("generic".to_string(), "Generic OS (generic)".to_string());
    match &f.db {
        OsDbState::Ready(db) => {
            let mut out: Vec<(String, String)> = db
                .search(query)
                .into_iter()
                .take(MAX_MATCHES)
                .map(|v| (v.short_id.clone(), format!("{} ({})", v.name, v.short_id)))
                .collect();
            if "generic".contains(&query.to_lowercase()) {
                out.push(generic());
            }
            out
        }
        _ => vec![generic()],
    }
}

/// The chosen OS (generic while the database is missing or loading).
fn variant(f: &Facts, short_id: &str) -> OsVariant {
    match &f.db {
        OsDbState::Ready(db) => db.get(short_id).cloned().unwrap_or_else(OsVariant::generic),
        _ => OsVariant::generic(),
    }
}

/// Smallest disk image that can hold a boot sector and a partition table with anything in it.
const MIN_IMAGE: u64 = 1024 * 1024;

/// Whether a volume can be a disk to boot from, by what libvirt reports of it: a 25-byte text
/// file or an ISO is refused before a guest fails with "No bootable device".
fn bootable_image(v: &crate::model::storage::Volume) -> Result<(), String> {
    if v.format == "iso" || v.name.to_ascii_lowercase().ends_with(".iso") {
        return Err(format!(
            "{} is an ISO image, not a disk: use the ISO install method",
            v.name
        ));
    }
    if v.capacity < MIN_IMAGE {
        return Err(format!(
            "{} holds {}: too small to be a bootable disk image (at least 1 MiB)",
            v.name,
            fmt::bytes(v.capacity)
        ));
    }
    Ok(())
}

/// Looks at the chosen ISO once per choice and once more when the probe answers: its volume
/// id when the file is readable from here, with detection pending until the database is
/// ready.
fn look_at_iso(w: &mut Wizard, f: &Facts, st: &mut State) {
    if w.get("method") != ISO {
        return;
    }
    let source = w.get("iso");
    let path = if source == ISO_PATH {
        Some(w.get("iso_path"))
    } else {
        find_volume(f, &source).map(|(_, v)| v.path.clone())
    };
    let answer = match &path {
        Some(p) if f.local && !source.is_empty() && p.starts_with('/') => {
            wizard::checks::iso(w, "iso", p)
        }
        _ => None,
    };
    let key = format!("{source}\n{path:?}\n{answer:?}");
    if key == st.iso_seen {
        return;
    }
    st.iso_seen = key;
    st.volume_id = None;
    st.detect_pending = false;
    st.detection = match (path, answer) {
        _ if source.is_empty() => None,
        (None, _) => None,
        (Some(_), _) if !f.local => Some(
            "OS detection skipped: the ISO is on a remote host (virtdeck reads only local files)"
                .into(),
        ),
        // Still checking, or not a file (the path field says so).
        (Some(_), None) => None,
        (Some(_), Some(Ok(iso))) => match iso.volume_id {
            None => None,
            Some(Ok(id)) => {
                st.volume_id = Some(id);
                st.detect_pending = true;
                None
            }
            Some(Err(e)) => Some(format!("OS detection: {e}")),
        },
        (Some(_), Some(Err(e))) => Some(format!("OS detection: {e}")),
    };
}

fn detect(w: &mut Wizard, f: &Facts, st: &mut State) {
    let OsDbState::Ready(db) = &f.db else {
        return;
    };
    if !std::mem::take(&mut st.detect_pending) {
        return;
    }
    let Some(id) = st.volume_id.clone() else {
        return;
    };
    match db.detect_iso(&id) {
        Some(v) => {
            st.detection = Some(format!(
                "detected {} from the ISO (volume id '{id}')",
                v.name
            ));
            let short = v.short_id.clone();
            w.set_query("os", &short);
            // The list is refilled from the new query below; the exact id ranks first.
            w.set_items("os", Vec::new());
        }
        None => {
            st.detection = Some(format!(
                "no OS in osinfo-db matches the ISO's volume id '{id}': choose one"
            ))
        }
    }
}

/// Sets memory, vCPUs, disk size and NIC model from osinfo's recommendations when the OS
/// changes, and proposes a free name.
fn apply_os_defaults(w: &mut Wizard, f: &Facts, st: &mut State, os: &OsVariant) {
    if st.defaults_for == os.short_id {
        return;
    }
    st.defaults_for = os.short_id.clone();
    w.set_text("memory", &os.memory_mib().to_string());
    w.set_text("vcpus", &os.vcpus().to_string());
    w.set_text("size", &gib(os.storage_bytes()));
    w.choose("model", os.nic_model().as_str());
    firmware::os_defaults(w, os);
    w.set_toggle("agent", OsChoice::from_variant(os).agent_by_default());
    let name = w.get("name");
    if name.is_empty() || name == st.auto_name {
        let proposed = free_name(&os.short_id, &f.vm_names);
        w.set_text("name", &proposed);
        st.auto_name = proposed;
    }
}

fn gib(bytes: u64) -> String {
    const G: u64 = 1 << 30;
    if bytes % G == 0 {
        format!("{}G", bytes / G)
    } else {
        format!("{}M", bytes.div_ceil(1 << 20))
    }
}

/// `base`, else `base-2`, `base-3`… whichever no VM of the host has.
pub fn free_name(base: &str, taken: &[String]) -> String {
    (1..)
        .map(|i| {
            if i == 1 {
                base.to_string()
            } else {
                format!("{base}-{i}")
            }
        })
        .find(|n| !taken.iter().any(|t| t == n))
        .unwrap_or_default()
}

/// Memory in MiB: a plain number is MiB, otherwise a size with a unit.
pub fn parse_memory(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("enter the memory size".into());
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        return s.parse().map_err(|_| "too large".to_string());
    }
    parse_size(s)
        .map(|b| b / (1 << 20))
        .map_err(|e| e.to_string())
}

/// Errors (host limits) and overcommit warnings for memory (MiB) and vCPUs.
pub fn check_resources(
    f: &Facts,
    memory_mib: Result<u64, String>,
    vcpus: Result<u32, String>,
) -> [(Result<(), String>, Option<String>); 2] {
    let host_mib = f.memory_kib / 1024;
    let mem = match memory_mib {
        Err(e) => (Err(e), None),
        Ok(m) if m < 16 => (Err("at least 16 MiB".into()), None),
        Ok(m) if host_mib > 0 && m > host_mib => (
            Err(format!(
                "more than the host's {} of memory",
                fmt::bytes(host_mib << 20)
            )),
            None,
        ),
        Ok(m) if host_mib > 0 => {
            let committed = f.running_kib / 1024 + m;
            let pct = committed as f64 * 100.0 / host_mib as f64;
            let warn = (pct > f.thresholds.memory.warn).then(|| {
                format!(
                    "with the running VMs {} of the host's {} would be committed ({pct:.0}%)",
                    fmt::bytes(committed << 20),
                    fmt::bytes(host_mib << 20)
                )
            });
            (Ok(()), warn)
        }
        Ok(_) => (Ok(()), None),
    };
    let cpu = match vcpus {
        Err(e) => (Err(e), None),
        Ok(0) => (Err("at least 1".into()), None),
        Ok(n) if f.cpus > 0 && n > f.cpus => (Err(format!("the host has {} CPUs", f.cpus)), None),
        Ok(n) if f.cpus > 0 => {
            let ratio = (f.running_vcpus + n) as f64 / f.cpus as f64;
            let warn = (ratio > f.thresholds.overcommit.warn).then(|| {
                format!(
                    "{} vCPUs would run on {} host CPUs ({ratio:.1} per CPU)",
                    f.running_vcpus + n,
                    f.cpus
                )
            });
            (Ok(()), warn)
        }
        Ok(_) => (Ok(()), None),
    };
    [mem, cpu]
}

fn set_warning(w: &mut Wizard, key: &str, warning: Option<String>) {
    if let Some(fld) = w.field_mut(key) {
        fld.warning = warning;
    }
}

/// Re-checks every field and rebuilds the XML.
pub fn refresh(w: &mut Wizard, ctx: &Context) {
    let Some(f) = ctx.extra::<Facts>() else {
        return;
    };
    let mut st = w
        .spec_as_mut::<NewVmForm>()
        .map(|n| std::mem::take(&mut n.state))
        .unwrap_or_default();
    let method = w.get("method");
    if method == TEMPLATE {
        // The proposed name follows the template (unless the user typed one).
        let template = w.get("template");
        let name = w.get("name");
        let base = if template.is_empty() {
            f.templates.first().map(|t| t.0.clone()).unwrap_or_default()
        } else {
            template
        };
        if !base.is_empty() && (name.is_empty() || name == st.auto_name) {
            let proposed = free_name(&base, &f.vm_names);
            w.set_text("name", &proposed);
            st.auto_name = proposed;
        }
        template::refresh(w, f);
        w.skip_empty = true;
        if let Some(n) = w.spec_as_mut::<NewVmForm>() {
            n.state = st;
        }
        return;
    }
    w.skip_empty = false;
    // Back from the template method: every field shows again unless hidden below.
    for fl in w.fields.iter_mut() {
        fl.visible = !matches!(fl.key, "template" | "linked");
    }
    let cloud = method == CLOUD;
    let import = method == IMPORT;
    let own_disk = import || cloud;

    // Page 1: install method.
    let q = w.field("iso").map(Field::query).unwrap_or_default();
    let mut isos = volume_items(f, &q, true);
    // Offered once the pools are known, so it is not the choice only because it came first.
    if f.storage_known {
        isos.push((
            ISO_PATH.to_string(),
            "(a path on the host: type it below)".into(),
        ));
    }
    w.set_items("iso", isos);
    let q = w.field("image").map(Field::query).unwrap_or_default();
    w.set_items("image", volume_items(f, &q, false));
    visible(w, "iso", method == ISO);
    visible(w, "iso_path", method == ISO && w.get("iso") == ISO_PATH);
    visible(w, "image", own_disk);
    for k in ["tree", "kernel", "initrd", "cmdline"] {
        visible(w, k, method == URL);
    }
    for k in ["user", "password", "ssh_key", "hostname"] {
        visible(w, k, cloud);
    }
    let iso_path = w.get("iso_path");
    let typed_path = method == ISO && w.get("iso") == ISO_PATH;
    let r = if !iso_path.starts_with('/') {
        Err("an absolute path on the host".into())
    } else if f.local && typed_path {
        // The same probe reads the ISO's volume id for detection (`look_at_iso`).
        match wizard::checks::iso(w, "iso", &iso_path) {
            None => Err(format!("checking {iso_path}…")),
            Some(Ok(iso)) if !iso.file => Err(format!("{iso_path}: no such file")),
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(format!("{iso_path}: {e}")),
        }
    } else {
        Ok(())
    };
    check(w, "iso_path", r);
    let iso = w.get("iso");
    check(
        w,
        "iso",
        if iso.is_empty() && !f.storage_known {
            Err("waiting for the host's pools…".into())
        } else if iso.is_empty() {
            Err("no volume matches: add the ISO to a pool, or choose (path)".into())
        } else {
            Ok(())
        },
    );
    let image = w.get("image");
    let image_vol = find_volume(f, &image);
    check(
        w,
        "image",
        match image_vol {
            None if !f.storage_known => Err("waiting for the host's pools…".into()),
            None => Err("choose the disk image (a volume of the host's pools)".into()),
            Some((_, v)) => bootable_image(v).and_then(|()| match st.heads.get(&image) {
                Some(Some(Ok(crate::diskimage::Head::Unbootable))) => Err(format!(
                    "{} has no qcow2 header, partition table or boot sector: not a \
                     bootable disk image",
                    v.name
                )),
                _ => Ok(()),
            }),
        },
    );
    let head_note = image_vol.and_then(|_| match st.heads.get(&image) {
        None | Some(None) => Some("checking the image…".to_string()),
        Some(Some(Err(e))) => Some(format!("the image could not be read to check it: {e}")),
        Some(Some(Ok(_))) => None,
    });
    set_warning(
        w,
        "image",
        image_vol
            .filter(|(_, v)| own_disk && !v.used_by.is_empty())
            .map(|(_, v)| {
                let users = v.used_by.join(", ");
                if cloud {
                    format!(
                        "in use by {users}: the new disk is an overlay on this image, and a                          VM writing it corrupts the new one (copy the image first)"
                    )
                } else {
                    format!("in use by {users}: two VMs writing one disk corrupt it")
                }
            })
            .or(head_note.filter(|_| own_disk)),
    );
    let tree = w.get("tree");
    check(
        w,
        "tree",
        if tree.is_empty() || crate::xml::newvm::is_url(&tree) {
            Ok(())
        } else {
            Err("an http:// or https:// URL".into())
        },
    );
    for k in ["kernel", "initrd"] {
        let v = w.get(k);
        check(
            w,
            k,
            // Empty with a tree URL: found in the tree for the chosen OS.
            if v.starts_with('/')
                || crate::xml::newvm::is_url(&v)
                || (v.is_empty() && !tree.is_empty())
            {
                Ok(())
            } else if v.is_empty() {
                Err("enter the tree URL above, or a path / URL here".into())
            } else {
                Err("an absolute path on the host or an http(s) URL".into())
            },
        );
    }
    let name = w.get("name");
    let config = cloud_config(w, &name);
    for k in ["user", "password", "ssh_key", "hostname"] {
        check(w, k, Ok(()));
    }
    if cloud {
        for (field, msg) in crate::cloudinit::validate(&config) {
            let key = match field {
                "ssh_keys" => "ssh_key",
                "hostname" if w.get("hostname").is_empty() => "name",
                other => other,
            };
            if key != "name" {
                check(w, key, Err(msg));
            }
        }
    }

    // Page 2: OS.
    look_at_iso(w, f, &mut st);
    detect(w, f, &mut st);
    let q = w.field("os").map(Field::query).unwrap_or_default();
    w.set_items("os", os_items(f, &q));
    let os_value = w.get("os");
    check(
        w,
        "os",
        if os_value.is_empty() {
            Err("no OS matches: try fewer letters, or 'generic'".into())
        } else {
            Ok(())
        },
    );
    let os = variant(f, &os_value);
    if !os_value.is_empty() {
        apply_os_defaults(w, f, &mut st, &os);
    }
    let status = match &f.db {
        OsDbState::NotLoaded | OsDbState::Loading => Some("loading OS list…".to_string()),
        OsDbState::Missing(e) => Some(format!(
            "no OS database ({e}): install osinfo-db; only 'generic' is offered"
        )),
        OsDbState::Ready(_) => None,
    };
    // Detection speaks of the ISO: only while the ISO method is chosen.
    let detection = (w.get("method") == ISO)
        .then(|| st.detection.clone())
        .flatten();
    if let Some(fld) = w.field_mut("os") {
        fld.warning = status.or(detection);
    }

    // Page 3: CPU and memory.
    let vcpus = w
        .get("vcpus")
        .parse::<u32>()
        .map_err(|_| "a whole number".to_string());
    let [(mem_r, mem_w), (cpu_r, cpu_w)] =
        check_resources(f, parse_memory(&w.get("memory")), vcpus);
    check(w, "memory", mem_r);
    set_warning(w, "memory", mem_w);
    check(w, "vcpus", cpu_r);
    set_warning(w, "vcpus", cpu_w);
    firmware::refresh(w, f, &os);

    // Page 4: storage.
    let disk = w.get("disk");
    let pools: Vec<String> = f.pools.iter().map(|p| p.name.clone()).collect();
    w.set_options("pool", pools);
    visible(w, "disk", !own_disk);
    let new_disk = !own_disk && disk == DISK_NEW;
    visible(w, "pool", new_disk || cloud);
    visible(w, "size", new_disk || cloud);
    visible(w, "format", new_disk);
    visible(w, "volume", !own_disk && disk == DISK_EXISTING);
    let q = w.field("volume").map(Field::query).unwrap_or_default();
    w.set_items("volume", volume_items(f, &q, false));
    let pool = f.pools.iter().find(|p| p.name == w.get("pool"));
    check(
        w,
        "pool",
        match pool {
            Some(_) => Ok(()),
            None if !f.storage_known => Err("waiting for the host's pools…".into()),
            None => Err("the host has no active pool".into()),
        },
    );
    if let (Some(fld), Some(p)) = (w.field_mut("pool"), pool) {
        fld.hint = format!(
            "{} free of {} ({} pool)",
            fmt::bytes(p.available),
            fmt::bytes(p.capacity),
            p.kind
        );
    }
    let size = w.get("size");
    let base = image_vol.filter(|_| cloud).map(|(_, v)| v.capacity);
    let format = if cloud {
        "qcow2".to_string()
    } else {
        w.get("format")
    };
    let vol_name = disk_name(&name, &format);
    let size_r = match (parse_size(&size), base) {
        (_, Some(_)) if size.is_empty() => Ok(0),
        (Err(e), _) => Err(e.to_string()),
        (Ok(0), _) => Err("more than 0".into()),
        (Ok(b), Some(base)) if b < base => Err(format!(
            "at least the image's {} (empty: the image's size)",
            fmt::bytes(base)
        )),
        (Ok(b), _) => Ok(b),
    };
    let mut size_warn = None;
    let size_r = size_r.and_then(|b| match pool {
        Some(p) => match space_problem(
            &vol_name,
            b.max(base.unwrap_or(0)),
            &format,
            &p.name,
            p.capacity,
            p.available,
        ) {
            Some(e) => Err(e),
            None => {
                if b > p.available {
                    size_warn = Some(format!(
                        "more than the {} free: the pool can fill up as the guest writes",
                        fmt::bytes(p.available)
                    ));
                }
                Ok(b)
            }
        },
        None => Ok(b),
    });
    check(w, "size", size_r.map(|_| ()));
    set_warning(w, "size", size_warn);
    let volume = w.get("volume");
    let vol = find_volume(f, &volume);
    check(
        w,
        "volume",
        match vol {
            Some(_) => Ok(()),
            None => Err("choose a volume".into()),
        },
    );
    set_warning(
        w,
        "volume",
        vol.filter(|(_, v)| !v.used_by.is_empty())
            .map(|(_, v)| format!("in use by {}", v.used_by.join(", "))),
    );

    // Page 5: network.
    let mut nics: Vec<String> = f.networks.iter().map(|n| format!("network {n}")).collect();
    nics.extend(f.bridges.iter().map(|b| format!("bridge {b}")));
    nics.push(NIC_NONE.to_string());
    w.set_options("nic", nics);
    if !st.nic_chosen && f.networks_known {
        st.nic_chosen = true;
        if !w.choose("nic", "network default") {
            // The first network or bridge, else none (the list ends with none).
            if let Some(wizard::Input::Choice { selected, .. }) =
                w.field_mut("nic").map(|f| &mut f.input)
            {
                *selected = 0;
            }
        }
    }
    let nic = w.get("nic");
    visible(w, "model", nic != NIC_NONE);
    visible(w, "mac", nic != NIC_NONE);
    check(
        w,
        "nic",
        if method == PXE && nic == NIC_NONE {
            Err("PXE boots from the network: choose one".into())
        } else {
            Ok(())
        },
    );
    let mac = w.get("mac");
    check(
        w,
        "mac",
        if mac.is_empty() || newvm::mac_ok(&mac) {
            Ok(())
        } else {
            Err("six hex pairs like 52:54:00:12:34:56, unicast".into())
        },
    );

    // Page 6: review.
    let name_r = match newvm::name_problem(&name) {
        Some(p) => Err(p),
        None if newvm::name_taken(&name, f.vm_names.iter().map(String::as_str)) => {
            Err(format!("{} already has a VM named {name}", f.host_name))
        }
        None => {
            let new_in = if cloud {
                pool
            } else {
                pool.filter(|_| new_disk)
            };
            match new_in.filter(|p| p.volumes.iter().any(|v| v.name == vol_name)) {
                Some(p) => Err(format!(
                    "pool {} already has a volume {vol_name}: choose another name",
                    p.name
                )),
                None => Ok(()),
            }
        }
    };
    check(w, "name", name_r);
    let driverless = w.on("agent") && !OsChoice::from_variant(&os).agent_by_default();
    set_warning(
        w,
        "agent",
        driverless.then(|| {
            format!(
                "osinfo lists no virtio-serial for {}: the guest needs its driver (virtio-win on Windows)",
                os.name
            )
        }),
    );
    w.review = Some(build(w, f).and_then(|vm| vm.domain_xml().map_err(|e| e.to_string())));
    if let Some(n) = w.spec_as_mut::<NewVmForm>() {
        n.state = st;
    }
}

/// The new disk volume's name for VM `name` (the extension says the format, as
/// virt-install names them).
fn disk_name(name: &str, format: &str) -> String {
    if format == "raw" {
        format!("{name}.img")
    } else {
        format!("{name}.qcow2")
    }
}

fn cloud_config(w: &Wizard, name: &str) -> crate::cloudinit::CloudConfig {
    let hostname = w.get("hostname");
    let password = w.get("password");
    let key = w.get("ssh_key");
    crate::cloudinit::CloudConfig {
        hostname: if hostname.is_empty() {
            name.to_string()
        } else {
            hostname
        },
        user: w.get("user"),
        password: (!password.is_empty()).then_some(password),
        ssh_keys: if key.is_empty() {
            Vec::new()
        } else {
            vec![key]
        },
    }
}

/// The spec the fields describe, checked by the core's `validate`.
pub fn build(w: &Wizard, f: &Facts) -> Result<NewVm, String> {
    if let Some(bad) = w
        .fields
        .iter()
        .find(|fl| fl.visible && fl.error.is_some() && fl.page + 1 < w.pages.len())
    {
        return Err(format!(
            "{}: {}",
            bad.label,
            bad.error.clone().unwrap_or_default()
        ));
    }
    let name = w.get("name");
    let method = w.get("method");
    let pool = w.get("pool");
    let vol_of = |value: &str| {
        find_volume(f, value)
            .map(|(p, v)| (p.name.clone(), v.name.clone(), v.format.clone(), v.capacity))
            .ok_or_else(|| format!("{value} is no longer in the host's pools"))
    };
    let install = match method.as_str() {
        ISO if w.get("iso") == ISO_PATH => InstallMethod::Iso(HostFile::Path(w.get("iso_path"))),
        ISO => {
            let (pool, volume, ..) = vol_of(&w.get("iso"))?;
            InstallMethod::Iso(HostFile::Volume { pool, volume })
        }
        IMPORT => InstallMethod::Import,
        CLOUD => InstallMethod::Cloud {
            config: cloud_config(w, &name),
            seed_pool: pool.clone(),
        },
        URL => {
            let (mut kernel, mut initrd) = (w.get("kernel"), w.get("initrd"));
            if kernel.is_empty() || initrd.is_empty() {
                let os = variant(f, &w.get("os"));
                let (k, i) = os
                    .tree("x86_64")
                    .and_then(|t| t.boot_urls(&w.get("tree")))
                    .ok_or_else(|| {
                        format!(
                            "osinfo-db does not know where {} keeps its kernel in a tree: \
                             enter the kernel and initrd URLs",
                            os.name
                        )
                    })?;
                if kernel.is_empty() {
                    kernel = k;
                }
                if initrd.is_empty() {
                    initrd = i;
                }
            }
            InstallMethod::Url {
                kernel,
                initrd,
                cmdline: w.get("cmdline"),
            }
        }
        _ => InstallMethod::Pxe,
    };
    let os = variant(f, &w.get("os"));
    let mut vm = NewVm::for_os(&name, &os, install);
    vm.memory_mib = parse_memory(&w.get("memory"))?;
    vm.vcpus = w.get("vcpus").parse().map_err(|_| "vCPUs: a number")?;
    vm.cpu = match w.get("cpu").as_str() {
        "host-model" => CpuMode::HostModel,
        "hypervisor default" => CpuMode::Hypervisor,
        _ => CpuMode::HostPassthrough,
    };
    let raw = |fmt: String| {
        if fmt.is_empty() {
            "raw".to_string()
        } else {
            fmt
        }
    };
    let size = w.get("size");
    let size = || parse_size(&size).map_err(|e| e.to_string());
    vm.disks = match method.as_str() {
        IMPORT => {
            let (pool, volume, format, _) = vol_of(&w.get("image"))?;
            vec![DiskSource::Volume {
                pool,
                volume,
                format: raw(format),
            }]
        }
        CLOUD => {
            let (base_pool, base, format, _) = vol_of(&w.get("image"))?;
            vec![DiskSource::Overlay {
                pool,
                name: disk_name(&name, "qcow2"),
                capacity: if w.get("size").is_empty() { 0 } else { size()? },
                base_pool,
                base,
                base_format: raw(format),
            }]
        }
        _ => match w.get("disk").as_str() {
            DISK_NEW => vec![DiskSource::New {
                pool,
                name: disk_name(&name, &w.get("format")),
                capacity: size()?,
                format: if w.get("format") == "raw" {
                    DiskFormat::Raw
                } else {
                    DiskFormat::Qcow2
                },
            }],
            DISK_EXISTING => {
                let (pool, volume, format, _) = vol_of(&w.get("volume"))?;
                vec![DiskSource::Volume {
                    pool,
                    volume,
                    format: raw(format),
                }]
            }
            _ => Vec::new(),
        },
    };
    let nic = w.get("nic");
    vm.nic = nic.split_once(' ').map(|(kind, target)| NicSpec {
        source: if kind == "bridge" {
            NicSource::Bridge(target.to_string())
        } else {
            NicSource::Network(target.to_string())
        },
        model: NicModel::ALL
            .into_iter()
            .find(|m| m.as_str() == w.get("model"))
            .unwrap_or(os.nic_model()),
        mac: Some(w.get("mac")).filter(|m| !m.is_empty()),
    });
    (vm.firmware, vm.tpm) = firmware::spec(w, f);
    vm.agent = w.on("agent");
    if let Some((field, why)) = newvm::validate(&vm).into_iter().next() {
        return Err(format!("{field}: {why}"));
    }
    Ok(vm)
}

/// The Create command for the confirmed review page; the job goes into the wizard so its
/// steps show while it runs.
pub fn command(
    w: &mut Wizard,
    ctx: &Context,
    id: crate::host::RequestId,
) -> Result<HostCommand, String> {
    let f = ctx.extra::<Facts>().ok_or("no host facts")?;
    let spec = build(w, f)?;
    let start = w.on("start");
    let job = Job::new(format!("create VM {}", spec.name));
    let labels = steps(&spec, start).iter().map(|s| s.label()).collect();
    w.job = Some((job.clone(), labels));
    Ok(HostCommand::CreateVm(Box::new(CreateVm {
        id,
        spec,
        start,
        job,
    })))
}

/// The host created the VM: remember it so the table selects it when it shows up.
pub fn created(app: &mut App, host: HostId, w: &Wizard) {
    if w.spec_as::<NewVmForm>().is_some() {
        app.created = Some(Created {
            host,
            name: w.get("name"),
            console: w.on("console") && w.on("start"),
        });
    }
}

/// The chosen disk image's first bytes have not been asked for: ask (once per image).
pub fn tick(app: &mut App) -> Vec<Effect> {
    let Mode::Wizard(w) = &mut app.mode else {
        return Vec::new();
    };
    if w.spec_as::<NewVmForm>().is_none() {
        return Vec::new();
    }
    let host = w.host;
    let image = w.get("image");
    let own_disk = matches!(w.get("method").as_str(), IMPORT | CLOUD);
    let Some((pool, volume)) = image.split_once('/') else {
        return Vec::new();
    };
    let Some(NewVmForm { state: st }) = w.spec_as_mut() else {
        return Vec::new();
    };
    if !own_disk || st.heads.contains_key(&image) {
        return Vec::new();
    }
    st.heads.insert(image.clone(), None);
    vec![Effect::Host(
        host,
        HostCommand::Storage(StorageCmd::Sniff {
            id: app.requests.issue(
                host,
                requests::Owner::ImageHead {
                    pool: pool.to_string(),
                    volume: volume.to_string(),
                },
            ),
            pool: pool.to_string(),
            volume: volume.to_string(),
        }),
    )]
}

/// The host read an image's first bytes: keep the verdict and re-check the form.
pub fn image_head(
    app: &mut App,
    host: HostId,
    image: String,
    result: Result<crate::diskimage::Head, String>,
) {
    if let Mode::Wizard(w) = &mut app.mode {
        if w.host == host {
            if let Some(n) = w.spec_as_mut::<NewVmForm>() {
                n.state.heads.insert(image, Some(result));
            }
        }
    }
}

/// After every host message: refresh an open new-VM (or VM detail) form with the new facts
/// (pools, networks, names), and select a created VM once its host lists it.
pub fn follow_up(app: &mut App) -> Vec<Effect> {
    refresh_open(app);
    let Some(c) = app.created.clone() else {
        return Vec::new();
    };
    let exists = app
        .host(c.host)
        .is_some_and(|h| h.vms.iter().any(|v| v.name == c.name));
    // Wait while another overlay is open rather than pull the user out of it.
    if !exists || app.mode != Mode::Normal {
        return Vec::new();
    }
    app.created = None;
    let position = |app: &App| {
        app.vms.rows.iter().position(|r| {
            let (h, vm) = app.vm(*r);
            h.id == c.host && vm.name == c.name
        })
    };
    if position(app).is_none() {
        // A filter hides it: the user asked for this VM, so show it.
        app.set_filter(String::new());
    }
    let Some(i) = position(app) else {
        return Vec::new();
    };
    app.view = View::Pane(PaneId::Vms);
    app.vms.selected = app.vms.line_of_row(i);
    app.vms.cursor_moved = true;
    if c.console {
        return crate::app::console::open(app);
    }
    Vec::new()
}

fn refresh_open(app: &mut App) {
    // The detail screen's forms learn the host's pools the same way (clone, attach).
    if matches!(&app.mode, Mode::Wizard(w) if w.spec.follows_host()) {
        wizard::refresh_open(app);
    }
}

/// The OS database arrived (or failed): keep it and refresh an open form.
pub fn db_loaded(app: &mut App, result: Result<&'static OsDb, String>, took: Duration) {
    let now = app.now;
    app.osdb = match result {
        Ok(db) => {
            app.messages.log(
                Level::Info,
                format!(
                    "OS list: {} variants loaded in {} ms",
                    db.variants().len(),
                    took.as_millis()
                ),
                now,
            );
            OsDbState::Ready(db)
        }
        Err(e) => {
            app.messages.log(Level::Error, format!("OS list: {e}"), now);
            OsDbState::Missing(e)
        }
    };
    refresh_open(app);
}

mod firmware;
mod template;
#[cfg(test)]
mod tests;
