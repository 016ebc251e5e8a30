//! The dashboard: one row per host with its load and history, and the selected host's detail
//! (sparklines, pools, the local machine).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Gauge, Paragraph, Row, Sparkline, Table};
use ratatui::Frame;

use super::hosts::status_cell;
use super::spark::spark;
use crate::app::dashboard::{levels, order, storage_pct, Level};
use crate::app::hitmap::List;
use crate::app::hosts::HostView;
use crate::app::App;
use crate::config::theme::Theme;
use crate::fmt;
use crate::sanitize;

pub fn level_style(t: &Theme, l: Level) -> Style {
    match l {
        Level::Ok => t.level_ok,
        Level::Warn => t.level_warn,
        Level::Crit => t.level_crit,
    }
}

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let ord = order(
        &app.hosts,
        app.dash.sort,
        app.dash.descending,
        &app.settings.thresholds,
    );
    let sel = app.dash.selected.min(ord.len().saturating_sub(1));
    let table_h = (ord.len() as u16 + 3).min(area.height.saturating_sub(8).max(4));
    let [top, bottom] =
        Layout::vertical([Constraint::Length(table_h), Constraint::Min(0)]).areas(area);
    render_table(app, f, top, &ord, sel);
    if let Some(&i) = ord.get(sel) {
        render_host(app, f, bottom, &app.hosts[i]);
    }
}

fn render_table(app: &App, f: &mut Frame, area: Rect, ord: &[usize], sel: usize) {
    let t = &app.theme;
    let th = &app.settings.thresholds;
    let wide = area.width >= 150;
    let narrow = area.width < 100;
    let spark_w = if wide {
        20
    } else if narrow {
        8
    } else {
        12
    };
    let host_w: u16 = if narrow { 12 } else { 16 };
    let visible = area.height.saturating_sub(3) as usize;
    let off = sel.saturating_sub(visible.saturating_sub(1));
    let body = Rect::new(
        area.x + 1,
        area.y + 2,
        area.width.saturating_sub(2),
        visible as u16,
    );
    app.hits
        .list(List::Pane(crate::app::panes::PaneId::Dashboard), body, off);
    let vms_of = |h: &HostView| {
        if h.updated_at.is_some() {
            format!("{}/{}", h.running(), h.vms.len())
        } else {
            "-".into()
        }
    };
    // Counts keep their room ("20000/20000"); the host name and the status give way.
    let vms_w = app
        .hosts
        .iter()
        .map(|h| vms_of(h).len())
        .chain([5])
        .max()
        .unwrap_or(5) as u16;
    // Each host's storage reading, by host index: formatted once for the width and the rows.
    let storages: Vec<Option<String>> = app
        .hosts
        .iter()
        .map(|h| {
            h.node.storage().map(|(cap, alloc, _)| {
                format!(
                    "{} of {}",
                    fmt::percent(storage_pct(h)),
                    fmt::bytes(cap.max(alloc))
                )
            })
        })
        .collect();
    // As wide as the longest reading ("100% of 1023.9 GiB" at most), so STATUS keeps its room.
    let storage_w = storages
        .iter()
        .filter_map(|s| s.as_ref().map(String::len))
        .chain([7])
        .max()
        .unwrap_or(7)
        .min(18) as u16;
    let mut widths = vec![
        Constraint::Length(host_w),
        Constraint::Length(4),
        Constraint::Length(5),
        Constraint::Length(spark_w as u16),
        Constraint::Length(5),
    ];
    // The history column's title fits its width (8 on a narrow terminal).
    let history = if narrow { "HISTORY" } else { "CPU HISTORY" };
    let mut header = vec!["HOST", "LOAD", "CPU", history, "MEM"];
    if wide {
        widths.extend([Constraint::Length(spark_w as u16), Constraint::Length(19)]);
        header.extend(["MEM HISTORY", "USED/TOTAL"]);
    }
    widths.extend([
        Constraint::Length(vms_w),
        Constraint::Length(5),
        Constraint::Length(storage_w),
        Constraint::Fill(1),
    ]);
    header.extend(["VMS", "vCPU", "STORAGE", "STATUS"]);
    // What the other columns leave to STATUS, so a long status ends in "…" instead of being
    // cut by the table.
    let status_w = super::pools::resolved(&widths, area.width)
        .last()
        .copied()
        .unwrap_or(0);
    let rows = ord
        .iter()
        .enumerate()
        .skip(off)
        .take(visible)
        .map(|(pos, &i)| {
            let h = &app.hosts[i];
            let lv = levels(h, th);
            let (status, st_style) = status_cell(h, t, app);
            let mem = h.node.memory.map(|m| {
                format!(
                    "{}/{}",
                    fmt::kib(m.total_kib.saturating_sub(m.available_kib)),
                    fmt::kib(m.total_kib)
                )
            });
            let load = lv.into_iter().max().unwrap_or(Level::Ok);
            let mut cells = vec![
                Cell::from(fmt::truncate_middle(&h.name, host_w as usize)).style(t.title),
                // What "sort by load" orders by: the worst of the four levels.
                Cell::from(if h.updated_at.is_some() {
                    load.label()
                } else {
                    "-"
                })
                .style(level_style(t, load)),
                Cell::from(format!("{:>5}", fmt::percent(h.node.cpu_pct)))
                    .style(level_style(t, lv[0])),
                Cell::from(spark(h.node.cpu_history.view(), spark_w, Some(100.0))).style(t.chart_a),
                Cell::from(format!("{:>5}", fmt::percent(h.node.memory_pct())))
                    .style(level_style(t, lv[1])),
            ];
            if wide {
                cells.push(
                    Cell::from(spark(h.node.mem_history.view(), spark_w, Some(100.0)))
                        .style(t.chart_b),
                );
                cells.push(Cell::from(mem.unwrap_or_else(|| "-".into())));
            }
            cells.extend([
                Cell::from(vms_of(h)),
                Cell::from(h.overcommit().map_or("-".into(), |o| format!("{o:.1}x")))
                    .style(level_style(t, lv[2])),
                Cell::from(fmt::truncate(
                    storages[i].as_deref().unwrap_or("-"),
                    storage_w as usize,
                ))
                .style(level_style(t, lv[3])),
                Cell::from(fmt::truncate(&status, status_w)).style(st_style),
            ]);
            let mut row = Row::new(cells);
            if h.is_stale() {
                row = row.style(t.dim);
            }
            if pos == sel {
                row = row.style(t.selected);
            }
            row
        });
    let connected = app.hosts.iter().filter(|h| h.status.is_connected()).count();
    let arrow = if app.dash.descending { " ▲" } else { "" };
    let mut title = Line::from(vec![
        Span::styled(" Dashboard ", t.title),
        Span::styled(
            format!(
                "{connected}/{} hosts connected · sort: {}{arrow} ",
                app.hosts.len(),
                app.dash.sort.title()
            ),
            t.dim,
        ),
    ]);
    if app.hosts.iter().any(|h| h.simulated()) {
        title.push_span(Span::styled("demo data ", t.pending));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(title);
    if app.hosts.is_empty() {
        f.render_widget(
            Paragraph::new(format!(
                "No hosts: press {} to add one",
                app.keymap
                    .key_for(
                        crate::config::keymap::Section::Dashboard,
                        crate::config::keymap::Action::AddHost
                    )
                    .unwrap_or("n")
            ))
            .style(t.dim)
            .centered()
            .block(block),
            area,
        );
        return;
    }
    f.render_widget(
        Table::new(rows, widths)
            .header(Row::new(header).style(t.header))
            .block(block)
            .column_spacing(1),
        area,
    );
}

fn render_host(app: &App, f: &mut Frame, area: Rect, h: &HostView) {
    let t = &app.theme;
    if area.height < 3 {
        return;
    }
    let info = h
        .info
        .as_ref()
        .map(|i| {
            sanitize::text(&format!(
                "{} · {} · libvirt {} · {} CPUs · {}",
                i.hostname,
                i.hypervisor,
                i.libvirt,
                i.cpus,
                fmt::kib(i.memory_kib)
            ))
            .into_owned()
        })
        .unwrap_or_default();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title({
            let [name, uri] = super::fit_names([&h.name, &h.uri], 3, area.width);
            let mut l = Line::from(vec![
                Span::styled(format!(" {name} "), t.title),
                Span::styled(format!("{uri} "), t.dim),
            ]);
            if h.simulated() {
                l.push_span(Span::styled("demo data ", t.pending));
            }
            l
        });
    let inner = block.inner(area);
    f.render_widget(block, area);
    let pools_h = h.node.pools.len().min(6) as u16;
    let local_h = h
        .node
        .local
        .as_ref()
        .map_or(0, |l| 2 + l.disks.len().min(4) as u16);
    let [info_a, cpu_a, mem_a, pools_a, local_a] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(3),
        Constraint::Length(3),
        Constraint::Length(pools_h + u16::from(pools_h > 0)),
        Constraint::Length(local_h),
    ])
    .areas(inner);
    f.render_widget(Paragraph::new(info).style(t.dim), info_a);
    let window = app.settings.poll_interval * h.node.cpu_history.capacity() as u32;
    // Tenths of a percent, on a scale of 1000. A reading, however low, is at least one eighth
    // of the lowest row (a baseline), so only a gap (no reading) is blank.
    let rows_h = 3.0;
    let floor = (1000.0 / (rows_h * 8.0) as f32).ceil() as u64;
    let spark_rows = |ring: &crate::metrics::Ring, width: u16| -> Vec<u64> {
        let n = ring.len().saturating_sub(width as usize);
        ring.iter()
            .skip(n)
            .map(|v| {
                if v.is_nan() {
                    0
                } else {
                    ((v * 10.0).round() as u64).clamp(floor, 1000)
                }
            })
            .collect()
    };
    for (a, label, value, ring, style) in [
        (cpu_a, "CPU", h.node.cpu_pct, &h.node.cpu_history, t.chart_a),
        (
            mem_a,
            "Memory (libvirt)",
            h.node.memory_pct(),
            &h.node.mem_history,
            t.chart_b,
        ),
    ] {
        let [l, r] = Layout::horizontal([Constraint::Length(16), Constraint::Fill(1)]).areas(a);
        f.render_widget(
            Paragraph::new(vec![
                Line::from(Span::styled(label, t.header)),
                Line::from(fmt::percent(value)),
                Line::from(Span::styled(
                    format!("last {}", fmt::duration(window)),
                    t.dim,
                )),
            ]),
            l,
        );
        f.render_widget(
            Sparkline::default()
                .data(spark_rows(ring, r.width))
                .max(1000)
                .style(style),
            r,
        );
    }
    if pools_h > 0 {
        let rows =
            Layout::vertical(vec![Constraint::Length(1); pools_h as usize + 1]).split(pools_a);
        f.render_widget(
            Paragraph::new(Span::styled("Storage pools (active)", t.header)),
            rows[0],
        );
        for (p, a) in h.node.pools.iter().zip(rows.iter().skip(1)) {
            let [l, g] =
                Layout::horizontal([Constraint::Length(16), Constraint::Fill(1)]).areas(*a);
            let ratio = if p.capacity > 0 {
                (p.allocation as f64 / p.capacity as f64).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let lv =
                crate::app::dashboard::level(Some(ratio * 100.0), app.settings.thresholds.storage);
            f.render_widget(Paragraph::new(fmt::truncate(&p.name, 15)), l);
            f.render_widget(
                Gauge::default()
                    .ratio(ratio)
                    .label(format!(
                        "{} used of {} · {} free",
                        fmt::bytes(p.allocation),
                        fmt::bytes(p.capacity),
                        fmt::bytes(p.available)
                    ))
                    .gauge_style(level_style(t, lv)),
                g,
            );
        }
    }
    if let Some(l) = &h.node.local {
        // One memory figure per host: libvirt's (above) when it has one, else this
        // machine's own reading, with its source named.
        let memory = if h.node.memory.is_some() {
            "memory: see above (libvirt)".to_string()
        } else {
            format!(
                "memory {} used of {} (sysinfo)",
                fmt::bytes(l.mem_used),
                fmt::bytes(l.mem_total)
            )
        };
        let mut lines = vec![
            Line::from(Span::styled("This machine", t.header)),
            Line::from(format!(
                "load {:.2} {:.2} {:.2} on {} CPUs · {memory}",
                l.load[0], l.load[1], l.load[2], l.cpus,
            )),
        ];
        for d in l.disks.iter().take(4) {
            let used = d.total.saturating_sub(d.available);
            lines.push(Line::from(format!(
                "  {:<20} {:>5} of {} used",
                fmt::truncate(&d.mount, 20),
                fmt::percent(Some(used as f64 / d.total.max(1) as f64 * 100.0)),
                fmt::bytes(d.total)
            )));
        }
        f.render_widget(Paragraph::new(lines), local_a);
    }
}
