//! A generated directive set of any size, shaped like real ones: sanctions
//! programmes by place, residence, billing and organisation; nationality
//! orders on named models with grace periods; feature limits; screening.
//! Deterministic for a seed, so figures can be compared run to run.

use cordon_source::SourceFile;

/// Countries the generated directives name.
const COUNTRIES: [&str; 30] = [
    "IR", "CU", "KP", "SY", "RU", "BY", "VE", "MM", "AF", "IQ", "LY", "SD", "SO", "YE", "ZW", "NI",
    "ML", "CF", "CD", "LB", "HT", "ER", "SS", "BI", "GN", "TD", "NE", "BF", "CN", "HK",
];
const MODELS: [&str; 6] = [
    "fable-5",
    "fable-4",
    "mythos-5",
    "lyric-4",
    "lyric-4-mini",
    "echo-embed-2",
];
const EFFECTIVE: [&str; 5] = [
    "2024-01-01T00:00:00Z",
    "2025-03-01T00:00:00Z",
    "2025-09-01T00:00:00Z",
    "2026-06-01T00:00:00Z",
    "2026-11-20T00:00:00Z",
];

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap_or(1)).unwrap_or(0)
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs.get(self.below(xs.len()))
            .copied()
            .unwrap_or_else(|| xs[0])
    }
}

/// `n` directives from `seed`.
pub fn generated_set(n: usize, seed: u64) -> Vec<SourceFile> {
    let mut rng = Rng(seed | 1);
    (0..n).map(|i| directive(&mut rng, i)).collect()
}

fn directive(rng: &mut Rng, i: usize) -> SourceFile {
    let effective = rng.pick(&EFFECTIVE);
    let mode = if rng.below(100) < 85 {
        "enforced"
    } else {
        "shadow"
    };
    let mut t = format!(
        "id = \"generated-{i:03}\"\ntitle = \"Generated directive {i}\"\nauthority = \"Generated\"\ncitation = \"None: generated for measurement\"\nissued = 2024-01-01\neffective = {effective}\nmode = \"{mode}\"\nmessage = \"Refused by generated directive {i}.\"\n"
    );
    let kind = rng.below(6);
    let c = rng.pick(&COUNTRIES);
    let d = rng.pick(&COUNTRIES);
    match kind {
        // A sanctions programme: place, residence, billing, organisation.
        0..=2 => {
            t.push_str("min_verification = \"none\"\n[unknown]\neffect = \"allow\"\n");
            t.push_str(&format!("[[rule]]\nid = \"location\"\nwhen = \"request.country in [{c}, {d}]\"\neffect = \"deny\"\n"));
            t.push_str(&format!("[[rule]]\nid = \"residence\"\nwhen = \"subject.residence_country in [{c}, {d}]\"\neffect = \"deny\"\n"));
            if rng.below(2) == 0 {
                t.push_str(&format!("[[rule]]\nid = \"billing\"\nwhen = \"known(subject.billing) and subject.billing in [{c}]\"\neffect = \"deny\"\n"));
            }
            if rng.below(2) == 0 {
                t.push_str(&format!("[[rule]]\nid = \"organization\"\nwhen = \"subject.kind == organization and subject.organization.location in [{c}]\"\neffect = \"deny\"\n"));
            }
        }
        // A nationality order on named models, with a grace period.
        3 => {
            let m = rng.pick(&MODELS);
            t.push_str(&format!(
                "min_verification = \"document_verified\"\n[scope]\nmodels = [\"{m}\"]\n[foreign_person]\nexcept = [\"us_citizens\", \"us_nationals\", \"permanent_residents\", \"protected_individuals\"]\ncitation = \"15 CFR 772.1\"\n[unknown]\neffect = \"verification_required\"\n"
            ));
            t.push_str(&format!("[[rule]]\nid = \"nationals\"\nwhen = \"subject.foreign_person and subject.citizenships in [{c}, {d}]\"\neffect = \"deny\"\n"));
        }
        // A feature limit for a place.
        4 => {
            let m = rng.pick(&MODELS);
            t.push_str(&format!(
                "min_verification = \"none\"\n[scope]\nmodels = [\"{m}\"]\nfeatures = [\"tools\"]\n[unknown]\neffect = \"allow\"\n[[rule]]\nid = \"tools\"\nwhen = \"request.country in [{c}]\"\neffect = \"allow_with_obligations\"\nobligations = {{ max_tokens = 1024, remove_features = [\"tools\"] }}\n"
            ));
        }
        // Screening on a list.
        _ => {
            let list = rng.pick(&["SDN", "EL", "DPL", "FSE"]);
            t.push_str(&format!(
                "min_verification = \"none\"\n[unknown]\neffect = \"allow\"\n[[rule]]\nid = \"listed\"\nwhen = \"subject.screening.confirmed in [{list}] and request.country in [{c}]\"\neffect = \"deny\"\n"
            ));
        }
    }
    SourceFile::new(format!("generated-{i:03}.toml"), t)
}
