use super::*;

#[test]
fn coverage_is_limited_by_the_shortest_height() {
    // A complete tree of 5 leaves: 5, 2 and 1 nodes at heights 0, 1, 2.
    let full = |h: u32| [5u64, 2, 1].get(h as usize).copied().unwrap_or(0);
    assert_eq!(tree_coverage(full), 5);
    // Height 1 lost its second node: only leaves 0..2 are fully covered, and
    // leaf 2 starts a node that must be recomputed.
    let short = |h: u32| [5u64, 1, 1].get(h as usize).copied().unwrap_or(0);
    assert_eq!(tree_coverage(short), 3);
    // Nothing stored covers nothing.
    assert_eq!(tree_coverage(|_| 0), 0);
    // Files ahead of a tree do not limit it.
    let ahead = |h: u32| [9u64, 4, 2, 1].get(h as usize).copied().unwrap_or(0);
    assert_eq!(tree_coverage(ahead), 9);
}
