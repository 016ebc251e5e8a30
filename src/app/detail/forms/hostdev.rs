//! The attach form's host device: a searchable list of the host's PCI functions, USB devices
//! and mediated devices (`HostCommand::NodeDevices`, asked when the form opens), with what
//! to know before giving one away (a shared IOMMU group, no IOMMU, the host's own interface
//! or disk on it) under the field and again on the review page.

use super::facts::Facts;
use super::{at, Ops, Wizard};
use crate::app::wizard::{check, Field};
use crate::host::vm::{Scope, VmOp};
use crate::model::hostdev::{HostDevices, UsbBy};
use crate::xml::hostdev::{spec_of, HostdevSpec};
use crate::xml::nodedev::{DevKind, NodeDevice};

/// The device choice this module owns.
pub(super) const KIND: &str = "host device";
const BY_ID: &str = "vendor/product";
const BY_ADDR: &str = "bus/device";

pub(super) fn fields() -> Vec<Field> {
    vec![
        Field::pick("hd_dev", "Host device", 0)
            .hint("type to filter (address, vendor, product, driver); ←/→ choose"),
        Field::choice("hd_usb", "USB by", 0, &[BY_ID, BY_ADDR]).hint(
            "vendor/product: the device on any port; bus/device: this one of identical \
             devices, until it is replugged",
        ),
    ]
}

fn usb_by(w: &Wizard) -> UsbBy {
    if w.get("hd_usb") == BY_ADDR {
        UsbBy::Address
    } else {
        UsbBy::Id
    }
}

fn devices(facts: &Facts) -> Result<&HostDevices, String> {
    match &facts.hostdevs {
        None => Err("asking the host for its devices…".into()),
        Some(Err(e)) => Err(format!(
            "the host did not list its devices: {}",
            crate::sanitize::text(e)
        )),
        Some(Ok(h)) => Ok(h),
    }
}

/// The chosen node device.
fn chosen<'a>(w: &Wizard, h: &'a HostDevices) -> Option<&'a NodeDevice> {
    let name = w.get("hd_dev");
    h.offered().into_iter().find(|d| d.name == name)
}

/// Shows the fields, fills the list from the filter, and sets the warnings and review.
pub(super) fn check_hostdev(w: &mut Wizard, facts: &Facts, what: &str) {
    let on = what == KIND;
    if let Some(f) = w.field_mut("hd_dev") {
        f.visible = on;
    }
    if !on {
        if let Some(f) = w.field_mut("hd_usb") {
            f.visible = false;
        }
        return;
    }
    let h = match devices(facts) {
        Ok(h) => h,
        Err(e) => {
            w.set_items("hd_dev", Vec::new());
            check(w, "hd_dev", Err(e.clone()));
            w.review_notes = Vec::new();
            w.review = Some(Err(e));
            return;
        }
    };
    let q = w
        .field("hd_dev")
        .map(Field::query)
        .unwrap_or_default()
        .to_lowercase();
    let items: Vec<(String, String)> = h
        .offered()
        .into_iter()
        .map(|d| (d.name.clone(), h.line(d)))
        .filter(|(_, l)| q.split_whitespace().all(|w| l.to_lowercase().contains(w)))
        .collect();
    let none = if h.offered().is_empty() {
        "the host lists no PCI, USB or mediated device to give a guest"
    } else {
        "nothing matches the filter"
    };
    w.set_items("hd_dev", items);
    let dev = chosen(w, h);
    if let Some(f) = w.field_mut("hd_usb") {
        f.visible = matches!(dev.map(|d| &d.kind), Some(DevKind::Usb(_)));
    }
    let warnings = dev.map(|d| h.warnings(d)).unwrap_or_default();
    if let Some(f) = w.field_mut("hd_dev") {
        f.warning = (!warnings.is_empty()).then(|| warnings.join(" · "));
    }
    let result = plan(w, facts, h, dev).map(|(_, xml)| xml);
    check(
        w,
        "hd_dev",
        match (&result, dev) {
            (_, None) => Err(none.into()),
            (Err(e), _) => Err(e.clone()),
            _ => Ok(()),
        },
    );
    let mut notes: Vec<String> = warnings.iter().map(|w| format!("⚠ {w}")).collect();
    if let Some(d) = dev {
        let what = match h.spec(d, usb_by(w)) {
            Some(spec) => match h.describe(&spec) {
                Some(name) => format!("{} ({name})", spec.label()),
                None => spec.label(),
            },
            None => h.line(d),
        };
        notes.insert(0, format!("{what}: {}", driver_note(d)));
        if matches!(d.kind, DevKind::Pci(_)) && facts.details.active {
            notes.push(
                "A running guest gets it now if the host can hotplug it (an IOMMU, the \
                 device free); if libvirt refuses, the form shows why and nothing changes: \
                 Applies persistent adds it from the next boot."
                    .into(),
            );
        }
    }
    super::devices::offer_all_scopes(w, &facts.details);
    w.review_notes = notes;
    w.review = Some(result);
}

fn driver_note(d: &NodeDevice) -> String {
    match (&d.kind, d.driver.as_deref()) {
        (DevKind::Pci(_), Some("vfio-pci")) => "bound to vfio-pci already".into(),
        (DevKind::Pci(_), Some(drv)) => format!(
            "host driver {}: libvirt unbinds it (managed) while the guest runs",
            crate::sanitize::text(drv)
        ),
        (DevKind::Pci(_), None) => "no host driver bound".into(),
        (_, Some(drv)) => format!("host driver {}", crate::sanitize::text(drv)),
        (_, None) => "no host driver".into(),
    }
}

/// The spec and its element, or why not.
fn plan(
    w: &Wizard,
    facts: &Facts,
    h: &HostDevices,
    dev: Option<&NodeDevice>,
) -> Result<(HostdevSpec, String), String> {
    let dev = dev.ok_or("choose a host device")?;
    let spec = h
        .spec(dev, usb_by(w))
        .ok_or("this mediated device has no UUID to name it by")?;
    let d = &facts.details;
    let next = d.next_boot.as_ref().unwrap_or(&d.hardware);
    let has = |hw: &crate::xml::hardware::Hardware| {
        hw.other.iter().filter(|o| o.kind == "hostdev").any(|o| {
            crate::xml::tree::parse(&o.xml, "hostdev")
                .ok()
                .and_then(|n| spec_of(&n))
                .is_some_and(|s| s == spec)
        })
    };
    if has(next) || has(&d.hardware) {
        return Err(format!("{} is attached to this VM already", spec.label()));
    }
    let xml = spec.to_xml().map_err(|e| e.to_string())?;
    Ok((spec, xml))
}

pub(super) fn ops(w: &Wizard, scope: Scope) -> Result<Ops, String> {
    let facts = &super::of(w).ok_or("not a VM form")?.facts;
    let h = devices(facts)?;
    let (spec, xml) = plan(w, facts, h, chosen(w, h))?;
    Ok(vec![(
        format!("attach {}{}", spec.label(), at(scope)),
        VmOp::AttachDevice { xml, scope },
    )])
}

#[cfg(test)]
mod tests {
    use crate::app::detail::tests::{opened, opened_with, ops, press, xml_with};
    use crate::app::wizard::{Context, Input};
    use crate::app::{App, Mode, Msg};
    use crate::host::vm::{Scope, VmOp};
    use crate::host::{HostEvent, Reply};
    use crate::model::hostdev::HostDevices;
    use crate::model::HostId;

    /// The attach form on "host device", re-checked with the host's answer `devs`.
    fn form(a: &mut App, devs: Option<Result<HostDevices, String>>, query: &str) {
        press(a, "A");
        let Mode::Wizard(w) = &mut a.mode else {
            panic!("no form")
        };
        assert!(w.choose("what", super::KIND));
        w.set_query("hd_dev", query);
        let ctx = Context {
            hostdevs: devs,
            ..Default::default()
        };
        super::super::refresh(w, &ctx);
    }

    fn wiz(a: &mut App) -> &mut crate::app::wizard::Wizard {
        let Mode::Wizard(w) = &mut a.mode else {
            panic!("no form")
        };
        w
    }

    fn items(a: &mut App) -> Vec<String> {
        match &wiz(a).field("hd_dev").unwrap().input {
            Input::Pick { items, .. } => items.iter().map(|i| i.0.clone()).collect(),
            other => panic!("{other:?}"),
        }
    }

    fn submit(a: &mut App) -> Vec<VmOp> {
        press(a, "<Enter>");
        let fx = press(a, "<Enter>");
        ops(&fx).into_iter().map(|(_, op)| op).collect()
    }

    #[test]
    fn a_pci_function_with_a_shared_group_is_warned_about_and_attached() {
        let mut a = opened(true);
        form(&mut a, Some(Ok(crate::model::hostdev::tests::sample())), "");
        assert_eq!(items(&mut a).len(), 5, "bridge and root hub left out");
        let w = wiz(&mut a);
        assert_eq!(w.get("hd_dev"), "pci_0000_01_00_0");
        let warning = w.field("hd_dev").unwrap().warning.clone().unwrap();
        assert!(
            warning.contains("IOMMU group 12 with 0000:01:00.1"),
            "{warning}"
        );
        assert!(!w.field("hd_usb").unwrap().visible);
        assert!(
            w.review_notes
                .iter()
                .any(|n| n.starts_with("⚠ shares IOMMU group 12")),
            "{:?}",
            w.review_notes
        );
        assert!(
            w.review_notes[0].contains("libvirt unbinds it"),
            "{:?}",
            w.review_notes
        );
        assert!(w
            .review_notes
            .iter()
            .any(|n| n.contains("Applies persistent")));
        assert_eq!(w.get("scope"), "live and persistent");
        let sent = submit(&mut a);
        let [VmOp::AttachDevice { xml, scope }] = sent.as_slice() else {
            panic!("{sent:?}")
        };
        assert!(
            xml.contains("type=\"pci\" managed=\"yes\"")
                && xml.contains("bus=\"0x01\" slot=\"0x00\" function=\"0x0\""),
            "{xml}"
        );
        assert_eq!(*scope, Scope::BOTH);
    }

    #[test]
    fn the_host_nic_warns_and_a_refusal_keeps_the_form() {
        let mut a = opened(true);
        form(
            &mut a,
            Some(Ok(crate::model::hostdev::tests::sample())),
            "e1000e",
        );
        let w = wiz(&mut a);
        assert_eq!(w.get("hd_dev"), "pci_0000_02_00_0");
        assert!(w.review_notes.iter().any(|n| n.contains(
            "in use by the host: driver e1000e carries interface eth0 (up, 192.0.2.5/24)"
        )));
        press(&mut a, "<Enter>");
        let fx = press(&mut a, "<Enter>");
        let sent = ops(&fx);
        let [(id, VmOp::AttachDevice { .. })] = sent.as_slice() else {
            panic!("{fx:?}")
        };
        // libvirt's refusal (no IOMMU in this lab) is shown; the choice stays.
        let err = "internal error: Failed to load PCI driver module vfio-pci";
        a.update(Msg::Host(
            HostId(0),
            HostEvent::Reply {
                id: *id,
                reply: Reply::Done(Err(err.into())),
            },
        ));
        let w = wiz(&mut a);
        assert_eq!(w.error.as_deref(), Some(err));
        assert_eq!(w.get("hd_dev"), "pci_0000_02_00_0");
    }

    #[test]
    fn usb_by_vendor_product_or_address_on_a_shut_off_vm() {
        let mut a = opened(false);
        form(
            &mut a,
            Some(Ok(crate::model::hostdev::tests::sample())),
            "logitech",
        );
        assert_eq!(items(&mut a), ["usb_1_5"]);
        assert!(wiz(&mut a).field("hd_usb").unwrap().visible);
        assert_eq!(wiz(&mut a).field("hd_dev").unwrap().warning, None);
        let sent = submit(&mut a);
        assert_eq!(
            sent,
            [VmOp::AttachDevice {
                xml: "<hostdev mode=\"subsystem\" type=\"usb\" managed=\"yes\">\n  <source>\n    \
                      <vendor id=\"0x046d\"/>\n    <product id=\"0xc52b\"/>\n  </source>\n</hostdev>\n"
                    .into(),
                scope: Scope::CONFIG
            }]
        );
        let mut a = opened(false);
        form(
            &mut a,
            Some(Ok(crate::model::hostdev::tests::sample())),
            "logitech",
        );
        let w = wiz(&mut a);
        assert!(w.choose("hd_usb", "bus/device"));
        super::super::refresh(w, &Default::default());
        let sent = submit(&mut a);
        assert!(
            matches!(sent.as_slice(), [VmOp::AttachDevice { xml, .. }] if xml.contains("<address bus=\"1\" device=\"3\"/>")),
            "{sent:?}"
        );
    }

    #[test]
    fn leaving_host_device_for_a_disk_hides_its_fields_and_errors() {
        let mut a = opened(false);
        form(&mut a, Some(Ok(HostDevices::default())), "");
        assert!(wiz(&mut a).field("hd_dev").unwrap().error.is_some());
        let w = wiz(&mut a);
        assert!(w.choose("what", "cdrom"));
        super::super::refresh(w, &Default::default());
        assert!(!w.field("hd_dev").unwrap().visible && !w.field("hd_usb").unwrap().visible);
        let sent = submit(&mut a);
        assert!(
            matches!(sent.as_slice(), [VmOp::AttachDevice { xml, .. }] if xml.contains("cdrom")),
            "{sent:?}"
        );
    }

    #[test]
    fn unknown_failed_empty_and_already_attached() {
        let mut a = opened(false);
        form(&mut a, None, "");
        assert!(wiz(&mut a)
            .review
            .clone()
            .unwrap()
            .unwrap_err()
            .contains("asking"));
        assert!(submit(&mut a).is_empty() && matches!(a.mode, Mode::Wizard(_)));
        let mut a = opened(false);
        form(&mut a, Some(Err("unsupported flags\u{1b}[2J".into())), "");
        let e = wiz(&mut a).field("hd_dev").unwrap().error.clone().unwrap();
        assert!(
            e.contains("unsupported flags") && !e.contains('\u{1b}'),
            "{e}"
        );
        let mut a = opened(false);
        form(&mut a, Some(Ok(HostDevices::default())), "");
        let e = wiz(&mut a).field("hd_dev").unwrap().error.clone().unwrap();
        assert!(e.contains("no PCI, USB or mediated device"), "{e}");
        let has = xml_with(
            "    <hostdev mode='subsystem' type='pci' managed='yes'><source><address \
             domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source></hostdev>",
        );
        let mut a = opened_with(false, &has);
        form(&mut a, Some(Ok(crate::model::hostdev::tests::sample())), "");
        let e = wiz(&mut a).field("hd_dev").unwrap().error.clone().unwrap();
        assert!(
            e.contains("PCI 0000:01:00.0 is attached to this VM already"),
            "{e}"
        );
    }
}
