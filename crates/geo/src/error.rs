//! Errors from opening GeoIP databases and looking addresses up.

use std::net::IpAddr;
use std::path::PathBuf;

/// Why a GeoIP database could not be opened or an address could not be looked up.
///
/// An address that a database does not cover is not an error: lookups return an
/// [`crate::IpLocation`] whose fields are all `None`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GeoError {
    /// The database file could not be read (missing, unreadable, a directory).
    #[error("cannot read GeoIP database `{}`: {source}; check the path and its permissions", path.display())]
    Read {
        /// The path that was opened.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a MaxMind DB file (no metadata section, bad search tree, …).
    #[error(
        "GeoIP database `{name}` is not a valid MaxMind DB (.mmdb) file: {source}; expected a file such as `data/geoip/geo-whois-asn-country.mmdb`"
    )]
    NotMmdb {
        /// The database's name: its path, or the name given to [`crate::GeoDatabase::from_bytes`].
        name: String,
        /// What the MaxMind DB reader found wrong.
        #[source]
        source: maxminddb::MaxMindDbError,
    },
    /// The record for an address could not be decoded: the file is corrupt or
    /// its records are not maps in a supported schema.
    #[error(
        "cannot decode the record for `{ip}` in GeoIP database `{database}`: {source}; the file may be corrupt or use an unsupported record schema"
    )]
    Lookup {
        /// The database's name.
        database: String,
        /// The address looked up (after IPv4-mapped normalisation).
        ip: IpAddr,
        /// What the MaxMind DB reader found wrong.
        #[source]
        source: maxminddb::MaxMindDbError,
    },
}
