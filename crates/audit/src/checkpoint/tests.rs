use super::*;

fn key() -> SigningKey {
    SigningKey::from_seed("audit.example.com/log", [7; 32]).unwrap()
}

fn sample() -> Checkpoint {
    Checkpoint::new("audit.example.com/log", 20_852_163, [0xab; 32])
}

#[test]
fn body_has_origin_size_and_base64_root() {
    assert_eq!(
        sample().body(),
        "audit.example.com/log\n20852163\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n"
    );
}

#[test]
fn the_spec_example_body_parses_and_prints_back() {
    let body =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    let c = Checkpoint::parse_body(body).unwrap();
    assert_eq!(c.origin, "example.com/behind-the-sofa");
    assert_eq!(c.size, 20_852_163);
    assert_eq!(c.body(), body);
}

#[test]
fn extensions_round_trip() {
    let mut c = sample();
    c.extensions = vec!["ext one".into(), "— two".into()];
    let back = Checkpoint::parse_body(&c.body()).unwrap();
    assert_eq!(back, c);
    let signed = c.sign(&key()).unwrap();
    assert_eq!(Checkpoint::open(&signed, &key().verifier()).unwrap(), c);
}

#[test]
fn sign_then_open_gives_the_checkpoint_back() {
    let signed = sample().sign(&key()).unwrap();
    assert!(signed.starts_with(&sample().body()));
    assert_eq!(
        Checkpoint::open(&signed, &key().verifier()).unwrap(),
        sample()
    );
}

#[test]
fn bad_bodies_name_the_line() {
    let root = "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=";
    let cases: Vec<(String, CheckpointError)> = vec![
        (
            format!("o\n1\n{root}"),
            CheckpointError::MissingFinalNewline,
        ),
        ("o\n".into(), CheckpointError::MissingLine("tree size")),
        ("o\n1\n".into(), CheckpointError::MissingLine("root hash")),
        (
            format!("\n1\n{root}\n"),
            CheckpointError::BadOrigin {
                origin: String::new(),
                reason: "it is empty",
            },
        ),
        (
            format!("o\n01\n{root}\n"),
            CheckpointError::BadSize { line: "01".into() },
        ),
        (
            format!("o\n+1\n{root}\n"),
            CheckpointError::BadSize { line: "+1".into() },
        ),
        (
            format!("o\n\n{root}\n"),
            CheckpointError::BadSize {
                line: String::new(),
            },
        ),
        (
            format!("o\n18446744073709551616\n{root}\n"),
            CheckpointError::BadSize {
                line: "18446744073709551616".into(),
            },
        ),
        (
            "o\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6t=\n".into(),
            CheckpointError::BadRoot {
                line: "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6t=".into(),
            },
        ),
        (
            "o\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s\n".into(),
            CheckpointError::BadRoot {
                line: "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s".into(),
            },
        ),
        (
            "o\n1\nAAAA\n".into(),
            CheckpointError::BadRoot {
                line: "AAAA".into(),
            },
        ),
        (
            format!("o\n1\n{root}\next\n\n"),
            CheckpointError::BadExtension { line: 5 },
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(Checkpoint::parse_body(&body), Err(expected), "{body:?}");
    }
    assert_eq!(
        Checkpoint::parse_body(&format!("o\n0\n{root}\n"))
            .unwrap()
            .size,
        0
    );
    assert_eq!(
        Checkpoint::parse_body(&format!("o\n18446744073709551615\n{root}\n"))
            .unwrap()
            .size,
        u64::MAX
    );
}

#[test]
fn open_distinguishes_its_failures() {
    let k = key();
    let signed = sample().sign(&k).unwrap();

    let other = SigningKey::from_seed("audit.example.com/log", [8; 32]).unwrap();
    assert!(matches!(
        Checkpoint::open(&signed, &other.verifier()),
        Err(CheckpointError::WrongKey { .. })
    ));

    let tampered = signed.replacen("20852163", "20852164", 1);
    assert!(matches!(
        Checkpoint::open(&tampered, &k.verifier()),
        Err(CheckpointError::BadSignature { .. })
    ));

    assert!(matches!(
        Checkpoint::open("not a note", &k.verifier()),
        Err(CheckpointError::Note(_))
    ));

    // A valid note, by the right key, whose text is not a checkpoint.
    let not_checkpoint = note::sign("audit.example.com/log\nmany\n", &k).unwrap();
    assert!(matches!(
        Checkpoint::open(&not_checkpoint, &k.verifier()),
        Err(CheckpointError::BadSize { .. })
    ));

    // A checkpoint for another origin signed by this key.
    let foreign = note::sign(&Checkpoint::new("elsewhere.example", 1, [0; 32]).body(), &k).unwrap();
    assert!(matches!(
        Checkpoint::open(&foreign, &k.verifier()),
        Err(CheckpointError::OriginMismatch { .. })
    ));
}

#[test]
fn sign_refuses_what_open_would_refuse() {
    let k = key();
    let foreign = Checkpoint::new("elsewhere.example", 1, [0; 32]);
    assert!(matches!(
        foreign.sign(&k),
        Err(CheckpointError::OriginMismatch { .. })
    ));
    let mut c = sample();
    c.extensions = vec![String::new()];
    assert_eq!(c.sign(&k), Err(CheckpointError::BadExtension { line: 4 }));
    c.extensions = vec!["a\nb".into()];
    assert_eq!(c.sign(&k), Err(CheckpointError::BadExtension { line: 4 }));
    c.extensions = vec!["tab\there".into()];
    assert!(matches!(c.sign(&k), Err(CheckpointError::Note(_))));
}

#[test]
fn witness_cosignatures_do_not_disturb_open() {
    let k = key();
    let signed = sample().sign(&k).unwrap();
    let witness = SigningKey::from_seed("witness.example", [5; 32]).unwrap();
    let cosig = note::sign(&sample().body(), &witness).unwrap();
    let line = cosig.lines().last().unwrap();
    let both = format!("{signed}{line}\n");
    assert_eq!(Checkpoint::open(&both, &k.verifier()).unwrap(), sample());
}
