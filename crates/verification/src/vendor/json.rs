//! Reading a vendor's JSON with the path of every value at hand, so that
//! each error names exactly what is missing or wrong.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use serde_json::{Map, Value};

use crate::PayloadError;

/// Parses a body as JSON.
///
/// # Errors
/// [`PayloadError::Json`] with the parser's position.
pub(crate) fn parse_body(body: &[u8]) -> Result<Value, PayloadError> {
    serde_json::from_slice(body).map_err(|e| PayloadError::Json {
        line: e.line(),
        column: e.column(),
        reason: e.to_string(),
    })
}

/// A value and its path from the body's root (`data.object.id`,
/// `included[2].attributes`).
#[derive(Debug, Clone)]
pub(crate) struct Node<'a> {
    /// The value.
    pub(crate) value: &'a Value,
    /// Its path; empty for the root.
    pub(crate) path: String,
}

impl<'a> Node<'a> {
    /// The body's root.
    pub(crate) fn root(value: &'a Value) -> Node<'a> {
        Node {
            value,
            path: String::new(),
        }
    }

    /// The path as errors show it.
    pub(crate) fn name(&self) -> String {
        if self.path.is_empty() {
            "(body)".into()
        } else {
            self.path.clone()
        }
    }

    /// The path of `key` below this value.
    pub(crate) fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// A wrong-type error for this value.
    pub(crate) fn wrong(&self, expected: &'static str) -> PayloadError {
        PayloadError::WrongType {
            field: self.name(),
            expected,
        }
    }

    /// An invalid-value error for this value.
    pub(crate) fn invalid(&self, reason: impl Into<String>) -> PayloadError {
        PayloadError::Invalid {
            field: self.name(),
            reason: reason.into(),
        }
    }

    /// The value as an object.
    pub(crate) fn object(&self) -> Result<&'a Map<String, Value>, PayloadError> {
        self.value
            .as_object()
            .ok_or_else(|| self.wrong("an object"))
    }

    /// The member `key`, `None` when absent or `null`.
    ///
    /// # Errors
    /// [`PayloadError::WrongType`] when this value is not an object.
    pub(crate) fn opt(&self, key: &str) -> Result<Option<Node<'a>>, PayloadError> {
        match self.object()?.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => Ok(Some(Node {
                value,
                path: self.child(key),
            })),
        }
    }

    /// The member `key`.
    ///
    /// # Errors
    /// [`PayloadError::Missing`] when absent or `null`.
    pub(crate) fn req(&self, key: &str) -> Result<Node<'a>, PayloadError> {
        self.opt(key)?
            .ok_or_else(|| PayloadError::Missing(self.child(key)))
    }

    /// The value as a string.
    pub(crate) fn str(&self) -> Result<&'a str, PayloadError> {
        self.value.as_str().ok_or_else(|| self.wrong("a string"))
    }

    /// The string member `key`, `None` when absent or `null`.
    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<&'a str>, PayloadError> {
        self.opt(key)?.map(|n| n.str()).transpose()
    }

    /// The string member `key`.
    pub(crate) fn req_str(&self, key: &str) -> Result<&'a str, PayloadError> {
        self.req(key)?.str()
    }

    /// The value as an array's elements, each with its path.
    pub(crate) fn items(&self) -> Result<Vec<Node<'a>>, PayloadError> {
        let items = self
            .value
            .as_array()
            .ok_or_else(|| self.wrong("an array"))?;
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, value)| Node {
                value,
                path: format!("{}[{i}]", self.name()),
            })
            .collect())
    }

    /// The value as an integer.
    pub(crate) fn i64(&self) -> Result<i64, PayloadError> {
        self.value.as_i64().ok_or_else(|| self.wrong("an integer"))
    }

    /// The value as unix seconds.
    pub(crate) fn unix(&self) -> Result<Timestamp, PayloadError> {
        Timestamp::from_second(self.i64()?).map_err(|e| self.invalid(e.to_string()))
    }

    /// The value as an RFC 3339 time (`2026-12-07T10:00:00.000Z`), or a
    /// date and time without an offset, taken as UTC (Sumsub's
    /// `2026-12-07 10:00:00.123`).
    pub(crate) fn time(&self) -> Result<Timestamp, PayloadError> {
        let text = self.str()?;
        if let Ok(t) = text.parse::<Timestamp>() {
            return Ok(t);
        }
        text.parse::<DateTime>()
            .ok()
            .and_then(|dt| TimeZone::UTC.to_timestamp(dt).ok())
            .ok_or_else(|| self.invalid(format!("`{text}` is not a time")))
    }

    /// The value as a calendar date (`2031-05-17`), as the instant it
    /// begins in UTC: a document that expires on a date is taken not to
    /// count on that date (cautious by up to a day). A full RFC 3339 time
    /// is taken as it is.
    pub(crate) fn date(&self) -> Result<Timestamp, PayloadError> {
        let text = self.str()?;
        if let Ok(t) = text.parse::<Timestamp>() {
            return Ok(t);
        }
        let date: Date = text
            .parse()
            .map_err(|_| self.invalid(format!("`{text}` is not a date (YYYY-MM-DD)")))?;
        start_of(date).ok_or_else(|| self.invalid(format!("`{text}` is out of range")))
    }

    /// The value as Stripe's `{"day", "month", "year"}` date, as the
    /// instant it begins in UTC; `None` when any part is `null` (Stripe
    /// leaves out what the document does not show).
    pub(crate) fn day_month_year(&self) -> Result<Option<Timestamp>, PayloadError> {
        let part = |key: &str| -> Result<Option<i64>, PayloadError> {
            self.opt(key)?.map(|n| n.i64()).transpose()
        };
        let (Some(day), Some(month), Some(year)) = (part("day")?, part("month")?, part("year")?)
        else {
            return Ok(None);
        };
        let date = i16::try_from(year)
            .ok()
            .zip(i8::try_from(month).ok())
            .zip(i8::try_from(day).ok())
            .and_then(|((y, m), d)| Date::new(y, m, d).ok())
            .ok_or_else(|| self.invalid(format!("{year}-{month}-{day} is not a date")))?;
        start_of(date)
            .map(Some)
            .ok_or_else(|| self.invalid("the date is out of range"))
    }
}

/// The instant `date` begins in UTC.
fn start_of(date: Date) -> Option<Timestamp> {
    TimeZone::UTC
        .to_timestamp(date.to_datetime(Time::midnight()))
        .ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn errors_name_the_path() {
        let v = json!({"a": {"b": [1, {"c": "x"}]}, "n": null, "s": 5});
        let root = Node::root(&v);
        let b = root.req("a").unwrap().req("b").unwrap();
        let items = b.items().unwrap();
        assert_eq!(items[1].req_str("c").unwrap(), "x");
        assert_eq!(
            items[1].req("d").unwrap_err(),
            PayloadError::Missing("a.b[1].d".into())
        );
        assert_eq!(
            items[0].req("d").unwrap_err(),
            PayloadError::WrongType {
                field: "a.b[0]".into(),
                expected: "an object"
            }
        );
        assert_eq!(root.opt("n").unwrap().map(|n| n.path), None);
        assert_eq!(
            root.req("n").unwrap_err(),
            PayloadError::Missing("n".into())
        );
        assert!(root.req_str("s").unwrap_err().to_string().contains("`s`"));
        let top = json!([]);
        assert!(
            Node::root(&top)
                .req("x")
                .unwrap_err()
                .to_string()
                .contains("(body)")
        );
    }

    #[test]
    fn times_and_dates_read() {
        let t = |s: &str| Node::root(&json!(s)).time();
        assert_eq!(
            t("2026-12-07T10:00:00.000Z").unwrap(),
            "2026-12-07T10:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            t("2026-12-07 10:00:00.123").unwrap(),
            "2026-12-07T10:00:00.123Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            t("2026-12-07 10:00:00+0000").unwrap(),
            "2026-12-07T10:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert!(t("yesterday").is_err());
        let d = |s: &str| Node::root(&json!(s)).date();
        assert_eq!(
            d("2031-05-17").unwrap(),
            "2031-05-17T00:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert!(d("2031-02-30").is_err());
        let dmy = |v: Value| Node::root(&v).day_month_year();
        assert_eq!(
            dmy(json!({"day": 17, "month": 5, "year": 2031})).unwrap(),
            Some("2031-05-17T00:00:00Z".parse().unwrap())
        );
        assert_eq!(
            dmy(json!({"day": null, "month": 5, "year": 2031})).unwrap(),
            None
        );
        assert!(dmy(json!({"day": 31, "month": 2, "year": 2031})).is_err());
        assert!(dmy(json!({"day": 1, "month": 1, "year": 1e9})).is_err());
        assert!(dmy(json!({"day": 1, "month": 1, "year": 99999})).is_err());
        assert!(Node::root(&json!(i64::MAX)).unix().is_err());
    }
}
