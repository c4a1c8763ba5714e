//! Bad answers and bad setups end in errors that say what and where: the URL, the status, the
//! place in the answer, the byte counts.

use cave_runtime::{Error, Limits, RootId, SupervoxelId};
use serde_json::json;

use crate::mock::{MINNIE_SOURCE, Mock, Reply, Seen};
use crate::{P, R1, canned, t};

/// A mock answering `path_suffix` with `reply()`, the rest canned.
fn mock_with(path_suffix: &'static str, reply: fn(&Seen) -> Reply) -> Mock {
    Mock::start(Some(MINNIE_SOURCE), move |seen| {
        if seen.path().ends_with(path_suffix) {
            reply(seen)
        } else {
            canned(seen)
        }
    })
}

fn bad_response(e: &Error) -> (&str, &str) {
    match e {
        Error::BadResponse { url, problem } => (url, problem),
        other => panic!("expected BadResponse, got {other:#?}"),
    }
}

#[tokio::test]
async fn a_roots_answer_of_the_wrong_length_names_the_url_and_the_bytes() {
    // Short by one id.
    let mock = mock_with("/roots_binary", |seen| {
        let ids = seen.ids();
        Reply::ids(&ids[..ids.len() - 1])
    });
    let client = mock.client();
    let cg = client.chunkedgraph().await.unwrap();
    let e = cg
        .roots(&[SupervoxelId(5), SupervoxelId(6)], Some(t()), None)
        .await
        .unwrap_err();
    let (url, problem) = bad_response(&e);
    assert_eq!(
        url,
        format!("{}{P}/roots_binary?timestamp=1736763001.286229", mock.url)
    );
    assert_eq!(
        problem,
        "the answer has 8 bytes, expected 16 (8 per id, 2 ids asked)"
    );

    // Long by one id: the answer is not read past what was asked.
    let mock = mock_with("/roots_binary", |seen| {
        let mut ids = seen.ids();
        ids.push(1);
        Reply::ids(&ids)
    });
    let client = mock.client();
    let cg = client.chunkedgraph().await.unwrap();
    let e = cg.roots(&[5i64, 6], Some(t()), None).await.unwrap_err();
    let (url, problem) = bad_response(&e);
    assert!(
        url.ends_with("/roots_binary?timestamp=1736763001.286229"),
        "{url}"
    );
    assert!(
        problem.contains("declares 24 bytes")
            && problem
                .contains("limit of 16 bytes for a roots_binary answer (8 bytes per id asked)"),
        "{problem}"
    );

    // Ids past i64 are no CAVE ids.
    let mock = mock_with("/roots_binary", |_| Reply::ids(&[u64::MAX]));
    let client = mock.client();
    let cg = client.chunkedgraph().await.unwrap();
    let e = cg.roots(&[5i64], Some(t()), None).await.unwrap_err();
    assert!(bad_response(&e).1.contains("larger than any id"), "{e}");
}

#[tokio::test]
async fn a_chunk_of_the_wrong_length_says_which_request_it_was() {
    let mock = mock_with("/roots_binary", |seen| {
        let ids = seen.ids();
        if ids[0] == 100_000 {
            Reply::ids(&ids[..ids.len() - 1])
        } else {
            canned(seen)
        }
    });
    let client = mock.client();
    let cg = client.chunkedgraph().await.unwrap();
    let svs: Vec<i64> = (0..200_001).collect();
    let e = cg.roots(&svs, Some(t()), None).await.unwrap_err();
    let (url, problem) = bad_response(&e);
    assert!(
        url.ends_with("/roots_binary?timestamp=1736763001.286229"),
        "{url}"
    );
    assert_eq!(
        problem,
        "the answer has 799992 bytes, expected 800000 (8 per id, 100000 ids asked) \
         (request 2 of 3: ids [100000, 200000) of the input)"
    );
}

#[tokio::test]
async fn json_answers_of_the_wrong_length_or_shape_are_refused_at_their_place() {
    let mock = Mock::start(Some(MINNIE_SOURCE), |seen| {
        let path = seen.path();
        if path.ends_with("/is_latest_roots") {
            Reply::json(json!({"is_latest": [true]}))
        } else if path.ends_with("/root_timestamps") {
            Reply::json(json!({"timestamp": [1.0, "soon"]}))
        } else if path.ends_with("/root") {
            Reply::raw(b"<html>gateway</html>".to_vec())
        } else if path.ends_with("/leaves") {
            Reply::json(json!({"leaf_ids": ["11", "12x"]}))
        } else if path.ends_with("/leaves_many") {
            Reply::json(json!({"11": ["12"], "13": [14]}))
        } else if path.ends_with("/lineage_graph_multiple") {
            Reply::json(
                json!({"nodes": [{"id": 1, "timestamp": 1.0}], "links": [{"source": 1, "target": 2}]}),
            )
        } else if path.ends_with("/oldest_timestamp") {
            Reply::json(json!({"iso": "last tuesday"}))
        } else if path.ends_with("/delta_roots") {
            Reply::json(json!({"old_roots": [-1], "new_roots": []}))
        } else {
            canned(seen)
        }
    });
    let client = mock.client();
    let cg = client.chunkedgraph().await.unwrap();
    let r = RootId(R1);

    let e = cg.is_latest_roots(&[r, r], None).await.unwrap_err();
    let (url, problem) = bad_response(&e);
    assert_eq!(url, format!("{}{P}/is_latest_roots", mock.url));
    assert_eq!(problem, "`is_latest` has 1 value for 2 ids asked");

    let e = cg
        .root_timestamps(&[r, r], false, Some(t()))
        .await
        .unwrap_err();
    let (url, problem) = bad_response(&e);
    assert!(
        url.contains("/root_timestamps?latest=False&timestamp="),
        "{url}"
    );
    assert!(problem.contains("at timestamp[1]"), "{problem}");

    let e = cg.root(5i64, Some(t())).await.unwrap_err();
    let (url, problem) = bad_response(&e);
    assert!(
        url.ends_with("/node/5/root?timestamp=1736763001.286229"),
        "{url}"
    );
    assert!(
        problem.starts_with("expected JSON (a root") && problem.contains("<html>gateway</html>"),
        "{problem}"
    );

    // Ids as strings of digits are the server's `int64_as_str`; other strings are refused.
    let e = cg.leaves(r, None, None).await.unwrap_err();
    let (_, problem) = bad_response(&e);
    assert!(
        problem.contains("at leaf_ids[1]") && problem.contains("\"12x\" is not a number"),
        "{problem}"
    );
    let many = cg.leaves_many(&[11i64, 13], None, None).await.unwrap();
    assert_eq!(many.len(), 2);

    let e = cg.lineage_graph(&[r], None, None).await.unwrap_err();
    let (url, problem) = bad_response(&e);
    assert!(url.ends_with("/lineage_graph_multiple"), "{url}");
    assert!(
        problem.contains("at links[0].target: root 2 is not among the nodes"),
        "{problem}"
    );

    let e = cg.oldest_timestamp().await.unwrap_err();
    assert!(
        bad_response(&e)
            .1
            .contains("at iso: expected an ISO 8601 time, found `last tuesday`"),
        "{e}"
    );

    let e = cg.delta_roots(t(), Some(t())).await.unwrap_err();
    let (url, problem) = bad_response(&e);
    assert!(url.contains("/delta_roots?timestamp_past="), "{url}");
    assert!(
        problem.contains("at old_roots[0]") && problem.contains("negative"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_public_tables_refusal_says_it_is_one() {
    let mock = mock_with("/leaves", |_| {
        Reply::pcg_error(401, "root_id not valid at timestamp")
    });
    let client = mock.client();
    let cg = client.chunkedgraph().await.unwrap();
    let e = cg.leaves(RootId(R1), None, None).await.unwrap_err();
    let Error::Http {
        method,
        url,
        status,
        message,
        ..
    } = &e
    else {
        panic!("expected Http, got {e:#?}");
    };
    assert_eq!((*method, *status), ("GET", 401));
    assert_eq!(url, &format!("{}{P}/node/{R1}/leaves", mock.url));
    assert!(
        message.starts_with("[401]: root_id not valid at timestamp"),
        "{message}"
    );
    let text = e.to_string();
    assert!(
        text.contains("minnie65_public")
            && text.contains("public release")
            && text.contains("refuses ids created after its release timestamp"),
        "{text}"
    );
}

#[tokio::test]
async fn pcg_errors_name_the_url_the_status_and_the_message() {
    let mock = mock_with("/is_latest_roots", |_| Reply::pcg_error(500, "boom"));
    let client = mock.client();
    let cg = client.chunkedgraph().await.unwrap();
    let e = cg.is_latest_roots(&[RootId(R1)], None).await.unwrap_err();
    assert!(matches!(e, Error::Http { status: 500, .. }), "{e:#?}");
    assert_eq!(
        e.to_string(),
        format!(
            "POST {}{P}/is_latest_roots: HTTP 500: [500]: boom",
            mock.url
        )
    );
}

#[tokio::test]
async fn a_server_echoing_the_token_has_it_redacted() {
    let mock = mock_with("/oldest_timestamp", |seen| {
        let token = seen.header("authorization").unwrap().to_string();
        Reply::pcg_error(500, &format!("bad header {token}"))
    });
    let client = mock.client();
    let cg = client.chunkedgraph().await.unwrap();
    let e = cg.oldest_timestamp().await.unwrap_err().to_string();
    assert!(
        !e.contains(crate::mock::TOKEN) && e.contains("<token>"),
        "{e}"
    );
}

#[tokio::test]
async fn json_answers_are_bounded_by_the_json_limit() {
    let mock = mock_with("/leaves", |_| {
        Reply::json(json!({"leaf_ids": (0..1000).collect::<Vec<i64>>()}))
    });
    let limits = Limits {
        max_json_bytes: 1000,
        ..Limits::default()
    };
    let client = mock.builder().limits(limits).build().unwrap();
    let cg = client.chunkedgraph().await.unwrap();
    let e = cg.leaves(RootId(R1), None, None).await.unwrap_err();
    let (url, problem) = bad_response(&e);
    assert!(url.ends_with("/leaves"), "{url}");
    assert!(problem.contains("Limits::max_json_bytes"), "{problem}");
}

#[tokio::test]
async fn a_datastack_without_a_graphene_source_has_no_chunkedgraph() {
    for (source, says) in [
        (None, "segmentation_source is missing"),
        (
            Some("precomputed://gs://bucket/seg"),
            "`precomputed://gs://bucket/seg`, not a graphene:// source",
        ),
        (
            Some("graphene://https://h/segmentation/table/"),
            "does not end in a table name",
        ),
    ] {
        let mock = Mock::start(source, canned);
        let e = mock.client().chunkedgraph().await.unwrap_err();
        assert!(
            matches!(&e, Error::Config(m) if m.contains(says)),
            "{source:?}: {e:#?}"
        );
        assert!(mock.take().is_empty());
    }
}

#[tokio::test]
async fn negative_ids_are_refused_before_anything_is_sent() {
    let mock = Mock::start(Some(MINNIE_SOURCE), canned);
    let client = mock.client();
    let cg = client.chunkedgraph().await.unwrap();
    let e = cg.roots(&[5i64, -6], Some(t()), None).await.unwrap_err();
    assert!(
        matches!(&e, Error::InvalidArgument(m) if m.contains("[1]: supervoxel id -6 is negative")),
        "{e:#?}"
    );
    assert!(cg.root(-1i64, None).await.is_err());
    assert!(cg.leaves(-1i64, None, None).await.is_err());
    assert!(cg.is_latest_roots(&[RootId(-1)], None).await.is_err());
    assert!(cg.change_log(RootId(-1)).await.is_err());
    assert!(mock.take().is_empty());
}
