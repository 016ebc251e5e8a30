//! Any wizard: page tabs, the fields of the current page (label, input, error / warning /
//! hint), or the review page with the XML that will be defined.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::centered;
use crate::app::wizard::{Input, Submit, Wizard};
use crate::app::App;
use crate::config::keymap::{Action, Section};
use crate::job::Job;

const LABEL_W: usize = 18;
/// Matches listed under a focused searchable list.
const PICK_ROWS: usize = 5;

pub fn render(app: &App, f: &mut Frame, area: Rect, w: &Wizard) {
    let t = &app.theme;
    let rect = centered(area, 92, area.height.saturating_sub(2).max(10));
    f.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .style(t.dialog)
        .title(Span::styled(
            format!(" {} ", crate::sanitize::text(&w.title)),
            t.title,
        ));
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    let mut lines: Vec<Line> = Vec::new();
    // Page tabs: 1 Type › 2 Source › 3 Review
    let mut tabs = Vec::new();
    for (i, p) in w.pages.iter().enumerate() {
        if i > 0 {
            tabs.push(Span::styled(" › ", t.dim));
        }
        let style = if i == w.page { t.key_hint } else { t.dim };
        tabs.push(Span::styled(format!("{} {p}", i + 1), style));
    }
    lines.push(Line::from(tabs));
    lines.push(Line::default());
    // The note and the host's answer (or the job's progress); on a review page with fields
    // they go above the XML, which can be longer than the screen.
    let mut status: Vec<Line> = Vec::new();
    if let Some(n) = &w.note {
        status.push(Line::from(Span::styled(safe(n), t.dim)));
    }
    match (&w.submit, &w.error) {
        (Submit::Waiting(_), _) if w.job.is_some() => {
            if let Some((job, labels)) = &w.job {
                progress(app, job, labels, &mut status);
            }
        }
        (Submit::Waiting(_), _) => status.push(Line::from(Span::styled(
            "⋯ working on the host…",
            t.pending,
        ))),
        (_, Some(e)) => status.push(Line::from(Span::styled(
            format!("✖ {}", safe(e)),
            t.toast_error,
        ))),
        _ => {}
    }
    let mut cursor = None;
    let review = w.is_review();
    if !review || w.review_has_fields() {
        field_lines(app, w, &mut lines, &mut cursor);
        if lines.len() == 2 {
            lines.push(Line::from(Span::styled(
                "Nothing to choose here for this install method.",
                t.dim,
            )));
        }
    }
    // The migration wizards' last page shows the pre-flight round or the plan, not a document.
    let own_review = review
        .then(|| super::migrations::wizard_review(app, w))
        .flatten();
    if let Some(own) = own_review {
        lines.extend(own.into_iter().skip(w.review_scroll as usize));
    } else if review {
        if w.review_has_fields() {
            lines.push(Line::default());
            let has_status = !status.is_empty();
            lines.append(&mut status);
            if has_status {
                lines.push(Line::default());
            }
        }
        match &w.review {
            Some(Ok(xml)) => {
                for n in &w.review_notes {
                    // A warning carries its own ⚠.
                    let mark = if n.starts_with('⚠') { "" } else { "ⓘ " };
                    lines.push(Line::from(Span::styled(
                        format!("{mark}{}", safe(n)),
                        t.level_warn,
                    )));
                }
                lines.push(Line::from(Span::styled(w.review_heading(), t.header)));
                for l in pretty(xml).lines().skip(w.review_scroll as usize) {
                    lines.push(Line::from(Span::raw(safe(l))));
                }
            }
            Some(Err(e)) => lines.push(Line::from(Span::styled(
                format!("Cannot build it yet: {}", safe(e)),
                t.toast_error,
            ))),
            None => {}
        }
    }
    if !(review && w.review_has_fields()) {
        lines.push(Line::default());
        lines.extend(status);
    }
    let key = |a| {
        app.keymap
            .key_for(Section::Wizard, a)
            .unwrap_or("?")
            .to_string()
    };
    let last = w.page + 1 == w.pages.len();
    let hint_area = Rect {
        y: inner.y + inner.height.saturating_sub(1),
        height: 1,
        ..inner
    };
    let body = Rect {
        height: inner.height.saturating_sub(1),
        ..inner
    };
    // Wizards quote names, paths, host answers and the XML to define.
    f.render_widget(
        Paragraph::new(super::safe_lines(lines)).wrap(Wrap { trim: false }),
        body,
    );
    let mut hints = vec![
        Span::styled(key(Action::Confirm), t.key_hint),
        Span::raw(if last {
            format!(" {}  ", w.verb())
        } else {
            " next  ".to_string()
        }),
        Span::styled(key(Action::NextField), t.key_hint),
        Span::raw(" field  ←/→ change  "),
        Span::styled(key(Action::Cancel), t.key_hint),
        Span::raw(if w.page == 0 { " close" } else { " back" }),
    ];
    if review && w.review_has_fields() {
        hints.push(Span::raw("  PgUp/PgDn scroll the XML"));
    }
    for (action, what) in w.spec.page_keys(w.page) {
        hints.push(Span::raw("  "));
        hints.push(Span::styled(key(action), t.key_hint));
        hints.push(Span::raw(format!(" {what}")));
    }
    f.render_widget(Paragraph::new(Line::from(hints)), hint_area);
    if let Some((row, col)) = cursor {
        if row < body.height && col < body.width {
            f.set_cursor_position((body.x + col, body.y + row));
        }
    }
}

/// The fields of the current page: label, value, then the error, warning or hint.
fn field_lines(app: &App, w: &Wizard, lines: &mut Vec<Line>, cursor: &mut Option<(u16, u16)>) {
    let t = &app.theme;
    for (i, fld) in w.fields.iter().enumerate() {
        if fld.page != w.page || !fld.visible {
            continue;
        }
        let focused = i == w.focus;
        let label = format!("{:<LABEL_W$}", fld.label);
        let lstyle = if focused { t.key_hint } else { t.header };
        let mut matches = Vec::new();
        let value = match &fld.input {
            Input::Text(ta) => ta.lines().concat(),
            Input::Secret(ta) => "•".repeat(ta.lines().concat().chars().count()),
            Input::Choice { options, selected } => {
                let v = options
                    .get(*selected)
                    .cloned()
                    .unwrap_or_else(|| "(none found)".into());
                if options.len() > 1 {
                    format!("‹ {v} ›  ({}/{})", selected + 1, options.len())
                } else {
                    v
                }
            }
            Input::Toggle(on) => if *on { "[x]" } else { "[ ]" }.to_string(),
            Input::Pick {
                query,
                items,
                selected,
            } if focused => {
                // A few matches around the chosen one.
                let start = selected
                    .saturating_sub(2)
                    .min(items.len().saturating_sub(PICK_ROWS));
                for (j, (_, l)) in items.iter().enumerate().skip(start).take(PICK_ROWS) {
                    matches.push((j == *selected, l.clone()));
                }
                let q = query.lines().concat();
                let count = if items.is_empty() {
                    "no match".to_string()
                } else {
                    format!("{}/{}", selected + 1, items.len())
                };
                format!("{q}  ({count})")
            }
            Input::Pick {
                items, selected, ..
            } => items
                .get(*selected)
                .map_or_else(|| "(no match)".to_string(), |i| i.1.clone()),
        };
        let vstyle = if focused { t.filter } else { t.base };
        if focused {
            match &fld.input {
                Input::Text(ta) | Input::Secret(ta) | Input::Pick { query: ta, .. } => {
                    let col = ta.cursor().1 as u16;
                    *cursor = Some((lines.len() as u16, LABEL_W as u16 + 1 + col));
                }
                _ => {}
            }
        }
        lines.push(Line::from(vec![
            Span::styled(label, lstyle),
            Span::raw(" "),
            Span::styled(value, vstyle),
        ]));
        let pad = " ".repeat(LABEL_W + 1);
        for (on, l) in matches {
            lines.push(Line::from(vec![
                Span::raw(pad.clone()),
                if on {
                    Span::styled(format!("› {}", safe(&l)), t.key_hint)
                } else {
                    Span::styled(format!("  {}", safe(&l)), t.dim)
                },
            ]));
        }
        if let Some(e) = &fld.error {
            lines.push(Line::from(vec![
                Span::raw(pad),
                Span::styled(format!("✖ {}", safe(e)), t.toast_error),
            ]));
        } else if let Some(wn) = &fld.warning {
            lines.push(Line::from(vec![
                Span::raw(pad),
                Span::styled(format!("⚠ {}", safe(wn)), t.level_warn),
            ]));
        } else if focused && !fld.hint.is_empty() {
            lines.push(Line::from(vec![
                Span::raw(pad),
                Span::styled(safe(&fld.hint), t.dim),
            ]));
        }
    }
}

/// A running job: the step under way and a bar of the steps done.
fn progress(app: &App, job: &Job, labels: &[String], lines: &mut Vec<Line>) {
    let t = &app.theme;
    let total = labels.len().max(1);
    let done = (job.done() as usize).min(total);
    let step = labels
        .get(done)
        .cloned()
        .unwrap_or_else(|| "finishing".into());
    let note = if job.is_cancelled() {
        " (cancelling)"
    } else {
        ""
    };
    lines.push(Line::from(Span::styled(
        format!("⋯ {step} ({}/{total}){note}", (done + 1).min(total)),
        t.pending,
    )));
    const BAR: usize = 30;
    let filled = done * BAR / total;
    lines.push(Line::from(vec![
        Span::styled("█".repeat(filled), t.level_ok),
        Span::styled("░".repeat(BAR - filled), t.dim),
        Span::raw(format!(" {done}/{total} steps")),
    ]));
}

/// Text from a host, a guest or a file (errors, names in hints and reviews) made safe to
/// draw: control and bidi characters escaped (`sanitize`), one line.
fn safe(s: &str) -> String {
    crate::sanitize::text(s).into_owned()
}

/// One element per line, indented, for the review page (the builders write compact XML).
pub fn pretty(xml: &str) -> String {
    if xml.contains('\n') {
        return xml.to_string();
    }
    let mut out = String::new();
    let mut depth: usize = 0;
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        let text = rest[..start].trim();
        if !text.is_empty() {
            out.pop();
            out.push_str(text);
            out.push('\n');
        }
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let tag = &rest[start..start + end + 1];
        let closing = tag.starts_with("</");
        let selfclosing = tag.ends_with("/>") || tag.starts_with("<?");
        if closing {
            depth = depth.saturating_sub(1);
            if out.ends_with('\n') && !text.is_empty() {
                out.pop();
                out.push_str(tag);
                out.push('\n');
                rest = &rest[start + end + 1..];
                continue;
            }
        }
        out.push_str(&"  ".repeat(depth));
        out.push_str(tag);
        out.push('\n');
        if !closing && !selfclosing {
            depth += 1;
        }
        rest = &rest[start + end + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn pretty_indents_elements_and_keeps_text_on_its_line() {
        let p = super::pretty(
            "<pool type='dir'><name>a&amp;b</name><target><path>/x</path></target></pool>",
        );
        assert_eq!(
            p,
            "<pool type='dir'>\n  <name>a&amp;b</name>\n  <target>\n    <path>/x</path>\n  </target>\n</pool>\n"
        );
    }
}
