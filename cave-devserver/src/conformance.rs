//! What conformance tests against the real Python caveclient share.

use std::path::PathBuf;

/// The Python interpreter with caveclient 8.2.1 that conformance tests run: `$CAVE_CAVECLIENT_PYTHON`
/// (`.ci/run` makes a venv and sets it). `None` means skip the test, unless
/// `$CAVE_REQUIRE_CAVECLIENT` is set (as in CI): then a missing interpreter is a failure, so
/// the comparison can never be skipped silently there.
pub fn caveclient_python() -> Option<PathBuf> {
    match std::env::var_os("CAVE_CAVECLIENT_PYTHON") {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var_os("CAVE_REQUIRE_CAVECLIENT").is_some() => {
            panic!("CAVE_REQUIRE_CAVECLIENT is set but CAVE_CAVECLIENT_PYTHON is not")
        }
        None => None,
    }
}
