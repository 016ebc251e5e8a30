//! `[alerts.exec] command = ["notify-send", "…"]`: the program is run with its arguments as
//! written (never through a shell) and the alert's fields in its environment, so a VM named
//! `x; rm -rf /` is only ever the value of `VIRTDECK_ALERT_VM`.

use std::process::{Command, Stdio};

/// One alert firing or clearing, as the program sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fields {
    pub name: String,
    pub when: String,
    /// `firing` or `cleared`.
    pub state: &'static str,
    pub host: String,
    /// Empty for a host rule.
    pub vm: String,
    pub uuid: String,
    /// The reading that decided it (`97.5`), empty where the rule has none.
    pub value: String,
    /// Seconds since the Unix epoch.
    pub time: u64,
}

/// The environment variables handed to the program.
pub fn env(f: &Fields) -> Vec<(String, String)> {
    [
        ("NAME", f.name.as_str()),
        ("WHEN", &f.when),
        ("STATE", f.state),
        ("HOST", &f.host),
        ("VM", &f.vm),
        ("UUID", &f.uuid),
        ("VALUE", &f.value),
        ("TIME", &f.time.to_string()),
    ]
    .into_iter()
    // A NUL cannot be in an environment value: a host-reported name with one loses it here.
    .map(|(k, v)| (format!("VIRTDECK_ALERT_{k}"), v.replace('\0', "")))
    .collect()
}

/// Starts the program and returns at once; `done` hears of a failure to start or a non-zero
/// exit (the program's output is dropped: it is not a terminal program).
pub fn spawn(
    argv: &[String],
    env: &[(String, String)],
    done: impl FnOnce(String) + Send + 'static,
) {
    let Some((program, args)) = argv.split_first() else {
        return;
    };
    let child = Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let program = program.clone();
    match child {
        Err(e) => done(format!("alert command {program:?} did not start: {e}")),
        // Waited for on its own thread, so it never lingers as a zombie.
        Ok(mut child) => {
            std::thread::spawn(move || match child.wait() {
                Ok(s) if s.success() => {}
                Ok(s) => done(format!("alert command {program:?} failed: {s}")),
                Err(e) => done(format!("alert command {program:?}: {e}")),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn fields_become_variables_and_nul_is_dropped() {
        let f = Fields {
            name: "hot".into(),
            when: "vm.cpu > 90".into(),
            state: "firing",
            host: "kvm1".into(),
            vm: "x; rm -rf /\0".into(),
            uuid: "u".into(),
            value: "97.5".into(),
            time: 7,
        };
        let e = env(&f);
        assert!(e.contains(&("VIRTDECK_ALERT_VM".into(), "x; rm -rf /".into())));
        assert!(e.contains(&("VIRTDECK_ALERT_STATE".into(), "firing".into())));
        assert!(e.contains(&("VIRTDECK_ALERT_TIME".into(), "7".into())));
        assert_eq!(e.len(), 8);
    }

    #[test]
    fn the_program_gets_the_environment_and_failures_are_told() {
        let dir = std::env::temp_dir().join(format!("vd-alert-exec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("env");
        // `cp /proc/self/environ`: the copying process's own environment, no shell.
        let argv = vec![
            "cp".to_string(),
            "/proc/self/environ".into(),
            out.display().to_string(),
        ];
        let fields = Fields {
            vm: "$(touch /tmp/pwned) `x` 'y'".into(),
            state: "cleared",
            ..Fields::default()
        };
        let (tx, rx) = mpsc::channel();
        spawn(&argv, &env(&fields), move |e| {
            let _ = tx.send(e);
        });
        let t = std::time::Instant::now();
        while !out.exists() || std::fs::metadata(&out).unwrap().len() == 0 {
            assert!(t.elapsed() < Duration::from_secs(10), "cp never ran");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(100));
        let got = std::fs::read(&out).unwrap();
        let vars: Vec<&[u8]> = got.split(|b| *b == 0).collect();
        assert!(vars.contains(&&b"VIRTDECK_ALERT_VM=$(touch /tmp/pwned) `x` 'y'"[..]));
        assert!(vars.contains(&&b"VIRTDECK_ALERT_STATE=cleared"[..]));
        assert!(
            rx.recv_timeout(Duration::from_millis(500)).is_err(),
            "cp succeeded"
        );

        let (tx, rx) = mpsc::channel();
        spawn(&["/nonexistent/vd-notify".into()], &[], move |e| {
            let _ = tx.send(e);
        });
        let e = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(e.contains("did not start"), "{e}");
        let (tx, rx) = mpsc::channel();
        spawn(&["false".into()], &[], move |e| {
            let _ = tx.send(e);
        });
        let e = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(e.contains("failed"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
