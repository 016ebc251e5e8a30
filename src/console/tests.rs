use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use super::*;

/// A socket pair standing in for the libvirt stream.
struct Sock(UnixStream);

impl ConsoleIo for Sock {
    fn recv(&self, buf: &mut [u8]) -> Result<usize, String> {
        (&self.0).read(buf).map_err(|e| e.to_string())
    }
    fn send(&self, data: &[u8]) -> Result<usize, String> {
        (&self.0).write(data).map_err(|e| e.to_string())
    }
    fn abort(&self) {
        let _ = self.0.shutdown(Shutdown::Both);
    }
}

fn wait(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

fn attached() -> (Link, UnixStream, Arc<AtomicUsize>) {
    let (a, b) = UnixStream::pair().unwrap();
    let link = Link::new(24, 80);
    let wakes = Arc::new(AtomicUsize::new(0));
    let w = Arc::clone(&wakes);
    link.set_wake(Arc::new(move || {
        w.fetch_add(1, Ordering::SeqCst);
    }));
    link.attach(Arc::new(Sock(a)));
    (link, b, wakes)
}

#[test]
fn output_reaches_the_screen_and_wakes_once_until_drawn() {
    let (link, mut guest, wakes) = attached();
    assert_eq!(link.state(), LinkState::Attached);
    link.take_dirty();
    let before = wakes.load(Ordering::SeqCst);
    guest.write_all(b"VIRTDECK TINY GUEST READY\r\n> ").unwrap();
    assert!(wait(|| link.with_screen(0, |s| s.contents().contains("> "))));
    guest.write_all(b"more").unwrap();
    assert!(wait(|| link.received() >= 33));
    // Two chunks, one wake: the UI had not drawn in between.
    assert_eq!(wakes.load(Ordering::SeqCst), before + 1);
    assert!(link.take_dirty());
    guest.write_all(b"!").unwrap();
    assert!(wait(|| wakes.load(Ordering::SeqCst) == before + 2));
    assert!(link.last_output().is_some());
}

#[test]
fn keystrokes_reach_the_guest() {
    let (link, mut guest, _) = attached();
    assert!(link.send(b"ls".to_vec()));
    assert!(link.send(b"\r".to_vec()));
    let mut got = Vec::new();
    let mut buf = [0u8; 16];
    guest
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    while got.len() < 3 {
        let n = guest.read(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"ls\r");
}

#[test]
fn guest_side_closing_ends_the_link() {
    let (link, guest, _) = attached();
    drop(guest);
    assert!(wait(|| matches!(link.state(), LinkState::Ended(_))));
    assert!(!link.send(b"x".to_vec()), "no input after the end");
}

#[test]
fn detach_closes_the_stream_and_stays_detached() {
    let (link, mut guest, _) = attached();
    link.detach();
    guest
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(guest.read(&mut buf).unwrap(), 0, "the stream was aborted");
    std::thread::sleep(Duration::from_millis(50));
    // The reader's end of stream must not overwrite the user's detach.
    assert_eq!(link.state(), LinkState::Detached);
}

#[test]
fn a_console_in_use_elsewhere_is_told_apart_from_other_failures() {
    let link = Link::new(24, 80);
    link.fail("operation failed: Active console session exists for this domain".into());
    assert!(matches!(link.state(), LinkState::InUse(_)));
    link.fail("operation forbidden: read only access prevents virDomainOpenConsole".into());
    assert!(matches!(link.state(), LinkState::Failed(_)));
}

#[test]
fn scrollback_and_resize() {
    let link = Link::new(5, 20);
    for i in 0..30 {
        link.feed(format!("line {i}\r\n").as_bytes());
    }
    let bottom = link.with_screen(0, |s| s.contents());
    assert!(bottom.contains("line 29") && !bottom.contains("line 20\n"));
    let back = link.with_screen(10, |s| (s.contents(), s.scrollback()));
    assert_eq!(back.1, 10);
    assert!(back.0.contains("line 20") && !back.0.contains("line 29"));
    // More than there is clamps to the oldest line.
    assert_eq!(link.with_screen(10_000, |s| s.scrollback()), 26);
    link.fit(10, 40);
    assert_eq!(link.with_screen(0, |s| s.size()), (10, 40));
    // Shrinking keeps the newest lines and the cursor on screen.
    link.feed(b"prompt> ");
    link.fit(3, 40);
    let s = link.with_screen(0, |s| (s.contents(), s.cursor_position()));
    assert!(
        s.0.contains("line 29") && s.0.trim_end().ends_with("prompt>"),
        "{:?}",
        s.0
    );
    assert_eq!(s.1, (2, 8));
}

#[test]
fn a_state_change_before_the_wake_is_set_does_not_swallow_later_wakes() {
    // The console of a stopped VM starts "waiting" before the runtime sets the callback.
    let link = Link::new(24, 80);
    link.set_state(LinkState::Waiting);
    let wakes = Arc::new(AtomicUsize::new(0));
    let w = Arc::clone(&wakes);
    link.set_wake(Arc::new(move || {
        w.fetch_add(1, Ordering::SeqCst);
    }));
    link.set_state(LinkState::Opening);
    assert_eq!(wakes.load(Ordering::SeqCst), 1);
}
