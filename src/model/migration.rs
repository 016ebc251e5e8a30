//! Migration as plain data: the options the migrate wizard collects, how they map to libvirt's
//! flags and typed parameters, and the record the migrations pane shows (phase, progress,
//! speed, ETA, downtime, libvirt's error). No I/O here: the runner is `host::migrate`.
//!
//! Flow: the app gives each migration an id, builds a [`Migration`] record (phase `Preflight`
//! or `Queued`), sends `HostCommand::Migrate(MigrateCmd::Start { .. })` to the *source* host's
//! worker and feeds every `HostEvent::Migration(update)` it gets back into
//! [`Migration::apply`].

use std::time::{Duration, Instant};

use super::HostId;

/// Chosen by the app, unique for the process; every update and command carries it.
pub type MigrationId = u64;

/// How the VM moves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MigrationKind {
    /// The guest keeps running while its memory is copied (`VIR_MIGRATE_LIVE`).
    #[default]
    Live,
    /// The guest is paused for the whole copy (no `VIR_MIGRATE_LIVE`): slower for the guest,
    /// but always converges.
    Suspended,
    /// Only the definition moves (`VIR_MIGRATE_OFFLINE`): for a stopped VM.
    Offline,
}

impl MigrationKind {
    pub fn label(self) -> &'static str {
        match self {
            MigrationKind::Live => "live",
            MigrationKind::Suspended => "suspended",
            MigrationKind::Offline => "offline",
        }
    }
}

/// Copying disks to the target during the migration (for storage the target does not share).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CopyStorage {
    #[default]
    None,
    /// Whole disks (`VIR_MIGRATE_NON_SHARED_DISK`).
    All,
    /// Only what is above a backing image both hosts have (`VIR_MIGRATE_NON_SHARED_INC`).
    Incremental,
}

/// A memory compression method (`VIR_MIGRATE_PARAM_COMPRESSION`). zlib and zstd need
/// parallel (multifd) migration, which virtdeck does not offer, so they are not listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Sends deltas of pages that changed since the last pass; good for busy guests.
    Xbzrle,
    /// Multi-threaded zlib compression of every page.
    Mt,
}

impl Compression {
    /// The name libvirt expects.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Xbzrle => "xbzrle",
            Compression::Mt => "mt",
        }
    }
}

/// Post-copy: after pre-copy has started, the guest switches to running on the target and
/// pulls the pages it still misses. Needs `VIR_MIGRATE_POSTCOPY` at start and then a switch
/// call (`virDomainMigrateStartPostCopy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PostCopy {
    #[default]
    Off,
    /// Allowed; the user switches from the migrations pane (`MigrateCmd::PostCopy`).
    Manual,
    /// Switched automatically once the first full pass over memory is done.
    AfterFirstPass,
}

/// Everything the migrate wizard asks. `Default` is what the wizard starts from: live, direct
/// (not peer-to-peer), persist on the target, undefine on the source, no storage copy,
/// unlimited bandwidth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationOptions {
    pub kind: MigrationKind,
    /// The source daemon talks to the target daemon itself (`VIR_MIGRATE_PEER2PEER`); without
    /// it virtdeck opens a connection to the target and drives both sides.
    pub peer_to_peer: bool,
    /// Data goes through the libvirtd connection instead of a direct QEMU-to-QEMU socket
    /// (`VIR_MIGRATE_TUNNELLED`); needs `peer_to_peer`.
    pub tunnelled: bool,
    pub copy_storage: CopyStorage,
    /// Define the VM on the target (`VIR_MIGRATE_PERSIST_DEST`).
    pub persist: bool,
    /// Remove the definition from the source afterwards (`VIR_MIGRATE_UNDEFINE_SOURCE`).
    pub undefine_source: bool,
    /// MiB/s; `None` (or 0) means unlimited.
    pub bandwidth_mib_s: Option<u64>,
    /// Longest pause of the guest at switch-over, in ms; `None` keeps the hypervisor default
    /// (300 ms for QEMU). Set right before the migration starts.
    pub max_downtime_ms: Option<u64>,
    /// Empty: no compression.
    pub compression: Vec<Compression>,
    /// Throttle the guest's vCPUs when it dirties memory faster than the link copies it.
    pub auto_converge: bool,
    pub post_copy: PostCopy,
    /// Migrate even though libvirt thinks the disks are not safely shared
    /// (`VIR_MIGRATE_UNSAFE`): for a cluster filesystem libvirt does not recognise, or two
    /// daemons on one machine. Data corruption if the disks really are not shared.
    pub allow_unsafe: bool,
}

impl Default for MigrationOptions {
    fn default() -> Self {
        MigrationOptions {
            kind: MigrationKind::Live,
            peer_to_peer: false,
            tunnelled: false,
            copy_storage: CopyStorage::None,
            persist: true,
            undefine_source: true,
            bandwidth_mib_s: None,
            max_downtime_ms: None,
            compression: Vec::new(),
            auto_converge: false,
            post_copy: PostCopy::Off,
            allow_unsafe: false,
        }
    }
}

/// A combination libvirt (9.x with a blockdev-capable QEMU) refuses, caught before asking it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    #[error("tunnelled migration needs peer-to-peer")]
    TunnelledNeedsPeerToPeer,
    #[error("post-copy needs a live migration")]
    PostCopyNeedsLive,
    #[error("post-copy is not supported with tunnelled migration")]
    PostCopyTunnelled,
    #[error("offline migration must persist the VM on the target")]
    OfflineNeedsPersist,
    #[error("offline migration cannot copy storage")]
    OfflineCopyStorage,
    #[error("tunnelled offline migration does not make sense")]
    OfflineTunnelled,
    #[error("copying storage is not supported through a tunnelled migration")]
    TunnelledCopyStorage,
    #[error("max downtime must be at least 1 ms")]
    ZeroDowntime,
    #[error("compression method {0} is listed twice")]
    DuplicateCompression(&'static str),
}

/// libvirt's `VIR_MIGRATE_*` flag bits (`virDomainMigrateFlags`), spelled out so the model
/// needs no FFI; a test checks them against the bindings.
pub mod flags {
    pub const LIVE: u32 = 1 << 0;
    pub const PEER2PEER: u32 = 1 << 1;
    pub const TUNNELLED: u32 = 1 << 2;
    pub const PERSIST_DEST: u32 = 1 << 3;
    pub const UNDEFINE_SOURCE: u32 = 1 << 4;
    pub const NON_SHARED_DISK: u32 = 1 << 6;
    pub const NON_SHARED_INC: u32 = 1 << 7;
    pub const UNSAFE: u32 = 1 << 9;
    pub const OFFLINE: u32 = 1 << 10;
    pub const COMPRESSED: u32 = 1 << 11;
    pub const AUTO_CONVERGE: u32 = 1 << 13;
    pub const POSTCOPY: u32 = 1 << 15;
}

/// `VIR_MIGRATE_PARAM_*` names used here.
pub mod param {
    pub const URI: &str = "migrate_uri";
    pub const BANDWIDTH: &str = "bandwidth";
    pub const COMPRESSION: &str = "compression";
}

/// A typed parameter value for `virDomainMigrate3` / `virDomainMigrateToURI3`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamValue {
    Str(String),
    ULLong(u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub value: ParamValue,
}

/// What to pass to libvirt: flags and typed parameters (a name may repeat, e.g. compression).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub flags: u32,
    pub params: Vec<Param>,
}

impl MigrationOptions {
    /// Refuses combinations libvirt refuses, with a message for the wizard.
    pub fn validate(&self) -> Result<(), OptionError> {
        if self.tunnelled && !self.peer_to_peer {
            return Err(OptionError::TunnelledNeedsPeerToPeer);
        }
        if self.post_copy != PostCopy::Off {
            if self.kind != MigrationKind::Live {
                return Err(OptionError::PostCopyNeedsLive);
            }
            if self.tunnelled {
                return Err(OptionError::PostCopyTunnelled);
            }
        }
        if self.kind == MigrationKind::Offline {
            if !self.persist {
                return Err(OptionError::OfflineNeedsPersist);
            }
            if self.copy_storage != CopyStorage::None {
                return Err(OptionError::OfflineCopyStorage);
            }
            if self.tunnelled {
                return Err(OptionError::OfflineTunnelled);
            }
        }
        // QEMU with -blockdev (libvirt's default since QEMU 5.x) copies disks over NBD, which
        // libvirt cannot tunnel.
        if self.tunnelled && self.copy_storage != CopyStorage::None {
            return Err(OptionError::TunnelledCopyStorage);
        }
        if self.max_downtime_ms == Some(0) {
            return Err(OptionError::ZeroDowntime);
        }
        for (i, c) in self.compression.iter().enumerate() {
            if self.compression[..i].contains(c) {
                return Err(OptionError::DuplicateCompression(c.name()));
            }
        }
        Ok(())
    }

    /// The flags and parameters for libvirt. `migrate_uri` is where the target's QEMU
    /// listens (see [`migration_uri`]); it is left out for tunnelled and offline migrations,
    /// which have no QEMU-to-QEMU stream. Offline migrations copy no memory, so bandwidth,
    /// compression and auto-converge are not sent for them either.
    pub fn to_call(&self, migrate_uri: Option<&str>) -> Result<Call, OptionError> {
        self.validate()?;
        let mut f = 0;
        let mut params = Vec::new();
        match self.kind {
            MigrationKind::Live => f |= flags::LIVE,
            MigrationKind::Suspended => {}
            MigrationKind::Offline => f |= flags::OFFLINE,
        }
        if self.peer_to_peer {
            f |= flags::PEER2PEER;
        }
        if self.tunnelled {
            f |= flags::TUNNELLED;
        }
        if self.persist {
            f |= flags::PERSIST_DEST;
        }
        if self.undefine_source {
            f |= flags::UNDEFINE_SOURCE;
        }
        match self.copy_storage {
            CopyStorage::None => {}
            CopyStorage::All => f |= flags::NON_SHARED_DISK,
            CopyStorage::Incremental => f |= flags::NON_SHARED_INC,
        }
        if self.allow_unsafe {
            f |= flags::UNSAFE;
        }
        if self.post_copy != PostCopy::Off {
            f |= flags::POSTCOPY;
        }
        let moves_memory = self.kind != MigrationKind::Offline;
        if moves_memory {
            if self.auto_converge {
                f |= flags::AUTO_CONVERGE;
            }
            if !self.compression.is_empty() {
                f |= flags::COMPRESSED;
                params.extend(self.compression.iter().map(|c| Param {
                    name: param::COMPRESSION,
                    value: ParamValue::Str(c.name().to_string()),
                }));
            }
            if let Some(bw) = self.bandwidth_mib_s.filter(|&b| b > 0) {
                params.push(Param {
                    name: param::BANDWIDTH,
                    value: ParamValue::ULLong(bw),
                });
            }
            if let Some(uri) = migrate_uri.filter(|_| !self.tunnelled) {
                params.push(Param {
                    name: param::URI,
                    value: ParamValue::Str(uri.to_string()),
                });
            }
        }
        Ok(Call { flags: f, params })
    }

    /// Short description for the pane's "type" column: `live p2p tunnelled +storage`.
    pub fn summary(&self) -> String {
        let mut s = self.kind.label().to_string();
        if self.peer_to_peer {
            s.push_str(" p2p");
        }
        if self.tunnelled {
            s.push_str(" tunnelled");
        }
        match self.copy_storage {
            CopyStorage::None => {}
            CopyStorage::All => s.push_str(" +storage"),
            CopyStorage::Incremental => s.push_str(" +storage(inc)"),
        }
        if self.post_copy != PostCopy::Off {
            s.push_str(" post-copy");
        }
        s
    }
}

/// The `migrate_uri` for a target whose QEMU is reached at `address` (a host name or an IP
/// address; IPv6 gets brackets). libvirt otherwise uses the target's own host name, which
/// must resolve to a non-loopback address from the source (libvirt refuses a target that
/// resolves to localhost). Configure a per-host migration address when that does not hold:
/// several NICs, a dedicated migration network, or two daemons on one machine.
pub fn migration_uri(address: &str) -> String {
    let a = address.trim();
    if a.contains(':') && !a.starts_with('[') {
        format!("tcp://[{a}]")
    } else {
        format!("tcp://{a}")
    }
}

/// Where a migration stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Checks are running or shown; nothing started.
    Preflight,
    /// Waiting for a slot (evacuation's concurrency limit).
    Queued,
    Running,
    /// All data sent (or post-copy switched); the hosts are handing over.
    Completing,
    Succeeded,
    Failed,
    Cancelled,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Preflight => "pre-flight",
            Phase::Queued => "queued",
            Phase::Running => "running",
            Phase::Completing => "completing",
            Phase::Succeeded => "succeeded",
            Phase::Failed => "failed",
            Phase::Cancelled => "cancelled",
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(self, Phase::Succeeded | Phase::Failed | Phase::Cancelled)
    }

    /// Started on a host and not finished: cancel and speed changes apply.
    pub fn is_active(self) -> bool {
        matches!(self, Phase::Running | Phase::Completing)
    }
}

/// One sample of libvirt's job statistics (`virDomainGetJobStats`); fields the hypervisor did
/// not report are `None`. Bytes, except where named.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub data_total: Option<u64>,
    pub data_processed: Option<u64>,
    pub data_remaining: Option<u64>,
    pub mem_total: Option<u64>,
    pub mem_processed: Option<u64>,
    pub mem_remaining: Option<u64>,
    pub disk_total: Option<u64>,
    pub disk_processed: Option<u64>,
    pub disk_remaining: Option<u64>,
    /// Pages the guest dirties per second.
    pub mem_dirty_rate: Option<u64>,
    /// Passes over memory so far (1 during the first full copy).
    pub mem_iteration: Option<u64>,
    /// libvirt's own bandwidth estimate for memory, bytes/s.
    pub mem_bps: Option<u64>,
    pub time_elapsed_ms: Option<u64>,
    /// libvirt's estimate of the time left (bounded jobs only).
    pub time_remaining_ms: Option<u64>,
    /// ms: QEMU's expected downtime while running (it starts at the max downtime), the
    /// measured one in a completed job's statistics.
    pub downtime_ms: Option<u64>,
    /// vCPU throttle of auto-converge, percent.
    pub auto_converge_throttle: Option<u32>,
}

/// How a migration ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `downtime_ms` / `total_ms` / `data_bytes` (all data sent) from the completed job's
    /// statistics, when libvirt kept them.
    Succeeded {
        downtime_ms: Option<u64>,
        total_ms: Option<u64>,
        data_bytes: Option<u64>,
    },
    /// libvirt's error text.
    Failed(String),
    Cancelled,
}

/// Which running-migration setting a control command changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// MiB/s.
    MaxSpeed(u64),
    /// ms.
    MaxDowntime(u64),
    PostCopy,
    Cancel,
}

/// What the runner reports about one migration (`HostEvent::Migration`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MigrationEvent {
    /// The runner took it: phase Running.
    Started,
    /// Boxed: a sample is large and most events are small.
    Progress(Box<Progress>),
    /// The job ended on the hosts; the final handshake is still going.
    Completing,
    /// Post-copy is on: the guest runs on the target from now on.
    PostCopyStarted,
    /// A control command's answer (`Err` carries libvirt's text).
    Control {
        setting: Setting,
        result: Result<(), String>,
    },
    Finished(Outcome),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationUpdate {
    pub id: MigrationId,
    pub event: MigrationEvent,
}

/// A migration as the pane shows it; kept after it finishes, with its result.
#[derive(Clone, Debug, PartialEq)]
pub struct Migration {
    pub id: MigrationId,
    pub vm_name: String,
    pub vm_uuid: String,
    pub source: HostId,
    pub target: HostId,
    pub options: MigrationOptions,
    pub phase: Phase,
    pub progress: Progress,
    /// Bytes per second from the last two samples of processed data (smoothed).
    pub speed_bps: Option<f64>,
    pub started: Option<Instant>,
    pub finished: Option<Instant>,
    /// Measured guest downtime at switch-over, ms (from the completed job; `None` until the
    /// end, or when libvirt kept no statistics).
    pub downtime_ms: Option<u64>,
    /// Post-copy switched on.
    pub postcopy: bool,
    /// libvirt's error for a failed migration, or the last refused control command.
    pub error: Option<String>,
    /// A cancel was asked for and not yet answered.
    pub cancelling: bool,
    last_sample: Option<(Instant, u64)>,
}

/// Weight of the newest sample in the speed average: reacts within a couple of seconds but
/// does not jump with every 500 ms sample.
const SPEED_WEIGHT: f64 = 0.5;

impl Migration {
    pub fn new(
        id: MigrationId,
        vm_name: impl Into<String>,
        vm_uuid: impl Into<String>,
        source: HostId,
        target: HostId,
        options: MigrationOptions,
    ) -> Migration {
        Migration {
            id,
            vm_name: vm_name.into(),
            vm_uuid: vm_uuid.into(),
            source,
            target,
            options,
            phase: Phase::Preflight,
            progress: Progress::default(),
            speed_bps: None,
            started: None,
            finished: None,
            downtime_ms: None,
            postcopy: false,
            error: None,
            cancelling: false,
            last_sample: None,
        }
    }

    /// Applies one runner event received at `now`. Events after the end are ignored (a late
    /// sample must not revive a finished row).
    pub fn apply(&mut self, ev: &MigrationEvent, now: Instant) {
        if self.phase.is_finished() {
            return;
        }
        match ev {
            MigrationEvent::Started => {
                self.phase = Phase::Running;
                self.started.get_or_insert(now);
            }
            MigrationEvent::Progress(p) => {
                self.started.get_or_insert(now);
                if self.phase != Phase::Completing {
                    self.phase = Phase::Running;
                }
                if let Some(done) = p.data_processed {
                    if let Some((t0, d0)) = self.last_sample {
                        let dt = now.saturating_duration_since(t0).as_secs_f64();
                        if dt >= 0.1 && done >= d0 {
                            let s = (done - d0) as f64 / dt;
                            self.speed_bps = Some(match self.speed_bps {
                                Some(old) => old + SPEED_WEIGHT * (s - old),
                                None => s,
                            });
                        }
                    }
                    if self.last_sample.is_none_or(|(t0, _)| {
                        now.saturating_duration_since(t0) >= Duration::from_millis(100)
                    }) {
                        self.last_sample = Some((now, done));
                    }
                }
                // Everything sent: only the switch-over is left (in a pre-copy migration
                // the guest is paused for it right now).
                if p.data_total.is_some_and(|t| t > 0) && p.data_remaining == Some(0) {
                    self.phase = Phase::Completing;
                }
                self.progress = (**p).clone();
            }
            MigrationEvent::Completing => self.phase = Phase::Completing,
            MigrationEvent::PostCopyStarted => {
                self.postcopy = true;
                self.phase = Phase::Completing;
            }
            MigrationEvent::Control { setting, result } => match result {
                Ok(()) => {
                    match *setting {
                        Setting::MaxSpeed(m) => self.options.bandwidth_mib_s = Some(m),
                        Setting::MaxDowntime(ms) => self.options.max_downtime_ms = Some(ms),
                        Setting::PostCopy | Setting::Cancel => {}
                    }
                    self.error = None;
                }
                Err(e) => {
                    if *setting == Setting::Cancel {
                        self.cancelling = false;
                    }
                    self.error = Some(e.clone());
                }
            },
            MigrationEvent::Finished(outcome) => {
                self.finished = Some(now);
                self.started.get_or_insert(now);
                self.cancelling = false;
                match outcome {
                    Outcome::Succeeded {
                        downtime_ms,
                        data_bytes,
                        ..
                    } => {
                        self.phase = Phase::Succeeded;
                        self.error = None;
                        if downtime_ms.is_some() {
                            self.downtime_ms = *downtime_ms;
                        }
                        // A migration quicker than one progress sample still shows its data.
                        if self.progress.data_total.is_none() {
                            self.progress.data_total = *data_bytes;
                        }
                        if let Some(total) = self.progress.data_total {
                            self.progress.data_processed = Some(total);
                            self.progress.data_remaining = Some(0);
                        }
                    }
                    Outcome::Failed(e) => {
                        self.phase = Phase::Failed;
                        self.error = Some(e.clone());
                    }
                    Outcome::Cancelled => self.phase = Phase::Cancelled,
                }
            }
        }
    }

    /// Marks the end without the runner (refused before it started, host gone).
    pub fn fail(&mut self, error: impl Into<String>, now: Instant) {
        self.apply(
            &MigrationEvent::Finished(Outcome::Failed(error.into())),
            now,
        );
    }

    /// Done fraction 0.0..=1.0 of all data (memory + disks), if libvirt reported a total.
    pub fn ratio(&self) -> Option<f64> {
        if self.phase == Phase::Succeeded {
            return Some(1.0);
        }
        let total = self.progress.data_total.filter(|&t| t > 0)?;
        let done = match (self.progress.data_processed, self.progress.data_remaining) {
            // Remaining is what libvirt means by progress (memory is re-sent in later passes,
            // so processed can exceed the total).
            (_, Some(rem)) => total.saturating_sub(rem),
            (Some(p), None) => p,
            (None, None) => return None,
        };
        Some((done as f64 / total as f64).clamp(0.0, 1.0))
    }

    /// Time left at the current speed.
    pub fn eta(&self) -> Option<Duration> {
        if !self.phase.is_active() {
            return None;
        }
        let rem = self.progress.data_remaining?;
        let speed = self.speed_bps.filter(|&s| s > 1.0)?;
        Some(Duration::from_secs_f64(rem as f64 / speed))
    }

    /// Time since the start; frozen at the end.
    pub fn elapsed(&self, now: Instant) -> Option<Duration> {
        let start = self.started?;
        let end = self.finished.unwrap_or(now);
        Some(end.saturating_duration_since(start))
    }

    /// `412 MiB / 1.0 GiB` of data, or `-` before the first sample.
    pub fn data_label(&self) -> String {
        match (self.progress.data_total, self.ratio()) {
            (Some(total), Some(r)) if total > 0 => format!(
                "{} / {}",
                crate::fmt::bytes((r * total as f64) as u64),
                crate::fmt::bytes(total)
            ),
            _ => "-".to_string(),
        }
    }

    /// `45%`, or `-`.
    pub fn percent_label(&self) -> String {
        match self.ratio() {
            Some(r) => format!("{:.0}%", r * 100.0),
            None => "-".to_string(),
        }
    }

    /// `1.0 MiB/s`, or `-`.
    pub fn speed_label(&self) -> String {
        match self.speed_bps.filter(|_| self.phase.is_active()) {
            Some(s) => crate::fmt::rate(s),
            None => "-".to_string(),
        }
    }

    /// `3m12s`, or `-`.
    pub fn eta_label(&self) -> String {
        self.eta()
            .map(crate::fmt::duration)
            .unwrap_or_else(|| "-".to_string())
    }

    /// `24 ms`, or `-`.
    pub fn downtime_label(&self) -> String {
        match self.downtime_ms {
            Some(ms) => format!("{ms} ms"),
            None => "-".to_string(),
        }
    }

    /// The phase as the pane shows it: `running (post-copy)`, `cancelling`…
    pub fn phase_label(&self) -> String {
        if self.cancelling && self.phase.is_active() {
            return "cancelling".to_string();
        }
        if self.postcopy && self.phase.is_active() {
            return format!("{} (post-copy)", self.phase.label());
        }
        self.phase.label().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(o: &MigrationOptions) -> Call {
        o.to_call(Some("tcp://192.0.2.2")).unwrap()
    }

    #[test]
    fn flag_bits_match_libvirt() {
        use virt::sys;
        assert_eq!(flags::LIVE, sys::VIR_MIGRATE_LIVE);
        assert_eq!(flags::PEER2PEER, sys::VIR_MIGRATE_PEER2PEER);
        assert_eq!(flags::TUNNELLED, sys::VIR_MIGRATE_TUNNELLED);
        assert_eq!(flags::PERSIST_DEST, sys::VIR_MIGRATE_PERSIST_DEST);
        assert_eq!(flags::UNDEFINE_SOURCE, sys::VIR_MIGRATE_UNDEFINE_SOURCE);
        assert_eq!(flags::NON_SHARED_DISK, sys::VIR_MIGRATE_NON_SHARED_DISK);
        assert_eq!(flags::NON_SHARED_INC, sys::VIR_MIGRATE_NON_SHARED_INC);
        assert_eq!(flags::UNSAFE, sys::VIR_MIGRATE_UNSAFE);
        assert_eq!(flags::OFFLINE, sys::VIR_MIGRATE_OFFLINE);
        assert_eq!(flags::COMPRESSED, sys::VIR_MIGRATE_COMPRESSED);
        assert_eq!(flags::AUTO_CONVERGE, sys::VIR_MIGRATE_AUTO_CONVERGE);
        assert_eq!(flags::POSTCOPY, sys::VIR_MIGRATE_POSTCOPY);
    }

    #[test]
    fn param_names_match_libvirt() {
        use virt::sys;
        let name = |c: &std::ffi::CStr| c.to_str().unwrap().to_string();
        assert_eq!(param::URI, name(sys::VIR_MIGRATE_PARAM_URI));
        assert_eq!(param::BANDWIDTH, name(sys::VIR_MIGRATE_PARAM_BANDWIDTH));
        assert_eq!(param::COMPRESSION, name(sys::VIR_MIGRATE_PARAM_COMPRESSION));
    }

    #[test]
    fn defaults_are_live_persist_undefine_unlimited() {
        let o = MigrationOptions::default();
        let c = call(&o);
        assert_eq!(
            c.flags,
            flags::LIVE | flags::PERSIST_DEST | flags::UNDEFINE_SOURCE
        );
        assert_eq!(
            c.params,
            vec![Param {
                name: param::URI,
                value: ParamValue::Str("tcp://192.0.2.2".into())
            }],
            "no bandwidth parameter: unlimited"
        );
        assert_eq!(o.to_call(None).unwrap().params, vec![]);
    }

    #[test]
    fn each_option_sets_its_flag() {
        let base = MigrationOptions {
            persist: false,
            undefine_source: false,
            ..MigrationOptions::default()
        };
        let with = |f: &dyn Fn(&mut MigrationOptions)| {
            let mut o = base.clone();
            f(&mut o);
            call(&o).flags & !flags::LIVE
        };
        assert_eq!(with(&|_| {}), 0);
        assert_eq!(with(&|o| o.peer_to_peer = true), flags::PEER2PEER);
        assert_eq!(
            with(&|o| {
                o.peer_to_peer = true;
                o.tunnelled = true
            }),
            flags::PEER2PEER | flags::TUNNELLED
        );
        assert_eq!(with(&|o| o.persist = true), flags::PERSIST_DEST);
        assert_eq!(with(&|o| o.undefine_source = true), flags::UNDEFINE_SOURCE);
        assert_eq!(
            with(&|o| o.copy_storage = CopyStorage::All),
            flags::NON_SHARED_DISK
        );
        assert_eq!(
            with(&|o| o.copy_storage = CopyStorage::Incremental),
            flags::NON_SHARED_INC
        );
        assert_eq!(with(&|o| o.allow_unsafe = true), flags::UNSAFE);
        assert_eq!(with(&|o| o.auto_converge = true), flags::AUTO_CONVERGE);
        assert_eq!(
            with(&|o| o.compression = vec![Compression::Xbzrle]),
            flags::COMPRESSED
        );
        assert_eq!(with(&|o| o.post_copy = PostCopy::Manual), flags::POSTCOPY);
        assert_eq!(
            with(&|o| o.post_copy = PostCopy::AfterFirstPass),
            flags::POSTCOPY
        );
        // Live is its own bit; suspended has none.
        assert_eq!(call(&base).flags & flags::LIVE, flags::LIVE);
        let susp = MigrationOptions {
            kind: MigrationKind::Suspended,
            ..base.clone()
        };
        assert_eq!(call(&susp).flags, 0);
    }

    #[test]
    fn bandwidth_and_compression_become_parameters() {
        let o = MigrationOptions {
            bandwidth_mib_s: Some(1),
            compression: vec![Compression::Xbzrle, Compression::Mt],
            ..MigrationOptions::default()
        };
        let c = call(&o);
        let names: Vec<_> = c.params.iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            ["compression", "compression", "bandwidth", "migrate_uri"]
        );
        assert_eq!(c.params[0].value, ParamValue::Str("xbzrle".into()));
        assert_eq!(c.params[1].value, ParamValue::Str("mt".into()));
        assert_eq!(c.params[2].value, ParamValue::ULLong(1));
        // 0 means unlimited, as in virsh.
        let zero = MigrationOptions {
            bandwidth_mib_s: Some(0),
            ..MigrationOptions::default()
        };
        assert!(call(&zero).params.iter().all(|p| p.name != "bandwidth"));
    }

    #[test]
    fn tunnelled_has_no_migrate_uri() {
        let o = MigrationOptions {
            peer_to_peer: true,
            tunnelled: true,
            ..MigrationOptions::default()
        };
        assert!(call(&o).params.iter().all(|p| p.name != param::URI));
    }

    #[test]
    fn offline_moves_only_the_definition() {
        let o = MigrationOptions {
            kind: MigrationKind::Offline,
            bandwidth_mib_s: Some(5),
            auto_converge: true,
            compression: vec![Compression::Mt],
            ..MigrationOptions::default()
        };
        let c = call(&o);
        assert_eq!(
            c.flags,
            flags::OFFLINE | flags::PERSIST_DEST | flags::UNDEFINE_SOURCE
        );
        assert!(c.params.is_empty(), "{:?}", c.params);
    }

    #[test]
    fn refused_combinations() {
        let d = MigrationOptions::default;
        let err = |o: MigrationOptions| o.validate().unwrap_err();
        assert_eq!(
            err(MigrationOptions {
                tunnelled: true,
                ..d()
            }),
            OptionError::TunnelledNeedsPeerToPeer
        );
        assert_eq!(
            err(MigrationOptions {
                kind: MigrationKind::Suspended,
                post_copy: PostCopy::Manual,
                ..d()
            }),
            OptionError::PostCopyNeedsLive
        );
        assert_eq!(
            err(MigrationOptions {
                peer_to_peer: true,
                tunnelled: true,
                post_copy: PostCopy::AfterFirstPass,
                ..d()
            }),
            OptionError::PostCopyTunnelled
        );
        assert_eq!(
            err(MigrationOptions {
                kind: MigrationKind::Offline,
                persist: false,
                ..d()
            }),
            OptionError::OfflineNeedsPersist
        );
        assert_eq!(
            err(MigrationOptions {
                kind: MigrationKind::Offline,
                copy_storage: CopyStorage::All,
                ..d()
            }),
            OptionError::OfflineCopyStorage
        );
        assert_eq!(
            err(MigrationOptions {
                kind: MigrationKind::Offline,
                peer_to_peer: true,
                tunnelled: true,
                ..d()
            }),
            OptionError::OfflineTunnelled
        );
        assert_eq!(
            err(MigrationOptions {
                peer_to_peer: true,
                tunnelled: true,
                copy_storage: CopyStorage::Incremental,
                ..d()
            }),
            OptionError::TunnelledCopyStorage
        );
        assert_eq!(
            err(MigrationOptions {
                max_downtime_ms: Some(0),
                ..d()
            }),
            OptionError::ZeroDowntime
        );
        assert_eq!(
            err(MigrationOptions {
                compression: vec![Compression::Mt, Compression::Mt],
                ..d()
            }),
            OptionError::DuplicateCompression("mt")
        );
        // to_call validates too.
        assert!(MigrationOptions {
            tunnelled: true,
            ..d()
        }
        .to_call(None)
        .is_err());
        // Allowed: post-copy with copy storage (libvirt mirrors disks before switching),
        // p2p without tunnel, live with storage copy.
        for ok in [
            MigrationOptions {
                post_copy: PostCopy::Manual,
                copy_storage: CopyStorage::All,
                ..d()
            },
            MigrationOptions {
                peer_to_peer: true,
                ..d()
            },
            MigrationOptions {
                kind: MigrationKind::Offline,
                peer_to_peer: true,
                ..d()
            },
        ] {
            assert_eq!(ok.validate(), Ok(()), "{ok:?}");
        }
    }

    #[test]
    fn migration_uri_brackets_ipv6() {
        assert_eq!(migration_uri("192.0.2.2"), "tcp://192.0.2.2");
        assert_eq!(migration_uri(" kvm2.lan "), "tcp://kvm2.lan");
        assert_eq!(migration_uri("2001:db8::2"), "tcp://[2001:db8::2]");
        assert_eq!(migration_uri("[2001:db8::2]"), "tcp://[2001:db8::2]");
    }

    fn sample(processed: u64, remaining: u64, total: u64) -> MigrationEvent {
        MigrationEvent::Progress(Box::new(Progress {
            data_processed: Some(processed),
            data_remaining: Some(remaining),
            data_total: Some(total),
            ..Progress::default()
        }))
    }

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn a_migration_quicker_than_a_sample_keeps_its_data_figures() {
        let t0 = Instant::now();
        let mut m = Migration::new(
            1,
            "vm",
            "u",
            HostId(0),
            HostId(1),
            MigrationOptions::default(),
        );
        m.apply(&MigrationEvent::Started, t0);
        assert_eq!(m.data_label(), "-");
        m.apply(
            &MigrationEvent::Finished(Outcome::Succeeded {
                downtime_ms: Some(30),
                total_ms: Some(400),
                data_bytes: Some(70 * MIB),
            }),
            t0 + Duration::from_millis(400),
        );
        assert_eq!(m.data_label(), "70 MiB / 70 MiB");
    }

    #[test]
    fn speed_eta_and_elapsed_from_samples() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut m = Migration::new(
            7,
            "web",
            "u",
            HostId(0),
            HostId(1),
            MigrationOptions::default(),
        );
        assert_eq!(m.phase, Phase::Preflight);
        assert_eq!(m.speed_label(), "-");
        m.apply(&MigrationEvent::Started, at(0));
        assert_eq!(m.phase, Phase::Running);
        m.apply(&sample(0, 64 * MIB, 64 * MIB), at(0));
        assert_eq!(m.speed_bps, None, "one sample gives no speed");
        m.apply(&sample(MIB, 63 * MIB, 64 * MIB), at(1000));
        assert_eq!(m.speed_bps, Some(MIB as f64));
        assert_eq!(m.speed_label(), "1 MiB/s");
        assert_eq!(m.eta(), Some(Duration::from_secs(63)));
        assert_eq!(m.eta_label(), "1m03s");
        // A faster second: the average moves halfway.
        m.apply(&sample(4 * MIB, 60 * MIB, 64 * MIB), at(2000));
        assert_eq!(m.speed_bps, Some(2.0 * MIB as f64));
        assert_eq!(m.percent_label(), "6%");
        assert_eq!(m.data_label(), "4 MiB / 64 MiB");
        assert_eq!(m.elapsed(at(2500)), Some(Duration::from_millis(2500)));
        // A sample too close to the last one does not disturb the speed.
        m.apply(&sample(4 * MIB + 10, 60 * MIB, 64 * MIB), at(2010));
        assert_eq!(m.speed_bps, Some(2.0 * MIB as f64));
    }

    #[test]
    fn success_records_downtime_and_freezes() {
        let t0 = Instant::now();
        let mut m = Migration::new(
            1,
            "a",
            "u",
            HostId(0),
            HostId(1),
            MigrationOptions::default(),
        );
        m.apply(&MigrationEvent::Started, t0);
        // The setup phase reports zeros: not completing.
        m.apply(&sample(0, 0, 0), t0);
        assert_eq!(m.phase, Phase::Running);
        m.apply(&sample(10, 54, 64), t0);
        m.apply(&sample(70, 0, 64), t0 + Duration::from_millis(500));
        assert_eq!(m.phase, Phase::Completing, "nothing left to send");
        m.apply(&MigrationEvent::Completing, t0 + Duration::from_secs(1));
        assert_eq!(m.phase, Phase::Completing);
        let end = t0 + Duration::from_secs(2);
        m.apply(
            &MigrationEvent::Finished(Outcome::Succeeded {
                downtime_ms: Some(24),
                total_ms: Some(2000),
                data_bytes: Some(64),
            }),
            end,
        );
        assert_eq!(m.phase, Phase::Succeeded);
        assert_eq!(m.downtime_label(), "24 ms");
        assert_eq!(m.ratio(), Some(1.0));
        assert_eq!(m.eta(), None);
        assert_eq!(m.speed_label(), "-");
        assert_eq!(
            m.elapsed(end + Duration::from_secs(60)),
            Some(Duration::from_secs(2))
        );
        // Late events change nothing.
        m.apply(&sample(1, 63, 64), end + Duration::from_secs(1));
        assert_eq!(m.phase, Phase::Succeeded);
        assert_eq!(m.progress.data_remaining, Some(0));
    }

    #[test]
    fn failure_cancel_and_control_answers() {
        let t0 = Instant::now();
        let mut m = Migration::new(
            1,
            "a",
            "u",
            HostId(0),
            HostId(1),
            MigrationOptions::default(),
        );
        m.apply(&MigrationEvent::Started, t0);
        m.apply(
            &MigrationEvent::Control {
                setting: Setting::MaxSpeed(50),
                result: Ok(()),
            },
            t0,
        );
        assert_eq!(m.options.bandwidth_mib_s, Some(50));
        m.apply(
            &MigrationEvent::Control {
                setting: Setting::MaxDowntime(10),
                result: Err("no".into()),
            },
            t0,
        );
        assert_eq!(m.options.max_downtime_ms, None);
        assert_eq!(m.error.as_deref(), Some("no"));
        m.cancelling = true;
        assert_eq!(m.phase_label(), "cancelling");
        m.apply(&MigrationEvent::Finished(Outcome::Cancelled), t0);
        assert_eq!(m.phase, Phase::Cancelled);
        assert_eq!(m.phase_label(), "cancelled");

        let mut f = Migration::new(
            2,
            "b",
            "u",
            HostId(0),
            HostId(1),
            MigrationOptions::default(),
        );
        f.fail("operation failed: job timed out", t0);
        assert_eq!(f.phase, Phase::Failed);
        assert_eq!(f.error.as_deref(), Some("operation failed: job timed out"));
    }

    #[test]
    fn postcopy_shows_in_phase_and_summary() {
        let mut m = Migration::new(
            1,
            "a",
            "u",
            HostId(0),
            HostId(1),
            MigrationOptions {
                post_copy: PostCopy::Manual,
                peer_to_peer: true,
                copy_storage: CopyStorage::All,
                ..MigrationOptions::default()
            },
        );
        assert_eq!(m.options.summary(), "live p2p +storage post-copy");
        m.apply(&MigrationEvent::PostCopyStarted, Instant::now());
        assert_eq!(m.phase_label(), "completing (post-copy)");
    }
}
