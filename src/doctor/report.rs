//! `virtdeck doctor`'s output: a check is a mark (✔ fine, ⚠ works but needs a look, ✖
//! broken, · not checked), a line of text and, for a problem, the fix. Pure: lines in, text
//! out, so the formatting and the exit status are unit-tested. Host-supplied text is made
//! safe here, in one place, whatever the checks put into it.

use crate::sanitize::text as safe;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Not checked, or nothing to judge (said why).
    Info,
    Ok,
    Warn,
    Fail,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub status: Status,
    pub text: String,
    /// What to do about it (shown under the line).
    pub fix: Option<String>,
}

impl Check {
    pub fn new(status: Status, text: impl Into<String>) -> Check {
        Check {
            status,
            text: text.into(),
            fix: None,
        }
    }

    pub fn ok(text: impl Into<String>) -> Check {
        Check::new(Status::Ok, text)
    }

    pub fn info(text: impl Into<String>) -> Check {
        Check::new(Status::Info, text)
    }

    pub fn warn(text: impl Into<String>, fix: impl Into<String>) -> Check {
        Check::new(Status::Warn, text).with_fix(fix)
    }

    pub fn fail(text: impl Into<String>, fix: impl Into<String>) -> Check {
        Check::new(Status::Fail, text).with_fix(fix)
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Check {
        let f = fix.into();
        self.fix = (!f.is_empty()).then_some(f);
        self
    }
}

/// One host's section: its name, URI and checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub title: String,
    pub checks: Vec<Check>,
}

/// How marks are drawn: colour only on a terminal (and not under NO_COLOR); ASCII words
/// where the font may lack ✔ (the Linux console).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
    pub ascii: bool,
}

fn mark(s: Status, style: Style) -> String {
    let (glyph, word, color) = match s {
        Status::Ok => ("✔", "ok  ", "32"),
        Status::Warn => ("⚠", "warn", "33"),
        Status::Fail => ("✖", "FAIL", "31"),
        Status::Info => ("·", "-   ", "2"),
    };
    let m = if style.ascii { word } else { glyph };
    if style.color {
        format!("\x1b[{color}m{m}\x1b[0m")
    } else {
        m.to_string()
    }
}

/// The lines of one check: `  ✔ text`, and `      fix: …` under a problem.
pub fn check_lines(c: &Check, style: Style) -> Vec<String> {
    let mut out = vec![format!("  {} {}", mark(c.status, style), safe(&c.text))];
    if let Some(f) = &c.fix {
        out.push(format!("      fix: {}", safe(f)));
    }
    out
}

/// A whole section: the title, then its checks.
pub fn section_lines(s: &Section, style: Style) -> Vec<String> {
    let mut out = vec![safe(&s.title).into_owned()];
    for c in &s.checks {
        out.extend(check_lines(c, style));
    }
    out
}

/// The worst mark of all sections.
pub fn worst(sections: &[Section]) -> Status {
    sections
        .iter()
        .flat_map(|s| &s.checks)
        .map(|c| c.status)
        .max()
        .unwrap_or(Status::Ok)
}

/// 1 when anything is ✖, else 0 (a ⚠ still works).
pub fn exit_status(sections: &[Section]) -> i32 {
    i32::from(worst(sections) == Status::Fail)
}

/// The closing line: how many of each mark.
pub fn summary(sections: &[Section]) -> String {
    let count = |st| {
        sections
            .iter()
            .flat_map(|s| &s.checks)
            .filter(|c| c.status == st)
            .count()
    };
    format!(
        "{} ok, {} warnings, {} failed",
        count(Status::Ok),
        count(Status::Warn),
        count(Status::Fail)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: Style = Style {
        color: false,
        ascii: false,
    };

    #[test]
    fn lines_carry_the_mark_and_the_fix() {
        assert_eq!(
            check_lines(&Check::ok("connected"), PLAIN),
            ["  ✔ connected"]
        );
        assert_eq!(
            check_lines(&Check::fail("no key", "ssh-copy-id root@kvm2"), PLAIN),
            ["  ✖ no key", "      fix: ssh-copy-id root@kvm2"]
        );
        assert_eq!(
            check_lines(&Check::warn("slow", ""), PLAIN),
            ["  ⚠ slow"],
            "an empty fix is no fix"
        );
        assert_eq!(check_lines(&Check::info("unknown"), PLAIN), ["  · unknown"]);
    }

    #[test]
    fn colour_and_ascii() {
        let c = Check::fail("x", "y");
        let coloured = check_lines(
            &c,
            Style {
                color: true,
                ascii: false,
            },
        );
        assert_eq!(coloured[0], "  \x1b[31m✖\x1b[0m x");
        let ascii = check_lines(
            &c,
            Style {
                color: false,
                ascii: true,
            },
        );
        assert_eq!(ascii[0], "  FAIL x");
        assert!(ascii.iter().all(|l| l.is_ascii()));
    }

    #[test]
    fn host_text_is_sanitised() {
        let s = Section {
            title: "evil\x1b[2J".into(),
            checks: vec![Check::fail("VM a\nb", "run\u{202e}x")],
        };
        let lines = section_lines(&s, PLAIN);
        assert_eq!(lines[0], "evil\\u{1b}[2J");
        assert_eq!(lines[1], "  ✖ VM a\\nb");
        assert_eq!(lines[2], "      fix: run\\u{202e}x");
    }

    #[test]
    fn exit_status_is_one_only_for_a_failure() {
        let sec = |checks| Section {
            title: "h".into(),
            checks,
        };
        assert_eq!(exit_status(&[]), 0);
        assert_eq!(
            exit_status(&[sec(vec![
                Check::ok("a"),
                Check::warn("b", "c"),
                Check::info("d")
            ])]),
            0
        );
        let all = [
            sec(vec![Check::ok("a")]),
            sec(vec![Check::fail("b", "c"), Check::warn("d", "e")]),
        ];
        assert_eq!(exit_status(&all), 1);
        assert_eq!(summary(&all), "1 ok, 1 warnings, 1 failed");
    }
}
