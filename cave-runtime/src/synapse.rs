//! Synapse queries, as caveclient's `synapse_query`: the synapses of some pre- and/or
//! post-synaptic cells, optionally inside a box, without autapses, on a table of synapses
//! (the datastack's is named by its info record; `datastack!` aliases it as `Synapses`).
//!
//! The body is caveclient 8.2.1's byte for byte (docs/WIRE.md, "Synapse queries"): one root id
//! is an equal filter, several an in filter; `filter_in_dict` and `filter_equal_dict` are sent
//! even when empty; roots 0 are excluded with `filter_notin_dict`, and the bounding box is on
//! `post_pt_position`. The differences are on purpose: roots 0 are excluded by default
//! (caveclient's `include_zeros` defaults to `True`), and the client applies the not-in
//! filter itself (servers ignore it, so caveclient's `include_zeros=False` keeps them).

use std::borrow::{Borrow, Cow};

use chrono::{DateTime, Utc};

use crate::ids::RootId;
use crate::query::{Query, Side, Spec, spec_setters};
use crate::table::Table;

/// The pre-synaptic root id column of a synapse table.
pub const PRE_ROOT: &str = "pre_pt_root_id";
/// The post-synaptic root id column of a synapse table.
pub const POST_ROOT: &str = "post_pt_root_id";
/// The column a synapse query's bounding box is on, as caveclient's default
/// `bounding_box_column`.
pub const POST_POSITION: &str = "post_pt_position";

/// A table of synapses: root ids `pre_pt_root_id` and `post_pt_root_id` and a point
/// `post_pt_position` (the `synapse` schema and the schemas built on it). `datastack!`
/// implements it for every such table.
pub trait SynapseTable: Table {
    /// The table's typed filter builder, for the filters a synapse query adds
    /// ([`SynapseQuery::filter`]).
    type Filter: Default + Clone + std::fmt::Debug + Into<Query<Self>>;
}

/// The root ids of one side of a synapse query.
#[derive(Debug, Clone, PartialEq)]
enum Roots {
    /// One root: `filter_equal_dict`.
    One(RootId),
    /// Any of these: `filter_in_dict`.
    Any(Vec<RootId>),
}

/// A synapse query under construction (caveclient's `synapse_query`): made by
/// `Synapses::synapse_query()` (or `SynapseQuery::<T>::new()` for any [`SynapseTable`]), run
/// with `.query(&client)`, `.stream(&client)` or `.batches(&client)`, or handed to any
/// [`Client`](crate::Client) method that takes a query.
///
/// By default the synapses to or from root 0 (outside the segmentation) are left out, and so
/// are autapses (the same root before and after); both are dropped by the client, and
/// [`QueryInfo`](crate::QueryInfo) counts them (`dropped_by_not_in`, `autapses_removed`). A
/// limit counts the rows returned, after both.
///
/// ```no_run
/// # mod minnie { cave_runtime::datastack!("schemas/minnie65_public", version = 1300, tables = ["synapses_pni_2"]); }
/// # async fn demo(client: &cave_runtime::Client) -> Result<(), cave_runtime::Error> {
/// use cave_runtime::RootId;
/// let cell = RootId(864691135013445270);
/// let outputs = minnie::Synapses::synapse_query()
///     .pre(cell)
///     .filter(|f| f.size_gt(100.0))
///     .query(client)
///     .await?;
/// println!("{} output synapses above size 100", outputs.len());
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a synapse query does nothing until it is run with `.query(&client)`"]
pub struct SynapseQuery<T: SynapseTable> {
    /// Version, timestamp, limit, offset, resolution (`spec_setters!`).
    spec: Spec,
    filter: T::Filter,
    pre: Option<Roots>,
    post: Option<Roots>,
    bounding_box: Option<([i32; 3], [i32; 3])>,
    include_zeros: bool,
    remove_autapses: bool,
}

// By hand: a derive would ask for `T: Clone`, and only the filter needs to be.
impl<T: SynapseTable> Clone for SynapseQuery<T> {
    fn clone(&self) -> Self {
        SynapseQuery {
            spec: self.spec.clone(),
            filter: self.filter.clone(),
            pre: self.pre.clone(),
            post: self.post.clone(),
            bounding_box: self.bounding_box,
            include_zeros: self.include_zeros,
            remove_autapses: self.remove_autapses,
        }
    }
}

impl<T: SynapseTable> Default for SynapseQuery<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: SynapseTable> SynapseQuery<T> {
    /// All synapses of the table (past the server's row cap: every row, split by id), roots 0
    /// and autapses left out.
    pub fn new() -> Self {
        SynapseQuery {
            spec: Spec::new(Cow::Borrowed(T::NAME), None),
            filter: T::Filter::default(),
            pre: None,
            post: None,
            bounding_box: None,
            include_zeros: false,
            remove_autapses: true,
        }
    }

    /// Synapses from the cell `root` (`pre_ids=root`).
    pub fn pre(mut self, root: RootId) -> Self {
        self.pre = Some(Roots::One(root));
        self
    }

    /// Synapses from any of `roots` (`pre_ids=[...]`).
    pub fn pre_in(mut self, roots: impl IntoIterator<Item = impl Borrow<RootId>>) -> Self {
        self.pre = Some(Roots::Any(roots.into_iter().map(|r| *r.borrow()).collect()));
        self
    }

    /// Synapses onto the cell `root` (`post_ids=root`).
    pub fn post(mut self, root: RootId) -> Self {
        self.post = Some(Roots::One(root));
        self
    }

    /// Synapses onto any of `roots` (`post_ids=[...]`).
    pub fn post_in(mut self, roots: impl IntoIterator<Item = impl Borrow<RootId>>) -> Self {
        self.post = Some(Roots::Any(roots.into_iter().map(|r| *r.borrow()).collect()));
        self
    }

    /// Synapses whose `post_pt_position` is inside the box from `min` to `max`, in the
    /// table's voxels (caveclient's `bounding_box`). A box on another point:
    /// `.filter(|f| f.ctr_pt_position_bbox(min, max))`.
    pub fn bounding_box(mut self, min: [i32; 3], max: [i32; 3]) -> Self {
        self.bounding_box = Some((min, max));
        self
    }

    /// Keep the synapses to or from root 0, outside the segmentation (caveclient's default;
    /// left out by default here).
    pub fn include_zeros(mut self, include: bool) -> Self {
        self.include_zeros = include;
        self
    }

    /// Keep autapses, the synapses whose pre- and post-synaptic roots are the same
    /// (caveclient's `remove_autapses=False`).
    pub fn keep_autapses(mut self) -> Self {
        self.remove_autapses = false;
        self
    }

    /// More filters, with the table's typed filter builder: `.filter(|f| f.size_gt(100.0))`.
    /// Its root-id and `post_pt_position` filters of the kinds set here are replaced by the
    /// synapse query's own.
    pub fn filter(mut self, add: impl FnOnce(T::Filter) -> T::Filter) -> Self {
        self.filter = add(self.filter);
        self
    }

    spec_setters!(at_a_version);

    /// Query the synapses as they were at `timestamp` (a live query) instead of at a version.
    pub fn timestamp(mut self, timestamp: DateTime<Utc>) -> Self {
        self.spec.timestamp = Some(timestamp);
        self
    }

    /// The query this synapse query runs.
    pub fn into_query(self) -> Query<T> {
        let mut query: Query<T> = self.filter.into();
        let own = self.spec;
        let spec = &mut query.spec;
        // What was set on the synapse query wins over the same set inside `filter`.
        spec.limit = own.limit.or(spec.limit);
        spec.offset = own.offset.or(spec.offset);
        spec.desired_resolution = own.desired_resolution.or(spec.desired_resolution);
        spec.version = own.version.or(spec.version);
        spec.timestamp = own.timestamp.or(spec.timestamp);
        // caveclient's order: not-in, then pre, then post (dicts keep insertion order).
        if !self.include_zeros {
            let zero = [RootId(0)];
            query = query
                .not_in::<RootId, _>(Side::Table, PRE_ROOT, zero)
                .not_in::<RootId, _>(Side::Table, POST_ROOT, zero);
        }
        for (column, roots) in [(PRE_ROOT, self.pre), (POST_ROOT, self.post)] {
            query = match roots {
                Some(Roots::One(root)) => query.equal(Side::Table, column, &root),
                Some(Roots::Any(roots)) => query.one_of::<RootId, _>(Side::Table, column, roots),
                None => query,
            };
        }
        if let Some((min, max)) = self.bounding_box {
            query = query.bbox(Side::Table, POST_POSITION, min, max);
        }
        query.spec.always_in_and_equal = true;
        if self.remove_autapses {
            query.spec.drop_equal_pair = Some((PRE_ROOT.into(), POST_ROOT.into()));
        }
        query
    }

    /// The body of the materialized query (the first request; past the row cap the client
    /// adds id ranges).
    pub fn body(&self) -> serde_json::Value {
        self.clone().into_query().body()
    }

    /// Run the query and decode its rows (`cave_runtime::Client::query`).
    pub async fn query(self, client: &crate::Client) -> Result<crate::Rows<T>, crate::Error> {
        client.query(self).await
    }

    /// Run the query and hand its rows out as they arrive (`cave_runtime::Client::stream`).
    pub async fn stream(
        self,
        client: &crate::Client,
    ) -> Result<crate::RowStream<'_, T>, crate::Error> {
        client.stream(self).await
    }

    /// Run the query for Arrow record batches (`cave_runtime::Client::batches`).
    pub async fn batches(self, client: &crate::Client) -> Result<crate::Batches, crate::Error> {
        client.batches(self).await
    }
}

impl<T: SynapseTable> From<SynapseQuery<T>> for Query<T> {
    fn from(q: SynapseQuery<T>) -> Self {
        q.into_query()
    }
}
