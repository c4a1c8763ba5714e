//! What generated code and users call to query CAVE (issue 5): the client, request bodies,
//! Arrow IPC decoding into typed rows, errors, retries and paging. It builds on the schema model
//! of [`cave_schema`].

pub use cave_schema;
