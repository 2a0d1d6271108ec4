//! The access matrix by request shape: countries × models × shapes, with the
//! limits of every allowed cell.
//!
//! The policy crate's matrix decides a plain chat request only, so an order
//! about tool use or fine-tuning shows no change there; this one decides each
//! asked shape and compares limits as well as effects, since a cap that
//! changes is a change.

mod render;

use cordon_catalog::Resolution;
use cordon_jurisdiction::{CountryCode, Jurisdictions};
use cordon_policy::{Effect, Obligations, Policy, Request, Trace, matrix_subject};
use jiff::Timestamp;
use serde::Serialize;

use crate::limits::held_to;
use crate::shape::Shape;

/// One cell: the effect and, when allowed with obligations, the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The decision's effect.
    pub effect: Effect,
    /// The limits an allowed request is held to; empty otherwise.
    #[serde(skip_serializing_if = "Obligations::is_empty")]
    pub limits: Obligations,
}

impl Outcome {
    /// A refusal, as for a model one side's catalog lacks.
    const REFUSED: Outcome = Outcome {
        effect: Effect::Deny,
        limits: Obligations {
            max_tokens: None,
            remove_features: cordon_policy::FeatureSet::EMPTY,
        },
    };
}

/// One country's cells.
#[derive(Debug, Clone, Serialize)]
pub struct ShapedRow {
    /// Country code.
    pub country: CountryCode,
    /// Country name.
    pub name: String,
    /// One list per shape, in the matrix's shape order, of one outcome per
    /// model, in its model order.
    pub cells: Vec<Vec<Outcome>>,
    /// Beside each cell, the enforced directives that refused or limited it
    /// and the one that decided: what a diff needs to say why a cell did not
    /// change.
    #[serde(skip)]
    pub acting: Vec<Vec<Acting>>,
}

/// The enforced directives acting on one cell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acting {
    /// Every enforced directive whose effect (after exemptions) was not allow.
    pub directives: Vec<String>,
    /// The directive that decided a refusal.
    pub decided_by: Option<String>,
}

/// Directives of the second set that act on cells whose outcome they do not
/// change, because another directive already refuses them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlreadyRefused {
    /// The directive that would refuse or limit.
    pub directive: String,
    /// The directive that already refuses under both sets.
    pub refused_by: String,
    /// How many cells.
    pub cells: u64,
}

/// Countries × models × shapes for a verified single national of each
/// country, resident there and connecting from it.
#[derive(Debug, Clone, Serialize)]
pub struct ShapedMatrix {
    /// The time decided for.
    pub at: Timestamp,
    /// The policy version.
    pub policy_version: String,
    /// Model ids.
    pub models: Vec<String>,
    /// The request shapes decided.
    pub shapes: Vec<Shape>,
    /// One row per assigned country.
    pub rows: Vec<ShapedRow>,
}

/// One cell that differs between two shaped matrices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShapedChange {
    /// Country code.
    pub country: CountryCode,
    /// Model id.
    pub model: String,
    /// The request shape.
    pub shape: Shape,
    /// Under the first set.
    pub before: Outcome,
    /// Under the second set.
    pub after: Outcome,
}

/// The cells whose effect or limits change from one set to another.
#[derive(Debug, Clone, Serialize)]
pub struct ShapedDiff {
    /// The time decided for.
    pub at: Timestamp,
    /// Version of the first set.
    pub before_version: String,
    /// Version of the second set.
    pub after_version: String,
    /// The shapes compared.
    pub shapes: Vec<Shape>,
    /// Changed cells, by country, then shape, then model.
    pub changes: Vec<ShapedChange>,
    /// Directives that act on unchanged cells another directive already
    /// refuses, so an order that shows no change says why.
    pub already_refused: Vec<AlreadyRefused>,
}

impl ShapedMatrix {
    /// Decides every country × model × shape at `at`; model names the
    /// policy's catalog does not know are refused, as the engine refuses them.
    pub fn build(
        policy: &Policy,
        jurisdictions: &Jurisdictions,
        at: Timestamp,
        models: &[String],
        shapes: &[Shape],
    ) -> ShapedMatrix {
        let ids: Vec<_> = models
            .iter()
            .map(|m| match policy.catalog().resolve(m) {
                Resolution::Known { id, .. } => Some(id),
                Resolution::Unknown => None,
            })
            .collect();
        let mut trace = Trace::with_capacity(policy.max_consulted());
        let rows = jurisdictions
            .countries()
            .map(|(c, name)| {
                let subject = matrix_subject(c);
                let mut cells = Vec::with_capacity(shapes.len());
                let mut acting = Vec::with_capacity(shapes.len());
                for shape in shapes {
                    let mut row_cells = Vec::with_capacity(ids.len());
                    let mut row_acting = Vec::with_capacity(ids.len());
                    for id in &ids {
                        let mut req = Request::new(*id, at);
                        shape.apply(&mut req);
                        req.country = Some(c);
                        let d = policy.decide(&subject, &req, &mut trace);
                        row_cells.push(Outcome {
                            effect: d.effect,
                            limits: held_to(&d),
                        });
                        row_acting.push(acting_on(policy, &trace, d.decided_by));
                    }
                    cells.push(row_cells);
                    acting.push(row_acting);
                }
                ShapedRow {
                    country: c,
                    name: name.to_owned(),
                    cells,
                    acting,
                }
            })
            .collect();
        ShapedMatrix {
            at,
            policy_version: policy.version().to_owned(),
            models: models.to_vec(),
            shapes: shapes.to_vec(),
            rows,
        }
    }

    /// Who acted on one cell; nobody when the model or shape is not here.
    fn acting(&self, row: usize, shape: &Shape, model: &str) -> Option<&Acting> {
        let s = self.shapes.iter().position(|x| x == shape)?;
        let m = self.models.iter().position(|x| x == model)?;
        self.rows.get(row)?.acting.get(s)?.get(m)
    }

    /// One cell, refused when the model or shape is not in this matrix.
    fn outcome(&self, row: usize, shape: &Shape, model: &str) -> Outcome {
        let s = self.shapes.iter().position(|x| x == shape);
        let m = self.models.iter().position(|x| x == model);
        s.zip(m)
            .and_then(|(s, m)| self.rows.get(row)?.cells.get(s)?.get(m).copied())
            .unwrap_or(Outcome::REFUSED)
    }

    /// The cells whose effect or limits differ in `other` (models and shapes
    /// matched by name; a model missing from one side is refused there).
    pub fn diff(&self, other: &ShapedMatrix) -> ShapedDiff {
        let mut models = self.models.clone();
        for m in &other.models {
            if !models.contains(m) {
                models.push(m.clone());
            }
        }
        let mut shapes = self.shapes.clone();
        for s in &other.shapes {
            if !shapes.contains(s) {
                shapes.push(*s);
            }
        }
        let mut changes = Vec::new();
        let mut already: std::collections::BTreeMap<(String, String), u64> = Default::default();
        for (ri, row) in self.rows.iter().enumerate() {
            for shape in &shapes {
                for m in &models {
                    let (before, after) = (self.outcome(ri, shape, m), other.outcome(ri, shape, m));
                    if before == after && after.effect > Effect::AllowWithObligations {
                        // Refused before by `by`; a directive acting now
                        // that did not before changes nothing here.
                        if let (Some(was), Some(now)) =
                            (self.acting(ri, shape, m), other.acting(ri, shape, m))
                            && let Some(by) = &was.decided_by
                        {
                            for d in now
                                .directives
                                .iter()
                                .filter(|d| !was.directives.contains(d))
                            {
                                *already.entry((d.clone(), by.clone())).or_default() += 1;
                            }
                        }
                    }
                    if before != after {
                        changes.push(ShapedChange {
                            country: row.country,
                            model: m.clone(),
                            shape: *shape,
                            before,
                            after,
                        });
                    }
                }
            }
        }
        ShapedDiff {
            at: self.at,
            before_version: self.policy_version.clone(),
            after_version: other.policy_version.clone(),
            shapes,
            changes,
            already_refused: already
                .into_iter()
                .map(|((directive, refused_by), cells)| AlreadyRefused {
                    directive,
                    refused_by,
                    cells,
                })
                .collect(),
        }
    }
}

/// The enforced directives of `trace` that refused or limited, and the one
/// that decided.
fn acting_on(policy: &Policy, trace: &Trace, decided_by: Option<u16>) -> Acting {
    let id = |i: u16| {
        policy
            .directives()
            .get(usize::from(i))
            .map(|d| d.id.clone())
    };
    Acting {
        directives: trace
            .consulted()
            .iter()
            .filter(|c| c.effective() != Effect::Allow)
            .filter(|c| {
                policy
                    .directives()
                    .get(usize::from(c.directive))
                    .is_some_and(|d| d.mode == cordon_policy::Mode::Enforced)
            })
            .filter_map(|c| id(c.directive))
            .collect(),
        decided_by: decided_by.and_then(id),
    }
}
