//! Request shapes: what a simulated request asks for beyond a model.
//!
//! An order about tool use or fine-tuning changes nothing for a plain chat
//! request, so a simulation that decides only that shape hides the order's
//! main effect. Each shape is decided for every account × model.

use cordon_policy::{Endpoint, Feature, FeatureSet, Request};
use serde::Serialize;

/// One kind of request to decide for every account × model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    /// The endpoint called.
    pub endpoint: Endpoint,
    /// Features the request uses.
    pub features: FeatureSet,
    /// The output cap the request asks for, if any.
    pub max_tokens: Option<u32>,
}

impl Default for Shape {
    fn default() -> Self {
        Shape::plain()
    }
}

impl Shape {
    /// A chat request with no feature and no output cap: what the
    /// simulation decides when no other shape is asked for.
    pub fn plain() -> Shape {
        Shape {
            endpoint: Endpoint::Chat,
            features: FeatureSet::EMPTY,
            max_tokens: None,
        }
    }

    /// A chat request using one feature.
    pub fn feature(f: Feature) -> Shape {
        Shape {
            features: [f].into_iter().collect(),
            ..Shape::plain()
        }
    }

    /// A request to another endpoint, with no feature.
    pub fn endpoint(e: Endpoint) -> Shape {
        Shape {
            endpoint: e,
            ..Shape::plain()
        }
    }

    /// The same shape asking for at most `n` output tokens.
    #[must_use]
    pub fn with_max_tokens(mut self, n: Option<u32>) -> Shape {
        self.max_tokens = n;
        self
    }

    /// Every shape a catalog model can be asked for: the plain chat request,
    /// one chat request per feature, and one request per other endpoint.
    ///
    /// The catalog records no per-model capabilities, so every model is
    /// taken to support every endpoint and feature the gateway knows.
    pub fn all() -> Vec<Shape> {
        let mut out = vec![Shape::plain()];
        out.extend(Feature::ALL.iter().map(|f| Shape::feature(*f)));
        out.extend(
            Endpoint::ALL
                .iter()
                .filter(|e| **e != Endpoint::Chat)
                .map(|e| Shape::endpoint(*e)),
        );
        out
    }

    /// How reports name it: the endpoint, `+feature` per feature, and
    /// ` max_tokens=N` when capped, e.g. `chat+tools` or `fine_tuning`.
    pub fn label(&self) -> String {
        let mut s = self.endpoint.as_str().to_owned();
        for f in self.features.iter() {
            s.push('+');
            s.push_str(f.as_str());
        }
        if let Some(n) = self.max_tokens {
            s.push_str(&format!(" max_tokens={n}"));
        }
        s
    }

    /// Gives `request` this shape's endpoint, features and output cap.
    pub(crate) fn apply(&self, request: &mut Request) {
        request.endpoint = self.endpoint;
        request.features = self.features;
        request.max_tokens = self.max_tokens;
    }
}

impl Serialize for Shape {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_endpoint_features_and_cap() {
        assert_eq!(Shape::plain().label(), "chat");
        assert_eq!(Shape::feature(Feature::Tools).label(), "chat+tools");
        assert_eq!(Shape::endpoint(Endpoint::FineTuning).label(), "fine_tuning");
        assert_eq!(
            Shape::feature(Feature::Tools)
                .with_max_tokens(Some(4000))
                .label(),
            "chat+tools max_tokens=4000"
        );
    }

    #[test]
    fn all_starts_with_plain_chat_and_has_one_shape_per_feature_and_endpoint() {
        let all = Shape::all();
        assert_eq!(all.first(), Some(&Shape::plain()));
        assert_eq!(all.len(), 1 + Feature::ALL.len() + Endpoint::ALL.len() - 1);
        assert!(all.contains(&Shape::feature(Feature::FineTuning)));
        assert!(all.contains(&Shape::endpoint(Endpoint::FineTuning)));
        let labels: std::collections::BTreeSet<_> = all.iter().map(Shape::label).collect();
        assert_eq!(labels.len(), all.len(), "labels are distinct");
    }
}
