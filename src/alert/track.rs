//! Which rule holds for which VM or host, since when, and whether it has fired: an alert fires
//! once when its condition has held for the rule's window and clears once when it stops
//! holding (or its VM or host is gone), never on every tick in between.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::model::HostId;

/// What a rule is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    Host(HostId),
    /// A VM by host and UUID.
    Vm(HostId, String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Fired,
    Cleared,
}

#[derive(Clone, Copy, Debug)]
struct Track {
    since: Instant,
    firing: bool,
    /// The round it was last looked at (`Tracker::begin`).
    seen: u64,
}

#[derive(Debug, Default)]
pub struct Tracker {
    /// Only subjects whose condition holds (or held when last known) are kept.
    map: HashMap<Subject, BTreeMap<usize, Track>>,
    round: u64,
}

impl Tracker {
    /// Starts a round of observations: what is not observed before `finish` is gone.
    pub fn begin(&mut self) {
        self.round += 1;
    }

    /// Whether nothing is being tracked (a false verdict then needs no lookup).
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// One verdict of `rule` on `subject`: `Some(true)` holds, `Some(false)` does not, `None`
    /// unknown (no reading now: a host that stopped answering neither fires nor clears).
    pub fn observe(
        &mut self,
        rule: usize,
        hold: Duration,
        subject: &Subject,
        verdict: Option<bool>,
        now: Instant,
    ) -> Option<Change> {
        let round = self.round;
        match verdict {
            Some(true) => {
                let tracks = match self.map.get_mut(subject) {
                    Some(t) => t,
                    None => self.map.entry(subject.clone()).or_default(),
                };
                let t = tracks.entry(rule).or_insert(Track {
                    since: now,
                    firing: false,
                    seen: round,
                });
                t.seen = round;
                if !t.firing && now.saturating_duration_since(t.since) >= hold {
                    t.firing = true;
                    return Some(Change::Fired);
                }
                None
            }
            Some(false) => {
                let tracks = self.map.get_mut(subject)?;
                let gone = tracks.remove(&rule)?;
                if tracks.is_empty() {
                    self.map.remove(subject);
                }
                gone.firing.then_some(Change::Cleared)
            }
            None => {
                if let Some(t) = self
                    .map
                    .get_mut(subject)
                    .and_then(|tracks| tracks.get_mut(&rule))
                {
                    t.seen = round;
                }
                None
            }
        }
    }

    /// Ends the round: what was not observed is dropped; the firing ones among them clear.
    pub fn finish(&mut self) -> Vec<(usize, Subject)> {
        let round = self.round;
        let mut cleared = Vec::new();
        self.map.retain(|subject, tracks| {
            tracks.retain(|rule, t| {
                let keep = t.seen == round;
                if !keep && t.firing {
                    cleared.push((*rule, subject.clone()));
                }
                keep
            });
            !tracks.is_empty()
        });
        cleared.sort();
        cleared
    }

    /// Alerts firing now.
    pub fn active(&self) -> usize {
        self.map
            .values()
            .flat_map(|t| t.values())
            .filter(|t| t.firing)
            .count()
    }

    /// Whether `rule` fires for `subject`.
    pub fn firing(&self, rule: usize, subject: &Subject) -> bool {
        self.map
            .get(subject)
            .and_then(|t| t.get(&rule))
            .is_some_and(|t| t.firing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(n: &str) -> Subject {
        Subject::Vm(HostId(0), n.into())
    }

    /// Feeds one verdict per second for `rule` 0 on `s` and collects the changes.
    fn run(
        t: &mut Tracker,
        s: &Subject,
        hold: u64,
        verdicts: &[Option<bool>],
    ) -> Vec<(usize, Change)> {
        let start = Instant::now();
        let mut out = Vec::new();
        for (i, v) in verdicts.iter().enumerate() {
            t.begin();
            let now = start + Duration::from_secs(i as u64);
            if let Some(c) = t.observe(0, Duration::from_secs(hold), s, *v, now) {
                out.push((i, c));
            }
            for _ in t.finish() {
                out.push((i, Change::Cleared));
            }
        }
        out
    }

    #[test]
    fn fires_once_after_the_window_and_clears_once() {
        let mut t = Tracker::default();
        let (y, n) = (Some(true), Some(false));
        let got = run(&mut t, &vm("a"), 3, &[y, y, y, y, y, y, n, n, y]);
        assert_eq!(got, vec![(3, Change::Fired), (6, Change::Cleared)]);
        // The last `true` starts a new window: not firing yet.
        assert_eq!(t.active(), 0);
        assert!(!t.is_empty());
    }

    #[test]
    fn a_blip_shorter_than_the_window_never_fires() {
        let mut t = Tracker::default();
        let (y, n) = (Some(true), Some(false));
        assert!(run(&mut t, &vm("a"), 3, &[y, y, n, y, y, n]).is_empty());
        assert!(t.is_empty());
    }

    #[test]
    fn a_zero_window_fires_at_once() {
        let mut t = Tracker::default();
        let got = run(&mut t, &vm("a"), 0, &[Some(true), Some(true)]);
        assert_eq!(got, vec![(0, Change::Fired)]);
        assert_eq!(t.active(), 1);
        assert!(t.firing(0, &vm("a")) && !t.firing(1, &vm("a")));
    }

    #[test]
    fn unknown_neither_fires_nor_clears_and_keeps_the_window() {
        let mut t = Tracker::default();
        let (y, u) = (Some(true), None);
        // Held at 0 and 1, unknown for a while, held again: fires once the window has passed.
        let got = run(&mut t, &vm("a"), 3, &[y, y, u, u, y]);
        assert_eq!(got, vec![(4, Change::Fired)]);
        let got = run(&mut t, &vm("a"), 3, &[u, u, u]);
        assert!(got.is_empty());
        assert_eq!(t.active(), 1);
    }

    #[test]
    fn a_subject_that_is_gone_clears() {
        let mut t = Tracker::default();
        let now = Instant::now();
        t.begin();
        assert_eq!(
            t.observe(0, Duration::ZERO, &vm("a"), Some(true), now),
            Some(Change::Fired)
        );
        assert_eq!(
            t.observe(0, Duration::ZERO, &vm("b"), Some(true), now),
            Some(Change::Fired)
        );
        assert!(t.finish().is_empty());
        t.begin();
        t.observe(0, Duration::ZERO, &vm("b"), Some(true), now);
        assert_eq!(t.finish(), vec![(0, vm("a"))]);
        assert_eq!(t.active(), 1);
    }

    #[test]
    fn rules_on_one_subject_are_apart() {
        let mut t = Tracker::default();
        let now = Instant::now();
        let h = Subject::Host(HostId(1));
        t.begin();
        t.observe(0, Duration::ZERO, &h, Some(true), now);
        t.observe(1, Duration::ZERO, &h, Some(true), now);
        t.finish();
        t.begin();
        t.observe(0, Duration::ZERO, &h, Some(true), now);
        assert_eq!(
            t.observe(1, Duration::ZERO, &h, Some(false), now),
            Some(Change::Cleared)
        );
        t.finish();
        assert_eq!(t.active(), 1);
    }
}
