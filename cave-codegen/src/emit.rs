//! Tokens from a [`Plan`]: per table a row struct, its `Table`/`Row` impls and a module with
//! the filter builder and column enum; the enums; datastack constants. Generated code is only
//! what differs per table: one field, one decode line and one line per filter method for each
//! column. The filter builder's shape (its struct, the methods every table shares, the body
//! and docs of each kind of column method) is the runtime's, stamped by its macros; the docs
//! of the rest are rendered from [`Facts`].

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

use cave_schema::columns::{ColumnRole, WireType};
use cave_schema::schema::{EnumRepr, EnumValue};

use crate::facts::{EnumFacts, Facts, Reference, TableFacts};
use crate::plan::{
    Absence, ColumnPlan, EnumPlan, FilterKind, FilterMethod, OTHER_VARIANT, Plan, Side, TablePlan,
    ValueType,
};
use crate::rustdoc;

/// Paths the generated code uses, from where it stands.
struct Paths {
    /// The runtime's items: `::cave_runtime::__private` at the datastack's level, `rt` inside a
    /// table module (which imports it under that name).
    p: TokenStream,
    /// The way to the datastack's items: empty at its level, `super::` in a table module.
    up: TokenStream,
}

/// An identifier from planned text (`r#type` becomes a raw identifier).
fn ident(text: &str) -> Ident {
    match text.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(text, Span::call_site()),
    }
}

/// `#[doc]` attributes, one per line (so formatted output shows `///` lines).
fn doc(text: &str) -> TokenStream {
    let lines = text.lines().map(|line| {
        let lit = if line.is_empty() {
            Literal::string("")
        } else {
            Literal::string(&format!(" {line}"))
        };
        quote!(#[doc = #lit])
    });
    quote!(#(#lines)*)
}

fn lit(s: &str) -> Literal {
    Literal::string(s)
}

/// Emit the whole plan. `runtime` is the path of the runtime crate, e.g. `::cave_runtime`.
pub fn emit(plan: &Plan, runtime: &TokenStream) -> TokenStream {
    let top = Paths {
        p: quote!(#runtime::__private),
        up: TokenStream::new(),
    };
    let inner = Paths {
        p: quote!(rt),
        up: quote!(super::),
    };
    let facts = Facts::new(plan);
    let mut out = TokenStream::new();
    out.extend(datastack_items(plan, &facts));
    for (table, table_facts) in plan.tables.iter().zip(&facts.tables) {
        out.extend(table_items(plan, table, table_facts, runtime, &top, &inner));
    }
    for (e, enum_facts) in plan.enums.iter().zip(&facts.enums) {
        out.extend(enum_items(e, enum_facts, &top));
    }
    out
}

fn datastack_items(plan: &Plan, facts: &Facts) -> TokenStream {
    let datastack = lit(&plan.datastack);
    let version = version_tokens(plan.version);
    let tables = plan
        .tables
        .iter()
        .filter(|t| t.view.is_none())
        .map(|t| lit(&t.name));
    let views: Vec<Literal> = plan
        .tables
        .iter()
        .filter(|t| t.view.is_some())
        .map(|t| lit(&t.name))
        .collect();
    let datastack_doc = doc(&rustdoc::datastack(facts));
    let version_doc = doc(&rustdoc::version(facts));
    let tables_doc = doc(&rustdoc::tables(facts));
    // Only when there are views: code generated for a snapshot without views stays as it was.
    let views_const = (!views.is_empty()).then(|| {
        let views_doc = doc(&rustdoc::views());
        quote! {
            #views_doc
            pub const VIEWS: &[&str] = &[#(#views),*];
        }
    });
    let synapses_alias = plan.synapse_table.as_ref().and_then(|name| {
        let table = plan.tables.iter().find(|t| &t.name == name)?;
        let alias = ident(crate::plan::SYNAPSES_ALIAS);
        let row = ident(&table.rust_name);
        let alias_doc = doc(&rustdoc::synapses_alias(name, &table.rust_name));
        Some(quote! {
            #alias_doc
            pub type #alias = #row;
        })
    });
    quote! {
        #datastack_doc
        pub const DATASTACK: &str = #datastack;
        #version_doc
        pub const VERSION: ::core::option::Option<u32> = #version;
        #tables_doc
        pub const TABLES: &[&str] = &[#(#tables),*];
        #views_const
        #synapses_alias
    }
}

/// The Rust type of a value, as seen from the datastack's scope (`prefix` is empty there and
/// `super::` inside a table module).
fn value_type(ty: &ValueType, paths: &Paths) -> TokenStream {
    let p = &paths.p;
    let prefix = &paths.up;
    match ty {
        ValueType::AnnotationId => quote!(#p::AnnotationId),
        ValueType::RootId => quote!(#p::RootId),
        ValueType::SupervoxelId => quote!(#p::SupervoxelId),
        ValueType::Int64 => quote!(::core::primitive::i64),
        ValueType::Int32 => quote!(::core::primitive::i32),
        ValueType::Float32 => quote!(::core::primitive::f32),
        ValueType::Float64 => quote!(::core::primitive::f64),
        ValueType::Bool => quote!(::core::primitive::bool),
        ValueType::String => quote!(::std::string::String),
        ValueType::Timestamp => quote!(#p::Timestamp),
        ValueType::Position => quote!(#p::Position),
        ValueType::Enum(name, _) => {
            let name = ident(name);
            quote!(#prefix #name)
        }
    }
}

fn field_type(c: &ColumnPlan, paths: &Paths) -> TokenStream {
    let ty = value_type(&c.ty, paths);
    if c.optional() {
        quote!(::core::option::Option<#ty>)
    } else {
        ty
    }
}

fn table_items(
    plan: &Plan,
    table: &TablePlan,
    facts: &TableFacts,
    runtime: &TokenStream,
    paths: &Paths,
    inner: &Paths,
) -> TokenStream {
    let p = &inner.p;
    let name = ident(&table.rust_name);
    let module = ident(&table.module);
    let struct_doc = doc(&rustdoc::table(facts));
    let fields = table.columns.iter().zip(&facts.columns).map(|(c, f)| {
        let d = doc(&rustdoc::column(f));
        let ty = field_type(c, paths);
        let f = ident(&c.field);
        quote!(#d pub #f: #ty,)
    });
    let target_field = match (&table.target, &facts.reference) {
        (Some(t), Some(Reference::Joined(target))) => {
            let d = doc(&rustdoc::target_field(target));
            let f = ident(&t.field);
            let ty = ident(&t.rust_name);
            Some(quote!(#d pub #f: #ty,))
        }
        _ => None,
    };

    let table_name = lit(&table.name);
    let schema_type = lit(&table.schema_type);
    let datastack = lit(&plan.datastack);
    let version = version_tokens(plan.version);
    let [rx, ry, rz] = table.meta.voxel_resolution.map(Literal::f64_unsuffixed);
    let column_infos = table.columns.iter().map(|c| {
        let n = lit(&c.column.name);
        let wire = format_ident!("{}", wire_variant(c.column.wire));
        let role = format_ident!("{}", role_variant(c.column.role));
        let nullable = c.column.nullable;
        quote!(C::new(#n, Wire::#wire, #nullable, Role::#role))
    });
    let n_columns = Literal::usize_unsuffixed(table.columns.len());
    let target_const = match &table.target {
        Some(t) => {
            let n = lit(&t.table);
            quote!(::core::option::Option::Some(#n))
        }
        None => quote!(::core::option::Option::None),
    };
    let view_const = table.view.is_some().then(|| {
        quote!(
            const VIEW: bool = true;
        )
    });

    let decode = decode_fn(table, inner);
    let bound_roots = bound_roots_fn(plan, table, inner);
    let filter_doc = doc(&rustdoc::filter_fn(facts));
    let (synapse_fn, synapse_impl) = if table.is_synapse_table() {
        let top = &paths.p;
        let fn_doc = doc(&rustdoc::synapse_query_fn(&table.name));
        (
            Some(quote! {
                #fn_doc
                pub fn synapse_query() -> #top::SynapseQuery<Self> {
                    #top::SynapseQuery::new()
                }
            }),
            Some(quote! {
                impl #p::SynapseTable for super::#name {
                    type Filter = Filter;
                }
            }),
        )
    } else {
        (None, None)
    };
    let module_items = module_items(table, facts, inner);
    let module_doc = doc(&rustdoc::module(facts));
    quote! {
        #struct_doc
        #[derive(Debug, Clone, PartialEq)]
        pub struct #name {
            #(#fields)*
            #target_field
        }

        impl #name {
            #filter_doc
            pub fn filter() -> #module::Filter {
                #module::Filter::new()
            }
            #synapse_fn
        }

        #module_doc
        pub mod #module {
            use #runtime::__private as rt;

        impl #p::Table for super::#name {
            const NAME: &'static str = #table_name;
            const SCHEMA_TYPE: &'static str = #schema_type;
            const DATASTACK: &'static str = #datastack;
            const VERSION: ::core::option::Option<u32> = #version;
            const VOXEL_RESOLUTION: [f64; 3] = [#rx, #ry, #rz];
            const COLUMNS: &'static [#p::ColumnInfo] = {
                // Short names, so that each column is one line of `cave generate`.
                use #p::{ColumnInfo as C, ColumnRole as Role, WireType as Wire};
                &[#(#column_infos),*]
            };
            const WIRE_NAMES: &'static [&'static str] = &#p::names::<#n_columns>(Self::COLUMNS);
            const TARGET: ::core::option::Option<&'static str> = #target_const;
            #view_const
        }

        #decode
        #bound_roots
        #synapse_impl

            #module_items
        }
    }
}

fn version_tokens(version: Option<u32>) -> TokenStream {
    match version.map(Literal::u32_unsuffixed) {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    }
}

fn wire_variant(w: WireType) -> &'static str {
    match w {
        WireType::Int64 => "Int64",
        WireType::Int32 => "Int32",
        WireType::Float32 => "Float32",
        WireType::Float64 => "Float64",
        WireType::Bool => "Bool",
        WireType::Utf8 => "Utf8",
        WireType::Timestamp => "Timestamp",
        WireType::Position => "Position",
    }
}

fn role_variant(r: ColumnRole) -> &'static str {
    match r {
        ColumnRole::AnnotationId => "AnnotationId",
        ColumnRole::RootId => "RootId",
        ColumnRole::SupervoxelId => "SupervoxelId",
        ColumnRole::Position => "Position",
        ColumnRole::ReferenceTarget => "ReferenceTarget",
        ColumnRole::Bookkeeping => "Bookkeeping",
        ColumnRole::Payload => "Payload",
    }
}

/// `bound_roots!`: the row's root ids, those beside a supervoxel of the same point
/// (`pt_root_id`, `pt_supervoxel_id`), and the target row's. `None` for a table without root
/// ids.
fn bound_roots_fn(plan: &Plan, table: &TablePlan, paths: &Paths) -> Option<TokenStream> {
    let p = &paths.p;
    let up = &paths.up;
    let name = ident(&table.rust_name);
    let roots: Vec<&ColumnPlan> = table
        .columns
        .iter()
        .filter(|c| c.ty == ValueType::RootId)
        .collect();
    let target = table.target.as_ref().filter(|t| {
        plan.tables
            .iter()
            .any(|x| x.name == t.table && x.columns.iter().any(|c| c.ty == ValueType::RootId))
    });
    if roots.is_empty() && target.is_none() {
        return None;
    }
    let root_fields = roots.iter().map(|c| ident(&c.field));
    let pairs = roots.iter().filter_map(|c| {
        let point = c.column.name.strip_suffix("root_id")?;
        let sv = table.columns.iter().find(|s| {
            s.ty == ValueType::SupervoxelId && s.column.name == format!("{point}supervoxel_id")
        })?;
        let (sv, root) = (ident(&sv.field), ident(&c.field));
        Some(quote!((#sv, #root)))
    });
    let target = target.map(|t| ident(&t.field));
    Some(quote!(#p::bound_roots!(#up #name, [#(#root_fields),*], [#(#pairs),*], [#target]);))
}

fn decode_fn(table: &TablePlan, paths: &Paths) -> TokenStream {
    let p = &paths.p;
    let up = &paths.up;
    let name = ident(&table.rust_name);
    let n = table.columns.len();
    let n_lit = Literal::usize_unsuffixed(n);
    let names: Vec<Ident> = (0..n).map(|i| format_ident!("n{}", i)).collect();
    let cols: Vec<Ident> = (0..n).map(|i| format_ident!("c{}", i)).collect();
    let opens = table.columns.iter().enumerate().map(|(i, c)| {
        let reader = format_ident!(
            "{}",
            match c.column.wire {
                WireType::Int64 => "Int64Column",
                WireType::Int32 => "Int32Column",
                WireType::Float32 => "Float32Column",
                WireType::Float64 => "Float64Column",
                WireType::Bool => "BoolColumn",
                WireType::Utf8 => "Utf8Column",
                WireType::Timestamp => "TimestampColumn",
                WireType::Position => "PositionColumn",
            }
        );
        let (col, nm) = (&cols[i], &names[i]);
        if c.absence() != Absence::Never {
            quote!(let #col = #p::#reader::open_if_present(batch, #nm)?;)
        } else {
            quote!(let #col = #p::#reader::open(batch, #nm)?;)
        }
    });
    let values = table.columns.iter().enumerate().map(|(i, c)| {
        let f = ident(&c.field);
        let v = value_expr(c, &cols[i], paths);
        quote!(#f: #v,)
    });
    let table_name = lit(&table.name);
    let (target_decode, target_loop, target_field) = match &table.target {
        Some(t) => {
            let target = ident(&t.rust_name);
            let field = ident(&t.field);
            let wire = t.wire_names.iter().map(|w| lit(w));
            (
                quote! {
                    let targets = <#up #target as #p::Row>::decode(batch, &[#(#wire),*])?;
                },
                quote!(for (row, target_row) in targets.into_iter().enumerate()),
                quote!(#field: target_row,),
            )
        }
        None => (
            TokenStream::new(),
            quote!(for row in 0..batch.num_rows()),
            TokenStream::new(),
        ),
    };
    quote! {
        impl #p::Row for #up #name {
            fn decode_into(
                batch: &#p::Batch<'_>,
                names: &[&str],
                rows: &mut ::std::vec::Vec<Self>,
            ) -> ::core::result::Result<(), #p::DecodeError> {
                let &[#(#names),*] = names else {
                    return ::core::result::Result::Err(#p::names_error(#table_name, #n_lit, names.len()));
                };
                #(#opens)*
                #target_decode
                rows.reserve(batch.num_rows());
                #target_loop {
                    rows.push(Self {
                        #(#values)*
                        #target_field
                    });
                }
                ::core::result::Result::Ok(())
            }
        }
    }
}

/// The expression that reads column `c` (reader `col`) at `row`.
fn value_expr(c: &ColumnPlan, col: &Ident, paths: &Paths) -> TokenStream {
    let p = &paths.p;
    match c.absence() {
        Absence::Never => {}
        // Null in a result where nothing replaced the annotation.
        Absence::JoinsAndExports => {
            return quote!(#col.as_ref().and_then(|c| c.optional(row)).map(#p::AnnotationId));
        }
        // Where the column is there, a null is an error, as in any required column.
        Absence::Exports => {
            return quote!(#col.as_ref().map(|c| c.required(row)).transpose()?);
        }
    }
    let required = !c.column.nullable;
    let wrap = |inner: TokenStream| -> (TokenStream, TokenStream) {
        // (required form, optional form) of a conversion of the raw value.
        (
            quote!(#inner(#col.required(row)?)),
            quote!(#col.optional(row).map(#inner)),
        )
    };
    let up = &paths.up;
    let (req, opt) = match &c.ty {
        ValueType::AnnotationId => wrap(quote!(#p::AnnotationId)),
        ValueType::RootId => wrap(quote!(#p::RootId)),
        ValueType::SupervoxelId => wrap(quote!(#p::SupervoxelId)),
        ValueType::Int64
        | ValueType::Int32
        | ValueType::Float32
        | ValueType::Float64
        | ValueType::Bool
        | ValueType::Position => (quote!(#col.required(row)?), quote!(#col.optional(row))),
        ValueType::Timestamp => (quote!(#col.required(row)?), quote!(#col.optional(row)?)),
        ValueType::String => (
            quote!(::std::borrow::ToOwned::to_owned(#col.required(row)?)),
            quote!(#col.optional(row).map(::std::borrow::ToOwned::to_owned)),
        ),
        ValueType::Enum(name, repr) => {
            let e = ident(name);
            let e = quote!(#up #e);
            match repr {
                EnumRepr::Int32 => (
                    quote!(#e::from_wire(::core::primitive::i64::from(#col.required(row)?))),
                    quote!(#col.optional(row).map(|v| #e::from_wire(::core::primitive::i64::from(v)))),
                ),
                EnumRepr::Utf8 | EnumRepr::Int64 => wrap(quote!(#e::from_wire)),
            }
        }
    };
    if required { req } else { opt }
}

fn side_tokens(side: Side, paths: &Paths) -> TokenStream {
    let p = &paths.p;
    match side {
        Side::Table => quote!(#p::Side::Table),
        Side::Target => quote!(#p::Side::Target),
    }
}

/// One column method: `rt::filter!(kind name: Type, "column")`, with `of "target"` for a
/// column of a reference table's target.
fn filter_method(table: &TablePlan, m: &FilterMethod, paths: &Paths) -> TokenStream {
    let p = &paths.p;
    let name = ident(&m.name);
    let column = lit(&m.column);
    let is_str = m.ty == ValueType::String;
    // Primitive names are safe inside a table module: nothing there is called `f32`.
    let ty = match &m.ty {
        ValueType::String => quote!(str),
        ValueType::Int64 => quote!(i64),
        ValueType::Int32 => quote!(i32),
        ValueType::Float32 => quote!(f32),
        ValueType::Float64 => quote!(f64),
        ValueType::Bool => quote!(bool),
        other => value_type(other, paths),
    };
    let (kind, ty) = match m.kind {
        FilterKind::Equal if is_str => ("eq_str", None),
        FilterKind::Equal => ("eq", Some(ty)),
        FilterKind::In => ("is_in", Some(ty)),
        FilterKind::NotIn => ("not_in", Some(ty)),
        FilterKind::Greater => ("gt", Some(ty)),
        FilterKind::GreaterEqual => ("ge", Some(ty)),
        FilterKind::Less => ("lt", Some(ty)),
        FilterKind::LessEqual => ("le", Some(ty)),
        FilterKind::Regex => ("regex", None),
        FilterKind::Spatial => ("bbox", None),
    };
    let kind = format_ident!("{}", kind);
    let ty = ty.map(|t| quote!(: #t));
    let on = match (m.side, &table.target) {
        (Side::Target, Some(t)) => {
            let t = lit(&t.table);
            quote!(of #t)
        }
        _ => TokenStream::new(),
    };
    quote!(#p::filter!(#kind #name #ty, #column #on);)
}

fn module_items(table: &TablePlan, facts: &TableFacts, paths: &Paths) -> TokenStream {
    let p = &paths.p;
    let row = ident(&table.rust_name);
    let table_name = lit(&table.name);
    let methods: Vec<TokenStream> = table
        .filters
        .iter()
        .map(|m| filter_method(table, m, paths))
        .collect();
    let methods = (!methods.is_empty()).then(|| quote!(impl Filter { #(#methods)* }));
    let variants = table.select.iter().zip(&facts.select).map(|(s, f)| {
        let v = ident(&s.variant);
        let d = doc(&rustdoc::select_variant(f));
        quote!(#d #v,)
    });
    let name_arms = table.select.iter().map(|s| {
        let v = ident(&s.variant);
        let c = lit(&s.column);
        let side = side_tokens(s.side, paths);
        quote!(Column::#v => (#side, #c),)
    });
    let column_doc = doc(&rustdoc::column_enum(facts));
    let filter_type = match table.view {
        Some(_) => quote!(#p::filter_type!(view Filter, Column, super::#row, #table_name);),
        None => quote!(#p::filter_type!(Filter, Column, super::#row, #table_name);),
    };
    quote! {
        #filter_type

        #methods

        #column_doc
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Column {
            #(#variants)*
        }

        impl Column {
            /// Which table of the query the column is on, and its name.
            pub const fn side_and_name(self) -> (#p::Side, &'static str) {
                match self {
                    #(#name_arms)*
                }
            }
        }
    }
}

fn enum_items(e: &EnumPlan, facts: &EnumFacts, paths: &Paths) -> TokenStream {
    let p = &paths.p;
    let name = ident(&e.rust_name);
    let other = ident(OTHER_VARIANT);
    let enum_doc = doc(&rustdoc::enum_doc(facts));
    let variants = facts.variants.iter().map(|v| {
        let id = ident(&v.ident);
        let d = doc(&rustdoc::variant(&v.value, v.description.as_deref()));
        quote!(#d #id,)
    });
    let known = e.variants.iter().map(|v| {
        let id = ident(&v.ident);
        quote!(Self::#id)
    });
    let (other_ty, as_wire, from_wire, display, from_str, operand) = match e.repr {
        EnumRepr::Utf8 => {
            let to_arms = e.variants.iter().map(|v| {
                let id = ident(&v.ident);
                let s = lit(&v.value.to_string());
                quote!(Self::#id => #s,)
            });
            let from_arms = e.variants.iter().map(|v| {
                let id = ident(&v.ident);
                let s = lit(&v.value.to_string());
                quote!(#s => Self::#id,)
            });
            (
                quote!(::std::string::String),
                quote! {
                    /// The value as the server sends it.
                    pub fn as_str(&self) -> &::core::primitive::str {
                        match self {
                            #(#to_arms)*
                            Self::#other(value) => value,
                        }
                    }
                },
                quote! {
                    /// The variant of a value as the server sends it (`Other` when unknown).
                    pub fn from_wire(value: &::core::primitive::str) -> Self {
                        match value {
                            #(#from_arms)*
                            other => Self::#other(::std::borrow::ToOwned::to_owned(other)),
                        }
                    }
                },
                quote!(f.write_str(self.as_str())),
                quote! {
                    type Err = ::core::convert::Infallible;
                    fn from_str(s: &::core::primitive::str) -> ::core::result::Result<Self, Self::Err> {
                        ::core::result::Result::Ok(Self::from_wire(s))
                    }
                },
                quote!(#p::FilterOperand::to_filter_value(self.as_str())),
            )
        }
        EnumRepr::Int32 | EnumRepr::Int64 => {
            let to_arms = e.variants.iter().map(|v| {
                let id = ident(&v.ident);
                let n = Literal::i64_unsuffixed(match v.value {
                    EnumValue::Int(i) => i,
                    EnumValue::Str(_) => 0,
                });
                quote!(Self::#id => #n,)
            });
            let from_arms = e.variants.iter().map(|v| {
                let id = ident(&v.ident);
                let n = Literal::i64_unsuffixed(match v.value {
                    EnumValue::Int(i) => i,
                    EnumValue::Str(_) => 0,
                });
                quote!(#n => Self::#id,)
            });
            (
                quote!(::core::primitive::i64),
                quote! {
                    /// The value as the server sends it.
                    pub fn value(&self) -> ::core::primitive::i64 {
                        match self {
                            #(#to_arms)*
                            Self::#other(value) => *value,
                        }
                    }
                },
                quote! {
                    /// The variant of a value as the server sends it (`Other` when unknown).
                    pub fn from_wire(value: ::core::primitive::i64) -> Self {
                        match value {
                            #(#from_arms)*
                            other => Self::#other(other),
                        }
                    }
                },
                quote!(::core::fmt::Display::fmt(&self.value(), f)),
                quote! {
                    type Err = ::core::num::ParseIntError;
                    fn from_str(s: &::core::primitive::str) -> ::core::result::Result<Self, Self::Err> {
                        ::core::result::Result::Ok(Self::from_wire(s.trim().parse()?))
                    }
                },
                quote!(#p::FilterOperand::to_filter_value(&self.value())),
            )
        }
    };
    quote! {
        #enum_doc
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum #name {
            #(#variants)*
            /// A value the snapshot does not know.
            #other(#other_ty),
        }

        impl #name {
            /// The values the snapshot knows, in its order.
            pub const KNOWN: &'static [Self] = &[#(#known),*];

            #as_wire

            #from_wire
        }

        impl ::core::fmt::Display for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                #display
            }
        }

        impl ::core::str::FromStr for #name {
            #from_str
        }

        impl #p::FilterOperand for #name {
            fn to_filter_value(&self) -> #p::FilterValue {
                #operand
            }
        }
    }
}
