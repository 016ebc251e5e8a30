//! Bulk actions on a big test-driver host: n queued commands cost a few snapshots, not n
//! (each one a full VM list), and a consumer that stops taking snapshots holds a bounded
//! number of them.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use virtdeck::host::{self, HostCommand, HostEvent, LifecycleOp, Reply, RequestId, WorkerOptions};
use virtdeck::model::{HostId, Snapshot, VmState};

/// A test-driver host with `n` running VMs, in a file of its own.
fn fleet(n: usize) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut xml = String::from("<node>\n");
    for i in 0..n {
        xml.push_str(&format!(
            "<domain type='test'><name>bulk-{i:05}</name>\
             <uuid>00000000-0000-4000-8000-{i:012}</uuid>\
             <memory unit='MiB'>64</memory><vcpu>1</vcpu>\
             <os><type arch='x86_64'>hvm</type></os></domain>\n"
        ));
    }
    xml.push_str("</node>\n");
    let path = dir.path().join("bulk.xml");
    std::fs::write(&path, xml).unwrap();
    let uri = format!("test://{}", path.display());
    (dir, uri)
}

fn worker(uri: &str) -> (host::HostHandle, mpsc::Receiver<HostEvent>) {
    let (tx, rx) = mpsc::channel();
    let opts = WorkerOptions {
        // No poll during the test: every snapshot is one the commands caused.
        poll_interval: Duration::from_secs(3600),
        ..WorkerOptions::default()
    };
    let h = host::spawn(HostId(0), uri.to_string(), opts, move |ev| {
        let _ = tx.send(ev);
    })
    .unwrap();
    (h, rx)
}

fn first_snapshot(rx: &mpsc::Receiver<HostEvent>) -> Snapshot {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left).expect("the host reports") {
            HostEvent::Snapshot(s) => return s,
            HostEvent::Unreachable { error, .. } => panic!("test driver refused: {error}"),
            _ => {}
        }
    }
}

fn pause_all(h: &host::HostHandle, snap: &Snapshot) -> usize {
    for (i, vm) in snap.vms.iter().enumerate() {
        h.send(HostCommand::Lifecycle {
            id: RequestId(i as u64),
            uuid: vm.uuid.clone(),
            op: LifecycleOp::Pause,
        });
    }
    snap.vms.len()
}

#[test]
fn a_bulk_action_sends_a_few_snapshots_not_one_per_command() {
    const N: usize = 2000;
    let (_dir, uri) = fleet(N);
    let (h, rx) = worker(&uri);
    let first = first_snapshot(&rx);
    assert_eq!(first.vms.len(), N);
    assert!(first.vms.iter().all(|v| v.state == VmState::Running));
    let started = Instant::now();
    let sent = pause_all(&h, &first);
    drop(first);
    let (mut done, mut snapshots, mut records) = (0, 0usize, 0usize);
    let mut last = None;
    while done < sent {
        match rx.recv_timeout(Duration::from_secs(60)).expect("answers") {
            HostEvent::Reply {
                reply: Reply::Op(result),
                ..
            } => {
                result.expect("pause succeeds");
                done += 1;
            }
            HostEvent::Snapshot(s) => {
                snapshots += 1;
                records += s.vms.len();
                last = Some(s);
            }
            _ => {}
        }
    }
    let took = started.elapsed();
    // The snapshot showing the last pause comes before its answer.
    let last = last.expect("a snapshot");
    let paused = last
        .vms
        .iter()
        .filter(|v| v.state == VmState::Paused)
        .count();
    assert_eq!(paused, N, "the last snapshot shows every VM paused");
    // One per flush (every 250 ms while the queue runs, plus the last); before the fix this
    // was one per command: 2,000 snapshots, 4 million VM records.
    let bound = 4 + (took.as_millis() as usize / 250) * 2;
    assert!(
        snapshots <= bound,
        "{snapshots} snapshots ({records} VM records) for {N} commands in {took:?}"
    );
    h.send(HostCommand::Stop);
}

#[test]
fn snapshots_the_app_has_not_taken_are_bounded() {
    const N: usize = 300;
    let (_dir, uri) = fleet(N);
    let (h, rx) = worker(&uri);
    let first = first_snapshot(&rx);
    // Commands one at a time, each waiting for its answer: every one would send a snapshot.
    let mut held = vec![first.clone()];
    for (i, vm) in first.vms.iter().take(20).enumerate() {
        h.send(HostCommand::Lifecycle {
            id: RequestId(i as u64),
            uuid: vm.uuid.clone(),
            op: LifecycleOp::Pause,
        });
        loop {
            match rx.recv_timeout(Duration::from_secs(30)).expect("answer") {
                HostEvent::Reply {
                    id,
                    reply: Reply::Op(result),
                } => {
                    assert_eq!(id, RequestId(i as u64));
                    result.expect("pause");
                    break;
                }
                HostEvent::Snapshot(s) => held.push(s),
                _ => {}
            }
        }
    }
    drop(first);
    // The first snapshot plus at most one more on its way while nothing is taken.
    assert!(held.len() <= 2, "{} snapshots held", held.len());
    // Taking them lets the worker send the state it kept back.
    held.clear();
    let until = Instant::now() + Duration::from_secs(10);
    let latest = loop {
        let left = until.saturating_duration_since(Instant::now());
        if let HostEvent::Snapshot(s) = rx.recv_timeout(left).expect("the held-back snapshot") {
            break s;
        }
    };
    let paused = latest
        .vms
        .iter()
        .filter(|v| v.state == VmState::Paused)
        .count();
    assert_eq!(paused, 20);
    h.send(HostCommand::Stop);
}
