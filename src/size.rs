//! Sizes the user types (`10G`, `512 MiB`, `1.5T`) and the `unit` attribute of libvirt XML.
//!
//! Units follow libvirt's own `virScaleInteger`, so a size means the same thing in a wizard field
//! and in the XML it produces:
//! - no unit, `B`, `byte`, `bytes`: bytes;
//! - `K`, `M`, `G`, `T`, `P`, `E` and `KiB` … `EiB`: powers of 1024 (IEC), as virsh and most admins
//!   mean them;
//! - `KB`, `MB`, `GB`, `TB`, `PB`, `EB`: powers of 1000 (SI), the only spelling that is 1000-based.
//!
//! Units are case-insensitive (`10g`, `10gib`, `100k`). A fraction (`1.5T`, `0.1G`) is scaled exactly
//! with integer arithmetic and rounded **down** to a whole byte, since a volume cannot hold part of
//! a byte and rounding up could exceed a limit the user chose; a fraction of a plain byte count is
//! rejected because it cannot mean anything.

/// Why a size was refused. `Display` is written for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error("enter a size, e.g. 10G or 512MiB")]
    Empty,
    #[error("a size cannot be negative")]
    Negative,
    #[error("'{0}' is not a number")]
    NotANumber(String),
    #[error("unknown unit '{0}': use B, K/KiB, M/MiB, G/GiB, T/TiB, P/PiB, E/EiB or KB/MB/GB/TB/PB/EB (1000-based)")]
    UnknownUnit(String),
    #[error("too large (at most 16 EiB)")]
    Overflow,
    #[error("a byte count must be a whole number")]
    FractionalBytes,
    #[error("too many decimal places")]
    TooPrecise,
}

/// Bytes per `unit`, by libvirt's rules (see the module doc). `""` means bytes.
pub fn unit_multiplier(unit: &str) -> Result<u64, SizeError> {
    let u = unit.trim().to_ascii_lowercase();
    if u.is_empty() || u == "b" || u == "byte" || u == "bytes" {
        return Ok(1);
    }
    let unknown = || SizeError::UnknownUnit(unit.trim().to_string());
    let mut chars = u.chars();
    let prefix = chars.next().ok_or_else(unknown)?;
    let base: u64 = match chars.as_str() {
        "" | "ib" => 1024,
        "b" => 1000,
        _ => return Err(unknown()),
    };
    let power = match prefix {
        'k' => 1,
        'm' => 2,
        'g' => 3,
        't' => 4,
        'p' => 5,
        'e' => 6,
        _ => return Err(unknown()),
    };
    // 1024^6 and 1000^6 both fit in u64.
    Ok(base.pow(power))
}

/// Scales `value` of `unit` to bytes, as libvirt does for `<capacity unit=…>`.
pub fn scale(value: u64, unit: &str) -> Result<u64, SizeError> {
    value
        .checked_mul(unit_multiplier(unit)?)
        .ok_or(SizeError::Overflow)
}

/// Parses a size typed by the user into bytes (see the module doc for units and rounding).
pub fn parse_size(s: &str) -> Result<u64, SizeError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(SizeError::Empty);
    }
    if s.starts_with('-') {
        return Err(SizeError::Negative);
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let (int, frac) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    let digits_ok = |d: &str| d.chars().all(|c| c.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits_ok(int) || !digits_ok(frac) {
        return Err(SizeError::NotANumber(number.to_string()));
    }
    let mult = unit_multiplier(unit)?;
    let frac = frac.trim_end_matches('0');
    if !frac.is_empty() && mult == 1 {
        return Err(SizeError::FractionalBytes);
    }
    // 18 digits keep frac * mult (< 10^18 * 2^60) inside u128.
    if frac.len() > 18 {
        return Err(SizeError::TooPrecise);
    }
    let int: u128 = if int.is_empty() {
        0
    } else {
        // A number longer than u128 is far beyond u64 anyway.
        int.parse().map_err(|_| SizeError::Overflow)?
    };
    let frac_part: u128 = if frac.is_empty() {
        0
    } else {
        let f: u128 = frac.parse().map_err(|_| SizeError::TooPrecise)?;
        f * u128::from(mult) / 10u128.pow(frac.len() as u32)
    };
    let total = int
        .checked_mul(u128::from(mult))
        .and_then(|v| v.checked_add(frac_part))
        .ok_or(SizeError::Overflow)?;
    u64::try_from(total).map_err(|_| SizeError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: u64 = 1024;
    const M: u64 = K * K;
    const G: u64 = M * K;
    const T: u64 = G * K;

    #[test]
    fn iec_and_si() {
        assert_eq!(parse_size("10G"), Ok(10 * G));
        assert_eq!(parse_size("10GiB"), Ok(10 * G));
        assert_eq!(parse_size("512MiB"), Ok(512 * M));
        assert_eq!(parse_size("512M"), Ok(512 * M));
        assert_eq!(parse_size("100k"), Ok(100 * K));
        assert_eq!(parse_size("2P"), Ok(2 * T * K));
        assert_eq!(parse_size("1E"), Ok(T * M));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("4096B"), Ok(4096));
        assert_eq!(parse_size("4096 bytes"), Ok(4096));
        assert_eq!(parse_size("1KB"), Ok(1000));
        assert_eq!(parse_size("1MB"), Ok(1_000_000));
        assert_eq!(parse_size("10GB"), Ok(10_000_000_000));
        assert_eq!(parse_size("2TB"), Ok(2_000_000_000_000));
    }

    #[test]
    fn spacing_and_case() {
        assert_eq!(parse_size(" 10 G "), Ok(10 * G));
        assert_eq!(parse_size("10\tgib"), Ok(10 * G));
        assert_eq!(parse_size("10gb"), Ok(10_000_000_000));
        assert_eq!(parse_size("3 mIb"), Ok(3 * M));
        assert_eq!(parse_size("+5K"), Ok(5 * K));
    }

    #[test]
    fn fractions_round_down() {
        assert_eq!(parse_size("1.5T"), Ok(T + T / 2));
        assert_eq!(parse_size("0.5G"), Ok(G / 2));
        assert_eq!(parse_size(".5K"), Ok(512));
        assert_eq!(parse_size("1.K"), Ok(1024));
        // 1.3 KiB = 1331.2 bytes.
        assert_eq!(parse_size("1.3K"), Ok(1331));
        // 0.1 GiB = 107374182.4 bytes.
        assert_eq!(parse_size("0.1G"), Ok(107_374_182));
        assert_eq!(parse_size("1.5KB"), Ok(1500));
        assert_eq!(parse_size("2.000"), Ok(2));
        assert_eq!(parse_size("1.5"), Err(SizeError::FractionalBytes));
        assert_eq!(parse_size("1.5B"), Err(SizeError::FractionalBytes));
        assert_eq!(
            parse_size("1.0000000000000000001G"),
            Err(SizeError::TooPrecise)
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(parse_size(""), Err(SizeError::Empty));
        assert_eq!(parse_size("   "), Err(SizeError::Empty));
        assert_eq!(parse_size("-1G"), Err(SizeError::Negative));
        assert_eq!(parse_size("G"), Err(SizeError::NotANumber("".into())));
        assert_eq!(parse_size("."), Err(SizeError::NotANumber(".".into())));
        assert_eq!(
            parse_size("1.2.3G"),
            Err(SizeError::NotANumber("1.2.3".into()))
        );
        assert_eq!(parse_size("10X"), Err(SizeError::UnknownUnit("X".into())));
        assert_eq!(
            parse_size("10 GiBs"),
            Err(SizeError::UnknownUnit("GiBs".into()))
        );
        assert_eq!(
            parse_size("10 1G"),
            Err(SizeError::UnknownUnit("1G".into()))
        );
        assert_eq!(parse_size("16E"), Err(SizeError::Overflow));
        assert_eq!(parse_size("18446744073709551616"), Err(SizeError::Overflow));
        assert_eq!(
            parse_size("99999999999999999999999999999999999999999"),
            Err(SizeError::Overflow)
        );
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_size("15.99E").map(|b| b > 15 * T * M), Ok(true));
    }

    #[test]
    fn messages_name_the_units() {
        let msg = parse_size("10X").unwrap_err().to_string();
        assert!(
            msg.contains("'X'") && msg.contains("GiB") && msg.contains("GB"),
            "{msg}"
        );
        assert!(SizeError::Empty.to_string().contains("10G"));
    }

    #[test]
    fn xml_units() {
        assert_eq!(scale(10, "G"), Ok(10 * G));
        assert_eq!(scale(10, "bytes"), Ok(10));
        assert_eq!(scale(10, ""), Ok(10));
        assert_eq!(scale(1, "KB"), Ok(1000));
        assert_eq!(scale(1, "kib"), Ok(1024));
        assert_eq!(scale(u64::MAX, "K"), Err(SizeError::Overflow));
        assert!(scale(1, "Q").is_err());
    }
}
