//! The attach form's host device on a real qemu:///system, by keys through the app and a
//! real worker: a PCI function given live to the running tiny guest is refused by libvirt
//! (this nested KVM lab has no IOMMU); the form shows libvirt's reason, keeps the choice and
//! the guest has no host device. Skipped without KVM unless VIRTDECK_REQUIRE_KVM=1.

mod common;

use std::time::Duration;

use common::guest::{kvm_available, live, select, Guest, URI};
use virt::connect::Connect;
use virtdeck::app::detail;
use virtdeck::app::{App, Mode};

const WAIT: Duration = Duration::from_secs(20);

fn loaded(app: &App) -> bool {
    detail::cached(app).is_some_and(|c| !c.loading && c.details.is_some())
}

#[test]
fn a_refused_pci_attach_keeps_the_form_with_libvirts_reason() {
    if !kvm_available() {
        return;
    }
    if std::fs::read_dir("/sys/kernel/iommu_groups").is_ok_and(|mut d| d.next().is_some()) {
        println!("skipped: this host has an IOMMU; not passing a device through for real");
        return;
    }
    let g = Guest::define("hostdev-ui");
    let conn = Connect::open(Some(URI)).unwrap();
    let dom = conn.lookup_domain_by_uuid_string(&g.uuid).unwrap();
    dom.create().unwrap();
    let mut live = live(Duration::from_secs(1));
    select(&mut live, &g);
    live.press("<Enter>");
    assert!(live.pump_until(WAIT, loaded), "details never came");
    live.press("<Tab>");
    live.press("A");
    live.press("<Left>"); // Device: host device (the last choice)
    let Mode::Wizard(w) = &live.app.mode else {
        panic!("no form")
    };
    assert_eq!(w.get("what"), "host device");
    assert!(
        live.pump_until(WAIT, |a| a.hosts[0].hostdevs.is_some()),
        "no node devices"
    );
    live.pump_until(Duration::from_millis(300), |_| false);
    // A function the host does not use (the virtio RNG or balloon here).
    live.press("<Down>");
    live.type_text("virtio 1.0 rng");
    let chosen = match &live.app.mode {
        Mode::Wizard(w) => w.get("hd_dev"),
        _ => String::new(),
    };
    if chosen.is_empty() {
        println!("skipped: no virtio RNG function on this host to name");
        return;
    }
    live.press("<Enter>"); // review
    live.press("<Enter>"); // attach (live and persistent)
    assert!(
        live.pump_until(
            WAIT,
            |a| matches!(&a.mode, Mode::Wizard(w) if w.error.is_some())
        ),
        "no refusal: {:?}",
        live.app.messages.log
    );
    let Mode::Wizard(w) = &live.app.mode else {
        panic!()
    };
    let e = w.error.clone().unwrap();
    println!("the form shows: {e}");
    assert!(e.contains("passthrough") || e.contains("PCI"), "{e}");
    assert_eq!(w.get("hd_dev"), chosen, "the choice is kept");
    let xml = dom.xml_desc(0).unwrap();
    assert!(!xml.contains("<hostdev"), "{xml}");
    let inactive = dom.xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE).unwrap();
    assert!(!inactive.contains("<hostdev"), "{inactive}");
}
