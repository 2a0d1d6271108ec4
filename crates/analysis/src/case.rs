//! One concrete request: a value for every dimension, a model and a time.
//!
//! A case is written as the subject record `cordon decide --subject` reads
//! and turned into a [`Subject`] through that same record parser, so the
//! counterexample printed as a command is exactly what the analysis decided.

use cordon_catalog::ModelId;
use cordon_jurisdiction::Jurisdictions;
use cordon_policy::{Feature, Request};
use cordon_subject::{RecordError, Subject, SubjectKind, SubjectRecord, VerificationLevel};
use jiff::Timestamp;
use serde_json::{Map, Value as Json, json};

use crate::dims::{Dim, Value, status_name};

/// The organisation name written into generated subject records.
///
/// No directive's exemption names it, so no exemption applies to a case.
pub const CASE_ORGANIZATION: &str = "Analysis Case Organization";

/// A concrete request: one value per dimension, a model and a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// One value per dimension, indexed by [`Dim`] order.
    pub values: Vec<Value>,
    /// The model, resolved.
    pub model: ModelId,
    /// The model's canonical name, for the command line.
    pub model_name: String,
    /// When the request is decided.
    pub at: Timestamp,
}

impl Case {
    /// The value of one dimension.
    pub fn get(&self, d: Dim) -> &Value {
        // INVARIANT: `values` holds one value per `Dim::ALL` entry, in order;
        // every constructor goes through `Background`, which builds it so.
        self.values
            .get(d as usize)
            .unwrap_or(&Value::MaxTokens(None))
    }

    /// Replaces the value of one dimension.
    pub fn set(&mut self, d: Dim, v: Value) {
        if let Some(slot) = self.values.get_mut(d as usize) {
            *slot = v;
        }
    }

    /// The subject record (docs/subjects.md) this case stands for.
    pub fn subject_json(&self) -> Json {
        let mut top = Map::new();
        let kind = matches!(self.get(Dim::Kind), Value::Kind(SubjectKind::Organization));
        if kind {
            top.insert("kind".into(), json!("organization"));
        }
        if let Value::Level(l) = self.get(Dim::Verification)
            && *l != VerificationLevel::None
        {
            top.insert("verification".into(), json!(l.as_str()));
        }
        for (dim, key) in [
            (Dim::Citizenships, "citizenships"),
            (Dim::PermanentResidencies, "permanent_residencies"),
        ] {
            if let Value::Countries(Some(list), level) = self.get(dim) {
                let items: Vec<Json> = list
                    .iter()
                    .map(|c| json!({"country": c.as_str(), "verification": level.as_str()}))
                    .collect();
                top.insert(key.into(), Json::Array(items));
            }
        }
        for (dim, key) in [
            (Dim::Protected, "protected_individual"),
            (Dim::UsPersonRecord, "us_person"),
        ] {
            if let Value::Flag(Some(b), level) = self.get(dim) {
                top.insert(
                    key.into(),
                    json!({"value": b, "verification": level.as_str()}),
                );
            }
        }
        for (dim, country, region) in [
            (Dim::Residence, "residence_country", "residence_region"),
            (Dim::Billing, "billing_country", "billing_region"),
        ] {
            if let Value::Place(Some(p), level) = self.get(dim) {
                top.insert(
                    country.into(),
                    json!({"country": p.country.as_str(), "verification": level.as_str()}),
                );
                if let Some(r) = p.region {
                    top.insert(
                        region.into(),
                        json!({"region": r.to_string(), "verification": level.as_str()}),
                    );
                }
            }
        }
        if let Some(org) = self.organization_json(kind) {
            top.insert("organization".into(), org);
        }
        if let Value::Screening(Some(hits)) = self.get(Dim::Screening) {
            let items: Vec<Json> = hits
                .iter()
                .map(|(list, status)| json!({"list": list.code(), "status": status_name(*status)}))
                .collect();
            top.insert("screening".into(), Json::Array(items));
        }
        Json::Object(top)
    }

    /// The organisation part of the record, when anything about it is recorded
    /// or the subject is an organisation.
    fn organization_json(&self, is_org: bool) -> Option<Json> {
        let mut org = Map::new();
        let mut level = VerificationLevel::None;
        if let Value::Place(Some(p), l) = self.get(Dim::OrgLocation) {
            org.insert("country".into(), json!(p.country.as_str()));
            if let Some(r) = p.region {
                org.insert("region".into(), json!(r.to_string()));
            }
            level = level.max(*l);
        }
        if let Value::Place(Some(p), l) = self.get(Dim::OrgHeadquarters) {
            org.insert("headquarters".into(), json!(p.country.as_str()));
            if let Some(r) = p.region {
                org.insert("headquarters_region".into(), json!(r.to_string()));
            }
            level = level.max(*l);
        }
        if let Value::Countries(Some(list), l) = self.get(Dim::OrgGovernments) {
            let items: Vec<Json> = list.iter().map(|c| json!(c.as_str())).collect();
            org.insert("governments".into(), Json::Array(items));
            level = level.max(*l);
        }
        if org.is_empty() && !is_org {
            return None;
        }
        org.insert("name".into(), json!(CASE_ORGANIZATION));
        if level != VerificationLevel::None {
            org.insert("verification".into(), json!(level.as_str()));
        }
        Some(Json::Object(org))
    }

    /// The subject, read through the same record parser `cordon decide` uses.
    ///
    /// # Errors
    /// When the generated record is refused by the parser: a region outside
    /// its country, an unassigned code. Partitions never generate one; the
    /// error is reported rather than a case silently skipped.
    pub fn subject(&self, j: &Jurisdictions) -> Result<Subject, RecordError> {
        SubjectRecord::from_value(self.subject_json()).into_subject(j)
    }

    /// The request, as `cordon decide` builds it from the flags
    /// [`Case::decide_flags`] writes.
    pub fn request(&self) -> Request {
        let mut r = Request::new(Some(self.model), self.at);
        if let Value::Endpoint(e) = self.get(Dim::Endpoint) {
            r.endpoint = *e;
        }
        if let Value::Features(f, t) = self.get(Dim::Features) {
            r.features = *f;
            r.tool_types = *t;
            // `cordon decide` counts a declared tool as tool use.
            if !t.is_empty() {
                r.features.insert(Feature::Tools);
            }
        }
        if let Value::MaxTokens(n) = self.get(Dim::MaxTokens) {
            r.max_tokens = *n;
        }
        if let Value::Place(p, _) = self.get(Dim::Location) {
            r.country = p.map(|p| p.country);
            r.region = p.and_then(|p| p.region);
        }
        if let Value::Anonymizer(b) = self.get(Dim::Anonymizer) {
            r.anonymizer = Some(*b);
        }
        r
    }

    /// The `cordon decide` flags for this case, in a fixed order.
    pub fn decide_flags(&self) -> Vec<String> {
        let mut out = vec![
            "--model".to_owned(),
            self.model_name.clone(),
            "--subject".to_owned(),
            self.subject_json().to_string(),
        ];
        if let Value::Place(Some(p), _) = self.get(Dim::Location) {
            out.push("--country".into());
            out.push(p.country.to_string());
            if let Some(r) = p.region {
                out.push("--region".into());
                out.push(r.to_string());
            }
        }
        if matches!(self.get(Dim::Anonymizer), Value::Anonymizer(true)) {
            out.push("--anonymizer".into());
        }
        if let Value::Endpoint(e) = self.get(Dim::Endpoint)
            && e.as_str() != "chat"
        {
            out.push("--endpoint".into());
            out.push(e.as_str().into());
        }
        if let Value::Features(f, t) = self.get(Dim::Features) {
            for x in f.iter() {
                out.push("--feature".into());
                out.push(x.as_str().into());
            }
            for x in t.iter() {
                out.push("--tool-type".into());
                out.push(x.as_str().into());
            }
        }
        if let Value::MaxTokens(Some(n)) = self.get(Dim::MaxTokens) {
            out.push("--max-tokens".into());
            out.push(n.to_string());
        }
        out.push("--at".into());
        out.push(self.at.to_string());
        out
    }
}

/// Where a counterexample's command finds its directive set and catalog.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommandContext {
    /// The `--directives` argument, as the user gave it.
    pub directives: String,
    /// The `--catalog` argument, when the user gave one.
    pub catalog: Option<String>,
}

impl CommandContext {
    /// The ready-to-run `cordon decide` command line for a case, quoted for
    /// a POSIX shell.
    pub fn command(&self, directives: &str, case: &Case) -> String {
        let mut words = vec![
            "cordon".to_owned(),
            "decide".to_owned(),
            "--directives".to_owned(),
            directives.to_owned(),
        ];
        if let Some(c) = &self.catalog {
            words.push("--catalog".into());
            words.push(c.clone());
        }
        words.extend(case.decide_flags());
        words.push("--format".into());
        words.push("json".into());
        words
            .iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Quotes a word for a POSIX shell when it needs quoting.
pub fn shell_quote(w: &str) -> String {
    let plain = !w.is_empty()
        && w.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'-' | b'_' | b'.' | b'/' | b':' | b'=' | b'+' | b',')
        });
    if plain {
        w.to_owned()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn words_a_shell_would_split_are_quoted() {
        assert_eq!(shell_quote("fable-5"), "fable-5");
        assert_eq!(shell_quote("2026-11-20T00:00:00Z"), "2026-11-20T00:00:00Z");
        assert_eq!(shell_quote(r#"{"a":1}"#), r#"'{"a":1}'"#);
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
