//! Distinct id types, so that a root id cannot be passed where a supervoxel id is expected.
//! All of them travel as `int64`, and hold the value the server sent: a negative id (which no
//! CAVE service makes; graphene ids are below 2^63, annotation ids count up from 1) is passed
//! through as sent, not refused or changed. A server can be wrong about any value; this
//! client checks the shape of an answer (columns, types, nulls, sizes), not its values.

use std::fmt;
use std::num::ParseIntError;
use std::str::FromStr;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl $name {
            /// The id as the server sends it.
            #[inline]
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse().map($name)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }
    };
}

id_type!(
    /// An annotation id: the `id` of a row (for a nucleus table, the nucleus id, which stays the
    /// same across materialization versions), or a reference table's `target_id`.
    AnnotationId
);
id_type!(
    /// A root id: the segment a point belongs to at a materialization version. It changes
    /// whenever the segment is edited (proofreading), so compare root ids only within one
    /// version or timestamp.
    RootId
);
id_type!(
    /// A supervoxel id: the atomic piece of segmentation under a point. Stable across versions.
    SupervoxelId
);
id_type!(
    /// A node of the chunkedgraph at any layer: a supervoxel (layer 1), a root (the top), or a
    /// node in between, as [`ChunkedGraph::leaves`](crate::ChunkedGraph::leaves) returns
    /// them for a `stop_layer` above 1.
    NodeId
);

impl From<RootId> for NodeId {
    fn from(id: RootId) -> NodeId {
        NodeId(id.0)
    }
}

impl From<SupervoxelId> for NodeId {
    fn from(id: SupervoxelId) -> NodeId {
        NodeId(id.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_print_and_parse_as_integers() {
        let id = RootId(864_691_135_000_000_001);
        assert_eq!(id.to_string(), "864691135000000001");
        assert_eq!("864691135000000001".parse::<RootId>().unwrap(), id);
        assert!("12x".parse::<SupervoxelId>().is_err());
        assert_eq!(i64::from(AnnotationId(7)), 7);
    }
}
