//! Filling a plugin's command from what the cursor is on. One pass over each argument: a value
//! is never scanned again, so a VM named `$URI` stays `$URI`.

use super::Scope;

/// Every scope knows its host.
const EVERY: &[Scope] = &[
    Scope::Vm,
    Scope::Host,
    Scope::Pool,
    Scope::Volume,
    Scope::Network,
    Scope::Job,
];

/// The placeholders and the scopes that give them a value.
const PLACEHOLDERS: [(&str, &[Scope]); 10] = [
    ("VM", &[Scope::Vm, Scope::Job]),
    ("UUID", &[Scope::Vm]),
    ("IP", &[Scope::Vm]),
    ("MARKED", &[Scope::Vm]),
    ("HOST", EVERY),
    ("URI", EVERY),
    ("POOL", &[Scope::Pool, Scope::Volume]),
    ("VOLUME", &[Scope::Volume]),
    ("PATH", &[Scope::Pool, Scope::Volume]),
    ("NETWORK", &[Scope::Network]),
];

/// What the cursor is on: the values placeholders take.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Context {
    pub vm: Option<String>,
    pub uuid: Option<String>,
    pub ip: Option<String>,
    pub host: Option<String>,
    pub uri: Option<String>,
    pub pool: Option<String>,
    pub volume: Option<String>,
    pub path: Option<String>,
    pub network: Option<String>,
    /// The marked VMs' names, else the VM under the cursor.
    pub marked: Vec<String>,
}

impl Context {
    fn value(&self, name: &str) -> Option<&str> {
        match name {
            "VM" => self.vm.as_deref(),
            "UUID" => self.uuid.as_deref(),
            "IP" => self.ip.as_deref(),
            "HOST" => self.host.as_deref(),
            "URI" => self.uri.as_deref(),
            "POOL" => self.pool.as_deref(),
            "VOLUME" => self.volume.as_deref(),
            "PATH" => self.path.as_deref(),
            "NETWORK" => self.network.as_deref(),
            _ => None,
        }
    }
}

/// A piece of an argument: text as written or a placeholder's name.
enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// Splits an argument at `$NAME` (capital letters); `$$` is a `$`, any other `$` is text.
fn pieces(arg: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = arg;
    while let Some(i) = rest.find('$') {
        out.push(Piece::Text(&rest[..i]));
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push(Piece::Text("$"));
            rest = tail;
            continue;
        }
        let n = after
            .find(|c: char| !c.is_ascii_uppercase())
            .unwrap_or(after.len());
        if n == 0 {
            out.push(Piece::Text("$"));
        } else {
            out.push(Piece::Var(&after[..n]));
        }
        rest = &after[n..];
    }
    out.push(Piece::Text(rest));
    out
}

/// Whether every placeholder of `command` is known and has a value in every one of `scopes`.
pub fn check(command: &[String], scopes: &[Scope]) -> Result<(), String> {
    for arg in command {
        for p in pieces(arg) {
            let Piece::Var(name) = p else { continue };
            let Some((_, given)) = PLACEHOLDERS.iter().find(|(n, _)| *n == name) else {
                let known: Vec<String> =
                    PLACEHOLDERS.iter().map(|(n, _)| format!("${n}")).collect();
                return Err(format!(
                    "unknown placeholder ${name} (one of {}; $$ is a $)",
                    known.join(" ")
                ));
            };
            if name == "MARKED" && arg != "$MARKED" {
                return Err(
                    "$MARKED must be a whole argument (it becomes one argument per VM)".into(),
                );
            }
            if let Some(s) = scopes.iter().find(|s| !given.contains(s)) {
                return Err(format!("${name} has no value in the {} scope", s.name()));
            }
        }
    }
    Ok(())
}

/// The command with its placeholders filled, or why it cannot be.
pub fn expand(command: &[String], ctx: &Context) -> Result<Vec<String>, String> {
    let mut argv = Vec::with_capacity(command.len());
    for arg in command {
        if arg == "$MARKED" {
            if ctx.marked.is_empty() {
                return Err("$MARKED: no VM marked or under the cursor".into());
            }
            argv.extend(ctx.marked.iter().cloned());
            continue;
        }
        let mut out = String::new();
        for p in pieces(arg) {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(name) => match ctx.value(name) {
                    Some(v) => out.push_str(v),
                    None if name == "IP" => {
                        return Err("$IP: the VM has no known address (it may not run, or have no lease or agent yet)".into())
                    }
                    None => return Err(format!("${name} has no value here")),
                },
            }
        }
        argv.push(out);
    }
    Ok(argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            vm: Some("x; rm -rf / $URI".into()),
            uuid: Some("u-1".into()),
            ip: Some("10.0.0.5".into()),
            host: Some("kvm1".into()),
            uri: Some("qemu:///system".into()),
            marked: vec!["a b".into(), "$(c)".into()],
            ..Context::default()
        }
    }

    fn cmd(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn placeholders_fill_single_arguments_once() {
        let argv = expand(
            &cmd(&[
                "virsh",
                "-c",
                "$URI",
                "dominfo",
                "$VM",
                "root@$IP:22",
                "$$VM",
                "5$",
                "$marked",
                "$MARKED",
            ]),
            &ctx(),
        )
        .unwrap();
        assert_eq!(
            argv,
            [
                "virsh",
                "-c",
                "qemu:///system",
                "dominfo",
                "x; rm -rf / $URI",
                "root@10.0.0.5:22",
                "$VM",
                "5$",
                "$marked",
                "a b",
                "$(c)"
            ]
        );
    }

    #[test]
    fn missing_values_are_said() {
        let mut c = ctx();
        c.ip = None;
        assert!(expand(&cmd(&["ssh", "$IP"]), &c)
            .unwrap_err()
            .contains("no known address"));
        assert!(expand(&cmd(&["x", "$POOL"]), &c)
            .unwrap_err()
            .contains("$POOL has no value"));
        c.marked.clear();
        assert!(expand(&cmd(&["x", "$MARKED"]), &c).is_err());
    }

    #[test]
    fn checks_per_scope() {
        assert!(check(&cmd(&["x", "$VOLUME", "$PATH", "$POOL"]), &[Scope::Volume]).is_ok());
        assert!(check(&cmd(&["x", "$PATH"]), &[Scope::Pool, Scope::Volume]).is_ok());
        assert!(check(&cmd(&["x", "$PATH"]), &[Scope::Pool, Scope::Vm]).is_err());
        assert!(check(&cmd(&["x", "$NETWORK"]), &[Scope::Network]).is_ok());
        assert!(check(&cmd(&["x", "$$ $5 a$"]), &[Scope::Host]).is_ok());
    }

    #[test]
    fn quoting_for_a_posix_shell() {
        assert_eq!(
            crate::virsh::quote(&cmd(&[
                "virsh",
                "-c",
                "qemu:///system",
                "start",
                "it's <x>",
                ""
            ])),
            r"virsh -c qemu:///system start 'it'\''s <x>' ''"
        );
    }
}
