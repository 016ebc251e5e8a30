//! What a host can give a new guest, from libvirt's domain capabilities
//! (`virConnectGetDomainCapabilities` for x86_64 q35 KVM): the firmware it can select (UEFI
//! needs an OVMF build, Debian `ovmf`), whether a Secure Boot loader is among them, and the
//! TPM models and backends (the emulator backend is listed only where swtpm is installed).
//! Never hard-coded paths: the wizard and the attach form offer what this says.

use super::domain::XmlError;
use super::tree::{parse, Node};

/// A host's guest capabilities, as far as the wizard and the hardware editor use them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GuestCaps {
    /// `<os><enum name='firmware'>` lists efi: `<os firmware='efi'>` works.
    pub efi: bool,
    /// The loader can be a Secure Boot build (`<enum name='secure'>` has yes).
    pub secure_boot: bool,
    /// Loader images libvirt knows (shown on the review page, never written into the XML).
    pub loaders: Vec<String>,
    /// `<tpm supported='yes'>`: TPM models (tpm-crb, tpm-tis).
    pub tpm_models: Vec<String>,
    /// The emulator backend (swtpm) is installed.
    pub tpm_emulator: bool,
    /// Emulated TPM versions (1.2, 2.0).
    pub tpm_versions: Vec<String>,
}

/// The values of `<enum name='name'>` under `node`.
fn values(node: Option<&Node>, name: &str) -> Vec<String> {
    node.into_iter()
        .flat_map(|n| n.children_named("enum"))
        .filter(|e| e.attr("name") == Some(name))
        .flat_map(|e| e.children_named("value"))
        .map(|v| v.text.trim().to_string())
        .collect()
}

fn supported(node: Option<&Node>) -> Option<&Node> {
    node.filter(|n| n.attr("supported") == Some("yes"))
}

impl GuestCaps {
    pub fn parse(xml: &str) -> Result<GuestCaps, XmlError> {
        let root = parse(xml, "domain capabilities")?;
        let os = supported(root.child("os"));
        let loader = supported(os.and_then(|o| o.child("loader")));
        let tpm = supported(root.path(&["devices", "tpm"]));
        let efi = values(os, "firmware").iter().any(|f| f == "efi");
        let loaders: Vec<String> = loader
            .into_iter()
            .flat_map(|l| l.children_named("value"))
            .map(|v| v.text.trim().to_string())
            .collect();
        Ok(GuestCaps {
            // Older libvirt has no firmware enum: a UEFI loader means efi works.
            efi: efi
                || loaders
                    .iter()
                    .any(|l| l.contains("OVMF") || l.contains("edk2")),
            secure_boot: values(loader, "secure").iter().any(|s| s == "yes"),
            loaders,
            tpm_models: values(tpm, "model"),
            tpm_emulator: values(tpm, "backendModel").iter().any(|b| b == "emulator"),
            tpm_versions: values(tpm, "backendVersion"),
        })
    }

    /// Why an emulated TPM 2.0 cannot be added on this host, or `None`.
    pub fn tpm_problem(&self) -> Option<String> {
        if self.tpm_models.is_empty() {
            Some("this host's QEMU offers no TPM device".into())
        } else if !self.tpm_emulator {
            Some(SWTPM_MISSING.into())
        } else if !self.tpm_versions.is_empty() && !self.tpm_versions.iter().any(|v| v == "2.0") {
            Some("this host's swtpm cannot emulate TPM 2.0".into())
        } else {
            None
        }
    }

    /// The TPM model to offer first: tpm-crb (what virt-install picks for q35, and what
    /// Windows 11 expects), else the first one libvirt lists.
    pub fn tpm_default(&self) -> Option<&str> {
        self.tpm_models
            .iter()
            .find(|m| *m == "tpm-crb")
            .or(self.tpm_models.first())
            .map(String::as_str)
    }
}

pub const SWTPM_MISSING: &str =
    "swtpm is not installed on this host (Debian: apt install swtpm swtpm-tools)";

/// libvirt's error for a missing swtpm (at define or start), said as [`SWTPM_MISSING`].
pub fn explain_tpm_error(error: &str) -> Option<&'static str> {
    (error.contains("swtpm") && (error.contains("Unable to find") || error.contains("not found")))
        .then_some(SWTPM_MISSING)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: &str = include_str!("../../tests/fixtures/domcaps-q35-kvm.xml");

    #[test]
    fn this_machines_capabilities_offer_uefi_secure_boot_and_an_emulated_tpm() {
        let c = GuestCaps::parse(HERE).unwrap();
        assert!(c.efi && c.secure_boot && c.tpm_emulator);
        assert!(c.loaders.iter().any(|l| l.ends_with("OVMF_CODE_4M.fd")));
        assert_eq!(c.tpm_models, ["tpm-tis", "tpm-crb"]);
        assert_eq!(c.tpm_default(), Some("tpm-crb"));
        assert_eq!(c.tpm_problem(), None);
    }

    #[test]
    fn without_ovmf_or_swtpm_the_caps_say_so() {
        let xml = r#"<domainCapabilities><os supported='yes'>
            <enum name='firmware'/><loader supported='no'/></os>
            <devices><tpm supported='yes'><enum name='model'><value>tpm-tis</value></enum>
            <enum name='backendModel'><value>passthrough</value></enum></tpm></devices>
            </domainCapabilities>"#;
        let c = GuestCaps::parse(xml).unwrap();
        assert!(!c.efi && !c.secure_boot && c.loaders.is_empty());
        assert_eq!(c.tpm_problem().as_deref(), Some(SWTPM_MISSING));
        assert_eq!(c.tpm_default(), Some("tpm-tis"));
        let none = GuestCaps::parse("<domainCapabilities/>").unwrap();
        assert_eq!(none, GuestCaps::default());
        assert!(none.tpm_problem().unwrap().contains("no TPM device"));
    }

    #[test]
    fn an_old_libvirt_without_the_firmware_enum_still_offers_uefi_from_its_loaders() {
        let xml = r#"<domainCapabilities><os supported='yes'><loader supported='yes'>
            <value>/usr/share/edk2/ovmf/OVMF_CODE.fd</value></loader></os></domainCapabilities>"#;
        assert!(GuestCaps::parse(xml).unwrap().efi);
    }

    #[test]
    fn libvirts_missing_swtpm_error_is_explained() {
        let e = "Unable to find 'swtpm' binary in $PATH: No such file or directory";
        assert_eq!(explain_tpm_error(e), Some(SWTPM_MISSING));
        assert_eq!(explain_tpm_error("Network not found"), None);
    }
}
