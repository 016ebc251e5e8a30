//! The attach form's other devices: sound, RNG, watchdog, video, input, serial, console, USB
//! redirection, an emulated TPM and virtiofs shares. Each becomes an attach of its element, except where
//! libvirt needs the definition changed instead: the primary video's model (a VM has one;
//! changing it is an edit) and a virtiofs share on a VM without shared memory (the
//! `<memoryBacking>` it needs is read only when the guest starts).

use super::{Ops, Wizard};
use crate::app::wizard::{check, Field};
use crate::host::vm::{Scope, VmDetails, VmOp};
use crate::xml::device_extra::{
    pick, ExtraDevice, FsShare, INPUT_BUSES, INPUT_KINDS, SOUND_MODELS_PC, SOUND_MODELS_Q35,
    TPM_MODELS, VIDEO_MODELS, WATCHDOG_ACTIONS, WATCHDOG_MODELS,
};
use crate::xml::domcaps::GuestCaps;
use crate::xml::edit::{add_device, set_video_model, share_memory};
use crate::xml::hardware::Hardware;

/// The device choices this module owns (after disk, new volume, cdrom and nic).
pub(super) const KINDS: &[&str] = &[
    "sound", "rng", "watchdog", "video", "input", "serial", "console", USB_REDIR, "tpm", "virtiofs",
];
const USB_REDIR: &str = "usb redirect";

/// What `<memoryBacking>` a virtiofs share adds (the review shows it).
const SHARED_MEMORY: &str =
    "<memoryBacking>\n  <source type='memfd'/>\n  <access mode='shared'/>\n</memoryBacking>\n";

/// The fields keyed for each device, in form order.
const FIELDS: &[(&str, &[&str])] = &[
    ("sound", &["sound_model"]),
    ("watchdog", &["wd_model", "wd_action"]),
    ("video", &["video_model"]),
    ("input", &["input_kind", "input_bus"]),
    ("tpm", &["tpm_model"]),
    ("virtiofs", &["fs_source", "fs_tag", "fs_readonly"]),
];

fn q35(hw: &Hardware) -> bool {
    hw.os.machine.as_deref().is_some_and(|m| m.contains("q35"))
}

/// The fields of the other devices (hidden until one is chosen).
pub(super) fn fields(d: &VmDetails) -> Vec<Field> {
    let q = q35(&d.hardware);
    vec![
        Field::choice(
            "sound_model",
            "Sound model",
            0,
            if q { SOUND_MODELS_Q35 } else { SOUND_MODELS_PC },
        )
        .hint(if q {
            "ich9: the HDA of q35's own chipset"
        } else {
            "ich6: HDA; ac97 for old guests"
        }),
        Field::choice("wd_model", "Watchdog", 0, WATCHDOG_MODELS)
            .hint("the guest must feed it (a watchdog daemon), or the action fires"),
        Field::choice("wd_action", "On expiry", 0, WATCHDOG_ACTIONS),
        Field::choice("video_model", "Video model", 0, VIDEO_MODELS),
        Field::choice("input_kind", "Input", 0, INPUT_KINDS),
        Field::choice("input_bus", "Input bus", 0, INPUT_BUSES),
        Field::choice("tpm_model", "TPM model", 0, TPM_MODELS)
            .hint("TPM 2.0 emulated by swtpm on the host; crb: what Windows 11 expects"),
        Field::text("fs_source", "Host directory", 0, "")
            .hint("an absolute directory on the host, shared with the guest"),
        Field::text("fs_tag", "Mount tag", 0, "").hint("in the guest: mount -t virtiofs TAG /mnt"),
        Field::choice("fs_readonly", "Read-only", 0, &["no", "yes"]),
    ]
}

/// Whether `what` is one of this module's devices.
pub(super) fn owns(what: &str) -> bool {
    KINDS.contains(&what)
}

/// Shows the chosen device's fields (hiding the others'), checks them and rebuilds the
/// review and its notes; narrows the scope to what the change can apply to.
pub(super) fn check_device(
    w: &mut Wizard,
    d: &VmDetails,
    caps: Option<&Result<GuestCaps, String>>,
    what: &str,
) {
    for (kind, keys) in FIELDS {
        for k in *keys {
            if let Some(f) = w.field_mut(k) {
                f.visible = *kind == what;
            }
        }
    }
    if !owns(what) {
        return;
    }
    let problems = share(w).validate();
    for key in ["fs_source", "fs_tag"] {
        let e = problems
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, e)| e.clone());
        check(w, key, e.map_or(Ok(()), Err));
    }
    if what == "tpm" {
        check_tpm(w, d, caps);
    }
    match plan(w, d) {
        Ok(p) => {
            match p.only {
                Some(s) => w.set_options("scope", vec![s.label().to_string()]),
                None => offer_all_scopes(w, d),
            }
            w.review_notes = p.notes;
            w.review = Some(Ok(p.review));
        }
        Err(e) => {
            offer_all_scopes(w, d);
            w.review_notes = Vec::new();
            w.review = Some(Err(e));
        }
    }
}

/// The TPM models the host offers, and why a TPM cannot be added (one per VM; swtpm).
fn check_tpm(w: &mut Wizard, d: &VmDetails, caps: Option<&Result<GuestCaps, String>>) {
    let next = d.next_boot.as_ref().unwrap_or(&d.hardware);
    let (result, warning) = match caps {
        _ if next.other.iter().any(|o| o.kind == "tpm") => (
            Err("the VM has a TPM already (one per VM): detach it first".to_string()),
            None,
        ),
        Some(Ok(c)) => {
            let models: Vec<String> = TPM_MODELS
                .iter()
                .filter(|m| c.tpm_models.iter().any(|x| x == *m))
                .map(|m| m.to_string())
                .collect();
            if !models.is_empty() {
                w.set_options("tpm_model", models);
            }
            (c.tpm_problem().map_or(Ok(()), Err), None)
        }
        Some(Err(e)) => (
            Ok(()),
            Some(format!("the host did not say whether it has swtpm: {e}")),
        ),
        None => (Ok(()), Some("asking the host for its TPM support…".into())),
    };
    check(w, "tpm_model", result);
    if let Some(f) = w.field_mut("tpm_model") {
        f.warning = warning;
    }
}

/// Offers every scope the VM allows again; after a device that narrowed it to one, the
/// widest is chosen (what the form opens with).
pub(super) fn offer_all_scopes(w: &mut Wizard, d: &VmDetails) {
    let all: Vec<String> = super::scopes(d).iter().map(|s| s.label().into()).collect();
    let narrowed = matches!(
        w.field("scope").map(|f| &f.input),
        Some(crate::app::wizard::Input::Choice { options, .. }) if options.len() == 1
    );
    let first = all.first().cloned().unwrap_or_default();
    w.set_options("scope", all);
    if narrowed {
        w.choose("scope", &first);
    }
}

/// The change the form sends.
pub(super) fn ops(w: &Wizard, d: &VmDetails, scope: Scope) -> Result<Ops, String> {
    let p = plan(w, d)?;
    let scope = p.only.unwrap_or(scope);
    let label = format!("{} {}", w.get("what"), p.what);
    let op = match p.define {
        Some(xml) => VmOp::DefineXml { xml },
        None => VmOp::AttachDevice {
            xml: p.element,
            scope,
        },
    };
    Ok(vec![(format!("{label}{}", super::at(scope)), op)])
}

/// What the form will do.
struct Plan {
    /// The device element.
    element: String,
    /// What the review page shows: the element, and what else the definition gets.
    review: String,
    /// The new definition, when the device goes in by redefining instead of attaching.
    define: Option<String>,
    /// The one scope the change can have, when narrower than the VM's.
    only: Option<Scope>,
    /// Lines above the review's XML.
    notes: Vec<String>,
    /// "attach", "change": for the status line.
    what: &'static str,
}

fn share(w: &Wizard) -> FsShare {
    FsShare {
        source: w.get("fs_source"),
        tag: w.get("fs_tag"),
        readonly: w.get("fs_readonly") == "yes",
    }
}

/// The device from the form's choices (each picked from its fixed list).
fn device(w: &Wizard, d: &VmDetails) -> Result<ExtraDevice, String> {
    let chosen = |key: &str, list: &[&'static str]| {
        pick(list, &w.get(key)).ok_or_else(|| format!("choose a {key}"))
    };
    let q = q35(&d.hardware);
    Ok(match w.get("what").as_str() {
        "sound" => ExtraDevice::Sound {
            model: chosen(
                "sound_model",
                if q { SOUND_MODELS_Q35 } else { SOUND_MODELS_PC },
            )?,
        },
        "rng" => ExtraDevice::Rng,
        "watchdog" => ExtraDevice::Watchdog {
            model: chosen("wd_model", WATCHDOG_MODELS)?,
            action: chosen("wd_action", WATCHDOG_ACTIONS)?,
        },
        "video" => ExtraDevice::Video {
            model: chosen("video_model", VIDEO_MODELS)?,
        },
        "input" => ExtraDevice::Input {
            kind: chosen("input_kind", INPUT_KINDS)?,
            bus: chosen("input_bus", INPUT_BUSES)?,
        },
        "serial" => ExtraDevice::Serial,
        "console" => ExtraDevice::Console,
        USB_REDIR => ExtraDevice::UsbRedir,
        "tpm" => ExtraDevice::Tpm {
            model: chosen("tpm_model", TPM_MODELS)?,
        },
        "virtiofs" => ExtraDevice::Virtiofs(share(w)),
        other => return Err(format!("unknown device {other}")),
    })
}

/// The persistent definition, for changes that redefine it.
fn definition(d: &VmDetails) -> Result<&str, String> {
    if !d.secure {
        // Redefining from a read-only connection's XML would drop graphics passwords.
        return Err(
            "this connection cannot read the VM's secrets: redefining it would \
                    drop them (connect read-write)"
                .into(),
        );
    }
    d.inactive_xml
        .as_deref()
        .ok_or_else(|| "a transient VM has no definition to change".into())
}

fn plan(w: &Wizard, d: &VmDetails) -> Result<Plan, String> {
    let dev = device(w, d)?;
    if let Some((_, e)) = dev.validate().into_iter().next() {
        return Err(e);
    }
    let xml = dev.to_xml().map_err(|e| e.to_string())?;
    // The definition the change lands in: the persistent one when the VM runs.
    let next = d.next_boot.as_ref().unwrap_or(&d.hardware);
    let mut plan = Plan {
        element: xml.clone(),
        review: xml.clone(),
        define: None,
        only: None,
        notes: Vec::new(),
        what: "attach",
    };
    // A virtio console hotplugs onto a virtio-serial bus; libvirt adds the controller only
    // to a definition ("no virtio-serial controllers are available" live).
    let no_serial_bus = matches!(dev, ExtraDevice::Console)
        && !d
            .hardware
            .controllers
            .iter()
            .any(|c| c.kind == "virtio-serial");
    if (!dev.hotpluggable() || no_serial_bus) && d.active {
        if !d.persistent {
            return Err(format!(
                "QEMU cannot add a {} to a running guest and this transient VM has no \
                 definition for the next boot",
                dev.element()
            ));
        }
        plan.only = Some(Scope::CONFIG);
        plan.notes.push(if no_serial_bus {
            "The running guest has no virtio-serial controller: the console is added to the \
             definition (libvirt adds the controller) and appears at the next boot."
                .to_string()
        } else {
            format!(
                "QEMU cannot add a {} to a running guest: it is added to the definition and \
                 appears at the next boot.",
                dev.element()
            )
        });
    }
    match &dev {
        ExtraDevice::UsbRedir if !next.graphics.iter().any(|g| g.kind == "spice") => {
            return Err(
                "USB redirection goes through a SPICE client: this VM has no SPICE \
                        graphics (add it in the XML, E)"
                    .into(),
            );
        }
        ExtraDevice::UsbRedir | ExtraDevice::Input { bus: "usb", .. }
            if next
                .controllers
                .iter()
                .any(|c| c.kind == "usb" && c.model.as_deref() == Some("none")) =>
        {
            return Err(
                "this VM has no USB controller (model none): add one in the XML (E) \
                        or choose the virtio bus"
                    .into(),
            );
        }
        ExtraDevice::Video { model } => {
            if let Some(old) = next.other.iter().find(|o| o.kind == "video") {
                // A VM has one primary video: a new model replaces it.
                plan.define =
                    Some(set_video_model(definition(d)?, model).map_err(|e| e.to_string())?);
                plan.only = Some(Scope::CONFIG);
                plan.what = "change";
                plan.notes = vec![format!(
                    "The VM has a video adapter ({}): its model changes to {model} in the \
                     definition, from the next boot.",
                    // The host wrote it: shown escaped, as all host text.
                    crate::sanitize::text(old.model.as_deref().unwrap_or("default"))
                )];
            }
        }
        _ => {}
    }
    if let ExtraDevice::Virtiofs(FsShare { readonly: true, .. }) = &dev {
        plan.notes.push(
            "libvirt 9.0 (Debian 12) refuses a read-only virtiofs share (\"virtiofs does not \
             yet support read-only mode\"); newer releases accept it."
                .into(),
        );
    }
    if let ExtraDevice::Tpm { .. } = dev {
        // libvirt 9.0 attaches a TPM neither live nor persistently ("persistent attach of
        // device 'tpm' is not supported"): the definition gets it.
        plan.define = Some(add_device(definition(d)?, &xml).map_err(|e| e.to_string())?);
        plan.only = Some(Scope::CONFIG);
        if !d.active {
            plan.notes.push(
                "libvirt cannot attach a TPM: it is added to the definition (redefine) and \
                 swtpm starts with the VM."
                    .into(),
            );
        }
    }
    match &dev {
        ExtraDevice::Virtiofs(_) if !next.shared_memory => {
            if d.active {
                return Err("virtiofs needs shared guest memory (<memoryBacking> with \
                            access shared), which libvirt sets only while the VM is shut off: \
                            shut it down, then attach the share"
                    .into());
            }
            let base = share_memory(definition(d)?).map_err(|e| e.to_string())?;
            plan.define = Some(add_device(&base, &xml).map_err(|e| e.to_string())?);
            plan.only = Some(Scope::CONFIG);
            plan.notes.insert(
                0,
                "The VM's memory is not shared yet, which virtiofs needs: the definition \
                 also gets this <memoryBacking> (memfd, shared)."
                    .into(),
            );
            plan.review = format!("{SHARED_MEMORY}{xml}");
        }
        _ => {}
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use crate::app::detail::items::HwItem;
    use crate::app::detail::tests::{opened, opened_with, ops, press, select_item, xml_with};
    use crate::app::{App, Mode};
    use crate::host::vm::{Scope, VmOp};

    /// Opens the attach form with `what` chosen and `set` applied; the form re-checks.
    fn form(a: &mut App, what: &str, set: &[(&str, &str)]) {
        press(a, "A");
        let Mode::Wizard(w) = &mut a.mode else {
            panic!("no form")
        };
        assert!(w.choose("what", what), "no device {what}");
        for (k, v) in set {
            if !w.choose(k, v) {
                w.set_text(k, v);
            }
        }
        super::super::refresh(w, &Default::default());
    }

    fn review(a: &App) -> (Result<String, String>, Vec<String>, String) {
        let Mode::Wizard(w) = &a.mode else {
            panic!("no form")
        };
        (
            w.review.clone().expect("a review"),
            w.review_notes.clone(),
            w.get("scope"),
        )
    }

    /// Goes to the review page and submits; the ops sent.
    fn submit(a: &mut App) -> Vec<VmOp> {
        press(a, "<Enter>");
        let fx = press(a, "<Enter>");
        ops(&fx).into_iter().map(|(_, op)| op).collect()
    }

    /// The form re-checked with the host's capabilities `caps`.
    fn with_caps(a: &mut App, caps: Result<crate::xml::domcaps::GuestCaps, String>) {
        let Mode::Wizard(w) = &mut a.mode else {
            panic!("no form")
        };
        let ctx = crate::app::wizard::Context {
            caps: Some(caps),
            ..Default::default()
        };
        super::super::refresh(w, &ctx);
    }

    fn field(a: &App, key: &str) -> crate::app::wizard::Field {
        let Mode::Wizard(w) = &a.mode else {
            panic!("no form")
        };
        w.field(key).cloned().expect("field")
    }

    #[test]
    fn a_tpm_goes_to_the_next_boot_as_the_host_allows() {
        use crate::xml::domcaps::GuestCaps;
        let here = GuestCaps::parse(include_str!(
            "../../../../tests/fixtures/domcaps-q35-kvm.xml"
        ))
        .unwrap();
        let mut a = opened(true);
        form(&mut a, "tpm", &[]);
        assert!(field(&a, "tpm_model").warning.unwrap().contains("asking"));
        with_caps(&mut a, Ok(here.clone()));
        let f = field(&a, "tpm_model");
        assert!(f.error.is_none() && f.warning.is_none(), "{f:?}");
        assert_eq!(f.value(), "tpm-crb");
        let (xml, notes, scope) = review(&a);
        assert!(xml
            .unwrap()
            .contains("<backend type=\"emulator\" version=\"2.0\"/>"));
        assert!(notes[0].contains("next boot"), "{notes:?}");
        assert_eq!(scope, "persistent");
        // libvirt has no TPM attach at all: the definition is redefined with it.
        let sent = submit(&mut a);
        let [VmOp::DefineXml { xml }] = sent.as_slice() else {
            panic!("{sent:?}")
        };
        assert!(
            xml.contains("<tpm model=\"tpm-crb\">") && xml.contains("<name>"),
            "{xml}"
        );

        // No swtpm on the host: refused with what to install.
        let mut a = opened(false);
        form(&mut a, "tpm", &[]);
        let mut bare = here.clone();
        bare.tpm_emulator = false;
        with_caps(&mut a, Ok(bare));
        assert!(field(&a, "tpm_model")
            .error
            .unwrap()
            .contains("apt install swtpm"));
        // Only the models the host lists are offered.
        let mut tis = here.clone();
        tis.tpm_models = vec!["tpm-tis".into()];
        with_caps(&mut a, Ok(tis));
        assert_eq!(field(&a, "tpm_model").value(), "tpm-tis");
        // A VM with a TPM gets no second one.
        let has =
            xml_with("    <tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>");
        let mut a = opened_with(false, &has);
        form(&mut a, "tpm", &[]);
        assert!(field(&a, "tpm_model").error.unwrap().contains("one per VM"));
    }

    #[test]
    fn rng_attaches_live_and_persistent() {
        let mut a = opened(true);
        form(&mut a, "rng", &[]);
        let (xml, notes, scope) = review(&a);
        assert!(xml.unwrap().contains("/dev/urandom") && notes.is_empty());
        assert_eq!(scope, "live and persistent");
        let sent = submit(&mut a);
        let [VmOp::AttachDevice { xml, scope }] = sent.as_slice() else {
            panic!("{sent:?}")
        };
        assert!(xml.starts_with("<rng model=\"virtio\">"), "{xml}");
        assert_eq!(*scope, Scope::BOTH);
    }

    #[test]
    fn sound_on_a_running_vm_goes_to_the_next_boot() {
        let mut a = opened(true);
        form(&mut a, "sound", &[("sound_model", "ac97")]);
        let (xml, notes, scope) = review(&a);
        assert_eq!(xml.unwrap(), "<sound model=\"ac97\"/>\n");
        assert!(notes[0].contains("next boot"), "{notes:?}");
        assert_eq!(scope, "persistent");
        let sent = submit(&mut a);
        assert_eq!(
            sent,
            [VmOp::AttachDevice {
                xml: "<sound model=\"ac97\"/>\n".into(),
                scope: Scope::CONFIG
            }]
        );
        // Back to a disk: the VM's scopes again.
        let mut a = opened(true);
        form(&mut a, "sound", &[]);
        let Mode::Wizard(w) = &mut a.mode else {
            panic!()
        };
        w.choose("what", "nic");
        super::super::refresh(w, &Default::default());
        assert_eq!(w.get("scope"), "live and persistent");
        assert!(w.choose("scope", "live"), "live is offered again");
        assert!(w.review_notes.is_empty());
    }

    #[test]
    fn a_console_without_a_virtio_serial_bus_waits_for_the_next_boot() {
        let mut a = opened(true);
        form(&mut a, "console", &[]);
        let (_, notes, scope) = review(&a);
        assert!(notes[0].contains("virtio-serial"), "{notes:?}");
        assert_eq!(scope, "persistent");
        let bus = xml_with("    <controller type='virtio-serial' index='0'/>");
        let mut a = opened_with(true, &bus);
        form(&mut a, "console", &[]);
        assert_eq!(review(&a).2, "live and persistent");
        let none = xml_with("    <controller type='usb' model='none'/>");
        let mut a = opened_with(false, &none);
        form(&mut a, "input", &[("input_bus", "usb")]);
        assert!(review(&a).0.unwrap_err().contains("USB controller"));
    }

    #[test]
    fn watchdog_and_input_choices() {
        let mut a = opened(false);
        form(
            &mut a,
            "watchdog",
            &[("wd_model", "itco"), ("wd_action", "pause")],
        );
        // itco is not offered (libvirt 9.0 refuses it).
        let (xml, _, _) = review(&a);
        assert_eq!(
            xml.unwrap(),
            "<watchdog model=\"i6300esb\" action=\"pause\"/>\n"
        );
        let mut a = opened(false);
        form(
            &mut a,
            "input",
            &[("input_kind", "keyboard"), ("input_bus", "virtio")],
        );
        let sent = submit(&mut a);
        assert_eq!(
            sent,
            [VmOp::AttachDevice {
                xml: "<input type=\"keyboard\" bus=\"virtio\"/>\n".into(),
                scope: Scope::CONFIG
            }]
        );
    }

    #[test]
    fn a_second_video_is_a_model_change_of_the_first() {
        let xml = xml_with("    <video>\n      <model type='cirrus' vram='16384'/>\n    </video>");
        let mut a = opened_with(true, &xml);
        form(&mut a, "video", &[("video_model", "virtio")]);
        let (_, notes, scope) = review(&a);
        assert!(
            notes[0].contains("cirrus") && notes[0].contains("virtio"),
            "{notes:?}"
        );
        assert_eq!(scope, "persistent");
        let sent = submit(&mut a);
        let [VmOp::DefineXml { xml: new }] = sent.as_slice() else {
            panic!("{sent:?}")
        };
        assert!(
            new.contains("<model type='virtio'/>") && !new.contains("cirrus"),
            "{new}"
        );
        // The old model is the host's text: control characters arrive escaped.
        let evil = xml_with("    <video>\n      <model type='qxl&#x1b;[2J'/>\n    </video>");
        let mut a = opened_with(false, &evil);
        form(&mut a, "video", &[("video_model", "vga")]);
        let (_, notes, _) = review(&a);
        assert!(
            !notes[0].contains('\u{1b}') && notes[0].contains("qxl"),
            "{notes:?}"
        );
        // Without a video adapter it is an attach.
        let mut a = opened(false);
        form(&mut a, "video", &[("video_model", "bochs")]);
        let sent = submit(&mut a);
        assert!(
            matches!(sent.as_slice(), [VmOp::AttachDevice { xml, .. }] if xml.contains("bochs")),
            "{sent:?}"
        );
    }

    #[test]
    fn usb_redirection_needs_spice() {
        let mut a = opened(true);
        form(&mut a, "usb redirect", &[]);
        let (xml, _, _) = review(&a);
        assert!(xml.unwrap_err().contains("SPICE"));
        assert!(submit(&mut a).is_empty(), "nothing sent");
        assert!(matches!(a.mode, Mode::Wizard(_)), "the form stays");
        let spice = xml_with("    <graphics type='spice' autoport='yes'/>");
        let mut a = opened_with(true, &spice);
        form(&mut a, "usb redirect", &[]);
        assert_eq!(
            submit(&mut a),
            [VmOp::AttachDevice {
                xml: "<redirdev bus=\"usb\" type=\"spicevmc\"/>\n".into(),
                scope: Scope::BOTH
            }]
        );
    }

    #[test]
    fn virtiofs_adds_shared_memory_only_while_shut_off() {
        let hostile = "/srv/a'\"<b>&c/$(reboot)";
        let mut a = opened(true);
        form(
            &mut a,
            "virtiofs",
            &[("fs_source", hostile), ("fs_tag", "share")],
        );
        let (xml, _, _) = review(&a);
        assert!(xml.unwrap_err().contains("shut it down"));
        let mut a = opened(false);
        form(
            &mut a,
            "virtiofs",
            &[("fs_source", hostile), ("fs_tag", "share")],
        );
        let (xml, notes, _) = review(&a);
        let xml = xml.unwrap();
        assert!(
            xml.starts_with("<memoryBacking>") && xml.contains("<filesystem"),
            "{xml}"
        );
        assert!(notes[0].contains("memoryBacking"), "{notes:?}");
        let sent = submit(&mut a);
        let [VmOp::DefineXml { xml: new }] = sent.as_slice() else {
            panic!("{sent:?}")
        };
        let hw = crate::xml::hardware::parse(new).unwrap();
        assert!(hw.shared_memory);
        let fs = crate::xml::tree::parse(&hw.other.last().unwrap().xml, "fs").unwrap();
        assert_eq!(fs.child_attr("source", "dir"), Some(hostile));
        assert_eq!(fs.child_attr("driver", "type"), Some("virtiofs"));
        // Shared memory already: a plain attach, live where the VM runs.
        let shared = xml_with("").replacen(
            "</currentMemory>",
            "</currentMemory>\n  <memoryBacking><access mode='shared'/></memoryBacking>",
            1,
        );
        let mut a = opened_with(true, &shared);
        form(
            &mut a,
            "virtiofs",
            &[("fs_source", "/srv/x"), ("fs_tag", "t")],
        );
        let sent = submit(&mut a);
        assert!(
            matches!(sent.as_slice(), [VmOp::AttachDevice { scope, .. }] if *scope == Scope::BOTH),
            "{sent:?}"
        );
        // Read-only: the review warns that libvirt 9.0 refuses it.
        let mut a = opened_with(false, &shared);
        form(
            &mut a,
            "virtiofs",
            &[
                ("fs_source", "/srv/x"),
                ("fs_tag", "t"),
                ("fs_readonly", "yes"),
            ],
        );
        let (xml, notes, _) = review(&a);
        assert!(xml.unwrap().contains("<readonly/>"));
        assert!(notes.iter().any(|n| n.contains("read-only")), "{notes:?}");
        // A bad tag is the field's error.
        let mut a = opened(false);
        form(
            &mut a,
            "virtiofs",
            &[("fs_source", "/srv/x"), ("fs_tag", "a b")],
        );
        let Mode::Wizard(w) = &a.mode else { panic!() };
        assert!(w.field("fs_tag").unwrap().error.is_some());
    }

    #[test]
    fn any_listed_device_detaches_as_the_definition_has_it() {
        let xml = xml_with(
            "    <rng model='virtio'>\n      <backend model='random'>/dev/urandom</backend>\n      \
             <alias name='rng0'/>\n    </rng>\n    <serial type='pty'><target port='0'/></serial>",
        );
        let mut a = opened_with(true, &xml);
        select_item(&mut a, HwItem::Other(0));
        press(&mut a, "D");
        let sent = ops(&press(&mut a, "y"));
        let [(_, VmOp::DetachDevice { xml, scope })] = sent.as_slice() else {
            panic!("{sent:?}")
        };
        assert!(
            xml.starts_with("<rng model='virtio'>") && xml.contains("rng0"),
            "{xml}"
        );
        assert_eq!(*scope, Scope::BOTH);
        select_item(&mut a, HwItem::CharDev(0));
        press(&mut a, "D");
        let sent = ops(&press(&mut a, "y"));
        assert!(
            matches!(sent.as_slice(), [(_, VmOp::DetachDevice { xml, .. })] if xml.starts_with("<serial type='pty'>")),
            "{sent:?}"
        );
    }
}
