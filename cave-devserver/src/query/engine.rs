//! Answering simple and join queries over the stored tables, as the server's
//! `generate_simple_query_dataframe` / `generate_complex_query_dataframe` do (docs/WIRE.md: "Query bodies", "Join queries").

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Int32Array, Int64Array, UInt32Array};
use arrow_select::take::take;

use crate::error::ApiError;
use crate::query::body::QueryBody;
use crate::query::filter;
use crate::store::{StoredColumn, TableData, Values};

/// Columns of an answer, in wire order (positions already split into `_x/_y/_z`).
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// (column name, values).
    pub columns: Vec<(String, ArrayRef)>,
    /// Number of rows.
    pub rows: usize,
}

/// What a query answers: the frame plus what goes into the response headers.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The data.
    pub frame: Frame,
    /// `Warning` header lines.
    pub warnings: Vec<String>,
    /// The resolution positions are in (`dataframe_resolution`).
    pub resolution: [f64; 3],
    /// `column_names`: table → (model column, frame column).
    pub column_names: Vec<(String, Vec<(String, String)>)>,
    /// The row cap that applied (for the limit warning).
    pub limit: Option<usize>,
}

/// Query options from the query string and the server's configuration.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The server's row cap.
    pub row_limit: usize,
    /// `count=True`: answer the number of matching rows.
    pub count: bool,
    /// `random_sample=N`.
    pub random_sample: Option<u64>,
    /// Answer the matching rows in an order drawn from this seed (`--row-order random`), as
    /// PostgreSQL may without an `ORDER BY`; `None` keeps the stored order.
    pub shuffle: Option<u64>,
}

/// Put the matching rows in the request's order: stored, or drawn from its seed.
fn order<T>(items: &mut [T], options: &Options) {
    if let Some(seed) = options.shuffle {
        let mut rng = crate::sample::rng::stream(seed, "row-order", 0);
        crate::sample::rng::shuffle(&mut rng, items);
    }
}

/// The one limit warning of the frozen query paths.
pub fn limit_warning(limit: usize) -> String {
    format!("201 - \"Limited query to {limit} rows")
}

/// Answer a query on one table.
pub fn simple(
    data: &TableData,
    body: &QueryBody,
    options: &Options,
    notice: Option<&str>,
) -> Result<Answer, ApiError> {
    let mut mask = base_mask(data, options.random_sample);
    for f in &body.filters {
        if f.table != data.name {
            return Err(ApiError::Wrapped(format!("'{}'", f.table)));
        }
        filter::apply(data, f, &mut mask)?;
    }
    let mut matched = indices(&mask);
    order(&mut matched, options);
    let resolution = body.desired_resolution.unwrap_or(data.voxel_resolution);
    if options.count {
        return Ok(count_answer(matched.len(), resolution));
    }
    let (page, limit) = page(&matched, body, options)?;
    let selected = select_simple(data, body.select_columns.as_deref())?;
    let scale = scale_of(data.voxel_resolution, resolution);
    let mut frame = Frame {
        columns: Vec::new(),
        rows: page.len(),
    };
    let indices = UInt32Array::from(page.to_vec());
    let mut names = Vec::new();
    for column in selected {
        push_column(&mut frame, column, &column.name, &indices, scale)?;
        names.push((column.name.clone(), column.name.clone()));
    }
    let mut warnings = Vec::new();
    if page.len() == limit {
        warnings.push(limit_warning(limit));
    }
    warnings.extend(notice.map(|n| format!("Table Owner Notice on {}: {n}", data.name)));
    Ok(Answer {
        frame,
        warnings,
        resolution,
        column_names: vec![(data.name.clone(), names)],
        limit: Some(limit),
    })
}

/// One side of a join: the table and the column it joins on.
pub struct JoinSide<'a> {
    /// The table.
    pub data: &'a TableData,
    /// Its join column.
    pub column: &'a str,
    /// Its owner notice.
    pub notice: Option<&'a str>,
}

/// Answer a join of two tables, `left.column = right.column`, valid rows of both.
pub fn join(
    left: &JoinSide,
    right: &JoinSide,
    body: &QueryBody,
    options: &Options,
) -> Result<Answer, ApiError> {
    let sides = [left, right];
    let mut masks = [
        base_mask(left.data, options.random_sample),
        base_mask(right.data, None),
    ];
    for f in &body.filters {
        let side = sides
            .iter()
            .position(|s| s.data.name == f.table)
            .ok_or_else(|| ApiError::Wrapped(format!("'{}'", f.table)))?;
        filter::apply(sides[side].data, f, &mut masks[side])?;
    }
    let left_keys = join_keys(left)?;
    let right_keys = join_keys(right)?;
    let mut by_key: HashMap<i64, Vec<u32>> = HashMap::new();
    for (i, key) in right_keys.iter().enumerate() {
        if let (true, Some(k)) = (masks[1][i], key) {
            by_key.entry(*k).or_default().push(i as u32);
        }
    }
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for (i, key) in left_keys.iter().enumerate() {
        if let (true, Some(k)) = (masks[0][i], key)
            && let Some(rows) = by_key.get(k)
        {
            pairs.extend(rows.iter().map(|&r| (i as u32, r)));
        }
    }
    let resolution = body
        .desired_resolution
        .unwrap_or(right.data.voxel_resolution);
    if options.count {
        return Ok(count_answer(pairs.len(), resolution));
    }
    order(&mut pairs, options);
    let (page, limit) = page(&pairs, body, options)?;
    let selected = select_join(&sides, body)?;
    let suffixes = suffixes(&sides, body)?;
    // Suffixes apply only to names that occur in more than one selected table.
    let shared = |name: &str| {
        selected
            .iter()
            .filter(|cols| cols.iter().any(|c| c.name == name))
            .count()
            > 1
    };
    let mut frame = Frame {
        columns: Vec::new(),
        rows: page.len(),
    };
    let mut column_names = Vec::new();
    for (side_index, side) in sides.iter().enumerate() {
        let rows: Vec<u32> = page
            .iter()
            .map(|p| if side_index == 0 { p.0 } else { p.1 })
            .collect();
        let indices = UInt32Array::from(rows);
        let scale = scale_of(side.data.voxel_resolution, resolution);
        let mut names = Vec::new();
        for column in &selected[side_index] {
            let out = if shared(&column.name) {
                format!("{}{}", column.name, suffixes[side_index])
            } else {
                column.name.clone()
            };
            push_column(&mut frame, column, &out, &indices, scale)?;
            names.push((column.name.clone(), out));
        }
        column_names.push((side.data.name.clone(), names));
    }
    let mut warnings = Vec::new();
    if page.len() == limit {
        warnings.push(limit_warning(limit));
    }
    for side in sides {
        if let Some(n) = side.notice {
            warnings.push(format!("Table Owner Notice on {}: {n}", side.data.name));
        }
    }
    Ok(Answer {
        frame,
        warnings,
        resolution,
        column_names,
        limit: Some(limit),
    })
}

fn count_answer(n: usize, resolution: [f64; 3]) -> Answer {
    let array: ArrayRef = Arc::new(Int64Array::from(vec![n as i64]));
    Answer {
        frame: Frame {
            columns: vec![("count".into(), array)],
            rows: 1,
        },
        warnings: Vec::new(),
        resolution,
        column_names: Vec::new(),
        limit: None,
    }
}

/// Valid rows, thinned by `random_sample` as TABLESAMPLE would (ignored when N ≥ rows).
fn base_mask(data: &TableData, random_sample: Option<u64>) -> Vec<bool> {
    let mut mask = match data.valid() {
        Some(v) => (0..data.rows)
            .map(|i| v.is_valid(i) && v.value(i))
            .collect(),
        None => vec![true; data.rows],
    };
    if let Some(n) = random_sample.filter(|&n| (n as usize) < data.rows) {
        let keep = n as f64 / data.rows as f64;
        for (i, m) in mask.iter_mut().enumerate() {
            *m &= unit_hash(i as u64) < keep;
        }
    }
    mask
}

/// A fixed pseudo-random number in [0, 1) for a row (splitmix64).
fn unit_hash(i: u64) -> f64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

fn indices(mask: &[bool]) -> Vec<u32> {
    mask.iter()
        .enumerate()
        .filter(|(_, m)| **m)
        .map(|(i, _)| i as u32)
        .collect()
}

/// The page `offset .. offset + limit` (limit capped at the server's row cap) and the cap used.
fn page<'a, T>(
    items: &'a [T],
    body: &QueryBody,
    options: &Options,
) -> Result<(&'a [T], usize), ApiError> {
    let offset = body.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::Wrapped(
            "(psycopg2.errors.InvalidRowCountInResultOffsetClause) OFFSET must not be negative"
                .into(),
        ));
    }
    let limit = match body.limit {
        Some(l) if l < 0 => {
            return Err(ApiError::Wrapped(
                "(psycopg2.errors.InvalidRowCountInLimitClause) LIMIT must not be negative".into(),
            ));
        }
        // `limit or QUERY_LIMIT_SIZE`: 0 counts as no limit.
        Some(0) | None => options.row_limit,
        Some(l) => (l as usize).min(options.row_limit),
    };
    let start = (offset as usize).min(items.len());
    let end = start.saturating_add(limit).min(items.len());
    Ok((&items[start..end], limit))
}

/// The columns a simple query returns: the listed ones (a root id pulls in its supervoxel id,
/// before it), or all of them with the segmentation columns last.
fn select_simple<'a>(
    data: &'a TableData,
    select: Option<&[String]>,
) -> Result<Vec<&'a StoredColumn>, ApiError> {
    let Some(names) = select else {
        return Ok(default_order(data));
    };
    let mut out: Vec<&StoredColumn> = Vec::new();
    for name in names {
        let column = data.column(name).ok_or_else(|| {
            ApiError::Wrapped(format!("{name} not in model or models for {}", data.name))
        })?;
        if let Some(point) = name.strip_suffix("_root_id")
            && let Some(sv) = data.column(&format!("{point}_supervoxel_id"))
            && !out.iter().any(|c| c.name == sv.name)
        {
            out.push(sv);
        }
        if !out.iter().any(|c| c.name == column.name) {
            out.push(column);
        }
    }
    Ok(out)
}

/// All columns, annotation columns first and the segmentation (supervoxel, root) columns last,
/// as the split flat model returns them.
pub fn default_order(data: &TableData) -> Vec<&StoredColumn> {
    if data.schema_type.is_empty() {
        // A view: its columns as stored (the server reflects the view's own order).
        return data.columns.iter().collect();
    }
    let is_segmentation = |c: &StoredColumn| {
        ["_supervoxel_id", "_root_id"].iter().any(|suffix| {
            c.name
                .strip_suffix(suffix)
                .is_some_and(|p| data.column(&format!("{p}_position")).is_some())
        })
    };
    let (seg, ann): (Vec<&StoredColumn>, Vec<&StoredColumn>) =
        data.columns.iter().partition(|c| is_segmentation(c));
    ann.into_iter().chain(seg).collect()
}

/// Columns per side of a join; CRUD columns are dropped.
fn select_join<'a>(
    sides: &[&JoinSide<'a>; 2],
    body: &QueryBody,
) -> Result<[Vec<&'a StoredColumn>; 2], ApiError> {
    let not_crud = |c: &&StoredColumn| c.name != "superceded_id" && c.name != "deleted";
    let mut out: [Vec<&'a StoredColumn>; 2] = [Vec::new(), Vec::new()];
    if let Some(map) = &body.select_column_map {
        for (table, columns) in map {
            let side = sides
                .iter()
                .position(|s| s.data.name == *table)
                .ok_or_else(|| ApiError::Wrapped(format!("'{table}'")))?;
            for name in columns {
                let column = sides[side].data.column(name).ok_or_else(|| {
                    ApiError::bad_request(format!("column {name} not found in {table}"))
                })?;
                out[side].push(column);
            }
        }
    } else if let Some(list) = &body.select_columns {
        for name in list {
            let side = sides
                .iter()
                .position(|s| s.data.column(name).is_some())
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "column {name} not found in {} or {}",
                        sides[0].data.name, sides[1].data.name
                    ))
                })?;
            out[side].extend(sides[side].data.column(name));
        }
    } else {
        for (k, side) in sides.iter().enumerate() {
            out[k] = default_order(side.data)
                .into_iter()
                .filter(not_crud)
                .collect();
        }
    }
    Ok(out)
}

/// The suffix of each side: `suffix_map`, else the deprecated `suffixes` list, else the
/// server's default `x`, `y`.
fn suffixes(sides: &[&JoinSide; 2], body: &QueryBody) -> Result<[String; 2], ApiError> {
    let defaults = ["x", "y"];
    let mut out = [String::new(), String::new()];
    for (k, side) in sides.iter().enumerate() {
        out[k] = if let Some(map) = &body.suffix_map {
            map.iter()
                .find(|(t, _)| *t == side.data.name)
                .map(|(_, s)| s.clone())
                .unwrap_or_else(|| defaults[k].to_string())
        } else if let Some(list) = &body.suffixes {
            list.get(k)
                .cloned()
                .unwrap_or_else(|| defaults[k].to_string())
        } else {
            defaults[k].to_string()
        };
    }
    if out[0] == out[1] && sides[0].data.name != sides[1].data.name {
        return Err(ApiError::bad_request(format!(
            "suffixes must be unique, got {:?} for both {} and {}",
            out[0], sides[0].data.name, sides[1].data.name
        )));
    }
    Ok(out)
}

fn join_keys(side: &JoinSide) -> Result<Vec<Option<i64>>, ApiError> {
    let column = side.data.column(side.column).ok_or_else(|| {
        ApiError::bad_request(format!(
            "column {} not found in {}",
            side.column, side.data.name
        ))
    })?;
    let Values::Single(array) = &column.values else {
        return Err(ApiError::bad_request(format!(
            "cannot join on position column {}",
            side.column
        )));
    };
    let any = array.as_any();
    if let Some(a) = any.downcast_ref::<Int64Array>() {
        return Ok((0..a.len())
            .map(|i| a.is_valid(i).then(|| a.value(i)))
            .collect());
    }
    if let Some(a) = any.downcast_ref::<Int32Array>() {
        return Ok((0..a.len())
            .map(|i| a.is_valid(i).then(|| i64::from(a.value(i))))
            .collect());
    }
    Err(ApiError::bad_request(format!(
        "cannot join on non-integer column {}.{}",
        side.data.name, side.column
    )))
}

fn scale_of(voxel: [f64; 3], desired: [f64; 3]) -> [f64; 3] {
    [
        voxel[0] / desired[0],
        voxel[1] / desired[1],
        voxel[2] / desired[2],
    ]
}

/// Append `column` restricted to `indices` under the name `out` (a position as three columns).
fn push_column(
    frame: &mut Frame,
    column: &StoredColumn,
    out: &str,
    indices: &UInt32Array,
    scale: [f64; 3],
) -> Result<(), ApiError> {
    let taken = |a: &ArrayRef| {
        take(a.as_ref(), indices, None).map_err(|e| ApiError::Wrapped(e.to_string()))
    };
    match &column.values {
        Values::Single(a) => frame.columns.push((out.to_string(), taken(a)?)),
        Values::Position(xyz) => {
            for (k, axis) in ["x", "y", "z"].iter().enumerate() {
                let values = scale_axis(taken(&xyz[k])?, scale[k], out)?;
                frame.columns.push((format!("{out}_{axis}"), values));
            }
        }
    }
    Ok(())
}

/// Positions times `factor`, rounded back to int32 as the server's SQL cast does.
fn scale_axis(array: ArrayRef, factor: f64, name: &str) -> Result<ArrayRef, ApiError> {
    if factor == 1.0 {
        return Ok(array);
    }
    let Some(ints) = array.as_any().downcast_ref::<Int32Array>() else {
        return Ok(array);
    };
    let mut out = Vec::with_capacity(ints.len());
    for i in 0..ints.len() {
        if ints.is_null(i) {
            out.push(None);
            continue;
        }
        let v = (f64::from(ints.value(i)) * factor).round();
        if !(f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&v) {
            return Err(ApiError::Wrapped(format!(
                "(psycopg2.errors.NumericValueOutOfRange) integer out of range scaling {name}"
            )));
        }
        out.push(Some(v as i32));
    }
    Ok(Arc::new(Int32Array::from(out)))
}
