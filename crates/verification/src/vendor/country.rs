//! Country codes as vendors write them: ISO 3166-1 alpha-2 (Stripe,
//! Persona, Veriff) or alpha-3 (Onfido, Sumsub), read into the alpha-2
//! codes of the subject JSON and checked against the assigned countries.

use cordon_jurisdiction::{CountryCode, Jurisdictions};

use super::json::Node;
use crate::PayloadError;

/// ICAO 9303 codes that name no state a person is a citizen of: stateless
/// persons (`XXA`), refugees (`XXB`, `XXC`), unspecified (`XXX`), the
/// British nationality classes other than citizen (`GBD`, `GBN`, `GBO`,
/// `GBP`, `GBS`), the United Nations and its agencies (`UNO`, `UNA`,
/// `UNK`), and other organisations' travel documents. A nationality in
/// one of them yields no citizenship.
pub(crate) const NO_STATE: [&str; 18] = [
    "XXA", "XXB", "XXC", "XXX", "GBD", "GBN", "GBO", "GBP", "GBS", "UNO", "UNA", "UNK", "XOM",
    "XPO", "XES", "XCC", "XBA", "XIM",
];

/// ISO 3166-1 alpha-3 codes and their alpha-2 codes, sorted by alpha-3.
const ALPHA3: [(&str, &str); 249] = [
    ("ABW", "AW"),
    ("AFG", "AF"),
    ("AGO", "AO"),
    ("AIA", "AI"),
    ("ALA", "AX"),
    ("ALB", "AL"),
    ("AND", "AD"),
    ("ARE", "AE"),
    ("ARG", "AR"),
    ("ARM", "AM"),
    ("ASM", "AS"),
    ("ATA", "AQ"),
    ("ATF", "TF"),
    ("ATG", "AG"),
    ("AUS", "AU"),
    ("AUT", "AT"),
    ("AZE", "AZ"),
    ("BDI", "BI"),
    ("BEL", "BE"),
    ("BEN", "BJ"),
    ("BES", "BQ"),
    ("BFA", "BF"),
    ("BGD", "BD"),
    ("BGR", "BG"),
    ("BHR", "BH"),
    ("BHS", "BS"),
    ("BIH", "BA"),
    ("BLM", "BL"),
    ("BLR", "BY"),
    ("BLZ", "BZ"),
    ("BMU", "BM"),
    ("BOL", "BO"),
    ("BRA", "BR"),
    ("BRB", "BB"),
    ("BRN", "BN"),
    ("BTN", "BT"),
    ("BVT", "BV"),
    ("BWA", "BW"),
    ("CAF", "CF"),
    ("CAN", "CA"),
    ("CCK", "CC"),
    ("CHE", "CH"),
    ("CHL", "CL"),
    ("CHN", "CN"),
    ("CIV", "CI"),
    ("CMR", "CM"),
    ("COD", "CD"),
    ("COG", "CG"),
    ("COK", "CK"),
    ("COL", "CO"),
    ("COM", "KM"),
    ("CPV", "CV"),
    ("CRI", "CR"),
    ("CUB", "CU"),
    ("CUW", "CW"),
    ("CXR", "CX"),
    ("CYM", "KY"),
    ("CYP", "CY"),
    ("CZE", "CZ"),
    ("DEU", "DE"),
    ("DJI", "DJ"),
    ("DMA", "DM"),
    ("DNK", "DK"),
    ("DOM", "DO"),
    ("DZA", "DZ"),
    ("ECU", "EC"),
    ("EGY", "EG"),
    ("ERI", "ER"),
    ("ESH", "EH"),
    ("ESP", "ES"),
    ("EST", "EE"),
    ("ETH", "ET"),
    ("FIN", "FI"),
    ("FJI", "FJ"),
    ("FLK", "FK"),
    ("FRA", "FR"),
    ("FRO", "FO"),
    ("FSM", "FM"),
    ("GAB", "GA"),
    ("GBR", "GB"),
    ("GEO", "GE"),
    ("GGY", "GG"),
    ("GHA", "GH"),
    ("GIB", "GI"),
    ("GIN", "GN"),
    ("GLP", "GP"),
    ("GMB", "GM"),
    ("GNB", "GW"),
    ("GNQ", "GQ"),
    ("GRC", "GR"),
    ("GRD", "GD"),
    ("GRL", "GL"),
    ("GTM", "GT"),
    ("GUF", "GF"),
    ("GUM", "GU"),
    ("GUY", "GY"),
    ("HKG", "HK"),
    ("HMD", "HM"),
    ("HND", "HN"),
    ("HRV", "HR"),
    ("HTI", "HT"),
    ("HUN", "HU"),
    ("IDN", "ID"),
    ("IMN", "IM"),
    ("IND", "IN"),
    ("IOT", "IO"),
    ("IRL", "IE"),
    ("IRN", "IR"),
    ("IRQ", "IQ"),
    ("ISL", "IS"),
    ("ISR", "IL"),
    ("ITA", "IT"),
    ("JAM", "JM"),
    ("JEY", "JE"),
    ("JOR", "JO"),
    ("JPN", "JP"),
    ("KAZ", "KZ"),
    ("KEN", "KE"),
    ("KGZ", "KG"),
    ("KHM", "KH"),
    ("KIR", "KI"),
    ("KNA", "KN"),
    ("KOR", "KR"),
    ("KWT", "KW"),
    ("LAO", "LA"),
    ("LBN", "LB"),
    ("LBR", "LR"),
    ("LBY", "LY"),
    ("LCA", "LC"),
    ("LIE", "LI"),
    ("LKA", "LK"),
    ("LSO", "LS"),
    ("LTU", "LT"),
    ("LUX", "LU"),
    ("LVA", "LV"),
    ("MAC", "MO"),
    ("MAF", "MF"),
    ("MAR", "MA"),
    ("MCO", "MC"),
    ("MDA", "MD"),
    ("MDG", "MG"),
    ("MDV", "MV"),
    ("MEX", "MX"),
    ("MHL", "MH"),
    ("MKD", "MK"),
    ("MLI", "ML"),
    ("MLT", "MT"),
    ("MMR", "MM"),
    ("MNE", "ME"),
    ("MNG", "MN"),
    ("MNP", "MP"),
    ("MOZ", "MZ"),
    ("MRT", "MR"),
    ("MSR", "MS"),
    ("MTQ", "MQ"),
    ("MUS", "MU"),
    ("MWI", "MW"),
    ("MYS", "MY"),
    ("MYT", "YT"),
    ("NAM", "NA"),
    ("NCL", "NC"),
    ("NER", "NE"),
    ("NFK", "NF"),
    ("NGA", "NG"),
    ("NIC", "NI"),
    ("NIU", "NU"),
    ("NLD", "NL"),
    ("NOR", "NO"),
    ("NPL", "NP"),
    ("NRU", "NR"),
    ("NZL", "NZ"),
    ("OMN", "OM"),
    ("PAK", "PK"),
    ("PAN", "PA"),
    ("PCN", "PN"),
    ("PER", "PE"),
    ("PHL", "PH"),
    ("PLW", "PW"),
    ("PNG", "PG"),
    ("POL", "PL"),
    ("PRI", "PR"),
    ("PRK", "KP"),
    ("PRT", "PT"),
    ("PRY", "PY"),
    ("PSE", "PS"),
    ("PYF", "PF"),
    ("QAT", "QA"),
    ("REU", "RE"),
    ("ROU", "RO"),
    ("RUS", "RU"),
    ("RWA", "RW"),
    ("SAU", "SA"),
    ("SDN", "SD"),
    ("SEN", "SN"),
    ("SGP", "SG"),
    ("SGS", "GS"),
    ("SHN", "SH"),
    ("SJM", "SJ"),
    ("SLB", "SB"),
    ("SLE", "SL"),
    ("SLV", "SV"),
    ("SMR", "SM"),
    ("SOM", "SO"),
    ("SPM", "PM"),
    ("SRB", "RS"),
    ("SSD", "SS"),
    ("STP", "ST"),
    ("SUR", "SR"),
    ("SVK", "SK"),
    ("SVN", "SI"),
    ("SWE", "SE"),
    ("SWZ", "SZ"),
    ("SXM", "SX"),
    ("SYC", "SC"),
    ("SYR", "SY"),
    ("TCA", "TC"),
    ("TCD", "TD"),
    ("TGO", "TG"),
    ("THA", "TH"),
    ("TJK", "TJ"),
    ("TKL", "TK"),
    ("TKM", "TM"),
    ("TLS", "TL"),
    ("TON", "TO"),
    ("TTO", "TT"),
    ("TUN", "TN"),
    ("TUR", "TR"),
    ("TUV", "TV"),
    ("TWN", "TW"),
    ("TZA", "TZ"),
    ("UGA", "UG"),
    ("UKR", "UA"),
    ("UMI", "UM"),
    ("URY", "UY"),
    ("USA", "US"),
    ("UZB", "UZ"),
    ("VAT", "VA"),
    ("VCT", "VC"),
    ("VEN", "VE"),
    ("VGB", "VG"),
    ("VIR", "VI"),
    ("VNM", "VN"),
    ("VUT", "VU"),
    ("WLF", "WF"),
    ("WSM", "WS"),
    ("YEM", "YE"),
    ("ZAF", "ZA"),
    ("ZMB", "ZM"),
    ("ZWE", "ZW"),
];

/// The alpha-2 code of an alpha-3 one.
pub(crate) fn alpha2_of(alpha3: &str) -> Option<&'static str> {
    ALPHA3
        .binary_search_by(|(a3, _)| (*a3).cmp(alpha3))
        .ok()
        .and_then(|i| ALPHA3.get(i))
        .map(|(_, a2)| *a2)
}

/// The country at `node`, alpha-2 or alpha-3 in either case, as an
/// assigned alpha-2 code; `None` for an ICAO code that names no state.
///
/// # Errors
/// [`PayloadError::WrongType`] unless a string, [`PayloadError::Invalid`]
/// unless a code of an assigned country.
pub(crate) fn country(
    node: &Node<'_>,
    jurisdictions: &Jurisdictions,
) -> Result<Option<String>, PayloadError> {
    let text = node.str()?.trim();
    let upper = text.to_ascii_uppercase();
    if NO_STATE.contains(&upper.as_str()) {
        return Ok(None);
    }
    let alpha2 = match upper.len() {
        3 => alpha2_of(&upper),
        2 => Some(upper.as_str()),
        _ => None,
    };
    alpha2
        .and_then(|c| CountryCode::parse(c).ok())
        .filter(|c| jurisdictions.is_country(*c))
        .map(|c| Some(c.as_str().to_owned()))
        .ok_or_else(|| node.invalid(format!("`{text}` is not the code of an assigned country")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn j() -> &'static Jurisdictions {
        Jurisdictions::embedded().unwrap()
    }

    #[test]
    fn the_table_covers_every_assigned_country_once() {
        assert!(
            ALPHA3.windows(2).all(|w| w[0].0 < w[1].0),
            "sorted, no duplicate"
        );
        let mut alpha2: Vec<_> = ALPHA3.iter().map(|(_, a2)| *a2).collect();
        alpha2.sort_unstable();
        alpha2.dedup();
        assert_eq!(alpha2.len(), ALPHA3.len());
        let assigned: Vec<String> = j()
            .countries()
            .map(|(c, _)| c.as_str().to_owned())
            .collect();
        assert_eq!(assigned.len(), ALPHA3.len());
        for a2 in alpha2 {
            assert!(assigned.iter().any(|c| c == a2), "{a2}");
        }
    }

    #[test]
    fn codes_read_in_either_form() {
        let c = |s: &str| country(&Node::root(&json!(s)), j());
        assert_eq!(c("USA").unwrap().as_deref(), Some("US"));
        assert_eq!(c("deu").unwrap().as_deref(), Some("DE"));
        assert_eq!(c("gb").unwrap().as_deref(), Some("GB"));
        assert_eq!(c("XXA").unwrap(), None);
        for bad in ["XX", "ZZZ", "D", "", "UNITED STATES"] {
            let e = c(bad).unwrap_err().to_string();
            assert!(e.contains("assigned country"), "{bad}: {e}");
        }
        assert!(country(&Node::root(&json!(7)), j()).is_err());
    }
}
