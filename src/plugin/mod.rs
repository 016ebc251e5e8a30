//! Plugins (`plugins.toml` in the config dir, after k9s's `plugins.yaml`): a key in a pane's
//! scope runs a program with placeholders filled from what the cursor is on. The command is an
//! argument list; placeholders are replaced inside single arguments (`$MARKED` alone expands to
//! one argument per marked VM) and nothing goes through a shell, so a VM named `x; rm -rf /`
//! stays one argument.

pub mod expand;
pub mod run;

use std::path::Path;

use serde::Deserialize;

use crate::config::keymap::{Key, Keymap, Section};
use crate::config::{line_of, read_optional, ConfigError};

/// Where a plugin's key works.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The VM table and a VM's detail screen.
    Vm,
    /// The dashboard (one host per row).
    Host,
    Pool,
    Volume,
    Network,
    Job,
}

impl Scope {
    const ALL: [(&'static str, Scope); 6] = [
        ("vm", Scope::Vm),
        ("host", Scope::Host),
        ("pool", Scope::Pool),
        ("volume", Scope::Volume),
        ("network", Scope::Network),
        ("job", Scope::Job),
    ];

    pub fn name(self) -> &'static str {
        Scope::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("?", |(n, _)| n)
    }

    /// The keymap sections its key must be free in.
    pub fn sections(self) -> &'static [Section] {
        match self {
            Scope::Vm => &[Section::Normal, Section::Detail],
            Scope::Host => &[Section::Dashboard],
            Scope::Pool => &[Section::Pools],
            Scope::Volume => &[Section::Volumes],
            Scope::Network => &[Section::Networks],
            Scope::Job => &[Section::Jobs],
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Plugin {
    pub key: Key,
    /// As written in the file (`"<C-s>"`), for help and hints.
    pub key_text: String,
    pub name: String,
    pub description: String,
    pub scopes: Vec<Scope>,
    pub command: Vec<String>,
    /// Ask first (the dialog shows the command line).
    pub confirm: bool,
    /// Changes things: refused in `--readonly`.
    pub dangerous: bool,
    /// Run without leaving the screen; the exit code and output go to the events pane and
    /// the message log. Otherwise the screen is left to the program, as for `$EDITOR`.
    pub background: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    plugins: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    key: toml::Spanned<String>,
    name: String,
    #[serde(default)]
    description: String,
    scopes: toml::Spanned<Vec<String>>,
    command: toml::Spanned<Vec<String>>,
    #[serde(default)]
    confirm: bool,
    #[serde(default)]
    dangerous: bool,
    #[serde(default)]
    background: bool,
}

/// Reads `plugins.toml` from `dir`; none when the file is absent.
pub fn load(dir: Option<&Path>, keymap: &Keymap) -> Result<Vec<Plugin>, ConfigError> {
    let Some(dir) = dir else {
        return Ok(Vec::new());
    };
    let path = dir.join("plugins.toml");
    match read_optional(&path)? {
        Some(src) => parse(&path.display().to_string(), &src, keymap),
        None => Ok(Vec::new()),
    }
}

pub fn parse(path: &str, src: &str, keymap: &Keymap) -> Result<Vec<Plugin>, ConfigError> {
    let file: File = toml::from_str(src).map_err(|e| ConfigError::from_toml(path, src, &e))?;
    let mut out: Vec<Plugin> = Vec::new();
    for e in file.plugins {
        let at = |span: std::ops::Range<usize>| Some(line_of(src, span.start));
        let fail = |span, m: String| ConfigError::new(path, at(span), format!("plugins: {m}"));
        let key = Key::parse(e.key.get_ref()).map_err(|m| fail(e.key.span(), m))?;
        let mut scopes = Vec::new();
        for s in e.scopes.get_ref() {
            match Scope::ALL.iter().find(|(n, _)| n == s) {
                Some((_, sc)) if !scopes.contains(sc) => scopes.push(*sc),
                Some(_) => {}
                None => {
                    return Err(fail(
                        e.scopes.span(),
                        format!(
                            "{}: unknown scope {s:?}: vm, host, pool, volume, network or job",
                            e.name
                        ),
                    ))
                }
            }
        }
        if scopes.is_empty() {
            return Err(fail(e.scopes.span(), format!("{}: no scope", e.name)));
        }
        let command = e.command.get_ref().clone();
        if command.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(fail(
                e.command.span(),
                format!("{}: command is a program and its arguments", e.name),
            ));
        }
        if let Err(m) = expand::check(&command, &scopes) {
            return Err(fail(e.command.span(), format!("{}: {m}", e.name)));
        }
        for sc in &scopes {
            for section in sc.sections() {
                if let Some(a) = keymap.action(*section, key) {
                    return Err(fail(
                        e.key.span(),
                        format!(
                            "{}: key {} is already {a:?} in the {} scope (keymap.toml can unbind it with run = \"noop\")",
                            e.name,
                            e.key.get_ref(),
                            sc.name()
                        ),
                    ));
                }
            }
            if let Some(p) = out.iter().find(|p| p.key == key && p.scopes.contains(sc)) {
                return Err(fail(
                    e.key.span(),
                    format!(
                        "{}: key {} is already plugin {:?} in the {} scope",
                        e.name,
                        e.key.get_ref(),
                        p.name,
                        sc.name()
                    ),
                ));
            }
        }
        out.push(Plugin {
            key,
            key_text: e.key.get_ref().clone(),
            description: if e.description.is_empty() {
                e.name.clone()
            } else {
                e.description
            },
            name: e.name,
            scopes,
            command,
            confirm: e.confirm,
            dangerous: e.dangerous,
            background: e.background,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(src: &str) -> Vec<Plugin> {
        parse("/p.toml", src, &Keymap::preset()).unwrap()
    }

    fn parse_err(src: &str) -> String {
        parse("/p.toml", src, &Keymap::preset())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn entries_are_read() {
        let p = parse_ok(
            r#"
[[plugins]]
key = "<C-s>"
name = "ssh"
description = "SSH to the VM's address"
scopes = ["vm"]
command = ["ssh", "root@$IP"]

[[plugins]]
key = "<C-x>"
name = "stats"
scopes = ["vm"]
command = ["virsh", "-c", "$URI", "domstats", "$MARKED"]
background = true
confirm = true
dangerous = true
"#,
        );
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].key_text, "<C-s>");
        assert_eq!(p[0].scopes, [Scope::Vm]);
        assert!(!p[0].background && !p[0].confirm);
        assert_eq!(p[1].description, "stats");
        assert!(p[1].background && p[1].confirm && p[1].dangerous);
        assert!(parse_ok("").is_empty());
    }

    /// The clash check follows the keymap: the keys the grammar took (`D` on hosts, `W` on
    /// pools, `<` on volumes) clash, the ones it freed (`x` on hosts, `u` on pools) do not.
    #[test]
    fn key_clashes_follow_the_grammars_bindings() {
        let one = |key: &str, scope: &str| {
            format!("[[plugins]]\nkey = \"{key}\"\nname = \"p\"\nscopes = [\"{scope}\"]\ncommand = [\"true\"]\n")
        };
        for (key, scope, action) in [
            ("D", "host", "RemoveHost"),
            ("n", "host", "AddHost"),
            ("W", "pool", "Wipe"),
            ("D", "pool", "Undefine"),
            ("<", "volume", "Upload"),
            ("D", "network", "Undefine"),
            ("X", "job", "ClearFinished"),
            ("V", "vm", "Revert"),
            ("D", "vm", "DeleteVm"),
        ] {
            let e = parse_err(&one(key, scope));
            assert!(
                e.contains(&format!(
                    "key {key} is already {action} in the {scope} scope"
                )),
                "{e}"
            );
        }
        for (key, scope) in [("x", "host"), ("a", "host"), ("u", "pool"), ("i", "volume")] {
            assert_eq!(parse_ok(&one(key, scope)).len(), 1, "{key} on {scope}");
        }
    }

    #[test]
    fn bad_entries_name_their_line() {
        let e = parse_err(
            "[[plugins]]\nkey = \"s\"\nname = \"x\"\nscopes = [\"vm\"]\ncommand = [\"true\"]\n",
        );
        assert!(
            e.starts_with("/p.toml:2: plugins: x: key s is already Start in the vm scope"),
            "{e}"
        );
        let e = parse_err("[[plugins]]\nkey = \"<C-s>\"\nname = \"x\"\nscopes = [\"vms\"]\ncommand = [\"true\"]\n");
        assert!(
            e.starts_with("/p.toml:4: plugins: x: unknown scope \"vms\""),
            "{e}"
        );
        let e = parse_err(
            "[[plugins]]\nkey = \"<C-s>\"\nname = \"x\"\nscopes = [\"vm\"]\ncommand = []\n",
        );
        assert!(e.starts_with("/p.toml:5: plugins: x: command"), "{e}");
        let e = parse_err("[[plugins]]\nkey = \"<C-s>\"\nname = \"x\"\nscopes = [\"host\"]\ncommand = [\"echo\", \"$VM\"]\n");
        assert!(
            e.starts_with("/p.toml:5: plugins: x: $VM has no value in the host scope"),
            "{e}"
        );
        let e = parse_err("[[plugins]]\nkey = \"<C-s>\"\nname = \"x\"\nscopes = [\"vm\"]\ncommand = [\"echo\", \"$VMS\"]\n");
        assert!(e.contains("unknown placeholder $VMS"), "{e}");
        let e = parse_err("[[plugins]]\nkey = \"<C-s>\"\nname = \"x\"\nscopes = [\"vm\"]\ncommand = [\"echo\", \"a$MARKED\"]\n");
        assert!(e.contains("$MARKED must be a whole argument"), "{e}");
        let e = parse_err("[[plugins]]\nkey = \"<C-s>\"\nname = \"x\"\nscopes = [\"vm\"]\ncommand = [\"a\"]\n[[plugins]]\nkey = \"<C-s>\"\nname = \"y\"\nscopes = [\"vm\"]\ncommand = [\"b\"]\n");
        assert!(
            e.starts_with("/p.toml:7: plugins: y: key <C-s> is already plugin \"x\""),
            "{e}"
        );
        let e = parse_err("[[plugins]]\nkey = \"<C-s>\"\nname = \"x\"\nscopes = [\"vm\"]\ncommand = [\"a\"]\nshell = true\n");
        assert!(e.starts_with("/p.toml:6:"), "{e}");
    }
}
