//! The VM table across all hosts. Only the visible rows are built, so 5,000 VMs cost the same
//! to draw as 50.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};
use ratatui::Frame;

use crate::app::groups::Line as GroupLine;
use crate::app::hitmap::List;
use crate::app::table::{RowRef, SortKey};
use crate::app::App;
use crate::config::theme::Theme;
use crate::fmt;
use crate::model::{Known, VmState};
use crate::sanitize;

pub fn state_style(theme: &Theme, s: VmState) -> Style {
    match s {
        VmState::Running | VmState::Blocked => theme.state_running,
        VmState::Paused => theme.state_paused,
        VmState::Shutoff => theme.state_shutoff,
        VmState::Crashed => theme.state_crashed,
        _ => theme.state_other,
    }
}

struct Col {
    key: Option<SortKey>,
    title: &'static str,
    width: Constraint,
}

fn columns(app: &App, width: u16) -> Vec<Col> {
    let mut cols = vec![Col {
        key: None,
        title: "",
        width: Constraint::Length(1),
    }];
    if app.hosts.len() > 1 {
        cols.push(Col {
            key: Some(SortKey::Host),
            title: "HOST",
            width: Constraint::Length(if width >= 100 { 16 } else { 12 }),
        });
    }
    cols.extend([
        Col {
            key: Some(SortKey::Name),
            title: "NAME",
            width: Constraint::Fill(1),
        },
        Col {
            key: Some(SortKey::State),
            title: "STATE",
            width: Constraint::Length(15),
        },
        Col {
            key: Some(SortKey::Vcpus),
            title: "CPUS",
            width: Constraint::Length(4),
        },
        Col {
            key: Some(SortKey::Memory),
            title: "MEMORY",
            width: Constraint::Length(9),
        },
    ]);
    // Figures no host reports (the test driver has none) would only take NAME's room; a table
    // sorted by one keeps it, so the sort shows.
    let rates = app.hosts.iter().any(|h| h.has_rates());
    let sorted_by = |k: SortKey| app.vms.sort == k;
    if rates || sorted_by(SortKey::Cpu) {
        cols.push(Col {
            key: Some(SortKey::Cpu),
            title: "CPU%",
            width: Constraint::Length(5),
        });
    }
    if width >= 120 && (rates || sorted_by(SortKey::Disk) || sorted_by(SortKey::Net)) {
        cols.extend([
            Col {
                key: Some(SortKey::Disk),
                title: "DISK/s R/W",
                width: Constraint::Length(11),
            },
            Col {
                key: Some(SortKey::Net),
                title: "NET/s RX/TX",
                width: Constraint::Length(11),
            },
        ]);
    }
    // Only when some VM has tags: an empty column would starve NAME.
    if width >= 100
        && app
            .hosts
            .iter()
            .any(|h| h.vms.iter().any(|v| !v.tags.is_empty()))
    {
        cols.push(Col {
            key: None,
            title: "TAGS",
            width: Constraint::Length(16),
        });
    }
    if width >= 100 && app.hosts.iter().any(|h| !h.addresses.is_empty()) {
        cols.push(Col {
            key: None,
            title: "IP",
            width: Constraint::Length(15),
        });
    }
    if width >= 72 {
        cols.extend([
            Col {
                key: Some(SortKey::Autostart),
                title: "AUTO",
                width: Constraint::Length(4),
            },
            Col {
                key: Some(SortKey::Persistent),
                title: "PERS",
                width: Constraint::Length(4),
            },
        ]);
    }
    cols
}

/// Keeps the cursor on screen, scrolling as little as possible from the previous frame.
fn scroll(app: &App, visible: usize) -> usize {
    let sel = app.vms.selected;
    let mut off = app.vms.table_offset.get();
    if sel < off {
        off = sel;
    } else if visible > 0 && sel >= off + visible {
        off = sel + 1 - visible;
    }
    off = off.min(app.vms.cursor_len().saturating_sub(visible));
    app.vms.table_offset.set(off);
    app.vms.table_page.set(visible.max(1));
    off
}

pub(super) fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "-"
    }
}

/// The VM's first IPv4 address (else any), or "-".
fn first_ip(h: &crate::app::hosts::HostView, uuid: &str) -> String {
    let Some(addrs) = h.addresses.get(uuid) else {
        return "-".into();
    };
    addrs
        .iter()
        .find(|a| !a.ip.contains(':'))
        .or(addrs.first())
        .map(|a| sanitize::text(&a.ip).into_owned())
        .unwrap_or_else(|| "-".into())
}

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let cols = columns(app, area.width);
    let visible = area.height.saturating_sub(3) as usize;
    let widths: Vec<Constraint> = cols.iter().map(|c| c.width).collect();
    // Resolve the widths the table will use, to cut long names with an ellipsis.
    let inner = Rect {
        width: area.width.saturating_sub(2),
        ..area
    };
    let resolved = Layout::horizontal(widths.clone()).spacing(1).split(inner);
    let width_of = |title: &str| {
        cols.iter()
            .position(|c| c.title == title)
            .map(|i| resolved[i].width as usize)
            .unwrap_or(0)
    };
    let (name_w, host_w) = (width_of("NAME"), width_of("HOST"));
    let off = scroll(app, visible);
    // Rows start under the top border and the header.
    let body = Rect::new(
        area.x + 1,
        area.y + 2,
        area.width.saturating_sub(2),
        visible as u16,
    );
    app.hits
        .list(List::Pane(crate::app::panes::PaneId::Vms), body, off);
    let multi_host = app.hosts.len() > 1;
    let wide_io = cols.iter().any(|c| c.key == Some(SortKey::Disk));
    let show_ip = cols.iter().any(|c| c.title == "IP");
    let show_tags = cols.iter().any(|c| c.title == "TAGS");
    let show_cpu = cols.iter().any(|c| c.title == "CPU%");
    // `i`: the row's line (the cursor's unit: rows, or headers and rows when grouped).
    let vm_row = |i: usize, r: &RowRef| {
        let (h, vm) = app.vm(*r);
        let marked = app.is_marked(h.id, &vm.uuid);
        let (state_text, state_st) = match app.vms.pending.get(&(h.id, vm.uuid.clone())) {
            Some(op) => (format!("⋯ {}", op.pending_label()), t.pending),
            // Only the list call is in: whether it runs, not how.
            None if vm.known == Known::Listed => {
                let label = if vm.state.is_active() {
                    "active"
                } else {
                    "shut off"
                };
                (format!("… {label}"), t.dim)
            }
            None if vm.template && !vm.state.is_active() => ("▣ template".to_string(), t.dim),
            None => {
                // A shut-off VM with a managed save image resumes where it was.
                let label = if vm.managed_save && !vm.state.is_active() {
                    "saved"
                } else {
                    vm.state.label()
                };
                (
                    format!("{} {label}", vm.state.symbol()),
                    state_style(t, vm.state),
                )
            }
        };
        let mut cells = vec![Cell::from(if marked { "✓" } else { " " }).style(t.marked)];
        if multi_host {
            cells.push(Cell::from(fmt::truncate_middle(&h.name, host_w)));
        }
        cells.extend([
            Cell::from(fmt::truncate(&vm.name, name_w)),
            Cell::from(state_text).style(state_st),
            Cell::from(format!(
                "{:>4}",
                counted(vm.vcpus.into(), |n| n.to_string())
            )),
            Cell::from(format!("{:>9}", counted(vm.max_memory_kib, fmt::kib))),
        ]);
        if show_cpu {
            cells.push(Cell::from(format!(
                "{:>5}",
                fmt::percent(h.cpu_pct(&vm.uuid))
            )));
        }
        if wide_io {
            let r = h.rates(&vm.uuid).unwrap_or_default();
            let pair = |a: Option<f64>, b: Option<f64>| {
                if a.is_none() && b.is_none() {
                    "-".to_string()
                } else {
                    format!("{}/{}", fmt::rate_short(a), fmt::rate_short(b))
                }
            };
            cells.push(Cell::from(format!(
                "{:>11}",
                pair(r.disk_rd_bps, r.disk_wr_bps)
            )));
            cells.push(Cell::from(format!(
                "{:>11}",
                pair(r.net_rx_bps, r.net_tx_bps)
            )));
        }
        if show_tags {
            cells.push(Cell::from(fmt::truncate(&vm.tags.join(" "), 16)).style(t.dim));
        }
        if show_ip {
            cells.push(Cell::from(fmt::truncate(&first_ip(h, &vm.uuid), 15)));
        }
        if cols.len() > cells.len() {
            let flag = |b: bool| {
                if vm.known == Known::Listed {
                    "…"
                } else {
                    yes(b)
                }
            };
            cells.push(Cell::from(flag(vm.autostart)));
            cells.push(Cell::from(flag(vm.persistent)));
        }
        let mut row = Row::new(cells);
        if h.is_stale() {
            row = row.style(t.dim);
        }
        if marked {
            row = row.style(t.marked);
        }
        if i == app.vms.selected {
            row = row.style(t.selected);
        }
        row
    };
    let grouped = app.vms.group_by.is_some();
    let rows: Vec<Row> = if grouped {
        app.vms
            .lines
            .iter()
            .enumerate()
            .skip(off)
            .take(visible)
            .filter_map(|(i, l)| match l {
                GroupLine::Row(r) => app.vms.rows.get(*r).map(|r| vm_row(i, r)),
                // Drawn over the empty row after the table (a header spans the columns).
                GroupLine::Header(_) => Some(Row::new(Vec::<Cell>::new())),
            })
            .collect()
    } else {
        app.vms
            .rows
            .iter()
            .enumerate()
            .skip(off)
            .take(visible)
            .map(|(i, r)| vm_row(i, r))
            .collect()
    };
    let arrow = if app.vms.descending { "▼" } else { "▲" };
    let header = Row::new(cols.iter().map(|c| {
        if c.key == Some(app.vms.sort) {
            Cell::from(format!("{}{arrow}", c.title))
        } else {
            Cell::from(c.title)
        }
    }))
    .style(t.header);
    let mut title = vec![
        Span::styled(" VMs ", t.title),
        Span::styled(
            format!("{}/{} ", app.vms.rows.len(), app.total_vms()),
            t.dim,
        ),
    ];
    if !app.vms.marks.is_empty() {
        title.push(Span::styled(
            format!("[{} marked] ", app.vms.marks.len()),
            t.marked,
        ));
    }
    if let Some(h) = app.vms.vm_scope.and_then(|h| app.host(h)) {
        title.push(Span::styled(
            format!("@{} ", crate::fmt::truncate(&h.name, 40)),
            t.filter,
        ));
    }
    if let Some(by) = app.vms.group_by {
        title.push(Span::styled(format!("by {} ", by.title()), t.filter));
    }
    if app.hosts.iter().any(|h| h.simulated()) {
        title.push(Span::styled("demo data ", t.pending));
    }
    if app.settings.readonly {
        title.push(Span::styled("[read-only] ", t.pending));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Line::from(title));
    if app.vms.cursor_len() == 0 {
        f.render_widget(
            Table::new(Vec::<Row>::new(), widths)
                .header(header)
                .block(block),
            area,
        );
        let msg = if app.total_vms() > 0 {
            "No VM matches the filter (Esc clears it)"
        } else if app.hosts.iter().any(|h| h.updated_at.is_some()) {
            "No VMs on the connected hosts"
        } else {
            "Waiting for hosts…"
        };
        let inner = Rect {
            x: area.x + 1,
            y: area.y + 2,
            width: area.width.saturating_sub(2),
            height: 1.min(area.height.saturating_sub(3)),
        };
        f.render_widget(Paragraph::new(msg).style(t.dim).centered(), inner);
        return;
    }
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .column_spacing(1);
    f.render_widget(table, area);
    if grouped {
        headers(app, f, body, off);
    }
}

/// The group headers on screen, each across the whole row: fold mark, key, counts.
fn headers(app: &App, f: &mut Frame, body: Rect, off: usize) {
    let t = &app.theme;
    let shown = app
        .vms
        .lines
        .iter()
        .enumerate()
        .skip(off)
        .take(body.height as usize);
    for (i, line) in shown {
        let GroupLine::Header(g) = line else { continue };
        let Some(g) = app.vms.groups.get(*g) else {
            continue;
        };
        let area = Rect {
            y: body.y + (i - off) as u16,
            height: 1,
            ..body
        };
        let fold = if g.folded { "▸" } else { "▾" };
        let key = fmt::truncate(&sanitize::text(&g.key), 40);
        // What the group's running VMs take; nothing to add when none runs.
        let mut counts = format!("  {}/{} running", g.running, g.total);
        if g.running > 0 {
            counts.push_str(&format!(
                " · {} vCPU, {} in use",
                g.vcpus,
                fmt::kib(g.memory_kib)
            ));
        }
        let style = if i == app.vms.selected {
            t.selected
        } else {
            t.header
        };
        let text = Line::from(vec![
            Span::styled(format!("{fold} {key}"), style),
            Span::styled(
                counts,
                if i == app.vms.selected {
                    t.selected
                } else {
                    t.dim
                },
            ),
        ]);
        f.render_widget(Paragraph::new(text).style(style), area);
    }
}

/// A count still being read (0 until its VM's facts arrive, see `model::Known`) shows `…`.
fn counted(n: u64, show: impl Fn(u64) -> String) -> String {
    if n == 0 {
        "…".to_string()
    } else {
        show(n)
    }
}
