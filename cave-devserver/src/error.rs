//! Errors shaped as the real services send them (docs/WIRE.md: "Auth answers", "Server errors").

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Where the realm of `WWW-Authenticate` points (the real auth service's authorize URL).
const AUTH_REALM: &str = "https://global.daf-apis.com/auth/api/v1/authorize";

/// An error response of one of the services.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// Anything raised inside a materialization resource: flask-restx turns it into HTTP 500
    /// `{"code": 500, "message": ..., "traceback": [...]}` (docs/WIRE.md, "Server errors").
    Wrapped(String),
    /// A request body that fails validation: HTTP 500 `{"schema_errors": {...}}`.
    SchemaErrors(Value),
    /// A handler that returns `(body, status)` itself, e.g. 404 `"No version found"`.
    Returned(StatusCode, Value),
    /// No token on a protected route: 401 `no_token`.
    NoToken,
    /// A token other than the one the server was started to accept: 401 `invalid_token`.
    InvalidToken,
    /// An `Authorization` header that is not `Bearer ...`: 400 `bad_auth_header`.
    BadAuthHeader,
    /// A datastack the info service does not know: 400 `invalid_table_id`.
    UnknownDatastack(String),
}

impl ApiError {
    /// The wrapped 500 of a werkzeug `abort(404, msg)` inside a resource.
    pub fn not_found(message: impl std::fmt::Display) -> Self {
        ApiError::Wrapped(format!("404 Not Found: {message}"))
    }

    /// The wrapped 500 of a werkzeug `abort(400, msg)` inside a resource.
    pub fn bad_request(message: impl std::fmt::Display) -> Self {
        ApiError::Wrapped(format!("400 Bad Request: {message}"))
    }

    /// A `schema_errors` body with one message for one field.
    pub fn schema_error(field: &str, message: &str) -> Self {
        ApiError::SchemaErrors(json!({ field: [message] }))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body, www) = match self {
            ApiError::Wrapped(message) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({
                    "code": 500,
                    "message": message,
                    "traceback": [
                        "Traceback (most recent call last):",
                        "  (cave-devserver reproduces the server's error shape; there is no Python traceback)",
                    ],
                }),
                None,
            ),
            ApiError::SchemaErrors(errors) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "schema_errors": errors }),
                None,
            ),
            ApiError::Returned(status, body) => (status, body, None),
            ApiError::NoToken => (
                StatusCode::UNAUTHORIZED,
                json!({"error": "no_token", "message": "Unauthorized - No Token Provided"}),
                Some(format!("Bearer realm=\"{AUTH_REALM}\"")),
            ),
            ApiError::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                json!({"error": "invalid_token", "message": "Unauthorized - Token is Invalid or Expired"}),
                Some(format!(
                    "Bearer realm=\"{AUTH_REALM}\", error=\"invalid_token\", error_description=\"Invalid/Expired Token\""
                )),
            ),
            ApiError::BadAuthHeader => (
                StatusCode::BAD_REQUEST,
                json!({"error": "bad_auth_header", "message": "Authorization header must begin with 'Bearer'"}),
                Some(format!(
                    "Bearer realm=\"{AUTH_REALM}\", error=\"invalid_request\", error_description=\"Header must begin with 'Bearer'\""
                )),
            ),
            ApiError::UnknownDatastack(ds) => (
                StatusCode::BAD_REQUEST,
                json!({
                    "error": "invalid_table_id",
                    "message": "Invalid table_id for service",
                    "data": {"table_id": ds, "resource_namespace": "datastack"},
                }),
                None,
            ),
        };
        let mut response = json_response(status, &body);
        if let Some(www) = www.and_then(|w| HeaderValue::from_str(&w).ok()) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, www);
        }
        response
    }
}

/// A JSON response as flask's `jsonify` writes it (sorted keys, trailing newline).
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut text = serde_json::to_string(&sorted(body)).unwrap_or_else(|_| "null".into());
    text.push('\n');
    let mut response = (status, text).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `value` with every object's keys in sorted order, whatever serde_json's features are.
pub fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}
