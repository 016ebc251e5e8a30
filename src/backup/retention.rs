//! Which backups "keep the last N" deletes: the oldest, except any backup a kept incremental
//! still needs (its base, and the base's base, back to the full one). An increment is never
//! left without its base; a chain goes once nothing kept depends on it.

use super::Found;

/// The backups to delete from `all` (oldest first, as `super::list` gives them) to keep the
/// newest `keep` and everything they build on. `keep` 0 keeps everything (no retention).
pub fn to_delete(all: &[Found], keep: usize) -> Vec<Found> {
    if keep == 0 || all.len() <= keep {
        return Vec::new();
    }
    let mut needed: Vec<String> = all[all.len() - keep..].iter().map(Found::name).collect();
    // Walk each kept backup's bases; the list is finite, so this ends.
    let mut i = 0;
    while i < needed.len() {
        let base = all
            .iter()
            .find(|f| f.name() == needed[i])
            .and_then(|f| f.manifest.base.clone());
        if let Some(b) = base {
            if !needed.contains(&b) {
                needed.push(b);
            }
        }
        i += 1;
    }
    all.iter()
        .filter(|f| !needed.contains(&f.name()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::{Kind, Manifest};
    use std::path::PathBuf;

    fn b(name: &str, kind: Kind, base: Option<&str>) -> Found {
        Found {
            dir: PathBuf::from("/b/vm").join(name),
            manifest: Manifest {
                version: 1,
                vm: "vm".into(),
                uuid: "u".into(),
                host: "qemu:///system".into(),
                kind,
                time: 0,
                checkpoint: None,
                since: None,
                base: base.map(str::to_string),
                disks: Vec::new(),
                domain_xml: String::new(),
            },
        }
    }

    fn names(v: &[Found]) -> Vec<String> {
        v.iter().map(Found::name).collect()
    }

    #[test]
    fn old_chains_go_only_when_nothing_kept_needs_them() {
        use Kind::*;
        let all = vec![
            b("1-full", Full, None),
            b("2-inc", Incremental, Some("1-full")),
            b("3-inc", Incremental, Some("2-inc")),
            b("4-full", Full, None),
            b("5-inc", Incremental, Some("4-full")),
            b("6-copy", Copy, None),
        ];
        assert_eq!(names(&to_delete(&all, 3)), ["1-full", "2-inc", "3-inc"]);
        // Keeping 5-inc keeps its base 4-full, though older than the last two.
        assert_eq!(names(&to_delete(&all, 2)), ["1-full", "2-inc", "3-inc"]);
        assert_eq!(
            names(&to_delete(&all, 1)),
            ["1-full", "2-inc", "3-inc", "4-full", "5-inc"]
        );
        // Keeping the newest increment of a chain keeps the whole chain.
        let chain = &all[..3];
        assert!(to_delete(chain, 1).is_empty());
        assert!(to_delete(&all, 0).is_empty() && to_delete(&all, 6).is_empty());
    }
}
