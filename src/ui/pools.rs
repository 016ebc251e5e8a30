//! The storage panes: pools of every host (with a usage gauge), one pool's volumes (with the
//! VMs using each and the running transfers), one host's secrets.

use crate::app::panes::{scope_label, PaneId};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Gauge, Paragraph, Row, Table, TableState};
use ratatui::Frame;

use super::vms::yes;
use crate::app::hitmap::List;
use crate::app::storage::{self, pool_rows};
use crate::app::App;
use crate::fmt;
use crate::job::JobState;
use crate::model::storage::PoolState;
use crate::sanitize;

/// Cells of a text gauge: `████░░░░ 63%`.
fn bar(used: u64, total: u64, width: usize) -> String {
    if total == 0 {
        return "-".into();
    }
    let pct = (used as f64 / total as f64).clamp(0.0, 1.0);
    let cells = width.saturating_sub(5);
    let full = (pct * cells as f64).round() as usize;
    format!(
        "{}{} {:>3.0}%",
        "█".repeat(full),
        "░".repeat(cells - full),
        pct * 100.0
    )
}

fn pool_state_style(app: &App, s: PoolState) -> Style {
    let t = &app.theme;
    match s {
        PoolState::Running => t.state_running,
        PoolState::Inactive => t.state_shutoff,
        PoolState::Building => t.pending,
        PoolState::Degraded | PoolState::Inaccessible => t.state_crashed,
    }
}

pub(super) fn block<'a>(app: &App, title: Vec<Span<'a>>) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(app.theme.border_focus)
        .title(Line::from(title))
}

/// A bordered table with a header whose cursor row (`sel`, clamped to `len`) is highlighted and
/// kept on screen: the shape of every list pane (pools, volumes, secrets, networks). Its rows
/// are recorded as `list`'s for the mouse.
#[allow(clippy::too_many_arguments)]
pub(super) fn list_table<'a>(
    app: &App,
    f: &mut Frame,
    area: Rect,
    title: Vec<Span<'a>>,
    header: Vec<&'a str>,
    widths: Vec<Constraint>,
    rows: impl IntoIterator<Item = Row<'a>>,
    (list, sel, len): (List, usize, usize),
) -> Rect {
    let t = &app.theme;
    let b = block(app, title);
    // The rows start under the header, inside the border.
    let mut body = b.inner(area);
    body.y += 1;
    body.height = body.height.saturating_sub(1);
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(t.header))
        .block(b)
        .column_spacing(1)
        .row_highlight_style(t.selected);
    let mut state = TableState::default().with_selected(Some(sel.min(len.saturating_sub(1))));
    f.render_stateful_widget(table, area, &mut state);
    app.hits.list(list, body, state.offset());
    body
}

/// A column as wide as its widest cell (or header), at most `max`: names stay whole when
/// the pane has room, and long ones cannot push the other columns out.
pub(super) fn fit<'s>(
    header: &str,
    cells: impl IntoIterator<Item = &'s str>,
    max: u16,
) -> Constraint {
    let widest = cells
        .into_iter()
        .map(sanitize::width)
        .chain([header.len()])
        .max()
        .unwrap_or(0);
    Constraint::Length((widest as u16).min(max))
}

/// Narrows the name columns `cols` (host, pool, network names) so that every fixed-width
/// column fits a pane `width` cells wide, borders and spacing included: the widest names give
/// way first, sizes and counts stay. Without it a narrow terminal over-constrains the layout
/// and the solver's pick varies between runs.
pub(super) fn give_way(widths: &mut [Constraint], cols: &[usize], width: u16) {
    let len = |c: &Constraint| match c {
        Constraint::Length(n) => *n,
        _ => 0,
    };
    let others: u16 = widths
        .iter()
        .enumerate()
        .filter(|(j, _)| !cols.contains(j))
        .map(|(_, c)| len(c))
        .sum();
    let room = width.saturating_sub(others + widths.len() as u16 - 1 + 2);
    let fits = |cap: u16| cols.iter().map(|&i| len(&widths[i]).min(cap)).sum::<u16>() <= room;
    let mut cap = cols.iter().map(|&i| len(&widths[i])).max().unwrap_or(0);
    while cap > 4 && !fits(cap) {
        cap -= 1;
    }
    for &i in cols {
        if let Some(Constraint::Length(n)) = widths.get_mut(i) {
            *n = (*n).min(cap);
        }
    }
}

/// The width each column gets in a bordered table `width` cells wide with one space between
/// columns: lengths as given, `Fill` columns share what is left by weight. Cells are cut to
/// these with a "…" (a value cut by the table itself would read as wrong data).
pub(super) fn resolved(widths: &[Constraint], width: u16) -> Vec<usize> {
    // The fixed lengths and the fill weights, in one pass.
    let (fixed, weights) = widths.iter().fold((0u16, 0u16), |(l, f), c| match c {
        Constraint::Length(n) => (l + n, f),
        Constraint::Fill(w) => (l, f + w),
        _ => (l, f),
    });
    let gaps = widths.len().saturating_sub(1) as u16;
    let room = width.saturating_sub(2 + gaps + fixed) as usize;
    widths
        .iter()
        .map(|c| match c {
            Constraint::Length(n) => *n as usize,
            Constraint::Fill(w) if weights > 0 => room * *w as usize / weights as usize,
            _ => 0,
        })
        .collect()
}

/// The HOST column of a fleet-wide pane, sized to the names of the hosts it lists.
pub(super) fn host_column(
    app: &App,
    ids: impl IntoIterator<Item = crate::model::HostId>,
) -> Constraint {
    let names: Vec<String> = ids
        .into_iter()
        .filter_map(|id| app.host(id).map(|h| h.name.clone()))
        .collect();
    fit("HOST", names.iter().map(String::as_str), 20)
}

/// A dim centred line under a table's header (empty or waiting tables).
pub(super) fn empty_note(app: &App, f: &mut Frame, area: Rect, text: &str) {
    let inner = Rect {
        x: area.x + 1,
        y: area.y + 2,
        width: area.width.saturating_sub(2),
        height: 1.min(area.height.saturating_sub(3)),
    };
    f.render_widget(
        Paragraph::new(sanitize::text(text).into_owned())
            .style(app.theme.dim)
            .centered(),
        inner,
    );
}

/// The right end of the status bar on storage panes ("3/12 pools").
pub fn render_pools(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let rows = pool_rows(app);
    let multi = app.hosts.len() > 1;
    let wide = area.width >= 110;
    let mut widths = Vec::new();
    let mut header = Vec::new();
    if multi {
        widths.push(host_column(app, rows.iter().map(|(h, _)| *h)));
        header.push("HOST");
    }
    widths.extend([
        fit("NAME", rows.iter().map(|(_, p)| p.name.as_str()), 28),
        Constraint::Length(8),
        fit("STATE", rows.iter().map(|(_, p)| p.state.label()), 12),
        Constraint::Length(4),
    ]);
    header.extend(["NAME", "TYPE", "STATE", "AUTO"]);
    widths.extend([
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(9),
    ]);
    header.extend(["CAPACITY", "ALLOC", "FREE"]);
    // Narrow panes keep the percentage and drop the bar, leaving the names some room.
    let gauge_w = if wide {
        22
    } else if area.width >= 100 {
        14
    } else {
        5
    };
    widths.push(Constraint::Length(gauge_w as u16));
    header.push("USED");
    if wide {
        widths.extend([Constraint::Length(5), Constraint::Fill(1)]);
        header.extend(["VOLS", "PATH"]);
    }
    let names: &[usize] = if multi { &[0, 1] } else { &[0] };
    give_way(&mut widths, names, area.width);
    let w = resolved(&widths, area.width);
    let first = usize::from(multi);
    let table_rows = rows.iter().map(|(hid, p)| {
        let mut cells = Vec::new();
        if multi {
            cells.push(Cell::from(
                app.host(*hid)
                    .map(|h| fmt::truncate_middle(&h.name, w[0]))
                    .unwrap_or_default(),
            ));
        }
        let active = p.state.is_active();
        let size = |n: u64| if active { fmt::bytes(n) } else { "-".into() };
        cells.extend([
            Cell::from(fmt::truncate(&p.name, w[first])),
            Cell::from(sanitize::text(&p.kind)),
            Cell::from(p.state.label()).style(pool_state_style(app, p.state)),
            Cell::from(yes(p.autostart)),
            Cell::from(format!("{:>9}", size(p.capacity))),
            Cell::from(format!("{:>9}", size(p.allocation))),
            Cell::from(format!("{:>9}", size(p.available))),
            Cell::from(if active {
                bar(p.allocation, p.capacity, gauge_w)
            } else {
                "-".into()
            }),
        ]);
        if wide {
            cells.push(Cell::from(if active {
                format!("{:>5}", p.volumes.len())
            } else {
                "    -".into()
            }));
            cells.push(Cell::from(fmt::truncate(
                p.target.as_deref().unwrap_or_default(),
                w[first + 9],
            )));
        }
        let mut row = Row::new(cells);
        if app.host(*hid).is_some_and(|h| h.is_stale()) {
            row = row.style(t.dim);
        }
        if !p.persistent {
            row = row.style(t.dim);
        }
        row
    });
    let title = vec![
        Span::styled(" Storage pools ", t.title),
        Span::styled(format!("{} ", rows.len()), t.dim),
        Span::styled(scope_label(app, PaneId::Pools), t.filter),
    ];
    let sel = (
        List::Pane(crate::app::panes::PaneId::Pools),
        app.storage.pool_sel,
        rows.len(),
    );
    list_table(app, f, area, title, header, widths, table_rows, sel);
    if rows.is_empty() {
        let waiting = app
            .hosts
            .iter()
            .any(|h| h.status.is_connected() && h.storage.is_none());
        empty_note(
            app,
            f,
            area,
            if waiting {
                "Reading pools…"
            } else {
                "No storage pools (n creates one)"
            },
        );
    }
}

pub fn render_volumes(
    app: &App,
    f: &mut Frame,
    area: Rect,
    host: crate::model::HostId,
    pool_name: &str,
) {
    let t = &app.theme;
    let jobs = crate::app::storage::transfers(app, host);
    let [table_area, jobs_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(if jobs.is_empty() {
            0
        } else {
            jobs.len() as u16 + 2
        }),
    ])
    .areas(area);
    let pool = storage::pool(app, host, pool_name);
    let host_name = app.host(host).map(|h| h.name.as_str()).unwrap_or_default();
    let free = pool
        .filter(|p| p.state.is_active())
        .map(|p| {
            format!(
                "{} free of {} ",
                fmt::bytes(p.available),
                fmt::bytes(p.capacity)
            )
        })
        .unwrap_or_default();
    // The free space stays; long pool and host names give way.
    let fixed = " Volumes of  ".len() + "on  ".len() + free.len();
    let [pool_shown, host_shown] = super::fit_names([pool_name, host_name], fixed, area.width);
    let title = vec![
        Span::styled(format!(" Volumes of {pool_shown} "), t.title),
        Span::styled(format!("on {host_shown} "), t.dim),
        Span::styled(free, t.dim),
        Span::styled(scope_label(app, PaneId::Volumes), t.filter),
    ];
    let wide = area.width >= 120;
    let mut widths = vec![
        Constraint::Fill(2),
        Constraint::Length(6),
        Constraint::Length(9),
        Constraint::Length(9),
    ];
    let mut header = vec!["NAME", "FORMAT", "CAPACITY", "ALLOC"];
    widths.push(Constraint::Fill(1));
    header.push("USED BY");
    if wide {
        widths.push(Constraint::Fill(2));
        header.push("PATH");
    }
    let vols = pool
        .map(|p| crate::app::storage::volume_rows(app, p))
        .unwrap_or_default();
    let rows = vols.iter().map(|&v| {
        let mut format = sanitize::text(&v.format).into_owned();
        if v.backing.is_some() {
            format.push('+');
        }
        let mut cells = vec![
            Cell::from(sanitize::text(&v.name)),
            Cell::from(format),
            Cell::from(format!("{:>9}", fmt::bytes(v.capacity))),
            Cell::from(format!("{:>9}", fmt::bytes(v.allocation))),
            Cell::from(if v.used_by.is_empty() {
                "-".to_string()
            } else {
                sanitize::text(&v.used_by.join(", ")).into_owned()
            })
            .style(if v.used_by.is_empty() { t.dim } else { t.base }),
        ];
        if wide {
            cells.push(Cell::from(sanitize::text(&v.path)));
        }
        Row::new(cells)
    });
    let sel = (
        List::Pane(crate::app::panes::PaneId::Volumes),
        app.storage.vol_sel,
        vols.len(),
    );
    list_table(app, f, table_area, title, header, widths, rows, sel);
    match pool {
        None => empty_note(app, f, table_area, "Reading the pool…"),
        Some(p) if !p.state.is_active() => empty_note(
            app,
            f,
            table_area,
            "The pool is not running: start it (s on the pools pane) to see its volumes",
        ),
        Some(p) if p.volumes.is_empty() => {
            empty_note(app, f, table_area, "No volumes (n creates one)")
        }
        _ => {}
    }
    if !jobs.is_empty() {
        render_jobs(app, f, jobs_area, &jobs);
    }
}

fn render_jobs(app: &App, f: &mut Frame, area: Rect, jobs: &[&crate::job::Job]) {
    let t = &app.theme;
    let b = block(app, vec![Span::styled(" Transfers ", t.title)]);
    let inner = b.inner(area);
    f.render_widget(b, area);
    for (i, job) in jobs.iter().enumerate() {
        let r = Rect {
            y: inner.y + i as u16,
            height: 1,
            ..inner
        };
        let (label, style) = match job.state() {
            JobState::Running => (
                format!(
                    "{} {} / {}",
                    job.label(),
                    fmt::bytes(job.done()),
                    fmt::bytes(job.total())
                ),
                t.pending,
            ),
            JobState::Done => (
                format!("{}: done ({})", job.label(), fmt::bytes(job.done())),
                t.level_ok,
            ),
            JobState::Cancelled => (format!("{}: cancelled", job.label()), t.level_warn),
            JobState::Failed(e) => (format!("{}: failed: {e}", job.label()), t.toast_error),
        };
        f.render_widget(
            Gauge::default()
                .ratio(job.ratio())
                .label(sanitize::text(&label).into_owned())
                .gauge_style(style),
            r,
        );
    }
}

pub fn render_secrets(app: &App, f: &mut Frame, area: Rect, host: crate::model::HostId) {
    let t = &app.theme;
    let host_name = app.host(host).map(|h| h.name.as_str()).unwrap_or_default();
    let [host_name] = super::fit_names([host_name], " Secrets on  ".len(), area.width);
    let secrets = storage::inventory(app, host)
        .map(|s| s.secrets.as_slice())
        .unwrap_or(&[]);
    let rows = secrets.iter().map(|s| {
        Row::new(vec![
            Cell::from(sanitize::text(&s.usage)),
            Cell::from(sanitize::text(&s.usage_id)),
            Cell::from(sanitize::text(&s.description)),
            Cell::from(if s.private { "private" } else { "-" }),
            Cell::from(sanitize::text(&s.uuid)).style(t.dim),
        ])
    });
    let widths = vec![
        Constraint::Length(6),
        Constraint::Fill(2),
        Constraint::Fill(2),
        Constraint::Length(7),
        Constraint::Length(36),
    ];
    let title = vec![
        Span::styled(" Secrets ", t.title),
        Span::styled(format!("on {host_name} "), t.dim),
    ];
    let header = vec!["USAGE", "NAME", "DESCRIPTION", "VALUE", "UUID"];
    let sel = (
        List::Pane(crate::app::panes::PaneId::Secrets),
        app.storage.secret_sel,
        secrets.len(),
    );
    list_table(app, f, area, title, header, widths, rows, sel);
    if secrets.is_empty() {
        empty_note(
            app,
            f,
            area,
            "No secrets (n creates one for a ceph or iscsi pool)",
        );
    }
}
