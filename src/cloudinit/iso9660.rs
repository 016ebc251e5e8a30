//! A minimal ISO 9660 writer with Joliet names, enough for a NoCloud seed: one root directory
//! with a few small files, built in memory.
//!
//! Why not a crate: `hadris-iso` (the maintained pure-Rust writer) needs Rust 1.88 (this
//! project supports 1.86), is a 3.0 release candidate and brings five crates of its own;
//! the format for a flat directory is about 200 lines. Plain ISO 9660 names cannot hold
//! `user-data` (no '-', 8.3 upper case), so the Joliet supplementary descriptor carries the
//! real names, as `genisoimage -J` does; Linux (and so cloud-init) reads those.
//!
//! Layout, 2048-byte sectors: 0–15 system area, 16 primary descriptor, 17 Joliet descriptor,
//! 18 terminator, 19–22 path tables (L and M, primary then Joliet), 23 primary root directory,
//! 24 Joliet root directory, then the files (shared by both trees).

const SECTOR: usize = 2048;
const PVD: usize = 16;
const ROOT_PRIMARY: usize = 23;
const ROOT_JOLIET: usize = 24;
const FIRST_FILE: usize = 25;

/// Builds the image. `label` is the volume id (≤ 32 chars; `cidata` for NoCloud). File names
/// must be unique, ≤ 64 characters; their primary (8.3) names are derived.
pub fn build(label: &str, files: &[(&str, &[u8])], unix_time: u64) -> Vec<u8> {
    let date = DateTime::from_unix(unix_time);
    let mut sorted: Vec<&(&str, &[u8])> = files.iter().collect();
    sorted.sort_by_key(|(n, _)| utf16(n));
    // Each file starts on its own sector.
    let mut extents = Vec::new();
    let mut next = FIRST_FILE;
    for (_, data) in &sorted {
        extents.push(next);
        next += data.len().div_ceil(SECTOR).max(1);
    }
    let total = next;
    let mut img = vec![0u8; total * SECTOR];

    let mut primary_names: Vec<Vec<u8>> = Vec::new();
    for (i, (n, _)) in sorted.iter().enumerate() {
        let plain = short_name(n, 0);
        let name = if primary_names.contains(&plain) {
            short_name(n, i)
        } else {
            plain
        };
        primary_names.push(name);
    }
    let joliet_names: Vec<Vec<u8>> = sorted.iter().map(|(n, _)| utf16(n)).collect();
    let mut primary_order: Vec<usize> = (0..sorted.len()).collect();
    primary_order.sort_by(|&a, &b| primary_names[a].cmp(&primary_names[b]));

    for (joliet, root_at, names, order) in [
        (false, ROOT_PRIMARY, &primary_names, primary_order),
        (
            true,
            ROOT_JOLIET,
            &joliet_names,
            (0..sorted.len()).collect(),
        ),
    ] {
        let mut dir = Vec::new();
        dir.extend(record(&[0], root_at, SECTOR, true, &date));
        dir.extend(record(&[1], root_at, SECTOR, true, &date));
        for i in order {
            dir.extend(record(
                &names[i],
                extents[i],
                sorted[i].1.len(),
                false,
                &date,
            ));
        }
        // One sector holds the whole flat directory (checked by the caller's file count).
        dir.truncate(SECTOR);
        put(&mut img, root_at * SECTOR, &dir);
        let desc = descriptor(joliet, label, total, root_at, &date);
        put(&mut img, (PVD + usize::from(joliet)) * SECTOR, &desc);
        let (l, m) = if joliet { (21, 22) } else { (19, 20) };
        put(&mut img, l * SECTOR, &path_table(root_at, false));
        put(&mut img, m * SECTOR, &path_table(root_at, true));
    }
    // Volume descriptor set terminator.
    put(
        &mut img,
        18 * SECTOR,
        &[255, b'C', b'D', b'0', b'0', b'1', 1],
    );
    for ((_, data), at) in sorted.iter().zip(&extents) {
        put(&mut img, at * SECTOR, data);
    }
    img
}

fn put(img: &mut [u8], at: usize, bytes: &[u8]) {
    img[at..at + bytes.len()].copy_from_slice(bytes);
}

fn both32(v: u32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&v.to_le_bytes());
    b[4..].copy_from_slice(&v.to_be_bytes());
    b
}

fn both16(v: u16) -> [u8; 4] {
    let mut b = [0u8; 4];
    b[..2].copy_from_slice(&v.to_le_bytes());
    b[2..].copy_from_slice(&v.to_be_bytes());
    b
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// An ISO 9660 level 1 name: `USER_DAT.;1`; `index` > 0 adds a suffix for clashing names.
fn short_name(name: &str, index: usize) -> Vec<u8> {
    let clean = |s: &str, n: usize| -> String {
        s.chars()
            .map(|c| {
                let c = c.to_ascii_uppercase();
                if c.is_ascii_uppercase() || c.is_ascii_digit() {
                    c
                } else {
                    '_'
                }
            })
            .take(n)
            .collect()
    };
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    let mut stem = clean(stem, 8);
    if index > 0 {
        let suffix = index.to_string();
        stem.truncate(8 - suffix.len().min(7));
        stem.push_str(&suffix);
    }
    format!("{stem}.{};1", clean(ext, 3)).into_bytes()
}

/// A directory record. `name` is raw bytes ([0] is ".", [1] is "..").
fn record(name: &[u8], extent: usize, len: usize, dir: bool, date: &DateTime) -> Vec<u8> {
    let mut r = vec![0u8; 33];
    r[2..10].copy_from_slice(&both32(extent as u32));
    r[10..18].copy_from_slice(&both32(len as u32));
    r[18..25].copy_from_slice(&date.short());
    r[25] = if dir { 2 } else { 0 };
    r[28..32].copy_from_slice(&both16(1));
    r[32] = name.len() as u8;
    r.extend_from_slice(name);
    if r.len() % 2 == 1 {
        r.push(0);
    }
    r[0] = r.len() as u8;
    r
}

fn path_table(root: usize, big_endian: bool) -> Vec<u8> {
    let mut t = vec![1u8, 0];
    if big_endian {
        t.extend((root as u32).to_be_bytes());
        t.extend(1u16.to_be_bytes());
    } else {
        t.extend((root as u32).to_le_bytes());
        t.extend(1u16.to_le_bytes());
    }
    t.extend([0, 0]);
    t
}

fn descriptor(joliet: bool, label: &str, total: usize, root: usize, date: &DateTime) -> Vec<u8> {
    let mut d = vec![0u8; SECTOR];
    d[0] = if joliet { 2 } else { 1 };
    d[1..6].copy_from_slice(b"CD001");
    d[6] = 1;
    let text = |d: &mut Vec<u8>, at: usize, len: usize, s: &str| {
        if joliet {
            // UCS-2 big endian, padded with U+0020.
            for i in (0..len - 1).step_by(2) {
                d[at + i] = 0;
                d[at + i + 1] = b' ';
            }
            let u = utf16(s);
            let n = u.len().min(len & !1);
            d[at..at + n].copy_from_slice(&u[..n]);
        } else {
            d[at..at + len].fill(b' ');
            let n = s.len().min(len);
            d[at..at + n].copy_from_slice(&s.as_bytes()[..n]);
        }
    };
    text(&mut d, 8, 32, "LINUX");
    text(&mut d, 40, 32, label);
    d[80..88].copy_from_slice(&both32(total as u32));
    if joliet {
        // Escape sequence for UCS-2 level 3.
        d[88..91].copy_from_slice(b"%/E");
    }
    d[120..124].copy_from_slice(&both16(1));
    d[124..128].copy_from_slice(&both16(1));
    d[128..132].copy_from_slice(&both16(SECTOR as u16));
    d[132..140].copy_from_slice(&both32(10));
    let (l, m) = if joliet { (21u32, 22u32) } else { (19, 20) };
    d[140..144].copy_from_slice(&l.to_le_bytes());
    d[148..152].copy_from_slice(&m.to_be_bytes());
    let root_rec = record(&[0], root, SECTOR, true, date);
    d[156..156 + 34].copy_from_slice(&root_rec);
    for (at, len) in [
        (190, 128),
        (318, 128),
        (446, 128),
        (702, 37),
        (739, 37),
        (776, 37),
    ] {
        text(&mut d, at, len, "");
    }
    text(&mut d, 574, 128, "VIRTDECK");
    d[813..830].copy_from_slice(&date.long());
    d[830..847].copy_from_slice(&date.long());
    d[847..863].fill(b'0');
    d[864..880].fill(b'0');
    d[881] = 1;
    d
}

/// A UTC time split into its fields.
struct DateTime {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl DateTime {
    fn from_unix(t: u64) -> DateTime {
        let rem = t % 86_400;
        let (year, month, day) = crate::osinfo::civil_from_days((t / 86_400) as i64);
        DateTime {
            year: year.clamp(0, 9999) as u32,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
        }
    }

    /// The 7-byte form of directory records (years since 1900, …, GMT offset 0).
    fn short(&self) -> [u8; 7] {
        [
            self.year.saturating_sub(1900).min(255) as u8,
            self.month as u8,
            self.day as u8,
            self.hour as u8,
            self.minute as u8,
            self.second as u8,
            0,
        ]
    }

    /// The 17-byte form of volume descriptors: digits, hundredths, GMT offset.
    fn long(&self) -> [u8; 17] {
        let s = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}00",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        let mut out = [0u8; 17];
        out[..16].copy_from_slice(&s.as_bytes()[..16]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_names() {
        let img = build("cidata", &[("user-data", b"u"), ("meta-data", b"m")], 0);
        assert_eq!(img.len(), 27 * SECTOR);
        assert_eq!(&img[PVD * SECTOR + 1..PVD * SECTOR + 6], b"CD001");
        assert_eq!(img[17 * SECTOR], 2);
        assert_eq!(img[18 * SECTOR], 255);
        let vid = crate::osinfo::read_volume_id(&mut std::io::Cursor::new(&img)).unwrap();
        assert_eq!(vid, "cidata");
        // Sorted: meta-data first, in both trees.
        assert_eq!(img[FIRST_FILE * SECTOR], b'm');
        assert_eq!(img[(FIRST_FILE + 1) * SECTOR], b'u');
        let root = &img[ROOT_JOLIET * SECTOR..][..SECTOR];
        let hay = utf16("user-data");
        assert!(root.windows(hay.len()).any(|w| w == hay.as_slice()));
        let root = &img[ROOT_PRIMARY * SECTOR..][..SECTOR];
        assert!(root.windows(11).any(|w| w == b"USER_DAT.;1"));
        assert_eq!(short_name("a.b.c-d", 0), b"A_B.C_D;1".to_vec());
        assert_eq!(short_name("user-data", 1), b"USER_DA1.;1".to_vec());
    }

    #[test]
    fn dates() {
        // 2024-02-29 12:34:56 UTC
        let d = DateTime::from_unix(1_709_210_096);
        assert_eq!(&d.long()[..14], b"20240229123456");
        assert_eq!(d.short()[..3], [124, 2, 29]);
    }
}
