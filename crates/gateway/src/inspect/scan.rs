//! One pass over a request body that reads only the fields directives test.
//!
//! It borrows strings from the input and builds no tree, yet accepts and
//! rejects exactly the documents a `serde_json::Value` parse would: every
//! skipped value still goes through `deserialize_any`, so strings are checked
//! for UTF-8 and escapes, numbers are parsed, and the nesting limit applies
//! (`IgnoredAny` would skip all three). A key given twice in the request
//! object, or in an object whose key is read, is an error
//! ([`DUPLICATE_KEY`]): parsers differ on which of the two they take, and the
//! bytes forwarded must mean to the upstream what they meant to the decision.

use std::borrow::Cow;
use std::fmt;

use cordon_policy::{Feature, FeatureSet, ToolType, ToolTypeSet};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::api_error::Api;

/// A leaf value, or `Other` for arrays, objects and numbers no `u64` holds.
pub(super) enum Scalar<'de> {
    Null,
    Bool(bool),
    U64(u64),
    Str(Cow<'de, str>),
    Other,
}

/// A top-level field as read: absent, `null`, of the expected shape, or not.
#[derive(Default)]
pub(super) enum Slot<T> {
    #[default]
    Absent,
    Null,
    Is(T),
    Wrong,
}

/// The fields of a request object, before validation.
#[derive(Default)]
pub(super) struct Fields<'de> {
    pub model: Slot<Cow<'de, str>>,
    pub stream: Slot<bool>,
    pub tools: Slot<ToolTypeSet>,
    /// Whether `tools` had at least one entry.
    pub any_tool: bool,
    pub functions: bool,
    pub mcp_servers: bool,
    pub messages: Slot<FeatureSet>,
    pub max_tokens: Slot<u64>,
    pub max_completion_tokens: Slot<u64>,
    /// OpenAI's `user`.
    pub user: Slot<Cow<'de, str>>,
    /// OpenAI's `safety_identifier`.
    pub safety_identifier: Slot<Cow<'de, str>>,
    /// Anthropic's `metadata.user_id`.
    pub metadata_user_id: Slot<Cow<'de, str>>,
    /// The Responses API's `input`: a string (no features) or a list of
    /// items read as `messages` are.
    pub input: Slot<FeatureSet>,
    /// The Responses API's `max_output_tokens`.
    pub max_output_tokens: Slot<u64>,
    /// The first field present that lets a router choose another model than
    /// `model`: `models`, `fallbacks`, or `extra_body` naming a `model`.
    pub router: Option<&'static str>,
}

/// How an error from the scan says a key came twice: the marker, then the
/// key. [`duplicate_key`] reads it back.
pub(super) const DUPLICATE_KEY: &str = "\u{1}duplicate key:";

fn duplicate<E: serde::de::Error>(key: &str) -> E {
    E::custom(format_args!("{DUPLICATE_KEY}{key}\u{1}"))
}

/// The key a scan error reports as given twice, if that is the error.
pub(super) fn duplicate_key(e: &serde_json::Error) -> Option<String> {
    let text = e.to_string();
    let rest = text.strip_prefix(DUPLICATE_KEY)?;
    rest.split('\u{1}').next().map(str::to_owned)
}

/// Which of a handler's read keys were seen, to refuse a second one.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    /// Notes key `i` of `keys`; an error when it was seen before.
    fn note<E: serde::de::Error>(&mut self, i: usize, keys: &[&str]) -> Result<(), E> {
        let bit = 1u32
            .checked_shl(u32::try_from(i).unwrap_or(u32::MAX))
            .unwrap_or(0);
        if self.0 & bit != 0 {
            return Err(duplicate(keys.get(i).copied().unwrap_or("")));
        }
        self.0 |= bit;
        Ok(())
    }
}

/// What each kind of value becomes; arrays and objects are skipped unless a
/// handler reads them.
trait Handler<'de>: Sized {
    type Out;
    fn scalar(self, s: Scalar<'de>) -> Self::Out;
    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Out, A::Error> {
        while seq.next_element_seed(Seed(Skip))?.is_some() {}
        Ok(self.scalar(Scalar::Other))
    }
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Out, A::Error> {
        while map.next_key_seed(Seed(Skip))?.is_some() {
            map.next_value_seed(Seed(Skip))?;
        }
        Ok(self.scalar(Scalar::Other))
    }
}

struct Seed<H>(H);

impl<'de, H: Handler<'de>> DeserializeSeed<'de> for Seed<H> {
    type Value = H::Out;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<H::Out, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, H: Handler<'de>> Visitor<'de> for Seed<H> {
    type Value = H::Out;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<H::Out, E> {
        Ok(self.0.scalar(Scalar::Null))
    }
    fn visit_bool<E>(self, v: bool) -> Result<H::Out, E> {
        Ok(self.0.scalar(Scalar::Bool(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<H::Out, E> {
        Ok(self.0.scalar(Scalar::U64(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<H::Out, E> {
        // A `Value` stores non-negative integers as unsigned.
        Ok(self.0.scalar(match u64::try_from(v) {
            Ok(u) => Scalar::U64(u),
            Err(_) => Scalar::Other,
        }))
    }
    fn visit_f64<E>(self, _: f64) -> Result<H::Out, E> {
        Ok(self.0.scalar(Scalar::Other))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<H::Out, E> {
        Ok(self.0.scalar(Scalar::Str(Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<H::Out, E> {
        Ok(self.0.scalar(Scalar::Str(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E>(self, v: String) -> Result<H::Out, E> {
        Ok(self.0.scalar(Scalar::Str(Cow::Owned(v))))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<H::Out, A::Error> {
        self.0.seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<H::Out, A::Error> {
        self.0.map(map)
    }
}

/// Reads and discards a value (keys included).
struct Skip;

impl Handler<'_> for Skip {
    type Out = ();
    fn scalar(self, _: Scalar<'_>) {}
}

/// Keeps leaves; arrays and objects become [`Scalar::Other`].
struct Leaf;

impl<'de> Handler<'de> for Leaf {
    type Out = Scalar<'de>;
    fn scalar(self, s: Scalar<'de>) -> Scalar<'de> {
        s
    }
}

/// An object key, matched without copying it.
struct Key<const N: usize>([&'static str; N]);

impl<'de, const N: usize> DeserializeSeed<'de> for Key<N> {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<const N: usize> Visitor<'_> for Key<N> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|k| *k == v))
    }
}

/// An object key of the request object: its index in the keys read, and
/// its text (borrowed when it has no escapes) to refuse a second one.
struct TopKey<const N: usize>([&'static str; N]);

impl<'de, const N: usize> DeserializeSeed<'de> for TopKey<N> {
    type Value = (Option<usize>, Cow<'de, str>);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for TopKey<N> {
    type Value = (Option<usize>, Cow<'de, str>);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok((self.0.iter().position(|k| *k == v), Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok((
            self.0.iter().position(|k| *k == v),
            Cow::Owned(v.to_owned()),
        ))
    }
}

/// The request object's keys seen so far. A request has a handful, compared
/// in a small list without hashing; a body with many keys moves to a set,
/// so a hostile one costs linear time, not quadratic.
#[derive(Default)]
struct KeysSeen<'de> {
    few: Vec<Cow<'de, str>>,
    many: std::collections::HashSet<Cow<'de, str>>,
}

impl<'de> KeysSeen<'de> {
    /// How many keys the list holds before the set takes over.
    const FEW: usize = 32;

    /// Notes `key`; false when it was seen before.
    fn first(&mut self, key: Cow<'de, str>) -> bool {
        if self.few.len() < Self::FEW {
            if self.few.contains(&key) {
                return false;
            }
            self.few.push(key);
            return true;
        }
        if self.few.contains(&key) {
            return false;
        }
        self.many.insert(key)
    }
}

/// The request body: `None` when it is not an object.
pub(super) struct Body(pub Api);

const BODY_KEYS: [&str; 16] = [
    "model",
    "stream",
    "tools",
    "functions",
    "mcp_servers",
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "user",
    "safety_identifier",
    "metadata",
    "models",
    "fallbacks",
    "extra_body",
    "input",
    "max_output_tokens",
];

impl<'de> Handler<'de> for Body {
    type Out = Option<Fields<'de>>;
    fn scalar(self, _: Scalar<'de>) -> Option<Fields<'de>> {
        None
    }
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Fields<'de>>, A::Error> {
        let mut f = Fields::default();
        let mut keys = KeysSeen::default();
        while let Some((key, text)) = map.next_key_seed(TopKey(BODY_KEYS))? {
            if !keys.first(text.clone()) {
                return Err(duplicate(&text));
            }
            match key {
                Some(0) => {
                    f.model = map.next_value_seed(Seed(Leaf))?.into_slot(|s| match s {
                        Scalar::Str(m) => Some(m),
                        _ => None,
                    })
                }
                Some(1) => {
                    f.stream = map.next_value_seed(Seed(Leaf))?.into_slot(|s| match s {
                        Scalar::Bool(b) => Some(b),
                        _ => None,
                    })
                }
                Some(2) => (f.tools, f.any_tool) = map.next_value_seed(Seed(Tools(self.0)))?,
                Some(3) => f.functions = map.next_value_seed(Seed(NonEmpty))?,
                Some(4) => f.mcp_servers = map.next_value_seed(Seed(NonEmpty))?,
                Some(5) => f.messages = map.next_value_seed(Seed(Messages))?,
                Some(6) => f.max_tokens = map.next_value_seed(Seed(Leaf))?.into_slot(u64_of),
                Some(7) => {
                    f.max_completion_tokens = map.next_value_seed(Seed(Leaf))?.into_slot(u64_of)
                }
                // The end-user fields are read in the API that defines them
                // only: elsewhere they mean nothing to the provider either.
                Some(8) if self.0 == Api::OpenAi => {
                    f.user = map.next_value_seed(Seed(Leaf))?.into_slot(str_of)
                }
                Some(9) if self.0 == Api::OpenAi => {
                    f.safety_identifier = map.next_value_seed(Seed(Leaf))?.into_slot(str_of)
                }
                Some(10) if self.0 == Api::Anthropic => {
                    f.metadata_user_id = map.next_value_seed(Seed(Metadata))?
                }
                Some(11) => {
                    map.next_value_seed(Seed(Skip))?;
                    f.router = f.router.or(Some("models"));
                }
                Some(12) => {
                    map.next_value_seed(Seed(Skip))?;
                    f.router = f.router.or(Some("fallbacks"));
                }
                Some(13) => {
                    if map.next_value_seed(Seed(NamesModel))? {
                        f.router = f.router.or(Some("extra_body"));
                    }
                }
                Some(14) if self.0 == Api::OpenAi => f.input = map.next_value_seed(Seed(Input))?,
                Some(15) if self.0 == Api::OpenAi => {
                    f.max_output_tokens = map.next_value_seed(Seed(Leaf))?.into_slot(u64_of)
                }
                _ => map.next_value_seed(Seed(Skip))?,
            }
        }
        Ok(Some(f))
    }
}

fn str_of(s: Scalar<'_>) -> Option<Cow<'_, str>> {
    match s {
        Scalar::Str(v) => Some(v),
        _ => None,
    }
}

fn u64_of(s: Scalar<'_>) -> Option<u64> {
    match s {
        Scalar::U64(n) => Some(n),
        _ => None,
    }
}

impl<'de> Scalar<'de> {
    fn into_slot<T>(self, pick: impl FnOnce(Scalar<'de>) -> Option<T>) -> Slot<T> {
        match self {
            Scalar::Null => Slot::Null,
            s => pick(s).map_or(Slot::Wrong, Slot::Is),
        }
    }
}

/// `tools`: the tool types declared, and whether there was any entry.
struct Tools(Api);

impl<'de> Handler<'de> for Tools {
    type Out = (Slot<ToolTypeSet>, bool);
    fn scalar(self, s: Scalar<'de>) -> (Slot<ToolTypeSet>, bool) {
        match s {
            Scalar::Null => (Slot::Null, false),
            _ => (Slot::Wrong, false),
        }
    }
    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Out, A::Error> {
        let mut types = ToolTypeSet::EMPTY;
        let mut any = false;
        while let Some(t) = seq.next_element_seed(Seed(Tool(self.0)))? {
            types.insert(t);
            any = true;
        }
        Ok((Slot::Is(types), any))
    }
}

/// One entry of `tools`.
struct Tool(Api);

impl<'de> Handler<'de> for Tool {
    type Out = ToolType;
    fn scalar(self, _: Scalar<'de>) -> ToolType {
        super::tool_type(self.0, "", false)
    }
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<ToolType, A::Error> {
        const KEYS: [&str; 2] = ["type", "input_schema"];
        let mut kind = Cow::Borrowed("");
        let mut has_schema = false;
        let mut seen = Seen::default();
        while let Some(key) = map.next_key_seed(Key(KEYS))? {
            if let Some(i) = key {
                seen.note(i, &KEYS)?;
            }
            match key {
                Some(0) => {
                    kind = match map.next_value_seed(Seed(Leaf))? {
                        Scalar::Str(s) => s,
                        _ => Cow::Borrowed(""),
                    }
                }
                Some(1) => {
                    has_schema = true;
                    map.next_value_seed(Seed(Skip))?;
                }
                _ => map.next_value_seed(Seed(Skip))?,
            }
        }
        Ok(super::tool_type(self.0, &kind, has_schema))
    }
}

/// Anthropic's `metadata`: its `user_id`. A `metadata` that is not an object
/// names no end user (the provider refuses such a body itself).
struct Metadata;

impl<'de> Handler<'de> for Metadata {
    type Out = Slot<Cow<'de, str>>;
    fn scalar(self, _: Scalar<'de>) -> Slot<Cow<'de, str>> {
        Slot::Absent
    }
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Out, A::Error> {
        let mut user = Slot::Absent;
        let mut seen = Seen::default();
        while let Some(key) = map.next_key_seed(Key(["user_id"]))? {
            if let Some(i) = key {
                seen.note(i, &["user_id"])?;
            }
            match key {
                Some(_) => user = map.next_value_seed(Seed(Leaf))?.into_slot(str_of),
                None => map.next_value_seed(Seed(Skip))?,
            }
        }
        Ok(user)
    }
}

/// `extra_body`: whether it is an object naming a `model`, which some
/// routers read in place of the top-level one.
struct NamesModel;

impl<'de> Handler<'de> for NamesModel {
    type Out = bool;
    fn scalar(self, _: Scalar<'de>) -> bool {
        false
    }
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut named = false;
        while let Some(key) = map.next_key_seed(Key(["model"]))? {
            named |= key.is_some();
            map.next_value_seed(Seed(Skip))?;
        }
        Ok(named)
    }
}

/// `functions` and `mcp_servers`: whether the value is a non-empty list.
struct NonEmpty;

impl<'de> Handler<'de> for NonEmpty {
    type Out = bool;
    fn scalar(self, _: Scalar<'de>) -> bool {
        false
    }
    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let mut any = false;
        while seq.next_element_seed(Seed(Skip))?.is_some() {
            any = true;
        }
        Ok(any)
    }
}

/// `messages`: the input features their content parts use.
struct Messages;

impl<'de> Handler<'de> for Messages {
    type Out = Slot<FeatureSet>;
    fn scalar(self, _: Scalar<'de>) -> Slot<FeatureSet> {
        // `null` is not a list either.
        Slot::Wrong
    }
    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Slot<FeatureSet>, A::Error> {
        let mut features = FeatureSet::EMPTY;
        while let Some(f) = seq.next_element_seed(Seed(Message))? {
            for x in f.iter() {
                features.insert(x);
            }
        }
        Ok(Slot::Is(features))
    }
}

/// The Responses API's `input`: a string, or a list of items whose
/// `content` parts are read as a message's.
struct Input;

impl<'de> Handler<'de> for Input {
    type Out = Slot<FeatureSet>;
    fn scalar(self, s: Scalar<'de>) -> Slot<FeatureSet> {
        match s {
            Scalar::Str(_) => Slot::Is(FeatureSet::EMPTY),
            Scalar::Null => Slot::Null,
            _ => Slot::Wrong,
        }
    }
    fn seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Slot<FeatureSet>, A::Error> {
        Messages.seq(seq)
    }
}

/// One message: the features of its `content` when that is a list of parts.
struct Message;

impl<'de> Handler<'de> for Message {
    type Out = FeatureSet;
    fn scalar(self, _: Scalar<'de>) -> FeatureSet {
        FeatureSet::EMPTY
    }
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<FeatureSet, A::Error> {
        let mut features = FeatureSet::EMPTY;
        let mut seen = Seen::default();
        while let Some(key) = map.next_key_seed(Key(["content"]))? {
            if let Some(i) = key {
                seen.note(i, &["content"])?;
            }
            match key {
                Some(_) => features = map.next_value_seed(Seed(Content))?,
                None => map.next_value_seed(Seed(Skip))?,
            }
        }
        Ok(features)
    }
}

/// A message's `content`.
struct Content;

impl<'de> Handler<'de> for Content {
    type Out = FeatureSet;
    fn scalar(self, _: Scalar<'de>) -> FeatureSet {
        FeatureSet::EMPTY
    }
    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FeatureSet, A::Error> {
        let mut features = FeatureSet::EMPTY;
        while let Some(part) = seq.next_element_seed(Seed(Part))? {
            if let Some(f) = part {
                features.insert(f);
            }
        }
        Ok(features)
    }
}

/// One content part: the feature its `type` names.
struct Part;

impl<'de> Handler<'de> for Part {
    type Out = Option<Feature>;
    fn scalar(self, _: Scalar<'de>) -> Option<Feature> {
        None
    }
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Feature>, A::Error> {
        let mut kind = None;
        let mut seen = Seen::default();
        while let Some(key) = map.next_key_seed(Key(["type"]))? {
            if let Some(i) = key {
                seen.note(i, &["type"])?;
            }
            match key {
                Some(_) => {
                    kind = match map.next_value_seed(Seed(Leaf))? {
                        Scalar::Str(s) => Some(s),
                        _ => None,
                    }
                }
                None => map.next_value_seed(Seed(Skip))?,
            }
        }
        Ok(kind.and_then(|k| super::part_feature(&k)))
    }
}

/// Reads the fields of `body`: `Ok(None)` when it is valid JSON but not an object.
pub(super) fn fields<'de, D: Deserializer<'de>>(
    api: Api,
    body: D,
) -> Result<Option<Fields<'de>>, D::Error> {
    Seed(Body(api)).deserialize(body)
}
