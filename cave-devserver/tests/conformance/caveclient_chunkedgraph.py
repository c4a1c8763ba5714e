"""caveclient 8.2.1's chunkedgraph calls and its own (client-side) live_query against the
devserver, unchanged (cave-devserver/tests/caveclient.rs runs it and checks the answers over
HTTP).

Usage: python caveclient_chunkedgraph.py BASE_URL

Prints one JSON object: what caveclient got, for the Rust side to compare.
"""

import datetime
import json
import logging
import sys
import warnings

from caveclient import CAVEclient

TOKEN = "0123456789abcdef0123456789abcdef"
PRF = "proofreading_status_and_strategy"
NUC = "nucleus_detection_v0"


def main(url: str) -> dict:
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    early = CAVEclient("minnie65_public", server_address=url, auth_token=TOKEN, version=1181)
    client = CAVEclient("minnie65_public", server_address=url, auth_token=TOKEN)
    cg = client.chunkedgraph
    mat = client.materialize
    t1181, t1300 = mat.get_timestamp(1181), mat.get_timestamp(1300)

    # Nuclei whose cell was edited between v1181 and v1300.
    a = early.materialize.query_table(NUC, split_positions=True).set_index("id")
    b = mat.query_table(NUC, split_positions=True, materialization_version=1300).set_index("id")
    both = a.join(b, lsuffix="_a", rsuffix="_b", how="inner")
    both = both[(both["pt_root_id_a"] != 0) & (both["pt_supervoxel_id_a"] == both["pt_supervoxel_id_b"])]
    svs = [int(s) for s in both["pt_supervoxel_id_a"].iloc[:2000]]
    roots_1181 = [int(r) for r in both["pt_root_id_a"].iloc[:2000]]
    roots_1300 = [int(r) for r in both["pt_root_id_b"].iloc[:2000]]
    got_1181 = [int(r) for r in cg.get_roots(svs, timestamp=t1181)]
    got_1300 = [int(r) for r in cg.get_roots(svs, timestamp=t1300)]
    latest = [bool(x) for x in cg.is_latest_roots(roots_1181, timestamp=t1300)]
    stale = [r for r, l in zip(roots_1181, latest) if not l]
    old = stale[0]
    new = roots_1300[roots_1181.index(old)]
    latest_roots = [int(r) for r in cg.get_latest_roots(old, timestamp=t1300)]
    suggested, share = cg.suggest_latest_roots(old, timestamp=t1300, return_fraction_overlap=True)
    lineage = cg.get_lineage_graph(old, timestamp_past=t1181, timestamp_future=t1300)
    past = cg.get_past_ids([new], timestamp_past=t1181, timestamp_future=t1300)
    created = cg.get_root_timestamps([new])[0]
    retired = cg.get_root_timestamps([old], latest=True, timestamp=t1300)[0]
    original = [int(r) for r in cg.get_original_roots(new, timestamp_past=t1181)]
    old_roots, new_roots = cg.get_delta_roots(t1181, t1300)
    leaves = cg.get_leaves(new)
    valid = [bool(v) for v in cg.is_valid_nodes([old, new, 0, 12345])]
    oldest = cg.get_oldest_timestamp()
    change = cg.get_change_log(new)
    tab = cg.get_tabular_change_log([new])[new]

    # caveclient's own live_query (client-side, through the chunkedgraph) against the server's
    # live query, at a time after v1300 when some roots have changed.
    t = t1300 + datetime.timedelta(days=20)
    live_client = mat.live_query(PRF, t, split_positions=True).sort_values("id")
    live_server = mat.live_live_query(PRF, t, split_positions=True).sort_values("id")
    frozen = mat.query_table(PRF, split_positions=True, materialization_version=1300).sort_values("id")
    changed = frozen[frozen["pt_root_id"].values != live_server["pt_root_id"].values]
    by_new_root = []
    refused = ""
    if len(changed):
        stale_root = int(changed["pt_root_id"].iloc[0])
        fresh_root = int(live_server.set_index("id").loc[changed["id"].iloc[0], "pt_root_id"])
        by_new_root = [int(i) for i in mat.live_query(PRF, t, filter_in_dict={"pt_root_id": [fresh_root]})["id"]]
        try:
            mat.live_query(PRF, t, filter_in_dict={"pt_root_id": [stale_root]})
        except ValueError as e:
            refused = str(e)
    return {
        "svs": svs,
        "roots_1181_match": got_1181 == roots_1181,
        "roots_1300_match": got_1300 == roots_1300,
        "stale": len(stale),
        "old": old,
        "new": new,
        "latest_roots": latest_roots,
        "suggested": int(suggested),
        "share": float(share),
        "lineage_nodes": sorted(int(n["id"]) for n in lineage["nodes"]),
        "lineage_links": sorted([int(l["source"]), int(l["target"])] for l in lineage["links"]),
        "past_id_map": {str(k): [int(x) for x in v] for k, v in past["past_id_map"].items()},
        "created": created.timestamp(),
        "retired": retired.timestamp(),
        "original": original,
        "delta": [len(old_roots), len(new_roots)],
        "old_in_delta": int(old) in [int(x) for x in old_roots],
        "leaves": sorted(int(x) for x in leaves),
        "valid": valid,
        "oldest": oldest.isoformat(),
        "change": {"n_mergers": int(change["n_mergers"]), "n_splits": int(change["n_splits"]),
                   "past_ids": sorted(int(x) for x in change["past_ids"])},
        "tab_rows": len(tab),
        "live_client_rows": len(live_client),
        "live_same": [int(x) for x in live_client["pt_root_id"]] == [int(x) for x in live_server["pt_root_id"]]
        and [int(x) for x in live_client["id"]] == [int(x) for x in live_server["id"]],
        "live_changed": len(changed),
        "by_new_root": by_new_root,
        "refused": refused,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1].rstrip("/"))))
