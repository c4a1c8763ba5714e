//! Errors: values a user can match, each naming what went wrong and where.

use std::fmt;

/// Why a typed row could not be decoded from a response.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError {
    /// The table being decoded.
    pub table: String,
    /// The column (a position's base name, or its wire column when that is missing).
    pub column: String,
    /// The row, when the problem is in one value.
    pub row: Option<usize>,
    /// What is wrong.
    pub problem: DecodeProblem,
}

/// What is wrong with a column of a response.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DecodeProblem {
    /// The response has no such column.
    Missing {
        /// The wire type the snapshot promises.
        expected: &'static str,
        /// The columns the response has.
        present: Vec<String>,
    },
    /// The column has another Arrow type than the snapshot promises.
    WrongType {
        /// The wire type the snapshot promises.
        expected: &'static str,
        /// The Arrow type found.
        found: String,
    },
    /// A null where the snapshot says a value is always present.
    Null,
    /// A value the Rust type cannot hold.
    OutOfRange(String),
    /// Generated code passed the wrong number of column names (a bug; please report it).
    ColumnNames {
        /// How many the row type has.
        expected: usize,
        /// How many were given.
        found: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = match self.row {
            Some(row) => format!(
                "table `{}`, column `{}`, row {row}",
                self.table, self.column
            ),
            None => format!("table `{}`, column `{}`", self.table, self.column),
        };
        const DRIFT: &str = "the server's table no longer matches the snapshot the code was \
                             generated from; run `cave check` to see the differences \
                             and `cave fetch` to refresh the snapshot";
        match &self.problem {
            DecodeProblem::Missing { expected, present } => write!(
                f,
                "{at}: the response has no such column (expected {expected}; it has: {}); {DRIFT}",
                present.join(", ")
            ),
            DecodeProblem::WrongType { expected, found } => {
                write!(f, "{at}: expected {expected}, found {found}; {DRIFT}")
            }
            DecodeProblem::Null => write!(
                f,
                "{at}: null where the schema says a value is always present; {DRIFT}"
            ),
            DecodeProblem::OutOfRange(what) => write!(f, "{at}: {what} is out of range"),
            DecodeProblem::ColumnNames { expected, found } => write!(
                f,
                "{at}: {found} column names given for a row of {expected} columns (a bug in \
                 generated code; please report it)"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Everything that can go wrong talking to CAVE. Each variant says what went wrong and where
/// (URL, status, table, column, row); none of them ever contains the token.
///
/// `Debug` shows the message, as `Display` does (as anyhow's errors do), so that
/// `fn main() -> Result<(), cave_runtime::Error>` ends with a readable `Error: ...`; `{:#?}`
/// adds the variant's name. Match on the variants for the details.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error status (after any retries).
    #[error("{method} {url}: HTTP {status}: {message}{}", attempts_note(*attempts))]
    Http {
        /// `GET` or `POST`.
        method: &'static str,
        /// The URL asked (never with a token in it).
        url: String,
        /// The status of the last answer.
        status: u16,
        /// The server's message (its JSON `message`, or the start of the body).
        message: String,
        /// How many times the request was sent.
        attempts: u32,
    },
    /// The server refused the token, or wants one (HTTP 400/401/403 from the auth layer).
    #[error("{method} {url}: HTTP {status} {code}: {message}\nhint: {hint}")]
    Auth {
        /// `GET` or `POST`.
        method: &'static str,
        /// The URL asked.
        url: String,
        /// 400, 401 or 403.
        status: u16,
        /// The server's error code: `no_token`, `invalid_token`, `missing_tos`,
        /// `missing_permission`, `bad_auth_header`, `invalid_table_id`, ...
        code: String,
        /// The server's message.
        message: String,
        /// What to do about it (for `missing_tos`, the URL where the terms of service are
        /// accepted).
        hint: String,
    },
    /// The request did not complete: connection refused or reset, a timeout, or a body cut
    /// short (after any retries).
    #[error("{method} {url}: {message}{}", attempts_note(*attempts))]
    Transport {
        /// `GET` or `POST`.
        method: &'static str,
        /// The URL asked.
        url: String,
        /// What failed.
        message: String,
        /// How many times the request was sent.
        attempts: u32,
    },
    /// The server answered 200 with something that is not what the endpoint returns: a wrong
    /// content type, JSON of the wrong shape, an invalid Arrow stream.
    #[error("{url}: unexpected response: {problem}")]
    BadResponse {
        /// The URL asked.
        url: String,
        /// What was expected and what came.
        problem: String,
    },
    /// The server's columns no longer match the snapshot the code was generated from (a
    /// missing column, a wrong type, a null where the schema has none). No rows are returned.
    #[error("{0}")]
    SchemaDrift(DecodeError),
    /// A value of the response could not be decoded into the row type.
    #[error(transparent)]
    Decode(DecodeError),
    /// An argument is not valid (no request was sent).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The client could not be set up (a token file that cannot be read, a bad server URL).
    #[error("client setup: {0}")]
    Config(String),
    /// The server is too old or too different for this client.
    #[error("{0}")]
    Incompatible(String),
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            write!(f, "Error::{}: ", self.variant())?;
        }
        fmt::Display::fmt(self, f)
    }
}

impl Error {
    fn variant(&self) -> &'static str {
        match self {
            Error::Http { .. } => "Http",
            Error::Auth { .. } => "Auth",
            Error::Transport { .. } => "Transport",
            Error::BadResponse { .. } => "BadResponse",
            Error::SchemaDrift(_) => "SchemaDrift",
            Error::Decode(_) => "Decode",
            Error::InvalidArgument(_) => "InvalidArgument",
            Error::Config(_) => "Config",
            Error::Incompatible(_) => "Incompatible",
        }
    }
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        match e.problem {
            DecodeProblem::Missing { .. }
            | DecodeProblem::WrongType { .. }
            | DecodeProblem::Null => Error::SchemaDrift(e),
            _ => Error::Decode(e),
        }
    }
}

impl DecodeError {
    /// The error with server text (column names, types) cleaned by `r`.
    pub(crate) fn cleaned(self, r: &cave_wire::untrusted::Redactor) -> Self {
        let problem = match self.problem {
            DecodeProblem::Missing { expected, present } => DecodeProblem::Missing {
                expected,
                present: present.iter().map(|p| r.clean(p)).collect(),
            },
            DecodeProblem::WrongType { expected, found } => DecodeProblem::WrongType {
                expected,
                found: r.clean(&found),
            },
            DecodeProblem::OutOfRange(what) => DecodeProblem::OutOfRange(r.clean(&what)),
            other => other,
        };
        DecodeError {
            table: r.clean(&self.table),
            column: r.clean(&self.column),
            row: self.row,
            problem,
        }
    }
}

impl Error {
    /// The error with every text in it cleaned by `r`: a token the server echoed replaced,
    /// terminal escape codes and bidi overrides escaped. Every error that leaves the client
    /// has been through this.
    pub(crate) fn cleaned(self, r: &cave_wire::untrusted::Redactor) -> Self {
        let c = |s: String| r.clean(&s);
        match self {
            Error::Http {
                method,
                url,
                status,
                message,
                attempts,
            } => Error::Http {
                method,
                url: c(url),
                status,
                message: c(message),
                attempts,
            },
            Error::Auth {
                method,
                url,
                status,
                code,
                message,
                hint,
            } => Error::Auth {
                method,
                url: c(url),
                status,
                code: c(code),
                message: c(message),
                hint: c(hint),
            },
            Error::Transport {
                method,
                url,
                message,
                attempts,
            } => Error::Transport {
                method,
                url: c(url),
                message: c(message),
                attempts,
            },
            Error::BadResponse { url, problem } => Error::BadResponse {
                url: c(url),
                problem: c(problem),
            },
            Error::SchemaDrift(e) => Error::SchemaDrift(e.cleaned(r)),
            Error::Decode(e) => Error::Decode(e.cleaned(r)),
            Error::InvalidArgument(s) => Error::InvalidArgument(c(s)),
            Error::Config(s) => Error::Config(c(s)),
            Error::Incompatible(s) => Error::Incompatible(c(s)),
        }
    }

    /// The HTTP status of the server's answer, for `Http` and `Auth` errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Http { status, .. } | Error::Auth { status, .. } => Some(*status),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(problem: DecodeProblem) -> Error {
        Error::from(DecodeError {
            table: "synapses_pni_2".into(),
            column: "size".into(),
            row: None,
            problem,
        })
    }

    #[test]
    fn debug_is_the_message_so_main_prints_it_readably() {
        let e = Error::Config("the datastack name is empty".into());
        assert_eq!(
            format!("{e:?}"),
            "client setup: the datastack name is empty"
        );
        assert_eq!(
            format!("{e:#?}"),
            "Error::Config: client setup: the datastack name is empty"
        );
    }

    #[test]
    fn columns_that_no_longer_match_are_schema_drift() {
        let e = error(DecodeProblem::WrongType {
            expected: "float32",
            found: "Utf8".into(),
        });
        assert!(matches!(e, Error::SchemaDrift(_)));
        let text = e.to_string();
        for part in ["synapses_pni_2", "size", "float32", "Utf8", "cave check"] {
            assert!(text.contains(part), "{part} in {text}");
        }
        assert!(matches!(
            error(DecodeProblem::Missing {
                expected: "float32",
                present: vec![]
            }),
            Error::SchemaDrift(_)
        ));
        assert!(matches!(error(DecodeProblem::Null), Error::SchemaDrift(_)));
        assert!(matches!(
            error(DecodeProblem::OutOfRange("-1".into())),
            Error::Decode(_)
        ));
    }

    #[test]
    fn cleaning_reaches_every_text_of_every_error() {
        let token = "0123456789abcdef0123456789abcdef";
        let r = cave_wire::untrusted::Redactor::new(Some(token));
        let dirty = format!("x {token} \u{1b}[2J");
        let drift = DecodeError {
            table: dirty.clone(),
            column: dirty.clone(),
            row: None,
            problem: DecodeProblem::Missing {
                expected: "int64",
                present: vec![dirty.clone()],
            },
        };
        let errors = [
            Error::Http {
                method: "GET",
                url: dirty.clone(),
                status: 500,
                message: dirty.clone(),
                attempts: 1,
            },
            Error::Auth {
                method: "GET",
                url: dirty.clone(),
                status: 401,
                code: dirty.clone(),
                message: dirty.clone(),
                hint: dirty.clone(),
            },
            Error::Transport {
                method: "GET",
                url: dirty.clone(),
                message: dirty.clone(),
                attempts: 1,
            },
            Error::BadResponse {
                url: dirty.clone(),
                problem: dirty.clone(),
            },
            Error::SchemaDrift(drift.clone()),
            Error::Decode(DecodeError {
                problem: DecodeProblem::OutOfRange(dirty.clone()),
                ..drift
            }),
            Error::InvalidArgument(dirty.clone()),
            Error::Config(dirty.clone()),
            Error::Incompatible(dirty.clone()),
        ];
        for e in errors {
            let e = e.cleaned(&r);
            for text in [e.to_string(), format!("{e:?}")] {
                assert!(!text.contains(token), "{text}");
                assert!(!text.contains('\u{1b}'), "{text}");
            }
        }
    }
}
