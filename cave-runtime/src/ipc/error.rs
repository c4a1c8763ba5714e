//! The reader's error: what is wrong, and where in the stream (record batch, column, buffer).
//!
//! The place is kept apart from the problem so that each layer adds what it knows (a column
//! reader its column, the batch reader the batch's number) without formatting; the text is
//! made once, when the error leaves the reader: as `Error::BadResponse` ([`IpcError::at`]),
//! or as the message of the public `BodyBatches` and `read_stream`.

use std::fmt;

/// An answer's Arrow stream could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IpcError {
    place: Place,
    problem: String,
}

/// Where in the stream a problem is. Empty for the stream as a whole (framing, schema).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Place {
    /// The record batch, counted from 0.
    batch: Option<usize>,
    /// The column's name.
    column: Option<String>,
    /// The buffer of the column (named only with its column).
    buffer: Option<Part>,
}

/// A buffer of a column, as an error names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// The k-th buffer the batch lists for the column.
    Numbered(usize),
    /// The validity bits.
    Validity,
    /// Fixed-width values or boolean bits.
    Values,
    /// String or binary offsets.
    Offsets,
    /// String or binary bytes.
    StringBytes,
}

impl IpcError {
    /// A problem of the stream as a whole; [`IpcError::in_batch`] and the like say where.
    pub(crate) fn new(problem: impl Into<String>) -> Self {
        IpcError {
            place: Place::default(),
            problem: problem.into(),
        }
    }

    /// The problem is in record batch `n` (counted from 0).
    pub(crate) fn in_batch(mut self, n: usize) -> Self {
        self.place.batch.get_or_insert(n);
        self
    }

    /// The problem is in the column `name`.
    pub(crate) fn in_column(mut self, name: &str) -> Self {
        self.place.column.get_or_insert_with(|| name.to_string());
        self
    }

    /// The problem is in a buffer of the column.
    pub(crate) fn in_buffer(mut self, buffer: Part) -> Self {
        self.place.buffer.get_or_insert(buffer);
        self
    }

    /// The error as the client reports it: the answer from `url` is not what was expected.
    pub(crate) fn at(self, url: &str) -> crate::error::Error {
        crate::error::Error::BadResponse {
            url: url.to_string(),
            problem: self.to_string(),
        }
    }
}

impl From<String> for IpcError {
    fn from(problem: String) -> Self {
        IpcError::new(problem)
    }
}

impl From<&str> for IpcError {
    fn from(problem: &str) -> Self {
        IpcError::new(problem)
    }
}

impl fmt::Display for IpcError {
    /// `record batch 2: column `id`, values: the buffer ends ...`: the place, outside in, then
    /// the problem.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Place {
            batch,
            column,
            buffer,
        } = &self.place;
        if let Some(n) = batch {
            write!(f, "record batch {n}: ")?;
        }
        if let Some(name) = column {
            write!(f, "column `{name}`")?;
            match buffer {
                None => write!(f, ": ")?,
                Some(Part::Numbered(k)) => write!(f, ": buffer {k}: ")?,
                Some(Part::Offsets) => write!(f, ": offsets: ")?,
                Some(Part::Validity) => write!(f, ", validity: ")?,
                Some(Part::Values) => write!(f, ", values: ")?,
                Some(Part::StringBytes) => write!(f, ", string bytes: ")?,
            }
        }
        f.write_str(&self.problem)
    }
}

impl std::error::Error for IpcError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_place_reads_outside_in_whatever_order_it_was_added() {
        let e = IpcError::new("the buffer ends")
            .in_buffer(Part::Values)
            .in_column("id")
            .in_batch(2);
        assert_eq!(
            e.to_string(),
            "record batch 2: column `id`, values: the buffer ends"
        );
        let e = IpcError::new("zstd: x")
            .in_buffer(Part::Numbered(1))
            .in_column("s");
        assert_eq!(e.to_string(), "column `s`: buffer 1: zstd: x");
        let e = IpcError::new("go backwards").in_column("s").in_batch(0);
        assert_eq!(e.to_string(), "record batch 0: column `s`: go backwards");
        // The innermost place wins: a layer further out does not rename it.
        let e = IpcError::new("x").in_column("a").in_column("b");
        assert_eq!(e.to_string(), "column `a`: x");
        assert_eq!(IpcError::new("cut").to_string(), "cut");
        match IpcError::new("cut").at("u") {
            crate::Error::BadResponse { url, problem } => {
                assert_eq!((url, problem), ("u".into(), "cut".into()))
            }
            other => panic!("{other:?}"),
        }
    }
}
