//! VNC / SPICE hand-off: what a domain's `<graphics>` elements say (type, listen address, port,
//! password), the URL and the `ssh -L` line that reach it, the viewer to launch, and whether it
//! is exposed. Pure functions of the domain XML and the host URI.

pub mod launch;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Graphics protocol of a `<graphics type=…>` element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Protocol {
    Vnc,
    Spice,
    Other(String),
}

impl Protocol {
    pub fn label(&self) -> &str {
        match self {
            Protocol::Vnc => "VNC",
            Protocol::Spice => "SPICE",
            Protocol::Other(s) => s,
        }
    }

    fn scheme(&self) -> Option<&'static str> {
        match self {
            Protocol::Vnc => Some("vnc"),
            Protocol::Spice => Some("spice"),
            Protocol::Other(_) => None,
        }
    }
}

/// Where the display listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listen {
    Address(String),
    /// A UNIX socket on the host (`<listen type='socket'>`).
    Socket(String),
    /// `<listen type='none'>`: only reachable through libvirt (open_graphics_fd).
    None,
}

/// Whether a password protects the display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Password {
    Set(String),
    NotSet,
    /// The XML was read without VIR_DOMAIN_XML_SECURE (read-only connection): libvirt hides it.
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Graphics {
    pub kind: Protocol,
    /// The port in use (live XML) or configured; None while autoport and not running.
    pub port: Option<u16>,
    pub tls_port: Option<u16>,
    pub autoport: bool,
    pub listen: Listen,
    pub password: Password,
}

/// Parses every `<graphics>` of a domain. `secure` says the XML was read with the SECURE flag
/// (only then does a missing `passwd` mean "no password").
pub fn parse(xml: &str, secure: bool) -> Result<Vec<Graphics>, String> {
    let mut r = Reader::from_str(xml);
    let mut out = Vec::new();
    let mut depth = 0usize;
    // Depth of the <graphics> we are inside (its <listen> children refine the address).
    let mut inside: Option<usize> = None;
    loop {
        let ev = r
            .read_event()
            .map_err(|e| format!("domain XML: {e} at byte {}", r.buffer_position()))?;
        match ev {
            Event::Start(e) => {
                depth += 1;
                on_element(&e, depth, secure, &mut inside, &mut out)?;
            }
            Event::Empty(e) => {
                on_element(&e, depth + 1, secure, &mut inside, &mut out)?;
                if inside == Some(depth + 1) {
                    inside = None;
                }
            }
            Event::End(_) => {
                if inside == Some(depth) {
                    inside = None;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

fn attr(e: &BytesStart, name: &str) -> Result<Option<String>, String> {
    match e.try_get_attribute(name) {
        Ok(Some(a)) => a
            .unescape_value()
            .map(|v| Some(v.into_owned()))
            .map_err(|err| format!("domain XML: attribute {name}: {err}")),
        Ok(None) => Ok(None),
        Err(err) => Err(format!("domain XML: attribute {name}: {err}")),
    }
}

fn port(v: Option<String>) -> Option<u16> {
    // libvirt writes -1 for "not allocated yet".
    v.and_then(|p| p.parse::<i32>().ok())
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p > 0)
}

fn on_element(
    e: &BytesStart,
    depth: usize,
    secure: bool,
    inside: &mut Option<usize>,
    out: &mut Vec<Graphics>,
) -> Result<(), String> {
    match e.name().as_ref() {
        // Only <devices><graphics>: depth 3 under <domain>.
        b"graphics" if depth == 3 => {
            let kind = match attr(e, "type")?.as_deref() {
                Some("vnc") => Protocol::Vnc,
                Some("spice") => Protocol::Spice,
                Some(other) => Protocol::Other(other.to_string()),
                None => Protocol::Other("unknown".into()),
            };
            let listen = match (attr(e, "listen")?, attr(e, "socket")?) {
                (_, Some(s)) => Listen::Socket(s),
                (Some(a), None) => Listen::Address(a),
                // QEMU's default (vnc_listen in qemu.conf) is 127.0.0.1.
                (None, None) => Listen::Address("127.0.0.1".into()),
            };
            let password = match attr(e, "passwd")? {
                Some(p) => Password::Set(p),
                None if secure => Password::NotSet,
                None => Password::Unknown,
            };
            out.push(Graphics {
                kind,
                port: port(attr(e, "port")?),
                tls_port: port(attr(e, "tlsPort")?),
                autoport: attr(e, "autoport")?.as_deref() == Some("yes"),
                listen,
                password,
            });
            *inside = Some(depth);
        }
        b"listen" if inside.is_some_and(|d| depth == d + 1) => {
            let Some(g) = out.last_mut() else {
                return Ok(());
            };
            match attr(e, "type")?.as_deref() {
                Some("socket") => {
                    if let Some(s) = attr(e, "socket")? {
                        g.listen = Listen::Socket(s);
                    }
                }
                Some("none") => g.listen = Listen::None,
                // type='address' or 'network': the resolved address is in `address`.
                _ => {
                    if let Some(a) = attr(e, "address")? {
                        g.listen = Listen::Address(a);
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn is_wildcard(a: &str) -> bool {
    matches!(a, "0.0.0.0" | "::" | "[::]" | "")
}

fn is_loopback(a: &str) -> bool {
    a == "localhost" || a.starts_with("127.") || a == "::1" || a == "[::1]"
}

/// A warning when anyone on the network can reach the display without a password.
pub fn exposure(g: &Graphics) -> Option<String> {
    let Listen::Address(a) = &g.listen else {
        return None;
    };
    // Not an address QEMU can listen on: `listen_warning` says what is wrong with it.
    if is_loopback(a) || !(is_wildcard(a) || is_address(a)) {
        return None;
    }
    let where_ = if is_wildcard(a) {
        "all addresses".to_string()
    } else {
        a.clone()
    };
    match g.password {
        Password::NotSet => Some(format!(
            "{} listens on {where_} without a password: anyone who can reach the port gets the screen and keyboard",
            g.kind.label()
        )),
        Password::Unknown => Some(format!(
            "{} listens on {where_}; whether a password is set is hidden on a read-only connection",
            g.kind.label()
        )),
        Password::Set(_) => None,
    }
}

/// The parts of a libvirt URI that say how to reach its host.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UriHost {
    pub transport: String,
    pub user: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
}

pub fn uri_host(uri: &str) -> UriHost {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return UriHost::default();
    };
    let transport = scheme.split_once('+').map(|(_, t)| t).unwrap_or("");
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u.to_string()), h),
        None => (None, authority),
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, p)) => (
                h.to_string(),
                p.strip_prefix(':').and_then(|p| p.parse().ok()),
            ),
            None => (v6.to_string(), None),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().ok()),
            None => (hostport.to_string(), None),
        }
    };
    UriHost {
        transport: transport.to_string(),
        user,
        host: Some(host).filter(|h| !h.is_empty()),
        port,
    }
}

/// What virtdeck can tell the user about reaching one display.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Access {
    /// vnc://HOST:PORT or spice://HOST:PORT as seen from where virtdeck runs.
    pub url: Option<String>,
    /// `ssh -N -L …` that tunnels the display to the user's machine, quoted for a POSIX shell.
    pub tunnel: Option<String>,
    /// The URL to open once the tunnel runs.
    pub tunnel_url: Option<String>,
    /// Why there is no URL (not running, socket only…).
    pub note: Option<String>,
    /// Why the ssh line was refused or needs a look: the URI's user or host, or the host's
    /// own name, is not something to put on a command line. (Listen problems are
    /// [`listen_warning`]'s.)
    pub warning: Option<String>,
}

fn bracket(h: &str) -> String {
    if h.contains(':') && !h.starts_with('[') {
        format!("[{h}]")
    } else {
        h.to_string()
    }
}

/// An RFC 1123 host name (letters, digits, '-' inside labels, dots between them).
fn is_hostname(h: &str) -> bool {
    let h = h.strip_suffix('.').unwrap_or(h);
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// An IP address (IPv6 with or without brackets) or a host name: safe in a URL, on a command
/// line and as a viewer argument (it cannot start with '-').
pub fn is_address(a: &str) -> bool {
    let bare = a
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(a);
    bare.parse::<std::net::IpAddr>().is_ok() || is_hostname(a)
}

/// Why a socket path cannot go into `ssh -L` at all: a control character (a newline ends the
/// pasted command; others are read by the terminal or the line editor) or a ':' (ssh splits
/// the forward spec on it).
fn socket_refusal(path: &str) -> Option<&'static str> {
    if path.chars().any(char::is_control) {
        Some("holds control characters")
    } else if path.contains(':') {
        Some("holds ':', which ssh -L reads as a separator")
    } else {
        None
    }
}

/// A warning when the listen address or socket path of `g` is not a plain address or path.
/// Such text comes from whoever defined the domain and may be crafted to run commands in the
/// shell of whoever pastes a tunnel line.
pub fn listen_warning(g: &Graphics) -> Option<String> {
    match &g.listen {
        Listen::Address(a) if is_wildcard(a) || is_address(a) => None,
        Listen::Address(a) => Some(format!(
            "the listen address {a:?} is not an IP address or host name: no URL or ssh line is offered"
        )),
        Listen::Socket(p) => match socket_refusal(p) {
            Some(why) => Some(format!(
                "the socket path {p:?} {why}: no ssh line is offered"
            )),
            // A plain path needs no quoting; anything else is quoted in the ssh line.
            None if !p.starts_with('/') || shlex::try_quote(p).ok().as_deref() != Some(p) => {
                Some(format!(
                    "the socket path {p:?} is not a plain path (shell syntax, spaces or a relative path): the ssh line quotes it"
                ))
            }
            None => None,
        },
        Listen::None => None,
    }
}

/// `words` as one line for a POSIX shell, each quoted where needed; `None` when a word holds
/// a control character (no quoting makes a pasted newline or terminal control safe to read).
fn shell_line(words: &[&str]) -> Option<String> {
    if words.iter().any(|w| w.chars().any(char::is_control)) {
        return None;
    }
    shlex::try_join(words.iter().copied()).ok()
}

/// The ssh destination (`-p PORT` words first: after the destination ssh reads a remote
/// command), or why there is none. The URI's host and the host's own name are checked to be
/// host names or addresses and the user not to start with '-' (ssh would read an option).
fn ssh_target(h: &UriHost, hostname: &str) -> Result<Vec<String>, String> {
    let Some(host) = &h.host else {
        return Ok(vec![if is_hostname(hostname) {
            hostname.to_string()
        } else {
            "THIS-HOST".to_string()
        }]);
    };
    if !is_address(host) {
        return Err(format!(
            "the URI's host {host:?} is not a host name or address: no ssh line"
        ));
    }
    let mut out = Vec::new();
    if let ("ssh", Some(p)) = (h.transport.as_str(), h.port) {
        if p != 22 {
            out.extend(["-p".to_string(), p.to_string()]);
        }
    }
    match h.user.as_deref().filter(|u| !u.is_empty()) {
        Some(u) if u.starts_with('-') || u.chars().any(char::is_control) => {
            return Err(format!(
                "the URI's user {u:?} cannot be given to ssh safely: no ssh line"
            ));
        }
        Some(u) => out.push(format!("{u}@{host}")),
        None => out.push(host.clone()),
    }
    Ok(out)
}

/// URL and tunnel for `g` on the host of `uri`. `hostname` is what the host calls itself
/// (from libvirt), used when the URI is local: the user then reaches this machine by ssh.
/// The tunnel is quoted for a POSIX shell: every part of it (listen address, socket path,
/// URI user and host) is text a host or a config file supplied.
pub fn access(g: &Graphics, uri: &str, hostname: &str) -> Access {
    let h = uri_host(uri);
    let mut a = Access::default();
    let Some(scheme) = g.kind.scheme() else {
        a.note = Some(format!("{} displays are not handled", g.kind.label()));
        return a;
    };
    if h.host.is_none() && !hostname.is_empty() && !is_hostname(hostname) {
        a.warning = Some(format!(
            "the host calls itself {hostname:?}, not a host name: the ssh line says THIS-HOST"
        ));
    }
    let target = ssh_target(&h, hostname)
        .map_err(|w| a.warning = Some(w))
        .ok();
    let tunnel = |forward: String| {
        let target = target.as_ref()?;
        let mut words = vec!["ssh", "-N", "-L", forward.as_str()];
        words.extend(target.iter().map(String::as_str));
        shell_line(&words)
    };
    match &g.listen {
        Listen::None => {
            a.note = Some(
                "listens nowhere: only reachable through libvirt (preview, virt-viewer)".into(),
            );
        }
        Listen::Socket(path) => {
            let local = 5900;
            if socket_refusal(path).is_none() {
                a.tunnel = tunnel(format!("{local}:{path}"));
                a.tunnel_url = a
                    .tunnel
                    .as_ref()
                    .map(|_| format!("{scheme}://127.0.0.1:{local}"));
            }
            a.note = Some("listens on a UNIX socket of the host".into());
        }
        Listen::Address(addr) if !is_wildcard(addr) && !is_address(addr) => {
            a.note = Some("no URL or ssh line for this listen address".into());
        }
        Listen::Address(addr) => {
            let Some(port) = g.port else {
                a.note = Some("no port yet: the port is chosen when the VM starts".into());
                return a;
            };
            let reach = match &h.host {
                // Remote host: a wildcard or the host's own address is reachable by its name.
                Some(host) if is_wildcard(addr) => {
                    Some(host).filter(|h| is_address(h)).map(|h| bracket(h))
                }
                Some(_) if is_loopback(addr) => None,
                Some(_) => Some(bracket(addr)),
                None if is_wildcard(addr) => Some("127.0.0.1".to_string()),
                None => Some(bracket(addr)),
            };
            a.url = reach.map(|r| format!("{scheme}://{r}:{port}"));
            let inner = if is_wildcard(addr) {
                "127.0.0.1".to_string()
            } else {
                bracket(addr)
            };
            a.tunnel = tunnel(format!("{port}:{inner}:{port}"));
            a.tunnel_url = a
                .tunnel
                .as_ref()
                .map(|_| format!("{scheme}://127.0.0.1:{port}"));
        }
    }
    a
}

#[cfg(test)]
mod tests;
