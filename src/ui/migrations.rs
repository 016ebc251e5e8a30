//! The migrations pane (every migration of the session, fleet-wide, with progress), the
//! migrate wizard's checks page and the evacuation plan.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Wrap};
use ratatui::Frame;

use super::pools::{block, empty_note, list_table};
use crate::app::migrations::evacuate_wizard::{self, EvacuateForm};
use crate::app::migrations::migrate_wizard::{self, MigrateForm};
use crate::app::migrations::Preflight;
use crate::app::wizard::Wizard;
use crate::app::App;
use crate::migrate::preflight::{blocking, Check, Status};
use crate::model::migration::{Migration, Phase};

pub(super) fn phase_style(app: &App, p: Phase) -> Style {
    let t = &app.theme;
    match p {
        Phase::Succeeded => t.level_ok,
        Phase::Failed => t.toast_error,
        Phase::Cancelled => t.level_warn,
        Phase::Running | Phase::Completing => t.state_running,
        Phase::Preflight | Phase::Queued => t.pending,
    }
}

/// `████░░░░ 63%` in `width` cells.
pub(super) fn bar(ratio: Option<f64>, width: usize) -> String {
    let Some(r) = ratio else {
        return "-".into();
    };
    let r = r.clamp(0.0, 1.0);
    let cells = width.saturating_sub(5);
    let full = (r * cells as f64).round() as usize;
    format!(
        "{}{} {:>3.0}%",
        "█".repeat(full),
        "░".repeat(cells - full),
        r * 100.0
    )
}

pub(super) fn host_name(app: &App, id: crate::model::HostId) -> String {
    app.host(id)
        .map(|h| crate::sanitize::text(&h.name).into_owned())
        .unwrap_or_default()
}

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let list = &app.migrations.list;
    let [top, bottom] = Layout::vertical([Constraint::Min(4), Constraint::Length(4)]).areas(area);
    let gauge_w = 16;
    let hosts: Vec<String> = list
        .iter()
        .map(|m| {
            format!(
                "{} → {}",
                host_name(app, m.source),
                host_name(app, m.target)
            )
        })
        .collect();
    // Below 140 columns the data and elapsed columns give way (the gauge and ETA stay).
    let wide = area.width >= 140;
    let mut widths = vec![
        super::pools::fit("VM", list.iter().map(|m| m.vm_name.as_str()), 28),
        super::pools::fit("HOSTS", hosts.iter().map(String::as_str), 36),
        Constraint::Fill(1),
        Constraint::Length(10),
        Constraint::Length(gauge_w as u16),
    ];
    let mut header = vec!["VM", "HOSTS", "TYPE", "PHASE", "PROGRESS"];
    if wide {
        widths.push(Constraint::Length(17));
        header.push("DATA");
    }
    widths.extend([Constraint::Length(10), Constraint::Length(7)]);
    header.extend(["SPEED", "ETA"]);
    if wide {
        widths.push(Constraint::Length(7));
        header.push("ELAPSED");
    }
    widths.push(Constraint::Length(8));
    header.push("DOWNTIME");
    // The names give way before the numbers, and what is cut ends in "…".
    super::pools::give_way(&mut widths, &[0, 1], top.width);
    let w = super::pools::resolved(&widths, top.width);
    let rows = list.iter().zip(&hosts).map(|(m, hosts)| {
        let mut cells = vec![
            Cell::from(crate::fmt::truncate(&m.vm_name, w[0])),
            Cell::from(crate::fmt::truncate(hosts, w[1])),
            Cell::from(crate::fmt::truncate(&m.options.summary(), w[2])),
            Cell::from(Span::styled(m.phase_label(), phase_style(app, m.phase))),
            Cell::from(bar(m.ratio(), gauge_w)),
        ];
        if wide {
            cells.push(Cell::from(m.data_label()));
        }
        cells.extend([Cell::from(m.speed_label()), Cell::from(m.eta_label())]);
        if wide {
            cells.push(Cell::from(
                m.elapsed(app.clock())
                    .map(crate::fmt::duration)
                    .unwrap_or_else(|| "-".into()),
            ));
        }
        cells.push(Cell::from(m.downtime_label()));
        Row::new(cells)
    });
    let active = app.migrations.active();
    let title = vec![
        Span::styled(" Migrations ", t.title),
        Span::styled(format!("{active} active "), t.dim),
    ];
    list_table(
        app,
        f,
        top,
        title,
        header,
        widths,
        rows,
        (
            crate::app::hitmap::List::Pane(crate::app::panes::PaneId::Migrations),
            app.migrations.sel,
            list.len(),
        ),
    );
    if list.is_empty() {
        empty_note(
            app,
            f,
            top,
            "No migrations yet: m on a VM migrates it, M on the dashboard evacuates a host",
        );
    }
    render_selected(app, f, bottom, app.migrations.selected());
}

/// The selected migration's options and, for a failed one, libvirt's error.
fn render_selected(app: &App, f: &mut Frame, area: Rect, m: Option<&Migration>) {
    let t = &app.theme;
    let b = block(app, vec![Span::styled(" Selected ", t.title)]);
    let mut lines = Vec::new();
    if let Some(m) = m {
        let o = &m.options;
        let mut opts = vec![o.kind.label().to_string()];
        if o.peer_to_peer {
            opts.push("peer-to-peer".into());
        }
        if o.tunnelled {
            opts.push("tunnelled".into());
        }
        if let Some(b) = o.bandwidth_mib_s {
            opts.push(format!("≤ {b} MiB/s"));
        }
        if let Some(d) = o.max_downtime_ms {
            opts.push(format!("downtime ≤ {d} ms"));
        }
        if m.postcopy {
            opts.push("post-copy running".into());
        }
        lines.push(Line::from(vec![
            Span::styled(format!("{}: ", crate::sanitize::text(&m.vm_name)), t.header),
            Span::raw(opts.join(", ")),
        ]));
        if let Some(e) = &m.error {
            lines.push(Line::from(Span::styled(
                crate::sanitize::text(e),
                t.toast_error,
            )));
        }
    }
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(b),
        area,
    );
}

/// The checks page of the migrate wizard: one block per VM, ✔ / ⚠ / ✖ per check.
pub fn checks_lines<'a>(app: &App, round: &'a [Preflight], allow: bool) -> Vec<Line<'a>> {
    let t = &app.theme;
    let mut lines = Vec::new();
    if round.is_empty() {
        lines.push(Line::from(Span::styled("Asking the hosts…", t.pending)));
    }
    for p in round {
        let summary = match &p.checks {
            None => Span::styled("checking…", t.pending),
            Some(c) if blocking(c, allow) => Span::styled("blocked", t.toast_error),
            Some(_) => Span::styled("ready", t.level_ok),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{}  ", crate::sanitize::text(&p.vm)), t.header),
            summary,
        ]));
        for c in p.checks.iter().flatten() {
            lines.push(check_line(app, "  ", c, 24));
        }
    }
    lines
}

/// A check line: mark, name, detail.
fn check_line<'a>(app: &App, indent: &str, c: &Check, width: usize) -> Line<'a> {
    let t = &app.theme;
    let (mark, style) = match c.status {
        Status::Pass => ("✔", t.level_ok),
        Status::Warn => ("⚠", t.level_warn),
        Status::Fail => ("✖", t.toast_error),
    };
    Line::from(vec![
        Span::styled(format!("{indent}{mark} "), style),
        Span::raw(format!("{:<width$} ", crate::sanitize::text(&c.name))),
        Span::styled(crate::sanitize::text(&c.detail).into_owned(), t.dim),
    ])
}

/// The last page of a migration wizard: the migrate wizard's pre-flight round, the
/// evacuation's plan; `None` for other wizards (their review shows a document).
pub fn wizard_review<'a>(app: &'a App, w: &Wizard) -> Option<Vec<Line<'a>>> {
    if w.spec_as::<MigrateForm>().is_some() {
        let allow = migrate_wizard::override_failures(w);
        Some(checks_lines(app, &app.migrations.preflight, allow))
    } else if w.spec_as::<EvacuateForm>().is_some() {
        Some(evacuation_lines(app, w))
    } else {
        None
    }
}

/// The evacuation wizard's plan page: "checking…" until every VM was checked against every
/// host, then where each VM goes (with its warnings) or why it stays.
pub fn evacuation_lines<'a>(app: &App, w: &Wizard) -> Vec<Line<'a>> {
    let t = &app.theme;
    let Some(EvacuateForm { name, vms, .. }) = w.spec_as() else {
        return Vec::new();
    };
    let round = &app.migrations.preflight;
    let Some(plan) = crate::app::migrations::evacuation::plan(app, w) else {
        let done = round.iter().filter(|p| p.checks.is_some()).count();
        let mut lines = vec![Line::from(Span::styled(
            format!(
                "checking… ({done}/{} pre-flight checks answered)",
                round.len()
            ),
            t.pending,
        ))];
        for vm in vms {
            let pending = round
                .iter()
                .any(|p| p.uuid == vm.uuid && p.checks.is_none());
            lines.push(Line::from(vec![
                Span::styled(format!("{}  ", crate::sanitize::text(&vm.name)), t.header),
                if pending {
                    Span::styled("checking…", t.pending)
                } else {
                    Span::styled("checked", t.dim)
                },
            ]));
        }
        return lines;
    };
    let go = plan.assignments().count();
    let stay = plan.verdicts.len() - go;
    let limit = evacuate_wizard::concurrency(w).unwrap_or(1);
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{go} of {} VM(s) leave {}, {limit} at a time; {stay} stay",
            plan.verdicts.len(),
            crate::sanitize::text(name)
        ),
        t.header,
    ))];
    for v in &plan.verdicts {
        let vm = format!(
            "{} ({})",
            crate::sanitize::text(&v.vm.name),
            crate::fmt::kib(v.vm.memory_kib)
        );
        match &v.to {
            Some((to, checks)) => {
                lines.push(Line::from(vec![
                    Span::styled("✔ ", t.level_ok),
                    Span::styled(vm, t.header),
                    Span::raw(format!(" → {}", host_name(app, *to))),
                ]));
                for c in checks.iter().filter(|c| c.status != Status::Pass) {
                    lines.push(check_line(app, "    ", c, 20));
                }
            }
            None => {
                lines.push(Line::from(vec![
                    Span::styled("✖ ", t.toast_error),
                    Span::styled(vm, t.header),
                    Span::styled(" stays", t.toast_error),
                ]));
                for (host, failed) in &v.refused {
                    let unknown = app.host(*host).is_none_or(|h| h.node.memory.is_none());
                    let why = match (failed.is_empty(), unknown) {
                        (false, _) => "refused:",
                        (true, true) => "checks pass, but it does not report its free memory",
                        (true, false) => "checks pass, but no room left there",
                    };
                    lines.push(Line::from(vec![
                        Span::raw(format!("  {}: ", host_name(app, *host))),
                        Span::styled(why, t.dim),
                    ]));
                    for c in failed {
                        lines.push(check_line(app, "    ", c, 20));
                    }
                }
            }
        }
    }
    lines
}
