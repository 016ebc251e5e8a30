use super::*;
use crate::doctor::report::Status;
use crate::doctor::ssh;

fn outcome(status: Option<i32>, stderr: &str, tagged: &[(&str, &str)]) -> Outcome {
    Outcome {
        status,
        stderr: stderr.into(),
        tagged: tagged
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        elapsed: Duration::from_millis(300),
        ..Outcome::default()
    }
}

fn statuses(cs: &[Check]) -> Vec<Status> {
    cs.iter().map(|c| c.status).collect()
}

#[test]
fn uris() {
    assert_eq!(uri("qemu:///system").unwrap().status, Status::Ok);
    assert!(uri("qemu+ssh://root@kvm2/system")
        .unwrap()
        .text
        .contains("kvm2 over ssh"));
    let bad = uri("qemu+ssh:///system").unwrap_err();
    assert_eq!(bad.status, Status::Fail);
    assert!(bad.fix.is_some());
    assert_eq!(uri("kvm9").unwrap().status, Status::Warn, "maybe an alias");
    assert_eq!(
        uri("qemu+ssh://h/system?command=/tmp/x").unwrap().status,
        Status::Warn
    );
}

#[test]
fn an_ssh_login_that_works() {
    let t = ssh::target("qemu+ssh://root@kvm2/system").unwrap();
    let o = outcome(
        Some(0),
        "",
        &[
            ("helper", ""),
            ("nc", "/usr/bin/nc"),
            ("conf", "readable"),
            ("end", "1"),
        ],
    );
    let (cs, ok) = ssh(&t, &o);
    assert!(ok);
    assert_eq!(statuses(&cs), [Status::Ok; 3]);
    assert!(cs[2].text.contains("nc on the far side"), "{cs:?}");
    // Neither helper: libvirt cannot reach the daemon.
    let o = outcome(Some(0), "", &[("helper", ""), ("nc", ""), ("end", "1")]);
    let (cs, _) = ssh(&t, &o);
    assert_eq!(cs[2].status, Status::Fail);
}

#[test]
fn ssh_failures_say_what_to_do() {
    let t = ssh::target("qemu+ssh://root@kvm2:2222/system").unwrap();
    let (cs, ok) = ssh(
        &t,
        &outcome(
            Some(255),
            "root@kvm2: Permission denied (publickey).\n",
            &[],
        ),
    );
    assert!(!ok);
    assert_eq!(statuses(&cs), [Status::Ok, Status::Fail]);
    assert_eq!(
        cs[1]
            .fix
            .as_deref()
            .unwrap()
            .split(' ')
            .take(4)
            .collect::<Vec<_>>(),
        ["ssh-copy-id", "-p", "2222", "root@kvm2"]
    );
    let (cs, _) = ssh(
        &t,
        &outcome(
            Some(255),
            "No ED25519 host key is known for kvm2\nHost key verification failed.\n",
            &[],
        ),
    );
    assert_eq!(statuses(&cs), [Status::Fail, Status::Info]);
    assert!(cs[0]
        .fix
        .as_deref()
        .unwrap()
        .contains("ssh-keyscan -p 2222 kvm2"));
    let (cs, _) = ssh(
        &t,
        &outcome(
            Some(255),
            "ssh: connect to host kvm2 port 2222: Connection refused\n",
            &[],
        ),
    );
    assert!(cs[0].text.contains("cannot reach"), "{cs:?}");
    let mut slow = outcome(None, "", &[]);
    slow.timed_out = true;
    let (cs, ok) = ssh(&t, &slow);
    assert!(!ok && cs[0].status == Status::Fail && cs[0].text.contains("did not finish"));
    // A user that would be an option or break a pasted line is quoted in the fix.
    let t = ssh::target("qemu+ssh://a%20b;rm@kvm2/system").unwrap();
    let (cs, _) = ssh(&t, &outcome(Some(255), "Permission denied", &[]));
    assert!(
        cs[1].fix.as_deref().unwrap().contains("'a%20b;rm@kvm2'"),
        "{cs:?}"
    );
}

#[test]
fn connect_access_kvm_network_pools() {
    let mut f = Facts {
        connect_time: Duration::from_millis(12),
        driver: Some("QEMU".into()),
        lib_version: Some(9_000_000),
        hv_version: Some(7_002_022),
        kvm: Some(true),
        networks: Ok(vec![("default".into(), true)]),
        pools: Ok(vec![("images".into(), true), ("iso".into(), false)]),
        ..Facts::default()
    };
    let uri = "qemu:///system";
    assert_eq!(connect(uri, &Ok(f.clone())).text, "connected in 12 ms");
    assert_eq!(
        versions(&f, Some(9_000_000)).text,
        "libvirt 9.0.0 (this machine 9.0.0), QEMU 7.2.22"
    );
    assert_eq!(access(uri, &f).status, Status::Ok);
    assert_eq!(kvm(&f).status, Status::Ok);
    assert_eq!(network(uri, &f).status, Status::Ok);
    assert_eq!(pools(uri, &f).text, "1 active storage pool (images)");
    let refused = connect("qemu+tcp://h:1/system", &Err("Connection refused".into()));
    assert_eq!(refused.status, Status::Fail);
    assert!(refused
        .fix
        .unwrap()
        .contains("virsh -c qemu+tcp://h:1/system version"));

    f.connect_time = Duration::from_secs(3);
    f.readonly_because = Some("authentication failed".into());
    f.kvm = Some(false);
    f.networks = Ok(vec![("default".into(), false)]);
    f.pools = Ok(vec![]);
    assert_eq!(connect(uri, &Ok(f.clone())).status, Status::Warn);
    assert_eq!(access(uri, &f).status, Status::Warn);
    assert_eq!(kvm(&f).status, Status::Warn);
    let n = network("qemu+ssh://h/system?x=1&y=2", &f);
    assert_eq!(n.status, Status::Warn);
    assert!(n
        .fix
        .unwrap()
        .starts_with("virsh -c 'qemu+ssh://h/system?x=1&y=2' net-start default"));
    assert_eq!(pools(uri, &f).status, Status::Warn);
    f.driver = Some("TEST".into());
    f.kvm = None;
    assert_eq!(kvm(&f).status, Status::Info);
}

#[test]
fn displays() {
    let xml = |listen: &str, port: i32| {
        format!(
            "<domain><name>web</name><devices><graphics type='vnc' port='{port}' listen='{listen}'{}/></devices></domain>",
            if port == 5902 { " passwd='s3cret'" } else { "" }
        )
    };
    let one = |uri: &str, x: String, reach: Option<bool>| {
        let g = &display::parse(&x, true).unwrap()[0];
        let a = display::access(g, uri, "kvm1");
        graphics("web", g, &a, reach.filter(|_| a.url.is_some()))
    };
    let c = one("qemu:///system", xml("127.0.0.1", 5900), Some(true));
    assert_eq!(
        (c.status, c.text.as_str()),
        (
            Status::Ok,
            "web: VNC vnc://127.0.0.1:5900 reachable from here"
        )
    );
    // Loopback on a remote host: through the tunnel.
    let c = one("qemu+ssh://root@kvm2/system", xml("127.0.0.1", 5901), None);
    assert_eq!(c.status, Status::Ok);
    assert!(
        c.text.contains("ssh -N -L 5901:127.0.0.1:5901 root@kvm2"),
        "{c:?}"
    );
    // A remote address that does not answer: the tunnel is the fix.
    let c = one(
        "qemu+ssh://root@kvm2/system",
        xml("10.0.0.5", 5902),
        Some(false),
    );
    assert_eq!(c.status, Status::Warn);
    assert!(c.fix.unwrap().contains("ssh -N -L 5902:10.0.0.5:5902"));
    // Open to everyone without a password.
    let c = one(
        "qemu+ssh://root@kvm2/system",
        xml("0.0.0.0", 5903),
        Some(true),
    );
    assert_eq!(c.status, Status::Warn);
    assert!(c.text.contains("without a password"), "{c:?}");
    // A crafted listen address gets no line at all.
    let c = one("qemu+ssh://root@kvm2/system", xml("$(reboot)", 5904), None);
    assert_eq!(c.status, Status::Warn);
    assert!(c.fix.is_none());
}

#[test]
fn migration_ports_from_qemu_conf() {
    assert_eq!(
        parse_ports("# migration_port_min = 1\nmigration_port_min = 50000 # ours\n  migration_port_max=50010\n"),
        (Some(50000), Some(50010))
    );
    let c = migration_ports(&Conf::Read(String::new(), "/etc/libvirt/qemu.conf".into())).unwrap();
    assert!(
        c.text
            .starts_with("migration ports 49152–49215 (libvirt's defaults"),
        "{c:?}"
    );
    let c = migration_ports(&Conf::Read(
        "migration_port_min = 60000\nmigration_port_max = 50000".into(),
        "x".into(),
    ))
    .unwrap();
    assert_eq!(c.status, Status::Fail);
    assert_eq!(
        migration_ports(&Conf::Unknown("over +tcp".into()))
            .unwrap()
            .status,
        Status::Info
    );
    assert!(migration_ports(&Conf::NotApplicable).is_none());
}

#[test]
fn clocks_and_skew() {
    let off = |o: f64| Clock::Offset(o, "date over ssh".into());
    assert_eq!(
        clock(&off(0.02)).unwrap().text,
        "clock 0.0 s from this machine (date over ssh)"
    );
    assert_eq!(clock(&off(-4.0)).unwrap().status, Status::Warn);
    assert_eq!(clock(&off(900.0)).unwrap().status, Status::Fail);
    assert!(clock(&Clock::NotApplicable).is_none());
    let hosts = |cs: Vec<Clock>| {
        cs.into_iter()
            .enumerate()
            .map(|(i, c)| (format!("h{i}"), c))
            .collect::<Vec<_>>()
    };
    assert!(
        skew(&hosts(vec![Clock::Same])).is_none(),
        "one host: nothing between"
    );
    assert!(skew(&hosts(vec![Clock::Same, Clock::NotApplicable])).is_none());
    let s = skew(&hosts(vec![
        Clock::Same,
        off(2.5),
        Clock::Unknown("tcp".into()),
    ]))
    .unwrap();
    assert_eq!(s.status, Status::Warn);
    assert!(
        s.text
            .starts_with("clock skew between hosts 2.5 s (h0 0.0 s, h1 +2.5 s from this machine;"),
        "{s:?}"
    );
    assert!(s.text.ends_with("; 1 not measured)"), "{s:?}");
    assert_eq!(
        skew(&hosts(vec![Clock::Same, Clock::Unknown("tcp".into())]))
            .unwrap()
            .status,
        Status::Info
    );
}
