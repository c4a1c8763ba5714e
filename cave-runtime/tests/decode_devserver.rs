//! Generated row types against the devserver's real wire format: typed tables of
//! `minnie65_public` v1300 are queried (joins for reference tables, with the body the typed
//! query renders) and their Arrow responses decoded into generated rows; the numbers of the
//! sample data come out exactly.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::OnceLock;

use arrow_ipc::reader::StreamReader;
use cave_devserver::{BackgroundServer, ServerConfig};
use cave_runtime::__private::Batch;
use cave_runtime::{Query, Resolution, RootId, Table};

mod minnie {
    cave_runtime::datastack!("schemas/minnie65_public", version = 1300);
}

use minnie::{
    AibsMetamodelCellType, AibsMetamodelCelltypesV661, NucleusDetectionV0,
    ProofreadingStatusAndStrategy, ProofreadingStrategy, SynapsesPni2,
};

fn server() -> &'static BackgroundServer {
    static SERVER: OnceLock<BackgroundServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../schemas/minnie65_public");
        let mut config = ServerConfig::new(dir);
        config.sample.synapses = 20_000;
        BackgroundServer::start(config).expect("devserver starts")
    })
}

const FLAGS: &str =
    "return_pyarrow=True&arrow_format=True&split_positions=True&direct_sql_pandas=True";

/// Run `query` the way the runtime will (simple query, or a join for a reference table with
/// its target) and decode the rows.
fn run<T: Table>(query: Query<T>) -> Vec<T> {
    let base = &server().base_url;
    let version = query.get_version().expect("pinned by the macro");
    let ds = format!("{base}/materialize/api/v3/datastack/minnie65_public/version/{version}");
    let url = match T::TARGET {
        Some(_) => format!("{ds}/query?{FLAGS}"),
        None => format!("{ds}/table/{}/query?{FLAGS}", T::NAME),
    };
    let agent = reqwest::blocking::Client::builder()
        .timeout(None)
        .no_gzip()
        .no_deflate()
        .no_brotli()
        .no_zstd()
        .build()
        .unwrap();
    let response = agent
        .post(&url)
        .header("Authorization", "Bearer test-token")
        .header("Accept-Encoding", "zstd")
        .header("Content-Type", "application/json")
        .body(query.body().to_string())
        .send()
        .expect("request reaches the server");
    let status = response.status().as_u16();
    let resolution: Vec<f64> = response
        .headers()
        .get_all("dataframe_resolution")
        .iter()
        .map(|v| v.to_str().unwrap().parse().unwrap())
        .collect();
    let body = response.bytes().unwrap().to_vec();
    assert_eq!(
        status,
        200,
        "{}: {}",
        T::NAME,
        String::from_utf8_lossy(&body)
    );
    let resolution = Resolution::from_f64([resolution[0], resolution[1], resolution[2]]);
    let reader = StreamReader::try_new(Cursor::new(body), None).expect("an Arrow stream");
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.expect("a batch");
        let batch = Batch::new(&batch, T::NAME, resolution);
        rows.extend(T::decode(&batch, T::WIRE_NAMES).unwrap_or_else(|e| panic!("{e}")));
    }
    rows
}

#[test]
fn proofreading_rows_decode_with_the_published_counts() {
    let rows = run(ProofreadingStatusAndStrategy::filter().into_query());
    assert_eq!(rows.len(), 1865);
    let mut by_axon: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        *by_axon.entry(r.strategy_axon.to_string()).or_default() += 1;
        assert!(r.valid);
        assert_eq!(r.pt_position.resolution, Resolution([4.0, 4.0, 40.0]));
    }
    let expected: BTreeMap<String, usize> = [
        ("axon_fully_extended", 127),
        ("axon_interareal", 130),
        ("axon_partially_extended", 1459),
        ("none", 149),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(by_axon, expected);

    let axon = run(ProofreadingStatusAndStrategy::filter()
        .status_axon(true)
        .into_query());
    assert_eq!(axon.len(), 1723);
    assert!(axon.iter().all(|r| r.status_axon));

    let full = run(ProofreadingStatusAndStrategy::filter()
        .strategy_axon(ProofreadingStrategy::AxonFullyExtended)
        .into_query());
    assert_eq!(full.len(), 127);
}

#[test]
fn reference_rows_carry_their_target() {
    let rows = run(AibsMetamodelCelltypesV661::filter().into_query());
    assert!(rows.len() > 1000, "{} rows", rows.len());
    for r in &rows {
        assert_eq!(r.target.id, r.target_id, "the join is on target_id = id");
        assert!(
            !matches!(r.cell_type, AibsMetamodelCellType::Other(_)),
            "{:?}",
            r.cell_type
        );
    }
    // Filtering on the target's columns: the cell types of some nuclei's root ids.
    let roots: Vec<RootId> = rows
        .iter()
        .filter_map(|r| r.target.pt_root_id)
        .take(5)
        .collect();
    let some = run(AibsMetamodelCelltypesV661::filter()
        .pt_root_id_in(&roots)
        .into_query());
    assert!(!some.is_empty());
    assert!(
        some.iter()
            .all(|r| roots.contains(&r.target.pt_root_id.unwrap()))
    );
}

#[test]
fn nuclei_and_synapses_decode() {
    let nuclei = run(NucleusDetectionV0::filter().limit(1000).into_query());
    assert_eq!(nuclei.len(), 1000);
    let synapses = run(SynapsesPni2::filter().limit(5000).into_query());
    assert_eq!(synapses.len(), 5000);
}

/// Typed tables of v1300 with sample data decode without an error: the generated types agree
/// with the wire format, column for column.
#[test]
fn tables_of_the_version_decode() {
    macro_rules! all {
        ($($t:ident),* $(,)?) => {{
            let mut n = 0;
            $( let rows = run(minnie::$t::filter().limit(50).into_query()); n += rows.len(); )*
            n
        }};
    }
    let decoded = all!(
        AibsMetamodelCelltypesV661,
        AibsMetamodelMtypesV661V2,
        BaylorGnnCellTypeFineModelV2,
        BaylorLogRegCellTypeCoarseV1,
        NucleusDetectionV0,
        NucleusRefNeuronSvm,
        ProofreadingStatusAndStrategy,
        SynapsesPni2,
    );
    assert!(decoded > 0);
}
