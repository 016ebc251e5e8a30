//! The status bar (key hints from the keymap, counts) and the filter line.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use crate::app::{App, Mode};
use crate::config::keymap::{Action, Section};

/// The keymap section of what has the focus behind any overlay (the help lists it first).
pub fn focused_section(app: &App) -> Section {
    crate::app::panes::focused_section(app)
}

/// The actions hinted now, most useful first; hints that do not fit are dropped. A pane
/// hints its own; an overlay its keys.
fn hinted(app: &App) -> (Section, &'static [(Action, &'static str)]) {
    match &app.mode {
        // The XML editor shows its keys in its own title.
        Mode::Normal => (
            match focused_section(app) {
                Section::XmlEdit => Section::Detail,
                s => s,
            },
            crate::app::panes::spec(app.view.pane()).pane.hints(app),
        ),
        Mode::Display(_) => (
            Section::Display,
            &[
                (Action::CopyUrl, "copy URL"),
                (Action::CopyTunnel, "copy ssh -L"),
                (Action::LaunchViewer, "viewer"),
                (Action::Preview, "preview"),
                (Action::Back, "close"),
            ],
        ),
        Mode::Wizard(_) => (
            Section::Wizard,
            &[
                (Action::NextField, "next field"),
                (Action::Confirm, "next / finish"),
                (Action::Cancel, "back"),
            ],
        ),
        // The palette draws its own line.
        Mode::Palette(_) => (Section::Normal, &[]),
        Mode::AddHost(_) => (
            Section::Form,
            &[
                (Action::TestConnection, "test"),
                (Action::Confirm, "add"),
                (Action::Cancel, "cancel"),
            ],
        ),
        Mode::Filter => (
            Section::Filter,
            &[(Action::Confirm, "keep"), (Action::Cancel, "clear")],
        ),
        // Every key types the name there; the dialog shows Enter and Esc itself.
        Mode::Confirm(c) if c.typed.is_some() => (Section::Confirm, &[]),
        Mode::Confirm(_) => (
            Section::Confirm,
            &[(Action::Confirm, "yes"), (Action::Cancel, "no")],
        ),
        Mode::Help { .. } => (
            Section::Help,
            &[(Action::Down, "scroll"), (Action::Back, "close")],
        ),
        Mode::Log { .. } => (
            Section::Log,
            &[(Action::Down, "scroll"), (Action::Back, "close")],
        ),
    }
}

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let right = crate::app::panes::spec(app.view.pane()).pane.position(app);
    // Firing alerts: `:events kind:alert` lists them.
    let alerts = match app.alerts.active {
        0 => String::new(),
        1 => " ⚠ 1 alert ".to_string(),
        n => format!(" ⚠ {n} alerts "),
    };
    let budget = (area.width as usize).saturating_sub(right.width() + alerts.width() + 1);
    let (section, hints) = hinted(app);
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (action, label) in hints {
        // Read-only: what would be refused is not offered.
        if app.settings.readonly && crate::app::actions::change(section, *action).is_some() {
            continue;
        }
        let Some(key) = app.keymap.key_for(section, *action) else {
            continue;
        };
        let w = key.width() + label.width() + 3;
        if used + w > budget {
            break;
        }
        spans.push(Span::styled(key.to_string(), t.key_hint));
        spans.push(Span::raw(format!(" {label}  ")));
        used += w;
    }
    // The focused scope's plugins, after the pane's own keys, while no overlay is open.
    if app.mode == Mode::Normal {
        for p in crate::app::plugins::of_scope(app) {
            let (key, label) = (
                crate::sanitize::text(&p.key_text),
                crate::sanitize::text(&p.name),
            );
            let w = key.width() + label.width() + 3;
            if used + w > budget {
                break;
            }
            spans.push(Span::styled(key.into_owned(), t.key_hint));
            spans.push(Span::raw(format!(" {label}  ")));
            used += w;
        }
    }
    let pad = (area.width as usize).saturating_sub(used + right.width() + alerts.width());
    spans.push(Span::raw(" ".repeat(pad)));
    spans.push(Span::styled(alerts, t.level_crit));
    spans.push(Span::raw(right));
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.status_bar), area);
}

pub fn render_filter(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let editing = app.mode == Mode::Filter;
    let (text, error) = crate::app::panes::filter_state(app);
    let vms = app.view.pane() == crate::app::PaneId::Vms;
    let mut spans = vec![
        Span::styled(" / ", t.key_hint),
        Span::styled(crate::sanitize::text(&text).into_owned(), t.filter),
    ];
    if editing {
        spans.push(Span::styled("█", t.filter));
    }
    if let Some(e) = &error {
        spans.push(Span::styled(
            format!("   ✖ {} (filter unchanged)", crate::sanitize::text(e)),
            t.level_crit,
        ));
    } else if editing {
        spans.push(Span::styled(
            if vms {
                "   name, !name, host:NAME, state:running|paused|off|active, tag:T, re:REGEX"
            } else {
                "   name, !name, host:NAME, re:REGEX   (Enter keeps it, Esc clears it)"
            },
            t.dim,
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
