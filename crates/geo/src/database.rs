//! One MaxMind DB file.

use std::net::IpAddr;
use std::path::Path;

use cordon_jurisdiction::{CountryCode, RegionCode};
use maxminddb::Reader;

use crate::GeoError;
use crate::internal::normalize;
use crate::record::RawRecord;

/// Where an address is, as far as one database (or a [`crate::GeoChain`]) can tell.
///
/// Every field is optional because databases differ in what they know: the free
/// country database has no regions and no anonymiser data, and no database
/// covers private ranges. `None` means *unknown*, never "not X".
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IpLocation {
    /// The ISO 3166-1 country, if the database has a record with a valid code.
    pub country: Option<CountryCode>,
    /// The ISO 3166-2 region, if the database names a subdivision that
    /// [`cordon_jurisdiction::Jurisdictions::embedded`] knows.
    pub region: Option<RegionCode>,
    /// Whether the address is an anonymiser (VPN, proxy, Tor), if the database says.
    pub anonymizer: Option<bool>,
    /// The matched network prefix, e.g. `8.8.0.0/15`, if a record was found.
    pub network: Option<String>,
}

impl IpLocation {
    /// Whether nothing at all is known about the address.
    pub fn is_unknown(&self) -> bool {
        self == &IpLocation::default()
    }
}

/// An IP geolocation database in the [MaxMind DB format](https://maxmind.github.io/MaxMind-DB/),
/// loaded into memory.
///
/// Reads the ip-location-db `{ "country_code": … }` schema and the MaxMind
/// GeoIP2 / GeoLite2 `country` / `subdivisions` / `traits` schema, so a free
/// country file and a licensed region-level file are used the same way.
#[derive(Debug)]
pub struct GeoDatabase {
    reader: Reader<Vec<u8>>,
    name: String,
}

impl GeoDatabase {
    /// Reads a `.mmdb` file into memory; the database is named after its path.
    ///
    /// # Errors
    /// [`GeoError::Read`] if the file cannot be read, [`GeoError::NotMmdb`] if
    /// it is not a MaxMind DB file.
    pub fn open(path: &Path) -> Result<Self, GeoError> {
        let bytes = std::fs::read(path).map_err(|source| GeoError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_bytes(bytes, path.display().to_string())
    }

    /// Parses a database already in memory (e.g. embedded with `include_bytes!`),
    /// giving it a name for errors and for [`crate::ChainLocation`] sources.
    ///
    /// # Errors
    /// [`GeoError::NotMmdb`] if the bytes are not a MaxMind DB file.
    pub fn from_bytes(bytes: Vec<u8>, name: impl Into<String>) -> Result<Self, GeoError> {
        let name = name.into();
        match Reader::from_source(bytes) {
            Ok(reader) => Ok(Self { reader, name }),
            Err(source) => Err(GeoError::NotMmdb { name, source }),
        }
    }

    /// The name given at open: the path, or the name passed to [`Self::from_bytes`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `database_type` from the file's metadata, e.g. `GeoLite2-City`.
    ///
    /// See [the metadata section of the spec](https://maxmind.github.io/MaxMind-DB/#database_type).
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// Whether the file's record schema carries regions (ISO 3166-2
    /// subdivisions), judged from its `database_type` metadata: a City or
    /// Enterprise database (`GeoIP2-City`, `GeoLite2-City`,
    /// `GeoIP2-Enterprise`, `DBIP-City-Lite` …) does; a country database
    /// (`GeoLite2-Country`, the ip-location-db `country ipvAll`) does not.
    ///
    /// Directives that test `request.region` need such a database; start-up
    /// and `cordon check` report those that have none. The metadata speaks for
    /// the whole file, not per country: a City database is taken to provide
    /// regions everywhere, even where its data is thin.
    pub fn provides_regions(&self) -> bool {
        let t = self.database_type().to_ascii_lowercase();
        t.contains("city") || t.contains("enterprise")
    }

    /// When the file was built, in seconds since the Unix epoch (`build_epoch`).
    ///
    /// Geolocation data ages; this lets a decision record which build it used.
    pub fn build_epoch(&self) -> u64 {
        self.reader.metadata().build_epoch
    }

    /// Looks an address up.
    ///
    /// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are looked up as IPv4,
    /// because MaxMind DB files keep IPv4 data only under `::/96` (see
    /// [the spec](https://maxmind.github.io/MaxMind-DB/#ipv4-addresses-in-an-ipv6-tree)).
    /// An address with no record, or an IPv6 address in an IPv4-only file,
    /// gives an [`IpLocation`] with every field `None`.
    ///
    /// This is the database's raw answer, also for private addresses (which a
    /// public database may wrongly place); [`crate::GeoChain`] screens those out.
    ///
    /// # Errors
    /// [`GeoError::Lookup`] if the file is corrupt or the record is not a map
    /// in a supported schema.
    pub fn lookup(&self, ip: IpAddr) -> Result<IpLocation, GeoError> {
        let ip = normalize(ip);
        if ip.is_ipv6() && self.reader.metadata().ip_version == 4 {
            return Ok(IpLocation::default());
        }
        let err = |source| GeoError::Lookup {
            database: self.name.clone(),
            ip,
            source,
        };
        let result = self.reader.lookup(ip).map_err(err)?;
        let Some(record) = result.decode::<RawRecord<'_>>().map_err(err)? else {
            return Ok(IpLocation::default());
        };
        let fields = record.fields();
        let network = result.network().map_err(err)?;
        Ok(IpLocation {
            country: fields.country,
            region: fields.region,
            anonymizer: fields.anonymizer,
            network: Some(network.to_string()),
        })
    }
}
