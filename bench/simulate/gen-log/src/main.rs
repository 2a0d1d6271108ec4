//! Writes an audit log of realistic decision leaves straight through the
//! log writer, for timing `cordon simulate --traffic` without a gateway.
//!
//! `gen-log DATA_DIR DECISIONS ACCOUNTS` writes `DATA_DIR/audit` and
//! `DATA_DIR/audit-key.pub`. Accounts are `acct-000000001` … (the ids
//! `cordon accounts generate` gives); traffic is skewed towards a hot set,
//! about 1% of decisions carry no account and 0.5% an account no store
//! holds. Each account mostly calls from one country, with a few models,
//! endpoints and feature sets, so most accounts repeat a few request shapes.

use std::path::PathBuf;
use std::time::Instant;

use cordon_audit::leaf::{self, AttributeUsed, Mode, Obligations, Provenance, Source};
use cordon_audit::{DecisionRecord, Record, SigningKey};
use cordon_audit_log::{AuditLog, LogConfig};

const ORIGIN: &str = "bench.example/audit";
const CHUNK: u64 = 4096;

/// A small, fast, deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Picks from `items` by weight.
    fn pick<'a, T>(&mut self, items: &'a [(T, u64)]) -> &'a T {
        let total: u64 = items.iter().map(|(_, w)| w).sum();
        let mut r = self.below(total);
        for (item, w) in items {
            if r < *w {
                return item;
            }
            r -= w;
        }
        &items[0].0
    }
}

fn mix(x: u64) -> u64 {
    Rng(x).next()
}

const COUNTRIES: [&str; 16] = [
    "US", "DE", "GB", "FR", "IN", "BR", "JP", "CA", "NL", "ES", "IT", "PL", "SE", "KR", "MX", "AU",
];

const MODELS: [(&str, u64); 9] = [
    ("fable-5", 30),
    ("fable", 10),
    ("fable-4", 15),
    ("mythos-5", 15),
    ("mythos-latest", 5),
    ("lyric-4", 10),
    ("lyric-4-mini", 8),
    ("echo-embed-2", 6),
    ("legacy-model", 1),
];

const FEATURES: [(&[&str], u64); 4] = [
    (&[], 60),
    (&["tools"], 25),
    (&["tools", "web_search"], 10),
    (&["web_search"], 5),
];

const EFFECTS: [(&str, u64); 4] = [
    ("allow", 90),
    ("allow_with_obligations", 4),
    ("deny", 4),
    ("verification_required", 2),
];

fn decision(i: u64, rng: &mut Rng, accounts: u64) -> Vec<u8> {
    let roll = rng.below(1000);
    let k = if roll < 300 {
        1 + rng.below(accounts.min(10_000))
    } else {
        1 + rng.below(accounts)
    };
    let account = match roll {
        0..=9 => None,
        10..=14 => Some(format!("acct-9{:08}", rng.below(100_000))),
        _ => Some(format!("acct-{k:09}")),
    };
    // Each account has a home country, a favourite model and endpoint.
    let home = COUNTRIES[(mix(k) % COUNTRIES.len() as u64) as usize];
    let country = if rng.below(100) < 92 {
        home
    } else {
        COUNTRIES[rng.below(COUNTRIES.len() as u64) as usize]
    };
    let model = if rng.below(100) < 60 {
        MODELS[(mix(k ^ 0x55) % MODELS.len() as u64) as usize].0
    } else {
        *rng.pick(&MODELS)
    };
    let endpoint = if model.starts_with("echo") {
        "embeddings"
    } else if mix(k ^ 0xaa) % 4 == 0 {
        "messages"
    } else {
        "chat"
    };
    let features: Vec<String> = if rng.below(100) < 70 {
        FEATURES[(mix(k ^ 0x33) % 2) as usize].0
    } else {
        rng.pick(&FEATURES)
    }
    .iter()
    .map(|s| s.to_string())
    .collect();
    let effect = *rng.pick(&EFFECTS);
    let anonymizer = match rng.below(100) {
        0..=1 => Some(true),
        2 => None,
        _ => Some(false),
    };
    let millis = i * 250;
    let (s, ms) = (millis / 1000, millis % 1000);
    let day = 1 + s / 86_400;
    let time = format!(
        "2026-11-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        s % 86_400 / 3600,
        s % 3600 / 60,
        s % 60
    );
    let provenance = Provenance {
        source: Some("kyc.example".into()),
        verification: "document_verified".into(),
        verified_at: Some("2026-03-14T09:26:53Z".into()),
    };
    let record = DecisionRecord {
        id: format!("dec_{:024x}", mix(i) >> 8),
        time,
        account,
        model_requested: model.into(),
        model: Some(model.into()),
        endpoint: endpoint.into(),
        effect: effect.into(),
        mode: Mode::Enforced,
        decided_by: None,
        consulted: vec![
            "ai-diffusion-tier3-2025".into(),
            "ofac-comprehensive-sanctions".into(),
            "restricted-parties".into(),
        ],
        obligations: Obligations::default(),
        attributes: vec![
            AttributeUsed {
                name: "subject.citizenships".into(),
                value: home.into(),
                provenance: Some(provenance.clone()),
            },
            AttributeUsed {
                name: "request.country".into(),
                value: country.into(),
                provenance: None,
            },
        ],
        policy_version: "sha256:9f2c4e1a5b7d3c8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70".into(),
        client_country: Some(country.into()),
        client_region: (country == "US").then(|| "US-CA".into()),
        anonymizer,
        source: Source::Gateway,
        shadow: Vec::new(),
        features,
        end_user: None,
    };
    leaf::encode(&Record::Decision(record)).expect("a decision leaf encodes")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: gen-log DATA_DIR DECISIONS ACCOUNTS";
    let data = PathBuf::from(args.next().expect(usage));
    let decisions: u64 = args.next().expect(usage).parse().expect(usage);
    let accounts: u64 = args.next().expect(usage).parse().expect(usage);
    std::fs::create_dir_all(&data).expect("create the data directory");
    let key = SigningKey::from_seed(ORIGIN, [7; 32]).expect("a signing key");
    std::fs::write(
        data.join("audit-key.pub"),
        format!("{}\n", key.verifier().to_text()),
    )
    .expect("write the public key");
    let (log, _) =
        AuditLog::open(LogConfig::new(data.join("audit"), ORIGIN), key).expect("open the log");
    let started = Instant::now();
    let mut rng = Rng(1);
    let mut bytes = 0u64;
    let mut i = 0;
    while i < decisions {
        let n = CHUNK.min(decisions - i);
        let leaves: Vec<Vec<u8>> = (i..i + n).map(|j| decision(j, &mut rng, accounts)).collect();
        bytes += leaves.iter().map(|l| l.len() as u64).sum::<u64>();
        for r in log.append_many(leaves) {
            r.expect("append");
        }
        i += n;
        if i % (CHUNK * 256) == 0 {
            log.checkpoint_now().expect("checkpoint");
            eprintln!("{i} decisions, {:.0} s", started.elapsed().as_secs_f64());
        }
    }
    log.checkpoint_now().expect("checkpoint");
    log.shutdown();
    eprintln!(
        "wrote {decisions} decisions ({:.0} B per leaf) in {:.1} s",
        bytes as f64 / decisions.max(1) as f64,
        started.elapsed().as_secs_f64()
    );
}
