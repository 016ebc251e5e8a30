//! The `virsh` command line that does what a virtdeck action does (issue 24): shown in the
//! confirmation, kept with the action's entry in the events pane (`y` copies it), so a
//! sysadmin can learn, repeat or script it. Pure: a `HostCommand` in, an argument list out;
//! `None` for work virsh has no one command for (uploads, backups, the new-VM wizard) or that
//! carries a secret.

use crate::host::migrate::MigrateCmd;
use crate::host::vm::{Scope, VmCmd, VmOp};
use crate::host::{HostCommand, LifecycleOp, NetCmd, NetOp, PoolOp, StorageCmd, VolOp};
use crate::model::migration::{Compression, CopyStorage, MigrationKind, PostCopy};
use crate::xml::hardware::Source;

/// What the command is about: the VM's name where one is involved (virsh takes names).
#[derive(Clone, Copy, Debug, Default)]
pub struct Subject<'a> {
    pub uri: &'a str,
    pub vm: &'a str,
}

fn virsh(uri: &str, words: &[&str]) -> Vec<String> {
    ["virsh", "-c", uri]
        .iter()
        .chain(words)
        .map(|w| w.to_string())
        .collect()
}

/// `--live`/`--config` as a scope asks.
fn scope_flags(s: Scope) -> Vec<&'static str> {
    let mut f = Vec::new();
    if s.live {
        f.push("--live");
    }
    if s.config {
        f.push("--config");
    }
    f
}

pub fn lifecycle(s: Subject, op: LifecycleOp) -> Vec<String> {
    let verb = match op {
        LifecycleOp::Start => "start",
        LifecycleOp::Shutdown => "shutdown",
        LifecycleOp::Reboot => "reboot",
        LifecycleOp::Reset => "reset",
        LifecycleOp::ForceOff => "destroy",
        LifecycleOp::Pause => "suspend",
        LifecycleOp::Resume => "resume",
        LifecycleOp::ManagedSave => "managedsave",
        LifecycleOp::SetAutostart(true) => "autostart",
        LifecycleOp::SetAutostart(false) => return virsh(s.uri, &["autostart", "--disable", s.vm]),
    };
    virsh(s.uri, &[verb, s.vm])
}

/// The command for `cmd`, when virsh has one.
pub fn equivalent(s: Subject, cmd: &HostCommand) -> Option<Vec<String>> {
    let uri = s.uri;
    match cmd {
        HostCommand::Lifecycle { op, .. } => Some(lifecycle(s, *op)),
        HostCommand::Storage(c) => storage(uri, c),
        HostCommand::Network(c) => network(uri, c),
        HostCommand::Migrate(MigrateCmd::Start {
            target, options, ..
        }) => {
            let mut w: Vec<String> = virsh(uri, &["migrate"]);
            let mut flag = |f: &str| w.push(f.to_string());
            match options.kind {
                MigrationKind::Live => flag("--live"),
                // Not live: virsh pauses the guest for the copy when --live is left out.
                MigrationKind::Suspended => {}
                MigrationKind::Offline => flag("--offline"),
            }
            if options.peer_to_peer {
                flag("--p2p");
            }
            if options.tunnelled {
                flag("--tunnelled");
            }
            match options.copy_storage {
                CopyStorage::None => {}
                CopyStorage::All => flag("--copy-storage-all"),
                CopyStorage::Incremental => flag("--copy-storage-inc"),
            }
            if options.persist {
                flag("--persistent");
            }
            if options.undefine_source {
                flag("--undefinesource");
            }
            if options.auto_converge {
                flag("--auto-converge");
            }
            match options.post_copy {
                PostCopy::Off => {}
                PostCopy::Manual => flag("--postcopy"),
                PostCopy::AfterFirstPass => {
                    flag("--postcopy");
                    flag("--postcopy-after-precopy");
                }
            }
            if options.allow_unsafe {
                flag("--unsafe");
            }
            if !options.compression.is_empty() {
                flag("--compressed");
                let m: Vec<&str> = options
                    .compression
                    .iter()
                    .map(|c| match c {
                        Compression::Xbzrle => "xbzrle",
                        Compression::Mt => "mt",
                    })
                    .collect();
                w.extend(["--comp-methods".to_string(), m.join(",")]);
            }
            if let Some(b) = options.bandwidth_mib_s {
                w.extend(["--bandwidth".to_string(), b.to_string()]);
            }
            if let Some(a) = &target.migration_address {
                let a = if a.contains("://") {
                    a.clone()
                } else {
                    format!("tcp://{a}")
                };
                w.extend(["--migrateuri".to_string(), a]);
            }
            w.extend([s.vm.to_string(), target.uri.clone()]);
            Some(w)
        }
        HostCommand::Vm(VmCmd::Act { op, .. }) => vm_op(s, op),
        HostCommand::Vm(VmCmd::Clone { spec, .. }) => Some(
            [
                "virt-clone",
                "--connect",
                uri,
                "--original",
                s.vm,
                "--name",
                &spec.name,
                "--auto-clone",
            ]
            .iter()
            .map(|w| w.to_string())
            .collect(),
        ),
        _ => None,
    }
}

fn vm_op(s: Subject, op: &VmOp) -> Option<Vec<String>> {
    let (uri, vm) = (s.uri, s.vm);
    let with = |words: &[&str], extra: Vec<&str>| {
        let mut w = virsh(uri, words);
        w.extend(extra.into_iter().map(String::from));
        w
    };
    Some(match op {
        VmOp::SetVcpus { count, scope } => {
            with(&["setvcpus", vm, &count.to_string()], scope_flags(*scope))
        }
        VmOp::SetMaxVcpus { count } => with(
            &["setvcpus", vm, &count.to_string(), "--maximum", "--config"],
            vec![],
        ),
        VmOp::SetMemory { kib, scope } => {
            with(&["setmem", vm, &format!("{kib}KiB")], scope_flags(*scope))
        }
        VmOp::SetMaxMemory { kib, scope } => with(
            &["setmaxmem", vm, &format!("{kib}KiB")],
            scope_flags(*scope),
        ),
        VmOp::AttachDevice { scope, .. } => {
            with(&["attach-device", vm, "device.xml"], scope_flags(*scope))
        }
        VmOp::DetachDevice { scope, .. } => {
            with(&["detach-device", vm, "device.xml"], scope_flags(*scope))
        }
        VmOp::UpdateDevice { scope, .. } => {
            with(&["update-device", vm, "device.xml"], scope_flags(*scope))
        }
        VmOp::BlockResize { target, bytes } => {
            with(&["blockresize", vm, target, &format!("{bytes}B")], vec![])
        }
        VmOp::SetAutostart(true) => virsh(uri, &["autostart", vm]),
        VmOp::SetAutostart(false) => virsh(uri, &["autostart", "--disable", vm]),
        VmOp::Rename { name } => virsh(uri, &["domrename", vm, name]),
        VmOp::SetTitle { text, scope } => with(&["desc", vm, "--title", text], scope_flags(*scope)),
        VmOp::SetDescription { text, scope } => with(&["desc", vm, text], scope_flags(*scope)),
        VmOp::CreateSnapshot(spec) => {
            let mut w = virsh(uri, &["snapshot-create-as", vm, &spec.name]);
            if let Some(d) = &spec.description {
                w.extend(["--description".to_string(), d.clone()]);
            }
            if spec.disk_only {
                w.push("--disk-only".into());
            }
            if spec.quiesce {
                w.push("--quiesce".into());
            }
            w.push("--atomic".into());
            w
        }
        VmOp::RevertSnapshot { name, force } => {
            let mut w = virsh(uri, &["snapshot-revert", vm, name]);
            if *force {
                w.push("--force".into());
            }
            w
        }
        VmOp::DeleteSnapshot { name, children } => {
            let mut w = virsh(uri, &["snapshot-delete", vm, name]);
            if *children {
                w.push("--children".into());
            }
            w
        }
        VmOp::DefineXml { .. } => virsh(uri, &["define", "domain.xml"]),
        VmOp::Delete(opts) => {
            let mut w = virsh(uri, &["undefine", vm]);
            if opts.snapshots {
                w.push("--snapshots-metadata".into());
            }
            if opts.nvram {
                w.push("--nvram".into());
            }
            let paths: Vec<String> = opts
                .volumes
                .iter()
                .filter_map(|v| match v {
                    Source::File(p) | Source::Block(p) => Some(p.clone()),
                    Source::Volume { pool, volume } => Some(format!("{pool}/{volume}")),
                    _ => None,
                })
                .collect();
            if !paths.is_empty() {
                w.extend(["--storage".to_string(), paths.join(",")]);
            }
            w
        }
        // Tags, the template mark and a password have no virsh verb of their own (or carry a
        // secret that must not be shown).
        VmOp::SetTemplate(_) | VmOp::EditMeta { .. } | VmOp::SetUserPassword { .. } => return None,
    })
}

fn storage(uri: &str, c: &StorageCmd) -> Option<Vec<String>> {
    Some(match c {
        StorageCmd::Pool { pool, op, .. } => match op {
            PoolOp::Start => virsh(uri, &["pool-start", pool]),
            PoolOp::Stop => virsh(uri, &["pool-destroy", pool]),
            PoolOp::Refresh => virsh(uri, &["pool-refresh", pool]),
            PoolOp::Build => virsh(uri, &["pool-build", pool]),
            PoolOp::SetAutostart(true) => virsh(uri, &["pool-autostart", pool]),
            PoolOp::SetAutostart(false) => virsh(uri, &["pool-autostart", "--disable", pool]),
            PoolOp::Undefine => virsh(uri, &["pool-undefine", pool]),
            PoolOp::Delete => virsh(uri, &["pool-delete", pool]),
        },
        StorageCmd::DefinePool { .. } => virsh(uri, &["pool-define", "pool.xml"]),
        StorageCmd::Volume {
            pool, volume, op, ..
        } => match op {
            VolOp::Create { .. } => virsh(uri, &["vol-create", pool, "volume.xml"]),
            VolOp::Clone { source, .. } => {
                virsh(uri, &["vol-clone", source, volume, "--pool", pool])
            }
            VolOp::Resize { capacity } => virsh(
                uri,
                &[
                    "vol-resize",
                    volume,
                    &format!("{capacity}B"),
                    "--pool",
                    pool,
                ],
            ),
            VolOp::Wipe => virsh(uri, &["vol-wipe", volume, "--pool", pool]),
            VolOp::Delete => virsh(uri, &["vol-delete", volume, "--pool", pool]),
        },
        StorageCmd::DeleteSecret { uuid, .. } => virsh(uri, &["secret-undefine", uuid]),
        _ => return None,
    })
}

fn network(uri: &str, c: &NetCmd) -> Option<Vec<String>> {
    Some(match c {
        NetCmd::Net { network, op, .. } => match op {
            NetOp::Start => virsh(uri, &["net-start", network]),
            NetOp::Stop => virsh(uri, &["net-destroy", network]),
            NetOp::SetAutostart(true) => virsh(uri, &["net-autostart", network]),
            NetOp::SetAutostart(false) => virsh(uri, &["net-autostart", "--disable", network]),
            NetOp::Undefine => virsh(uri, &["net-undefine", network]),
        },
        NetCmd::Define { .. } => virsh(uri, &["net-define", "network.xml"]),
        _ => return None,
    })
}

/// The command line as a POSIX shell needs it typed (for showing and copying, never for
/// running: virtdeck runs nothing through a shell).
pub fn quote(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
            if plain {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::RequestId;

    const S: Subject = Subject {
        uri: "qemu+ssh://root@kvm1/system",
        vm: "web 01's",
    };

    fn line(cmd: &HostCommand) -> String {
        quote(&equivalent(S, cmd).unwrap())
    }

    #[test]
    fn lifecycle_verbs() {
        let cmd = |op| HostCommand::Lifecycle {
            id: RequestId(1),
            uuid: "u".into(),
            op,
        };
        assert_eq!(
            line(&cmd(LifecycleOp::ForceOff)),
            r"virsh -c qemu+ssh://root@kvm1/system destroy 'web 01'\''s'"
        );
        assert_eq!(
            line(&cmd(LifecycleOp::SetAutostart(false))),
            r"virsh -c qemu+ssh://root@kvm1/system autostart --disable 'web 01'\''s'"
        );
        assert!(line(&cmd(LifecycleOp::Pause)).contains(" suspend "));
        assert!(line(&cmd(LifecycleOp::ManagedSave)).contains(" managedsave "));
    }

    #[test]
    fn vm_changes_pools_and_networks() {
        let act = |op| {
            HostCommand::Vm(VmCmd::Act {
                id: RequestId(1),
                uuid: "u".into(),
                op,
            })
        };
        assert_eq!(
            equivalent(
                S,
                &act(VmOp::SetMemory {
                    kib: 524288,
                    scope: Scope::CONFIG
                })
            )
            .unwrap()[3..],
            ["setmem", "web 01's", "524288KiB", "--config"]
        );
        let snap = crate::xml::snapshot::SnapshotSpec {
            name: "before upgrade".into(),
            description: None,
            disk_only: true,
            disks: vec![],
            quiesce: true,
        };
        assert_eq!(
            equivalent(S, &act(VmOp::CreateSnapshot(snap))).unwrap()[3..],
            [
                "snapshot-create-as",
                "web 01's",
                "before upgrade",
                "--disk-only",
                "--quiesce",
                "--atomic"
            ]
        );
        assert!(
            equivalent(
                S,
                &act(VmOp::SetUserPassword {
                    user: "root".into(),
                    password: crate::host::vm::Secret("hunter2".into()),
                })
            )
            .is_none(),
            "a password is never shown"
        );
        let pool = HostCommand::Storage(StorageCmd::Pool {
            id: RequestId(1),
            pool: "images".into(),
            op: PoolOp::SetAutostart(true),
        });
        assert_eq!(
            equivalent(S, &pool).unwrap()[3..],
            ["pool-autostart", "images"]
        );
        let vol = HostCommand::Storage(StorageCmd::Volume {
            id: RequestId(1),
            pool: "images".into(),
            volume: "a.qcow2".into(),
            op: VolOp::Delete,
        });
        assert_eq!(
            equivalent(S, &vol).unwrap()[3..],
            ["vol-delete", "a.qcow2", "--pool", "images"]
        );
        let net = HostCommand::Network(NetCmd::Net {
            id: RequestId(1),
            network: "dmz".into(),
            op: NetOp::Stop,
        });
        assert_eq!(equivalent(S, &net).unwrap()[3..], ["net-destroy", "dmz"]);
        assert!(equivalent(S, &HostCommand::Refresh).is_none());
    }

    #[test]
    fn migration_flags() {
        let options = crate::model::migration::MigrationOptions {
            bandwidth_mib_s: Some(100),
            allow_unsafe: true,
            ..Default::default()
        };
        let report = crate::host::migrate::Report::default();
        let cmd = HostCommand::Migrate(MigrateCmd::Start {
            id: 1,
            uuid: "u".into(),
            target: crate::host::migrate::MigrationTarget {
                uri: "qemu+ssh://kvm2/system".into(),
                migration_address: Some("10.0.0.2".into()),
            },
            options,
            report,
        });
        let l = line(&cmd);
        assert!(
            l.starts_with("virsh -c qemu+ssh://root@kvm1/system migrate --live"),
            "{l}"
        );
        assert!(
            l.contains("--bandwidth 100") && l.contains("--unsafe"),
            "{l}"
        );
        assert!(
            l.ends_with(r"--migrateuri tcp://10.0.0.2 'web 01'\''s' qemu+ssh://kvm2/system"),
            "{l}"
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(
            quote(&["a".into(), "".into(), "$(x)".into()]),
            "a '' '$(x)'"
        );
    }
}
