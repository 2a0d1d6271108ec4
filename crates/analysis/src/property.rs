//! The built-in properties and how they are written on the command line.

use cordon_catalog::{Catalog, Resolution};
use cordon_policy::Effect;

use crate::error::AnalysisError;

/// Who `protected-keep-access` protects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProtectedClass {
    /// Individuals whose only recorded citizenship is U.S., verified at
    /// document level, screened with no hits.
    UsCitizens,
    /// As [`ProtectedClass::UsCitizens`], with one more citizenship of any class.
    UsDualNationals,
}

impl ProtectedClass {
    /// The name written after the property.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtectedClass::UsCitizens => "us-citizens",
            ProtectedClass::UsDualNationals => "us-dual-nationals",
        }
    }
}

/// A property written in the condition language:
/// `forall subject where <condition>: effect(<model>) in {<effect>, …}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProperty {
    /// The property as written.
    pub written: String,
    /// The condition that selects the requests, in the directive language.
    pub condition: String,
    /// The model's canonical name.
    pub model: String,
    /// The effects allowed for the selected requests.
    pub effects: Vec<Effect>,
}

/// Every effect, for parsing.
const EFFECTS: [Effect; 4] = [
    Effect::Allow,
    Effect::AllowWithObligations,
    Effect::VerificationRequired,
    Effect::Deny,
];

impl UserProperty {
    /// Parses `forall subject where <condition>: effect(<model>) in {<effect>, …}`;
    /// the condition itself is checked when the property is analysed, against
    /// the set's jurisdictions and groups.
    fn parse(text: &str, catalog: &Catalog) -> Result<UserProperty, String> {
        let shape = "expected `forall subject where <condition>: effect(<model>) in {<effect>, …}`";
        let rest = text
            .trim()
            .strip_prefix("forall subject where ")
            .ok_or_else(|| shape.to_owned())?;
        let at = rest.rfind(": effect(").ok_or_else(|| shape.to_owned())?;
        let condition = rest.get(..at).unwrap_or_default().trim().to_owned();
        let tail = rest.get(at + ": effect(".len()..).unwrap_or_default();
        let close = tail.find(')').ok_or_else(|| shape.to_owned())?;
        let model_name = tail.get(..close).unwrap_or_default().trim();
        let set = tail
            .get(close + 1..)
            .unwrap_or_default()
            .trim()
            .strip_prefix("in")
            .map(str::trim)
            .and_then(|s| s.strip_prefix('{'))
            .and_then(|s| s.strip_suffix('}'))
            .ok_or_else(|| shape.to_owned())?;
        if condition.is_empty() {
            return Err(format!("the condition is empty; {shape}"));
        }
        let model = match catalog.resolve(model_name) {
            Resolution::Known { id, .. } => catalog
                .model(id)
                .map(|m| m.id.clone())
                .unwrap_or_else(|| model_name.to_owned()),
            Resolution::Unknown => return Err(format!("the catalog has no model `{model_name}`")),
        };
        let mut effects = Vec::new();
        for e in set.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let effect = EFFECTS
                .into_iter()
                .find(|x| x.as_str() == e)
                .ok_or_else(|| format!("unknown effect `{e}`; expected allow, allow_with_obligations, verification_required or deny"))?;
            effects.push(effect);
        }
        if effects.is_empty() {
            return Err(format!("name at least one effect; {shape}"));
        }
        Ok(UserProperty {
            written: text.trim().to_owned(),
            condition,
            model,
            effects,
        })
    }
}

/// A property of a directive set (or of a change between two sets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Property {
    /// Every unknown a directive reads reaches an outcome the directive states.
    NoUnknownFallthrough,
    /// The protected class keeps access to every model outside embargoed places.
    ProtectedKeepAccess(ProtectedClass),
    /// The set and `--against` decide alike except on these models.
    OnlyModels(Vec<String>),
    /// Wherever the set and `--against` decide differently, the set decides this.
    OnlyEffect(Effect),
    /// Raising the verification of recorded facts never loses access.
    MonotoneVerification,
    /// Every rule of every consulted directive decides some request.
    NoDeadRules,
    /// Every enforced directive decides some request.
    Shadowed,
    /// A property written in the condition language.
    User(UserProperty),
}

impl Property {
    /// The properties checked when none is named: every one that needs no parameter.
    pub fn defaults() -> Vec<Property> {
        vec![
            Property::NoUnknownFallthrough,
            Property::ProtectedKeepAccess(ProtectedClass::UsCitizens),
            Property::MonotoneVerification,
            Property::NoDeadRules,
            Property::Shadowed,
        ]
    }

    /// The property's name.
    pub fn name(&self) -> &'static str {
        match self {
            Property::NoUnknownFallthrough => "no-unknown-fallthrough",
            Property::ProtectedKeepAccess(_) => "protected-keep-access",
            Property::OnlyModels(_) => "only-models",
            Property::OnlyEffect(_) => "only-effect",
            Property::MonotoneVerification => "monotone-verification",
            Property::NoDeadRules => "no-dead-rules",
            Property::Shadowed => "shadowed",
            Property::User(_) => "forall",
        }
    }

    /// The property as written, parameters included.
    pub fn written(&self) -> String {
        match self {
            Property::ProtectedKeepAccess(c) => format!("protected-keep-access {}", c.as_str()),
            Property::OnlyModels(m) => format!("only-models {}", m.join(" ")),
            Property::OnlyEffect(e) => format!("only-effect {}", e.as_str()),
            Property::User(u) => u.written.clone(),
            other => other.name().to_owned(),
        }
    }

    /// Whether the property compares the set with `--against`.
    pub fn needs_against(&self) -> bool {
        matches!(self, Property::OnlyModels(_) | Property::OnlyEffect(_))
    }

    /// What the property asserts, in words (docs/analysis.md gives each in full).
    pub fn text(&self) -> String {
        match self {
            Property::NoUnknownFallthrough => "for every combination of unknown attributes, every consulted directive reaches an outcome its own text states for unknowns — a refusal or limit from its unknown clause, an allow recorded with a warning, or what a `known(…)` test in it says — and never allows silently where a known value of the same attribute would be refused".into(),
            Property::ProtectedKeepAccess(ProtectedClass::UsCitizens) => "no individual whose only citizenship is U.S., verified at document level and screened with no hits, is refused any model at any time, unless a place of the request or the subject is embargoed (some enforced directive refuses everyone there; with --against, a directive of that reviewed set)".into(),
            Property::ProtectedKeepAccess(ProtectedClass::UsDualNationals) => "no individual holding U.S. citizenship and one other, both verified at document level and screened with no hits, is refused any model at any time, unless a place of the request or the subject is embargoed (some enforced directive refuses everyone there; with --against, a directive of that reviewed set)".into(),
            Property::OnlyModels(m) => format!("the set decides every request for a model other than {} exactly as the --against set does (same effect and obligations)", m.join(", ")),
            Property::OnlyEffect(e) => format!("wherever the set decides a request differently from the --against set, it decides `{}`", e.as_str()),
            Property::MonotoneVerification => "raising the verification level of recorded facts, or of the account, never turns an allowed request into a refused one, unless the refusal rests on a condition that was unknown before and is now established true".into(),
            Property::NoDeadRules => "every rule of every consulted directive is, for some request, the rule that decides its directive's outcome, and no other rule of the directive or other enforced directive refuses as strongly".into(),
            Property::Shadowed => "every enforced directive decides some request: its effect is stronger than every other enforced directive's".into(),
            Property::User(u) => format!(
                "every request for {} whose subject and request make `{}` true is decided {}",
                u.model,
                u.condition,
                u.effects.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(" or ")
            ),
        }
    }

    /// Parses a property as written on the command line: its name, then
    /// parameters separated by spaces, in one argument
    /// (`'only-models fable-5 mythos-5'`).
    ///
    /// # Errors
    /// An unknown name, a missing or unknown parameter, or a model the
    /// catalog does not know.
    pub fn parse(text: &str, catalog: &Catalog) -> Result<Property, AnalysisError> {
        let bad = |reason: String| AnalysisError::BadProperty {
            text: text.to_owned(),
            reason,
        };
        let mut words = text.split_whitespace();
        let name = words.next().ok_or_else(|| bad("is empty".into()))?;
        let params: Vec<&str> = words.collect();
        let none = |p: Property| {
            if params.is_empty() {
                Ok(p)
            } else {
                Err(bad(format!("`{name}` takes no parameter")))
            }
        };
        match name {
            "no-unknown-fallthrough" => none(Property::NoUnknownFallthrough),
            "monotone-verification" => none(Property::MonotoneVerification),
            "no-dead-rules" => none(Property::NoDeadRules),
            "shadowed" => none(Property::Shadowed),
            "protected-keep-access" => match params.as_slice() {
                [] | ["us-citizens"] => Ok(Property::ProtectedKeepAccess(ProtectedClass::UsCitizens)),
                ["us-dual-nationals"] => Ok(Property::ProtectedKeepAccess(ProtectedClass::UsDualNationals)),
                other => Err(bad(format!(
                    "unknown class `{}`; the classes are us-citizens (the default) and us-dual-nationals",
                    other.join(" ")
                ))),
            },
            "only-models" => {
                if params.is_empty() {
                    return Err(bad("name at least one model: `only-models fable-5 mythos-5`".into()));
                }
                let mut models = Vec::new();
                for p in params {
                    match catalog.resolve(p) {
                        Resolution::Known { id, .. } => {
                            let canonical = catalog.model(id).map(|m| m.id.clone()).unwrap_or_else(|| p.to_owned());
                            if !models.contains(&canonical) {
                                models.push(canonical);
                            }
                        }
                        Resolution::Unknown => return Err(bad(format!("the catalog has no model `{p}`"))),
                    }
                }
                Ok(Property::OnlyModels(models))
            }
            "forall" => UserProperty::parse(text, catalog).map(Property::User).map_err(bad),
            "only-effect" => match params.as_slice() {
                [e] => [Effect::Allow, Effect::AllowWithObligations, Effect::VerificationRequired, Effect::Deny]
                    .into_iter()
                    .find(|x| x.as_str() == *e)
                    .map(Property::OnlyEffect)
                    .ok_or_else(|| bad(format!("unknown effect `{e}`; expected allow, allow_with_obligations, verification_required or deny"))),
                _ => Err(bad("name one effect: `only-effect deny`".into())),
            },
            other => Err(bad(format!(
                "unknown property `{other}`; the properties are no-unknown-fallthrough, protected-keep-access [us-citizens|us-dual-nationals], only-models M…, only-effect E, monotone-verification, no-dead-rules, shadowed, and `forall subject where <condition>: effect(<model>) in {{…}}`"
            ))),
        }
    }
}

/// The properties a set's directive files assert in `[[property]]` tables,
/// in id order of the directives.
///
/// # Errors
/// The first table that names no property or has bad parameters, by file,
/// line, column and field.
pub fn declared(policy: &cordon_policy::Policy) -> Result<Vec<Property>, AnalysisError> {
    let mut out = Vec::new();
    for d in policy.directives() {
        for p in &d.properties {
            let property = Property::parse(&p.check, policy.catalog()).map_err(|e| {
                let reason = match e {
                    AnalysisError::BadProperty { reason, .. } => reason,
                    other => other.to_string(),
                };
                AnalysisError::BadDeclaredProperty {
                    file: p.location.file.clone(),
                    line: p.location.line,
                    column: p.location.column,
                    field: p.field.clone(),
                    text: p.check.clone(),
                    reason,
                }
            })?;
            if !out.contains(&property) {
                out.push(property);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog.toml");
        Catalog::load(&path).unwrap()
    }

    #[test]
    fn a_property_and_its_parameters_are_one_argument() {
        let c = catalog();
        assert_eq!(
            Property::parse("only-models fable-5  mythos-5", &c).unwrap(),
            Property::OnlyModels(vec!["fable-5".into(), "mythos-5".into()])
        );
        assert_eq!(
            Property::parse("protected-keep-access", &c).unwrap(),
            Property::ProtectedKeepAccess(ProtectedClass::UsCitizens)
        );
        assert_eq!(
            Property::parse("only-effect deny", &c).unwrap().written(),
            "only-effect deny"
        );
    }

    #[test]
    fn bad_properties_say_what_was_expected() {
        let c = catalog();
        let e = Property::parse("only-models", &c).unwrap_err().to_string();
        assert!(e.contains("name at least one model"), "{e}");
        let e = Property::parse("only-models lyric-9", &c)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no model `lyric-9`"), "{e}");
        let e = Property::parse("no-dead-rules now", &c)
            .unwrap_err()
            .to_string();
        assert!(e.contains("takes no parameter"), "{e}");
        let e = Property::parse("protected-keep-access aliens", &c)
            .unwrap_err()
            .to_string();
        assert!(e.contains("us-dual-nationals"), "{e}");
    }

    #[test]
    fn the_defaults_are_the_properties_without_parameters() {
        assert!(Property::defaults().iter().all(|p| !p.needs_against()));
        assert_eq!(Property::defaults().len(), 5);
    }
}
