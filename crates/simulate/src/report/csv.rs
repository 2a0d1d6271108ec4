//! CSV text (RFC 4180): written by hand because every field is already a
//! string and writing to a `String` cannot fail.

use std::fmt::Write as _;

use super::Report;
use crate::Transition;

/// Appends one record, quoting fields that hold a comma, quote or line break.
pub(crate) fn write_row<'a>(out: &mut String, fields: impl IntoIterator<Item = &'a str>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if f.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push_str("\r\n");
}

impl Report {
    /// One row per group of every dimension:
    /// `dimension,key,name,accounts,affected_accounts,` then one column per
    /// transition in [`Transition::ALL`] order.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let mut header = vec!["dimension", "key", "name", "accounts", "affected_accounts"];
        header.extend(Transition::ALL.iter().map(|t| t.as_str()));
        write_row(&mut out, header);
        let mut line: Vec<String> = Vec::with_capacity(5 + Transition::COUNT);
        for (dimension, groups) in self.dimensions() {
            for g in groups {
                line.clear();
                line.push(dimension.to_owned());
                line.push(g.key.clone());
                line.push(g.name.clone());
                line.push(g.accounts.to_string());
                line.push(g.affected_accounts.to_string());
                for t in Transition::ALL {
                    let mut n = String::new();
                    let _ = write!(n, "{}", g.cells.get(t));
                    line.push(n);
                }
                write_row(&mut out, line.iter().map(String::as_str));
            }
        }
        out
    }
}
