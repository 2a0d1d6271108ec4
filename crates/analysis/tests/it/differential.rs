//! Random small directive sets: the analysis's verdicts against brute-force
//! decisions on random requests, and every counterexample replayed.

use cordon_analysis::{Property, ProtectedClass};
use cordon_policy::{Effect, Policy, Request, Trace};
use cordon_source::SourceFile;
use cordon_subject::SubjectRecord;
use serde_json::{Value, json};

use crate::support::{catalog, counterexamples_reproduce, groups, jurisdictions, run};

/// A small deterministic generator (xorshift64*), so failures reproduce from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const COUNTRIES: [&str; 6] = ["IR", "CU", "RU", "US", "DE", "CN"];
const MODELS: [&str; 3] = ["fable-5", "mythos-5", "lyric-4"];
const TIMES: [&str; 3] = [
    "2026-01-01T00:00:00Z",
    "2026-06-01T00:00:00Z",
    "2026-09-01T00:00:00Z",
];

fn countries(rng: &mut Rng) -> String {
    let a = rng.pick(&COUNTRIES);
    let b = rng.pick(&COUNTRIES);
    if a == b {
        a.to_string()
    } else {
        format!("{a}, {b}")
    }
}

/// One random condition.
fn condition(rng: &mut Rng, depth: usize) -> String {
    if depth > 0 && rng.chance(30) {
        let a = condition(rng, depth - 1);
        let b = condition(rng, depth - 1);
        return match rng.below(3) {
            0 => format!("({a}) and ({b})"),
            1 => format!("({a}) or ({b})"),
            _ => format!("not ({a})"),
        };
    }
    match rng.below(11) {
        0 => format!("request.country in [{}]", countries(rng)),
        1 => format!("subject.residence_country in [{}]", countries(rng)),
        2 => format!("subject.citizenships in [{}]", countries(rng)),
        3 => "known(subject.citizenships)".into(),
        4 => "subject.kind == organization".into(),
        5 => format!("subject.organization.location in [{}]", countries(rng)),
        6 => "subject.screening.confirmed in [SDN]".into(),
        7 => "request.features in [tools]".into(),
        8 => format!("request.max_tokens > {}", 1000 * (1 + rng.below(4))),
        9 => "subject.foreign_person".into(),
        _ => "request.location in [UA-43]".into(),
    }
}

/// One random directive file.
fn directive(rng: &mut Rng, i: usize) -> SourceFile {
    let mut t = format!(
        "id = \"gen-{i}\"\ntitle = \"t\"\nauthority = \"a\"\ncitation = \"c\"\nissued = 2026-01-01\neffective = {}\nmode = \"{}\"\nmessage = \"m\"\nmin_verification = \"{}\"\n",
        rng.pick(&TIMES[..2]),
        if rng.chance(80) { "enforced" } else { "shadow" },
        rng.pick(&["none", "document_verified"]),
    );
    if rng.chance(40) {
        t.push_str(&format!("[scope]\nmodels = [\"{}\"]\n", rng.pick(&MODELS)));
    }
    t.push_str(
        "[foreign_person]\nexcept = [\"us_citizens\", \"permanent_residents\"]\ncitation = \"c\"\n",
    );
    t.push_str(&format!(
        "[unknown]\neffect = \"{}\"\n",
        rng.pick(&["allow", "deny", "verification_required"])
    ));
    for r in 0..1 + rng.below(3) {
        let effect = rng.pick(&[
            "deny",
            "deny",
            "verification_required",
            "allow_with_obligations",
        ]);
        t.push_str(&format!(
            "[[rule]]\nid = \"r{r}\"\nwhen = \"{}\"\neffect = \"{effect}\"\n",
            condition(rng, 2)
        ));
        if *effect == "allow_with_obligations" {
            t.push_str("obligations = { max_tokens = 512 }\n");
        }
        if rng.chance(25) {
            t.push_str(&format!(
                "on_unknown = \"{}\"\n",
                rng.pick(&["allow", "deny", "apply"])
            ));
        }
    }
    SourceFile::new(format!("gen-{i}.toml"), t)
}

fn set(rng: &mut Rng) -> Vec<SourceFile> {
    (0..2 + rng.below(3)).map(|i| directive(rng, i)).collect()
}

fn load(files: &[SourceFile]) -> Option<Policy> {
    Policy::from_files(files, catalog(), jurisdictions(), &groups()).ok()
}

/// A random subject record.
fn subject(rng: &mut Rng, protected: bool) -> Value {
    let mut s = serde_json::Map::new();
    let level = |rng: &mut Rng| *rng.pick(&["none", "self_declared", "document_verified"]);
    if protected {
        s.insert(
            "citizenships".into(),
            json!([{"country": "US", "verification": "document_verified"}]),
        );
        s.insert("screening".into(), json!([]));
    } else {
        if rng.chance(15) {
            s.insert("kind".into(), json!("organization"));
        }
        if rng.chance(70) {
            let c: Vec<Value> = (0..rng.below(3))
                .map(|_| *rng.pick(&COUNTRIES))
                .collect::<std::collections::BTreeSet<&str>>()
                .into_iter()
                .map(|c| json!({"country": c, "verification": "document_verified"}))
                .collect();
            s.insert("citizenships".into(), Value::Array(c));
        }
        if rng.chance(60) {
            let hits = if rng.chance(20) {
                json!([{"list": "SDN", "status": "confirmed"}])
            } else {
                json!([])
            };
            s.insert("screening".into(), hits);
        }
    }
    s.insert("verification".into(), json!(level(rng)));
    if rng.chance(60) {
        s.insert(
            "permanent_residencies".into(),
            if rng.chance(20) {
                json!(["US"])
            } else {
                json!([])
            },
        );
    }
    if rng.chance(50) {
        s.insert("protected_individual".into(), json!(rng.chance(10)));
    }
    if rng.chance(70) {
        s.insert("residence_country".into(), json!(rng.pick(&COUNTRIES)));
    }
    if rng.chance(30) {
        s.insert(
            "organization".into(),
            json!({"name": "Acme", "country": rng.pick(&COUNTRIES)}),
        );
    }
    Value::Object(s)
}

/// A random request at one of the sets' times.
fn request(rng: &mut Rng, p: &Policy, model: &str) -> Request {
    let id = match p.catalog().resolve(model) {
        cordon_catalog::Resolution::Known { id, .. } => id,
        cordon_catalog::Resolution::Unknown => panic!("{model}"),
    };
    let at = rng
        .pick(&[
            "2025-12-01T00:00:00Z",
            "2026-03-01T00:00:00Z",
            "2026-07-01T00:00:00Z",
        ])
        .parse()
        .unwrap();
    let mut r = Request::new(Some(id), at);
    match rng.below(4) {
        0 => {}
        1 => {
            r.country = Some("UA".parse().unwrap());
            r.region = Some("UA-43".parse().unwrap());
        }
        _ => r.country = Some(rng.pick(&COUNTRIES).parse().unwrap()),
    }
    r.anonymizer = Some(false);
    if rng.chance(30) {
        r.features.insert(cordon_policy::Feature::Tools);
    }
    if rng.chance(40) {
        r.max_tokens = Some(*rng.pick(&[100, 1000, 2500, 5000]));
    }
    r
}

fn decide(p: &Policy, s: &Value, r: &Request) -> (Effect, cordon_policy::Obligations) {
    let subject = SubjectRecord::from_value(s.clone())
        .into_subject(jurisdictions())
        .unwrap();
    let d = p.decide(&subject, r, &mut Trace::default());
    (d.effect, d.obligations)
}

/// The sets differ in one directive's scope; where the analysis says they
/// decide alike outside the changed model, no random request disagrees;
/// where it says they differ, its counterexample reproduces.
#[test]
fn only_models_agrees_with_brute_force() {
    let mut rng = Rng(0x5eed_0001);
    let mut violated = 0;
    let mut held = 0;
    for _ in 0..25 {
        let a_files = set(&mut rng);
        let Some(a) = load(&a_files) else { continue };
        // Widen one directive to a model, or leave the sets equal.
        let widened = rng.pick(&MODELS).to_string();
        let b_files: Vec<SourceFile> = a_files
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let text = if i == 0 && f.text().contains("[scope]") {
                    let start = f.text().find("models = [").unwrap();
                    let end = start + f.text()[start..].find(']').unwrap();
                    format!("{}, \"{widened}\"{}", &f.text()[..end], &f.text()[end..])
                } else {
                    f.text().to_owned()
                };
                SourceFile::new(f.name().to_owned(), text)
            })
            .collect();
        let Some(b) = load(&b_files) else { continue };
        let report = run(
            &b,
            Some(&a),
            vec![Property::OnlyModels(vec![widened.clone()])],
        );
        let p = &report.properties[0];
        if p.holds {
            if !p.complete {
                continue;
            }
            held += 1;
            for _ in 0..150 {
                let model = *rng.pick(&MODELS);
                if model == widened {
                    continue;
                }
                let s = subject(&mut rng, false);
                let r = request(&mut rng, &a, model);
                assert_eq!(
                    decide(&a, &s, &r),
                    decide(&b, &s, &r),
                    "{s} {r:?}\n{:?}",
                    b_files.iter().map(|f| f.text()).collect::<Vec<_>>()
                );
            }
        } else {
            violated += 1;
            assert!(counterexamples_reproduce(&report, &b_files, Some(&a_files)) >= 2);
        }
    }
    assert!(held > 0, "no random pair was found equal");
    let _ = violated;
}

/// Where the analysis says a rule is dead, turning its condition off
/// changes no random request's effect; every counterexample of every
/// default property reproduces.
#[test]
fn dead_rules_and_counterexamples_agree_with_brute_force() {
    let mut rng = Rng(0x5eed_0002);
    let mut checked_dead = 0;
    for _ in 0..30 {
        let files = set(&mut rng);
        let Some(p) = load(&files) else { continue };
        let report = run(&p, None, Property::defaults());
        counterexamples_reproduce(&report, &files, None);
        let dead = report
            .properties
            .iter()
            .find(|x| x.property == "no-dead-rules")
            .unwrap();
        for v in &dead.violations {
            let (Some(d), Some(rule)) = (&v.directive, &v.rule) else {
                continue;
            };
            let Some(directive) = p.directive(d) else {
                continue;
            };
            if directive.mode != cordon_policy::Mode::Enforced {
                continue;
            }
            let off: Vec<SourceFile> = files
                .iter()
                .map(|f| {
                    let marker = format!("[[rule]]\nid = \"{rule}\"\nwhen = \"");
                    let text = if f.text().contains(&format!("id = \"{d}\""))
                        && f.text().contains(&marker)
                    {
                        let start = f.text().find(&marker).unwrap() + marker.len();
                        let end = start + f.text()[start..].find("\"\n").unwrap();
                        format!("{}false{}", &f.text()[..start], &f.text()[end..])
                    } else {
                        f.text().to_owned()
                    };
                    SourceFile::new(f.name().to_owned(), text)
                })
                .collect();
            let q = load(&off).unwrap();
            checked_dead += 1;
            for _ in 0..200 {
                let model = *rng.pick(&MODELS);
                let s = subject(&mut rng, false);
                let r = request(&mut rng, &p, model);
                assert_eq!(
                    decide(&p, &s, &r).0,
                    decide(&q, &s, &r).0,
                    "dead `{rule}` of `{d}` decided {s} {r:?}\n{:#?}",
                    files.iter().map(|f| f.text()).collect::<Vec<_>>()
                );
            }
        }
    }
    assert!(checked_dead > 0, "no random set had a dead rule to check");
}

/// Where the analysis says the protected class keeps access, no random
/// protected subject asking from a country no directive names, with a
/// residence no directive names, is refused.
#[test]
fn protected_access_agrees_with_brute_force() {
    let mut rng = Rng(0x5eed_0003);
    let mut held = 0;
    for _ in 0..30 {
        let files = set(&mut rng);
        let Some(p) = load(&files) else { continue };
        let report = run(
            &p,
            None,
            vec![Property::ProtectedKeepAccess(ProtectedClass::UsCitizens)],
        );
        let verdict = &report.properties[0];
        if !verdict.holds {
            assert!(counterexamples_reproduce(&report, &files, None) >= 1);
            continue;
        }
        held += 1;
        for _ in 0..150 {
            let mut s = subject(&mut rng, true);
            s["residence_country"] = json!("JP");
            s.as_object_mut().unwrap().remove("organization");
            let model = *rng.pick(&MODELS);
            let mut r = request(&mut rng, &p, model);
            r.country = Some("JP".parse().unwrap());
            r.region = None;
            let (e, _) = decide(&p, &s, &r);
            assert!(
                e < Effect::VerificationRequired,
                "{s} {r:?} refused\n{:#?}",
                files.iter().map(|f| f.text()).collect::<Vec<_>>()
            );
        }
    }
    assert!(held > 0);
}
