//! What differs between two snapshots, one line per change, grouped: versions, tables per
//! version, table metadata, schema types (by their columns), value sets, datastack info.
//! The manifest (`snapshot.json`) is not compared: it records how a snapshot was made.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use cave_schema::columns::Column;
use cave_schema::snapshot::{Snapshot, TableMeta, ValueSet, Version, ViewMeta};
use cave_schema::types::TypeSet;

/// The changes from an old snapshot to a new one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotDiff {
    /// Groups of changes, in a fixed order; empty groups are left out.
    pub sections: Vec<DiffSection>,
}

/// One group of changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffSection {
    /// What the group is about, e.g. `tables per version`.
    pub title: &'static str,
    /// One line per change: `+` added, `-` removed, `~` changed.
    pub lines: Vec<String>,
}

impl SnapshotDiff {
    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.sections.iter().all(|s| s.lines.is_empty())
    }

    /// How many changes there are.
    pub fn len(&self) -> usize {
        self.sections.iter().map(|s| s.lines.len()).sum()
    }

    /// Every change line, prefixed with its group's title.
    pub fn lines(&self) -> impl Iterator<Item = String> + '_ {
        self.sections
            .iter()
            .flat_map(|s| s.lines.iter().map(move |l| format!("{}: {l}", s.title)))
    }

    fn push(&mut self, title: &'static str, lines: Vec<String>) {
        if !lines.is_empty() {
            self.sections.push(DiffSection { title, lines });
        }
    }
}

impl fmt::Display for SnapshotDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, section) in self.sections.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{} ({}):", section.title, section.lines.len())?;
            for line in &section.lines {
                writeln!(f, "  {line}")?;
            }
        }
        Ok(())
    }
}

/// The changes that turn `old` into `new`.
pub fn diff(old: &Snapshot, new: &Snapshot) -> SnapshotDiff {
    let mut d = SnapshotDiff::default();
    d.push("versions", versions(&old.versions, &new.versions));
    d.push(
        "tables per version",
        tables_per_version(&old.versions, &new.versions),
    );
    d.push("tables", tables(&old.tables, &new.tables));
    d.push(
        "views per version",
        views_per_version(&old.versions, &new.versions),
    );
    d.push("views", views(&old.views, &new.views));
    d.push("schema types", types(&old.types, &new.types));
    d.push("value sets", value_sets(old, new));
    d.push("datastack info", info(old, new));
    d
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn versions(old: &[Version], new: &[Version]) -> Vec<String> {
    let mut lines = Vec::new();
    for o in old {
        if !new.iter().any(|n| n.version == o.version) {
            lines.push(format!(
                "- version {} ({}): no longer listed by the server",
                o.version,
                time(&o.time_stamp)
            ));
        }
    }
    for n in new {
        let Some(o) = old.iter().find(|o| o.version == n.version) else {
            lines.push(format!(
                "+ version {} ({}; {}; {} tables)",
                n.version,
                time(&n.time_stamp),
                if n.valid { "valid" } else { "expired" },
                n.tables.len()
            ));
            continue;
        };
        let v = n.version;
        if o.time_stamp != n.time_stamp {
            lines.push(format!(
                "~ version {v}: time_stamp {} → {}",
                time(&o.time_stamp),
                time(&n.time_stamp)
            ));
        }
        if o.valid != n.valid {
            lines.push(format!("~ version {v}: valid {} → {}", o.valid, n.valid));
        }
        if o.expires_on != n.expires_on {
            let show = |t: &Option<DateTime<Utc>>| t.as_ref().map_or("null".into(), time);
            lines.push(format!(
                "~ version {v}: expires_on {} → {}",
                show(&o.expires_on),
                show(&n.expires_on)
            ));
        }
        if o.is_merged != n.is_merged {
            let show = |b: Option<bool>| b.map_or("null".into(), |b| b.to_string());
            lines.push(format!(
                "~ version {v}: is_merged {} → {}",
                show(o.is_merged),
                show(n.is_merged)
            ));
        }
        if o.tables == n.tables && o.tables_provenance != n.tables_provenance {
            lines.push(format!(
                "~ version {v}: tables_provenance {:?} → {:?}",
                o.tables_provenance, n.tables_provenance
            ));
        }
    }
    lines
}

fn tables_per_version(old: &[Version], new: &[Version]) -> Vec<String> {
    let mut lines = Vec::new();
    for n in new {
        let Some(o) = old.iter().find(|o| o.version == n.version) else {
            continue;
        };
        let before: BTreeSet<&String> = o.tables.iter().collect();
        let after: BTreeSet<&String> = n.tables.iter().collect();
        for t in before.difference(&after) {
            lines.push(format!("- version {}: {t}", n.version));
        }
        for t in after.difference(&before) {
            lines.push(format!("+ version {}: {t}", n.version));
        }
    }
    lines
}

fn views_per_version(old: &[Version], new: &[Version]) -> Vec<String> {
    let mut lines = Vec::new();
    for n in new {
        let Some(o) = old.iter().find(|o| o.version == n.version) else {
            continue;
        };
        let before: BTreeSet<&String> = o.views.iter().collect();
        let after: BTreeSet<&String> = n.views.iter().collect();
        for t in before.difference(&after) {
            lines.push(format!("- version {}: view {t}", n.version));
        }
        for t in after.difference(&before) {
            lines.push(format!("+ version {}: view {t}", n.version));
        }
    }
    lines
}

fn views(old: &BTreeMap<String, ViewMeta>, new: &BTreeMap<String, ViewMeta>) -> Vec<String> {
    let mut lines = Vec::new();
    for name in old.keys().filter(|t| !new.contains_key(*t)) {
        lines.push(format!("- view {name}"));
    }
    for (name, n) in new {
        let Some(o) = old.get(name) else {
            lines.push(format!("+ view {name} ({} columns)", n.columns.len()));
            continue;
        };
        let before = lines.len();
        for c in &o.columns {
            match n.columns.iter().find(|d| d.name == c.name) {
                None => lines.push(format!("- view {name}: column {}", c.name)),
                Some(d) if d.kind != c.kind => lines.push(format!(
                    "~ view {name}: column {} {} → {}",
                    c.name, c.kind, d.kind
                )),
                Some(_) => {}
            }
        }
        for c in n
            .columns
            .iter()
            .filter(|c| !o.columns.iter().any(|d| d.name == c.name))
        {
            lines.push(format!("+ view {name}: column {} ({})", c.name, c.kind));
        }
        if o.description != n.description {
            lines.push(format!(
                "~ view {name}: description {} → {}",
                quoted(&o.description),
                quoted(&n.description)
            ));
        }
        if o.notice_text != n.notice_text {
            lines.push(format!(
                "~ view {name}: notice_text {} → {}",
                quoted(&o.notice_text),
                quoted(&n.notice_text)
            ));
        }
        if o.voxel_resolution != n.voxel_resolution {
            lines.push(format!(
                "~ view {name}: voxel_resolution {:?} → {:?}",
                o.voxel_resolution, n.voxel_resolution
            ));
        }
        if o.live_compatible != n.live_compatible {
            lines.push(format!(
                "~ view {name}: live_compatible {:?} → {:?}",
                o.live_compatible, n.live_compatible
            ));
        }
        if lines.len() == before && o.provenance != n.provenance {
            lines.push(format!("~ view {name}: provenance"));
        }
    }
    lines
}

fn tables(old: &BTreeMap<String, TableMeta>, new: &BTreeMap<String, TableMeta>) -> Vec<String> {
    let mut lines = Vec::new();
    for name in old.keys().filter(|t| !new.contains_key(*t)) {
        lines.push(format!("- {name}"));
    }
    for (name, n) in new {
        let Some(o) = old.get(name) else {
            let mut line = format!(
                "+ {name}: schema type {}",
                n.schema_type.as_deref().unwrap_or("unknown")
            );
            if let Some(target) = &n.reference_table {
                line.push_str(&format!(", reference to {target}"));
            }
            lines.push(line);
            continue;
        };
        let before = lines.len();
        let mut change = |what: &str, a: String, b: String| {
            lines.push(format!("~ {name}: {what} {a} → {b}"));
        };
        if o.schema_type != n.schema_type {
            change("schema type", opt(&o.schema_type), opt(&n.schema_type));
        }
        if o.reference_table != n.reference_table {
            change(
                "reference table",
                opt(&o.reference_table),
                opt(&n.reference_table),
            );
        }
        if o.description != n.description {
            change(
                "description",
                quoted(&o.description),
                quoted(&n.description),
            );
        }
        if o.notice_text != n.notice_text {
            change(
                "notice_text",
                quoted(&o.notice_text),
                quoted(&n.notice_text),
            );
        }
        if o.voxel_resolution != n.voxel_resolution {
            change(
                "voxel_resolution",
                format!("{:?}", o.voxel_resolution),
                format!("{:?}", n.voxel_resolution),
            );
        }
        if lines.len() == before && o.provenance != n.provenance {
            lines.push(format!(
                "~ {name}: provenance {:?} → {:?}",
                o.provenance, n.provenance
            ));
        }
    }
    lines
}

fn types(old: &TypeSet, new: &TypeSet) -> Vec<String> {
    let mut lines = Vec::new();
    for name in old.names().filter(|n| new.get(n).is_none()) {
        lines.push(format!("- {name}"));
    }
    for name in new.names() {
        let (Some(n), Some(nd)) = (new.get(name), new.get_doc(name)) else {
            continue;
        };
        let (Some(o), Some(od)) = (old.get(name), old.get_doc(name)) else {
            lines.push(format!("+ {name} ({} columns)", n.columns().len()));
            continue;
        };
        if od.document == nd.document {
            continue;
        }
        let before = lines.len();
        let old_columns = o.columns();
        let new_columns = n.columns();
        for c in &old_columns {
            match new_columns.iter().find(|x| x.name == c.name) {
                None => lines.push(format!("~ {name}: - column {} ({})", c.name, shape(c))),
                Some(x) if shape(x) != shape(c) => lines.push(format!(
                    "~ {name}: column {}: {} → {}",
                    c.name,
                    shape(c),
                    shape(x)
                )),
                Some(_) => {}
            }
        }
        for c in new_columns
            .iter()
            .filter(|c| !old_columns.iter().any(|x| x.name == c.name))
        {
            lines.push(format!("~ {name}: + column {} ({})", c.name, shape(c)));
        }
        if lines.len() == before {
            lines.push(format!("~ {name}: document changed, columns unchanged"));
        }
    }
    lines
}

/// `utf8, nullable` / `int64, not null`.
fn shape(c: &Column) -> String {
    format!(
        "{}, {}",
        c.wire.as_str(),
        if c.nullable { "nullable" } else { "not null" }
    )
}

fn value_sets(old: &Snapshot, new: &Snapshot) -> Vec<String> {
    let mut lines = Vec::new();
    let (o, n) = (&old.value_sets, &new.value_sets);
    for name in o
        .value_sets
        .keys()
        .filter(|s| !n.value_sets.contains_key(*s))
    {
        lines.push(format!("- {name}"));
    }
    for (name, ns) in &n.value_sets {
        match o.value_sets.get(name) {
            None => lines.push(format!("+ {name} ({} values)", ns.values.len())),
            Some(os) => value_set(&mut lines, name, os, ns, new),
        }
    }
    let mapping = |s: &Snapshot| -> BTreeMap<(String, String), String> {
        s.value_sets
            .columns
            .iter()
            .flat_map(|(t, cols)| {
                cols.iter()
                    .map(move |(c, set)| ((t.clone(), c.clone()), set.clone()))
            })
            .collect()
    };
    let (om, nm) = (mapping(old), mapping(new));
    for ((t, c), set) in &om {
        match nm.get(&(t.clone(), c.clone())) {
            None => lines.push(format!("- column {t}.{c} (was {set})")),
            Some(s) if s != set => lines.push(format!("~ column {t}.{c}: {set} → {s}")),
            Some(_) => {}
        }
    }
    for ((t, c), set) in nm.iter().filter(|(k, _)| !om.contains_key(*k)) {
        lines.push(format!("+ column {t}.{c} → {set}"));
    }
    lines
}

fn value_set(lines: &mut Vec<String>, name: &str, o: &ValueSet, n: &ValueSet, new: &Snapshot) {
    let used_by: Vec<String> = new
        .value_sets
        .columns
        .iter()
        .flat_map(|(t, cols)| {
            cols.iter()
                .filter(|(_, s)| s.as_str() == name)
                .map(move |(c, _)| format!("{t}.{c}"))
        })
        .collect();
    let of = if used_by.is_empty() {
        String::new()
    } else {
        format!(" ({})", used_by.join(", "))
    };
    for v in &o.values {
        if !n.values.iter().any(|x| x.value == v.value) {
            lines.push(format!("~ {name}{of}: - value {:?}", v.value));
        }
    }
    for v in &n.values {
        match o.values.iter().find(|x| x.value == v.value) {
            None => lines.push(format!(
                "~ {name}{of}: + value {:?} (new enum value from the server)",
                v.value
            )),
            Some(x) if x.doc != v.doc => {
                lines.push(format!("~ {name}: doc of {:?} changed", v.value));
            }
            Some(_) => {}
        }
    }
    let order = |s: &ValueSet| -> Vec<String> {
        s.values
            .iter()
            .filter(|v| o.values.iter().any(|x| x.value == v.value))
            .filter(|v| n.values.iter().any(|x| x.value == v.value))
            .map(|v| v.value.clone())
            .collect()
    };
    if order(o) != order(n) {
        lines.push(format!("~ {name}: values reordered"));
    }
    if o.doc != n.doc {
        lines.push(format!("~ {name}: doc changed"));
    }
    if o.provenance != n.provenance {
        lines.push(format!(
            "~ {name}: provenance {:?} → {:?}",
            o.provenance, n.provenance
        ));
    }
}

fn info(old: &Snapshot, new: &Snapshot) -> Vec<String> {
    let flat = |s: &Snapshot| -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        if let Ok(Value::Object(map)) = serde_json::to_value(&s.info) {
            for (k, v) in map {
                match v {
                    Value::Object(inner) => {
                        for (ik, iv) in inner {
                            out.insert(format!("{k}.{ik}"), iv);
                        }
                    }
                    v => {
                        out.insert(k, v);
                    }
                }
            }
        }
        out
    };
    let (o, n) = (flat(old), flat(new));
    let mut lines = Vec::new();
    for (k, v) in &o {
        match n.get(k) {
            None => lines.push(format!("- {k} (was {})", short(v))),
            Some(x) if x != v => lines.push(format!("~ {k}: {} → {}", short(v), short(x))),
            Some(_) => {}
        }
    }
    for (k, v) in n.iter().filter(|(k, _)| !o.contains_key(*k)) {
        lines.push(format!("+ {k}: {}", short(v)));
    }
    lines
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "null".into())
}

fn quoted(v: &Option<String>) -> String {
    match v {
        None => "null".into(),
        Some(s) => short(&Value::String(s.clone())),
    }
}

fn short(v: &Value) -> String {
    const MAX: usize = 70;
    let text = v.to_string();
    if text.chars().count() <= MAX {
        text
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_changes_are_one_line_each() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/minnie65_public");
        let old = Snapshot::load(dir).unwrap();
        let mut new = old.clone();
        let lookup = new.views.get_mut("nucleus_detection_lookup_v1").unwrap();
        lookup.columns.retain(|c| c.name != "orig_root_id");
        lookup.columns[1].kind = cave_wire::ViewColumnType::Number;
        new.views.remove("soma_counts");
        new.versions
            .iter_mut()
            .for_each(|v| v.views.retain(|n| n != "soma_counts"));
        let d = diff(&old, &new);
        let lines: Vec<String> = d.lines().collect();
        assert!(
            lines.contains(
                &"views: - view nucleus_detection_lookup_v1: column orig_root_id".to_string()
            ),
            "{lines:?}"
        );
        assert!(
            lines.contains(
                &"views: ~ view nucleus_detection_lookup_v1: column volume float → number"
                    .to_string()
            ),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"views: - view soma_counts".to_string()),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"views per version: - version 1300: view soma_counts".to_string()),
            "{lines:?}"
        );
        assert!(diff(&old, &old).is_empty());
    }
}
