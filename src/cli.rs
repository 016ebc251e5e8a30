//! Command line, and turning it plus `config.toml` into the list of hosts to open.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::app::HostSpec;
use crate::config::{name_from_uri, Config};

const EXAMPLES: &str = "\
Examples:
  virtdeck                                   hosts from config.toml, else qemu:///system
  virtdeck --demo                            try every screen on the embedded demo fleet
  virtdeck -c qemu:///system -c qemu+ssh://root@kvm2/system
  virtdeck -c qemu+tls://kvm3.example/system --readonly
  NO_COLOR=1 virtdeck --demo                 monochrome
  virtdeck doctor -c qemu+ssh://root@kvm2/system   check a host before trouble
  virtdeck backup web --to /srv/backups --incremental --keep 7
  virtdeck restore /srv/backups/web-6a3c2f0e/20261205T075312Z-full --name web-restored

Files (in $XDG_CONFIG_HOME/virtdeck, or --config-dir):
  config.toml     poll_interval = 2, theme = \"light\", [[hosts]] name = \"kvm1\", uri = \"…\"
  keymap.toml     entries like { on = \"x\", run = \"force_off\", desc = \"Force off\" }
  themes/NAME.toml  style slots like state_running = { fg = \"green\" }

Keys: ? shows every binding; / filters; Space marks; q quits. Mouse: a click selects, the
wheel scrolls (--no-mouse or mouse = false in config.toml leave it to the terminal).";

#[derive(Debug, Parser)]
#[command(
    name = "virtdeck",
    version,
    about = "A keyboard-first terminal UI for KVM/libvirt fleets",
    after_help = EXAMPLES
)]
pub struct Cli {
    /// libvirt URI (or a host name of config.toml) to open; repeat for several hosts
    ///
    /// Careful with URIs from elsewhere: with the ssh and ext transports a `command=`
    /// parameter makes libvirt run that program on this machine (instead of `ssh`), and
    /// `+ext` always runs the program `command=` names. (`netcat=` runs on the remote host.)
    #[arg(short = 'c', long = "connect", value_name = "URI", value_parser = non_empty_uri, global = true)]
    pub connect: Vec<String>,

    /// Open the embedded demo fleet (libvirt test driver; no hypervisor needed)
    #[arg(long)]
    pub demo: bool,

    /// Open connections read-only and refuse every action that changes anything
    #[arg(long)]
    pub readonly: bool,

    /// Theme: default, light, mono, console (16 colours), or NAME for <config dir>/themes/NAME.toml
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,

    /// Leave the mouse to the terminal (its text selection): no clicks or wheel in virtdeck
    #[arg(long)]
    pub no_mouse: bool,

    /// Draw only ASCII, Latin-1, box lines and blocks (the Linux console's font); on by itself
    /// when TERM=linux
    #[arg(long)]
    pub ascii: bool,

    /// Read config.toml, keymap.toml and themes/ from DIR instead of the XDG config dir
    #[arg(long, value_name = "DIR", env = "VIRTDECK_CONFIG_DIR")]
    pub config_dir: Option<PathBuf>,

    /// Write a log for bug reports to PATH (debug level unless VIRTDECK_LOG says
    /// info|debug|trace); VIRTDECK_LOG alone writes ~/.local/state/virtdeck/virtdeck.log
    /// ($XDG_STATE_HOME/virtdeck/virtdeck.log). Never written to the terminal.
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,

    /// Run one job without the TUI (for cron and systemd timers)
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Back up a VM into a directory of this machine (push mode; a shut-off VM is copied)
    ///
    /// Exit status: 0 done, 1 failed (nothing left behind), 130 interrupted (cancelled,
    /// nothing left behind). One line of progress per 10 %.
    Backup(BackupArgs),
    /// Restore a backup (and the chain it builds on) into a new VM
    Restore(RestoreArgs),
    /// Print a shell completion script (host names of config.toml complete after -c)
    ///
    /// bash: `virtdeck completions bash > ~/.local/share/bash-completion/completions/virtdeck`;
    /// zsh: into a directory of $fpath as `_virtdeck`; fish:
    /// `~/.config/fish/completions/virtdeck.fish`. Run it again after adding hosts.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `virtdeck man | man -l -`
    Man,
    /// List every VM of every host (-c, else config.toml): host, name, state, vCPUs, memory,
    /// CPU % (with --sample), addresses, tags
    ///
    /// Exit status: 0, or 4 when a host was unreachable (the others are still listed).
    List {
        /// One JSON array of objects (host, name, uuid, state, vcpus, memory_kib,
        /// cpu_percent, addresses, tags, template)
        #[arg(long)]
        json: bool,
        /// The VM table's filter: words, host:, state:, tag:, re:, !
        #[arg(long, value_name = "TEXT")]
        filter: Option<String>,
        /// Measure CPU % over this interval (2s, 500ms)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        sample: Option<std::time::Duration>,
    },
    /// Check each host (-c, else config.toml) and say how to fix what is wrong
    ///
    /// One ✔/⚠/✖ line per finding: the URI, the ssh login (no prompt, host key,
    /// virt-ssh-helper or nc), connect time, versions, access, KVM, the default network, an
    /// active pool, running VMs' displays, migration ports, clock skew between hosts.
    /// Exit status: 1 when anything is ✖ (broken), else 0 (⚠ works but needs a look).
    Doctor {
        /// How long a host may take to answer (connect, ssh login), in seconds
        #[arg(long, value_name = "SECONDS", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=300))]
        timeout: u64,
    },
    /// The hosts: reachable or not, hypervisor, libvirt version, VM counts
    Hosts {
        #[arg(long)]
        json: bool,
    },
    /// Start VMs (VM, VM@HOST or a UUID; a name on two hosts needs @HOST)
    ///
    /// Exit status: 0 all done, 2 no such VM or an ambiguous name, 3 refused by libvirt,
    /// 4 a host unreachable (the worst of the targets).
    Start {
        #[arg(value_name = "VM[@HOST]", required = true)]
        vms: Vec<String>,
    },
    /// Shut VMs down (ACPI); statuses as for start
    Shutdown {
        #[arg(value_name = "VM[@HOST]", required = true)]
        vms: Vec<String>,
    },
    /// Reboot VMs; statuses as for start
    Reboot {
        #[arg(value_name = "VM[@HOST]", required = true)]
        vms: Vec<String>,
    },
    /// Force VMs off (virsh destroy); statuses as for start
    Destroy {
        #[arg(value_name = "VM[@HOST]", required = true)]
        vms: Vec<String>,
    },
    /// Pause VMs; statuses as for start
    Suspend {
        #[arg(value_name = "VM[@HOST]", required = true)]
        vms: Vec<String>,
    },
    /// Resume paused VMs; statuses as for start
    Resume {
        #[arg(value_name = "VM[@HOST]", required = true)]
        vms: Vec<String>,
    },
    /// Migrate a VM to another host: the pre-flight checks are printed first, then one line
    /// of progress per 10 %
    ///
    /// Without --live a running VM is paused while its memory is copied (as `virsh migrate`
    /// does) and a shut-off VM moves offline (its definition). SIGINT or SIGTERM cancels the
    /// migration (the VM stays on the source). Exit status: 0 moved, 2 no such VM or an
    /// ambiguous name, 3 a failed check (--force overrides those that can be) or refused by
    /// libvirt, 4 a host unreachable, 130 cancelled.
    Migrate(MigrateArgs),
    /// Attach this terminal to a running VM's serial console; `C-]` detaches
    ///
    /// Every other key goes to the guest (C-c too). Exit status: 0 detached or the console
    /// ended, 2 no such VM, 3 refused (not running, no console, in use: see --force), 4 the
    /// host unreachable.
    Console {
        #[arg(value_name = "VM[@HOST]")]
        vm: String,
        /// Take the console over from another client (virsh console, virt-manager)
        #[arg(long)]
        force: bool,
    },
}

impl Command {
    /// The subcommand as typed (for the log: no arguments, which may name anything).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Backup(_) => "backup",
            Command::Restore(_) => "restore",
            Command::Completions { .. } => "completions",
            Command::Man => "man",
            Command::List { .. } => "list",
            Command::Doctor { .. } => "doctor",
            Command::Hosts { .. } => "hosts",
            Command::Start { .. } => "start",
            Command::Shutdown { .. } => "shutdown",
            Command::Reboot { .. } => "reboot",
            Command::Destroy { .. } => "destroy",
            Command::Suspend { .. } => "suspend",
            Command::Resume { .. } => "resume",
            Command::Migrate(_) => "migrate",
            Command::Console { .. } => "console",
        }
    }
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The VM's name or UUID, optionally @HOST (a host name from config.toml or a URI)
    #[arg(value_name = "VM[@SRC]")]
    pub vm: String,
    /// The target: a host name from config.toml or a libvirt URI
    #[arg(long, value_name = "HOST")]
    pub to: String,
    /// Keep the guest running while its memory is copied
    #[arg(long)]
    pub live: bool,
    /// Cap the migration's bandwidth, MiB/s
    #[arg(long, value_name = "MIB_S", value_parser = clap::value_parser!(u64).range(1..))]
    pub bandwidth: Option<u64>,
    /// Go on although a check failed (not an unreachable host or invalid options)
    #[arg(long)]
    pub force: bool,
    /// Copy the disks to the target (all: whole disks; inc: above a shared backing image)
    #[arg(long, value_name = "WHAT", value_parser = ["all", "inc"])]
    pub copy_storage: Option<String>,
    /// Tell libvirt the disks are safely shared although it cannot prove it (a cluster
    /// filesystem it does not know); data is corrupted if they are not
    #[arg(long = "unsafe")]
    pub allow_unsafe: bool,
    /// Keep the VM's definition on the source (default: undefined there once moved)
    #[arg(long)]
    pub keep_source: bool,
    /// The source daemon connects to the target itself (the target URI must work from it)
    #[arg(long)]
    pub p2p: bool,
    /// The target's address for the migration data (default: the host's `migration_address`
    /// in config.toml, else libvirt uses the target's host name)
    #[arg(long, value_name = "ADDRESS")]
    pub address: Option<String>,
}

/// `2s`, `500ms`, `1.5` (seconds).
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        (s, 1.0)
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v * scale <= 3600.0 => {
            Ok(std::time::Duration::from_secs_f64(v * scale))
        }
        _ => Err(format!(
            "{s:?}: a duration like 2s or 500ms (at most an hour)"
        )),
    }
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The VM's name or UUID, optionally @HOST (a host name from config.toml or a URI)
    #[arg(value_name = "VM[@HOST]")]
    pub vm: String,
    /// Destination directory, or pool:NAME for a dir/fs/netfs pool's directory; the VM's
    /// backups go into a directory of their own inside it
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
    /// Only what changed since the last backup (a running VM with qcow2 disks)
    #[arg(long)]
    pub incremental: bool,
    /// Keep the last N backups of the VM (and what they build on); 0 keeps all
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep: usize,
    /// Back up only this disk (a target such as vda); repeat for more
    #[arg(long = "disk", value_name = "TARGET")]
    pub disks: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A backup's directory or its manifest.toml
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,
    /// The new VM's name
    #[arg(long, required_unless_present = "over", conflicts_with = "over")]
    pub name: Option<String>,
    /// Restore over the disks of the VM the backup was taken of (shut off), instead of a new
    /// VM; its name, typed again, confirms it
    #[arg(long, value_name = "VM")]
    pub over: Option<String>,
    /// The pool (dir, fs or netfs) receiving the disks
    #[arg(long, default_value = "default")]
    pub pool: String,
    /// The host to restore on: a host name from config.toml or a URI
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
}

/// The command line as clap knows it, with `-c` offering `hosts` (config.toml's names) to
/// completion scripts; parsing still takes any URI.
pub fn command_for_completion(hosts: &[String]) -> clap::Command {
    use clap::CommandFactory;
    let cmd = Cli::command();
    if hosts.is_empty() {
        return cmd;
    }
    let names: Vec<clap::builder::PossibleValue> = hosts
        .iter()
        // Written into a shell script: nothing a shell would expand or that ends a quote.
        .filter(|h| {
            !h.chars()
                .any(|c| c.is_control() || c.is_whitespace() || "$`\"'\\;|<>(){}".contains(c))
        })
        .map(|h| clap::builder::PossibleValue::new(h.clone()))
        .collect();
    cmd.mut_arg("connect", |a| {
        a.value_parser(clap::builder::PossibleValuesParser::new(names))
    })
}

/// Writes the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, hosts: &[String], out: &mut dyn std::io::Write) {
    let mut cmd = command_for_completion(hosts);
    clap_complete::generate(shell, &mut cmd, "virtdeck", out);
}

/// Writes the man page.
pub fn man(out: &mut dyn std::io::Write) -> std::io::Result<()> {
    use clap::CommandFactory;
    clap_mangen::Man::new(Cli::command()).render(out)
}

/// An empty `-c` must not fall through to libvirt, which opens its default URI for it.
fn non_empty_uri(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        return Err("the URI is empty (e.g. qemu:///system, qemu+ssh://root@kvm2/system)".into());
    }
    Ok(s.to_string())
}

/// The hosts asked for, before duplicates are dropped: `-c` URIs, else config.toml's hosts,
/// else the local system daemon. (The demo fleet is added by the caller.)
fn requested(cli: &Cli, cfg: &Config) -> Vec<HostSpec> {
    if !cli.connect.is_empty() {
        cli.connect
            .iter()
            .map(|u| {
                // A host's name from config.toml stands for its URI (`-c kvm1`).
                let named = cfg
                    .hosts
                    .iter()
                    .find(|h| !u.contains(':') && h.name.as_deref() == Some(u.as_str()));
                match named {
                    Some(h) => HostSpec {
                        name: u.clone(),
                        uri: h.uri.clone(),
                    },
                    None => HostSpec {
                        name: name_from_uri(u),
                        uri: u.clone(),
                    },
                }
            })
            .collect()
    } else if !cfg.hosts.is_empty() {
        cfg.hosts
            .iter()
            .map(|h| HostSpec {
                name: h.name.clone().unwrap_or_else(|| name_from_uri(&h.uri)),
                uri: h.uri.clone(),
            })
            .collect()
    } else if cli.demo {
        Vec::new()
    } else {
        vec![HostSpec {
            name: name_from_uri("qemu:///system"),
            uri: "qemu:///system".into(),
        }]
    }
}

/// The hosts to open: `-c` URIs, else config.toml's hosts, else the local system daemon. A URI
/// given more than once is opened once, under its first name (see [`duplicate_uris`]).
pub fn hosts(cli: &Cli, cfg: &Config) -> Vec<HostSpec> {
    let mut specs = requested(cli, cfg);
    let mut seen = std::collections::HashSet::new();
    specs.retain(|s| seen.insert(s.uri.clone()));
    dedupe_names(&mut specs);
    specs
}

/// Notes for the message log about the hosts asked for: a URI given several times (opened
/// once), and a URI that makes libvirt run a program on this machine.
pub fn warnings(cli: &Cli, cfg: &Config) -> Vec<String> {
    let mut out = duplicate_uris(cli, cfg);
    for s in hosts(cli, cfg) {
        if let Some(w) = crate::app::add_host::local_command(&s.uri) {
            out.push(format!("{}: {w}", s.name));
        }
    }
    out
}

/// One warning per URI that [`hosts`] opened once although it was given several times.
fn duplicate_uris(cli: &Cli, cfg: &Config) -> Vec<String> {
    let from = if cli.connect.is_empty() {
        "in config.toml"
    } else {
        "with -c"
    };
    let mut counts: Vec<(String, usize)> = Vec::new();
    for s in requested(cli, cfg) {
        match counts.iter_mut().find(|(u, _)| *u == s.uri) {
            Some((_, n)) => *n += 1,
            None => counts.push((s.uri, 1)),
        }
    }
    counts
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(uri, n)| format!("{uri} is given {n} times {from}: opened once"))
        .collect()
}

/// Host names label rows and filters, so they must be unique: `kvm1`, `kvm1#2`.
pub fn dedupe_names(specs: &mut [HostSpec]) {
    for i in 1..specs.len() {
        let base = specs[i].name.clone();
        let mut n = 1;
        while specs[..i].iter().any(|s| s.name == specs[i].name) {
            n += 1;
            specs[i].name = format!("{base}#{n}");
        }
    }
}

/// Theme choice: `--theme`, else monochrome under NO_COLOR, else config, else default.
pub fn theme_name(cli: &Cli, cfg: &Config, no_color: bool) -> String {
    if let Some(t) = &cli.theme {
        return t.clone();
    }
    if no_color {
        return "mono".into();
    }
    cfg.theme.clone().unwrap_or_else(|| {
        if linux_console() {
            "console".into()
        } else {
            "default".into()
        }
    })
}

/// The Linux virtual console (an IPMI/KVM screen): 16 colours, a small font.
fn linux_console() -> bool {
    std::env::var("TERM").is_ok_and(|t| t == "linux")
}

/// Glyphs the console font has only: `--ascii`, `ascii = true` or TERM=linux.
pub fn ascii(cli: &Cli, cfg: &Config) -> bool {
    cli.ascii || cfg.ascii || linux_console()
}

/// The mouse is on unless `--no-mouse` or `mouse = false` turns it off.
pub fn mouse(cli: &Cli, cfg: &Config) -> bool {
    cfg.mouse && !cli.no_mouse
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HostEntry;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("virtdeck").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn repeated_connect_and_defaults() {
        let cfg = Config::default();
        let cli = parse(&["-c", "qemu:///system", "-c", "qemu+ssh://root@kvm2/system"]);
        let h = hosts(&cli, &cfg);
        assert_eq!(h.len(), 2);
        assert_eq!(h[1].name, "kvm2");
        let h = hosts(&parse(&[]), &cfg);
        assert_eq!(h[0].uri, "qemu:///system");
        assert!(hosts(&parse(&["--demo"]), &cfg).is_empty());
    }

    #[test]
    fn a_config_name_after_c_stands_for_its_uri() {
        let cfg = Config {
            hosts: vec![HostEntry {
                name: Some("kvm1".into()),
                uri: "qemu+ssh://root@kvm1.example/system".into(),
                migration_address: None,
            }],
            ..Config::default()
        };
        let h = hosts(&parse(&["-c", "kvm1", "-c", "qemu:///system"]), &cfg);
        assert_eq!(
            (h[0].name.as_str(), h[0].uri.as_str()),
            ("kvm1", "qemu+ssh://root@kvm1.example/system")
        );
        assert_eq!(h[1].uri, "qemu:///system");
    }

    #[test]
    fn completions_offer_config_hosts_after_c_and_the_man_page_renders() {
        let hosts = vec![
            "kvm-prod-1".to_string(),
            "qemu+ssh://root@kvm1/system".into(),
        ];
        for (shell, needle) in [
            (clap_complete::Shell::Bash, "kvm-prod-1"),
            (clap_complete::Shell::Zsh, "kvm-prod-1"),
            (clap_complete::Shell::Fish, "kvm-prod-1"),
        ] {
            let mut out = Vec::new();
            completions(shell, &hosts, &mut out);
            let text = String::from_utf8(out).unwrap();
            assert!(
                text.contains(needle) && text.contains("backup"),
                "{shell}: {text}"
            );
        }
        // The bash script parses.
        let mut out = Vec::new();
        completions(clap_complete::Shell::Bash, &hosts, &mut out);
        if let Ok(mut child) = std::process::Command::new("bash")
            .arg("-n")
            .stdin(std::process::Stdio::piped())
            .spawn()
        {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(&out).unwrap();
            assert!(child.wait().unwrap().success());
        }
        // Names a shell would expand are left out of the script.
        let mut out = Vec::new();
        completions(
            clap_complete::Shell::Bash,
            &["$(touch /tmp/x)".to_string(), "ok-host".into()],
            &mut out,
        );
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("ok-host") && !text.contains("touch"),
            "{text}"
        );
        // Parsing still takes any URI after -c.
        assert_eq!(
            parse(&["-c", "qemu:///session"]).connect,
            ["qemu:///session"]
        );
        let mut page = Vec::new();
        man(&mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(
            page.contains(".TH virtdeck 1") && page.contains("readonly"),
            "{page}"
        );
    }

    #[test]
    fn config_hosts_used_without_connect() {
        let cfg = Config {
            hosts: vec![
                HostEntry {
                    name: Some("a".into()),
                    uri: "qemu+ssh://x/system".into(),
                    migration_address: None,
                },
                HostEntry {
                    name: None,
                    uri: "qemu+ssh://x/session".into(),
                    migration_address: None,
                },
            ],
            ..Config::default()
        };
        let h = hosts(&parse(&[]), &cfg);
        assert_eq!(h[0].name, "a");
        assert_eq!(h[1].name, "x");
        let h = hosts(&parse(&["-c", "test:///default"]), &cfg);
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn connect_goes_before_or_after_the_subcommand() {
        let c = parse(&["doctor", "-c", "qemu:///system", "-c", "kvm1"]);
        assert_eq!(c.connect, ["qemu:///system", "kvm1"]);
        assert!(matches!(c.command, Some(Command::Doctor { timeout: 8 })));
        let c = parse(&["-c", "test:///default", "doctor", "--timeout", "2"]);
        assert_eq!(c.connect, ["test:///default"]);
        assert!(matches!(c.command, Some(Command::Doctor { timeout: 2 })));
        assert!(Cli::try_parse_from(["virtdeck", "doctor", "--timeout", "0"]).is_err());
    }

    #[test]
    fn empty_connect_uris_are_refused() {
        for bad in ["", "  ", "\t"] {
            let err = Cli::try_parse_from(["virtdeck", "-c", bad]).unwrap_err();
            assert!(err.to_string().contains("URI is empty"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn a_repeated_uri_opens_one_host_with_one_warning() {
        let mut args = vec!["virtdeck"];
        for _ in 0..20 {
            args.extend(["-c", "qemu:///system"]);
        }
        args.extend(["-c", "test:///default"]);
        let cli = Cli::try_parse_from(args).unwrap();
        let cfg = Config::default();
        let h = hosts(&cli, &cfg);
        assert_eq!(h.len(), 2, "{h:?}");
        assert_eq!(h[0].name, "localhost/system", "no #2 suffixes");
        assert_eq!(
            duplicate_uris(&cli, &cfg),
            vec!["qemu:///system is given 20 times with -c: opened once"]
        );
        let entry = |name: &str| HostEntry {
            name: Some(name.into()),
            uri: "qemu+ssh://x/system".into(),
            migration_address: None,
        };
        let cfg = Config {
            hosts: vec![entry("first"), entry("second")],
            ..Config::default()
        };
        let h = hosts(&parse(&[]), &cfg);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].name, "first");
        assert_eq!(duplicate_uris(&parse(&[]), &cfg).len(), 1);
        assert!(duplicate_uris(&parse(&["-c", "qemu:///system"]), &cfg).is_empty());
    }

    #[test]
    fn a_uri_that_runs_a_local_program_is_noted() {
        let cli = parse(&["-c", "qemu+ssh://root@kvm9/system?command=/tmp/evil"]);
        assert_eq!(
            warnings(&cli, &Config::default()),
            vec!["kvm9: runs the program \"/tmp/evil\" on this machine (command=)"]
        );
        assert!(warnings(&parse(&["-c", "qemu:///system"]), &Config::default()).is_empty());
    }

    #[test]
    fn duplicate_names_get_suffixes() {
        let mut s = vec![
            HostSpec {
                name: "k".into(),
                uri: "1".into(),
            },
            HostSpec {
                name: "k".into(),
                uri: "2".into(),
            },
            HostSpec {
                name: "k".into(),
                uri: "3".into(),
            },
        ];
        dedupe_names(&mut s);
        assert_eq!(s[1].name, "k#2");
        assert_eq!(s[2].name, "k#3");
    }

    #[test]
    fn ascii_from_the_flag_or_the_config() {
        let off = Config::default();
        // The suite may run on the Linux console itself.
        let console = std::env::var("TERM").is_ok_and(|t| t == "linux");
        assert_eq!(ascii(&parse(&[]), &off), console);
        assert!(ascii(&parse(&["--ascii"]), &off));
        let on = Config::parse("c.toml", "ascii = true").unwrap();
        assert!(ascii(&parse(&[]), &on));
    }

    #[test]
    fn theme_precedence() {
        let cfg = Config {
            theme: Some("light".into()),
            ..Config::default()
        };
        assert_eq!(theme_name(&parse(&[]), &cfg, false), "light");
        assert_eq!(theme_name(&parse(&[]), &cfg, true), "mono");
        assert_eq!(
            theme_name(&parse(&["--theme", "default"]), &cfg, true),
            "default"
        );
    }

    #[test]
    fn no_mouse_flag_and_config_turn_the_mouse_off() {
        let on = Config::default();
        let off = Config {
            mouse: false,
            ..Config::default()
        };
        assert!(mouse(&parse(&[]), &on));
        assert!(!mouse(&parse(&["--no-mouse"]), &on));
        assert!(!mouse(&parse(&[]), &off));
        assert!(!mouse(&parse(&["--no-mouse"]), &off));
    }

    #[test]
    fn help_has_examples() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Examples:"));
        assert!(help.contains("--readonly"));
        assert!(
            help.contains("`command=` parameter makes libvirt run that program on this machine"),
            "{help}"
        );
        let short = Cli::command().render_help().to_string();
        assert!(!short.contains("command="), "long help only: {short}");
    }
}
