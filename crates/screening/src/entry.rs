//! A restricted-party list entry, as every list format is read into.

use cordon_jurisdiction::CountryCode;
use cordon_subject::RestrictedList;
use sha2::{Digest, Sha256};

/// What kind of party an entry names.
///
/// Vessels and aircraft are kept apart so that a person's name never matches
/// a ship's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A natural person.
    Individual,
    /// A company, organisation or other legal person.
    Entity,
    /// A ship.
    Vessel,
    /// An aircraft.
    Aircraft,
}

/// How a name is attached to its entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameKind {
    /// The entry's primary name.
    Primary,
    /// "also known as" (strong alias).
    Aka,
    /// "formerly known as".
    Fka,
    /// "now known as".
    Nka,
    /// A weak alias: OFAC puts these only in the Remarks column
    /// (`a.k.a. 'LOCKBITSUPP'`), not in the alias file.
    Weak,
}

/// One name of an entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EntryName {
    /// The name as the list writes it, e.g. `KARADZIC, Radovan`.
    pub text: String,
    /// How it is attached.
    pub kind: NameKind,
}

/// One address of an entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Address {
    /// Street, city and postal parts joined as the list gives them.
    pub text: String,
    /// The country as the list writes it, e.g. `Korea, North`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// One party on one restricted list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ListEntry {
    /// The list the entry is on.
    pub list: RestrictedList,
    /// The list's own id for the entry: the OFAC `ent_num`, the CSL `_id`, or
    /// for lists without ids (the DPL text file) a stable id derived from the row.
    pub uid: String,
    /// Person, organisation, vessel or aircraft.
    pub kind: EntryKind,
    /// Every name; `names[0]` is the primary name.
    pub names: Vec<EntryName>,
    /// Sanctions programs, e.g. `SDGT`, `RUSSIA-EO14024`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub programs: Vec<String>,
    /// Addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
    /// Countries the entry is tied to (addresses, nationality, citizenship,
    /// place of birth, vessel flag), as ISO codes, sorted and deduplicated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<CountryCode>,
    /// Years of birth (individuals), sorted and deduplicated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub birth_years: Vec<u16>,
    /// The list's remarks, joined with any overflow comments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remarks: Option<String>,
}

impl ListEntry {
    /// The primary name.
    pub fn primary_name(&self) -> &str {
        self.names.first().map_or("", |n| n.text.as_str())
    }

    /// A SHA-256 over the entry's canonical JSON.
    ///
    /// A reviewer's disposition is recorded against this version: when OFAC
    /// changes an entry (a new alias, a new address), its version changes and
    /// the hit is reviewed again.
    pub fn version(&self) -> [u8; 32] {
        // Serialising plain strings, numbers and enums to a Vec cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
        Sha256::digest(&json).into()
    }

    /// [`ListEntry::version`] as lowercase hex.
    pub fn version_hex(&self) -> String {
        hex(&self.version())
    }
}

/// Lowercase hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
