//! Flatten a schema type into the columns a materialization query returns
//! (emannotationschemas' `flatten_fields` plus the bookkeeping columns; see
//! docs/WIRE.md: "Columns", "Wire types").

use crate::schema::{EnumRepr, Field, FieldKind, PointKind, SchemaType};

/// The Arrow type a column travels as in a query response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WireType {
    /// `int64`: ids, root and supervoxel ids, reference targets, `superceded_id`, `user_id`.
    Int64,
    /// `int32`: the schema's 32-bit integers.
    Int32,
    /// `float` (float32): every schema float, whatever PostgreSQL stores.
    Float32,
    /// `double` (float64): the floats of views, which the server does not cast (docs/WIRE.md,
    /// "Views").
    Float64,
    /// `bool`.
    Bool,
    /// `string` (utf8).
    Utf8,
    /// `timestamp[ns, tz=UTC]`: `created`.
    Timestamp,
    /// A 3-D position: three `int32` columns `<name>_x`, `<name>_y`, `<name>_z`.
    Position,
}

impl WireType {
    /// The name used in `cave columns` output.
    pub fn as_str(self) -> &'static str {
        match self {
            WireType::Int64 => "int64",
            WireType::Int32 => "int32",
            WireType::Float32 => "float32",
            WireType::Float64 => "float64",
            WireType::Bool => "bool",
            WireType::Utf8 => "utf8",
            WireType::Timestamp => "timestamp",
            WireType::Position => "position",
        }
    }
}

/// What a column means to a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ColumnRole {
    /// `id`: the annotation id (for a nucleus table, the nucleus id).
    AnnotationId,
    /// `<point>_root_id`: the segment id of a bound point, which changes with proofreading.
    RootId,
    /// `<point>_supervoxel_id`: the supervoxel of a bound point.
    SupervoxelId,
    /// `<point>_position`: a 3-D position in the table's voxel resolution.
    Position,
    /// `target_id`: the `id` of the row this reference annotation refers to.
    ReferenceTarget,
    /// `created`, `superceded_id`, `valid`: kept by the annotation database.
    Bookkeeping,
    /// Everything else: the annotation's own values.
    Payload,
}

impl ColumnRole {
    /// The name used in `cave columns` output.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnRole::AnnotationId => "annotation_id",
            ColumnRole::RootId => "root_id",
            ColumnRole::SupervoxelId => "supervoxel_id",
            ColumnRole::Position => "position",
            ColumnRole::ReferenceTarget => "reference_target",
            ColumnRole::Bookkeeping => "bookkeeping",
            ColumnRole::Payload => "payload",
        }
    }
}

/// The point a column was flattened from.
#[derive(Debug, Clone, PartialEq)]
pub struct PointRef {
    /// The point field's name, e.g. `pt` (empty for a type that is itself a point).
    pub name: String,
    /// Which point schema it is.
    pub kind: PointKind,
    /// The point field's description, e.g. `location of the nucleus center`.
    pub description: Option<String>,
}

/// One column of a materialized table.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The column name, e.g. `pt_root_id` (a position's wire columns add `_x`/`_y`/`_z`).
    pub name: String,
    /// How it travels.
    pub wire: WireType,
    /// Whether a query may return null here. `id` and `created` never are; `valid` neither,
    /// because queries return only valid rows; a schema field is nullable unless it (and the
    /// point it sits in) is required.
    pub nullable: bool,
    /// What it means.
    pub role: ColumnRole,
    /// The point this column belongs to (`pt` for `pt_root_id`).
    pub point: Option<PointRef>,
    /// The schema field it comes from (the leaf, for point columns); None for the columns the
    /// annotation database adds (`id`, `created`, `superceded_id`).
    pub field: Option<Field>,
}

impl Column {
    /// The Arrow column names it travels as: three for a position, one otherwise.
    pub fn wire_names(&self) -> Vec<String> {
        match self.wire {
            WireType::Position => ["x", "y", "z"]
                .iter()
                .map(|a| format!("{}_{a}", self.name))
                .collect(),
            _ => vec![self.name.clone()],
        }
    }

    /// The description of the schema field; for point columns (which the service leaves
    /// undescribed) and bookkeeping columns, one made from what they are.
    pub fn description(&self) -> Option<String> {
        self.description_with(|text| text.to_string())
    }

    /// [`Column::description`] with the service's text (field and point descriptions, trimmed)
    /// passed through `escape`, e.g. to make it safe for rustdoc or Markdown.
    pub fn description_with(&self, escape: impl Fn(&str) -> String) -> Option<String> {
        if let Some(d) = self.field.as_ref().and_then(|f| f.description.as_deref())
            && !d.trim().is_empty()
        {
            return Some(escape(d.trim()));
        }
        let of_point = |what: &str| {
            let point = self.point.as_ref()?;
            let mut text = what.to_string();
            if !point.name.is_empty() {
                text.push_str(&format!(" of `{}`", point.name));
            }
            if let Some(d) = point.description.as_deref().map(str::trim)
                && !d.is_empty()
            {
                text.push_str(&format!(" ({})", escape(d.trim_end_matches('.'))));
            }
            text.push('.');
            Some(text)
        };
        match (self.role, self.name.as_str()) {
            (ColumnRole::AnnotationId, _) => Some("The annotation id.".to_string()),
            (_, "created") => Some("When the annotation was created (UTC).".to_string()),
            (_, "superceded_id") => {
                Some("The id of the annotation that replaced this one, if any.".to_string())
            }
            (ColumnRole::Position, _) => of_point("Position"),
            (ColumnRole::RootId, _) => of_point("Root id (segment) at the queried version or time"),
            (ColumnRole::SupervoxelId, _) => of_point("Supervoxel id"),
            _ => None,
        }
    }
}

impl SchemaType {
    /// The columns a materialization query returns for a table of this type, in the table's
    /// column order: `id`, `created`, `superceded_id`, then the schema fields flattened in
    /// declaration order (`pt` → `pt_position`, `pt_supervoxel_id`, `pt_root_id`).
    /// Decode by name: servers and query paths order them differently.
    pub fn columns(&self) -> Vec<Column> {
        let mut columns = vec![
            bookkeeping("id", WireType::Int64, ColumnRole::AnnotationId, false),
            bookkeeping(
                "created",
                WireType::Timestamp,
                ColumnRole::Bookkeeping,
                false,
            ),
            bookkeeping(
                "superceded_id",
                WireType::Int64,
                ColumnRole::Bookkeeping,
                true,
            ),
        ];
        let root_point = self.is_point.then(|| PointRef {
            name: String::new(),
            kind: point_kind_of_root(self),
            description: None,
        });
        for field in &self.fields {
            flatten(&mut columns, "", field, true, root_point.clone());
        }
        columns
    }

    /// The column called `name`, if the type has one.
    pub fn column(&self, name: &str) -> Option<Column> {
        self.columns().into_iter().find(|c| c.name == name)
    }
}

fn point_kind_of_root(t: &SchemaType) -> PointKind {
    if t.field("dependent_chunk").is_some() {
        PointKind::Derived
    } else if t.field("root_id").is_some() {
        PointKind::Bound
    } else {
        PointKind::Spatial
    }
}

fn bookkeeping(name: &str, wire: WireType, role: ColumnRole, nullable: bool) -> Column {
    Column {
        name: name.to_string(),
        wire,
        nullable,
        role,
        point: None,
        field: None,
    }
}

/// The flattening rule: a nested point `k` contributes its leaves as `k_<leaf>`; leaves of an
/// optional point are optional, leaves of a required point keep their own flags.
fn flatten(
    out: &mut Vec<Column>,
    prefix: &str,
    field: &Field,
    parent_required: bool,
    point: Option<PointRef>,
) {
    let required = parent_required && field.required;
    let name = format!("{prefix}{}", field.name);
    let in_point = point.is_some();
    let (wire, role) = match &field.kind {
        FieldKind::Point(p) => {
            let nested_prefix = format!("{name}_");
            for leaf in &p.fields {
                let point = PointRef {
                    name: name.clone(),
                    kind: p.kind,
                    description: field.description.clone(),
                };
                flatten(out, &nested_prefix, leaf, required, Some(point));
            }
            return;
        }
        FieldKind::Position => (WireType::Position, ColumnRole::Position),
        FieldKind::Int64 if in_point && field.name == "root_id" => {
            (WireType::Int64, ColumnRole::RootId)
        }
        FieldKind::Int64 if in_point && field.name == "supervoxel_id" => {
            (WireType::Int64, ColumnRole::SupervoxelId)
        }
        FieldKind::Int64 if prefix.is_empty() && field.name == "target_id" => {
            (WireType::Int64, ColumnRole::ReferenceTarget)
        }
        FieldKind::Int64 => (WireType::Int64, ColumnRole::Payload),
        FieldKind::Int32 => (WireType::Int32, ColumnRole::Payload),
        FieldKind::Float => (WireType::Float32, ColumnRole::Payload),
        FieldKind::String => (WireType::Utf8, ColumnRole::Payload),
        FieldKind::Bool if prefix.is_empty() && field.name == "valid" => {
            (WireType::Bool, ColumnRole::Bookkeeping)
        }
        FieldKind::Bool => (WireType::Bool, ColumnRole::Payload),
        FieldKind::Enum(e) => (
            match e.repr {
                EnumRepr::Utf8 => WireType::Utf8,
                EnumRepr::Int32 => WireType::Int32,
                EnumRepr::Int64 => WireType::Int64,
            },
            ColumnRole::Payload,
        ),
    };
    // Queries add `valid = true`, so `valid` is never null in a result.
    let nullable = if role == ColumnRole::Bookkeeping {
        false
    } else {
        !required
    };
    out.push(Column {
        name,
        wire,
        nullable,
        role,
        point,
        field: Some(field.clone()),
    });
}
