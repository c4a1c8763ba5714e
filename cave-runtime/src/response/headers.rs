//! What an answer's headers say: its content type (an Arrow stream, or an error page), the
//! server's `Warning` lines (table owner notices, the row cap), and the resolution of its
//! positions (`dataframe_resolution`).

use cave_wire::untrusted::Redactor;
use reqwest::header::HeaderMap;

/// Warnings kept per answer (a server could send thousands of header lines).
const MAX_WARNINGS: usize = 32;

/// The content type the materialization service sends Arrow streams with (literally).
pub const ARROW_CONTENT_TYPE: &str = "data.arrow";

/// The answer is an Arrow stream, else the problem, with an excerpt of `body` (an error page,
/// say) cleaned by `redactor`.
pub(super) fn check_content_type(
    headers: &HeaderMap,
    body: &[u8],
    redactor: &Redactor,
) -> Result<(), String> {
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type == ARROW_CONTENT_TYPE {
        return Ok(());
    }
    Err(format!(
        "expected an Arrow stream (Content-Type: {ARROW_CONTENT_TYPE}), got Content-Type `{content_type}` with {}",
        redactor.excerpt(body, 300)
    ))
}

/// The first [`MAX_WARNINGS`] warnings, cleaned, and whether any line (kept or not) says the
/// rows were capped.
pub(super) fn kept_warnings(headers: &HeaderMap, redactor: &Redactor) -> (Vec<String>, bool) {
    let all = warnings(headers);
    let capped = all.iter().any(|w| is_cap_warning(w));
    let kept = all
        .iter()
        .take(MAX_WARNINGS)
        .map(|w| redactor.clean(w))
        .collect();
    (kept, capped)
}

/// Every `Warning` header line (a proxy may have joined them with `, `; they are kept as sent).
fn warnings(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(reqwest::header::WARNING)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

/// Whether a warning says the rows stopped at a limit: `201 - "Limited query to N rows` for
/// materialized queries, `result has N entries, which is equal or more than limit of L` for
/// live ones (docs/WIRE.md: "Row cap and paging", "Live queries").
pub(crate) fn is_cap_warning(warning: &str) -> bool {
    warning.contains("Limited query to") || warning.contains("which is equal or more")
}

/// The limit a cap warning names: `N` of `Limited query to N rows`, `L` of `... than limit
/// of L`.
pub(crate) fn cap_limit(warning: &str) -> Option<u64> {
    let number = |rest: &str| -> Option<u64> {
        let digits: String = rest
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    if let Some((_, rest)) = warning.split_once("Limited query to") {
        return number(rest);
    }
    if warning.contains("which is equal or more") {
        return number(warning.rsplit_once("limit of")?.1);
    }
    None
}

/// Whether a warning is a table owner's notice.
pub(crate) fn is_notice(warning: &str) -> bool {
    warning.starts_with("Table Owner Notice")
}

/// `dataframe_resolution`: one header line per axis, or one line `4.0, 4.0, 40.0`.
pub(super) fn resolution(headers: &HeaderMap) -> Result<Option<[f64; 3]>, String> {
    let values: Vec<&str> = headers
        .get_all("dataframe_resolution")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty() {
        return Ok(None);
    }
    let parsed: Result<Vec<f64>, _> = values.iter().map(|v| v.parse::<f64>()).collect();
    // Resolutions are kept as f32 (positions' `Resolution`): a value beyond f32 would be inf.
    let fits = |v: &f64| v.is_finite() && *v > 0.0 && (*v as f32).is_finite() && *v as f32 > 0.0;
    match parsed.as_deref() {
        Ok([x, y, z]) if [x, y, z].into_iter().all(fits) => Ok(Some([*x, *y, *z])),
        _ => Err(format!(
            "the dataframe_resolution header is `{}`, not three positive numbers of a size an \
             f32 holds",
            values.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn resolution_from_lines_or_one_joined_line() {
        let mut h = HeaderMap::new();
        for v in ["4.0", "4.0", "40.0"] {
            h.append("dataframe_resolution", HeaderValue::from_static(v));
        }
        assert_eq!(resolution(&h), Ok(Some([4.0, 4.0, 40.0])));
        let mut h = HeaderMap::new();
        h.insert("dataframe_resolution", HeaderValue::from_static("1, 1, 1"));
        assert_eq!(resolution(&h), Ok(Some([1.0, 1.0, 1.0])));
        h.insert("dataframe_resolution", HeaderValue::from_static("1, x, 1"));
        assert!(resolution(&h).unwrap_err().contains("`1, x, 1`"));
        // Beyond f32: inf once stored, so refused; as is a value that rounds to 0.
        for beyond in ["1e300, 4, 40", "4, 1e-300, 40", "4, 4, 3.5e38"] {
            h.insert(
                "dataframe_resolution",
                HeaderValue::from_str(beyond).unwrap(),
            );
            assert!(resolution(&h).is_err(), "{beyond}");
        }
        assert_eq!(resolution(&HeaderMap::new()), Ok(None));
    }

    #[test]
    fn warnings_are_bounded_and_cleaned_but_a_late_cap_warning_counts() {
        let token = "0123456789abcdef0123456789abcdef";
        let mut h = HeaderMap::new();
        for i in 0..40 {
            h.append(
                reqwest::header::WARNING,
                HeaderValue::from_str(&format!("299 - \"note {i} {token}\"")).unwrap(),
            );
        }
        h.append(
            reqwest::header::WARNING,
            HeaderValue::from_static("201 - \"Limited query to 1000 rows"),
        );
        let (kept, capped) = kept_warnings(&h, &Redactor::new(Some(token)));
        assert!(capped);
        assert_eq!(kept.len(), MAX_WARNINGS);
        assert!(
            kept.iter()
                .all(|w| w.contains("<token>") && !w.contains(token))
        );
    }

    #[test]
    fn cap_warnings() {
        assert!(is_cap_warning("201 - \"Limited query to 200000 rows"));
        assert!(is_cap_warning(
            "result has 5 entries, which is equal or more         than limit of 5 there may be more results which are not shown"
        ));
        assert!(!is_cap_warning("Table Owner Notice on t: careful"));
    }

    #[test]
    fn the_limit_of_a_cap_warning() {
        assert_eq!(
            cap_limit("201 - \"Limited query to 500000 rows"),
            Some(500_000)
        );
        assert_eq!(
            cap_limit(
                "result has 5 entries, which is equal or more         than limit of 7 there may be more"
            ),
            Some(7)
        );
        assert_eq!(cap_limit("201 - \"Limited query to many rows"), None);
        assert_eq!(cap_limit("Table Owner Notice on t: limit of 3"), None);
    }
}
