//! The merge rules (docs/SNAPSHOT.md, "Refreshing"): what the server says goes into the
//! existing snapshot so that a server serving exactly the committed snapshot changes nothing.
//!
//! - A fact whose value is unchanged keeps its recorded provenance; a changed or new fact gets
//!   `server` (or no provenance when its new value is null).
//! - Versions are the server's list (`expired=True`), with its tables.
//! - Tables keep their entry; the server's metadata replaces it for the tables it was read for.
//! - Views likewise (a view's columns are its schema); a hand-entered note stays only while
//!   nothing of the view changes.
//! - Value sets only grow: values the server reports for a mapped column that the set lacks
//!   are appended with an empty doc. String columns without a value set are only reported.
//! - Schema types: the existing ones, replaced or joined by those the service returned.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::error::FetchError;
use super::server_data::{ServerData, ServerView};
use cave_schema::schema::FieldKind;
use cave_schema::snapshot::{
    FORMAT_VERSION, Manifest, Provenance, Snapshot, SnapshotKind, SnapshotProvenance, TableMeta,
    TableProvenance, ValueDoc, ValueSets, Version, ViewColumnEntry, ViewMeta, ViewProvenance,
};
use cave_schema::types::TypeSet;
use cave_wire::TableMetadata;

/// The types folder of a new snapshot, relative to its datastack folder.
pub const DEFAULT_TYPES_DIR: &str = "../types";

/// A merged snapshot and what the merge found worth telling.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The snapshot with the server's facts merged in; its manifest is the existing one.
    pub snapshot: Snapshot,
    /// Remarks for the fetch summary: string columns without a value set, fallbacks taken.
    pub notes: Vec<String>,
}

/// Merge `data` into `existing` (or into an empty snapshot of `datastack`).
pub fn merge(
    existing: Option<&Snapshot>,
    data: &ServerData,
    datastack: &str,
) -> Result<Merged, FetchError> {
    let base = existing
        .cloned()
        .map_or_else(|| empty_snapshot(datastack, data), Ok)?;

    let versions = data
        .versions
        .iter()
        .map(|sv| Version {
            version: sv.version(),
            time_stamp: sv.record.time_stamp,
            valid: sv.valid,
            expires_on: sv.record.expires_on,
            is_merged: sv.record.is_merged,
            tables: sv.tables.clone(),
            tables_provenance: match base.version(sv.version()) {
                Some(old) if old.tables == sv.tables => old.tables_provenance,
                _ => Provenance::Server,
            },
            views: sv.views.clone(),
            views_provenance: match base.version(sv.version()) {
                _ if sv.views.is_empty() => None,
                Some(old) if old.views == sv.views => {
                    old.views_provenance.or(Some(Provenance::Server))
                }
                _ => Some(Provenance::Server),
            },
        })
        .collect();

    let mut tables = base.tables.clone();
    for (name, served) in &data.tables {
        let merged = merge_table(base.tables.get(name), served);
        tables.insert(name.clone(), merged);
    }

    let mut views = base.views.clone();
    for (name, served) in &data.views {
        let merged = merge_view(base.views.get(name), served);
        views.insert(name.clone(), merged);
    }

    let value_sets = grow_value_sets(&base.value_sets, &data.unique_values);

    let mut documents: BTreeMap<String, Value> = base
        .types
        .names()
        .filter_map(|n| Some((n.to_string(), base.types.get_doc(n)?.document.clone())))
        .collect();
    documents.extend(data.types.iter().map(|(n, d)| (n.clone(), d.clone())));
    let types = TypeSet::from_documents(documents, &data.types_source)
        .map_err(|e| FetchError::Snapshot(e.into()))?;

    let snapshot = Snapshot {
        manifest: base.manifest.clone(),
        info: data.info.clone(),
        versions,
        tables,
        value_sets,
        views,
        types,
    };
    let mut notes = data.notes.clone();
    notes.extend(unmapped_string_columns(&snapshot, data));
    Ok(Merged { snapshot, notes })
}

/// An empty snapshot of `datastack`, for a first fetch.
fn empty_snapshot(datastack: &str, data: &ServerData) -> Result<Snapshot, FetchError> {
    Ok(Snapshot {
        manifest: Manifest {
            format_version: FORMAT_VERSION,
            datastack: datastack.to_string(),
            types_dir: DEFAULT_TYPES_DIR.to_string(),
            provenance: SnapshotProvenance {
                kind: SnapshotKind::Fetched,
                server: Some(data.server.clone()),
                summary: String::new(),
            },
        },
        info: data.info.clone(),
        versions: Vec::new(),
        tables: BTreeMap::new(),
        value_sets: ValueSets::default(),
        views: BTreeMap::new(),
        types: TypeSet::from_documents(Vec::new(), "")
            .map_err(|e| FetchError::Snapshot(e.into()))?,
    })
}

/// The server's metadata of one table, keeping provenance where the value is unchanged.
fn merge_table(old: Option<&TableMeta>, served: &TableMetadata) -> TableMeta {
    let provenance = |same: bool, kept: Option<Provenance>, known: bool| {
        if same {
            kept
        } else if known {
            Some(Provenance::Server)
        } else {
            None
        }
    };
    let old_provenance = old.map(|o| &o.provenance);
    TableMeta {
        schema_type: served.schema_type.clone(),
        reference_table: served.reference_table.clone(),
        description: served.description.clone(),
        notice_text: served.notice_text.clone(),
        // `download` checked that every table has one.
        voxel_resolution: served.voxel_resolution.unwrap_or_default(),
        provenance: TableProvenance {
            schema_type: provenance(
                old.is_some_and(|o| o.schema_type == served.schema_type),
                old_provenance.and_then(|p| p.schema_type),
                served.schema_type.is_some(),
            ),
            description: provenance(
                old.is_some_and(|o| o.description == served.description),
                old_provenance.and_then(|p| p.description),
                served.description.is_some(),
            ),
        },
    }
}

/// The server's record and columns of one view, keeping provenance (and the hand-entered note)
/// where the values are unchanged.
fn merge_view(old: Option<&ViewMeta>, served: &ServerView) -> ViewMeta {
    let m = &served.metadata;
    let columns: Vec<ViewColumnEntry> = served
        .schema
        .columns
        .iter()
        .map(|c| ViewColumnEntry {
            name: c.name.clone(),
            kind: c.kind,
        })
        .collect();
    let same_description = old.is_some_and(|o| o.description == m.description);
    let same_columns = old.is_some_and(|o| o.columns == columns);
    let unchanged = same_description
        && same_columns
        && old.is_some_and(|o| {
            o.notice_text == m.notice_text
                && o.live_compatible == m.live_compatible
                && Some(o.voxel_resolution) == m.voxel_resolution
        });
    let old_provenance = old.map(|o| &o.provenance);
    ViewMeta {
        description: m.description.clone(),
        notice_text: m.notice_text.clone(),
        // `download` checked that every view has one.
        voxel_resolution: m.voxel_resolution.unwrap_or_default(),
        live_compatible: m.live_compatible,
        provenance: ViewProvenance {
            description: match (same_description, m.description.is_some()) {
                (true, _) => old_provenance.and_then(|p| p.description),
                (false, true) => Some(Provenance::Server),
                (false, false) => None,
            },
            columns: match (same_columns, columns.is_empty()) {
                (true, _) => old_provenance.and_then(|p| p.columns),
                (false, false) => Some(Provenance::Server),
                (false, true) => None,
            },
            note: unchanged
                .then(|| old_provenance.and_then(|p| p.note.clone()))
                .flatten(),
        },
        columns,
    }
}

/// Append the values the server reports for mapped columns that their sets lack (sorted, with
/// an empty doc). Values are never removed.
fn grow_value_sets(
    sets: &ValueSets,
    unique: &BTreeMap<String, BTreeMap<String, Vec<String>>>,
) -> ValueSets {
    let mut grown = sets.clone();
    for (table, columns) in &sets.columns {
        let Some(served) = unique.get(table) else {
            continue;
        };
        for (column, set_name) in columns {
            let (Some(values), Some(set)) =
                (served.get(column), grown.value_sets.get_mut(set_name))
            else {
                continue;
            };
            let new: BTreeSet<&String> = values
                .iter()
                .filter(|v| !set.values.iter().any(|known| &known.value == *v))
                .collect();
            set.values.extend(new.into_iter().map(|v| ValueDoc {
                value: v.clone(),
                doc: String::new(),
            }));
        }
    }
    grown
}

/// String columns the server reported values for that have no value set (and are not enums of
/// the schema): worth a look, never given one automatically.
fn unmapped_string_columns(snapshot: &Snapshot, data: &ServerData) -> Vec<String> {
    let mut notes = Vec::new();
    for (table, columns) in &data.unique_values {
        for (column, values) in columns {
            if values.is_empty() || snapshot.value_set(table, column).is_some() {
                continue;
            }
            let is_enum = snapshot
                .schema_of(table)
                .and_then(|s| s.column(column))
                .and_then(|c| c.field)
                .is_some_and(|f| matches!(f.kind, FieldKind::Enum(_)));
            if is_enum {
                continue;
            }
            let shown: Vec<&str> = values.iter().take(6).map(String::as_str).collect();
            let more = if values.len() > shown.len() {
                ", …"
            } else {
                ""
            };
            notes.push(format!(
                "{table}.{column}: {} distinct values on the server and no value set ({}{more}); map it in value_sets.json to get an enum",
                values.len(),
                shown.join(", ")
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use cave_wire::{ViewMetadata, ViewSchema};
    use serde_json::json;

    fn served(description: &str, columns: Value) -> ServerView {
        ServerView {
            metadata: ViewMetadata::from_json(json!({
                "description": description, "voxel_resolution_x": 4.0,
                "voxel_resolution_y": 4.0, "voxel_resolution_z": 40.0,
                "live_compatible": true, "notice_text": null
            }))
            .unwrap(),
            schema: ViewSchema::from_json(columns).unwrap(),
        }
    }

    #[test]
    fn a_view_keeps_its_provenance_and_note_only_while_unchanged() {
        let first = merge_view(None, &served("d", json!({"id": {"type": "integer"}})));
        assert_eq!(first.provenance.description, Some(Provenance::Server));
        assert_eq!(first.provenance.columns, Some(Provenance::Server));
        let mut hand = first.clone();
        hand.provenance = ViewProvenance {
            description: Some(Provenance::Seen),
            columns: Some(Provenance::Inferred),
            note: Some("from a fixture".into()),
        };
        let same = merge_view(
            Some(&hand),
            &served("d", json!({"id": {"type": "integer"}})),
        );
        assert_eq!(same, hand, "nothing changed: nothing moves");
        let more = merge_view(
            Some(&hand),
            &served(
                "d",
                json!({"id": {"type": "integer"}, "v": {"type": "float"}}),
            ),
        );
        assert_eq!(more.provenance.description, Some(Provenance::Seen));
        assert_eq!(more.provenance.columns, Some(Provenance::Server));
        assert_eq!(
            more.provenance.note, None,
            "the note described the old columns"
        );
        assert_eq!(more.columns.len(), 2);
        // A view the schemas omit has no columns, and so no column provenance.
        let none = merge_view(Some(&hand), &served("d", json!({})));
        assert!(none.columns.is_empty() && none.provenance.columns.is_none());
    }
}
