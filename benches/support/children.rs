//! What the benches that run scenarios in child processes share: the children print
//! `@@ key value` (numbers), `## text` (notes) and `!! text` (errors), and the parent gathers
//! them into one `Out` to build its table from.
#![allow(dead_code)] // each bench uses its own part of it

use std::collections::BTreeMap;
use std::process::Output;

#[derive(Default)]
pub struct Out {
    pub nums: BTreeMap<String, Vec<f64>>,
    pub notes: Vec<String>,
    pub errors: Vec<String>,
}

impl Out {
    /// One protocol line of `tag`; its number, if any, is stored under `key_prefix` + key.
    pub fn take_line(&mut self, tag: &str, key_prefix: &str, line: &str) {
        if let Some(rest) = line.strip_prefix("@@ ") {
            let mut it = rest.splitn(2, ' ');
            if let (Some(k), Some(v)) = (it.next(), it.next()) {
                if let Ok(v) = v.trim().parse::<f64>() {
                    let key = format!("{key_prefix}{k}");
                    self.nums.entry(key).or_default().push(v);
                }
            }
        } else if let Some(rest) = line.strip_prefix("## ") {
            self.notes.push(format!("[{tag}] {rest}"));
        } else if let Some(rest) = line.strip_prefix("!! ") {
            self.errors.push(format!("{tag}: {rest}"));
        }
    }

    /// A finished child's lines, and an error when it failed or could not run.
    pub fn take_output(&mut self, tag: &str, key_prefix: &str, output: std::io::Result<Output>) {
        match output {
            Ok(o) => {
                for line in String::from_utf8_lossy(&o.stdout).lines() {
                    self.take_line(tag, key_prefix, line);
                }
                if !o.status.success() {
                    self.errors
                        .push(format!("{tag}: child exited with {}", o.status));
                }
            }
            Err(e) => self.errors.push(format!("{tag}: {e}")),
        }
    }

    /// The last value recorded under `key`.
    pub fn last(&self, key: &str) -> Option<f64> {
        self.nums.get(key).and_then(|v| v.last().copied())
    }

    /// Every value recorded under `key`.
    pub fn all(&self, key: &str) -> Vec<f64> {
        self.nums.get(key).cloned().unwrap_or_default()
    }

    /// The notes, then the errors, as lists under the table.
    pub fn print_notes(&self) {
        if !self.notes.is_empty() {
            println!();
            for n in &self.notes {
                println!("- {n}");
            }
        }
        if !self.errors.is_empty() {
            println!();
            for e in &self.errors {
                println!("- ERROR {e}");
            }
        }
    }
}
