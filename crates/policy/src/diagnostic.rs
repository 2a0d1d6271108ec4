//! Located errors and warnings about directive files.

use std::fmt;

use cordon_source::Location;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look; the directive set still loads.
    Warning,
    /// The directive set is refused.
    Error,
}

/// One finding about a directive file: where, which field, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// File, line and column.
    #[serde(serialize_with = "location_string")]
    pub location: Location,
    /// The field, as a path such as `rule[1].when`; empty for the file as a whole.
    pub field: String,
    /// What is wrong and what was expected.
    pub message: String,
}

fn location_string<S: serde::Serializer>(l: &Location, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(l)
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        if self.field.is_empty() {
            write!(f, "{}: {sev}: {}", self.location, self.message)
        } else {
            write!(
                f,
                "{}: {sev}: `{}`: {}",
                self.location, self.field, self.message
            )
        }
    }
}

/// A directive set that failed to load: every finding, errors and warnings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the directive set has {} error(s)", self.errors().count())]
pub struct LoadError {
    /// All findings, in file and line order.
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadError {
    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }
}
