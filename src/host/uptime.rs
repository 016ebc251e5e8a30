//! When each running guest started, for the detail screen's uptime. libvirt reports no start
//! time, so: on the machine virtdeck runs on, the mtime of the QEMU pid file libvirt writes
//! when it starts the guest; on any host, the moment this worker saw the guest go from
//! stopped to running. A guest already running on a remote host at connect stays unknown.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::model::Vm;

/// Where libvirt's QEMU driver keeps `<name>.pid` (system instance).
const PID_DIR: &str = "/run/libvirt/qemu";

/// What this worker knows of one guest.
#[derive(Debug, Clone, Copy)]
enum Seen {
    Stopped,
    /// Running since then, or since an unknown time: looked up once, not on every poll.
    Running(Option<SystemTime>),
}

#[derive(Debug, Default)]
pub(super) struct Uptime {
    /// Where libvirt's pid files and the processes are (the host is this machine), or
    /// `None` for a remote host.
    dirs: Option<(PathBuf, PathBuf)>,
    /// Each guest (`stats::uuid_key`), and the last `stamp` round that listed it.
    seen: HashMap<u128, (Seen, u32)>,
    round: u32,
}

impl Uptime {
    pub(super) fn new(local: bool) -> Uptime {
        Uptime {
            dirs: local.then(|| (PathBuf::from(PID_DIR), PathBuf::from("/proc"))),
            seen: HashMap::new(),
            round: 0,
        }
    }

    /// The start of a guest found running: from its pid file, when there is one to read.
    fn look_up(&self, uuid: &str) -> Option<SystemTime> {
        let (pids, proc) = self.dirs.as_ref()?;
        pid_file_time(pids, proc, uuid)
    }

    /// Fills `started` of every VM of a full snapshot, learning from it. Allocates nothing
    /// for a guest it has seen: it runs with every snapshot, 10,000 VMs each.
    /// A VM is copied only when its time changes (the app may hold it: `host::readings`).
    pub(super) fn stamp<'a>(
        &mut self,
        vms: impl IntoIterator<Item = &'a mut Arc<Vm>>,
        now: SystemTime,
    ) {
        self.round = self.round.wrapping_add(1);
        let mut listed = 0;
        for vm in vms {
            listed += 1;
            let key = super::stats::uuid_key(&vm.uuid);
            let before = self.seen.get(&key).map(|(s, _)| *s);
            let next = if !vm.state.is_active() {
                Seen::Stopped
            } else {
                Seen::Running(match before {
                    Some(Seen::Running(t)) => t,
                    // The worker saw it start.
                    Some(Seen::Stopped) => self.look_up(&vm.uuid).or(Some(now)),
                    None => self.look_up(&vm.uuid),
                })
            };
            let started = match next {
                Seen::Running(t) => t,
                Seen::Stopped => None,
            };
            if vm.started != started {
                Arc::make_mut(vm).started = started;
            }
            self.seen.insert(key, (next, self.round));
        }
        // Guests undefined meanwhile.
        if self.seen.len() > listed {
            let round = self.round;
            self.seen.retain(|_, (_, r)| *r == round);
        }
    }
}

/// The mtime of the running domain's pid file, which libvirt writes once, when QEMU starts.
/// The file is found by the QEMU process it names (`-uuid <uuid>` on its command line), not
/// by its name: libvirt 9 XML-escapes names in pid file names (`a &lt;b.pid`).
fn pid_file_time(dir: &Path, proc: &Path, uuid: &str) -> Option<SystemTime> {
    std::fs::read_dir(dir).ok()?.flatten().find_map(|e| {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("pid") {
            return None;
        }
        let pid: u32 = std::fs::read_to_string(&path).ok()?.trim().parse().ok()?;
        let cmdline = std::fs::read(proc.join(pid.to_string()).join("cmdline")).ok()?;
        let mut args = cmdline.split(|b| *b == 0);
        args.find(|a| *a == b"-uuid")?;
        if args.next()? != uuid.as_bytes() {
            return None;
        }
        e.metadata().ok()?.modified().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::VmState;
    use std::time::Duration;

    fn vm(state: VmState) -> Arc<Vm> {
        Arc::new(Vm {
            uuid: "u".into(),
            name: "n".into(),
            id: None,
            state,
            vcpus: 1,
            memory_kib: 0,
            max_memory_kib: 0,
            cpu_time_ns: None,
            io: Default::default(),
            autostart: false,
            persistent: true,
            managed_save: false,
            known: Default::default(),
            template: false,
            tags: Vec::new(),
            note: None,
            started: None,
        })
    }

    #[test]
    fn a_start_seen_by_the_worker_is_kept_until_the_guest_stops() {
        let mut u = Uptime::new(false);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let mut running = vm(VmState::Running);
        u.stamp([&mut running], t0);
        assert_eq!(running.started, None, "running at first sight: unknown");
        let mut off = vm(VmState::Shutoff);
        u.stamp([&mut off], t0);
        let t1 = t0 + Duration::from_secs(60);
        let mut on = vm(VmState::Running);
        u.stamp([&mut on], t1);
        assert_eq!(on.started, Some(t1), "the start was seen");
        let mut later = vm(VmState::Running);
        u.stamp([&mut later], t1 + Duration::from_secs(300));
        assert_eq!(later.started, Some(t1), "kept across snapshots");
        let mut stopped = vm(VmState::Shutoff);
        u.stamp([&mut stopped], t1);
        assert_eq!(stopped.started, None);
    }

    #[test]
    fn a_guest_running_at_first_sight_is_looked_up_once() {
        let run = tempfile::tempdir().unwrap();
        let proc = tempfile::tempdir().unwrap();
        let mut u = Uptime {
            dirs: Some((run.path().into(), proc.path().into())),
            ..Uptime::default()
        };
        let now = SystemTime::now();
        let mut running = vm(VmState::Running);
        u.stamp([&mut running], now);
        assert_eq!(running.started, None, "no pid file: unknown");
        // A pid file that shows up later is not read on every poll.
        std::fs::create_dir_all(proc.path().join("7")).unwrap();
        std::fs::write(proc.path().join("7/cmdline"), "qemu\0-uuid\0u\0").unwrap();
        std::fs::write(run.path().join("n.pid"), "7").unwrap();
        let mut again = vm(VmState::Running);
        u.stamp([&mut again], now);
        assert_eq!(again.started, None);
        // Gone from the snapshot (undefined): forgotten, so found afresh if it comes back.
        u.stamp([], now);
        let mut back = vm(VmState::Running);
        u.stamp([&mut back], now);
        assert!(back.started.is_some(), "read from its pid file");
    }

    #[test]
    fn the_pid_file_whose_qemu_has_the_uuid_gives_the_start() {
        let run = tempfile::tempdir().unwrap();
        let proc = tempfile::tempdir().unwrap();
        let qemu = |pid: &str, uuid: &str| {
            let d = proc.path().join(pid);
            std::fs::create_dir_all(&d).unwrap();
            let cmd = format!("qemu-system-x86_64\0-name\0guest=x\0-uuid\0{uuid}\0-smp\01\0");
            std::fs::write(d.join("cmdline"), cmd).unwrap();
        };
        let u = "6c6f6e67-2d6c-6976-6520-7468652d7576";
        assert_eq!(pid_file_time(run.path(), proc.path(), u), None);
        qemu("100", "00000000-0000-0000-0000-000000000001");
        std::fs::write(run.path().join("other.pid"), "100").unwrap();
        std::fs::write(run.path().join("empty.pid"), "").unwrap();
        std::fs::write(run.path().join("gone.pid"), "999").unwrap();
        assert_eq!(
            pid_file_time(run.path(), proc.path(), u),
            None,
            "no QEMU of ours"
        );
        qemu("200", u);
        std::fs::write(run.path().join("vm &lt;&amp;&apos; ü.pid"), "200\n").unwrap();
        let t = pid_file_time(run.path(), proc.path(), u).expect("found by its process");
        assert!(t <= SystemTime::now());
    }
}
