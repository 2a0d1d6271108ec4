//! What can stop an analysis.

/// An analysis that could not be carried out; a property that does not hold
/// is a finding in the [`crate::Report`], never an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    /// A `--property` argument that names no property or has bad parameters.
    #[error("property `{text}`: {reason}")]
    BadProperty {
        /// The property as written.
        text: String,
        /// What was wrong, and what was expected.
        reason: String,
    },
    /// A `[[property]]` table of a directive file that names no property or
    /// has bad parameters.
    #[error("{file}:{line}:{column}: {field}: property `{text}`: {reason}")]
    BadDeclaredProperty {
        /// The directive file.
        file: String,
        /// 1-based line of `check`.
        line: usize,
        /// 1-based column of `check`.
        column: usize,
        /// The field (`property[0].check`).
        field: String,
        /// The property as written.
        text: String,
        /// What was wrong, and what was expected.
        reason: String,
    },
    /// A property that compares two sets was asked for without a second set.
    #[error(
        "property `{property}` compares two directive sets; pass the set to compare with as --against DIR"
    )]
    NeedsAgainst {
        /// The property as written.
        property: String,
    },
    /// The two sets were checked against different catalogs.
    #[error(
        "the directive sets were checked against different model catalogs; compare them with the same --catalog"
    )]
    CatalogMismatch,
    /// Nothing was given to analyse.
    #[error("no directive set to analyse")]
    NothingToAnalyse,
    /// The catalog lists no model, so no request can be decided.
    #[error("the model catalog lists no model; there is no request to decide")]
    NoModels,
    /// A generated case was refused by the subject record parser.
    #[error(
        "a generated case is not a valid subject record ({detail}); this is a bug in the analysis"
    )]
    Case {
        /// The parser's message.
        detail: String,
    },
    /// A rule group too large to enumerate within the analysis's budget.
    #[error(
        "directive `{directive}`: one of its rule groups has {combinations} class combinations, more than the analysis enumerates; split the rule or name fewer distinct values"
    )]
    TooManyCombinations {
        /// The directive's id.
        directive: String,
        /// How many combinations the group has.
        combinations: u64,
    },
}
