//! The `?` overlay, generated from the active keymap so it always tells the truth.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::centered;
use crate::app::panes::PANES;
use crate::app::App;
use crate::config::keymap::{Binding, Section};

/// Sections that belong to a pane's screen but are not its own keymap: listed right after
/// it.
const SUBSECTIONS: [(Section, &str, Section); 2] = [
    (Section::Detail, "XML editor (VM details)", Section::XmlEdit),
    (
        Section::Console,
        "Serial console (not attached)",
        Section::ConsoleIdle,
    ),
];

/// The overlays' sections, listed after the panes.
const OVERLAYS: [(&str, Section); 7] = [
    ("Display panel", Section::Display),
    ("Forms and wizards", Section::Wizard),
    ("Add-host form", Section::Form),
    ("Filter line", Section::Filter),
    ("Confirmation", Section::Confirm),
    ("Message log", Section::Log),
    ("This help", Section::Help),
];

/// Every section with its title: each pane's (its title is in its registry line) with what
/// belongs to it, then the overlays'.
fn sections() -> impl Iterator<Item = (&'static str, Section)> {
    PANES
        .iter()
        .flat_map(|p| {
            std::iter::once((p.title, p.section)).chain(
                SUBSECTIONS
                    .iter()
                    .filter(move |(of, _, _)| *of == p.section)
                    .map(|(_, title, s)| (*title, *s)),
            )
        })
        .chain(OVERLAYS.iter().copied())
}

/// Lines of help: every section of the keymap, the focused pane's first; per section each
/// action once with all its keys.
pub fn lines(app: &App) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut out = Vec::new();
    let focused = super::status::focused_section(app);
    let order = sections()
        .filter(|(_, s)| *s == focused)
        .chain(sections().filter(|(_, s)| *s != focused));
    // The focused scope's plugins first: they are this screen's keys too.
    let mine = crate::app::plugins::of_scope(app);
    let plugins = mine.iter().copied().chain(
        app.settings
            .plugins
            .iter()
            .filter(|p| !mine.iter().any(|m| std::ptr::eq(*m, *p))),
    );
    let mut header = false;
    for p in plugins {
        if !header {
            out.push(Line::from(Span::styled("Plugins (plugins.toml)", t.header)));
            header = true;
        }
        let scopes: Vec<&str> = p.scopes.iter().map(|s| s.name()).collect();
        let mut flags = vec![scopes.join(",")];
        if p.background {
            flags.push("background".into());
        }
        if p.confirm {
            flags.push("asks first".into());
        }
        if p.dangerous {
            flags.push("not in --readonly".into());
        }
        out.push(Line::from(vec![
            Span::styled(
                format!("  {:<18}", crate::sanitize::text(&p.key_text)),
                t.key_hint,
            ),
            Span::raw(crate::sanitize::text(&p.description).into_owned()),
            Span::styled(format!("  [{}]", flags.join("; ")), t.dim),
        ]));
    }
    if header {
        out.push(Line::default());
    }
    for (title, section) in order {
        let bindings = app.keymap.bindings(section);
        if bindings.is_empty() {
            continue;
        }
        out.push(Line::from(Span::styled(title.to_string(), t.header)));
        let mut seen: Vec<&Binding> = Vec::new();
        for b in bindings {
            if seen
                .iter()
                .any(|s| s.action == b.action && s.desc == b.desc)
            {
                continue;
            }
            seen.push(b);
            let keys: Vec<&str> = bindings
                .iter()
                .filter(|o| o.action == b.action && o.desc == b.desc)
                .map(|o| o.on.as_str())
                .collect();
            out.push(Line::from(vec![
                Span::styled(format!("  {:<18}", keys.join(" ")), t.key_hint),
                Span::raw(b.desc.clone()),
            ]));
        }
        out.push(Line::default());
    }
    out.push(Line::from(Span::styled(
        "Filter: words match names (all must); !word excludes; host:NAME, \
         state:running|paused|off|active, re:REGEX",
        t.dim,
    )));
    out.push(Line::default());
    out.extend(palette_lines(app));
    out
}

/// The `:` commands, from the pane registry: names, aliases, what each shows.
fn palette_lines(app: &App) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut out = vec![Line::from(Span::styled(
        "Command palette (:COMMAND [@HOST] [/TEXT], Tab completes)",
        t.header,
    ))];
    for p in PANES.iter().filter(|p| !p.names.is_empty()) {
        let scoped = if p.scoped { " @HOST /TEXT" } else { "" };
        out.push(Line::from(vec![
            Span::styled(format!("  :{:<17}", p.names[0]), t.key_hint),
            Span::raw(format!("{}{scoped}", p.about)),
        ]));
        if p.names.len() > 1 {
            out.push(Line::from(Span::styled(
                format!("  {:<18}also :{}", "", p.names[1..].join(" :")),
                t.dim,
            )));
        }
    }
    out.push(Line::from(vec![
        Span::styled(format!("  {:<18}", ":log :help :q"), t.key_hint),
        Span::raw("message log, this help, quit"),
    ]));
    for (name, line) in &app.settings.aliases {
        out.push(Line::from(vec![
            Span::styled(
                format!("  :{:<17}", crate::sanitize::text(name)),
                t.key_hint,
            ),
            Span::raw(format!("= {} (config.toml)", crate::sanitize::text(line))),
        ]));
    }
    out
}

/// The lines that hold `search` (any case), each under its section's heading.
fn matching(lines: Vec<Line<'static>>, search: &str) -> Vec<Line<'static>> {
    let needle = search.to_lowercase();
    let mut out = Vec::new();
    let mut heading: Option<Line<'static>> = None;
    for l in lines {
        let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
        // Headings start in the first column; entries are indented.
        if !text.starts_with(' ') && !text.is_empty() {
            heading = Some(l);
            continue;
        }
        if text.to_lowercase().contains(&needle) {
            if let Some(h) = heading.take() {
                out.push(h);
            }
            out.push(l);
        }
    }
    out
}

pub fn render(app: &App, f: &mut Frame, area: Rect, scroll: usize) {
    let (search, typing) = &app.help_search;
    let mut lines = lines(app);
    if !search.is_empty() {
        lines = matching(lines, search);
    }
    if !search.is_empty() || *typing {
        let count = if lines.is_empty() {
            "  nothing matches".to_string()
        } else {
            String::new()
        };
        lines.insert(
            0,
            Line::from(vec![
                Span::styled(" / ", app.theme.key_hint),
                Span::styled(crate::sanitize::text(search).into_owned(), app.theme.filter),
                Span::styled(if *typing { "█" } else { "" }, app.theme.filter),
                Span::styled(count, app.theme.dim),
            ]),
        );
    }
    let h = (lines.len() as u16 + 2).min(area.height);
    // As wide as the terminal allows (long descriptions and palette lines), centred.
    let rect = centered(area, area.width.saturating_sub(4).clamp(40, 110), h);
    let max_scroll = lines
        .len()
        .saturating_sub(rect.height.saturating_sub(2) as usize);
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines)
            .scroll((scroll.min(max_scroll) as u16, 0))
            .style(app.theme.dialog)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(app.theme.border_focus)
                    .title(Span::styled(
                        " Help — keys from the active keymap · / searches ",
                        app.theme.title,
                    )),
            ),
        rect,
    );
}

#[cfg(test)]
mod tests {
    use super::sections;
    use crate::config::keymap::Section;

    /// A section added to the keymap must show in the help (7 of 19 did).
    #[test]
    fn every_keymap_section_has_a_help_title() {
        for (name, s) in Section::ALL {
            assert!(
                sections().any(|(_, h)| h == s),
                "[{name}] is missing from the help"
            );
        }
    }
}
