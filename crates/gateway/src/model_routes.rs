//! The model endpoints: which path speaks which API and is decided as which
//! endpoint. One table serves the proxy's router and the external
//! authorisers (Envoy, nginx), so every integration knows the same routes.

use cordon_policy::Endpoint;

use crate::api_error::Api;

/// A model endpoint: its path, the API whose shape it speaks, and the
/// endpoint directives see.
#[derive(Debug, Clone, Copy)]
pub struct ModelRoute {
    /// The path, also the upstream's.
    pub path: &'static str,
    /// The API.
    pub api: Api,
    /// The endpoint a directive's scope names.
    pub endpoint: Endpoint,
    /// How its body is sent.
    pub body: BodyForm,
}

/// How a model endpoint's body is sent, and so how it is read and forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyForm {
    /// One JSON object naming its model.
    Json,
    /// A `multipart/form-data` form with a `model` field and uploaded
    /// files (audio, images); forwarded with the client's boundary.
    Multipart,
}

const fn route(path: &'static str, api: Api, endpoint: Endpoint) -> ModelRoute {
    ModelRoute {
        path,
        api,
        endpoint,
        body: BodyForm::Json,
    }
}

const fn form_route(path: &'static str, endpoint: Endpoint) -> ModelRoute {
    ModelRoute {
        path,
        api: Api::OpenAi,
        endpoint,
        body: BodyForm::Multipart,
    }
}

/// Every model endpoint: those that take one JSON body naming its model,
/// then those that take a form with a `model` field.
///
/// Moderations are decided as completions of the model they name (one that
/// names none is a 400, since the provider would pick a model nobody
/// decided on); counting a message's tokens is using the model, so it is
/// decided as the message.
pub const MODEL_ROUTES: [ModelRoute; 14] = [
    route("/v1/chat/completions", Api::OpenAi, Endpoint::Chat),
    route("/v1/responses", Api::OpenAi, Endpoint::Responses),
    route("/v1/completions", Api::OpenAi, Endpoint::Completions),
    route("/v1/embeddings", Api::OpenAi, Endpoint::Embeddings),
    route("/v1/moderations", Api::OpenAi, Endpoint::Completions),
    route("/v1/images/generations", Api::OpenAi, Endpoint::Images),
    route("/v1/audio/speech", Api::OpenAi, Endpoint::Audio),
    route("/v1/messages", Api::Anthropic, Endpoint::Messages),
    route(
        "/v1/messages/count_tokens",
        Api::Anthropic,
        Endpoint::Messages,
    ),
    route("/v1/complete", Api::Anthropic, Endpoint::Completions),
    form_route("/v1/audio/transcriptions", Endpoint::Audio),
    form_route("/v1/audio/translations", Endpoint::Audio),
    form_route("/v1/images/edits", Endpoint::Images),
    form_route("/v1/images/variations", Endpoint::Images),
];

/// The model endpoint at `path`, if it is one.
pub fn model_route(path: &str) -> Option<ModelRoute> {
    MODEL_ROUTES.iter().find(|r| r.path == path).copied()
}

/// How the body of the model endpoint at `path` is sent; JSON for a path
/// that is not one (the lines of a batch).
pub fn body_form(path: &str) -> BodyForm {
    model_route(path).map_or(BodyForm::Json, |r| r.body)
}
