//! The session against a scripted RFB 3.8 server on a socket pair (no KVM needed).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::vnc::{Options, Preview, PreviewStatus, Transport};

/// What the client sent, parsed.
#[derive(Debug, PartialEq)]
enum Msg {
    PixelFormat(Vec<u8>),
    Encodings(Vec<i32>),
    Request { incremental: bool, w: u16, h: u16 },
    Key(u32, bool),
    Other(u8),
}

struct Server {
    sock: UnixStream,
    msgs: Receiver<(Instant, Msg)>,
}

fn read_n(s: &mut UnixStream, n: usize) -> Option<Vec<u8>> {
    let mut b = vec![0; n];
    s.read_exact(&mut b).ok().map(|()| b)
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn read_msg(s: &mut UnixStream) -> Option<Msg> {
    let t = read_n(s, 1)?[0];
    Some(match t {
        0 => Msg::PixelFormat(read_n(s, 19)?[3..].to_vec()),
        2 => {
            let h = read_n(s, 3)?;
            let n = usize::from(be16(&h[1..]));
            let e = read_n(s, 4 * n)?;
            Msg::Encodings(
                e.chunks(4)
                    .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            )
        }
        3 => {
            let b = read_n(s, 9)?;
            Msg::Request {
                incremental: b[0] != 0,
                w: be16(&b[5..]),
                h: be16(&b[7..]),
            }
        }
        4 => {
            let b = read_n(s, 7)?;
            Msg::Key(u32::from_be_bytes([b[3], b[4], b[5], b[6]]), b[0] != 0)
        }
        5 => {
            read_n(s, 5)?;
            Msg::Other(5)
        }
        t => Msg::Other(t),
    })
}

const BGRA: [u8; 16] = [32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0];

/// Starts a preview on one end of a socket pair and greets it as a `w`x`h` server.
fn serve(w: u16, h: u16, opts: Options) -> (Preview, Server, Arc<AtomicUsize>) {
    let (client, mut sock) = UnixStream::pair().unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let wakes = Arc::new(AtomicUsize::new(0));
    let w2 = Arc::clone(&wakes);
    let p = Preview::new(Arc::new(move || {
        w2.fetch_add(1, Ordering::SeqCst);
    }));
    p.start(Transport::Fd(client.into()), None, opts);
    sock.write_all(b"RFB 003.008\n").unwrap();
    assert_eq!(read_n(&mut sock, 12).unwrap(), b"RFB 003.008\n");
    sock.write_all(&[1, 1]).unwrap(); // one security type: None
    assert_eq!(read_n(&mut sock, 1).unwrap(), [1]);
    sock.write_all(&[0; 4]).unwrap(); // SecurityResult OK
    assert_eq!(read_n(&mut sock, 1).unwrap(), [1], "shared session");
    let mut init = Vec::new();
    init.extend(w.to_be_bytes());
    init.extend(h.to_be_bytes());
    init.extend(BGRA);
    init.extend(4u32.to_be_bytes());
    init.extend(b"fake");
    sock.write_all(&init).unwrap();
    let (tx, rx) = mpsc::channel();
    let mut reader = sock.try_clone().unwrap();
    reader.set_read_timeout(None).unwrap();
    std::thread::spawn(move || {
        while let Some(m) = read_msg(&mut reader) {
            if tx.send((Instant::now(), m)).is_err() {
                break;
            }
        }
    });
    (p, Server { sock, msgs: rx }, wakes)
}

impl Server {
    fn next(&self) -> Msg {
        self.msgs
            .recv_timeout(Duration::from_secs(10))
            .expect("client message")
            .1
    }

    /// A FramebufferUpdate with raw rects of one colour each.
    fn raw(&mut self, rects: &[(u16, u16, u16, u16, [u8; 3])]) {
        let mut m = vec![0, 0];
        m.extend((rects.len() as u16).to_be_bytes());
        for &(x, y, w, h, c) in rects {
            for v in [x, y, w, h] {
                m.extend(v.to_be_bytes());
            }
            m.extend(0i32.to_be_bytes());
            for _ in 0..u32::from(w) * u32::from(h) {
                m.extend([c[2], c[1], c[0], 0]);
            }
        }
        self.sock.write_all(&m).unwrap();
    }

    fn copy(&mut self, dst: (u16, u16, u16, u16), src: (u16, u16)) {
        let mut m = vec![0, 0, 0, 1];
        for v in [dst.0, dst.1, dst.2, dst.3] {
            m.extend(v.to_be_bytes());
        }
        m.extend(1i32.to_be_bytes());
        m.extend(src.0.to_be_bytes());
        m.extend(src.1.to_be_bytes());
        self.sock.write_all(&m).unwrap();
    }
}

fn wait(what: &str, mut ok: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !ok() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];

#[test]
fn applies_raw_and_copy_rects_and_forwards_keys() {
    let (p, mut srv, wakes) = serve(4, 2, Options::default());
    assert_eq!(srv.next(), Msg::PixelFormat(BGRA.to_vec()));
    match srv.next() {
        Msg::Encodings(e) => assert_eq!(e, [16, 1, 0, -223]),
        m => panic!("{m:?}"),
    }
    assert_eq!(
        srv.next(),
        Msg::Request {
            incremental: false,
            w: 4,
            h: 2
        }
    );
    wait("live", || {
        p.status()
            == PreviewStatus::Live {
                width: 4,
                height: 2,
            }
    });

    // Row 0 red, row 1: green green blue blue.
    srv.raw(&[(0, 0, 4, 1, RED), (0, 1, 2, 1, GREEN), (2, 1, 2, 1, BLUE)]);
    wait("first frame", || p.frames() >= 1);
    let c = p.cells(4, 1);
    assert_eq!(c.top, vec![RED; 4]);
    assert_eq!(c.bottom, vec![GREEN, GREEN, BLUE, BLUE]);
    assert_eq!(p.pixels(), 8);
    // The next request is incremental, sent after the answer.
    assert_eq!(
        srv.next(),
        Msg::Request {
            incremental: true,
            w: 4,
            h: 2
        }
    );

    // CopyRect: the blue pair moves over the red pair.
    let before = wakes.load(Ordering::SeqCst);
    srv.copy((0, 0, 2, 1), (2, 1));
    wait("copy", || p.frames() >= 2);
    assert!(
        wakes.load(Ordering::SeqCst) > before,
        "new pixels wake the UI"
    );
    let c = p.cells(4, 1);
    assert_eq!(c.top, vec![BLUE, BLUE, RED, RED]);
    assert_eq!(
        srv.next(),
        Msg::Request {
            incremental: true,
            w: 4,
            h: 2
        }
    );

    // Keys: Ctrl-c as X11 keysyms with Control_L around.
    p.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    let keys: Vec<Msg> = (0..4).map(|_| srv.next()).collect();
    assert_eq!(
        keys,
        [
            Msg::Key(0xffe3, true),
            Msg::Key(0x63, true),
            Msg::Key(0x63, false),
            Msg::Key(0xffe3, false)
        ]
    );

    // Idle: the pending incremental request is not repeated more than once a second.
    let t0 = Instant::now();
    let mut requests = 0;
    while t0.elapsed() < Duration::from_millis(1500) {
        if let Ok((_, Msg::Request { .. })) = srv.msgs.recv_timeout(Duration::from_millis(50)) {
            requests += 1;
        }
    }
    assert!(requests <= 2, "{requests} requests while idle");

    // The server goes away: a clear failure.
    srv.sock.shutdown(std::net::Shutdown::Both).unwrap();
    wait("failure", || matches!(p.status(), PreviewStatus::Failed(_)));
    assert_eq!(
        p.status(),
        PreviewStatus::Failed("the VNC server closed the connection".into())
    );
}

#[test]
fn full_refresh_requests_are_rate_limited() {
    let (p, mut srv, wakes) = serve(
        8,
        8,
        Options {
            max_fps: 10,
            full_refresh: true,
        },
    );
    let t0 = Instant::now();
    let mut stamps = Vec::new();
    let mut colour = 0u8;
    // Answer every request with a whole frame at once, for ~1.2 s.
    while t0.elapsed() < Duration::from_millis(1200) {
        let Ok((at, m)) = srv.msgs.recv_timeout(Duration::from_millis(300)) else {
            continue;
        };
        if let Msg::Request { incremental, .. } = m {
            if !stamps.is_empty() {
                assert!(!incremental, "full_refresh asks for whole frames");
            }
            stamps.push(at);
            colour = colour.wrapping_add(40);
            srv.raw(&[(0, 0, 8, 8, [colour; 3])]);
        }
    }
    let n = stamps.len();
    // Upper bound: the cap; lower bound loose for loaded machines.
    assert!((4..=14).contains(&n), "{n} requests in 1.2 s at max_fps 10");
    for pair in stamps.windows(2).skip(1) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(90), "requests {gap:?} apart");
    }
    wait("every frame applied", || p.pixels() == 64 * n as u64);
    assert!(p.frames() >= 3, "{} frames", p.frames());
    // Nobody drew: one wake only, however many frames.
    assert_eq!(wakes.load(Ordering::SeqCst), 2, "Live + first frame");
    p.close();
    assert_eq!(p.status(), PreviewStatus::Closed);
    // The session closes the socket.
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        match srv.msgs.recv_timeout(Duration::from_millis(100)) {
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            _ => assert!(Instant::now() < until, "socket still open after close()"),
        }
    }
}

#[test]
fn bad_server_data_fails_cleanly() {
    let (p, mut srv, _) = serve(4, 4, Options::default());
    wait("live", || matches!(p.status(), PreviewStatus::Live { .. }));
    // A rectangle past the screen edge.
    srv.raw(&[(3, 3, 2, 2, RED)]);
    wait("failure", || matches!(p.status(), PreviewStatus::Failed(_)));
    let PreviewStatus::Failed(msg) = p.status() else {
        unreachable!()
    };
    assert!(msg.contains("VNC"), "{msg}");
}

#[test]
fn password_is_required_when_the_server_asks() {
    let (client, mut sock) = UnixStream::pair().unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let p = Preview::new(Arc::new(|| {}));
    p.start(Transport::Fd(client.into()), None, Options::default());
    sock.write_all(b"RFB 003.008\n").unwrap();
    read_n(&mut sock, 12).unwrap();
    sock.write_all(&[1, 2]).unwrap(); // VNC authentication only
    wait("failure", || matches!(p.status(), PreviewStatus::Failed(_)));
    assert_eq!(
        p.status(),
        PreviewStatus::Failed("the VNC server asks for a password".into())
    );
}

#[test]
fn server_reasons_are_cleaned_for_the_ui() {
    assert_eq!(
        super::clean("Authentication failed\0"),
        "Authentication failed"
    );
    assert_eq!(super::clean("\x1b[2Jbad\r\n"), "[2Jbad");
    assert_eq!(super::clean(&"x".repeat(500)).len(), 200);
}
