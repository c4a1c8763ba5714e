//! Where exports are: a folder or an object-store location holding
//! `<datastack>/v<version>/<table>/<spec>`, listed through object_store, so that a local folder
//! and CAVE's public bucket (`gs://...`, read anonymously) are opened the same way.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::Path as StorePath;
use url::Url;

use crate::error::SqlError;

/// Options of an object store holding exports, by object_store's keys (`google_base_url`,
/// `google_service_account`, `allow_http`, ...).
pub type StoreOptions = std::collections::HashMap<String, String>;

fn failed(what: &str, e: impl std::fmt::Display) -> SqlError {
    SqlError::Export(format!("{what}: {e}"))
}

/// The URL of a folder (made absolute) or of an object-store location (`gs://bucket/path`).
pub(crate) fn location_url(location: &str) -> Result<Url, SqlError> {
    match Url::parse(location) {
        // One letter is a Windows drive, not a scheme.
        Ok(url) if url.scheme().len() > 1 => Ok(url),
        _ => {
            let path = Path::new(location)
                .canonicalize()
                .map_err(|e| failed(&format!("the export {location}"), e))?;
            Url::from_directory_path(&path)
                .map_err(|()| SqlError::Export(format!("{location} is not a folder path")))
        }
    }
}

/// `url` as a user wrote it: a folder's path, or the URL.
pub(crate) fn shown(url: &Url) -> String {
    match url.to_file_path() {
        Ok(path) if url.scheme() == "file" => path.display().to_string(),
        _ => url.to_string(),
    }
}

/// The options `url` is opened with: `given`, and for `gs://` no signature (a public bucket,
/// read anonymously, as CAVE's exports are) unless a credential is given or set in the
/// environment (`GOOGLE_APPLICATION_CREDENTIALS`, `GOOGLE_SERVICE_ACCOUNT*`).
pub(crate) fn store_options(url: &Url, given: &StoreOptions) -> StoreOptions {
    let mut options = given.clone();
    let credential = |k: &str| {
        let k = k.to_ascii_lowercase();
        k.contains("service_account") || k.contains("application_credentials")
    };
    let from_env = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .any(|k| k.starts_with("GOOGLE_") && credential(&k));
    if url.scheme() == "gs" && !from_env && !given.keys().any(|k| credential(k)) {
        options
            .entry("google_skip_signature".into())
            .or_insert_with(|| "true".into());
    }
    options
}

/// The store holding `url`, and `url`'s path in it.
fn store_of(
    url: &Url,
    given: &StoreOptions,
) -> Result<(Arc<dyn ObjectStore>, StorePath), SqlError> {
    let options = store_options(url, given);
    if url.scheme() == "gs" {
        // From the environment too (a credential there is used), which parse_url_opts skips.
        use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
        let mut builder = GoogleCloudStorageBuilder::from_env().with_url(url.as_str());
        for (key, value) in &options {
            let parsed: GoogleConfigKey = key.to_ascii_lowercase().parse().map_err(|_| {
                SqlError::Export(format!(
                    "`{key}` is not an option of Google Cloud Storage (object_store's keys: \
                     google_base_url, google_service_account, allow_http, ...)"
                ))
            })?;
            builder = builder.with_config(parsed, value);
        }
        let store = builder
            .build()
            .map_err(|e| failed(&format!("opening {url}"), e))?;
        let path = StorePath::from_url_path(url.path())
            .map_err(|e| failed(&format!("the path of {url}"), e))?;
        return Ok((Arc::new(store), path));
    }
    let (store, path) = object_store::parse_url_opts(url, options)
        .map_err(|e| failed(&format!("opening {url}"), e))?;
    Ok((Arc::from(store), path))
}

/// The folder `name` in the folder `url` (a URL ending in `/`). A name is one folder's: `.`,
/// `..` or one with a slash is refused, so that no name leads outside the root.
fn below(mut url: Url, name: &str) -> Result<Url, SqlError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) {
        return Err(SqlError::Export(format!(
            "`{name}` is not the name of an export's folder (one path segment, not `.` or `..`)"
        )));
    }
    let shown_url = url.to_string();
    let mut segments = url
        .path_segments_mut()
        .map_err(|()| SqlError::Export(format!("{shown_url} cannot hold folders")))?;
    segments.pop_if_empty().push(name).push("");
    drop(segments);
    Ok(url)
}

/// A folder or an object-store location holding CAVE's exports, laid out as
/// `<root>/<datastack>/v<version>/<table>/<spec>` (CAVE's public bucket names the datastack's
/// folder after its database: `gs://<bucket>/deltalake_exports/minnie65_phase3_v1/v1507/...`
/// for `minnie65_public`'s).
#[derive(Debug, Clone)]
pub struct ExportRoot {
    location: String,
    options: StoreOptions,
}

impl ExportRoot {
    /// The exports at `location`: a folder, or a URL such as `gs://bucket/deltalake_exports`.
    pub fn new(location: impl Into<String>) -> Self {
        Self {
            location: location.into(),
            options: StoreOptions::new(),
        }
    }

    /// The object store's options (`gs://` is read anonymously unless they, or the
    /// environment, give a credential).
    pub fn with_options(mut self, options: StoreOptions) -> Self {
        self.options = options;
        self
    }

    /// The location, as given.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The object store's options, as given.
    pub fn options(&self) -> &StoreOptions {
        &self.options
    }

    /// The location of `<datastack>/v<version>/<parts...>/` under the root.
    fn child(&self, datastack: &str, version: u32, parts: &[&str]) -> Result<Url, SqlError> {
        let mut url = below(location_url(&self.location)?, datastack)?;
        url = below(url, &format!("v{version}"))?;
        for part in parts {
            url = below(url, part)?;
        }
        Ok(url)
    }

    /// The names of the folders directly under `url`, sorted.
    async fn subfolders(&self, url: &Url, what: &str) -> Result<Vec<String>, SqlError> {
        let (store, path) = store_of(url, &self.options)?;
        let listing = store
            .list_with_delimiter(Some(&path))
            .await
            .map_err(|e| failed(&format!("listing {what} in {}", shown(url)), e))?;
        let mut names: Vec<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .collect();
        names.sort();
        Ok(names)
    }

    /// The tables exported under `<datastack>/v<version>/`, by name, sorted; an error if there
    /// is none.
    pub async fn tables(&self, datastack: &str, version: u32) -> Result<Vec<String>, SqlError> {
        let url = self.child(datastack, version, &[])?;
        let tables = self.subfolders(&url, "the exports").await?;
        if tables.is_empty() {
            return Err(SqlError::Export(format!(
                "{} holds no exports (no `<table>/<spec>/_delta_log`)",
                shown(&url)
            )));
        }
        Ok(tables)
    }

    /// The locations of `table`'s exports (each a folder with a `_delta_log`) under
    /// `<datastack>/v<version>/<table>/`, sorted; an error if there is none.
    pub async fn export_folders(
        &self,
        datastack: &str,
        version: u32,
        table: &str,
    ) -> Result<Vec<Url>, SqlError> {
        let dir = self.child(datastack, version, &[table])?;
        let what = format!("the exports of `{table}`");
        let mut folders = Vec::new();
        for spec in self.subfolders(&dir, &what).await? {
            let folder = below(dir.clone(), &spec)?;
            let inside = self.subfolders(&folder, &what).await?;
            if inside.iter().any(|n| n == "_delta_log") {
                folders.push(folder);
            }
        }
        if folders.is_empty() {
            return Err(SqlError::Export(format!(
                "{} holds no Delta table (no `<spec>/_delta_log`)",
                shown(&dir)
            )));
        }
        Ok(folders)
    }
}

impl From<&str> for ExportRoot {
    fn from(location: &str) -> Self {
        Self::new(location)
    }
}

impl From<String> for ExportRoot {
    fn from(location: String) -> Self {
        Self::new(location)
    }
}

impl From<&Path> for ExportRoot {
    fn from(folder: &Path) -> Self {
        Self::new(folder.to_string_lossy())
    }
}

impl From<&PathBuf> for ExportRoot {
    fn from(folder: &PathBuf) -> Self {
        Self::from(folder.as_path())
    }
}

impl From<&ExportRoot> for ExportRoot {
    fn from(root: &ExportRoot) -> Self {
        root.clone()
    }
}
