//! Obligations as a customer reads them: the limits an allowed request is held to.

use cordon_policy::{Decision, Effect, Obligations};

/// The limits a decision holds a request to: its obligations when it allows
/// with obligations, none otherwise (a refusal may carry the obligations of
/// directives it overrides, which bind nothing).
pub(crate) fn held_to(d: &Decision) -> Obligations {
    if d.effect == Effect::AllowWithObligations {
        d.obligations
    } else {
        Obligations::default()
    }
}

/// The limits in words, e.g. `max_tokens 2000; tools removed`; empty for none.
///
/// Reports and notify rows print this so an officer sees the cap itself,
/// not only that some obligation applies.
pub fn limits_text(o: &Obligations) -> String {
    let mut parts = Vec::new();
    if let Some(n) = o.max_tokens {
        parts.push(format!("max_tokens {n}"));
    }
    let removed: Vec<&str> = o.remove_features.iter().map(|f| f.as_str()).collect();
    if !removed.is_empty() {
        parts.push(format!("{} removed", removed.join(", ")));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use cordon_policy::{Feature, FeatureSet};

    use super::*;

    #[test]
    fn cap_and_removed_features_are_spelt_out() {
        assert_eq!(limits_text(&Obligations::default()), "");
        let o = Obligations {
            max_tokens: Some(2000),
            remove_features: [Feature::Tools, Feature::FineTuning].into_iter().collect(),
        };
        assert_eq!(
            limits_text(&o),
            "max_tokens 2000; tools, fine_tuning removed"
        );
        let only = Obligations {
            max_tokens: None,
            remove_features: FeatureSet::EMPTY,
        };
        assert_eq!(limits_text(&only), "");
    }
}
