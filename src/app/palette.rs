//! The `:` command palette (k9s style): `:vms @kvm2 /web` opens a pane, scoped to a host and
//! filtered. Names and aliases come from the pane registry and `[aliases]` in config.toml;
//! Tab completes commands, hosts and pools; ↑/↓ recall history, which the runtime keeps in
//! the XDG state dir (an effect: `update` does no I/O).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::filter::Filter;
use super::panes::{self, PaneId, Place, Scope, PANES};
use super::{App, Effect, Mode, View};
use crate::model::HostId;

/// Lines of history kept (in memory and on disk).
pub const HISTORY: usize = 200;

/// Commands that are not panes.
const EXTRA: &[(&[&str], &str, Extra)] = &[
    (&["log", "messages"], "message log", Extra::Log),
    (&["help", "?"], "keys of every pane", Extra::Help),
    (&["q", "quit", "q!", "exit"], "leave virtdeck", Extra::Quit),
    (
        &["demo"],
        "add the built-in demo fleet (made-up hosts)",
        Extra::Demo,
    ),
];

#[derive(Clone, Copy)]
enum Extra {
    Log,
    Help,
    Quit,
    Demo,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Palette {
    pub input: String,
    /// Why the last Enter did nothing (unknown command or host); cleared by typing.
    pub error: Option<String>,
    /// Completions of the word under the cursor (the end of the line).
    pub suggestions: Vec<Suggestion>,
    /// The suggestion Tab put in, when Tab cycles through several.
    pub pick: Option<usize>,
    /// Position in history while ↑/↓ recall (0 = newest), and what was typed before.
    recall: Option<(usize, String)>,
    /// The word being completed as it was typed, so Tab can cycle.
    stem: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Suggestion {
    /// The whole word it completes to.
    pub word: String,
    pub about: String,
}

pub fn open(app: &mut App) {
    let p = Palette {
        suggestions: suggest(app, ""),
        ..Palette::default()
    };
    app.push_overlay(Mode::Palette(Box::new(p)));
}

pub fn key(app: &mut App, ev: KeyEvent) -> Vec<Effect> {
    let Mode::Palette(p) = &mut app.mode else {
        return Vec::new();
    };
    let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
    match ev.code {
        KeyCode::Esc => app.pop_overlay(),
        KeyCode::Char('c') if ctrl => app.pop_overlay(),
        KeyCode::Enter => {
            let line = p.input.trim().to_string();
            if line.is_empty() {
                app.pop_overlay();
                return Vec::new();
            }
            return enter(app, line);
        }
        KeyCode::Tab => complete(app, true),
        KeyCode::BackTab => complete(app, false),
        KeyCode::Up => recall(app, true),
        KeyCode::Down => recall(app, false),
        KeyCode::Char('u') if ctrl => edit(app, |s| s.clear()),
        KeyCode::Char('w') if ctrl => edit(app, |s| {
            let t = s.trim_end().len();
            s.truncate(s[..t].rfind(' ').map_or(0, |i| i + 1));
        }),
        KeyCode::Backspace => {
            if p.input.is_empty() {
                // Backspace on an empty line closes it, as in k9s and vim.
                app.pop_overlay();
            } else {
                edit(app, |s| {
                    s.pop();
                })
            }
        }
        KeyCode::Char(c) if !ctrl => edit(app, |s| s.push(c)),
        _ => {}
    }
    Vec::new()
}

/// Text pasted into the palette: one line, control characters dropped.
pub fn paste(app: &mut App, text: &str) {
    let clean: String = text
        .chars()
        .map(|c| {
            if c == '\n' || c == '\r' || c == '\t' {
                ' '
            } else {
                c
            }
        })
        .filter(|c| !c.is_control())
        .collect();
    edit(app, |s| s.push_str(&clean));
}

fn edit(app: &mut App, f: impl FnOnce(&mut String)) {
    let Mode::Palette(p) = &mut app.mode else {
        return;
    };
    f(&mut p.input);
    p.recall = None;
    retyped(app);
}

/// The line changed: the last error and Tab's cycle are over; completions for the new line.
fn retyped(app: &mut App) {
    let Mode::Palette(p) = &mut app.mode else {
        return;
    };
    p.error = None;
    p.pick = None;
    p.stem = None;
    let input = p.input.clone();
    let s = suggest(app, &input);
    if let Mode::Palette(p) = &mut app.mode {
        p.suggestions = s;
    }
}

/// Tab: the only completion, else the next one (S-Tab: the previous).
fn complete(app: &mut App, forward: bool) {
    let Mode::Palette(p) = &mut app.mode else {
        return;
    };
    if p.suggestions.is_empty() {
        return;
    }
    let n = p.suggestions.len();
    let i = match p.pick {
        None if forward => 0,
        None => n - 1,
        Some(i) if forward => (i + 1) % n,
        Some(i) => (i + n - 1) % n,
    };
    let stem = p
        .stem
        .get_or_insert_with(|| last_word(&p.input).to_string())
        .clone();
    let word = p.suggestions[i].word.clone();
    let keep = p.input.len() - last_word(&p.input).len();
    p.input.truncate(keep);
    p.input.push_str(&word);
    p.error = None;
    if n == 1 {
        // The only choice: take it and move on to the next word.
        p.input.push(' ');
        retyped(app);
    } else {
        p.pick = Some(i);
        p.stem = Some(stem);
    }
}

fn recall(app: &mut App, older: bool) {
    let n = app.history.len();
    let Mode::Palette(p) = &mut app.mode else {
        return;
    };
    let next = match (p.recall.as_ref().map(|r| r.0), older) {
        (None, true) if n > 0 => Some(0),
        (None, _) => return,
        (Some(i), true) => Some((i + 1).min(n - 1)),
        (Some(0), false) => None,
        (Some(i), false) => Some(i - 1),
    };
    match next {
        Some(i) => {
            let typed = p.recall.take().map_or_else(|| p.input.clone(), |r| r.1);
            p.input = app.history[n - 1 - i].clone();
            p.recall = Some((i, typed));
        }
        None => {
            if let Some((_, typed)) = p.recall.take() {
                p.input = typed;
            }
        }
    }
    retyped(app);
}

fn last_word(s: &str) -> &str {
    if s.ends_with(' ') {
        return "";
    }
    s.rsplit(' ').next().unwrap_or("")
}

/// Completions for the last word of `input`.
pub fn suggest(app: &App, input: &str) -> Vec<Suggestion> {
    let word = last_word(input);
    let first = input.split_whitespace().next();
    let at_first = input.trim_start().len() == word.len();
    let lower = word.to_lowercase();
    let mut out: Vec<Suggestion> = Vec::new();
    if at_first {
        for p in PANES.iter().filter(|p| !p.names.is_empty()) {
            if let Some(n) = p.names.iter().find(|n| n.starts_with(&lower)) {
                out.push(Suggestion {
                    word: n.to_string(),
                    about: p.about.to_string(),
                });
            }
        }
        for (names, about, _) in EXTRA {
            if let Some(n) = names.iter().find(|n| n.starts_with(&lower)) {
                out.push(Suggestion {
                    word: n.to_string(),
                    about: about.to_string(),
                });
            }
        }
        for (name, line) in &app.settings.aliases {
            if name.starts_with(&lower) {
                out.push(Suggestion {
                    word: name.clone(),
                    about: format!("= {line}"),
                });
            }
        }
    } else if let Some(h) = word.strip_prefix('@') {
        out = host_completions(app, h, "@");
    } else if word.starts_with('/') {
        // Filter text: anything goes.
    } else if first.and_then(command_pane) == Some(PaneId::Volumes) {
        if let Some((pool, host)) = word.split_once('@') {
            out = host_completions(app, host, &format!("{pool}@"));
        } else {
            out = pool_completions(app, word);
        }
    }
    out
}

fn host_completions(app: &App, typed: &str, prefix: &str) -> Vec<Suggestion> {
    let lower = typed.to_lowercase();
    app.hosts
        .iter()
        .filter(|h| h.name.to_lowercase().starts_with(&lower))
        .map(|h| Suggestion {
            word: format!("{prefix}{}", h.name),
            about: format!("{} VMs", h.vms.len()),
        })
        .collect()
}

/// Pool names that start with `typed`; a name on several hosts is offered as `pool@host`.
fn pool_completions(app: &App, typed: &str) -> Vec<Suggestion> {
    let lower = typed.to_lowercase();
    let all: Vec<(HostId, &str)> = super::storage::all_pools(app)
        .into_iter()
        .map(|(h, p)| (h, p.name.as_str()))
        .filter(|(_, n)| n.to_lowercase().starts_with(&lower))
        .collect();
    let mut out = Vec::new();
    for (h, name) in &all {
        let twice = all.iter().filter(|(_, n)| n == name).count() > 1;
        let host = app.host(*h).map(|h| h.name.as_str()).unwrap_or("");
        out.push(Suggestion {
            word: if twice {
                format!("{name}@{host}")
            } else {
                name.to_string()
            },
            about: format!("pool on {host}"),
        });
    }
    out
}

fn command_pane(word: &str) -> Option<PaneId> {
    let w = word.to_lowercase();
    PANES
        .iter()
        .find(|p| p.names.contains(&w.as_str()))
        .map(|p| p.id)
}

/// A palette line taken apart: the command, `@HOST`, positional words, `/TEXT`.
#[derive(Debug, Default, PartialEq)]
struct Line {
    command: String,
    host: Option<String>,
    args: Vec<String>,
    /// Everything after the first ` /` (or a leading `/`): the filter, spaces and all.
    text: Option<String>,
}

fn parse(line: &str) -> Line {
    let (head, text) = match line.find(" /") {
        Some(i) => (&line[..i], Some(line[i + 2..].trim().to_string())),
        None => (line, None),
    };
    let mut words = head.split_whitespace();
    let mut out = Line {
        command: words.next().unwrap_or("").to_lowercase(),
        text,
        ..Line::default()
    };
    for w in words {
        match w.strip_prefix('@') {
            Some(h) => out.host = Some(h.to_string()),
            None => out.args.push(w.to_string()),
        }
    }
    out
}

/// Replaces a user alias at the start of the line with what it stands for (aliases may use
/// aliases; a loop is an error).
fn expand(app: &App, line: &str) -> Result<String, String> {
    let mut line = line.to_string();
    let mut seen = Vec::new();
    loop {
        let first = line.split_whitespace().next().unwrap_or("").to_lowercase();
        let Some(to) = app.settings.aliases.get(&first) else {
            return Ok(line);
        };
        if seen.contains(&first) {
            return Err(format!(
                "alias {first} refers to itself (config.toml [aliases])"
            ));
        }
        seen.push(first.clone());
        let rest = line.trim_start()[first.len()..].to_string();
        line = format!("{to}{rest}");
    }
}

/// Enter: run the line. An unknown command or host is said in the palette and changes nothing.
fn enter(app: &mut App, line: String) -> Vec<Effect> {
    match run(app, &line) {
        Ok(fx) => {
            // The palette closes before the command runs (it may open help over the pane).
            remember(app, &line);
            let mut out = vec![Effect::SaveHistory(app.history.clone())];
            out.extend(fx);
            out
        }
        Err(e) => {
            if let Mode::Palette(p) = &mut app.mode {
                p.error = Some(e);
            }
            Vec::new()
        }
    }
}

fn remember(app: &mut App, line: &str) {
    app.history.retain(|l| l != line);
    app.history.push(line.to_string());
    if app.history.len() > HISTORY {
        let extra = app.history.len() - HISTORY;
        app.history.drain(..extra);
    }
}

/// Runs a palette line: Ok with the effects, or why nothing was done.
pub fn run(app: &mut App, line: &str) -> Result<Vec<Effect>, String> {
    let expanded = expand(app, line)?;
    let mut l = parse(&expanded);
    if let Some((_, _, what)) = EXTRA
        .iter()
        .find(|(n, _, _)| n.contains(&l.command.as_str()))
    {
        close(app);
        return Ok(match what {
            Extra::Log => {
                app.push_overlay(Mode::Log { scroll: 0 });
                Vec::new()
            }
            Extra::Help => {
                app.push_overlay(Mode::Help { scroll: 0 });
                Vec::new()
            }
            Extra::Quit => vec![Effect::Quit],
            Extra::Demo => vec![Effect::StartDemo],
        });
    }
    let Some(pane) = command_pane(&l.command) else {
        return Err(format!(
            "unknown command :{} (Tab lists them)",
            crate::sanitize::text(&l.command)
        ));
    };
    let host = match &l.host {
        Some(h) => Some(find_host(app, h)?),
        None => None,
    };
    let spec = panes::spec(pane);
    // `:vms group:tag`: how the VM table groups its rows (not a filter word).
    let mut group = None;
    if pane == PaneId::Vms {
        let mut bad = None;
        l.args.retain(|a| match a.strip_prefix("group:") {
            Some(v) => {
                match crate::app::groups::GroupBy::parse(&v.to_lowercase()) {
                    Some(g) => group = Some(g),
                    None => bad = Some(v.to_string()),
                }
                false
            }
            None => true,
        });
        if let Some(v) = bad {
            return Err(format!(
                "group:{}: group by host, tag, state or none",
                crate::sanitize::text(&v)
            ));
        }
    }
    // Filter words without the `/` (`:vms tag:db state:running`) on a pane that takes no
    // argument of its own.
    if l.text.is_none() && spec.scoped && pane != PaneId::Volumes && !l.args.is_empty() {
        l.text = Some(l.args.join(" "));
    }
    if !spec.scoped && l.text.is_some() {
        return Err(format!(":{} takes no /filter", spec.names[0]));
    }
    let filter = match &l.text {
        Some(t) => Filter::parse(t)?,
        None => Filter::default(),
    };
    let scope = Scope {
        host,
        text: l.text.clone().unwrap_or_default(),
        filter,
        error: None,
    };
    let place = match pane {
        PaneId::Volumes => {
            let (pool, host) = volumes_of(app, &l, host)?;
            Place::Volumes(host, pool)
        }
        PaneId::Secrets => Place::Secrets(secrets_host(app, host)?),
        id => panes::whole(id).ok_or_else(|| format!("unknown command :{}", l.command))?,
    };
    close(app);
    let fx = panes::open(app, place);
    match pane {
        PaneId::Vms => {
            app.vms.vm_scope = scope.host;
            if let Some(g) = group {
                app.vms.group_by = g;
                app.vms.folded.clear();
            }
            app.set_filter(scope.text.clone());
        }
        PaneId::Volumes => app.scopes.set(
            pane,
            Scope {
                host: None,
                ..scope
            },
        ),
        _ if spec.scoped => app.scopes.set(pane, scope),
        _ => {}
    }
    Ok(fx)
}

/// Closes the palette (wherever it is: `run` may be called with it on top).
fn close(app: &mut App) {
    app.close_overlay(|m| matches!(m, Mode::Palette(_)));
}

/// A host by name: exact (any case), else the only one that starts with it.
fn find_host(app: &App, name: &str) -> Result<HostId, String> {
    let lower = name.to_lowercase();
    if let Some(h) = app.hosts.iter().find(|h| h.name.to_lowercase() == lower) {
        return Ok(h.id);
    }
    let starts: Vec<_> = app
        .hosts
        .iter()
        .filter(|h| h.name.to_lowercase().starts_with(&lower))
        .collect();
    match starts.as_slice() {
        [h] => Ok(h.id),
        [] => Err(format!(
            "no host named {} (hosts: {})",
            crate::sanitize::text(name),
            host_list(app)
        )),
        many => Err(format!(
            "@{} matches {} hosts: {}",
            crate::sanitize::text(name),
            many.len(),
            many.iter()
                .take(5)
                .map(|h| crate::sanitize::text(&h.name).into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn host_list(app: &App) -> String {
    let mut names: Vec<String> = app
        .hosts
        .iter()
        .take(5)
        .map(|h| crate::sanitize::text(&h.name).into_owned())
        .collect();
    if app.hosts.len() > 5 {
        names.push(format!("{} more", app.hosts.len() - 5));
    }
    names.join(", ")
}

/// `:vols POOL[@HOST]`: the pool, on the named host or the only host that has it.
fn volumes_of(app: &App, l: &Line, host: Option<HostId>) -> Result<(String, HostId), String> {
    let Some(arg) = l.args.first() else {
        return Err(":vols needs a pool: :vols POOL[@HOST] (Tab lists pools)".into());
    };
    let (pool, host) = match arg.split_once('@') {
        Some((p, h)) => (p.to_string(), Some(find_host(app, h)?)),
        None => (arg.clone(), host),
    };
    let on: Vec<HostId> = super::storage::all_pools(app)
        .into_iter()
        .filter(|(h, p)| p.name == pool && host.is_none_or(|x| x == *h))
        .map(|(h, _)| h)
        .collect();
    let shown = crate::sanitize::text(&pool);
    match on.as_slice() {
        [h] => Ok((pool, *h)),
        [] => Err(match host.and_then(|h| app.host(h)) {
            Some(h) => format!(
                "no pool {shown} on {} (yet: pools show once the host reported them)",
                crate::sanitize::text(&h.name)
            ),
            None => format!("no pool named {shown} (Tab lists pools)"),
        }),
        _ => Err(format!(
            "pool {shown} is on {} hosts: say which with {shown}@HOST",
            on.len()
        )),
    }
}

/// `:secrets [@HOST]`: the named host, the one under the cursor, or the only host.
fn secrets_host(app: &App, host: Option<HostId>) -> Result<HostId, String> {
    if let Some(h) = host {
        return Ok(h);
    }
    let here = match &app.view {
        View::Volumes { host, .. } | View::Secrets { host } | View::Detail { host, .. } => {
            Some(*host)
        }
        View::Pane(PaneId::Dashboard) => app.dashboard_host(),
        _ => None,
    };
    match (here, app.hosts.as_slice()) {
        (Some(h), _) => Ok(h),
        (None, [only]) => Ok(only.id),
        _ => Err(":secrets of which host? :secrets @HOST".into()),
    }
}

#[cfg(test)]
mod tests;
