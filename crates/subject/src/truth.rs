//! Three-valued (Kleene) truth.

use std::fmt;

/// A truth value in Kleene's strong three-valued logic.
///
/// Ordered `False < Unknown < True`, so conjunction is the minimum and
/// disjunction the maximum. `Unknown` is a value, not an error: a condition over
/// a missing attribute is `Unknown`, and each directive says what that means.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Truth {
    /// Certainly false.
    False,
    /// Not known from the attributes at hand.
    Unknown,
    /// Certainly true.
    True,
}

impl Truth {
    /// Kleene conjunction: false dominates, then unknown.
    #[inline]
    #[must_use]
    pub fn and(self, other: Truth) -> Truth {
        self.min(other)
    }

    /// Kleene disjunction: true dominates, then unknown.
    #[inline]
    #[must_use]
    pub fn or(self, other: Truth) -> Truth {
        self.max(other)
    }

    /// A known boolean.
    #[inline]
    pub fn from_bool(b: bool) -> Truth {
        if b { Truth::True } else { Truth::False }
    }

    /// The lowercase name used in explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            Truth::False => "false",
            Truth::Unknown => "unknown",
            Truth::True => "true",
        }
    }
}

impl std::ops::Not for Truth {
    type Output = Truth;

    /// Kleene negation: unknown stays unknown.
    #[inline]
    fn not(self) -> Truth {
        match self {
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
            Truth::True => Truth::False,
        }
    }
}

impl fmt::Display for Truth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Truth::{self, *};
    use proptest::prelude::*;

    fn any_truth() -> impl Strategy<Value = Truth> {
        prop_oneof![Just(False), Just(Unknown), Just(True)]
    }

    #[test]
    fn kleene_tables() {
        assert_eq!(Unknown.and(False), False);
        assert_eq!(Unknown.and(True), Unknown);
        assert_eq!(Unknown.or(True), True);
        assert_eq!(Unknown.or(False), Unknown);
        assert_eq!(!Unknown, Unknown);
    }

    proptest! {
        #[test]
        fn de_morgan_holds(a in any_truth(), b in any_truth()) {
            prop_assert_eq!(!a.and(b), (!a).or(!b));
            prop_assert_eq!(!a.or(b), (!a).and(!b));
        }

        #[test]
        fn agrees_with_boolean_logic_on_known_values(a: bool, b: bool) {
            prop_assert_eq!(Truth::from_bool(a).and(Truth::from_bool(b)), Truth::from_bool(a && b));
            prop_assert_eq!(Truth::from_bool(a).or(Truth::from_bool(b)), Truth::from_bool(a || b));
        }
    }
}
