//! Why a simulation cannot be set up.

/// Why a simulation cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimulateError {
    /// A name is a model's id in one catalog and another model's alias or
    /// snapshot in the other, so the two sets would decide different models
    /// under one name.
    #[error(
        "model `{model}` is a model id in the {id_in} catalog but resolves to `{other}` in the {other_in} catalog; give both sets catalogs that agree on model ids"
    )]
    ModelConflict {
        /// The name both catalogs know.
        model: String,
        /// `baseline` or `proposed`: where it is an id.
        id_in: &'static str,
        /// The model it resolves to in the other catalog.
        other: String,
        /// `baseline` or `proposed`.
        other_in: &'static str,
    },
    /// Neither catalog holds a model.
    #[error(
        "neither the baseline nor the proposed catalog holds a model; there is nothing to simulate"
    )]
    NoModels,
}
