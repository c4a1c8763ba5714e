//! Query bodies, their evaluation over the sample tables, and the response encodings.

pub mod batch_message;
pub mod body;
pub mod encode;
pub mod engine;
pub mod filter;
