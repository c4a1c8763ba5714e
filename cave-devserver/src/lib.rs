//! A local CAVE-compatible server (issue 3) over deterministic `minnie65_public` sample data,
//! serving the committed snapshot's schemas and metadata, for tests, benchmarks and examples.
