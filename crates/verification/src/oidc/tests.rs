use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use cordon_subject::VerificationLevel::{self, DocumentVerified, SelfDeclared};
use proptest::prelude::*;
use ring::hmac;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use serde_json::{Value, json};

use super::jwks::{MAX_JWKS_LEN, MAX_KEYS};
use super::*;
use crate::fact::{Attribute, Fact};

const RSA_PKCS8: &[u8] = include_bytes!("../../tests/fixtures/oidc/rsa2048.pk8.der");
const RSA_SPKI: &[u8] = include_bytes!("../../tests/fixtures/oidc/rsa2048.spki.der");
const RSA_JWK: &str = include_str!("../../tests/fixtures/oidc/rsa2048.jwk.json");

const ISS: &str = "https://sso.example.com";
const AUD: &str = "cordon";
const NOW: i64 = 1_796_637_600; // 2026-12-07T10:00:00Z

struct Keys {
    rsa: RsaKeyPair,
    p256: EcdsaKeyPair,
    p384: EcdsaKeyPair,
    ed: Ed25519KeyPair,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let rng = SystemRandom::new();
        let ec = |alg| {
            let doc = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
            EcdsaKeyPair::from_pkcs8(alg, doc.as_ref(), &rng).unwrap()
        };
        let ed = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        Keys {
            rsa: RsaKeyPair::from_pkcs8(RSA_PKCS8).unwrap(),
            p256: ec(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
            p384: ec(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
            ed: Ed25519KeyPair::from_pkcs8(ed.as_ref()).unwrap(),
        }
    })
}

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

fn rsa_jwk() -> Value {
    serde_json::from_str(RSA_JWK).unwrap()
}

fn ec_jwk(kid: &str, crv: &str, key: &EcdsaKeyPair) -> Value {
    let point = key.public_key().as_ref();
    let len = (point.len() - 1) / 2;
    json!({"kty": "EC", "kid": kid, "crv": crv, "use": "sig",
           "x": b64(&point[1..=len]), "y": b64(&point[1 + len..])})
}

fn ed_jwk() -> Value {
    json!({"kty": "OKP", "kid": "ed-1", "crv": "Ed25519",
           "x": b64(keys().ed.public_key().as_ref())})
}

fn jwks_value() -> Value {
    let k = keys();
    json!({"keys": [
        rsa_jwk(),
        ec_jwk("ec-1", "P-256", &k.p256),
        ec_jwk("ec-384", "P-384", &k.p384),
        ed_jwk(),
    ]})
}

fn jwks() -> Jwks {
    Jwks::parse(jwks_value().to_string().as_bytes()).unwrap()
}

fn now() -> Timestamp {
    Timestamp::from_second(NOW).unwrap()
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn issuer() -> Issuer {
    let mut i = Issuer::new(ISS, AUD);
    i.trust_frameworks
        .insert("de_aml".into(), TrustFramework::at(DocumentVerified));
    i.trust_frameworks.insert(
        "eidas".into(),
        TrustFramework {
            level: SelfDeclared,
            assurance_levels: [
                ("substantial".to_owned(), DocumentVerified),
                ("high".to_owned(), DocumentVerified),
            ]
            .into(),
        },
    );
    i
}

fn claims() -> Value {
    json!({
        "iss": ISS, "aud": AUD, "sub": "u-1", "jti": "j-1",
        "iat": NOW - 10, "exp": NOW + 300,
        "verified_claims": {
            "verification": {
                "trust_framework": "de_aml",
                "time": "2026-12-01T09:00:00Z",
                "evidence": [{
                    "type": "document", "method": "pipp",
                    "document_details": {
                        "type": "passport",
                        "issuer": {"name": "Stadt Augsburg", "country_code": "DE"},
                        "date_of_expiry": "2030-05-01"
                    }
                }]
            },
            "claims": {
                "given_name": "Anna", "family_name": "Schmidt",
                "birthdate": "1984-03-01",
                "nationalities": ["DE"],
                "address": {"locality": "Augsburg", "country": "Germany", "country_code": "DE"}
            }
        }
    })
}

/// Signs `header.payload` with the test key `alg` names.
fn sign_input(alg: &str, input: &[u8]) -> Vec<u8> {
    let k = keys();
    let rng = SystemRandom::new();
    let rsa = |pad: &'static dyn signature::RsaEncoding| {
        let mut sig = vec![0; k.rsa.public().modulus_len()];
        k.rsa.sign(pad, &rng, input, &mut sig).unwrap();
        sig
    };
    match alg {
        "RS256" => rsa(&signature::RSA_PKCS1_SHA256),
        "RS384" => rsa(&signature::RSA_PKCS1_SHA384),
        "RS512" => rsa(&signature::RSA_PKCS1_SHA512),
        "PS256" => rsa(&signature::RSA_PSS_SHA256),
        "PS384" => rsa(&signature::RSA_PSS_SHA384),
        "PS512" => rsa(&signature::RSA_PSS_SHA512),
        "ES256" => k.p256.sign(&rng, input).unwrap().as_ref().to_vec(),
        "ES384" => k.p384.sign(&rng, input).unwrap().as_ref().to_vec(),
        "EdDSA" => k.ed.sign(input).as_ref().to_vec(),
        other => panic!("no test key for {other}"),
    }
}

/// The kid of the test key for `alg`.
fn kid_for(alg: &str) -> &'static str {
    match alg {
        "ES256" => "ec-1",
        "ES384" => "ec-384",
        "EdDSA" => "ed-1",
        _ => "rsa-1",
    }
}

/// A token with `header` and the raw `payload` part, signed with the key
/// of `signer`'s algorithm.
fn token_raw(header: &Value, payload_part: &str, signer: &str) -> String {
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), payload_part);
    let sig = sign_input(signer, input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

fn token_alg(alg: &str, claims: &Value) -> String {
    let header = json!({"alg": alg, "typ": "JWT", "kid": kid_for(alg)});
    token_raw(&header, &b64(claims.to_string().as_bytes()), alg)
}

fn token(claims: &Value) -> String {
    token_alg("RS256", claims)
}

fn verify(token: &str) -> Result<Assertion, AssertionError> {
    verify_assertion(token, &issuer(), &jwks(), now())
}

fn verify_claims(claims: &Value) -> Result<Assertion, AssertionError> {
    verify(&token(claims))
}

fn err(token: &str) -> String {
    verify(token).unwrap_err().to_string()
}

fn err_claims(claims: &Value) -> String {
    verify_claims(claims).unwrap_err().to_string()
}

fn fact(a: &Assertion, attribute: Attribute) -> &Fact {
    a.event
        .facts
        .iter()
        .find(|f| f.attribute == attribute)
        .unwrap_or_else(|| panic!("no {attribute:?} fact in {:?}", a.event.facts))
}

/// `v` with the member at `pointer` set to `new` (added if absent).
fn with(mut v: Value, pointer: &str, new: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match v.pointer_mut(parent).unwrap() {
        Value::Object(o) => {
            o.insert(key.to_owned(), new);
        }
        Value::Array(a) => a[key.parse::<usize>().unwrap()] = new,
        other => panic!("{parent} is {other}"),
    }
    v
}

fn without(mut v: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    v.pointer_mut(parent)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove(key);
    v
}

const VC: &str = "/verified_claims/claims";

// ---------------------------------------------------------------- signatures

#[test]
fn tokens_of_every_algorithm_verify() {
    for alg in Algorithm::ALL {
        let a =
            verify(&token_alg(alg.as_str(), &claims())).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(a.event.account, "u-1", "{alg}");
    }
}

#[test]
fn a_valid_assertion_becomes_a_completed_event() {
    let tok = token(&claims());
    let a = verify(&tok).unwrap();
    assert_eq!(a.event.kind, EventKind::Completed);
    assert_eq!(a.event.account, "u-1");
    assert_eq!(
        a.event.object_id.as_deref(),
        Some("https://sso.example.com#u-1")
    );
    assert_eq!(a.event.event_time, Timestamp::from_second(NOW - 10).ok());
    assert_eq!(a.jti.as_deref(), Some("j-1"));
    assert_eq!(a.token_sha256, sha256_hex(tok.as_bytes()));
    let fields: Vec<Attribute> = a.event.facts.iter().map(|f| f.attribute).collect();
    assert_eq!(
        fields,
        [
            Attribute::Citizenships,
            Attribute::ResidenceCountry,
            Attribute::Name,
            Attribute::BirthYear
        ]
    );
    let c = fact(&a, Attribute::Citizenships);
    assert_eq!(c.value, json!(["DE"]));
    assert_eq!(c.level, DocumentVerified);
    assert_eq!(c.verified_at, Some(t("2026-12-01T09:00:00Z")));
    // Valid through 2030-05-01: it stops counting when that day ends.
    assert_eq!(c.expires_at, Some(t("2030-05-02T00:00:00Z")));
    assert_eq!(c.trust_framework.as_deref(), Some("de_aml"));
    assert_eq!(c.method.as_deref(), Some("document:pipp"));
    assert_eq!(c.document_country.as_deref(), Some("DE"));
    assert_eq!(fact(&a, Attribute::ResidenceCountry).value, json!("DE"));
    assert_eq!(fact(&a, Attribute::Name).value, json!("Anna Schmidt"));
    assert_eq!(fact(&a, Attribute::BirthYear).value, json!(1984));
}

#[test]
fn alg_none_is_refused() {
    for none in ["none", "None", "NONE"] {
        let header = b64(json!({"alg": none}).to_string().as_bytes());
        let payload = b64(claims().to_string().as_bytes());
        for tok in [
            format!("{header}.{payload}."),
            format!("{header}.{payload}.{}", b64(b"x")),
        ] {
            assert_eq!(
                verify(&tok).unwrap_err(),
                AssertionError::Token(TokenError::Unsigned),
                "{none}"
            );
        }
    }
}

#[test]
fn hs256_keyed_with_the_public_key_is_refused() {
    let k = keys();
    let n = B64.decode(rsa_jwk()["n"].as_str().unwrap()).unwrap();
    let n_text = rsa_jwk()["n"].as_str().unwrap().to_owned();
    let pkcs1 = k.rsa.public().as_ref().to_vec();
    let secrets: [(&str, &[u8]); 5] = [
        ("SPKI DER", RSA_SPKI),
        ("PKCS#1 DER", &pkcs1),
        ("JWK n bytes", &n),
        ("JWK n text", n_text.as_bytes()),
        ("JWK JSON", RSA_JWK.as_bytes()),
    ];
    for (what, secret) in secrets {
        for (alg, hmac_alg) in [
            ("HS256", hmac::HMAC_SHA256),
            ("HS384", hmac::HMAC_SHA384),
            ("HS512", hmac::HMAC_SHA512),
        ] {
            for kid in [Some("rsa-1"), None] {
                let header = json!({"alg": alg, "typ": "JWT", "kid": kid});
                let input = format!(
                    "{}.{}",
                    b64(header.to_string().as_bytes()),
                    b64(claims().to_string().as_bytes())
                );
                let mac = hmac::sign(&hmac::Key::new(hmac_alg, secret), input.as_bytes());
                let tok = format!("{input}.{}", b64(mac.as_ref()));
                let e = verify(&tok).unwrap_err();
                assert_eq!(
                    e,
                    AssertionError::Token(TokenError::Symmetric { alg: alg.into() }),
                    "{what} {alg}"
                );
                assert!(e.to_string().contains("symmetric"), "{e}");
            }
        }
    }
}

#[test]
fn an_unknown_kid_is_named_and_asks_for_new_keys() {
    let header = json!({"alg": "RS256", "kid": "rotated-2"});
    let tok = token_raw(&header, &b64(claims().to_string().as_bytes()), "RS256");
    let e = verify(&tok).unwrap_err();
    assert!(e.wants_new_keys());
    assert_eq!(
        e.to_string(),
        "the key `rotated-2` is not in the issuer's JWK Set"
    );
    // Once the rotated set is fetched, the same token verifies.
    let mut set = jwks_value();
    set["keys"][0]["kid"] = json!("rotated-2");
    let rotated = Jwks::parse(set.to_string().as_bytes()).unwrap();
    assert!(verify_assertion(&tok, &issuer(), &rotated, now()).is_ok());
}

#[test]
fn the_key_must_fit_the_algorithm() {
    let payload = b64(claims().to_string().as_bytes());
    // An ES256 header naming the RSA key (signed with the EC key: the
    // signature is never tried).
    let tok = token_raw(&json!({"alg": "ES256", "kid": "rsa-1"}), &payload, "ES256");
    let e = verify(&tok).unwrap_err();
    assert!(!e.wants_new_keys());
    assert_eq!(
        e.to_string(),
        "the key `rsa-1` cannot verify `ES256`: it is an RSA key"
    );
    let cases = [
        ("RS256", "ec-1", "it is a P-256 EC key"),
        ("ES384", "ec-1", "it is a P-256 EC key"),
        ("ES256", "ec-384", "it is a P-384 EC key"),
        ("EdDSA", "rsa-1", "it is an RSA key"),
        ("PS256", "ed-1", "it is an Ed25519 key"),
    ];
    for (alg, kid, reason) in cases {
        let tok = token_raw(&json!({"alg": alg, "kid": kid}), &payload, alg);
        let e = err(&tok);
        assert!(e.ends_with(reason), "{alg} {kid}: {e}");
    }
    // A key the set restricts to RS256 does not verify PS256.
    let mut set = jwks_value();
    set["keys"][0]["alg"] = json!("RS256");
    let set = Jwks::parse(set.to_string().as_bytes()).unwrap();
    let tok = token_alg("PS256", &claims());
    let e = verify_assertion(&tok, &issuer(), &set, now()).unwrap_err();
    assert!(e.to_string().contains("restricts it to `RS256`"), "{e}");
    assert!(verify_assertion(&token_alg("RS256", &claims()), &issuer(), &set, now()).is_ok());
}

#[test]
fn algorithms_the_issuer_does_not_allow_are_refused() {
    let mut i = issuer();
    i.algorithms = vec![Algorithm::Es256, Algorithm::EdDsa];
    let e = verify_assertion(&token(&claims()), &i, &jwks(), now()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the algorithm `RS256` is not allowed for this issuer (allowed: ES256, EdDSA)"
    );
    assert!(verify_assertion(&token_alg("ES256", &claims()), &i, &jwks(), now()).is_ok());
    let e = err(&token_raw(
        &json!({"alg": "ES512", "kid": "ec-1"}),
        "e30",
        "ES256",
    ));
    assert!(e.contains("`ES512` is not supported"), "{e}");
}

#[test]
fn a_tampered_token_does_not_verify() {
    let tok = token(&claims());
    let parts: Vec<&str> = tok.split('.').collect();
    let other = with(claims(), &format!("{VC}/nationalities"), json!(["US"]));
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(other.to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(
        err(&forged),
        "the signature does not verify with the key `rsa-1`"
    );
    // The same payload under another RSA algorithm.
    let header = b64(json!({"alg": "PS256", "typ": "JWT", "kid": "rsa-1"})
        .to_string()
        .as_bytes());
    let swapped = format!("{header}.{}.{}", parts[1], parts[2]);
    assert!(err(&swapped).starts_with("the signature does not verify"));
    // A signature of another length.
    let short = format!("{}.{}.{}", parts[0], parts[1], b64(b"short"));
    assert!(err(&short).starts_with("the signature does not verify"));
}

#[test]
fn malformed_tokens_name_the_part() {
    let tok = token(&claims());
    let parts: Vec<&str> = tok.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    let cases = [
        (format!("{h}=.{p}.{s}"), "header is not base64url"),
        (format!("{h}.{p}.{s}="), "signature is not base64url"),
        (
            format!("{h}.{p}.{}", s.replace('-', "+").replace('_', "/")),
            "signature is not base64url",
        ),
        (format!(" {h}.{p}.{s}"), "header is not base64url"),
        (format!("{h}.{p}.{s}\n"), "signature is not base64url"),
        (format!("{h}.{p}"), "this token has 2"),
        (format!("{h}.{p}.{s}.x.y"), "encrypted JWT"),
        (String::new(), "this token has 1"),
    ];
    for (tok, needle) in cases {
        let e = err(&tok);
        assert!(e.contains(needle), "{tok:?}: {e}");
    }
    // A payload that is not base64url is found once the signature over it
    // verifies.
    let header = json!({"alg": "RS256", "kid": "rsa-1"});
    let e = err(&token_raw(&header, "e30=", "RS256"));
    assert!(e.contains("payload is not base64url"), "{e}");
    let e = err(&token_raw(&header, &b64(b"[1, 2]"), "RS256"));
    assert_eq!(
        e,
        "the token's payload is not a JSON object: it is not a JSON object"
    );
    let e = err(&token_raw(
        &header,
        &b64(b"{\"sub\": 1, \"sub\": 2}"),
        "RS256",
    ));
    assert!(e.contains("`sub` appears twice"), "{e}");
}

#[test]
fn headers_that_are_not_json_objects_are_refused() {
    let payload = b64(claims().to_string().as_bytes());
    let cases: [(&[u8], &str); 6] = [
        (b"not json", "header is not a JSON object"),
        (b"[\"RS256\"]", "it is not a JSON object"),
        (
            b"{\"alg\": \"RS256\", \"alg\": \"none\"}",
            "`alg` appears twice",
        ),
        (
            b"{\"kid\": \"rsa-1\"}",
            "`alg` is not acceptable: it is missing",
        ),
        (
            b"{\"alg\": 256}",
            "`alg` is not acceptable: it must be a string",
        ),
        (
            b"{\"alg\": \"RS256\", \"kid\": 1}",
            "`kid` is not acceptable",
        ),
    ];
    for (header, needle) in cases {
        let tok = format!("{}.{payload}.{}", b64(header), b64(b"sig"));
        let e = err(&tok);
        assert!(
            e.contains(needle),
            "{}: {e}",
            String::from_utf8_lossy(header)
        );
    }
    let refused = [
        (
            json!({"alg": "RS256", "kid": "rsa-1", "crit": ["exp"]}),
            "`crit`",
        ),
        (
            json!({"alg": "RS256", "kid": "rsa-1", "typ": "at+jwt"}),
            "`typ`",
        ),
        (
            json!({"alg": "RS256", "kid": "rsa-1", "cty": "JWT"}),
            "nested",
        ),
    ];
    for (header, needle) in refused {
        let e = err(&token_raw(&header, &payload, "RS256"));
        assert!(e.contains(needle), "{header}: {e}");
    }
    for typ in ["JWT", "jwt", "application/jwt"] {
        let header = json!({"alg": "RS256", "kid": "rsa-1", "typ": typ});
        assert!(
            verify(&token_raw(&header, &payload, "RS256")).is_ok(),
            "{typ}"
        );
    }
}

#[test]
fn oversize_tokens_are_refused_before_decoding() {
    let e = err(&"a".repeat(MAX_TOKEN_LEN + 1));
    assert_eq!(e, "the token is 16385 bytes; at most 16384 are accepted");
    let big = with(claims(), "/padding", json!("x".repeat(MAX_TOKEN_LEN)));
    let e = err_claims(&big);
    assert!(e.starts_with("the token is "), "{e}");
}

#[test]
fn without_a_kid_the_only_fitting_key_is_used() {
    let payload = b64(claims().to_string().as_bytes());
    let tok = token_raw(&json!({"alg": "EdDSA"}), &payload, "EdDSA");
    assert!(verify(&tok).is_ok());
    // Two RSA keys: no way to choose.
    let mut set = jwks_value();
    let mut second = rsa_jwk();
    second["kid"] = json!("rsa-2");
    set["keys"].as_array_mut().unwrap().push(second);
    let set = Jwks::parse(set.to_string().as_bytes()).unwrap();
    let tok = token_raw(&json!({"alg": "RS256"}), &payload, "RS256");
    let e = verify_assertion(&tok, &issuer(), &set, now()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "2 keys of the issuer's JWK Set fit `RS256` and the token's `kid` does not pick one"
    );
    // No key fits: perhaps one was added since the set was fetched.
    let only_ed = Jwks::parse(json!({"keys": [ed_jwk()]}).to_string().as_bytes()).unwrap();
    let e = verify_assertion(&tok, &issuer(), &only_ed, now()).unwrap_err();
    assert!(e.wants_new_keys());
    assert!(
        e.to_string()
            .contains("no key of the issuer's JWK Set fits `RS256`")
    );
}

// -------------------------------------------------------------------- claims

#[test]
fn expiry_is_checked_with_leeway() {
    let e = err_claims(&with(claims(), "/exp", json!(NOW - 61)));
    assert_eq!(
        e,
        "the token expired at 2026-12-07T09:58:59Z (`exp`; now 2026-12-07T10:00:00Z, leeway 60 s)"
    );
    assert!(verify_claims(&with(claims(), "/exp", json!(NOW - 59))).is_ok());
    let mut strict = issuer();
    strict.leeway = SignedDuration::ZERO;
    let tok = token(&with(claims(), "/exp", json!(NOW)));
    assert!(verify_assertion(&tok, &strict, &jwks(), now()).is_err());
    let e = err_claims(&without(claims(), "/exp"));
    assert_eq!(e, "the claim `exp` is missing");
    let e = err_claims(&with(claims(), "/exp", json!("tomorrow")));
    assert!(e.contains("`exp` must be a NumericDate"), "{e}");
    let e = err_claims(&with(claims(), "/exp", json!(1e300)));
    assert!(e.contains("`exp` is invalid"), "{e}");
    // A fractional NumericDate is allowed.
    assert!(verify_claims(&with(claims(), "/exp", json!(NOW as f64 + 100.5))).is_ok());
}

#[test]
fn not_before_and_issued_at_must_not_be_in_the_future() {
    let e = err_claims(&with(claims(), "/nbf", json!(NOW + 120)));
    assert!(
        e.starts_with("the token is not valid before 2026-12-07T10:02:00Z"),
        "{e}"
    );
    assert!(verify_claims(&with(claims(), "/nbf", json!(NOW + 30))).is_ok());
    let e = err_claims(&with(claims(), "/iat", json!(NOW + 120)));
    assert!(e.contains("`iat`"), "{e}");
    assert!(verify_claims(&with(claims(), "/iat", json!(NOW + 30))).is_ok());
    let a = verify_claims(&without(claims(), "/iat")).unwrap();
    assert_eq!(a.event.event_time, None);
}

#[test]
fn the_audience_must_include_cordon() {
    let e = err_claims(&with(claims(), "/aud", json!(["portal", "billing"])));
    assert_eq!(
        e,
        "`aud` [\"portal\", \"billing\"] does not include `cordon`"
    );
    let e = err_claims(&with(claims(), "/aud", json!("portal")));
    assert_eq!(e, "`aud` [\"portal\"] does not include `cordon`");
    assert!(verify_claims(&with(claims(), "/aud", json!(["portal", "cordon"]))).is_ok());
    assert!(err_claims(&without(claims(), "/aud")).contains("`aud` is missing"));
    assert!(err_claims(&with(claims(), "/aud", json!([1]))).contains("`aud` must be"));
}

#[test]
fn the_issuer_must_match_exactly() {
    let e = err_claims(&with(claims(), "/iss", json!("https://sso.example.com/")));
    assert_eq!(
        e,
        "`iss` `https://sso.example.com/` is not the configured issuer `https://sso.example.com`"
    );
    assert!(err_claims(&without(claims(), "/iss")).contains("`iss` is missing"));
}

#[test]
fn sub_and_the_account_claim() {
    assert_eq!(
        err_claims(&without(claims(), "/sub")),
        "the claim `sub` is missing"
    );
    assert!(err_claims(&with(claims(), "/sub", json!(""))).contains("`sub` is invalid"));
    let mut i = issuer();
    i.account_claim = "cordon_account".into();
    let tok = token(&with(claims(), "/cordon_account", json!("acct_42")));
    let a = verify_assertion(&tok, &i, &jwks(), now()).unwrap();
    assert_eq!(a.event.account, "acct_42");
    assert_eq!(
        a.event.object_id.as_deref(),
        Some("https://sso.example.com#u-1")
    );
    let e = verify_assertion(&token(&claims()), &i, &jwks(), now()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the claim `cordon_account`, which names the Cordon account, is missing"
    );
    let tok = token(&with(claims(), "/cordon_account", json!("a".repeat(65))));
    let e = verify_assertion(&tok, &i, &jwks(), now()).unwrap_err();
    assert!(e.to_string().contains("1 to 64 bytes"), "{e}");
    let a = verify_claims(&without(claims(), "/jti")).unwrap();
    assert_eq!(a.jti, None);
}

// ----------------------------------------------------------- verified_claims

#[test]
fn verified_claims_may_be_an_array() {
    let mut c = claims();
    let first = c["verified_claims"].clone();
    let second = json!({
        "verification": {"trust_framework": "eidas", "assurance_level": "high",
                         "time": "2026-12-03T12:00Z"},
        "claims": {"nationalities": ["us"], "given_name": "Anna", "family_name": "Schmidt"}
    });
    c["verified_claims"] = json!([first, second]);
    let a = verify_claims(&c).unwrap();
    let cit = fact(&a, Attribute::Citizenships);
    assert_eq!(cit.value, json!(["DE", "US"]));
    assert_eq!(cit.level, DocumentVerified);
    assert_eq!(cit.trust_framework.as_deref(), Some("de_aml; eidas"));
    assert_eq!(cit.verified_at, Some(t("2026-12-03T12:00:00Z")));
    assert_eq!(cit.expires_at, Some(t("2030-05-02T00:00:00Z")));
    // Only the first element had a document.
    assert_eq!(cit.document_country, None);
    assert_eq!(fact(&a, Attribute::Name).value, json!("Anna Schmidt"));

    // Elements that disagree about a single value are refused.
    let mut c2 = c.clone();
    c2["verified_claims"][1]["claims"]["family_name"] = json!("Schmitt");
    let e = err_claims(&c2);
    assert_eq!(
        e,
        "the `verified_claims` elements disagree about `name`: \"Anna Schmidt\" and \"Anna Schmitt\""
    );
    // A weaker element lowers the level of what it shares.
    c["verified_claims"][1]["verification"]["assurance_level"] = json!("low");
    let a = verify_claims(&c).unwrap();
    assert_eq!(fact(&a, Attribute::Citizenships).level, SelfDeclared);
    assert_eq!(fact(&a, Attribute::BirthYear).level, DocumentVerified);
}

#[test]
fn assurance_levels_refine_the_framework_level() {
    let c = with(
        claims(),
        "/verified_claims/verification",
        json!({"trust_framework": "eidas", "assurance_level": "substantial"}),
    );
    let a = verify_claims(&c).unwrap();
    assert_eq!(fact(&a, Attribute::Citizenships).level, DocumentVerified);
    assert_eq!(fact(&a, Attribute::Citizenships).method, None);
    assert_eq!(fact(&a, Attribute::Citizenships).expires_at, None);
    for (al, level) in [(json!("low"), SelfDeclared), (json!(null), SelfDeclared)] {
        let c = with(
            c.clone(),
            "/verified_claims/verification/assurance_level",
            al,
        );
        let got: VerificationLevel = fact(&verify_claims(&c).unwrap(), Attribute::Name).level;
        assert_eq!(got, level);
    }
}

#[test]
fn an_unconfigured_trust_framework_is_refused() {
    let c = with(
        claims(),
        "/verified_claims/verification/trust_framework",
        json!("uk_tfida"),
    );
    assert_eq!(
        err_claims(&c),
        "`verified_claims.verification.trust_framework` is `uk_tfida`, a trust framework not configured for this issuer (configured: de_aml, eidas)"
    );
    let mut bare = issuer();
    bare.trust_frameworks.clear();
    let e = verify_assertion(&token(&claims()), &bare, &jwks(), now()).unwrap_err();
    assert!(e.to_string().ends_with("(configured: none)"), "{e}");
    let c = without(claims(), "/verified_claims/verification/trust_framework");
    assert_eq!(
        err_claims(&c),
        "`verified_claims.verification.trust_framework` is missing"
    );
}

#[test]
fn three_letter_country_codes_are_read_as_the_claims_registration_specifies() {
    let c = with(
        claims(),
        &format!("{VC}/nationalities"),
        json!(["DE", "usa", "XXA"]),
    );
    let a = verify_claims(&c).unwrap();
    // The stateless person's travel document names no state.
    assert_eq!(fact(&a, Attribute::Citizenships).value, json!(["DE", "US"]));
    let c = with(claims(), &format!("{VC}/nationalities"), json!(["ZZZ"]));
    assert!(
        err_claims(&c).contains("`ZZZ` is not the ISO 3166-1 alpha-2 or alpha-3 code"),
        "{}",
        err_claims(&c)
    );
}

#[test]
fn claims_outside_verified_claims_are_not_evidence() {
    let c = with(claims(), "/nationalities", json!(["RU"]));
    let c = with(c, "/birthdate", json!("1950-01-01"));
    let a = verify_claims(&c).unwrap();
    assert_eq!(fact(&a, Attribute::Citizenships).value, json!(["DE"]));
    assert_eq!(fact(&a, Attribute::BirthYear).value, json!(1984));
    let plain = with(
        without(claims(), "/verified_claims"),
        "/nationalities",
        json!(["US"]),
    );
    assert_eq!(
        verify_claims(&plain).unwrap_err(),
        AssertionError::VerifiedClaims(VerifiedClaimsError::Absent)
    );
    let external = with(
        without(claims(), "/verified_claims"),
        "/_claim_names",
        json!({"verified_claims": "src1"}),
    );
    assert!(err_claims(&external).contains("aggregated or distributed"));
}

#[test]
fn expiry_is_the_end_of_the_earliest_evidence_expiry() {
    let c = with(
        claims(),
        "/verified_claims/verification/evidence",
        json!([
            {"type": "document", "check_details": [{"check_method": "vpip"}, {"check_method": "vcrypt"}],
             "document_details": {"type": "idcard", "date_of_expiry": "2031-01-31",
                                  "issuer": {"country": "DE"}}},
            {"type": "electronic_record", "record": {"type": "population_register",
                                                     "date_of_expiry": "2029-02-28"}},
            {"type": "vouch"},
            {"type": "electronic_signature", "signature_type": "qes"}
        ]),
    );
    let a = verify_claims(&c).unwrap();
    let f = fact(&a, Attribute::Citizenships);
    assert_eq!(f.expires_at, Some(t("2029-03-01T00:00:00Z")));
    assert_eq!(
        f.method.as_deref(),
        Some("document:vpip+vcrypt, electronic_record, vouch, electronic_signature")
    );
    assert_eq!(f.document_country.as_deref(), Some("DE"));
    let bad = with(
        c,
        "/verified_claims/verification/evidence/0/document_details/date_of_expiry",
        json!("31.01.2031"),
    );
    assert!(err_claims(&bad).contains("date_of_expiry` is invalid"));
}

#[test]
fn times_and_dates_in_verified_claims() {
    let at = |time: &str| {
        let c = with(claims(), "/verified_claims/verification/time", json!(time));
        verify_claims(&c).map(|a| fact(&a, Attribute::Name).verified_at)
    };
    assert_eq!(
        at("2021-05-11T14:29Z").unwrap(),
        Some(t("2021-05-11T14:29:00Z"))
    );
    assert_eq!(
        at("2021-05-11T14:29+02:00").unwrap(),
        Some(t("2021-05-11T12:29:00Z"))
    );
    assert_eq!(
        at("2021-05-11T14:29:30.5Z").unwrap(),
        Some(t("2021-05-11T14:29:30.5Z"))
    );
    assert!(at("2021-05-11T14:29").is_err());
    assert!(at("yesterday").is_err());

    let year = |birthdate: &str| {
        let c = with(claims(), &format!("{VC}/birthdate"), json!(birthdate));
        verify_claims(&c).map(|a| {
            a.event
                .facts
                .iter()
                .find(|f| f.attribute == Attribute::BirthYear)
                .map(|f| f.value.clone())
        })
    };
    assert_eq!(year("1984").unwrap(), Some(json!(1984)));
    assert_eq!(year("0000-03-01").unwrap(), None);
    for bad in ["1850-01-01", "1984-02-30", "84-03-01", "1984-3-1", "abcd"] {
        assert!(year(bad).is_err(), "{bad}");
    }
}

#[test]
fn the_address_country_is_read_only_as_a_code() {
    let addr = format!("{VC}/address");
    let c = with(claims(), &addr, json!({"country": "DE"}));
    let a = verify_claims(&c).unwrap();
    assert_eq!(fact(&a, Attribute::ResidenceCountry).value, json!("DE"));
    for name in ["Germany", "UK"] {
        let c = with(claims(), &addr, json!({"country": name}));
        let a = verify_claims(&c).unwrap();
        assert!(
            a.event
                .facts
                .iter()
                .all(|f| f.attribute != Attribute::ResidenceCountry),
            "{name}"
        );
    }
    let c = with(claims(), &addr, json!("Augsburg"));
    assert_eq!(
        err_claims(&c),
        "`verified_claims.claims.address` must be an object"
    );
}

#[test]
fn the_us_person_claim_is_read_only_when_configured() {
    let staff = with(
        with(
            claims(),
            VC,
            json!({"employee_us_person": true, "given_name": "Ann"}),
        ),
        "/verified_claims/verification",
        json!({"trust_framework": "de_aml"}),
    );
    let a = verify_claims(&staff).unwrap();
    assert!(
        a.event
            .facts
            .iter()
            .all(|f| f.attribute != Attribute::UsPerson)
    );
    let mut i = issuer();
    i.us_person_claim = Some("employee_us_person".into());
    let a = verify_assertion(&token(&staff), &i, &jwks(), now()).unwrap();
    let f = fact(&a, Attribute::UsPerson);
    assert_eq!((f.value.clone(), f.level), (json!(true), DocumentVerified));
    // Outside `verified_claims` it is not evidence either.
    let outside = with(
        with(staff.clone(), "/employee_us_person", json!(true)),
        &format!("{VC}/employee_us_person"),
        json!(null),
    );
    let a = verify_assertion(&token(&outside), &i, &jwks(), now()).unwrap();
    assert!(
        a.event
            .facts
            .iter()
            .all(|f| f.attribute != Attribute::UsPerson)
    );
    let wrong = with(staff, &format!("{VC}/employee_us_person"), json!("yes"));
    let e = verify_assertion(&token(&wrong), &i, &jwks(), now()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "`verified_claims.claims.employee_us_person` must be a boolean (the configured `us_person` claim)"
    );
}

#[test]
fn verified_claims_that_state_nothing_readable_are_refused() {
    let c = with(claims(), VC, json!({"email": "anna@example.com"}));
    assert!(err_claims(&c).starts_with("the `verified_claims` state nothing Cordon reads"));
    let c = with(claims(), "/verified_claims", json!([]));
    assert!(err_claims(&c).contains("no `verified_claims`"));
    let cases = [
        (
            with(claims(), "/verified_claims", json!("x")),
            "`verified_claims` must be",
        ),
        (
            with(claims(), "/verified_claims", json!([1])),
            "`verified_claims[0]` must be an object",
        ),
        (
            without(claims(), "/verified_claims/claims"),
            "`verified_claims.claims` is missing",
        ),
        (
            with(claims(), "/verified_claims/verification", json!([])),
            "`verified_claims.verification` must be an object",
        ),
        (
            with(
                claims(),
                "/verified_claims/verification/evidence",
                json!([{"method": "pipp"}]),
            ),
            "`verified_claims.verification.evidence[0].type` is missing",
        ),
        (
            with(claims(), &format!("{VC}/nationalities"), json!("DE")),
            "`verified_claims.claims.nationalities` must be an array",
        ),
        (
            with(claims(), &format!("{VC}/given_name"), json!(["Anna"])),
            "`verified_claims.claims.given_name` must be a string",
        ),
    ];
    for (c, needle) in cases {
        let e = err_claims(&c);
        assert!(e.contains(needle), "{needle}: {e}");
    }
}

// ---------------------------------------------------------------------- JWKS

#[test]
fn unusable_keys_are_set_aside_with_their_reason() {
    let k = keys();
    let mut small_rsa = rsa_jwk();
    let n = B64.decode(small_rsa["n"].as_str().unwrap()).unwrap();
    small_rsa["n"] = json!(b64(&n[..128]));
    small_rsa["kid"] = json!("small");
    let mut with_d = ec_jwk("private", "P-256", &k.p256);
    with_d["d"] = json!("AAAA");
    let mut short_x = ec_jwk("short", "P-256", &k.p256);
    short_x["x"] = json!("AAAA");
    let mut padded = ed_jwk();
    padded["kid"] = json!("padded");
    padded["x"] = json!(format!("{}=", padded["x"].as_str().unwrap()));
    let set = json!({"keys": [
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        {"kty": "RSA", "kid": "enc", "use": "enc", "n": rsa_jwk()["n"], "e": "AQAB"},
        {"kty": "RSA", "kid": "ops", "key_ops": ["encrypt"], "n": rsa_jwk()["n"], "e": "AQAB"},
        small_rsa,
        with_d,
        short_x,
        padded,
        {"kty": "EC", "kid": "p521", "crv": "P-521", "x": "AA", "y": "AA"},
        {"kty": "OKP", "kid": "x25519", "crv": "X25519", "x": "AA"},
        {"kty": "PQ", "kid": "future"},
        {"kid": "no-kty"},
        "not an object",
        ed_jwk(),
    ]});
    let set = Jwks::parse(set.to_string().as_bytes()).unwrap();
    assert_eq!(set.keys().len(), 1);
    let reasons: Vec<(Option<&str>, &str)> = set
        .skipped()
        .iter()
        .map(|s| (s.kid.as_deref(), s.reason.as_str()))
        .collect();
    let expected = [
        "symmetric (`oct`) keys are never used",
        "not a signature key (`use`: `enc`)",
        "`key_ops` do not include `verify`",
        "1024 bits; at least 2048",
        "private key material",
        "a P-256 coordinate is 32 bytes",
        "`x` is not base64url",
        "the EC curve `P-521` is not supported",
        "the OKP curve `X25519` is not supported",
        "the key type `PQ` is not supported",
        "it has no `kty`",
        "it is not a JSON object",
    ];
    assert_eq!(reasons.len(), expected.len());
    for ((kid, reason), needle) in reasons.iter().zip(expected) {
        assert!(
            reason.contains(needle),
            "{kid:?}: {reason} (expected {needle})"
        );
    }
    // A token naming a set-aside key is told why.
    let header = json!({"alg": "RS256", "kid": "small"});
    let tok = token_raw(&header, &b64(claims().to_string().as_bytes()), "RS256");
    let e = verify_assertion(&tok, &issuer(), &set, now()).unwrap_err();
    assert!(!e.wants_new_keys());
    assert_eq!(
        e.to_string(),
        "the key `small` in the issuer's JWK Set cannot be used: its RSA modulus has 1024 bits; at least 2048 are required"
    );
}

#[test]
fn sets_that_cannot_be_used_are_refused() {
    let cases: [(&[u8], &str); 6] = [
        (b"", "not JSON"),
        (b"{\"keys\": [], \"keys\": []}", "appears twice"),
        (b"[]", "a `keys` array"),
        (b"{\"keys\": {}}", "a `keys` array"),
        (b"{\"keys\": []}", "no usable signature key"),
        (
            b"{\"keys\": [{\"kty\": \"oct\", \"kid\": \"h\"}]}",
            "(`h`: symmetric",
        ),
    ];
    for (doc, needle) in cases {
        let e = Jwks::parse(doc).unwrap_err().to_string();
        assert!(e.contains(needle), "{}: {e}", String::from_utf8_lossy(doc));
    }
    let many = json!({"keys": vec![ed_jwk(); MAX_KEYS + 1]});
    assert!(matches!(
        Jwks::parse(many.to_string().as_bytes()),
        Err(JwksError::TooManyKeys { count: 101 })
    ));
    let huge = vec![b' '; MAX_JWKS_LEN + 1];
    assert!(matches!(
        Jwks::parse(&huge),
        Err(JwksError::TooLarge { .. })
    ));
}

#[test]
fn a_leading_zero_in_the_modulus_is_tolerated() {
    let mut jwk = rsa_jwk();
    let mut n = vec![0];
    n.extend(B64.decode(jwk["n"].as_str().unwrap()).unwrap());
    jwk["n"] = json!(b64(&n));
    let set = Jwks::parse(json!({"keys": [jwk]}).to_string().as_bytes()).unwrap();
    assert!(verify_assertion(&token(&claims()), &issuer(), &set, now()).is_ok());
}

// ------------------------------------------------------------------ property

/// An arbitrary JSON value of limited depth.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[A-Za-z]{0,4}".prop_map(Value::String),
        "[ -~]{0,12}".prop_map(Value::String),
        Just(json!("DE")),
        Just(json!("2030-05-01")),
        Just(json!("2026-12-01T09:00Z")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Places in a valid claims set where arbitrary values are put.
const POINTERS: [&str; 22] = [
    "/iss",
    "/aud",
    "/exp",
    "/nbf",
    "/iat",
    "/sub",
    "/jti",
    "/verified_claims",
    "/verified_claims/verification",
    "/verified_claims/verification/trust_framework",
    "/verified_claims/verification/assurance_level",
    "/verified_claims/verification/time",
    "/verified_claims/verification/evidence",
    "/verified_claims/verification/evidence/0",
    "/verified_claims/verification/evidence/0/document_details",
    "/verified_claims/verification/evidence/0/document_details/issuer",
    "/verified_claims/verification/evidence/0/document_details/date_of_expiry",
    "/verified_claims/claims",
    "/verified_claims/claims/nationalities",
    "/verified_claims/claims/address",
    "/verified_claims/claims/birthdate",
    "/verified_claims/claims/given_name",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC{0,300}") {
        let _ = verify(&s).map_err(|e| e.to_string());
    }

    #[test]
    fn arbitrary_parts_never_panic(
        h in prop::collection::vec(any::<u8>(), 0..64),
        p in prop::collection::vec(any::<u8>(), 0..64),
        s in prop::collection::vec(any::<u8>(), 0..80),
        header_json in arb_json(),
    ) {
        let tok = format!("{}.{}.{}", b64(&h), b64(&p), b64(&s));
        let _ = verify(&tok).map_err(|e| e.to_string());
        let tok = format!("{}.{}.{}", b64(header_json.to_string().as_bytes()), b64(&p), b64(&s));
        let _ = verify(&tok).map_err(|e| e.to_string());
    }

    #[test]
    fn signed_tokens_with_arbitrary_claims_never_panic(
        i in 0..POINTERS.len(),
        v in arb_json(),
        whole in arb_json(),
    ) {
        let mut c = claims();
        if let Some(slot) = POINTERS.get(i).and_then(|p| c.pointer_mut(p)) {
            *slot = v;
        }
        let _ = verify(&token_alg("EdDSA", &c)).map_err(|e| e.to_string());
        let _ = verify(&token_alg("EdDSA", &whole)).map_err(|e| e.to_string());
    }

    #[test]
    fn arbitrary_jwks_never_panic(doc in arb_json(), bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = Jwks::parse(&bytes).map_err(|e| e.to_string());
        let wrapped = json!({"keys": [doc.clone(), {"kty": "RSA", "n": doc, "e": "AQAB"}]});
        let _ = Jwks::parse(wrapped.to_string().as_bytes()).map_err(|e| e.to_string());
    }
}
