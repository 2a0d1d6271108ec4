//! Arbitrary bytes as every restricted-party list format.
//!
//! The first byte picks how the rest is presented: as one file under each
//! name the readers answer to (OFAC primary, alias, address and comments
//! files, both CSL layouts, the DPL, an unknown name that is sniffed), or
//! split into the four files of one OFAC publication so the `ent_num` join
//! runs on fuzzed input.
//!
//! Checks: `detect` and `import` never panic; every row problem points at a
//! line that exists (1-based, at most the number of lines + 1); a snapshot's
//! entries are sorted by `(list, uid)` and its counts add up; errors render.
#![no_main]

use cordon_screening::lists::{ListFile, detect};
use cordon_screening::snapshot::{Snapshot, import};
use libfuzzer_sys::fuzz_target;

/// Names every reader answers to, plus one that forces sniffing.
const NAMES: [&str; 9] = [
    "sdn.csv",
    "alt.csv",
    "add.csv",
    "sdn_comments.csv",
    "cons_prim.csv",
    "consolidated.csv",
    "csl.csv",
    "dpl.txt",
    "download.bin",
];

fn check(files: &[ListFile<'_>]) {
    for f in files {
        if let Err(e) = detect(f.name, f.bytes) {
            let _ = e.to_string();
        }
    }
    match import(files) {
        Ok(snapshot) => check_snapshot(files, &snapshot),
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fn check_snapshot(files: &[ListFile<'_>], s: &Snapshot) {
    for p in &s.problems {
        let file = files
            .iter()
            .find(|f| f.name == p.file)
            .expect("a problem names a file that was given");
        let lines = file.bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        assert!(
            p.line >= 1 && p.line <= lines + 2,
            "problem at line {} of a {lines}-line file: {p}",
            p.line
        );
        let _ = p.to_string();
    }
    assert!(
        s.entries
            .windows(2)
            .all(|w| (w[0].list, &w[0].uid) < (w[1].list, &w[1].uid)),
        "entries not sorted by (list, uid)"
    );
    assert_eq!(s.counts.values().sum::<usize>(), s.entries.len());
    assert!(!s.entries.is_empty(), "an empty snapshot must be an error");
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let choice = usize::from(selector) % (NAMES.len() + 1);
    if let Some(&name) = NAMES.get(choice) {
        check(&[ListFile { name, bytes: rest }]);
        return;
    }
    // One OFAC publication: split the input into four files at 0xFF bytes.
    let mut parts = rest.splitn(4, |&b| b == 0xFF);
    let mut files = Vec::new();
    for name in ["sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"] {
        if let Some(bytes) = parts.next() {
            files.push(ListFile { name, bytes });
        }
    }
    check(&files);
});
