//! The hosts pane: one line per host with its status, versions and VM counts.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table};
use ratatui::Frame;

use crate::app::hosts::{HostStatus, HostView};
use crate::app::App;
use crate::config::theme::Theme;
use crate::fmt;
use crate::sanitize;

/// Rows for the pane: all hosts up to a third of the screen, with borders and header.
pub fn height(app: &App, screen: u16) -> u16 {
    let rows = app.hosts.len().max(1) as u16;
    rows.min((screen / 3).saturating_sub(3).max(1)) + 3
}

/// A host's status; ages and countdowns read `app.clock()`, so only they tick the screen.
pub fn status_cell(host: &HostView, theme: &Theme, app: &App) -> (String, Style) {
    if let Some(since) = host.stalled_since {
        return (
            format!(
                "⏸ not responding for {}",
                fmt::duration(app.clock().saturating_duration_since(since))
            ),
            theme.host_unreachable,
        );
    }
    match &host.status {
        HostStatus::Connected => ("● connected".into(), theme.host_connected),
        HostStatus::Connecting { attempt: 0 } => ("◌ connecting".into(), theme.host_connecting),
        HostStatus::Connecting { attempt } => (
            format!("◌ connecting (try {})", attempt + 1),
            theme.host_connecting,
        ),
        HostStatus::Unreachable { error, retry_at } => (
            format!(
                "✖ unreachable, retry in {}: {}",
                fmt::duration(retry_at.saturating_duration_since(app.clock())),
                sanitize::text(error)
            ),
            theme.host_unreachable,
        ),
        HostStatus::Lost { error } => (
            format!("✖ lost: {}", sanitize::text(error)),
            theme.host_unreachable,
        ),
    }
}

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let wide = area.width >= 110;
    let host_w = 16;
    let vms_of = |h: &HostView| {
        if h.updated_at.is_none() {
            return "-".to_string();
        }
        let stale = if h.is_stale() {
            format!(
                " (stale {})",
                fmt::duration(
                    app.clock()
                        .saturating_duration_since(h.updated_at.unwrap_or(app.now))
                )
            )
        } else {
            String::new()
        };
        format!("{}/{} running{stale}", h.running(), h.vms.len())
    };
    // The counts keep their room ("20000/20000 running"); names give way.
    let vms_w = app
        .hosts
        .iter()
        .map(|h| vms_of(h).len())
        .chain([14])
        .max()
        .unwrap_or(14) as u16;
    let mut widths = vec![
        Constraint::Length(host_w as u16),
        Constraint::Length(vms_w),
        Constraint::Length(12),
        Constraint::Length(14),
    ];
    let mut header = vec!["HOST", "VMS", "HYPERVISOR", "LIBVIRT"];
    if wide {
        widths.push(Constraint::Length(30));
        header.push("URI");
    }
    widths.push(Constraint::Fill(1));
    header.push("STATUS");
    // A long status (libvirt's error) ends in "…" where the table cuts it.
    let status_w = super::pools::resolved(&widths, area.width)
        .last()
        .copied()
        .unwrap_or(0);
    let rows = app.hosts.iter().map(|h| {
        let (status, style) = status_cell(h, t, app);
        let info = h.info.as_ref();
        let mut cells = vec![
            Cell::from(fmt::truncate_middle(&h.name, host_w)).style(t.title),
            Cell::from(vms_of(h)),
            Cell::from(fmt::truncate(
                info.map(|i| i.hypervisor.as_str()).unwrap_or("-"),
                12,
            )),
            Cell::from(
                info.map(|i| fmt::truncate(&format!("libvirt {}", i.libvirt), 14))
                    .unwrap_or_default(),
            ),
        ];
        if wide {
            cells.push(Cell::from(fmt::truncate(&h.uri, 30)).style(t.dim));
        }
        cells.push(Cell::from(fmt::truncate(&status, status_w)).style(style));
        Row::new(cells)
    });
    let connected = app.hosts.iter().filter(|h| h.status.is_connected()).count();
    let title = Line::from(vec![
        Span::styled(" Hosts ", t.title),
        Span::styled(format!("{connected}/{} connected ", app.hosts.len()), t.dim),
    ]);
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(t.header))
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border)
                .title(title),
        )
        .column_spacing(1);
    f.render_widget(table, area);
}
