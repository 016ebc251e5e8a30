//! The terminal loop: one channel carries keys and host events to `App::update`; effects go to
//! host workers; the screen is redrawn after each batch. Nothing here waits on libvirt.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{self, Event};
use ratatui::DefaultTerminal;

use crate::app::{App, Effect, HostSpec, Msg};
use crate::host::{self, HostCommand, HostHandle, WorkerOptions};
use crate::model::HostId;

/// Starts one worker per host; their events arrive on `tx` as `Msg::Host`.
pub fn spawn_workers(
    specs: &[(HostSpec, WorkerOptions)],
    tx: &Sender<Msg>,
) -> anyhow::Result<Vec<HostHandle>> {
    specs
        .iter()
        .enumerate()
        .map(|(i, (spec, opts))| {
            let tx = tx.clone();
            let id = HostId(i);
            host::spawn(id, spec.uri.clone(), opts.clone(), move |ev| {
                let _ = tx.send(Msg::Host(id, ev));
            })
            .with_context(|| format!("starting the worker for {}", spec.uri))
        })
        .collect()
}

/// Reads terminal events on a thread of its own.
pub fn spawn_input(tx: Sender<Msg>) {
    std::thread::Builder::new()
        .name("input".into())
        .spawn(move || loop {
            let msg = match event::read() {
                Ok(Event::Key(k)) => Msg::Key(k),
                Ok(Event::Resize(..)) => Msg::Tick(Instant::now()),
                Ok(_) => continue,
                Err(_) => return,
            };
            if tx.send(msg).is_err() {
                return;
            }
        })
        .ok();
}

/// Turns termination signals into `Msg::Terminate`, so the loop exits through the normal path
/// and restores the terminal.
pub fn spawn_signals(tx: Sender<Msg>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut pending = signals.forever();
            if pending.next().is_some() {
                let _ = tx.send(Msg::Terminate);
            }
            // A second signal means "now": restore the terminal and go.
            if pending.next().is_some() {
                ratatui::restore();
                std::process::exit(130);
            }
        })?;
    Ok(())
}

/// Applies effects; returns false when the app asked to quit.
pub fn apply_effects(effects: Vec<Effect>, handles: &[HostHandle]) -> bool {
    let mut go_on = true;
    for e in effects {
        match e {
            Effect::Host(id, cmd) => {
                if let Some(h) = handles.get(id.0) {
                    h.send(cmd);
                }
            }
            Effect::Quit => go_on = false,
        }
    }
    go_on
}

/// Runs until the user quits.
pub fn run(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    rx: &Receiver<Msg>,
    handles: &[HostHandle],
) -> anyhow::Result<()> {
    const TICK: Duration = Duration::from_secs(1);
    // Bounds the work per frame when a flood of events arrives.
    const BATCH: usize = 256;
    terminal.draw(|f| crate::ui::render(app, f))?;
    'outer: loop {
        let first = match rx.recv_timeout(TICK) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => Msg::Tick(Instant::now()),
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        batch.push(Msg::Tick(Instant::now()));
        for msg in batch {
            if !apply_effects(app.update(msg), handles) {
                break 'outer;
            }
        }
        terminal.draw(|f| crate::ui::render(app, f))?;
    }
    for h in handles {
        h.send(HostCommand::Stop);
    }
    Ok(())
}

/// A channel for the loop.
pub fn channel() -> (Sender<Msg>, Receiver<Msg>) {
    mpsc::channel()
}
