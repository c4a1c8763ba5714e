//! Views end to end (docs/WIRE.md, "Views"): the bodies generated view filters and
//! `ViewQuery` render, the view metadata calls, and typed and untyped view queries against the
//! devserver's views, which are stored queries over its sample tables: every filter gives the
//! rows the same predicate picks from the whole view, pages are stitched, positions follow
//! `desired_resolution`, and what a view cannot do (a timestamp) is refused before sending.

use std::collections::HashSet;
use std::sync::OnceLock;

use cave_devserver::{BackgroundServer, ServerConfig};
use cave_runtime::arrow::array::{Array, Int32Array, Int64Array};
use cave_runtime::{Client, Error, RootId, Table, ViewColumnType, ViewQuery};
use chrono::{TimeZone, Utc};
use serde_json::json;

mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        version = 1300,
        tables = [
            "nucleus_detection_v0",
            "nucleus_detection_lookup_v1",
            "soma_counts",
            "single_neurons",
            "aibs_cell_info"
        ]
    );
}

use minnie::{
    AibsCellInfo, NucleusDetectionLookupV1, NucleusDetectionV0, SingleNeurons, SomaCounts,
};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const LOOKUP: &str = "nucleus_detection_lookup_v1";

fn start(row_limit: usize) -> BackgroundServer {
    std::thread::spawn(move || {
        let mut config = ServerConfig::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../schemas/minnie65_public"
        ));
        config.sample.synapses = 2_000;
        config.row_limit = row_limit;
        BackgroundServer::start(config).expect("devserver starts")
    })
    .join()
    .unwrap()
}

fn server() -> &'static BackgroundServer {
    static SERVER: OnceLock<BackgroundServer> = OnceLock::new();
    SERVER.get_or_init(|| start(200_000))
}

fn client_of(server: &BackgroundServer) -> Client {
    Client::builder("minnie65_public")
        .server(&server.base_url)
        .token(TOKEN)
        .token_search(None, false)
        .progress(false)
        .build()
        .unwrap()
}

fn client() -> Client {
    client_of(server())
}

#[test]
fn view_bodies_are_query_views() {
    let q = NucleusDetectionLookupV1::filter()
        .pt_root_id_in([RootId(1), RootId(2)])
        .volume_gt(0.5)
        .orig_root_id_not_in([RootId(3)])
        .pt_position_bbox([0, 0, 0], [10, 10, 10])
        .offset(3)
        .limit(7)
        .desired_resolution([1.0, 1.0, 1.0])
        .into_query();
    assert_eq!(
        q.body().to_string(),
        json!({
            "filter_in_dict": {LOOKUP: {"pt_root_id": [1, 2]}},
            "filter_notin_dict": {LOOKUP: {"orig_root_id": [3]}},
            "filter_greater_dict": {LOOKUP: {"volume": 0.5}},
            "filter_spatial_dict": {LOOKUP: {"pt_position": [[0, 0, 0], [10, 10, 10]]}},
            "offset": 3, "limit": 7, "desired_resolution": [1.0, 1.0, 1.0]
        })
        .to_string()
    );
    assert_eq!(q.get_version(), Some(1300));
    const { assert!(<NucleusDetectionLookupV1 as Table>::VIEW) };
    const { assert!(!<NucleusDetectionV0 as Table>::VIEW) };
    assert_eq!(
        minnie::VIEWS,
        ["aibs_cell_info", LOOKUP, "single_neurons", "soma_counts"]
    );
    // A selection is a list of columns (a view query takes no `select_column_map`).
    let untyped = ViewQuery::new("aibs_cell_info")
        .equal("broad_type", "excitatory")
        .select(["pt_root_id", "cell_type"]);
    assert_eq!(
        untyped.body().to_string(),
        json!({
            "filter_equal_dict": {"aibs_cell_info": {"broad_type": "excitatory"}},
            "select_columns": ["pt_root_id", "cell_type"]
        })
        .to_string()
    );
}

#[tokio::test]
async fn view_records_schemas_and_empty_versions() {
    let client = client();
    let views = client.views(Some(1300)).await.unwrap();
    assert!(views.contains_key("aibs_cell_info") && views.contains_key(LOOKUP));
    let lookup = &views[LOOKUP];
    assert_eq!(lookup.voxel_resolution, Some([4.0, 4.0, 40.0]));
    assert_eq!(lookup.live_compatible, Some(true));
    let meta = client.view_metadata(LOOKUP, Some(1300)).await.unwrap();
    assert_eq!(meta.name.as_deref(), Some(LOOKUP));
    assert_eq!(meta.description, lookup.description);
    // The schema keeps the view's column order (the runtime's JSON keeps key order).
    let schema = client.view_schema(LOOKUP, Some(1300)).await.unwrap();
    let names: Vec<&str> = schema.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "id",
            "volume",
            "pt_position",
            "pt_root_id",
            "orig_root_id",
            "pt_supervoxel_id",
            "pt_position_lookup"
        ]
    );
    assert_eq!(schema.column("volume").unwrap().kind, ViewColumnType::Float);
    let schemas = client.view_schemas(Some(1300)).await.unwrap();
    assert_eq!(schemas[LOOKUP], schema);
    assert_eq!(schemas.len(), views.len());
    // Version 117 has no views: `views/schemas` answers 404 `{}`, an empty map here.
    assert!(client.view_schemas(Some(117)).await.unwrap().is_empty());
    assert!(client.views(Some(117)).await.unwrap().is_empty());
    // A view the version does not list: the server's error, with the URL.
    let e = client
        .view_metadata("no_such_view", Some(1300))
        .await
        .unwrap_err();
    match &e {
        Error::Http { status, url, .. } => {
            assert_eq!(*status, 500);
            assert!(url.contains("/views/no_such_view/metadata"), "{url}");
        }
        other => panic!("expected an Http error, got {other}"),
    }
}

#[tokio::test]
async fn typed_view_rows_are_the_view_of_the_tables() {
    let client = client();
    let nuclei = NucleusDetectionV0::filter().query(&client).await.unwrap();
    let lookup = NucleusDetectionLookupV1::filter()
        .query(&client)
        .await
        .unwrap();
    assert_eq!(
        lookup.len(),
        nuclei.len(),
        "one lookup row per valid nucleus"
    );
    assert_eq!(lookup.info().version, Some(1300));
    let by_id: std::collections::HashMap<i64, &NucleusDetectionV0> =
        nuclei.iter().map(|n| (n.id.0, n)).collect();
    let mut moved = 0;
    for row in lookup.iter() {
        let nucleus = by_id[&row.id.expect("an id").0];
        assert_eq!(row.orig_root_id, nucleus.pt_root_id);
        assert_eq!(row.volume, nucleus.volume.map(f64::from));
        assert_eq!(row.pt_position, Some(nucleus.pt_position));
        moved += usize::from(row.pt_root_id != row.orig_root_id);
    }
    assert!(
        moved > 0,
        "some nuclei take their alternative point's root id"
    );

    // Every filter kind gives what the same predicate picks from the whole view.
    let big = 0.9 * lookup.iter().filter_map(|r| r.volume).fold(0.0, f64::max);
    let roots: Vec<RootId> = lookup
        .iter()
        .filter_map(|r| r.pt_root_id)
        .take(25)
        .collect();
    let got = NucleusDetectionLookupV1::filter()
        .volume_lt(big)
        .pt_root_id_in(roots.clone())
        .query(&client)
        .await
        .unwrap();
    let want: Vec<_> = lookup
        .iter()
        .filter(|r| {
            r.volume.is_some_and(|v| v < big) && r.pt_root_id.is_some_and(|x| roots.contains(&x))
        })
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got.iter().collect::<Vec<_>>(), want);

    // single_neurons are the soma_counts rows of a root's only neuron.
    let counts = SomaCounts::filter().query(&client).await.unwrap();
    let singles = SingleNeurons::filter().query(&client).await.unwrap();
    let expected: HashSet<i64> = counts
        .iter()
        .filter(|c| {
            c.cell_type.as_ref().is_some_and(|t| t.as_str() == "neuron")
                && c.neuron_count == Some(1)
        })
        .filter_map(|c| c.id.map(|i| i.0))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(
        singles
            .iter()
            .filter_map(|s| s.id.map(|i| i.0))
            .collect::<HashSet<_>>(),
        expected
    );
    let not_one = SomaCounts::filter()
        .neuron_count_not_in([1_i64])
        .query(&client)
        .await
        .unwrap();
    assert_eq!(
        not_one.len(),
        counts.iter().filter(|c| c.neuron_count != Some(1)).count()
    );
    assert!(
        not_one.info().dropped_by_not_in > 0,
        "the not-in filter is applied here"
    );

    // The cell-info reconstruction decodes: floats as f64, flags as strings.
    let cells = AibsCellInfo::filter()
        .broad_type("excitatory")
        .dendrite_cleaned("t")
        .query(&client)
        .await
        .unwrap();
    assert!(!cells.is_empty());
    assert!(
        cells
            .iter()
            .all(|c| c.nuc_volume.is_some() && c.axon_cleaned.is_some())
    );
}

#[tokio::test]
async fn view_pages_past_the_row_cap_are_stitched() {
    static SMALL: OnceLock<BackgroundServer> = OnceLock::new();
    let client = client_of(SMALL.get_or_init(|| start(700)));
    let whole = NucleusDetectionLookupV1::filter()
        .limit(2_500)
        .query(&client)
        .await
        .unwrap();
    assert_eq!(whole.len(), 2_500);
    assert!(whole.info().pages >= 4, "{:?}", whole.info());
    assert!(!whole.info().paged_by_offset, "split by the view's id");
    let ids: HashSet<i64> = whole.iter().filter_map(|r| r.id.map(|i| i.0)).collect();
    assert_eq!(ids.len(), 2_500, "no row twice");
    // Any 2,500 rows of the view, each as the view has it.
    let reference = NucleusDetectionLookupV1::filter()
        .query(&self::client())
        .await
        .unwrap();
    assert_eq!(reference.info().pages, 1);
    let by_id: std::collections::HashMap<i64, &NucleusDetectionLookupV1> = reference
        .iter()
        .filter_map(|r| r.id.map(|i| (i.0, r)))
        .collect();
    for row in whole.iter() {
        assert_eq!(Some(&row), row.id.and_then(|i| by_id.get(&i.0)), "{row:?}");
    }
    let mut stream = SingleNeurons::filter()
        .limit(1_500)
        .stream(&client)
        .await
        .unwrap();
    let mut n = 0;
    while let Some(rows) = stream.next().await.unwrap() {
        n += rows.len();
    }
    assert_eq!(n, 1_500);
}

#[tokio::test]
async fn untyped_view_queries_and_resolution() {
    let client = client();
    // Untyped queries run at the client's version, else the latest (which has no views here).
    let voxels = ViewQuery::new("single_neurons")
        .version(1300)
        .limit(5)
        .query(&client)
        .await
        .unwrap();
    let nm = ViewQuery::new("single_neurons")
        .version(1300)
        .select(["id", "pt_position"])
        .desired_resolution([1.0, 1.0, 1.0])
        .limit(5)
        .query(&client)
        .await
        .unwrap();
    assert_eq!(nm.num_rows(), 5);
    let col = |b: &cave_runtime::Batches, name: &str| -> Vec<i32> {
        b.batches()
            .iter()
            .flat_map(|batch| {
                let a = batch.column_by_name(name).unwrap();
                a.as_any()
                    .downcast_ref::<Int32Array>()
                    .unwrap()
                    .iter()
                    .flatten()
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let x4: Vec<i32> = col(&voxels, "pt_position_x")
        .iter()
        .map(|x| x * 4)
        .collect();
    assert_eq!(col(&nm, "pt_position_x"), x4);
    let z40: Vec<i32> = col(&voxels, "pt_position_z")
        .iter()
        .map(|z| z * 40)
        .collect();
    assert_eq!(col(&nm, "pt_position_z"), z40);
    let schema = nm.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(
        names,
        ["id", "pt_position_x", "pt_position_y", "pt_position_z"]
    );
    let ids = nm.batches()[0].column_by_name("id").unwrap();
    assert!(ids.as_any().downcast_ref::<Int64Array>().is_some());
    // A column the view lacks is the server's error.
    let e = ViewQuery::new("single_neurons")
        .version(1300)
        .equal("cell_type", "neuron")
        .query(&client)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Http { status: 500, .. }), "{e}");
}

#[tokio::test]
async fn views_are_not_queried_live() {
    let client = client();
    let t = Utc.with_ymd_and_hms(2025, 2, 1, 0, 0, 0).unwrap();
    let e = client
        .query(NucleusDetectionLookupV1::filter().into_query().timestamp(t))
        .await
        .unwrap_err();
    match e {
        Error::InvalidArgument(m) => {
            assert!(
                m.starts_with("nucleus_detection_lookup_v1: the query has a timestamp"),
                "{m}"
            );
        }
        other => panic!("expected InvalidArgument, got {other}"),
    }
    let live_client = Client::builder("minnie65_public")
        .server(&server().base_url)
        .token(TOKEN)
        .token_search(None, false)
        .timestamp(t)
        .build()
        .unwrap();
    let e = ViewQuery::new("single_neurons")
        .query(&live_client)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("the client runs queries at a timestamp"),
        "{e}"
    );
    // A version of its own wins over the client's timestamp.
    let rows = ViewQuery::new("single_neurons")
        .version(1300)
        .limit(3)
        .query(&live_client)
        .await
        .unwrap();
    assert_eq!(rows.num_rows(), 3);
}

#[test]
fn the_blocking_client_has_the_view_calls() {
    let client = cave_runtime::blocking::Client::new(client()).unwrap();
    let views = client.views(Some(1300)).unwrap();
    assert!(views.contains_key(LOOKUP));
    assert_eq!(
        client
            .view_schema(LOOKUP, Some(1300))
            .unwrap()
            .columns
            .len(),
        7
    );
    assert!(client.view_schemas(Some(117)).unwrap().is_empty());
    assert_eq!(
        client
            .view_metadata(LOOKUP, Some(1300))
            .unwrap()
            .live_compatible,
        Some(true)
    );
    let rows = client.query(SingleNeurons::filter().limit(4)).unwrap();
    assert_eq!(rows.len(), 4);
    let batches = client
        .query_view(ViewQuery::new("soma_counts").version(1300).limit(6))
        .unwrap();
    assert_eq!(batches.num_rows(), 6);
}
