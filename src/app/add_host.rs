//! The add-host form: name and URI fields (`ratatui-textarea`), URI validation as the user
//! types, and a connection test that runs off the UI thread.

use std::time::Instant;

use ratatui_textarea::TextArea;

use crate::config::name_from_uri;

/// A key into a one-line text field. Keys that move between fields or pages (Tab, Shift-Tab
/// — which terminals send as BackTab with or without Shift —, Enter, Esc) never reach the
/// text, whatever their modifiers: a binding that misses on a modifier must not type.
pub fn edit_line(t: &mut TextArea<'static>, ev: crossterm::event::KeyEvent) -> bool {
    use crossterm::event::KeyCode;
    match ev.code {
        KeyCode::Tab | KeyCode::BackTab | KeyCode::Enter | KeyCode::Esc => false,
        _ => t.input(ev),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostField {
    Uri,
    Name,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TestState {
    Idle,
    Running { uri: String, since: Instant },
    Passed { uri: String, text: String },
    Failed { uri: String, error: String },
}

#[derive(Clone, Debug)]
pub struct HostForm {
    pub uri: TextArea<'static>,
    pub name: TextArea<'static>,
    pub focus: HostField,
    pub test: TestState,
    /// An error from the last save attempt (duplicate host…).
    pub error: Option<String>,
}

impl PartialEq for HostForm {
    fn eq(&self, o: &Self) -> bool {
        self.uri_text() == o.uri_text()
            && self.name_text() == o.name_text()
            && self.focus == o.focus
            && self.test == o.test
            && self.error == o.error
    }
}

fn field(placeholder: &str) -> TextArea<'static> {
    let mut t = TextArea::default();
    t.set_placeholder_text(placeholder);
    t.set_cursor_line_style(ratatui::style::Style::default());
    t
}

impl Default for HostForm {
    fn default() -> Self {
        HostForm {
            uri: field("qemu+ssh://root@kvm2.example/system"),
            name: field("(from the URI)"),
            focus: HostField::Uri,
            test: TestState::Idle,
            error: None,
        }
    }
}

impl HostForm {
    pub fn uri_text(&self) -> String {
        self.uri.lines().concat().trim().to_string()
    }

    pub fn name_text(&self) -> String {
        self.name.lines().concat().trim().to_string()
    }

    /// The name the host will get: typed, else derived from the URI.
    pub fn effective_name(&self) -> String {
        let n = self.name_text();
        if n.is_empty() {
            name_from_uri(&self.uri_text())
        } else {
            n
        }
    }

    pub fn focused(&mut self) -> &mut TextArea<'static> {
        match self.focus {
            HostField::Uri => &mut self.uri,
            HostField::Name => &mut self.name,
        }
    }

    pub fn next_field(&mut self) {
        self.focus = match self.focus {
            HostField::Uri => HostField::Name,
            HostField::Name => HostField::Uri,
        };
    }

    /// Records a connection test result if it is for the URI still in the field.
    pub fn test_finished(&mut self, uri: &str, result: Result<String, String>) {
        if !matches!(&self.test, TestState::Running { uri: u, .. } if u == uri) {
            return;
        }
        let uri = uri.to_string();
        self.test = match result {
            Ok(text) => TestState::Passed { uri, text },
            Err(error) => TestState::Failed { uri, error },
        };
    }
}

const TRANSPORTS: &[&str] = &["ssh", "libssh", "libssh2", "tls", "tcp", "unix", "ext"];
const DRIVERS: &[&str] = &[
    "qemu", "test", "lxc", "xen", "libxl", "ch", "bhyve", "vz", "openvz", "vbox", "esx", "gsx",
    "vpx", "hyperv", "remote",
];

/// Checks a libvirt URI's shape without connecting: `driver[+transport]://[user@][host[:port]]/path[?k=v&…]`.
pub fn validate_uri(uri: &str) -> Result<(), String> {
    if uri.is_empty() {
        return Err("enter a libvirt URI, e.g. qemu+ssh://root@host/system".into());
    }
    if let Some(c) = uri.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "URI contains {c:?}: spaces and control characters are not allowed"
        ));
    }
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Err("missing \"://\" (e.g. qemu:///system, qemu+ssh://host/system)".into());
    };
    let (driver, transport) = match scheme.split_once('+') {
        Some((d, t)) => (d, Some(t)),
        None => (scheme, None),
    };
    if !DRIVERS.contains(&driver) {
        return Err(format!(
            "unknown driver \"{driver}\" (known: {})",
            DRIVERS.join(", ")
        ));
    }
    if let Some(t) = transport {
        if !TRANSPORTS.contains(&t) {
            return Err(format!(
                "unknown transport \"+{t}\" (known: {})",
                TRANSPORTS.join(", ")
            ));
        }
    }
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.find('/') {
        Some(i) => (&before_query[..i], &before_query[i..]),
        None => (before_query, ""),
    };
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let (host, port) = if let Some(h) = host_port.strip_prefix('[') {
        // [ipv6]:port
        match h.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => return Err("unclosed '[' in the host".into()),
        }
    } else {
        match host_port.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if let Some(p) = port {
        if p.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!("port \"{p}\" is not a number from 1 to 65535"));
        }
    }
    let network = matches!(
        transport,
        Some("ssh" | "libssh" | "libssh2" | "tls" | "tcp")
    );
    if network && host.is_empty() {
        return Err(format!("+{} needs a host name", transport.unwrap_or("")));
    }
    if transport == Some("unix") && !host.is_empty() {
        return Err(
            "+unix connects to this machine: leave the host out (qemu+unix:///system)".into(),
        );
    }
    if driver == "qemu" && !matches!(path, "/system" | "/session") && !path.starts_with("/embed") {
        return Err(format!(
            "qemu URIs end in /system or /session, not \"{}\"",
            if path.is_empty() { "(nothing)" } else { path }
        ));
    }
    if driver == "test" && path.is_empty() {
        return Err("test URIs need a path: test:///default or test:///abs/path.xml".into());
    }
    if let Some(q) = query {
        for kv in q.split('&') {
            if kv.split_once('=').is_none_or(|(k, _)| k.is_empty()) {
                return Err(format!("query parameter \"{kv}\" is not key=value"));
            }
        }
    }
    Ok(())
}

/// The program on this machine a URI makes libvirt run, besides the usual `ssh`: the
/// `command=` parameter of the ssh and ext transports (libvirt searches PATH for it; ext
/// requires it). `netcat=` and `socket=` are not here: over ssh they run on the remote host.
/// libssh and libssh2 run in-process and ignore `command=`.
pub fn local_command(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let transport = scheme.split_once('+').map(|(_, t)| t)?;
    if !transport.eq_ignore_ascii_case("ssh") && !transport.eq_ignore_ascii_case("ext") {
        return None;
    }
    let command = rest.split_once('?').and_then(|(_, q)| {
        // libvirt keeps the last value of a repeated parameter.
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .rfind(|(k, _)| k.eq_ignore_ascii_case("command"))
            .map(|(_, v)| v.to_string())
    });
    match command {
        Some(c) => Some(format!(
            "runs the program \"{c}\" on this machine (command=)"
        )),
        None if transport.eq_ignore_ascii_case("ext") => {
            Some("+ext runs the program named by command= on this machine".into())
        }
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_uris_pass() {
        for u in [
            "qemu:///system",
            "qemu:///session",
            "qemu+ssh://root@kvm2.example/system",
            "qemu+ssh://root@127.0.0.1:2222/system?keyfile=/root/.ssh/id&no_verify=1",
            "qemu+tls://kvm3.example/system",
            "qemu+tcp://[::1]:16509/system",
            "qemu+unix:///system?socket=/run/x/libvirt-sock",
            "test:///default",
            "test:///tmp/fleet.xml",
            "lxc:///",
        ] {
            assert_eq!(validate_uri(u), Ok(()), "{u}");
        }
    }

    #[test]
    fn bad_uris_say_why() {
        for (u, why) in [
            ("", "enter"),
            ("kvm2", "://"),
            ("qemu+ssh:///system", "needs a host"),
            ("qemu+sssh://h/system", "unknown transport"),
            ("qmeu:///system", "unknown driver"),
            ("qemu://h/sytem", "/system or /session"),
            ("qemu+ssh://h:99999/system", "port"),
            ("qemu+ssh://h:/system", "port"),
            ("qemu+ssh://h /system", "spaces"),
            ("qemu+unix://h/system", "leave the host out"),
            ("qemu:///system?x", "key=value"),
            ("test://", "need a path"),
        ] {
            let e = validate_uri(u).unwrap_err();
            assert!(e.contains(why), "{u}: {e}");
        }
    }

    #[test]
    fn whitespace_only_uris_are_refused() {
        let mut f = HostForm::default();
        f.uri.insert_str("   ");
        assert!(validate_uri(&f.uri_text()).unwrap_err().contains("enter"));
        assert!(validate_uri(" \t").is_err());
    }

    #[test]
    fn uris_that_run_a_local_program_are_named() {
        let w = local_command("qemu+ssh://root@h/system?command=/tmp/evil&no_verify=1").unwrap();
        assert!(w.contains("\"/tmp/evil\" on this machine"), "{w}");
        let w = local_command("qemu+ext:///system?COMMAND=nc&command=ncat").unwrap();
        assert!(w.contains("\"ncat\""), "{w}");
        assert!(local_command("qemu+ext:///system")
            .unwrap()
            .contains("+ext"));
        for quiet in [
            "qemu+ssh://root@h/system",
            "qemu+ssh://root@h/system?netcat=/opt/nc&socket=/run/s",
            "qemu+libssh2://root@h/system?command=/tmp/x",
            "qemu+tls://h/system?command=/tmp/x",
            "qemu:///system",
        ] {
            assert_eq!(local_command(quiet), None, "{quiet}");
        }
    }

    #[test]
    fn test_results_only_for_the_current_uri() {
        let mut f = HostForm::default();
        f.uri.insert_str("qemu:///system");
        f.test = TestState::Running {
            uri: "qemu:///system".into(),
            since: Instant::now(),
        };
        f.test_finished("qemu:///other", Ok("x".into()));
        assert!(matches!(f.test, TestState::Running { .. }));
        f.test_finished("qemu:///system", Err("boom".into()));
        assert_eq!(
            f.test,
            TestState::Failed {
                uri: "qemu:///system".into(),
                error: "boom".into()
            }
        );
        assert_eq!(f.effective_name(), "localhost/system");
    }
}
