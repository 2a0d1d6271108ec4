//! Where a client connects from: IP address to country, region and anonymiser flag.
//!
//! Export controls and sanctions name places, so the gateway must turn the peer
//! address of each request into an ISO 3166-1 country and, where a database can
//! tell, an ISO 3166-2 region (Crimea, `UA-43`, is embargoed while the rest of
//! Ukraine is not). Lookups read [MaxMind DB] files (`.mmdb`) in either of two
//! record schemas:
//!
//! - the [ip-location-db] schema, `{ "country_code": "US" }` (country only), as in
//!   the free `geo-whois-asn-country` file shipped in `data/geoip/`;
//! - the MaxMind [GeoIP2 / GeoLite2] schema: `country.iso_code`,
//!   `subdivisions[0].iso_code` and the `traits` anonymiser flags.
//!
//! A [`GeoChain`] combines several databases (a licensed region-level database
//! first, the free country database as a fallback) and maps loopback and
//! private addresses to a configured country without consulting any database.
//!
//! An address the databases do not cover is *unknown* (every field `None`), not
//! an error: what to do with unknown locations is a policy decision, made
//! elsewhere. Only an unreadable file or an undecodable record is an error.
//!
//! ```
//! use std::path::Path;
//! use cordon_geo::{GeoChain, GeoDatabase};
//! use cordon_jurisdiction::CountryCode;
//!
//! # fn main() -> Result<(), cordon_geo::GeoError> {
//! # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/geoip/geo-whois-asn-country.mmdb");
//! let free = GeoDatabase::open(Path::new(path))?;
//! let chain = GeoChain::new(vec![free]).with_internal_country(Some(CountryCode::US));
//!
//! let found = chain.lookup("::ffff:175.45.176.1".parse().unwrap())?;
//! assert_eq!(found.location.country.map(|c| c.to_string()).as_deref(), Some("KP"));
//! assert_eq!(found.location.region, None); // the free file is country-only
//!
//! let local = chain.lookup("127.0.0.1".parse().unwrap())?;
//! assert_eq!(local.location.country, Some(CountryCode::US));
//! assert!(local.internal);
//! # Ok(())
//! # }
//! ```
//!
//! [MaxMind DB]: https://maxmind.github.io/MaxMind-DB/
//! [ip-location-db]: https://github.com/sapics/ip-location-db
//! [GeoIP2 / GeoLite2]: https://dev.maxmind.com/geoip/docs/databases/city-and-country
#![deny(missing_docs)]

mod chain;
mod database;
mod error;
mod internal;
mod record;

pub use chain::{ChainLocation, GeoChain};
pub use database::{GeoDatabase, IpLocation};
pub use error::GeoError;
pub use internal::{is_internal, normalize};
