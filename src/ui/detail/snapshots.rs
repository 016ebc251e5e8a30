//! The Snapshots tab: the snapshot tree (parents above children, the current one marked) and
//! the selected snapshot's description.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::app::App;
use crate::host::vm::VmDetails;

/// "2026-11-25 17:10" (UTC) from a Unix time.
pub fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = crate::osinfo::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

pub fn render(app: &App, f: &mut Frame, area: Rect, d: &VmDetails) {
    let t = &app.theme;
    let [list_area, info_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(5)]).areas(area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(
            format!(" Snapshots ({}) ", d.snapshots.snapshots.len()),
            t.title,
        ));
    let block = match checkpoint_chain(&d.checkpoints, list_area.width.saturating_sub(4) as usize) {
        Some(chain) => block.title_bottom(Span::styled(chain, t.dim)),
        None => block,
    };
    let inner = block.inner(list_area);
    f.render_widget(block, list_area);
    let rows = inner.height.saturating_sub(1) as usize;
    app.detail.page.set(rows.max(1));
    if let Some(e) = &d.snapshot_error {
        f.render_widget(
            Paragraph::new(format!(
                "snapshots cannot be listed: {}",
                crate::sanitize::text(e)
            ))
            .style(t.level_crit),
            inner,
        );
        return;
    }
    if d.snapshots.rows.is_empty() {
        f.render_widget(
            Paragraph::new("No snapshots. n creates one (disk and memory, or disk only).")
                .style(t.dim),
            inner,
        );
        return;
    }
    let sel = app
        .detail
        .snap_sel
        .min(d.snapshots.rows.len().saturating_sub(1));
    let first = sel.saturating_sub(rows.saturating_sub(1));
    // Under the header line.
    let body = Rect {
        y: inner.y + 1,
        height: inner.height.saturating_sub(1),
        ..inner
    };
    app.hits
        .list(crate::app::hitmap::List::Snapshots, body, first);
    let mut lines = vec![Line::from(Span::styled(
        format!(
            " {:<36} {:<10} {:<16} {}",
            "NAME", "STATE", "CREATED (UTC)", "KIND"
        ),
        t.header,
    ))];
    for (i, row) in d.snapshots.rows.iter().enumerate().skip(first).take(rows) {
        let Some(s) = d.snapshots.snapshots.get(row.index) else {
            continue;
        };
        // Padded by cells, not chars: names may be CJK.
        let name = crate::fmt::pad(
            &crate::fmt::truncate(
                &format!(
                    "{}{}{}",
                    row.prefix(),
                    s.name,
                    if s.current { " (current)" } else { "" }
                ),
                36,
            ),
            36,
        );
        let kind = if s.disk_only {
            "disk only"
        } else if s.has_memory() {
            "disk+memory"
        } else {
            "disk"
        };
        let line = Line::from(format!(
            " {name} {} {:<16} {kind}",
            crate::fmt::pad(&crate::fmt::truncate(&s.state, 10), 10),
            utc(s.creation_time)
        ));
        lines.push(if i == sel {
            line.style(t.selected)
        } else if s.current {
            line.style(t.title)
        } else {
            line
        });
    }
    f.render_widget(Paragraph::new(lines), inner);
    let info = d
        .snapshots
        .rows
        .get(sel)
        .and_then(|r| d.snapshots.snapshots.get(r.index))
        .map(|s| {
            vec![
                Line::from(crate::sanitize::text(
                    s.description.as_deref().unwrap_or("(no description)"),
                )),
                Line::from(
                    crate::sanitize::text(&format!(
                        "parent {} · disks {}",
                        s.parent.as_deref().unwrap_or("-"),
                        s.disks
                            .iter()
                            .map(|(t, m)| format!("{t}:{m}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ))
                    .into_owned(),
                ),
                Line::from("V: revert (confirm) · D: delete (with or without children) · n: new"),
            ]
        })
        .unwrap_or_default();
    f.render_widget(
        Paragraph::new(info).style(t.dim).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border),
        ),
        info_area,
    );
}

/// " backup checkpoints: a → b → c " cut from the left so the newest stays in view; none
/// when the VM has no checkpoints.
fn checkpoint_chain(checkpoints: &[String], width: usize) -> Option<String> {
    if checkpoints.is_empty() {
        return None;
    }
    let chain = crate::sanitize::text(&checkpoints.join(" → ")).into_owned();
    let head = " backup checkpoints: ";
    let room = width.saturating_sub(crate::sanitize::width(head) + 1);
    if crate::sanitize::width(&chain) <= room {
        return Some(format!("{head}{chain} "));
    }
    // Keep the tail that fits beside the ellipsis.
    let mut tail = Vec::new();
    let mut used = 1;
    for c in chain.chars().rev() {
        let w = crate::sanitize::width(c.encode_utf8(&mut [0; 4]));
        if used + w > room {
            break;
        }
        used += w;
        tail.push(c);
    }
    let shown: String = std::iter::once('…').chain(tail.into_iter().rev()).collect();
    Some(format!("{head}{shown} "))
}

#[cfg(test)]
mod tests {
    #[test]
    fn checkpoint_chains_keep_the_newest_in_view() {
        assert_eq!(super::checkpoint_chain(&[], 80), None);
        let d = vec!["virtdeck-1".to_string(), "virtdeck-2\u{202e}".to_string()];
        assert_eq!(
            super::checkpoint_chain(&d, 80).unwrap(),
            " backup checkpoints: virtdeck-1 → virtdeck-2\\u{202e} "
        );
        let cut = super::checkpoint_chain(&d, 45).unwrap();
        assert!(
            cut.contains('…') && cut.ends_with("virtdeck-2\\u{202e} "),
            "{cut}"
        );
        assert!(crate::sanitize::width(&cut) <= 45, "{cut}");
    }

    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00");
        assert_eq!(super::utc(1_795_618_211), "2026-11-25 14:50");
    }
}
