//! Integration tests for `cordon-geo`: the shipped country database, the
//! GeoIP2 schema on tiny generated files, chains, and errors.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers and the test-only MMDB writer fail loudly on bad fixtures"
)]

#[path = "support/mmdb_writer.rs"]
mod mmdb_writer;

use std::net::IpAddr;
use std::path::Path;

use cordon_geo::{GeoChain, GeoDatabase, GeoError, IpLocation};
use cordon_jurisdiction::CountryCode;
use mmdb_writer::{Value, Writer, map};

const COUNTRY_DB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/geoip/geo-whois-asn-country.mmdb"
);

fn country_db() -> GeoDatabase {
    GeoDatabase::open(Path::new(COUNTRY_DB)).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn cc(s: &str) -> CountryCode {
    CountryCode::parse(s).unwrap()
}

/// A GeoIP2 City-style record: country, optional first subdivision, traits.
fn city(
    country: &'static str,
    subdivision: Option<&'static str>,
    traits: Vec<(&'static str, Value)>,
) -> Value {
    let mut fields = vec![("country", map(vec![("iso_code", Value::Str(country))]))];
    if let Some(sub) = subdivision {
        fields.push((
            "subdivisions",
            Value::Array(vec![
                map(vec![
                    ("iso_code", Value::Str(sub)),
                    ("geoname_id", Value::U32(1)),
                ]),
                map(vec![("iso_code", Value::Str("ZZZ"))]),
            ]),
        ));
    }
    if !traits.is_empty() {
        fields.push(("traits", map(traits)));
    }
    fields.push((
        "city",
        map(vec![("names", map(vec![("en", Value::Str("X"))]))]),
    ));
    map(fields)
}

fn from_writer(w: &Writer, name: &str) -> GeoDatabase {
    GeoDatabase::from_bytes(w.to_bytes(), name).unwrap()
}

// --- the shipped ip-location-db country file (data/geoip/SOURCES.md) ---

#[test]
fn sample_lookups_match_sources_table() {
    let db = country_db();
    for (addr, country, network) in [
        ("8.8.8.8", "US", "8.8.0.0/15"),
        ("175.45.176.1", "KP", "175.45.176.0/22"),
        ("152.206.0.1", "CU", "152.206.0.0/18"),
        ("2.144.0.1", "IR", "2.144.0.0/14"),
        ("5.0.0.1", "SY", "5.0.0.0/16"),
        ("2.60.0.1", "RU", "2.60.0.0/14"),
        ("5.100.192.1", "BY", "5.100.192.0/19"),
        ("176.104.32.1", "UA", "176.104.0.0/18"),
        ("2001:4860:4860::8888", "US", "2001:4860::/32"),
    ] {
        let loc = db.lookup(ip(addr)).unwrap();
        assert_eq!(
            loc,
            IpLocation {
                country: Some(cc(country)),
                region: None,
                anonymizer: None,
                network: Some(network.to_owned()),
            },
            "{addr}"
        );
    }
}

#[test]
fn ipv4_mapped_ipv6_is_normalised() {
    let db = country_db();
    let loc = db.lookup(ip("::ffff:8.8.8.8")).unwrap();
    assert_eq!(loc.country, Some(CountryCode::US));
    assert_eq!(loc.network.as_deref(), Some("8.8.0.0/15"));
    assert_eq!(loc, db.lookup(ip("8.8.8.8")).unwrap());
}

#[test]
fn loopback_and_10_slash_8_have_no_record() {
    let db = country_db();
    for addr in [
        "10.0.0.1",
        "127.0.0.1",
        "169.254.1.1",
        "::1",
        "fd00::1",
        "fe80::1",
    ] {
        let loc = db.lookup(ip(addr)).unwrap();
        assert!(loc.is_unknown(), "{addr}: {loc:?}");
    }
}

/// Regression: the free file places some private and documentation ranges
/// (from registry data) in a country. `GeoChain` must not pass these through.
#[test]
fn country_file_wrongly_places_some_private_ranges() {
    let db = country_db();
    for (addr, country, network) in [
        ("172.16.0.1", "AU", "172.16.0.0/12"),
        ("192.168.1.2", "AU", "192.168.0.0/16"),
        ("2001:db8::1", "JP", "2001:db8::/32"),
    ] {
        let loc = db.lookup(ip(addr)).unwrap();
        assert_eq!(loc.country, Some(cc(country)), "{addr}");
        assert_eq!(loc.network.as_deref(), Some(network), "{addr}");
    }
    let chain = GeoChain::new(vec![country_db()]);
    for addr in ["172.16.0.1", "192.168.1.2"] {
        let got = chain.lookup(ip(addr)).unwrap();
        assert!(got.location.is_unknown() && got.internal, "{addr}: {got:?}");
    }
}

#[test]
fn metadata_identifies_the_build() {
    let db = country_db();
    assert_eq!(db.database_type(), "country ipvAll");
    assert!(
        !db.provides_regions(),
        "the shipped database is country-only"
    );
    assert_eq!(db.build_epoch(), 1_781_725_900);
    assert!(db.name().ends_with("geo-whois-asn-country.mmdb"));
}

// --- errors ---

#[test]
fn missing_file_names_the_path() {
    let path = Path::new("/nonexistent/cordon/GeoLite2-City.mmdb");
    let err = GeoDatabase::open(path).unwrap_err();
    assert!(matches!(err, GeoError::Read { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("cannot read GeoIP database `/nonexistent/cordon/GeoLite2-City.mmdb`"),
        "{msg}"
    );
}

#[test]
fn non_mmdb_file_names_the_path() {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
    let err = GeoDatabase::open(path).unwrap_err();
    assert!(matches!(err, GeoError::NotMmdb { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "GeoIP database `{}` is not a valid MaxMind DB (.mmdb) file",
            path.display()
        )),
        "{msg}"
    );

    let err = GeoDatabase::from_bytes(Vec::new(), "empty.mmdb").unwrap_err();
    assert!(
        err.to_string()
            .contains("`empty.mmdb` is not a valid MaxMind DB"),
        "{err}"
    );
}

#[test]
fn corrupt_record_is_an_error() {
    let mut w = Writer::new(6, "GeoIP2-City");
    // A string whose declared length runs far past the end of the file.
    w.insert("1.0.0.0/24", &Value::Raw(vec![0x5F, 0xFF, 0xFF, 0xFF]));
    // A record of the right shape but the wrong type.
    w.insert("2.0.0.0/24", &map(vec![("country_code", Value::U32(840))]));
    let db = from_writer(&w, "corrupt.mmdb");
    for addr in ["1.0.0.1", "2.0.0.1"] {
        let err = db.lookup(ip(addr)).unwrap_err();
        assert!(matches!(err, GeoError::Lookup { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!(
                "cannot decode the record for `{addr}` in GeoIP database `corrupt.mmdb`"
            )),
            "{msg}"
        );
    }
    // Other addresses still work: only the bad records fail.
    assert!(db.lookup(ip("3.0.0.1")).unwrap().is_unknown());
}

// --- the GeoIP2 / GeoLite2 schema, on generated files ---

#[test]
fn geoip2_schema_regions_and_traits() {
    let mut w = Writer::new(6, "GeoIP2-City");
    w.insert("1.0.0.0/24", &city("UA", Some("43"), vec![]))
        .insert("1.0.1.0/24", &city("UA", Some("99"), vec![]))
        .insert(
            "1.0.2.0/24",
            &city(
                "DE",
                Some("BE"),
                vec![("is_anonymous_proxy", Value::Bool(true))],
            ),
        )
        .insert(
            "1.0.3.0/24",
            &city("FR", None, vec![("is_anonymous", Value::Bool(false))]),
        )
        .insert("2001:db8::/32", &city("ua", Some("40"), vec![]));
    let db = from_writer(&w, "city.mmdb");
    assert_eq!(db.database_type(), "GeoIP2-City");
    assert!(db.provides_regions());
    assert!(GeoChain::new(vec![country_db(), from_writer(&w, "c.mmdb")]).provides_regions());
    assert!(!GeoChain::new(vec![country_db()]).provides_regions());

    let crimea = db.lookup(ip("1.0.0.7")).unwrap();
    assert_eq!(crimea.country, Some(cc("UA")));
    assert_eq!(crimea.region.unwrap().to_string(), "UA-43");
    assert_eq!(crimea.anonymizer, None);
    assert_eq!(crimea.network.as_deref(), Some("1.0.0.0/24"));

    // Not in the jurisdiction tables: region dropped, country kept.
    let unknown_region = db.lookup(ip("1.0.1.1")).unwrap();
    assert_eq!(unknown_region.country, Some(cc("UA")));
    assert_eq!(unknown_region.region, None);

    // DE-BE is a real subdivision but not one Cordon's tables name.
    let proxy = db.lookup(ip("1.0.2.1")).unwrap();
    assert_eq!(
        (proxy.country, proxy.region, proxy.anonymizer),
        (Some(cc("DE")), None, Some(true))
    );

    let not_anon = db.lookup(ip("1.0.3.1")).unwrap();
    assert_eq!(not_anon.anonymizer, Some(false));

    let v6 = db.lookup(ip("2001:db8::1")).unwrap();
    assert_eq!(v6.region.unwrap().to_string(), "UA-40");
    assert_eq!(v6.network.as_deref(), Some("2001:db8::/32"));

    assert_eq!(db.lookup(ip("::ffff:1.0.0.7")).unwrap(), crimea);
    assert!(db.lookup(ip("9.9.9.9")).unwrap().is_unknown());
}

#[test]
fn ipv4_only_database_answers_unknown_for_ipv6() {
    let mut w = Writer::new(4, "GeoIP2-Country");
    w.insert(
        "1.0.0.0/24",
        &map(vec![("country", map(vec![("iso_code", Value::Str("IR"))]))]),
    );
    let db = from_writer(&w, "v4.mmdb");
    assert_eq!(db.lookup(ip("1.0.0.1")).unwrap().country, Some(cc("IR")));
    assert_eq!(
        db.lookup(ip("::ffff:1.0.0.1")).unwrap().country,
        Some(cc("IR"))
    );
    assert!(db.lookup(ip("2001:db8::1")).unwrap().is_unknown());
}

// --- chains ---

#[test]
fn chain_of_the_same_file_twice() {
    let chain = GeoChain::new(vec![
        GeoDatabase::from_bytes(std::fs::read(COUNTRY_DB).unwrap(), "first").unwrap(),
        GeoDatabase::from_bytes(std::fs::read(COUNTRY_DB).unwrap(), "second").unwrap(),
    ]);
    let got = chain.lookup(ip("175.45.176.1")).unwrap();
    assert_eq!(got.location.country, Some(cc("KP")));
    assert_eq!(got.location.network.as_deref(), Some("175.45.176.0/22"));
    assert_eq!(got.source.as_deref(), Some("first"));
    assert_eq!((got.location.region, got.region_source), (None, None));
    assert_eq!(
        (got.location.anonymizer, got.anonymizer_source),
        (None, None)
    );
    assert!(!got.internal);

    let none = chain.lookup(ip("0.0.0.1")).unwrap();
    assert!(none.location.is_unknown() && none.source.is_none() && !none.internal);
}

#[test]
fn chain_prefers_the_region_database_and_requires_agreement() {
    // A licensed City file that places 2.60.0.0/16 in Crimea, where the free
    // country file says RU (the SOURCES.md warning).
    let mut w = Writer::new(6, "GeoIP2-City");
    w.insert("2.60.0.0/16", &city("UA", Some("43"), vec![]))
        .insert("8.8.8.0/24", &city("US", Some("CA"), vec![]));
    let licensed = || from_writer(&w, "licensed-city");

    let chain = GeoChain::new(vec![licensed(), country_db()]);
    let got = chain.lookup(ip("2.60.0.1")).unwrap();
    assert_eq!(got.location.country, Some(cc("UA")));
    assert_eq!(got.location.region.unwrap().to_string(), "UA-43");
    assert_eq!(got.location.network.as_deref(), Some("2.60.0.0/16"));
    assert_eq!(got.source.as_deref(), Some("licensed-city"));
    assert_eq!(got.region_source.as_deref(), Some("licensed-city"));

    // Falls back to the country file where the licensed one has no record.
    let got = chain.lookup(ip("2.144.0.1")).unwrap();
    assert_eq!(got.location.country, Some(cc("IR")));
    assert_eq!(got.source.as_deref(), Some(COUNTRY_DB));

    // Country file first: RU wins, and the UA region must not be attached to it.
    let chain = GeoChain::new(vec![country_db(), licensed()]);
    let got = chain.lookup(ip("2.60.0.1")).unwrap();
    assert_eq!(got.location.country, Some(cc("RU")));
    assert_eq!((got.location.region, got.region_source), (None, None));

    // Agreeing country: the region comes from the later database.
    let mut w2 = Writer::new(6, "GeoIP2-City");
    w2.insert("176.104.0.0/18", &city("UA", Some("14"), vec![]));
    let chain = GeoChain::new(vec![country_db(), from_writer(&w2, "donetsk")]);
    let got = chain.lookup(ip("176.104.32.1")).unwrap();
    assert_eq!(got.location.country, Some(cc("UA")));
    assert_eq!(got.location.region.unwrap().to_string(), "UA-14");
    assert_eq!(got.source.as_deref(), Some(COUNTRY_DB));
    assert_eq!(got.region_source.as_deref(), Some("donetsk"));
}

#[test]
fn chain_takes_anonymizer_from_any_database() {
    // A GeoIP2 Anonymous IP style file: top-level flags, no country.
    let mut w = Writer::new(6, "GeoIP2-Anonymous-IP");
    w.insert(
        "8.8.8.0/24",
        &map(vec![
            ("is_anonymous", Value::Bool(true)),
            ("is_anonymous_vpn", Value::Bool(true)),
        ]),
    );
    let mut quiet = Writer::new(6, "GeoIP2-Country");
    quiet.insert(
        "8.8.8.0/24",
        &map(vec![
            ("country", map(vec![("iso_code", Value::Str("US"))])),
            (
                "traits",
                map(vec![("is_anonymous_proxy", Value::Bool(false))]),
            ),
        ]),
    );
    let chain = GeoChain::new(vec![
        from_writer(&quiet, "country"),
        country_db(),
        from_writer(&w, "anon"),
    ]);
    let got = chain.lookup(ip("8.8.8.8")).unwrap();
    assert_eq!(got.location.country, Some(CountryCode::US));
    assert_eq!(got.source.as_deref(), Some("country"));
    assert_eq!(got.location.anonymizer, Some(true));
    assert_eq!(got.anonymizer_source.as_deref(), Some("anon"));

    // Only the anonymiser file has a record: no country, but its network and flag.
    let chain = GeoChain::new(vec![from_writer(&w, "anon")]);
    let got = chain.lookup(ip("8.8.8.9")).unwrap();
    assert_eq!(got.location.country, None);
    assert_eq!(got.location.anonymizer, Some(true));
    assert_eq!(got.location.network.as_deref(), Some("8.8.8.0/24"));
}

#[test]
fn chain_maps_internal_addresses() {
    let chain = GeoChain::new(vec![country_db()]).with_internal_country(Some(CountryCode::US));
    for addr in [
        "127.0.0.1",
        "::1",
        "10.0.0.1",
        "192.168.1.2",
        "fd00::1",
        "fe80::1",
        "::ffff:127.0.0.1",
    ] {
        let got = chain.lookup(ip(addr)).unwrap();
        assert_eq!(got.location.country, Some(CountryCode::US), "{addr}");
        assert!(got.internal, "{addr}");
        assert_eq!(got.source, None, "{addr}");
        assert_eq!(got.location.network, None, "{addr}");
    }
    // Public addresses still go to the databases.
    let got = chain.lookup(ip("5.0.0.1")).unwrap();
    assert_eq!(
        (got.location.country, got.internal),
        (Some(cc("SY")), false)
    );

    let unmapped = GeoChain::new(vec![country_db()]).with_internal_country(None);
    let got = unmapped.lookup(ip("10.0.0.1")).unwrap();
    assert!(got.location.is_unknown() && got.internal);

    // The default is unknown, and the databases are never asked, even one
    // that claims to know.
    let mut w = Writer::new(6, "corp");
    w.insert("10.0.0.0/8", &map(vec![("country_code", Value::Str("DE"))]));
    let corp = GeoChain::new(vec![from_writer(&w, "corp")]);
    assert_eq!(
        corp.databases()[0].lookup(ip("10.1.2.3")).unwrap().country,
        Some(cc("DE"))
    );
    let got = corp.lookup(ip("10.1.2.3")).unwrap();
    assert!(got.location.is_unknown() && got.internal && got.source.is_none());
}

#[test]
fn empty_chain_knows_nothing() {
    let got = GeoChain::default().lookup(ip("8.8.8.8")).unwrap();
    assert_eq!(got, cordon_geo::ChainLocation::default());
}
