//! Snapshot tests of the generated code (`cave_codegen::generate_source`), reviewed as
//! formatted Rust in `tests/snapshots/`: key tables of the real minnie65_public snapshot, each
//! generated alone, and small hand-made datastacks (`tests/fixtures/<case>/`) that each stress
//! one part of the generator (naming, collisions, column kinds, nullability, integer enums).
//!
//! After a deliberate change to the generator, review the new output with
//! `cargo insta review` (or `INSTA_UPDATE=always cargo test -p cave-codegen --test codegen`
//! and `git diff`).

use std::path::{Path, PathBuf};

use cave_codegen::{Options, generate_source};
use cave_schema::{Snapshot, TypeSet};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(dir: &Path) -> Snapshot {
    Snapshot::load(dir).unwrap_or_else(|e| panic!("cannot load {}: {e}", dir.display()))
}

fn minnie() -> Snapshot {
    load(&crate_dir().join("../schemas/minnie65_public"))
}

/// The hand-made fixture datastacks, by folder name.
const FIXTURES: [&str; 5] = [
    "keywords",
    "collisions",
    "every_kind",
    "nullable_points",
    "int_enums",
];

fn fixture(case: &str) -> Snapshot {
    load(&crate_dir().join("tests/fixtures").join(case))
}

fn generate(snapshot: &Snapshot, options: &Options) -> String {
    generate_source(snapshot, options).unwrap_or_else(|e| {
        panic!(
            "cannot generate code for `{}`: {e}",
            snapshot.manifest.datastack
        )
    })
}

/// The code of one real table alone (with its reference target, if any).
fn real_table(table: &str) -> String {
    let options = Options {
        tables: Some(vec![table.to_string()]),
        ..Default::default()
    };
    generate(&minnie(), &options)
}

/// The code of a whole datastack, or, when the generator refuses it, its error (so that the
/// snapshot records what the generator does today, working or not).
fn code_or_error(snapshot: &Snapshot) -> String {
    match generate_source(snapshot, &Options::default()) {
        Ok(code) => code,
        Err(e) => format!("generation failed: {e}\n"),
    }
}

fn whole_fixture(case: &str) -> String {
    code_or_error(&fixture(case))
}

// The real snapshot, one key table at a time.

#[test]
fn minnie_view_nucleus_detection_lookup_v1() {
    // A view: `VIEW = true`, the view filter (no live query, no sample), f64 volumes, two
    // points, every field an `Option`.
    let code = real_table("nucleus_detection_lookup_v1");
    assert!(code.contains("const VIEW: bool = true;"), "{code}");
    assert!(code.contains("view Filter,"), "{code}");
    assert!(
        code.contains("pub volume: ::core::option::Option<::core::primitive::f64>"),
        "{code}"
    );
    assert!(
        code.contains("pub const VIEWS: &[&str] = &[\"nucleus_detection_lookup_v1\"];"),
        "{code}"
    );
    insta::assert_snapshot!(code);
}

#[test]
fn minnie_views_of_unknown_columns_are_refused_by_name() {
    let options = Options {
        tables: Some(vec!["synapses_pni_2_in_out_degree_fixed".to_string()]),
        ..Default::default()
    };
    let e = generate_source(&minnie(), &options)
        .unwrap_err()
        .to_string();
    assert!(e.contains("synapses_pni_2_in_out_degree_fixed"), "{e}");
    assert!(
        e.contains("a view whose columns the snapshot does not know"),
        "{e}"
    );
    // At version 1300 (tables and views of that version), the generated views are listed.
    let options = Options {
        version: Some(1300),
        ..Default::default()
    };
    let code = generate(&minnie(), &options);
    assert!(
        code.contains("\"aibs_cell_info\""),
        "views of v1300 are generated"
    );
    assert!(
        !code.contains("synapse_target_predictions_ssa_count_by_pre"),
        "not a v1300 view"
    );
}

#[test]
fn minnie_proofreading_status_and_strategy() {
    insta::assert_snapshot!(real_table("proofreading_status_and_strategy"));
}

#[test]
fn minnie_aibs_metamodel_celltypes_v661() {
    // A reference table: its target `nucleus_detection_v0` comes along.
    let code = real_table("aibs_metamodel_celltypes_v661");
    assert!(code.contains("pub struct NucleusDetectionV0"));
    insta::assert_snapshot!(code);
}

#[test]
fn minnie_synapses_pni_2() {
    insta::assert_snapshot!(real_table("synapses_pni_2"));
}

// The fixtures, each whole.

#[test]
fn fixtures_load() {
    for case in FIXTURES {
        let s = fixture(case);
        assert_eq!(s.manifest.datastack, format!("fixture_{case}"));
        assert_eq!(
            s.manifest.types_dir, "types",
            "{case}: its own types folder"
        );
        for (table, meta) in &s.tables {
            assert!(
                s.schema_of(table).is_some(),
                "{case}: table `{table}` has schema type {:?}, which its types folder lacks",
                meta.schema_type
            );
        }
        let dir = crate_dir().join("tests/fixtures").join(case);
        let datastack_files = s.render().into_iter().map(|(f, t)| (f.to_string(), t));
        let type_files = s
            .types
            .render()
            .into_iter()
            .map(|(f, t)| (format!("types/{f}"), t));
        for (file, text) in datastack_files.chain(type_files) {
            let on_disk = std::fs::read_to_string(dir.join(&file))
                .unwrap_or_else(|e| panic!("{case}/{file}: {e}"));
            assert_eq!(
                on_disk, text,
                "{case}/{file} is not in canonical form; run `cargo run -p cave-cli -- format \
                 --datastack-dir cave-codegen/tests/fixtures/{case}`"
            );
        }
    }
}

#[test]
fn fixture_keywords() {
    // Today this records an error: the column `self` becomes the `Column` variant `Self`,
    // which is not an identifier (see `names_that_are_not_identifiers`).
    insta::assert_snapshot!(whole_fixture("keywords"));
}

#[test]
fn fixture_keywords_without_self() {
    // The same fixture without its `self` column, so that the other keyword, builder-method
    // and colliding columns are reviewed while `self` fails.
    let mut s = fixture("keywords");
    let mut document = s
        .types
        .get_doc("keyword_columns")
        .expect("the fixture's type")
        .document
        .clone();
    let properties = document
        .pointer_mut("/definitions/KeywordColumns/properties")
        .and_then(|p| p.as_object_mut())
        .expect("the fixture's properties");
    assert!(properties.remove("self").is_some());
    s.types = TypeSet::from_documents([("keyword_columns".to_string(), document)], "memory")
        .unwrap_or_else(|e| panic!("{e}"));
    insta::assert_snapshot!(code_or_error(&s));
}

#[test]
fn fixture_collisions() {
    insta::assert_snapshot!(whole_fixture("collisions"));
}

#[test]
fn fixture_every_kind() {
    insta::assert_snapshot!(whole_fixture("every_kind"));
}

#[test]
fn fixture_nullable_points() {
    insta::assert_snapshot!(whole_fixture("nullable_points"));
}

#[test]
fn fixture_int_enums() {
    insta::assert_snapshot!(whole_fixture("int_enums"));
}

// Determinism: the same snapshot always gives the same bytes.

#[test]
fn generation_is_deterministic() {
    // Twice from one load, and once more from a second load (so that nothing in loading, such
    // as a hash map's order, leaks into the output); the whole snapshot and a pinned version.
    let first_load = minnie();
    let second_load = minnie();
    let newest = first_load.latest_version().expect("a version").version;
    for options in [
        Options::default(),
        Options {
            version: Some(newest),
            ..Default::default()
        },
    ] {
        let first = generate(&first_load, &options);
        assert!(
            first == generate(&first_load, &options),
            "two generations of minnie65_public ({options:?}) differ"
        );
        assert!(
            first == generate(&second_load, &options),
            "generations of minnie65_public ({options:?}) from two loads differ"
        );
    }
    for case in FIXTURES {
        assert!(
            whole_fixture(case) == whole_fixture(case),
            "two generations of fixture `{case}` differ"
        );
    }
}

/// What the generator does with names whose Rust form is `Self` or `_`, one line per input,
/// each put in place of one name of the `every_kind` fixture.
#[test]
fn names_that_are_not_identifiers() {
    let base = fixture("every_kind");
    let outcome = |s: &Snapshot| match generate_source(s, &Options::default()) {
        Ok(_) => "ok".to_string(),
        Err(e) => e.to_string(),
    };
    let mut lines = Vec::new();
    for value in ["", "-", "?", "_", "self", "Self", "super", "type", "123"] {
        let mut s = base.clone();
        s.value_sets
            .value_sets
            .get_mut("every_tag")
            .expect("the fixture's value set")
            .values[0]
            .value = value.to_string();
        lines.push(format!("value-set value {value:?}: {}", outcome(&s)));
    }
    for table in ["self", "Self", "_", "type", "super"] {
        let mut s = base.clone();
        let meta = s.tables.remove("every_kind").expect("the fixture's table");
        s.tables.insert(table.to_string(), meta);
        s.value_sets.columns.clear();
        lines.push(format!("table name {table:?}: {}", outcome(&s)));
    }
    for set in ["self", "every_kind"] {
        let mut s = base.clone();
        let values = s
            .value_sets
            .value_sets
            .remove("every_tag")
            .expect("the value set");
        s.value_sets.value_sets.insert(set.to_string(), values);
        s.value_sets
            .columns
            .get_mut("every_kind")
            .expect("the fixture's mapping")
            .insert("tag".to_string(), set.to_string());
        lines.push(format!("value set name {set:?}: {}", outcome(&s)));
    }
    insta::assert_snapshot!(lines.join("\n"));
}
