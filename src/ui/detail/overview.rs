//! The Overview tab: state, OS, definition facts, addresses and live metrics as braille line
//! charts over the history window.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph};
use ratatui::Frame;

use crate::app::App;
use crate::fmt;
use crate::metrics::{View, VmSeries};
use crate::sanitize;
use crate::ui::vms::state_style;

/// Points of a ring as (seconds relative to now, value), gaps dropped.
fn points(ring: View, step: f64) -> Vec<(f64, f64)> {
    let n = ring.len();
    ring.iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .map(|(i, v)| (-((n - 1 - i) as f64) * step, f64::from(v)))
        .collect()
}

/// What one point of a chart stands for: a poll, and past the ring's fine part a fold.
fn resolution(poll: std::time::Duration, ring: View) -> String {
    let (fine, fold) = ring.tiers();
    if fine >= ring.capacity() {
        return format!("one point per poll ({})", fmt::duration(poll));
    }
    format!(
        "a point per {}; per {} past {}",
        fmt::duration(poll),
        fmt::duration(poll * fold as u32),
        fmt::duration(poll * fine as u32)
    )
}

/// " demo data " at the top right of `area`: the figures under it are made up.
pub fn demo_label(app: &App, f: &mut Frame, area: Rect) {
    const TEXT: &str = " demo data ";
    let w = TEXT.len() as u16;
    if area.width < w + 4 {
        return;
    }
    let at = Rect::new(area.right() - w - 2, area.y, w, 1);
    f.render_widget(Paragraph::new(TEXT).style(app.theme.pending), at);
}

struct Series<'a> {
    name: &'static str,
    ring: View<'a>,
    style: Style,
}

fn chart(
    app: &App,
    f: &mut Frame,
    area: Rect,
    title: String,
    series: &[Series],
    fixed_max: Option<f64>,
    label: fn(f64) -> String,
) {
    let t = &app.theme;
    let step = app.settings.poll_interval.as_secs_f64();
    let window = step * series.first().map_or(1, |s| s.ring.capacity()) as f64;
    let data: Vec<Vec<(f64, f64)>> = series.iter().map(|s| points(s.ring, step)).collect();
    let seen_max = data.iter().flatten().map(|p| p.1).fold(0.0f64, f64::max);
    let top = fixed_max.unwrap_or_else(|| (seen_max * 1.1).max(1.0));
    let datasets: Vec<Dataset> = series
        .iter()
        .zip(&data)
        .enumerate()
        .map(|(i, (s, d))| {
            Dataset::default()
                .name(s.name)
                .marker(if i > 0 {
                    // The second series in dots: told apart without colour (NO_COLOR).
                    Marker::Dot
                } else if app.settings.ascii {
                    // Half blocks: the console font has them, not braille.
                    Marker::HalfBlock
                } else {
                    Marker::Braille
                })
                .graph_type(GraphType::Line)
                .style(s.style)
                .data(d)
        })
        .collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(format!(" {title} "), t.title));
    let empty = data.iter().all(|d| d.is_empty());
    if empty {
        f.render_widget(
            Paragraph::new("no data yet (needs two polls; shut-off VMs have none)")
                .style(t.dim)
                .block(block),
            area,
        );
        return;
    }
    let chart = Chart::new(datasets)
        .block(block)
        .x_axis(Axis::default().bounds([-window, 0.0]).labels([
            Span::styled(
                format!(
                    "-{}",
                    fmt::duration(std::time::Duration::from_secs_f64(window))
                ),
                t.dim,
            ),
            Span::styled("now", t.dim),
        ]))
        .y_axis(
            Axis::default()
                .bounds([0.0, top])
                .labels([Span::styled("0", t.dim), Span::styled(label(top), t.dim)]),
        )
        .legend_position(None);
    f.render_widget(chart, area);
}

/// "  up 3h12m" for a running guest whose start is known (`host::uptime`); a running guest
/// of a remote host that was already up when virtdeck connected says so.
fn uptime(vm: &crate::model::Vm) -> String {
    if !vm.state.is_active() {
        return String::new();
    }
    match vm.started.map(|t| t.elapsed()) {
        Some(Ok(d)) => format!("  up {}", fmt::duration(d)),
        // Started "in the future": the host's clock is ahead of this machine's.
        Some(Err(_)) => "  up <1s".into(),
        None => "  uptime unknown".into(),
    }
}

/// "IP 192.168.122.45/24 (lease, vnet0) · …" from the last address read.
fn addresses(h: &crate::app::hosts::HostView, uuid: &str) -> String {
    match h.addresses.get(uuid) {
        Some(a) if !a.is_empty() => {
            // IPv4 first, link-local IPv6 last: the address a user wants leads a cut line.
            let mut sorted: Vec<_> = a.iter().collect();
            sorted.sort_by_key(|x| (x.ip.contains(':'), x.ip.starts_with("fe80")));
            let list: Vec<String> = sorted
                .iter()
                .map(|x| format!("{}/{} ({}, {})", x.ip, x.prefix, x.source.label(), x.iface))
                .collect();
            // Guest agent data: the guest chooses these strings.
            sanitize::text(&format!("IP {}", list.join(" · "))).into_owned()
        }
        _ => "IP -".into(),
    }
}

/// The VM's last events (lifecycle and virtdeck's actions), newest first; none if none.
fn events_line(app: &App, host: crate::model::HostId, uuid: &str) -> Option<Line<'static>> {
    let t = &app.theme;
    let last: Vec<String> = app
        .events
        .list
        .iter()
        .rev()
        .filter(|e| e.host == host && e.event.uuid == uuid)
        .take(3)
        .map(|e| {
            let secs = e
                .event
                .at
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            // "HH:MM" of the Snapshots tab's "YYYY-MM-DD HH:MM".
            let hm = super::snapshots::utc(secs)[11..].to_string();
            format!("{hm} {}", sanitize::text(&e.label()))
        })
        .collect();
    (!last.is_empty()).then(|| {
        Line::from(vec![
            Span::styled("events: ", t.header),
            Span::raw(last.join(" · ")),
            Span::styled("  (7: all)", t.dim),
        ])
    })
}

/// What the guest agent said (OS, host name, time zone, users; file systems; addresses),
/// or that it is being asked or does not answer; nothing without an agent channel.
fn agent_lines(app: &App) -> Vec<Line<'static>> {
    let t = &app.theme;
    let s = |x: &str| sanitize::text(x).into_owned();
    match crate::app::detail::agent_answer(app) {
        None => Vec::new(),
        Some(None) => vec![Line::from(Span::styled("guest agent: asking…", t.pending))],
        Some(Some(Err(e))) => vec![Line::from(Span::styled(
            format!("guest agent: not answering ({}); C-r asks again", s(&e)),
            t.dim,
        ))],
        Some(Some(Ok(g))) => {
            let mut facts = Vec::new();
            if let Some(os) = &g.os {
                facts.push(s(os));
            }
            if let Some(k) = &g.kernel {
                facts.push(s(k));
            }
            if let Some(h) = &g.hostname {
                facts.push(format!("host {}", s(h)));
            }
            if let Some((tz, off)) = &g.timezone {
                let sign = if *off < 0 { '-' } else { '+' };
                let m = off.unsigned_abs() / 60;
                facts.push(format!("{} (UTC{sign}{:02}:{:02})", s(tz), m / 60, m % 60));
            }
            facts.push(if g.users.is_empty() {
                "nobody logged in".into()
            } else {
                format!("users {}", s(&g.users.join(", ")))
            });
            let fs: Vec<String> = g
                .filesystems
                .iter()
                .map(|f| match (f.use_percent(), f.total_bytes) {
                    (Some(p), Some(total)) => format!(
                        "{} {} {p:.0}% of {}",
                        s(&f.mountpoint),
                        s(&f.fstype),
                        fmt::bytes(total)
                    ),
                    _ => format!("{} {}", s(&f.mountpoint), s(&f.fstype)),
                })
                .collect();
            let ifaces: Vec<String> = g
                .interfaces
                .iter()
                .map(|(name, addrs)| format!("{} {}", s(name), s(&addrs.join(" "))))
                .collect();
            vec![
                Line::from(vec![
                    Span::styled("guest: ", t.header),
                    Span::raw(facts.join(" · ")),
                ]),
                Line::from(vec![
                    Span::styled("filesystems: ", t.header),
                    Span::raw(if fs.is_empty() {
                        "-".into()
                    } else {
                        fs.join(" · ")
                    }),
                ]),
                Line::from(vec![
                    Span::styled("addresses: ", t.header),
                    Span::raw(if ifaces.is_empty() {
                        "-".into()
                    } else {
                        ifaces.join(" · ")
                    }),
                ]),
            ]
        }
    }
}

/// OS, title and persistence from the definition (once read).
fn definition_line(app: &App) -> Line<'static> {
    let t = &app.theme;
    let Some(d) = crate::app::detail::current(app) else {
        return Line::from(Span::styled("reading the definition…", t.pending));
    };
    let hw = &d.hardware;
    let mut parts = vec![format!(
        "OS {}",
        hw.os_id
            .as_deref()
            .map(|id| id
                .rsplit('/')
                .take(2)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join(" "))
            .unwrap_or_else(|| "-".into())
    )];
    parts.push(format!(
        "{} {}{}",
        hw.domain_type,
        hw.os.arch.as_deref().unwrap_or(""),
        hw.os
            .machine
            .as_deref()
            .map(|m| format!(" ({m})"))
            .unwrap_or_default()
    ));
    parts.push(hw.os.firmware_label().into());
    parts.push(
        if d.persistent {
            "persistent"
        } else {
            "transient"
        }
        .into(),
    );
    parts.push(format!(
        "autostart {}",
        if d.autostart { "on" } else { "off" }
    ));
    parts.push(format!("{} snapshot(s)", d.snapshots.snapshots.len()));
    let vm = crate::app::detail::shown_vm(app);
    if vm.is_some_and(|v| v.template) {
        parts.push("template (never started; C clones a VM from it, T unmarks)".into());
    }
    if let Some(v) = vm.filter(|v| !v.tags.is_empty()) {
        parts.push(format!("tags {}", v.tags.join(" ")));
    }
    let mut spans = vec![Span::raw(sanitize::text(&parts.join(" · ")).into_owned())];
    if let Some(title) = &hw.title {
        spans.push(Span::styled(
            format!("  “{}”", sanitize::text(title)),
            t.header,
        ));
    }
    if let Some(note) = vm.and_then(|v| v.note.as_deref()) {
        spans.push(Span::styled(
            format!("  note: {}", sanitize::text(note)),
            t.dim,
        ));
    }
    Line::from(spans)
}

/// A running clone or backup of this VM: its progress (x cancels).
fn clone_line(app: &App, host: crate::model::HostId, uuid: &str) -> Line<'static> {
    let t = &app.theme;
    match crate::app::detail::clone_of(app, host, uuid) {
        Some(c) => Line::from(Span::styled(
            format!(
                "{} {}: {:.0}% of {} (x cancels)",
                match c.kind {
                    crate::app::jobs::JobKind::Backup => "backing up",
                    crate::app::jobs::JobKind::DiskMove => "moving a disk of",
                    crate::app::jobs::JobKind::Restore => "restoring into",
                    _ => "cloning to",
                },
                sanitize::text(&c.target),
                c.job.ratio() * 100.0,
                fmt::bytes(c.job.total())
            ),
            t.pending,
        )),
        None => match crate::app::detail::cached(app).and_then(|c| c.error.clone()) {
            Some(e) => Line::from(Span::styled(
                format!("definition: {}", sanitize::text(&e)),
                t.level_crit,
            )),
            None => Line::from(""),
        },
    }
}

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let Some((h, vm)) = app.detail_vm() else {
        f.render_widget(
            Paragraph::new(
                "This VM is gone (undefined or its host was removed). Esc returns to the table.",
            )
            .style(t.dim)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(t.border),
            ),
            area,
        );
        return;
    };
    let rates = h.rates(&vm.uuid).unwrap_or_default();
    let mut agent = agent_lines(app);
    agent.extend(events_line(app, h.id, &vm.uuid));
    let [head, grid] = Layout::vertical([
        Constraint::Length(6 + agent.len() as u16),
        Constraint::Min(0),
    ])
    .areas(area);
    let mem = vm
        .io
        .rss_kib()
        .map_or(String::new(), |r| format!(" · RSS {}", fmt::kib(r)));
    let pair = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (None, None) => "-".to_string(),
        _ => format!(
            "{} / {}",
            fmt::rate(a.unwrap_or(0.0)),
            fmt::rate(b.unwrap_or(0.0))
        ),
    };
    let iops = crate::metrics::VmRates::sum(rates.disk_rd_iops, rates.disk_wr_iops)
        .map_or("-".into(), |v| format!("{v:.0}"));
    let lines = vec![
        Line::from(vec![
            Span::styled(sanitize::text(&vm.name), t.title),
            Span::styled(format!("  on {}", sanitize::text(&h.name)), t.dim),
            Span::raw("  "),
            Span::styled(
                format!("{} {}", vm.state.symbol(), vm.state.label()),
                state_style(t, vm.state),
            ),
            Span::styled(
                {
                    // The uptime counts up: the frame ticks.
                    app.clock();
                    uptime(vm)
                },
                t.dim,
            ),
            if h.is_stale() {
                Span::styled("  (stale: host not answering)", t.pending)
            } else {
                Span::raw("")
            },
        ]),
        Line::from(format!(
            "{} vCPUs · memory {} of {} max{mem} · CPU {}",
            vm.vcpus,
            fmt::kib(vm.memory_kib),
            fmt::kib(vm.max_memory_kib),
            fmt::percent(rates.cpu_pct)
        )),
        Line::from(format!(
            "disk read/write {} · {iops} IOPS · network rx/tx {}",
            pair(rates.disk_rd_bps, rates.disk_wr_bps),
            pair(rates.net_rx_bps, rates.net_tx_bps)
        )),
        Line::from(vec![
            Span::raw(addresses(h, &vm.uuid)),
            Span::styled(format!("  uuid {}", vm.uuid), t.dim),
        ]),
        definition_line(app),
        clone_line(app, h.id, &vm.uuid),
    ]
    .into_iter()
    .chain(agent)
    .collect::<Vec<_>>();
    f.render_widget(Paragraph::new(lines), head);
    let Some(hist) = h.history(&vm.uuid) else {
        let text = if vm.state.is_active() {
            "Collecting metrics…"
        } else {
            "No metrics: the VM is not running"
        };
        f.render_widget(Paragraph::new(text).style(t.dim), grid);
        return;
    };
    let rows = Layout::vertical([Constraint::Ratio(1, 3); 3]).split(grid);
    let cells: Vec<[Rect; 2]> = rows
        .iter()
        .map(|r| Layout::horizontal([Constraint::Ratio(1, 2); 2]).areas(*r))
        .collect();
    let pct = |v: f64| format!("{v:.0}%");
    let kib = |v: f64| fmt::kib(v as u64);
    let bps = |v: f64| fmt::rate(v);
    let ops = |v: f64| format!("{v:.0}/s");
    chart(
        app,
        f,
        cells[0][0],
        format!("CPU {}", fmt::percent(rates.cpu_pct)),
        &[Series {
            name: "cpu",
            ring: hist.cpu(),
            style: t.chart_a,
        }],
        Some(100.0),
        pct,
    );
    chart(
        app,
        f,
        cells[0][1],
        if vm.io.rss_kib().is_some() {
            "Memory (RSS)".into()
        } else {
            "Memory (balloon)".into()
        },
        &[Series {
            name: "memory",
            ring: hist.series(VmSeries::Memory),
            style: t.chart_b,
        }],
        None,
        kib,
    );
    chart(
        app,
        f,
        cells[1][0],
        "Disk bytes/s".into(),
        &[
            Series {
                name: "read",
                ring: hist.series(VmSeries::DiskRd),
                style: t.chart_a,
            },
            Series {
                name: "write",
                ring: hist.series(VmSeries::DiskWr),
                style: t.chart_b,
            },
        ],
        None,
        bps,
    );
    chart(
        app,
        f,
        cells[1][1],
        "Disk IOPS".into(),
        &[Series {
            name: "iops",
            ring: hist.series(VmSeries::DiskIops),
            style: t.chart_a,
        }],
        None,
        ops,
    );
    chart(
        app,
        f,
        cells[2][0],
        "Network bytes/s".into(),
        &[
            Series {
                name: "rx",
                ring: hist.series(VmSeries::NetRx),
                style: t.chart_a,
            },
            Series {
                name: "tx",
                ring: hist.series(VmSeries::NetTx),
                style: t.chart_b,
            },
        ],
        None,
        bps,
    );
    if h.simulated() {
        demo_label(app, f, grid);
    }
    let legend = vec![
        Line::from(Span::styled("Legend", t.header)),
        Line::from(vec![
            Span::styled("━ ", t.chart_a),
            Span::raw("read / rx / CPU"),
        ]),
        Line::from(vec![
            Span::styled("• ", t.chart_b),
            Span::raw("write / tx / memory (dots)"),
        ]),
        Line::from(Span::styled(
            resolution(app.settings.poll_interval, hist.cpu()),
            t.dim,
        )),
    ];
    f.render_widget(
        Paragraph::new(legend).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border),
        ),
        cells[2][1],
    );
}

#[cfg(test)]
mod uptime_tests {
    use super::uptime;
    use crate::model::{Vm, VmState};
    use std::time::{Duration, SystemTime};

    fn vm(state: VmState, started: Option<SystemTime>) -> Vm {
        Vm {
            uuid: "u".into(),
            name: "n".into(),
            id: None,
            state,
            vcpus: 1,
            memory_kib: 0,
            max_memory_kib: 0,
            cpu_time_ns: None,
            io: Default::default(),
            autostart: false,
            persistent: true,
            managed_save: false,
            known: Default::default(),
            template: false,
            tags: Vec::new(),
            note: None,
            started,
        }
    }

    #[test]
    fn uptime_of_running_known_unknown_and_stopped_guests() {
        let three_h = SystemTime::now() - Duration::from_secs(3 * 3600 + 12 * 60 + 5);
        assert_eq!(uptime(&vm(VmState::Running, Some(three_h))), "  up 3h12m");
        assert_eq!(uptime(&vm(VmState::Running, None)), "  uptime unknown");
        let ahead = SystemTime::now() + Duration::from_secs(60);
        assert_eq!(uptime(&vm(VmState::Running, Some(ahead))), "  up <1s");
        assert_eq!(uptime(&vm(VmState::Shutoff, Some(three_h))), "");
    }
}
