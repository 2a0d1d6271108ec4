//! The byte layout of a batch record in a segment file, and its parser.
//!
//! A record is `header | entries | trailer`:
//! - header (20 bytes): magic `CRDNBAT1`, first index (u64), entry count (u32);
//! - entry (44 bytes + data): data length (u32), index (u64), leaf hash (32),
//!   leaf data;
//! - trailer (80 bytes): tree size after the batch (u64), tree root (32),
//!   record length including the trailer (u64), SHA-256 of every preceding
//!   byte of the record (32).
//!
//! Integers are big-endian. The record length in the trailer lets a reader
//! find the last record of a segment from its end without parsing the file.

use std::io::{self, Read};

use cordon_audit::merkle::Hash;
use sha2::{Digest, Sha256};

/// Marks the start of a batch record.
pub(crate) const BATCH_MAGIC: [u8; 8] = *b"CRDNBAT1";
/// Bytes before the first entry.
pub(crate) const HEADER_LEN: usize = 20;
/// Bytes of an entry before its data.
pub(crate) const ENTRY_HEAD_LEN: usize = 44;
/// Bytes after the last entry.
pub(crate) const TRAILER_LEN: usize = 80;
/// The most entries one record may claim; bounds what a corrupt count can make
/// a parser allocate.
pub(crate) const MAX_RECORD_ENTRIES: u32 = 1 << 20;

/// The largest leaf the log accepts: a C2SP entry bundle prefixes each entry
/// with a u16 length.
pub const MAX_LEAF_LEN: usize = cordon_audit::tile::MAX_ENTRY_BYTES;

/// Appends one encoded batch record to `buf`.
///
/// `leaves` pairs each leaf with its hash; the first gets index `first`.
pub(crate) fn encode_batch(
    buf: &mut Vec<u8>,
    first: u64,
    leaves: &[(&[u8], Hash)],
    size_after: u64,
    root: &Hash,
) {
    let start = buf.len();
    buf.extend_from_slice(&BATCH_MAGIC);
    buf.extend_from_slice(&first.to_be_bytes());
    buf.extend_from_slice(&(leaves.len() as u32).to_be_bytes());
    for (index, (data, hash)) in (first..).zip(leaves) {
        buf.extend_from_slice(&(data.len() as u32).to_be_bytes());
        buf.extend_from_slice(&index.to_be_bytes());
        buf.extend_from_slice(hash);
        buf.extend_from_slice(data);
    }
    buf.extend_from_slice(&size_after.to_be_bytes());
    buf.extend_from_slice(root);
    let record_len = (buf.len() - start + 8 + 32) as u64;
    buf.extend_from_slice(&record_len.to_be_bytes());
    let sum: [u8; 32] = Sha256::digest(buf.get(start..).unwrap_or_default()).into();
    buf.extend_from_slice(&sum);
}

/// One entry of a parsed record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryMeta {
    /// The index stored in the entry.
    pub index: u64,
    /// The leaf hash stored in the entry.
    pub hash: Hash,
    /// Byte offset of the entry in its segment.
    pub offset: u64,
    /// Where the entry's data sits in [`RecordReader::data`].
    pub data_start: usize,
    /// Length of the entry's data.
    pub len: usize,
}

/// A record whose structure and checksum are valid.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordInfo {
    /// Byte offset of the record in its segment.
    pub offset: u64,
    /// First index claimed by the header.
    pub first: u64,
    /// Tree size recorded in the trailer.
    pub size: u64,
    /// Tree root recorded in the trailer.
    pub root: Hash,
}

/// Why a record could not be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadKind {
    /// The file ends inside the record.
    Truncated,
    /// The record does not start with the batch magic.
    BadMagic,
    /// The entry count is zero or implausibly large.
    BadCount,
    /// An entry claims more than [`MAX_LEAF_LEN`] bytes.
    EntryTooLong,
    /// The trailer's record length or tree size disagrees with the header.
    BadTrailer,
    /// The SHA-256 over the record does not match.
    BadChecksum,
}

/// A lowercase description for error messages.
impl std::fmt::Display for BadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated => f.write_str("the file ends inside the batch record"),
            Self::BadMagic => f.write_str("the batch record does not start with the batch marker"),
            Self::BadCount => f.write_str("the batch header claims an impossible entry count"),
            Self::EntryTooLong => write!(f, "an entry claims more than {MAX_LEAF_LEN} bytes"),
            Self::BadTrailer => f.write_str("the batch trailer disagrees with the batch header"),
            Self::BadChecksum => f.write_str("the batch checksum does not match its bytes"),
        }
    }
}

/// A record that failed to parse.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BadRecord {
    /// Byte offset of the record in its segment.
    pub offset: u64,
    /// What was wrong.
    pub kind: BadKind,
    /// The header's first index and count, when the header was readable.
    pub header: Option<(u64, u32)>,
    /// Position in the record of the first entry whose stored hash or index is
    /// wrong, when the entries were readable, and the index stored in it.
    pub bad_entry: Option<(u32, u64)>,
}

/// The outcome of reading one record.
#[derive(Debug)]
pub(crate) enum Step {
    /// The input ended exactly at a record boundary.
    End,
    /// A valid record; its entries are in [`RecordReader::entries`].
    Record(RecordInfo),
    /// An invalid record.
    Bad(BadRecord),
}

/// Reads records one after another from a byte stream.
pub(crate) struct RecordReader<R> {
    input: R,
    pos: u64,
    entries: Vec<EntryMeta>,
    data: Vec<u8>,
}

/// Reads exactly `buf.len()` bytes; `Ok(false)` when the input ends first.
fn fill(input: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    match input.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

fn be_u64(bytes: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    if let Some(src) = bytes.get(..8) {
        a.copy_from_slice(src);
    }
    u64::from_be_bytes(a)
}

fn be_u32(bytes: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    if let Some(src) = bytes.get(..4) {
        a.copy_from_slice(src);
    }
    u32::from_be_bytes(a)
}

/// Decodes an entry head: the data length, the stored index and the stored
/// leaf hash.
pub(crate) fn parse_entry_head(head: &[u8; ENTRY_HEAD_LEN]) -> (usize, u64, Hash) {
    (
        be_u32(head) as usize,
        be_u64(head.get(4..).unwrap_or_default()),
        hash_at(head.get(12..).unwrap_or_default()),
    )
}

fn hash_at(bytes: &[u8]) -> Hash {
    let mut h = [0u8; 32];
    if let Some(src) = bytes.get(..32) {
        h.copy_from_slice(src);
    }
    h
}

impl<R: Read> RecordReader<R> {
    /// A reader whose first byte is at offset `pos` of its segment.
    pub(crate) fn new(input: R, pos: u64) -> Self {
        Self {
            input,
            pos,
            entries: Vec::new(),
            data: Vec::new(),
        }
    }

    /// The offset of the next record.
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    /// The entries of the last valid record.
    pub(crate) fn entries(&self) -> &[EntryMeta] {
        &self.entries
    }

    /// Moves the last record's entries and data out, for another thread.
    ///
    /// The reader keeps buffers of the same capacity, so the next record of a
    /// similar size is read without growing (and copying) them again.
    pub(crate) fn take_record(&mut self) -> (Vec<EntryMeta>, Vec<u8>) {
        let entries = Vec::with_capacity(self.entries.capacity());
        let data = Vec::with_capacity(self.data.capacity());
        (
            std::mem::replace(&mut self.entries, entries),
            std::mem::replace(&mut self.data, data),
        )
    }

    /// The data of one entry of the last record.
    pub(crate) fn entry_data(&self, e: &EntryMeta) -> &[u8] {
        self.data
            .get(e.data_start..e.data_start + e.len)
            .unwrap_or_default()
    }

    /// Reads the next record. After a [`Step::Bad`] the stream position is
    /// unspecified and the reader should be dropped.
    ///
    /// # Errors
    /// Only I/O errors other than a short read; a short read is a
    /// [`BadKind::Truncated`] record.
    pub(crate) fn next_record(&mut self) -> io::Result<Step> {
        let offset = self.pos;
        self.entries.clear();
        self.data.clear();
        let bad = |kind, header, bad_entry| {
            Ok(Step::Bad(BadRecord {
                offset,
                kind,
                header,
                bad_entry,
            }))
        };
        let mut header = [0u8; HEADER_LEN];
        // Distinguish a clean end from a record cut inside its header.
        let mut got = 0;
        while got < HEADER_LEN {
            let n = match self.input.read(header.get_mut(got..).unwrap_or_default()) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                break;
            }
            got += n;
        }
        if got == 0 {
            return Ok(Step::End);
        }
        let seen = got.min(BATCH_MAGIC.len());
        if header.get(..seen) != BATCH_MAGIC.get(..seen) {
            return bad(BadKind::BadMagic, None, None);
        }
        if got < HEADER_LEN {
            return bad(BadKind::Truncated, None, None);
        }
        let first = be_u64(header.get(8..).unwrap_or_default());
        let count = be_u32(header.get(16..).unwrap_or_default());
        let hdr = Some((first, count));
        if count == 0 || count > MAX_RECORD_ENTRIES {
            return bad(BadKind::BadCount, hdr, None);
        }
        let mut sum = Sha256::new();
        sum.update(header);
        let mut at = offset + HEADER_LEN as u64;
        let mut head = [0u8; ENTRY_HEAD_LEN];
        for _ in 0..count {
            if !fill(&mut self.input, &mut head)? {
                return bad(BadKind::Truncated, hdr, self.first_bad_entry(first));
            }
            let (len, index, hash) = parse_entry_head(&head);
            if len > MAX_LEAF_LEN {
                return bad(BadKind::EntryTooLong, hdr, self.first_bad_entry(first));
            }
            let data_start = self.data.len();
            self.data.resize(data_start + len, 0);
            if !fill(
                &mut self.input,
                self.data.get_mut(data_start..).unwrap_or_default(),
            )? {
                self.data.truncate(data_start);
                return bad(BadKind::Truncated, hdr, self.first_bad_entry(first));
            }
            sum.update(head);
            sum.update(self.data.get(data_start..).unwrap_or_default());
            self.entries.push(EntryMeta {
                index,
                hash,
                offset: at,
                data_start,
                len,
            });
            at += (ENTRY_HEAD_LEN + len) as u64;
        }
        let mut trailer = [0u8; TRAILER_LEN];
        if !fill(&mut self.input, &mut trailer)? {
            return bad(BadKind::Truncated, hdr, self.first_bad_entry(first));
        }
        sum.update(trailer.get(..48).unwrap_or_default());
        let size = be_u64(&trailer);
        let root = hash_at(trailer.get(8..).unwrap_or_default());
        let len = be_u64(trailer.get(40..).unwrap_or_default());
        let stored: Hash = hash_at(trailer.get(48..).unwrap_or_default());
        let computed: Hash = sum.finalize().into();
        let total = at + TRAILER_LEN as u64 - offset;
        if computed != stored {
            return bad(BadKind::BadChecksum, hdr, self.first_bad_entry(first));
        }
        if len != total || first.checked_add(u64::from(count)) != Some(size) {
            return bad(BadKind::BadTrailer, hdr, self.first_bad_entry(first));
        }
        self.pos = offset + total;
        Ok(Step::Record(RecordInfo {
            offset,
            first,
            size,
            root,
        }))
    }

    /// The position of the first parsed entry whose index or hash is wrong.
    fn first_bad_entry(&self, first: u64) -> Option<(u32, u64)> {
        let (pos, e) = self.entries.iter().enumerate().find(|(i, e)| {
            e.index != first + *i as u64
                || e.hash != cordon_audit::merkle::leaf_hash(self.entry_data(e))
        })?;
        Some((u32::try_from(pos).ok()?, e.index))
    }
}

/// Whether a valid record starts anywhere in `bytes` (at any offset).
///
/// Used to tell a torn tail (nothing valid after the bad record) from
/// corruption in the middle of the log.
pub(crate) fn contains_valid_record(bytes: &[u8]) -> bool {
    let mut from = 0;
    while let Some(rel) = bytes.get(from..).and_then(|rest| {
        rest.windows(BATCH_MAGIC.len())
            .position(|w| w == BATCH_MAGIC)
    }) {
        let at = from + rel;
        let mut reader = RecordReader::new(bytes.get(at..).unwrap_or_default(), 0);
        if matches!(reader.next_record(), Ok(Step::Record(_))) {
            return true;
        }
        from = at + 1;
    }
    false
}

#[cfg(test)]
mod tests;
