//! A set of countries as a fixed bitset.

use crate::CountryCode;

const WORDS: usize = CountryCode::SPACE.div_ceil(64);

/// A set of countries, one bit per possible alpha-2 code.
///
/// Fixed size and `Copy`, so membership costs no allocation and no pointer chase
/// on the decision path.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CountrySet {
    bits: [u64; WORDS],
}

impl CountrySet {
    /// The empty set.
    pub const EMPTY: CountrySet = CountrySet { bits: [0; WORDS] };

    /// Adds a country.
    pub fn insert(&mut self, c: CountryCode) {
        let i = c.index();
        if let Some(w) = self.bits.get_mut(i / 64) {
            *w |= 1u64 << (i % 64);
        }
    }

    /// Whether the set holds a country.
    #[inline]
    pub fn contains(&self, c: CountryCode) -> bool {
        let i = c.index();
        self.bits
            .get(i / 64)
            .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
    }

    /// The union of two sets.
    pub fn union(&self, other: &CountrySet) -> CountrySet {
        let mut out = *self;
        for (a, b) in out.bits.iter_mut().zip(other.bits.iter()) {
            *a |= b;
        }
        out
    }

    /// Whether the sets share a member.
    #[inline]
    pub fn intersects(&self, other: &CountrySet) -> bool {
        self.bits
            .iter()
            .zip(other.bits.iter())
            .any(|(a, b)| a & b != 0)
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|w| *w == 0)
    }

    /// Members in code order.
    pub fn iter(&self) -> impl Iterator<Item = CountryCode> + '_ {
        (0..CountryCode::SPACE)
            .filter_map(CountryCode::from_index)
            .filter(|c| self.contains(*c))
    }
}

impl FromIterator<CountryCode> for CountrySet {
    fn from_iter<I: IntoIterator<Item = CountryCode>>(iter: I) -> Self {
        let mut s = CountrySet::EMPTY;
        for c in iter {
            s.insert(c);
        }
        s
    }
}

impl std::fmt::Debug for CountrySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn behaves_like_a_btreeset(codes in proptest::collection::vec(0usize..CountryCode::SPACE, 0..40), probe in 0usize..CountryCode::SPACE) {
            let model: std::collections::BTreeSet<_> = codes.iter().map(|&i| CountryCode::from_index(i).unwrap()).collect();
            let set: CountrySet = model.iter().copied().collect();
            let p = CountryCode::from_index(probe).unwrap();
            prop_assert_eq!(set.contains(p), model.contains(&p));
            prop_assert_eq!(set.len(), model.len());
            prop_assert_eq!(set.iter().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
        }
    }
}
