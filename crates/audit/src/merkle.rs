//! Merkle tree hashing, inclusion and consistency proofs.
//!
//! Follows [RFC 9162 §2.1](https://www.rfc-editor.org/rfc/rfc9162#section-2.1):
//! leaves are hashed as `SHA-256(0x00 || leaf)`, interior nodes as
//! `SHA-256(0x01 || left || right)`, so a leaf can never be passed off as a node.
//! Proof generation reads the hashes of full subtrees through [`NodeSource`],
//! which lets a store keep them wherever it likes; verification needs nothing
//! but the proof, the hashes and the sizes.

use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, a node hash or a tree root.
pub type Hash = [u8; 32];

/// The root of the empty tree: `SHA-256("")` ([RFC 9162 §2.1.1]).
///
/// [RFC 9162 §2.1.1]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.1
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Hashes one leaf: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// Hashes two children into their parent: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// An error from the store behind a [`NodeSource`] (I/O, a missing file).
pub type SourceError = Box<dyn std::error::Error + Send + Sync>;

/// Where proof generation reads the hashes of full subtrees.
///
/// `node(height, index)` is the root of the perfect subtree of `2^height`
/// leaves that starts at leaf `index << height`; height 0 gives leaf hashes.
/// Only subtrees that are complete in the tree being proven are asked for.
pub trait NodeSource {
    /// The hash of the full subtree at `height` and `index`.
    ///
    /// # Errors
    /// When the store cannot read the hash or does not hold it yet.
    fn node(&self, height: u32, index: u64) -> Result<Hash, SourceError>;
}

/// Why a proof could not be made or did not verify.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// The requested leaf.
        index: u64,
        /// The tree size it was asked against.
        size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizeOrder {
        /// The earlier tree size.
        old: u64,
        /// The later tree size.
        new: u64,
    },
    /// The proof has the wrong number of hashes for the sizes it claims.
    #[error("the proof has {got} hashes; sizes {detail} need {expected}")]
    WrongLength {
        /// How many hashes the proof carries.
        got: usize,
        /// How many the sizes require.
        expected: usize,
        /// The sizes involved, for the message.
        detail: String,
    },
    /// The recomputed root differs from the one the proof was checked against.
    #[error("the proof does not lead to the expected root hash")]
    RootMismatch,
    /// The store behind the [`NodeSource`] failed.
    #[error("reading node at height {height}, index {index}: {source}")]
    Source {
        /// Height of the node that could not be read.
        height: u32,
        /// Index of the node at that height.
        index: u64,
        /// What the store reported.
        source: SourceError,
    },
}

/// The largest power of two strictly smaller than `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    // For n >= 2, n - 1 >= 1 so the shift is in range.
    1u64 << (63 - (n - 1).leading_zeros())
}

fn read(src: &dyn NodeSource, height: u32, index: u64) -> Result<Hash, ProofError> {
    src.node(height, index)
        .map_err(|source| ProofError::Source {
            height,
            index,
            source,
        })
}

/// The Merkle tree hash of leaves `[start, end)` ([RFC 9162 §2.1.1] `MTH`).
///
/// Aligned power-of-two ranges are read from the source; anything else is
/// split at the largest power of two, so at most `log2(end - start)` extra
/// hashes are computed.
///
/// # Errors
/// When the source fails. An empty range gives [`empty_root`].
///
/// [RFC 9162 §2.1.1]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.1
pub fn range_root(src: &dyn NodeSource, start: u64, end: u64) -> Result<Hash, ProofError> {
    let n = end.saturating_sub(start);
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() && start.is_multiple_of(n) {
        let height = n.trailing_zeros();
        return read(src, height, start >> height);
    }
    let k = split_point(n);
    let left = range_root(src, start, start + k)?;
    let right = range_root(src, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// The root of the tree of the first `size` leaves.
///
/// # Errors
/// When the source fails.
pub fn root(src: &dyn NodeSource, size: u64) -> Result<Hash, ProofError> {
    range_root(src, 0, size)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves
/// ([RFC 9162 §2.1.3.1] `PATH`), nearest sibling first.
///
/// # Errors
/// When `index >= size` or the source fails.
///
/// [RFC 9162 §2.1.3.1]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3.1
pub fn inclusion_proof(
    src: &dyn NodeSource,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut path = Vec::with_capacity(64);
    // Walk from the root down, remembering siblings; reverse at the end.
    let (mut start, mut end, mut m) = (0u64, size, index);
    while end - start > 1 {
        let k = split_point(end - start);
        if m < k {
            path.push(range_root(src, start + k, end)?);
            end = start + k;
        } else {
            path.push(range_root(src, start, start + k)?);
            start += k;
            m -= k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency proof between the trees of `old` and `new` leaves
/// ([RFC 9162 §2.1.4.1] `PROOF`), deepest hash first.
///
/// Equal sizes and an empty old tree give an empty proof, which
/// [`verify_consistency`] accepts only with the matching roots.
///
/// # Errors
/// When `old > new` or the source fails.
///
/// [RFC 9162 §2.1.4.1]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4.1
pub fn consistency_proof(
    src: &dyn NodeSource,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, ProofError> {
    if old > new {
        return Err(ProofError::SizeOrder { old, new });
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    let mut proof = Vec::with_capacity(64);
    // SUBPROOF(m, D[start:end], b), unrolled; hashes collected root-first.
    let (mut start, mut end, mut m, mut whole) = (0u64, new, old, true);
    loop {
        let n = end - start;
        if m == n {
            if !whole {
                proof.push(range_root(src, start, end)?);
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            proof.push(range_root(src, start + k, end)?);
            end = start + k;
        } else {
            proof.push(range_root(src, start, start + k)?);
            start += k;
            m -= k;
            whole = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// How many hashes an inclusion proof for `index` in a tree of `size` has.
fn inclusion_len(index: u64, size: u64) -> usize {
    let (mut start, mut end, mut m, mut len) = (0u64, size, index, 0usize);
    while end - start > 1 {
        let k = split_point(end - start);
        if m < k {
            end = start + k;
        } else {
            start += k;
            m -= k;
        }
        len += 1;
    }
    len
}

/// Checks that `leaf` is at `index` in the tree of `size` leaves with `root`
/// ([RFC 9162 §2.1.3.2]).
///
/// # Errors
/// [`ProofError::IndexOutOfRange`], [`ProofError::WrongLength`] or
/// [`ProofError::RootMismatch`].
///
/// [RFC 9162 §2.1.3.2]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3.2
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            expected,
            detail: format!("index {index} in size {size}"),
        });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(ProofError::RootMismatch);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s == 0 && r == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Checks that the tree of `new` leaves with `new_root` extends the tree of
/// `old` leaves with `old_root` ([RFC 9162 §2.1.4.2]).
///
/// # Errors
/// [`ProofError::SizeOrder`], [`ProofError::WrongLength`] or
/// [`ProofError::RootMismatch`].
///
/// [RFC 9162 §2.1.4.2]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4.2
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::SizeOrder { old, new });
    }
    if old == 0 || old == new {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                expected: 0,
                detail: format!("{old} to {new}"),
            });
        }
        let roots_match = if old == 0 {
            *old_root == empty_root()
        } else {
            old_root == new_root
        };
        return if roots_match {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    let expected = consistency_len(old, new);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            expected,
            detail: format!("{old} to {new}"),
        });
    }
    // When the old tree is a perfect subtree its root starts the path.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return Err(ProofError::RootMismatch);
    };
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s == 0 {
            return Err(ProofError::RootMismatch);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if fr == *old_root && sr == *new_root && s == 0 {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// How many hashes a consistency proof from `old` to `new` has (`0 < old < new`).
fn consistency_len(old: u64, new: u64) -> usize {
    let (mut start, mut end, mut m, mut whole, mut len) = (0u64, new, old, true, 0usize);
    loop {
        let n = end - start;
        if m == n {
            if !whole {
                len += 1;
            }
            return len;
        }
        let k = split_point(n);
        if m <= k {
            end = start + k;
        } else {
            start += k;
            m -= k;
            whole = false;
        }
        len += 1;
    }
}

/// The right edge of an append-only tree: the roots of its perfect subtrees.
///
/// Appending a leaf completes at most `log2(size)` nodes, which the frontier
/// reports so a store can keep them; the root of the whole tree folds the
/// edge from the right. This is what a writer holds in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// Subtree roots from the largest (leftmost) to the smallest.
    edge: Vec<Hash>,
}

/// A node completed by an append: its height, index at that height, and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completed {
    /// Height of the node (0 for the leaf itself).
    pub height: u32,
    /// Index of the node among the nodes of that height.
    pub index: u64,
    /// The node's hash.
    pub hash: Hash,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds the frontier of the first `size` leaves from stored nodes.
    ///
    /// # Errors
    /// When the source fails.
    pub fn from_source(src: &dyn NodeSource, size: u64) -> Result<Self, ProofError> {
        let mut edge = Vec::new();
        let mut start = 0u64;
        for height in (0..64u32).rev() {
            let width = 1u64 << height;
            if size & width != 0 {
                edge.push(read(src, height, start >> height)?);
                start += width;
            }
        }
        Ok(Self { size, edge })
    }

    /// How many leaves the tree holds.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash and calls `completed` for every node it
    /// finishes, the leaf itself first and then upwards.
    pub fn push(&mut self, leaf: Hash, mut completed: impl FnMut(Completed)) {
        let mut node = Completed {
            height: 0,
            index: self.size,
            hash: leaf,
        };
        completed(node);
        // Each trailing one bit of the old size is a left sibling to merge with.
        let mut carry = self.size;
        while carry & 1 == 1 {
            let Some(left) = self.edge.pop() else {
                break;
            };
            node = Completed {
                height: node.height + 1,
                index: node.index >> 1,
                hash: node_hash(&left, &node.hash),
            };
            completed(node);
            carry >>= 1;
        }
        self.edge.push(node.hash);
        self.size += 1;
    }

    /// The root hash of the tree.
    pub fn root(&self) -> Hash {
        let mut iter = self.edge.iter().rev();
        let Some(last) = iter.next() else {
            return empty_root();
        };
        iter.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

/// A whole tree in memory, every full-subtree hash at every height.
///
/// Used by verifiers that recompute a log and by tests; `levels[h][i]` is
/// `node(h, i)`. It costs two hashes of memory per leaf.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    frontier: Frontier,
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf hash (not the leaf data: hash it with [`leaf_hash`]).
    pub fn push(&mut self, leaf: Hash) {
        let levels = &mut self.levels;
        self.frontier.push(leaf, |node| {
            let height = node.height as usize;
            if levels.len() <= height {
                levels.resize_with(height + 1, Vec::new);
            }
            if let Some(level) = levels.get_mut(height) {
                level.push(node.hash);
            }
        });
    }

    /// How many leaves the tree holds.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }
}

impl NodeSource for MemoryTree {
    fn node(&self, height: u32, index: u64) -> Result<Hash, SourceError> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels.get(height as usize)?.get(i).copied())
            .ok_or_else(|| format!("the tree has no node at height {height}, index {index}").into())
    }
}

#[cfg(test)]
mod tests;
