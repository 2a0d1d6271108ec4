//! Normalising model names.

/// The longest model name Cordon resolves, in bytes after normalisation.
///
/// Longer names are unknown models. The bound lets resolution normalise into a
/// stack buffer, so resolving a name allocates nothing.
pub const MAX_NAME_LEN: usize = 128;

/// Normalises `name` into `buf`: trimmed, ASCII lower case, every internal run of
/// whitespace turned into one `-`. Returns the normalised text, or `None` when it
/// is empty, longer than [`MAX_NAME_LEN`], or not ASCII (no catalog name is).
pub fn normalize_into<'b>(name: &str, buf: &'b mut [u8; MAX_NAME_LEN]) -> Option<&'b str> {
    let mut len = 0usize;
    let mut pending_gap = false;
    for b in name.trim().bytes() {
        if !b.is_ascii() {
            return None;
        }
        if b.is_ascii_whitespace() {
            pending_gap = true;
            continue;
        }
        if pending_gap {
            *buf.get_mut(len)? = b'-';
            len += 1;
            pending_gap = false;
        }
        *buf.get_mut(len)? = b.to_ascii_lowercase();
        len += 1;
    }
    if len == 0 {
        return None;
    }
    std::str::from_utf8(buf.get(..len)?).ok()
}

/// Normalises into an owned string (for building the catalog, not the hot path).
pub(crate) fn normalize(name: &str) -> Option<String> {
    let mut buf = [0u8; MAX_NAME_LEN];
    normalize_into(name, &mut buf).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds_case_and_whitespace() {
        assert_eq!(normalize("  Fable-5 ").as_deref(), Some("fable-5"));
        assert_eq!(normalize("FABLE \t 5").as_deref(), Some("fable-5"));
        assert_eq!(normalize("   "), None);
        assert_eq!(normalize("fäble"), None);
        assert_eq!(
            normalize(&"a".repeat(MAX_NAME_LEN)).map(|s| s.len()),
            Some(MAX_NAME_LEN)
        );
        assert_eq!(normalize(&"a".repeat(MAX_NAME_LEN + 1)), None);
    }

    proptest! {
        #[test]
        fn normalising_is_idempotent(s in "\\PC{0,200}") {
            if let Some(n) = normalize(&s) {
                prop_assert_eq!(normalize(&n), Some(n.clone()));
                prop_assert!(!n.bytes().any(|b| b.is_ascii_uppercase() || b.is_ascii_whitespace()));
            }
        }
    }
}
