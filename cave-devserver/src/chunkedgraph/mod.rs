//! The chunkedgraph the devserver serves: the edit history behind the sample's root ids
//! ([`history`]), and the answers of PyChunkedGraph's calls over it (docs/WIRE.md,
//! "Chunkedgraph").

pub mod answers;
pub mod history;

#[cfg(test)]
mod tests;

pub use answers::{Graph, Refusal};
pub use history::{History, Operation, Root, RootIx};
