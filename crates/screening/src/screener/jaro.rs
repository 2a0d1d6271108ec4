//! String similarity of two tokens: Jaro–Winkler and a normalised edit distance.
//!
//! Both work on bytes (tokens are ASCII) and at most [`MAX_LEN`] of them, so
//! they need no allocation.

/// The longest input compared; longer inputs are cut (tokens are at most 40
/// characters, joined pairs at most 80).
pub(crate) const MAX_LEN: usize = 64;

/// Jaro–Winkler similarity in `0.0..=1.0`: 1.0 for equal strings, 0.0 for
/// strings with no common character nearby.
///
/// The Winkler prefix bonus (up to four characters, scale 0.1) is only given
/// when the Jaro similarity is already at least 0.7, as Winkler proposed.
pub(crate) fn jaro_winkler(a: &[u8], b: &[u8]) -> f64 {
    let a = a.get(..MAX_LEN).unwrap_or(a);
    let b = b.get(..MAX_LEN).unwrap_or(b);
    let j = jaro(a, b);
    if j < 0.7 {
        return j;
    }
    let prefix = a
        .iter()
        .zip(b.iter())
        .take(4)
        .take_while(|(x, y)| x == y)
        .count();
    j + (prefix as f64) * 0.1 * (1.0 - j)
}

fn jaro(a: &[u8], b: &[u8]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return 1.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    // Bit i set: b[i] is already matched. MAX_LEN is 64.
    let mut b_used: u64 = 0;
    let mut a_matched: u64 = 0;
    let mut matches = 0usize;
    for (i, &ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        for j in lo..hi {
            let bit = 1u64 << j;
            if b_used & bit == 0 && b.get(j) == Some(&ca) {
                b_used |= bit;
                a_matched |= 1u64 << i;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    // Count transpositions: matched characters in order on both sides.
    let mut transpositions = 0usize;
    let mut bj = 0usize;
    for (i, &ca) in a.iter().enumerate() {
        if a_matched & (1u64 << i) == 0 {
            continue;
        }
        while bj < b.len() && b_used & (1u64 << bj) == 0 {
            bj += 1;
        }
        if b.get(bj) != Some(&ca) {
            transpositions += 1;
        }
        bj += 1;
    }
    let m = matches as f64;
    let t = (transpositions / 2) as f64;
    (m / a.len() as f64 + m / b.len() as f64 + (m - t) / m) / 3.0
}

/// One minus the optimal-string-alignment distance (Levenshtein with
/// adjacent transpositions) over the longer length, in `0.0..=1.0`.
///
/// Jaro–Winkler forgives a missing tail (`ABDULLAH` against `ABDULAZIZ` is
/// 0.93); the edit distance does not, so the two are averaged.
pub(crate) fn edit_similarity(a: &[u8], b: &[u8]) -> f64 {
    let a = a.get(..MAX_LEN).unwrap_or(a);
    let b = b.get(..MAX_LEN).unwrap_or(b);
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    1.0 - osa_distance(a, b) as f64 / longest as f64
}

/// The optimal-string-alignment distance, computed bit-parallel (Hyyrö 2003,
/// "A bit-vector algorithm for computing Levenshtein and Damerau edit
/// distances"): one pass over `b` with `a`'s positions as the bits of a word.
/// `a` must be at most 64 bytes.
fn osa_distance(a: &[u8], b: &[u8]) -> usize {
    let m = a.len();
    if m == 0 {
        return b.len();
    }
    if m > 64 {
        return m.max(b.len());
    }
    // Match masks: bit i of `peq[c]` is set when `a[i] == c`.
    let mut peq = [0u64; 256];
    for (i, &c) in a.iter().enumerate() {
        if let Some(mask) = peq.get_mut(usize::from(c)) {
            *mask |= 1u64 << i;
        }
    }
    let last = 1u64 << (m - 1);
    let mut vp: u64 = if m == 64 { !0 } else { (1u64 << m) - 1 };
    let mut vn: u64 = 0;
    let mut d0: u64 = 0;
    let mut pm_prev: u64 = 0;
    let mut score = m;
    for &c in b {
        let pm = peq.get(usize::from(c)).copied().unwrap_or(0);
        let tr = (((!d0) & pm) << 1) & pm_prev;
        d0 = (((pm & vp).wrapping_add(vp)) ^ vp) | pm | vn | tr;
        let hp = vn | !(d0 | vp);
        let hn = d0 & vp;
        if hp & last != 0 {
            score += 1;
        } else if hn & last != 0 {
            score = score.saturating_sub(1);
        }
        let x = (hp << 1) | 1;
        vn = x & d0;
        vp = (hn << 1) | !(x | d0);
        pm_prev = pm;
    }
    score
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jw(a: &str, b: &str) -> f64 {
        jaro_winkler(a.as_bytes(), b.as_bytes())
    }

    #[test]
    fn jaro_winkler_known_values() {
        assert!((jw("MARTHA", "MARHTA") - 0.9611).abs() < 1e-3);
        assert!((jw("DWAYNE", "DUANE") - 0.84).abs() < 1e-3);
        assert!((jw("DIXON", "DICKSONX") - 0.8133).abs() < 1e-3);
        assert_eq!(jw("ABC", "ABC"), 1.0);
        assert_eq!(jw("ABC", "XYZ"), 0.0);
        assert_eq!(jw("", "ABC"), 0.0);
    }

    #[test]
    fn edit_similarity_known_values() {
        let e = |a: &str, b: &str| edit_similarity(a.as_bytes(), b.as_bytes());
        assert_eq!(e("KITTEN", "SITTING"), 1.0 - 3.0 / 7.0);
        // A transposition is one edit.
        assert_eq!(e("AHMAD", "AHMDA"), 1.0 - 1.0 / 5.0);
        assert_eq!(e("ABC", "ABC"), 1.0);
        assert_eq!(e("", ""), 1.0);
        assert_eq!(e("ABC", ""), 0.0);
    }

    /// The textbook dynamic programme, as the reference.
    fn osa_reference(a: &[u8], b: &[u8]) -> usize {
        let (n, m) = (a.len(), b.len());
        let mut d = vec![vec![0usize; m + 1]; n + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=n {
            for j in 1..=m {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                }
            }
        }
        d[n][m]
    }

    proptest::proptest! {
        #[test]
        fn bit_parallel_osa_matches_the_reference(a in "[ABCD]{0,20}", b in "[ABCD]{0,20}") {
            proptest::prop_assert_eq!(
                osa_distance(a.as_bytes(), b.as_bytes()),
                osa_reference(a.as_bytes(), b.as_bytes())
            );
        }

        #[test]
        fn bit_parallel_osa_matches_on_long_inputs(a in "[AB]{50,64}", b in "[AB]{0,70}") {
            proptest::prop_assert_eq!(
                osa_distance(a.as_bytes(), b.as_bytes()),
                osa_reference(a.as_bytes(), b.as_bytes())
            );
        }
    }

    #[test]
    fn long_inputs_are_cut_not_rejected() {
        let a = "A".repeat(200);
        let b = "A".repeat(150);
        assert_eq!(jw(&a, &b), 1.0);
        assert_eq!(edit_similarity(a.as_bytes(), b.as_bytes()), 1.0);
    }
}
