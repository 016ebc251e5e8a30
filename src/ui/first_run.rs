//! What a first run with nothing to show says: no host is configured or none answers (the
//! local daemon is not running, libvirt is not installed), and what to do about it — add a
//! host, try the demo, start libvirtd, ask `virtdeck doctor` — instead of an error alone.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::app::hosts::HostStatus;
use crate::app::App;
use crate::config::keymap::{Action, Section};
use crate::sanitize;

/// The notice's lines, when it applies: no host at all, or none has ever answered and each
/// has failed at least once (a host still connecting for the first time gets its chance).
pub fn lines(app: &App) -> Option<Vec<Line<'static>>> {
    let t = &app.theme;
    let failed =
        |s: &HostStatus| matches!(s, HostStatus::Unreachable { .. } | HostStatus::Lost { .. });
    let none_answered = app
        .hosts
        .iter()
        .all(|h| h.updated_at.is_none() && failed(&h.status));
    if !none_answered {
        return None;
    }
    // The focused pane's key, else the dashboard's after switching to it.
    let add = match app
        .keymap
        .key_for(crate::app::panes::focused_section(app), Action::AddHost)
    {
        Some(k) => k.to_string(),
        None => {
            let dash = app
                .keymap
                .key_for(Section::Normal, Action::ViewDashboard)
                .unwrap_or("1");
            let add = app
                .keymap
                .key_for(Section::Dashboard, Action::AddHost)
                .unwrap_or("n");
            format!("{dash} {add}")
        }
    };
    let mut out = vec![Line::from(Span::styled(
        if app.hosts.is_empty() {
            "No hosts yet".to_string()
        } else {
            "No hypervisor answers".to_string()
        },
        t.title,
    ))];
    out.push(Line::default());
    for h in app.hosts.iter().take(3) {
        let error = match &h.status {
            HostStatus::Unreachable { error, .. } | HostStatus::Lost { error } => error.clone(),
            _ => String::new(),
        };
        let first = error.lines().next().unwrap_or_default().to_string();
        out.push(Line::from(vec![
            Span::styled(format!("{}: ", sanitize::text(&h.name)), t.header),
            Span::raw(crate::fmt::truncate(&sanitize::text(&first), 90)),
        ]));
    }
    if app.hosts.len() > 3 {
        out.push(Line::from(Span::styled(
            format!("… and {} more", app.hosts.len() - 3),
            t.dim,
        )));
    }
    if !app.hosts.is_empty() {
        out.push(Line::default());
    }
    let key = |k: &str, what: &str| {
        Line::from(vec![
            Span::styled(format!("{k:<7}"), t.key_hint),
            Span::raw(what.to_string()),
        ])
    };
    out.push(key(
        &add,
        "add a host, e.g. qemu+ssh://root@kvm1/system (kept in config.toml)",
    ));
    out.push(key(":demo", "try every screen on the built-in demo fleet"));
    out.push(Line::default());
    out.push(Line::from(Span::styled(
        "This machine as a hypervisor: apt install libvirt-daemon-system qemu-system-x86,",
        t.dim,
    )));
    out.push(Line::from(Span::styled(
        "then systemctl start libvirtd. `virtdeck doctor` checks a host and says what to fix.",
        t.dim,
    )));
    Some(out)
}

/// Draws the notice over `area` when it applies.
pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let Some(lines) = lines(app) else { return };
    let h = lines.len() as u16 + 2;
    let rect = super::centered(area, 96, h);
    super::dialog::boxed(
        app,
        f,
        rect,
        lines,
        app.theme.border_focus,
        " Getting started ",
    );
}
