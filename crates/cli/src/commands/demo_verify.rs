//! `cordon demo-verify`: play the demo's KYC vendor. Signs a Cordon-format
//! `verification.completed` event with the `demo-kyc` secret that `cordon
//! demo --keys-out FILE` wrote, delivers it to the running demo's webhook
//! and prints the gateway's answer.
//!
//! Signing follows Standard Webhooks v1.0.0
//! ([spec](https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md)):
//! HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, sent as
//! `webhook-signature: v1,<base64>`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use cordon_jurisdiction::{CountryCode, Jurisdictions};
use cordon_subject::VerificationLevel;
use serde_json::{Value, json};

use crate::commands::demo::DEMO_KYC;

/// The largest answer read from the gateway.
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// Arguments of `cordon demo-verify`.
#[derive(clap::Args)]
pub struct Args {
    /// The account the verification is about (a demo account such as `unverified`).
    account: String,
    /// A citizenship the vendor verified; repeat it for a dual national (`--as IR --as US`).
    #[arg(long = "as", value_name = "CC", required = true)]
    citizenships: Vec<String>,
    /// The keys file `cordon demo --keys-out FILE` wrote; its `webhooks.demo-kyc` secret signs the event.
    #[arg(long, value_name = "FILE", default_value = "/tmp/cordon-keys.json")]
    keys: PathBuf,
    /// The demo gateway's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The level the vendor verified the facts at: self_declared or document_verified
    /// (the demo's source may grant no more).
    #[arg(long, value_name = "LEVEL", default_value = "document_verified")]
    level: String,
}

/// Runs `cordon demo-verify`: exit 0 when the gateway answered 2xx, 1 otherwise.
pub fn run(a: Args) -> Result<ExitCode> {
    let level = VerificationLevel::parse(&a.level).ok_or_else(|| {
        anyhow!(
            "--level `{}` is not one of none, self_declared, document_verified, attested",
            a.level
        )
    })?;
    let citizenships = countries(&a.citizenships)?;
    let secret = demo_secret(&a.keys)?;
    let subject = subject(&citizenships, level);
    let now = crate::clock::now();
    let nonce = random_hex()?;
    let delivery = format!("msg_{nonce}");
    let event = json!({
        "type": "verification.completed",
        "account": a.account,
        "id": format!("demo-verify-{nonce}"),
        "time": jiff::Timestamp::from_second(now.as_second())?.to_string(),
        "subject": subject,
    });
    let body = serde_json::to_string(&event)?;
    let timestamp = now.as_second().to_string();
    let signature = sign(&secret, &delivery, &timestamp, body.as_bytes());
    let endpoint = format!(
        "{}/v1/verification/webhooks/{DEMO_KYC}",
        a.url.trim_end_matches('/')
    );
    println!(
        "delivering verification.completed for `{}` (citizenships {} at {}) as {delivery} to {endpoint}",
        a.account,
        citizenships.join(", "),
        level.as_str()
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .user_agent(concat!("cordon/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut response = agent
        .post(&endpoint)
        .header("content-type", "application/json")
        .header("webhook-id", &delivery)
        .header("webhook-timestamp", &timestamp)
        .header("webhook-signature", &signature)
        .send(body.as_bytes())
        .map_err(|e| {
            anyhow!("cannot reach the demo gateway at `{endpoint}`: {e} (is `cordon demo` running? pass --url)")
        })?;
    let status = response.status().as_u16();
    let answer = response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_string()
        .with_context(|| format!("cannot read the answer of `{endpoint}`"))?;
    let shown = serde_json::from_str::<Value>(&answer)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| answer.trim().to_owned());
    println!("the gateway answered HTTP {status}:\n{shown}");
    if (200..300).contains(&status) {
        println!(
            "`{}`'s next request is decided on these facts; see them with `cordon accounts --store <data dir>/identity.db evidence {}`",
            a.account, a.account
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: the gateway refused the delivery (HTTP {status})");
        Ok(ExitCode::FAILURE)
    }
}

/// The country codes, upper case, each an assigned ISO 3166-1 code.
fn countries(given: &[String]) -> Result<Vec<String>> {
    let j = Jurisdictions::embedded()?;
    let mut out: Vec<String> = Vec::with_capacity(given.len());
    for c in given {
        let code = CountryCode::parse(c).with_context(|| format!("--as `{c}`"))?;
        if !j.is_country(code) {
            bail!("--as `{c}` is not an assigned ISO 3166-1 country code");
        }
        let code = code.to_string();
        if !out.contains(&code) {
            out.push(code);
        }
    }
    Ok(out)
}

/// The subject the vendor states: the citizenships at `level`; for someone
/// with no U.S. citizenship, also no permanent residency and not a protected
/// individual, which is what makes a verified foreign national known not to
/// be a U.S. person.
fn subject(citizenships: &[String], level: VerificationLevel) -> Value {
    if citizenships.iter().any(|c| c == "US") {
        json!({"verification": level.as_str(), "citizenships": citizenships})
    } else {
        json!({
            "verification": level.as_str(),
            "citizenships": citizenships,
            "permanent_residencies": [],
            "protected_individual": false,
        })
    }
}

/// The raw bytes of the `demo-kyc` secret in the keys file.
fn demo_secret(keys: &Path) -> Result<Vec<u8>> {
    let text = std::fs::read_to_string(keys).with_context(|| {
        format!(
            "cannot read the keys file `{}`: start the demo with `cordon demo --keys-out {}`, or pass --keys",
            keys.display(),
            keys.display()
        )
    })?;
    let v: Value = serde_json::from_str(&text)
        .with_context(|| format!("the keys file `{}` is not JSON", keys.display()))?;
    let secret = v
        .pointer(&format!("/webhooks/{DEMO_KYC}"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            anyhow!(
                "the keys file `{}` holds no `webhooks.{DEMO_KYC}` secret: it was written by an older `cordon demo`; start the demo again with --keys-out",
                keys.display()
            )
        })?;
    cordon_verification::webhook::Secret::parse(secret)
        .map_err(|e| anyhow!("the `{DEMO_KYC}` secret in `{}`: {e}", keys.display()))?;
    let b64 = secret
        .trim()
        .strip_prefix("whsec_")
        .ok_or_else(|| anyhow!("the `{DEMO_KYC}` secret is not a `whsec_` HMAC secret"))?;
    B64.decode(b64)
        .map_err(|e| anyhow!("the `{DEMO_KYC}` secret is not base64: {e}"))
}

/// `v1,<base64 HMAC-SHA256 of {id}.{timestamp}.{body}>`.
fn sign(secret: &[u8], id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(id.as_bytes());
    ctx.update(b".");
    ctx.update(timestamp.as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("v1,{}", B64.encode(ctx.sign().as_ref()))
}

/// 16 random bytes as hex, for the delivery id.
fn random_hex() -> Result<String> {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(|e| anyhow!("the system's random source failed: {e}"))?;
    Ok(raw.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_webhooks_example_signs_to_its_signature() {
        // The example of the Standard Webhooks spec.
        let secret = B64.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            sign(
                &secret,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                "1614265330",
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_foreign_national_states_every_ground_and_a_us_citizen_only_citizenship() {
        let us = subject(&["US".into()], VerificationLevel::DocumentVerified);
        assert_eq!(
            us,
            json!({"verification": "document_verified", "citizenships": ["US"]})
        );
        let de = subject(&["DE".into()], VerificationLevel::DocumentVerified);
        assert_eq!(de["permanent_residencies"], json!([]));
        assert_eq!(de["protected_individual"], json!(false));
    }

    #[test]
    fn countries_are_checked_and_upper_cased() {
        assert_eq!(
            countries(&["de".into(), "US".into(), "DE".into()]).unwrap(),
            ["DE", "US"]
        );
        assert!(countries(&["XZ".into()]).is_err());
    }
}
