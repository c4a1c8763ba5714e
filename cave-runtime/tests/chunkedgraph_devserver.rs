//! The chunkedgraph client against the devserver's chunkedgraph: roots agree with the tables at
//! every sampled version, typed rows of an older version are brought to a newer time through
//! their supervoxels, the compositions find the roots the tables have, the public table's
//! refusal comes with its hint, and faults end in a retry or a clear error.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use cave_devserver::{BackgroundServer, FaultSpec, ServerConfig};
use cave_runtime::{AnnotationId, Client, RootId};

mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        tables = ["nucleus_detection_v0", "aibs_metamodel_celltypes_v661"]
    );
}

use minnie::{AibsMetamodelCelltypesV661, NucleusDetectionV0};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

fn config() -> ServerConfig {
    let mut config = ServerConfig::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../schemas/minnie65_public"
    ));
    config.sample.synapses = 20_000;
    config
}

fn start(config: ServerConfig) -> BackgroundServer {
    std::thread::spawn(move || BackgroundServer::start(config).expect("devserver starts"))
        .join()
        .unwrap()
}

fn server() -> &'static BackgroundServer {
    static SERVER: OnceLock<BackgroundServer> = OnceLock::new();
    SERVER.get_or_init(|| start(config()))
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

/// Nucleus id → (supervoxel, root) at `version`.
async fn nuclei(client: &Client, version: u32) -> BTreeMap<AnnotationId, (i64, RootId)> {
    NucleusDetectionV0::filter()
        .version(version)
        .query(client)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.id,
                (
                    r.pt_supervoxel_id.map_or(0, |s| s.0),
                    r.pt_root_id.unwrap_or(RootId(0)),
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn typed_rows_of_an_older_version_are_brought_to_a_newer_time() {
    let client = client_of(server());
    let cg = client.chunkedgraph().await.unwrap();
    let (t1181, t1300) = (
        client.timestamp(1181).await.unwrap(),
        client.timestamp(1300).await.unwrap(),
    );
    let (early, late) = (nuclei(&client, 1181).await, nuclei(&client, 1300).await);
    // The roots of v1300's supervoxels at its timestamp are its rows' roots.
    let svs: Vec<i64> = late
        .values()
        .map(|(sv, _)| *sv)
        .filter(|&s| s != 0)
        .collect();
    let want: Vec<RootId> = late
        .values()
        .filter(|(sv, _)| *sv != 0)
        .map(|(_, r)| *r)
        .collect();
    assert_eq!(cg.roots(&svs, Some(t1300), None).await.unwrap(), want);

    // Typed rows of v1181: which roots are stale at v1300, and the rows brought there.
    let mut rows = NucleusDetectionV0::filter()
        .version(1181)
        .query(&client)
        .await
        .unwrap();
    let stale = cg.stale_roots(&rows, t1300).await.unwrap();
    let expected_stale: BTreeSet<RootId> = early
        .iter()
        .filter(|(id, (sv, r))| {
            r.0 != 0 && late.get(id).is_some_and(|(lsv, lr)| lsv == sv && lr != r)
        })
        .map(|(_, (_, r))| *r)
        .collect();
    assert!(!expected_stale.is_empty());
    let stale_set: BTreeSet<RootId> = stale.iter().copied().collect();
    assert!(
        expected_stale.is_subset(&stale_set),
        "every root that changed is stale"
    );
    // The same through the rows themselves.
    let update = rows.update_roots(&client, t1300).await.unwrap();
    assert_eq!(update.stale, stale);
    assert!(
        update.replaced >= expected_stale.len() && update.unresolved == 0,
        "{update:?}"
    );
    for row in rows.iter() {
        let (sv, root) = late[&row.id];
        if row.pt_supervoxel_id.map(|s| s.0) == Some(sv) && sv != 0 {
            assert_eq!(row.pt_root_id, Some(root), "nucleus {:?}", row.id);
        }
    }
    assert!(rows.stale_roots(&client, t1300).await.unwrap().is_empty());
    // Reference rows bring their target's roots too (the nucleus of each cell type row).
    let mut cells = AibsMetamodelCelltypesV661::filter()
        .version(1300)
        .limit(2_000)
        .query(&client)
        .await
        .unwrap();
    let update = cg.update_roots(&mut cells, t1300).await.unwrap();
    assert_eq!(
        (update.stale.len(), update.replaced),
        (0, 0),
        "v1300 rows are current at v1300"
    );
    assert_eq!(
        update.checked,
        cells
            .iter()
            .filter_map(|c| c.target.pt_root_id)
            .filter(|r| r.0 != 0)
            .collect::<BTreeSet<_>>()
            .len()
    );

    // One stale root: its latest roots by lineage, and the suggestion by its leaves.
    let (id, (sv, old)) = early
        .iter()
        .find(|(id, (sv, r))| expected_stale.contains(r) && late[*id].0 == *sv)
        .map(|(id, v)| (*id, *v))
        .unwrap();
    let new = late[&id].1;
    assert!(
        cg.latest_roots(old, Some(t1300))
            .await
            .unwrap()
            .contains(&new)
    );
    let suggested = cg
        .suggest_latest_root(old, Some(t1300), None)
        .await
        .unwrap();
    assert_eq!(suggested.root, new);
    assert!(
        cg.original_roots(new, Some(t1181))
            .await
            .unwrap()
            .contains(&old)
    );
    assert_eq!(cg.root(sv, Some(t1181)).await.unwrap(), old);
    let lineage = cg
        .lineage_graph(&[old], Some(t1181), Some(t1300))
        .await
        .unwrap();
    assert!(lineage.successors(old).contains(&new) || lineage.latest_roots().contains(&new));
    let times = cg.root_timestamps(&[old], true, Some(t1300)).await.unwrap();
    assert!(times[0] > t1181 && times[0] < t1300, "{times:?}");
    let delta = cg.delta_roots(t1181, Some(t1300)).await.unwrap();
    assert!(delta.old.contains(&old) && delta.new.contains(&new));
    assert!(cg.change_log(new).await.unwrap().past_ids.contains(&old.0));
    let valid = cg
        .valid_nodes(&[old.0, new.0, 12345], None, Some(t1300))
        .await
        .unwrap();
    assert_eq!(valid, [true, true, false]);
    assert!(cg.oldest_timestamp().await.unwrap() < t1181);
}

#[tokio::test]
async fn the_public_tables_refusal_says_why() {
    // The same history as the server's, built here to find a root made after its release.
    let snapshot = cave_schema::Snapshot::load(config().snapshot_dir).unwrap();
    let data = cave_devserver::sample::generate(&snapshot, &config().sample).unwrap();
    let service = cave_devserver::chunkedgraph::Service::of(&snapshot, &data);
    let release = service.release.unwrap();
    let h = &service.graph(&data).history;
    let op = h.ops.iter().find(|o| o.ts > release).unwrap();
    let later = RootId(h.roots[op.after[0]].id);
    let client = client_of(server());
    let cg = client.chunkedgraph().await.unwrap();
    let e = cg.leaves(later, None, None).await.unwrap_err().to_string();
    assert!(
        e.contains("401") && e.contains("not valid at timestamp"),
        "{e}"
    );
    assert!(
        e.contains("public") && e.contains("release"),
        "the hint: {e}"
    );
    assert!(!e.contains(TOKEN));
}

#[tokio::test]
async fn chunkedgraph_faults_end_in_a_retry_or_a_clear_error() {
    let path = "/segmentation/api/v1/table/minnie65_public/roots_binary";
    // Servers live for the whole test binary: a BackgroundServer may not be dropped inside
    // the test's runtime.
    static FLAKY: OnceLock<BackgroundServer> = OnceLock::new();
    static CUT: OnceLock<BackgroundServer> = OnceLock::new();
    let flaky = FLAKY.get_or_init(|| {
        let mut config = config();
        config.faults = vec![FaultSpec::status(503, 2, path)];
        start(config)
    });
    let client = client_of(flaky);
    let cg = client.chunkedgraph().await.unwrap();
    let t1300 = client.timestamp(1300).await.unwrap();
    let late = nuclei(&client, 1300).await;
    let (sv, root) = late.values().find(|(sv, _)| *sv != 0).copied().unwrap();
    assert_eq!(cg.roots(&[sv], Some(t1300), None).await.unwrap(), [root]);

    let cut = CUT.get_or_init(|| {
        let mut config = config();
        config.faults =
            vec![FaultSpec::parse(&format!("truncate=5,count=all,path={path}")).unwrap()];
        start(config)
    });
    let client = client_of(cut);
    let cg = client.chunkedgraph().await.unwrap();
    let e = cg
        .roots(&[sv, sv], Some(t1300), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("roots_binary"), "the error names the URL: {e}");
}
