//! The networks pane: every host's virtual networks, and below them the selected network's
//! DHCP leases or the host's interfaces.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table};
use ratatui::Frame;

use super::pools::{block, empty_note as note, list_table};
use super::vms::yes;
use crate::app::networks::{rows, selected};
use crate::app::App;
use crate::sanitize;

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let lower = (area.height / 3).clamp(5, 14);
    let [top, bottom] =
        Layout::vertical([Constraint::Min(5), Constraint::Length(lower)]).areas(area);
    render_networks(app, f, top);
    if app.networks.show_ifaces {
        render_ifaces(app, f, bottom);
    } else {
        render_leases(app, f, bottom);
    }
}

fn render_networks(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let list = rows(app);
    let multi = app.hosts.len() > 1;
    let labels: Vec<String> = list.iter().map(|(_, n)| n.users_label()).collect();
    let bridges: Vec<_> = list
        .iter()
        .map(|(_, n)| sanitize::text(n.bridge.as_deref().unwrap_or("-")))
        .collect();
    let subnets: Vec<String> = list.iter().map(|(_, n)| subnet_text(n)).collect();
    let mut widths = Vec::new();
    let mut header = Vec::new();
    if multi {
        widths.push(super::pools::host_column(app, list.iter().map(|(h, _)| *h)));
        header.push("HOST");
    }
    widths.extend([
        super::pools::fit("NAME", list.iter().map(|(_, n)| n.name.as_str()), 24),
        Constraint::Length(8),
        super::pools::fit("BRIDGE", bridges.iter().map(|b| b.as_ref()), 10),
        super::pools::fit("SUBNETS", subnets.iter().map(String::as_str), 19),
        Constraint::Fill(1),
        Constraint::Length(6),
        Constraint::Length(4),
        Constraint::Length(4),
        super::pools::fit("VMS", labels.iter().map(String::as_str), 17),
    ]);
    header.extend([
        "NAME", "FORWARD", "BRIDGE", "SUBNETS", "DHCP", "ACTIVE", "AUTO", "PERS", "VMS",
    ]);
    let names: &[usize] = if multi { &[0, 1] } else { &[0] };
    super::pools::give_way(&mut widths, names, area.width);
    let w = super::pools::resolved(&widths, area.width);
    let first = usize::from(multi);
    let body = list.iter().enumerate().map(|(i, (hid, n))| {
        let mut cells = Vec::new();
        if multi {
            cells.push(Cell::from(
                app.host(*hid)
                    .map(|h| crate::fmt::truncate_middle(&h.name, w[0]))
                    .unwrap_or_default(),
            ));
        }
        let dhcp: Vec<String> = n
            .ips
            .iter()
            .flat_map(|i| i.dhcp.iter().map(|(a, b)| format!("{a}-{b}")))
            .collect();
        cells.extend([
            Cell::from(crate::fmt::truncate(&n.name, w[first])),
            Cell::from(n.forward.label()),
            Cell::from(crate::fmt::truncate(&bridges[i], w[first + 2])),
            Cell::from(crate::fmt::truncate(&subnets[i], w[first + 3])),
            Cell::from(if dhcp.is_empty() {
                "-".into()
            } else {
                crate::fmt::truncate(&dhcp.join(" "), w[first + 4])
            }),
            Cell::from(if n.active { "yes" } else { "no" }).style(if n.active {
                t.state_running
            } else {
                t.state_shutoff
            }),
            Cell::from(yes(n.autostart)),
            Cell::from(yes(n.persistent)),
            Cell::from(crate::fmt::truncate(&labels[i], w[first + 8])),
        ]);
        let mut row = Row::new(cells);
        if app.host(*hid).is_some_and(|h| h.is_stale()) {
            row = row.style(t.dim);
        }
        row
    });
    let title = vec![
        Span::styled(" Virtual networks ", t.title),
        Span::styled(format!("{} ", list.len()), t.dim),
        Span::styled(
            crate::app::panes::scope_label(app, crate::app::panes::PaneId::Networks),
            t.filter,
        ),
    ];
    let sel = (
        crate::app::hitmap::List::Pane(crate::app::panes::PaneId::Networks),
        app.networks.sel,
        list.len(),
    );
    list_table(app, f, area, title, header, widths, body, sel);
    if list.is_empty() {
        let waiting = app
            .hosts
            .iter()
            .any(|h| h.status.is_connected() && h.networks.is_none());
        note(
            app,
            f,
            area,
            if waiting {
                "Reading networks…"
            } else {
                "No virtual networks (n creates one)"
            },
        );
    }
}

/// The SUBNETS cell: each block's host address and prefix, sanitised.
fn subnet_text(n: &crate::model::network::Network) -> String {
    let subnets: Vec<String> = n
        .ips
        .iter()
        .map(|i| format!("{}/{}", i.address, i.prefix))
        .collect();
    if subnets.is_empty() {
        "-".into()
    } else {
        sanitize::text(&subnets.join(" ")).into_owned()
    }
}

fn render_leases(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let Some((hid, net)) = selected(app) else {
        f.render_widget(
            block(app, vec![Span::styled(" DHCP leases ", t.title)]),
            area,
        );
        return;
    };
    let [net_name] = super::fit_names([&net.name], " DHCP leases of  ".len(), area.width);
    let title = vec![Span::styled(
        format!(" DHCP leases of {net_name} "),
        t.title,
    )];
    let leases = app.host(hid).and_then(|h| h.leases.get(&net.name));
    // Leases count down: the frame ticks.
    app.clock();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let list = match leases {
        Some(Ok(l)) => l.as_slice(),
        _ => &[],
    };
    let body = list.iter().map(|l| {
        let left = l.expiry - now;
        Row::new(vec![
            Cell::from(sanitize::text(&l.mac)),
            Cell::from(sanitize::text(&format!("{}/{}", l.ip, l.prefix)).into_owned()),
            Cell::from(sanitize::text(l.hostname.as_deref().unwrap_or("-"))),
            Cell::from(if l.expiry == 0 {
                "never".to_string()
            } else if left > 0 {
                format!(
                    "in {}",
                    crate::fmt::duration(std::time::Duration::from_secs(left as u64))
                )
            } else {
                "expired".into()
            }),
        ])
    });
    let table = Table::new(
        body,
        [
            Constraint::Length(17),
            Constraint::Length(20),
            Constraint::Fill(1),
            Constraint::Length(12),
        ],
    )
    .header(Row::new(["MAC", "ADDRESS", "HOSTNAME", "EXPIRES"]).style(t.header))
    .block(block(app, title))
    .column_spacing(1);
    f.render_widget(table, area);
    let msg = match leases {
        _ if !net.active => Some("The network is not active".to_string()),
        None => Some("Reading leases…".into()),
        Some(Err(e)) => Some(e.clone()),
        Some(Ok(l)) if l.is_empty() => Some("No leases".into()),
        _ => None,
    };
    if let Some(m) = msg {
        note(app, f, area, &m);
    }
}

fn render_ifaces(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let host = selected(app).map(|(h, _)| h).or_else(|| {
        app.hosts
            .iter()
            .find(|h| h.networks.is_some())
            .map(|h| h.id)
    });
    let h = host.and_then(|h| app.host(h));
    let ifaces = h
        .and_then(|h| h.networks.as_ref())
        .map(|n| n.ifaces.as_slice())
        .unwrap_or(&[]);
    let body = ifaces.iter().map(|i| {
        Row::new(vec![
            Cell::from(sanitize::text(&i.name)),
            Cell::from(sanitize::text(&i.kind)),
            Cell::from(sanitize::text(i.mac.as_deref().unwrap_or("-"))),
            Cell::from(if i.active { "up" } else { "down" }),
            Cell::from(if i.addrs.is_empty() {
                "-".to_string()
            } else {
                sanitize::text(&i.addrs.join(" ")).into_owned()
            }),
        ])
    });
    let [host_name] = super::fit_names(
        [h.map(|h| h.name.as_str()).unwrap_or("?")],
        " Host interfaces of  ".len(),
        area.width,
    );
    let title = vec![Span::styled(
        format!(" Host interfaces of {host_name} "),
        t.title,
    )];
    let table = Table::new(
        body,
        [
            super::pools::fit("NAME", ifaces.iter().map(|i| i.name.as_str()), 16),
            Constraint::Length(9),
            Constraint::Length(17),
            Constraint::Length(5),
            Constraint::Fill(1),
        ],
    )
    .header(Row::new(["NAME", "TYPE", "MAC", "STATE", "ADDRESSES"]).style(t.header))
    .block(block(app, title))
    .column_spacing(1);
    f.render_widget(table, area);
    if ifaces.is_empty() {
        note(app, f, area, "No interfaces reported");
    }
}
