//! Several databases consulted in order, plus the mapping of internal addresses.

use std::net::IpAddr;

use cordon_jurisdiction::CountryCode;

use crate::internal::{is_internal, normalize};
use crate::{GeoDatabase, GeoError, IpLocation};

/// Databases consulted in order of preference, e.g. a licensed region-level
/// database first and the free country database after it.
///
/// No single database is both free and region-aware, and embargoes name
/// regions (Crimea, `UA-43`), so deployments layer them:
///
/// - the **country** comes from the first database that gives one;
/// - the **region** comes only from a database whose country agrees with that
///   country (a region from a database that disagrees on the country would
///   make an incoherent location);
/// - the **anonymiser** flag is `Some(true)` if any database says so, else
///   `Some(false)` if any says not, else unknown.
///
/// Loopback, private and link-local addresses (see [`crate::is_internal`]) are
/// never looked up: they are unknown unless [`Self::with_internal_country`]
/// places them. Public databases are not to be trusted on them: the
/// ip-location-db country file returns `AU` for `172.16.0.0/12` and
/// `192.168.0.0/16`.
#[derive(Debug, Default)]
pub struct GeoChain {
    databases: Vec<GeoDatabase>,
    /// Where internal addresses are (unknown if `None`).
    internal: Option<CountryCode>,
}

/// A chain lookup's answer, with the database that supplied each field.
///
/// Decisions are audited, so "located in `IR`" must say according to which file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChainLocation {
    /// The combined location.
    pub location: IpLocation,
    /// The database that supplied the country and the network.
    pub source: Option<String>,
    /// The database that supplied the region.
    pub region_source: Option<String>,
    /// The database that supplied the anonymiser flag.
    pub anonymizer_source: Option<String>,
    /// Whether the address is internal (see [`crate::is_internal`]), located
    /// by [`GeoChain::with_internal_country`] without consulting any database.
    pub internal: bool,
}

impl GeoChain {
    /// A chain over `databases`, most preferred first.
    pub fn new(databases: Vec<GeoDatabase>) -> Self {
        Self {
            databases,
            internal: None,
        }
    }

    /// Locates internal addresses (loopback, RFC 1918, `fc00::/7`, link-local)
    /// in `country`, or leaves them unknown if `None` (the default).
    ///
    /// A gateway's own health checks and a corporate network's clients come
    /// from such addresses, which GeoIP databases do not cover reliably; the
    /// operator knows where they are. The databases are never consulted for
    /// internal addresses, whatever this is set to.
    #[must_use]
    pub fn with_internal_country(mut self, country: Option<CountryCode>) -> Self {
        self.internal = country;
        self
    }

    /// The databases, most preferred first.
    pub fn databases(&self) -> &[GeoDatabase] {
        &self.databases
    }

    /// Whether any database in the chain provides regions
    /// ([`GeoDatabase::provides_regions`]): without one, every region is unknown.
    pub fn provides_regions(&self) -> bool {
        self.databases.iter().any(GeoDatabase::provides_regions)
    }

    /// Looks an address up in every database and combines the answers.
    ///
    /// IPv4-mapped IPv6 addresses are treated as IPv4 throughout.
    ///
    /// # Errors
    /// The first [`GeoError::Lookup`] from any database: a corrupt database is
    /// reported, not skipped, so a broken licensed file cannot silently
    /// degrade the chain to country level.
    pub fn lookup(&self, ip: IpAddr) -> Result<ChainLocation, GeoError> {
        let ip = normalize(ip);
        if is_internal(ip) {
            return Ok(ChainLocation {
                location: IpLocation {
                    country: self.internal,
                    ..IpLocation::default()
                },
                internal: true,
                ..ChainLocation::default()
            });
        }

        let answers = self
            .databases
            .iter()
            .map(|db| Ok((db.name(), db.lookup(ip)?)))
            .collect::<Result<Vec<_>, GeoError>>()?;

        let mut out = ChainLocation::default();
        if let Some((name, loc)) = answers.iter().find(|(_, l)| l.country.is_some()) {
            out.location.country = loc.country;
            out.location.network.clone_from(&loc.network);
            out.source = Some((*name).to_owned());
        } else if let Some((_, loc)) = answers.iter().find(|(_, l)| l.network.is_some()) {
            out.location.network.clone_from(&loc.network);
        }
        if let Some((name, loc)) = answers.iter().find(|(_, l)| {
            l.region.is_some() && l.country.is_some() && l.country == out.location.country
        }) {
            out.location.region = loc.region;
            out.region_source = Some((*name).to_owned());
        }
        let flagged = answers
            .iter()
            .find(|(_, l)| l.anonymizer == Some(true))
            .or_else(|| answers.iter().find(|(_, l)| l.anonymizer == Some(false)));
        if let Some((name, loc)) = flagged {
            out.location.anonymizer = loc.anonymizer;
            out.anonymizer_source = Some((*name).to_owned());
        }
        Ok(out)
    }
}
