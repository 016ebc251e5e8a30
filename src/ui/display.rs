//! The display panel: each VNC/SPICE device of a VM, how to reach it, and the keys for copy,
//! viewer and preview.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::centered;
use crate::app::display::{DisplayPanel, PanelState};
use crate::app::App;
use crate::config::keymap::{Action, Section};
use crate::display::{access, exposure, listen_warning, Listen, Password, Protocol};

pub fn render(app: &App, f: &mut Frame, area: Rect, p: &DisplayPanel) {
    let t = &app.theme;
    let host = app.host(p.host);
    let (host_name, uri, hostname) = host
        .map(|h| {
            (
                h.name.as_str(),
                h.uri.as_str(),
                h.info.as_ref().map(|i| i.hostname.as_str()).unwrap_or(""),
            )
        })
        .unwrap_or(("?", "", ""));
    let label = |s: &'static str| Span::styled(format!("{s:<9}"), t.header);
    let mut lines = vec![
        Line::from(Span::styled(format!("{} on {host_name}", p.name), t.title)),
        Line::default(),
    ];
    match &p.state {
        PanelState::Loading => lines.push(Line::styled("reading the domain XML…", t.pending)),
        PanelState::Failed(e) => lines.push(Line::styled(e.clone(), t.toast_error)),
        PanelState::Ready(info) if info.graphics.is_empty() => {
            lines.push(Line::from(
                "This VM has no graphical display (no <graphics> device).",
            ));
            lines.push(Line::from("Its serial console is on `c`."));
        }
        PanelState::Ready(info) => {
            for (i, g) in info.graphics.iter().enumerate() {
                let mark = if i == p.selected && info.graphics.len() > 1 {
                    "▶ "
                } else {
                    ""
                };
                let listen = match &g.listen {
                    Listen::Address(a) => format!("listen {a}"),
                    Listen::Socket(s) => format!("socket {s}"),
                    Listen::None => "no listener".to_string(),
                };
                let port = match (g.port, g.autoport, info.active) {
                    (Some(p), _, _) => format!("port {p}"),
                    (None, true, false) => "port chosen at start (autoport)".into(),
                    (None, _, _) => "no port".into(),
                };
                let tls = g
                    .tls_port
                    .map(|p| format!(", TLS port {p}"))
                    .unwrap_or_default();
                let pw = match g.password {
                    Password::Set(_) => "password set",
                    Password::NotSet => "no password",
                    Password::Unknown => "password hidden (read-only connection)",
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("{mark}{}", g.kind.label()), t.title),
                    Span::raw(format!("  {listen}, {port}{tls}, {pw}")),
                ]));
                for w in [exposure(g), listen_warning(g)].into_iter().flatten() {
                    lines.push(Line::styled(format!("⚠ {w}"), t.level_crit));
                }
                if i != p.selected {
                    continue;
                }
                let a = access(g, uri, hostname);
                if let Some(w) = &a.warning {
                    lines.push(Line::styled(format!("⚠ {w}"), t.level_crit));
                }
                if let Some(u) = &a.url {
                    lines.push(Line::from(vec![label("URL"), Span::raw(u.clone())]));
                }
                if let Some(tn) = &a.tunnel {
                    lines.push(Line::from(vec![label("Tunnel"), Span::raw(tn.clone())]));
                    if let Some(tu) = &a.tunnel_url {
                        lines.push(Line::from(vec![
                            label("then"),
                            Span::raw(format!("remote-viewer {tu}")),
                        ]));
                    }
                }
                if let Some(n) = &a.note {
                    lines.push(Line::styled(n.clone(), t.dim));
                }
            }
        }
    }
    lines.push(Line::default());
    let preview_ok = matches!(&p.state, PanelState::Ready(i)
        if i.active && i.graphics.get(p.selected).is_some_and(|g| g.kind == Protocol::Vnc));
    let mut keys = Vec::new();
    for (a, what, shown) in [
        (Action::CopyUrl, "copy URL", true),
        (Action::CopyTunnel, "copy ssh", true),
        (Action::LaunchViewer, "viewer", true),
        (Action::Preview, "preview", preview_ok),
        (Action::NextField, "next", true),
        (Action::Back, "close", true),
    ] {
        if let (true, Some(k)) = (shown, app.keymap.key_for(Section::Display, a)) {
            keys.push(Span::styled(k.to_string(), t.key_hint));
            keys.push(Span::raw(format!(" {what}  ")));
        }
    }
    lines.push(Line::from(keys));
    let width = area.width.saturating_sub(4).min(100);
    // Rows once wrapped (warnings quote host text of any length), so the key line stays in
    // the box: word wrap may leave a row short, hence one spare row per wrapped line.
    let inner = usize::from(width.saturating_sub(2)).max(1);
    let rows: usize = lines
        .iter()
        .map(|l| match l.width() {
            w if w <= inner => 1,
            w => w.div_ceil(inner) + 1,
        })
        .sum();
    let rect = centered(area, width, u16::try_from(rows + 2).unwrap_or(u16::MAX));
    super::dialog::boxed(app, f, rect, lines, t.border_focus, " Display ");
}
