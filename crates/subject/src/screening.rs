//! Restricted-party screening status as a subject attribute.

use std::fmt;

/// A U.S. restricted-party list, by its Consolidated Screening List source code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RestrictedList {
    /// OFAC Specially Designated Nationals and Blocked Persons.
    Sdn,
    /// BIS Entity List.
    El,
    /// BIS Denied Persons List.
    Dpl,
    /// BIS Unverified List.
    Uvl,
    /// BIS Military End User List.
    Meu,
    /// State Department Nonproliferation Sanctions.
    Isn,
    /// State Department ITAR Debarred.
    Dtc,
    /// OFAC CAPTA List.
    Cap,
    /// OFAC Non-SDN Chinese Military-Industrial Complex Companies List.
    Cmic,
    /// OFAC Sectoral Sanctions Identifications List.
    Ssi,
    /// OFAC Foreign Sanctions Evaders.
    Fse,
    /// OFAC Palestinian Legislative Council List.
    Plc,
    /// OFAC Non-SDN Menu-Based Sanctions List.
    Mbs,
}

impl RestrictedList {
    /// Every list, in code order of declaration.
    pub const ALL: [RestrictedList; 13] = [
        RestrictedList::Sdn,
        RestrictedList::El,
        RestrictedList::Dpl,
        RestrictedList::Uvl,
        RestrictedList::Meu,
        RestrictedList::Isn,
        RestrictedList::Dtc,
        RestrictedList::Cap,
        RestrictedList::Cmic,
        RestrictedList::Ssi,
        RestrictedList::Fse,
        RestrictedList::Plc,
        RestrictedList::Mbs,
    ];

    /// The CSL source code, e.g. `SDN`.
    pub fn code(self) -> &'static str {
        match self {
            RestrictedList::Sdn => "SDN",
            RestrictedList::El => "EL",
            RestrictedList::Dpl => "DPL",
            RestrictedList::Uvl => "UVL",
            RestrictedList::Meu => "MEU",
            RestrictedList::Isn => "ISN",
            RestrictedList::Dtc => "DTC",
            RestrictedList::Cap => "CAP",
            RestrictedList::Cmic => "CMIC",
            RestrictedList::Ssi => "SSI",
            RestrictedList::Fse => "FSE",
            RestrictedList::Plc => "PLC",
            RestrictedList::Mbs => "MBS",
        }
    }

    /// Parses a code, case-insensitively.
    pub fn parse(s: &str) -> Option<RestrictedList> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(s))
    }

    /// A bit for this list in a `u16` mask.
    #[inline]
    pub fn bit(self) -> u16 {
        1u16 << (self as u16)
    }
}

impl fmt::Display for RestrictedList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for RestrictedList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for RestrictedList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RestrictedList::parse(&s).ok_or_else(|| {
            let codes: Vec<&str> = RestrictedList::ALL.iter().map(|l| l.code()).collect();
            serde::de::Error::custom(format!(
                "unknown list `{s}`, expected one of {}",
                codes.join(", ")
            ))
        })
    }
}

/// Where a screening hit stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScreeningStatus {
    /// A possible match awaiting a reviewer.
    Pending,
    /// A reviewer confirmed the subject is the listed party.
    Confirmed,
    /// A reviewer cleared the hit as a false positive.
    Cleared,
}

/// One screening hit on record for a subject.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreeningHit {
    /// The list the matched entry is on.
    pub list: RestrictedList,
    /// Review status.
    pub status: ScreeningStatus,
    /// The list's own id for the entry (e.g. the SDN `ent_num`), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
}
