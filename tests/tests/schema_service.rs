//! The real schema service (emannotationschemas 5.26.3): its `types_all` parses to the same
//! types, with the same columns, as the committed `schemas/types`.
//!
//! Needs `CAVE_SCHEMA_SERVICE_URL` (the service's base URL, e.g. `http://127.0.0.1:4001`);
//! skipped otherwise. `scripts/run_schema_service_test.sh` installs and starts the service,
//! runs this test with the URL set, and stops it.

use std::path::PathBuf;

use cave_cli::fetch::FetchConfig;
use cave_schema::TypeSet;

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
    // The schema calls of the client `cave fetch` uses (the datastack is not asked for).
    let client = FetchConfig::new(&base, "unused").client().unwrap();
    let url = cave_wire::paths::schema::TYPES_ALL.url(&base, &[]);
    let served = TypeSet::from_documents(client.schema_types_all().unwrap(), &url).unwrap();
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
        let doc = client.schema_type(name).unwrap();
        assert_eq!(doc, served.get_doc(name).unwrap().document, "{name}");
    }
}
