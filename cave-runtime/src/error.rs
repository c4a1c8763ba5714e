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
                             generated from; run `cave-schema check` to see the differences \
                             and `cave-schema fetch` to refresh the snapshot";
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

/// Everything that can go wrong running a query.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The response could not be decoded into the row type.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// An argument is not valid (no request was sent).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The operation is not available in this build.
    #[error("not available: {0}")]
    Unavailable(String),
}
