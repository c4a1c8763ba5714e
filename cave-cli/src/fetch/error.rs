//! Why a fetch failed. Every error that comes from a request names its URL; none carries the
//! token (the runtime's client cleans what it returns; text the fetch adds is cleaned here).

use std::fmt;
use std::path::PathBuf;

use cave_schema::SnapshotError;
use cave_wire::untrusted::Redactor;

/// Why fetching a datastack, or checking a snapshot against a server, failed.
#[derive(Debug)]
pub enum FetchError {
    /// A request failed: no connection, a timeout, an error status, an answer that is not
    /// the record it should be (the runtime's error, with URL and status).
    Request {
        /// What the client said (boxed: it is large, and errors are rare).
        error: Box<cave_runtime::Error>,
        /// What to do about it, when the fetch knows more (e.g. `--local-server`).
        hint: Option<String>,
    },
    /// An answer has the right shape but not what a snapshot needs (a version without
    /// `valid`, names that cannot become files, too many types).
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
    pub(crate) fn cleaned(self, r: &Redactor) -> Self {
        let c = |s: String| r.clean(&s);
        match self {
            // The runtime's errors leave its client cleaned.
            FetchError::Request { error, hint } => FetchError::Request {
                error,
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

impl From<cave_runtime::Error> for FetchError {
    fn from(error: cave_runtime::Error) -> Self {
        FetchError::Request {
            error: Box::new(error),
            hint: None,
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Request { error, hint } => {
                error.fmt(f)?;
                match hint {
                    Some(hint) => write!(f, "\nhint: {hint}"),
                    None => Ok(()),
                }
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

impl From<cave_runtime::TokenFileError> for FetchError {
    fn from(e: cave_runtime::TokenFileError) -> Self {
        FetchError::TokenFile {
            file: e.file,
            message: e.message,
        }
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FetchError::Request { error, .. } => Some(error.as_ref()),
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
