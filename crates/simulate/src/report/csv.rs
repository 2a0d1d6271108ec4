//! CSV text (RFC 4180): written by hand because every field is already a
//! string and writing to a `String` cannot fail.

use std::fmt::Write as _;

use super::Report;
use crate::Transition;

/// Characters that make a spreadsheet read a cell as a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Appends one record, quoting fields that hold a comma, quote or line break.
///
/// Organisation names and other text come from customers, and these files
/// are opened in spreadsheets: a field that starts like a formula is
/// prefixed with `'` so it is shown as text, never evaluated (OWASP "CSV
/// injection"). Counts are never negative, so no figure is altered.
pub(crate) fn write_row<'a>(out: &mut String, fields: impl IntoIterator<Item = &'a str>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let text = if f.starts_with(FORMULA_START) {
            std::borrow::Cow::Owned(format!("'{f}"))
        } else {
            std::borrow::Cow::Borrowed(f)
        };
        if text.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&text.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&text);
        }
    }
    out.push_str("\r\n");
}

impl Report {
    /// One row per group of every dimension:
    /// `dimension,key,name,accounts,affected_accounts,` then one column per
    /// transition in [`Transition::ALL`] order.
    ///
    /// Then one row of dimension `restorable_by` per way of verifying and
    /// one keyed `none`: the name says what the way is, and the columns of
    /// the transitions verifying undoes hold *accounts* (see
    /// [`Report::restorable_by`]); the other columns are empty.
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
        let r = &self.restorable_by;
        let ways = r.ways.iter().map(|w| {
            let mut name = format!("{}, up to {}", w.kind.as_str(), w.max_level.as_str());
            if w.organisations_only {
                name.push_str(", members of an organisation only");
            }
            (w.key.as_str(), name, &w.accounts)
        });
        let none = ("none", "no way of verifying".to_owned(), &r.none);
        for (key, name, accounts) in ways.chain([none]) {
            line.clear();
            line.extend(["restorable_by".to_owned(), key.to_owned(), name]);
            line.extend([String::new(), String::new()]);
            for t in Transition::ALL {
                line.push(accounts.get(t).map(|n| n.to_string()).unwrap_or_default());
            }
            write_row(&mut out, line.iter().map(String::as_str));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::write_row;

    fn row(fields: &[&str]) -> String {
        let mut out = String::new();
        write_row(&mut out, fields.iter().copied());
        out
    }

    #[test]
    fn fields_are_quoted_only_when_they_need_it() {
        assert_eq!(row(&["a", "12", ""]), "a,12,\r\n");
        assert_eq!(
            row(&["Fabrikam, Inc.", "say \"hi\"", "two\nlines"]),
            "\"Fabrikam, Inc.\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
        );
    }

    #[test]
    fn text_that_looks_like_a_formula_is_shown_as_text() {
        assert_eq!(
            row(&["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "ok=1"]),
            "\"'=HYPERLINK(\"\"http://x\"\")\",'+1,'-2,'@SUM(A1),ok=1\r\n"
        );
        assert_eq!(row(&["\tcmd"]), "'\tcmd\r\n");
    }
}
