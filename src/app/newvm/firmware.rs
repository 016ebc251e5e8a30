//! The wizard's firmware and TPM fields (CPU page): BIOS or UEFI, Secure Boot, an emulated
//! TPM 2.0 — offered as the host's domain capabilities allow (`xml::domcaps`), preselected
//! for an OS that needs them (Windows 11), refused with the reason when the host lacks them.

use super::Facts;
use crate::app::wizard::{check, Field, Wizard};
use crate::osinfo::{Machine, OsVariant};
use crate::xml::device_extra::{pick, TPM_MODELS};
use crate::xml::domcaps::GuestCaps;
use crate::xml::newvm::Firmware;

pub const BIOS: &str = "BIOS";
pub const UEFI: &str = "UEFI";

pub fn fields() -> [Field; 3] {
    [
        Field::choice("firmware", "Firmware", 2, &[BIOS, UEFI])
            .hint("UEFI: OVMF, chosen by libvirt from what the host has; BIOS: SeaBIOS"),
        Field::toggle("secure_boot", "Secure Boot", 2, false)
            .hint("only signed boot loaders start (Windows 11 requires it)"),
        Field::toggle("tpm", "TPM 2.0", 2, false).hint(
            "emulated by swtpm on the host (Windows 11 requires it; BitLocker, measured boot)",
        ),
    ]
}

/// The OS changed: what it needs (osinfo-db) becomes the choice.
pub fn os_defaults(w: &mut Wizard, os: &OsVariant) {
    w.choose("firmware", if os.needs_uefi() { UEFI } else { BIOS });
    w.set_toggle("secure_boot", os.needs_tpm());
    w.set_toggle("tpm", os.needs_tpm());
}

/// Checks the fields against the host's capabilities.
pub fn refresh(w: &mut Wizard, f: &Facts, os: &OsVariant) {
    let uefi = w.get("firmware") == UEFI;
    super::visible(w, "secure_boot", uefi);
    let caps = f.caps.as_ref().map(|c| c.as_ref());
    let unknown = |what: &str| match caps {
        None => Some(format!("asking the host about {what}…")),
        Some(Err(e)) => Some(format!("the host did not say whether it has {what}: {e}")),
        Some(Ok(_)) => None,
    };
    let known = caps.and_then(Result::ok);
    let (fw_r, fw_w) = match known {
        Some(c) if uefi && !c.efi => (
            Err("this host has no UEFI firmware (Debian: apt install ovmf)".to_string()),
            None,
        ),
        _ if uefi => (Ok(()), unknown("UEFI firmware")),
        _ if os.needs_uefi() => (
            Err(format!("{} does not boot from BIOS: choose UEFI", os.name)),
            None,
        ),
        _ => (Ok(()), None),
    };
    check(w, "firmware", fw_r);
    super::set_warning(w, "firmware", fw_w);
    let sb = uefi && w.on("secure_boot");
    let sb_r = match known {
        Some(c) if sb && !c.secure_boot => {
            Err("this host's UEFI firmware has no Secure Boot build".to_string())
        }
        _ if sb && os.machine() != Machine::Q35 => {
            Err("needs the q35 machine, which this OS does not use".to_string())
        }
        _ => Ok(()),
    };
    check(w, "secure_boot", sb_r);
    let tpm = w.on("tpm");
    let tpm_r = match known.and_then(GuestCaps::tpm_problem) {
        Some(p) if tpm => Err(p),
        _ => Ok(()),
    };
    check(w, "tpm", tpm_r);
    super::set_warning(w, "tpm", if tpm { unknown("a TPM emulator") } else { None });
    if let Some(fld) = w.field_mut("firmware") {
        fld.hint = match known {
            Some(c) if c.efi => format!(
                "UEFI: libvirt picks among the host's {} OVMF builds{}; BIOS: SeaBIOS",
                c.loaders.len(),
                if c.secure_boot {
                    ", Secure Boot ones included"
                } else {
                    ""
                }
            ),
            _ => "UEFI: OVMF, chosen by libvirt from what the host has; BIOS: SeaBIOS".into(),
        };
    }
}

/// The firmware and TPM the fields describe.
pub fn spec(w: &Wizard, f: &Facts) -> (Firmware, Option<&'static str>) {
    let firmware = if w.get("firmware") == UEFI {
        Firmware::Uefi {
            secure_boot: w.on("secure_boot"),
        }
    } else {
        Firmware::Bios
    };
    let model = f
        .caps
        .as_ref()
        .and_then(|c| c.as_ref().ok())
        .and_then(GuestCaps::tpm_default)
        .and_then(|m| pick(TPM_MODELS, m))
        .unwrap_or("tpm-crb");
    (firmware, w.on("tpm").then_some(model))
}
