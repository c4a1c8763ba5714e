//! The devserver's view routes against MaterializationEngine 5.26.4's (docs/WIRE.md,
//! "Views"): records keyed by name, schemas in the view's column order, 404 `{}` without
//! views, queries with filters under the view's name, view wire types (`double`, `int64`, split
//! `int32` points), `random_sample` ignored, `count=True` counted.

mod common;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_schema::DataType;
use common::*;
use serde_json::json;

const LOOKUP: &str = "nucleus_detection_lookup_v1";

fn view_query(base: &str, view: &str, flags: &str, body: &str) -> Reply {
    post(
        &format!("{}/version/1300/views/{view}/query?{flags}", v3(base)),
        body,
        "zstd",
    )
}

#[test]
fn view_records_and_schemas() {
    let base = &shared().base_url;
    let views = get(&format!("{}/version/1300/views", v3(base)));
    assert_eq!(views.status, 200);
    let views = views.json();
    let lookup = &views[LOOKUP];
    assert_eq!(lookup["live_compatible"], json!(true));
    assert_eq!(lookup["voxel_resolution_z"], json!(40.0));
    assert!(lookup.get("table_name").is_none(), "the name is the key");
    assert!(views.get("aibs_cell_info").is_some());
    let meta = get(&format!(
        "{}/version/1300/views/{LOOKUP}/metadata",
        v3(base)
    ))
    .json();
    assert_eq!(meta["table_name"], json!(LOOKUP));
    assert_eq!(meta["id"], lookup["id"]);

    // The schema's keys in the view's column order (the body text, not a parsed map).
    let schema = get(&format!("{}/version/1300/views/{LOOKUP}/schema", v3(base)));
    let text = String::from_utf8(schema.body.clone()).unwrap();
    let order: Vec<usize> = [
        "\"id\"",
        "\"volume\"",
        "\"pt_position\"",
        "\"pt_root_id\"",
        "\"orig_root_id\"",
    ]
    .iter()
    .map(|k| text.find(k).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert_eq!(
        schema.json()["pt_position_lookup"],
        json!({"type": "SpatialPoint"})
    );
    let all = get(&format!("{}/version/1300/views/schemas", v3(base))).json();
    assert_eq!(all[LOOKUP], schema.json());
    assert_eq!(
        all.as_object().unwrap().len(),
        views.as_object().unwrap().len()
    );

    // No views at version 117: `views` is `{}`, `views/schemas` 404 `{}`.
    assert_eq!(
        get(&format!("{}/version/117/views", v3(base))).json(),
        json!({})
    );
    let none = get(&format!("{}/version/117/views/schemas", v3(base)));
    assert_eq!((none.status, none.json()), (404, json!({})));
    // A view the version does not list: a wrapped 500.
    let missing = get(&format!("{}/version/117/views/{LOOKUP}/metadata", v3(base)));
    assert_eq!(missing.status, 500);
    assert!(missing.json()["message"].as_str().unwrap().contains(LOOKUP));
}

#[test]
fn view_queries_filter_select_and_type_like_the_server() {
    let base = &shared().base_url;
    let whole = view_query(base, LOOKUP, FLAGS, "{}");
    assert_eq!(
        whole.status,
        200,
        "{}",
        String::from_utf8_lossy(&whole.body)
    );
    assert_eq!(whole.header("dataframe_resolution"), Some("4.0"));
    let (schema, batches) = whole.arrow();
    assert_eq!(
        names(&schema),
        [
            "id",
            "volume",
            "pt_position_x",
            "pt_position_y",
            "pt_position_z",
            "pt_root_id",
            "orig_root_id",
            "pt_supervoxel_id",
            "pt_position_lookup_x",
            "pt_position_lookup_y",
            "pt_position_lookup_z"
        ]
    );
    let field = |n: &str| schema.field_with_name(n).unwrap().data_type().clone();
    assert_eq!(field("volume"), DataType::Float64);
    assert_eq!(field("id"), DataType::Int64);
    assert_eq!(field("pt_position_x"), DataType::Int32);
    let total = rows(&batches);
    assert!(total > 100_000, "one row per valid nucleus: {total}");

    // Filters are keyed by the view's name; another key is the server's KeyError.
    let ids: Vec<i64> = batches[0]
        .column_by_name("id")
        .unwrap()
        .as_primitive::<Int64Type>()
        .values()[..3]
        .to_vec();
    let body =
        json!({"filter_in_dict": {LOOKUP: {"id": ids}}, "select_columns": ["id", "pt_root_id"]});
    let some = view_query(base, LOOKUP, FLAGS, &body.to_string());
    let (schema, batches) = some.arrow();
    assert_eq!(rows(&batches), 3);
    assert_eq!(
        names(&schema),
        ["id", "pt_supervoxel_id", "pt_root_id"],
        "a root id brings its supervoxel id"
    );
    let wrong = view_query(
        base,
        LOOKUP,
        FLAGS,
        &json!({"filter_in_dict": {"nucleus_detection_v0": {"id": [1]}}}).to_string(),
    );
    assert_eq!(wrong.status, 500);
    // random_sample is ignored for views; count=True counts.
    let sampled = view_query(
        base,
        "single_neurons",
        &FLAGS.replace("&direct", "&random_sample=5&direct"),
        "{}",
    );
    let plain = view_query(base, "single_neurons", FLAGS, "{}");
    assert_eq!(rows(&sampled.arrow().1), rows(&plain.arrow().1));
    let count = view_query(
        base,
        "single_neurons",
        &FLAGS.replace("&direct", "&count=True&direct"),
        "{}",
    );
    let (_, batches) = count.arrow();
    let n = batches[0]
        .column_by_name("count")
        .unwrap()
        .as_primitive::<Int64Type>()
        .value(0);
    assert_eq!(n as usize, rows(&plain.arrow().1));

    // desired_resolution scales the points; the header says so.
    let nm = view_query(
        base,
        "single_neurons",
        FLAGS,
        &json!({"limit": 2, "desired_resolution": [1.0, 1.0, 1.0]}).to_string(),
    );
    assert_eq!(nm.header("dataframe_resolution"), Some("1.0"));
    let vox = view_query(
        base,
        "single_neurons",
        FLAGS,
        &json!({"limit": 2}).to_string(),
    );
    let z = |r: &Reply| -> Vec<i32> {
        let (_, b) = r.arrow();
        let a = b[0]
            .column_by_name("pt_position_z")
            .unwrap()
            .as_primitive::<arrow_array::types::Int32Type>();
        (0..a.len()).map(|i| a.value(i)).collect()
    };
    assert_eq!(z(&nm), z(&vox).iter().map(|v| v * 40).collect::<Vec<_>>());

    // A view without sample rows answers as a version without data does.
    let none = view_query(base, "connections_with_nuclei", FLAGS, "{}");
    assert_eq!(none.status, 500);
    assert!(
        none.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("410 Gone")
    );
}
