//! Writing a snapshot all at once: after a crash, a kill or a full disk at any moment, a reader
//! sees either the whole old snapshot or the whole new one, never a mix or a torn file.
//!
//! A snapshot is two folders (the datastack's and the shared schema types'), so one rename
//! cannot swap it. Instead:
//! 1. every folder that changes is written whole into a staging folder beside it
//!    (`.<name>.cave-new`: unchanged files copied, changed ones written), each file and the
//!    folder synced to disk;
//! 2. a journal naming the moves is written beside the datastack folder
//!    (`.cave-schema-commit.json`, through a temporary file renamed into place and synced):
//!    this rename is the commit;
//! 3. each folder is moved aside (`.<name>.cave-old`) and its staging folder renamed into its
//!    place; then the journal and the old folders are removed.
//!
//! Readers ([`Snapshot::load`](crate::Snapshot::load), [`TypeSet::load`](crate::TypeSet::load))
//! honour the journal: while it exists, a folder whose staging folder is still there is read
//! from it. The next write (any `cave-schema` command that writes, or a fetch) finishes an
//! interrupted commit first, or, without a journal, throws away what an uncommitted one left.
//! One writer at a time is assumed.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::SnapshotError;

/// The journal's file name, in the folder holding the datastack folder.
pub const JOURNAL: &str = ".cave-schema-commit.json";

/// A test hook: with `CAVE_SCHEMA_TEST_CRASH_AFTER=N`, the process aborts (as a kill would end
/// it) before the file-system step after the N-th of a commit, so that tests can stop a
/// commit at every step.
pub const CRASH_AFTER_ENV: &str = "CAVE_SCHEMA_TEST_CRASH_AFTER";

/// One folder's new content: file name → text. Files of the folder not named are kept.
pub type FolderFiles = (PathBuf, BTreeMap<String, String>);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Journal {
    /// The folders to put in place, in order.
    moves: Vec<Move>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Move {
    /// The staging folder (relative to the journal's folder, or absolute).
    staged: PathBuf,
    /// The folder it replaces.
    target: PathBuf,
    /// Where the folder it replaces goes meanwhile.
    old: PathBuf,
}

/// Write `folders` as one commit (the first folder's parent holds the journal), touching no
/// file when nothing changes. Returns the files whose content changed.
pub fn write_folders(folders: &[FolderFiles]) -> Result<Vec<PathBuf>, SnapshotError> {
    let Some((first, _)) = folders.first() else {
        return Ok(Vec::new());
    };
    let journal_dir = parent(first);
    recover(&journal_dir)?;
    let mut written = Vec::new();
    let mut changing = Vec::new();
    for (dir, files) in folders {
        let mut changed = false;
        for (name, text) in files {
            check_plain_name(dir, name)?;
            if std::fs::read(dir.join(name)).is_ok_and(|old| old == text.as_bytes()) {
                continue;
            }
            written.push(dir.join(name));
            changed = true;
        }
        if changed {
            changing.push((dir, files));
        }
    }
    if changing.is_empty() {
        return Ok(written);
    }
    let mut moves = Vec::new();
    for (dir, files) in changing {
        let staged = sibling(dir, "cave-new");
        moves.push(Move {
            staged: relative_to(&journal_dir, &staged),
            target: relative_to(&journal_dir, &normalize(dir)),
            old: relative_to(&journal_dir, &sibling(dir, "cave-old")),
        });
        if let Err(e) = stage(dir, &staged, files) {
            // Not committed: the snapshot is the old one; leave nothing behind.
            for m in &moves {
                let _ = std::fs::remove_dir_all(journal_dir.join(&m.staged));
            }
            return Err(e);
        }
    }
    let journal = Journal { moves };
    if let Err(e) = write_journal(&journal_dir, &journal) {
        for m in &journal.moves {
            let _ = std::fs::remove_dir_all(journal_dir.join(&m.staged));
        }
        return Err(e);
    }
    apply(&journal_dir, &journal).map_err(|e| match e {
        SnapshotError::Io {
            file,
            action,
            source,
        } => SnapshotError::Io {
            file,
            action: "put the new snapshot in place (it is committed: the next cave-schema \
                     command that writes finishes it, and readers see it already)",
            source: std::io::Error::new(source.kind(), format!("{action}: {source}")),
        },
        other => other,
    })?;
    Ok(written)
}

/// Finish a commit a crash interrupted (its journal is in `journal_dir`), or, if none was
/// committed, remove what an interrupted one staged.
pub fn recover(journal_dir: &Path) -> Result<(), SnapshotError> {
    match read_journal(journal_dir)? {
        Some(journal) => apply(journal_dir, &journal),
        None => {
            let Ok(entries) = std::fs::read_dir(journal_dir) else {
                return Ok(());
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.')
                    && (name.ends_with(".cave-new") || name.ends_with(".cave-old"))
                {
                    remove_dir(&entry.path())?;
                }
                if name == format!("{JOURNAL}.tmp") {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
            Ok(())
        }
    }
}

/// The folder to read for `dir`: its staging folder while a committed journal in
/// `journal_dir` has not yet put it in place, else `dir` itself.
pub(crate) fn view(dir: &Path, journal_dir: &Path) -> PathBuf {
    let Ok(Some(journal)) = read_journal(journal_dir) else {
        return dir.to_path_buf();
    };
    let wanted = normalize(dir);
    for m in &journal.moves {
        let staged = journal_dir.join(&m.staged);
        if normalize(&journal_dir.join(&m.target)) == wanted && staged.is_dir() {
            return staged;
        }
    }
    dir.to_path_buf()
}

/// The folder holding `dir` (where its journal goes).
pub(crate) fn parent(dir: &Path) -> PathBuf {
    let n = normalize(dir);
    match n.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Write `files` (plus the files of `dir` they do not replace) into a fresh `staged`, synced.
fn stage(dir: &Path, staged: &Path, files: &BTreeMap<String, String>) -> Result<(), SnapshotError> {
    remove_dir(staged)?;
    io(staged, "create the folder", || {
        if let Some(p) = staged.parent() {
            std::fs::create_dir_all(p)?;
        }
        std::fs::create_dir(staged)
    })?;
    if dir.is_dir() {
        let entries = io(dir, "list the folder", || std::fs::read_dir(dir))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let keep = name.to_str().is_none_or(|n| !files.contains_key(n));
            if keep && entry.path().is_file() {
                // A hard link keeps the unchanged file as it is (its time stamp too, so
                // that builds depending on it do not rerun); a copy where links fail.
                let to = staged.join(&name);
                let linked = io(&to, "link the file", || {
                    Ok(std::fs::hard_link(entry.path(), &to).is_ok())
                })?;
                if !linked {
                    io(&to, "copy the file", || std::fs::copy(entry.path(), &to))?;
                    sync_file(&to)?;
                }
            }
        }
    }
    for (name, text) in files {
        let path = staged.join(name);
        io(&path, "write the file", || {
            let mut f = std::fs::File::create(&path)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })?;
    }
    sync_dir(staged)
}

fn write_journal(journal_dir: &Path, journal: &Journal) -> Result<(), SnapshotError> {
    let tmp = journal_dir.join(format!("{JOURNAL}.tmp"));
    let path = journal_dir.join(JOURNAL);
    let text = serde_json::to_string_pretty(journal).unwrap_or_default();
    io(&tmp, "write the commit journal", || {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    })?;
    io(&path, "commit the new snapshot", || {
        std::fs::rename(&tmp, &path)
    })?;
    sync_dir(journal_dir)
}

fn read_journal(journal_dir: &Path) -> Result<Option<Journal>, SnapshotError> {
    let path = journal_dir.join(JOURNAL);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SnapshotError::Io {
                file: path,
                action: "read the commit journal",
                source,
            });
        }
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        SnapshotError::invalid(
            &path,
            "$",
            format!(
                "not a commit journal of cave-schema ({e}); it is written whole or not at all, \
                 so something else wrote it: remove it to go on"
            ),
        )
    })
}

/// Put every staged folder of `journal` in place, then drop the journal and the old folders.
/// Each move is done once: a staging folder that is gone is in place already.
fn apply(journal_dir: &Path, journal: &Journal) -> Result<(), SnapshotError> {
    for m in &journal.moves {
        let (staged, target, old) = (
            journal_dir.join(&m.staged),
            journal_dir.join(&m.target),
            journal_dir.join(&m.old),
        );
        if !staged.is_dir() {
            continue;
        }
        if target.exists() {
            remove_dir(&old)?;
            io(&target, "move the old folder aside", || {
                std::fs::rename(&target, &old)
            })?;
        }
        io(&target, "put the new folder in place", || {
            std::fs::rename(&staged, &target)
        })?;
        sync_dir(&parent(&target))?;
    }
    let path = journal_dir.join(JOURNAL);
    io(&path, "remove the commit journal", || {
        std::fs::remove_file(&path)
    })?;
    sync_dir(journal_dir)?;
    for m in &journal.moves {
        remove_dir(&journal_dir.join(&m.old))?;
    }
    Ok(())
}

/// A file name that stays in its folder: no separators, not `.` or `..`, not hidden.
fn check_plain_name(dir: &Path, name: &str) -> Result<(), SnapshotError> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
        && Path::new(name).components().count() == 1;
    if plain {
        Ok(())
    } else {
        Err(SnapshotError::invalid(
            dir,
            "$",
            format!(
                "the file name `{}` would leave the folder; nothing was written",
                cave_wire::untrusted::printable(name)
            ),
        ))
    }
}

/// `.<name>.<suffix>` beside `dir`.
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let n = normalize(dir);
    let name = n
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "snapshot".to_string());
    parent(&n).join(format!(".{name}.{suffix}"))
}

/// `path` without `.` and with `..` resolved against the components before it (lexically).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` relative to `base` when it lies under it, else `path`.
fn relative_to(base: &Path, path: &Path) -> PathBuf {
    normalize(path)
        .strip_prefix(normalize(base))
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| normalize(path))
}

fn remove_dir(dir: &Path) -> Result<(), SnapshotError> {
    match std::fs::symlink_metadata(dir) {
        Err(_) => Ok(()),
        Ok(_) => io(dir, "remove the folder", || std::fs::remove_dir_all(dir)),
    }
}

fn sync_file(path: &Path) -> Result<(), SnapshotError> {
    io(path, "sync the file", || {
        std::fs::File::open(path)?.sync_all()
    })
}

/// Sync a folder's entries (on Unix; elsewhere renames are as durable as the platform makes
/// them).
fn sync_dir(dir: &Path) -> Result<(), SnapshotError> {
    #[cfg(unix)]
    {
        io(dir, "sync the folder", || {
            std::fs::File::open(dir)?.sync_all()
        })
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// One file-system step, with the test hook's crash point before it.
fn io<T>(
    file: &Path,
    action: &'static str,
    f: impl FnOnce() -> std::io::Result<T>,
) -> Result<T, SnapshotError> {
    crash_point();
    f().map_err(|source| SnapshotError::Io {
        file: file.to_path_buf(),
        action,
        source,
    })
}

fn crash_point() {
    static STEPS: AtomicU64 = AtomicU64::new(0);
    static AFTER: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    let after = AFTER.get_or_init(|| std::env::var(CRASH_AFTER_ENV).ok()?.parse().ok());
    if let Some(after) = *after
        && STEPS.fetch_add(1, Ordering::SeqCst) >= after
    {
        std::process::abort();
    }
}

/// Write one file whole or not at all (a temporary file beside it, renamed over it).
pub fn write_file(path: &Path, text: &str) -> Result<(), SnapshotError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.cave-tmp"));
    io(&tmp, "write the file", || {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    })?;
    io(path, "replace the file", || std::fs::rename(&tmp, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect()
    }

    fn read(dir: &Path) -> BTreeMap<String, String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read_to_string(e.path()).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn folders_are_replaced_keeping_other_files_and_nothing_is_left_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("ds"), tmp.path().join("types"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::write(a.join("info.json"), "old").unwrap();
        std::fs::write(a.join("README"), "mine").unwrap();
        let written = write_folders(&[
            (
                a.clone(),
                files(&[("info.json", "new"), ("tables.json", "t")]),
            ),
            (b.join("../types"), files(&[("x.json", "1")])),
        ])
        .unwrap();
        assert_eq!(written.len(), 3);
        assert_eq!(
            read(&a),
            files(&[
                ("README", "mine"),
                ("info.json", "new"),
                ("tables.json", "t")
            ])
        );
        assert_eq!(read(&b), files(&[("x.json", "1")]));
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left.len(), 2, "{left:?}");
        // Unchanged: nothing written.
        let again = write_folders(&[(a.clone(), files(&[("info.json", "new")]))]).unwrap();
        assert!(again.is_empty());
    }

    #[test]
    fn names_that_leave_the_folder_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        for bad in ["../x.json", "/tmp/x.json", "a/b.json", "..", ".hidden", ""] {
            let e = write_folders(&[(tmp.path().join("ds"), files(&[(bad, "x")]))]).unwrap_err();
            assert!(
                e.to_string().contains("would leave the folder"),
                "{bad}: {e}"
            );
        }
        assert!(!tmp.path().join("ds").exists());
    }

    #[test]
    fn a_committed_journal_is_seen_by_readers_and_finished_by_the_next_writer() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("ds");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::write(a.join("f"), "old").unwrap();
        // A commit stopped after its journal: staged, journal written, nothing moved.
        let staged = sibling(&a, "cave-new");
        stage(&a, &staged, &files(&[("f", "new")])).unwrap();
        write_journal(
            tmp.path(),
            &Journal {
                moves: vec![Move {
                    staged: relative_to(tmp.path(), &staged),
                    target: "ds".into(),
                    old: relative_to(tmp.path(), &sibling(&a, "cave-old")),
                }],
            },
        )
        .unwrap();
        assert_eq!(read(&view(&a, tmp.path()))["f"], "new");
        // Moved aside, not yet in place: still the new one for readers.
        std::fs::rename(&a, sibling(&a, "cave-old")).unwrap();
        assert_eq!(read(&view(&a, tmp.path()))["f"], "new");
        recover(tmp.path()).unwrap();
        assert_eq!(read(&a)["f"], "new");
        assert_eq!(view(&a, tmp.path()), a);
        assert!(!tmp.path().join(JOURNAL).exists());
        assert!(!sibling(&a, "cave-old").exists() && !staged.exists());
        // Staged without a journal: not committed, thrown away.
        stage(&a, &staged, &files(&[("f", "newer")])).unwrap();
        assert_eq!(read(&view(&a, tmp.path()))["f"], "new");
        recover(tmp.path()).unwrap();
        assert!(!staged.exists());
        assert_eq!(read(&a)["f"], "new");
    }

    #[test]
    fn paths_are_normalized_lexically() {
        assert_eq!(normalize(Path::new("a/b/../c/./d")), PathBuf::from("a/c/d"));
        assert_eq!(normalize(Path::new("../x")), PathBuf::from("../x"));
        assert_eq!(
            relative_to(Path::new("s"), Path::new("s/ds/../types")),
            PathBuf::from("types")
        );
        assert_eq!(parent(Path::new("ds")), PathBuf::from("."));
    }
}
