//! The canonical encoding, written field by field.
//!
//! Every decision is encoded on the request path, so this writes the bytes
//! directly instead of going through serde's flattened map serializer. The
//! output is byte for byte what `serde_json` writes for the `Serialize`
//! derives in the parent module (compact, fields in declaration order,
//! minimal escapes); the unit tests compare the two on arbitrary records,
//! and [`super::decode`] relies on that equality to recognise canonical
//! input.

use std::collections::BTreeMap;

use super::{
    AdminRecord, AttributeUsed, DecisionRecord, Mode, Obligations, Provenance, ShadowRefusal,
    Source, VERSION,
};

/// Bytes a decision leaf needs beyond its strings: field names, quotes and
/// separators, with room for a few attributes.
const DECISION_OVERHEAD: usize = 512;

/// Bytes an admin leaf needs beyond its strings.
const ADMIN_OVERHEAD: usize = 128;

/// Appends a JSON value to a leaf under construction.
struct Out(Vec<u8>);

impl Out {
    fn raw(&mut self, s: &str) {
        self.0.extend_from_slice(s.as_bytes());
    }

    /// Writes `,"key":` (or `"key":` for the first field, when `first`).
    fn key(&mut self, key: &str, first: bool) {
        if !first {
            self.0.push(b',');
        }
        self.0.push(b'"');
        self.raw(key);
        self.0.extend_from_slice(b"\":");
    }

    /// A JSON string with the escapes `serde_json` uses: `\"`, `\\`, the
    /// short forms `\b \t \n \f \r`, and `\u00xx` (lowercase hex) for the
    /// other control characters; everything else, non-ASCII included, as is.
    fn string(&mut self, s: &str) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let out = &mut self.0;
        out.push(b'"');
        let bytes = s.as_bytes();
        // Most strings need no escape; this branch-free test vectorises, the
        // loop below does not.
        let plain = bytes
            .iter()
            .fold(true, |ok, &b| ok & (b >= 0x20) & (b != b'"') & (b != b'\\'));
        if plain {
            out.extend_from_slice(bytes);
            out.push(b'"');
            return;
        }
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let short = match b {
                b'"' => b'"',
                b'\\' => b'\\',
                0x08 => b'b',
                0x09 => b't',
                0x0a => b'n',
                0x0c => b'f',
                0x0d => b'r',
                0x00..=0x1f => 0,
                _ => continue,
            };
            out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
            out.push(b'\\');
            if short == 0 {
                out.extend_from_slice(b"u00");
                out.push(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'));
                out.push(HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0'));
            } else {
                out.push(short);
            }
            start = i + 1;
        }
        out.extend_from_slice(bytes.get(start..).unwrap_or_default());
        out.push(b'"');
    }

    fn opt_string(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.string(s),
            None => self.raw("null"),
        }
    }

    fn u64(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            if let Some(d) = digits.get_mut(at) {
                // `n % 10` is below 10, so the cast keeps it whole.
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.0
            .extend_from_slice(digits.get(at..).unwrap_or_default());
    }

    fn strings(&mut self, items: &[String]) {
        self.0.push(b'[');
        for (k, item) in items.iter().enumerate() {
            if k > 0 {
                self.0.push(b',');
            }
            self.string(item);
        }
        self.0.push(b']');
    }

    fn head(&mut self, kind: &str) {
        self.raw("{\"v\":");
        self.u64(VERSION);
        self.key("kind", false);
        self.string(kind);
    }

    fn obligations(&mut self, o: &Obligations) {
        self.key("max_tokens", true);
        match o.max_tokens {
            Some(n) => self.u64(n),
            None => self.raw("null"),
        }
        self.key("remove_features", false);
        self.strings(&o.remove_features);
    }

    fn provenance(&mut self, p: &Provenance) {
        self.key("source", true);
        self.opt_string(p.source.as_deref());
        self.key("verification", false);
        self.string(&p.verification);
        self.key("verified_at", false);
        self.opt_string(p.verified_at.as_deref());
    }

    fn attribute(&mut self, a: &AttributeUsed) {
        self.0.push(b'{');
        self.key("name", true);
        self.string(&a.name);
        self.key("value", false);
        self.string(&a.value);
        self.key("provenance", false);
        match &a.provenance {
            Some(p) => {
                self.0.push(b'{');
                self.provenance(p);
                self.0.push(b'}');
            }
            None => self.raw("null"),
        }
        self.0.push(b'}');
    }

    fn shadow(&mut self, s: &ShadowRefusal) {
        self.0.push(b'{');
        self.key("directive", true);
        self.string(&s.directive);
        self.key("effect", false);
        self.string(&s.effect);
        self.0.push(b'}');
    }

    fn details(&mut self, details: &BTreeMap<String, String>) {
        self.0.push(b'{');
        for (k, (key, value)) in details.iter().enumerate() {
            if k > 0 {
                self.0.push(b',');
            }
            self.string(key);
            self.0.push(b':');
            self.string(value);
        }
        self.0.push(b'}');
    }
}

fn mode(m: Mode) -> &'static str {
    match m {
        Mode::Enforced => "enforced",
        Mode::Shadow => "shadow",
    }
}

fn source(s: Source) -> &'static str {
    match s {
        Source::Gateway => "gateway",
        Source::DecisionApi => "decision_api",
        Source::Cli => "cli",
    }
}

/// The canonical bytes of a decision leaf.
pub(super) fn decision(d: &DecisionRecord) -> Vec<u8> {
    let strings = d.id.len()
        + d.time.len()
        + d.account.as_ref().map_or(0, String::len)
        + d.model_requested.len()
        + d.model.as_ref().map_or(0, String::len)
        + d.policy_version.len()
        + d.consulted.iter().map(String::len).sum::<usize>()
        + d.shadow
            .iter()
            .map(|s| s.directive.len() + s.effect.len() + 32)
            .sum::<usize>()
        + d.features.iter().map(|f| f.len() + 3).sum::<usize>()
        + d.end_user.as_ref().map_or(0, |e| e.len() + 14)
        + d.attributes
            .iter()
            .map(|a| a.name.len() + a.value.len() + 96)
            .sum::<usize>();
    let mut o = Out(Vec::with_capacity(strings + DECISION_OVERHEAD));
    o.head("decision");
    o.key("id", false);
    o.string(&d.id);
    o.key("time", false);
    o.string(&d.time);
    o.key("account", false);
    o.opt_string(d.account.as_deref());
    o.key("model_requested", false);
    o.string(&d.model_requested);
    o.key("model", false);
    o.opt_string(d.model.as_deref());
    o.key("endpoint", false);
    o.string(&d.endpoint);
    o.key("effect", false);
    o.string(&d.effect);
    o.key("mode", false);
    o.string(mode(d.mode));
    o.key("decided_by", false);
    o.opt_string(d.decided_by.as_deref());
    o.key("consulted", false);
    o.strings(&d.consulted);
    o.key("obligations", false);
    o.0.push(b'{');
    o.obligations(&d.obligations);
    o.0.push(b'}');
    o.key("attributes", false);
    o.0.push(b'[');
    for (k, a) in d.attributes.iter().enumerate() {
        if k > 0 {
            o.0.push(b',');
        }
        o.attribute(a);
    }
    o.0.push(b']');
    o.key("policy_version", false);
    o.string(&d.policy_version);
    o.key("client_country", false);
    o.opt_string(d.client_country.as_deref());
    o.key("client_region", false);
    o.opt_string(d.client_region.as_deref());
    o.key("anonymizer", false);
    o.raw(match d.anonymizer {
        Some(true) => "true",
        Some(false) => "false",
        None => "null",
    });
    o.key("source", false);
    o.string(source(d.source));
    // Trailing and omitted when empty, so leaves from before these fields
    // existed encode to the same bytes.
    if !d.shadow.is_empty() {
        o.key("shadow", false);
        o.0.push(b'[');
        for (k, s) in d.shadow.iter().enumerate() {
            if k > 0 {
                o.0.push(b',');
            }
            o.shadow(s);
        }
        o.0.push(b']');
    }
    if !d.features.is_empty() {
        o.key("features", false);
        o.strings(&d.features);
    }
    if let Some(e) = &d.end_user {
        o.key("end_user", false);
        o.string(e);
    }
    o.0.push(b'}');
    o.0
}

/// The canonical bytes of an admin leaf.
pub(super) fn admin(a: &AdminRecord) -> Vec<u8> {
    let strings = a.id.len()
        + a.time.len()
        + a.actor.len()
        + a.action.len()
        + a.subject.as_ref().map_or(0, String::len)
        + a.details
            .iter()
            .map(|(k, v)| k.len() + v.len() + 8)
            .sum::<usize>();
    let mut o = Out(Vec::with_capacity(strings + ADMIN_OVERHEAD));
    o.head("admin");
    o.key("id", false);
    o.string(&a.id);
    o.key("time", false);
    o.string(&a.time);
    o.key("actor", false);
    o.string(&a.actor);
    o.key("action", false);
    o.string(&a.action);
    o.key("subject", false);
    o.opt_string(a.subject.as_deref());
    o.key("details", false);
    o.details(&a.details);
    o.0.push(b'}');
    o.0
}
