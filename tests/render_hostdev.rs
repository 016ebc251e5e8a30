//! The attach form's host-device picker on the demo fleet (lab-edge, test driver): the list
//! with the chosen device's warnings, the USB choice, and the review page with the warnings
//! again above the XML.

mod common;

use std::time::Duration;

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use virtdeck::app::detail;
use virtdeck::app::{App, Mode, View};

fn screen(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| virtdeck::ui::render(app, f)).unwrap();
    t.backend().to_string()
}

fn open(name: &str) -> common::Live {
    let mut live = common::demo();
    assert!(live.pump_until(Duration::from_secs(10), |a| a
        .hosts
        .iter()
        .all(|h| h.status.is_connected())));
    live.press("/");
    live.type_text(name);
    live.press("<Enter>");
    live.press("<Enter>");
    assert!(matches!(live.app.view, View::Detail { .. }));
    assert!(live.pump_until(Duration::from_secs(10), |a| {
        detail::cached(a).is_some_and(|c| !c.loading && c.details.is_some())
    }));
    live
}

/// The attach form on "host device" (the last choice), with the host's devices read.
fn picker(name: &str) -> common::Live {
    let mut live = open(name);
    live.press("<Tab>");
    live.press("A");
    live.press("<Left>"); // Device: the last choice wraps around
    let Mode::Wizard(w) = &live.app.mode else {
        panic!("no form")
    };
    assert_eq!(w.get("what"), "host device");
    assert!(live.pump_until(Duration::from_secs(10), |a| a
        .hosts
        .iter()
        .any(|h| h.hostdevs.is_some())));
    live.pump_until(Duration::from_millis(300), |_| false);
    live.press("<Down>"); // focus the picker
    live
}

#[test]
fn host_device_picker_warns_about_a_shared_iommu_group() {
    let mut live = picker("home-assistant");
    let s = screen(&live.app, 120, 30);
    assert!(s.contains("GP107") && s.contains("⚠"), "{s}");
    insta::assert_snapshot!("hostdev_picker_120x30", s);
    live.press("<Enter>");
    let s = screen(&live.app, 120, 30);
    assert!(
        s.contains("shares IOMMU group 12") && s.contains("<hostdev"),
        "{s}"
    );
    insta::assert_snapshot!("hostdev_review_120x30", s);
}

#[test]
fn host_device_picker_filters_to_a_usb_stick() {
    let mut live = picker("home-assistant");
    live.type_text("sandisk");
    let s = screen(&live.app, 120, 30);
    assert!(s.contains("Ultra Fit") && s.contains("USB by"), "{s}");
    insta::assert_snapshot!("hostdev_usb_120x30", s);
    // The Zigbee stick is the VM's already.
    let mut live = picker("home-assistant");
    live.type_text("conbee");
    let s = screen(&live.app, 120, 30);
    assert!(
        s.contains("USB 1cf1:0030 is attached to this VM already"),
        "{s}"
    );
}

/// The Hardware tab names the VM's host device by what the host calls it, and `D` offers
/// to detach it.
#[test]
fn hardware_tab_names_the_host_device() {
    let mut live = open("home-assistant");
    live.press("<Tab>");
    // The next tick asks the host for its devices (the VM has one).
    live.tick();
    assert!(live.pump_until(Duration::from_secs(10), |a| a
        .hosts
        .iter()
        .any(|h| h.hostdevs.is_some())));
    live.press("G");
    live.press("k"); // the host device sits above the balloon
    let s = screen(&live.app, 120, 30);
    assert!(
        s.contains("Host device") && s.contains("USB 1cf1:0030 (Dresden Elektronik ConBee II)"),
        "{s}"
    );
    insta::assert_snapshot!("hostdev_hardware_120x30", s);
    live.press("D");
    let s = screen(&live.app, 120, 30);
    assert!(matches!(live.app.mode, Mode::Confirm(_)), "{s}");
}

/// `:hostdevs`: every host's devices, a ⚠ where something speaks against passing one
/// through, the selected one's warnings below.
#[test]
fn host_devices_pane_lists_the_fleets_devices() {
    let mut live = common::demo();
    assert!(live.pump_until(Duration::from_secs(10), |a| a
        .hosts
        .iter()
        .all(|h| h.status.is_connected())));
    live.press(":");
    live.type_text("hostdevs");
    live.press("<Enter>");
    assert_eq!(
        live.app.view,
        View::Pane(virtdeck::app::panes::PaneId::HostDevs)
    );
    assert!(live.pump_until(Duration::from_secs(10), |a| a
        .hosts
        .iter()
        .all(|h| h.hostdevs.is_some())));
    live.press("j");
    live.press("j"); // the I210 carrying eno1
    let s = screen(&live.app, 120, 30);
    assert!(
        s.contains("Host devices 7") && s.contains("carries interface eno1 (up)"),
        "{s}"
    );
    insta::assert_snapshot!("hostdevs_pane_120x30", s);
}
