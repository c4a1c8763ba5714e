//! `--answer-cache-mib`: repeated queries answered from the cache, as the server answered them
//! the first time; anything that may differ between two equal requests is never cached.

mod common;

use cave_devserver::answer_cache::CACHE_HEADER;
use cave_devserver::{BackgroundServer, RowOrder};
use common::*;

const TABLE: &str = "synapses_pni_2";

fn server(cache_bytes: usize, order: RowOrder) -> BackgroundServer {
    let mut config = small_config();
    config.answer_cache_bytes = cache_bytes;
    config.row_order = order;
    BackgroundServer::start(config).expect("devserver starts")
}

/// The headers of a reply but the cache's own.
fn answer_headers(reply: &Reply) -> Vec<(String, String)> {
    let mut h: Vec<_> = reply
        .headers
        .iter()
        .filter(|(k, _)| k != CACHE_HEADER && k != "date")
        .cloned()
        .collect();
    h.sort();
    h
}

#[test]
fn a_repeated_query_is_the_first_answer_byte_for_byte() {
    let cached = server(64 << 20, RowOrder::Stored);
    let body = r#"{"limit": 3000, "filter_in_dict": {"synapses_pni_2": {"valid": [true]}}}"#;
    let first = query(&cached.base_url, 1300, TABLE, body);
    let second = query(&cached.base_url, 1300, TABLE, body);
    assert_eq!(first.status, 200);
    assert_eq!(first.header(CACHE_HEADER), Some("miss"));
    assert_eq!(second.header(CACHE_HEADER), Some("hit"));
    assert_eq!(first.body, second.body);
    assert_eq!(answer_headers(&first), answer_headers(&second));

    // The same rows and headers as a server without the cache, which sends no cache header.
    let plain = query(&shared().base_url, 1300, TABLE, body);
    assert_eq!(plain.header(CACHE_HEADER), None);
    assert_eq!(plain.arrow().1, second.arrow().1);
    assert_eq!(answer_headers(&plain), answer_headers(&second));
}

#[test]
fn another_body_query_string_or_encoding_is_another_answer() {
    let cached = server(64 << 20, RowOrder::Stored);
    let base = &cached.base_url;
    let url = format!("{}/version/1300/table/{TABLE}/query?{FLAGS}", v3(base));
    assert_eq!(
        post(&url, r#"{"limit": 10}"#, "zstd").header(CACHE_HEADER),
        Some("miss")
    );
    let other_body = post(&url, r#"{"limit": 20}"#, "zstd");
    assert_eq!(other_body.header(CACHE_HEADER), Some("miss"));
    assert_eq!(rows(&other_body.arrow().1), 20);
    let other_encoding = post(&url, r#"{"limit": 10}"#, "gzip");
    assert_eq!(other_encoding.header(CACHE_HEADER), Some("miss"));
    // (The test client takes the gzip coding off.)
    assert_eq!(rows(&other_encoding.arrow().1), 10);
    let counted = post(&format!("{url}&count=True"), r#"{"limit": 10}"#, "zstd");
    assert_eq!(counted.header(CACHE_HEADER), Some("miss"));
    let other_version = query(base, 1181, TABLE, r#"{"limit": 10}"#);
    assert_eq!(other_version.header(CACHE_HEADER), Some("miss"));
    assert_eq!(
        post(&url, r#"{"limit": 10}"#, "zstd").header(CACHE_HEADER),
        Some("hit")
    );
}

#[test]
fn rows_in_a_new_order_per_request_and_random_samples_are_never_cached() {
    let shuffled = server(64 << 20, RowOrder::Random { seed: 3 });
    let body = r#"{"limit": 2000}"#;
    let a = query(&shuffled.base_url, 1300, TABLE, body);
    let b = query(&shuffled.base_url, 1300, TABLE, body);
    assert_eq!(a.header(CACHE_HEADER), None);
    assert_eq!(b.header(CACHE_HEADER), None);
    assert_ne!(a.body, b.body, "each request gets its own order");

    let cached = server(64 << 20, RowOrder::Stored);
    let url = format!(
        "{}/version/1300/table/{TABLE}/query?{FLAGS}&random_sample=500",
        v3(&cached.base_url)
    );
    for _ in 0..2 {
        assert_eq!(post(&url, "{}", "zstd").header(CACHE_HEADER), None);
    }
}

#[test]
fn an_answer_over_the_budget_is_sent_but_not_kept() {
    let small = server(1024, RowOrder::Stored);
    let body = r#"{"limit": 5000}"#;
    for _ in 0..2 {
        let reply = query(&small.base_url, 1300, TABLE, body);
        assert!(reply.body.len() > 1024);
        assert_eq!(reply.header(CACHE_HEADER), Some("miss"));
        assert_eq!(rows(&reply.arrow().1), 5000);
    }
}

#[test]
fn views_are_cached_too() {
    let cached = server(64 << 20, RowOrder::Stored);
    let url = format!(
        "{}/version/1300/views/nucleus_detection_lookup_v1/query?{FLAGS}",
        v3(&cached.base_url)
    );
    let first = post(&url, r#"{"limit": 100}"#, "zstd");
    assert_eq!(
        first.status,
        200,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    assert_eq!(first.header(CACHE_HEADER), Some("miss"));
    let second = post(&url, r#"{"limit": 100}"#, "zstd");
    assert_eq!(second.header(CACHE_HEADER), Some("hit"));
    assert_eq!(first.body, second.body);
    assert_eq!(rows(&second.arrow().1), 100);
}
