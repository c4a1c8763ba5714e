//! How a query is split by id ranges: whether it can be (`Partition::of`), the request of one
//! range (`Partition::spec_of`), and how many ranges a capped answer becomes.

use std::borrow::Cow;

use arrow_array::{Array, Int64Array, RecordBatch};
use cave_wire::FilterKind;
use serde_json::Value;

use crate::pager::ranges::IdRange;
use crate::query::{Side, Spec};

/// The column ranges are taken on: the `id` of the queried table (for a reference table, the
/// reference's own id; its target is joined one row per reference row).
pub(crate) const ID: &str = "id";

/// A query that can be split by ranges of `id`.
#[derive(Debug, Clone)]
pub(crate) struct Partition {
    /// The ids the user's own comparisons on `id` allow.
    pub within: IdRange,
    /// The user's selection lacks `id`: range requests add it, and it is removed from their
    /// answers again.
    pub added_id: bool,
}

/// Why a query is paged by offset instead (its result may then miss or repeat rows).
pub(crate) fn why_not(spec: &Spec) -> Option<String> {
    if spec.offset.is_some_and(|o| o > 0) {
        return Some("it has an offset".into());
    }
    if spec.random_sample.is_some() {
        return Some("it is a random sample".into());
    }
    if let Some(select) = &spec.select
        && !select
            .iter()
            .any(|(side, c)| *side == Side::Table && c == ID)
        && select
            .iter()
            .any(|(side, c)| *side == Side::Target && c == ID)
    {
        // Adding the table's `id` would rename the target's (`id_ref`).
        return Some("it selects the target's `id` but not the table's".into());
    }
    for c in own_id_comparisons(spec) {
        if c.value.as_i64().is_none() {
            return Some(format!(
                "its filter on `id` compares with {}, not an integer",
                c.value
            ));
        }
    }
    None
}

fn own_id_comparisons(spec: &Spec) -> impl Iterator<Item = &crate::query::Clause> {
    spec.clauses.iter().filter(|c| {
        c.side == Side::Table && c.column == ID && IdRange::ALL.narrowed(c.kind(), 0).is_some()
    })
}

impl Partition {
    /// The partition of `spec`, or why there is none.
    pub(crate) fn of(spec: &Spec) -> Result<Partition, String> {
        if let Some(why) = why_not(spec) {
            return Err(why);
        }
        let mut within = IdRange::ALL;
        for c in own_id_comparisons(spec) {
            let value = c.value.as_i64().unwrap_or_default();
            within = within.narrowed(c.kind(), value).unwrap_or(within);
        }
        let added_id = spec
            .select
            .as_ref()
            .is_some_and(|s| !s.iter().any(|(side, c)| *side == Side::Table && c == ID));
        Ok(Partition { within, added_id })
    }

    /// The request for the rows of `range` (inside `within`): the user's query with its own
    /// comparisons on `id` replaced by the range's, `id` selected, no offset or limit (the
    /// server's cap applies; the pager keeps to the user's limit).
    pub(crate) fn spec_of(&self, spec: &Spec, range: IdRange) -> Spec {
        let mut out = spec.clone();
        out.clauses.retain(|c| {
            !(c.side == Side::Table
                && c.column == ID
                && IdRange::ALL.narrowed(c.kind(), 0).is_some())
        });
        let range = range.intersect(self.within);
        if let Some(lo) = range.lo {
            out.push(
                Side::Table,
                Cow::Borrowed(ID),
                FilterKind::GreaterEqual,
                Value::from(lo),
            );
        }
        if let Some(hi) = range.hi {
            out.push(
                Side::Table,
                Cow::Borrowed(ID),
                FilterKind::Less,
                Value::from(hi),
            );
        }
        if self.added_id
            && let Some(select) = &mut out.select
        {
            select.push((Side::Table, Cow::Borrowed(ID)));
        }
        out.limit = None;
        out.offset = None;
        out
    }

    /// The request for only the ids of `range`: to plan ranges when the user's selection
    /// has no `id` (its answers can be used for nothing else).
    pub(crate) fn ids_spec_of(&self, spec: &Spec, range: IdRange) -> Spec {
        let mut out = self.spec_of(spec, range);
        // A reference table keeps its target's columns out of the answer, not the join.
        out.select = Some(vec![(Side::Table, Cow::Borrowed(ID))]);
        out
    }
}

/// The `id` column of an answer's batch (Int64, no nulls), or what is wrong with it.
pub(crate) fn ids_of(batch: &RecordBatch) -> Result<&Int64Array, String> {
    let column = batch
        .column_by_name(ID)
        .ok_or_else(|| "the answer has no `id` column".to_string())?;
    let ids = column
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or_else(|| format!("its `id` column is {}, not int64", column.data_type()))?;
    if ids.null_count() > 0 {
        return Err("its `id` column has nulls".into());
    }
    Ok(ids)
}

/// How many ranges hold `rows` rows at about three quarters of the cap each (room for a
/// sample's error before a range hits the cap again).
pub(crate) fn pieces_for(rows: u64, cap: u64) -> usize {
    let per_range = (cap.saturating_mul(3) / 4).max(1);
    rows.div_ceil(per_range).clamp(2, 100_000) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec::new("synapses_pni_2".into(), None)
    }

    #[test]
    fn the_users_own_id_bounds_become_the_range_and_are_replaced() {
        let mut s = spec();
        s.push(
            Side::Table,
            "id".into(),
            FilterKind::Greater,
            Value::from(10),
        );
        s.push(
            Side::Table,
            "id".into(),
            FilterKind::LessEqual,
            Value::from(99),
        );
        s.push(
            Side::Table,
            "id".into(),
            FilterKind::In,
            serde_json::json!([50, 60]),
        );
        s.limit = Some(5);
        let p = Partition::of(&s).unwrap();
        assert_eq!(
            p.within,
            IdRange {
                lo: Some(11),
                hi: Some(100)
            }
        );
        let sub = p.spec_of(
            &s,
            IdRange {
                lo: Some(40),
                hi: None,
            },
        );
        let body = sub.body();
        assert_eq!(
            body["filter_greater_equal_dict"]["synapses_pni_2"]["id"],
            40
        );
        assert_eq!(body["filter_less_dict"]["synapses_pni_2"]["id"], 100);
        assert!(body.get("filter_greater_dict").is_none());
        assert!(body.get("filter_less_equal_dict").is_none());
        assert_eq!(
            body["filter_in_dict"]["synapses_pni_2"]["id"],
            serde_json::json!([50, 60])
        );
        assert!(body.get("limit").is_none());
    }

    #[test]
    fn a_selection_without_id_gets_it_added() {
        let mut s = spec();
        s.select = Some(vec![(Side::Table, "size".into())]);
        let p = Partition::of(&s).unwrap();
        assert!(p.added_id);
        let body = p.spec_of(&s, IdRange::ALL).body();
        assert_eq!(body["select_columns"], serde_json::json!(["size", "id"]));
        let ids = p.ids_spec_of(&s, IdRange::ALL).body();
        assert_eq!(ids["select_columns"], serde_json::json!(["id"]));
    }

    #[test]
    fn queries_that_cannot_be_split() {
        let mut s = spec();
        s.offset = Some(3);
        assert!(why_not(&s).unwrap().contains("offset"));
        let mut s = spec();
        s.random_sample = Some(3);
        assert!(why_not(&s).unwrap().contains("sample"));
        let mut s = spec();
        s.push(
            Side::Table,
            "id".into(),
            FilterKind::Greater,
            Value::from(1.5),
        );
        assert!(why_not(&s).unwrap().contains("1.5"));
        let mut s = Spec::new("t".into(), Some("target".into()));
        s.select = Some(vec![(Side::Target, "id".into())]);
        assert!(why_not(&s).unwrap().contains("target"));
        assert!(why_not(&spec()).is_none());
    }

    #[test]
    fn pieces() {
        assert_eq!(pieces_for(1_000_000, 200_000), 7);
        assert_eq!(pieces_for(10, 200_000), 2);
        assert_eq!(pieces_for(u64::MAX, 1), 100_000);
    }
}
