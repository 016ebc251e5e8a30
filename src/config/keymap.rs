//! Keymaps are data: `keymaps/default.toml` is compiled in, and the user's `keymap.toml` replaces
//! only the keys it names. Help and the status bar read their text from here, so they cannot drift.

use std::collections::HashMap;
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;
use toml::Spanned;

use super::{line_of, read_optional, ConfigError};

pub const DEFAULT_KEYMAP: &str = include_str!("../../keymaps/default.toml");

/// Every action a key can run. Names in TOML are the snake_case strings of [`Action::NAMES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Filter,
    Help,
    Log,
    Quit,
    Mark,
    MarkAll,
    ClearMarks,
    SortNext,
    SortReverse,
    Start,
    Shutdown,
    Reboot,
    Reset,
    ForceOff,
    Pause,
    Resume,
    ManagedSave,
    ToggleAutostart,
    Confirm,
    Cancel,
    Back,
    ViewDashboard,
    ViewVms,
    Open,
    AddHost,
    RemoveHost,
    NextField,
    TestConnection,
    Console,
    Display,
    Detach,
    ForceConsole,
    Retry,
    CopyUrl,
    CopyTunnel,
    LaunchViewer,
    Preview,
    ToggleKeys,
    /// VNC preview: fit the screen / 1:1 pixels.
    Zoom,
    Left,
    Right,
    ViewPools,
    PrevField,
    FindSources,
    NewItem,
    RefreshItem,
    Build,
    Undefine,
    Delete,
    Secrets,
    CloneItem,
    /// VM detail: back up the VM (push mode) into a directory.
    Backup,
    /// VM detail: move the selected disk to another pool or format.
    MoveDisk,
    /// VM detail: mark the (shut-off) VM as a template, or unmark it.
    ToggleTemplate,
    /// VM detail: restore one of the VM's backups (a new VM, or over its disks).
    Restore,
    /// VM table: edit the tags (and note) of the selected or marked VMs.
    Tags,
    /// Events: copy the selected action's `virsh` command line (OSC 52).
    CopyCommand,
    /// VM table: group rows by host, tag, state, or not (cycles).
    GroupNext,
    /// VM table: fold or unfold the group under the cursor.
    Fold,
    /// VM detail: set a guest user's password through the guest agent.
    SetPassword,
    Resize,
    Wipe,
    Upload,
    Download,
    CancelJob,
    SetValue,
    ViewNetworks,
    Interfaces,
    Migrate,
    ViewMigrations,
    Evacuate,
    PostCopy,
    ClearFinished,
    /// VM detail screen: tabs, edits, snapshots, XML.
    NextTab,
    PrevTab,
    Edit,
    EditExternal,
    Attach,
    Revert,
    DeleteVm,
    Save,
    NewVm,
    ViewJobs,
    ViewEvents,
    /// Opens the `:` command palette.
    Palette,
    /// Back to the pane shown before (`-`).
    PrevPane,
    /// Tab / S-Tab between the panes of one screen (pools and volumes, networks and leases).
    CyclePane,
    CyclePaneBack,
    /// Unbinds a preset key from a user keymap.
    Noop,
}

impl Action {
    pub const NAMES: &'static [(&'static str, Action)] = &[
        ("up", Action::Up),
        ("down", Action::Down),
        ("page_up", Action::PageUp),
        ("page_down", Action::PageDown),
        ("top", Action::Top),
        ("bottom", Action::Bottom),
        ("filter", Action::Filter),
        ("help", Action::Help),
        ("log", Action::Log),
        ("quit", Action::Quit),
        ("mark", Action::Mark),
        ("mark_all", Action::MarkAll),
        ("clear_marks", Action::ClearMarks),
        ("sort_next", Action::SortNext),
        ("sort_reverse", Action::SortReverse),
        ("start", Action::Start),
        ("shutdown", Action::Shutdown),
        ("reboot", Action::Reboot),
        ("reset", Action::Reset),
        ("force_off", Action::ForceOff),
        ("pause", Action::Pause),
        ("resume", Action::Resume),
        ("managed_save", Action::ManagedSave),
        ("toggle_autostart", Action::ToggleAutostart),
        ("confirm", Action::Confirm),
        ("cancel", Action::Cancel),
        ("back", Action::Back),
        ("view_dashboard", Action::ViewDashboard),
        ("view_vms", Action::ViewVms),
        ("open", Action::Open),
        ("add_host", Action::AddHost),
        ("remove_host", Action::RemoveHost),
        ("next_field", Action::NextField),
        ("test_connection", Action::TestConnection),
        ("console", Action::Console),
        ("display", Action::Display),
        ("detach", Action::Detach),
        ("force_console", Action::ForceConsole),
        ("retry", Action::Retry),
        ("copy_url", Action::CopyUrl),
        ("copy_tunnel", Action::CopyTunnel),
        ("launch_viewer", Action::LaunchViewer),
        ("preview", Action::Preview),
        ("toggle_keys", Action::ToggleKeys),
        ("zoom", Action::Zoom),
        ("left", Action::Left),
        ("right", Action::Right),
        ("view_pools", Action::ViewPools),
        ("prev_field", Action::PrevField),
        ("find_sources", Action::FindSources),
        ("new", Action::NewItem),
        ("refresh", Action::RefreshItem),
        ("build", Action::Build),
        ("undefine", Action::Undefine),
        ("delete", Action::Delete),
        ("secrets", Action::Secrets),
        ("clone", Action::CloneItem),
        ("backup", Action::Backup),
        ("move_disk", Action::MoveDisk),
        ("toggle_template", Action::ToggleTemplate),
        ("restore", Action::Restore),
        ("tags", Action::Tags),
        ("group_next", Action::GroupNext),
        ("copy_command", Action::CopyCommand),
        ("fold", Action::Fold),
        ("set_password", Action::SetPassword),
        ("resize", Action::Resize),
        ("wipe", Action::Wipe),
        ("upload", Action::Upload),
        ("download", Action::Download),
        ("cancel_job", Action::CancelJob),
        ("set_value", Action::SetValue),
        ("view_networks", Action::ViewNetworks),
        ("interfaces", Action::Interfaces),
        ("migrate", Action::Migrate),
        ("view_migrations", Action::ViewMigrations),
        ("evacuate", Action::Evacuate),
        ("post_copy", Action::PostCopy),
        ("clear_finished", Action::ClearFinished),
        ("next_tab", Action::NextTab),
        ("prev_tab", Action::PrevTab),
        ("edit", Action::Edit),
        ("edit_external", Action::EditExternal),
        ("attach", Action::Attach),
        ("revert", Action::Revert),
        ("delete_vm", Action::DeleteVm),
        ("save", Action::Save),
        ("new_vm", Action::NewVm),
        ("view_jobs", Action::ViewJobs),
        ("view_events", Action::ViewEvents),
        ("palette", Action::Palette),
        ("prev_pane", Action::PrevPane),
        ("cycle_pane", Action::CyclePane),
        ("cycle_pane_back", Action::CyclePaneBack),
        ("noop", Action::Noop),
    ];

    pub fn from_name(name: &str) -> Option<Action> {
        Action::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, a)| *a)
    }

    pub fn name(self) -> &'static str {
        Action::NAMES
            .iter()
            .find(|(_, a)| *a == self)
            .map(|(n, _)| *n)
            .unwrap_or("noop")
    }
}

/// The keymap sections, one per input mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Section {
    Normal,
    Dashboard,
    Detail,
    Filter,
    Confirm,
    Form,
    Help,
    Log,
    /// An attached console: every key not bound here goes to the guest.
    Console,
    /// A console that is opening, in use elsewhere or closed.
    ConsoleIdle,
    Display,
    /// The VNC preview; with keyboard forwarding on, unbound keys go to the guest.
    Preview,
    Pools,
    Volumes,
    Secrets,
    Networks,
    /// Any multi-page form; unbound keys edit the focused field.
    Wizard,
    Migrations,
    /// The detail screen's in-app XML editor; unbound keys edit the text.
    XmlEdit,
    /// Jobs of the whole fleet.
    Jobs,
    /// Lifecycle events of the whole fleet.
    Events,
    /// Host devices (PCI, USB, mdev) of the whole fleet.
    HostDevs,
}

impl Section {
    pub const ALL: [(&'static str, Section); 22] = [
        ("normal", Section::Normal),
        ("dashboard", Section::Dashboard),
        ("detail", Section::Detail),
        ("filter", Section::Filter),
        ("confirm", Section::Confirm),
        ("form", Section::Form),
        ("help", Section::Help),
        ("log", Section::Log),
        ("console", Section::Console),
        ("console_idle", Section::ConsoleIdle),
        ("display", Section::Display),
        ("preview", Section::Preview),
        ("pools", Section::Pools),
        ("volumes", Section::Volumes),
        ("secrets", Section::Secrets),
        ("networks", Section::Networks),
        ("wizard", Section::Wizard),
        ("migrations", Section::Migrations),
        ("xml_edit", Section::XmlEdit),
        ("jobs", Section::Jobs),
        ("events", Section::Events),
        ("hostdevs", Section::HostDevs),
    ];
}

/// A key with its modifiers, e.g. `<C-c>`, `G`, `<Enter>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub fn parse(spec: &str) -> Result<Key, String> {
        let err = || {
            format!(
                "unknown key {spec:?} (examples: \"j\", \"G\", \"<C-c>\", \"<Enter>\", \"<F5>\")"
            )
        };
        let mut chars = spec.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            return Ok(Key::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
        let inner = spec
            .strip_prefix('<')
            .and_then(|s| s.strip_suffix('>'))
            .ok_or_else(err)?;
        let mut mods = KeyModifiers::NONE;
        let mut rest = inner;
        while rest.len() > 2 && rest.as_bytes()[1] == b'-' {
            match &rest[..1] {
                "C" => mods |= KeyModifiers::CONTROL,
                "A" | "M" => mods |= KeyModifiers::ALT,
                "S" => mods |= KeyModifiers::SHIFT,
                _ => return Err(err()),
            }
            rest = &rest[2..];
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "cr" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "backspace" | "bs" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "insert" => KeyCode::Insert,
            "lt" => KeyCode::Char('<'),
            "gt" => KeyCode::Char('>'),
            f if f.starts_with('f') && f.len() > 1 => {
                KeyCode::F(f[1..].parse().map_err(|_| err())?)
            }
            _ => {
                let mut cs = rest.chars();
                match (cs.next(), cs.next()) {
                    (Some(c), None) => KeyCode::Char(c),
                    _ => return Err(err()),
                }
            }
        };
        Ok(Key::new(code, mods))
    }

    /// Normalises so that `G` and `<S-g>` compare equal to what the terminal sends.
    pub fn new(code: KeyCode, mods: KeyModifiers) -> Key {
        let mods = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        // Legacy terminals send Ctrl+\ ] ^ _ as 0x1c–0x1f, which crossterm reports as Ctrl+4–7.
        let code = match code {
            KeyCode::Char(c @ '4'..='7') if mods.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(['\\', ']', '^', '_'][(c as u8 - b'4') as usize])
            }
            c => c,
        };
        match code {
            // Shift-Tab arrives as BackTab, with or without Shift depending on the terminal
            // (and as Tab+Shift under the kitty protocol): all spell one key.
            KeyCode::BackTab => Key {
                code,
                mods: mods - KeyModifiers::SHIFT,
            },
            KeyCode::Tab if mods.contains(KeyModifiers::SHIFT) => Key {
                code: KeyCode::BackTab,
                mods: mods - KeyModifiers::SHIFT,
            },
            KeyCode::Char(c) => {
                let shifted = mods.contains(KeyModifiers::SHIFT);
                let c = if shifted && c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c
                };
                Key {
                    code: KeyCode::Char(c),
                    mods: mods - KeyModifiers::SHIFT,
                }
            }
            _ => Key { code, mods },
        }
    }

    pub fn from_event(ev: &KeyEvent) -> Key {
        Key::new(ev.code, ev.modifiers)
    }
}

/// One binding as shown in help.
#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    pub on: String,
    pub key: Key,
    pub action: Action,
    pub desc: String,
}

#[derive(Clone, Debug, Default)]
pub struct Keymap {
    sections: Vec<(Section, Vec<Binding>)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBinding {
    on: Spanned<String>,
    run: Spanned<String>,
    #[serde(default)]
    desc: String,
}

/// A keymap file: `[[section]]` tables of bindings, named as in `Section::ALL`.
type RawKeymap = std::collections::BTreeMap<Spanned<String>, Vec<RawBinding>>;

/// Parses one keymap file. A key bound twice in one section is an error (the second binding
/// would silently shadow or be shadowed by the first), and so is, when `meaningful` is given,
/// an action its section does nothing with.
fn parse_file(
    path: &str,
    src: &str,
    meaningful: Option<&Keymap>,
) -> Result<Vec<(Section, Vec<Binding>)>, ConfigError> {
    let raw: RawKeymap = toml::from_str(src).map_err(|e| ConfigError::from_toml(path, src, &e))?;
    let mut by_name: HashMap<&str, Vec<RawBinding>> = HashMap::new();
    for (name, list) in raw {
        let Some((known, _)) = Section::ALL.iter().find(|(n, _)| *n == name.get_ref()) else {
            let names: Vec<&str> = Section::ALL.iter().map(|(n, _)| *n).collect();
            return Err(ConfigError::new(
                path,
                Some(line_of(src, name.span().start)),
                format!(
                    "unknown section [[{}]] (sections: {})",
                    name.get_ref().escape_debug(),
                    names.join(", ")
                ),
            ));
        };
        by_name.insert(known, list);
    }
    let mut out = Vec::new();
    for (section_name, section) in Section::ALL {
        let mut bindings: Vec<Binding> = Vec::new();
        let mut lines: Vec<usize> = Vec::new();
        for rb in by_name.remove(section_name).unwrap_or_default() {
            let on_line = line_of(src, rb.on.span().start);
            let key = Key::parse(rb.on.get_ref())
                .map_err(|m| ConfigError::new(path, Some(on_line), m))?;
            let run_line = line_of(src, rb.run.span().start);
            let action = Action::from_name(rb.run.get_ref()).ok_or_else(|| {
                ConfigError::new(
                    path,
                    Some(run_line),
                    format!("unknown action {:?}", rb.run.get_ref()),
                )
            })?;
            if let Some(i) = bindings.iter().position(|b| b.key == key) {
                return Err(ConfigError::new(
                    path,
                    Some(on_line),
                    format!(
                        "{:?} is bound twice in [[{section_name}]] (first on line {})",
                        rb.on.get_ref(),
                        lines[i]
                    ),
                ));
            }
            if let Some(known) = meaningful {
                let ok = action == Action::Noop
                    || known.bindings(section).iter().any(|b| b.action == action);
                if !ok {
                    let mut names: Vec<&str> = known
                        .bindings(section)
                        .iter()
                        .map(|b| b.action.name())
                        .collect();
                    names.sort_unstable();
                    names.dedup();
                    return Err(ConfigError::new(
                        path,
                        Some(run_line),
                        format!(
                            "action {:?} does nothing in [[{section_name}]] (it takes: {}, noop)",
                            rb.run.get_ref(),
                            names.join(", ")
                        ),
                    ));
                }
            }
            lines.push(on_line);
            bindings.push(Binding {
                on: rb.on.into_inner(),
                key,
                action,
                desc: rb.desc,
            });
        }
        out.push((section, bindings));
    }
    Ok(out)
}

impl Keymap {
    /// The compiled-in preset.
    pub fn preset() -> Keymap {
        // The preset is tested to parse; an empty keymap would still let Ctrl-C quit via main.
        Keymap::parse("keymaps/default.toml", DEFAULT_KEYMAP).unwrap_or_default()
    }

    pub fn parse(path: &str, src: &str) -> Result<Keymap, ConfigError> {
        Ok(Keymap {
            sections: parse_file(path, src, None)?,
        })
    }

    /// Replaces the preset's binding of every key the user file names; adds the rest. The
    /// preset is the table of what each section understands: every action a section's
    /// handler acts on is bound there, so an action it does not bind would do nothing.
    pub fn apply_overrides(&mut self, path: &str, src: &str) -> Result<(), ConfigError> {
        let preset = Keymap::parse("keymaps/default.toml", DEFAULT_KEYMAP)?;
        for (section, user) in parse_file(path, src, Some(&preset))? {
            let Some((_, list)) = self.sections.iter_mut().find(|(s, _)| *s == section) else {
                continue;
            };
            for b in user {
                list.retain(|old| old.key != b.key);
                if b.action != Action::Noop {
                    list.push(b);
                }
            }
        }
        Ok(())
    }

    /// The preset plus `keymap.toml` from the user's config dir, if any.
    pub fn load(dir: Option<&Path>) -> Result<Keymap, ConfigError> {
        let mut km = Keymap::parse("keymaps/default.toml", DEFAULT_KEYMAP)?;
        if let Some(dir) = dir {
            let path = dir.join("keymap.toml");
            if let Some(src) = read_optional(&path)? {
                km.apply_overrides(&path.display().to_string(), &src)?;
            }
        }
        Ok(km)
    }

    pub fn bindings(&self, section: Section) -> &[Binding] {
        self.sections
            .iter()
            .find(|(s, _)| *s == section)
            .map(|(_, b)| b.as_slice())
            .unwrap_or(&[])
    }

    pub fn action(&self, section: Section, key: Key) -> Option<Action> {
        self.bindings(section)
            .iter()
            .find(|b| b.key == key)
            .map(|b| b.action)
    }

    /// The first key bound to `action`, for hints ("press ? for help").
    pub fn key_for(&self, section: Section, action: Action) -> Option<&str> {
        self.bindings(section)
            .iter()
            .find(|b| b.action == action)
            .map(|b| b.on.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_tab_is_one_key_however_the_terminal_spells_it() {
        let back = Key::parse("<BackTab>").unwrap();
        for (code, mods) in [
            (KeyCode::BackTab, KeyModifiers::SHIFT),
            (KeyCode::BackTab, KeyModifiers::NONE),
            (KeyCode::Tab, KeyModifiers::SHIFT),
        ] {
            assert_eq!(Key::from_event(&KeyEvent::new(code, mods)), back);
        }
        assert_eq!(Key::parse("<S-Tab>").unwrap(), back);
        assert_eq!(Key::parse("<S-BackTab>").unwrap(), back);
        assert_ne!(Key::parse("<Tab>").unwrap(), back);
    }

    #[test]
    fn preset_parses_and_binds_basics() {
        let km = Keymap::parse("default", DEFAULT_KEYMAP).unwrap();
        let k = |s| Key::parse(s).unwrap();
        assert_eq!(km.action(Section::Normal, k("j")), Some(Action::Down));
        assert_eq!(km.action(Section::Normal, k("<Down>")), Some(Action::Down));
        assert_eq!(km.action(Section::Normal, k("q")), Some(Action::Quit));
        assert_eq!(km.action(Section::Normal, k("?")), Some(Action::Help));
        assert_eq!(km.action(Section::Normal, k("/")), Some(Action::Filter));
        assert_eq!(km.action(Section::Normal, k("<Space>")), Some(Action::Mark));
        assert_eq!(km.action(Section::Confirm, k("y")), Some(Action::Confirm));
        // Every preset binding has a description for the help screen.
        for (_, sec) in Section::ALL {
            for b in km.bindings(sec) {
                assert!(!b.desc.is_empty(), "{} has no desc", b.on);
            }
        }
    }

    #[test]
    fn keys_parse_with_modifiers() {
        let k = Key::parse("<C-c>").unwrap();
        assert_eq!(k.code, KeyCode::Char('c'));
        assert_eq!(k.mods, KeyModifiers::CONTROL);
        // Terminals send uppercase letters with SHIFT; both spellings match.
        let sent = Key::from_event(&KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT));
        assert_eq!(Key::parse("G").unwrap(), sent);
        assert_eq!(Key::parse("<S-g>").unwrap(), sent);
        assert_eq!(Key::parse("<F5>").unwrap().code, KeyCode::F(5));
        assert!(Key::parse("<Hyper-x>").is_err());
        assert!(Key::parse("jj").is_err());
    }

    #[test]
    fn user_overrides_only_named_keys() {
        let mut km = Keymap::parse("default", DEFAULT_KEYMAP).unwrap();
        let user = "[[normal]]\non = \"q\"\nrun = \"noop\"\n\n[[normal]]\non = \"x\"\nrun = \"quit\"\ndesc = \"Quit\"\n";
        km.apply_overrides("keymap.toml", user).unwrap();
        let k = |s| Key::parse(s).unwrap();
        assert_eq!(km.action(Section::Normal, k("q")), None);
        assert_eq!(km.action(Section::Normal, k("x")), Some(Action::Quit));
        assert_eq!(km.action(Section::Normal, k("j")), Some(Action::Down));
    }

    #[test]
    fn an_unknown_section_is_an_error_at_its_line() {
        let mut km = Keymap::preset();
        let user =
            "[[normal]]\non = \"x\"\nrun = \"quit\"\n\n[[pool]]\non = \"y\"\nrun = \"quit\"\n";
        let err = km
            .apply_overrides("/u/keymap.toml", user)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("/u/keymap.toml:5: unknown section [[pool]] (sections: normal, "),
            "{err}"
        );
        assert!(err.contains("pools"), "{err}");
        // Nothing of the file was applied.
        assert_eq!(km.action(Section::Normal, Key::parse("x").unwrap()), None);
    }

    #[test]
    fn a_key_bound_twice_in_a_section_is_an_error() {
        let mut km = Keymap::preset();
        let user =
            "[[normal]]\non = \"x\"\nrun = \"quit\"\n\n[[normal]]\non = \"x\"\nrun = \"start\"\n";
        let err = km.apply_overrides("/u/keymap.toml", user).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/u/keymap.toml:6: \"x\" is bound twice in [[normal]] (first on line 2)"
        );
        // Two spellings of one key are the same key.
        let user =
            "[[normal]]\non = \"G\"\nrun = \"top\"\n[[normal]]\non = \"<S-g>\"\nrun = \"bottom\"\n";
        let err = km.apply_overrides("k.toml", user).unwrap_err();
        assert_eq!(err.line, Some(5), "{err}");
        // The same key in two sections is fine.
        let user =
            "[[normal]]\non = \"x\"\nrun = \"quit\"\n[[dashboard]]\non = \"x\"\nrun = \"quit\"\n";
        km.apply_overrides("k.toml", user).unwrap();
    }

    #[test]
    fn an_action_that_means_nothing_in_its_section_is_an_error() {
        let mut km = Keymap::preset();
        let err = km
            .apply_overrides(
                "/u/keymap.toml",
                "[[filter]]\non = \"x\"\nrun = \"force_off\"\n",
            )
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("/u/keymap.toml:3: action \"force_off\" does nothing in [[filter]]"),
            "{text}"
        );
        assert!(text.contains("confirm") && text.contains("noop"), "{text}");
        // Unbinding is allowed anywhere; a section's own actions can move to other keys.
        km.apply_overrides(
            "k.toml",
            "[[filter]]\non = \"<C-c>\"\nrun = \"noop\"\n[[pools]]\non = \"Z\"\nrun = \"build\"\n",
        )
        .unwrap();
    }

    #[test]
    fn bad_user_keymap_names_file_and_line() {
        let mut km = Keymap::preset();
        let err = km
            .apply_overrides(
                "/home/u/keymap.toml",
                "[[normal]]\non = \"x\"\nrun = \"strat\"\n",
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "/home/u/keymap.toml:3: unknown action \"strat\""
        );
        let err = km
            .apply_overrides("k.toml", "\n[[normal]]\non = \"<Nope>\"\nrun = \"quit\"\n")
            .unwrap_err();
        assert_eq!(err.line, Some(3));
        let err = km.apply_overrides("k.toml", "[[normal]\n").unwrap_err();
        assert_eq!(err.line, Some(1));
    }
}
