//! cloud-init NoCloud seed: `user-data` (#cloud-config), `meta-data` and the ISO 9660 image
//! (volume label `cidata`) that carries them, built in memory so the create job can upload
//! it into a pool on any host.
//!
//! User input goes into the YAML only as double-quoted scalars with every character outside
//! YAML's printable set escaped, so no value can break out of its field (cloud-init reads
//! the file with PyYAML; tests parse it back with PyYAML too). Passwords are stored as a
//! SHA-512 crypt hash (`$6$…`, the `sha-crypt` crate), never in clear text.

mod iso9660;

/// What the guest's first boot configures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CloudConfig {
    pub hostname: String,
    /// The login user created (with sudo rights).
    pub user: String,
    /// Clear-text password, hashed when the seed is built; `None`: key login only.
    pub password: Option<String>,
    /// OpenSSH public keys (`ssh-ed25519 AAAA… comment`).
    pub ssh_keys: Vec<String>,
}

/// Why the seed could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CloudInitError {
    #[error("cloud-init: {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("cloud-init: password hashing failed: {0}")]
    Hash(String),
}

/// The first boot of a copy (a VM cloned from a template): none without an SSH key (the
/// template's image may have no cloud-init at all); the host name defaults to the VM's.
pub fn for_copy(user: &str, hostname: &str, ssh_key: &str, vm_name: &str) -> Option<CloudConfig> {
    if ssh_key.is_empty() {
        return None;
    }
    Some(CloudConfig {
        hostname: if hostname.is_empty() {
            vm_name.to_string()
        } else {
            hostname.to_string()
        },
        user: user.to_string(),
        password: None,
        ssh_keys: vec![ssh_key.to_string()],
    })
}

/// Key types OpenSSH accepts in authorized_keys.
const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// Whether `key` looks like one OpenSSH public key line: a known type, base64 data whose
/// decoded form starts with that same type, an optional comment, one line.
pub fn ssh_key_ok(key: &str) -> bool {
    use base64::Engine;
    if key.contains(['\n', '\r']) {
        return false;
    }
    let mut parts = key.split_whitespace();
    let (Some(kind), Some(data)) = (parts.next(), parts.next()) else {
        return false;
    };
    if !KEY_TYPES.contains(&kind) {
        return false;
    }
    let Ok(blob) = base64::engine::general_purpose::STANDARD.decode(data) else {
        return false;
    };
    // The blob begins with the key type as an SSH string (u32 length + bytes).
    blob.len() > 4 + kind.len()
        && blob[..4] == (kind.len() as u32).to_be_bytes()
        && &blob[4..4 + kind.len()] == kind.as_bytes()
}

/// A Linux host name: labels of letters, digits and '-', not starting or ending with '-',
/// 63 bytes per label, 253 in all.
pub fn hostname_ok(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// A user name `useradd` accepts (Debian's default NAME_REGEX, plus upper case and digits
/// anywhere but first).
pub fn user_ok(u: &str) -> bool {
    let mut c = u.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && u.len() <= 32
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Problems, as (field, message): `hostname`, `user`, `password`, `ssh_keys`.
pub fn validate(c: &CloudConfig) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if !hostname_ok(&c.hostname) {
        out.push((
            "hostname",
            "host name: letters, digits, '-' and '.' only".to_string(),
        ));
    }
    if !user_ok(&c.user) {
        out.push((
            "user",
            "user name: a letter first, then letters, digits, '_' or '-'".to_string(),
        ));
    }
    if c.password.as_deref().is_none_or(str::is_empty) && c.ssh_keys.is_empty() {
        out.push((
            "password",
            "give a password or an SSH key, or nobody can log in".to_string(),
        ));
    }
    for (i, k) in c.ssh_keys.iter().enumerate() {
        if !ssh_key_ok(k) {
            out.push((
                "ssh_keys",
                format!("key {} is not an OpenSSH public key line", i + 1),
            ));
        }
    }
    out
}

/// `s` as a YAML double-quoted scalar. Characters PyYAML would refuse or reinterpret
/// (controls, C1, BOM, U+FFFE/F, line separators) become escapes; the rest stays UTF-8.
pub fn yaml_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20
                || (0x7f..=0x9f).contains(&(c as u32))
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                ) =>
            {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// SHA-512 crypt (`$6$…`) with a random salt, as `chpasswd -e` and cloud-init's `passwd` take.
pub fn hash_password(password: &str) -> Result<String, CloudInitError> {
    let params = sha_crypt::Sha512Params::new(sha_crypt::ROUNDS_DEFAULT)
        .map_err(|e| CloudInitError::Hash(format!("{e:?}")))?;
    sha_crypt::sha512_simple(password, &params).map_err(|e| CloudInitError::Hash(format!("{e:?}")))
}

/// The `user-data` file. Validates first: nothing is built from input [`validate`] refuses.
pub fn user_data(c: &CloudConfig) -> Result<String, CloudInitError> {
    if let Some((field, message)) = validate(c).into_iter().next() {
        return Err(CloudInitError::Invalid { field, message });
    }
    let mut y = String::from("#cloud-config\n");
    y.push_str(&format!("hostname: {}\n", yaml_quote(&c.hostname)));
    y.push_str("manage_etc_hosts: true\n");
    y.push_str("users:\n");
    y.push_str(&format!("  - name: {}\n", yaml_quote(&c.user)));
    y.push_str("    shell: \"/bin/bash\"\n");
    y.push_str("    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n");
    y.push_str("    groups: \"sudo\"\n");
    match c.password.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => {
            y.push_str(&format!("    passwd: {}\n", yaml_quote(&hash_password(p)?)));
            y.push_str("    lock_passwd: false\n");
        }
        None => y.push_str("    lock_passwd: true\n"),
    }
    if !c.ssh_keys.is_empty() {
        y.push_str("    ssh_authorized_keys:\n");
        for k in &c.ssh_keys {
            y.push_str(&format!("      - {}\n", yaml_quote(k.trim())));
        }
    }
    // Password login over SSH only when a password was given.
    let pw = c.password.as_deref().is_some_and(|p| !p.is_empty());
    y.push_str(&format!("ssh_pwauth: {pw}\n"));
    Ok(y)
}

/// The `meta-data` file. A new `instance_id` makes cloud-init run again on an existing disk.
pub fn meta_data(c: &CloudConfig, instance_id: &str) -> String {
    format!(
        "instance-id: {}\nlocal-hostname: {}\n",
        yaml_quote(instance_id),
        yaml_quote(&c.hostname)
    )
}

/// The seed ISO (label `cidata`, files `user-data` and `meta-data`), in memory.
pub fn seed_iso(c: &CloudConfig, instance_id: &str) -> Result<Vec<u8>, CloudInitError> {
    let user = user_data(c)?;
    let meta = meta_data(c, instance_id);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok(iso9660::build(
        "cidata",
        &[
            ("user-data", user.as_bytes()),
            ("meta-data", meta.as_bytes()),
        ],
        now,
    ))
}

#[cfg(test)]
mod tests;
