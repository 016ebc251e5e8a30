//! The XML tab: the definition highlighted (tags, attribute names, values, text), the in-app
//! editor, the diff review before redefining and libvirt's error when it refuses.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::detail::{XmlEditor, XmlStage};
use crate::app::App;
use crate::config::theme::Theme;
use crate::host::vm::VmDetails;
use crate::xml::edit::DiffLine;

/// Where the scanner is; carried across lines (attribute values may span them).
#[derive(Clone, Copy, PartialEq)]
enum St {
    Text,
    /// Just after `<`, `</`, `<?`: reading the element name.
    Name,
    /// Inside a tag between attributes.
    Tag,
    Attr,
    Value(char),
    Comment,
}

/// Highlights XML text line by line: tags (`title`), attribute names (`header`), values
/// (`level_ok`), comments (`dim`), text (`base`). Tolerates broken XML (it is being edited).
pub fn highlight(text: &str, t: &Theme) -> Vec<Line<'static>> {
    let style = |s: St| match s {
        St::Text => t.base,
        St::Name | St::Tag => t.title,
        St::Attr => t.header,
        St::Value(_) => t.level_ok,
        St::Comment => t.dim,
    };
    let mut st = St::Text;
    let mut out = Vec::new();
    for line in text.lines() {
        let mut spans: Vec<Span<'static>> = Vec::new();
        let mut cur = String::new();
        let mut cur_st = st;
        let flush = |spans: &mut Vec<Span<'static>>, cur: &mut String, s: St| {
            if !cur.is_empty() {
                spans.push(Span::styled(std::mem::take(cur), style(s)));
            }
        };
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            // The state this character belongs to, and the state after it.
            let (this, next) = match st {
                St::Text if c == '<' => {
                    if line[line.char_indices().nth(i).map_or(0, |(b, _)| b)..].starts_with("<!--")
                    {
                        (St::Comment, St::Comment)
                    } else {
                        (St::Name, St::Name)
                    }
                }
                St::Text => (St::Text, St::Text),
                St::Comment => {
                    let done = c == '>' && i >= 2 && chars[i - 1] == '-' && chars[i - 2] == '-';
                    (St::Comment, if done { St::Text } else { St::Comment })
                }
                St::Name if c.is_whitespace() => (St::Tag, St::Tag),
                St::Name | St::Tag if c == '>' => (St::Tag, St::Text),
                St::Name => (St::Name, St::Name),
                St::Tag if c.is_whitespace() || c == '/' || c == '?' => (St::Tag, St::Tag),
                St::Tag => (St::Attr, St::Attr),
                St::Attr if c == '=' => (St::Tag, St::Tag),
                St::Attr if c == '>' => (St::Tag, St::Text),
                St::Attr if c.is_whitespace() => (St::Tag, St::Tag),
                St::Attr => (St::Attr, St::Attr),
                St::Value(q) if c == q => (St::Value(q), St::Tag),
                St::Value(q) => (St::Value(q), St::Value(q)),
            };
            // A quote after `=` opens a value.
            let (this, next) = if st == St::Tag && (c == '"' || c == '\'') {
                (St::Value(c), St::Value(c))
            } else {
                (this, next)
            };
            // Runs split where the colour changes, not at every state change.
            if style(this) != style(cur_st) {
                flush(&mut spans, &mut cur, cur_st);
            }
            cur_st = this;
            cur.push(c);
            st = next;
            i += 1;
        }
        flush(&mut spans, &mut cur, cur_st);
        out.push(Line::from(spans));
    }
    out
}

pub fn render(app: &App, f: &mut Frame, area: Rect, d: &VmDetails) {
    let t = &app.theme;
    let xml = crate::app::detail::shown_xml(d);
    let editor = app
        .detail
        .editor
        .as_ref()
        .filter(|e| e.open && e.uuid == d.uuid);
    match editor {
        Some(ed) => render_editor(app, f, area, d, ed),
        None => {
            let which = if d.inactive_xml.is_some() {
                "persistent definition"
            } else {
                "live definition (transient VM)"
            };
            let title = format!(
                " XML: {which} · e edit here · E edit in $EDITOR{} ",
                if d.secure {
                    ""
                } else {
                    " · secrets hidden (read-only connection)"
                }
            );
            let block = Block::default()
                .borders(Borders::ALL)
                .border_style(t.border)
                .title(Span::styled(title, t.title));
            let inner = block.inner(area);
            app.detail.page.set((inner.height as usize).max(1));
            // The document keeps its lines; only what could reach the terminal is escaped.
            let lines = highlight(&crate::sanitize::document(xml), t);
            let scroll = app.detail.xml_scroll.min(lines.len().saturating_sub(1));
            f.render_widget(
                Paragraph::new(lines)
                    .block(block)
                    .scroll((scroll.min(u16::MAX as usize) as u16, 0)),
                area,
            );
        }
    }
}

fn render_editor(app: &App, f: &mut Frame, area: Rect, d: &VmDetails, ed: &XmlEditor) {
    let t = &app.theme;
    // libvirt's refusal belongs to the text being edited, not to a new diff.
    let error = ed
        .error
        .as_ref()
        .filter(|_| matches!(ed.stage, XmlStage::Editing | XmlStage::Resume));
    let err_h = if error.is_some() { 4 } else { 0 };
    let [err_area, main] =
        Layout::vertical([Constraint::Length(err_h), Constraint::Min(3)]).areas(area);
    if let Some(e) = error {
        f.render_widget(
            Paragraph::new(crate::sanitize::text(e).into_owned())
                .style(t.level_crit)
                .wrap(Wrap { trim: false })
                .block(
                    Block::default()
                        .borders(Borders::ALL)
                        .border_style(t.level_crit)
                        .title(" libvirt refused the definition (your edit is kept) "),
                ),
            err_area,
        );
    }
    let key = |s, a| app.keymap.key_for(s, a).unwrap_or("?").to_string();
    use crate::config::keymap::{Action, Section};
    match &ed.stage {
        XmlStage::Editing => {
            let block = Block::default()
                .borders(Borders::ALL)
                .border_style(t.border_focus)
                .title(Span::styled(
                    format!(
                        " Editing {} · {} review and apply · {} close ",
                        crate::fmt::truncate(&d.name, 40),
                        key(Section::XmlEdit, Action::Save),
                        key(Section::XmlEdit, Action::Cancel)
                    ),
                    t.title,
                ));
            let inner = block.inner(main);
            f.render_widget(block, main);
            f.render_widget(&ed.text, inner);
        }
        XmlStage::Review { diff, scroll } => {
            let block = Block::default()
                .borders(Borders::ALL)
                .border_style(t.border_focus)
                .title(Span::styled(
                    format!(
                        " Redefine {}? {} apply · {} back to the editor · j/k scroll ",
                        crate::fmt::truncate(&d.name, 40),
                        key(Section::Confirm, Action::Confirm),
                        key(Section::Confirm, Action::Cancel)
                    ),
                    t.title,
                ));
            let lines = diff_lines(diff, t);
            f.render_widget(
                Paragraph::new(lines)
                    .block(block)
                    .scroll(((*scroll).min(u16::MAX as usize) as u16, 0)),
                main,
            );
        }
        XmlStage::Resume => {
            let block = Block::default()
                .borders(Borders::ALL)
                .border_style(t.border_focus)
                .title(Span::styled(
                    format!(
                        " An earlier edit of {} is kept (changes below) · {} continue it · d discard it and edit the current definition · {} close ",
                        crate::fmt::truncate(&d.name, 40),
                        key(Section::Confirm, Action::Confirm),
                        key(Section::Confirm, Action::Cancel)
                    ),
                    t.title,
                ));
            let lines = diff_lines(&crate::xml::edit::diff(&ed.base, &ed.content()), t);
            f.render_widget(Paragraph::new(lines).block(block), main);
        }
        XmlStage::Waiting(_) => {
            f.render_widget(
                Paragraph::new("redefining… (libvirt validates the definition)")
                    .style(t.pending)
                    .block(
                        Block::default()
                            .borders(Borders::ALL)
                            .border_style(t.border),
                    ),
                main,
            );
        }
    }
}

/// `+`/`-` lines in the theme's ok/critical colours, context plain.
pub fn diff_lines(diff: &[DiffLine], t: &Theme) -> Vec<Line<'static>> {
    diff.iter()
        .map(|l| match l {
            DiffLine::Same(s) => Line::from(Span::styled(
                format!("  {}", crate::sanitize::text(s)),
                Style::default(),
            )),
            DiffLine::Removed(s) => Line::from(Span::styled(
                format!("- {}", crate::sanitize::text(s)),
                t.level_crit,
            )),
            DiffLine::Added(s) => Line::from(Span::styled(
                format!("+ {}", crate::sanitize::text(s)),
                t.level_ok,
            )),
            DiffLine::Skipped(n) => {
                Line::from(Span::styled(format!("  … {n} unchanged line(s)"), t.dim))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theme() -> Theme {
        Theme::load("default", None).unwrap()
    }

    /// (text, style) of each span of a line.
    fn spans(l: &Line) -> Vec<(String, Style)> {
        l.spans
            .iter()
            .map(|s| (s.content.to_string(), s.style))
            .collect()
    }

    #[test]
    fn tags_attributes_values_and_text_get_their_colours() {
        let t = theme();
        let lines = highlight("  <disk type='file' device=\"disk\">text</disk>", &t);
        assert_eq!(lines.len(), 1);
        assert_eq!(
            spans(&lines[0]),
            vec![
                ("  ".into(), t.base),
                ("<disk ".into(), t.title),
                ("type".into(), t.header),
                ("=".into(), t.title),
                ("'file'".into(), t.level_ok),
                (" ".into(), t.title),
                ("device".into(), t.header),
                ("=".into(), t.title),
                ("\"disk\"".into(), t.level_ok),
                (">".into(), t.title),
                ("text".into(), t.base),
                ("</disk>".into(), t.title),
            ]
        );
    }

    #[test]
    fn values_may_hold_markup_and_span_lines() {
        let t = theme();
        let lines = highlight("<a x='1 > 2 \"q\"\nstill'/>after\n<!-- c <b> -->x", &t);
        assert_eq!(lines.len(), 3);
        let l0 = spans(&lines[0]);
        assert_eq!(
            l0.last().unwrap(),
            &("'1 > 2 \"q\"".to_string(), t.level_ok)
        );
        let l1 = spans(&lines[1]);
        assert_eq!(l1[0], ("still'".to_string(), t.level_ok));
        assert_eq!(l1[1], ("/>".to_string(), t.title));
        assert_eq!(l1[2], ("after".to_string(), t.base));
        let l2 = spans(&lines[2]);
        assert_eq!(l2[0], ("<!-- c <b> -->".to_string(), t.dim));
        assert_eq!(l2[1], ("x".to_string(), t.base));
    }

    #[test]
    fn every_character_is_kept() {
        let t = theme();
        let src = "<?xml version='1.0'?>\n<domain type='kvm'>\n  <name>a &amp; b</name>\n</domain>";
        let back: Vec<String> = highlight(src, &t)
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect();
        assert_eq!(back.join("\n"), src);
    }

    #[test]
    fn diff_marks_added_and_removed() {
        let t = theme();
        let d = crate::xml::edit::diff("a\nb\nc\n", "a\nB\nc\n");
        let lines = diff_lines(&d, &t);
        let text: Vec<String> = lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect();
        assert_eq!(text, vec!["  a", "- b", "+ B", "  c"]);
        assert_eq!(lines[1].spans[0].style, t.level_crit);
        assert_eq!(lines[2].spans[0].style, t.level_ok);
    }
}
