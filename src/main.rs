use anyhow::Context;
use clap::Parser;

use virtdeck::app::toast::Level;
use virtdeck::app::{App, Msg, Settings};
use virtdeck::cli::{self, Cli};
use virtdeck::config::keymap::Keymap;
use virtdeck::config::theme::Theme;
use virtdeck::config::{self, Config};
use virtdeck::demo::DemoFleet;
use virtdeck::host::{self, WorkerOptions};
use virtdeck::{runtime, stderr, term};

fn main() {
    // One malloc arena for all threads: glibc gives threads that allocate arenas of their own
    // (up to 8 per core), which kept 14 MB more resident with 100 host workers (43 MB instead
    // of 29, benches/hosts100). virtdeck's threads mostly sleep: they hardly contend.
    // Blocks of 1 MiB and more (a big host's VM list in a snapshot, its bulk stats) get
    // mappings of their own, handed back when freed. Setting the threshold also stops glibc
    // from raising it after the first such free, after which those blocks came from the heap
    // and its top stayed at the peak of two lists in flight: 10,000 VMs held 56.4 MiB after
    // two minutes instead of 51.7 (benches/hosts100 with VIRTDECK_H100_VMS=10000). Not lower:
    // at 128 KiB every RPC buffer and small host's list was an mmap and a munmap with page
    // faults, which doubled idle CPU (idle bench 0.35 % against 0.15 %, 100 hosts 2.5 % against
    // 1.5 %).
    // SAFETY: mallopt only sets an allocator parameter; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
    }
    // `run` has given back the terminal and fd 2 by the time it returns.
    if let Err(e) = run() {
        eprintln!("virtdeck: {e:#}");
        std::process::exit(1);
    }
    if let Some(status) = term::signal_status() {
        std::process::exit(status);
    }
}

/// Leaves the full screen when dropped, on every way out of `run`.
struct Screen;

impl Drop for Screen {
    fn drop(&mut self) {
        term::restore();
    }
}

use virtdeck::host::LifecycleOp;
use virtdeck::script::lifecycle;

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let dir = cli.config_dir.clone().or_else(config::config_dir);
    // Kept until the end of `run` (or dropped before `exit`): its drop flushes the last lines.
    let log = virtdeck::log::init(cli.log_file.as_deref())?;
    let cfg = Config::load(dir.as_deref())?;
    if let Some(cmd) = &cli.command {
        let mut hosts = cli::hosts(&cli, &cfg);
        // `--demo list`: the demo's hosts for the scripting commands too (its files live
        // until the command is done).
        let demo = if cli.demo {
            let fleet =
                DemoFleet::create().context("writing the demo fleet to a temporary directory")?;
            hosts.extend(fleet.hosts().into_iter().map(|h| h.spec));
            Some(fleet)
        } else {
            None
        };
        let code = match cmd {
            cli::Command::Backup(a) => virtdeck::backup::cli::backup(a, &hosts),
            cli::Command::Restore(a) => virtdeck::backup::cli::restore(a, &hosts),
            cli::Command::Completions { shell } => {
                // Names and URIs of config.toml's hosts, offered after -c.
                let names: Vec<String> = cfg
                    .hosts
                    .iter()
                    .flat_map(|h| h.name.iter().cloned().chain([h.uri.clone()]))
                    .collect();
                cli::completions(*shell, &names, &mut std::io::stdout());
                0
            }
            cli::Command::List {
                json,
                filter,
                sample,
            } => virtdeck::script::list(&hosts, *json, filter.as_deref(), *sample),
            cli::Command::Doctor { timeout } => virtdeck::doctor::run(
                &hosts,
                std::time::Duration::from_secs(*timeout),
                virtdeck::doctor::stdout_style(),
            ),
            cli::Command::Hosts { json } => virtdeck::script::hosts_cmd(&hosts, *json),
            cli::Command::Start { vms } => lifecycle("start", LifecycleOp::Start, vms, &hosts),
            cli::Command::Shutdown { vms } => {
                lifecycle("shutdown", LifecycleOp::Shutdown, vms, &hosts)
            }
            cli::Command::Reboot { vms } => lifecycle("reboot", LifecycleOp::Reboot, vms, &hosts),
            cli::Command::Destroy { vms } => {
                lifecycle("destroy", LifecycleOp::ForceOff, vms, &hosts)
            }
            cli::Command::Suspend { vms } => lifecycle("suspend", LifecycleOp::Pause, vms, &hosts),
            cli::Command::Resume { vms } => lifecycle("resume", LifecycleOp::Resume, vms, &hosts),
            cli::Command::Migrate(a) => {
                // Per-host migration addresses of config.toml, by URI.
                let addresses = cfg
                    .hosts
                    .iter()
                    .filter_map(|h| Some((h.uri.clone(), h.migration_address.clone()?)))
                    .collect();
                virtdeck::script::migrate(a, &hosts, &addresses)
            }
            cli::Command::Console { vm, force } => virtdeck::script::console(vm, *force, &hosts),
            cli::Command::Man => match cli::man(&mut std::io::stdout()) {
                Ok(()) => 0,
                // `virtdeck man | head`: the reader had enough.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
                Err(e) => {
                    eprintln!("virtdeck man: {e}");
                    1
                }
            },
        };
        tracing::info!(command = cmd.name(), status = code, "command finished");
        // `exit` runs no destructors: the demo's temporary files go first.
        drop(demo);
        drop(log);
        std::process::exit(code);
    }
    let keymap = Keymap::load(dir.as_deref())?;
    let plugins = virtdeck::plugin::load(dir.as_deref(), &keymap)?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = Theme::load(&cli::theme_name(&cli, &cfg, no_color), dir.as_deref())?;

    let warnings = cli::warnings(&cli, &cfg);
    let base = WorkerOptions::from_config(&cfg, cli.readonly);
    let mut specs: Vec<_> = cli::hosts(&cli, &cfg)
        .into_iter()
        .map(|s| {
            let opts = base.for_uri(&s.uri);
            (s, opts)
        })
        .collect();
    // Kept alive until exit: the demo's XML files live in its temporary directory.
    let demo = if cli.demo {
        let fleet =
            DemoFleet::create().context("writing the demo fleet to a temporary directory")?;
        for h in fleet.hosts() {
            let opts = h.options(&base);
            specs.push((h.spec, opts));
        }
        Some(fleet)
    } else {
        None
    };
    let mut names: Vec<_> = specs.iter().map(|(s, _)| s.clone()).collect();
    cli::dedupe_names(&mut names);
    for ((s, _), n) in specs.iter_mut().zip(&names) {
        s.name = n.name.clone();
    }

    // libvirt's event loop must exist before the first connection opens.
    host::ensure_event_loop();
    let (tx, rx) = runtime::channel();
    // From the first connection on, libvirt and libxml2 may write on stderr: into the log.
    let lines = tx.clone();
    let captured = stderr::Capture::start(move |line| {
        let _ = lines.send(Msg::Stderr(line));
    });
    let _captured = match captured {
        Ok(c) => Some(c),
        Err(e) => {
            let _ = tx.send(Msg::ConfigError(format!(
                "stderr is not captured ({e}): libvirt messages may show over the screen"
            )));
            None
        }
    };
    let mut workers = runtime::Workers::start(&specs, &tx, dir.clone(), base.clone())?;
    if let Some(fleet) = demo {
        workers.adopt_demo(fleet);
    }
    let mut app = App::new(
        names,
        keymap,
        theme,
        Settings {
            plugins,
            ascii: cli::ascii(&cli, &cfg),
            ..Settings::from_config(&cfg, cli.readonly)
        },
    );
    if let Some(dir) = config::history::state_dir() {
        app.history = config::history::load(&dir);
        // The demo's events are made up: kept out of the log.
        app.settings.keep_events = !cli.demo;
        if app.settings.keep_events {
            let (records, skipped) = virtdeck::eventlog::load(&dir);
            virtdeck::app::events::load_earlier(&mut app, records, skipped);
        }
    }
    for w in warnings {
        app.messages.push(Level::Info, w, app.now);
    }

    term::set_mouse(cli::mouse(&cli, &cfg));
    let mut terminal = term::enter().context("virtdeck needs an interactive terminal")?;
    let screen = Screen;
    term::install_panic_hook();
    term::spawn_signals(tx.clone()).context("installing signal handlers")?;
    runtime::spawn_input(tx);
    let result = runtime::run(&mut terminal, &mut app, &rx, &mut workers);
    drop(screen);
    if let Err(e) = &result {
        tracing::error!(error = %format!("{e:#}").escape_debug(), "exiting on an error");
    }
    drop(log);
    result
}
