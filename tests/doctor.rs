//! `virtdeck doctor` as a user runs it, on this machine's daemons: qemu:///system (✔ or ⚠
//! with a fix, exit 0, a running guest's display reachable), the lab's
//! qemu+ssh://root@127.0.0.1/system (the key logs in without a prompt, virt-ssh-helper
//! found, the clock measured over ssh), an ssh user with no key (✖ with ssh-copy-id, no
//! prompt, no hang, stdin closed), a TCP port with nothing listening and one that accepts but
//! never answers (✖ within the timeout), the test driver named in config.toml (no -c), the
//! hostile fleet (nothing unsafe reaches the output). Output goes to a pipe: no colour codes.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::guest::{daemon_available, kvm_available, Guest, URI};

const SSH_URI: &str = "qemu+ssh://root@127.0.0.1/system";

fn doctor_in(config_dir: &str, args: &[&str]) -> (Output, Duration) {
    let t0 = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_virtdeck"))
        .env("VIRTDECK_CONFIG_DIR", config_dir)
        .env_remove("NO_COLOR")
        .arg("doctor")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (o, t0.elapsed())
}

fn doctor(args: &[&str]) -> (Output, Duration) {
    doctor_in("/nonexistent-vdk-config", args)
}

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every ⚠ and ✖ line is followed by its fix; nothing but text reaches a pipe.
fn well_formed(text: &str) {
    assert!(!text.contains('\x1b'), "no colour into a pipe: {text}");
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("  ✖") {
            assert!(
                lines
                    .get(i + 1)
                    .is_some_and(|n| n.starts_with("      fix: ")),
                "a failure without its fix at line {i}: {text}"
            );
        }
    }
}

fn ssh_works() -> bool {
    let ok = Command::new("ssh")
        .args([
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=5",
            "root@127.0.0.1",
            "true",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipping: ssh root@127.0.0.1 does not log in (run scripts/lab.sh)");
    }
    ok
}

#[test]
fn the_local_system_daemon_passes_with_reasons() {
    if !daemon_available() {
        return;
    }
    let guest = kvm_available().then(|| {
        let g = Guest::define("doctor");
        let o = Command::new("virsh")
            .args(["-c", URI, "start", &g.uuid])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", out(&o));
        g
    });
    let (o, took) = doctor(&["-c", URI]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    well_formed(&text);
    assert!(!text.contains('✖'), "{text}");
    for want in [
        "✔ the URI parses (this machine)",
        "✔ connected in ",
        "✔ libvirt ",
        "✔ full access",
        "migration ports ",
        "✔ clock: this machine's own",
    ] {
        assert!(text.contains(want), "{want:?} in {text}");
    }
    for l in text.lines().filter(|l| l.starts_with("  ⚠")) {
        assert!(l.len() > 10, "a warning says why: {l}");
    }
    if let Some(g) = &guest {
        assert!(text.contains("✔ KVM available"), "{text}");
        let line = text
            .lines()
            .find(|l| l.contains(&g.name))
            .unwrap_or_else(|| panic!("the running guest's display: {text}"));
        assert!(
            line.starts_with("  ✔")
                && line.contains("vnc://127.0.0.1:")
                && line.contains("reachable from here"),
            "{line}"
        );
    } else {
        println!("skipped the display part: no KVM for the tiny guest");
    }
    println!("qemu:///system checked in {took:?}");
}

#[test]
fn the_lab_ssh_uri_logs_in_with_its_key() {
    if !daemon_available() || !ssh_works() {
        return;
    }
    let guest = kvm_available().then(|| {
        let g = Guest::define("doctor-ssh");
        let o = Command::new("virsh")
            .args(["-c", URI, "start", &g.uuid])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", out(&o));
        g
    });
    let (o, took) = doctor(&["-c", SSH_URI, "-c", URI]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    well_formed(&text);
    if let Some(g) = &guest {
        // Its display listens on the host's loopback: reached through the printed tunnel.
        let line = text
            .lines()
            .find(|l| l.contains(&g.name) && l.contains("ssh -N -L"))
            .unwrap_or_else(|| panic!("the guest's display through ssh: {text}"));
        assert!(
            line.starts_with("  ✔") && line.contains(" root@127.0.0.1  then open vnc://127.0.0.1:"),
            "{line}"
        );
    }
    for want in [
        "✔ the host key of 127.0.0.1 is known",
        "✔ key authentication works without a prompt (ssh -o BatchMode=yes",
        "✔ virt-ssh-helper on the far side",
        "/etc/libvirt/qemu.conf over ssh",
        "from this machine (the host's `date` over ssh)",
        "between hosts\n  ✔ clock skew between hosts 0.",
    ] {
        assert!(text.contains(want), "{want:?} in {text}");
    }
    println!("{SSH_URI} and {URI} checked in {took:?}");
}

#[test]
fn an_ssh_user_without_a_key_fails_with_the_fix_and_no_prompt() {
    let uri = "qemu+ssh://vdk-nouser@127.0.0.1/system";
    let (o, took) = doctor(&["-c", uri, "--timeout", "5"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    well_formed(&text);
    assert!(took < Duration::from_secs(12), "no hang: {took:?}");
    if ssh_works() {
        assert!(
            text.contains("✖ key authentication fails without a prompt")
                && text.contains("fix: ssh-copy-id vdk-nouser@127.0.0.1"),
            "{text}"
        );
        assert!(text.contains("libvirt not tried"), "{text}");
    }
    println!("no key: ✖ in {took:?}");
}

#[test]
fn a_tcp_port_with_nothing_listening_fails_quickly() {
    let (o, took) = doctor(&["-c", "qemu+tcp://127.0.0.1:1/system"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    well_formed(&text);
    assert!(text.contains("✖ cannot connect: "), "{text}");
    assert!(text.contains("Connection refused"), "{text}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    println!("refused: ✖ in {took:?}");
}

#[test]
fn a_host_that_never_answers_fails_within_the_timeout() {
    // Accepts the TCP connection and never says a word.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _hold = std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    let uri = format!("qemu+tcp://127.0.0.1:{port}/system");
    let (o, took) = doctor(&["-c", &uri, "--timeout", "2"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("✖ cannot connect: no answer within 2 s"),
        "{text}"
    );
    assert!(took < Duration::from_secs(6), "{took:?}");
    println!("silent host: ✖ in {took:?}");
}

#[test]
fn config_hosts_are_checked_without_c() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[[hosts]]\nname = \"lab-test\"\nuri = \"test:///default\"\n",
    )
    .unwrap();
    let (o, _) = doctor_in(dir.path().to_str().unwrap(), &[]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    well_formed(&text);
    for want in [
        "lab-test  test:///default",
        "✔ the URI parses (the test driver",
        "✔ the default network is active",
        "✔ 1 active storage pool (default-pool)",
        "· KVM not checked",
        "0 failed",
    ] {
        assert!(text.contains(want), "{want:?} in {text}");
    }
    assert!(
        !text.contains("clock"),
        "the test driver has no clock: {text}"
    );
}

#[test]
fn a_uri_that_does_not_parse_is_a_failure_with_an_example() {
    let o = Command::new(env!("CARGO_BIN_EXE_virtdeck"))
        .env("VIRTDECK_CONFIG_DIR", "/nonexistent-vdk-config")
        .args(["--demo", "doctor"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    // `--demo` gives the scripting commands the demo's hosts: they are checked.
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(out(&o).contains("kvm-prod-01  test:///"), "{}", out(&o));
    let (o, took) = doctor(&["-c", "qemu+ssh:///system", "-c", "test:///default"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    well_formed(&text);
    assert!(
        text.contains("✖ the URI does not parse: +ssh needs a host name"),
        "{text}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn a_hostile_host_reaches_the_pipe_as_plain_text() {
    let fleet = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/hostile-fleet.xml"
    );
    let (o, _) = doctor(&["-c", &format!("test://{fleet}")]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    well_formed(&text);
    for c in text.chars() {
        assert!(
            c == '\n' || !virtdeck::sanitize::is_unsafe(c),
            "{c:?} reached the output: {text}"
        );
    }
    // The crafted listen address is named, never offered as a command.
    assert!(text.contains("is not an IP address or host name"), "{text}");
    assert!(!text.contains("ssh -N -L 5900:$("), "{text}");
    assert!(
        text.lines().all(|l| l.chars().count() < 400),
        "names are cut: {text}"
    );
}

#[test]
fn an_unknown_host_key_fails_with_the_fix() {
    if !ssh_works() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("known_hosts");
    std::fs::write(&empty, "").unwrap();
    let uri = format!(
        "qemu+libssh://root@127.0.0.1/system?known_hosts={}",
        empty.display()
    );
    let (o, took) = doctor(&["-c", &uri, "--timeout", "5"]);
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    well_formed(&text);
    assert!(
        text.contains("✖ the host key of 127.0.0.1 is not known")
            && text.contains(&format!("ssh-keyscan 127.0.0.1 >> {}", empty.display())),
        "{text}"
    );
    assert!(text.contains("key authentication not tried"), "{text}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}
