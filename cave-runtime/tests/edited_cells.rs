//! The second tutorial (`examples/edited_cells`) against an in-process devserver: its numbers
//! are the tables' own. The roots it calls stale are exactly the older version's roots of
//! cells whose nucleus has another root at the newer version; the rows it brings forward
//! carry the newer table's roots; the latest roots by lineage and by suggestion are those.

#[path = "../examples/edited_cells/history.rs"]
mod history;

use std::collections::{BTreeMap, BTreeSet};

use cave_devserver::{BackgroundServer, ServerConfig};
use cave_runtime::{AnnotationId, Client, RootId};
use history::{AibsMetamodelCellType, AibsMetamodelCelltypesV661};

#[test]
fn the_second_tutorial_finds_the_edits_the_tables_show() {
    let mut config = ServerConfig::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../schemas/minnie65_public"
    ));
    config.sample.synapses = 20_000;
    let server = BackgroundServer::start(config).expect("devserver starts");
    let client = Client::builder("minnie65_public")
        .server(&server.base_url)
        .token("test-token")
        .token_search(None, false)
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut out = Vec::new();
    let summary = runtime
        .block_on(history::run(&client, 1181, 1300, &mut out))
        .unwrap_or_else(|e| panic!("the tutorial failed: {e}"));
    let text = String::from_utf8(out).unwrap();

    // The tables themselves: each 23P nucleus's root at both versions.
    let roots = |version: u32| -> BTreeMap<AnnotationId, (Option<i64>, Option<RootId>)> {
        runtime
            .block_on(
                AibsMetamodelCelltypesV661::filter()
                    .cell_type(AibsMetamodelCellType::_23p)
                    .version(version)
                    .query(&client),
            )
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c.target.id,
                    (c.target.pt_supervoxel_id.map(|s| s.0), c.target.pt_root_id),
                )
            })
            .collect()
    };
    let (older, newer) = (roots(1181), roots(1300));
    let changed: BTreeSet<RootId> = older
        .iter()
        .filter_map(|(n, (sv, r))| {
            let r = (*r)?;
            let (nsv, nr) = newer.get(n)?;
            (nsv == sv && *nr != Some(r) && r.0 != 0).then_some(r)
        })
        .collect();
    assert!(changed.len() > 100, "{} changed roots", changed.len());
    assert_eq!(summary.cells, older.len());
    assert_eq!(
        summary.stale.iter().copied().collect::<BTreeSet<_>>(),
        changed
    );
    assert_eq!(summary.update.stale, summary.stale);
    assert_eq!(summary.update.unresolved, 0);
    assert_eq!(
        summary.in_both,
        older.keys().filter(|n| newer.contains_key(n)).count()
    );
    assert_eq!(summary.agree_with_newer_table, summary.in_both);
    assert_eq!(summary.latest.len(), 5);
    for l in &summary.latest {
        let want = l.in_newer_table.expect("the nucleus is in the newer table");
        assert!(l.by_lineage.contains(&want), "{l:?}");
        assert_eq!(l.suggested.0, want, "{l:?}");
        assert!(l.suggested.1 > 0.5);
        assert!(changed.contains(&l.old));
    }
    let first = &summary.latest[0];
    let ids: Vec<RootId> = summary.lineage_nodes.iter().map(|n| n.0).collect();
    assert!(ids.contains(&first.old) && ids.contains(&first.in_newer_table.unwrap()));
    assert!(summary.lineage_edges.iter().any(|(s, _)| *s == first.old));
    // Each step is printed with its numbers.
    for needle in [
        format!("1. {} cells of type 23P at version 1181.", summary.cells),
        format!("2. {} of their root ids", summary.stale.len()),
        format!(
            "{} of the {} cells",
            summary.agree_with_newer_table, summary.in_both
        ),
        "5. Lineage of nucleus".to_string(),
    ] {
        assert!(text.contains(&needle), "missing {needle:?} in:\n{text}");
    }
}
