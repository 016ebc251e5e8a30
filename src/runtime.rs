//! The terminal loop: one channel carries keys and host events to `App::update`; effects go to
//! host workers or threads of their own (file probes, the OS database, connection tests); the
//! screen is redrawn after each batch. Nothing here waits on libvirt or the file system.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{self, Event};
use ratatui::backend::Backend;
use ratatui::Terminal;

use crate::app::{App, Effect, HostSpec, Msg};
use crate::host::{self, HostCommand, HostHandle, WorkerOptions};
use crate::model::HostId;
use crate::probe::Probe;

/// The running host workers and what is needed to start more from the app.
pub struct Workers {
    /// The demo fleet once `:demo` wrote it out (its files live as long as this).
    demo: Option<crate::demo::DemoFleet>,
    handles: Vec<HostHandle>,
    tx: Sender<Msg>,
    config_dir: Option<PathBuf>,
    base: WorkerOptions,
    probes: Probes,
}

/// What answers `Effect::Probe`: `probe::run` unless a test puts in its own.
pub type Prober = Arc<dyn Fn(&Probe) -> crate::probe::Found + Send + Sync>;

/// Runs file-system probes, each on a thread of its own: one that never returns (a hung NFS
/// mount) holds its thread only, never the loop or a later probe. The app times out the
/// answer; here the number of probes stuck for more than [`STUCK`] is capped, so a mount
/// that hangs every call cannot pile up threads without end (a burst of quick ones is fine).
struct Probes {
    run: Prober,
    /// Probes running now, by id, with when they started.
    running: Arc<Mutex<HashMap<u64, Instant>>>,
}

/// A probe running longer than this counts as stuck.
const STUCK: Duration = Duration::from_secs(1);
/// Stuck probes allowed; beyond this a new probe is answered with an error at once.
const STUCK_MAX: usize = 32;

impl Probes {
    fn new(run: Prober) -> Probes {
        Probes {
            run,
            running: Arc::default(),
        }
    }

    fn spawn(&self, id: u64, probe: Probe, tx: Sender<Msg>) {
        let answer = move |answer| Msg::Probed { id, answer };
        {
            let mut map = self.running.lock().unwrap_or_else(PoisonError::into_inner);
            let stuck = map.values().filter(|t| t.elapsed() > STUCK).count();
            if stuck >= STUCK_MAX {
                let _ = tx.send(answer(Err(format!(
                    "{stuck} file checks are still waiting for the file system (a hung mount?)"
                ))));
                return;
            }
            map.insert(id, Instant::now());
        }
        let (run, map, t) = (Arc::clone(&self.run), Arc::clone(&self.running), tx.clone());
        let spawned = std::thread::Builder::new()
            .name("probe".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                let found = run(&probe);
                map.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&id);
                let _ = t.send(answer(Ok(found)));
            });
        if spawned.is_err() {
            self.running
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id);
            let _ = tx.send(answer(Err("could not start a thread for the check".into())));
        }
    }
}

impl Workers {
    /// Starts one worker per host; their events arrive on `tx` as `Msg::Host`. `base` is used
    /// for hosts added later from the app.
    pub fn start(
        specs: &[(HostSpec, WorkerOptions)],
        tx: &Sender<Msg>,
        config_dir: Option<PathBuf>,
        base: WorkerOptions,
    ) -> anyhow::Result<Workers> {
        Self::start_inner(specs, tx, config_dir, base)
    }

    /// Keeps the demo fleet `--demo` opened, so `:demo` finds it instead of writing another.
    pub fn adopt_demo(&mut self, fleet: crate::demo::DemoFleet) {
        self.demo = Some(fleet);
    }

    fn start_inner(
        specs: &[(HostSpec, WorkerOptions)],
        tx: &Sender<Msg>,
        config_dir: Option<PathBuf>,
        base: WorkerOptions,
    ) -> anyhow::Result<Workers> {
        let mut w = Workers {
            demo: None,
            handles: Vec::new(),
            tx: tx.clone(),
            config_dir,
            base,
            probes: Probes::new(Arc::new(crate::probe::run)),
        };
        for (i, (spec, opts)) in specs.iter().enumerate() {
            w.spawn(HostId(i), &spec.uri, opts.clone())?;
        }
        Ok(w)
    }

    fn spawn(&mut self, id: HostId, uri: &str, opts: WorkerOptions) -> anyhow::Result<()> {
        let tx = self.tx.clone();
        let h = host::spawn(id, uri.to_string(), opts, move |ev| {
            let _ = tx.send(Msg::Host(id, ev));
        })
        .with_context(|| format!("starting the worker for {uri}"))?;
        self.handles.push(h);
        Ok(())
    }

    /// Answers `Effect::Probe` with `run` from now on (tests: a probe that never returns).
    pub fn set_prober(&mut self, run: Prober) {
        self.probes.run = run;
    }

    pub fn send(&self, id: HostId, cmd: HostCommand) {
        if let Some(h) = self.handles.iter().find(|h| h.id == id) {
            h.send(cmd);
        }
    }

    fn report(&self, e: impl std::fmt::Display) {
        let _ = self.tx.send(Msg::ConfigError(e.to_string()));
    }

    /// Applies effects; returns false when the app asked to quit.
    pub fn apply(&mut self, effects: Vec<Effect>) -> bool {
        let mut go_on = true;
        for e in effects {
            match e {
                Effect::Host(id, cmd) => {
                    let tx = self.tx.clone();
                    let wake = std::sync::Arc::new(move || {
                        let _ = tx.send(Msg::Wake);
                    });
                    match &cmd {
                        HostCommand::Console { link, .. } => link.set_wake(wake),
                        HostCommand::Vm(
                            crate::host::vm::VmCmd::Clone { job, .. }
                            | crate::host::vm::VmCmd::Backup { job, .. }
                            | crate::host::vm::VmCmd::MoveDisk { job, .. }
                            | crate::host::vm::VmCmd::Restore { job, .. },
                        ) => job.set_wake(wake),
                        HostCommand::Vm(crate::host::vm::VmCmd::GuestInfo { slot, .. }) => {
                            slot.set_wake(wake)
                        }
                        HostCommand::CreateVm(c) => c.job.set_wake(wake),
                        HostCommand::Preview { target, .. } => {
                            let _ = target.wake.set(wake);
                        }
                        _ => {}
                    }
                    self.send(id, cmd)
                }
                Effect::Copy(text) => {
                    use std::io::Write;
                    let mut out = std::io::stdout();
                    let _ = out.write_all(crate::display::launch::osc52(&text).as_bytes());
                    let _ = out.flush();
                }
                Effect::LaunchViewer {
                    graphics,
                    access,
                    uri,
                    uuid,
                } => launch_viewer(&graphics, &access, &uri, &uuid, self.tx.clone()),
                Effect::LoadOsDb => {
                    let tx = self.tx.clone();
                    std::thread::spawn(move || {
                        let t = Instant::now();
                        let result = crate::osinfo::OsDb::shared().map_err(|e| e.to_string());
                        let _ = tx.send(Msg::OsDb(result, t.elapsed()));
                    });
                }
                Effect::Probe { id, probe } => self.probes.spawn(id, probe, self.tx.clone()),
                Effect::TestConnection { uri } => {
                    test_connection(uri, self.base.readonly, self.tx.clone())
                }
                Effect::StartDemo => {
                    if self.demo.is_none() {
                        match crate::demo::DemoFleet::create() {
                            Ok(f) => self.demo = Some(f),
                            Err(e) => self.report(format!("the demo fleet: {e}")),
                        }
                    }
                    if let Some(f) = &self.demo {
                        let specs = f.hosts().into_iter().map(|h| h.spec).collect();
                        let _ = self.tx.send(Msg::DemoHosts(specs));
                    }
                }
                Effect::AddHost { id, spec, persist } => {
                    // A demo host gets its overlay and made-up metrics.
                    let demo = self
                        .demo
                        .as_ref()
                        .and_then(|f| f.hosts().into_iter().find(|h| h.spec.uri == spec.uri));
                    let opts = match demo {
                        Some(h) => h.options(&self.base),
                        None => self.base.for_uri(&spec.uri),
                    };
                    if let Err(e) = self.spawn(id, &spec.uri, opts) {
                        self.report(format!("{e:#}"));
                    }
                    if let (true, Some(dir)) = (persist, &self.config_dir) {
                        if let Err(e) = crate::config::persist::add_host(dir, &spec.name, &spec.uri)
                        {
                            self.report(format!(
                                "{} was added for this session only: {e}",
                                spec.name
                            ));
                        }
                    }
                }
                Effect::RemoveHost { id, uri, persist } => {
                    if let Some(i) = self.handles.iter().position(|h| h.id == id) {
                        self.handles.remove(i).send(HostCommand::Stop);
                    }
                    if let (true, Some(dir)) = (persist, &self.config_dir) {
                        if let Err(e) = crate::config::persist::remove_host(dir, &uri) {
                            self.report(format!("could not remove {uri} from the config: {e}"));
                        }
                    }
                }
                // `run` takes these (it owns the terminal); without one there is no editor.
                Effect::EditExternal { host, uuid, .. } => {
                    let _ = self.tx.send(Msg::Edited {
                        host,
                        uuid,
                        result: Err("no terminal to run an editor in".into()),
                    });
                }
                Effect::SaveEvents(records) => {
                    if let Some(dir) = crate::config::history::state_dir() {
                        let tx = self.tx.clone();
                        crate::eventlog::write_later(dir, records, move |e| {
                            let _ = tx.send(Msg::ConfigError(e));
                        });
                    }
                }
                Effect::RunPlugin(run) => {
                    let tx = self.tx.clone();
                    if run.background {
                        std::thread::spawn(move || {
                            let outcome = crate::plugin::run::run(&run.argv);
                            let _ = tx.send(Msg::PluginDone(run, outcome));
                        });
                    } else {
                        // Only the UI loop holds the terminal (it takes these out first).
                        let outcome = crate::plugin::run::Outcome {
                            status: Err("no terminal to run it in".into()),
                            output: String::new(),
                        };
                        let _ = tx.send(Msg::PluginDone(run, outcome));
                    }
                }
                Effect::AlertExec { argv, env } => {
                    let tx = self.tx.clone();
                    crate::alert::exec::spawn(&argv, &env, move |e| {
                        let _ = tx.send(Msg::ConfigError(e));
                    });
                }
                Effect::SaveHistory(lines) => {
                    if let Some(dir) = crate::config::history::state_dir() {
                        let tx = self.tx.clone();
                        // Off the UI thread: the state dir may sit on a slow home directory.
                        std::thread::spawn(move || {
                            if let Err(e) = crate::config::history::save(&dir, &lines) {
                                let _ = tx.send(Msg::ConfigError(format!(
                                    "palette history not saved in {}: {e}",
                                    dir.display()
                                )));
                            }
                        });
                    }
                }
                Effect::Quit => go_on = false,
            }
        }
        go_on
    }

    pub fn stop_all(&self) {
        for h in &self.handles {
            h.send(HostCommand::Stop);
        }
    }
}

/// Picks a viewer on PATH and starts it; the outcome comes back as `Msg::Viewer`.
fn launch_viewer(
    graphics: &crate::display::Graphics,
    access: &crate::display::Access,
    uri: &str,
    uuid: &str,
    tx: Sender<Msg>,
) {
    use crate::display::launch;
    let path = std::env::var("PATH").unwrap_or_default();
    let here = launch::has_display(|k| std::env::var(k).ok());
    let chosen = launch::choose(
        |n| launch::find_in(&path, n),
        here,
        graphics,
        access,
        uri,
        uuid,
    );
    let result = chosen.and_then(|cmd| {
        let t = tx.clone();
        launch::spawn(&cmd, move |r| {
            if let Err(e) = r {
                let _ = t.send(Msg::Viewer(Err(e)));
            }
        })
        .map(|_| format!("{} {}", cmd.name(), cmd.args.join(" ")))
    });
    let _ = tx.send(Msg::Viewer(result));
}

/// How long the add-host form waits for a connection test.
const TEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Opens `uri` on a thread of its own and reports hostname and versions, or the error with a
/// hint for well-known setup problems. A test that hangs is answered by a timer.
fn test_connection(uri: String, readonly: bool, tx: Sender<Msg>) {
    let (u, t) = (uri.clone(), tx.clone());
    let spawned = std::thread::Builder::new()
        .name("conn-test".into())
        .spawn(move || {
            let result = host::test_connection(&u, readonly);
            let _ = t.send(Msg::ConnTest { uri: u, result });
        });
    if spawned.is_err() {
        let _ = tx.send(Msg::ConnTest {
            uri,
            result: Err("could not start a thread for the test".into()),
        });
        return;
    }
    let _ = std::thread::Builder::new()
        .name("conn-test-timer".into())
        .spawn(move || {
            std::thread::sleep(TEST_TIMEOUT);
            let _ = tx.send(Msg::ConnTest {
                uri,
                result: Err(format!(
                    "no answer after {} s (host down, firewall, or a stopped libvirtd)",
                    TEST_TIMEOUT.as_secs()
                )),
            });
        });
}

/// Set while an external editor owns the terminal: the input thread stops reading so the
/// editor gets every key.
static INPUT_PAUSED: AtomicBool = AtomicBool::new(false);
/// Set by the input thread while it is paused (it reads nothing then).
static INPUT_PARKED: AtomicBool = AtomicBool::new(false);
/// Wakes the input thread from its wait: a pause, or SIGWINCH (written by signal-hook).
static INPUT_WAKE: OnceLock<UnixStream> = OnceLock::new();

fn wake_input() {
    if let Some(mut w) = INPUT_WAKE.get() {
        let _ = w.write(&[1]);
    }
}

/// Blocks until one of `fds` is readable (no timeout: an idle terminal costs nothing).
fn wait_readable(fds: &[RawFd]) {
    let mut p: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: `p` is a valid array of `p.len()` pollfd structs for the whole call.
    unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, -1) };
}

fn drain(mut r: &UnixStream) {
    let mut buf = [0u8; 64];
    while matches!(r.read(&mut buf), Ok(n) if n > 0) {}
}

/// Reads terminal events on a thread of its own. It sleeps in `poll(2)` on the terminal (and
/// a wake-up socket) until there is input: polling crossterm every 50 ms cost more CPU than
/// the rest of an idle virtdeck.
pub fn spawn_input(tx: Sender<Msg>) {
    let Ok((wake_r, wake_w)) = UnixStream::pair() else {
        return;
    };
    let _ = wake_r.set_nonblocking(true);
    let _ = wake_w.set_nonblocking(true);
    // A resize arrives as a signal, which crossterm turns into an event: wake up to read it.
    if let Ok(w) = wake_w.try_clone() {
        let _ = signal_hook::low_level::pipe::register(signal_hook::consts::SIGWINCH, w);
    }
    let _ = INPUT_WAKE.set(wake_w);
    // The terminal crossterm reads (`use-dev-tty`); stdin when there is no /dev/tty.
    let tty = std::fs::File::open("/dev/tty").ok();
    let tty_fd = tty.as_ref().map_or(0, |t| t.as_raw_fd());
    std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            let _tty = tty;
            loop {
                if INPUT_PAUSED.load(Ordering::SeqCst) {
                    INPUT_PARKED.store(true, Ordering::SeqCst);
                    wait_readable(&[wake_r.as_raw_fd()]);
                    drain(&wake_r);
                    continue;
                }
                INPUT_PARKED.store(false, Ordering::SeqCst);
                // What crossterm has read already comes first, then wait for more. (Its poll
                // with a zero timeout never looks at the terminal: 1 ms.)
                loop {
                    match event::poll(Duration::from_millis(1)) {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(_) => return,
                    }
                    let msg = match event::read() {
                        Ok(Event::Key(k)) => Msg::Key(k),
                        Ok(Event::Paste(text)) => Msg::Paste(text),
                        // Clicks and the wheel; releases and drags would only cost a frame
                        // each. Nothing passes with the mouse off (a stray report is not a
                        // click).
                        Ok(Event::Mouse(m)) if crate::term::mouse() && wanted(&m) => Msg::Mouse(m),
                        Ok(Event::Resize(..)) => Msg::Wake,
                        Ok(_) => continue,
                        Err(_) => return,
                    };
                    if tx.send(msg).is_err() {
                        return;
                    }
                    if INPUT_PAUSED.load(Ordering::SeqCst) {
                        break;
                    }
                }
                if !INPUT_PAUSED.load(Ordering::SeqCst) {
                    wait_readable(&[tty_fd, wake_r.as_raw_fd()]);
                }
                drain(&wake_r);
            }
        })
        .ok();
}

/// The mouse events the app acts on.
fn wanted(m: &event::MouseEvent) -> bool {
    use event::{MouseButton, MouseEventKind as K};
    matches!(
        m.kind,
        K::Down(MouseButton::Left) | K::ScrollUp | K::ScrollDown
    )
}

/// Runs until the user quits.
pub fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    rx: &Receiver<Msg>,
    workers: &mut Workers,
) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let mut lp = Loop::new(terminal, app)?;
    while lp.turn(terminal, app, rx, workers)? {}
    workers.stop_all();
    Ok(())
}

/// With no message, the loop wakes this often (time passes: toasts, countdowns).
const TICK: Duration = Duration::from_secs(1);
/// Bounds the work per frame when a flood of events arrives.
const BATCH: usize = 256;
/// News from the hosts is drawn at most this often (input at once): 100 hosts report 50
/// times a second, and a frame after each was most of an idle dashboard's CPU.
const DATA_GAP: Duration = Duration::from_millis(200);

/// The loop between two turns (benches drive it turn by turn, like `run`).
pub struct Loop {
    keys: u64,
    drew: bool,
    drawn: Instant,
}

impl Loop {
    /// Draws the first frame.
    pub fn new<B: Backend>(terminal: &mut Terminal<B>, app: &mut App) -> anyhow::Result<Loop>
    where
        B::Error: Send + Sync + 'static,
    {
        app.take_redraw();
        terminal.draw(|f| crate::ui::render(app, f))?;
        Ok(Loop {
            keys: 0,
            drew: true,
            drawn: Instant::now(),
        })
    }

    /// Keys applied so far.
    pub fn keys(&self) -> u64 {
        self.keys
    }

    /// Whether the last turn drew a frame.
    pub fn drew(&self) -> bool {
        self.drew
    }

    /// Waits for a message (at most `TICK`), applies it and whatever else is queued (at most
    /// `BATCH`), then draws if the app says something shown changed. False when the app asked to quit or nothing can send any more.
    pub fn turn<B: Backend>(
        &mut self,
        terminal: &mut Terminal<B>,
        app: &mut App,
        rx: &Receiver<Msg>,
        workers: &mut Workers,
    ) -> anyhow::Result<bool>
    where
        B::Error: Send + Sync + 'static,
    {
        self.drew = false;
        // A frame held back for `DATA_GAP` is drawn when the gap is over, message or not.
        let wait = if app.redraw_pending() {
            DATA_GAP.saturating_sub(self.drawn.elapsed())
        } else {
            TICK
        };
        let first = match rx.recv_timeout(wait) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => Msg::Tick(Instant::now()),
            Err(RecvTimeoutError::Disconnected) => return Ok(false),
        };
        let mut batch = std::collections::VecDeque::from([first]);
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(m) => batch.push_back(m),
                Err(_) => break,
            }
        }
        batch.push_back(Msg::Tick(Instant::now()));
        let urgent = batch
            .iter()
            .any(|m| !matches!(m, Msg::Host(..) | Msg::Tick(_)));
        let snapshot_vms: usize = batch
            .iter()
            .map(|m| match m {
                Msg::Host(_, crate::host::HostEvent::Snapshot(s)) => s.vms.len(),
                _ => 0,
            })
            .sum();
        while let Some(msg) = batch.pop_front() {
            self.keys += u64::from(matches!(msg, Msg::Key(_)));
            let mut fx = app.update(msg);
            // The editor needs the terminal, which only this loop holds.
            let mut edits = Vec::new();
            let mut foreground = Vec::new();
            fx.retain(|e| match e {
                Effect::EditExternal { host, uuid, text } => {
                    edits.push((*host, uuid.clone(), text.clone()));
                    false
                }
                Effect::RunPlugin(run) if !run.background => {
                    foreground.push(run.clone());
                    false
                }
                _ => true,
            });
            if !workers.apply(fx) {
                return Ok(false);
            }
            for (host, uuid, text) in edits {
                let result = edit_external(terminal, &text);
                batch.push_front(Msg::Edited { host, uuid, result });
            }
            for run in foreground {
                let (back, mut outcome) =
                    with_terminal_left(terminal, || plugin_foreground(&run.argv));
                if let Err(e) = back {
                    outcome.status = Err(e);
                }
                batch.push_front(Msg::PluginDone(run, outcome));
            }
        }
        let due = urgent || self.drawn.elapsed() >= DATA_GAP;
        if due && app.take_redraw() {
            terminal.draw(|f| crate::ui::render(app, f))?;
            self.drew = true;
            self.drawn = Instant::now();
        }
        // The old VM lists a batch of snapshots replaced (`heap::trim` decides if worth it).
        crate::heap::trim(crate::heap::Who::Ui, snapshot_vms);
        Ok(true)
    }
}

/// Leaves the screen to the user's editor (`$VISUAL`, `$EDITOR`, else `vi`) on `text`, then
/// takes it back.
fn edit_external<B: Backend>(terminal: &mut Terminal<B>, text: &str) -> Result<String, String> {
    let editor = [std::env::var("VISUAL"), std::env::var("EDITOR")]
        .into_iter()
        .flatten()
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "vi".into());
    match with_terminal_left(terminal, || run_editor(&editor, text)) {
        (Ok(()), result) => result,
        (Err(e), _) => Err(e),
    }
}

/// A foreground plugin: the program gets the terminal as it is; its output is the user's to
/// read, so nothing is captured.
fn plugin_foreground(argv: &[String]) -> crate::plugin::run::Outcome {
    let status = match argv.split_first() {
        Some((program, args)) => std::process::Command::new(program)
            .args(args)
            .status()
            .map(|s| s.code())
            .map_err(|e| format!("cannot run {program:?}: {e}")),
        None => Err("empty command".into()),
    };
    crate::plugin::run::Outcome {
        status,
        output: String::new(),
    }
}

/// Runs `f` with the screen given back to the terminal (cooked mode, main screen, the input
/// thread parked), then takes it back.
fn with_terminal_left<B: Backend, T>(
    terminal: &mut Terminal<B>,
    f: impl FnOnce() -> T,
) -> (Result<(), String>, T) {
    INPUT_PAUSED.store(true, Ordering::SeqCst);
    // Let the input thread stop reading before the editor reads the terminal.
    if INPUT_WAKE.get().is_some() {
        wake_input();
        let until = Instant::now() + Duration::from_millis(500);
        while !INPUT_PARKED.load(Ordering::SeqCst) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    crate::term::restore();
    // The program owns the terminal now: what it writes on stderr is for the user to see.
    crate::stderr::pause();
    let result = f();
    crate::stderr::resume();
    let back = crate::term::resume();
    let _ = terminal.clear();
    INPUT_PAUSED.store(false, Ordering::SeqCst);
    wake_input();
    (
        back.map_err(|e| format!("cannot restore the terminal: {e}")),
        result,
    )
}

/// Runs `editor` on a temp file holding `text` and returns the file's text afterwards. No
/// shell: the editor string is split on whitespace into a program and its arguments.
pub fn run_editor(editor: &str, text: &str) -> Result<String, String> {
    use std::io::Write;
    let mut file = tempfile::Builder::new()
        .prefix("virtdeck-")
        .suffix(".xml")
        .tempfile()
        .map_err(|e| format!("temp file: {e}"))?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.flush())
        .map_err(|e| format!("temp file: {e}"))?;
    let mut words = editor.split_whitespace();
    let program = words.next().unwrap_or("vi").to_string();
    let status = std::process::Command::new(&program)
        .args(words)
        .arg(file.path())
        .status();
    match status {
        Ok(s) if s.success() => {
            std::fs::read_to_string(file.path()).map_err(|e| format!("reading the edit back: {e}"))
        }
        Ok(s) => Err(format!(
            "{program} exited with {s}; the definition is unchanged"
        )),
        Err(e) => Err(format!("cannot run {program}: {e}")),
    }
}

/// A channel for the loop.
pub fn channel() -> (Sender<Msg>, Receiver<Msg>) {
    mpsc::channel()
}

#[cfg(test)]
mod probe_tests {
    use super::*;

    /// Probes that never return hold their own threads: a later probe still answers, and once
    /// too many are stuck a new one is refused at once instead of adding a thread.
    #[test]
    fn a_hung_probe_does_not_hold_up_later_ones_and_stuck_ones_are_capped() {
        let hang = std::path::PathBuf::from("/hung");
        let h = hang.clone();
        let probes = Probes::new(Arc::new(move |p: &Probe| {
            if *p == Probe::Stat(h.clone()) {
                loop {
                    std::thread::park();
                }
            }
            crate::probe::run(p)
        }));
        let (tx, rx) = mpsc::channel();
        for id in 0..STUCK_MAX as u64 {
            probes.spawn(id, Probe::Stat(hang.clone()), tx.clone());
        }
        probes.spawn(100, Probe::Stat("/".into()), tx.clone());
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Msg::Probed { id: 100, answer }) => {
                assert!(matches!(answer, Ok(crate::probe::Found::Stat(Ok(s))) if s.dir))
            }
            other => panic!("{other:?}"),
        }
        std::thread::sleep(STUCK + Duration::from_millis(200));
        probes.spawn(101, Probe::Stat("/".into()), tx);
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Msg::Probed { id: 101, answer }) => {
                assert!(answer.is_err_and(|e| e.contains("still waiting")))
            }
            other => panic!("{other:?}"),
        }
    }
}

#[cfg(test)]
mod editor_tests {
    #[test]
    fn editor_edits_the_file_and_its_failure_is_reported() {
        let out = super::run_editor("sed -i s/old/new/", "<title>old</title>\n").unwrap();
        assert_eq!(out, "<title>new</title>\n");
        let e = super::run_editor("false", "x").unwrap_err();
        assert!(e.contains("false exited"), "{e}");
        let e = super::run_editor("/nonexistent/editor", "x").unwrap_err();
        assert!(e.starts_with("cannot run /nonexistent/editor"), "{e}");
    }
}

#[cfg(test)]
mod loop_tests {
    use super::*;
    use crate::app::Settings;
    use crate::config::keymap::Keymap;
    use crate::config::theme::Theme;
    use ratatui::backend::TestBackend;

    /// Nothing changed: the turn builds no frame (it used to draw one every second).
    #[test]
    fn an_idle_turn_draws_no_frame_and_a_key_does() {
        let (tx, rx) = channel();
        let mut workers = Workers::start(&[], &tx, None, WorkerOptions::default()).unwrap();
        let mut app = App::new(
            Vec::new(),
            Keymap::preset(),
            Theme::load("default", None).unwrap(),
            Settings::default(),
        );
        let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let mut lp = Loop::new(&mut term, &mut app).unwrap();
        tx.send(Msg::Tick(Instant::now())).unwrap();
        assert!(lp.turn(&mut term, &mut app, &rx, &mut workers).unwrap());
        assert!(!lp.drew(), "an idle tick drew a frame");
        let j = crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('j'));
        tx.send(Msg::Key(j)).unwrap();
        assert!(lp.turn(&mut term, &mut app, &rx, &mut workers).unwrap());
        assert!(lp.drew(), "a key drew no frame");
    }

    /// Host news right after a frame waits for `DATA_GAP`, then is drawn without a message;
    /// a key is drawn at once.
    #[test]
    fn host_news_is_drawn_at_most_every_data_gap() {
        let (tx, rx) = channel();
        let mut workers = Workers::start(&[], &tx, None, WorkerOptions::default()).unwrap();
        let spec = crate::app::HostSpec {
            name: "h".into(),
            uri: "test:///default".into(),
        };
        let mut app = App::new(
            vec![spec],
            Keymap::preset(),
            Theme::load("default", None).unwrap(),
            Settings::default(),
        );
        let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let mut lp = Loop::new(&mut term, &mut app).unwrap();
        let news = || {
            Msg::Host(
                crate::model::HostId(0),
                crate::host::HostEvent::Connected(Default::default()),
            )
        };
        tx.send(news()).unwrap();
        lp.turn(&mut term, &mut app, &rx, &mut workers).unwrap();
        assert!(!lp.drew(), "news drawn right after the last frame");
        let t = Instant::now();
        lp.turn(&mut term, &mut app, &rx, &mut workers).unwrap();
        assert!(lp.drew(), "the held-back news was never drawn");
        let waited = t.elapsed();
        assert!(
            waited < TICK,
            "drawn after a whole tick ({waited:?}), not the gap"
        );
        tx.send(news()).unwrap();
        lp.turn(&mut term, &mut app, &rx, &mut workers).unwrap();
        assert!(!lp.drew());
        let j = crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('j'));
        tx.send(Msg::Key(j)).unwrap();
        lp.turn(&mut term, &mut app, &rx, &mut workers).unwrap();
        assert!(lp.drew(), "a key waited for the gap");
    }
}
