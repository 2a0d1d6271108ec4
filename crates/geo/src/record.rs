//! The record schemas a GeoIP database may use, decoded into one shape.
//!
//! See the [MaxMind DB data section spec](https://maxmind.github.io/MaxMind-DB/#output-data-section)
//! for how records are encoded; only the fields below are read, every other
//! field is skipped without being expanded.

use std::fmt;
use std::marker::PhantomData;

use cordon_jurisdiction::{CountryCode, Jurisdictions, RegionCode};
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};

/// The union of the fields Cordon reads from the supported schemas.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawRecord<'a> {
    /// ip-location-db schema: `{ "country_code": "US" }`.
    #[serde(borrow, default)]
    country_code: Option<&'a str>,
    /// GeoIP2 / GeoLite2 schema: `country.iso_code`.
    #[serde(borrow, default)]
    country: Option<RawIso<'a>>,
    /// GeoIP2 / GeoLite2 City schema: `subdivisions[0].iso_code` (largest first).
    #[serde(borrow, default)]
    subdivisions: Option<First<RawIso<'a>>>,
    /// GeoIP2 / GeoLite2 schema: `traits.is_anonymous_proxy`, `traits.is_anonymous`.
    #[serde(default)]
    traits: Option<RawTraits>,
    /// GeoIP2 Anonymous IP schema: a top-level `is_anonymous`.
    #[serde(default)]
    is_anonymous: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
struct RawIso<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

#[derive(Debug, Default, Deserialize)]
struct RawTraits {
    #[serde(default)]
    is_anonymous_proxy: Option<bool>,
    #[serde(default)]
    is_anonymous: Option<bool>,
}

/// The fields of one record, validated.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Fields {
    pub(crate) country: Option<CountryCode>,
    pub(crate) region: Option<RegionCode>,
    pub(crate) anonymizer: Option<bool>,
}

impl RawRecord<'_> {
    /// Validates the record: a country code must be two letters, a region must
    /// be one that [`Jurisdictions::embedded`] knows, else the field is unknown.
    pub(crate) fn fields(&self) -> Fields {
        let country = self
            .country
            .as_ref()
            .and_then(|c| c.iso_code)
            .or(self.country_code)
            .and_then(|s| CountryCode::parse(s).ok());
        let region = country.and_then(|c| {
            let sub = self.subdivisions.as_ref()?.0.as_ref()?.iso_code?;
            let region = RegionCode::parse(&format!("{c}-{sub}")).ok()?;
            // Only regions the jurisdiction tables name can be matched by a
            // directive; an unknown one would silently match nothing, so it
            // is dropped and the location stays country-level.
            let known = Jurisdictions::embedded().is_ok_and(|j| j.is_region(region));
            known.then_some(region)
        });
        let flags = [
            self.traits.as_ref().and_then(|t| t.is_anonymous_proxy),
            self.traits.as_ref().and_then(|t| t.is_anonymous),
            self.is_anonymous,
        ];
        Fields {
            country,
            region,
            anonymizer: any_flag(flags),
        }
    }
}

/// `Some(true)` if any flag is set, `Some(false)` if all present flags are
/// clear, `None` if the record says nothing.
pub(crate) fn any_flag(flags: impl IntoIterator<Item = Option<bool>>) -> Option<bool> {
    flags.into_iter().flatten().reduce(|a, b| a || b)
}

/// The first element of an array; the rest are skipped without allocating.
#[derive(Debug, Default)]
struct First<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for First<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FirstVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for FirstVisitor<T> {
            type Value = First<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<First<T>, A::Error> {
                let first = seq.next_element::<T>()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }
        }
        d.deserialize_seq(FirstVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_combine() {
        assert_eq!(any_flag([None, None]), None);
        assert_eq!(any_flag([Some(false), None]), Some(false));
        assert_eq!(any_flag([Some(false), Some(true)]), Some(true));
    }

    #[test]
    fn fields_validate_codes() {
        let rec = RawRecord {
            country: Some(RawIso {
                iso_code: Some("ua"),
            }),
            subdivisions: Some(First(Some(RawIso {
                iso_code: Some("43"),
            }))),
            ..RawRecord::default()
        };
        let f = rec.fields();
        assert_eq!(f.country.unwrap().as_str(), "UA");
        assert_eq!(f.region.unwrap().to_string(), "UA-43");

        // A subdivision the tables do not know is dropped, the country kept.
        let rec = RawRecord {
            country: Some(RawIso {
                iso_code: Some("UA"),
            }),
            subdivisions: Some(First(Some(RawIso {
                iso_code: Some("99"),
            }))),
            ..RawRecord::default()
        };
        assert_eq!(rec.fields().region, None);
        assert_eq!(rec.fields().country.unwrap().as_str(), "UA");

        // Pseudo-codes such as MaxMind's legacy `A1` are not countries.
        let rec = RawRecord {
            country_code: Some("A1"),
            ..RawRecord::default()
        };
        assert_eq!(rec.fields(), Fields::default());
    }
}
