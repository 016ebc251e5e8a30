//! The add-host form overlay.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::centered;
use crate::app::add_host::{local_command, validate_uri, HostField, HostForm, TestState};
use crate::app::App;
use crate::config::keymap::{Action, Section};
use crate::fmt;

pub fn render(app: &App, f: &mut Frame, area: Rect, form: &HostForm) {
    let t = &app.theme;
    let rect = centered(area, 76, 16);
    f.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .style(t.dialog)
        .title(Span::styled(" Add host ", t.title));
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    let [uri_l, uri_f, uri_msg, name_l, name_f, warn_a, test_a, keys_a] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(2),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(2),
        Constraint::Length(1),
    ])
    .areas(inner);
    let label = |text: &'static str, on: bool| {
        Paragraph::new(Span::styled(text, if on { t.key_hint } else { t.header }))
    };
    f.render_widget(label("libvirt URI", form.focus == HostField::Uri), uri_l);
    let field_style = |on: bool| if on { t.filter } else { t.base };
    let mut uri = form.uri.clone();
    uri.set_style(field_style(form.focus == HostField::Uri));
    if form.focus != HostField::Uri {
        uri.set_cursor_style(field_style(false));
    }
    f.render_widget(&uri, uri_f);
    let text = form.uri_text();
    let (msg, style) = match (&form.error, validate_uri(&text)) {
        (Some(e), _) => (e.clone(), t.toast_error),
        (None, Err(e)) if !text.is_empty() => (e, t.level_warn),
        (None, Err(_)) => (
            "qemu:///system · qemu+ssh://user@host/system · qemu+tls://host/system".into(),
            t.dim,
        ),
        (None, Ok(())) => ("✓ valid URI".into(), t.level_ok),
    };
    f.render_widget(
        Paragraph::new(msg).style(style).wrap(Wrap { trim: true }),
        uri_msg,
    );
    f.render_widget(
        label("Name (optional)", form.focus == HostField::Name),
        name_l,
    );
    let mut name = form.name.clone();
    name.set_style(field_style(form.focus == HostField::Name));
    if form.focus != HostField::Name {
        name.set_cursor_style(field_style(false));
    }
    f.render_widget(&name, name_f);
    // Only for a valid URI: validation refuses control characters, so the text is safe to draw.
    if let Some(w) = local_command(&text).filter(|_| validate_uri(&text).is_ok()) {
        f.render_widget(Paragraph::new(format!("⚠ {w}")).style(t.level_warn), warn_a);
    }
    let (test, style) = match &form.test {
        TestState::Idle => ("Not tested yet.".to_string(), t.dim),
        TestState::Running { since, .. } => (
            format!(
                "Testing the connection… {}",
                fmt::duration(app.clock().saturating_duration_since(*since))
            ),
            t.pending,
        ),
        TestState::Passed { uri, text: ok } if *uri == text => {
            (format!("✓ connected: {ok}"), t.level_ok)
        }
        TestState::Failed { uri, error } if *uri == text => (format!("✖ {error}"), t.toast_error),
        TestState::Passed { .. } | TestState::Failed { .. } => {
            ("The URI changed since the last test.".to_string(), t.dim)
        }
    };
    f.render_widget(
        // The host's answer or libvirt's error.
        Paragraph::new(crate::sanitize::text(&test).into_owned())
            .style(style)
            .wrap(Wrap { trim: true }),
        test_a,
    );
    let key = |a| {
        app.keymap
            .key_for(Section::Form, a)
            .unwrap_or("?")
            .to_string()
    };
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(key(Action::NextField), t.key_hint),
            Span::raw(" field  "),
            Span::styled(key(Action::TestConnection), t.key_hint),
            Span::raw(" test  "),
            Span::styled(key(Action::Confirm), t.key_hint),
            // Read-only never writes config.toml.
            Span::raw(if app.settings.readonly {
                " add (session only)  "
            } else {
                " add & save to config  "
            }),
            Span::styled(key(Action::Cancel), t.key_hint),
            Span::raw(" cancel"),
        ])),
        keys_a,
    );
}
