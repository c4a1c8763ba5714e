//! What several of these tests share.

use std::path::{Path, PathBuf};

/// The repository's root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A copy of the committed snapshot (`schemas/minnie65_public` and the `schemas/types` it
/// points at) under `root/schemas`; returns the datastack folder.
pub fn copy_snapshot(root: &Path) -> PathBuf {
    let schemas = repo().join("schemas");
    copy_dir(
        &schemas.join("minnie65_public"),
        &root.join("schemas/minnie65_public"),
    );
    copy_dir(&schemas.join("types"), &root.join("schemas/types"));
    root.join("schemas/minnie65_public")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
