//! Launching a graphical viewer: found on PATH, started without a shell, detached from the
//! terminal so it neither draws on the UI nor dies with it.

use std::path::{Path, PathBuf};

use super::{is_address, Access, Graphics, Protocol};

/// A program and its arguments, ready for `std::process::Command`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewerCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
}

impl ViewerCommand {
    pub fn name(&self) -> String {
        self.program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// The viewers tried, best first: virt-viewer talks to libvirt itself (tunnels included),
/// remote-viewer and vncviewer need a reachable URL.
pub const VIEWERS: [&str; 3] = ["virt-viewer", "remote-viewer", "vncviewer"];

/// `name` in the directories of `path` (a PATH value), if it is an executable file.
pub fn find_in(path: &str, name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    path.split(':').filter(|d| !d.is_empty()).find_map(|d| {
        let p = Path::new(d).join(name);
        let meta = std::fs::metadata(&p).ok()?;
        (meta.is_file() && meta.permissions().mode() & 0o111 != 0).then_some(p)
    })
}

/// Whether a graphical session is reachable from this process.
pub fn has_display(env: impl Fn(&str) -> Option<String>) -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|k| env(k).is_some_and(|v| !v.is_empty()))
}

/// Chooses the viewer and its arguments, or says why none can be started.
pub fn choose(
    find: impl Fn(&str) -> Option<PathBuf>,
    display_here: bool,
    g: &Graphics,
    access: &Access,
    uri: &str,
    uuid: &str,
) -> Result<ViewerCommand, String> {
    if !display_here {
        return Err(
            "no graphical display here ($DISPLAY and $WAYLAND_DISPLAY are unset): run the ssh -L line on your workstation and open the URL there"
                .into(),
        );
    }
    if let Some(program) = find("virt-viewer") {
        // `--connect=URI` and `--` keep a URI or UUID starting with '-' from reading as an
        // option (the UUID comes from the host).
        return Ok(ViewerCommand {
            program,
            args: vec![format!("--connect={uri}"), "--".into(), uuid.into()],
        });
    }
    let url = access.url.as_deref();
    if let (Some(program), Some(url)) = (find("remote-viewer"), url) {
        return Ok(ViewerCommand {
            program,
            args: vec![url.into()],
        });
    }
    if let (Some(program), Some(url), Protocol::Vnc) = (find("vncviewer"), url, &g.kind) {
        // TigerVNC/TightVNC take HOST::PORT for a raw port.
        let hostport = url.trim_start_matches("vnc://");
        let (host, arg) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, format!("{h}::{p}")),
            None => (hostport, hostport.to_string()),
        };
        // The argument starts with the host: one that is not an address could be an option.
        if !is_address(host) {
            return Err(format!(
                "refusing to pass {arg:?} to vncviewer: not a host name or address"
            ));
        }
        return Ok(ViewerCommand {
            program,
            args: vec![arg],
        });
    }
    if url.is_none() {
        return Err(format!(
            "the display is not reachable from here and virt-viewer is not installed ({})",
            access
                .note
                .clone()
                .unwrap_or_else(|| "it listens on the host's loopback only".into())
        ));
    }
    Err(format!(
        "no viewer found on PATH (tried {})",
        VIEWERS.join(", ")
    ))
}

/// Starts the viewer detached: no shell, its own process group (Ctrl-C in virtdeck does not
/// reach it), no access to the terminal. `on_exit` hears about a failed exit, with the last
/// line the viewer wrote to stderr.
pub fn spawn(
    cmd: &ViewerCommand,
    on_exit: impl FnOnce(Result<(), String>) + Send + 'static,
) -> Result<(), String> {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let name = cmd.name();
    let mut child = Command::new(&cmd.program)
        .args(&cmd.args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("could not start {name}: {e}"))?;
    let who = name.clone();
    std::thread::Builder::new()
        .name("viewer-wait".into())
        .spawn(move || {
            let name = who;
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            let status = child.wait();
            let last = err
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            on_exit(match status {
                Ok(s) if s.success() => Ok(()),
                Ok(s) => Err(format!(
                    "{name} exited ({s}){}",
                    if last.is_empty() {
                        String::new()
                    } else {
                        format!(": {last}")
                    }
                )),
                Err(e) => Err(format!("{name}: {e}")),
            });
        })
        .map_err(|e| format!("could not watch {name}: {e}"))?;
    Ok(())
}

/// The OSC 52 sequence that puts `text` on the clipboard of the terminal (and of tmux with
/// `set-clipboard on`).
pub fn osc52(text: &str) -> String {
    use base64::Engine;
    format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}
