//! Country and region codes.

use std::fmt;

/// An ISO 3166-1 alpha-2 country code, syntactically valid (two ASCII letters, upper case).
///
/// Whether the code is *assigned* is a question for [`crate::Jurisdictions`]; this
/// type only guarantees the shape, so it can index a [`crate::CountrySet`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountryCode([u8; 2]);

/// An ISO 3166-2 subdivision code such as `UA-43`: a country code, a hyphen and
/// one to three ASCII letters or digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionCode {
    country: CountryCode,
    subdivision: [u8; 3],
    len: u8,
}

/// Why a string is not a country or region code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Not two ASCII letters.
    #[error("`{0}` is not an ISO 3166-1 alpha-2 country code (expected two letters, e.g. `DE`)")]
    Country(String),
    /// Not `CC-XXX`.
    #[error(
        "`{0}` is not an ISO 3166-2 region code (expected a country code, `-` and 1-3 letters or digits, e.g. `UA-43`)"
    )]
    Region(String),
}

impl CountryCode {
    /// The number of distinct syntactically valid codes (26 × 26).
    pub const SPACE: usize = 26 * 26;

    /// Parses a code, accepting lower case and surrounding whitespace.
    ///
    /// # Errors
    /// Returns [`CodeError::Country`] unless the trimmed input is two ASCII letters.
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        match s.trim().as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Ok(Self([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => Err(CodeError::Country(s.to_owned())),
        }
    }

    /// The code as upper-case text.
    pub fn as_str(&self) -> &str {
        // INVARIANT: both bytes are ASCII letters, checked in `parse`.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// A dense index in `0..SPACE`, used by bitsets.
    pub fn index(self) -> usize {
        usize::from(self.0[0] - b'A') * 26 + usize::from(self.0[1] - b'A')
    }

    /// The code at a dense index, if the index is in range.
    pub fn from_index(index: usize) -> Option<Self> {
        if index >= Self::SPACE {
            return None;
        }
        let a = u8::try_from(index / 26).ok()?;
        let b = u8::try_from(index % 26).ok()?;
        Some(Self([b'A' + a, b'A' + b]))
    }

    /// The United States, which the U.S.-person rules single out.
    pub const US: CountryCode = CountryCode(*b"US");
}

impl RegionCode {
    /// Parses a code such as `ua-43`, normalising case.
    ///
    /// # Errors
    /// Returns [`CodeError::Region`] unless the input is `CC-` and 1-3 letters or digits.
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        let err = || CodeError::Region(s.to_owned());
        let t = s.trim();
        let (cc, sub) = t.split_once('-').ok_or_else(err)?;
        let country = CountryCode::parse(cc).map_err(|_| err())?;
        let bytes = sub.as_bytes();
        if bytes.is_empty() || bytes.len() > 3 || !bytes.iter().all(u8::is_ascii_alphanumeric) {
            return Err(err());
        }
        let mut subdivision = [0u8; 3];
        for (slot, b) in subdivision.iter_mut().zip(bytes) {
            *slot = b.to_ascii_uppercase();
        }
        Ok(Self {
            country,
            subdivision,
            len: u8::try_from(bytes.len()).map_err(|_| err())?,
        })
    }

    /// The country the region belongs to (the code's prefix).
    pub fn country(&self) -> CountryCode {
        self.country
    }

    /// The subdivision part after the hyphen.
    pub fn subdivision(&self) -> &str {
        let part = self
            .subdivision
            .get(..usize::from(self.len))
            .unwrap_or_default();
        // INVARIANT: bytes are ASCII alphanumerics, checked in `parse`.
        std::str::from_utf8(part).unwrap_or("?")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&format!("{}-{}", self.country.as_str(), self.subdivision()))
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for CountryCode {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl std::str::FromStr for RegionCode {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for CountryCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for CountryCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for RegionCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for RegionCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_normalises() {
        assert_eq!(CountryCode::parse(" ir ").unwrap().as_str(), "IR");
        assert_eq!(RegionCode::parse("ua-43").unwrap().to_string(), "UA-43");
        assert_eq!(RegionCode::parse("UA-43").unwrap().country().as_str(), "UA");
        assert!(CountryCode::parse("USA").is_err());
        assert!(CountryCode::parse("1A").is_err());
        assert!(RegionCode::parse("UA43").is_err());
        assert!(RegionCode::parse("UA-").is_err());
        assert!(RegionCode::parse("UA-1234").is_err());
    }

    proptest! {
        #[test]
        fn index_round_trips(i in 0usize..CountryCode::SPACE) {
            let c = CountryCode::from_index(i).unwrap();
            prop_assert_eq!(c.index(), i);
            prop_assert_eq!(CountryCode::parse(c.as_str()).unwrap(), c);
        }

        #[test]
        fn parse_never_panics_and_round_trips(s in "\\PC{0,8}") {
            if let Ok(c) = CountryCode::parse(&s) {
                prop_assert_eq!(CountryCode::parse(&c.to_string()).unwrap(), c);
            }
            if let Ok(r) = RegionCode::parse(&s) {
                prop_assert_eq!(RegionCode::parse(&r.to_string()).unwrap(), r);
            }
        }
    }
}
