//! Child scenarios that count RPC calls in libvirt's client log (the parent sets
//! `LIBVIRT_LOG_FILTERS` / `LIBVIRT_LOG_OUTPUTS` before this process starts, since libvirt
//! reads them once, when it initialises).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use virtdeck::demo::Overlay;
use virtdeck::host::{self, HostCommand, HostEvent, WorkerOptions};
use virtdeck::model::HostId;

use super::fleet::Expected;
use super::log::{breakdown, calls, find_mark, Ev, Marks, Tail};
use super::{emit, note, Res};

/// Ticks watched after the complete snapshot; the first one is not counted (it may start
/// before the mark), so this gives `TICKS - 1` whole ticks.
const TICKS: usize = 7;
const POLL: Duration = Duration::from_millis(400);
/// Every third tick or so re-reads the inventory (30 s in the app), so both kinds show.
const INVENTORY: Duration = Duration::from_millis(1100);
const WAIT: Duration = Duration::from_secs(120);

/// Known calls between two marks: checks that one call is counted as one.
pub fn calibrate(uri: &str, log: &Path) -> Res<()> {
    virt::error::clear_error_callback();
    let marks = Marks::open(log)?;
    let conn = virt::connect::Connect::open(Some(uri))?;
    marks.write("calibrate-begin");
    for _ in 0..5 {
        conn.hostname()?;
    }
    for _ in 0..3 {
        conn.list_all_domains(0)?;
    }
    conn.node_info()?;
    marks.write("calibrate-end");
    drop(conn);
    let mut tail = Tail::new(log);
    tail.poll()?;
    let ev = &tail.events;
    let begin = find_mark(ev, 0, "calibrate-begin").ok_or("no begin mark in the log")?;
    let end = find_mark(ev, begin, "calibrate-end").ok_or("no end mark in the log")?;
    emit("counted", calls(&ev[begin..end]) as f64);
    emit("made", 9.0);
    note(&format!("calibration: {}", breakdown(&ev[begin..end])));
    Ok(())
}

/// Starts one worker on `uri` and counts its calls: to the first snapshot, to the first
/// complete one, and per tick after that.
pub fn worker(uri: &str, xml: &Path, log: &Path) -> Res<()> {
    let text = std::fs::read_to_string(xml)?;
    let expected = Arc::new(Expected::read(&text));
    let overlay = Arc::new(Overlay::parse(&text));
    let marks = Arc::new(Marks::open(log)?);
    let hook = {
        let marks = Arc::clone(&marks);
        move |c: &virt::connect::Connect| {
            // The overlay stands for what a real host keeps itself (autostart flags): its
            // calls are the bench's, not virtdeck's.
            marks.write("overlay-begin");
            let r = overlay.apply(c);
            marks.write("overlay-end");
            r
        }
    };
    let opts = WorkerOptions {
        poll_interval: POLL,
        inventory_interval: INVENTORY,
        on_connect: Some(Arc::new(hook)),
        ..WorkerOptions::default().for_uri(uri)
    };
    // Runs on the worker's thread, so each mark sits between the calls made before and after
    // the event. Snapshots are dropped here, which hands their receipt back at once.
    let notify = {
        let (marks, expected) = (Arc::clone(&marks), Arc::clone(&expected));
        move |ev: HostEvent| match ev {
            HostEvent::Snapshot(s) if expected.complete(&s.vms) => marks.write("snapshot complete"),
            HostEvent::Snapshot(s) => {
                marks.write(&format!("snapshot partial: {}", expected.missing(&s.vms)))
            }
            HostEvent::Unreachable { error, .. } | HostEvent::Lost { error } => {
                marks.write(&format!("error {error}"))
            }
            _ => {}
        }
    };
    let t0 = Instant::now();
    let handle = host::spawn(HostId(0), uri.to_string(), opts, notify)?;
    let mut tail = Tail::new(log);
    let result = loop {
        std::thread::sleep(Duration::from_millis(100));
        tail.poll()?;
        if let Some(Ev::Mark(m)) = tail
            .events
            .iter()
            .find(|e| matches!(e, Ev::Mark(m) if m.starts_with("error ")))
        {
            break Err(m.clone());
        }
        if let Some(done) = find_mark(&tail.events, 0, "snapshot complete") {
            if stats_calls(&tail.events[done..]).len() >= TICKS {
                break Ok(done);
            }
        }
        if t0.elapsed() > WAIT {
            let last = tail.events.iter().rev().find_map(|e| match e {
                Ev::Mark(m) if m.starts_with("snapshot") => Some(m.clone()),
                _ => None,
            });
            break Err(format!(
                "no complete snapshot and {TICKS} ticks within {WAIT:?}; last: {}",
                last.unwrap_or_else(|| "no snapshot".into())
            ));
        }
    };
    handle.send(HostCommand::Stop);
    let done = result?;
    report(&tail.events, done);
    Ok(())
}

/// Indexes of the bulk stats calls: one per tick, whatever else the tick does.
fn stats_calls(ev: &[Ev]) -> Vec<usize> {
    ev.iter()
        .enumerate()
        .filter(|(_, e)| {
            matches!(e, Ev::Call(n) if n.starts_with("virConnectGetAllDomainStats")
                || n.starts_with("virDomainListGetStats"))
        })
        .map(|(i, _)| i)
        .collect()
}

fn report(ev: &[Ev], done: usize) {
    let first = ev
        .iter()
        .position(|e| matches!(e, Ev::Mark(m) if m.starts_with("snapshot")))
        .unwrap_or(done);
    // The overlay runs on connect, before any snapshot: a range to leave out of both counts.
    let (ob, oe) = match (
        find_mark(ev, 0, "overlay-begin"),
        find_mark(ev, 0, "overlay-end"),
    ) {
        (Some(b), Some(e)) if e <= first => (b, e),
        _ => (0, 0),
    };
    let overlay = calls(&ev[ob..oe]);
    emit(
        "first_snapshot",
        calls(&ev[..first]).saturating_sub(overlay) as f64,
    );
    emit("connect", calls(&ev[..done]).saturating_sub(overlay) as f64);
    emit("overlay", overlay as f64);
    let connect: Vec<Ev> = ev[..ob].iter().chain(&ev[oe..done]).cloned().collect();
    note(&format!(
        "connect, to the first complete snapshot (overlay left out): {}",
        breakdown(&connect)
    ));
    let s: Vec<usize> = stats_calls(&ev[done..]).iter().map(|i| i + done).collect();
    if let Some(&tick) = s.first() {
        if calls(&ev[done..tick]) > 0 {
            note(&format!(
                "after the complete snapshot, before the first tick: {}",
                breakdown(&ev[done..tick])
            ));
        }
    }
    // Tick i runs from its stats call to the next one: the stats, what follows it (node
    // readings) and what the next tick does before its stats (the inventory's list calls).
    let mut plain = None;
    let mut inventory = None;
    let mut seq = Vec::new();
    for w in s.windows(2) {
        let tick = &ev[w[0]..w[1]];
        let n = calls(tick);
        let inv = tick
            .iter()
            .any(|e| matches!(e, Ev::Call(c) if c.starts_with("virConnectListAllDomains")));
        seq.push(format!("{n}{}", if inv { "*" } else { "" }));
        let slot = if inv { &mut inventory } else { &mut plain };
        *slot = Some((n, breakdown(tick)));
    }
    note(&format!(
        "calls per tick, in order (* = with the inventory re-read): {}",
        seq.join(" ")
    ));
    for (key, t) in [("tick", &plain), ("tick_inventory", &inventory)] {
        if let Some((n, b)) = t {
            emit(key, *n as f64);
            note(&format!("{key}: {b}"));
        }
    }
}
