//! The code `datastack!` generates, written from a build script (see the README): the same
//! generator (`cave-codegen`) as the macro and `cave generate`, so the three give the same
//! types.
//!
//! ```no_run
//! // build.rs
//! cave_build::Builder::new("schemas/minnie65_public")
//!     .version(1300)
//!     .generate()
//!     .unwrap_or_else(|e| panic!("{e}"));
//! ```
//!
//! and in the crate: `mod minnie { include!(concat!(env!("OUT_DIR"), "/minnie65_public.rs")); }`.

use std::fmt;
use std::path::{Path, PathBuf};

use cave_codegen::{CodegenError, Options};
use cave_schema::{Snapshot, SnapshotError};

/// The variable that opts a build into refreshing the snapshot from a server first (its value
/// is the global server's URL). Needs the `refresh` feature; never set it in CI.
pub const REFRESH_ENV: &str = "CAVE_REFRESH_SNAPSHOT";

/// What to generate, and where.
#[derive(Debug, Clone)]
pub struct Builder {
    snapshot: PathBuf,
    options: Options,
    file_name: Option<String>,
}

/// Why the code could not be generated.
#[derive(Debug)]
pub enum BuildError {
    /// The snapshot does not load.
    Snapshot(SnapshotError),
    /// The options do not fit the snapshot (an unknown version or table).
    Codegen(CodegenError),
    /// `OUT_DIR` is not set (not in a build script) and no path was given.
    NoOutDir,
    /// Writing the file failed.
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        error: std::io::Error,
    },
    /// The refresh asked for by [`REFRESH_ENV`] failed, or cannot run.
    Refresh(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Snapshot(e) => write!(f, "cave-build: {e}"),
            BuildError::Codegen(e) => write!(f, "cave-build: {e}"),
            BuildError::NoOutDir => f.write_str(
                "cave-build: OUT_DIR is not set: call `generate` from a build script, or \
                 `write_to(path)`",
            ),
            BuildError::Write { path, error } => {
                write!(f, "cave-build: cannot write {}: {error}", path.display())
            }
            BuildError::Refresh(m) => write!(f, "cave-build: {m}"),
        }
    }
}

impl std::error::Error for BuildError {}

impl Builder {
    /// Generate every typed table of the snapshot folder `dir` (relative to the crate's
    /// `Cargo.toml` in a build script).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Builder {
            snapshot: dir.into(),
            options: Options::default(),
            file_name: None,
        }
    }

    /// Only the tables of materialization version `v`, and queries pinned to it (the macro's
    /// `version = N`).
    pub fn version(mut self, v: u32) -> Self {
        self.options.version = Some(v);
        self
    }

    /// Only these tables, and the tables they reference (the macro's `tables = [..]`).
    pub fn tables<I, S>(mut self, tables: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options.tables = Some(tables.into_iter().map(Into::into).collect());
        self
    }

    /// Where the runtime crate is in the generated paths (default `::cave_runtime`; the
    /// macro's `crate = path`).
    pub fn runtime_path(mut self, path: impl Into<String>) -> Self {
        self.options.runtime = path.into();
        self
    }

    /// The file's name in `OUT_DIR` (default `<datastack>.rs`).
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        self.file_name = Some(name.into());
        self
    }

    /// Write the code to `$OUT_DIR/<file name>` and tell cargo to rerun when a snapshot file
    /// or [`REFRESH_ENV`] changes. Returns the file written.
    pub fn generate(self) -> Result<PathBuf, BuildError> {
        let out_dir = std::env::var_os("OUT_DIR").ok_or(BuildError::NoOutDir)?;
        println!("cargo:rerun-if-env-changed={REFRESH_ENV}");
        self.refresh_if_asked()?;
        let snapshot = self.load()?;
        for file in snapshot_files(&self.snapshot, &snapshot) {
            println!("cargo:rerun-if-changed={}", file.display());
        }
        let name = self
            .file_name
            .clone()
            .unwrap_or_else(|| format!("{}.rs", snapshot.manifest.datastack));
        let path = Path::new(&out_dir).join(name);
        self.write(&snapshot, &path)?;
        Ok(path)
    }

    /// Write the code to `path` (outside a build script; no refresh, no cargo lines).
    pub fn write_to(self, path: impl AsRef<Path>) -> Result<(), BuildError> {
        let snapshot = self.load()?;
        self.write(&snapshot, path.as_ref())
    }

    fn load(&self) -> Result<Snapshot, BuildError> {
        Snapshot::load(&self.snapshot).map_err(BuildError::Snapshot)
    }

    fn write(&self, snapshot: &Snapshot, path: &Path) -> Result<(), BuildError> {
        let source =
            cave_codegen::generate_source(snapshot, &self.options).map_err(BuildError::Codegen)?;
        // Unchanged code is not rewritten, so that what includes it is not rebuilt.
        if std::fs::read_to_string(path).is_ok_and(|old| old == source) {
            return Ok(());
        }
        std::fs::write(path, source).map_err(|error| BuildError::Write {
            path: path.to_path_buf(),
            error,
        })
    }

    fn refresh_if_asked(&self) -> Result<(), BuildError> {
        match std::env::var(REFRESH_ENV) {
            Ok(server) if !server.trim().is_empty() => self.refresh_from(server.trim(), None),
            _ => Ok(()),
        }
    }

    /// Fetch the snapshot's datastack from the global server `server` into the snapshot
    /// folder now (what [`REFRESH_ENV`] asks [`Builder::generate`] to do first), sending
    /// `token`, or else the one in `CAVE_TOKEN` or caveclient's token files. Needs the
    /// `refresh` feature.
    #[cfg(feature = "refresh")]
    pub fn refresh_from(&self, server: &str, token: Option<&str>) -> Result<(), BuildError> {
        use cave_cli::fetch::{FetchConfig, Progress, fetch_snapshot, find_token};
        let datastack = self.load()?.manifest.datastack;
        let mut config = FetchConfig::new(server, &datastack);
        let home = std::env::home_dir();
        config.token = find_token(
            token,
            std::env::var(cave_cli::fetch::TOKEN_ENV).ok().as_deref(),
            home.as_deref(),
            server,
        )
        .map_err(|e| BuildError::Refresh(e.to_string()))?;
        let outcome = fetch_snapshot(&config, &self.snapshot, &mut Progress::silent())
            .map_err(|e| BuildError::Refresh(format!("{REFRESH_ENV}={server}: {e}")))?;
        println!(
            "cargo:warning={REFRESH_ENV}: {} refreshed from {server} ({})",
            self.snapshot.display(),
            if outcome.changed {
                "changed"
            } else {
                "unchanged"
            }
        );
        Ok(())
    }

    /// Without the `refresh` feature: an error saying how to enable it.
    #[cfg(not(feature = "refresh"))]
    pub fn refresh_from(&self, server: &str, _token: Option<&str>) -> Result<(), BuildError> {
        Err(BuildError::Refresh(format!(
            "{REFRESH_ENV}={server} asks for a refresh of {} from the server, but cave-build \
             was built without its `refresh` feature; add `features = [\"refresh\"]` to its \
             build-dependency, or unset {REFRESH_ENV}",
            self.snapshot.display()
        )))
    }
}

/// The files the code depends on: the snapshot's own and its schema types.
fn snapshot_files(dir: &Path, snapshot: &Snapshot) -> Vec<PathBuf> {
    // `views.json` may be missing (a snapshot without views).
    let mut files: Vec<PathBuf> = cave_schema::snapshot::FILES
        .iter()
        .map(|f| dir.join(f))
        .filter(|f| f.is_file())
        .collect();
    let types = dir.join(&snapshot.manifest.types_dir);
    files.extend(
        snapshot
            .types
            .names()
            .map(|name| types.join(format!("{name}.json"))),
    );
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn writes_the_generators_code_and_keeps_an_unchanged_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("minnie.rs");
        let dir = repo().join("schemas/minnie65_public");
        Builder::new(&dir)
            .version(1300)
            .tables(["proofreading_status_and_strategy"])
            .write_to(&path)
            .unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        let options = Options {
            version: Some(1300),
            tables: Some(vec!["proofreading_status_and_strategy".into()]),
            ..Options::default()
        };
        let snapshot = Snapshot::load(&dir).unwrap();
        assert_eq!(
            written,
            cave_codegen::generate_source(&snapshot, &options).unwrap()
        );
        assert!(written.contains("pub struct ProofreadingStatusAndStrategy"));
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        Builder::new(&dir)
            .version(1300)
            .tables(["proofreading_status_and_strategy"])
            .write_to(&path)
            .unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            modified
        );
    }

    /// Only without the feature (`cargo test -p cave-build`; the workspace's tests turn it on
    /// and test the refresh against the devserver).
    #[cfg(not(feature = "refresh"))]
    #[test]
    fn a_refresh_without_the_feature_says_how_to_turn_it_on() {
        let e = Builder::new("schemas/x")
            .refresh_from("https://global.daf-apis.com", None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("CAVE_REFRESH_SNAPSHOT=https://global.daf-apis.com")
                && e.contains("features = [\"refresh\"]"),
            "{e}"
        );
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let tmp = tempfile::tempdir().unwrap();
        let e = Builder::new(repo().join("schemas/minnie65_public"))
            .version(1)
            .write_to(tmp.path().join("x.rs"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no materialization version 1"), "{e}");
        let e = Builder::new(tmp.path().join("missing"))
            .write_to(tmp.path().join("x.rs"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("cave-build: "), "{e}");
    }
}
