//! Transient messages (toasts) and the message log behind them.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub level: Level,
    pub text: String,
    pub at: Instant,
}

const LOG_CAP: usize = 1000;
const TOASTS_SHOWN: usize = 4;

#[derive(Clone, Debug, Default)]
pub struct Messages {
    pub toasts: VecDeque<Entry>,
    pub log: VecDeque<Entry>,
}

impl Messages {
    /// Adds to the log and shows a toast.
    pub fn push(&mut self, level: Level, text: impl Into<String>, now: Instant) {
        let e = Entry {
            level,
            text: text.into(),
            at: now,
        };
        self.log_only(e.clone());
        self.toasts.push_back(e);
        while self.toasts.len() > TOASTS_SHOWN {
            self.toasts.pop_front();
        }
    }

    /// Adds to the log without interrupting the user.
    pub fn log(&mut self, level: Level, text: impl Into<String>, now: Instant) {
        self.log_only(Entry {
            level,
            text: text.into(),
            at: now,
        });
    }

    fn log_only(&mut self, e: Entry) {
        self.log.push_back(e);
        while self.log.len() > LOG_CAP {
            self.log.pop_front();
        }
    }

    /// Drops expired toasts; errors stay longer. True when something changed.
    pub fn expire(&mut self, now: Instant) -> bool {
        let before = self.toasts.len();
        self.toasts.retain(|t| {
            let ttl = match t.level {
                Level::Info => Duration::from_secs(4),
                Level::Error => Duration::from_secs(10),
            };
            now.saturating_duration_since(t.at) < ttl
        });
        before != self.toasts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toasts_expire_errors_later() {
        let t0 = Instant::now();
        let mut m = Messages::default();
        m.push(Level::Info, "ok", t0);
        m.push(Level::Error, "bad", t0);
        assert!(m.expire(t0 + Duration::from_secs(5)));
        assert_eq!(m.toasts.len(), 1);
        assert_eq!(m.toasts[0].text, "bad");
        m.expire(t0 + Duration::from_secs(11));
        assert!(m.toasts.is_empty());
        assert_eq!(m.log.len(), 2);
    }

    #[test]
    fn at_most_four_toasts() {
        let t0 = Instant::now();
        let mut m = Messages::default();
        for i in 0..6 {
            m.push(Level::Info, format!("{i}"), t0);
        }
        assert_eq!(m.toasts.len(), 4);
        assert_eq!(m.toasts[0].text, "2");
    }
}
