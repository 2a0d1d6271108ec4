use cordon_audit::merkle::{MemoryTree, leaf_hash};

use super::*;

fn batch(first: u64, leaves: &[&[u8]]) -> Vec<u8> {
    let pairs: Vec<(&[u8], Hash)> = leaves.iter().map(|l| (*l, leaf_hash(l))).collect();
    let mut tree = MemoryTree::new();
    for _ in 0..first {
        tree.push([0; 32]);
    }
    for (_, h) in &pairs {
        tree.push(*h);
    }
    let mut buf = Vec::new();
    encode_batch(&mut buf, first, &pairs, tree.size(), &tree.root());
    buf
}

#[test]
fn an_encoded_batch_parses_back_with_offsets_and_data() {
    let mut bytes = batch(0, &[b"a", b"", b"ccc"]);
    let second = batch(3, &[b"dd"]);
    bytes.extend_from_slice(&second);
    let mut r = RecordReader::new(&bytes[..], 0);
    let Step::Record(info) = r.next_record().unwrap() else {
        panic!("first record")
    };
    assert_eq!((info.first, info.size, info.offset), (0, 3, 0));
    let entries = r.entries().to_vec();
    assert_eq!(entries.len(), 3);
    assert_eq!(r.entry_data(&entries[2]), b"ccc");
    assert_eq!(entries[1].offset, (HEADER_LEN + ENTRY_HEAD_LEN + 1) as u64);
    assert_eq!(entries[2].hash, leaf_hash(b"ccc"));
    let first_len = bytes.len() - second.len();
    assert_eq!(first_len, HEADER_LEN + 3 * ENTRY_HEAD_LEN + 4 + TRAILER_LEN);
    let Step::Record(info) = r.next_record().unwrap() else {
        panic!("second record")
    };
    assert_eq!((info.first, info.offset), (3, first_len as u64));
    assert!(matches!(r.next_record().unwrap(), Step::End));
}

#[test]
fn every_cut_of_a_record_is_reported_as_truncated() {
    let bytes = batch(0, &[b"hello", b"world"]);
    for cut in 1..bytes.len() {
        let mut r = RecordReader::new(&bytes[..cut], 0);
        match r.next_record().unwrap() {
            Step::Bad(bad) => assert_eq!(bad.kind, BadKind::Truncated, "cut at {cut}"),
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
}

#[test]
fn a_flipped_data_byte_names_its_entry() {
    let mut bytes = batch(0, &[b"hello", b"world"]);
    let at = HEADER_LEN + ENTRY_HEAD_LEN + 5 + ENTRY_HEAD_LEN + 2;
    bytes[at] ^= 1;
    let Step::Bad(bad) = RecordReader::new(&bytes[..], 0).next_record().unwrap() else {
        panic!("accepted a damaged record")
    };
    assert_eq!(bad.kind, BadKind::BadChecksum);
    assert_eq!(bad.bad_entry, Some((1, 1)));
    assert_eq!(bad.header, Some((0, 2)));
}

#[test]
fn valid_records_are_found_after_garbage_but_not_in_garbage() {
    let good = batch(7, &[b"x"]);
    let mut bytes = vec![0xEE; 100];
    bytes.extend_from_slice(&BATCH_MAGIC);
    bytes.extend_from_slice(&[0; 50]);
    assert!(!contains_valid_record(&bytes));
    bytes.extend_from_slice(&good);
    assert!(contains_valid_record(&bytes));
}
