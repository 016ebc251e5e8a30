//! The operating-system database (osinfo-db, `/usr/share/osinfo`) the new-VM wizard uses to
//! pick an OS variant: recommended resources, which virtio devices the OS drives (hence disk
//! bus, NIC model, q35 or pc), install trees, and ISO volume ids for detection.
//!
//! The whole database (about 800 files, 4.5 MiB) is read with quick-xml's streaming reader,
//! keeping only what [`OsVariant`] models; ISO detection regexes are compiled on first use.
//! [`OsDb::shared`] loads it once per process.

mod iso;
mod parse;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use iso::read_volume_id;

/// Where Debian's `osinfo-db` package installs the database.
pub const DEFAULT_DIR: &str = "/usr/share/osinfo";

/// Why the database or an ISO could not be read. Texts are user-facing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OsinfoError {
    #[error("no OS database at {path}: {message} (install the osinfo-db package)")]
    Missing { path: PathBuf, message: String },
    #[error("reading {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("OS database file {file}: {message}")]
    Parse { file: String, message: String },
    #[error("not an ISO 9660 image: {0}")]
    NotIso(String),
}

/// Resources of `<resources>` for x86_64 (or all arches). RAM and storage in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub ram: Option<u64>,
    pub vcpus: Option<u32>,
    pub storage: Option<u64>,
}

/// A network install tree: kernel and initrd paths relative to `url`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstallTree {
    pub arch: String,
    pub url: Option<String>,
    pub kernel: Option<String>,
    pub initrd: Option<String>,
}

impl InstallTree {
    /// Full URLs of the kernel and initrd under `base` (the tree URL the user gave, or the
    /// database's own).
    pub fn boot_urls(&self, base: &str) -> Option<(String, String)> {
        let base = base.trim_end_matches('/');
        Some((
            format!("{base}/{}", self.kernel.as_deref()?),
            format!("{base}/{}", self.initrd.as_deref()?),
        ))
    }
}

/// An installation medium (ISO). `volume_id` is a regex over the ISO's volume id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Media {
    pub arch: String,
    pub url: Option<String>,
    pub volume_id: Option<String>,
    pub kernel: Option<String>,
    pub initrd: Option<String>,
}

/// Which devices the OS has drivers for (from `<devices>`, with those of the OSes it derives
/// from or clones, as libosinfo and virt-install resolve them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OsDevices {
    pub virtio_disk: bool,
    pub virtio_net: bool,
    /// virtio 1.0 (modern) devices; virt-install treats virtio1.0-net as the proxy.
    pub virtio1: bool,
    pub virtio_scsi: bool,
    pub virtio_rng: bool,
    pub virtio_balloon: bool,
    pub virtio_serial: bool,
    pub virtio_gpu: bool,
    /// qemu-xhci (USB 3).
    pub usb3: bool,
    /// The q35 chipset.
    pub q35: bool,
}

impl OsDevices {
    /// Device ids as virt-install 4.1 (`virtinst/osdict.py`) checks them.
    fn from_ids(ids: &HashSet<String>) -> OsDevices {
        let has = |list: &[&str]| {
            list.iter()
                .any(|d| ids.contains(&format!("http://pcisig.com/pci/{d}")))
        };
        OsDevices {
            virtio_disk: has(&["1af4/1001", "1af4/1042"]),
            virtio_net: has(&["1af4/1000", "1af4/1041"]),
            virtio1: has(&["1af4/1041"]),
            virtio_scsi: has(&["1af4/1004", "1af4/1048"]),
            virtio_rng: has(&["1af4/1005", "1af4/1044"]),
            virtio_balloon: has(&["1af4/1002", "1af4/1045"]),
            virtio_serial: has(&["1af4/1003", "1af4/1043"]),
            virtio_gpu: has(&["1af4/1050"]),
            usb3: has(&["1b36/0004"]),
            q35: ids.contains("http://qemu.org/chipset/x86/q35"),
        }
    }
}

/// Disk bus for the VM's disks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskBus {
    Virtio,
    Sata,
    Ide,
}

impl DiskBus {
    pub fn as_str(self) -> &'static str {
        match self {
            DiskBus::Virtio => "virtio",
            DiskBus::Sata => "sata",
            DiskBus::Ide => "ide",
        }
    }

    /// Target device name prefix libvirt expects for the bus (vda, sda, hda).
    pub fn prefix(self) -> &'static str {
        match self {
            DiskBus::Virtio => "vd",
            DiskBus::Sata => "sd",
            DiskBus::Ide => "hd",
        }
    }
}

/// NIC model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NicModel {
    Virtio,
    E1000e,
    E1000,
    Rtl8139,
}

impl NicModel {
    pub const ALL: [NicModel; 4] = [
        NicModel::Virtio,
        NicModel::E1000e,
        NicModel::E1000,
        NicModel::Rtl8139,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NicModel::Virtio => "virtio",
            NicModel::E1000e => "e1000e",
            NicModel::E1000 => "e1000",
            NicModel::Rtl8139 => "rtl8139",
        }
    }
}

/// Machine type: q35 for OSes with q35 and virtio 1.0 drivers, else i440fx (`pc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Machine {
    Q35,
    Pc,
}

impl Machine {
    pub fn as_str(self) -> &'static str {
        match self {
            Machine::Q35 => "q35",
            Machine::Pc => "pc",
        }
    }
}

/// One OS of the database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OsVariant {
    /// The database id (`http://debian.org/debian/11`).
    pub id: String,
    /// The first `<short-id>` (`debian11`): what the wizard stores and shows.
    pub short_id: String,
    /// Further short ids (`debianbullseye`).
    pub aliases: Vec<String>,
    pub name: String,
    pub vendor: Option<String>,
    /// linux, winnt, freebsd…
    pub family: Option<String>,
    pub distro: Option<String>,
    pub version: Option<String>,
    pub codename: Option<String>,
    /// `YYYY-MM-DD`.
    pub release_date: Option<String>,
    /// End of life, `YYYY-MM-DD`.
    pub eol: Option<String>,
    /// released (absent), prerelease, rolling, snapshot.
    pub release_status: Option<String>,
    pub minimum: Resources,
    pub recommended: Resources,
    pub devices: OsDevices,
    pub trees: Vec<InstallTree>,
    pub media: Vec<Media>,
    /// The database lists a cloud image with cloud-init for this OS.
    pub cloud_image: bool,
    /// osinfo-db says it cannot boot from BIOS on x86_64 (Windows 11).
    pub uefi_only: bool,
}

const GIB: u64 = 1 << 30;

impl OsVariant {
    /// What virt-install uses when the OS is unknown: no virtio, pc, IDE, e1000.
    pub fn generic() -> OsVariant {
        OsVariant {
            short_id: "generic".into(),
            name: "Generic OS".into(),
            ..OsVariant::default()
        }
    }

    /// q35 needs the OS to drive the chipset and, if it has virtio-net, virtio 1.0 as well
    /// (virt-install's `supports_chipset_q35`).
    pub fn machine(&self) -> Machine {
        let d = self.devices;
        if d.q35 && (!d.virtio_net || d.virtio1) {
            Machine::Q35
        } else {
            Machine::Pc
        }
    }

    /// virtio if the OS has a virtio-block driver, else SATA on q35 and IDE on pc.
    pub fn disk_bus(&self) -> DiskBus {
        if self.devices.virtio_disk {
            DiskBus::Virtio
        } else {
            self.cdrom_bus()
        }
    }

    /// CD-ROMs cannot be virtio: SATA on q35, IDE on pc.
    pub fn cdrom_bus(&self) -> DiskBus {
        match self.machine() {
            Machine::Q35 => DiskBus::Sata,
            Machine::Pc => DiskBus::Ide,
        }
    }

    /// virtio if the OS has a virtio-net driver, else e1000e on q35 and e1000 on pc.
    pub fn nic_model(&self) -> NicModel {
        if self.devices.virtio_net {
            NicModel::Virtio
        } else if self.machine() == Machine::Q35 {
            NicModel::E1000e
        } else {
            NicModel::E1000
        }
    }

    /// Boots only from UEFI (osinfo-db marks BIOS unsupported): the wizard preselects UEFI.
    pub fn needs_uefi(&self) -> bool {
        self.uefi_only
    }

    /// Secure Boot and a TPM 2.0 are required: osinfo-db has no element for them, so this
    /// is Microsoft's rule for the Windows that refuse BIOS (Windows 11 and later).
    pub fn needs_tpm(&self) -> bool {
        self.uefi_only && self.family.as_deref() == Some("winnt")
    }

    /// Recommended memory in MiB (else the minimum, else 2 GiB).
    pub fn memory_mib(&self) -> u64 {
        self.recommended
            .ram
            .or(self.minimum.ram)
            .map_or(2048, |b| (b >> 20).max(64))
    }

    /// Recommended vCPUs (else the minimum, else 2, virt-install 4's default).
    pub fn vcpus(&self) -> u32 {
        self.recommended
            .vcpus
            .or(self.minimum.vcpus)
            .unwrap_or(2)
            .max(1)
    }

    /// Recommended disk size in bytes (else the minimum, else 20 GiB).
    pub fn storage_bytes(&self) -> u64 {
        self.recommended
            .storage
            .or(self.minimum.storage)
            .unwrap_or(20 * GIB)
    }

    /// The install tree for `arch` (or one for all arches).
    pub fn tree(&self, arch: &str) -> Option<&InstallTree> {
        self.trees
            .iter()
            .find(|t| t.arch == arch)
            .or_else(|| self.trees.iter().find(|t| t.arch == "all"))
    }

    /// End of life on `today` (`YYYY-MM-DD`): past its EOL date, or, without one, released
    /// more than ten years ago (virt-install's rule); rolling releases never are.
    pub fn is_eol_on(&self, today: &str) -> bool {
        if let Some(eol) = &self.eol {
            return eol.as_str() < today;
        }
        if self.release_status.as_deref() == Some("rolling") {
            return false;
        }
        match &self.release_date {
            Some(rel) => match rel.get(..4).and_then(|y| y.parse::<u32>().ok()) {
                Some(y) => format!("{:04}{}", y + 10, &rel[4..]).as_str() < today,
                None => false,
            },
            None => false,
        }
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.short_id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// The loaded database.
pub struct OsDb {
    variants: Vec<OsVariant>,
    /// Files that could not be read or parsed, skipped (libosinfo skips them too).
    skipped: Vec<OsinfoError>,
    by_short_id: HashMap<String, usize>,
    /// (variant index, compiled volume-id regex, pattern length), built on first detection.
    iso_patterns: OnceLock<Vec<(usize, regex::Regex, usize)>>,
}

impl std::fmt::Debug for OsDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OsDb")
            .field("variants", &self.variants.len())
            .finish()
    }
}

impl OsDb {
    /// Reads every `os/*/*.xml` under `dir` (a directory laid out like `/usr/share/osinfo`).
    /// A missing `os` directory is an error; a broken file is skipped (see [`OsDb::skipped`]).
    pub fn load(dir: &Path) -> Result<OsDb, OsinfoError> {
        let os_dir = dir.join("os");
        let vendors = std::fs::read_dir(&os_dir).map_err(|e| OsinfoError::Missing {
            path: os_dir.clone(),
            message: e.to_string(),
        })?;
        let mut files = Vec::new();
        for v in vendors {
            let v = v.map_err(|e| io_err(&os_dir, e))?.path();
            if v.is_dir() {
                for f in std::fs::read_dir(&v).map_err(|e| io_err(&v, e))? {
                    let f = f.map_err(|e| io_err(&v, e))?.path();
                    if f.extension().is_some_and(|x| x == "xml") {
                        files.push(f);
                    }
                }
            }
        }
        // Stable order whatever the directory listing gives.
        files.sort();
        let mut raw = Vec::new();
        let mut skipped = Vec::new();
        // One broken file must not take the whole OS list away from the wizard.
        for f in &files {
            match std::fs::read(f)
                .map_err(|e| io_err(f, e))
                .and_then(|bytes| parse::parse_file(&bytes, &f.to_string_lossy()))
            {
                Ok(oses) => raw.extend(oses),
                Err(e) => skipped.push(e),
            }
        }
        let mut db = OsDb::resolve(raw);
        db.skipped = skipped;
        Ok(db)
    }

    /// The database at [`DEFAULT_DIR`], or at `$OSINFO_SYSTEM_DIR` as libosinfo allows.
    pub fn load_default() -> Result<OsDb, OsinfoError> {
        let dir = std::env::var_os("OSINFO_SYSTEM_DIR")
            .map_or_else(|| PathBuf::from(DEFAULT_DIR), PathBuf::from);
        OsDb::load(&dir)
    }

    /// The default database, loaded on the first call and kept for the process.
    pub fn shared() -> Result<&'static OsDb, OsinfoError> {
        static DB: OnceLock<Result<OsDb, OsinfoError>> = OnceLock::new();
        DB.get_or_init(OsDb::load_default)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Resolves inherited devices and resources (`derives-from`, `clones`).
    fn resolve(raw: Vec<parse::RawOs>) -> OsDb {
        let index: HashMap<&str, usize> = raw
            .iter()
            .enumerate()
            .map(|(i, o)| (o.id.as_str(), i))
            .collect();
        let mut variants = Vec::with_capacity(raw.len());
        let mut verdicts = vec![Verdicts::Unseen; raw.len()];
        for (i, o) in raw.iter().enumerate() {
            let ids: HashSet<String> = device_verdicts(&raw, &index, i, &mut verdicts, 0)
                .into_iter()
                .filter_map(|(id, supported)| supported.then_some(id))
                .collect();
            let (minimum, recommended) = resources(&raw, &index, o, 0);
            let mut short = o.short_ids.iter().cloned();
            variants.push(OsVariant {
                id: o.id.clone(),
                short_id: short.next().unwrap_or_else(|| o.id.clone()),
                aliases: short.collect(),
                name: o.name.clone(),
                vendor: o.vendor.clone(),
                family: o.family.clone(),
                distro: o.distro.clone(),
                version: o.version.clone(),
                codename: o.codename.clone(),
                release_date: o.release_date.clone(),
                eol: o.eol.clone(),
                release_status: o.release_status.clone(),
                minimum,
                recommended,
                devices: OsDevices::from_ids(&ids),
                trees: o.trees.clone(),
                media: o.media.clone(),
                cloud_image: o.cloud_image,
                uefi_only: o.uefi_only,
            });
        }
        let mut by_short_id = HashMap::new();
        for (i, v) in variants.iter().enumerate() {
            for n in v.names() {
                by_short_id.entry(n.to_string()).or_insert(i);
            }
        }
        OsDb {
            variants,
            skipped: Vec::new(),
            by_short_id,
            iso_patterns: OnceLock::new(),
        }
    }

    /// Files left out because they could not be read or parsed (for a warning).
    pub fn skipped(&self) -> &[OsinfoError] {
        &self.skipped
    }

    pub fn variants(&self) -> &[OsVariant] {
        &self.variants
    }

    /// The variant with this short id or alias.
    pub fn get(&self, short_id: &str) -> Option<&OsVariant> {
        self.by_short_id.get(short_id).map(|&i| &self.variants[i])
    }

    /// Variants matching `query`, best first, as of today. See [`OsDb::search_on`].
    pub fn search(&self, query: &str) -> Vec<&OsVariant> {
        self.search_on(query, &today())
    }

    /// Variants matching `query` (case-insensitive) on short id, aliases and name: an exact
    /// short id first, then substring matches, then fuzzy ones (the query's characters in
    /// order). Within each group: supported before end-of-life (as of `today`,
    /// `YYYY-MM-DD`), newest release first. An empty query lists everything.
    pub fn search_on(&self, query: &str, today: &str) -> Vec<&OsVariant> {
        let q = query.trim().to_lowercase();
        let mut hits: Vec<(u8, bool, &OsVariant)> = self
            .variants
            .iter()
            .filter_map(|v| {
                let name = v.name.to_lowercase();
                let rank = if q.is_empty() {
                    1
                } else if v.names().any(|n| n == q) {
                    0
                } else if v.names().any(|n| n.contains(&q)) || name.contains(&q) {
                    1
                } else if v.names().any(|n| subsequence(&q, n)) || subsequence(&q, &name) {
                    2
                } else {
                    return None;
                };
                Some((rank, v.is_eol_on(today), v))
            })
            .collect();
        hits.sort_by(|a, b| {
            (a.0, a.1)
                .cmp(&(b.0, b.1))
                // Newest first; undated (testing, rolling) after the dated ones.
                .then_with(|| match (&a.2.release_date, &b.2.release_date) {
                    (Some(x), Some(y)) => y.cmp(x),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                })
                .then_with(|| a.2.short_id.cmp(&b.2.short_id))
        });
        hits.into_iter().map(|(_, _, v)| v).collect()
    }

    /// The OS whose install media's volume-id pattern matches `volume_id` (as read by
    /// [`read_volume_id`]); when several match, the one with the longest (most specific)
    /// pattern. Patterns Rust's regex engine cannot compile (look-around) are skipped.
    pub fn detect_iso(&self, volume_id: &str) -> Option<&OsVariant> {
        self.detect_iso_all(volume_id).into_iter().next()
    }

    /// Every OS whose media pattern matches, most specific pattern first, each once.
    pub fn detect_iso_all(&self, volume_id: &str) -> Vec<&OsVariant> {
        let patterns = self.iso_patterns.get_or_init(|| self.compile_patterns());
        let mut hits: Vec<(usize, usize)> = patterns
            .iter()
            .filter(|(_, re, _)| re.is_match(volume_id))
            .map(|(i, _, len)| (*i, *len))
            .collect();
        hits.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut seen = HashSet::new();
        hits.into_iter()
            .filter(|(i, _)| seen.insert(*i))
            .map(|(i, _)| &self.variants[i])
            .collect()
    }

    fn compile_patterns(&self) -> Vec<(usize, regex::Regex, usize)> {
        let mut out = Vec::new();
        for (i, v) in self.variants.iter().enumerate() {
            for m in &v.media {
                if let Some(p) = &m.volume_id {
                    if let Ok(re) = regex::Regex::new(p) {
                        out.push((i, re, p.len()));
                    }
                }
            }
        }
        out
    }
}

fn io_err(path: &Path, e: std::io::Error) -> OsinfoError {
    OsinfoError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Parent chains are short; the depth cap only guards against a cycle in a broken database.
const MAX_DEPTH: usize = 32;

/// What an entry's inheritance chain says about each device id (the last word wins), worked
/// out once per entry: walking every path instead is exponential when entries name each
/// other as both `derives-from` and `clones`.
#[derive(Clone)]
enum Verdicts {
    Unseen,
    /// Being resolved: met again only through a cycle, which adds nothing.
    Busy,
    Done(HashMap<String, bool>),
}

fn device_verdicts(
    raw: &[parse::RawOs],
    index: &HashMap<&str, usize>,
    at: usize,
    memo: &mut [Verdicts],
    depth: usize,
) -> HashMap<String, bool> {
    match &memo[at] {
        Verdicts::Done(v) => return v.clone(),
        Verdicts::Busy => return HashMap::new(),
        Verdicts::Unseen if depth > MAX_DEPTH => return HashMap::new(),
        Verdicts::Unseen => {}
    }
    memo[at] = Verdicts::Busy;
    let o = &raw[at];
    // Parents in order, a later one overriding an earlier one, the entry's own flags last.
    let mut out = HashMap::new();
    for p in &o.parents {
        if let Some(&i) = index.get(p.as_str()) {
            out.extend(device_verdicts(raw, index, i, memo, depth + 1));
        }
    }
    out.extend(o.devices.iter().cloned());
    memo[at] = Verdicts::Done(out.clone());
    out
}

fn resources(
    raw: &[parse::RawOs],
    index: &HashMap<&str, usize>,
    o: &parse::RawOs,
    depth: usize,
) -> (Resources, Resources) {
    if o.inherit_resources && depth <= MAX_DEPTH {
        if let Some(&i) = o.parents.first().and_then(|p| index.get(p.as_str())) {
            return resources(raw, index, &raw[i], depth + 1);
        }
    }
    (
        o.minimum.unwrap_or_default(),
        o.recommended.unwrap_or_default(),
    )
}

/// Whether the characters of `needle` appear in `hay` in order.
fn subsequence(needle: &str, hay: &str) -> bool {
    let mut h = hay.chars();
    needle.chars().all(|c| h.any(|x| x == c))
}

/// Today's UTC date as `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's civil_from_days),
/// so no date crate is needed.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests;
