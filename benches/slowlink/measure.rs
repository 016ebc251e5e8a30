//! The measuring child: one worker on the slow host, the app and frames as `runtime::run`
//! drives them (batches of messages, then a frame), filter keystrokes arriving on the same
//! channel every ~20 ms as the input thread would send them, until the app's model holds
//! every VM with the state and autostart libvirt reports (the truth file).
//!
//! Prints `@@ key value` lines for the parent.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use virtdeck::app::{App, HostSpec, Msg, PaneId, Settings, View};
use virtdeck::config::keymap::Keymap;
use virtdeck::config::theme::Theme;
use virtdeck::host::WorkerOptions;
use virtdeck::model::VmState;
use virtdeck::{runtime, ui};

use super::fleet::{read_truth, Truth};
use super::{emit, ms, Res};

/// Messages handled per frame, as in `runtime::run`.
const BATCH: usize = 256;

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

/// `/`, then filter words typed and erased again, for ever.
fn keys() -> impl Iterator<Item = KeyEvent> {
    const WORDS: &[&str] = &["web", "state:run", "db-00", "host:slow", "k8s", "!paused"];
    let typed = WORDS.iter().cycle().flat_map(|w| {
        let chars: Vec<char> = w.chars().collect();
        let n = chars.len();
        chars
            .into_iter()
            .map(|c| key(KeyCode::Char(c)))
            .chain(std::iter::repeat_n(key(KeyCode::Backspace), n))
    });
    std::iter::once(key(KeyCode::Char('/'))).chain(typed)
}

/// How far the app's model is: VMs listed, and VMs whose state and autostart match libvirt.
fn progress(app: &App, truth: &HashMap<&str, &Truth>) -> (usize, usize) {
    let Some(h) = app.hosts.first() else {
        return (0, 0);
    };
    let right = h
        .vms
        .iter()
        .filter(|vm| {
            truth.get(vm.name.as_str()).is_some_and(|t| {
                vm.state == VmState::from_raw(i64::from(t.state)) && vm.autostart == t.autostart
            })
        })
        .count();
    (h.vms.len(), right)
}

pub fn run(uri: &str, truth_file: &Path, every: Duration, timeout: Duration) -> Res<()> {
    let truth = read_truth(truth_file)?;
    let by_name: HashMap<&str, &Truth> = truth.iter().map(|t| (t.name.as_str(), t)).collect();
    let want = truth.len();
    virt::error::clear_error_callback();
    virtdeck::host::ensure_event_loop();
    let spec = HostSpec {
        name: "slow-01".into(),
        uri: uri.to_string(),
    };
    let specs = vec![(spec.clone(), WorkerOptions::default())];

    let t0 = Instant::now();
    let (tx, rx) = runtime::channel();
    let mut workers = runtime::Workers::start(&specs, &tx, None, WorkerOptions::default())?;
    let mut app = App::new(
        vec![spec],
        Keymap::preset(),
        Theme::load("default", None)?,
        Settings::default(),
    );
    app.view = View::Pane(PaneId::Vms);
    let mut term = Terminal::new(TestBackend::new(200, 50))?;
    term.draw(|f| ui::render(&app, f))?;
    emit("first_frame_ms", ms(t0.elapsed()));

    // The input thread's stand-in: when each key was sent, in order.
    let sent: Arc<Mutex<VecDeque<Instant>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let typist = {
        let (sent, done, tx) = (Arc::clone(&sent), Arc::clone(&done), tx.clone());
        std::thread::spawn(move || {
            let mut next = Instant::now();
            for k in keys() {
                next += every;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
                if done.load(Ordering::Relaxed) {
                    break;
                }
                sent.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push_back(Instant::now());
                if tx.send(Msg::Key(k)).is_err() {
                    break;
                }
            }
        })
    };

    let mut latencies = Vec::new();
    let (mut rows_at, mut all_rows_at, mut complete_at) = (None, None, None);
    let (mut frames, mut most_rows, mut most_right) = (1usize, 0usize, 0usize);
    while complete_at.is_none() && t0.elapsed() < timeout {
        let Ok(first) = rx.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        batch.push(Msg::Tick(Instant::now()));
        let mut keyed = Vec::new();
        for m in batch {
            if matches!(m, Msg::Key(_)) {
                let at = sent
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .pop_front();
                keyed.extend(at);
            }
            workers.apply(app.update(m));
        }
        term.draw(|f| ui::render(&app, f))?;
        let drawn = Instant::now();
        frames += 1;
        latencies.extend(keyed.iter().map(|k| ms(drawn - *k)));
        let (rows, right) = progress(&app, &by_name);
        (most_rows, most_right) = (most_rows.max(rows), most_right.max(right));
        if rows > 0 && rows_at.is_none() {
            rows_at = Some(drawn - t0);
        }
        if rows == want && all_rows_at.is_none() {
            all_rows_at = Some(drawn - t0);
        }
        if rows == want && right == want {
            complete_at = Some(drawn - t0);
        }
    }
    done.store(true, Ordering::Relaxed);
    let _ = typist.join();
    workers.stop_all();

    emit("vms", want as f64);
    for (k, v) in [
        ("rows_ms", rows_at),
        ("all_rows_ms", all_rows_at),
        ("complete_ms", complete_at),
    ] {
        if let Some(v) = v {
            emit(k, ms(v));
        }
    }
    emit("timeout_s", timeout.as_secs_f64());
    emit("best_rows", most_rows as f64);
    emit("best_right", most_right as f64);
    emit("frames", frames as f64);
    let mut lat = latencies;
    lat.sort_by(f64::total_cmp);
    emit("keys_n", lat.len() as f64);
    for (k, p) in [("keys_p50", 50.0), ("keys_p99", 99.0), ("keys_max", 100.0)] {
        if !lat.is_empty() {
            emit(k, super::pct(&lat, p));
        }
    }
    Ok(())
}
