//! Where each shipped directive stands over time, and what changes next.

use cordon_policy::{Change, Policy, Standing};

use super::support::*;

fn standing(p: &Policy, id: &str, at: &str) -> (Standing, Option<(String, Change)>) {
    let d = p.directive(id).unwrap();
    (
        d.standing(t(at)),
        d.next_change(t(at)).map(|(when, c)| (when.to_string(), c)),
    )
}

const FRONTIER: &str = "foreign-national-frontier-2026";

#[test]
fn the_order_is_pending_then_in_grace_then_in_force_to_the_second() {
    let p = shipped();
    assert_eq!(
        standing(&p, FRONTIER, "2026-11-19T23:59:59Z"),
        (
            Standing::Pending,
            Some(("2026-11-20T00:00:00Z".into(), Change::TakesEffect))
        )
    );
    // Effective at 00:00 means consulted from 00:00.
    assert_eq!(
        standing(&p, FRONTIER, "2026-11-20T00:00:00Z"),
        (
            Standing::Grace,
            Some(("2026-12-04T00:00:00Z".into(), Change::GraceEnds))
        )
    );
    assert_eq!(
        standing(&p, FRONTIER, "2026-12-04T00:00:00Z"),
        (Standing::InForce, None)
    );
}

#[test]
fn drafts_and_retired_directives_are_never_consulted_whatever_their_times() {
    let p = shipped();
    for at in ["2025-03-01T00:00:00Z", "2026-11-25T00:00:00Z"] {
        assert_eq!(
            standing(&p, "foreign-national-frontier-2026-partial", at),
            (Standing::Draft, None)
        );
        assert_eq!(
            standing(&p, "ai-diffusion-tier3-2025", at),
            (Standing::Retired, None)
        );
    }
}

#[test]
fn an_enforced_or_shadow_directive_expires_at_its_expiry() {
    for mode in ["enforced", "shadow"] {
        let p = shipped_with(|_, text| {
            text.replace("mode = \"retired\"", &format!("mode = \"{mode}\""))
        });
        assert_eq!(
            standing(&p, "ai-diffusion-tier3-2025", "2025-05-12T23:59:59Z"),
            (
                Standing::InForce,
                Some(("2025-05-13T00:00:00Z".into(), Change::Expires))
            ),
            "{mode}"
        );
        assert_eq!(
            standing(&p, "ai-diffusion-tier3-2025", "2025-05-13T00:00:00Z"),
            (Standing::Expired, None),
            "{mode}"
        );
    }
}
