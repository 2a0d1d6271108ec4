//! Tiles and entry bundles ([C2SP tlog-tiles]): how the tree and its leaves
//! are served as static, cacheable files.
//!
//! A hash tile at level `L` holds up to 256 consecutive node hashes at tree
//! height `8 * L`; tile `N` of a level starts at node `N * 256`. Paths are
//! `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`, where `<N>` is
//! written in 3-digit groups, all but the last prefixed with `x`, and `.p/<W>`
//! marks a partial tile of width `W` (1 to 255).
//!
//! [C2SP tlog-tiles]: https://c2sp.org/tlog-tiles

/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u16 = 256;

/// The highest level a tile of a tree of at most `2^64 - 1` leaves can have:
/// a level-7 tile holds nodes of height 56, and level 8 would need `2^64` leaves.
pub const MAX_LEVEL: u8 = 7;

/// The largest entry an entry bundle can carry (a big-endian `u16` length).
pub const MAX_ENTRY_BYTES: usize = u16::MAX as usize;

/// The longest tile path we accept, far above the longest valid one
/// (`tile/entries/` and seven index groups and `.p/255`, 48 bytes).
const MAX_PATH_LEN: usize = 64;

/// Why a tile path or entry bundle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// The path is not a canonical tile or entry-bundle path.
    #[error(
        "`{path}` is not a tile path `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`: {reason}"
    )]
    BadPath {
        /// The path (cut to 80 characters).
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The level is above [`MAX_LEVEL`].
    #[error("tile level {0} is above the highest level {MAX_LEVEL}")]
    BadLevel(u8),
    /// The width is not 1 to 256.
    #[error("tile width {0} is not between 1 and 256")]
    BadWidth(u16),
    /// The tile index lies beyond any tree of `u64` size.
    #[error("tile {index} at level {level} lies beyond the largest possible tree")]
    IndexTooLarge {
        /// The tile's level (0 for entry bundles).
        level: u8,
        /// The tile's index.
        index: u64,
    },
    /// An entry is too long for its `u16` length prefix.
    #[error("entry {index} is {len} bytes; an entry bundle holds at most {MAX_ENTRY_BYTES}")]
    EntryTooLarge {
        /// Position of the entry in the bundle.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// A bundle with no entries, or more than 256.
    #[error("an entry bundle holds 1 to 256 entries, not {0}")]
    BadEntryCount(usize),
    /// The bundle ends inside an entry.
    #[error("the entry bundle is truncated at byte offset {offset} (entry {index})")]
    Truncated {
        /// Byte offset where the missing data starts.
        offset: usize,
        /// The entry being read.
        index: usize,
    },
}

/// Checks that tile `index` at `level` starts at a leaf index below `2^64`.
fn check_index(level: u8, index: u64) -> Result<(), TileError> {
    if level > MAX_LEVEL {
        return Err(TileError::BadLevel(level));
    }
    // Tile `index` spans leaves from `index << (8 * (level + 1))`.
    let shift = 8 * (u32::from(level) + 1);
    let fits = shift >= 64 && index == 0 || shift < 64 && index >> (64 - shift) == 0;
    if fits {
        Ok(())
    } else {
        Err(TileError::IndexTooLarge { level, index })
    }
}

fn check_width(width: u16) -> Result<(), TileError> {
    if (1..=TILE_WIDTH).contains(&width) {
        Ok(())
    } else {
        Err(TileError::BadWidth(width))
    }
}

/// One hash tile: level, index within the level, and width (256 when full).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TileId {
    level: u8,
    index: u64,
    width: u16,
}

/// The node hashes a hash tile holds, in the terms of
/// [`crate::merkle::NodeSource::node`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileNodes {
    /// Tree height of the nodes (`8 * level`).
    pub height: u32,
    /// Index at that height of the first node.
    pub first: u64,
    /// How many consecutive nodes (the tile's width).
    pub count: u16,
}

impl TileId {
    /// A tile, checked.
    ///
    /// # Errors
    /// [`TileError::BadLevel`] above [`MAX_LEVEL`], [`TileError::BadWidth`]
    /// outside 1..=256, [`TileError::IndexTooLarge`] for a tile that no
    /// `u64`-sized tree has.
    pub fn new(level: u8, index: u64, width: u16) -> Result<TileId, TileError> {
        check_index(level, index)?;
        check_width(width)?;
        Ok(TileId {
            level,
            index,
            width,
        })
    }

    /// The tile's level.
    pub fn level(&self) -> u8 {
        self.level
    }

    /// The tile's index within its level.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// How many hashes it holds (256 when full).
    pub fn width(&self) -> u16 {
        self.width
    }

    /// Whether the tile is full (256 hashes).
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The path, `tile/<L>/<N>[.p/<W>]` ([C2SP tlog-tiles, Merkle Tree]).
    ///
    /// [C2SP tlog-tiles, Merkle Tree]: https://c2sp.org/tlog-tiles#merkle-tree
    pub fn path(&self) -> String {
        format!(
            "tile/{}/{}",
            self.level,
            index_and_width(self.index, self.width)
        )
    }

    /// Which nodes the tile holds: `count` nodes at height `8 * level` from
    /// `first` ([C2SP tlog-tiles, Merkle Tree]).
    ///
    /// [C2SP tlog-tiles, Merkle Tree]: https://c2sp.org/tlog-tiles#merkle-tree
    pub fn nodes(&self) -> TileNodes {
        TileNodes {
            height: 8 * u32::from(self.level),
            // `new` keeps `index << (8 * (level + 1))` below 2^64, so this does not overflow.
            first: self.index << 8,
            count: self.width,
        }
    }
}

/// Writes `<N>` in `x`-prefixed 3-digit groups and the `.p/<W>` suffix.
fn index_and_width(index: u64, width: u16) -> String {
    let digits = index.to_string();
    // Pad on the left to a multiple of three digits.
    let pad = (3 - digits.len() % 3) % 3;
    let padded = format!("{}{digits}", "0".repeat(pad));
    let groups: Vec<&str> = padded
        .as_bytes()
        .chunks(3)
        .filter_map(|g| std::str::from_utf8(g).ok())
        .collect();
    let mut out = String::with_capacity(padded.len() * 2);
    for (i, group) in groups.iter().enumerate() {
        if i + 1 < groups.len() {
            out.push('x');
            out.push_str(group);
            out.push('/');
        } else {
            out.push_str(group);
        }
    }
    if width < TILE_WIDTH {
        out.push_str(&format!(".p/{width}"));
    }
    out
}

/// The path of an entry bundle, `tile/entries/<N>[.p/<W>]`
/// ([C2SP tlog-tiles, Log entries]).
///
/// # Errors
/// [`TileError::BadWidth`] or [`TileError::IndexTooLarge`].
///
/// [C2SP tlog-tiles, Log entries]: https://c2sp.org/tlog-tiles#log-entries
pub fn entry_bundle_path(index: u64, width: u16) -> Result<String, TileError> {
    check_index(0, index)?;
    check_width(width)?;
    Ok(format!("tile/entries/{}", index_and_width(index, width)))
}

/// What a tile path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TilePath {
    /// A hash tile.
    Hash(TileId),
    /// An entry bundle: the level-0 tile `index`, `width` entries.
    Entries {
        /// Index of the bundle (the level-0 tile index).
        index: u64,
        /// Entries it holds (256 when full).
        width: u16,
    },
}

/// Parses a decimal with no leading zeros and at most `max_digits` digits.
fn small_decimal(text: &str, max_digits: usize) -> Option<u16> {
    let ok = !text.is_empty()
        && text.len() <= max_digits
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if ok { text.parse().ok() } else { None }
}

/// Parses the `<N>[.p/<W>]` part of a tile path.
fn parse_index_and_width(text: &str) -> Result<(u64, u16), &'static str> {
    let (index_text, width) = match text.split_once(".p/") {
        Some((index_text, w)) => {
            let width = small_decimal(w, 3)
                .ok_or("the partial width must be a decimal without leading zeros")?;
            if !(1..TILE_WIDTH).contains(&width) {
                return Err("a partial width must be between 1 and 255");
            }
            (index_text, width)
        }
        None => (text, TILE_WIDTH),
    };
    let groups: Vec<&str> = index_text.split('/').collect();
    // u64::MAX has 20 digits: seven groups.
    if groups.len() > 7 {
        return Err("the index has more than seven 3-digit groups");
    }
    let mut index: u64 = 0;
    let last = groups.len().saturating_sub(1);
    for (i, group) in groups.iter().enumerate() {
        let digits = if i < last {
            group
                .strip_prefix('x')
                .ok_or("every index group but the last starts with `x`")?
        } else {
            group
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("index groups are exactly three digits");
        }
        if i == 0 && i < last && digits == "000" {
            return Err("the index has a leading `x000` group");
        }
        let value: u64 = digits
            .parse()
            .map_err(|_| "index groups are exactly three digits")?;
        index = index
            .checked_mul(1000)
            .and_then(|n| n.checked_add(value))
            .ok_or("the index does not fit 64 bits")?;
    }
    Ok((index, width))
}

/// Parses a tile or entry-bundle path relative to the log's prefix
/// ([C2SP tlog-tiles, Merkle Tree] and [Log entries]).
///
/// Meant for paths from untrusted clients: it accepts only the one canonical
/// spelling of each tile (no leading slash, no leading zeros, no `x000`
/// group, no `.p/256`), so a cache never holds two names for one tile.
///
/// # Errors
/// [`TileError::BadPath`] for anything else, or a level, width or index
/// error for a well-formed path naming a tile no tree can have.
///
/// [C2SP tlog-tiles, Merkle Tree]: https://c2sp.org/tlog-tiles#merkle-tree
/// [Log entries]: https://c2sp.org/tlog-tiles#log-entries
pub fn parse_tile_path(path: &str) -> Result<TilePath, TileError> {
    let bad = |reason| TileError::BadPath {
        path: path.chars().take(80).collect(),
        reason,
    };
    if path.len() > MAX_PATH_LEN {
        return Err(bad("it is too long"));
    }
    let rest = path
        .strip_prefix("tile/")
        .ok_or_else(|| bad("it does not start with `tile/`"))?;
    let (kind, rest) = rest
        .split_once('/')
        .ok_or_else(|| bad("it has no tile index"))?;
    let (index, width) = parse_index_and_width(rest).map_err(bad)?;
    if kind == "entries" {
        check_index(0, index)?;
        return Ok(TilePath::Entries { index, width });
    }
    let level = small_decimal(kind, 2)
        .ok_or_else(|| bad("the level must be `entries` or a decimal without leading zeros"))?;
    let level = u8::try_from(level).map_err(|_| bad("the level is too large"))?;
    TileId::new(level, index, width).map(TilePath::Hash)
}

/// The tiles of one level for a tree size: `full` full tiles (indices
/// `0..full`) and at most one partial tile after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelTiles {
    /// The level.
    pub level: u8,
    /// How many full tiles the level has.
    pub full: u64,
    /// The partial tile, if the level's node count is not a multiple of 256.
    pub partial: Option<TileId>,
}

/// Which tiles a tree of `size` leaves has, level by level from 0 up to the
/// last level with a tile ([C2SP tlog-tiles, Partial Tiles]). Entry bundles
/// follow level 0. Empty for the empty tree.
///
/// A size of 70,000 gives 273 full level-0 tiles and a partial one of width
/// 112, one full level-1 tile and a partial one of width 17, and a partial
/// level-2 tile of width 1.
///
/// [C2SP tlog-tiles, Partial Tiles]: https://c2sp.org/tlog-tiles#partial-tiles
pub fn tiles_for_size(size: u64) -> Vec<LevelTiles> {
    let mut levels = Vec::new();
    // Nodes at height 8 * level.
    let mut nodes = size;
    let mut level: u8 = 0;
    while nodes > 0 && level <= MAX_LEVEL {
        let full = nodes / u64::from(TILE_WIDTH);
        // The remainder is below 256, so it fits a u16.
        let width = u16::try_from(nodes % u64::from(TILE_WIDTH)).unwrap_or(0);
        let partial = if width == 0 {
            None
        } else {
            TileId::new(level, full, width).ok()
        };
        levels.push(LevelTiles {
            level,
            full,
            partial,
        });
        nodes = full;
        level += 1;
    }
    levels
}

/// Encodes entries as an entry bundle: each entry as a big-endian `u16`
/// length and its bytes ([C2SP tlog-tiles, Log entries]).
///
/// # Errors
/// [`TileError::BadEntryCount`] for no entries or more than 256,
/// [`TileError::EntryTooLarge`] for an entry over [`MAX_ENTRY_BYTES`].
///
/// [C2SP tlog-tiles, Log entries]: https://c2sp.org/tlog-tiles#log-entries
pub fn encode_entry_bundle(entries: &[&[u8]]) -> Result<Vec<u8>, TileError> {
    if entries.is_empty() || entries.len() > usize::from(TILE_WIDTH) {
        return Err(TileError::BadEntryCount(entries.len()));
    }
    let total: usize = entries.iter().map(|e| 2 + e.len()).sum();
    let mut out = Vec::with_capacity(total);
    for (index, entry) in entries.iter().enumerate() {
        let len = u16::try_from(entry.len()).map_err(|_| TileError::EntryTooLarge {
            index,
            len: entry.len(),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(entry);
    }
    Ok(out)
}

/// Splits an entry bundle into its entries ([C2SP tlog-tiles, Log entries]).
///
/// The caller checks that the count matches the width it asked for.
///
/// # Errors
/// [`TileError::Truncated`] when the bytes end inside an entry,
/// [`TileError::BadEntryCount`] for an empty bundle or more than 256 entries.
///
/// [C2SP tlog-tiles, Log entries]: https://c2sp.org/tlog-tiles#log-entries
pub fn parse_entry_bundle(bundle: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    let mut entries = Vec::new();
    let mut rest = bundle;
    while !rest.is_empty() {
        let index = entries.len();
        if index == usize::from(TILE_WIDTH) {
            return Err(TileError::BadEntryCount(index + 1));
        }
        let offset = bundle.len() - rest.len();
        let [hi, lo, tail @ ..] = rest else {
            return Err(TileError::Truncated { offset, index });
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let (entry, after) = tail.split_at_checked(len).ok_or(TileError::Truncated {
            offset: offset + 2,
            index,
        })?;
        entries.push(entry);
        rest = after;
    }
    if entries.is_empty() {
        return Err(TileError::BadEntryCount(0));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests;
