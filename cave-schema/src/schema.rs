//! The schema model: one CAVE annotation schema type and its fields, as the schema service
//! describes them (see `parse` for how the JSON maps onto it).

use serde_json::Value;

/// One schema type of the schema service (`synapse`, `cell_type_reference`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaType {
    /// The registry name, e.g. `compartment_proofread_status_strategy`.
    pub name: String,
    /// The root definition's name: the Python class, e.g. `CompartmentProofreadStatusStrategy`.
    pub class_name: String,
    /// Top-level fields in declaration order (which fixes the column order of tables).
    pub fields: Vec<Field>,
    /// True when the root is itself a spatial point (`derived_spatial_point`): its columns are
    /// unprefixed and it has no `valid`.
    pub is_point: bool,
}

impl SchemaType {
    /// The top-level field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Whether this is a reference annotation (it has a 64-bit `target_id` pointing at another
    /// table's `id`; the table itself is per-table metadata, not part of the schema).
    pub fn is_reference(&self) -> bool {
        self.field("target_id")
            .is_some_and(|f| matches!(f.kind, FieldKind::Int64))
    }
}

/// One property of a definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The property name as the service spells it (mixed case survives: `gOSI`).
    pub name: String,
    /// What kind of value it holds.
    pub kind: FieldKind,
    /// Listed in the definition's `required` (inserts must give it; SQL still allows NULL).
    pub required: bool,
    /// `description` (or the service's `desription` typo).
    pub description: Option<String>,
    /// `default`, as JSON.
    pub default: Option<Value>,
    /// `order`, the display order hint of the synapse family's points.
    pub order: Option<i64>,
    /// `index: true` (the column has a b-tree index).
    pub indexed: bool,
}

/// The kinds of field the schema service emits.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    /// A nested spatial point (`$ref` to `SpatialPoint`, `BoundSpatialPoint` or
    /// `DerivedSpatialPoint`), flattened to `<field>_position`, ... columns.
    Point(Point),
    /// A 3-D position (`{"type":"array"}`): PostGIS POINTZ, three int32 columns on the wire.
    Position,
    /// `{"type":"integer"}`: a 64-bit id, numeric value or reference target; also `user_id`.
    Int64,
    /// `{"type":"number","format":"integer"}`: a 32-bit integer.
    Int32,
    /// `{"type":"number","format":"float"}` (or a bare `number`): float32 on the wire.
    Float,
    /// `{"type":"string"}`.
    String,
    /// `{"type":"boolean"}`.
    Bool,
    /// A `OneOf` validator: a closed list of string or integer values.
    Enum(EnumField),
}

impl FieldKind {
    /// A short name of the kind, as the CAVE schema would describe it.
    pub fn describe(&self) -> &'static str {
        match self {
            FieldKind::Point(p) => p.kind.definition_name(),
            FieldKind::Position => "position",
            FieldKind::Int64 => "integer (64-bit)",
            FieldKind::Int32 => "integer (32-bit)",
            FieldKind::Float => "float",
            FieldKind::String => "string",
            FieldKind::Bool => "boolean",
            FieldKind::Enum(e) => match e.repr {
                EnumRepr::Utf8 => "string enum",
                EnumRepr::Int32 | EnumRepr::Int64 => "integer enum",
            },
        }
    }
}

/// A nested spatial point.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Which of the three point schemas it is.
    pub kind: PointKind,
    /// The definition it refers to, e.g. `BoundSpatialPoint`.
    pub definition: String,
    /// Its fields (`position`, then `supervoxel_id`, `root_id`, ... when present).
    pub fields: Vec<Field>,
}

/// The three point schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointKind {
    /// `SpatialPoint`: a position only.
    Spatial,
    /// `BoundSpatialPoint`: a position bound to a supervoxel and a root id.
    Bound,
    /// `DerivedSpatialPoint`: a bound point plus `dependent_chunk` and `level`.
    Derived,
}

impl PointKind {
    /// The schema-service definition name of this kind.
    pub fn definition_name(self) -> &'static str {
        match self {
            PointKind::Spatial => "SpatialPoint",
            PointKind::Bound => "BoundSpatialPoint",
            PointKind::Derived => "DerivedSpatialPoint",
        }
    }
}

/// The values of a `OneOf` field.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumField {
    /// How the values travel.
    pub repr: EnumRepr,
    /// The allowed values, in schema order.
    pub values: Vec<EnumValue>,
}

/// The wire representation of an enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnumRepr {
    /// Strings (`{"type":"string","enum":[...]}`).
    Utf8,
    /// 32-bit integers (`{"type":"number","format":"integer","enum":[...]}`).
    Int32,
    /// 64-bit integers (`{"type":"integer","enum":[...]}`).
    Int64,
}

/// One allowed value of an enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnumValue {
    /// A string value.
    Str(String),
    /// An integer value.
    Int(i64),
}

impl std::fmt::Display for EnumValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnumValue::Str(s) => f.write_str(s),
            EnumValue::Int(i) => write!(f, "{i}"),
        }
    }
}
