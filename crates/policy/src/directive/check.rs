//! Checking one directive file into a [`Directive`].

use std::ops::Range;

use cordon_catalog::{Catalog, ModelId, Resolution};
use cordon_jurisdiction::{CountryCode, CountrySet, GroupRegistry, Jurisdictions};
use cordon_source::SourceFile;
use cordon_subject::{PersonClass, PersonClasses, VerificationLevel};
use jiff::Timestamp;
use serde::Deserialize;
use toml::Spanned;

use super::{
    Directive, Exemption, ForeignPersonDefinition, Mode, Obligations, Rule, RuleEffect, Scope,
    UnknownEffect,
};
use crate::condition;
use crate::diagnostic::{Diagnostic, Severity};
use crate::program::Checker;
use crate::request::{Endpoint, Feature};
use crate::vocabulary::Attr;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDirective {
    id: Spanned<String>,
    title: String,
    authority: String,
    citation: String,
    #[serde(default)]
    link: Option<String>,
    issued: Spanned<toml::Value>,
    effective: Spanned<toml::Value>,
    #[serde(default)]
    grace_until: Option<Spanned<toml::Value>>,
    #[serde(default)]
    expires: Option<Spanned<toml::Value>>,
    mode: Mode,
    #[serde(default)]
    min_verification: VerificationLevel,
    #[serde(default)]
    min_verification_for: std::collections::BTreeMap<String, Spanned<VerificationLevel>>,
    message: String,
    #[serde(default)]
    remedy: Option<String>,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    scope: RawScope,
    unknown: RawUnknown,
    #[serde(default)]
    rule: Vec<RawRule>,
    #[serde(default)]
    exemption: Vec<RawExemption>,
    #[serde(default)]
    foreign_person: Option<Spanned<RawForeignPerson>>,
    #[serde(default)]
    accept_missing_regions: Vec<Spanned<String>>,
    #[serde(default)]
    property: Vec<RawProperty>,
}

/// A `[[property]]` table: a property of the set, checked by `cordon analyze`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProperty {
    check: Spanned<String>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForeignPerson {
    except: Vec<Spanned<String>>,
    citation: Spanned<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawScope {
    #[serde(default)]
    models: Vec<Spanned<String>>,
    #[serde(default)]
    families: Vec<Spanned<String>>,
    #[serde(default)]
    tags: Vec<Spanned<String>>,
    #[serde(default)]
    endpoints: Vec<Spanned<String>>,
    #[serde(default)]
    features: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnknown {
    effect: UnknownEffect,
    #[serde(default)]
    during_grace: Option<Spanned<UnknownEffect>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    when: Spanned<String>,
    effect: Spanned<RuleEffect>,
    #[serde(default)]
    on_unknown: Option<UnknownEffect>,
    #[serde(default)]
    message: Option<Spanned<String>>,
    #[serde(default)]
    citation: Option<Spanned<String>>,
    #[serde(default)]
    remedy: Option<Spanned<String>>,
    #[serde(default)]
    obligations: Option<Spanned<RawObligations>>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObligations {
    #[serde(default)]
    max_tokens: Option<Spanned<i64>>,
    #[serde(default)]
    remove_features: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExemption {
    licence: Spanned<String>,
    holder: Spanned<String>,
    #[serde(default)]
    expires: Option<Spanned<toml::Value>>,
    #[serde(default)]
    models: Vec<Spanned<String>>,
    #[serde(default)]
    min_verification: Option<VerificationLevel>,
    #[serde(default)]
    note: Option<String>,
}

/// What a directive is checked against.
pub struct CheckEnv<'a> {
    /// Assigned countries and known regions.
    pub jurisdictions: &'a Jurisdictions,
    /// Country groups.
    pub groups: &'a GroupRegistry,
    /// The model catalog.
    pub catalog: &'a Catalog,
}

struct Sink<'f> {
    file: &'f SourceFile,
    out: Vec<Diagnostic>,
}

impl Sink<'_> {
    fn push(&mut self, severity: Severity, at: usize, field: &str, message: String) {
        self.out.push(Diagnostic {
            severity,
            location: self.file.location(at),
            field: field.to_owned(),
            message,
        });
    }
    fn error(&mut self, at: usize, field: &str, message: String) {
        self.push(Severity::Error, at, field, message);
    }
    fn warn(&mut self, at: usize, field: &str, message: String) {
        self.push(Severity::Warning, at, field, message);
    }
}

/// Normalises an organisation name for comparison: case-folded, whitespace collapsed.
fn org_key(name: &str) -> String {
    name.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        })
}

/// Parses a time: a TOML offset date-time or an RFC 3339 string. A date or a local
/// time is refused, since a directive's moment must not depend on a server's zone.
fn time(sink: &mut Sink<'_>, v: &Spanned<toml::Value>, field: &str) -> Option<Timestamp> {
    let text = match v.get_ref() {
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::String(s) => s.clone(),
        other => {
            sink.error(
                v.span().start,
                field,
                format!(
                    "expected a time such as 2026-11-20T00:00:00Z, found a {}",
                    other.type_str()
                ),
            );
            return None;
        }
    };
    match text.parse::<Timestamp>() {
        Ok(t) => Some(t),
        Err(_) => {
            sink.error(
                v.span().start,
                field,
                format!(
                    "`{text}` is not a time with a UTC offset (expected e.g. 2026-11-20T00:00:00Z)"
                ),
            );
            None
        }
    }
}

/// Where the text of a string value starts, past its opening quote(s).
fn string_body_start(file: &SourceFile, span: &Range<usize>) -> usize {
    let rest = file.text().get(span.start..).unwrap_or_default();
    if rest.starts_with("\"\"\"") || rest.starts_with("'''") {
        let after = rest.get(3..).unwrap_or_default();
        span.start
            + 3
            + if after.starts_with("\r\n") {
                2
            } else {
                usize::from(after.starts_with('\n'))
            }
    } else {
        span.start + 1
    }
}

/// Checks a `[foreign_person]` table: every `except` entry a known class,
/// none twice, and a citation.
fn foreign_person_table(
    sink: &mut Sink<'_>,
    table: &Spanned<RawForeignPerson>,
) -> Option<ForeignPersonDefinition> {
    let t = table.get_ref();
    let mut except = PersonClasses::EMPTY;
    let mut ok = true;
    for name in &t.except {
        match PersonClass::parse(name.get_ref()) {
            Some(c) if except.contains(c) => {
                sink.error(
                    name.span().start,
                    "foreign_person.except",
                    format!("`{}` is listed twice", name.get_ref()),
                );
                ok = false;
            }
            Some(c) => except.insert(c),
            None => {
                let known: Vec<&str> = PersonClass::ALL.iter().map(|c| c.as_str()).collect();
                sink.error(
                    name.span().start,
                    "foreign_person.except",
                    format!(
                        "unknown class `{}` (expected one of: {})",
                        name.get_ref(),
                        known.join(", ")
                    ),
                );
                ok = false;
            }
        }
    }
    if ok && except.is_empty() {
        sink.warn(
            table.span().start,
            "foreign_person.except",
            "is empty: every natural person, U.S. citizens included, is a foreign person under this directive".into(),
        );
    }
    if t.citation.get_ref().trim().is_empty() {
        sink.error(
            t.citation.span().start,
            "foreign_person.citation",
            "is empty; cite the definition the order uses, e.g. `15 CFR 772.1 (\"foreign person\")`".into(),
        );
    }
    ok.then_some(ForeignPersonDefinition { except })
}

/// Checks one directive file.
///
/// Returns the directive (when it has no errors) and every finding.
pub fn check_file(file: &SourceFile, env: &CheckEnv<'_>) -> (Option<Directive>, Vec<Diagnostic>) {
    let mut sink = Sink {
        file,
        out: Vec::new(),
    };
    let raw: RawDirective = match file.parse_toml() {
        Ok(r) => r,
        Err(e) => {
            sink.out.push(Diagnostic {
                severity: Severity::Error,
                location: e.location,
                field: e.field.unwrap_or_default(),
                message: e.message,
            });
            return (None, sink.out);
        }
    };
    let id = raw.id.get_ref().clone();
    let id_offset = raw.id.span().start;
    if !is_id(&id) {
        sink.error(raw.id.span().start, "id", format!("`{id}` is not a valid id (expected lower-case letters, digits, `-`, `_`, `.`; at most 128)"));
    }
    let issued = match raw.issued.get_ref() {
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::String(s) => s.clone(),
        other => {
            sink.error(
                raw.issued.span().start,
                "issued",
                format!(
                    "expected a date such as 2026-11-18, found a {}",
                    other.type_str()
                ),
            );
            String::new()
        }
    };
    let effective = time(&mut sink, &raw.effective, "effective");
    let grace_until = raw
        .grace_until
        .as_ref()
        .and_then(|g| time(&mut sink, g, "grace_until"));
    let expires = raw
        .expires
        .as_ref()
        .and_then(|e| time(&mut sink, e, "expires"));
    if let (Some(eff), Some(g), Some(span)) = (
        effective,
        grace_until,
        raw.grace_until.as_ref().map(Spanned::span),
    ) && g <= eff
    {
        sink.error(
            span.start,
            "grace_until",
            format!("the grace period ends ({g}) before the directive takes effect ({eff})"),
        );
    }
    if let (Some(eff), Some(x), Some(span)) =
        (effective, expires, raw.expires.as_ref().map(Spanned::span))
    {
        if x <= eff {
            sink.error(
                span.start,
                "expires",
                format!("the directive expires ({x}) before it takes effect ({eff})"),
            );
        }
        if let Some(g) = grace_until
            && g > x
        {
            sink.warn(
                span.start,
                "expires",
                format!("the directive expires ({x}) before its grace period ends ({g})"),
            );
        }
    }
    if raw.unknown.during_grace.is_some() && raw.grace_until.is_none() {
        let at = raw
            .unknown
            .during_grace
            .as_ref()
            .map_or(0, |d| d.span().start);
        sink.warn(
            at,
            "unknown.during_grace",
            "has no effect: the directive has no `grace_until`".into(),
        );
    }
    if raw.message.trim().is_empty() {
        sink.error(
            0,
            "message",
            "the message shown to refused customers is empty".into(),
        );
    }

    // Scope.
    let mut scope = Scope::default();
    let mut scope_ids: Vec<ModelId> = Vec::new();
    for m in &raw.scope.models {
        match env.catalog.resolve(m.get_ref()) {
            Resolution::Known { id, .. } => {
                scope_ids.push(id);
                if let Some(model) = env.catalog.model(id) {
                    scope.models.push(model.id.clone());
                }
            }
            Resolution::Unknown => sink.error(
                m.span().start,
                "scope.models",
                format!("the catalog has no model `{}`", m.get_ref()),
            ),
        }
    }
    for f in &raw.scope.families {
        if env.catalog.has_family(f.get_ref()) {
            scope.families.push(f.get_ref().trim().to_lowercase());
        } else {
            let known: Vec<&str> = env.catalog.families().collect();
            sink.error(
                f.span().start,
                "scope.families",
                format!(
                    "the catalog has no family `{}` (families: {})",
                    f.get_ref(),
                    known.join(", ")
                ),
            );
        }
    }
    for t in &raw.scope.tags {
        if env.catalog.has_tag(t.get_ref()) {
            scope.tags.push(t.get_ref().trim().to_lowercase());
        } else {
            let known: Vec<&str> = env.catalog.tags().collect();
            sink.error(
                t.span().start,
                "scope.tags",
                format!(
                    "no model in the catalog has tag `{}` (tags: {})",
                    t.get_ref(),
                    known.join(", ")
                ),
            );
        }
    }
    for e in &raw.scope.endpoints {
        match Endpoint::parse(e.get_ref()) {
            Some(ep) => scope.endpoints.insert(ep),
            None => sink.error(
                e.span().start,
                "scope.endpoints",
                format!(
                    "unknown endpoint `{}` (expected one of: {})",
                    e.get_ref(),
                    Endpoint::names()
                ),
            ),
        }
    }
    for f in &raw.scope.features {
        match Feature::parse(f.get_ref()) {
            Some(ft) => scope.features.insert(ft),
            None => sink.error(
                f.span().start,
                "scope.features",
                format!(
                    "unknown feature `{}` (expected one of: {})",
                    f.get_ref(),
                    Feature::names()
                ),
            ),
        }
    }
    let whole_catalog =
        raw.scope.models.is_empty() && raw.scope.families.is_empty() && raw.scope.tags.is_empty();
    let scope_models = if whole_catalog {
        None
    } else {
        let mut ids: Vec<ModelId> = env
            .catalog
            .models()
            .filter(|(id, m)| {
                scope_ids.contains(id)
                    || scope.families.contains(&m.family)
                    || m.tags.iter().any(|t| scope.tags.contains(t))
            })
            .map(|(id, _)| id)
            .collect();
        ids.sort();
        Some(ids)
    };

    // Who is a foreign person, checked before the rules that use it.
    let foreign_person = raw
        .foreign_person
        .as_ref()
        .map(|t| foreign_person_table(&mut sink, t));

    // Rules.
    if raw.rule.is_empty() {
        sink.error(
            0,
            "rule",
            "the directive has no rules (expected at least one `[[rule]]`)".into(),
        );
    }
    let mut rules: Vec<Rule> = Vec::new();
    for (i, r) in raw.rule.iter().enumerate() {
        let field = |f: &str| format!("rule[{i}].{f}");
        let rid = r.id.get_ref().clone();
        if !is_id(&rid) {
            sink.error(
                r.id.span().start,
                &field("id"),
                format!("`{rid}` is not a valid rule id"),
            );
        }
        if rules.iter().any(|x| x.id == rid) {
            sink.error(
                r.id.span().start,
                &field("id"),
                format!("duplicate rule id `{rid}`"),
            );
        }
        let body = string_body_start(file, &r.when.span());
        let expr = match condition::parse(r.when.get_ref()) {
            Ok(ast) => {
                let mut checker = Checker {
                    jurisdictions: env.jurisdictions,
                    groups: env.groups,
                    foreign_person_defined: raw.foreign_person.is_some(),
                    issues: Vec::new(),
                };
                let expr = checker.check(&ast);
                for issue in checker.issues {
                    // A warning about the directive (a group it relies on)
                    // is said once, at its first use.
                    if !issue.is_error
                        && sink
                            .out
                            .iter()
                            .any(|d| d.severity == Severity::Warning && d.message == issue.message)
                    {
                        continue;
                    }
                    let severity = if issue.is_error {
                        Severity::Error
                    } else {
                        Severity::Warning
                    };
                    sink.push(
                        severity,
                        body + issue.span.start,
                        &field("when"),
                        issue.message,
                    );
                }
                Some(expr)
            }
            Err(e) => {
                sink.error(body + e.span.start, &field("when"), e.message);
                None
            }
        };
        let effect = *r.effect.get_ref();
        let mut obligations = Obligations::default();
        match (&r.obligations, effect) {
            (Some(o), RuleEffect::AllowWithObligations) => {
                let o_ref = o.get_ref();
                if let Some(m) = &o_ref.max_tokens {
                    match u32::try_from(*m.get_ref()) {
                        Ok(n) if n > 0 => obligations.max_tokens = Some(n),
                        _ => sink.error(
                            m.span().start,
                            &field("obligations.max_tokens"),
                            format!(
                                "`{}` is not a usable cap (expected 1 to {})",
                                m.get_ref(),
                                u32::MAX
                            ),
                        ),
                    }
                }
                for f in &o_ref.remove_features {
                    match Feature::parse(f.get_ref()) {
                        Some(ft) => obligations.remove_features.insert(ft),
                        None => sink.error(
                            f.span().start,
                            &field("obligations.remove_features"),
                            format!(
                                "unknown feature `{}` (expected one of: {})",
                                f.get_ref(),
                                Feature::names()
                            ),
                        ),
                    }
                }
                if o_ref.max_tokens.is_none() && o_ref.remove_features.is_empty() {
                    sink.error(
                        o.span().start,
                        &field("obligations"),
                        "no obligation given (expected `max_tokens` or `remove_features`)".into(),
                    );
                }
            }
            (Some(o), _) => sink.error(
                o.span().start,
                &field("obligations"),
                "obligations apply only to `effect = \"allow_with_obligations\"`".into(),
            ),
            (None, RuleEffect::AllowWithObligations) => {
                sink.error(
                    r.effect.span().start,
                    &field("effect"),
                    "`allow_with_obligations` needs an `obligations` table".into(),
                );
            }
            (None, _) => {}
        }
        let _ = &r.note;
        for (name, text) in [
            ("message", &r.message),
            ("citation", &r.citation),
            ("remedy", &r.remedy),
        ] {
            if let Some(t) = text
                && t.get_ref().trim().is_empty()
            {
                sink.error(
                    t.span().start,
                    &field(name),
                    format!("`{name}` is empty: leave it out to use the directive's"),
                );
            }
        }
        if let Some(expr) = expr {
            rules.push(Rule {
                id: rid,
                when: r.when.get_ref().clone(),
                expr,
                effect,
                obligations,
                on_unknown: r.on_unknown,
                message: r.message.as_ref().map(|m| m.get_ref().clone()),
                citation: r.citation.as_ref().map(|c| c.get_ref().clone()),
                remedy: r.remedy.as_ref().map(|c| c.get_ref().clone()),
            });
        }
    }

    // Exemptions.
    let mut exemptions = Vec::new();
    for (i, x) in raw.exemption.iter().enumerate() {
        let field = |f: &str| format!("exemption[{i}].{f}");
        let holder_key = org_key(x.holder.get_ref());
        if x.licence.get_ref().trim().is_empty() {
            sink.error(
                x.licence.span().start,
                &field("licence"),
                "licence number is empty".into(),
            );
        }
        if holder_key.is_empty() {
            sink.error(
                x.holder.span().start,
                &field("holder"),
                "holder is empty, so the exemption can never apply".into(),
            );
        }
        let x_expires = x
            .expires
            .as_ref()
            .and_then(|e| time(&mut sink, e, &field("expires")));
        if let (Some(xe), Some(eff), Some(span)) =
            (x_expires, effective, x.expires.as_ref().map(Spanned::span))
            && xe <= eff
        {
            sink.error(span.start, &field("expires"), format!("the licence expires ({xe}) before the directive takes effect ({eff}), so it can never apply"));
        }
        let mut model_ids = Vec::new();
        let mut models = Vec::new();
        for m in &x.models {
            match env.catalog.resolve(m.get_ref()) {
                Resolution::Known { id, .. } => {
                    if scope_models.as_ref().is_some_and(|s| !s.contains(&id)) {
                        sink.error(m.span().start, &field("models"), format!("model `{}` is outside the directive's scope, so this exemption can never apply to it", m.get_ref()));
                    }
                    model_ids.push(id);
                    models.extend(env.catalog.model(id).map(|m| m.id.clone()));
                }
                Resolution::Unknown => sink.error(
                    m.span().start,
                    &field("models"),
                    format!("the catalog has no model `{}`", m.get_ref()),
                ),
            }
        }
        if exemptions
            .iter()
            .any(|e: &Exemption| e.licence == *x.licence.get_ref())
        {
            sink.error(
                x.licence.span().start,
                &field("licence"),
                format!("licence `{}` is listed twice", x.licence.get_ref()),
            );
        }
        let _ = &x.note;
        exemptions.push(Exemption {
            licence: x.licence.get_ref().clone(),
            holder: x.holder.get_ref().clone(),
            holder_key,
            expires: x_expires,
            models,
            model_ids,
            min_verification: x.min_verification.unwrap_or(raw.min_verification),
        });
    }
    if !exemptions.is_empty()
        && rules
            .iter()
            .all(|r| r.effect == RuleEffect::AllowWithObligations)
        && raw.unknown.effect == UnknownEffect::Allow
    {
        sink.warn(
            0,
            "exemption",
            "the directive never refuses, so its exemptions only lift obligations".into(),
        );
    }
    let _ = &raw.notes;
    let about_persons = rules.iter().any(|r| {
        let mut attrs = Vec::new();
        r.expr.attrs(&mut attrs);
        attrs.contains(&Attr::ForeignPerson)
    });
    // INVARIANT: a directive about natural persons is lifted only by licence
    // records, which name their individuals. A file exemption matches an
    // organisation's name, so it would cover every verified member of the
    // holder, which no licence does.
    if about_persons {
        for (i, x) in raw.exemption.iter().enumerate() {
            sink.error(
                x.licence.span().start,
                &format!("exemption[{i}]"),
                format!(
                    "a directive about natural persons (a rule tests `subject.foreign_person`) cannot carry an `[[exemption]]`: it would cover every verified member of `{}`, not the individuals licence `{}` names; record the licence with `cordon licences add --number {} --holder ACCOUNT --individual ACCOUNT …` naming its individuals, and remove this table",
                    x.holder.get_ref(),
                    x.licence.get_ref(),
                    x.licence.get_ref(),
                ),
            );
        }
    }
    if let (Some(t), false) = (&raw.foreign_person, about_persons) {
        sink.warn(
            t.span().start,
            "foreign_person",
            "has no effect: no rule tests `subject.foreign_person`".into(),
        );
    }

    // Countries whose regions the directive's author accepts going without.
    let mut accept_missing_regions = CountrySet::EMPTY;
    for (i, c) in raw.accept_missing_regions.iter().enumerate() {
        match CountryCode::parse(c.get_ref()) {
            Ok(code) => accept_missing_regions.insert(code),
            Err(e) => sink.error(
                c.span().start,
                &format!("accept_missing_regions[{i}]"),
                format!("`{}` is not a country code: {e}", c.get_ref()),
            ),
        }
    }

    // Per-attribute levels: each key a recorded subject fact.
    let mut levels = crate::levels::Levels::new(raw.min_verification);
    for (name, level) in &raw.min_verification_for {
        let field = format!("min_verification_for.\"{name}\"");
        match crate::vocabulary::Attr::parse(name) {
            Some(a) if !crate::levels::same_fact(a).is_empty() => levels.set(a, *level.get_ref()),
            Some(a) => sink.error(
                level.span().start,
                &field,
                format!("`{}` is not a recorded subject fact, so it has no verification level (request attributes, `subject.verification`, `subject.kind` and screening are never unknown for want of verification)", a.name()),
            ),
            None => {
                let hint = crate::vocabulary::Attr::suggest(name)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                sink.error(
                    level.span().start,
                    &field,
                    format!("unknown attribute `{name}`{hint} (the attributes are listed in docs/directives.md)"),
                );
            }
        }
    }

    // Properties are read here and judged by `cordon analyze`, which knows
    // their language; an empty one is a mistake the checker can name.
    let mut properties = Vec::new();
    for (i, p) in raw.property.iter().enumerate() {
        let check = p.check.get_ref().trim();
        if check.is_empty() {
            sink.error(
                p.check.span().start,
                &format!("property[{i}].check"),
                "is empty; write a property as `cordon analyze --property` takes it, e.g. `protected-keep-access`".into(),
            );
            continue;
        }
        properties.push(super::DeclaredProperty {
            check: check.to_owned(),
            note: p.note.clone(),
            location: file.location(p.check.span().start),
            field: format!("property[{i}].check"),
        });
    }

    let has_errors = sink.out.iter().any(|d| d.severity == Severity::Error);
    let directive = match (has_errors, effective) {
        (false, Some(effective)) => Some(Directive {
            levels,
            id,
            title: raw.title,
            authority: raw.authority,
            citation: raw.citation,
            link: raw.link,
            issued,
            effective,
            grace_until,
            expires,
            mode: raw.mode,
            min_verification: raw.min_verification,
            message: raw.message,
            remedy: raw.remedy,
            priority: raw.priority,
            scope,
            scope_models,
            unknown: raw.unknown.effect,
            unknown_during_grace: raw.unknown.during_grace.map(Spanned::into_inner),
            rules,
            exemptions,
            foreign_person: foreign_person.flatten(),
            foreign_person_citation: raw
                .foreign_person
                .as_ref()
                .map(|t| t.get_ref().citation.get_ref().trim().to_owned()),
            about_persons,
            accept_missing_regions,
            properties,
            source: file.clone(),
            id_offset,
        }),
        _ => None,
    };
    (directive, sink.out)
}
