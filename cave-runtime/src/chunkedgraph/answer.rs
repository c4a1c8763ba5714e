//! Sending a chunkedgraph call through the client's [`Http`] (token, retries, deadlines,
//! limits, redaction, error mapping) and reading its answer: JSON into a `cave_wire`
//! record, raw ids, float timestamps. Every error names the URL; PCG's refusal of an id on a
//! public table gets a hint.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::http::{AnswerBound, Body, Http, Method, Request};

/// What PCG says when a public table refuses an id newer than its release (docs/WIRE.md,
/// "Chunkedgraph": `[401]: root_id not valid at timestamp`).
const NOT_VALID_AT_TIMESTAMP: &str = "not valid at timestamp";

/// A call: where, how, with what.
#[derive(Debug, Clone, Copy)]
pub(super) struct Call<'a> {
    pub url: &'a str,
    pub method: Method,
    pub body: Body<'a>,
    /// `Content-Type` (only `leaves_many` sends one).
    pub content_type: Option<&'static str>,
}

impl<'a> Call<'a> {
    /// GET without a body.
    pub(super) fn get(url: &'a str) -> Self {
        Call {
            url,
            method: Method::Get,
            body: Body::Empty,
            content_type: None,
        }
    }

    /// GET with a JSON body and no content type (caveclient's `session.get(url, data=str)`).
    pub(super) fn get_with(url: &'a str, json: &'a str) -> Self {
        Call {
            url,
            method: Method::Get,
            body: Body::Text(json),
            content_type: None,
        }
    }

    /// POST of JSON text without a content type (caveclient's `session.post(url, data=str)`).
    pub(super) fn post(url: &'a str, json: &'a str) -> Self {
        Call {
            url,
            method: Method::Post,
            body: Body::Text(json),
            content_type: None,
        }
    }

    /// POST of JSON with `Content-Type: application/json`.
    pub(super) fn post_json(url: &'a str, json: &'a str) -> Self {
        Call {
            content_type: Some("application/json"),
            ..Call::post(url, json)
        }
    }

    fn request(self, answer: AnswerBound) -> Request<'a> {
        Request::Call {
            method: self.method,
            body: self.body,
            content_type: self.content_type,
            answer,
        }
    }
}

/// Send `call`, its answer bounded by `answer`; the answer's bytes, or the error (with the
/// public-table hint where it applies).
pub(super) async fn send(
    http: &Http,
    table: &str,
    call: Call<'_>,
    answer: AnswerBound,
) -> Result<bytes::Bytes, Error> {
    match http.send(call.url, call.request(answer), None).await {
        Ok(received) => Ok(received.bytes),
        Err(e) => Err(http.clean_error(public_table_hint(e, table))),
    }
}

/// Send `call` and read its JSON answer as `T`; `what` says what was expected, for errors.
pub(super) async fn json<T: DeserializeOwned>(
    http: &Http,
    table: &str,
    call: Call<'_>,
    what: &str,
) -> Result<T, Error> {
    let bytes = send(http, table, call, AnswerBound::Json).await?;
    read_json(http, call.url, &bytes, what)
}

/// A JSON answer as `T`: not JSON, or JSON of another shape, is `Error::BadResponse` naming
/// the URL and the place (`is_latest[3]`).
pub(super) fn read_json<T: DeserializeOwned>(
    http: &Http,
    url: &str,
    bytes: &[u8],
    what: &str,
) -> Result<T, Error> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        bad(
            http,
            url,
            format!(
                "expected JSON ({what}), got {} ({e})",
                http.redactor().excerpt(bytes, 300)
            ),
        )
    })?;
    http.redactor().redact_json(&mut value);
    cave_wire::from_json(value).map_err(|e| bad(http, url, format!("not {what}: {e}")))
}

/// `Error::BadResponse` for `url`, cleaned.
pub(super) fn bad(http: &Http, url: &str, problem: String) -> Error {
    http.clean_error(Error::BadResponse {
        url: url.to_string(),
        problem,
    })
}

/// One answer per id asked, or `Error::BadResponse` saying how many came.
pub(super) fn one_per_id<T>(
    http: &Http,
    url: &str,
    field: &str,
    values: Vec<T>,
    asked: usize,
    part: &str,
) -> Result<Vec<T>, Error> {
    if values.len() == asked {
        Ok(values)
    } else {
        Err(bad(
            http,
            url,
            format!(
                "`{field}` has {} {} for {asked} ids asked{part}",
                values.len(),
                if values.len() == 1 { "value" } else { "values" }
            ),
        ))
    }
}

/// Float Unix seconds as times; one that no time can hold is `Error::BadResponse` at its
/// place (`timestamp[2]`).
pub(super) fn times(
    http: &Http,
    url: &str,
    field: &str,
    seconds: &[f64],
) -> Result<Vec<DateTime<Utc>>, Error> {
    seconds
        .iter()
        .enumerate()
        .map(|(i, s)| {
            super::time::from_unix_seconds(*s).ok_or_else(|| {
                bad(
                    http,
                    url,
                    format!("at {field}[{i}]: {s} is not a time (Unix seconds)"),
                )
            })
        })
        .collect()
}

/// PCG's 401 for an id that a public table does not know (created after its release), with
/// a hint saying so; other errors as they are.
pub(super) fn public_table_hint(e: Error, table: &str) -> Error {
    match e {
        Error::Http {
            method,
            url,
            status: 401,
            message,
            attempts,
        } if message.contains(NOT_VALID_AT_TIMESTAMP) => Error::Http {
            method,
            url,
            status: 401,
            message: format!(
                "{message}\nhint: the table `{table}` looks like a public release of the \
                 segmentation, which refuses ids created after its release timestamp (and \
                 caps every timestamp at it): use ids that existed at the release, such as \
                 the root ids of its public materialization versions"
            ),
            attempts,
        },
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_tables_refusal_says_what_it_is() {
        let e = Error::Http {
            method: "GET",
            url: "https://h/segmentation/api/v1/table/minnie65_public/node/5/leaves".into(),
            status: 401,
            message: "[401]: root_id not valid at timestamp".into(),
            attempts: 1,
        };
        let text = public_table_hint(e, "minnie65_public").to_string();
        assert!(
            text.contains("HTTP 401: [401]: root_id not valid at timestamp"),
            "{text}"
        );
        assert!(
            text.contains("public release")
                && text.contains("refuses ids created after its release timestamp"),
            "{text}"
        );
        let other = Error::Http {
            method: "GET",
            url: "u".into(),
            status: 401,
            message: "[401]: something else".into(),
            attempts: 1,
        };
        assert!(!public_table_hint(other, "t").to_string().contains("hint"));
    }
}
