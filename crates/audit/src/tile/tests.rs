use super::*;

#[test]
fn paths_follow_the_spec_examples() {
    assert_eq!(
        TileId::new(0, 1_234_067, 256).unwrap().path(),
        "tile/0/x001/x234/067"
    );
    assert_eq!(TileId::new(1, 0, 17).unwrap().path(), "tile/1/000.p/17");
    assert_eq!(TileId::new(2, 5, 256).unwrap().path(), "tile/2/005");
    assert_eq!(
        TileId::new(0, 1000, 1).unwrap().path(),
        "tile/0/x001/000.p/1"
    );
    assert_eq!(
        entry_bundle_path(273, 112).unwrap(),
        "tile/entries/273.p/112"
    );
    assert_eq!(
        entry_bundle_path(1_234_067, 256).unwrap(),
        "tile/entries/x001/x234/067"
    );
}

#[test]
fn parse_accepts_canonical_paths() {
    assert_eq!(
        parse_tile_path("tile/0/x001/x234/067").unwrap(),
        TilePath::Hash(TileId::new(0, 1_234_067, 256).unwrap())
    );
    assert_eq!(
        parse_tile_path("tile/3/000.p/1").unwrap(),
        TilePath::Hash(TileId::new(3, 0, 1).unwrap())
    );
    assert_eq!(
        parse_tile_path("tile/entries/x001/000.p/255").unwrap(),
        TilePath::Entries {
            index: 1000,
            width: 255
        }
    );
    assert_eq!(
        parse_tile_path("tile/entries/000").unwrap(),
        TilePath::Entries {
            index: 0,
            width: 256
        }
    );
}

#[test]
fn parse_rejects_non_canonical_and_hostile_paths() {
    for bad in [
        "",
        "/tile/0/000",
        "tile/0/000/",
        "tile/0/",
        "tile/0",
        "tile//000",
        "tile/00/000",
        "tile/01/000",
        "tile/-1/000",
        "tile/+1/000",
        "tile/8/000",
        "tile/64/000",
        "tile/999/000",
        "tile/0/0",
        "tile/0/00",
        "tile/0/0000",
        "tile/0/x000/001",
        "tile/0/001/002",
        "tile/0/x001/x002",
        "tile/0/y001/002",
        "tile/0/X001/002",
        "tile/0/x01/002",
        "tile/0/x001//002",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/017",
        "tile/0/000.p/",
        "tile/0/000.p/1/",
        "tile/0/000.p/1.p/2",
        "tile/0/000.P/1",
        "tile/0/000.p.1",
        "tile/0/١٢٣",
        "tile/0/x018/x446/x744/x073/x709/x551/616",
        "tile/0/x001/x001/x001/x001/x001/x001/x001/001",
        "tile/entries/x072/x057/x594/x037/x927/936",
        "tile/ENTRIES/000",
        "tiles/0/000",
        "tile/0/000?x=1",
        "tile/0/000 ",
        "tile/0/../0/000",
    ] {
        assert!(parse_tile_path(bad).is_err(), "{bad:?} was accepted");
    }
    let long = format!("tile/0/{}", "x001/".repeat(100));
    assert!(matches!(
        parse_tile_path(&long),
        Err(TileError::BadPath { .. })
    ));
}

#[test]
fn indexes_beyond_any_tree_are_refused() {
    // Level 0 tile n starts at leaf n * 256.
    assert!(TileId::new(0, (1 << 56) - 1, 256).is_ok());
    assert_eq!(
        TileId::new(0, 1 << 56, 256),
        Err(TileError::IndexTooLarge {
            level: 0,
            index: 1 << 56
        })
    );
    assert!(TileId::new(7, 0, 255).is_ok());
    assert!(TileId::new(7, 1, 1).is_err());
    assert_eq!(TileId::new(8, 0, 1), Err(TileError::BadLevel(8)));
    assert_eq!(TileId::new(0, 0, 0), Err(TileError::BadWidth(0)));
    assert_eq!(TileId::new(0, 0, 257), Err(TileError::BadWidth(257)));
    assert!(entry_bundle_path(1 << 56, 1).is_err());
    assert!(entry_bundle_path(0, 0).is_err());
}

#[test]
fn nodes_are_at_height_eight_times_the_level() {
    let t = TileId::new(2, 3, 40).unwrap();
    assert_eq!(
        t.nodes(),
        TileNodes {
            height: 16,
            first: 768,
            count: 40
        }
    );
    let t = TileId::new(0, 0, 256).unwrap();
    assert_eq!(
        t.nodes(),
        TileNodes {
            height: 0,
            first: 0,
            count: 256
        }
    );
}

#[test]
fn tiles_for_the_spec_example_sizes() {
    let t = tiles_for_size(70_000);
    assert_eq!(t.len(), 3);
    assert_eq!(
        (t[0].full, t[0].partial.map(|p| (p.index(), p.width()))),
        (273, Some((273, 112)))
    );
    assert_eq!(
        (t[1].full, t[1].partial.map(|p| (p.index(), p.width()))),
        (1, Some((1, 17)))
    );
    assert_eq!(
        (t[2].full, t[2].partial.map(|p| (p.index(), p.width()))),
        (0, Some((0, 1)))
    );

    let t = tiles_for_size(256);
    assert_eq!(t.len(), 2);
    assert_eq!((t[0].full, t[0].partial), (1, None));
    assert_eq!(t[1].partial, Some(TileId::new(1, 0, 1).unwrap()));

    assert!(tiles_for_size(0).is_empty());
    let max = tiles_for_size(u64::MAX);
    assert_eq!(max.len(), 8);
    assert_eq!(max[7].partial, Some(TileId::new(7, 0, 255).unwrap()));
}

#[test]
fn tiles_cover_exactly_the_nodes_of_the_tree() {
    // Every complete node at height 8L is in exactly one tile of level L.
    for size in [1u64, 255, 256, 257, 65_535, 65_536, 65_537, 1_000_000] {
        for level in tiles_for_size(size) {
            let nodes_at_height = size >> (8 * u32::from(level.level));
            let covered = level.full * 256 + level.partial.map_or(0, |p| u64::from(p.width()));
            assert_eq!(
                covered, nodes_at_height,
                "size {size} level {}",
                level.level
            );
        }
    }
}

#[test]
fn entry_bundles_round_trip() {
    let entries: Vec<&[u8]> = vec![b"", b"a", &[0xff; 300]];
    let bytes = encode_entry_bundle(&entries).unwrap();
    assert_eq!(&bytes[..5], &[0, 0, 0, 1, b'a']);
    assert_eq!(parse_entry_bundle(&bytes).unwrap(), entries);
}

#[test]
fn entry_bundle_limits() {
    let big = vec![0u8; MAX_ENTRY_BYTES + 1];
    assert_eq!(
        encode_entry_bundle(&[b"ok", &big]),
        Err(TileError::EntryTooLarge {
            index: 1,
            len: MAX_ENTRY_BYTES + 1
        })
    );
    let max = vec![1u8; MAX_ENTRY_BYTES];
    let bytes = encode_entry_bundle(&[&max]).unwrap();
    assert_eq!(parse_entry_bundle(&bytes).unwrap(), vec![max.as_slice()]);
    assert_eq!(encode_entry_bundle(&[]), Err(TileError::BadEntryCount(0)));
    let many = vec![&b"x"[..]; 257];
    assert_eq!(
        encode_entry_bundle(&many),
        Err(TileError::BadEntryCount(257))
    );
    let full = encode_entry_bundle(&many[..256]).unwrap();
    assert_eq!(parse_entry_bundle(&full).unwrap().len(), 256);
    let mut over = full.clone();
    over.extend_from_slice(&[0, 0]);
    assert_eq!(
        parse_entry_bundle(&over),
        Err(TileError::BadEntryCount(257))
    );
}

#[test]
fn truncated_bundles_are_refused() {
    assert_eq!(parse_entry_bundle(&[]), Err(TileError::BadEntryCount(0)));
    assert_eq!(
        parse_entry_bundle(&[0]),
        Err(TileError::Truncated {
            offset: 0,
            index: 0
        })
    );
    assert_eq!(
        parse_entry_bundle(&[0, 2, 1]),
        Err(TileError::Truncated {
            offset: 2,
            index: 0
        })
    );
    assert_eq!(
        parse_entry_bundle(&[0, 1, 9, 0, 3, 1, 2]),
        Err(TileError::Truncated {
            offset: 5,
            index: 1
        })
    );
}
