//! Reading the real list files in `data/sanctions/` (see its SOURCES.md for
//! the counts asserted here), bad input, and snapshot properties.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use cordon_jurisdiction::CountryCode;
use cordon_screening::lists::{ListError, ListFile, ListFormat, detect};
use cordon_screening::snapshot::{Snapshot, SnapshotError, import};
use cordon_screening::{EntryKind, ListEntry, NameKind};
use cordon_subject::RestrictedList::{self, *};
use proptest::prelude::*;

macro_rules! data {
    ($f:literal) => {
        ListFile {
            name: $f,
            bytes: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../data/sanctions/",
                $f
            )),
        }
    };
}

fn sdn_set() -> [ListFile<'static>; 4] {
    [
        data!("sdn.csv"),
        data!("alt.csv"),
        data!("add.csv"),
        data!("sdn_comments.csv"),
    ]
}

fn cons_set() -> [ListFile<'static>; 4] {
    [
        data!("cons_prim.csv"),
        data!("cons_alt.csv"),
        data!("cons_add.csv"),
        data!("cons_comments.csv"),
    ]
}

static SDN: LazyLock<Snapshot> = LazyLock::new(|| import(&sdn_set()).unwrap());
static CONS: LazyLock<Snapshot> = LazyLock::new(|| import(&cons_set()).unwrap());

fn cc(s: &str) -> CountryCode {
    CountryCode::parse(s).unwrap()
}

fn codes(list: &[&str]) -> Vec<CountryCode> {
    list.iter().map(|s| cc(s)).collect()
}

fn get<'a>(s: &'a Snapshot, list: RestrictedList, uid: &str) -> &'a ListEntry {
    s.entry(list, uid)
        .unwrap_or_else(|| panic!("no {list} entry {uid}"))
}

fn names(e: &ListEntry, kind: NameKind) -> Vec<&str> {
    e.names
        .iter()
        .filter(|n| n.kind == kind)
        .map(|n| n.text.as_str())
        .collect()
}

fn kinds(s: &Snapshot, list: RestrictedList) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for e in s.entries.iter().filter(|e| e.list == list) {
        let k = match e.kind {
            EntryKind::Individual => "individual",
            EntryKind::Entity => "entity",
            EntryKind::Vessel => "vessel",
            EntryKind::Aircraft => "aircraft",
        };
        *out.entry(k).or_insert(0) += 1;
    }
    out
}

fn counts(pairs: &[(RestrictedList, usize)]) -> BTreeMap<RestrictedList, usize> {
    pairs.iter().copied().collect()
}

// --- OFAC SDN ----------------------------------------------------------------

#[test]
fn sdn_primary_set_has_the_published_counts() {
    let s = &*SDN;
    assert_eq!(s.counts, counts(&[(Sdn, 13_821)]));
    assert_eq!(
        kinds(s, Sdn),
        BTreeMap::from([
            ("aircraft", 378),
            ("entity", 6_033),
            ("individual", 6_646),
            ("vessel", 764)
        ])
    );
    let rows: Vec<(&str, ListFormat, usize, usize)> = s
        .sources
        .iter()
        .map(|i| (i.name.as_str(), i.format, i.rows, i.rejected))
        .collect();
    assert_eq!(
        rows,
        [
            ("add.csv", ListFormat::OfacAddress, 18_990, 0),
            ("alt.csv", ListFormat::OfacAlternate, 17_091, 0),
            ("sdn.csv", ListFormat::OfacPrimary, 13_821, 0),
            ("sdn_comments.csv", ListFormat::OfacComments, 13, 3),
        ]
    );
}

#[test]
fn sdn_comments_for_other_publications_are_reported() {
    // SOURCES.md: 3 of the 13 overflow rows belong to ent_nums not in this sdn.csv.
    let problems: Vec<String> = SDN.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            "sdn_comments.csv:1: field `ent_num`: no primary record for ent_num 12300",
            "sdn_comments.csv:2: field `ent_num`: no primary record for ent_num 15599",
            "sdn_comments.csv:3: field `ent_num`: no primary record for ent_num 15600",
        ]
    );
}

#[test]
fn newer_sdn_vintage_imports_alone() {
    let s = import(&[data!("ofac_sdn_2024-05-03/sdn.csv")]).unwrap();
    assert_eq!(s.counts, counts(&[(Sdn, 14_965)]));
    assert_eq!(
        kinds(&s, Sdn),
        BTreeMap::from([
            ("aircraft", 376),
            ("entity", 6_884),
            ("individual", 6_854),
            ("vessel", 851)
        ])
    );
    assert!(s.problems.is_empty(), "{:?}", s.problems);
}

#[test]
fn aliases_are_joined_in_file_order() {
    let e = get(&SDN, Sdn, "306");
    assert_eq!(e.primary_name(), "BANCO NACIONAL DE CUBA");
    assert_eq!(e.kind, EntryKind::Entity);
    assert_eq!(names(e, NameKind::Aka), ["NATIONAL BANK OF CUBA"]);
    assert_eq!(e.programs, ["CUBA"]);

    let wong = get(&SDN, Sdn, "9340");
    assert_eq!(wong.primary_name(), "WONG, Moon Chi");
    let aka = names(wong, NameKind::Aka);
    assert_eq!(aka.len(), 21);
    assert_eq!(aka.first(), Some(&"WU, Chaisu"));
    assert_eq!(aka.last(), Some(&"HUANG, Manchi"));

    let sber = get(&SDN, Sdn, "17018");
    assert!(names(sber, NameKind::Fka).contains(&"SBERBANK OF RSFSR"));
    assert!(names(sber, NameKind::Aka).contains(&"PJSC SBERBANK"));
}

#[test]
fn weak_aliases_come_from_remarks() {
    let bnc = get(&SDN, Sdn, "306");
    assert_eq!(names(bnc, NameKind::Weak), ["BNC"]);
    // The names come after the primary and the alias-file names.
    assert_eq!(bnc.names.last().map(|n| n.kind), Some(NameKind::Weak));
}

#[test]
fn remarks_overflow_is_joined_before_extraction() {
    // sdn.csv cuts Lazarus Group's remarks at `'WHOIS HACKIN`; the overflow
    // file continues `G TEAM'; a.k.a. 'RED DOT'; …`.
    let lazarus = get(&SDN, Sdn, "27307");
    assert_eq!(lazarus.primary_name(), "LAZARUS GROUP");
    let weak = names(lazarus, NameKind::Weak);
    assert!(weak.contains(&"WHOIS HACKING TEAM"), "{weak:?}");
    assert!(weak.contains(&"APPLEWORM"), "{weak:?}");
    assert_eq!(weak.len(), 11);
    assert!(
        lazarus
            .remarks
            .as_deref()
            .unwrap()
            .ends_with("a.k.a. 'APPLEWORM'.")
    );
}

#[test]
fn individual_birth_years_and_countries() {
    // DOB 18 Mar 1961; alt. DOB 21 Apr 1945; … POB China; nationality China;
    // citizen China; alt. citizen Cambodia; address Hong Kong, China.
    let wong = get(&SDN, Sdn, "9340");
    assert_eq!(wong.kind, EntryKind::Individual);
    assert_eq!(wong.birth_years, [1945, 1947, 1955, 1958, 1961]);
    assert_eq!(wong.countries, codes(&["CN", "KH"]));
    assert_eq!(wong.addresses.len(), 1);
    assert_eq!(wong.addresses[0].text, "Hong Kong");
    assert_eq!(wong.addresses[0].country.as_deref(), Some("China"));

    // DOB 1951 to 1953; alt. DOB 1960 to 1962; alt. DOB Apr 1961; alt. DOB 1953.
    let naqdi = get(&SDN, Sdn, "12057");
    assert_eq!(naqdi.birth_years, [1951, 1952, 1953, 1960, 1961, 1962]);
}

#[test]
fn vessel_flag_is_a_country() {
    let ebano = get(&SDN, Sdn, "4243");
    assert_eq!(ebano.kind, EntryKind::Vessel);
    assert_eq!(ebano.countries, codes(&["PA"]));
    assert_eq!(names(ebano, NameKind::Weak), ["ANA I", "SAND SWAN"]);
}

#[test]
fn all_null_address_rows_add_nothing() {
    // add.csv has `15036,22372,-0- ,-0- ,-0- ,-0- `.
    assert!(get(&SDN, Sdn, "15036").addresses.is_empty());
}

// --- OFAC consolidated (non-SDN) ---------------------------------------------

#[test]
fn consolidated_entries_map_to_their_lists() {
    assert_eq!(
        CONS.counts,
        counts(&[(Ssi, 286), (Plc, 78), (Cmic, 68), (Cap, 15), (Mbs, 15)])
    );
    assert!(CONS.problems.is_empty(), "{:?}", CONS.problems);
    // Sberbank: SSI by program, CAP by EO 14024 Directive 2, MBS by Directive 3.
    for list in [Ssi, Cap, Mbs] {
        assert_eq!(
            get(&CONS, list, "17018").primary_name(),
            "PUBLIC JOINT STOCK COMPANY SBERBANK OF RUSSIA"
        );
    }
    assert_eq!(
        get(&CONS, Cap, "15268").primary_name(),
        "BANK OF KUNLUN CO LTD"
    );
    assert_eq!(
        get(&CONS, Mbs, "27016").primary_name(),
        "PRESIDENCY OF DEFENSE INDUSTRIES"
    );
    assert!(
        CONS.entry(Mbs, "17013").is_none(),
        "VTB names no EO 14024 directive"
    );
}

#[test]
fn consolidated_individual_facts() {
    // "DOB 1945; POB Gaza Strip; nationality Palestinian; … a.k.a. 'ZAHAR, Mahmoud'"
    let zahhar = get(&CONS, Plc, "9647");
    assert_eq!(zahhar.kind, EntryKind::Individual);
    assert_eq!(zahhar.birth_years, [1945]);
    assert_eq!(zahhar.countries, codes(&["PS"]));
    assert_eq!(
        names(zahhar, NameKind::Weak),
        ["ZAHAR, Mahmoud", "AL-ZAHAR, Mahmoud"]
    );
    assert_eq!(zahhar.programs, ["SDGT", "NS-PLC"]);
}

#[test]
fn consolidated_overflow_adds_weak_aliases() {
    let names = names(get(&CONS, Ssi, "17018"), NameKind::Weak);
    assert_eq!(names, ["SBERBANK INDIA", "SBERBANK MUMBAI"]);
}

#[test]
fn an_ent_num_on_sdn_and_non_sdn_lists_is_two_entries() {
    let mut files = sdn_set().to_vec();
    files.extend(cons_set());
    let s = import(&files).unwrap();
    assert_eq!(s.counts.get(&Sdn), Some(&13_821));
    assert_eq!(s.counts.get(&Ssi), Some(&286));
    let sdn = get(&s, Sdn, "17018");
    let ssi = get(&s, Ssi, "17018");
    assert_ne!(sdn.remarks, ssi.remarks, "each from its own publication");
    assert!(s.sources.iter().all(|i| i.duplicates == 0));
}

// --- Consolidated Screening List -------------------------------------------

#[test]
fn current_csl_rows_map_to_list_codes() {
    let s = import(&[data!("consolidated.csv")]).unwrap();
    assert_eq!(s.sources[0].format, ListFormat::CslCurrent);
    assert_eq!(
        s.counts,
        counts(&[
            (Sdn, 1),
            (El, 1),
            (Dpl, 1),
            (Uvl, 1),
            (Meu, 1),
            (Isn, 1),
            (Dtc, 1),
            (Ssi, 3),
            (Fse, 1),
            (Plc, 2),
        ])
    );
    assert!(s.problems.is_empty(), "{:?}", s.problems);

    let rim = get(&s, Sdn, "52291");
    assert_eq!(rim.primary_name(), "RIM, Ryong Nam");
    assert_eq!(rim.kind, EntryKind::Individual);
    assert_eq!(rim.birth_years, [1978]);
    assert_eq!(rim.countries, codes(&["CN", "KP"]));
    assert_eq!(rim.addresses[0].text, "Shenyang");
    assert_eq!(rim.addresses[0].country.as_deref(), Some("CN"));

    let cetc = get(
        &s,
        El,
        "99ed1b052fdb09695fae1ba87516d8a0882b0df04652e07aeb5ce7be",
    );
    let aka = names(cetc, NameKind::Aka);
    assert_eq!(aka.len(), 6);
    assert_eq!(aka.last(), Some(&"CETC Research Institute 13"));

    let isn = get(
        &s,
        Isn,
        "233a4d725770c81fb561ffe3842c14010c2201971d6be62eca1e613b",
    );
    assert_eq!(isn.primary_name(), "Sinobright Import and Export Company");
    assert_eq!(isn.kind, EntryKind::Entity);

    let dtc = get(&s, Dtc, "34d6611355974b0ba70eba9a096971f8");
    assert_eq!(dtc.kind, EntryKind::Individual, "an untyped DTC person");
    let fse = get(&s, Fse, "26182");
    assert_eq!(fse.countries, codes(&["TR"]));
    assert_eq!(fse.birth_years, [1980]);
}

#[test]
fn legacy_csl_rows_map_to_list_codes() {
    let s = import(&[data!("csl.csv")]).unwrap();
    assert_eq!(s.sources[0].format, ListFormat::CslLegacy);
    assert_eq!(s.sources[0].rows, 115);
    assert_eq!(
        s.counts,
        counts(&[
            (Sdn, 28),
            (Ssi, 26),
            (El, 22),
            (Plc, 13),
            (Dtc, 10),
            (Dpl, 8),
            (Uvl, 4),
            (Isn, 3),
            (Cap, 1),
        ])
    );
    let canada = get(&s, Sdn, "8124");
    assert_eq!(
        names(canada, NameKind::Aka),
        ["CARIBE SOL", "HAVANTUR CANADA INC."]
    );
    assert_eq!(canada.countries, codes(&["CA"]));
    let vessel = get(&s, Sdn, "23156");
    assert_eq!(vessel.kind, EntryKind::Vessel);
    assert_eq!(
        vessel.countries,
        codes(&["KP"]),
        "flag Democratic People's Republic of Korea"
    );
    assert_eq!(
        get(&s, Cap, "15268").primary_name(),
        "BANK OF KUNLUN CO LTD"
    );
    // Rows without entity_number get an id derived from their content.
    let el: Vec<&ListEntry> = s.entries.iter().filter(|e| e.list == El).collect();
    assert!(
        el.iter()
            .all(|e| e.uid.starts_with("CSL-") && e.uid.len() == 16)
    );
}

#[test]
fn ofac_entries_win_over_csl_duplicates() {
    let mut files = sdn_set().to_vec();
    files.push(data!("csl.csv"));
    let s = import(&files).unwrap();
    let csl = s.sources.iter().find(|i| i.name == "csl.csv").unwrap();
    assert_eq!(csl.duplicates, 23);
    // The 5 CSL SDN rows whose ent_num left the list by 2023 are kept.
    assert_eq!(s.counts.get(&Sdn), Some(&(13_821 + 5)));
    assert_eq!(get(&s, Sdn, "10101").primary_name(), "GBS TRADING S.A.");
    for e in SDN.entries.iter() {
        assert_eq!(get(&s, Sdn, &e.uid), e, "OFAC's richer entry is kept");
    }
}

// --- Denied Persons List -----------------------------------------------------

#[test]
fn denied_persons_rows_are_read() {
    let s = import(&[data!("dpl.txt")]).unwrap();
    let info = &s.sources[0];
    assert_eq!(info.format, ListFormat::DeniedPersons);
    assert_eq!((info.rows, info.rejected), (581, 0));
    // Two rows repeat another row exactly; they collapse into one entry each.
    assert_eq!(info.duplicates, 2);
    assert_eq!(s.counts, counts(&[(Dpl, 579)]));
    let ash = s
        .entries
        .iter()
        .find(|e| e.primary_name() == "I. ASH" && e.addresses[0].text.contains("SEAGOVILLE"))
        .unwrap();
    assert_eq!(ash.kind, EntryKind::Individual);
    assert_eq!(ash.countries, codes(&["US"]));
    assert!(ash.uid.starts_with("DPL-") && ash.uid.len() == 16);
    let airline = s
        .entries
        .iter()
        .find(|e| e.primary_name() == "AL NASER WINGS AIRLINES")
        .unwrap();
    assert_eq!(airline.kind, EntryKind::Entity);
    // The same bytes give the same ids.
    let again = import(&[data!("dpl.txt")]).unwrap();
    assert_eq!(again.entries, s.entries);
}

// --- the whole directory -----------------------------------------------------

#[test]
fn every_file_imports_together() {
    let mut files = sdn_set().to_vec();
    files.extend(cons_set());
    files.extend([
        data!("consolidated.csv"),
        data!("csl.csv"),
        data!("dpl.txt"),
    ]);
    let s = import(&files).unwrap();
    assert_eq!(s.sources.len(), 11);
    assert_eq!(s.problems.len(), 3);
    let total: usize = s.counts.values().sum();
    assert_eq!(total, s.entries.len());
    // Sorted by (list, uid), one entry per key.
    assert!(
        s.entries
            .windows(2)
            .all(|w| (w[0].list, &w[0].uid) < (w[1].list, &w[1].uid))
    );
    // OFAC files first, then current CSL, legacy CSL, DPL.
    let order: Vec<&str> = s.sources.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(&order[8..], ["consolidated.csv", "csl.csv", "dpl.txt"]);
}

// --- bad input ---------------------------------------------------------------

const ROW_A: &str = "1,\"ALPHA TRADING\",-0- ,\"SDGT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n";
const ROW_C: &str = "3,\"CHARLIE, Jo\",\"individual\",\"SDGT] [IRGC\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"DOB 1961; nationality Iran.\"\r\n";

fn sdn(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
    import(&[ListFile {
        name: "lists/sdn.csv",
        bytes,
    }])
}

#[test]
fn invalid_utf8_rejects_only_its_row() {
    let mut bytes = ROW_A.as_bytes().to_vec();
    let bad_at = bytes.len() + 5;
    bytes.extend_from_slice(
        b"2,\"BR\xffVO\",-0- ,\"SDGT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n",
    );
    bytes.extend_from_slice(ROW_C.as_bytes());
    let s = sdn(&bytes).unwrap();
    let uids: Vec<&str> = s.entries.iter().map(|e| e.uid.as_str()).collect();
    assert_eq!(uids, ["1", "3"]);
    assert_eq!(s.problems.len(), 1);
    let p = &s.problems[0];
    assert_eq!((p.file.as_str(), p.line), ("lists/sdn.csv", 2));
    assert_eq!(p.field.as_deref(), Some("SDN_Name"));
    assert!(
        p.message.contains(&format!("byte offset {bad_at}")),
        "{}",
        p.message
    );
    assert_eq!((s.sources[0].rows, s.sources[0].rejected), (3, 1));
}

#[test]
fn truncated_file_reports_the_cut_row_and_keeps_the_rest() {
    let full = data!("sdn.csv").bytes;
    // Cut inside the quoted name of the 5,001st row ("'WOLF' HOLDING …").
    let line_starts: Vec<usize> = full
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .collect();
    let cut = line_starts[4_999] + 20;
    let s = sdn(&full[..cut]).unwrap();
    assert_eq!(s.entries.len(), 5_000);
    assert_eq!(s.problems.len(), 1);
    assert_eq!(s.problems[0].line, 5_001);
    assert!(
        s.problems[0].message.contains("cut off"),
        "{}",
        s.problems[0]
    );

    // Cut between fields instead: the row is short.
    let short = format!("{ROW_A}2,\"BRAVO\",-0- ,\"SDGT\"");
    let s = sdn(short.as_bytes()).unwrap();
    assert_eq!(s.entries.len(), 1);
    assert_eq!(
        s.problems[0].to_string(),
        "lists/sdn.csv:2: expected 12 columns, found 4 (is the row or the file cut off?)"
    );
}

#[test]
fn dos_eof_byte_is_optional() {
    let with = data!("sdn.csv").bytes;
    assert_eq!(with.last(), Some(&0x1A));
    let without = &with[..with.len() - 1];
    let a = sdn(with).unwrap();
    let b = sdn(without).unwrap();
    assert_eq!(a.entries.len(), 13_821);
    assert_eq!(a.entries, b.entries);
    assert_eq!(a.content_hash, b.content_hash);
    assert_ne!(a.sources[0].sha256, b.sources[0].sha256);
    assert!(b.problems.is_empty());
}

#[test]
fn zero_row_file_is_a_problem_and_no_entries_an_error() {
    let empty_alt = ListFile {
        name: "alt.csv",
        bytes: b"\x1a",
    };
    let s = import(&[
        ListFile {
            name: "sdn.csv",
            bytes: ROW_A.as_bytes(),
        },
        empty_alt,
    ])
    .unwrap();
    assert_eq!(s.entries.len(), 1);
    assert_eq!(
        s.problems[0].to_string(),
        "alt.csv:1: `alt.csv` has no rows"
    );

    let err = sdn(b"").unwrap_err();
    assert!(matches!(err, SnapshotError::NoEntries { count: 1, .. }));
    assert_eq!(
        err.to_string(),
        "the import of `lists/sdn.csv` produced no entries (1 row problems); first: \
         lists/sdn.csv:1: `lists/sdn.csv` has no rows"
    );

    let header_only = ListFile {
        name: "consolidated.csv",
        bytes: b"_id,source,name\r\n",
    };
    let err = import(&[header_only]).unwrap_err();
    assert!(
        err.to_string().contains("`consolidated.csv` has no rows"),
        "{err}"
    );
}

#[test]
fn alias_without_primary_record_is_a_problem() {
    let alt = "1,10,\"aka\",\"ALPHA TRADE\",-0- \r\n99,11,\"aka\",\"NOBODY\",-0- \r\n1,12,\"xka\",\"ODD\",-0- \r\n";
    let add = "99,5,\"Street\",\"City\",\"Iran\",-0- \r\n";
    let s = import(&[
        ListFile {
            name: "sdn.csv",
            bytes: ROW_A.as_bytes(),
        },
        ListFile {
            name: "alt.csv",
            bytes: alt.as_bytes(),
        },
        ListFile {
            name: "add.csv",
            bytes: add.as_bytes(),
        },
    ])
    .unwrap();
    let problems: Vec<String> = s.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            "add.csv:1: field `ent_num`: no primary record for ent_num 99",
            "alt.csv:2: field `ent_num`: no primary record for ent_num 99",
            "alt.csv:3: field `alt_type`: unknown alias type `xka` (expected aka, fka or nka)",
        ]
    );
    assert_eq!(
        names(&s.entries[0], NameKind::Aka),
        ["ALPHA TRADE"],
        "the good alias row is joined"
    );
}

#[test]
fn bad_primary_rows_are_problems() {
    let rows = format!(
        "{ROW_A}x,\"BAD NUM\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n\
         4,\"SHIP\",\"submarine\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n\
         1,\"AGAIN\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n\
         5,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n"
    );
    let s = sdn(rows.as_bytes()).unwrap();
    let problems: Vec<String> = s.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            "lists/sdn.csv:2: field `ent_num`: `x` is not an ent_num (expected a whole number)",
            "lists/sdn.csv:3: field `SDN_Type`: unknown SDN_Type `submarine` (expected individual, vessel, aircraft or -0- for an entity)",
            "lists/sdn.csv:4: field `ent_num`: duplicate ent_num 1; the row on line 1 is kept",
            "lists/sdn.csv:5: field `SDN_Name`: empty name",
        ]
    );
    assert_eq!(get(&s, Sdn, "1").primary_name(), "ALPHA TRADING");
}

#[test]
fn unknown_csl_source_is_a_row_problem() {
    let csl = "source,name,type\r\nUN Security Council (UNSC),Someone,Individual\r\nEntity List (EL) - Bureau of Industry and Security,Acme Ltd,\r\n";
    let s = import(&[ListFile {
        name: "csl.csv",
        bytes: csl.as_bytes(),
    }])
    .unwrap();
    assert_eq!(s.counts, counts(&[(El, 1)]));
    assert_eq!(s.problems[0].line, 2);
    assert_eq!(s.problems[0].field.as_deref(), Some("source"));
    assert!(
        s.problems[0]
            .message
            .contains("`UN Security Council (UNSC)`")
    );
}

#[test]
fn csl_without_needed_column_is_an_error() {
    let err = import(&[ListFile {
        name: "csl.csv",
        bytes: b"source,alt_names\r\nEL,x\r\n",
    }])
    .unwrap_err();
    assert_eq!(
        err,
        SnapshotError::List(ListError::MissingColumn {
            file: "csl.csv".into(),
            column: "name".into(),
            found: "source, alt_names".into(),
        })
    );
}

#[test]
fn two_primaries_of_one_publication_are_refused() {
    let err = import(&[data!("sdn.csv"), data!("ofac_sdn_2024-05-03/sdn.csv")]).unwrap_err();
    assert!(matches!(err, SnapshotError::SecondFile { .. }), "{err}");
    assert!(err.to_string().contains("import one publication at a time"));
    assert_eq!(import(&[]).unwrap_err(), SnapshotError::NoFiles);
    let unknown = import(&[ListFile {
        name: "notes.txt",
        bytes: b"hello",
    }])
    .unwrap_err();
    assert!(matches!(
        unknown,
        SnapshotError::List(ListError::UnknownFormat { .. })
    ));
}

// --- snapshots ---------------------------------------------------------------

#[test]
fn snapshot_is_deterministic_and_order_independent() {
    let mut reversed = sdn_set().to_vec();
    reversed.reverse();
    let again = import(&reversed).unwrap();
    assert_eq!(again, *SDN);
    assert_eq!(again.content_hash.len(), 64);
}

#[test]
fn content_hash_follows_the_entries() {
    // Dropping the alias file changes entries, hence the hash.
    let fewer = import(&[
        data!("sdn.csv"),
        data!("add.csv"),
        data!("sdn_comments.csv"),
    ])
    .unwrap();
    assert_ne!(fewer.content_hash, SDN.content_hash);
    // Renaming a file changes nothing the snapshot says.
    let files = sdn_set().map(|f| ListFile {
        name: match f.name {
            "sdn.csv" => "x/SDN.CSV",
            other => other,
        },
        ..f
    });
    let renamed = import(&files).unwrap();
    assert_eq!(renamed.content_hash, SDN.content_hash);
    assert_eq!(renamed.entries, SDN.entries);
}

#[test]
fn snapshot_round_trips_through_json() {
    let s = import(&[data!("consolidated.csv"), data!("dpl.txt")]).unwrap();
    let json = serde_json::to_string(&s).unwrap();
    let back: Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    assert!(
        json.contains("\"counts\":{\"SDN\":1,"),
        "lists serialise by code"
    );
}

#[test]
fn detect_agrees_with_file_names_of_the_real_data() {
    for (f, format) in [
        (data!("sdn.csv"), ListFormat::OfacPrimary),
        (data!("cons_alt.csv"), ListFormat::OfacAlternate),
        (data!("add.csv"), ListFormat::OfacAddress),
        (data!("cons_comments.csv"), ListFormat::OfacComments),
        (data!("consolidated.csv"), ListFormat::CslCurrent),
        (data!("csl.csv"), ListFormat::CslLegacy),
        (data!("dpl.txt"), ListFormat::DeniedPersons),
    ] {
        assert_eq!(detect(f.name, f.bytes).unwrap(), format, "{}", f.name);
        // The content alone says the same.
        assert_eq!(detect("download", f.bytes).unwrap(), format, "{}", f.name);
    }
}

// --- properties --------------------------------------------------------------

/// Names every reader answers to.
const NAMES: [&str; 8] = [
    "sdn.csv",
    "alt.csv",
    "add.csv",
    "sdn_comments.csv",
    "consolidated.csv",
    "csl.csv",
    "dpl.txt",
    "unknown.bin",
];

fn csvish() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::vec(
            prop::sample::select(b"0123456789,\"\t\r\n -;'.aA[]()\x1a\xff\xc3_".to_vec()),
            0..300
        ),
    ]
}

proptest! {
    #[test]
    fn readers_never_panic(bytes in csvish(), header in 0usize..3) {
        let mut data = match header {
            0 => Vec::new(),
            1 => b"_id,source,entity_number,type,programs,name,addresses,alt_names,dates_of_birth,places_of_birth\r\n".to_vec(),
            _ => b"\"Name\"\t\"Street_Address\"\t\"Country\"\t\"Effective_Date\"\n".to_vec(),
        };
        data.extend_from_slice(&bytes);
        for name in NAMES {
            match import(&[ListFile { name, bytes: &data }]) {
                Ok(s) => {
                    let _ = serde_json::to_string(&s).unwrap();
                    for p in &s.problems {
                        let _ = p.to_string();
                    }
                }
                Err(e) => {
                    let _ = e.to_string();
                }
            }
        }
        // All OFAC roles at once, sharing the bytes.
        let family: Vec<ListFile<'_>> = NAMES[..4].iter().map(|&name| ListFile { name, bytes: &data }).collect();
        let _ = import(&family);
    }

    #[test]
    fn generated_primary_row_round_trips(
        ent_num in 1u64..10_000_000,
        name in "[A-Z][A-Z ,.'\"-]{0,30}[A-Z]",
        kind in 0usize..4,
        programs in proptest::collection::vec("[A-Z0-9][A-Z0-9-]{1,12}", 1..4),
        year in proptest::option::of(1900u16..2010),
        nationality in proptest::option::of(0usize..3),
        weak in proptest::option::of("X[0-9]{3}"),
        eof in any::<bool>(),
    ) {
        let (type_field, entry_kind) = [
            ("-0- ", EntryKind::Entity),
            ("\"individual\"", EntryKind::Individual),
            ("\"vessel\"", EntryKind::Vessel),
            ("\"aircraft\"", EntryKind::Aircraft),
        ][kind];
        let countries = [("Russia", "RU"), ("Korea, North", "KP"), ("Iran", "IR")];
        let mut clauses = Vec::new();
        if let Some(y) = year {
            clauses.push(format!("DOB 12 Mar {y}"));
        }
        if let Some(n) = nationality {
            clauses.push(format!("nationality {}", countries[n].0));
        }
        if let Some(w) = &weak {
            clauses.push(format!("a.k.a. '{w}'"));
        }
        let remarks = clauses.join("; ");
        let remarks_field = if remarks.is_empty() {
            "-0- ".to_owned()
        } else {
            format!("\"{}.\"", remarks.replace('"', "\"\""))
        };
        let mut row = format!(
            "{ent_num},\"{}\",{type_field},\"{}\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,{remarks_field}\r\n",
            name.replace('"', "\"\""),
            programs.join("] ["),
        );
        if eof {
            row.push('\x1a');
        }
        let s = sdn(row.as_bytes()).unwrap();
        prop_assert!(s.problems.is_empty(), "{:?}", s.problems);
        prop_assert_eq!(s.entries.len(), 1);
        let e = &s.entries[0];
        prop_assert_eq!(e.list, Sdn);
        prop_assert_eq!(&e.uid, &ent_num.to_string());
        prop_assert_eq!(e.kind, entry_kind);
        prop_assert_eq!(e.primary_name(), name.as_str());
        prop_assert_eq!(&e.programs, &programs);
        prop_assert_eq!(&e.birth_years, &year.into_iter().collect::<Vec<_>>());
        let expected: Vec<CountryCode> = nationality.map(|n| cc(countries[n].1)).into_iter().collect();
        prop_assert_eq!(&e.countries, &expected);
        prop_assert_eq!(names(e, NameKind::Weak), weak.iter().map(String::as_str).collect::<Vec<_>>());
        prop_assert_eq!(e.remarks.is_some(), !remarks.is_empty());
    }
}
