//! A guest that really asks for DHCP: Debian's cloud kernel with a busybox initramfs whose
//! /init (tests/guest/dhcp-init.sh) loads virtio-net and runs `udhcpc` on eth0.
//!
//! The kernel package is fetched once with `apt-get download` (never installed) and only the
//! kernel image and the few modules virtio-net needs are kept, under
//! `$VIRTDECK_TEST_CACHE` (default /var/cache/virtdeck-test). The initramfs is written by
//! this file (cpio "newc", no external tool, no shell) and cached next to it under a name
//! that changes with its inputs. A second run costs nothing but the boot.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use virt::connect::Connect;

/// The metapackage whose dependency is the current cloud kernel.
const KERNEL_META: &str = "linux-image-cloud-amd64";
/// Modules virtio-net needs on Debian's cloud kernel (where they are not built in); their
/// dependencies are read from the modules themselves.
/// virtio_console carries the guest agent's channel (`DhcpGuest::start_with_agent`).
const MODULES: &[&str] = &["virtio_pci", "virtio_net", "virtio_console"];
/// Kernel directories made for this module list (an older cache lacks virtio_console).
const KERNEL_DIR_SUFFIX: &str = "+vc";
/// The guest agent and what it needs, copied into the initramfs (package qemu-guest-agent).
const QEMU_GA: &str = "/usr/sbin/qemu-ga";

const INIT: &str = include_str!("../guest/dhcp-init.sh");
const EVENT: &str = include_str!("../guest/dhcp-event.sh");

/// The libvirt the network tests use: qemu:///system, or `VIRTDECK_NET_URI` (e.g. a second
/// daemon from scripts/libvirtd2.sh on a machine whose main daemon cannot be restarted).
pub fn uri() -> String {
    std::env::var("VIRTDECK_NET_URI").unwrap_or_else(|_| "qemu:///system".into())
}

/// Skipping is allowed only when KVM is explicitly optional and the machine has none.
pub fn skip() -> bool {
    let optional = std::env::var("VIRTDECK_REQUIRE_KVM").as_deref() == Ok("0");
    if optional && !Path::new("/dev/kvm").exists() {
        eprintln!("skipping: VIRTDECK_REQUIRE_KVM=0 and no /dev/kvm");
        return true;
    }
    false
}

pub fn cache_dir() -> PathBuf {
    std::env::var_os("VIRTDECK_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/virtdeck-test"))
}

/// Kernel and initramfs for the guest.
#[derive(Debug)]
pub struct Boot {
    pub kernel: PathBuf,
    pub initrd: PathBuf,
}

/// Built (or found in the cache) once per test process.
pub fn boot_files() -> &'static Boot {
    static BOOT: OnceLock<Boot> = OnceLock::new();
    BOOT.get_or_init(|| {
        let cache = cache_dir();
        std::fs::create_dir_all(&cache)
            .unwrap_or_else(|e| panic!("cannot create the test cache {}: {e}", cache.display()));
        let kdir = kernel_dir(&cache);
        let initrd = initramfs(&cache, &kdir);
        Boot {
            kernel: kdir.join("vmlinuz"),
            initrd,
        }
    })
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A complete kernel directory in the cache (`linux-image-*/vmlinuz` + `modules/order`); the
/// newest by name when several kernels were fetched over time.
fn cached_kernel(cache: &Path) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cache)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("linux-image-") && n.ends_with(KERNEL_DIR_SUFFIX))
                && p.join("vmlinuz").is_file()
                && p.join("modules/order").is_file()
        })
        .collect();
    dirs.sort();
    dirs.pop()
}

/// The versioned kernel package the metapackage depends on, e.g. linux-image-6.1.0-56-cloud-amd64.
fn kernel_package() -> String {
    let ask = || {
        Command::new("apt-cache")
            .args(["depends", KERNEL_META])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout).lines().find_map(|l| {
                    let dep = l.trim().strip_prefix("Depends:")?.trim();
                    dep.starts_with("linux-image-").then(|| dep.to_string())
                })
            })
    };
    if let Some(p) = ask() {
        return p;
    }
    // A fresh machine (or container) may have no package lists yet.
    run(Command::new("apt-get").args(["update", "-qq"]));
    ask().unwrap_or_else(|| panic!("apt knows no {KERNEL_META}; is this Debian 12 on amd64?"))
}

fn kernel_dir(cache: &Path) -> PathBuf {
    if let Some(d) = cached_kernel(cache) {
        return d;
    }
    let pkg = kernel_package();
    let dest = cache.join(format!("{pkg}{KERNEL_DIR_SUFFIX}"));
    let tmp = tempfile::Builder::new()
        .prefix(".fetch-")
        .tempdir_in(cache)
        .expect("temp dir in the cache");
    eprintln!("dhcp guest: fetching {pkg} into {}", cache.display());
    run(Command::new("apt-get")
        .args(["download", "-qq", &pkg])
        .current_dir(tmp.path()));
    let deb = std::fs::read_dir(tmp.path())
        .expect("read fetch dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .unwrap_or_else(|| panic!("apt-get download {pkg} left no .deb"));
    let tree = tmp.path().join("x");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tree));

    let vmlinuz = std::fs::read_dir(tree.join("boot"))
        .expect("boot/ in the kernel package")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("vmlinuz-"))
        })
        .expect("boot/vmlinuz-* in the kernel package");
    let modroot = ["lib/modules", "usr/lib/modules"]
        .iter()
        .filter_map(|d| std::fs::read_dir(tree.join(d)).ok())
        .flat_map(|rd| rd.filter_map(Result::ok).map(|e| e.path()))
        .find(|p| p.is_dir())
        .expect("lib/modules/<version> in the kernel package");

    let out = tmp.path().join("out");
    std::fs::create_dir_all(out.join("modules")).unwrap();
    std::fs::copy(&vmlinuz, out.join("vmlinuz")).unwrap();
    let index = module_index(&modroot);
    let builtin = builtin_modules(&modroot);
    let order = load_order(MODULES, &index, &builtin);
    for m in &order {
        std::fs::copy(&index[m], out.join("modules").join(format!("{m}.ko"))).unwrap();
    }
    std::fs::write(out.join("modules/order"), order.join("\n") + "\n").unwrap();
    // Atomic publish: a concurrent fetch loses the race harmlessly.
    if std::fs::rename(&out, &dest).is_err() && cached_kernel(cache).is_none() {
        panic!("cannot move the kernel into {}", dest.display());
    }
    cached_kernel(cache).expect("kernel in the cache")
}

/// Module name (dashes as underscores, as the kernel names them) → .ko path.
fn module_index(modroot: &Path) -> HashMap<String, PathBuf> {
    fn walk(dir: &Path, out: &mut HashMap<String, PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if let Some(stem) = p
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".ko"))
            {
                out.insert(stem.replace('-', "_"), p);
            }
        }
    }
    let mut out = HashMap::new();
    walk(modroot, &mut out);
    out
}

fn builtin_modules(modroot: &Path) -> HashSet<String> {
    std::fs::read_to_string(modroot.join("modules.builtin"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| Path::new(l).file_stem()?.to_str())
        .map(|s| s.replace('-', "_"))
        .collect()
}

/// `depends=` from a module's .modinfo section.
fn depends(ko: &[u8]) -> Vec<String> {
    let key = b"\0depends=";
    let Some(at) = ko.windows(key.len()).position(|w| w == key) else {
        return Vec::new();
    };
    let rest = &ko[at + key.len()..];
    let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end])
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.replace('-', "_"))
        .collect()
}

/// `wanted` and their dependencies, each after what it needs; built-in ones left out.
fn load_order(
    wanted: &[&str],
    index: &HashMap<String, PathBuf>,
    builtin: &HashSet<String>,
) -> Vec<String> {
    fn visit(
        m: &str,
        index: &HashMap<String, PathBuf>,
        builtin: &HashSet<String>,
        seen: &mut HashSet<String>,
        out: &mut Vec<String>,
    ) {
        if !seen.insert(m.to_string()) || builtin.contains(m) {
            return;
        }
        let path = index
            .get(m)
            .unwrap_or_else(|| panic!("module {m} is neither built in nor in the package"));
        let bytes = std::fs::read(path).unwrap();
        for d in depends(&bytes) {
            visit(&d, index, builtin, seen, out);
        }
        out.push(m.to_string());
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for m in wanted {
        visit(m, index, builtin, &mut seen, &mut out);
    }
    out
}

/// A cpio "newc" archive, the format the kernel unpacks as initramfs.
#[derive(Default)]
struct Cpio {
    buf: Vec<u8>,
    ino: u32,
}

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, data: &[u8], rdev: (u32, u32)) {
        self.ino += 1;
        let fields = [
            self.ino,
            mode,
            0,
            0,
            1,
            0,
            data.len() as u32,
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() as u32 + 1,
            0,
        ];
        self.buf.extend_from_slice(b"070701");
        for f in fields {
            self.buf.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(0);
        self.pad();
        self.buf.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }

    fn dir(&mut self, name: &str) {
        self.entry(name, 0o040755, &[], (0, 0));
    }

    fn file(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.entry(name, 0o100000 | mode, data, (0, 0));
    }

    fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, &[], (0, 0));
        self.buf
    }
}

fn initramfs(cache: &Path, kdir: &Path) -> PathBuf {
    let busybox = std::fs::read("/bin/busybox")
        .expect("/bin/busybox (package busybox-static; scripts/lab.sh installs it)");
    let mods = std::fs::read_to_string(kdir.join("modules/order")).unwrap();
    let agent = agent_files();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (INIT, EVENT, &busybox, kdir, &mods, &agent).hash(&mut h);
    let path = cache.join(format!("initramfs-{:016x}.cpio", h.finish()));
    if path.is_file() {
        return path;
    }
    let mut c = Cpio::default();
    for d in ["bin", "dev", "proc", "sys", "tmp", "etc", "modules"] {
        c.dir(d);
    }
    // The kernel opens /dev/console for init before devtmpfs is mounted.
    c.entry("dev/console", 0o020600, &[], (5, 1));
    c.file("bin/busybox", 0o755, &busybox);
    // The guest agent with its libraries at their own paths (the loader finds them there).
    let mut dirs = std::collections::BTreeSet::new();
    for (path, _) in &agent {
        let mut p = std::path::Path::new(path.trim_start_matches('/'));
        let mut chain = Vec::new();
        while let Some(parent) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            chain.push(parent.to_string_lossy().into_owned());
            p = parent;
        }
        dirs.extend(chain);
    }
    let mut dirs: Vec<String> = dirs.into_iter().collect();
    dirs.sort_by_key(|d| d.matches('/').count());
    for d in dirs
        .iter()
        .filter(|d| !["bin", "dev", "proc", "sys", "tmp", "etc"].contains(&d.as_str()))
    {
        c.dir(d);
    }
    for (path, bytes) in &agent {
        c.file(path.trim_start_matches('/'), 0o755, bytes);
    }
    c.file("init", 0o755, INIT.as_bytes());
    c.file("bin/dhcp-event", 0o755, EVENT.as_bytes());
    c.file("modules/order", 0o644, mods.as_bytes());
    for m in mods.lines().filter(|l| !l.is_empty()) {
        let ko = std::fs::read(kdir.join("modules").join(format!("{m}.ko"))).unwrap();
        c.file(&format!("modules/{m}.ko"), 0o644, &ko);
    }
    let tmp = tempfile::NamedTempFile::new_in(cache).unwrap();
    std::fs::write(tmp.path(), c.finish()).unwrap();
    // QEMU may run as an unprivileged user (qemu.conf): the image must be world-readable.
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    tmp.persist(&path).expect("publish the initramfs");
    path
}

/// qemu-ga and every library `ldd` lists for it (with the dynamic loader), by path; empty when
/// the agent is not installed (the guest then runs none).
fn agent_files() -> Vec<(String, Vec<u8>)> {
    let Ok(o) = Command::new("ldd").arg(QEMU_GA).output() else {
        return Vec::new();
    };
    if !o.status.success() {
        return Vec::new();
    }
    let mut paths = vec![QEMU_GA.to_string()];
    for l in String::from_utf8_lossy(&o.stdout).lines() {
        // `libx.so => /lib/.../libx.so (0x…)` or `/lib64/ld-linux-x86-64.so.2 (0x…)`.
        let path = l
            .split("=>")
            .last()
            .and_then(|r| r.split_whitespace().next())
            .filter(|p| p.starts_with('/'));
        if let Some(p) = path {
            paths.push(p.to_string());
        }
    }
    paths
        .into_iter()
        .filter_map(|p| {
            // Follow symlinks: the file's bytes go in under the name the loader asks for.
            let bytes = std::fs::read(&p).ok()?;
            Some((p, bytes))
        })
        .collect()
}

/// A running DHCP guest on one network; destroyed and undefined on drop.
pub struct DhcpGuest {
    pub name: String,
    pub uuid: String,
    pub mac: String,
    /// What udhcpc sends as its hostname.
    pub hostname: String,
    /// The domain type that booted ("kvm", or "qemu" when KVM refused).
    pub virt_type: &'static str,
    uri: String,
    console: PathBuf,
    _dir: tempfile::TempDir,
}

impl DhcpGuest {
    /// Defines and starts a guest with one virtio NIC; waits until its init runs.
    pub fn start(uri: &str, nic: Nic) -> DhcpGuest {
        Self::start_with(uri, nic, false)
    }

    /// `start`, with the guest agent's channel (the guest's init runs qemu-ga on it) and a
    /// small qcow2 disk for snapshots.
    pub fn start_with_agent(uri: &str, nic: Nic) -> DhcpGuest {
        Self::start_with(uri, nic, true)
    }

    fn start_with(uri: &str, nic: Nic, agent: bool) -> DhcpGuest {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let boot = boot_files();
        let pid = std::process::id();
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let name = format!("vdk-dhcp-{pid}-{seq}");
        let hostname = format!("vdkg{pid}x{seq}");
        let mac = format!(
            "52:54:00:{:02x}:{:02x}:{:02x}",
            (pid >> 8) & 0xff,
            pid & 0xff,
            (seq.wrapping_mul(37) + 11) & 0xff
        );
        let conn = Connect::open(Some(uri)).unwrap();
        let mut errors = Vec::new();
        // LAB.md: on some machines (nested KVM with odd CPUID) this kernel hangs under KVM
        // right after "Probing EDD"; TCG always boots it. A hang is remembered next to the
        // cached kernel so later runs go straight to TCG instead of waiting again.
        let no_kvm = boot
            .kernel
            .parent()
            .map(|d| d.join("kvm-does-not-boot"))
            .unwrap_or_default();
        let types: &[&'static str] = if no_kvm.exists() {
            &["qemu"]
        } else {
            &["kvm", "qemu"]
        };
        for &virt_type in types {
            // Under KVM init runs within 1-2 s; TCG needs ~4 s, more on a busy machine.
            let patience = Duration::from_secs(if virt_type == "kvm" { 10 } else { 40 });
            let dir = tempfile::Builder::new()
                .prefix("vdk-dhcp-")
                .tempdir()
                .unwrap();
            let console = dir.path().join("console.log");
            let mut xml = domain_xml(virt_type, &name, boot, &hostname, nic, &mac, &console);
            if agent {
                // With a disk too, so a disk-only snapshot (quiesced by the agent) has
                // something to overlay; the guest never looks at it.
                let disk = dir.path().join("disk.qcow2");
                run(Command::new("qemu-img")
                    .args(["create", "-q", "-f", "qcow2"])
                    .arg(&disk)
                    .arg("1M"));
                xml = xml.replace(
                    "    <memballoon model='none'/>",
                    &format!(
                        "    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{}'/><target dev='hda' bus='ide'/></disk>\n    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>\n    <memballoon model='none'/>",
                        esc(&disk.to_string_lossy())
                    ),
                );
            }
            let dom = conn
                .define_domain_xml(&xml)
                .unwrap_or_else(|e| panic!("define the DHCP guest: {e}\n{xml}"));
            // From here on, drop destroys and undefines it.
            let guest = DhcpGuest {
                name: name.clone(),
                uuid: dom.uuid_string().unwrap(),
                mac: mac.clone(),
                hostname: hostname.clone(),
                virt_type,
                uri: uri.to_string(),
                console,
                _dir: dir,
            };
            match dom.create() {
                Ok(_) if guest.wait_console("vdk-guest: init", patience) => {
                    return guest;
                }
                Ok(_) => {
                    let msg = format!(
                        "type='{virt_type}': init did not run within {patience:?}; console:\n{}",
                        guest.console_log()
                    );
                    if virt_type == "kvm" {
                        let _ = std::fs::write(&no_kvm, &msg);
                    }
                    errors.push(msg);
                }
                Err(e) => errors.push(format!("type='{virt_type}': {e}")),
            }
        }
        panic!("the DHCP guest did not boot:\n{}", errors.join("\n"));
    }

    pub fn console_log(&self) -> String {
        std::fs::read_to_string(&self.console).unwrap_or_default()
    }

    /// Waits until the serial console shows `text`.
    pub fn wait_console(&self, text: &str, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if self.console_log().contains(text) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for DhcpGuest {
    fn drop(&mut self) {
        if let Ok(conn) = Connect::open(Some(&self.uri)) {
            if let Ok(dom) = conn.lookup_domain_by_uuid_string(&self.uuid) {
                let _ = dom.destroy();
                // Snapshot metadata a test left (the files go with the temp dir).
                let _ = dom.undefine_flags(virt::sys::VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA);
            }
        }
    }
}

/// Where the guest's NIC plugs in.
#[derive(Clone, Copy, Debug)]
pub enum Nic<'a> {
    /// `<interface type='network'>`: a libvirt network (its DHCP leases know the guest).
    Network(&'a str),
    /// `<interface type='bridge'>`: straight onto a host bridge, outside any libvirt network.
    Bridge(&'a str),
}

fn esc(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

fn domain_xml(
    virt_type: &str,
    name: &str,
    boot: &Boot,
    hostname: &str,
    nic: Nic,
    mac: &str,
    console: &Path,
) -> String {
    let (kind, source) = match nic {
        Nic::Network(n) => ("network", format!("network='{}'", esc(n))),
        Nic::Bridge(b) => ("bridge", format!("bridge='{}'", esc(b))),
    };
    format!(
        "<domain type='{virt_type}'>
  <name>{name}</name>
  <memory unit='MiB'>192</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 vdk_host={hostname}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <interface type='{kind}'>
      <source {source}/>
      <mac address='{mac}'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'>
      <source path='{console}'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
",
        name = esc(name),
        kernel = esc(&boot.kernel.to_string_lossy()),
        initrd = esc(&boot.initrd.to_string_lossy()),
        hostname = esc(hostname),
        mac = esc(mac),
        console = esc(&console.to_string_lossy()),
    )
}
