//! The volume id of an ISO 9660 image, the field osinfo's `<volume-id>` patterns match.

use std::io::{Read, Seek, SeekFrom};

use super::OsinfoError;

/// The primary volume descriptor sits in sector 16 (sectors are 2048 bytes).
const PVD_OFFSET: u64 = 16 * 2048;

/// Reads the volume id (32 bytes at offset 40 of the primary volume descriptor, space-padded)
/// from an ISO image. Works on a file, a block device or bytes in memory.
pub fn read_volume_id<R: Read + Seek>(r: &mut R) -> Result<String, OsinfoError> {
    let io = |e: std::io::Error| OsinfoError::NotIso(e.to_string());
    r.seek(SeekFrom::Start(PVD_OFFSET)).map_err(io)?;
    let mut pvd = [0u8; 72];
    r.read_exact(&mut pvd).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            OsinfoError::NotIso("too short for a volume descriptor".into())
        } else {
            io(e)
        }
    })?;
    if pvd[0] != 1 || &pvd[1..6] != b"CD001" {
        return Err(OsinfoError::NotIso(
            "no primary volume descriptor at sector 16".into(),
        ));
    }
    // ISO 9660 says a-characters (ASCII); be lenient with what mastering tools wrote.
    let id = String::from_utf8_lossy(&pvd[40..72]);
    Ok(id.trim_end_matches([' ', '\0']).to_string())
}
