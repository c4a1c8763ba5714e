//! The real schema service (emannotationschemas 5.26.3): its `types_all` parses to the same
//! types, with the same columns, as the committed `schemas/types`.
//!
//! Needs `CAVE_SCHEMA_SERVICE_URL` (the service's base URL, e.g. `http://127.0.0.1:4001`);
//! skipped otherwise. `scripts/run_schema_service_test.sh` installs and starts the service,
//! runs this test with the URL set, and stops it.

use std::path::PathBuf;

use cave_cli::fetch::{Client, Timeouts, join_url};
use cave_schema::TypeSet;
use serde_json::Value;

const URL_ENV: &str = "CAVE_SCHEMA_SERVICE_URL";

fn service_url() -> Option<String> {
    match std::env::var(URL_ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            eprintln!(
                "skipped: {URL_ENV} is not set; run scripts/run_schema_service_test.sh to test against the real schema service"
            );
            None
        }
    }
}

#[test]
fn types_all_of_the_real_service_parses_to_the_committed_types() {
    let Some(base) = service_url() else {
        return;
    };
    let client = Client::new(None, Timeouts::default());
    let url = join_url(&base, "/schema/api/v2/types_all");
    let served = match client.get_json(&url).unwrap() {
        Value::Object(map) => TypeSet::from_documents(map, &url).unwrap(),
        other => panic!("{url}: expected an object, found {other}"),
    };
    let committed =
        TypeSet::load(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/types")).unwrap();

    assert_eq!(
        served.names().collect::<Vec<_>>(),
        committed.names().collect::<Vec<_>>()
    );
    let mut same_document = 0;
    for name in committed.names() {
        let (s, c) = (served.get(name).unwrap(), committed.get(name).unwrap());
        assert_eq!(s, c, "{name}: parsed types differ");
        assert_eq!(s.columns(), c.columns(), "{name}: columns differ");
        if served.get_doc(name).unwrap().document == committed.get_doc(name).unwrap().document {
            same_document += 1;
        }
    }
    eprintln!(
        "{} types from {url}: all parse to the committed types; {same_document} documents are equal as JSON",
        served.len()
    );

    // The per-type route (fetch's fallback) gives the same documents.
    for name in [
        "synapse",
        "cell_type_reference",
        "compartment_proofread_status_strategy",
    ] {
        let url = join_url(&base, &format!("/schema/api/v2/type/{name}"));
        let doc = client.get_json(&url).unwrap();
        assert_eq!(doc, served.get_doc(name).unwrap().document, "{url}");
    }
}
