use super::*;

use std::process::Command;

const HOSTILE: &str = "a\"b'c\\d: #e\n- f: [g] {h} &i *j !k %l @m `n ü 池 😀 \u{7}\u{85}\u{2028}";

fn key() -> String {
    use base64::Engine;
    let mut blob = Vec::new();
    blob.extend(11u32.to_be_bytes());
    blob.extend(b"ssh-ed25519");
    blob.extend(32u32.to_be_bytes());
    blob.extend([7u8; 32]);
    format!(
        "ssh-ed25519 {} me@host",
        base64::engine::general_purpose::STANDARD.encode(blob)
    )
}

fn config() -> CloudConfig {
    CloudConfig {
        hostname: "web-1.example".into(),
        user: "admin".into(),
        password: Some(HOSTILE.into()),
        ssh_keys: vec![key()],
    }
}

/// Parses YAML with PyYAML (what cloud-init uses) and prints it back as JSON, with
/// non-ASCII kept as \u escapes so the comparison is exact.
fn pyyaml(doc: &str, expr: &str) -> String {
    let script = format!(
        "import sys, json, yaml\nd = yaml.safe_load(sys.stdin.read())\nprint(json.dumps({expr}))"
    );
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", &script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with PyYAML (apt-get install python3-yaml)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(doc.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "PyYAML refused:\n{doc}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `s` as Python's json.dumps writes it (ASCII, \uXXXX with surrogate pairs).
fn json(s: &str) -> String {
    let mut out = String::from("\"");
    for u in s.encode_utf16() {
        match u {
            0x22 => out.push_str("\\\""),
            0x5c => out.push_str("\\\\"),
            0x0a => out.push_str("\\n"),
            0x0d => out.push_str("\\r"),
            0x09 => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            0x20..=0x7e => out.push(u as u8 as char),
            _ => out.push_str(&format!("\\u{u:04x}")),
        }
    }
    out.push('"');
    out
}

#[test]
fn hostile_values_survive_pyyaml() {
    for s in [
        HOSTILE, "", "yes", "null", "~", "0x10", "- a", "'", "\"", "\\",
    ] {
        let doc = format!("k: {}\n", yaml_quote(s));
        assert_eq!(pyyaml(&doc, "d['k']"), json(s), "{s:?} → {doc}");
    }
}

#[test]
fn user_data_parses_back_with_the_same_values() {
    let c = config();
    let ud = user_data(&c).unwrap();
    assert!(ud.starts_with("#cloud-config\n"), "{ud}");
    assert!(
        !ud.contains("ü 池"),
        "the password must not be in clear: {ud}"
    );
    assert_eq!(pyyaml(&ud, "d['hostname']"), json("web-1.example"));
    assert_eq!(pyyaml(&ud, "d['users'][0]['name']"), json("admin"));
    assert_eq!(
        pyyaml(&ud, "d['users'][0]['ssh_authorized_keys']"),
        format!("[{}]", json(&key()))
    );
    assert_eq!(pyyaml(&ud, "d['ssh_pwauth']"), "true");
    assert_eq!(pyyaml(&ud, "d['users'][0]['lock_passwd']"), "false");
    // The hash verifies against the password (sha-crypt) and is a real crypt(3) $6$ hash.
    let hash: String = pyyaml(&ud, "d['users'][0]['passwd']")
        .trim_matches('"')
        .to_string();
    assert!(hash.starts_with("$6$"), "{hash}");
    sha_crypt::sha512_check(HOSTILE, &hash).expect("hash matches the password");
    assert!(sha_crypt::sha512_check("wrong", &hash).is_err());
    // Keys only: locked password, no password login.
    let keys = CloudConfig {
        password: None,
        ..config()
    };
    let ud = user_data(&keys).unwrap();
    assert_eq!(pyyaml(&ud, "d['users'][0]['lock_passwd']"), "true");
    assert_eq!(pyyaml(&ud, "d['ssh_pwauth']"), "false");
    assert_eq!(pyyaml(&ud, "'passwd' in d['users'][0]"), "false");
    let md = meta_data(&c, "i-<&>\"'\n");
    assert_eq!(pyyaml(&md, "d['instance-id']"), json("i-<&>\"'\n"));
    assert_eq!(pyyaml(&md, "d['local-hostname']"), json("web-1.example"));
}

#[test]
fn validation() {
    assert_eq!(validate(&config()), vec![]);
    let f = |c: CloudConfig| validate(&c).into_iter().map(|(f, _)| f).collect::<Vec<_>>();
    assert_eq!(
        f(CloudConfig {
            hostname: "bad name".into(),
            ..config()
        }),
        vec!["hostname"]
    );
    assert_eq!(
        f(CloudConfig {
            user: "root\nx".into(),
            ..config()
        }),
        vec!["user"]
    );
    assert_eq!(
        f(CloudConfig {
            password: None,
            ssh_keys: vec![],
            ..config()
        }),
        vec!["password"]
    );
    for bad in [
        "ssh-ed25519",
        "ssh-ed25519 notbase64!",
        "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH",
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        &format!("{}\nssh-rsa x", key()),
    ] {
        assert!(!ssh_key_ok(bad), "{bad}");
    }
    assert!(ssh_key_ok(&key()));
    assert!(matches!(
        user_data(&CloudConfig {
            ssh_keys: vec!["nope".into()],
            ..config()
        }),
        Err(CloudInitError::Invalid {
            field: "ssh_keys",
            ..
        })
    ));
    assert!(hostname_ok("a-1.b") && !hostname_ok("-a") && !hostname_ok("a..b"));
}

fn tool(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn seed_iso_is_recognised_and_holds_both_files() {
    let c = config();
    let t = std::time::Instant::now();
    let iso = seed_iso(&c, "iid-test").unwrap();
    eprintln!("seed ISO: {} bytes in {:?}", iso.len(), t.elapsed());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.iso");
    std::fs::write(&path, &iso).unwrap();
    let p = path.to_str().unwrap();
    let blkid = tool("blkid", &["-p", "-o", "export", p]).expect("blkid (util-linux)");
    assert!(blkid.contains("LABEL=cidata"), "{blkid}");
    assert!(blkid.contains("TYPE=iso9660"), "{blkid}");
    let file = tool("file", &["-b", p]).expect("file");
    assert!(
        file.contains("ISO 9660") && file.contains("cidata"),
        "{file}"
    );
    // xorriso reads the Joliet tree: the real names, the exact bytes.
    let out = dir.path().join("x");
    tool(
        "xorriso",
        &[
            "-osirrox",
            "on",
            "-indev",
            p,
            "-extract",
            "/",
            out.to_str().unwrap(),
        ],
    )
    .expect("xorriso (apt-get install xorriso)");
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["meta-data", "user-data"]);
    let ud = std::fs::read_to_string(out.join("user-data")).unwrap();
    assert!(
        ud.starts_with("#cloud-config\n") && ud.contains("web-1.example"),
        "{ud}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("meta-data")).unwrap(),
        meta_data(&c, "iid-test")
    );
}

#[test]
fn seed_iso_mounts_with_the_real_names() {
    // What cloud-init does: mount the filesystem labelled cidata. Needs root, loop devices
    // and a kernel with iso9660 (containers often lack it; xorriso above reads Joliet too).
    let iso = seed_iso(&config(), "iid-mount").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.iso");
    std::fs::write(&path, &iso).unwrap();
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let (p, m) = (path.to_str().unwrap(), mnt.to_str().unwrap());
    if tool("mount", &["-o", "loop,ro", "-t", "iso9660", p, m]).is_none() {
        eprintln!("skipping: cannot loop-mount an iso9660 image here");
        return;
    }
    let read = std::fs::read_to_string(mnt.join("user-data"));
    let meta = std::fs::read_to_string(mnt.join("meta-data"));
    let _ = tool("umount", &[m]);
    assert!(read.unwrap().starts_with("#cloud-config\n"));
    assert_eq!(meta.unwrap(), meta_data(&config(), "iid-mount"));
}
