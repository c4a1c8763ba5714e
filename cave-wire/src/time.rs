//! The server's timestamps: naive ISO 8601 in UTC, with or without microseconds
//! (docs/WIRE.md, "Timestamps").

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer};

/// A server timestamp: naive ISO in UTC, with or without `.ffffff`; an explicit offset or `Z`
/// is accepted too.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    .map(|t| t.and_utc())
}

pub(crate) fn utc<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(d)?;
    parse_time(&text).ok_or_else(|| not_a_time(&text))
}

pub(crate) fn optional_utc<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(text) => parse_time(&text).map(Some).ok_or_else(|| not_a_time(&text)),
    }
}

fn not_a_time<E: serde::de::Error>(text: &str) -> E {
    E::custom(format!("expected a timestamp, found `{text}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_and_without_microseconds_or_offset() {
        for text in [
            "2024-06-12T10:10:01",
            "2024-06-12T10:10:01.000000",
            "2024-06-12T10:10:01+00:00",
            "2024-06-12T10:10:01Z",
        ] {
            assert_eq!(
                parse_time(text).map(|t| t.to_rfc3339()).as_deref(),
                Some("2024-06-12T10:10:01+00:00"),
                "{text}"
            );
        }
        let d = parse_time("2025-01-13T10:10:01.286229").unwrap();
        assert_eq!(d.timestamp_subsec_micros(), 286_229);
        assert_eq!(parse_time("yesterday"), None);
    }
}
