//! The new-VM wizard on the demo fleet (test driver): every page as a snapshot, a VM created
//! through it (selected in the table afterwards), and a create that libvirt refuses after the
//! disk was made: the disk is removed again and the form comes back with what was typed.
//! Needs osinfo-db (scripts/lab.sh installs it) for the OS list.

mod common;

use std::time::Duration;
use virtdeck::app::PaneId;

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use virtdeck::app::newvm::NewVmForm;
use virtdeck::app::newvm::OsDbState;
use virtdeck::app::wizard::Submit;
use virtdeck::app::{App, Mode, View};
use virtdeck::host::{HostCommand, StorageCmd};

fn screen(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| virtdeck::ui::render(app, f)).unwrap();
    t.backend().to_string()
}

fn wizard(app: &App) -> &virtdeck::app::wizard::Wizard {
    match &app.mode {
        Mode::Wizard(w) => w,
        other => panic!("no wizard: {other:?}"),
    }
}

fn lab_edge(app: &App) -> usize {
    app.hosts
        .iter()
        .position(|h| h.name == "lab-edge")
        .expect("lab-edge")
}

/// The wizard opened with `N` from the dashboard on lab-edge (ISOs, a bridge, a network),
/// once the OS list, pools and networks are in.
fn open() -> common::Live {
    let mut live = common::demo();
    assert!(live.pump_until(Duration::from_secs(10), |a| a
        .hosts
        .iter()
        .all(|h| h.status.is_connected())));
    live.press("1");
    live.press("G");
    live.press("N");
    assert!(matches!(
        &live.app.mode,
        Mode::Wizard(w) if w.spec_as::<NewVmForm>().is_some()
    ));
    let hi = lab_edge(&live.app);
    let ready = live.pump_until(Duration::from_secs(20), |a| {
        matches!(a.osdb, OsDbState::Ready(_))
            && a.hosts[hi].storage.is_some()
            && a.hosts[hi].networks.is_some()
    });
    assert!(ready, "OS list, pools or networks never came");
    // One more host message so the form has seen everything.
    live.pump_until(Duration::from_secs(3), |a| {
        wizard(a).get("nic") == "network default"
    });
    live
}

#[test]
fn every_page_of_the_new_vm_wizard() {
    let mut live = open();
    assert_eq!(wizard(&live.app).title, "New VM on lab-edge");
    // Install: a local ISO from the pools, the ISOs first.
    live.press("<Tab>");
    insta::assert_snapshot!("install", screen(&live.app, 120, 34));
    assert_eq!(
        wizard(&live.app).get("iso"),
        "default/Win10_22H2_English_x64.iso"
    );
    live.type_text("kali");
    assert_eq!(
        wizard(&live.app).get("iso"),
        "default/kali-linux-2024.1-installer-amd64.iso"
    );
    live.press("<Enter>");
    // OS: searchable; a test:// host is not this machine, so the ISO is not read.
    live.type_text("debian11");
    let w = wizard(&live.app);
    assert_eq!(w.page, 1);
    assert_eq!(w.get("os"), "debian11");
    assert!(w
        .field("os")
        .and_then(|f| f.warning.clone())
        .is_some_and(|m| m.contains("remote host")));
    insta::assert_snapshot!("os", screen(&live.app, 120, 34));
    live.press("<Enter>");
    // CPU and memory: osinfo's debian11 recommendations.
    assert_eq!(wizard(&live.app).get("memory"), "1024");
    live.type_text("0000");
    let w = wizard(&live.app);
    assert!(
        w.field("memory").and_then(|f| f.error.clone()).is_some(),
        "10 GB more than the host's 64 GiB? no: 10240000 MiB is"
    );
    insta::assert_snapshot!("cpu", screen(&live.app, 120, 34));
    live.press("<Enter>");
    assert_eq!(wizard(&live.app).page, 2, "an error keeps the page");
    for _ in 0..4 {
        live.press("<Backspace>");
    }
    live.press("<Enter>");
    // Storage: a new qcow2 volume in a pool with its free space.
    assert_eq!(wizard(&live.app).page, 3);
    insta::assert_snapshot!("storage", screen(&live.app, 120, 34));
    live.press("<Enter>");
    // Network: the network default, a bridge, none.
    insta::assert_snapshot!("network", screen(&live.app, 120, 34));
    live.press("<Enter>");
    // Review: name (free on the host), toggles, the XML.
    let w = wizard(&live.app);
    assert!(w.is_review());
    assert_eq!(w.get("name"), "debian11");
    assert!(
        matches!(&w.review, Some(Ok(x)) if x.contains("kali-linux-2024.1-installer-amd64.iso"))
    );
    insta::assert_snapshot!("review", screen(&live.app, 120, 40));
    live.press("<PageDown>");
    assert_eq!(wizard(&live.app).review_scroll, 10);
    // Esc walks back page by page, then closes.
    for _ in 0..6 {
        live.press("<Esc>");
    }
    assert_eq!(live.app.mode, Mode::Normal);
}

#[test]
fn import_creates_starts_and_selects_the_vm() {
    let mut live = open();
    live.press("<Right>");
    assert_eq!(
        wizard(&live.app).get("method"),
        virtdeck::app::newvm::IMPORT
    );
    live.press("<Tab>");
    live.type_text("edge-router");
    assert_eq!(wizard(&live.app).get("image"), "default/edge-router.qcow2");
    live.press("<Enter>");
    live.type_text("debian11");
    for _ in 0..4 {
        live.press("<Enter>");
    }
    let w = wizard(&live.app);
    assert!(w.is_review());
    assert!(w.page_errors().is_empty(), "{:?}", w.page_errors());
    for _ in 0..8 {
        live.press("<Backspace>");
    }
    live.type_text("imported");
    live.press("<Enter>");
    assert!(matches!(wizard(&live.app).submit, Submit::Waiting(_)));
    let created = live.pump_until(Duration::from_secs(15), |a| {
        a.mode == Mode::Normal
            && a.view == View::Pane(PaneId::Vms)
            && a.selected_row().is_some_and(|r| {
                let vm = a.vm(r).1;
                // The create job runs beside the worker: the row can show the definition
                // before the start's lifecycle event refreshes it.
                vm.name == "imported" && vm.state.is_active()
            })
    });
    assert!(created, "mode {:?}", live.app.mode);
    let (h, vm) = live.app.vm(live.app.selected_row().unwrap());
    assert_eq!(h.name, "lab-edge");
    assert!(vm.state.is_active(), "started: {:?}", vm.state);
    // The creation is a job of the jobs pane, finished.
    let jobs: Vec<_> = live
        .app
        .jobs
        .list
        .iter()
        .map(|j| (j.kind, j.target.clone(), j.job.state()))
        .collect();
    assert_eq!(
        jobs,
        [(
            virtdeck::app::jobs::JobKind::NewVm,
            "imported".to_string(),
            virtdeck::job::JobState::Done
        )]
    );
}

#[test]
fn a_refused_create_removes_its_disk_and_keeps_the_form() {
    let mut live = open();
    let hi = lab_edge(&live.app);
    // The app's view is stale: it has not seen k3s-node-01, which the host has.
    live.app.hosts[hi].vms.retain(|v| v.name != "k3s-node-01");
    live.press("<Tab>");
    live.type_text("kali");
    live.press("<Enter>");
    live.type_text("debian11");
    for _ in 0..4 {
        live.press("<Enter>");
    }
    for _ in 0..8 {
        live.press("<Backspace>");
    }
    live.type_text("k3s-node-01");
    let w = wizard(&live.app);
    assert!(w.page_errors().is_empty(), "{:?}", w.page_errors());
    // Keep the stale view through the submit (snapshots would correct it).
    live.press("<Enter>");
    let answered = live.pump_until(
        Duration::from_secs(15),
        |a| matches!(&a.mode, Mode::Wizard(w) if w.submit == Submit::Editing && w.error.is_some()),
    );
    assert!(answered, "mode {:?}", live.app.mode);
    let w = wizard(&live.app);
    let error = w.error.clone().unwrap_or_default();
    assert!(error.contains("already exists"), "{error}");
    assert!(error.contains("nothing was left behind"), "{error}");
    assert_eq!(w.get("name"), "k3s-node-01");
    assert_eq!(w.get("os"), "debian11");
    assert!(w.is_review());
    // The volume the job made is gone again.
    let id = live.app.hosts[hi].id;
    live.app.hosts[hi].storage = None;
    live.workers
        .send(id, HostCommand::Storage(StorageCmd::Refresh));
    assert!(live.pump_until(Duration::from_secs(10), |a| a.hosts[hi].storage.is_some()));
    let inv = live.app.hosts[hi].storage.as_ref().unwrap();
    let default = inv.pools.iter().find(|p| p.name == "default").unwrap();
    assert!(
        !default
            .volumes
            .iter()
            .any(|v| v.name == "k3s-node-01.qcow2"),
        "the new disk was left behind"
    );
}

#[test]
fn a_running_create_shows_its_step_and_progress() {
    let mut live = open();
    live.press("<Right>");
    live.press("<Tab>");
    live.type_text("edge-router");
    live.press("<Enter>");
    live.type_text("debian11");
    for _ in 0..4 {
        live.press("<Enter>");
    }
    // A job halfway, as the worker reports it (the test driver finishes too fast to catch).
    let job = virtdeck::job::Job::new("create VM debian11");
    job.set_total(3);
    job.advance(1);
    let Mode::Wizard(w) = &mut live.app.mode else {
        panic!("no wizard")
    };
    w.submit = Submit::Waiting(virtdeck::host::RequestId(999));
    w.job = Some((
        job.clone(),
        vec![
            "creating volume debian11.qcow2 in pool default".into(),
            "defining the VM".into(),
            "starting the VM".into(),
        ],
    ));
    let s = screen(&live.app, 120, 34);
    assert!(s.contains("defining the VM (2/3)"), "{s}");
    insta::assert_snapshot!("progress", s);
    // Esc asks the job to stop; the form waits for its answer.
    live.press("<Esc>");
    assert!(job.is_cancelled());
    assert!(screen(&live.app, 120, 34).contains("(cancelling)"));
}

#[test]
fn windows_11_gets_uefi_secure_boot_and_a_tpm_and_a_host_without_capabilities_says_so() {
    let mut live = open();
    let hi = lab_edge(&live.app);
    // The wizard asked the host what it can give a guest; the test driver cannot say.
    assert!(live.pump_until(Duration::from_secs(5), |a| a.hosts[hi].caps.is_some()));
    assert!(matches!(&live.app.hosts[hi].caps, Some(Err(_))));
    live.press("<Enter>");
    live.type_text("win11");
    live.press("<Enter>");
    let w = wizard(&live.app);
    assert_eq!(w.page, 2);
    assert_eq!(w.get("firmware"), "UEFI");
    assert!(w.on("secure_boot") && w.on("tpm"));
    assert!(w
        .field("tpm")
        .and_then(|f| f.warning.clone())
        .is_some_and(|m| m.contains("did not say")));
    insta::assert_snapshot!("cpu_win11", screen(&live.app, 120, 34));
    assert!(
        matches!(&w.review, Some(Ok(x)) if x.contains("<os firmware=\"efi\">")
        && x.contains("<tpm model=\"tpm-crb\">"))
    );
}
