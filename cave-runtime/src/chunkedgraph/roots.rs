//! Roots of supervoxels, and what is known of roots: whether they are the latest, when they
//! were created or stopped being the latest.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use cave_wire::chunkedgraph::{IsLatestAnswer, RootAnswer, RootTimestampsAnswer};
use cave_wire::paths::segmentation;

use super::answer::{self, Call};
use super::body;
use super::chunks::{self, Part};
use super::params::Params;
use super::{ChunkedGraph, IDS_PER_CHUNKEDGRAPH_REQUEST};
use crate::error::Error;
use crate::http::{AnswerBound, Body, Http, Method};
use crate::ids::RootId;

impl ChunkedGraph<'_> {
    /// The root of each supervoxel at `at` (default: now), in the order given
    /// (caveclient's `get_roots`): `POST .../roots_binary?timestamp=..[&stop_layer=..]`, the
    /// ids as little-endian u64 in the body and the answer. With `stop_layer`, the ids are
    /// those of the supervoxels' ancestors at that layer instead of their roots.
    ///
    /// Any node ids may be given (`SupervoxelId`, `NodeId`, `i64`); negative ones are
    /// refused. More than [`IDS_PER_CHUNKEDGRAPH_REQUEST`] ids go in several requests, several at once;
    /// each answer must have exactly 8 bytes per id it asked for.
    pub async fn roots(
        &self,
        supervoxels: &[impl Into<i64> + Copy],
        at: Option<DateTime<Utc>>,
        stop_layer: Option<u32>,
    ) -> Result<Vec<RootId>, Error> {
        let ids = body::checked_ids(supervoxels, "supervoxel")?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let url = Params::new()
            .time("timestamp", at.unwrap_or_else(Utc::now))
            .maybe("stop_layer", stop_layer)
            .on(self.url(segmentation::ROOTS_BINARY, &[]));
        let (http, table) = (self.shared_http(), Arc::new(self.table.clone()));
        chunks::run(
            &ids,
            IDS_PER_CHUNKEDGRAPH_REQUEST,
            self.in_flight(),
            |chunk, part| {
                let (http, table, url) = (http.clone(), table.clone(), url.clone());
                async move { roots_binary(&http, &table, &url, &chunk, &part).await }
            },
        )
        .await
    }

    /// The root of one supervoxel at `at` (default: now): `GET .../node/{sv}/root?timestamp=..`
    /// (caveclient's `get_root_id`).
    pub async fn root(
        &self,
        supervoxel: impl Into<i64>,
        at: Option<DateTime<Utc>>,
    ) -> Result<RootId, Error> {
        let id = body::checked_id(supervoxel.into(), "supervoxel")?;
        let url = Params::new()
            .time("timestamp", at.unwrap_or_else(Utc::now))
            .on(self.url(segmentation::ROOT, &[&id.to_string()]));
        let answer: RootAnswer = self
            .json(Call::get(&url), "a root ({\"root_id\": id})")
            .await?;
        Ok(RootId(answer.root_id))
    }

    /// Whether each root is the latest (not yet edited away) at `at`, in the order given
    /// (caveclient's `is_latest_roots`): `POST .../is_latest_roots`, `{"node_ids": [...]}`
    /// without a content type; `timestamp` only when `at` is given (else the server's now).
    pub async fn is_latest_roots(
        &self,
        roots: &[RootId],
        at: Option<DateTime<Utc>>,
    ) -> Result<Vec<bool>, Error> {
        let ids = body::checked_ids(roots, "root")?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let url = Params::new()
            .maybe_time("timestamp", at)
            .on(self.url(segmentation::IS_LATEST_ROOTS, &[]));
        self.per_id(
            url,
            &ids,
            "an is_latest answer ({\"is_latest\": [bool]})",
            "is_latest",
            |a: IsLatestAnswer| a.is_latest,
        )
        .await
    }

    /// When each root was created, or with `latest` until when it was the latest (for a root
    /// still the latest: `at`), in the order given (caveclient's `get_root_timestamps`):
    /// `POST .../root_timestamps?latest=False|True&timestamp=..`, `{"node_ids": [...]}`;
    /// `at` defaults to now, and is sent either way, as caveclient does.
    ///
    /// The times are the server's: caveclient subtracts 1 ms from the `latest` ones (so that
    /// they fall inside the root's life); this does not, the server's time is the first
    /// moment the root is no longer the latest.
    pub async fn root_timestamps(
        &self,
        roots: &[RootId],
        latest: bool,
        at: Option<DateTime<Utc>>,
    ) -> Result<Vec<DateTime<Utc>>, Error> {
        let ids = body::checked_ids(roots, "root")?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let url = Params::new()
            .flag("latest", latest)
            .time("timestamp", at.unwrap_or_else(Utc::now))
            .on(self.url(segmentation::ROOT_TIMESTAMPS, &[]));
        let seconds = self
            .per_id(
                url.clone(),
                &ids,
                "root timestamps ({\"timestamp\": [float]})",
                "timestamp",
                |a: RootTimestampsAnswer| a.timestamp,
            )
            .await?;
        answer::times(&self.shared_http(), &url, "timestamp", &seconds)
    }

    /// `{"node_ids": [...]}` of `ids` POSTed to `url` in chunks, several at once; each answer's
    /// list (`field`, read from the answer by `list`) must hold one value per id it asked for.
    async fn per_id<A, T>(
        &self,
        url: String,
        ids: &[i64],
        what: &'static str,
        field: &'static str,
        list: fn(A) -> Vec<T>,
    ) -> Result<Vec<T>, Error>
    where
        A: serde::de::DeserializeOwned + Send + 'static,
        T: Send + 'static,
    {
        let (http, table) = (self.shared_http(), Arc::new(self.table.clone()));
        chunks::run(
            ids,
            IDS_PER_CHUNKEDGRAPH_REQUEST,
            self.in_flight(),
            |chunk, part| {
                let (http, table, url) = (http.clone(), table.clone(), url.clone());
                async move {
                    let body = body::node_ids(&chunk);
                    let answer: A =
                        answer::json(&http, &table, Call::post(&url, &body), what).await?;
                    answer::one_per_id(
                        &http,
                        &url,
                        field,
                        list(answer),
                        chunk.len(),
                        &part.describe(),
                    )
                }
            },
        )
        .await
    }
}

/// One `roots_binary` request: the chunk's ids in, exactly 8 bytes per id out.
async fn roots_binary(
    http: &Http,
    table: &str,
    url: &str,
    ids: &[i64],
    part: &Part,
) -> Result<Vec<RootId>, Error> {
    let body = body::little_endian(ids);
    let expected = ids.len() as u64 * 8;
    let call = Call {
        url,
        method: Method::Post,
        body: Body::Bytes(&body),
        content_type: None,
    };
    let bytes = answer::send(
        http,
        table,
        call,
        AnswerBound::Bytes {
            bytes: expected,
            what: "a roots_binary answer (8 bytes per id asked)",
        },
    )
    .await
    .map_err(|e| with_part(e, part))?;
    decode_roots(&bytes, ids.len())
        .map_err(|problem| answer::bad(http, url, format!("{problem}{}", part.describe())))
}

/// The raw little-endian u64 of a `roots_binary` answer for `asked` ids.
pub(super) fn decode_roots(bytes: &[u8], asked: usize) -> Result<Vec<RootId>, String> {
    if bytes.len() != asked * 8 {
        return Err(format!(
            "the answer has {} bytes, expected {} (8 per id, {asked} ids asked)",
            bytes.len(),
            asked * 8
        ));
    }
    bytes
        .chunks_exact(8)
        .enumerate()
        .map(|(i, b)| {
            let n = u64::from_le_bytes(b.try_into().expect("8 bytes"));
            i64::try_from(n)
                .map(RootId)
                .map_err(|_| format!("root id {n} at [{i}] is larger than any id CAVE uses"))
        })
        .collect()
}

/// A too-long answer's error from the HTTP layer, with which request it was.
fn with_part(e: Error, part: &Part) -> Error {
    match e {
        Error::BadResponse { url, problem } => Error::BadResponse {
            url,
            problem: format!("{problem}{}", part.describe()),
        },
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_roots_are_little_endian_u64_one_per_id() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&864691135000000001u64.to_le_bytes());
        bytes.extend_from_slice(&7u64.to_le_bytes());
        assert_eq!(
            decode_roots(&bytes, 2).unwrap(),
            [RootId(864691135000000001), RootId(7)]
        );
        assert!(decode_roots(&[], 0).unwrap().is_empty());
    }

    #[test]
    fn wrong_lengths_and_huge_ids_are_refused() {
        let e = decode_roots(&[0; 12], 2).unwrap_err();
        assert_eq!(
            e,
            "the answer has 12 bytes, expected 16 (8 per id, 2 ids asked)"
        );
        let e = decode_roots(&[0; 16], 1).unwrap_err();
        assert!(e.contains("16 bytes, expected 8"), "{e}");
        let e = decode_roots(&u64::MAX.to_le_bytes(), 1).unwrap_err();
        assert!(e.contains("at [0] is larger than any id"), "{e}");
    }
}
