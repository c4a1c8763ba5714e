//! `docs/minnie65_public.md` is the catalogue `cave docs` writes for the committed
//! snapshot, byte for byte, and says what the generated code has.

use std::path::PathBuf;

use cave_codegen::Options;
use cave_codegen::catalogue::markdown;
use cave_schema::Snapshot;

const REGENERATE: &str = "cargo run -p cave-cli -- docs --datastack-dir \
                          schemas/minnie65_public --out docs/minnie65_public.md";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn catalogue() -> String {
    let dir = repo().join("schemas/minnie65_public");
    let snapshot = Snapshot::load(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    markdown(&snapshot, &Options::default()).unwrap_or_else(|e| panic!("catalogue: {e}"))
}

/// The lines of `md` from the heading `heading` to the next heading of the same or a higher
/// level.
fn section<'a>(md: &'a str, heading: &str) -> Vec<&'a str> {
    let level = heading.chars().take_while(|&c| c == '#').count();
    let mut lines = md.lines().skip_while(|l| *l != heading);
    let Some(first) = lines.next() else {
        panic!("no heading {heading:?} in the catalogue");
    };
    let mut out = vec![first];
    for line in lines {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if hashes > 0 && hashes <= level && line[hashes..].starts_with(' ') {
            break;
        }
        out.push(line);
    }
    out
}

/// The cells of a Markdown table row (unescaped `|` separate them).
fn cells(row: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut backslashes = 0;
    for c in row.trim().chars() {
        if c == '|' && backslashes % 2 == 0 {
            cells.push(String::new());
        } else if let Some(last) = cells.last_mut() {
            last.push(c);
        }
        backslashes = if c == '\\' { backslashes + 1 } else { 0 };
    }
    // Drop what is outside the outer pipes.
    cells.remove(0);
    cells.pop();
    cells.into_iter().map(|c| c.trim().to_string()).collect()
}

/// The row of a section's table whose first cell is `first`.
fn row(section: &[&str], first: &str) -> Vec<String> {
    section
        .iter()
        .filter(|l| l.starts_with('|'))
        .map(|l| cells(l))
        .find(|c| c.first().map(String::as_str) == Some(first))
        .unwrap_or_else(|| panic!("no row {first} in:\n{}", section.join("\n")))
}

#[test]
fn committed_catalogue_is_current() {
    let path = repo().join("docs/minnie65_public.md");
    let expected = catalogue();
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; generate it with `{REGENERATE}`", path.display()));
    if committed == expected {
        return;
    }
    let was: Vec<&str> = committed.lines().collect();
    let now: Vec<&str> = expected.lines().collect();
    let difference = match (0..was.len().max(now.len())).find(|&i| was.get(i) != now.get(i)) {
        Some(i) => format!(
            "first difference, line {}:\n  committed: {}\n  generated: {}",
            i + 1,
            was.get(i).copied().unwrap_or("(end of file)"),
            now.get(i).copied().unwrap_or("(end of file)"),
        ),
        None => "the lines agree; line endings or the final newline differ".to_string(),
    };
    panic!(
        "docs/minnie65_public.md is out of date; regenerate it with\n  {REGENERATE}\n{difference}"
    );
}

#[test]
fn catalogue_names_the_generated_items() {
    let md = catalogue();

    let table = section(&md, "### `proofreading_status_and_strategy`");
    let text = table.join("\n");
    assert!(
        text.contains("Row struct `ProofreadingStatusAndStrategy`"),
        "{text}"
    );
    assert!(
        text.contains("`ProofreadingStatusAndStrategy::filter()`"),
        "{text}"
    );
    assert!(
        text.contains("`proofreading_status_and_strategy::Filter`"),
        "{text}"
    );
    let strategy = row(&table, "`strategy_axon`");
    assert_eq!(strategy[1], "`strategy_axon`");
    assert!(
        strategy[2].contains("`ProofreadingStrategy`"),
        "{strategy:?}"
    );
    assert_eq!(strategy[3], "`utf8`");
    let root = row(&table, "`pt_root_id`");
    assert_eq!(root[2], "`Option<RootId>`");
    assert!(
        text.contains("- `pt_root_id`: `pt_root_id`, `pt_root_id_in`, `pt_root_id_not_in`"),
        "{text}"
    );

    let e = section(&md, "### `ProofreadingStrategy`");
    let variant = row(&e, "`AxonFullyExtended`");
    assert_eq!(variant[1], "`axon_fully_extended`");
    assert_eq!(row(&e, "`Other(String)`")[1], "any other");
    let text = e.join("\n");
    assert!(
        text.contains("[`proofreading_status_and_strategy`](#proofreading_status_and_strategy).`strategy_axon`"),
        "{text}"
    );

    let reference = section(&md, "### `aibs_metamodel_celltypes_v661`");
    let text = reference.join("\n");
    assert!(
        text.contains(
            "- Reference target: [`nucleus_detection_v0`](#nucleus_detection_v0) \
             (`NucleusDetectionV0`)."
        ),
        "{text}"
    );
    assert!(text.contains("in the field `target`"), "{text}");
    let target = row(&reference, "*(joined)*");
    assert_eq!(target[1], "`target`");
    assert!(
        text.contains(
            "- *target* `pt_root_id`: `pt_root_id`, `pt_root_id_in`, `pt_root_id_not_in`"
        ),
        "{text}"
    );

    let contents = section(&md, "## Contents");
    assert_eq!(
        row(
            &contents,
            "[`aibs_metamodel_celltypes_v661`](#aibs_metamodel_celltypes_v661)"
        ),
        [
            "[`aibs_metamodel_celltypes_v661`](#aibs_metamodel_celltypes_v661)",
            "`AibsMetamodelCelltypesV661`",
            "`cell_type_reference`",
            "[`nucleus_detection_v0`](#nucleus_detection_v0)",
        ]
    );

    let header = section(&md, "# `minnie65_public`: tables, columns and enums").join("\n");
    assert!(header.contains(&format!("`{REGENERATE}`")), "{header}");
    assert!(header.contains("do not edit this file by hand"), "{header}");
    assert!(header.contains("- Snapshot: reconstructed"), "{header}");
    assert!(header.contains("1181, 1300"), "{header}");
    let usage = section(&md, "## How to use").join("\n");
    assert!(
        usage.contains(
            "mod minnie {\n    cave_runtime::datastack!(\"schemas/minnie65_public\");\n}"
        ),
        "{usage}"
    );

    let skipped = section(&md, "## Tables without types").join("\n");
    assert!(
        skipped.contains("- `cell_edits_v661`: the snapshot does not know its schema type."),
        "{skipped}"
    );
}

#[test]
fn catalogue_is_deterministic() {
    assert_eq!(catalogue(), catalogue());
}

#[test]
fn a_selection_documents_only_its_tables() {
    let dir = repo().join("schemas/minnie65_public");
    let snapshot = Snapshot::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    let options = Options {
        version: Some(1300),
        tables: Some(vec!["aibs_metamodel_celltypes_v661".to_string()]),
        ..Options::default()
    };
    let md = markdown(&snapshot, &options).unwrap_or_else(|e| panic!("{e}"));
    assert!(md.contains(
        "--version 1300 --tables aibs_metamodel_celltypes_v661 --out docs/minnie65_public.md"
    ));
    assert!(md.contains(
        "cave_runtime::datastack!(\"schemas/minnie65_public\", version = 1300, tables = [\"aibs_metamodel_celltypes_v661\"]);"
    ));
    let headings: Vec<&str> = md.lines().filter(|l| l.starts_with("### `")).collect();
    assert_eq!(
        headings[..2],
        [
            "### `aibs_metamodel_celltypes_v661`",
            "### `nucleus_detection_v0`"
        ]
    );
    assert!(!md.contains("## Tables without types"));

    let bad = Options {
        version: Some(1),
        ..Options::default()
    };
    assert!(markdown(&snapshot, &bad).is_err());
}
