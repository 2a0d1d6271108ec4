//! Which rules need a region from IP geolocation, and which of those a
//! deployment's databases cannot serve.
//!
//! Sanctions name regions (Crimea is `UA-43` and `UA-40`), but a country-only
//! GeoIP database never supplies one: `request.location in [UA-43]` is then
//! unknown for every Ukrainian address and false everywhere else, so the rule
//! is barely enforced at all, silently. Start-up and `cordon check` use this
//! module to say so before any request is decided.

use cordon_jurisdiction::{CountryCode, CountrySet};

use crate::directive::Mode;
use crate::policy::Policy;

/// A rule whose condition tests the request's region in some countries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RegionNeed {
    /// The directive's id.
    pub directive: String,
    /// The rule's id.
    pub rule: String,
    /// The directive's mode (only `shadow` and `enforced` are listed).
    pub mode: Mode,
    /// The countries whose regions the rule tests, in code order.
    pub countries: Vec<CountryCode>,
    /// The countries whose gap the directive itself accepts
    /// (`accept_missing_regions` in its file).
    #[serde(skip)]
    pub accepted: CountrySet,
}

impl Policy {
    /// Every rule of a shadow or enforced directive that tests
    /// `request.region` or `request.location` against regions, with the
    /// countries those regions lie in. Draft and retired directives are never
    /// consulted, so they need nothing.
    pub fn region_needs(&self) -> Vec<RegionNeed> {
        let mut out = Vec::new();
        for d in self.directives() {
            if !matches!(d.mode, Mode::Shadow | Mode::Enforced) {
                continue;
            }
            for r in &d.rules {
                let mut countries = CountrySet::EMPTY;
                r.expr.request_region_countries(&mut countries);
                if !countries.is_empty() {
                    out.push(RegionNeed {
                        directive: d.id.clone(),
                        rule: r.id.clone(),
                        mode: d.mode,
                        countries: countries.iter().collect(),
                        accepted: d.accept_missing_regions,
                    });
                }
            }
        }
        out
    }
}

impl RegionNeed {
    /// The countries whose gap is accepted for this need: by the operator
    /// (`operator`, the configuration's list) or by the directive itself.
    pub fn accepted_with(&self, operator: &CountrySet) -> CountrySet {
        let mut all = self.accepted;
        for c in operator.iter() {
            all.insert(c);
        }
        all
    }

    /// The countries of this need that no database provides regions for and
    /// that the operator has not accepted to leave without (`accepted`).
    pub fn missing(
        &self,
        provides: impl Fn(CountryCode) -> bool,
        accepted: &CountrySet,
    ) -> Vec<CountryCode> {
        self.countries
            .iter()
            .copied()
            .filter(|c| !provides(*c) && !accepted.contains(*c))
            .collect()
    }
}
