use std::path::PathBuf;

use super::launch::{choose, has_display};
use super::*;

const LIVE: &str = r#"<domain type='kvm' id='3'>
  <name>web &lt;&amp;&apos;&quot;&gt; ü</name>
  <devices>
    <graphics type='vnc' port='5901' autoport='yes' listen='0.0.0.0'>
      <listen type='address' address='0.0.0.0'/>
    </graphics>
    <graphics type='spice' port='5902' tlsPort='5903' autoport='yes' passwd='s&lt;cret'>
      <listen type='network' address='192.0.2.10' network='default'/>
    </graphics>
    <graphics type='vnc' socket='/run/libvirt/qemu/vnc.sock'/>
    <graphics type='vnc' port='-1' autoport='yes'>
      <listen type='none'/>
    </graphics>
    <serial type='pty'><source path='/dev/pts/3'/><listen address='x'/></serial>
  </devices>
  <seclabel type='dynamic'><label>graphics</label></seclabel>
</domain>"#;

#[test]
fn parses_every_graphics_element() {
    let g = parse(LIVE, true).unwrap();
    assert_eq!(g.len(), 4);
    assert_eq!(g[0].kind, Protocol::Vnc);
    assert_eq!(g[0].port, Some(5901));
    assert!(g[0].autoport);
    assert_eq!(g[0].listen, Listen::Address("0.0.0.0".into()));
    assert_eq!(g[0].password, Password::NotSet);
    assert_eq!(g[1].kind, Protocol::Spice);
    assert_eq!(g[1].tls_port, Some(5903));
    assert_eq!(g[1].listen, Listen::Address("192.0.2.10".into()));
    assert_eq!(g[1].password, Password::Set("s<cret".into()));
    assert_eq!(
        g[2].listen,
        Listen::Socket("/run/libvirt/qemu/vnc.sock".into())
    );
    assert_eq!(g[3].listen, Listen::None);
    assert_eq!(g[3].port, None, "-1 is no port");
}

#[test]
fn without_the_secure_flag_the_password_is_unknown() {
    let g = parse(LIVE, false).unwrap();
    assert_eq!(g[0].password, Password::Unknown);
    assert!(parse("<domain><devices></devices></domain>", true)
        .unwrap()
        .is_empty());
}

#[test]
fn broken_xml_is_an_error_not_a_panic() {
    assert!(parse(
        "<domain><devices><graphics type='vnc' port='1'></devices>",
        true
    )
    .is_err());
}

#[test]
fn warns_about_open_displays_without_password() {
    let g = parse(LIVE, true).unwrap();
    let w = exposure(&g[0]).unwrap();
    assert!(
        w.contains("all addresses") && w.contains("without a password"),
        "{w}"
    );
    assert_eq!(exposure(&g[1]), None, "password set");
    assert_eq!(exposure(&g[2]), None, "socket");
    let mut lo = g[0].clone();
    lo.listen = Listen::Address("127.0.0.1".into());
    assert_eq!(exposure(&lo), None, "loopback");
    let ro = parse(LIVE, false).unwrap();
    assert!(exposure(&ro[0]).unwrap().contains("read-only"));
}

#[test]
fn uri_hosts() {
    assert_eq!(
        uri_host("qemu+ssh://root@kvm1.example:2222/system?keyfile=/k"),
        UriHost {
            transport: "ssh".into(),
            user: Some("root".into()),
            host: Some("kvm1.example".into()),
            port: Some(2222),
        }
    );
    assert_eq!(uri_host("qemu:///system").host, None);
    assert_eq!(
        uri_host("qemu+tls://[2001:db8::1]:16514/system")
            .host
            .as_deref(),
        Some("2001:db8::1")
    );
}

#[test]
fn ssh_tunnel_for_a_remote_ssh_host() {
    let g = parse(LIVE, true).unwrap();
    let mut lo = g[0].clone();
    lo.listen = Listen::Address("127.0.0.1".into());
    let a = access(&lo, "qemu+ssh://root@kvm1.example/system", "kvm1");
    assert_eq!(
        a.url, None,
        "loopback on a remote host is not reachable directly"
    );
    assert_eq!(
        a.tunnel.as_deref(),
        Some("ssh -N -L 5901:127.0.0.1:5901 root@kvm1.example")
    );
    assert_eq!(a.tunnel_url.as_deref(), Some("vnc://127.0.0.1:5901"));
    // A non-default ssh port goes before the destination.
    let a = access(&lo, "qemu+ssh://admin@kvm1.example:2222/system", "kvm1");
    assert_eq!(
        a.tunnel.as_deref(),
        Some("ssh -N -L 5901:127.0.0.1:5901 -p 2222 admin@kvm1.example")
    );
    // Wildcard listen: reachable by the host's name, tunnel to its loopback.
    let a = access(&g[0], "qemu+ssh://root@kvm1.example/system", "kvm1");
    assert_eq!(a.url.as_deref(), Some("vnc://kvm1.example:5901"));
    // Specific address: tunnel to that address.
    let a = access(&g[1], "qemu+tls://kvm1.example/system", "kvm1");
    assert_eq!(a.url.as_deref(), Some("spice://192.0.2.10:5902"));
    assert_eq!(
        a.tunnel.as_deref(),
        Some("ssh -N -L 5902:192.0.2.10:5902 kvm1.example")
    );
}

#[test]
fn local_uri_and_sockets() {
    let g = parse(LIVE, true).unwrap();
    let a = access(&g[0], "qemu:///system", "hv7");
    assert_eq!(a.url.as_deref(), Some("vnc://127.0.0.1:5901"));
    assert_eq!(
        a.tunnel.as_deref(),
        Some("ssh -N -L 5901:127.0.0.1:5901 hv7")
    );
    let a = access(&g[2], "qemu:///system", "hv7");
    assert_eq!(
        a.tunnel.as_deref(),
        Some("ssh -N -L 5900:/run/libvirt/qemu/vnc.sock hv7")
    );
    let a = access(&g[3], "qemu:///system", "hv7");
    assert!(a.url.is_none() && a.tunnel.is_none() && a.note.is_some());
}

#[test]
fn viewer_choice() {
    let g = parse(LIVE, true).unwrap();
    let a = access(&g[0], "qemu:///system", "hv7");
    let only = |name: &'static str| {
        move |n: &str| (n == name).then(|| PathBuf::from(format!("/usr/bin/{n}")))
    };
    let v = choose(
        only("virt-viewer"),
        true,
        &g[0],
        &a,
        "qemu:///system",
        "u-1",
    )
    .unwrap();
    assert_eq!(v.args, ["--connect=qemu:///system", "--", "u-1"]);
    let v = choose(
        only("remote-viewer"),
        true,
        &g[0],
        &a,
        "qemu:///system",
        "u-1",
    )
    .unwrap();
    assert_eq!(v.args, ["vnc://127.0.0.1:5901"]);
    let v = choose(only("vncviewer"), true, &g[0], &a, "qemu:///system", "u-1").unwrap();
    assert_eq!(v.args, ["127.0.0.1::5901"]);
    assert_eq!(v.name(), "vncviewer");
    let e = choose(
        only("virt-viewer"),
        false,
        &g[0],
        &a,
        "qemu:///system",
        "u-1",
    )
    .unwrap_err();
    assert!(e.contains("no graphical display"), "{e}");
    let e = choose(|_| None, true, &g[0], &a, "qemu:///system", "u-1").unwrap_err();
    assert!(e.contains("no viewer found"), "{e}");
    assert!(has_display(
        |k| (k == "WAYLAND_DISPLAY").then(|| "wayland-0".into())
    ));
    assert!(!has_display(|k| (k == "DISPLAY").then(String::new)));
}

/// A VNC device on port 5901 listening on `listen`.
fn vnc(listen: Listen) -> Graphics {
    Graphics {
        kind: Protocol::Vnc,
        port: Some(5901),
        tls_port: None,
        autoport: false,
        listen,
        password: Password::Set("x".into()),
    }
}

/// What a POSIX shell makes of `line`: the words of the command (shlex splits as sh does).
fn words(line: &str) -> Vec<String> {
    shlex::split(line).unwrap_or_else(|| panic!("not one shell command: {line:?}"))
}

/// Runs `line` with `sh -c` in a fresh directory whose stub `ssh` (first on PATH) writes
/// its name and arguments one per line to `argv`. Returns the arguments ssh got and whether the
/// marker file `pwn` (what the payloads below try to create) exists afterwards.
fn run_with_stub_ssh(line: &str) -> (Vec<String>, bool) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let stub = dir.path().join("ssh");
    std::fs::write(
        &stub,
        "#!/bin/sh\nfor a in \"${0##*/}\" \"$@\"; do printf '%s\\n' \"$a\"; done > \"$VIRTDECK_ARGV\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let argv = dir.path().join("argv");
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let st = std::process::Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("VIRTDECK_ARGV", &argv)
        .status()
        .unwrap();
    assert!(st.success(), "{line:?}: {st}");
    let got = std::fs::read_to_string(&argv)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    (got, dir.path().join("pwn").exists())
}

/// Whether `sh -n` (parse only) accepts `line`.
fn sh_parses(line: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-n", "-c", line])
        .status()
        .unwrap()
        .success()
}

/// Socket paths a domain definer can choose (QEMU accepts them): the tunnel line keeps each
/// as one argument, or is refused. The payloads create `pwn` in the current directory.
const HOSTILE_SOCKETS: [&str; 9] = [
    "/var/lib/libvirt/qemu/x;touch pwn;.sock",
    "/run/a'b;touch pwn.sock",
    "/run/a\"b;touch pwn\".sock",
    "/run/`touch pwn`.sock",
    "/run/$(touch pwn).sock",
    "/run/a b|touch pwn.sock",
    "-oProxyCommand=touch pwn",
    "/run/x&&touch pwn&.sock",
    "/run/é ü > pwn",
];

#[test]
fn hostile_socket_paths_are_quoted_into_one_argument() {
    for path in HOSTILE_SOCKETS {
        let g = vnc(Listen::Socket(path.into()));
        let a = access(&g, "qemu:///system", "hv7");
        let line = a
            .tunnel
            .clone()
            .unwrap_or_else(|| panic!("{path:?}: {a:?}"));
        let want = ["ssh", "-N", "-L", &format!("5900:{path}"), "hv7"];
        assert_eq!(words(&line), want, "{line}");
        assert!(sh_parses(&line), "{line}");
        let (argv, pwned) = run_with_stub_ssh(&line);
        assert_eq!(argv, want, "{line}");
        assert!(!pwned, "{line} ran the payload");
        let w = listen_warning(&g).unwrap_or_else(|| panic!("{path:?} flagged"));
        assert!(w.contains("not a plain path"), "{w}");
        assert_eq!(a.url, None);
    }
    // A plain path needs neither quotes nor a warning.
    let g = vnc(Listen::Socket("/run/libvirt/qemu/vnc-1.sock".into()));
    assert_eq!(listen_warning(&g), None);
}

#[test]
fn socket_paths_no_quoting_makes_safe_are_refused() {
    for path in [
        "/run/x\ntouch pwn\n.sock",
        "/run/x\rtouch pwn",
        "/run/x\u{1b}]52;c;AAAA\u{7}.sock",
        "/run/x\u{0}y",
        // ssh -L splits the spec on ':'.
        "/run/host:22",
    ] {
        let g = vnc(Listen::Socket(path.into()));
        let a = access(&g, "qemu:///system", "hv7");
        assert_eq!(a.tunnel, None, "{path:?}");
        assert_eq!(a.tunnel_url, None, "{path:?}");
        let w = listen_warning(&g).unwrap_or_else(|| panic!("{path:?} flagged"));
        assert!(w.contains("no ssh line"), "{w}");
        // The warning shows the value escaped: no raw control character reaches the screen.
        assert!(!w.chars().any(char::is_control), "{w:?}");
    }
}

#[test]
fn listen_addresses_that_are_not_addresses_give_no_url_or_line() {
    for addr in [
        "$(touch /tmp/p)",
        "a'b",
        "a\"b",
        "`touch pwn`",
        "a b",
        "x\ny",
        "-oProxyCommand=touch pwn",
        "host;touch pwn",
        "-1.example",
        "",
    ] {
        let g = vnc(Listen::Address(addr.into()));
        for uri in ["qemu:///system", "qemu+ssh://root@kvm1.example/system"] {
            let a = access(&g, uri, "hv7");
            if addr.is_empty() {
                // "" is libvirt's "all addresses".
                assert!(a.tunnel.is_some(), "{a:?}");
                continue;
            }
            assert_eq!((&a.url, &a.tunnel), (&None, &None), "{addr:?} {uri}: {a:?}");
            let w = listen_warning(&g).unwrap_or_else(|| panic!("{addr:?} flagged"));
            assert!(w.contains("not an IP address or host name"), "{w}");
        }
    }
    // Addresses and host names pass, IPv6 bracketed where a port follows.
    let g = vnc(Listen::Address("2001:db8::1".into()));
    assert_eq!(listen_warning(&g), None);
    let a = access(&g, "qemu:///system", "hv7");
    assert_eq!(a.url.as_deref(), Some("vnc://[2001:db8::1]:5901"));
    let line = a.tunnel.unwrap();
    // '[' is a glob character: quoted.
    assert_eq!(line, "ssh -N -L '5901:[2001:db8::1]:5901' hv7");
    let (argv, _) = run_with_stub_ssh(&line);
    assert_eq!(argv, ["ssh", "-N", "-L", "5901:[2001:db8::1]:5901", "hv7"]);
    for ok in ["kvm-1.example.org", "192.0.2.7", "[::1]", "localhost"] {
        assert_eq!(
            listen_warning(&vnc(Listen::Address(ok.into()))),
            None,
            "{ok}"
        );
    }
}

#[test]
fn uri_user_and_host_are_quoted_or_refused() {
    let g = vnc(Listen::Address("127.0.0.1".into()));
    // A user with shell syntax is one quoted argument (ssh sees it as the login name).
    let a = access(&g, "qemu+ssh://root;touch pwn@kvm1.example/system", "x");
    let line = a.tunnel.unwrap();
    let want = [
        "ssh",
        "-N",
        "-L",
        "5901:127.0.0.1:5901",
        "root;touch pwn@kvm1.example",
    ];
    assert!(sh_parses(&line), "{line}");
    let (argv, pwned) = run_with_stub_ssh(&line);
    assert_eq!(argv, want, "{line}");
    assert!(!pwned, "{line} ran the payload");
    // IPv6 host with a port: `-p` before the destination.
    let a = access(&g, "qemu+ssh://admin@[2001:db8::1]:2222/system", "x");
    let (argv, _) = run_with_stub_ssh(&a.tunnel.unwrap());
    assert_eq!(
        argv,
        [
            "ssh",
            "-N",
            "-L",
            "5901:127.0.0.1:5901",
            "-p",
            "2222",
            "admin@2001:db8::1"
        ]
    );
    // Whatever ssh would read as an option, or a host that is not a host, gives no line.
    for uri in [
        "qemu+ssh://-oProxyCommand=touch pwn@kvm1/system",
        "qemu+ssh://root@$(touch pwn)/system",
        "qemu+ssh://root@-oProxyCommand=x/system",
        "qemu+ssh://root@a b/system",
        "qemu+tls://`touch pwn`/system",
    ] {
        let a = access(&g, uri, "x");
        assert_eq!(a.tunnel, None, "{uri}: {a:?}");
        assert!(a.warning.is_some(), "{uri}");
    }
    // A local host that calls itself something odd: a placeholder, and a warning.
    let a = access(&g, "qemu:///system", "hv7;touch pwn");
    assert_eq!(
        a.tunnel.as_deref(),
        Some("ssh -N -L 5901:127.0.0.1:5901 THIS-HOST")
    );
    assert!(a.warning.unwrap().contains("THIS-HOST"));
}

#[test]
fn viewers_get_no_argument_that_reads_as_an_option() {
    let only = |name: &'static str| {
        move |n: &str| (n == name).then(|| PathBuf::from(format!("/usr/bin/{n}")))
    };
    let g = vnc(Listen::Address("0.0.0.0".into()));
    let a = access(&g, "qemu:///system", "hv7");
    // The UUID comes from the host: after `--`, with the URI joined to its option.
    let v = choose(only("virt-viewer"), true, &g, &a, "-x", "-oops").unwrap();
    assert_eq!(v.args, ["--connect=-x", "--", "-oops"]);
    // An Access built by other code with a hostile URL is still refused for vncviewer.
    let forged = Access {
        url: Some("vnc://-via=evil:5901".into()),
        ..Access::default()
    };
    let e = choose(only("vncviewer"), true, &g, &forged, "qemu:///system", "u").unwrap_err();
    assert!(e.contains("refusing"), "{e}");
    // A hostile listen address gives no URL, hence nothing for remote-viewer/vncviewer.
    let bad = vnc(Listen::Address("-listen=evil".into()));
    let a = access(&bad, "qemu:///system", "hv7");
    assert!(choose(only("vncviewer"), true, &bad, &a, "qemu:///system", "u").is_err());
    assert!(choose(only("remote-viewer"), true, &bad, &a, "qemu:///system", "u").is_err());
}
