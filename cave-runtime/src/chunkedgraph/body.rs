//! Request bodies, byte for byte caveclient's: `json.dumps({"node_ids": [...]})` (Python's
//! separators, through [`crate::pyjson`]) and the raw little-endian u64 of `roots_binary`.

use serde_json::{Value, json};

use crate::error::Error;

/// The ids as `i64`, each checked to be a node id (not negative: the server's ids are
/// unsigned, so a negative one would be read as another id); `what` names them in the error.
pub(super) fn checked_ids(ids: &[impl Into<i64> + Copy], what: &str) -> Result<Vec<i64>, Error> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| checked_id((*id).into(), what).map_err(|e| at_index(e, i)))
        .collect()
}

/// One id, checked as [`checked_ids`] does.
pub(super) fn checked_id(id: i64, what: &str) -> Result<i64, Error> {
    if id < 0 {
        return Err(Error::InvalidArgument(format!(
            "{what} id {id} is negative; chunkedgraph ids are unsigned 64-bit numbers below 2^63"
        )));
    }
    Ok(id)
}

fn at_index(e: Error, i: usize) -> Error {
    match e {
        Error::InvalidArgument(m) => Error::InvalidArgument(format!("[{i}]: {m}")),
        e => e,
    }
}

/// The ids sorted, each once (caveclient's `np.unique` for `make_unique=True`).
pub(super) fn sorted_unique(ids: &[i64]) -> Vec<i64> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// `{"<key>": [ids]}` as `json.dumps` writes it.
pub(super) fn id_list(key: &str, ids: &[i64]) -> String {
    let mut body = serde_json::Map::new();
    body.insert(key.to_string(), json!(ids));
    crate::pyjson::to_string(&Value::Object(body))
}

/// `{"node_ids": [ids]}`.
pub(super) fn node_ids(ids: &[i64]) -> String {
    id_list("node_ids", ids)
}

/// `{"root_ids": [ids]}`.
pub(super) fn root_ids(ids: &[i64]) -> String {
    id_list("root_ids", ids)
}

/// The ids as little-endian u64 (`np.array(ids, dtype=np.uint64).tobytes()` on any machine
/// CAVE runs on). The ids are checked not negative.
pub(super) fn little_endian(ids: &[i64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ids.len() * 8);
    for id in ids {
        out.extend_from_slice(&(*id as u64).to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{RootId, SupervoxelId};

    #[test]
    fn json_bodies_are_python_json_dumps_bytes() {
        assert_eq!(
            node_ids(&[864691135000000001, 864691135000000002]),
            r#"{"node_ids": [864691135000000001, 864691135000000002]}"#
        );
        assert_eq!(root_ids(&[1]), r#"{"root_ids": [1]}"#);
        assert_eq!(node_ids(&[]), r#"{"node_ids": []}"#);
        assert_eq!(
            root_ids(&sorted_unique(&[3, 1, 3, 2, i64::MAX])),
            r#"{"root_ids": [1, 2, 3, 9223372036854775807]}"#
        );
    }

    #[test]
    fn roots_binary_bodies_are_little_endian_u64() {
        assert_eq!(
            little_endian(&[1, 0x0102030405060708]),
            [1, 0, 0, 0, 0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1]
        );
        assert!(little_endian(&[]).is_empty());
    }

    #[test]
    fn negative_ids_are_refused_with_their_place() {
        assert_eq!(
            checked_ids(&[RootId(5), RootId(7)], "root").unwrap(),
            [5, 7]
        );
        let e = checked_ids(&[SupervoxelId(1), SupervoxelId(-2)], "supervoxel").unwrap_err();
        assert!(
            matches!(&e, Error::InvalidArgument(m) if m.starts_with("[1]: supervoxel id -2 is negative")),
            "{e}"
        );
    }
}
