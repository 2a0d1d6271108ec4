//! Arbitrary bytes as receipts, consistency bundles, tile paths and entry
//! bundles: what an auditor's tools and the tile server read from others.
//!
//! Checks: none of `InclusionBundle::parse`, `ConsistencyBundle::parse`,
//! `parse_tile_path` or `parse_entry_bundle` panics; whatever parses encodes
//! back to the same bytes (bundles, entry bundles) or path (tiles).
#![no_main]

use cordon_audit::tile::{self, TilePath};
use cordon_audit::{ConsistencyBundle, InclusionBundle};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = tile::parse_entry_bundle(data) {
        let again = tile::encode_entry_bundle(&entries).expect("parsed entries re-encode");
        assert_eq!(
            again, data,
            "an entry bundle does not re-encode byte for byte"
        );
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(b) = InclusionBundle::parse(text) {
        assert_eq!(b.encode(), text, "a receipt does not re-encode");
    }
    if let Ok(b) = ConsistencyBundle::parse(text) {
        assert_eq!(b.encode(), text, "a consistency bundle does not re-encode");
    }
    match tile::parse_tile_path(text) {
        Ok(TilePath::Hash(id)) => assert_eq!(id.path(), text, "a tile path is not canonical"),
        Ok(TilePath::Entries { index, width }) => {
            let path =
                tile::entry_bundle_path(index, width).expect("parsed entries path re-encodes");
            assert_eq!(path, text, "an entry bundle path is not canonical");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
