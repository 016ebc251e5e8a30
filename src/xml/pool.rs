//! Storage pool XML (`<pool type=…>`): the parser the pools pane uses, the builders and the
//! as-you-type validation the new-pool wizard uses.
//!
//! [`PoolDef`] models what virtdeck shows and creates; parsing ignores what it does not model
//! (permissions, features, vendor, mount options…), so `parse(x).to_xml()` is a faithful copy only
//! for XML virtdeck built itself.

use serde::{Deserialize, Serialize};

use crate::model::storage::PoolSource;
use crate::xml::domain::XmlError;

/// The `type` attribute of `<pool>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PoolKind {
    Dir,
    Fs,
    Netfs,
    Logical,
    Disk,
    Iscsi,
    IscsiDirect,
    Scsi,
    Mpath,
    Rbd,
    Sheepdog,
    Gluster,
    Zfs,
    Vstorage,
    /// A type this libvirt knows and virtdeck does not.
    Other(String),
}

impl PoolKind {
    const NAMED: [(PoolKind, &'static str); 14] = [
        (PoolKind::Dir, "dir"),
        (PoolKind::Fs, "fs"),
        (PoolKind::Netfs, "netfs"),
        (PoolKind::Logical, "logical"),
        (PoolKind::Disk, "disk"),
        (PoolKind::Iscsi, "iscsi"),
        (PoolKind::IscsiDirect, "iscsi-direct"),
        (PoolKind::Scsi, "scsi"),
        (PoolKind::Mpath, "mpath"),
        (PoolKind::Rbd, "rbd"),
        (PoolKind::Sheepdog, "sheepdog"),
        (PoolKind::Gluster, "gluster"),
        (PoolKind::Zfs, "zfs"),
        (PoolKind::Vstorage, "vstorage"),
    ];

    /// The name libvirt uses in XML.
    pub fn as_str(&self) -> &str {
        match self {
            PoolKind::Other(s) => s,
            k => Self::NAMED
                .iter()
                .find(|(n, _)| n == k)
                .map_or("", |(_, s)| s),
        }
    }

    pub fn from_name(s: &str) -> PoolKind {
        Self::NAMED
            .iter()
            .find(|(_, n)| *n == s)
            .map_or_else(|| PoolKind::Other(s.to_string()), |(k, _)| k.clone())
    }
}

impl std::fmt::Display for PoolKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `<source><host>`: NFS/iSCSI server, Ceph monitor, Gluster server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolHost {
    pub name: String,
    pub port: Option<u16>,
}

impl PoolHost {
    pub fn new(name: &str, port: Option<u16>) -> PoolHost {
        PoolHost {
            name: name.to_string(),
            port,
        }
    }
}

/// `<auth type=…>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthKind {
    Chap,
    Ceph,
}

impl AuthKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::Chap => "chap",
            AuthKind::Ceph => "ceph",
        }
    }
}

/// How `<auth><secret>` names the libvirt secret holding the password or key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretRef {
    Usage(String),
    Uuid(String),
}

/// `<source><auth>`: CHAP for iSCSI, cephx for RBD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolAuth {
    pub kind: AuthKind,
    pub username: String,
    pub secret: SecretRef,
}

/// `<source>` of a pool; which fields matter depends on the pool type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolSourceDef {
    pub hosts: Vec<PoolHost>,
    /// `<device path>`: block devices, or the target IQN of an iSCSI pool.
    pub devices: Vec<String>,
    /// `<dir path>`: NFS export, Gluster directory.
    pub dir: Option<String>,
    /// `<adapter name>` of a SCSI pool (`host0`).
    pub adapter: Option<String>,
    /// `<name>`: VG (logical), Ceph pool (rbd), Gluster volume.
    pub name: Option<String>,
    /// `<format type>`: filesystem, partition table, nfs/glusterfs, lvm2.
    pub format: Option<String>,
    pub auth: Option<PoolAuth>,
    /// `<initiator><iqn name>`.
    pub initiator: Option<String>,
}

impl PoolSourceDef {
    fn is_empty(&self) -> bool {
        *self == PoolSourceDef::default()
    }
}

/// A storage pool definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolDef {
    pub kind: PoolKind,
    pub name: String,
    pub uuid: Option<String>,
    /// Bytes, as libvirt reports them (read only: never written by `to_xml`).
    pub capacity: Option<u64>,
    pub allocation: Option<u64>,
    pub available: Option<u64>,
    pub source: PoolSourceDef,
    /// `<target><path>`.
    pub target: Option<String>,
}

/// Formats the wizard offers, in the order it offers them (the first is the default).
pub const FS_FORMATS: &[&str] = &[
    "auto", "ext4", "xfs", "ext3", "ext2", "vfat", "iso9660", "udf", "gfs2", "ocfs2", "hfs+",
    "ufs", "gfs", "vmfs",
];
pub const NETFS_FORMATS: &[&str] = &["nfs", "glusterfs", "cifs", "auto"];
pub const DISK_FORMATS: &[&str] = &["gpt", "dos", "dvh", "mac", "bsd", "pc98", "sun", "lvm2"];

/// Default iSCSI port.
pub const ISCSI_PORT: u16 = 3260;
/// Default Ceph monitor port (msgr v1; v2 is 3300).
pub const CEPH_MON_PORT: u16 = 6789;

impl PoolDef {
    fn new(kind: PoolKind, name: &str) -> PoolDef {
        PoolDef {
            kind,
            name: name.to_string(),
            uuid: None,
            capacity: None,
            allocation: None,
            available: None,
            source: PoolSourceDef::default(),
            target: None,
        }
    }

    /// A directory on the host (`/var/lib/libvirt/images`).
    pub fn dir(name: &str, target: &str) -> PoolDef {
        PoolDef {
            target: Some(target.to_string()),
            ..PoolDef::new(PoolKind::Dir, name)
        }
    }

    /// A local block device holding a filesystem, mounted on `target` when the pool starts.
    pub fn fs(name: &str, device: &str, format: &str, target: &str) -> PoolDef {
        let mut p = PoolDef::new(PoolKind::Fs, name);
        p.source.devices = vec![device.to_string()];
        p.source.format = Some(format.to_string());
        p.target = Some(target.to_string());
        p
    }

    /// A network export (`format` nfs, glusterfs or cifs) mounted on `target`.
    pub fn netfs(name: &str, host: &str, export_dir: &str, format: &str, target: &str) -> PoolDef {
        let mut p = PoolDef::new(PoolKind::Netfs, name);
        p.source.hosts = vec![PoolHost::new(host, None)];
        p.source.dir = Some(export_dir.to_string());
        p.source.format = Some(format.to_string());
        p.target = Some(target.to_string());
        p
    }

    /// An LVM volume group. With `devices`, building the pool creates the VG on them; without,
    /// the pool uses an existing VG. The target is `/dev/VG`.
    pub fn logical(name: &str, vg: &str, devices: &[&str]) -> PoolDef {
        let mut p = PoolDef::new(PoolKind::Logical, name);
        p.source.name = Some(vg.to_string());
        p.source.devices = devices.iter().map(|d| d.to_string()).collect();
        if !devices.is_empty() {
            p.source.format = Some("lvm2".into());
        }
        p.target = Some(format!("/dev/{vg}"));
        p
    }

    /// The LUNs of an iSCSI target, seen through `/dev/disk/by-path`. `auth` is CHAP with
    /// (username, secret usage name).
    pub fn iscsi(
        name: &str,
        host: &str,
        port: Option<u16>,
        target_iqn: &str,
        initiator_iqn: Option<&str>,
        auth: Option<(&str, &str)>,
    ) -> PoolDef {
        let mut p = PoolDef::new(PoolKind::Iscsi, name);
        p.source.hosts = vec![PoolHost::new(host, port)];
        p.source.devices = vec![target_iqn.to_string()];
        p.source.initiator = initiator_iqn.map(str::to_string);
        p.source.auth = auth.map(|(user, usage)| PoolAuth {
            kind: AuthKind::Chap,
            username: user.to_string(),
            secret: SecretRef::Usage(usage.to_string()),
        });
        p.target = Some("/dev/disk/by-path".into());
        p
    }

    /// A Ceph pool through RBD: `monitors` with their ports, `ceph_pool` as source name, cephx
    /// auth as (username, secret uuid or usage).
    pub fn rbd(
        name: &str,
        monitors: Vec<PoolHost>,
        ceph_pool: &str,
        auth: Option<(&str, SecretRef)>,
    ) -> PoolDef {
        let mut p = PoolDef::new(PoolKind::Rbd, name);
        p.source.hosts = monitors;
        p.source.name = Some(ceph_pool.to_string());
        p.source.auth = auth.map(|(user, secret)| PoolAuth {
            kind: AuthKind::Ceph,
            username: user.to_string(),
            secret,
        });
        p
    }

    /// A Gluster volume through libgfapi; `dir` is a directory inside the volume (`/`).
    pub fn gluster(name: &str, host: &str, volume: &str, dir: &str) -> PoolDef {
        let mut p = PoolDef::new(PoolKind::Gluster, name);
        p.source.hosts = vec![PoolHost::new(host, None)];
        p.source.name = Some(volume.to_string());
        p.source.dir = Some(dir.to_string());
        p
    }

    /// A whole disk whose partitions become volumes; `format` is the partition table.
    pub fn disk(name: &str, device: &str, format: &str) -> PoolDef {
        let mut p = PoolDef::new(PoolKind::Disk, name);
        p.source.devices = vec![device.to_string()];
        p.source.format = Some(format.to_string());
        p.target = Some("/dev".into());
        p
    }

    /// The XML for `virStoragePoolDefineXML`, indented for the wizard's review page.
    pub fn to_xml(&self) -> Result<String, XmlError> {
        let s = &self.source;
        let source = (!s.is_empty()).then(|| SourceXml {
            hosts: s
                .hosts
                .iter()
                .map(|h| HostXml {
                    name: h.name.clone(),
                    port: h.port.map(|p| p.to_string()),
                })
                .collect(),
            devices: s
                .devices
                .iter()
                .map(|p| PathAttr { path: p.clone() })
                .collect(),
            dir: s.dir.as_ref().map(|p| PathAttr { path: p.clone() }),
            adapter: s.adapter.as_ref().map(|n| AdapterXml {
                kind: Some("scsi_host".into()),
                name: Some(n.clone()),
            }),
            name: s.name.clone(),
            format: s.format.as_ref().map(|t| TypeAttr { kind: t.clone() }),
            auth: s.auth.as_ref().map(|a| AuthXml {
                kind: a.kind.as_str().into(),
                username: a.username.clone(),
                secret: match &a.secret {
                    SecretRef::Usage(u) => SecretRefXml {
                        usage: Some(u.clone()),
                        uuid: None,
                    },
                    SecretRef::Uuid(u) => SecretRefXml {
                        usage: None,
                        uuid: Some(u.clone()),
                    },
                },
            }),
            initiator: s.initiator.as_ref().map(|n| InitiatorXml {
                iqn: Some(NameAttr { name: n.clone() }),
            }),
        });
        let wire = PoolXml {
            kind: self.kind.as_str().to_string(),
            name: self.name.clone(),
            uuid: self.uuid.clone(),
            capacity: None,
            allocation: None,
            available: None,
            source,
            target: self.target.as_ref().map(|p| TargetXml {
                path: Some(p.clone()),
            }),
        };
        crate::xml::domain::write("pool", &wire)
    }
}

/// Parses `virStoragePoolGetXMLDesc` output.
pub fn parse(xml: &str) -> Result<PoolDef, XmlError> {
    let w: PoolXml = crate::xml::de::from_str(xml).map_err(|e| XmlError::de("pool", e))?;
    let size = |s: Option<SizeXml>| s.map(|s| s.bytes()).transpose();
    Ok(PoolDef {
        kind: PoolKind::from_name(&w.kind),
        name: w.name,
        uuid: w.uuid,
        capacity: size(w.capacity)?,
        allocation: size(w.allocation)?,
        available: size(w.available)?,
        source: w
            .source
            .map(SourceXml::into_def)
            .transpose()?
            .unwrap_or_default(),
        target: w.target.and_then(|t| t.path),
    })
}

/// Parses `virConnectFindStoragePoolSources` output (`<sources><source>…</source></sources>`).
pub fn parse_sources(xml: &str) -> Result<Vec<PoolSource>, XmlError> {
    let w: SourcesXml =
        crate::xml::de::from_str(xml).map_err(|e| XmlError::de("pool sources", e))?;
    Ok(w.sources
        .into_iter()
        .map(|s| PoolSource {
            host: s.hosts.into_iter().next().map(|h| h.name),
            dir: s.dir.map(|d| d.path),
            name: s.name,
            devices: s.devices.into_iter().map(|d| d.path).collect(),
            format: s.format.map(|f| f.kind),
        })
        .collect())
}

// ---- as-you-type validation --------------------------------------------------------------

/// Field keys [`validate`] reports problems against (the wizard maps them to its inputs).
pub mod field {
    pub const NAME: &str = "name";
    pub const UUID: &str = "uuid";
    pub const TARGET: &str = "target";
    pub const HOST: &str = "source.host";
    pub const PORT: &str = "source.port";
    pub const DEVICE: &str = "source.device";
    pub const DIR: &str = "source.dir";
    pub const SOURCE_NAME: &str = "source.name";
    pub const FORMAT: &str = "source.format";
    pub const ADAPTER: &str = "source.adapter";
    pub const AUTH_USER: &str = "source.auth.username";
    pub const AUTH_SECRET: &str = "source.auth.secret";
    pub const INITIATOR: &str = "source.initiator";
}

type Problems = Vec<(&'static str, String)>;

/// Problems with `def` for its pool type, as (field key from [`field`], short message). Empty
/// means libvirt should accept the definition (it may still fail to start the pool).
pub fn validate(def: &PoolDef) -> Problems {
    let mut out = Problems::new();
    let s = &def.source;
    if let Err(m) = crate::names::check(crate::names::NameKind::Pool, &def.name) {
        out.push((field::NAME, m));
    }
    if let Some(u) = &def.uuid {
        if !is_uuid(u) {
            out.push((field::UUID, "not a UUID".into()));
        }
    }
    let needs_target = matches!(
        def.kind,
        PoolKind::Dir | PoolKind::Fs | PoolKind::Netfs | PoolKind::Disk | PoolKind::Iscsi
    );
    match &def.target {
        Some(t) => check_abs(&mut out, field::TARGET, "target path", t),
        None if needs_target => out.push((field::TARGET, "enter a target path".into())),
        None => {}
    }
    match &def.kind {
        PoolKind::Dir => {}
        PoolKind::Fs => {
            one_device(&mut out, s, true);
            check_format(&mut out, s, FS_FORMATS, false);
        }
        PoolKind::Netfs => {
            one_host(&mut out, s, false);
            check_format(&mut out, s, NETFS_FORMATS, false);
            let nfs = !matches!(s.format.as_deref(), Some("glusterfs" | "cifs"));
            match (&s.dir, nfs) {
                (None, _) => out.push((field::DIR, "enter the export path".into())),
                (Some(d), true) => check_abs(&mut out, field::DIR, "export path", d),
                (Some(d), false) if d.trim().is_empty() => {
                    out.push((field::DIR, "enter the share or volume path".into()))
                }
                _ => {}
            }
        }
        PoolKind::Logical => {
            match &s.name {
                Some(vg) => check_vg(&mut out, vg),
                None if s.devices.is_empty() => {
                    out.push((field::SOURCE_NAME, "enter the volume group name".into()))
                }
                None => {}
            }
            for d in &s.devices {
                check_abs(&mut out, field::DEVICE, "device", d);
            }
            if let Some(f) = &s.format {
                if f != "lvm2" && f != "unknown" {
                    out.push((field::FORMAT, "format must be lvm2".into()));
                }
            }
        }
        PoolKind::Disk => {
            one_device(&mut out, s, true);
            check_format(&mut out, s, DISK_FORMATS, false);
        }
        PoolKind::Iscsi | PoolKind::IscsiDirect => {
            one_host(&mut out, s, true);
            match s.devices.as_slice() {
                [] => out.push((field::DEVICE, "enter the target IQN".into())),
                [iqn] => {
                    if let Err(m) = check_iqn(iqn) {
                        out.push((field::DEVICE, m));
                    }
                }
                _ => out.push((field::DEVICE, "only one target IQN".into())),
            }
            match &s.initiator {
                Some(i) => {
                    if let Err(m) = check_iqn(i) {
                        out.push((field::INITIATOR, m));
                    }
                }
                None if def.kind == PoolKind::IscsiDirect => {
                    out.push((field::INITIATOR, "enter the initiator IQN".into()))
                }
                None => {}
            }
            check_auth(&mut out, s, AuthKind::Chap);
        }
        PoolKind::Rbd => {
            if s.hosts.is_empty() {
                out.push((field::HOST, "enter at least one monitor host".into()));
            }
            check_hosts(&mut out, s);
            match &s.name {
                Some(n) if !n.trim().is_empty() => {
                    if n.contains('/') || n.contains(char::is_whitespace) {
                        out.push((
                            field::SOURCE_NAME,
                            "no '/' or spaces in a Ceph pool name".into(),
                        ));
                    }
                }
                _ => out.push((field::SOURCE_NAME, "enter the Ceph pool name".into())),
            }
            check_auth(&mut out, s, AuthKind::Ceph);
        }
        PoolKind::Gluster => {
            one_host(&mut out, s, false);
            match &s.name {
                Some(n) if !n.trim().is_empty() => {
                    if n.contains('/') {
                        out.push((field::SOURCE_NAME, "no '/' in a volume name".into()));
                    }
                }
                _ => out.push((field::SOURCE_NAME, "enter the Gluster volume name".into())),
            }
            if let Some(d) = &s.dir {
                check_abs(&mut out, field::DIR, "directory", d);
            }
        }
        PoolKind::Scsi => {
            if s.adapter.as_deref().is_none_or(|a| a.trim().is_empty()) {
                out.push((field::ADAPTER, "enter the SCSI host adapter (host0)".into()));
            }
        }
        // No wizard for these: check what every pool needs and let libvirt judge the rest.
        PoolKind::Mpath
        | PoolKind::Sheepdog
        | PoolKind::Zfs
        | PoolKind::Vstorage
        | PoolKind::Other(_) => check_hosts(&mut out, s),
    }
    out
}

fn check_abs(out: &mut Problems, key: &'static str, what: &str, path: &str) {
    if path.is_empty() {
        out.push((key, format!("enter the {what}")));
    } else if !path.starts_with('/') {
        out.push((key, format!("{what} must be absolute (start with /)")));
    } else if path.chars().any(char::is_control) {
        out.push((key, format!("no control characters in the {what}")));
    }
}

fn one_device(out: &mut Problems, s: &PoolSourceDef, absolute: bool) {
    match s.devices.as_slice() {
        [] => out.push((field::DEVICE, "enter the source device".into())),
        [d] if absolute => check_abs(out, field::DEVICE, "device", d),
        [_] => {}
        _ => out.push((field::DEVICE, "only one source device".into())),
    }
}

fn one_host(out: &mut Problems, s: &PoolSourceDef, port_allowed: bool) {
    match s.hosts.as_slice() {
        [] => out.push((field::HOST, "enter the server host".into())),
        [h] if !port_allowed && h.port.is_some() => {
            out.push((field::PORT, "this pool type takes no port".into()))
        }
        [_] => {}
        _ => out.push((field::HOST, "only one server host".into())),
    }
    check_hosts(out, s);
}

fn check_hosts(out: &mut Problems, s: &PoolSourceDef) {
    for h in &s.hosts {
        if let Err(m) = check_host(&h.name) {
            out.push((field::HOST, m));
        }
        if h.port == Some(0) {
            out.push((field::PORT, "port must be 1-65535".into()));
        }
    }
}

fn check_format(out: &mut Problems, s: &PoolSourceDef, allowed: &[&str], required: bool) {
    match &s.format {
        Some(f) if !allowed.contains(&f.as_str()) => out.push((
            field::FORMAT,
            format!("format must be one of {}", allowed.join(", ")),
        )),
        None if required => out.push((field::FORMAT, "choose a format".into())),
        _ => {}
    }
}

fn check_auth(out: &mut Problems, s: &PoolSourceDef, kind: AuthKind) {
    let Some(a) = &s.auth else { return };
    if a.kind != kind {
        out.push((
            field::AUTH_USER,
            format!("this pool type uses {} auth", kind.as_str()),
        ));
    }
    if a.username.trim().is_empty() {
        out.push((field::AUTH_USER, "enter the user name".into()));
    }
    match &a.secret {
        SecretRef::Usage(u) if u.trim().is_empty() => {
            out.push((field::AUTH_SECRET, "choose the secret".into()))
        }
        SecretRef::Uuid(u) if !is_uuid(u) => {
            out.push((field::AUTH_SECRET, "secret UUID is not a UUID".into()))
        }
        _ => {}
    }
}

/// LVM's VG name rules: `[A-Za-z0-9+_.-]`, not starting with `-`, not `.`/`..`.
fn check_vg(out: &mut Problems, vg: &str) {
    let ok_chars = vg
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "+_.-".contains(c));
    if vg.is_empty() {
        out.push((field::SOURCE_NAME, "enter the volume group name".into()));
    } else if !ok_chars {
        out.push((
            field::SOURCE_NAME,
            "VG name: letters, digits, + _ . - only".into(),
        ));
    } else if vg.starts_with('-') || vg == "." || vg == ".." {
        out.push((field::SOURCE_NAME, "not a valid VG name".into()));
    }
}

/// A host name, IPv4 or IPv6 address (no brackets, no port: the port has its own attribute).
/// Ceph monitors and iSCSI portals follow the same rule.
pub fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("enter the host".into());
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    if host.starts_with('[') || host.matches(':').count() > 1 {
        return Err("write an IPv6 address without brackets".into());
    }
    if host.contains(':') {
        return Err("put the port in its own field".into());
    }
    let labels_ok = host.len() <= 253
        && host.trim_end_matches('.').split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if labels_ok {
        Ok(())
    } else {
        Err(format!("'{host}' is not a host name or IP address"))
    }
}

/// Parses a port the user typed: empty means "default", otherwise 1-65535.
pub fn parse_port(s: &str) -> Result<Option<u16>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<u16>() {
        Ok(0) | Err(_) => Err("port must be 1-65535".into()),
        Ok(p) => Ok(Some(p)),
    }
}

/// An iSCSI name: `iqn.YYYY-MM.reverse.domain[:suffix]`, `eui.` + 16 hex digits or `naa.` + 16
/// or 32 hex digits (RFC 3720 §3.2.6.3).
pub fn check_iqn(name: &str) -> Result<(), String> {
    let shape = "expected iqn.YYYY-MM.reverse.domain[:name], eui.… or naa.…";
    let hex = |s: &str, lens: &[usize]| {
        lens.contains(&s.len()) && s.chars().all(|c| c.is_ascii_hexdigit())
    };
    if let Some(rest) = name.strip_prefix("eui.") {
        return if hex(rest, &[16]) {
            Ok(())
        } else {
            Err("eui. needs 16 hex digits".into())
        };
    }
    if let Some(rest) = name.strip_prefix("naa.") {
        return if hex(rest, &[16, 32]) {
            Ok(())
        } else {
            Err("naa. needs 16 or 32 hex digits".into())
        };
    }
    let Some(rest) = name.strip_prefix("iqn.") else {
        return Err(shape.into());
    };
    let (head, suffix) = match rest.split_once(':') {
        Some((h, s)) => (h, Some(s)),
        None => (rest, None),
    };
    let Some((date, domain)) = head.split_once('.') else {
        return Err(shape.into());
    };
    let b = date.as_bytes();
    let date_ok = b.len() == 7
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && matches!((b[5], b[6]), (b'0', b'1'..=b'9') | (b'1', b'0'..=b'2'));
    if !date_ok {
        return Err("iqn date must be YYYY-MM".into());
    }
    let domain_ok = !domain.is_empty()
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !domain_ok {
        return Err("iqn needs a reverse domain name (com.example)".into());
    }
    if suffix.is_some_and(|s| s.is_empty() || s.chars().any(|c| c.is_whitespace())) {
        return Err("iqn name after ':' must not be empty or contain spaces".into());
    }
    Ok(())
}

pub(crate) fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    let hex = |r: &[u8]| r.iter().all(u8::is_ascii_hexdigit);
    (b.len() == 32 && hex(b))
        || (b.len() == 36
            && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
            && hex(&b[..8])
            && hex(&b[9..13])
            && hex(&b[14..18])
            && hex(&b[19..23])
            && hex(&b[24..]))
}

// ---- wire format (serde) -----------------------------------------------------------------

#[derive(Serialize, Deserialize)]
struct PoolXml {
    #[serde(rename = "@type")]
    kind: String,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uuid: Option<String>,
    #[serde(default, skip_serializing)]
    capacity: Option<SizeXml>,
    #[serde(default, skip_serializing)]
    allocation: Option<SizeXml>,
    #[serde(default, skip_serializing)]
    available: Option<SizeXml>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<SourceXml>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<TargetXml>,
}

/// `<capacity unit='bytes'>123</capacity>`; shared with volumes.
#[derive(Serialize, Deserialize)]
pub(crate) struct SizeXml {
    #[serde(rename = "@unit", default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(rename = "$text")]
    pub value: u64,
}

impl SizeXml {
    pub fn bytes(self) -> Result<u64, XmlError> {
        crate::size::scale(self.value, self.unit.as_deref().unwrap_or(""))
            .map_err(|e| XmlError(format!("size {} {:?}: {e}", self.value, self.unit)))
    }
}

#[derive(Serialize, Deserialize)]
struct SourcesXml {
    #[serde(rename = "source", default)]
    sources: Vec<SourceXml>,
}

#[derive(Serialize, Deserialize)]
struct SourceXml {
    #[serde(rename = "host", default, skip_serializing_if = "Vec::is_empty")]
    hosts: Vec<HostXml>,
    #[serde(rename = "device", default, skip_serializing_if = "Vec::is_empty")]
    devices: Vec<PathAttr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dir: Option<PathAttr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    adapter: Option<AdapterXml>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    format: Option<TypeAttr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth: Option<AuthXml>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    initiator: Option<InitiatorXml>,
}

impl SourceXml {
    fn into_def(self) -> Result<PoolSourceDef, XmlError> {
        let hosts = self
            .hosts
            .into_iter()
            .map(|h| {
                let port = match h.port.as_deref().map(str::trim) {
                    // libvirt writes no port for "default"; -1 is also accepted by its schema.
                    None | Some("" | "-1" | "0") => None,
                    Some(p) => Some(
                        p.parse::<u16>()
                            .map_err(|_| XmlError(format!("pool XML: bad port '{p}'")))?,
                    ),
                };
                Ok(PoolHost { name: h.name, port })
            })
            .collect::<Result<_, XmlError>>()?;
        let auth = match self.auth {
            None => None,
            Some(a) => Some(PoolAuth {
                kind: match a.kind.as_str() {
                    "chap" => AuthKind::Chap,
                    "ceph" => AuthKind::Ceph,
                    other => {
                        return Err(XmlError(format!("pool XML: unknown auth type '{other}'")))
                    }
                },
                username: a.username,
                secret: match (a.secret.uuid, a.secret.usage) {
                    (Some(u), _) => SecretRef::Uuid(u),
                    (None, Some(u)) => SecretRef::Usage(u),
                    (None, None) => {
                        return Err(XmlError(
                            "pool XML: <auth><secret> has no uuid or usage".into(),
                        ))
                    }
                },
            }),
        };
        Ok(PoolSourceDef {
            hosts,
            devices: self.devices.into_iter().map(|d| d.path).collect(),
            dir: self.dir.map(|d| d.path),
            adapter: self.adapter.and_then(|a| a.name),
            name: self.name,
            format: self.format.map(|f| f.kind),
            auth,
            initiator: self.initiator.and_then(|i| i.iqn).map(|i| i.name),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct HostXml {
    #[serde(rename = "@name")]
    name: String,
    #[serde(rename = "@port", default, skip_serializing_if = "Option::is_none")]
    port: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct PathAttr {
    #[serde(rename = "@path")]
    pub path: String,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct TypeAttr {
    #[serde(rename = "@type")]
    pub kind: String,
}

#[derive(Serialize, Deserialize)]
struct NameAttr {
    #[serde(rename = "@name")]
    name: String,
}

#[derive(Serialize, Deserialize)]
struct AdapterXml {
    #[serde(rename = "@type", default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(rename = "@name", default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct AuthXml {
    #[serde(rename = "@type")]
    kind: String,
    #[serde(rename = "@username")]
    username: String,
    secret: SecretRefXml,
}

#[derive(Serialize, Deserialize)]
struct SecretRefXml {
    #[serde(rename = "@uuid", default, skip_serializing_if = "Option::is_none")]
    uuid: Option<String>,
    #[serde(rename = "@usage", default, skip_serializing_if = "Option::is_none")]
    usage: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct InitiatorXml {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iqn: Option<NameAttr>,
}

#[derive(Serialize, Deserialize)]
struct TargetXml {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(p: &PoolDef) {
        let xml = p.to_xml().unwrap();
        let back = parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        assert_eq!(&back, p, "{xml}");
    }

    fn every_builder() -> Vec<PoolDef> {
        vec![
            PoolDef::dir("images", "/var/lib/libvirt/images"),
            PoolDef::fs("data", "/dev/sdc1", "ext4", "/mnt/data"),
            PoolDef::netfs("nfs", "nas.example.com", "/export/vms", "nfs", "/mnt/nfs"),
            PoolDef::netfs("gfs", "10.0.0.5", "gv0", "glusterfs", "/mnt/gfs"),
            PoolDef::logical("vg", "vg_virt", &["/dev/sdb", "/dev/sdc"]),
            PoolDef::logical("vg-old", "vg0", &[]),
            PoolDef::iscsi(
                "san",
                "192.168.1.10",
                Some(3260),
                "iqn.2013-06.com.example:iscsi-pool",
                Some("iqn.2013-06.com.example:host1"),
                Some(("chapuser", "libvirtiscsi")),
            ),
            PoolDef::iscsi(
                "san2",
                "san.example.com",
                None,
                "iqn.2004-04.com.qnap:ts-1",
                None,
                None,
            ),
            PoolDef::rbd(
                "ceph",
                vec![
                    PoolHost::new("mon1.example.com", Some(6789)),
                    PoolHost::new("10.0.0.2", Some(3300)),
                    PoolHost::new("fd00::3", None),
                ],
                "libvirt-pool",
                Some((
                    "libvirt",
                    SecretRef::Uuid("2ec115d7-3a88-3ceb-bc12-0ac909a6fd87".into()),
                )),
            ),
            PoolDef::rbd(
                "ceph2",
                vec![PoolHost::new("mon", None)],
                "rbd",
                Some(("admin", SecretRef::Usage("client.admin".into()))),
            ),
            PoolDef::gluster("gl", "gluster.example.com", "gv0", "/"),
            PoolDef::disk("sdb", "/dev/sdb", "gpt"),
        ]
    }

    #[test]
    fn builders_roundtrip_and_validate() {
        for p in every_builder() {
            roundtrip(&p);
            assert_eq!(validate(&p), vec![], "{p:?}");
        }
    }

    #[test]
    fn hostile_names_are_escaped() {
        let mut p = PoolDef::dir("a<b>&'\"café-池", "/srv/x<&>'\"/池");
        p.uuid = Some("0f0e5cd6-2a5b-4cbb-9b8a-62f0f7b3a7e4".into());
        let xml = p.to_xml().unwrap();
        assert!(!xml.contains("a<b"), "{xml}");
        assert!(xml.contains("&lt;") && xml.contains("&amp;"), "{xml}");
        roundtrip(&p);
        let mut p = PoolDef::iscsi(
            "i",
            "h",
            None,
            "iqn.2020-01.x:\"'<>&",
            None,
            Some(("us'er\"<", "us&age")),
        );
        p.source.initiator = Some("iqn.2020-01.é:ü".into());
        roundtrip(&p);
        // An injection attempt stays data.
        let p = PoolDef::dir("x</name><uuid>evil</uuid><name>", "/x");
        let back = parse(&p.to_xml().unwrap()).unwrap();
        assert_eq!(back.name, "x</name><uuid>evil</uuid><name>");
        assert_eq!(back.uuid, None);
    }

    #[test]
    fn parses_real_libvirt_dir_pool() {
        // `virsh -c qemu:///system pool-dumpxml` of a started dir pool, libvirt 9.0.0.
        let xml = "<pool type='dir'>
  <name>scratch</name>
  <uuid>ffd6ba00-3a83-4df6-a90e-3c7121e6ee88</uuid>
  <capacity unit='bytes'>270553174016</capacity>
  <allocation unit='bytes'>25736597504</allocation>
  <available unit='bytes'>244816576512</available>
  <source>
  </source>
  <target>
    <path>/tmp/scratch</path>
    <permissions>
      <mode>0755</mode>
      <owner>0</owner>
      <group>0</group>
    </permissions>
  </target>
</pool>
";
        let p = parse(xml).unwrap();
        let mut want = PoolDef::dir("scratch", "/tmp/scratch");
        want.uuid = Some("ffd6ba00-3a83-4df6-a90e-3c7121e6ee88".into());
        want.capacity = Some(270553174016);
        want.allocation = Some(25736597504);
        want.available = Some(244816576512);
        assert_eq!(p, want);
    }

    /// What libvirt 9 echoes back (`pool-define` then `pool-dumpxml`) parses to the builder's
    /// definition: nothing was lost or renamed on the way.
    #[test]
    fn libvirt_echo_of_builders() {
        let echo = |xml: &str, built: PoolDef| {
            let mut p = parse(xml).unwrap();
            assert!(p.uuid.take().is_some());
            assert_eq!(
                (p.capacity.take(), p.allocation.take(), p.available.take()),
                (Some(0), Some(0), Some(0))
            );
            assert_eq!(p, built);
        };
        echo(
            "<pool type='iscsi'>
  <name>scratch-iscsi</name>
  <uuid>c00d68f6-38ae-411e-b1b0-f91822f4c0f6</uuid>
  <capacity unit='bytes'>0</capacity>
  <allocation unit='bytes'>0</allocation>
  <available unit='bytes'>0</available>
  <source>
    <host name='192.168.1.10' port='3260'/>
    <device path='iqn.2013-06.com.example:iscsi-pool'/>
    <initiator>
      <iqn name='iqn.2013-06.com.example:host1'/>
    </initiator>
    <auth type='chap' username='chapuser'>
      <secret usage='libvirtiscsi'/>
    </auth>
  </source>
  <target>
    <path>/dev/disk/by-path</path>
  </target>
</pool>
",
            PoolDef::iscsi(
                "scratch-iscsi",
                "192.168.1.10",
                Some(3260),
                "iqn.2013-06.com.example:iscsi-pool",
                Some("iqn.2013-06.com.example:host1"),
                Some(("chapuser", "libvirtiscsi")),
            ),
        );
        echo(
            "<pool type='logical'>
  <name>scratch-lvm</name>
  <uuid>711bcb76-12e0-4fe3-b3a7-6ed2489a8884</uuid>
  <capacity unit='bytes'>0</capacity>
  <allocation unit='bytes'>0</allocation>
  <available unit='bytes'>0</available>
  <source>
    <device path='/dev/sdb'/>
    <device path='/dev/sdc'/>
    <name>vg_virt</name>
    <format type='lvm2'/>
  </source>
  <target>
    <path>/dev/vg_virt</path>
  </target>
</pool>
",
            PoolDef::logical("scratch-lvm", "vg_virt", &["/dev/sdb", "/dev/sdc"]),
        );
        // libvirt adds format lvm2 to a pool on an existing VG.
        let mut existing = PoolDef::logical("scratch-lvm0", "vg0", &[]);
        existing.source.format = Some("lvm2".into());
        echo(
            "<pool type='logical'>
  <name>scratch-lvm0</name>
  <uuid>1bb551cb-66e6-4710-a6cb-6c20498215d5</uuid>
  <capacity unit='bytes'>0</capacity>
  <allocation unit='bytes'>0</allocation>
  <available unit='bytes'>0</available>
  <source>
    <name>vg0</name>
    <format type='lvm2'/>
  </source>
  <target>
    <path>/dev/vg0</path>
  </target>
</pool>
",
            existing,
        );
        echo(
            "<pool type='netfs'>
  <name>scratch-gfs</name>
  <uuid>8c3d76dc-aee7-4a00-9f62-6c977763ebc0</uuid>
  <capacity unit='bytes'>0</capacity>
  <allocation unit='bytes'>0</allocation>
  <available unit='bytes'>0</available>
  <source>
    <host name='10.0.0.5'/>
    <dir path='gv0'/>
    <format type='glusterfs'/>
  </source>
  <target>
    <path>/mnt/gfs</path>
  </target>
</pool>
",
            PoolDef::netfs("scratch-gfs", "10.0.0.5", "gv0", "glusterfs", "/mnt/gfs"),
        );
        // libvirt writes &apos; and &quot; where quick-xml wrote the characters.
        echo(
            "<pool type='dir'>
  <name>scratch-a&lt;b&gt;&amp;&apos;&quot;café-池</name>
  <uuid>ec7939c4-7011-4e4b-8ee0-d973836ebe82</uuid>
  <capacity unit='bytes'>0</capacity>
  <allocation unit='bytes'>0</allocation>
  <available unit='bytes'>0</available>
  <source>
  </source>
  <target>
    <path>/tmp/x</path>
  </target>
</pool>
",
            PoolDef::dir("scratch-a<b>&'\"café-池", "/tmp/x"),
        );
    }

    #[test]
    fn parses_test_driver_default_pool() {
        // `virsh -c test:///default pool-dumpxml default-pool`, libvirt 9.0.0.
        let xml = "<pool type='dir'>
  <name>default-pool</name>
  <uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>
  <capacity unit='bytes'>107374182400</capacity>
  <allocation unit='bytes'>0</allocation>
  <available unit='bytes'>107374182400</available>
  <source>
  </source>
  <target>
    <path>/default-pool</path>
  </target>
</pool>
";
        let p = parse(xml).unwrap();
        assert_eq!(p.name, "default-pool");
        assert_eq!(p.kind, PoolKind::Dir);
        assert_eq!(
            p.uuid.as_deref(),
            Some("dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566")
        );
        assert_eq!(p.capacity, Some(100 << 30));
        assert_eq!(p.allocation, Some(0));
        assert_eq!(p.available, Some(100 << 30));
        assert_eq!(p.source, PoolSourceDef::default());
        assert_eq!(p.target.as_deref(), Some("/default-pool"));
    }

    #[test]
    fn parses_documented_examples() {
        // From libvirt's formatstorage.html, with extras libvirt emits and we ignore.
        let iscsi = r#"<pool type="iscsi">
  <name>virtimages</name>
  <uuid>3e3fce45-4f53-4fa7-bb32-11f34168b82b</uuid>
  <capacity unit="G">1</capacity>
  <source>
    <host name="iscsi.example.com" port="3260"/>
    <device path="iqn.2013-06.com.example:iscsi-pool"/>
    <auth type='chap' username='myname'>
      <secret usage='mycluster_myname'/>
    </auth>
    <initiator><iqn name="iqn.2013-06.com.example:iscsi-initiator"/></initiator>
    <vendor name="Acme"/>
  </source>
  <target>
    <path>/dev/disk/by-path</path>
    <permissions><mode>0755</mode><owner>0</owner><group>0</group></permissions>
  </target>
</pool>"#;
        let p = parse(iscsi).unwrap();
        assert_eq!(p.kind, PoolKind::Iscsi);
        assert_eq!(p.capacity, Some(1 << 30));
        assert_eq!(
            p.source.hosts,
            vec![PoolHost::new("iscsi.example.com", Some(3260))]
        );
        assert_eq!(p.source.devices, vec!["iqn.2013-06.com.example:iscsi-pool"]);
        assert_eq!(
            p.source.auth,
            Some(PoolAuth {
                kind: AuthKind::Chap,
                username: "myname".into(),
                secret: SecretRef::Usage("mycluster_myname".into()),
            })
        );
        assert_eq!(
            p.source.initiator.as_deref(),
            Some("iqn.2013-06.com.example:iscsi-initiator")
        );
        assert_eq!(validate(&p), vec![]);

        let rbd = r#"<pool type="rbd">
  <name>myrbdpool</name>
  <source>
    <name>rbdpool</name>
    <host name='1.2.3.4' port='6789'/>
    <host name='my.ceph.monitor' port='6789'/>
    <host name='third.ceph.monitor' port='6789'/>
    <auth username='admin' type='ceph'>
      <secret uuid='2ec115d7-3a88-3ceb-bc12-0ac909a6fd87'/>
    </auth>
  </source>
  <refresh><volume allocation="capacity"/></refresh>
</pool>"#;
        let p = parse(rbd).unwrap();
        assert_eq!(p.kind, PoolKind::Rbd);
        assert_eq!(p.source.hosts.len(), 3);
        assert_eq!(p.source.name.as_deref(), Some("rbdpool"));
        assert_eq!(p.target, None);
        assert_eq!(validate(&p), vec![]);

        let scsi = "<pool type='scsi'><name>s</name><source><adapter type='scsi_host' name='host0'/></source><target><path>/dev/disk/by-path</path></target></pool>";
        let p = parse(scsi).unwrap();
        assert_eq!(p.source.adapter.as_deref(), Some("host0"));
        roundtrip(&p);

        let other = "<pool type='future'><name>f</name></pool>";
        assert_eq!(parse(other).unwrap().kind, PoolKind::Other("future".into()));
    }

    #[test]
    fn broken_xml_is_an_error() {
        assert!(parse("<pool type='dir'><name>x</name>").is_err());
        assert!(parse("<pool type='dir'><name>x</nam></pool>").is_err());
        assert!(parse("<pool><name>x</name></pool>").is_err());
        assert!(parse("").is_err());
        assert!(
            parse("<pool type='dir'><name>x</name><capacity unit='X'>1</capacity></pool>").is_err()
        );
        assert!(parse("<pool type='iscsi'><name>x</name><source><host name='h' port='99999'/></source></pool>").is_err());
    }

    #[test]
    fn pool_sources() {
        let xml = "<sources>
  <source>
    <host name='nas'/>
    <dir path='/export/a &amp; b'/>
    <format type='nfs'/>
  </source>
  <source>
    <device path='/dev/sdb1'/>
    <device path='/dev/sdc1'/>
    <name>vg0</name>
    <format type='lvm2'/>
  </source>
  <source>
    <host name='san' port='3260'/>
    <device path='iqn.2013-06.com.example:t1'/>
  </source>
</sources>";
        let s = parse_sources(xml).unwrap();
        assert_eq!(
            s,
            vec![
                PoolSource {
                    host: Some("nas".into()),
                    dir: Some("/export/a & b".into()),
                    format: Some("nfs".into()),
                    ..PoolSource::default()
                },
                PoolSource {
                    name: Some("vg0".into()),
                    devices: vec!["/dev/sdb1".into(), "/dev/sdc1".into()],
                    format: Some("lvm2".into()),
                    ..PoolSource::default()
                },
                PoolSource {
                    host: Some("san".into()),
                    devices: vec!["iqn.2013-06.com.example:t1".into()],
                    ..PoolSource::default()
                },
            ]
        );
        assert_eq!(parse_sources("<sources/>").unwrap(), vec![]);
        assert_eq!(parse_sources("<sources>\n</sources>").unwrap(), vec![]);
        assert!(parse_sources("<sources><source>").is_err());
    }

    fn fields(p: &PoolDef) -> Vec<&'static str> {
        validate(p).into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn validation_names_and_paths() {
        assert_eq!(fields(&PoolDef::dir("", "/x")), vec![field::NAME]);
        assert_eq!(fields(&PoolDef::dir("a/b", "/x")), vec![field::NAME]);
        assert_eq!(fields(&PoolDef::dir(".hidden", "/x")), vec![field::NAME]);
        assert_eq!(fields(&PoolDef::dir("a\nb", "/x")), vec![field::NAME]);
        assert_eq!(fields(&PoolDef::dir(" a", "/x")), vec![field::NAME]);
        // Pools take only what the wizard's hint names (crate::names).
        assert_eq!(fields(&PoolDef::dir("my pool", "/x")), vec![field::NAME]);
        assert_eq!(fields(&PoolDef::dir("café-池", "/x")), vec![field::NAME]);
        assert_eq!(
            fields(&PoolDef::dir("web-01_a.b", "/x")),
            Vec::<&str>::new()
        );
        assert_eq!(
            fields(&PoolDef::dir("a", "relative/x")),
            vec![field::TARGET]
        );
        assert_eq!(fields(&PoolDef::dir("a", "")), vec![field::TARGET]);
        let mut p = PoolDef::dir("a", "/x");
        p.target = None;
        assert_eq!(fields(&p), vec![field::TARGET]);
        p.target = Some("/x".into());
        p.uuid = Some("nope".into());
        assert_eq!(fields(&p), vec![field::UUID]);
        let msg = &validate(&PoolDef::dir("a", "x"))[0].1;
        assert!(msg.contains("absolute"), "{msg}");
    }

    #[test]
    fn validation_per_type() {
        assert_eq!(
            fields(&PoolDef::fs("a", "sdb", "ext4", "/m")),
            vec![field::DEVICE]
        );
        assert_eq!(
            fields(&PoolDef::fs("a", "/dev/sdb", "ntfs-3g", "/m")),
            vec![field::FORMAT]
        );
        assert_eq!(
            fields(&PoolDef::netfs("a", "", "/e", "nfs", "/m")),
            vec![field::HOST]
        );
        assert_eq!(
            fields(&PoolDef::netfs("a", "h", "e", "nfs", "/m")),
            vec![field::DIR]
        );
        // Gluster through netfs takes a volume-relative path.
        assert_eq!(
            fields(&PoolDef::netfs("a", "h", "gv0", "glusterfs", "/m")),
            Vec::<&str>::new()
        );
        assert_eq!(
            fields(&PoolDef::netfs("a", "bad host", "/e", "nfs", "/m")),
            vec![field::HOST]
        );
        assert_eq!(
            fields(&PoolDef::logical("a", "", &[])),
            vec![field::SOURCE_NAME]
        );
        assert_eq!(
            fields(&PoolDef::logical("a", "vg 1", &[])),
            vec![field::SOURCE_NAME]
        );
        assert_eq!(
            fields(&PoolDef::logical("a", "-vg", &[])),
            vec![field::SOURCE_NAME]
        );
        assert_eq!(
            fields(&PoolDef::logical("a", "vg", &["sdb"])),
            vec![field::DEVICE]
        );
        assert_eq!(
            fields(&PoolDef::disk("a", "/dev/sdb", "zfs")),
            vec![field::FORMAT]
        );
        assert_eq!(fields(&PoolDef::disk("a", "", "gpt")), vec![field::DEVICE]);
        assert_eq!(
            fields(&PoolDef::gluster("a", "h", "", "/")),
            vec![field::SOURCE_NAME]
        );
        assert_eq!(
            fields(&PoolDef::gluster("a", "h", "gv", "sub")),
            vec![field::DIR]
        );
        assert_eq!(
            fields(&PoolDef::rbd("a", vec![], "p", None)),
            vec![field::HOST]
        );
        assert_eq!(
            fields(&PoolDef::rbd(
                "a",
                vec![PoolHost::new("[::1]", Some(0))],
                "",
                None
            )),
            vec![field::HOST, field::PORT, field::SOURCE_NAME]
        );
        assert_eq!(
            fields(&PoolDef::rbd(
                "a",
                vec![PoolHost::new("mon:6789", None)],
                "p",
                Some(("", SecretRef::Uuid("x".into())))
            )),
            vec![field::HOST, field::AUTH_USER, field::AUTH_SECRET]
        );
        let iscsi = |iqn: &str, init: Option<&str>| {
            fields(&PoolDef::iscsi(
                "a",
                "h",
                Some(3260),
                iqn,
                init,
                Some(("u", "s")),
            ))
        };
        assert_eq!(iscsi("iqn.2013-06.com.example:x", None), Vec::<&str>::new());
        assert_eq!(iscsi("eui.02004567A425678D", None), Vec::<&str>::new());
        assert_eq!(iscsi("naa.52004567BA64678D", None), Vec::<&str>::new());
        assert_eq!(iscsi("", None), vec![field::DEVICE]);
        assert_eq!(iscsi("iqn.2013-13.com.example", None), vec![field::DEVICE]);
        assert_eq!(iscsi("iqn.13-06.com.example", None), vec![field::DEVICE]);
        assert_eq!(iscsi("iqn.2013-06", None), vec![field::DEVICE]);
        assert_eq!(iscsi("iqn.2013-06.com.example:", None), vec![field::DEVICE]);
        assert_eq!(iscsi("eui.123", None), vec![field::DEVICE]);
        assert_eq!(iscsi("target1", None), vec![field::DEVICE]);
        assert_eq!(
            iscsi("iqn.2013-06.a", Some("host1")),
            vec![field::INITIATOR]
        );
        let mut p = PoolDef::iscsi("a", "h", None, "iqn.2013-06.a", None, Some(("u", "")));
        assert_eq!(fields(&p), vec![field::AUTH_SECRET]);
        p.source.auth.as_mut().unwrap().kind = AuthKind::Ceph;
        assert_eq!(fields(&p), vec![field::AUTH_USER, field::AUTH_SECRET]);
        p.source.hosts.push(PoolHost::new("h2", None));
        assert!(fields(&p).contains(&field::HOST));
    }

    #[test]
    fn hosts_and_ports() {
        assert_eq!(check_host("mon1.example.com"), Ok(()));
        assert_eq!(check_host("10.0.0.1"), Ok(()));
        assert_eq!(check_host("fd00::1"), Ok(()));
        assert!(check_host("[fd00::1]").is_err());
        assert!(check_host("mon:6789").unwrap_err().contains("port"));
        assert!(check_host("a..b").is_err());
        assert!(check_host("-a").is_err());
        assert!(check_host("").is_err());
        assert_eq!(parse_port(""), Ok(None));
        assert_eq!(parse_port(" 3260 "), Ok(Some(3260)));
        assert!(parse_port("0").is_err());
        assert!(parse_port("65536").is_err());
        assert!(parse_port("-1").is_err());
        assert!(parse_port("http").is_err());
    }

    #[test]
    fn kind_names() {
        for (k, n) in PoolKind::NAMED {
            assert_eq!(PoolKind::from_name(n), k);
            assert_eq!(k.as_str(), n);
        }
        assert_eq!(PoolKind::from_name("x").to_string(), "x");
    }
}
