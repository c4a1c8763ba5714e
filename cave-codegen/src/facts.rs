//! What the docs say about the generated items, as fields: built once from the [`Plan`], then
//! rendered as rustdoc by the emitter and as Markdown by the catalogue (`cave docs`). Neither
//! renderer parses the other's prose. Descriptions, notices and value docs from the services
//! are escaped here, once ([`escape`](crate::escape_doc)), so both outputs (Markdown, as
//! rustdoc is) show them as written; the generator's own reasons (why a table has no type or
//! no join) are kept as written, for each renderer to quote.

use cave_schema::columns::WireType;
use cave_schema::schema::EnumRepr;
use cave_schema::snapshot::Provenance;

use crate::doc::escape;
use crate::plan::{
    Absence, ColumnPlan, EnumPlan, EnumSource, FilterKind, Plan, Side, TablePlan, ValueType,
};

/// The facts of a whole plan: tables and enums in the plan's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// The datastack name.
    pub datastack: String,
    /// The pinned version, if any.
    pub version: Option<u32>,
    /// One per generated table, in the plan's order.
    pub tables: Vec<TableFacts>,
    /// One per generated enum, in the plan's order.
    pub enums: Vec<EnumFacts>,
    /// Tables of the selection without types: name and why.
    pub skipped: Vec<(String, String)>,
}

/// One table: its row struct, its module (`Filter`, `Column`).
#[derive(Debug, Clone, PartialEq)]
pub struct TableFacts {
    /// The table name.
    pub name: String,
    /// The row struct.
    pub rust_name: String,
    /// The module with `Filter` and `Column`.
    pub module: String,
    /// The table's description, escaped.
    pub description: Option<String>,
    /// Its schema type.
    pub schema_type: String,
    /// Where the schema type fact comes from, if the snapshot says.
    pub schema_type_provenance: Option<Provenance>,
    /// nm per voxel of its positions.
    pub voxel_resolution: [f64; 3],
    /// A reference table's target: joined, or why not.
    pub reference: Option<Reference>,
    /// The owners' notice, escaped.
    pub notice: Option<String>,
    /// The row's fields, in table order.
    pub columns: Vec<ColumnFacts>,
    /// The filter methods, in the order generated.
    pub filters: Vec<FilterFacts>,
    /// The variants of `Column` (for `select`).
    pub select: Vec<SelectFacts>,
    /// For a view, what is known of it; `None` for an annotation table.
    pub view: Option<ViewFacts>,
    /// Whether it has `synapse_query()` ([`TablePlan::is_synapse_table`]).
    pub synapse: bool,
    /// Whether it is the datastack's synapse table, aliased `Synapses`.
    pub synapses_alias: bool,
}

/// What the docs say of a view beyond a table's facts.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewFacts {
    /// Whether the live database can be queried through it, when known.
    pub live_compatible: Option<bool>,
    /// How its columns are known.
    pub columns_provenance: Option<Provenance>,
    /// The snapshot's note on its sources (escaped).
    pub note: Option<String>,
}

/// What a reference table's rows refer to.
#[derive(Debug, Clone, PartialEq)]
pub enum Reference {
    /// Queries join the target; each row carries its target row.
    Joined(TargetFacts),
    /// Queries return the table alone.
    Unjoined {
        /// The target table.
        table: String,
        /// Why it is not joined.
        reason: String,
    },
}

/// The target of a joined reference table.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetFacts {
    /// The target table.
    pub table: String,
    /// Its row struct.
    pub rust_name: String,
    /// The field of the row that holds the target row (without `r#`).
    pub field: String,
    /// The target's columns that arrive under another name in the join (`id` → `id_ref`):
    /// their wire names.
    pub renamed: Vec<String>,
}

/// One field of a row.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnFacts {
    /// The column name.
    pub name: String,
    /// The Rust field (identifier text, `r#type` for a keyword).
    pub field: String,
    /// The value type as docs show it, without `Option`.
    pub value_type: String,
    /// The generated enum of the values, if any.
    pub enum_name: Option<String>,
    /// Whether the value may be null (the field is an `Option`).
    pub nullable: bool,
    /// What the column holds: the schema's description (escaped), or what its role says.
    pub description: Option<String>,
    /// The column's type as the schema describes it.
    pub cave_type: String,
    /// How it travels.
    pub wire: WireType,
    /// Which sources leave the column out (`None` in their rows).
    pub absence: Absence,
}

impl ColumnFacts {
    /// The field's Rust type as docs show it: `Option<RootId>`.
    pub fn rust_type(&self) -> String {
        if self.nullable || self.absence != Absence::Never {
            format!("Option<{}>", self.value_type)
        } else {
            self.value_type.clone()
        }
    }
}

/// One filter method.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterFacts {
    /// The method name.
    pub method: String,
    /// What it filters.
    pub kind: FilterKind,
    /// The column it filters.
    pub column: String,
    /// The reference target whose column it is, if not the table's own.
    pub target: Option<String>,
}

/// One variant of a table's `Column`.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectFacts {
    /// The variant.
    pub variant: String,
    /// The column it selects.
    pub column: String,
    /// The reference target whose column it is, if not the table's own.
    pub target: Option<String>,
}

/// One enum.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumFacts {
    /// Its Rust name.
    pub rust_name: String,
    /// What the values classify (escaped).
    pub description: Option<String>,
    /// Where its values come from.
    pub source: EnumSource,
    /// How they travel.
    pub repr: EnumRepr,
    /// `(table, column)` pairs that use it.
    pub used_by: Vec<(String, String)>,
    /// The known values.
    pub variants: Vec<VariantFacts>,
}

/// One known value of an enum.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantFacts {
    /// The variant name.
    pub ident: String,
    /// The value as the server sends it.
    pub value: String,
    /// What it means (escaped).
    pub description: Option<String>,
}

/// Escaped, trimmed text, or `None` when there is none.
fn text(s: Option<&str>) -> Option<String> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(escape)
}

impl Facts {
    /// The facts of `plan`.
    pub fn new(plan: &Plan) -> Facts {
        Facts {
            datastack: plan.datastack.clone(),
            version: plan.version,
            tables: plan.tables.iter().map(|t| table(plan, t)).collect(),
            enums: plan.enums.iter().map(enum_facts).collect(),
            skipped: plan.skipped.clone(),
        }
    }
}

fn table(plan: &Plan, t: &TablePlan) -> TableFacts {
    let target_name = t.target.as_ref().map(|x| x.table.clone());
    let on = |side: Side| match side {
        Side::Table => None,
        Side::Target => target_name.clone(),
    };
    let reference = match (&t.target, &t.unmerged_reason) {
        (Some(target), _) => {
            let target_columns = plan
                .tables
                .iter()
                .find(|p| p.name == target.table)
                .map(|p| p.columns.as_slice())
                .unwrap_or_default();
            Some(Reference::Joined(TargetFacts {
                table: target.table.clone(),
                rust_name: target.rust_name.clone(),
                field: target.field.trim_start_matches("r#").to_string(),
                renamed: target
                    .wire_names
                    .iter()
                    .zip(target_columns)
                    .filter(|(wire, c)| **wire != c.column.name)
                    .map(|(wire, _)| wire.clone())
                    .collect(),
            }))
        }
        (None, Some(why)) => Some(Reference::Unjoined {
            table: t.meta.reference_table.clone().unwrap_or_default(),
            reason: why.clone(),
        }),
        (None, None) => None,
    };
    TableFacts {
        name: t.name.clone(),
        rust_name: t.rust_name.clone(),
        module: t.module.clone(),
        description: text(t.meta.description.as_deref()),
        schema_type: t.schema_type.clone(),
        schema_type_provenance: t.meta.provenance.schema_type,
        voxel_resolution: t.meta.voxel_resolution,
        reference,
        notice: text(t.meta.notice_text.as_deref()),
        columns: t.columns.iter().map(column).collect(),
        filters: t
            .filters
            .iter()
            .map(|m| FilterFacts {
                method: m.name.clone(),
                kind: m.kind,
                column: m.column.clone(),
                target: on(m.side),
            })
            .collect(),
        select: t
            .select
            .iter()
            .map(|s| SelectFacts {
                variant: s.variant.clone(),
                column: s.column.clone(),
                target: on(s.side),
            })
            .collect(),
        view: t.view.as_ref().map(|v| ViewFacts {
            live_compatible: v.meta.live_compatible,
            columns_provenance: v.meta.provenance.columns,
            note: text(v.meta.provenance.note.as_deref()),
        }),
        synapse: t.is_synapse_table(),
        synapses_alias: plan.synapse_table.as_ref() == Some(&t.name),
    }
}

fn column(c: &ColumnPlan) -> ColumnFacts {
    ColumnFacts {
        name: c.column.name.clone(),
        field: c.field.clone(),
        value_type: c.ty.display(),
        enum_name: match &c.ty {
            ValueType::Enum(name, _) => Some(name.clone()),
            _ => None,
        },
        nullable: c.column.nullable,
        description: c.column.description_with(escape),
        cave_type: c.cave_type.clone(),
        wire: c.column.wire,
        absence: c.absence(),
    }
}

fn enum_facts(e: &EnumPlan) -> EnumFacts {
    EnumFacts {
        rust_name: e.rust_name.clone(),
        description: text(e.doc.as_deref()),
        source: e.source.clone(),
        repr: e.repr,
        used_by: e.used_by.clone(),
        variants: e
            .variants
            .iter()
            .map(|v| VariantFacts {
                ident: v.ident.clone(),
                value: v.value.to_string(),
                description: text(v.doc.as_deref()),
            })
            .collect(),
    }
}
