//! The new-VM wizard end to end on real KVM: the binary in tmux imports the tiny guest's disk
//! image (tests/guest/tiny.asm) from a dir pool in a temp dir, creates and starts the VM and
//! opens its serial console, where the guest answers; the same name is then refused by the
//! form. A pool that fills up after the form checked it makes the job refuse the disk, and
//! nothing is left behind. Domains and pools are removed on drop, also when a test fails.
//! Skipped without a KVM daemon (scripts/lab.sh) or tmux.

mod common;

use std::time::Duration;

use common::guest::{kvm_available, unique, URI};
use common::loopdev::run;
use common::pool::{DomainGuard, FsPool, Pool};
use common::tmux::{usable, Tmux};
use virt::connect::Connect;

fn conn() -> Connect {
    Connect::open(Some(URI)).unwrap()
}

fn launch(tag: &str, cfg: &tempfile::TempDir) -> Option<Tmux> {
    if !usable() {
        return None;
    }
    let t = Tmux::launch(
        format!("vdk-nvm-{tag}-{}", std::process::id()),
        "nvm",
        (130, 45),
        cfg.path(),
        &["-c", URI],
    );
    // N acts on a connected host: a key pressed while the host still connects is refused.
    t.wait_for("the VM table with the host connected", |s| {
        s.contains("VMs ") && s.contains("1/1 connected")
    });
    Some(t)
}

/// Opens the wizard and fills the pages up to the review: `install` fills page 1; the OS
/// is debian11 with 128 MiB and QEMU's own CPU model (the lab's nested KVM refuses the host
/// CPU's MSRs), `storage` fills page 4, no network.
fn fill(t: &Tmux, install: impl Fn(&Tmux), storage: impl Fn(&Tmux), name: &str) {
    t.keys(&["N"]);
    t.wait_for("the wizard", |s| s.contains("New VM on"));
    install(t);
    t.keys(&["Enter"]);
    t.literal("debian11");
    t.wait_for("debian11 chosen", |s| s.contains("› Debian 11 (debian11)"));
    t.keys(&["Enter"]);
    t.wait_for("the CPU page", |s| s.contains("Memory (MiB)"));
    for _ in 0..8 {
        t.keys(&["BSpace"]);
    }
    t.literal("128");
    t.keys(&["Tab", "Tab", "Right", "Right"]);
    t.wait_for("QEMU's CPU model", |s| s.contains("‹ hypervisor default ›"));
    t.keys(&["Enter"]);
    storage(t);
    t.keys(&["Enter"]);
    t.wait_for("the network page", |s| s.contains("Connect to"));
    // The last choice is always "none".
    t.keys(&["Left"]);
    t.wait_for("no network", |s| {
        s.contains("‹ none ›") || s.contains("Connect to         none")
    });
    t.keys(&["Enter"]);
    t.wait_for("the review", |s| s.contains("This is what will be created"));
    for _ in 0..40 {
        t.keys(&["BSpace"]);
    }
    t.literal(name);
}

#[test]
fn imports_the_tiny_guest_through_the_wizard_and_its_console_answers() {
    if !kvm_available() {
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("vdk-nvm-")
        .tempdir()
        .unwrap();
    let pool = Pool::at(unique("imp"), dir);
    pool.add_tiny_guest();
    let name = unique("tiny");
    let _dom = DomainGuard(name.clone());
    let cfg = tempfile::tempdir().unwrap();
    let Some(t) = launch("imp", &cfg) else {
        return;
    };
    let import = |t: &Tmux| {
        t.keys(&["Right"]);
        t.wait_for("import", |s| s.contains("‹ import disk image ›"));
        t.keys(&["Tab"]);
        t.literal(&pool.name);
        t.wait_for("the image", |s| {
            s.contains(&format!("› {}/tiny.img", pool.name))
        });
    };
    let nothing = |t: &Tmux| {
        t.wait_for("no storage choices", |s| {
            s.contains("Nothing to choose here for this install method.")
        });
    };
    fill(&t, import, nothing, &name);
    // Open the console once it runs.
    t.keys(&["Tab", "Tab", "Space"]);
    t.wait_for("console toggle", |s| s.contains("Open console       [x]"));
    t.keys(&["Enter"]);
    // The console opens on the new VM; the guest answers (its banner, or the echo of a line:
    // QEMU drops output nobody read).
    t.wait_within("the console", Duration::from_secs(40), |s| {
        s.contains("● attached")
    });
    let mut answered = false;
    for _ in 0..30 {
        let s = t.screen();
        if s.contains("VIRTDECK TINY GUEST READY") || s.contains("echo:") {
            answered = true;
            break;
        }
        t.keys(&["Enter"]);
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(answered, "the guest never answered:\n{}", t.screen());
    let dom = conn().lookup_domain_by_name(&name).expect("defined");
    assert!(dom.is_active().unwrap(), "running");
    assert!(dom.info().unwrap().cpu_time > 0, "it used CPU time");
    assert_eq!(pool.volumes(), ["tiny.img"], "import makes no volume");
    t.keys(&["C-]"]);
    t.wait_for("the table with the VM selected", |s| {
        s.contains(&name) && s.contains("running")
    });

    // The same name again: the form refuses it before anything is sent.
    fill(&t, import, nothing, &name);
    let s = t.wait_for("duplicate name", |s| s.contains("already has a VM named"));
    t.keys(&["Enter"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(t.screen().contains("already has a VM named"), "{s}");
    // One at a time: Escapes that arrive together read as Alt+Escape.
    for _ in 0..6 {
        t.keys(&["Escape"]);
        std::thread::sleep(Duration::from_millis(150));
    }
    t.wait_for("closed", |s| !s.contains("New VM on"));
}

#[test]
fn a_pool_that_filled_up_leaves_no_volume_or_domain_and_keeps_the_form() {
    if !kvm_available() {
        return;
    }
    let Some(small) = FsPool::new("small", 16) else {
        return;
    };
    let pool = &small.pool;
    // An installer "ISO" on this machine (never booted: the create fails first).
    let iso_dir = tempfile::tempdir().unwrap();
    let iso = iso_dir.path().join("installer.iso");
    std::fs::write(&iso, b"not really an ISO").unwrap();
    let name = unique("full");
    let _dom = DomainGuard(name.clone());
    let cfg = tempfile::tempdir().unwrap();
    let Some(t) = launch("full", &cfg) else {
        return;
    };
    let iso_text = iso.to_string_lossy().into_owned();
    let install = |t: &Tmux| {
        t.keys(&["Tab"]);
        t.literal("no-such-volume-anywhere");
        t.wait_for("the path item", |s| s.contains("› (a path on the host"));
        t.keys(&["Tab"]);
        t.literal(&iso_text);
        // Checked off the UI thread: Enter waits for the answer, as a user would.
        t.wait_for("the path, checked", |s| {
            s.contains("installer.iso") && !s.contains("checking ")
        });
    };
    let pool_name = pool.name.clone();
    let storage = |t: &Tmux| {
        t.wait_for("the storage page", |s| {
            s.contains("Disk               ‹ new volume ›")
        });
        t.keys(&["Tab"]);
        // A choice shows ‹ › only when it has more than one option.
        let chosen = |s: &str| {
            s.lines().any(|l| {
                l.contains("│Pool ")
                    && (l.contains(&format!("‹ {pool_name} ›"))
                        || l.contains(&format!(" {pool_name} ")))
            })
        };
        for _ in 0..20 {
            if chosen(&t.screen()) {
                break;
            }
            t.keys(&["Right"]);
            std::thread::sleep(Duration::from_millis(50));
        }
        t.wait_for("the small pool", chosen);
        t.keys(&["Tab"]);
        for _ in 0..8 {
            t.keys(&["BSpace"]);
        }
        t.literal("8M");
        t.keys(&["Tab", "Right"]);
        t.wait_for("raw", |s| s.contains("‹ raw ›"));
    };
    fill(&t, install, storage, &name);
    t.wait_for("a valid review", |s| {
        s.contains("This is what will be created") && !s.contains("✖")
    });
    // The pool fills up behind the form's back: the job's own check refuses the disk.
    let fill_file = pool.dir.path().join("filler");
    run(
        "dd",
        &[
            "if=/dev/zero",
            &format!("of={}", fill_file.display()),
            "bs=1M",
            "count=12",
        ],
    )
    .expect("fill the pool");
    t.keys(&["Enter"]);
    let s = t.wait_within("the refusal", Duration::from_secs(30), |s| {
        s.contains("nothing was left behind")
    });
    assert!(s.contains("does not fit in pool"), "{s}");
    // The form is still there with what was typed.
    assert!(s.contains("This is what will be created"), "{s}");
    assert!(s.contains(&name), "{s}");
    assert!(conn().lookup_domain_by_name(&name).is_err(), "no domain");
    assert_eq!(pool.volumes(), ["filler"], "no volume was left");
    for _ in 0..6 {
        t.keys(&["Escape"]);
    }
    drop(t);
    drop(small);
}
