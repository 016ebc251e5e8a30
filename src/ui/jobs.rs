//! The jobs pane: every transfer, clone, VM creation and migration of the fleet, one row each
//! with its progress, rate, ETA and state; the selected one's error in full below.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Wrap};
use ratatui::Frame;

use super::migrations::{bar, host_name, phase_style};
use super::pools::{block, empty_note, list_table};
use crate::app::jobs::{rows, Row as JobRow};
use crate::app::panes::{scope_label, PaneId};
use crate::app::App;
use crate::fmt;
use crate::job::JobState;
use crate::sanitize;

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let list = rows(app);
    let [top, bottom] = Layout::vertical([Constraint::Min(4), Constraint::Length(3)]).areas(area);
    let now = app.clock();
    let body = list.iter().map(|r| {
        let (kind, progress, rate, eta, state, style) = match r {
            JobRow::Job(j) => {
                let s = j.job.state();
                let style = match &s {
                    JobState::Running => t.state_running,
                    JobState::Done => t.level_ok,
                    JobState::Cancelled => t.level_warn,
                    JobState::Failed(_) => t.toast_error,
                };
                let state = match &s {
                    JobState::Running if j.job.is_cancelled() => "cancelling",
                    JobState::Running => "running",
                    JobState::Done => "done",
                    JobState::Cancelled => "cancelled",
                    JobState::Failed(_) => "failed",
                };
                let ratio = match s {
                    JobState::Done => Some(1.0),
                    _ if j.job.total() > 0 => Some(j.job.ratio()),
                    _ => None,
                };
                (
                    j.kind.label().to_string(),
                    bar(ratio, 16),
                    j.rate(now).map_or("-".into(), fmt::rate),
                    j.eta(now).map_or("-".into(), fmt::duration),
                    state.to_string(),
                    style,
                )
            }
            JobRow::Migration(m) => (
                "migration".to_string(),
                bar(m.ratio(), 16),
                m.speed_label(),
                m.eta_label(),
                m.phase.label().to_string(),
                phase_style(app, m.phase),
            ),
        };
        let host = match r {
            JobRow::Migration(m) => {
                format!(
                    "{} → {}",
                    host_name(app, m.source),
                    host_name(app, m.target)
                )
            }
            JobRow::Job(_) => host_name(app, r.host()),
        };
        Row::new(vec![
            Cell::from(kind),
            Cell::from(sanitize::text(r.target()).into_owned()),
            Cell::from(host),
            Cell::from(progress),
            Cell::from(rate),
            Cell::from(eta),
            Cell::from(state).style(style),
        ])
    });
    let running = list.iter().filter(|r| r.running()).count();
    let title = vec![
        Span::styled(" Jobs ", t.title),
        Span::styled(format!("{running} running "), t.dim),
        Span::styled(scope_label(app, PaneId::Jobs), t.filter),
    ];
    let widths = vec![
        Constraint::Length(9),
        Constraint::Fill(2),
        // Migrations name both hosts.
        Constraint::Fill(2),
        Constraint::Length(16),
        Constraint::Length(11),
        Constraint::Length(8),
        Constraint::Length(11),
    ];
    let header = vec!["KIND", "TARGET", "HOST", "PROGRESS", "RATE", "ETA", "STATE"];
    list_table(
        app,
        f,
        top,
        title,
        header,
        widths,
        body,
        (
            crate::app::hitmap::List::Pane(crate::app::panes::PaneId::Jobs),
            app.jobs.sel,
            list.len(),
        ),
    );
    if list.is_empty() {
        empty_note(
            app,
            f,
            top,
            "No jobs: uploads, downloads, clones, new VMs and migrations show here",
        );
    }
    let detail = match list.get(app.jobs.sel.min(list.len().saturating_sub(1))) {
        Some(JobRow::Job(j)) => match j.job.state() {
            JobState::Failed(e) => Line::from(Span::styled(
                format!("failed: {}", sanitize::text(&e)),
                t.toast_error,
            )),
            _ => Line::from(Span::styled(
                format!(
                    "{} — {} of {}",
                    sanitize::text(j.job.label()),
                    fmt::bytes(j.job.done()),
                    fmt::bytes(j.job.total())
                ),
                t.dim,
            )),
        },
        Some(JobRow::Migration(m)) => Line::from(Span::styled(
            match &m.error {
                Some(e) => format!("failed: {}", sanitize::text(e)),
                None => "details and controls: the migrations pane (5)".to_string(),
            },
            t.dim,
        )),
        None => Line::default(),
    };
    f.render_widget(
        Paragraph::new(detail)
            .wrap(Wrap { trim: true })
            .block(block(app, vec![Span::styled(" Selected ", t.title)])),
        bottom,
    );
}
