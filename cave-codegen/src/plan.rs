//! What will be generated, decided before any tokens are written: which tables, their Rust
//! names, field types, filter methods and enums. The token emitter and the Markdown catalogue
//! both read this plan, so the docs always name what the code has.

use std::collections::{BTreeMap, BTreeSet};

use cave_schema::columns::{Column, ColumnRole, WireType};
use cave_schema::schema::{EnumRepr, EnumValue, FieldKind, SchemaType};
use cave_schema::snapshot::{Snapshot, TableMeta, TableProvenance, ViewMeta};
use cave_schema::suggest::did_you_mean;

use crate::naming::{Names, ident_text, method_base, snake, upper_camel, words};
use crate::{CodegenError, Options};

/// Everything to generate for one datastack.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The datastack name.
    pub datastack: String,
    /// The pinned materialization version, if any.
    pub version: Option<u32>,
    /// The tables, sorted by name, then the views, sorted by name.
    pub tables: Vec<TablePlan>,
    /// The enums, sorted by Rust name.
    pub enums: Vec<EnumPlan>,
    /// Tables (and views) of the selection that get no types, with why.
    pub skipped: Vec<(String, String)>,
    /// The datastack's synapse table (its info record's `synapse_table`), when it is among
    /// the tables and has the columns of a synapse query ([`TablePlan::is_synapse_table`]):
    /// aliased as `Synapses`, unless a table or enum already has that name.
    pub synapse_table: Option<String>,
}

/// The alias of the datastack's synapse table.
pub const SYNAPSES_ALIAS: &str = "Synapses";

/// What a view adds to its plan (a view is planned as a table without schema type).
#[derive(Debug, Clone)]
pub struct ViewPlan {
    /// Its snapshot entry (columns, provenance, notes).
    pub meta: ViewMeta,
}

/// One table.
#[derive(Debug, Clone)]
pub struct TablePlan {
    /// The table name.
    pub name: String,
    /// The row struct's name.
    pub rust_name: String,
    /// The name of its module (filter builder and column list).
    pub module: String,
    /// Its schema type (empty for a view).
    pub schema_type: String,
    /// Its metadata (for a view: description, notice and resolution of the view).
    pub meta: TableMeta,
    /// For a view: what the view is; `None` for an annotation table.
    pub view: Option<ViewPlan>,
    /// Its columns, in table order.
    pub columns: Vec<ColumnPlan>,
    /// The reference target whose row each row carries (a join), if any.
    pub target: Option<TargetPlan>,
    /// Why a reference table is not joined with its target, if it is one and is not.
    pub unmerged_reason: Option<String>,
    /// The filter builder's column methods.
    pub filters: Vec<FilterMethod>,
    /// The variants of the table's column enum (for `select`).
    pub select: Vec<SelectColumn>,
}

impl TablePlan {
    /// Whether a synapse query runs on it (`cave_runtime::SynapseTable`): an annotation
    /// table, not a reference, with root ids `pre_pt_root_id` and `post_pt_root_id` and a
    /// point `post_pt_position`.
    pub fn is_synapse_table(&self) -> bool {
        let has = |name: &str, ty: ValueType| {
            self.columns
                .iter()
                .any(|c| c.column.name == name && c.ty == ty)
        };
        self.view.is_none()
            && self.target.is_none()
            && has("pre_pt_root_id", ValueType::RootId)
            && has("post_pt_root_id", ValueType::RootId)
            && has("post_pt_position", ValueType::Position)
    }
}

/// The target of a reference table.
#[derive(Debug, Clone)]
pub struct TargetPlan {
    /// The target table's name.
    pub table: String,
    /// The target row struct's name.
    pub rust_name: String,
    /// The field of the row that holds the target row.
    pub field: String,
    /// The wire names of the target's columns in the join (shared names get `_ref`).
    pub wire_names: Vec<String>,
}

/// One column of a table.
#[derive(Debug, Clone)]
pub struct ColumnPlan {
    /// The column.
    pub column: Column,
    /// The field identifier (`r#type` for a keyword).
    pub field: String,
    /// The Rust type of a value.
    pub ty: ValueType,
    /// What the schema says the column is (its CAVE type), for docs.
    pub cave_type: String,
}

/// Which sources leave a bookkeeping column out of their rows. Such a field is an `Option`
/// (`None` where the column is missing), even where the service always fills it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absence {
    /// Every source has the column.
    Never,
    /// `superceded_id`: joins and CAVE's Delta Lake exports drop it.
    JoinsAndExports,
    /// `created`: CAVE's Delta Lake exports drop it; every materialization query has it.
    Exports,
}

impl ColumnPlan {
    /// Which sources leave this column out.
    pub fn absence(&self) -> Absence {
        match (self.column.role, self.column.name.as_str()) {
            (ColumnRole::Bookkeeping, "superceded_id") => Absence::JoinsAndExports,
            (ColumnRole::Bookkeeping, "created") => Absence::Exports,
            _ => Absence::Never,
        }
    }

    /// Whether the field is an `Option`: the column is nullable or some source leaves it out.
    pub fn optional(&self) -> bool {
        self.column.nullable || self.absence() != Absence::Never
    }
}

/// The Rust type of a column's values (wrapped in `Option` when the column is nullable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueType {
    /// `AnnotationId`.
    AnnotationId,
    /// `RootId`.
    RootId,
    /// `SupervoxelId`.
    SupervoxelId,
    /// `i64`.
    Int64,
    /// `i32`.
    Int32,
    /// `f32`.
    Float32,
    /// `f64` (the floats of views).
    Float64,
    /// `bool`.
    Bool,
    /// `String`.
    String,
    /// `Timestamp`.
    Timestamp,
    /// `Position`.
    Position,
    /// A generated enum, by Rust name, and how it travels.
    Enum(String, EnumRepr),
}

impl ValueType {
    /// The type as the docs show it.
    pub fn display(&self) -> String {
        match self {
            ValueType::AnnotationId => "AnnotationId".into(),
            ValueType::RootId => "RootId".into(),
            ValueType::SupervoxelId => "SupervoxelId".into(),
            ValueType::Int64 => "i64".into(),
            ValueType::Int32 => "i32".into(),
            ValueType::Float32 => "f32".into(),
            ValueType::Float64 => "f64".into(),
            ValueType::Bool => "bool".into(),
            ValueType::String => "String".into(),
            ValueType::Timestamp => "Timestamp".into(),
            ValueType::Position => "Position".into(),
            ValueType::Enum(name, _) => name.clone(),
        }
    }
}

pub use cave_wire::FilterKind;

/// The method name suffix of a filter kind: `col`, `col_in`, ..., `col_bbox`.
fn method_suffix(kind: FilterKind) -> &'static str {
    match kind {
        FilterKind::Equal => "",
        FilterKind::In => "_in",
        FilterKind::NotIn => "_not_in",
        FilterKind::Greater => "_gt",
        FilterKind::GreaterEqual => "_ge",
        FilterKind::Less => "_lt",
        FilterKind::LessEqual => "_le",
        FilterKind::Regex => "_regex",
        FilterKind::Spatial => "_bbox",
    }
}

/// The filter kinds a column of type `ty` offers, in the order their methods are generated.
fn kinds_for(ty: &ValueType, column: &Column) -> &'static [FilterKind] {
    use FilterKind::*;
    if column.role == ColumnRole::Bookkeeping {
        // `valid` is always true in results, `superceded_id` always null, and `created`
        // is not filterable through the table API.
        return &[];
    }
    match ty {
        ValueType::AnnotationId
        | ValueType::Int64
        | ValueType::Int32
        | ValueType::Float32
        | ValueType::Float64 => &[Equal, In, NotIn, Greater, GreaterEqual, Less, LessEqual],
        ValueType::RootId | ValueType::SupervoxelId => &[Equal, In, NotIn],
        ValueType::Bool => &[Equal],
        ValueType::String | ValueType::Enum(_, EnumRepr::Utf8) => &[Equal, In, NotIn, Regex],
        ValueType::Enum(..) => &[Equal, In, NotIn],
        ValueType::Position => &[Spatial],
        ValueType::Timestamp => &[],
    }
}

/// Which table of the query a filter or column is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The table itself.
    Table,
    /// A reference table's target.
    Target,
}

/// One column method of a filter builder.
#[derive(Debug, Clone)]
pub struct FilterMethod {
    /// The method identifier.
    pub name: String,
    /// What it filters.
    pub kind: FilterKind,
    /// Which table's column.
    pub side: Side,
    /// The column name (as the server knows it).
    pub column: String,
    /// The column's value type.
    pub ty: ValueType,
}

/// One variant of a table's column enum.
#[derive(Debug, Clone)]
pub struct SelectColumn {
    /// The variant name.
    pub variant: String,
    /// Which table's column.
    pub side: Side,
    /// The column name.
    pub column: String,
}

/// A generated enum.
#[derive(Debug, Clone)]
pub struct EnumPlan {
    /// Its Rust name.
    pub rust_name: String,
    /// How its values travel.
    pub repr: EnumRepr,
    /// Where it comes from.
    pub source: EnumSource,
    /// What the values classify.
    pub doc: Option<String>,
    /// The known values.
    pub variants: Vec<VariantPlan>,
    /// `(table, column)` pairs that use it.
    pub used_by: Vec<(String, String)>,
}

/// Where an enum's values come from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum EnumSource {
    /// A `OneOf` field of a schema type.
    Schema {
        /// The schema type.
        schema_type: String,
        /// The column.
        column: String,
    },
    /// A value set of the snapshot.
    ValueSet(String),
}

/// One known value of an enum.
#[derive(Debug, Clone)]
pub struct VariantPlan {
    /// The variant name.
    pub ident: String,
    /// The value as the server sends it.
    pub value: EnumValue,
    /// What it means, when the snapshot says.
    pub doc: Option<String>,
}

/// The variant of every enum that holds values the snapshot does not know.
pub const OTHER_VARIANT: &str = "Other";

/// Method names of every filter builder; a column method that would clash is numbered.
pub const BUILDER_METHODS: &[&str] = &[
    "new",
    "default",
    "clone",
    "fmt",
    "select",
    "limit",
    "offset",
    "desired_resolution",
    "timestamp",
    "version",
    "random_sample",
    "into_query",
    "live_query",
    "query",
    "stream",
    "batches",
];

impl Plan {
    /// Decide what to generate for `snapshot` under `options`.
    pub fn new(snapshot: &Snapshot, options: &Options) -> Result<Plan, CodegenError> {
        let selected = select_tables(snapshot, options)?;
        let mut skipped = Vec::new();
        let mut typed: BTreeMap<String, &SchemaType> = BTreeMap::new();
        let mut views: BTreeMap<String, &ViewMeta> = BTreeMap::new();
        for (name, explicit) in &selected {
            if let Some(view) = is_view(snapshot, name) {
                if !view.columns.is_empty() {
                    views.insert(name.clone(), view);
                    continue;
                }
                let reason = "a view whose columns the snapshot does not know".to_string();
                if let Some(index) = explicit {
                    return Err(CodegenError::UntypedTable {
                        index: *index,
                        table: name.clone(),
                        reason,
                    });
                }
                skipped.push((name.clone(), reason));
                continue;
            }
            match snapshot.schema_of(name) {
                Some(t) => {
                    typed.insert(name.clone(), t);
                }
                None => {
                    let meta = snapshot.table(name);
                    let reason = match meta.and_then(|m| m.schema_type.as_deref()) {
                        None => "the snapshot does not know its schema type".to_string(),
                        Some(t) => format!("its schema type `{t}` is not in the snapshot"),
                    };
                    if let Some(index) = explicit {
                        return Err(CodegenError::UntypedTable {
                            index: *index,
                            table: name.clone(),
                            reason,
                        });
                    }
                    skipped.push((name.clone(), reason));
                }
            }
        }
        // Reference targets come along, so that rows can carry them.
        let mut targets = BTreeMap::new();
        for (name, t) in &typed {
            let reference = snapshot
                .table(name)
                .and_then(|m| m.reference_table.clone())
                .filter(|r| !r.is_empty());
            if let (true, Some(target)) = (t.is_reference(), reference) {
                targets.insert(name.clone(), target);
            }
        }
        let mut unmerged: BTreeMap<String, String> = BTreeMap::new();
        for (name, target) in &targets {
            match snapshot.schema_of(target) {
                Some(tt) if !tt.is_reference() => {
                    typed.entry(target.clone()).or_insert(tt);
                }
                Some(_) => {
                    unmerged.insert(
                        name.clone(),
                        format!("its target `{target}` is itself a reference table, which the server does not join"),
                    );
                }
                None => {
                    unmerged.insert(
                        name.clone(),
                        format!("the snapshot has no schema type for its target `{target}`"),
                    );
                }
            }
        }

        // Names: structs first (by table name), then enums.
        let mut types = Names::default();
        let mut modules = Names::default();
        let mut struct_names = BTreeMap::new();
        let mut module_names = BTreeMap::new();
        for name in typed.keys().chain(views.keys()) {
            struct_names.insert(name.clone(), types.claim(&upper_camel(name)));
            module_names.insert(name.clone(), ident_text(&modules.claim(&snake(name))));
        }
        let mut enums = EnumBuilder::default();
        for (name, t) in &typed {
            for column in t.columns() {
                enums.note(snapshot, name, Some(t), &column);
            }
        }
        for (name, view) in &views {
            for column in view.columns() {
                enums.note(snapshot, name, None, &column);
            }
        }
        let enums = enums.finish(&mut types);

        let mut tables = Vec::new();
        for (name, t) in &typed {
            let meta = snapshot
                .table(name)
                .cloned()
                .ok_or_else(|| CodegenError::Internal(format!("table `{name}` vanished")))?;
            let columns = column_plans(snapshot, name, Some(t), t.columns(), &enums);
            let target = targets
                .get(name)
                .filter(|_| !unmerged.contains_key(name))
                .map(|target_name| {
                    let target_type = typed[target_name];
                    (target_name.clone(), target_type)
                });
            tables.push(table_plan(
                name,
                TableNaming {
                    struct_names: &struct_names,
                    module: module_names[name].clone(),
                },
                t.name.clone(),
                meta,
                columns,
                target.map(|(n, tt)| {
                    let target_columns = column_plans(snapshot, &n, Some(tt), tt.columns(), &enums);
                    (n, target_columns)
                }),
                unmerged.get(name).cloned(),
            ));
        }
        for (name, view) in &views {
            let meta = TableMeta {
                schema_type: None,
                reference_table: None,
                description: view.description.clone(),
                notice_text: view.notice_text.clone(),
                voxel_resolution: view.voxel_resolution,
                provenance: TableProvenance {
                    schema_type: None,
                    description: view.provenance.description,
                },
            };
            let columns = column_plans(snapshot, name, None, view.columns(), &enums);
            let mut plan = table_plan(
                name,
                TableNaming {
                    struct_names: &struct_names,
                    module: module_names[name].clone(),
                },
                String::new(),
                meta,
                columns,
                None,
                None,
            );
            plan.view = Some(ViewPlan {
                meta: (*view).clone(),
            });
            tables.push(plan);
        }
        let mut enums: Vec<EnumPlan> = enums.into_values().collect();
        enums.sort_by(|a, b| a.rust_name.cmp(&b.rust_name));
        let taken = tables
            .iter()
            .map(|t| &t.rust_name)
            .chain(enums.iter().map(|e| &e.rust_name));
        let alias_free = !taken.into_iter().any(|n| n == SYNAPSES_ALIAS);
        let synapse_table = snapshot
            .info
            .synapse_table
            .as_ref()
            .filter(|name| {
                alias_free
                    && tables
                        .iter()
                        .any(|t| &t.name == *name && t.is_synapse_table())
            })
            .cloned();
        Ok(Plan {
            datastack: snapshot.manifest.datastack.clone(),
            version: options.version,
            tables,
            enums,
            skipped,
            synapse_table,
        })
    }

    /// The enum called `name`.
    pub fn enum_named(&self, name: &str) -> Option<&EnumPlan> {
        self.enums.iter().find(|e| e.rust_name == name)
    }
}

/// The view `name`, when it is one (and not also a table).
fn is_view<'s>(snapshot: &'s Snapshot, name: &str) -> Option<&'s ViewMeta> {
    match snapshot.tables.contains_key(name) {
        true => None,
        false => snapshot.view(name),
    }
}

/// The tables and views to consider: `(name, index in the user's list when they named it)`.
fn select_tables(
    snapshot: &Snapshot,
    options: &Options,
) -> Result<Vec<(String, Option<usize>)>, CodegenError> {
    let candidates: Vec<String> = match options.version {
        Some(v) => match snapshot.version(v) {
            Some(version) => version
                .tables
                .iter()
                .chain(&version.views)
                .cloned()
                .collect(),
            None => {
                return Err(CodegenError::UnknownVersion {
                    version: v,
                    known: snapshot.versions.iter().map(|v| v.version).collect(),
                });
            }
        },
        None => snapshot
            .tables
            .keys()
            .chain(snapshot.views.keys())
            .cloned()
            .collect(),
    };
    let Some(wanted) = &options.tables else {
        return Ok(candidates.into_iter().map(|t| (t, None)).collect());
    };
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (index, name) in wanted.iter().enumerate() {
        if !candidates.contains(name) {
            let known = snapshot.tables.contains_key(name) || snapshot.views.contains_key(name);
            return Err(CodegenError::UnknownTable {
                index,
                table: name.clone(),
                detail: match (known, options.version) {
                    (true, Some(v)) => format!("is not in materialization version {v}"),
                    _ => format!(
                        "is not a table or view of `{}`{}",
                        snapshot.manifest.datastack,
                        did_you_mean(name, &candidates)
                    ),
                },
            });
        }
        if seen.insert(name.clone()) {
            out.push((name.clone(), Some(index)));
        }
    }
    Ok(out)
}

#[derive(Default)]
struct EnumBuilder {
    /// By source.
    found: BTreeMap<EnumSource, EnumPlan>,
}

impl EnumBuilder {
    fn note(&mut self, snapshot: &Snapshot, table: &str, t: Option<&SchemaType>, column: &Column) {
        let Some(source) = enum_source(snapshot, table, t, column) else {
            return;
        };
        if !self.found.contains_key(&source) {
            let Some(plan) = new_enum(snapshot, t, column, &source) else {
                return;
            };
            self.found.insert(source.clone(), plan);
        }
        if let Some(e) = self.found.get_mut(&source) {
            e.used_by.push((table.to_string(), column.name.clone()));
        }
    }

    /// Claim enum names (after the structs) and variant names.
    fn finish(self, types: &mut Names) -> BTreeMap<EnumSource, EnumPlan> {
        let mut by_name: Vec<EnumPlan> = self.found.into_values().collect();
        by_name.sort_by(|a, b| (&a.rust_name, &a.source).cmp(&(&b.rust_name, &b.source)));
        let mut out = BTreeMap::new();
        for mut e in by_name {
            e.rust_name = types.claim(&e.rust_name);
            let mut variants = Names::with_reserved(&[OTHER_VARIANT]);
            for v in &mut e.variants {
                let base = match &v.value {
                    EnumValue::Str(s) => upper_camel(s),
                    EnumValue::Int(i) if *i < 0 => format!("VMinus{}", i.unsigned_abs()),
                    EnumValue::Int(i) => format!("V{i}"),
                };
                v.ident = variants.claim(&base);
            }
            e.used_by.sort();
            e.used_by.dedup();
            out.insert(e.source.clone(), e);
        }
        out
    }
}

/// The enum of `source`, before names are claimed.
fn new_enum(
    snapshot: &Snapshot,
    t: Option<&SchemaType>,
    column: &Column,
    source: &EnumSource,
) -> Option<EnumPlan> {
    let (rust_name, repr, doc, variants) = match source {
        EnumSource::ValueSet(name) => {
            let set = snapshot.value_sets.value_sets.get(name)?;
            let variants = set
                .values
                .iter()
                .map(|v| (EnumValue::Str(v.value.clone()), Some(v.doc.clone())))
                .collect::<Vec<_>>();
            (
                upper_camel(name),
                EnumRepr::Utf8,
                Some(set.doc.clone()),
                variants,
            )
        }
        EnumSource::Schema { .. } => {
            let field = column.field.as_ref()?;
            let FieldKind::Enum(e) = &field.kind else {
                return None;
            };
            let variants = e.values.iter().map(|v| (v.clone(), None)).collect();
            (
                schema_enum_name(t?, &column.name),
                e.repr,
                field.description.clone(),
                variants,
            )
        }
    };
    Some(EnumPlan {
        rust_name,
        repr,
        source: source.clone(),
        doc,
        variants: variants
            .into_iter()
            .map(|(value, doc)| VariantPlan {
                ident: String::new(),
                value,
                doc,
            })
            .collect(),
        used_by: Vec::new(),
    })
}

/// Where a column's enum comes from: a value set (curated, with docs) wins over the schema.
fn enum_source(
    snapshot: &Snapshot,
    table: &str,
    t: Option<&SchemaType>,
    column: &Column,
) -> Option<EnumSource> {
    if column.wire == WireType::Utf8
        && let Some((name, _)) = snapshot.value_set(table, &column.name)
    {
        return Some(EnumSource::ValueSet(name.to_string()));
    }
    match column.field.as_ref().map(|f| &f.kind) {
        Some(FieldKind::Enum(_)) => Some(EnumSource::Schema {
            schema_type: t?.name.clone(),
            column: column.name.clone(),
        }),
        _ => None,
    }
}

/// `compartment_proofread_status` + `status_axon` → `CompartmentProofreadStatusAxon`: the type's
/// words, then the column's words without those that repeat the type's last words.
fn schema_enum_name(t: &SchemaType, column: &str) -> String {
    let type_words: Vec<String> = words(&t.name)
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let column_words: Vec<String> = words(column)
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let mut skip = 0;
    for k in (1..=column_words.len().min(type_words.len())).rev() {
        if type_words[type_words.len() - k..] == column_words[..k] {
            skip = k;
            break;
        }
    }
    let mut all = type_words;
    all.extend(column_words[skip..].iter().cloned());
    upper_camel(&all.join("_"))
}

fn column_plans(
    snapshot: &Snapshot,
    table: &str,
    t: Option<&SchemaType>,
    columns: Vec<Column>,
    enums: &BTreeMap<EnumSource, EnumPlan>,
) -> Vec<ColumnPlan> {
    let mut fields = Names::default();
    let view = t.is_none().then(|| snapshot.view(table)).flatten();
    columns
        .into_iter()
        .map(|column| {
            let ty = match enum_source(snapshot, table, t, &column).and_then(|s| enums.get(&s)) {
                Some(e) => ValueType::Enum(e.rust_name.clone(), e.repr),
                None => value_type(&column),
            };
            let field = ident_text(&fields.claim(&snake(&column.name)));
            let cave_type =
                match view.and_then(|v| v.columns.iter().find(|c| c.name == column.name)) {
                    Some(c) => format!("view column: {}", c.kind),
                    None => cave_type(&column),
                };
            ColumnPlan {
                column,
                field,
                ty,
                cave_type,
            }
        })
        .collect()
}

fn value_type(column: &Column) -> ValueType {
    match (column.wire, column.role) {
        (WireType::Int64, ColumnRole::AnnotationId | ColumnRole::ReferenceTarget) => {
            ValueType::AnnotationId
        }
        (WireType::Int64, ColumnRole::Bookkeeping) if column.name == "superceded_id" => {
            ValueType::AnnotationId
        }
        (WireType::Int64, ColumnRole::RootId) => ValueType::RootId,
        (WireType::Int64, ColumnRole::SupervoxelId) => ValueType::SupervoxelId,
        (WireType::Int64, _) => ValueType::Int64,
        (WireType::Int32, _) => ValueType::Int32,
        (WireType::Float32, _) => ValueType::Float32,
        (WireType::Float64, _) => ValueType::Float64,
        (WireType::Bool, _) => ValueType::Bool,
        (WireType::Utf8, _) => ValueType::String,
        (WireType::Timestamp, _) => ValueType::Timestamp,
        (WireType::Position, _) => ValueType::Position,
    }
}

/// The column's type as the schema describes it, e.g. `BoundSpatialPoint pt: root_id
/// (integer (64-bit))`.
fn cave_type(column: &Column) -> String {
    let kind = match &column.field {
        Some(f) => f.kind.describe().to_string(),
        None => match column.wire {
            WireType::Timestamp => "datetime".to_string(),
            _ => "integer (64-bit)".to_string(),
        },
    };
    match &column.point {
        Some(p) if !p.name.is_empty() => {
            let leaf = column.field.as_ref().map_or("", |f| f.name.as_str());
            format!(
                "{} `{}`, field `{leaf}`: {kind}",
                p.kind.definition_name(),
                p.name
            )
        }
        _ => kind,
    }
}

/// The names a table plan needs: every struct's (for its target), and its module's.
struct TableNaming<'a> {
    struct_names: &'a BTreeMap<String, String>,
    module: String,
}

fn table_plan(
    name: &str,
    naming: TableNaming<'_>,
    schema_type: String,
    meta: TableMeta,
    columns: Vec<ColumnPlan>,
    target: Option<(String, Vec<ColumnPlan>)>,
    unmerged_reason: Option<String>,
) -> TablePlan {
    let TableNaming {
        struct_names,
        module,
    } = naming;
    let mut methods = Names::with_reserved(BUILDER_METHODS);
    let mut filters = Vec::new();
    let mut variants = Names::default();
    let mut select = Vec::new();
    let own_names: BTreeSet<&str> = columns.iter().map(|c| c.column.name.as_str()).collect();
    for c in &columns {
        let base = method_base(&c.field);
        for &kind in kinds_for(&c.ty, &c.column) {
            filters.push(FilterMethod {
                name: ident_text(&methods.claim(&format!("{base}{}", method_suffix(kind)))),
                kind,
                side: Side::Table,
                column: c.column.name.clone(),
                ty: c.ty.clone(),
            });
        }
        select.push(SelectColumn {
            variant: variants.claim(&upper_camel(&c.column.name)),
            side: Side::Table,
            column: c.column.name.clone(),
        });
    }
    let mut target_plan = None;
    if let Some((target_name, target_columns)) = target {
        let mut fields = Names::default();
        for c in &columns {
            fields.claim(c.field.trim_start_matches("r#"));
        }
        let field = ident_text(&fields.claim("target"));
        let wire_names = target_columns
            .iter()
            .map(|c| {
                if own_names.contains(c.column.name.as_str()) {
                    format!("{}_ref", c.column.name)
                } else {
                    c.column.name.clone()
                }
            })
            .collect();
        for c in &target_columns {
            // The target's `id` is the table's `target_id`: selectable (as caveclient's
            // `select_columns` can), not a filter. `valid` is always true.
            if c.column.role == ColumnRole::AnnotationId {
                select.push(SelectColumn {
                    variant: variants.claim("TargetRowId"),
                    side: Side::Target,
                    column: c.column.name.clone(),
                });
                continue;
            }
            if c.column.name == "valid" {
                continue;
            }
            let base = method_base(&c.field);
            let base = if own_names.contains(c.column.name.as_str()) {
                format!("target_{base}")
            } else {
                base.to_string()
            };
            for &kind in kinds_for(&c.ty, &c.column) {
                filters.push(FilterMethod {
                    name: ident_text(&methods.claim(&format!("{base}{}", method_suffix(kind)))),
                    kind,
                    side: Side::Target,
                    column: c.column.name.clone(),
                    ty: c.ty.clone(),
                });
            }
            select.push(SelectColumn {
                variant: variants.claim(&format!("Target{}", upper_camel(&c.column.name))),
                side: Side::Target,
                column: c.column.name.clone(),
            });
        }
        target_plan = Some(TargetPlan {
            rust_name: struct_names[&target_name].clone(),
            table: target_name,
            field,
            wire_names,
        });
    }
    TablePlan {
        name: name.to_string(),
        rust_name: struct_names[name].clone(),
        module,
        schema_type,
        meta,
        view: None,
        columns,
        target: target_plan,
        unmerged_reason,
        filters,
        select,
    }
}
