use super::*;
use proptest::prelude::*;

fn joined(name: &str) -> String {
    normalize(name).joined()
}

fn roles(name: &str) -> Vec<Role> {
    normalize(name).tokens.into_iter().map(|t| t.role).collect()
}

#[test]
fn folds_diacritics_and_case() {
    assert_eq!(joined("Radovan Karadžić"), "RADOVAN KARADZIC");
    assert_eq!(
        joined("Straße Øresund Łódź Müller"),
        "STRASSE ORESUND LODZ MULLER"
    );
    // Decomposed diacritics (a letter and a combining mark) fold the same way.
    assert_eq!(joined("Karadz\u{30C}ic\u{301}"), "KARADZIC");
}

#[test]
fn romanises_cyrillic_as_ofac_does() {
    assert_eq!(
        joined("Евгений Викторович Пригожин"),
        "YEVGENIY VIKTOROVICH PRIGOZHIN"
    );
    assert_eq!(joined("Хабаров Щербаков Цой"), "KHABAROV SHCHERBAKOV TSOY");
    assert_eq!(joined("Юрий Ильич Воробьев"), "YURIY ILICH VOROBYEV");
}

#[test]
fn romanises_arabic_consonants_and_flags_them() {
    let n = normalize("أسامة بن لادن");
    assert_eq!(n.joined(), "ASAMA BN LADN");
    assert!(n.tokens.iter().all(|t| t.abjad));
    // The joined article is split off as lists write it.
    assert_eq!(joined("الظواهري"), "AL ZWAHRY");
    assert!(!normalize("Usama").tokens.iter().any(|t| t.abjad));
}

#[test]
fn writes_an_indic_long_vowel_as_one_letter() {
    assert_eq!(joined("আবু আলি"), "ABU ALI");
    assert_eq!(joined("मेहता"), "MEHTA");
    assert_eq!(joined("दीपा सूद"), "DIPA SUD");
}

#[test]
fn transliterates_other_scripts() {
    assert_eq!(joined("Αλέξης"), "ALEXES");
    assert_eq!(joined("金正恩"), "JIN ZHENG EN");
}

#[test]
fn apostrophes_join_and_punctuation_splits() {
    assert_eq!(joined("O'Brien"), "OBRIEN");
    assert_eq!(joined("O\u{2019}Brien"), "OBRIEN");
    assert_eq!(joined("AL-QA'IDA"), "AL QAIDA");
    assert_eq!(joined("A/B.C;D"), "A B C D");
}

#[test]
fn empty_punctuation_and_emoji_give_no_tokens() {
    for s in ["", "   ", "...,;--", "👍🔥", "\u{301}\u{302}", "«»"] {
        assert!(normalize(s).is_empty(), "{s:?} gave {:?}", normalize(s));
    }
}

#[test]
fn surname_comma_given_names_is_turned_around() {
    assert_eq!(joined("KARADZIC, Radovan"), "RADOVAN KARADZIC");
    assert_eq!(
        joined("BIN LADIN, Usama bin Muhammad bin Awad"),
        "USAMA BIN MUHAMMAD BIN AWAD BIN LADIN"
    );
    // A legal form after the comma marks a company: order kept.
    assert_eq!(
        joined("ANGLO-CARIBBEAN CO., LTD."),
        "ANGLO CARIBBEAN CO LTD"
    );
    assert_eq!(joined("M INVEST, OOO"), "M INVEST LLC");
    // Also one written with dots, which comes as letters.
    assert_eq!(joined("COMERCIAL CIMEX, S.A."), "COMERCIAL CIMEX SA");
    assert_eq!(joined("ACME, S.A. DE C.V."), "ACME SADECV");
    // An initial after the comma is still a given name.
    assert_eq!(joined("KIM, J"), "J KIM");
    // Two commas: not the OFAC individual pattern.
    assert_eq!(joined("A, B, C"), "A B C");
}

#[test]
fn honorifics_are_dropped_unless_alone() {
    assert_eq!(joined("Dr. Ayman al-Zawahiri"), "AYMAN AL ZAWAHIRI");
    assert_eq!(joined("Mr Sheikh Haji Abdul"), "ABDUL");
    assert_eq!(joined("Haji"), "HAJI");
}

#[test]
fn legal_forms_are_canonical() {
    assert_eq!(joined("Acme Limited"), joined("ACME LTD."));
    assert_eq!(joined("Acme Company"), "ACME CO");
    assert_eq!(joined("Acme Corporation"), joined("Acme Corp"));
    assert_eq!(joined("Acme Incorporated"), "ACME INC");
    for s in [
        "OOO Argument",
        "Limited Liability Company Argument",
        "Obshchestvo s Ogranichennoy Otvetstvennostyu Argument",
        "Общество с ограниченной ответственностью Аргумент",
        "LLC Argument",
        "L.L.C. Argument",
    ] {
        // The one-letter phrase needs a word before it.
        let expected = if s.starts_with("L.L.C.") {
            "L L C ARGUMENT"
        } else {
            "LLC ARGUMENT"
        };
        assert_eq!(joined(s), expected, "{s}");
    }
    for s in [
        "JSC Argument",
        "OAO Argument",
        "ZAO Argument",
        "PAO Argument",
        "AO Argument",
        "OJSC Argument",
        "CJSC Argument",
        "PJSC Argument",
        "Joint Stock Company Argument",
        "Public Joint-Stock Company Argument",
        "Aktsionernoe Obshchestvo Argument",
        "Публичное акционерное общество Аргумент",
    ] {
        assert_eq!(joined(s), "JSC ARGUMENT", "{s}");
    }
    assert_eq!(
        joined("Grupo Mexicano S.A. de C.V."),
        "GRUPO MEXICANO SADECV"
    );
    assert_eq!(joined("Banco S.A."), "BANCO SA");
    assert_eq!(joined("Acme B.V."), "ACME BV");
    assert_eq!(joined("Acme GmbH"), "ACME GMBH");
    assert_eq!(joined("Acme PLC"), "ACME PLC");
    assert_eq!(joined("Acme FZE"), "ACME FZE");
}

#[test]
fn initials_at_the_start_are_not_legal_forms() {
    assert_eq!(joined("S A Khan"), "S A KHAN");
    assert_eq!(roles("S A Khan"), [Role::Word, Role::Word, Role::Word]);
}

#[test]
fn glued_legal_forms_are_split() {
    assert_eq!(joined("JSCARGUMENT"), "JSC ARGUMENT");
    assert_eq!(joined("ARGUMENTLLC"), "ARGUMENT LLC");
    assert_eq!(joined("OOOARGUMENTLTD"), "LLC ARGUMENT LTD");
    // Too little would be left: not a glued form.
    assert_eq!(joined("JSCAB"), "JSCAB");
    // Ordinary words that merely contain the letters are left alone.
    assert_eq!(joined("ZINC PAOLO"), "ZINC PAOLO");
}

#[test]
fn roles_mark_low_information_tokens() {
    assert_eq!(
        roles("National Trading Bank 11420 Belletech LLC"),
        [
            Role::Generic,
            Role::Generic,
            Role::Generic,
            Role::Digits,
            Role::Word,
            Role::LegalForm
        ]
    );
    assert!(!normalize("Bank of the Group LLC").has_informative());
    assert!(normalize("11420 Corp.").has_informative());
}

#[test]
fn digits_and_short_tokens_are_kept() {
    assert_eq!(joined("11420 CORP."), "11420 CORP");
    assert_eq!(joined("M FINANS"), "M FINANS");
}

#[test]
fn long_input_is_capped() {
    let long = "Abcdefgh ".repeat(1200);
    let n = normalize(&long);
    assert_eq!(n.len(), MAX_TOKENS);
    let word = "X".repeat(10_000);
    let n = normalize(&word);
    assert_eq!(n.tokens.first().map(|t| t.text.len()), Some(MAX_TOKEN_LEN));
}

#[test]
fn fold_keeps_every_word() {
    assert_eq!(fold("Mr. O'Brien & Co., Ltd."), "MR OBRIEN CO LTD");
    assert_eq!(fold("Пригожин"), "PRIGOZHIN");
}

fn name_text() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        "[A-Za-z]{1,9}",
        "[0-9]{1,5}",
        Just("S".to_owned()),
        Just("A".to_owned()),
        Just("DE".to_owned()),
        Just("C".to_owned()),
        Just("V".to_owned()),
        Just("CV".to_owned()),
        Just("SA".to_owned()),
        Just("L".to_owned()),
        Just("JOINT".to_owned()),
        Just("STOCK".to_owned()),
        Just("COMPANY".to_owned()),
        Just("LIMITED".to_owned()),
        Just("LIABILITY".to_owned()),
        Just("MR".to_owned()),
        Just("HAJI".to_owned()),
        Just("JSC".to_owned()),
        Just("OOO".to_owned()),
        Just("LLC".to_owned()),
        Just("JSCJSCABC".to_owned()),
        Just("Евгений".to_owned()),
        Just("محمد".to_owned()),
        Just("الظواهري".to_owned()),
        "\\PC{1,6}",
    ];
    let sep = prop_oneof![
        Just(" "),
        Just(", "),
        Just("-"),
        Just("."),
        Just("'"),
        Just(""),
    ];
    prop::collection::vec((word, sep), 0..40).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(w, s)| format!("{w}{s}"))
            .collect::<String>()
    })
}

fn text_and_roles(n: &Normalized) -> Vec<(String, Role)> {
    n.tokens.iter().map(|t| (t.text.clone(), t.role)).collect()
}

proptest! {
    #[test]
    fn normalizing_is_idempotent(name in name_text()) {
        let once = normalize(&name);
        let twice = normalize(&once.joined());
        prop_assert_eq!(text_and_roles(&once), text_and_roles(&twice));
    }

    #[test]
    fn tokens_are_ascii_alphanumeric_and_bounded(name in "\\PC{0,200}") {
        let n = normalize(&name);
        prop_assert!(n.len() <= MAX_TOKENS);
        for t in &n.tokens {
            prop_assert!(!t.text.is_empty());
            prop_assert!(t.text.len() <= MAX_TOKEN_LEN);
            prop_assert!(t.text.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        }
        let f = fold(&name);
        prop_assert!(f.bytes().all(|b| b == b' ' || b.is_ascii_uppercase() || b.is_ascii_digit()));
    }

    #[test]
    fn arbitrary_text_is_idempotent(name in "\\PC{0,80}") {
        let once = normalize(&name);
        let twice = normalize(&once.joined());
        prop_assert_eq!(text_and_roles(&once), text_and_roles(&twice));
    }
}
