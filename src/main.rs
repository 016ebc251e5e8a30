use anyhow::Context;
use clap::Parser;

use virtdeck::app::toast::Level;
use virtdeck::app::{App, Settings};
use virtdeck::cli::{self, Cli};
use virtdeck::config::keymap::Keymap;
use virtdeck::config::theme::Theme;
use virtdeck::config::{self, Config};
use virtdeck::demo::DemoFleet;
use virtdeck::host::{self, WorkerOptions};
use virtdeck::runtime;

fn main() {
    if let Err(e) = run() {
        eprintln!("virtdeck: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let dir = cli.config_dir.clone().or_else(config::config_dir);
    let cfg = Config::load(dir.as_deref())?;
    let keymap = Keymap::load(dir.as_deref())?;
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
    let mut workers = runtime::Workers::start(&specs, &tx, dir.clone(), base.clone())?;
    let mut app = App::new(
        names,
        keymap,
        theme,
        Settings::from_config(&cfg, cli.readonly),
    );
    for w in warnings {
        app.messages.push(Level::Info, w, app.now);
    }

    let mut terminal = ratatui::try_init().context("virtdeck needs an interactive terminal")?;
    install_panic_hook();
    runtime::spawn_signals(tx.clone()).context("installing signal handlers")?;
    runtime::spawn_input(tx);
    let result = runtime::run(&mut terminal, &mut app, &rx, &mut workers);
    ratatui::restore();
    drop(demo);
    result
}

/// Restores the terminal when the UI thread panics. Panics elsewhere (a worker) stay silent
/// here: printing would garble the screen, and the worker reports its own failure.
fn install_panic_hook() {
    let restore_then_report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some("main") {
            restore_then_report(info);
        }
    }));
}
