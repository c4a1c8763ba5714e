//! Cross-crate tests of the toolkit live in `tests/tests/`; this library is empty.
