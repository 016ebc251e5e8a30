//! Explanations added to libvirt's errors for well-known setup problems (TLS certificates,
//! ssh keys), so a failed connection says what to do.

/// A short explanation to add to libvirt's error for well-known setup problems.
pub fn hint(uri: &str, error: &str) -> Option<&'static str> {
    let scheme = uri.split("://").next().unwrap_or("");
    let e = error.to_ascii_lowercase();
    if scheme.ends_with("+tls") && (e.contains("certificate") || e.contains("tls")) {
        return Some("TLS needs /etc/pki/CA/cacert.pem plus a client certificate and key in /etc/pki/libvirt (or ~/.pki/libvirt); see libvirt.org/kbase/tlscerts.html");
    }
    if scheme.contains("ssh") {
        if e.contains("permission denied") || e.contains("authentication") {
            return Some("ssh could not log in without a prompt: load a key into ssh-agent or use ?keyfile=…");
        }
        if e.contains("host key") {
            return Some("the host key is unknown or changed: connect once with ssh to check it and add it to ~/.ssh/known_hosts");
        }
    }
    None
}

/// libvirt's error with the hint, if one applies.
pub fn with_hint(uri: &str, error: String) -> String {
    match hint(uri, &error) {
        Some(h) => format!("{error} ({h})"),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_for_tls_and_ssh() {
        assert!(hint(
            "qemu+tls://h/system",
            "Cannot read CA certificate '/etc/pki/CA/cacert.pem': No such file"
        )
        .unwrap()
        .contains("cacert.pem"));
        assert!(hint("qemu+ssh://h/system", "Permission denied (publickey)")
            .unwrap()
            .contains("ssh-agent"));
        assert_eq!(hint("qemu:///system", "Connection refused"), None);
    }
}
