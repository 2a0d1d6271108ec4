//! The JSON shape of a hit, shared by `cordon screen` and `POST /v1/screen`.

use cordon_jurisdiction::CountryCode;
use cordon_subject::RestrictedList;

use crate::screener::{Explanation, Hit, Screener};
use crate::{EntryKind, NameKind};

/// A hit with the entry it points at, ready to serialise.
///
/// `score`, `list`, `uid` and `name` (the entry's primary name) are the stable
/// fields tools key on; the rest tells a reviewer which name matched and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HitView<'a> {
    /// How well the query matched, from 0 to 1.
    pub score: f64,
    /// The list the entry is on.
    pub list: RestrictedList,
    /// The list's own id for the entry, e.g. the SDN `ent_num`.
    pub uid: &'a str,
    /// The entry's primary name.
    pub name: &'a str,
    /// The entry name that matched (the primary name or an alias).
    pub matched_name: &'a str,
    /// How the matched name is attached to the entry.
    pub matched_name_kind: NameKind,
    /// Person, organisation, vessel or aircraft.
    pub kind: EntryKind,
    /// Sanctions programs.
    pub programs: &'a [String],
    /// Countries the entry is tied to.
    pub countries: &'a [CountryCode],
    /// The entry's version; reviewer dispositions are kept against it.
    pub entry_version: String,
    /// Token-by-token alignment and adjustments.
    pub explanation: &'a Explanation,
}

impl Screener {
    /// The serialisable view of `hit`, or `None` if it does not come from this screener.
    pub fn view<'a>(&'a self, hit: &'a Hit) -> Option<HitView<'a>> {
        let entry = self.entries().get(hit.entry)?;
        let matched = entry.names.get(hit.name)?;
        Some(HitView {
            score: (hit.score * 1000.0).round() / 1000.0,
            list: entry.list,
            uid: &entry.uid,
            name: entry.primary_name(),
            matched_name: &matched.text,
            matched_name_kind: matched.kind,
            kind: entry.kind,
            programs: &entry.programs,
            countries: &entry.countries,
            entry_version: entry.version_hex(),
            explanation: &hit.explanation,
        })
    }
}
