//! The rustdoc of generated items, rendered from [`facts`](crate::facts): one paragraph per
//! fact, joined by blank lines. (The filter methods' docs are the runtime's, stamped with the
//! methods.)

use cave_schema::columns::WireType;

use crate::doc::escape;
use crate::facts::{
    ColumnFacts, EnumFacts, Facts, Reference, SelectFacts, TableFacts, TargetFacts,
};
use crate::plan::{Absence, OTHER_VARIANT};

fn paragraphs(lines: Vec<String>) -> String {
    lines.join("\n\n")
}

/// `text` as a Markdown code span (backslash escapes do not work inside one; a backtick in
/// the text needs a longer fence).
pub fn code_span(text: &str) -> String {
    let one_line = text.replace(['\n', '\r'], " ");
    if one_line.contains('`') {
        format!("`` {one_line} ``")
    } else if one_line.is_empty() {
        "(empty)".to_string()
    } else {
        format!("`{one_line}`")
    }
}

/// `DATASTACK`.
pub fn datastack(facts: &Facts) -> String {
    format!("The datastack these types describe: `{}`.", facts.datastack)
}

/// `VERSION`.
pub fn version(facts: &Facts) -> String {
    match facts.version {
        Some(v) => format!(
            "The materialization version the types were generated for (`version = {v}`); \
             queries use it unless they set another."
        ),
        None => "The materialization version the types were generated for: none pinned \
                 (every table of the snapshot)."
            .to_string(),
    }
}

/// `TABLES`.
pub fn tables(facts: &Facts) -> String {
    let mut lines = vec!["The tables with generated types, sorted.".to_string()];
    if !facts.skipped.is_empty() {
        let list: Vec<String> = facts
            .skipped
            .iter()
            .map(|(t, why)| format!("{} ({})", code_span(t), escape(why)))
            .collect();
        lines.push(format!("Tables without types: {}.", list.join("; ")));
    }
    paragraphs(lines)
}

/// `VIEWS`.
pub fn views() -> String {
    "The views with generated types, sorted: stored queries of the server, queried at a \
     materialization version (never live)."
        .to_string()
}

/// The kind of a table's facts, as docs name it: `table` or `view`.
fn kind(t: &TableFacts) -> &'static str {
    if t.view.is_some() { "view" } else { "table" }
}

/// The row struct.
pub fn table(t: &TableFacts) -> String {
    let mut lines = Vec::new();
    lines.push(match &t.description {
        Some(d) => format!("A row of {} `{}`: {d}", kind(t), t.name),
        None => format!("A row of {} `{}`.", kind(t), t.name),
    });
    let [x, y, z] = t.voxel_resolution;
    match &t.view {
        None => lines.push(format!(
            "Schema type `{}`; positions in voxels of {x} × {y} × {z} nm.",
            t.schema_type
        )),
        Some(v) => {
            lines.push(format!(
                "A view: a stored query of the materialization service, queried at a \
                 version (never live); positions in voxels of {x} × {y} × {z} nm. Its columns \
                 come from the view's schema; all may be null.{}",
                match v.live_compatible {
                    Some(true) => " The server marks it live-compatible.",
                    _ => "",
                }
            ));
            if let Some(note) = &v.note {
                lines.push(format!("Snapshot note: {note}"));
            }
        }
    }
    match &t.reference {
        Some(Reference::Joined(target)) => lines.push(format!(
            "A reference table: each row annotates a row of `{}` (`target_id` = its `id`). \
             Queries join the two, so each row carries its target in `{}`, and filters may use \
             the target's columns.",
            target.table, target.field
        )),
        Some(Reference::Unjoined { reason, .. }) => lines.push(format!(
            "A reference table queried without its target: {}.",
            escape(reason)
        )),
        None => {}
    }
    if let Some(notice) = &t.notice {
        lines.push(format!("Owner's notice: {notice}"));
    }
    lines.push(format!("Query it with `{}::filter()`.", t.rust_name));
    paragraphs(lines)
}

/// `X::filter()`.
pub fn filter_fn(t: &TableFacts) -> String {
    format!(
        "Start a query of `{}`: chain filters, then run it with `.query(&client)`.",
        t.name
    )
}

/// A synapse table's `synapse_query()`.
pub fn synapse_query_fn(table: &str) -> String {
    format!(
        "Start a synapse query of `{table}` (caveclient's `synapse_query`): `.pre(root)`, \
         `.post_in(roots)`, `.bounding_box(min, max)`, more filters with `.filter(..)`, then \
         `.query(&client)`. Synapses to or from root 0 and autapses are left out unless asked \
         for (`cave_runtime::SynapseQuery`)."
    )
}

/// The alias of the datastack's synapse table.
pub fn synapses_alias(table: &str, rust_name: &str) -> String {
    format!(
        "The datastack's synapse table, `{table}` (its info record's `synapse_table`, the \
         table caveclient's `synapse_query` uses): `Synapses::synapse_query()` is \
         [`{rust_name}::synapse_query`]."
    )
}

/// The table's module.
pub fn module(t: &TableFacts) -> String {
    format!(
        "The filter builder and column list of {} `{}`.",
        kind(t),
        t.name
    )
}

fn wire_label(c: &ColumnFacts) -> String {
    match c.wire {
        WireType::Position => format!("three `int32` columns `{0}_x`, `{0}_y`, `{0}_z`", c.name),
        WireType::Float32 => "`float` (float32)".to_string(),
        WireType::Float64 => "`double` (float64)".to_string(),
        WireType::Timestamp => "`timestamp[ns, tz=UTC]`".to_string(),
        WireType::Utf8 => "`string`".to_string(),
        w => format!("`{}`", w.as_str()),
    }
}

/// A row field.
pub fn column(c: &ColumnFacts) -> String {
    let mut lines = Vec::new();
    lines.extend(c.description.clone());
    let mut facts = format!(
        "Column `{}`; CAVE type: {}; wire: {}",
        c.name,
        c.cave_type,
        wire_label(c)
    );
    if c.nullable {
        facts.push_str("; may be null");
    }
    match c.absence {
        Absence::Never => {}
        Absence::JoinsAndExports => facts.push_str(
            "; `None` in joined rows and in rows read from CAVE's Delta Lake exports (both drop \
             this column)",
        ),
        Absence::Exports => facts.push_str(
            "; an `Option` only because CAVE's Delta Lake exports drop this column (`None` in \
             their rows): every materialization query fills it",
        ),
    }
    facts.push('.');
    lines.push(facts);
    paragraphs(lines)
}

/// The field that holds a reference row's target.
pub fn target_field(t: &TargetFacts) -> String {
    format!(
        "The `{}` row this annotation refers to (its `id` is `target_id`), joined by the \
         server. Its `superceded_id` is `None`: joins drop that column.",
        t.table
    )
}

/// The `Column` enum.
pub fn column_enum(t: &TableFacts) -> String {
    format!("The columns of `{}`, for `Filter::select`.", t.name)
}

/// A variant of `Column`.
pub fn select_variant(s: &SelectFacts) -> String {
    match &s.target {
        Some(target) if s.column == "id" => format!(
            "Column `id` of the referenced `{target}` row (the value of `target_id`; it \
             comes as `id_ref` when the table's own `id` is selected too)."
        ),
        Some(target) => format!("Column `{}` of the referenced `{target}` row.", s.column),
        None => format!("Column `{}`.", s.column),
    }
}

/// An enum.
pub fn enum_doc(e: &EnumFacts) -> String {
    let mut lines = Vec::new();
    lines.push(
        e.description
            .clone()
            .unwrap_or_else(|| "The values of a column.".to_string()),
    );
    let users: Vec<String> = e
        .used_by
        .iter()
        .map(|(t, c)| format!("`{t}.{c}`"))
        .collect();
    lines.push(format!("Used by {}.", users.join(", ")));
    lines.push(format!(
        "Values the snapshot does not know decode as `{}::{}`, so a server that adds values \
         before the snapshot is refreshed still decodes.",
        e.rust_name, OTHER_VARIANT
    ));
    paragraphs(lines)
}

/// A known variant of an enum: its wire value, and what it means.
pub fn variant(value: &str, description: Option<&str>) -> String {
    let mut d = code_span(value);
    if let Some(text) = description {
        d.push_str(": ");
        d.push_str(text);
    }
    d
}
