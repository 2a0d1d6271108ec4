//! The request context a decision is made for.

use cordon_catalog::ModelId;
use cordon_jurisdiction::{CountryCode, RegionCode};
use jiff::Timestamp;

macro_rules! closed_set {
    (
        $(#[$meta:meta])* $name:ident, $set:ident { $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $( $(#[$vmeta])* $variant ),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant ),+ ];

            /// The snake_case name used in directives and explanations.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text ),+ }
            }

            /// Parses the snake_case name.
            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }

            /// The names of every value, for error messages.
            pub fn names() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }

            /// This value's bit in a set.
            #[inline]
            pub fn bit(self) -> u16 {
                1u16 << (self as u16)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        /// A set of values as a bit mask.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $set(pub u16);

        impl $set {
            /// The empty set.
            pub const EMPTY: $set = $set(0);

            /// Adds a value.
            pub fn insert(&mut self, v: $name) {
                self.0 |= v.bit();
            }

            /// Whether the set holds a value.
            #[inline]
            pub fn contains(self, v: $name) -> bool {
                self.0 & v.bit() != 0
            }

            /// Whether the sets share a value.
            #[inline]
            pub fn intersects(self, other: $set) -> bool {
                self.0 & other.0 != 0
            }

            /// Whether the set is empty.
            pub fn is_empty(&self) -> bool {
                self.0 == 0
            }

            /// The members in declaration order.
            pub fn iter(self) -> impl Iterator<Item = $name> {
                $name::ALL.iter().copied().filter(move |v| self.contains(*v))
            }
        }

        impl FromIterator<$name> for $set {
            fn from_iter<I: IntoIterator<Item = $name>>(iter: I) -> Self {
                let mut s = $set::EMPTY;
                for v in iter {
                    s.insert(v);
                }
                s
            }
        }

        impl serde::Serialize for $set {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.iter())
            }
        }
    };
}

closed_set! {
    /// The API endpoint a request calls.
    Endpoint, EndpointSet {
        /// OpenAI-style chat completions.
        Chat = "chat",
        /// Anthropic-style messages.
        Messages = "messages",
        /// The OpenAI Responses API.
        Responses = "responses",
        /// Legacy text completions.
        Completions = "completions",
        /// Embeddings.
        Embeddings = "embeddings",
        /// Image generation and editing.
        Images = "images",
        /// Speech and transcription.
        Audio = "audio",
        /// Realtime sessions over a WebSocket.
        Realtime = "realtime",
        /// Batch jobs.
        Batch = "batch",
        /// Fine-tuning jobs.
        FineTuning = "fine_tuning",
        /// File uploads.
        Files = "files",
        /// Model listing.
        Models = "models",
    }
}

closed_set! {
    /// A feature a request uses.
    Feature, FeatureSet {
        /// Tool or function definitions.
        Tools = "tools",
        /// Image input.
        ImageInput = "image_input",
        /// File or document input.
        FileInput = "file_input",
        /// Audio input.
        AudioInput = "audio_input",
        /// Streaming responses.
        Streaming = "streaming",
        /// Fine-tuning.
        FineTuning = "fine_tuning",
        /// Batch submission.
        Batch = "batch",
    }
}

closed_set! {
    /// A kind of tool a request declares.
    ToolType, ToolTypeSet {
        /// Caller-defined functions.
        Function = "function",
        /// Provider web search.
        WebSearch = "web_search",
        /// Provider code execution.
        CodeExecution = "code_execution",
        /// Provider file search / retrieval.
        FileSearch = "file_search",
        /// Computer use.
        ComputerUse = "computer_use",
        /// Remote MCP servers.
        Mcp = "mcp",
        /// Any other tool type.
        Other = "other",
    }
}

/// Everything about a request that a directive may look at.
///
/// Location fields are `None` when unknown — a failed lookup, a private address
/// with no mapping — and directives decide what that means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// The model, resolved through the catalog; `None` for a name the catalog lacks.
    pub model: Option<ModelId>,
    /// The endpoint called.
    pub endpoint: Endpoint,
    /// Features used.
    pub features: FeatureSet,
    /// Tool types declared.
    pub tool_types: ToolTypeSet,
    /// Requested output cap, if given.
    pub max_tokens: Option<u32>,
    /// Client country.
    pub country: Option<CountryCode>,
    /// Client region (ISO 3166-2), where the geolocation database has one.
    pub region: Option<RegionCode>,
    /// Whether the client address is a known anonymiser (Tor, VPN, hosting).
    pub anonymizer: Option<bool>,
    /// When the request is decided.
    pub at: Timestamp,
    /// Whether the subject is an organisation whose natural person — the
    /// end user behind its key — is decided on in a decision of its own.
    /// Directives about natural persons ([`Directive::about_persons`]) are
    /// then not consulted for the organisation: the end user's decision
    /// answers them, and the organisation's own account cannot.
    ///
    /// [`Directive::about_persons`]: crate::Directive::about_persons
    pub person_decided_apart: bool,
}

impl Request {
    /// A chat request for a model at a time, with nothing else known.
    pub fn new(model: Option<ModelId>, at: Timestamp) -> Self {
        Request {
            model,
            endpoint: Endpoint::Chat,
            features: FeatureSet::EMPTY,
            tool_types: ToolTypeSet::EMPTY,
            max_tokens: None,
            country: None,
            region: None,
            anonymizer: None,
            at,
            person_decided_apart: false,
        }
    }
}
