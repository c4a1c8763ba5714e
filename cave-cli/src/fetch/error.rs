//! Why a fetch failed. Every error that comes from a request names its URL; none carries the
//! token.

use std::fmt;
use std::path::PathBuf;

use cave_schema::snapshot::SnapshotError;

/// Why fetching a datastack, or checking a snapshot against a server, failed.
#[derive(Debug)]
pub enum FetchError {
    /// No connection: refused, unknown host, TLS failure.
    Unreachable {
        /// The URL requested.
        url: String,
        /// What went wrong, with a hint.
        reason: String,
    },
    /// A timeout expired.
    Timeout {
        /// The URL requested.
        url: String,
        /// Which phase timed out.
        phase: String,
    },
    /// The server answered with an error status.
    Status {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The server's message (the `message` of its JSON body, or the body's text).
        message: String,
        /// What to do about it, for auth failures and redirects.
        hint: Option<String>,
    },
    /// The answer is not what the API promises (not JSON, or JSON of another shape).
    Malformed {
        /// The URL requested.
        url: String,
        /// What was expected and what came.
        message: String,
    },
    /// The server's answers do not add up (no materialization server, an unknown version).
    Server {
        /// What is wrong.
        message: String,
    },
    /// A caveclient token file is unreadable.
    TokenFile {
        /// The file.
        file: PathBuf,
        /// What is wrong (never its content).
        message: String,
    },
    /// The existing snapshot does not load, the fetched one does not validate, or writing
    /// failed.
    Snapshot(SnapshotError),
}

impl FetchError {
    /// The error with every text from a server cleaned by `r`: the token replaced, escape
    /// codes and bidi overrides escaped.
    pub(crate) fn cleaned(self, r: &cave_schema::untrusted::Redactor) -> Self {
        let c = |s: String| r.clean(&s);
        match self {
            FetchError::Unreachable { url, reason } => FetchError::Unreachable {
                url: c(url),
                reason: c(reason),
            },
            FetchError::Timeout { url, phase } => FetchError::Timeout {
                url: c(url),
                phase: c(phase),
            },
            FetchError::Status {
                url,
                status,
                message,
                hint,
            } => FetchError::Status {
                url: c(url),
                status,
                message: c(message),
                hint: hint.map(c),
            },
            FetchError::Malformed { url, message } => FetchError::Malformed {
                url: c(url),
                message: c(message),
            },
            FetchError::Server { message } => FetchError::Server {
                message: c(message),
            },
            // Local files: the user's own text.
            other @ (FetchError::TokenFile { .. } | FetchError::Snapshot(_)) => other,
        }
    }

    /// A malformed-answer error.
    pub(crate) fn malformed(url: &str, message: impl Into<String>) -> Self {
        FetchError::Malformed {
            url: url.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Unreachable { url, reason } => write!(f, "GET {url}: {reason}"),
            FetchError::Timeout { url, phase } => write!(f, "GET {url}: timed out {phase}"),
            FetchError::Status {
                url,
                status,
                message,
                hint,
            } => {
                write!(f, "GET {url}: HTTP {status}")?;
                if let Some(reason) = reason_phrase(*status) {
                    write!(f, " {reason}")?;
                }
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
                if let Some(hint) = hint {
                    write!(f, "\nhint: {hint}")?;
                }
                Ok(())
            }
            FetchError::Malformed { url, message } => write!(f, "GET {url}: {message}"),
            FetchError::Server { message } => f.write_str(message),
            FetchError::TokenFile { file, message } => {
                write!(f, "token file {}: {message}", file.display())
            }
            FetchError::Snapshot(e) => e.fmt(f),
        }
    }
}

impl From<cave_schema::token::TokenFileError> for FetchError {
    fn from(e: cave_schema::token::TokenFileError) -> Self {
        FetchError::TokenFile {
            file: e.file,
            message: e.message,
        }
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FetchError::Snapshot(e) => Some(e),
            _ => None,
        }
    }
}

impl From<SnapshotError> for FetchError {
    fn from(e: SnapshotError) -> Self {
        FetchError::Snapshot(e)
    }
}

fn reason_phrase(status: u16) -> Option<&'static str> {
    Some(match status {
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => return None,
    })
}
