//! What the first bytes of a volume say about it as a disk to boot from: a qcow2 header, a
//! GPT or an MBR boot sector; anything else (a text file, an empty raw file) gives a guest
//! with "No bootable device". Pure: the bytes are read by the host worker.

/// How much of a volume the check reads: the qcow2 header, the MBR and the GPT header.
pub const HEAD_BYTES: u64 = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Head {
    Qcow2,
    Gpt,
    Mbr,
    /// None of the above.
    Unbootable,
}

pub fn sniff(head: &[u8]) -> Head {
    if head.starts_with(b"QFI\xfb") {
        Head::Qcow2
    } else if head.get(512..520) == Some(b"EFI PART") {
        Head::Gpt
    } else if head.get(510..512) == Some(&[0x55, 0xAA]) {
        Head::Mbr
    } else {
        Head::Unbootable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qcow2_gpt_mbr_and_the_rest() {
        assert_eq!(sniff(b"QFI\xfb\0\0\0\x03"), Head::Qcow2);
        let mut gpt = vec![0u8; 4096];
        gpt[510] = 0x55;
        gpt[511] = 0xAA;
        gpt[512..520].copy_from_slice(b"EFI PART");
        assert_eq!(sniff(&gpt), Head::Gpt);
        let mut mbr = vec![0u8; 512];
        mbr[510..].copy_from_slice(&[0x55, 0xAA]);
        assert_eq!(sniff(&mbr), Head::Mbr);
        assert_eq!(sniff(b"just some text, 25 bytes\n"), Head::Unbootable);
        assert_eq!(sniff(&[0u8; 4096]), Head::Unbootable);
        assert_eq!(sniff(&[]), Head::Unbootable);
        // A boot signature past the end of what was read is not one.
        assert_eq!(sniff(&mbr[..511]), Head::Unbootable);
    }
}
