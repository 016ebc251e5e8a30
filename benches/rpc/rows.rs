//! Item 5 of issue 20: one big host through libvirtd, the real app and its workers, frames on
//! a TestBackend as `runtime::run` draws them (a batch of messages, a tick, a frame).

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use virtdeck::app::{App, Effect, HostSpec, Msg, PaneId, View};
use virtdeck::config::keymap::Keymap;
use virtdeck::config::theme::Theme;
use virtdeck::host::{HostCommand, WorkerOptions};
use virtdeck::runtime::{self, Workers};
use virtdeck::ui;

use super::fleet::Expected;
use super::{emit, note, wall_ns, Res, SPAWNED_AT};
use crate::keys::{keystrokes, time_keys};
use crate::report::ms;

const WAIT: Duration = Duration::from_secs(120);

/// Effects the bench carries out. Network commands are left out: the VM table asks for
/// guest addresses every few seconds, and libvirt 9.0's test driver dereferences NULL for a
/// VM on a network without a DHCP range (gen_fleet's), which takes the shared libvirtd down
/// (fixed in virtdeck by fe0a901; this bench must not depend on that).
fn apply(workers: &mut Workers, fx: Vec<Effect>) {
    workers.apply(
        fx.into_iter()
            .filter(|e| !matches!(e, Effect::Host(_, HostCommand::Network(_))))
            .collect(),
    );
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// True once the frame lists VMs of the host: a row with one of its VM names, and the app
/// holding all of them.
fn rows_shown(app: &App, screen: &str, names: &HashSet<String>) -> bool {
    app.total_vms() == names.len()
        && screen
            .split(|c: char| c.is_whitespace() || c == '│')
            .any(|w| names.contains(w))
}

pub fn first_rows(uri: &str, xml: &Path, n_keys: usize) -> Res<()> {
    let names: HashSet<String> = Expected::read(&std::fs::read_to_string(xml)?)
        .states
        .into_keys()
        .collect();
    let spec = HostSpec {
        name: "kvm-big-01".into(),
        uri: uri.to_string(),
    };
    let opts = WorkerOptions::default().for_uri(uri);
    // From here on as `main.rs`: libvirt's event loop, the workers, the app, a first frame.
    let t0 = Instant::now();
    virtdeck::host::ensure_event_loop();
    let (tx, rx) = runtime::channel();
    let mut workers = Workers::start(&[(spec.clone(), opts.clone())], &tx, None, opts)?;
    let mut app = App::new(
        vec![spec],
        Keymap::preset(),
        Theme::load("default", None)?,
        virtdeck::app::Settings::default(),
    );
    app.view = View::Pane(PaneId::Vms);
    let mut term = Terminal::new(TestBackend::new(200, 50))?;
    term.draw(|f| ui::render(&app, f))?;
    let mut frames = 1;
    loop {
        let first = rx.recv_timeout(WAIT.saturating_sub(t0.elapsed()))?;
        let mut batch = vec![first];
        while batch.len() < 256 {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        batch.push(Msg::Tick(Instant::now()));
        for m in batch {
            let fx = app.update(m);
            apply(&mut workers, fx);
        }
        term.draw(|f| ui::render(&app, f))?;
        frames += 1;
        if rows_shown(&app, &term.backend().to_string(), &names) {
            break;
        }
    }
    emit("rows_ms", ms(t0.elapsed()));
    if let Some(spawned) = std::env::var(SPAWNED_AT)
        .ok()
        .and_then(|s| s.parse::<u128>().ok())
    {
        emit(
            "spawn_to_rows_ms",
            wall_ns().saturating_sub(spawned) as f64 / 1e6,
        );
    }
    emit("frames", frames as f64);
    emit("rss_mib", rss_kib() as f64 / 1024.0);
    // Keys with nothing else going on in this process (as the speed bench times them): the
    // workers stop (a worker still reading the host would share the CPU), the app keeps its
    // rows. The channel closes once every worker thread has ended.
    workers.stop_all();
    drop(workers);
    drop(tx);
    let quiet = Instant::now();
    loop {
        match rx.recv_timeout(Duration::from_secs(15).saturating_sub(quiet.elapsed())) {
            Ok(_) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                note("the worker had not stopped 15 s after it was told to; keys timed anyway");
                break;
            }
        }
    }
    emit("stop_ms", ms(quiet.elapsed()));
    let keys = keystrokes(n_keys);
    // Filter keys ask nothing of the hosts; there is no worker left to ask anyway.
    let t = time_keys(&mut app, &mut |_| {}, 200, 50, &keys)?;
    for v in &t.total {
        emit("key_ms", *v);
    }
    for (ms, text, rows) in &t.worst {
        note(&format!(
            "slow key: {ms:.2} ms, filter {text:?} -> {rows} rows"
        ));
    }
    Ok(())
}
