//! Shared helpers for integration tests: a live App fed by real host workers.
#![allow(dead_code)]

pub mod dhcp_guest;
pub mod guest;
pub mod loopdev;
pub mod pool;
pub mod tmux;
pub mod worker;

use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};
use virtdeck::app::PaneId;

use virtdeck::app::{App, HostSpec, Msg, Settings, View};
use virtdeck::config::keymap::Keymap;
use virtdeck::config::theme::Theme;
use virtdeck::demo::DemoFleet;
use virtdeck::host::{HostEvent, WorkerOptions};
use virtdeck::runtime;

pub struct Live {
    pub app: App,
    pub rx: Receiver<Msg>,
    pub workers: runtime::Workers,
    _fleet: Option<DemoFleet>,
}

impl Live {
    /// Feeds worker messages into the app until `done` holds or `timeout` passes.
    pub fn pump_until(&mut self, timeout: Duration, mut done: impl FnMut(&App) -> bool) -> bool {
        let until = Instant::now() + timeout;
        while !done(&self.app) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            if let Ok(m) = self.rx.recv_timeout(left.min(Duration::from_millis(100))) {
                let fx = self.app.update(m);
                self.workers.apply(fx);
            }
        }
        true
    }

    /// One tick of the app's clock (the runtime sends these every second).
    pub fn tick(&mut self) {
        let fx = self.app.update(Msg::Tick(Instant::now()));
        self.workers.apply(fx);
    }

    pub fn press(&mut self, spec: &str) {
        let k = virtdeck::config::keymap::Key::parse(spec).unwrap();
        let fx = self
            .app
            .update(Msg::Key(crossterm::event::KeyEvent::new(k.code, k.mods)));
        self.workers.apply(fx);
    }

    pub fn type_text(&mut self, s: &str) {
        for c in s.chars() {
            let fx = self.app.update(Msg::Key(crossterm::event::KeyEvent::new(
                crossterm::event::KeyCode::Char(c),
                crossterm::event::KeyModifiers::NONE,
            )));
            self.workers.apply(fx);
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.workers.stop_all();
    }
}

pub fn theme() -> Theme {
    Theme::load("default", None).unwrap()
}

/// Starts workers for `specs`; the app shows `display_uris` (stable across runs) instead.
pub fn start(specs: Vec<(HostSpec, WorkerOptions)>, readonly: bool) -> Live {
    virtdeck::host::ensure_event_loop();
    let (tx, rx) = runtime::channel();
    let workers = runtime::Workers::start(&specs, &tx, None, WorkerOptions::default()).unwrap();
    let mut app = App::new(
        specs.into_iter().map(|(s, _)| s).collect(),
        Keymap::preset(),
        theme(),
        Settings {
            readonly,
            ..Settings::default()
        },
    );
    // Most tests drive the VM table; dashboard tests switch views themselves.
    app.view = View::Pane(PaneId::Vms);
    Live {
        app,
        rx,
        workers,
        _fleet: None,
    }
}

/// The embedded demo fleet, with every host's first snapshot applied.
pub fn demo() -> Live {
    let fleet = DemoFleet::create().unwrap();
    let specs = fleet
        .hosts()
        .into_iter()
        .map(|h| {
            let overlay = Arc::clone(&h.overlay);
            let opts = WorkerOptions {
                on_connect: Some(Arc::new(move |c| overlay.apply(c))),
                ..WorkerOptions::default()
            };
            (h.spec, opts)
        })
        .collect();
    let mut live = start(specs, false);
    // Show stable URIs: the real ones contain a random temp dir.
    for h in &mut live.app.hosts {
        h.uri = format!("test:///demo/{}.xml", h.name);
    }
    live._fleet = Some(fleet);
    let ok = live.pump_until(Duration::from_secs(20), |app| {
        app.hosts.iter().all(|h| h.read_in_full())
    });
    assert!(ok, "demo hosts did not report in time");
    live
}

pub fn is_snapshot(ev: &Msg) -> bool {
    matches!(ev, Msg::Host(_, HostEvent::Snapshot(_)))
}
