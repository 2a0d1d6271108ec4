//! Synthetic customer populations for impact simulations and load tests.
//!
//! A compliance officer asks "who loses access when this directive takes
//! effect?" long before real customer data may be copied to a test machine.
//! This crate makes a stand-in: any number of accounts whose subject records
//! (schema: `docs/subjects.md`) have the shape of a real customer base —
//! citizenships in proportion to the world's population, a minority
//! verified, dual nationals, green-card holders, members of a licensed
//! organisation — and that are reproducible from a seed.
//!
//! ```
//! use cordon_population::{Generator, GeneratorOptions, Population};
//!
//! let population = Population::embedded()?;
//! let accounts: Vec<_> = Generator::new(population, GeneratorOptions::new(3, 42))?.collect();
//! assert_eq!(accounts[0].0, "acct-000000001");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Data
//!
//! Country populations are GeoNames' (CC BY 4.0), shipped in
//! `data/population/countries.csv`; `data/population/SOURCE.md` gives the
//! provenance and how to regenerate it. Names are synthetic
//! (`Customer 000000123`, `Company 0042`) and never real people's.
//!
//! # The model
//!
//! Everything below is a **modelling assumption**, tuned to give simulations
//! a plausible and varied mix — not a statement of fact about any provider's
//! customers. [`Shares`] documents each default and why it was chosen; all
//! can be changed.
//!
//! - **Citizenship** is drawn in proportion to population (China and India
//!   about 18 % each, the U.S. about 4 %). A share of people
//!   ([`Shares::dual_citizenship`], 5 %) hold a second citizenship, drawn the
//!   same way but never equal to the first, or the U.S. for
//!   [`Shares::dual_with_us`] (15 %) of them.
//! - **Residence** is one of the person's citizenships for
//!   [`Shares::residence_in_citizenship`] (96 %, after the UN's 3.6 % of
//!   people living outside their country of birth); otherwise another
//!   country, drawn by population.
//! - **U.S. grounds.** Of non-U.S. citizens living in the U.S., 55 % hold a
//!   green card ([`Shares::us_permanent_resident`]) and 5 % of the rest are
//!   protected individuals (refugees, asylees).
//! - **Verification** ([`VerificationMix`]): 40 % `none` — no citizenship
//!   recorded at all (unknown), residence from the billing address; 35 %
//!   `self_declared` — citizenships and residence from the sign-up form, a
//!   green card or refugee status only when the customer has one; 20 %
//!   `document_verified` by a KYC vendor (expiring after three years) and
//!   5 % `attested`. Verified accounts record every ground of U.S.-person
//!   status — `permanent_residencies: []` and `protected_individual: false`
//!   included — so a directive can tell that a verified foreign national is
//!   not a U.S. person. For a quarter of verified dual nationals
//!   ([`Shares::second_citizenship_self_declared`]) the second citizenship
//!   is only self-declared, which leaves their status open.
//! - **Screening.** Every account records `"screening": []`: screened
//!   against the restricted-party lists with no hit. The names are synthetic
//!   and on no list; leaving the field out would make every account never
//!   screened, which is unknown and refused by the restricted-party directive.
//! - **Organisations.** 20 % of people name an employer among
//!   [`GeneratorOptions::organizations`] generated organisations (1,000 by
//!   default, each incorporated in a population-drawn country), with
//!   self-declared membership; 1 % are members of the licensed organisation
//!   (Northwind Labs, the holder of the demo's licence record L-2026-0042)
//!   with membership attested from a licence roster. Membership alone lifts
//!   nothing: a licence covers only the individuals its record names, and
//!   the generator records no licences. 2 % of accounts are organisations themselves
//!   (`kind: "organization"`), whose U.S.-person status follows their
//!   country of incorporation.
//!
//! # Determinism
//!
//! The same population table, options and seed give byte-identical records
//! on every platform: draws use an in-crate xoshiro256** generator and exact
//! integer sampling over population counts. Each record has its own random
//! stream, so the first `n` records of a larger population are the `n`
//! records of a smaller one.
#![deny(missing_docs)]

mod generator;
mod options;
mod rng;
mod table;

pub use generator::{GeneratedOrganization, Generator, account_id};
pub use options::{
    DEFAULT_AS_OF, GeneratorError, GeneratorOptions, LicensedOrganization, Shares, VerificationMix,
};
pub use table::{Country, Population, PopulationError};
