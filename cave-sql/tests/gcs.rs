//! An export in a public Google Cloud Storage bucket, read anonymously (`gs://`), from a
//! stand-in for GCS's XML API on loopback that serves a folder: the same rows as the export read
//! from the folder, and no request carries a credential.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cave_devserver::{BackgroundServer, ServerConfig};
use cave_sql::datafusion::arrow::util::pretty::pretty_format_batches;
use cave_sql::datafusion::prelude::SessionContext;
use cave_sql::delta::{
    ExportRoot, ExportSpec, Partitioning, StoreOptions, export, register_export,
    register_export_root, register_export_with,
};

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../schemas/minnie65_public");
const BUCKET: &str = "cave-public";

fn devserver() -> &'static BackgroundServer {
    static SERVER: OnceLock<BackgroundServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let config = ServerConfig::new(SNAPSHOT);
        std::thread::spawn(move || BackgroundServer::start(config))
            .join()
            .expect("the devserver's thread")
            .expect("the devserver starts")
    })
}

/// The folder served as the bucket, and what each request looked like.
#[derive(Clone)]
struct Bucket {
    root: PathBuf,
    seen: Arc<Mutex<Vec<String>>>,
}

fn files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(d) = pending.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                pending.push(p);
            } else {
                out.push(
                    p.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    out.sort();
    out
}

fn note(bucket: &Bucket, what: String, headers: &HeaderMap) {
    let auth = if headers.contains_key(header::AUTHORIZATION) {
        " AUTHORIZED"
    } else {
        ""
    };
    bucket.seen.lock().unwrap().push(format!("{what}{auth}"));
}

/// `GET /{bucket}?list-type=2&prefix=&delimiter=&start-after=`: ListObjectsV2's XML.
async fn list(
    State(bucket): State<Bucket>,
    axum::extract::Path(name): axum::extract::Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    note(&bucket, format!("LIST {name} {q:?}"), &headers);
    if name != BUCKET {
        return StatusCode::NOT_FOUND.into_response();
    }
    let prefix = q.get("prefix").cloned().unwrap_or_default();
    let after = q.get("start-after").cloned().unwrap_or_default();
    let delimiter = q.get("delimiter").cloned();
    let mut contents = String::new();
    let mut prefixes = std::collections::BTreeSet::new();
    for key in files(&bucket.root) {
        if !key.starts_with(&prefix) || key.as_str() <= after.as_str() {
            continue;
        }
        let rest = &key[prefix.len()..];
        if let Some(d) = delimiter.as_deref().filter(|d| rest.contains(*d)) {
            let cut = rest.find(d).unwrap() + d.len();
            prefixes.insert(format!("{prefix}{}", &rest[..cut]));
            continue;
        }
        let size = std::fs::metadata(bucket.root.join(&key)).unwrap().len();
        contents.push_str(&format!(
            "<Contents><Key>{key}</Key><Size>{size}</Size>\
             <LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>\"{size}\"</ETag></Contents>"
        ));
    }
    let common: String = prefixes
        .iter()
        .map(|p| format!("<CommonPrefixes><Prefix>{p}</Prefix></CommonPrefixes>"))
        .collect();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>{BUCKET}</Name>{contents}{common}</ListBucketResult>"
    );
    ([(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

/// `GET` or `HEAD /{bucket}/{key}`, with byte ranges.
async fn object(
    State(bucket): State<Bucket>,
    axum::extract::Path((name, key)): axum::extract::Path<(String, String)>,
    method: axum::http::Method,
    headers: HeaderMap,
) -> Response {
    note(&bucket, format!("{method} {name}/{key}"), &headers);
    let path = bucket.root.join(&key);
    let Ok(bytes) = std::fs::read(&path).map_err(|_| ()).and_then(|b| {
        if name == BUCKET && !key.contains("..") {
            Ok(b)
        } else {
            Err(())
        }
    }) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let total = bytes.len();
    let meta = [
        (
            header::LAST_MODIFIED,
            "Thu, 01 Jan 2026 00:00:00 GMT".to_string(),
        ),
        (header::ETAG, format!("\"{total}\"")),
    ];
    let range = headers
        .get(header::RANGE)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.strip_prefix("bytes="))
        .map(|r| {
            let (a, b) = r.split_once('-').unwrap();
            match (a.parse::<usize>().ok(), b.parse::<usize>().ok()) {
                (Some(a), Some(b)) => (a, (b + 1).min(total)),
                (Some(a), None) => (a, total),
                (None, Some(n)) => (total.saturating_sub(n), total),
                (None, None) => (0, total),
            }
        });
    let (status, body, extra) = match range {
        Some((a, b)) if a < b => (
            StatusCode::PARTIAL_CONTENT,
            bytes[a..b].to_vec(),
            Some(format!("bytes {a}-{}/{total}", b - 1)),
        ),
        Some(_) => return StatusCode::RANGE_NOT_SATISFIABLE.into_response(),
        None => (StatusCode::OK, bytes, None),
    };
    let mut response = (status, meta, body).into_response();
    if let Some(cr) = extra {
        response
            .headers_mut()
            .insert(header::CONTENT_RANGE, cr.parse().unwrap());
    }
    if method == axum::http::Method::HEAD {
        *response.body_mut() = axum::body::Body::empty();
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, total.to_string().parse().unwrap());
    }
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_bucket_is_read_anonymously() {
    let root = std::env::temp_dir().join(format!("cave-sql-gcs-{}", std::process::id()));
    let client = cave_runtime::Client::builder("minnie65_public")
        .server(&devserver().base_url)
        .token("test-token")
        .token_search(None, false)
        .progress(false)
        .build()
        .unwrap();
    let spec = ExportSpec {
        buckets: 4,
        ..ExportSpec::new(
            "synapses_pni_2",
            Partitioning::Column("pre_pt_root_id".into()),
        )
    };
    let written = export(&client, 1300, &spec, &root).await.unwrap();

    let bucket = Bucket {
        root: root.clone(),
        seen: Arc::default(),
    };
    let app = axum::Router::new()
        .route("/{bucket}", axum::routing::get(list))
        .route("/{bucket}/{*key}", axum::routing::get(object).head(object))
        .with_state(bucket.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let query = "SELECT pre_pt_root_id, COUNT(*) AS n, SUM(post_pt_position_x) AS x FROM syn \
                 GROUP BY pre_pt_root_id ORDER BY n DESC, pre_pt_root_id LIMIT 20";
    let local = SessionContext::new();
    register_export(&local, "syn", written.dir.to_str().unwrap())
        .await
        .unwrap();
    let expected = pretty_format_batches(&local.sql(query).await.unwrap().collect().await.unwrap())
        .unwrap()
        .to_string();

    let remote = SessionContext::new();
    let options: StoreOptions = [
        ("google_base_url".to_string(), format!("http://{addr}")),
        ("allow_http".to_string(), "true".to_string()),
    ]
    .into();
    let url = format!("gs://{BUCKET}/minnie65_public/v1300/synapses_pni_2/pre_pt_root_id");
    register_export_with(&remote, "syn", &url, &options)
        .await
        .unwrap();
    let got = pretty_format_batches(&remote.sql(query).await.unwrap().collect().await.unwrap())
        .unwrap()
        .to_string();
    assert_eq!(got, expected);

    let seen = bucket.seen.lock().unwrap().clone();
    assert!(seen.iter().any(|s| s.starts_with("LIST")), "{seen:?}");
    assert!(
        seen.iter()
            .any(|s| s.starts_with("GET") && s.contains(".parquet")),
        "{seen:?}"
    );
    assert!(!seen.iter().any(|s| s.contains("AUTHORIZED")), "{seen:?}");

    // The command line, with the same options, prints the same rows.
    let cli = |source: [&str; 2], sql: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cave-sql"))
            .args([
                "--server",
                &devserver().base_url,
                "--snapshot",
                SNAPSHOT,
                "--version",
                "1300",
            ])
            .args(source)
            .args(["--store-option", &format!("google_base_url=http://{addr}")])
            .args(["--store-option", "allow_http=true", sql])
            .env("CAVE_TOKEN", "test-token")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(text.contains(expected.lines().nth(3).unwrap()), "{text}");
    };
    cli(["--delta", &format!("syn={url}")], query);

    // The bucket as a root of exports: its folders listed through the XML API, every table
    // exported at the version registered as `export.<table>`, from the command line too.
    let all = SessionContext::new();
    let bucket_root = ExportRoot::new(format!("gs://{BUCKET}")).with_options(options.clone());
    let tables = register_export_root(&all, &bucket_root, "minnie65_public", 1300, None)
        .await
        .unwrap();
    assert_eq!(tables, ["synapses_pni_2"]);
    let on_root = query.replace("FROM syn", "FROM export.synapses_pni_2");
    let got = pretty_format_batches(&all.sql(&on_root).await.unwrap().collect().await.unwrap())
        .unwrap()
        .to_string();
    assert_eq!(got, expected);
    cli(["--exports", &format!("gs://{BUCKET}/")], &on_root);
    // A version with no exports, and a name that is a path: errors naming them.
    let e = register_export_root(&all, &bucket_root, "minnie65_public", 1299, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("gs://cave-public/minnie65_public/v1299/") && e.contains("no exports"),
        "{e}"
    );
    let e = register_export_root(&all, &bucket_root, "..", 1300, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("`..` is not the name"), "{e}");
    let seen = bucket.seen.lock().unwrap().clone();
    assert!(!seen.iter().any(|s| s.contains("AUTHORIZED")), "{seen:?}");

    // A table that is not there: an error naming it.
    let e = register_export_with(&remote, "nope", &format!("gs://{BUCKET}/nope"), &options)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("gs://cave-public/nope"), "{e}");
    let _ = std::fs::remove_dir_all(&root);
}
