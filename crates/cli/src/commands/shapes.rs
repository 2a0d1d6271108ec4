//! `--feature`, `--endpoint`, `--max-tokens` and `--shapes`: the request
//! shapes `cordon simulate` and `cordon matrix` decide.
//!
//! Each `--feature` and each `--endpoint` is a shape of its own, decided
//! beside the plain chat request, never one request combining them: an
//! order about tools and one about fine-tuning should each show what it
//! takes away. `--max-tokens` sets the output cap of every shape.

use cordon_policy::{Endpoint, Feature};
use cordon_simulate::Shape;

/// The request shapes to decide, as given on the command line.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ShapeArgs {
    /// Also decide a chat request using this feature (repeatable; each is
    /// its own shape beside the plain chat request): tools, image_input,
    /// file_input, audio_input, streaming, fine_tuning, batch.
    #[arg(long = "feature", value_name = "F", value_parser = feature)]
    features: Vec<Feature>,
    /// Also decide a request to this endpoint, with no feature (repeatable;
    /// each is its own shape): chat, messages, responses, completions,
    /// embeddings, images, audio, realtime, batch, fine_tuning, files, models.
    #[arg(long = "endpoint", value_name = "E", value_parser = endpoint)]
    endpoints: Vec<Endpoint>,
    /// Give every shape, the plain chat request included, this output cap
    /// (`max_tokens`), for directives that read `request.max_tokens`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_tokens: Option<u32>,
    /// `all`: decide every shape the catalog's models can be asked for, the
    /// plain chat request, one chat request per feature and one request per
    /// other endpoint (the catalog records no per-model capabilities);
    /// `plain` (default): the plain chat request and the shapes given by
    /// --feature and --endpoint.
    #[arg(
        long = "shapes",
        value_enum,
        value_name = "SET",
        default_value = "plain"
    )]
    set: ShapeSet,
}

/// Which shapes `--shapes` starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
enum ShapeSet {
    /// The plain chat request.
    #[default]
    Plain,
    /// Every shape: plain chat, one per feature, one per other endpoint.
    All,
}

fn feature(s: &str) -> Result<Feature, String> {
    Feature::parse(s).ok_or_else(|| format!("not a feature; one of {}", Feature::names()))
}

fn endpoint(s: &str) -> Result<Endpoint, String> {
    Endpoint::parse(s).ok_or_else(|| format!("not an endpoint; one of {}", Endpoint::names()))
}

impl ShapeArgs {
    /// Whether any shape beyond the plain chat request, or a cap, was asked for.
    pub fn any(&self) -> bool {
        !self.features.is_empty()
            || !self.endpoints.is_empty()
            || self.max_tokens.is_some()
            || self.set == ShapeSet::All
    }

    /// The shapes, plain chat first, then the features and endpoints in the
    /// order given; each only once.
    pub fn shapes(&self) -> Vec<Shape> {
        let mut out = match self.set {
            ShapeSet::All => Shape::all(),
            ShapeSet::Plain => vec![Shape::plain()],
        };
        let given = self
            .features
            .iter()
            .map(|f| Shape::feature(*f))
            .chain(self.endpoints.iter().map(|e| Shape::endpoint(*e)));
        for s in given {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        out.into_iter()
            .map(|s| s.with_max_tokens(self.max_tokens))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(features: &[Feature], endpoints: &[Endpoint]) -> ShapeArgs {
        ShapeArgs {
            features: features.to_vec(),
            endpoints: endpoints.to_vec(),
            ..ShapeArgs::default()
        }
    }

    #[test]
    fn each_flag_is_its_own_shape_after_plain_chat() {
        let a = args(
            &[Feature::Tools, Feature::Tools],
            &[Endpoint::FineTuning, Endpoint::Chat],
        );
        let labels: Vec<String> = a.shapes().iter().map(Shape::label).collect();
        assert_eq!(labels, ["chat", "chat+tools", "fine_tuning"]);
        assert!(a.any());
        assert!(!ShapeArgs::default().any());
        assert_eq!(ShapeArgs::default().shapes(), [Shape::plain()]);
    }

    #[test]
    fn max_tokens_caps_every_shape_and_all_covers_every_feature_and_endpoint() {
        let mut a = args(&[Feature::Tools], &[]);
        a.max_tokens = Some(500);
        assert!(a.shapes().iter().all(|s| s.max_tokens == Some(500)));
        a.set = ShapeSet::All;
        assert_eq!(a.shapes().len(), Shape::all().len());
    }
}
