//! Subjects: the customers and organisations that directives are about.
//!
//! Every attribute of a subject carries its provenance (where it came from, how
//! well it was verified, when, and until when), because a directive may accept
//! only document-verified nationality, and because a decision must say which
//! values it used and where they came from.
//!
//! Most customers' nationality is unknown on the day a directive lands, so
//! questions about a subject answer in three-valued [`Truth`], never by guessing.
#![deny(missing_docs)]

mod licence;
mod person;
mod provenance;
mod record;
mod screening;
mod subject;
mod truth;

pub use licence::{
    LICENCE_FIELDS, Licence, LicenceBasis, MAX_ACCOUNT_ID_LEN, MAX_LICENCES, is_account_id,
};
pub use person::{ForeignPersonBasis, ForeignPersonFinding, PersonClass, PersonClasses};
pub use provenance::{Attested, Provenance, VerificationLevel};
pub use record::{RecordError, SubjectRecord};
pub use screening::{
    HitBasis, RestrictedList, Screened, ScreeningHit, ScreeningStatus, bis_affiliates_rule_in_force,
};
pub use subject::{
    Organization, Owner, Percent, Subject, SubjectKind, UsPersonBasis, UsPersonFinding,
};
pub use truth::Truth;
