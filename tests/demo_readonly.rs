//! `--demo --readonly`: the demo fleet loads (its overlay needs a read-write connection at the
//! libvirt level), while the app still refuses every change, config.toml included.

mod common;

use std::path::Path;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};
use virtdeck::app::PaneId;

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use virtdeck::app::{App, ConfirmAction, Effect, Mode, Msg, Settings, View};
use virtdeck::config::keymap::{Key, Keymap, Section};
use virtdeck::demo::DemoFleet;
use virtdeck::host::migrate::MigrateCmd;
use virtdeck::host::vm::VmCmd;
use virtdeck::host::{HostCommand, NetCmd, StorageCmd, WorkerOptions};
use virtdeck::runtime;

struct Demo {
    app: App,
    rx: Receiver<Msg>,
    workers: runtime::Workers,
    _fleet: DemoFleet,
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.workers.stop_all();
    }
}

/// Commands that only read. Everything else a worker can be told changes something.
fn reads_only(cmd: &HostCommand) -> bool {
    matches!(
        cmd,
        HostCommand::Refresh
            | HostCommand::Display { .. }
            | HostCommand::Preview { .. }
            | HostCommand::Stop
            | HostCommand::Storage(
                StorageCmd::Refresh
                    | StorageCmd::Rescan
                    | StorageCmd::FindSources { .. }
                    | StorageCmd::Download { .. }
            )
            | HostCommand::Network(NetCmd::Refresh | NetCmd::Leases { .. } | NetCmd::Addresses)
            | HostCommand::Migrate(MigrateCmd::Preflight { .. })
            | HostCommand::Vm(VmCmd::Details { .. })
    )
}

/// Starts the demo fleet the way `virtdeck --demo --readonly` does, with `config_dir`.
fn start(config_dir: Option<&Path>) -> Demo {
    virtdeck::host::ensure_event_loop();
    let fleet = DemoFleet::create().unwrap();
    let base = WorkerOptions {
        readonly: true,
        ..WorkerOptions::default()
    };
    let specs: Vec<_> = fleet
        .hosts()
        .into_iter()
        .map(|h| {
            let opts = h.options(&base);
            (h.spec, opts)
        })
        .collect();
    let (tx, rx) = runtime::channel();
    let workers =
        runtime::Workers::start(&specs, &tx, config_dir.map(Path::to_path_buf), base).unwrap();
    let app = App::new(
        specs.into_iter().map(|(s, _)| s).collect(),
        Keymap::preset(),
        common::theme(),
        Settings {
            readonly: true,
            ..Settings::default()
        },
    );
    let mut d = Demo {
        app,
        rx,
        workers,
        _fleet: fleet,
    };
    let ok = d.pump_until(Duration::from_secs(20), |a| {
        a.hosts.iter().all(|h| !h.vms.is_empty())
    });
    let status: Vec<_> = d.app.hosts.iter().map(|h| h.status.clone()).collect();
    assert!(
        ok,
        "demo hosts did not list their VMs read-only: {status:?}"
    );
    d
}

impl Demo {
    /// Passes worker messages to the app; only commands that read go back to the workers.
    fn pump_until(&mut self, timeout: Duration, mut done: impl FnMut(&App) -> bool) -> bool {
        let until = Instant::now() + timeout;
        while !done(&self.app) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            if let Ok(m) = self.rx.recv_timeout(left.min(Duration::from_millis(50))) {
                let fx = self.app.update(m);
                self.forward(fx);
            }
        }
        true
    }

    /// Opens the pools and networks panes until every host has answered, so their actions
    /// have something to act on.
    fn load_storage_and_networks(&mut self) {
        self.press("3");
        assert!(self.pump_until(Duration::from_secs(10), |a| a
            .hosts
            .iter()
            .all(|h| h.storage.is_some())));
        self.press("4");
        assert!(self.pump_until(Duration::from_secs(10), |a| a
            .hosts
            .iter()
            .all(|h| h.networks.is_some())));
    }

    fn drain(&mut self) {
        while let Ok(m) = self.rx.try_recv() {
            let fx = self.app.update(m);
            self.forward(fx);
        }
    }

    /// Fails on any effect that would change a host or config.toml.
    fn forward(&mut self, fx: Vec<Effect>) {
        for e in fx {
            match e {
                Effect::Host(id, cmd) => {
                    assert!(reads_only(&cmd), "read-only mode sent {cmd:?}");
                    self.workers.apply(vec![Effect::Host(id, cmd)]);
                }
                Effect::AddHost { persist: true, .. }
                | Effect::RemoveHost { persist: true, .. } => {
                    panic!("read-only mode would write config.toml: {e:?}")
                }
                Effect::EditExternal { .. } => panic!("read-only mode opened an editor: {e:?}"),
                // Clipboard, viewers, quitting, tests of a typed URI: nothing to change.
                _ => {}
            }
        }
    }

    fn press(&mut self, spec: &str) {
        let k = Key::parse(spec).unwrap();
        let fx = self
            .app
            .update(Msg::Key(crossterm::event::KeyEvent::new(k.code, k.mods)));
        self.forward(fx);
    }
}

#[test]
fn demo_readonly_hosts_connect_and_list_their_vms() {
    let d = start(None);
    for h in &d.app.hosts {
        assert!(h.status.is_connected(), "{}: {:?}", h.name, h.status);
    }
    // The overlay ran: the demo's autostart flags are there.
    assert!(
        d.app
            .hosts
            .iter()
            .any(|h| h.vms.iter().any(|v| v.autostart)),
        "no VM autostarts: the overlay did not apply"
    );
}

#[test]
fn demo_readonly_refuses_every_change_on_every_key() {
    let mut d = start(None);
    let keymap = Keymap::preset();
    let mut keys: Vec<String> = Vec::new();
    for (_, section) in Section::ALL {
        for b in keymap.bindings(section) {
            if !keys.contains(&b.on) {
                keys.push(b.on.clone());
            }
        }
    }
    // Load what the panes show, so their actions have something to act on.
    d.load_storage_and_networks();
    let entries: &[&[&str]] = &[
        &["1"],
        &["2"],
        &["2", "<Enter>"],
        &["3"],
        &["3", "<Enter>"],
        &["3", "K"],
        &["4"],
        &["5"],
    ];
    let mut presses = 0;
    for entry in entries {
        for key in &keys {
            d.app.mode = Mode::Normal;
            d.app.under.clear();
            d.app.view = View::Pane(PaneId::Vms);
            for k in *entry {
                d.press(k);
            }
            d.drain();
            d.press(key);
            // Answer whatever the key opened: confirm it, or submit the form or wizard.
            for _ in 0..3 {
                match &d.app.mode {
                    // Keep every host for the keys still to come (removal has its own test).
                    Mode::Confirm(c) if matches!(c.action, ConfirmAction::RemoveHost(_)) => {
                        d.press("n")
                    }
                    Mode::Confirm(_) => d.press("y"),
                    Mode::AddHost(_) | Mode::Wizard(_) => d.press("<Enter>"),
                    _ => break,
                }
            }
            d.drain();
            presses += 1;
        }
    }
    assert!(presses > 500, "{presses} keys pressed");
    assert_eq!(d.app.hosts.len(), 3);
    let refused = d
        .app
        .messages
        .log
        .iter()
        .filter(|e| e.text.contains("read-only"))
        .count();
    assert!(refused > 0, "nothing was refused with a reason");
}

/// What a host's state looks like from the app: every VM's state and autostart flag, every
/// pool's and network's state. Read-only keys must leave it as it was.
fn fingerprint(app: &App) -> Vec<String> {
    let mut out = Vec::new();
    for h in &app.hosts {
        for v in &h.vms {
            out.push(format!(
                "{} {} {:?} {}",
                h.name, v.name, v.state, v.autostart
            ));
        }
        for p in h.storage.iter().flat_map(|s| &s.pools) {
            out.push(format!(
                "{} pool {} {:?} {} {}",
                h.name,
                p.name,
                p.state,
                p.autostart,
                p.volumes.len()
            ));
        }
        for n in h.networks.iter().flat_map(|n| &n.networks) {
            out.push(format!(
                "{} net {} {} {}",
                h.name, n.name, n.active, n.autostart
            ));
        }
    }
    out.sort();
    out
}

/// The table of changing actions (`actions::CHANGES`), walked: on every pane, every action it
/// lists is refused with its reason, opens nothing, sends nothing but reads, and the fleet
/// is the same afterwards.
#[test]
fn every_changing_action_of_every_pane_is_refused_in_one_place() {
    use virtdeck::app::actions::CHANGES;
    let mut d = start(None);
    d.load_storage_and_networks();
    let before = fingerprint(&d.app);
    let keymap = Keymap::preset();
    let mut walked = 0;
    for (section, actions, what) in CHANGES {
        let entry: &[&str] = match section {
            Section::Normal => &["2"],
            Section::Dashboard => &["1"],
            Section::Detail => &["2", "<Enter>"],
            Section::Pools => &["3"],
            Section::Volumes => &["3", "<Enter>"],
            Section::Secrets => &["3", "K"],
            Section::Networks => &["4"],
            Section::Migrations => &["5"],
            Section::Jobs => &["6"],
            // The editor opens with `e` on the detail screen, which is refused (below).
            Section::XmlEdit => continue,
            s => panic!("no way to reach {s:?}: add it here"),
        };
        for action in *actions {
            d.app.mode = Mode::Normal;
            d.app.under.clear();
            d.app.view = View::Pane(PaneId::Vms);
            for k in entry {
                d.press(k);
            }
            d.drain();
            let key = keymap
                .key_for(*section, *action)
                .unwrap_or_else(|| panic!("{action:?} unbound on {section:?}"))
                .to_string();
            let logged = d.app.messages.log.len();
            d.press(&key);
            let said: Vec<_> = d
                .app
                .messages
                .log
                .iter()
                .skip(logged)
                .map(|e| e.text.clone())
                .collect();
            assert_eq!(
                said,
                [format!("read-only mode (--readonly): {what} are disabled")],
                "{section:?} {action:?} ({key})"
            );
            assert_eq!(
                d.app.mode,
                Mode::Normal,
                "{section:?} {action:?} opened {:?}",
                d.app.mode
            );
            assert!(d.app.detail.editor.is_none());
            walked += 1;
        }
    }
    assert!(walked >= 50, "{walked} actions walked");
    // Whatever was sent (reads only, checked by `forward`) has been answered.
    d.press("3");
    d.pump_until(Duration::from_secs(3), |_| false);
    assert_eq!(
        fingerprint(&d.app),
        before,
        "a read-only key changed the fleet"
    );
}

fn screen(app: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(100, 24)).unwrap();
    t.draw(|f| virtdeck::ui::render(app, f)).unwrap();
    t.backend().to_string()
}

#[test]
fn readonly_add_and_remove_host_leave_config_toml_alone() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let mut d = start(Some(dir.path()));
    // The demo hosts as config.toml would list them, so removing one would drop its entry.
    let mut original = String::from("# mine\n");
    for h in &d.app.hosts {
        original += &format!("\n[[hosts]]\nname = \"{}\"\nuri = \"{}\"\n", h.name, h.uri);
    }
    std::fs::write(&config, &original).unwrap();
    d.app.view = View::Pane(PaneId::Dashboard);

    d.press("n");
    for c in "qemu+ssh://root@kvm9/system?command=/tmp/evil".chars() {
        let fx = d.app.update(Msg::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char(c),
            crossterm::event::KeyModifiers::NONE,
        )));
        d.forward(fx);
    }
    let s = screen(&d.app);
    assert!(
        s.contains("⚠ runs the program \"/tmp/evil\" on this machine"),
        "{s}"
    );
    assert!(
        s.contains("<Enter> add (session only)  <Esc> cancel"),
        "{s}"
    );
    let fx = d.app.update(Msg::Key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Enter,
        crossterm::event::KeyModifiers::NONE,
    )));
    assert!(
        matches!(fx.as_slice(), [Effect::AddHost { persist: false, .. }]),
        "{fx:?}"
    );
    // Not started: its worker would try to run /tmp/evil.
    assert_eq!(d.app.hosts.len(), 4);

    d.press("D");
    let Mode::Confirm(c) = &d.app.mode else {
        panic!("remove asks first")
    };
    assert!(
        c.body
            .iter()
            .any(|l| l.contains("config.toml is not changed")),
        "{:?}",
        c.body
    );
    let fx = d.app.update(Msg::Key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('y'),
        crossterm::event::KeyModifiers::NONE,
    )));
    assert!(
        matches!(fx.as_slice(), [Effect::RemoveHost { persist: false, .. }]),
        "{fx:?}"
    );
    // Through the runtime, which writes config.toml when told to persist.
    d.workers.apply(fx);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), original);
    assert_eq!(d.app.hosts.len(), 3);
    let log: Vec<_> = d.app.messages.log.iter().map(|e| e.text.clone()).collect();
    assert!(
        log.iter()
            .filter(|t| t.contains("for this session (read-only: config.toml is not changed)"))
            .count()
            == 2,
        "{log:?}"
    );
}
