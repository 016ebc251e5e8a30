//! With the capture on, whatever C code writes on fd 2 (a raw `write(2)`, libxml2's warning
//! when libvirt opens a missing test-driver file) arrives as log lines and not on the original
//! fd 2; afterwards fd 2 is the original again. Its own test binary: it moves this process's
//! fd 2 around.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::time::Duration;

use virtdeck::stderr;

#[test]
fn writes_on_fd_2_reach_the_log_and_not_the_original() {
    // The "terminal": a file put on fd 2 for the test, so what leaks can be read back.
    let mut original = tempfile::tempfile().unwrap();
    // SAFETY: plain descriptor juggling on fds this test owns; fd 2 is put back at the end.
    let real = unsafe { libc::dup(2) };
    assert!(real >= 0);
    assert!(unsafe { libc::dup2(original.as_raw_fd(), 2) } >= 0);

    virtdeck::host::ensure_event_loop();
    let (tx, rx) = mpsc::channel();
    let capture = stderr::Capture::start(move |line| {
        let _ = tx.send(line);
    })
    .unwrap();
    assert!(stderr::active());
    assert!(
        stderr::Capture::start(|_| {}).is_err(),
        "one capture at a time"
    );

    let raw = b"raw write from C \x1b[2J\n";
    assert_eq!(
        unsafe { libc::write(2, raw.as_ptr().cast(), raw.len()) },
        raw.len() as isize
    );
    let opened = virt::connect::Connect::open(Some("test:///nonexistent-virtdeck.xml"));
    assert!(opened.is_err());

    let mut lines = Vec::new();
    while !lines
        .iter()
        .any(|l: &String| l.contains("failed to load external entity"))
    {
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(l) => lines.push(l),
            Err(_) => panic!("libxml2's warning never arrived: {lines:?}"),
        }
    }
    assert!(
        lines.contains(&"raw write from C \u{fffd}[2J".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("nonexistent-virtdeck.xml")),
        "{lines:?}"
    );

    drop(capture);
    assert!(!stderr::active());
    let after = b"after the capture\n";
    unsafe { libc::write(2, after.as_ptr().cast(), after.len()) };
    unsafe {
        libc::dup2(real, 2);
        libc::close(real);
    }

    let mut leaked = String::new();
    use std::io::Seek;
    original.rewind().unwrap();
    original.read_to_string(&mut leaked).unwrap();
    assert_eq!(
        leaked, "after the capture\n",
        "only what came after the capture"
    );
}
