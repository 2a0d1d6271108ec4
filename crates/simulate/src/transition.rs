//! What happens to one account × model cell when a proposed set replaces the baseline.

use cordon_policy::{Decision, Effect};
use serde::Serialize;

/// What happens to one account × model cell when the proposed set replaces the baseline.
///
/// The order is the report's column order; `Unchanged` first so every other
/// variant is a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// Same effect and, when allowed, the same obligations.
    Unchanged,
    /// `allow` or `allow_with_obligations` becomes `deny`.
    LoseAccess,
    /// `allow*` becomes `verification_required`.
    VerificationRequired,
    /// `allow*` at the simulated time only because a proposed directive in its
    /// grace period lets unknown attributes through; refused once the grace
    /// period ends, which is the cell's deadline.
    VerificationRequiredAfterGrace,
    /// `deny` or `verification_required` becomes `allow*`.
    GainAccess,
    /// Allowed under both, with different obligations.
    ObligationsChanged,
    /// Refused under both, once by `deny` and once by `verification_required`.
    RefusalChanged,
}

impl Transition {
    /// Every transition, in report order.
    pub const ALL: [Transition; 7] = [
        Transition::Unchanged,
        Transition::LoseAccess,
        Transition::VerificationRequired,
        Transition::VerificationRequiredAfterGrace,
        Transition::GainAccess,
        Transition::ObligationsChanged,
        Transition::RefusalChanged,
    ];

    /// The number of transitions, for per-transition arrays.
    pub const COUNT: usize = Self::ALL.len();

    /// The snake_case name used in JSON, CSV columns and notify rows.
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Unchanged => "unchanged",
            Transition::LoseAccess => "lose_access",
            Transition::VerificationRequired => "verification_required",
            Transition::VerificationRequiredAfterGrace => "verification_required_after_grace",
            Transition::GainAccess => "gain_access",
            Transition::ObligationsChanged => "obligations_changed",
            Transition::RefusalChanged => "refusal_changed",
        }
    }

    /// Dense index in [`Transition::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether the cell changes at all.
    pub fn is_change(self) -> bool {
        self != Transition::Unchanged
    }

    /// Compares two decisions for the same cell, effects ordered as the engine
    /// orders them. The grace-period case needs a second decision and is
    /// decided by the caller; this never returns
    /// [`Transition::VerificationRequiredAfterGrace`].
    pub fn between(baseline: &Decision, proposed: &Decision) -> Transition {
        let allowed = |e: Effect| e <= Effect::AllowWithObligations;
        match (allowed(baseline.effect), allowed(proposed.effect)) {
            (true, true) => {
                if baseline.effect == proposed.effect
                    && baseline.obligations == proposed.obligations
                {
                    Transition::Unchanged
                } else {
                    Transition::ObligationsChanged
                }
            }
            (true, false) => match proposed.effect {
                Effect::VerificationRequired => Transition::VerificationRequired,
                _ => Transition::LoseAccess,
            },
            (false, true) => Transition::GainAccess,
            (false, false) if baseline.effect == proposed.effect => Transition::Unchanged,
            (false, false) => Transition::RefusalChanged,
        }
    }
}

impl std::fmt::Display for Transition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use cordon_policy::{Feature, FeatureSet, Obligations};

    use super::*;

    fn d(effect: Effect, max_tokens: Option<u32>) -> Decision {
        Decision {
            effect,
            obligations: Obligations {
                max_tokens,
                remove_features: FeatureSet::EMPTY,
            },
            decided_by: None,
            unknown_model: false,
        }
    }

    #[test]
    fn every_pair_of_effects_maps_to_its_transition() {
        use Effect::*;
        use Transition as T;
        let cases = [
            (Allow, Allow, T::Unchanged),
            (Allow, Deny, T::LoseAccess),
            (AllowWithObligations, Deny, T::LoseAccess),
            (Allow, VerificationRequired, T::VerificationRequired),
            (Deny, Allow, T::GainAccess),
            (VerificationRequired, AllowWithObligations, T::GainAccess),
            (Deny, VerificationRequired, T::RefusalChanged),
            (VerificationRequired, Deny, T::RefusalChanged),
            (Deny, Deny, T::Unchanged),
            (VerificationRequired, VerificationRequired, T::Unchanged),
        ];
        for (a, b, want) in cases {
            assert_eq!(
                Transition::between(&d(a, None), &d(b, None)),
                want,
                "{a:?} → {b:?}"
            );
        }
    }

    #[test]
    fn obligations_compare_by_value() {
        let a = d(Effect::AllowWithObligations, Some(100));
        let b = d(Effect::AllowWithObligations, Some(200));
        assert_eq!(Transition::between(&a, &a), Transition::Unchanged);
        assert_eq!(Transition::between(&a, &b), Transition::ObligationsChanged);
        assert_eq!(
            Transition::between(&d(Effect::Allow, None), &a),
            Transition::ObligationsChanged
        );
        let mut c = a;
        c.obligations.remove_features.insert(Feature::Tools);
        assert_eq!(Transition::between(&a, &c), Transition::ObligationsChanged);
    }

    #[test]
    fn names_and_indices_follow_declaration_order() {
        for (i, t) in Transition::ALL.iter().enumerate() {
            assert_eq!(t.index(), i);
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                serde_json::Value::String(t.as_str().into())
            );
        }
    }
}
