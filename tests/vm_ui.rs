//! The VM detail screen on a real qemu:///system (KVM), driven by keys through the app and a
//! real worker, each result checked in libvirt itself: title and vCPUs edited through the
//! Hardware tab's forms, and a snapshot created and deleted from the Snapshots tab.
//! Skipped without KVM unless VIRTDECK_REQUIRE_KVM=1.

mod common;

use std::process::Command;
use std::time::Duration;

use common::guest::{kvm_available, live, select, Guest, URI};
use common::pool::Pool;
use virt::connect::Connect;
use virtdeck::app::detail::{self, HwItem, Tab};
use virtdeck::app::{App, Mode};
use virtdeck::xml::hardware;

const WAIT: Duration = Duration::from_secs(20);

/// The tiny guest with its disk converted to qcow2 (internal snapshots need it).
fn qcow2_guest() -> Guest {
    let g = Guest::define("ui");
    let conn = Connect::open(Some(URI)).unwrap();
    let dom = conn.lookup_domain_by_uuid_string(&g.uuid).unwrap();
    let xml = dom.xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE).unwrap();
    let hw = hardware::parse(&xml).unwrap();
    let raw = hw.disks[0].source.path().unwrap().to_string();
    let q = format!("{raw}.qcow2");
    let ok = Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "qcow2", &raw, &q])
        .status()
        .unwrap()
        .success();
    assert!(ok, "qemu-img convert");
    let new = xml
        .replace(&format!("'{raw}'"), &format!("'{q}'"))
        .replace("type='raw'", "type='qcow2'");
    assert_ne!(new, xml);
    conn.define_domain_xml(&new).unwrap();
    g
}

/// Drops snapshot metadata left by a failed test, so the guest can be undefined.
struct Snaps(String);

impl Drop for Snaps {
    fn drop(&mut self) {
        if let Ok(c) = Connect::open(Some(URI)) {
            if let Ok(d) = c.lookup_domain_by_uuid_string(&self.0) {
                for s in d.list_all_snapshots(0).unwrap_or_default() {
                    let _ = s.delete(virt::sys::VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY);
                }
            }
        }
    }
}

fn inactive(uuid: &str) -> hardware::Hardware {
    let conn = Connect::open(Some(URI)).unwrap();
    let dom = conn.lookup_domain_by_uuid_string(uuid).unwrap();
    hardware::parse(&dom.xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE).unwrap()).unwrap()
}

fn snapshot_names(uuid: &str) -> Vec<String> {
    let conn = Connect::open(Some(URI)).unwrap();
    let dom = conn.lookup_domain_by_uuid_string(uuid).unwrap();
    dom.list_all_snapshots(0)
        .unwrap()
        .iter()
        .map(|s| s.name().unwrap())
        .collect()
}

fn loaded(app: &App) -> bool {
    detail::cached(app).is_some_and(|c| !c.loading && c.details.is_some())
}

fn go_to(live: &mut common::Live, item: HwItem) {
    live.app.detail.tab = Tab::Hardware;
    live.press("g");
    let items = detail::items::hw_items(&detail::current(&live.app).unwrap().hardware);
    for _ in 0..items.iter().position(|i| *i == item).unwrap() {
        live.press("j");
    }
}

fn clear_field(live: &mut common::Live, key: &str) {
    let Mode::Wizard(w) = &live.app.mode else {
        panic!("no form: {:?}", live.app.mode)
    };
    for _ in 0..w.get(key).chars().count() {
        live.press("<Backspace>");
    }
}

#[test]
fn edits_and_snapshots_through_the_detail_screen() {
    if !kvm_available() {
        return;
    }
    let g = qcow2_guest();
    let _snaps = Snaps(g.uuid.clone());
    let mut live = live(Duration::from_secs(1));
    select(&mut live, &g);
    live.press("<Enter>");
    assert!(live.pump_until(WAIT, loaded), "details never came");

    // Title, from the Hardware tab's form.
    go_to(&mut live, HwItem::Title);
    live.press("e");
    clear_field(&mut live, "text");
    live.type_text("edited <by> keys & ü");
    live.press("<Enter>");
    assert!(
        live.pump_until(WAIT, |a| a.mode == Mode::Normal && loaded(a)),
        "title form never closed: {:?}",
        live.app.messages.log
    );
    assert_eq!(
        inactive(&g.uuid).title.as_deref(),
        Some("edited <by> keys & ü")
    );

    // vCPUs 2 (maximum 2): the persistent definition of the shut-off guest.
    go_to(&mut live, HwItem::Vcpus);
    live.press("e");
    clear_field(&mut live, "count");
    live.type_text("2");
    live.press("<Tab>");
    clear_field(&mut live, "max");
    live.type_text("2");
    live.press("<Enter>");
    assert!(
        live.pump_until(WAIT, |a| a.mode == Mode::Normal
            && detail::current(a).is_some_and(|d| d.hardware.vcpus.current == 2)),
        "vCPU form never closed: {:?}",
        live.app.messages.log
    );
    let hw = inactive(&g.uuid);
    assert_eq!((hw.vcpus.current, hw.vcpus.max), (2, 2));

    // A snapshot, created and deleted by keys.
    live.press("n");
    live.press("<Enter>");
    live.press("<Enter>");
    assert!(
        live.pump_until(WAIT, |a| a.mode == Mode::Normal
            && detail::current(a)
                .is_some_and(|d| d.snapshots.get("snap1").is_some())),
        "snapshot never showed: {:?}",
        live.app.messages.log
    );
    assert_eq!(snapshot_names(&g.uuid), vec!["snap1".to_string()]);
    assert_eq!(live.app.detail.tab, Tab::Snapshots);
    live.press("D");
    live.press("<Enter>");
    assert!(
        live.pump_until(WAIT, |a| a.mode == Mode::Normal
            && detail::current(a).is_some_and(|d| d.snapshots.snapshots.is_empty())),
        "snapshot never went: {:?}",
        live.app.messages.log
    );
    assert!(snapshot_names(&g.uuid).is_empty());
}

/// The clone form opened before the pools pane ever was: it used to offer pool "default"
/// (hint "pools: -"), which this host does not have, and lose the form to "Storage pool not
/// found". It now asks the host and offers a pool libvirt has.
#[test]
fn clone_form_offers_a_pool_the_host_has() {
    if !kvm_available() {
        return;
    }
    let pool = Pool::new("clonepool");
    let g = Guest::define("clonepool");
    let mut live = live(Duration::from_secs(1));
    select(&mut live, &g);
    live.press("<Enter>");
    assert!(live.pump_until(WAIT, loaded), "details never came");
    live.press("C");
    let conn = Connect::open(Some(URI)).unwrap();
    let exists = |p: &str| !p.is_empty() && conn.lookup_storage_pool_by_name(p).is_ok();
    let offered = live.pump_until(WAIT, |a| match &a.mode {
        Mode::Wizard(w) => exists(&w.get("pool")) && w.field("pool").unwrap().error.is_none(),
        _ => false,
    });
    let Mode::Wizard(w) = &live.app.mode else {
        panic!("the clone form closed: {:?}", live.app.mode)
    };
    assert!(
        offered,
        "pool {:?} ({:?}) is not one of the host's; ours is {}",
        w.get("pool"),
        w.field("pool").unwrap().hint,
        pool.name
    );
    assert!(w.field("pool").unwrap().hint.contains(&pool.name));
}
