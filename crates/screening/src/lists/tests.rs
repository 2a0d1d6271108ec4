//! Unit tests of the list readers: remarks extraction, country names, row
//! splitting, format detection and list mapping.

use cordon_jurisdiction::{CountryCode, Jurisdictions};
use cordon_subject::RestrictedList;

use super::country::{alias_rows, code_or_name, country_in_place, key};
use super::csl::list_from_source;
use super::dpl::looks_like_organisation;
use super::ofac::{consolidated_lists, split_programs};
use super::remarks::{RemarkFacts, extract};
use super::rows::{Rows, non_null};
use super::*;

fn cc(s: &str) -> CountryCode {
    CountryCode::parse(s).unwrap()
}

fn years(remarks: &str) -> Vec<u16> {
    let mut y = extract(remarks).birth_years;
    y.sort_unstable();
    y.dedup();
    y
}

// --- remarks: weak aliases -------------------------------------------------

#[test]
fn weak_alias_in_single_quotes() {
    assert_eq!(extract("a.k.a. 'BNC'.").weak_aliases, ["BNC"]);
}

#[test]
fn weak_alias_in_double_quotes() {
    assert_eq!(
        extract(r#"DOB 1961; a.k.a. "ABU MUHAMMAD"; Linked To: X."#).weak_aliases,
        ["ABU MUHAMMAD"]
    );
}

#[test]
fn weak_alias_keeps_inner_apostrophes() {
    assert_eq!(
        extract("a.k.a. 'ABD AL-'AZIZ'; a.k.a. 'DHA'AME'.").weak_aliases,
        ["ABD AL-'AZIZ", "DHA'AME"]
    );
}

#[test]
fn weak_aliases_sharing_a_clause_are_split() {
    assert_eq!(
        extract("a.k.a. 'ONE', a.k.a. 'TWO'").weak_aliases,
        ["ONE", "TWO"]
    );
}

#[test]
fn former_and_now_known_as_in_remarks_are_weak_too() {
    assert_eq!(
        extract("f.k.a. 'ANA I'; n.k.a. 'SAND SWAN'.").weak_aliases,
        ["ANA I", "SAND SWAN"]
    );
}

#[test]
fn unclosed_weak_alias_is_skipped() {
    // Remarks cut off mid-alias without their overflow file.
    assert!(extract("a.k.a. 'WHOIS HACKIN").weak_aliases.is_empty());
}

#[test]
fn unquoted_aka_is_not_an_alias() {
    assert!(extract("a.k.a. SOMETHING ELSE").weak_aliases.is_empty());
}

// --- remarks: birth years --------------------------------------------------

#[test]
fn birth_year_forms() {
    assert_eq!(years("DOB 12 Mar 1961"), [1961]);
    assert_eq!(years("DOB Mar 1961."), [1961]);
    assert_eq!(years("DOB 1961"), [1961]);
    assert_eq!(years("alt. DOB circa 1960"), [1960]);
    assert_eq!(years("DOB circa 1960-1962"), [1960, 1961, 1962]);
    assert_eq!(years("DOB 1960 to 1962"), [1960, 1961, 1962]);
    assert_eq!(
        years("DOB 01 Jan 1960 to 31 Dec 1961; alt. DOB 1975"),
        [1960, 1961, 1975]
    );
}

#[test]
fn wide_birth_year_range_keeps_only_its_ends() {
    assert_eq!(years("DOB 1940 to 1990"), [1940, 1990]);
}

#[test]
fn iso_dates_give_their_year() {
    let mut y = Vec::new();
    remarks::birth_years("1978-12-05", &mut y);
    assert_eq!(y, [1978]);
}

#[test]
fn implausible_years_and_other_dates_are_ignored() {
    assert_eq!(years("DOB 3017"), Vec::<u16>::new());
    assert_eq!(
        years("Organization Established Date 1993; Passport 19611961"),
        Vec::<u16>::new()
    );
}

// --- remarks: countries ----------------------------------------------------

#[test]
fn countries_from_nationality_citizenship_birth_and_registration() {
    let facts = extract(
        "DOB 1945; POB Pyongyang, Korea, North; nationality Iran; citizen Russia; \
         alt. citizen Cambodia; Nationality of Registration Man, Isle of; Passport X (China).",
    );
    let mut c = facts.countries;
    c.sort_unstable();
    assert_eq!(c, [cc("IM"), cc("IR"), cc("KH"), cc("KP"), cc("RU")]);
}

#[test]
fn unmapped_countries_are_left_out() {
    let facts =
        extract("POB Pec, Kosovo; nationality undetermined; POB Belgrade, Serbia and Montenegro");
    assert_eq!(facts, RemarkFacts::default());
}

// --- country names ---------------------------------------------------------

#[test]
fn ofac_country_spellings_map_to_iso() {
    for (name, code) in [
        ("Russia", "RU"),
        ("Iran", "IR"),
        ("Korea, North", "KP"),
        ("Korea, South", "KR"),
        ("Burma", "MM"),
        ("Congo, Democratic Republic of the", "CD"),
        ("Congo, Republic of the", "CG"),
        ("Turkey", "TR"),
        ("Region: Crimea", "UA"),
        ("Palestinian", "PS"),
        ("Democratic People's Republic of Korea", "KP"),
        ("Cote d Ivoire", "CI"),
        ("St. Kitts & Nevis", "KN"),
        ("The Gambia", "GM"),
        ("Bahamas, The", "BS"),
        ("Bosnia-Herzegovina", "BA"),
        ("Virgin Islands, British", "VG"),
    ] {
        assert_eq!(country_code(name), Some(cc(code)), "{name}");
    }
}

#[test]
fn iso_short_names_match_without_diacritics_or_case() {
    assert_eq!(country_code("Türkiye"), Some(cc("TR")));
    assert_eq!(country_code("turkiye"), Some(cc("TR")));
    assert_eq!(country_code("CÔTE D'IVOIRE"), Some(cc("CI")));
    assert_eq!(country_code("  the Russian Federation "), Some(cc("RU")));
}

#[test]
fn non_countries_do_not_map() {
    for name in [
        "Kosovo",
        "undetermined",
        "Serbia and Montenegro",
        "North",
        "",
        "New Mexico",
    ] {
        assert_eq!(country_code(name), None, "{name}");
    }
}

#[test]
fn place_of_birth_takes_the_longest_country_tail() {
    assert_eq!(country_in_place("Moscow, Russia"), Some(cc("RU")));
    assert_eq!(country_in_place("Pyongyang, Korea, North"), Some(cc("KP")));
    assert_eq!(country_in_place("Juba, South Sudan"), Some(cc("SS")));
    assert_eq!(country_in_place("Tunisi (Tunisia)"), Some(cc("TN")));
    assert_eq!(
        country_in_place("Armenia, Quindio, Colombia"),
        Some(cc("CO"))
    );
    assert_eq!(country_in_place("Yirol, Lakes State"), None);
}

#[test]
fn codes_and_names_from_the_csl_and_dpl() {
    assert_eq!(code_or_name("CN"), Some(cc("CN")));
    assert_eq!(code_or_name("PRC"), Some(cc("CN")));
    // `NM` (New Mexico, in the DPL's country column) is no country code.
    assert_eq!(code_or_name("NM"), None);
    assert_eq!(code_or_name(""), None);
}

#[test]
fn alias_table_is_well_formed() {
    let j = Jurisdictions::embedded().unwrap();
    let mut n = 0;
    for (line, name, code) in alias_rows() {
        let code =
            CountryCode::parse(code).unwrap_or_else(|e| panic!("country_aliases.tsv:{line}: {e}"));
        assert!(
            j.is_country(code),
            "country_aliases.tsv:{line}: `{code}` is not assigned"
        );
        // An alias must not redefine an ISO short name to another code.
        if let Some((iso, _)) = j.countries().find(|(_, n)| key(n) == key(name)) {
            assert_eq!(
                iso, code,
                "country_aliases.tsv:{line}: `{name}` is ISO `{iso}`"
            );
        }
        assert_eq!(country_code(name), Some(code), "country_aliases.tsv:{line}");
        n += 1;
    }
    assert!(n > 50, "only {n} aliases read");
}

// --- rows ------------------------------------------------------------------

fn collect(bytes: &[u8]) -> (Vec<Vec<String>>, Vec<RowProblem>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for r in Rows::new("f.csv", bytes, b',') {
        match r {
            Ok(row) => ok.push(row.record.iter().map(str::to_owned).collect()),
            Err(p) => bad.push(p),
        }
    }
    (ok, bad)
}

#[test]
fn dos_eof_byte_and_crlf_are_dropped() {
    let with = collect(b"1,\"A\"\r\n2,\"B\"\r\n\x1a");
    let without = collect(b"1,\"A\"\r\n2,\"B\"");
    assert_eq!(with, without);
    assert_eq!(with.0, [["1", "A"], ["2", "B"]]);
    assert!(with.1.is_empty());
}

#[test]
fn byte_order_mark_is_dropped() {
    let (rows, _) = collect(b"\xEF\xBB\xBF_id,name\r\n");
    assert_eq!(rows, [["_id", "name"]]);
}

#[test]
fn invalid_utf8_names_the_line_field_and_offset() {
    let mut rows = Rows::new("f.csv", b"1,\"A\"\n2,\"B\xff\"\n3,\"C\"\n", b',');
    rows.set_columns(vec!["ent_num".into(), "SDN_Name".into()]);
    let all: Vec<_> = rows.collect();
    assert_eq!(all.len(), 3);
    assert!(all[0].is_ok() && all[2].is_ok());
    let p = all[1].as_ref().unwrap_err();
    assert_eq!(p.line, 2);
    assert_eq!(p.field.as_deref(), Some("SDN_Name"));
    // `1,"A"\n` is 6 bytes, `2,"B` 4 more: the bad byte is at offset 10.
    assert!(p.message.contains("byte offset 10"), "{}", p.message);
}

#[test]
fn offsets_count_a_dropped_byte_order_mark() {
    let (_, bad) = collect(b"\xEF\xBB\xBF1,\"\xff\"\n");
    assert!(
        bad[0].message.contains("byte offset 6"),
        "{}",
        bad[0].message
    );
}

#[test]
fn row_cut_inside_quotes_is_reported_and_earlier_rows_kept() {
    let (ok, bad) = collect(b"1,\"A\"\r\n2,\"B, and then the file en");
    assert_eq!(ok, [["1", "A"]]);
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].line, 2);
    assert!(
        bad[0].message.contains("never closed"),
        "{}",
        bad[0].message
    );
}

#[test]
fn doubled_quotes_are_not_a_cut() {
    let (ok, bad) = collect(b"1,\"say \"\"hi\"\"\"");
    assert!(bad.is_empty());
    assert_eq!(ok, [["1", "say \"hi\""]]);
}

#[test]
fn lines_count_crlf_lf_blank_lines_and_quoted_newlines() {
    let mut lines = Vec::new();
    for r in Rows::new(
        "f.csv",
        b"1,a\r\n2,b\n\r\n\n3,\"multi\nline\"\r\n4,\xff\r\n",
        b',',
    ) {
        lines.push(r.map_or_else(|p| p.line, |row| row.line));
    }
    assert_eq!(lines, [1, 2, 5, 7]);
}

#[test]
fn null_marker() {
    assert_eq!(non_null("-0- "), None);
    assert_eq!(non_null("  "), None);
    assert_eq!(non_null(" Cuba "), Some("Cuba"));
}

#[test]
fn row_problem_display() {
    let with = RowProblem::new("sdn.csv", 7, Some("SDN_Type"), "bad".into());
    assert_eq!(with.to_string(), "sdn.csv:7: field `SDN_Type`: bad");
    let without = RowProblem::new("sdn.csv", 7, None, "bad".into());
    assert_eq!(without.to_string(), "sdn.csv:7: bad");
}

// --- detection -------------------------------------------------------------

#[test]
fn detects_by_file_name() {
    let d = |n| detect(n, b"").unwrap();
    assert_eq!(d("sdn.csv"), ListFormat::OfacPrimary);
    assert_eq!(d("data/CONS_PRIM.CSV"), ListFormat::OfacPrimary);
    assert_eq!(d("alt.csv"), ListFormat::OfacAlternate);
    assert_eq!(d("cons_add.csv"), ListFormat::OfacAddress);
    assert_eq!(d("sdn_comments.csv"), ListFormat::OfacComments);
    assert_eq!(d("C:\\lists\\cons_comments.csv"), ListFormat::OfacComments);
    assert_eq!(d("consolidated.csv"), ListFormat::CslCurrent);
    assert_eq!(d("csl.csv"), ListFormat::CslLegacy);
    assert_eq!(d("dpl.txt"), ListFormat::DeniedPersons);
}

#[test]
fn csl_layout_follows_the_header_whatever_the_name() {
    assert_eq!(
        detect("csl.csv", b"_id,source,name\r\n").unwrap(),
        ListFormat::CslCurrent
    );
    assert_eq!(
        detect("consolidated.csv", b"source,entity_number,name\n").unwrap(),
        ListFormat::CslLegacy
    );
}

#[test]
fn detects_by_content() {
    let d = |b: &[u8]| detect("download.bin", b);
    assert_eq!(
        d(b"36,\"AERO\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n").unwrap(),
        ListFormat::OfacPrimary
    );
    assert_eq!(
        d(b"36,12,\"aka\",\"AERO-CARIBBEAN\",-0- \r\n").unwrap(),
        ListFormat::OfacAlternate
    );
    assert_eq!(
        d(b"36,25,-0- ,\"Havana\",\"Cuba\",-0- \r\n").unwrap(),
        ListFormat::OfacAddress
    );
    assert_eq!(d(b"17014,\"r 102\"\r\n").unwrap(), ListFormat::OfacComments);
    assert_eq!(
        d(b"_id,source,entity_number,type,programs,name\n").unwrap(),
        ListFormat::CslCurrent
    );
    assert_eq!(
        d(b"\"Name\"\t\"Street_Address\"\t\"City\"\n").unwrap(),
        ListFormat::DeniedPersons
    );
}

#[test]
fn unknown_content_is_an_error_naming_the_file() {
    for bytes in [&b""[..], b"hello,world\n", b"1,2,3\n", b"\xff\xfe"] {
        let err = detect("x/download.bin", bytes).unwrap_err();
        assert_eq!(
            err,
            ListError::UnknownFormat {
                file: "x/download.bin".into()
            }
        );
        assert!(err.to_string().contains("`x/download.bin`"));
    }
}

#[test]
fn consolidated_family_by_name() {
    assert!(is_consolidated_family("data/cons_alt.csv"));
    assert!(is_consolidated_family("CONS_PRIM.CSV"));
    assert!(!is_consolidated_family("data/cons/alt.csv"));
    assert!(!is_consolidated_family("sdn_comments.csv"));
}

// --- list mapping ----------------------------------------------------------

fn programs(p: &str) -> Vec<String> {
    split_programs(p)
}

#[test]
fn packed_programs_split() {
    assert_eq!(programs("SDGT] [IRGC] [IFSR"), ["SDGT", "IRGC", "IFSR"]);
    assert_eq!(programs("CUBA"), ["CUBA"]);
    assert_eq!(programs("-0- "), Vec::<String>::new());
    assert_eq!(programs("[SDGT]"), ["SDGT"]);
}

#[test]
fn consolidated_programs_map_to_lists() {
    use RestrictedList::*;
    let l = |p: &str, r: &str| consolidated_lists(&programs(p), Some(r));
    assert_eq!(l("UKRAINE-EO13662", ""), [Ssi]);
    assert_eq!(l("SDGT] [NS-PLC", ""), [Plc]);
    assert_eq!(l("CMIC-EO13959", ""), [Cmic]);
    assert_eq!(l("CAATSA - RUSSIA", ""), [Mbs]);
    assert_eq!(l("BURMA-EO14014", ""), [Mbs]);
    assert_eq!(
        l(
            "561-Related",
            "prohibited from opening or maintaining a correspondent account or a payable-through account"
        ),
        [Cap]
    );
    assert_eq!(
        l(
            "RUSSIA-EO14024",
            "Executive Order 14024 Directive Information Subject to Directive 1a - As of"
        ),
        [Mbs]
    );
    assert_eq!(
        l(
            "UKRAINE-EO13662] [RUSSIA-EO14024",
            "Listing Date (EO 14024 Directive 2): 24 Feb 2022; Effective Date (EO 14024 Directive)"
        ),
        [Cap, Ssi]
    );
    assert_eq!(
        l(
            "UKRAINE-EO13662] [RUSSIA-EO14024",
            "Listing Date (EO 14024 Directive 2): 24 Feb 2022; Listing Date (EO 14024 Directive 3)"
        ),
        [Cap, Ssi, Mbs]
    );
    // A directive-less EO 14024 tag adds nothing to SSI.
    assert_eq!(
        l("UKRAINE-EO13662] [RUSSIA-EO14024", "See Section 11"),
        [Ssi]
    );
    // Nothing maps: kept on the catch-all non-SDN list.
    assert_eq!(l("VENEZUELA-EO13850", ""), [Mbs]);
}

#[test]
fn csl_sources_map_to_codes() {
    use RestrictedList::*;
    for (source, list) in [
        (
            "Specially Designated Nationals (SDN) - Treasury Department",
            Sdn,
        ),
        ("Entity List (EL) - Bureau of Industry and Security", El),
        (
            "Denied Persons List (DPL) - Bureau of Industry and Security",
            Dpl,
        ),
        (
            "Unverified List (UVL) - Bureau of Industry and Security",
            Uvl,
        ),
        (
            "Military End User (MEU) List - Bureau of Industry and Security",
            Meu,
        ),
        ("Nonproliferation Sanctions (ISN) - State Department", Isn),
        ("ITAR Debarred (DTC) - State Department", Dtc),
        ("Capta List (CAP) - Treasury Department", Cap),
        (
            "Correspondent Account or Payable-Through Account Sanctions (CAPTA) - Treasury Department",
            Cap,
        ),
        (
            "Non-SDN Chinese Military-Industrial Complex Companies List (CMIC) - Treasury Department",
            Cmic,
        ),
        (
            "Sectoral Sanctions Identifications List (SSI) - Treasury Department",
            Ssi,
        ),
        ("Foreign Sanctions Evaders (FSE) - Treasury Department", Fse),
        (
            "Palestinian Legislative Council List (PLC) - Treasury Department",
            Plc,
        ),
        (
            "Non-SDN Menu-Based Sanctions List (NS-MBS List) - Treasury Department",
            Mbs,
        ),
        ("el", El),
        ("Entity List", El),
    ] {
        assert_eq!(list_from_source(source), Some(list), "{source}");
    }
    assert_eq!(list_from_source("UN Security Council (UNSC)"), None);
    assert_eq!(list_from_source(""), None);
}

// --- kinds and ids ---------------------------------------------------------

#[test]
fn organisation_words_are_sorted_for_binary_search() {
    // `looks_like_organisation` relies on it; a misplaced word would be missed.
    let words = super::dpl::ORGANISATION_WORDS;
    for pair in words.windows(2) {
        assert!(pair[0] < pair[1], "`{}` before `{}`", pair[0], pair[1]);
    }
}

#[test]
fn organisation_names_and_person_names() {
    assert!(looks_like_organisation("WELL BEING ENTERPRISE CO., LTD."));
    assert!(looks_like_organisation("COTRICOM S.A."));
    assert!(looks_like_organisation("ZAO ROSNEFT"));
    assert!(looks_like_organisation("AB VOLVO"));
    assert!(looks_like_organisation("SYNAPTIX.NET"));
    assert!(!looks_like_organisation("AARON ABRAHAM VILLA"));
    assert!(!looks_like_organisation("ROBERT J. SHUBERT, SR."));
    assert!(!looks_like_organisation("IHSAN MEDHAT \"SAMMY\" ELASHI"));
}

#[test]
fn derived_uids_are_stable_and_content_sensitive() {
    let a = derived_uid("DPL", &["I. ASH", "SEAGOVILLE", "06/19/2003"]);
    assert_eq!(
        a,
        derived_uid("DPL", &["I. ASH", "SEAGOVILLE", "06/19/2003"])
    );
    assert_eq!(a.len(), "DPL-".len() + 12);
    assert!(a.starts_with("DPL-"));
    assert_ne!(
        a,
        derived_uid("DPL", &["I. ASH", "RICHARDSON", "06/19/2003"])
    );
    // Parts are separated, so moving text across a boundary changes the id.
    assert_ne!(
        derived_uid("DPL", &["AB", "C"]),
        derived_uid("DPL", &["A", "BC"])
    );
}
