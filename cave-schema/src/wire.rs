//! Small facts of the CAVE wire format that the client, the devserver, the code generator and
//! `cave fetch` share (API.md §6.2, §6.4): the filter families and their body keys, URL
//! path segments, and the server's timestamps. No network code here.

use chrono::{DateTime, NaiveDateTime, Utc};

/// A family of query filter, in the order of its key in a query body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FilterKind {
    /// `filter_in_dict`: value in a list.
    In,
    /// `filter_notin_dict`: value in none of a list (servers accept and ignore it, API.md §11.5).
    NotIn,
    /// `filter_equal_dict`.
    Equal,
    /// `filter_greater_dict`.
    Greater,
    /// `filter_less_dict`.
    Less,
    /// `filter_greater_equal_dict`.
    GreaterEqual,
    /// `filter_less_equal_dict`.
    LessEqual,
    /// `filter_spatial_dict`: a position inside a box.
    Spatial,
    /// `filter_regex_dict`: a PostgreSQL `~` pattern on a string column.
    Regex,
}

impl FilterKind {
    /// Every family, in body-key order.
    pub const ALL: [FilterKind; 9] = [
        FilterKind::In,
        FilterKind::NotIn,
        FilterKind::Equal,
        FilterKind::Greater,
        FilterKind::Less,
        FilterKind::GreaterEqual,
        FilterKind::LessEqual,
        FilterKind::Spatial,
        FilterKind::Regex,
    ];

    /// The body key, e.g. `filter_in_dict`.
    pub fn body_key(self) -> &'static str {
        match self {
            FilterKind::In => "filter_in_dict",
            FilterKind::NotIn => "filter_notin_dict",
            FilterKind::Equal => "filter_equal_dict",
            FilterKind::Greater => "filter_greater_dict",
            FilterKind::Less => "filter_less_dict",
            FilterKind::GreaterEqual => "filter_greater_equal_dict",
            FilterKind::LessEqual => "filter_less_equal_dict",
            FilterKind::Spatial => "filter_spatial_dict",
            FilterKind::Regex => "filter_regex_dict",
        }
    }
}

/// A URL path segment: letters, digits and `-._~` as they are, everything else
/// percent-encoded.
pub fn segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A server timestamp: naive ISO in UTC, with or without `.ffffff` (API.md §6.2); an explicit
/// offset or `Z` is accepted too.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_segments_and_times() {
        assert_eq!(
            FilterKind::ALL.map(FilterKind::body_key)[1],
            "filter_notin_dict"
        );
        assert_eq!(segment("minnie65_public"), "minnie65_public");
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
        for text in [
            "2024-06-12T10:10:01",
            "2024-06-12T10:10:01.000000",
            "2024-06-12T10:10:01+00:00",
        ] {
            assert_eq!(
                parse_time(text).map(|t| t.to_rfc3339()).as_deref(),
                Some("2024-06-12T10:10:01+00:00"),
                "{text}"
            );
        }
        assert_eq!(parse_time("yesterday"), None);
    }
}
