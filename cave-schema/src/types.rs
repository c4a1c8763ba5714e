//! A folder of schema types (`schemas/types/<schema_type>.json`), or a `types_all` file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::canonical_json;
use crate::error::{SnapshotError, read_file};
use crate::parse::{SchemaError, parse_json, parse_schema_type, types_all_documents};
use crate::schema::SchemaType;

/// The schema types of a snapshot, each with the service's document it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeSet {
    types: BTreeMap<String, TypeDoc>,
}

/// One schema type and the document it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeDoc {
    /// The parsed type.
    pub schema: SchemaType,
    /// The service's document, kept whole so that writing it back loses nothing.
    pub document: Value,
}

impl TypeSet {
    /// Build a set from parsed documents (`(type name, document)`), e.g. from a fetch.
    pub fn from_documents(
        docs: impl IntoIterator<Item = (String, Value)>,
        source: &str,
    ) -> Result<Self, SchemaError> {
        let mut types = BTreeMap::new();
        for (name, document) in docs {
            let schema = parse_schema_type(&name, &document, source)?;
            types.insert(name, TypeDoc { schema, document });
        }
        Ok(TypeSet { types })
    }

    /// Load every `*.json` in `path` (one document per file, named after its type), or, when
    /// `path` is a file, a `types_all` response (`{type: document}`).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, SnapshotError> {
        let path = crate::commit::view(path.as_ref(), &crate::commit::parent(path.as_ref()));
        let path = path.as_path();
        if path.is_file() {
            let text = read_file(path)?;
            let source = path.display().to_string();
            return Ok(TypeSet::from_documents(
                types_all_documents(&text, &source)?,
                &source,
            )?);
        }
        let entries = std::fs::read_dir(path).map_err(|source| SnapshotError::Io {
            file: path.to_path_buf(),
            action: "list the schema types folder",
            source,
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        let mut types = BTreeMap::new();
        for file in files {
            let Some(name) = file
                .file_stem()
                .and_then(|s| s.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            let text = read_file(&file)?;
            let source = file.display().to_string();
            let document = parse_json(&name, &text, &source)?;
            let schema = parse_schema_type(&name, &document, &source)?;
            types.insert(name, TypeDoc { schema, document });
        }
        if types.is_empty() {
            return Err(SnapshotError::invalid(
                path,
                "$",
                "expected a folder of `<schema_type>.json` files, found none".to_string(),
            ));
        }
        Ok(TypeSet { types })
    }

    /// The type called `name`.
    pub fn get(&self, name: &str) -> Option<&SchemaType> {
        self.types.get(name).map(|t| &t.schema)
    }

    /// The type and its document.
    pub fn get_doc(&self, name: &str) -> Option<&TypeDoc> {
        self.types.get(name)
    }

    /// All types, by name.
    pub fn iter(&self) -> impl Iterator<Item = &SchemaType> {
        self.types.values().map(|t| &t.schema)
    }

    /// All type names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.types.keys().map(String::as_str)
    }

    /// How many types there are.
    pub fn len(&self) -> usize {
        self.types.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    /// The files of the folder form: `<type>.json` → canonical document text.
    pub fn render(&self) -> BTreeMap<String, String> {
        self.types
            .iter()
            .map(|(name, t)| {
                (
                    format!("{name}.json"),
                    canonical_json::to_string(&t.document),
                )
            })
            .collect()
    }

    /// Write the folder form into `dir` (created if missing), touching only files whose content
    /// changes, all or none of them ([`crate::commit`]). Returns the files written. A type whose
    /// name is not fit for a file name (a path, `..`) is an error, and nothing is written.
    pub fn write(&self, dir: impl AsRef<Path>) -> Result<Vec<PathBuf>, SnapshotError> {
        crate::commit::write_folders(&[(dir.as_ref().to_path_buf(), self.files()?)])
    }

    /// The files of the folder form, names checked.
    pub(crate) fn files(&self) -> Result<BTreeMap<String, String>, SnapshotError> {
        for name in self.types.keys() {
            cave_wire::untrusted::check_file_name(name).map_err(|e| {
                SnapshotError::invalid(
                    std::path::Path::new(name),
                    "$",
                    format!("schema type {e}; no file was written"),
                )
            })?;
        }
        Ok(self.render())
    }
}
