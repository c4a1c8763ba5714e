//! Why a snapshot could not be loaded or written, and reading its files: below `snapshot`,
//! `types` and `commit`, which all report these errors.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::parse::SchemaError;

/// Why a snapshot could not be loaded or written.
#[derive(Debug)]
pub enum SnapshotError {
    /// A file could not be read or written.
    Io {
        /// The file or folder.
        file: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file is not what the format expects.
    Invalid {
        /// The file.
        file: PathBuf,
        /// The JSON path inside it, e.g. `$.versions[3].tables[2]`.
        path: String,
        /// What was expected, and what was found.
        message: String,
    },
    /// A schema type document does not parse.
    Schema(SchemaError),
}

impl SnapshotError {
    pub(crate) fn invalid(file: &Path, path: impl Into<String>, message: String) -> Self {
        SnapshotError::Invalid {
            file: file.to_path_buf(),
            path: path.into(),
            message,
        }
    }
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::Io {
                file,
                action,
                source,
            } => write!(f, "{}: cannot {action}: {source}", file.display()),
            SnapshotError::Invalid {
                file,
                path,
                message,
            } => write!(f, "{}: at {path}: {message}", file.display()),
            SnapshotError::Schema(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SnapshotError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SnapshotError::Io { source, .. } => Some(source),
            SnapshotError::Schema(e) => Some(e),
            SnapshotError::Invalid { .. } => None,
        }
    }
}

impl From<SchemaError> for SnapshotError {
    fn from(e: SchemaError) -> Self {
        SnapshotError::Schema(e)
    }
}

/// Read a file as UTF-8 text.
pub(crate) fn read_file(path: &Path) -> Result<String, SnapshotError> {
    std::fs::read_to_string(path).map_err(|source| SnapshotError::Io {
        file: path.to_path_buf(),
        action: "read the file",
        source,
    })
}
