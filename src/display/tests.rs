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
    assert_eq!(g[0].kind, Kind::Vnc);
    assert_eq!(g[0].port, Some(5901));
    assert!(g[0].autoport);
    assert_eq!(g[0].listen, Listen::Address("0.0.0.0".into()));
    assert_eq!(g[0].password, Password::NotSet);
    assert_eq!(g[1].kind, Kind::Spice);
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
    assert_eq!(v.args, ["--connect", "qemu:///system", "u-1"]);
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
