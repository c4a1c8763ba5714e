//! Deterministic sample data for `minnie65_public` (issue 3, "Sample data").

use cave_schema::Snapshot;

use crate::store::{BuildError, Dataset};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SampleConfig {
    /// Seed of every random choice: the same seed gives the same bytes.
    pub seed: u64,
    /// Rows of `synapses_pni_2` per version.
    pub synapses: usize,
    /// The versions that get data.
    pub versions: Vec<u32>,
}

impl Default for SampleConfig {
    fn default() -> Self {
        SampleConfig {
            seed: 1300,
            synapses: 300_000,
            versions: vec![1181, 1300],
        }
    }
}

/// Generate the sample data.
pub fn generate(snapshot: &Snapshot, config: &SampleConfig) -> Result<Dataset, BuildError> {
    let _ = (snapshot, config);
    Ok(Dataset::default())
}
