//! Strict decoding of a token's parts: base64url without padding
//! ([RFC 7515 §2](https://www.rfc-editor.org/rfc/rfc7515#section-2)) and
//! JSON objects without duplicate member names
//! ([RFC 7515 §4](https://www.rfc-editor.org/rfc/rfc7515#section-4),
//! [RFC 7519 §7.2](https://www.rfc-editor.org/rfc/rfc7519#section-7.2)
//! step 4: a recipient either refuses duplicates or keeps the last; Cordon
//! refuses them, so no two readers of one token can see different claims).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Decodes base64url without padding, strictly: no `=`, no characters
/// outside the URL-safe alphabet, no whitespace, no non-zero trailing bits.
///
/// # Errors
/// The decoder's description of the first problem.
pub(crate) fn b64url(text: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD.decode(text).map_err(|e| e.to_string())
}

/// Parses `bytes` as one JSON value whose objects have no duplicate member
/// names, at serde_json's nesting limit.
///
/// # Errors
/// serde_json's message (with line and column), or the duplicate member.
pub fn strict(bytes: &[u8]) -> Result<Value, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict.deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(value)
}

/// A seed that builds a [`Value`], refusing duplicate member names.
struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(Strict)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "the member `{key}` appears twice"
                )));
            }
            let value = map.next_value_seed(Strict)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_is_strict() {
        assert_eq!(b64url("aGk").unwrap(), b"hi");
        for bad in ["aGk=", "aG k", "aG+k", "aG/k", "aGl", "a"] {
            assert!(b64url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn duplicate_members_are_refused_at_any_depth() {
        assert!(strict(br#"{"a": 1, "b": {"c": [1, 2.5, null, true]}}"#).is_ok());
        let e = strict(br#"{"a": 1, "a": 2}"#).unwrap_err();
        assert!(e.contains("`a` appears twice"), "{e}");
        let e = strict(br#"{"x": [{"k": 1, "k": 1}]}"#).unwrap_err();
        assert!(e.contains("`k`"), "{e}");
        assert!(strict(b"{} x").is_err());
        let deep = [vec![b'['; 200], vec![b']'; 200]].concat();
        let e = strict(&deep).unwrap_err();
        assert!(e.contains("recursion limit"), "{e}");
    }
}
