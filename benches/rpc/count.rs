//! Child scenarios that count RPC calls in libvirt's client log (the parent sets
//! `LIBVIRT_LOG_FILTERS` / `LIBVIRT_LOG_OUTPUTS` before this process starts, since libvirt
//! reads them once, when it initialises).

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use virtdeck::demo::Overlay;
use virtdeck::host::{self, HostCommand, HostEvent, WorkerOptions};
use virtdeck::model::HostId;

use super::fleet::Expected;
use super::log::{breakdown, calls, find_mark, is_api_call, Ev, Marks, Tail};
use super::{emit, note, Res};

/// Ticks watched after the complete snapshot (the last one, maybe cut short, is not counted).
const TICKS: usize = 7;
const POLL: Duration = Duration::from_secs(1);
/// Every third tick or so re-reads the inventory (30 s in the app), so both kinds show.
const INVENTORY: Duration = Duration::from_millis(2500);
/// A tick's calls go out together (some side by side); ticks are `POLL` apart. So a pause this
/// long with no call waiting for its reply ends a tick.
const GAP_MS: u64 = 500;
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
            is_api_call(e, "virConnectGetAllDomainStats") || is_api_call(e, "virDomainListGetStats")
        })
        .map(|(i, _)| i)
        .collect()
}

/// The calls in bursts: a burst ends at a pause of `GAP_MS` with no call waiting for its reply.
fn bursts(ev: &[Ev]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    let mut waiting = 0usize;
    let mut last = 0u64;
    for (i, e) in ev.iter().enumerate() {
        match e {
            Ev::Call(_, at) => {
                match start {
                    Some(s) if waiting == 0 && at.saturating_sub(last) >= GAP_MS => {
                        out.push(s..i);
                        start = Some(i);
                    }
                    Some(_) => {}
                    None => start = Some(i),
                }
                waiting += 1;
                last = *at;
            }
            Ev::Reply(at) => {
                // A reply to a call sent before `ev` starts does not count.
                waiting = waiting.saturating_sub(1);
                last = *at;
            }
            Ev::Mark(_) => {}
        }
    }
    if let Some(s) = start {
        out.push(s..ev.len());
    }
    out
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
    // After the complete snapshot: bursts of calls, each normally one tick (one stats call).
    // The last may have been cut short by the stop, so it is not counted.
    let after = &ev[done..];
    let mut all = bursts(after);
    all.pop();
    let mut seq = Vec::new();
    let mut plain = None;
    let mut inventory = None;
    for (i, b) in all.iter().enumerate() {
        let burst = &after[b.clone()];
        let n = calls(burst);
        let ticks = stats_calls(burst).len();
        let inv = burst
            .iter()
            .any(|e| is_api_call(e, "virConnectListAllDomains"));
        let star = if inv { "*" } else { "" };
        match ticks {
            1 => {
                seq.push(format!("{n}{star}"));
                let slot = if inv { &mut inventory } else { &mut plain };
                *slot = Some((n, breakdown(burst)));
            }
            0 => seq.push(format!("[{n} between ticks]")),
            t => seq.push(format!("[{n}{star} in {t} ticks]")),
        }
        // The first burst carries what connecting left for later (node readings, and on
        // some drivers per-VM reads): worth seeing, as is anything that is not one tick.
        if i == 0 || ticks != 1 {
            note(&format!(
                "burst {} after the complete snapshot, {n} calls in {ticks} tick(s): {}",
                i + 1,
                breakdown(burst)
            ));
        }
    }
    note(&format!(
        "calls per tick after the complete snapshot, in order (* = with the inventory re-read, [..] = not one tick): {}",
        seq.join(" ")
    ));
    for (key, t) in [("tick", &plain), ("tick_inventory", &inventory)] {
        if let Some((n, b)) = t {
            emit(key, *n as f64);
            note(&format!("{key}: {b}"));
        }
    }
}
