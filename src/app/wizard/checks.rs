//! A wizard's file-system checks. A spec asks for a probe during `refresh` and gets `None`
//! ("checking…") until the answer is in; after the update the app sends every new probe as
//! `Effect::Probe`, and `Msg::Probed` stores the answer and refreshes the form. A slot holds
//! one probe: a new path replaces it, so an answer for what the user typed before is
//! ignored. A probe that does not answer in time is answered here, on a tick.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{refresh_open, Wizard};
use crate::app::{App, Effect, Mode};
use crate::probe::{Answer, Found, Iso, Probe, SaveTarget, Stat};

/// How long a field says "checking…" before it says the file system did not answer.
pub const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, Default)]
pub struct Checks {
    slots: BTreeMap<&'static str, Slot>,
}

#[derive(Clone, Debug)]
struct Slot {
    probe: Probe,
    /// The request id and when it was sent (None: not sent yet).
    sent: Option<(u64, Instant)>,
    answer: Option<Answer>,
}

impl Checks {
    /// The answer to `probe` in `slot`; `None` while it is checked. A new probe for the slot
    /// replaces the old one (and is sent after this update).
    pub fn ask(&mut self, slot: &'static str, probe: Probe) -> Option<&Answer> {
        let s = self.slots.entry(slot).or_insert_with(|| Slot {
            probe: probe.clone(),
            sent: None,
            answer: None,
        });
        if s.probe != probe {
            *s = Slot {
                probe,
                sent: None,
                answer: None,
            };
        }
        s.answer.as_ref()
    }

    /// Probes not sent yet, each given an id from `next_id`.
    fn unsent(&mut self, now: Instant, mut next_id: impl FnMut() -> u64) -> Vec<Effect> {
        let mut fx = Vec::new();
        for s in self.slots.values_mut().filter(|s| s.sent.is_none()) {
            let id = next_id();
            s.sent = Some((id, now));
            fx.push(Effect::Probe {
                id,
                probe: s.probe.clone(),
            });
        }
        fx
    }

    /// Stores the answer of request `id`; false when no slot waits for it (stale).
    pub fn answered(&mut self, id: u64, answer: Answer) -> bool {
        match self
            .slots
            .values_mut()
            .find(|s| s.sent.is_some_and(|(i, _)| i == id))
        {
            Some(s) => {
                s.answer = Some(answer);
                true
            }
            None => false,
        }
    }

    /// Answers probes that have waited longer than [`TIMEOUT`]; true when one did. A late
    /// real answer still replaces this one.
    fn expire(&mut self, now: Instant) -> bool {
        let mut any = false;
        for s in self.slots.values_mut() {
            if let (Some((_, at)), None) = (s.sent, &s.answer) {
                if now.saturating_duration_since(at) >= TIMEOUT {
                    s.answer = Some(Err(format!(
                        "no answer after {} s (a hung network mount?)",
                        TIMEOUT.as_secs()
                    )));
                    any = true;
                }
            }
        }
        any
    }

    /// Answers every waiting probe by running it here (tests of a wizard without an app).
    #[cfg(test)]
    pub fn run_here(&mut self) {
        for s in self.slots.values_mut().filter(|s| s.answer.is_none()) {
            s.answer = Some(Ok(crate::probe::run(&s.probe)));
        }
    }
}

/// Flattens an answer: `Err` is either the file system's error or the missing answer.
fn flat<T>(
    a: Option<&Answer>,
    pick: impl FnOnce(&Found) -> Option<Result<T, String>>,
) -> Option<Result<T, String>> {
    match a? {
        Err(e) => Some(Err(e.clone())),
        Ok(f) => pick(f),
    }
}

/// What is at `path`: `None` while checking.
pub fn stat(w: &mut Wizard, slot: &'static str, path: &str) -> Option<Result<Stat, String>> {
    flat(
        w.checks.ask(slot, Probe::Stat(PathBuf::from(path))),
        |f| match f {
            Found::Stat(r) => Some(r.clone()),
            _ => None,
        },
    )
}

/// The ISO at `path`: `None` while checking.
pub fn iso(w: &mut Wizard, slot: &'static str, path: &str) -> Option<Result<Iso, String>> {
    flat(
        w.checks.ask(slot, Probe::Iso(PathBuf::from(path))),
        |f| match f {
            Found::Iso(i) => Some(Ok(i.clone())),
            _ => None,
        },
    )
}

/// Whether a new file can be written at `path`: `None` while checking.
pub fn save_target(
    w: &mut Wizard,
    slot: &'static str,
    path: PathBuf,
) -> Option<Result<SaveTarget, String>> {
    flat(w.checks.ask(slot, Probe::SaveTarget(path)), |f| match f {
        Found::SaveTarget(t) => Some(Ok(t.clone())),
        _ => None,
    })
}

/// The download directory and the work tree virtdeck runs in: `None` while looking.
pub fn download_base(
    w: &mut Wizard,
    slot: &'static str,
) -> Option<Result<(PathBuf, Option<PathBuf>), String>> {
    flat(w.checks.ask(slot, Probe::DownloadBase), |f| match f {
        Found::DownloadBase { base, repo } => Some(Ok((base.clone(), repo.clone()))),
        _ => None,
    })
}

/// The backups in a VM's backup directory, oldest first: `None` while looking.
pub fn backups(
    w: &mut Wizard,
    slot: &'static str,
    vm_dir: PathBuf,
) -> Option<Result<Vec<crate::backup::Found>, String>> {
    flat(w.checks.ask(slot, Probe::Backups(vm_dir)), |f| match f {
        Found::Backups(found, _) => Some(Ok(found.clone())),
        _ => None,
    })
}

/// After every update: the open wizard's new probes, as effects.
pub fn send(app: &mut App) -> Vec<Effect> {
    let now = app.now;
    let Mode::Wizard(w) = &mut app.mode else {
        return Vec::new();
    };
    let seq = &mut app.probe_seq;
    w.checks.unsent(now, || {
        *seq += 1;
        *seq
    })
}

/// A probe answered: the open wizard keeps the answer if it still asks for it, and re-checks.
pub fn probed(app: &mut App, id: u64, answer: Answer) {
    if let Mode::Wizard(w) = &mut app.mode {
        if w.checks.answered(id, answer) {
            refresh_open(app);
        }
    }
}

/// Time passed: probes that have waited too long say so.
pub fn tick(app: &mut App) {
    let now = app.now;
    if let Mode::Wizard(w) = &mut app.mode {
        if w.checks.expire(now) {
            refresh_open(app);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(p: &str) -> Probe {
        Probe::Stat(PathBuf::from(p))
    }

    fn ids(fx: &[Effect]) -> Vec<u64> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Probe { id, .. } => Some(*id),
                _ => None,
            })
            .collect()
    }

    /// An answer for what the user typed before is dropped; a probe is sent once; one that
    /// does not answer in time is answered here, and a late real answer still wins.
    #[test]
    fn stale_answers_are_ignored_and_silence_times_out() {
        let t0 = Instant::now();
        let mut seq = 0;
        let mut next = || {
            seq += 1;
            seq
        };
        let mut c = Checks::default();
        assert_eq!(c.ask("file", stat("/a")), None);
        let first = ids(&c.unsent(t0, &mut next));
        assert_eq!(first, [1]);
        assert!(ids(&c.unsent(t0, &mut next)).is_empty(), "sent once");
        // The user typed on: a new probe replaces the first.
        assert_eq!(c.ask("file", stat("/ab")), None);
        assert_eq!(ids(&c.unsent(t0, &mut next)), [2]);
        let found = Ok(Found::Stat(Err("gone".into())));
        assert!(!c.answered(1, found.clone()), "the answer for /a is stale");
        assert_eq!(c.ask("file", stat("/ab")), None);
        assert!(c.answered(2, found.clone()));
        assert_eq!(c.ask("file", stat("/ab")), Some(&found));
        // Silence: after TIMEOUT the slot says so; a late answer replaces that.
        assert_eq!(c.ask("dir", stat("/hung")), None);
        assert_eq!(ids(&c.unsent(t0, &mut next)), [3]);
        assert!(!c.expire(t0 + TIMEOUT / 2));
        assert!(c.expire(t0 + TIMEOUT));
        assert!(matches!(c.ask("dir", stat("/hung")), Some(Err(e)) if e.contains("no answer")));
        assert!(c.answered(3, found.clone()));
        assert_eq!(c.ask("dir", stat("/hung")), Some(&found));
    }
}
