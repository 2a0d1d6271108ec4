//! Turning options into subject records.

use cordon_jurisdiction::CountryCode;
use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::options::{GeneratorError, GeneratorOptions};
use crate::rng::Rng;
use crate::table::Population;

/// Stream domain of account records.
const RECORDS: u64 = 1;
/// Stream domain of the generated organisations.
const ORGANIZATIONS: u64 = 2;

/// Verifications are dated up to this long before `as_of`: two years.
const VERIFIED_WITHIN_SECONDS: u64 = 730 * 86_400;
/// Document-verified values expire this long after verification: three years.
const DOCUMENT_VALID_SECONDS: i64 = 1095 * 86_400;

/// The account id of the `index`th generated account (from 1): `acct-000000123`.
///
/// Nine digits keep ids sorting in generation order up to a billion accounts;
/// past that they grow, and stay valid account ids.
pub fn account_id(index: u64) -> String {
    format!("acct-{index:09}")
}

/// One of the organisations generated accounts belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedOrganization {
    /// A synthetic name, `Company 0042`.
    pub name: String,
    /// Country of incorporation, drawn by population share.
    pub country: CountryCode,
}

/// An account's overall verification level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    None,
    SelfDeclared,
    DocumentVerified,
    Attested,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::SelfDeclared => "self_declared",
            Level::DocumentVerified => "document_verified",
            Level::Attested => "attested",
        }
    }

    /// Who supplied the account's values at this level.
    fn source(self) -> &'static str {
        match self {
            Level::None => "billing-address",
            Level::SelfDeclared => "signup-form",
            Level::DocumentVerified => "kyc-vendor",
            Level::Attested => "export-compliance desk",
        }
    }

    fn verified(self) -> bool {
        matches!(self, Level::DocumentVerified | Level::Attested)
    }
}

/// Produces `count` synthetic accounts as `(account id, subject record)`.
///
/// Record `n` depends only on the population table, the seed, the shares and
/// `n` itself: a larger count extends a smaller one, and
/// [`record`](Generator::record) gives any record directly (for splitting
/// the work between threads).
#[derive(Debug, Clone)]
pub struct Generator<'p> {
    population: &'p Population,
    options: GeneratorOptions,
    organizations: Vec<GeneratedOrganization>,
    /// The next index to yield, from 1.
    next: u64,
    /// Records still to yield.
    left: u64,
}

impl<'p> Generator<'p> {
    /// Checks the options and generates the organisations.
    ///
    /// # Errors
    /// [`GeneratorError`] when the shares are out of range or inconsistent.
    pub fn new(
        population: &'p Population,
        options: GeneratorOptions,
    ) -> Result<Self, GeneratorError> {
        options.validate()?;
        let width = options.organizations.to_string().len().max(4);
        let organizations = (1..=options.organizations)
            .filter_map(|i| {
                let mut rng = Rng::stream(options.seed, ORGANIZATIONS, u64::from(i));
                Some(GeneratedOrganization {
                    name: format!("Company {i:0width$}"),
                    country: population.draw(&mut rng)?,
                })
            })
            .collect();
        Ok(Generator {
            population,
            left: options.count,
            options,
            organizations,
            next: 1,
        })
    }

    /// The options this generator was made with.
    pub fn options(&self) -> &GeneratorOptions {
        &self.options
    }

    /// The generated organisations (not including the licensed one).
    pub fn organizations(&self) -> &[GeneratedOrganization] {
        &self.organizations
    }

    /// The `index`th account (from 1), whatever the count.
    pub fn record(&self, index: u64) -> (String, Value) {
        let mut rng = Rng::stream(self.options.seed, RECORDS, index);
        (account_id(index), self.subject(index, &mut rng))
    }

    fn level(&self, rng: &mut Rng) -> Level {
        let mix = self.options.shares.verification;
        let u = rng.unit();
        let mut edge = mix.none;
        if u < edge {
            return Level::None;
        }
        edge += mix.self_declared;
        if u < edge {
            return Level::SelfDeclared;
        }
        edge += mix.document_verified;
        if u < edge || mix.attested == 0.0 {
            return Level::DocumentVerified;
        }
        Level::Attested
    }

    fn organization(&self, rng: &mut Rng) -> Option<&GeneratedOrganization> {
        let n = u64::try_from(self.organizations.len()).unwrap_or(0);
        let i = usize::try_from(rng.below(n)).ok()?;
        self.organizations.get(i)
    }

    /// The subject record of account `index`, drawn from `rng`.
    fn subject(&self, index: u64, rng: &mut Rng) -> Value {
        let shares = &self.options.shares;
        let organization_account = rng.chance(shares.organization_account);
        let level = self.level(rng);
        let mut m = Map::new();
        // Synthetic names are on no list: every account is recorded as
        // screened with no hit, as a store's accounts are once lists are
        // imported. Never screened would be unknown, and refused.
        m.insert("screening".into(), Value::Array(Vec::new()));
        m.insert("verification".into(), level.as_str().into());
        m.insert("source".into(), level.source().into());
        if level.verified() {
            let ago = i64::try_from(rng.below(VERIFIED_WITHIN_SECONDS)).unwrap_or(0);
            let at = self.options.as_of.as_second().saturating_sub(ago);
            if let Ok(t) = Timestamp::from_second(at) {
                m.insert("verified_at".into(), t.to_string().into());
            }
            if level == Level::DocumentVerified
                && let Ok(x) = Timestamp::from_second(at.saturating_add(DOCUMENT_VALID_SECONDS))
            {
                m.insert("expires".into(), x.to_string().into());
            }
        }
        if organization_account {
            if let Some(org) = self.organization(rng) {
                m.insert("kind".into(), "organization".into());
                m.insert("name".into(), org.name.clone().into());
                m.insert("residence_country".into(), org.country.as_str().into());
                let mut o = Map::new();
                o.insert("name".into(), org.name.clone().into());
                o.insert("country".into(), org.country.as_str().into());
                m.insert("organization".into(), Value::Object(o));
            }
            return Value::Object(m);
        }
        m.insert("name".into(), format!("Customer {index:09}").into());
        self.person(level, rng, &mut m);
        Value::Object(m)
    }

    /// The attributes of a natural person.
    fn person(&self, level: Level, rng: &mut Rng, m: &mut Map<String, Value>) {
        let shares = &self.options.shares;
        let p = self.population;
        let Some(first) = p.draw(rng) else { return };
        let mut citizenships = vec![first];
        if rng.chance(shares.dual_citizenship) {
            let second = if first != CountryCode::US && rng.chance(shares.dual_with_us) {
                Some(CountryCode::US)
            } else {
                let excluded: Vec<usize> = p.position(first).into_iter().collect();
                p.draw_excluding(rng, &excluded)
            };
            citizenships.extend(second);
        }
        let residence = if rng.chance(shares.residence_in_citizenship) {
            let n = u64::try_from(citizenships.len()).unwrap_or(1);
            usize::try_from(rng.below(n))
                .ok()
                .and_then(|i| citizenships.get(i).copied())
        } else {
            let excluded: Vec<usize> = citizenships.iter().filter_map(|c| p.position(*c)).collect();
            p.draw_excluding(rng, &excluded)
        };
        let foreigner_in_us =
            residence == Some(CountryCode::US) && !citizenships.contains(&CountryCode::US);
        let permanent_resident = foreigner_in_us && rng.chance(shares.us_permanent_resident);
        let protected =
            foreigner_in_us && !permanent_resident && rng.chance(shares.protected_individual);
        let second_self_declared = rng.chance(shares.second_citizenship_self_declared);
        let membership = rng.unit();

        if let Some(r) = residence {
            m.insert("residence_country".into(), r.as_str().into());
        }
        match level {
            // Nothing but a billing address: citizenship stays unknown.
            Level::None => {}
            // A sign-up form asks for citizenship and residence; it records a
            // green card or refugee status only when the customer mentions it.
            Level::SelfDeclared => {
                m.insert("citizenships".into(), codes(&citizenships));
                if permanent_resident {
                    m.insert("permanent_residencies".into(), codes(&[CountryCode::US]));
                }
                if protected {
                    m.insert("protected_individual".into(), true.into());
                }
            }
            // A verified account records every ground of U.S.-person status,
            // empty lists and `false` included, so the status is determinable.
            Level::DocumentVerified | Level::Attested => {
                let mut list: Vec<Value> = citizenships
                    .iter()
                    .map(|c| Value::from(c.as_str()))
                    .collect();
                if second_self_declared
                    && let Some(Value::String(code)) = list.get(1).cloned()
                    && let Some(slot) = list.get_mut(1)
                {
                    let mut o = Map::new();
                    o.insert("country".into(), code.into());
                    o.insert("verification".into(), "self_declared".into());
                    o.insert("source".into(), "signup-form".into());
                    *slot = Value::Object(o);
                }
                m.insert("citizenships".into(), Value::Array(list));
                let lpr: &[CountryCode] = if permanent_resident {
                    &[CountryCode::US]
                } else {
                    &[]
                };
                m.insert("permanent_residencies".into(), codes(lpr));
                m.insert("protected_individual".into(), protected.into());
            }
        }
        let licensed = &self.options.licensed_organization;
        if membership < shares.licensed_member {
            let mut o = Map::new();
            o.insert("name".into(), licensed.name.clone().into());
            o.insert("country".into(), licensed.country.as_str().into());
            o.insert("verification".into(), "attested".into());
            o.insert("source".into(), "licence roster".into());
            m.insert("organization".into(), Value::Object(o));
        } else if membership < shares.licensed_member + shares.organization_member
            && let Some(org) = self.organization(rng)
        {
            let mut o = Map::new();
            o.insert("name".into(), org.name.clone().into());
            o.insert("country".into(), org.country.as_str().into());
            o.insert("verification".into(), "self_declared".into());
            o.insert("source".into(), "signup-form".into());
            m.insert("organization".into(), Value::Object(o));
        }
    }
}

fn codes(list: &[CountryCode]) -> Value {
    Value::Array(list.iter().map(|c| Value::from(c.as_str())).collect())
}

impl Iterator for Generator<'_> {
    type Item = (String, Value);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let item = self.record(self.next);
        self.left -= 1;
        self.next = self.next.saturating_add(1);
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match usize::try_from(self.left) {
            Ok(n) => (n, Some(n)),
            Err(_) => (usize::MAX, None),
        }
    }
}

#[cfg(test)]
mod tests;
