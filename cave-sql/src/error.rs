//! What can go wrong before a query is sent.

/// An error of this crate's own (the service's errors are `cave_runtime::Error`s, carried by
/// DataFusion as external errors).
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// The table or view is not in the snapshot.
    #[error("`{0}` is not a table or view of the snapshot")]
    NotInSnapshot(String),
    /// The snapshot does not know the columns of a table (no schema type) or a view.
    #[error("the snapshot does not know the columns of `{0}` (no schema type, or no view schema)")]
    NoColumns(String),
    /// A reference table whose target is not in the snapshot.
    #[error("reference table `{table}` points into `{target}`, which the snapshot does not have")]
    MissingTarget {
        /// The reference table.
        table: String,
        /// Its target.
        target: String,
    },
    /// The service's answer does not fit the snapshot's columns.
    #[error("{table}: {problem}")]
    Answer {
        /// The table or view queried.
        table: String,
        /// What is wrong.
        problem: String,
    },
    /// Writing or reading a Delta Lake export.
    #[error("Delta export: {0}")]
    Export(String),
    /// A DataFusion error while registering the tables.
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
}
