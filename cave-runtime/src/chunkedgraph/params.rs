//! Query strings as caveclient sends them: requests' `urlencode` of a dict, in the order the
//! keys were put in, each value `str()` of the Python value and `quote_plus`-encoded; no `?`
//! at all without parameters.

use chrono::{DateTime, Utc};

use super::time::python_timestamp;

/// Query parameters in the order they are added.
#[derive(Debug, Default, Clone)]
pub(super) struct Params(Vec<(&'static str, String)>);

impl Params {
    /// No parameters yet.
    pub(super) fn new() -> Self {
        Params::default()
    }

    /// `name=value`.
    pub(super) fn push(mut self, name: &'static str, value: impl ToString) -> Self {
        self.0.push((name, value.to_string()));
        self
    }

    /// `name=value` when there is a value.
    pub(super) fn maybe(self, name: &'static str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.push(name, v),
            None => self,
        }
    }

    /// `name=<float seconds>` ([`python_timestamp`]).
    pub(super) fn time(self, name: &'static str, t: DateTime<Utc>) -> Self {
        self.push(name, python_timestamp(t))
    }

    /// `name=<float seconds>` when there is a time.
    pub(super) fn maybe_time(self, name: &'static str, t: Option<DateTime<Utc>>) -> Self {
        self.maybe(name, t.map(python_timestamp))
    }

    /// A Python bool as `str()` writes it: `True`, `False`.
    pub(super) fn flag(self, name: &'static str, value: bool) -> Self {
        self.push(name, if value { "True" } else { "False" })
    }

    /// `url` with the parameters after a `?` (none: `url` as it is).
    pub(super) fn on(&self, url: String) -> String {
        if self.0.is_empty() {
            return url;
        }
        let mut out = url;
        for (i, (name, value)) in self.0.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(&quote_plus(name));
            out.push('=');
            out.push_str(&quote_plus(value));
        }
        out
    }
}

/// caveclient's `package_bounds`: `[[x0, x1], [y0, y1], [z0, z1]]` as `x0-x1_y0-y1_z0-z1`.
pub(super) fn bounds(b: [[i64; 2]; 3]) -> String {
    b.iter()
        .map(|[lo, hi]| format!("{lo}-{hi}"))
        .collect::<Vec<_>>()
        .join("_")
}

/// Python's `urllib.parse.quote_plus`: letters, digits and `_.-~` kept, a space as `+`,
/// every other byte `%XX`.
fn quote_plus(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_caveclients_package_bounds() {
        assert_eq!(
            bounds([[100, 200], [300, 400], [10, 20]]),
            "100-200_300-400_10-20"
        );
        assert_eq!(bounds([[-5, 5], [0, 0], [7, 8]]), "-5-5_0-0_7-8");
    }

    #[test]
    fn parameters_keep_their_order_and_are_encoded_like_urlencode() {
        let t = DateTime::from_timestamp_micros(1_736_763_001_286_229).unwrap();
        let p = Params::new()
            .flag("latest", false)
            .time("timestamp", t)
            .maybe("stop_layer", None::<u32>)
            .maybe("bounds", Some(bounds([[1, 2], [3, 4], [5, 6]])));
        assert_eq!(
            p.on("http://h/x".into()),
            "http://h/x?latest=False&timestamp=1736763001.286229&bounds=1-2_3-4_5-6"
        );
        assert_eq!(Params::new().on("http://h/x".into()), "http://h/x");
        assert_eq!(quote_plus("1e+16 a/b"), "1e%2B16+a%2Fb");
    }
}
