//! Scheduling an approved change: the approver may name a time, later than
//! now, from which it takes effect.
//!
//! The rule: the directive is written with the later of the time chosen
//! and the `effective` time its file already states. Approval can postpone
//! a directive, never bring it forward past what its author wrote; its
//! grace period and expiry are left as written, and the set is checked
//! again with the new time (a grace period that would end before the
//! directive takes effect does not check).

use jiff::Timestamp;

/// The time a change is written to take effect from: the later of
/// `chosen` and the file's own `stated` time.
pub fn effective_time(chosen: Timestamp, stated: Timestamp) -> Timestamp {
    chosen.max(stated)
}

/// `text` with its top-level `effective` key set to `effective`.
///
/// # Errors
/// Why the file's `effective` line cannot be found: there must be exactly
/// one, before the first table.
pub fn with_effective(text: &str, effective: Timestamp) -> Result<String, String> {
    let top_level = text
        .lines()
        .take_while(|l| !l.trim_start().starts_with('['))
        .count();
    let is_effective = |l: &str| {
        l.trim_start()
            .strip_prefix("effective")
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    };
    let at: Vec<usize> = text
        .lines()
        .take(top_level)
        .enumerate()
        .filter(|(_, l)| is_effective(l))
        .map(|(i, _)| i)
        .collect();
    let [line] = at.as_slice() else {
        return Err(format!(
            "the file has {} top-level `effective` lines, not one: set its time in the file and propose it again",
            at.len()
        ));
    };
    let mut out: Vec<String> = text.lines().map(str::to_owned).collect();
    if let Some(l) = out.get_mut(*line) {
        *l = format!("effective = {}", effective.strftime("%Y-%m-%dT%H:%M:%SZ"));
    }
    let mut joined = out.join("\n");
    if text.ends_with('\n') {
        joined.push('\n');
    }
    Ok(joined)
}

/// A time as a form's `datetime-local` field sends it (`2027-01-05T09:30`,
/// taken as UTC), or an RFC 3339 time.
///
/// # Errors
/// What the text is not.
pub fn parse_time(text: &str) -> Result<Timestamp, String> {
    let text = text.trim();
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    text.parse::<jiff::civil::DateTime>()
        .and_then(|d| jiff::tz::TimeZone::UTC.to_timestamp(d))
        .map_err(|_| {
            format!("`{text}` is not a date and time (2027-01-05T09:30, UTC, or RFC 3339)")
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test fixtures")]

    use super::*;

    const FILE: &str = "id = \"x\"\n  effective = 2026-11-20T00:00:00Z # from the order\ngrace_until = 2026-12-04T00:00:00Z\n\n[scope]\neffective = 1\n";

    #[test]
    fn only_the_top_level_effective_line_is_rewritten() {
        let t: Timestamp = "2027-01-05T09:30:00Z".parse().unwrap();
        let out = with_effective(FILE, t).unwrap();
        assert_eq!(
            out,
            FILE.replace(
                "  effective = 2026-11-20T00:00:00Z # from the order",
                "effective = 2027-01-05T09:30:00Z"
            )
        );
        assert!(with_effective("id = 1\n", t).is_err());
        assert!(with_effective("effective = 1\neffective = 2\n", t).is_err());
    }

    #[test]
    fn the_later_time_wins_and_form_times_are_utc() {
        let early: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let late: Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(effective_time(early, late), late);
        assert_eq!(effective_time(late, early), late);
        assert_eq!(
            parse_time("2027-01-05T09:30").unwrap(),
            "2027-01-05T09:30:00Z".parse::<Timestamp>().unwrap()
        );
        assert!(parse_time("next tuesday").is_err());
    }
}
