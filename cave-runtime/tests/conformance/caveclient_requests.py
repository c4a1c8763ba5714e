"""The requests caveclient 8.2.1 sends for a list of named logical queries, for the Rust client
to be compared with (cave-runtime/tests/wire_caveclient.rs).

Usage: python caveclient_requests.py BASE_URL

The server (a cave-devserver with a request log) records every request. Before each query the
script sends `GET BASE_URL/__wire_marker__/<name>`, so the log splits into one run of requests
per query. The values the queries filter on are read from the server's sample data first (before
any marker) and printed, with the names of the queries in order, as one JSON object on stdout:
`{"params": {...}, "queries": [name, ...], "rows": {name: row count}, "ids": {view or synapse
query: sorted ids}, "zeros": {synapse query: rows with root 0 it kept}, "autapses": {synapse
query: autapses among its rows}, "answers": {chunkedgraph call: what caveclient returned, as
JSON}}`. The Rust side runs the same logical queries with the same values, after markers of
the same names.

The chunkedgraph calls (names starting `cg_`, `client.chunkedgraph....`) are given every
timestamp explicitly, so that caveclient sends no timestamp of its own (a
`CAVEclient(version=1300)` fills missing ones with v1300's, the Rust client never does).
Their answers are written as JSON: ids as integers, times as integer microseconds since the
epoch (exact, as both clients read the server's float seconds to the microsecond), lineage
nodes as `[id, microseconds, operation_id or null]` in the server's order.

Floats are written as floats (`4.0`, not `4`): json.dumps keeps Python's types, and the Rust
client sends f32/f64 values as floats.
"""

import json
import logging
import sys
import warnings
from collections import Counter
from datetime import datetime, timedelta, timezone

import numpy as np
import requests
from caveclient import CAVEclient

TOKEN = "0123456789abcdef0123456789abcdef"
VERSION = 1300
SYN = "synapses_pni_2"
CT = "aibs_metamodel_celltypes_v661"
NUC = "nucleus_detection_v0"
PRF = "proofreading_status_and_strategy"

# Live-query timestamps: after version 1300 (2025-01-13T10:10:01.286229), before the next
# one, and equal to no version's timestamp (the server refuses those).
LIVE_TS = datetime(2025, 2, 1, 0, 0, 0, 250000, tzinfo=timezone.utc)
LIVE_TS_WHOLE = datetime(2025, 2, 1, 12, 30, 5, tzinfo=timezone.utc)

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def micros(t: datetime) -> int:
    """A time as integer microseconds since the epoch (exact)."""
    return (t - EPOCH) // timedelta(microseconds=1)


def float_micros(seconds: float) -> int:
    """Float seconds of an answer read as caveclient reads them (`fromtimestamp`)."""
    return micros(datetime.fromtimestamp(seconds, timezone.utc))


def ints(values) -> list:
    return [int(v) for v in values]


def chunk_bounds(node: int, info: dict) -> list:
    """The box (voxels of the base resolution) of a layer-1 node's chunk, from PyChunkedGraph's
    id layout: the layer in the top `n_bits_for_layer_id` bits, then x, y, z (10 bits each
    for minnie's layer 1), counted in chunks from the voxel offset."""
    graph, scale = info["graph"], info["scales"][0]
    layer_bits = graph["n_bits_for_layer_id"]
    size, offset = graph["chunk_size"], scale["voxel_offset"]
    bits = 10
    shift = 64 - layer_bits - bits
    out = []
    for k in range(3):
        c = (node >> (shift - k * bits)) & ((1 << bits) - 1)
        out.append([offset[k] + c * size[k], offset[k] + (c + 1) * size[k]])
    return out


def discover(client) -> dict:
    """Values of the sample data to filter on (these requests precede every marker)."""
    syn = client.materialize.query_table(SYN, limit=50, split_positions=True)
    pre = [int(r) for r in syn["pre_pt_root_id"].drop_duplicates().iloc[:2]]
    rows = client.materialize.query_table(
        SYN, filter_in_dict={"pre_pt_root_id": pre}, limit=1000
    )
    assert len(rows) < 1000, "the roots' synapses fit one page"
    # The equal filter matches the first row, whose post root the not-in filter excludes:
    # servers ignore filter_notin_dict (docs/WIRE.md, "Not-in filters"), the Rust client applies it to the rows.
    post = int(rows["post_pt_root_id"].iloc[0])
    size = float(rows["size"].iloc[0])
    assert size == int(size), "an integral size, written the same by Python and Rust"
    p = [int(v) for v in rows["post_pt_position"].iloc[0]]
    ct = client.materialize.query_table(CT, filter_equal_dict={"cell_type": "23P"}, limit=3)
    # caveclient's view calls work against the server (before any marker: not compared).
    mat = client.materialize
    views = mat.get_views()
    assert "nucleus_detection_lookup_v1" in views and "aibs_cell_info" in views, views
    assert mat.get_view_metadata("single_neurons")["table_name"] == "single_neurons"
    schema = mat.get_view_schema("nucleus_detection_lookup_v1")
    assert list(schema)[:3] == ["id", "volume", "pt_position"], schema
    assert set(mat.get_view_schemas()) == set(views)
    assert "single_neurons" in mat.views
    # A nucleus of a single neuron, for the views' filters.
    single = client.materialize.query_view("single_neurons", limit=1, split_positions=True)
    n = [int(single[f"pt_position_{a}"].iloc[0]) for a in "xyz"]
    # Synapse queries: a cell with an autapse, a root with a synapse onto root 0 (outside the
    # segmentation), and a post-synaptic cell with a box around one of its synapses.
    every = client.materialize.query_table(SYN, split_positions=True)
    assert len(every) < 200000, "the sample's synapses fit one answer"
    auto = every[(every["pre_pt_root_id"] == every["post_pt_root_id"]) & (every["pre_pt_root_id"] != 0)]
    assert len(auto) > 0, "the sample has autapses"
    zero = every[(every["post_pt_root_id"] == 0) & (every["pre_pt_root_id"] != 0)]
    assert len(zero) > 0, "the sample has synapses onto root 0"
    syn_auto = int(auto["pre_pt_root_id"].iloc[0])
    syn_zero = int(zero["pre_pt_root_id"].iloc[0])
    post_row = auto.iloc[0]
    q = [int(post_row[f"post_pt_position_{a}"]) for a in "xyz"]
    return {
        "syn_auto": syn_auto,
        "syn_zero": syn_zero,
        "syn_box_min": [q[0] - 30000, q[1] - 30000, q[2] - 1000],
        "syn_box_max": [q[0] + 30000, q[1] + 30000, q[2] + 1000],
        "pre_roots": pre,
        "post_root": post,
        "size": size,
        "bbox_min": [p[0] - 2000, p[1] - 2000, p[2] - 50],
        "bbox_max": [p[0] + 2000, p[1] + 2000, p[2] + 50],
        "nucleus_roots": [int(r) for r in ct["pt_root_id"]],
        "view_roots": [int(single["pt_root_id"].iloc[0])] + [int(r) for r in ct["pt_root_id"]],
        "view_bbox_min": [n[0] - 8000, n[1] - 8000, n[2] - 200],
        "view_bbox_max": [n[0] + 8000, n[1] + 8000, n[2] + 200],
        "live_ts": LIVE_TS.isoformat(),
        "live_ts_whole": LIVE_TS_WHOLE.isoformat(),
    }


def discover_chunkedgraph(url: str, client) -> dict:
    """Ids and times for the chunkedgraph calls (these requests precede every marker too):
    supervoxels of proofread cells with their v1300 roots, nuclei whose root an edit between
    v1181 and v1300 retired, a root a split made two of, a root a merge made of several."""
    mat, cg = client.materialize, client.chunkedgraph
    t1181, t1300 = mat.get_timestamp(1181), mat.get_timestamp(1300)
    prf = mat.query_table(PRF, limit=12)
    svs = ints(prf["pt_supervoxel_id"])
    assert ints(cg.get_roots(svs, timestamp=t1300)) == ints(prf["pt_root_id"]), "v1300's roots"
    early = CAVEclient("minnie65_public", server_address=url, auth_token=TOKEN, version=1181)
    a = early.materialize.query_table(NUC, split_positions=True, limit=400).set_index("id")
    b = mat.query_table(NUC, split_positions=True, filter_in_dict={"id": ints(a.index)})
    b = b.set_index("id")
    both = a.join(b, lsuffix="_a", rsuffix="_b", how="inner")
    same_sv = both["pt_supervoxel_id_a"] == both["pt_supervoxel_id_b"]
    both = both[(both["pt_root_id_a"] != 0) & same_sv]
    both = both.iloc[:40]
    stale = both[both["pt_root_id_a"] != both["pt_root_id_b"]]
    assert 0 < len(stale) < len(both), "some v1181 roots are stale at v1300, some not"
    old, new = int(stale["pt_root_id_a"].iloc[0]), int(stale["pt_root_id_b"].iloc[0])
    # The roots edits retired between the versions, their lineage: a split and a merge.
    retired, _ = cg.get_delta_roots(t1181, t1300)
    lineage = cg.get_lineage_graph(ints(retired), timestamp_past=t1181, timestamp_future=t1300)
    out_degree = Counter(link["source"] for link in lineage["links"])
    in_degree = Counter(link["target"] for link in lineage["links"])
    split = min(int(r) for r, n in out_degree.items() if n > 1)
    merged = [int(r) for r, n in in_degree.items() if n > 1]
    # A merge result with several supervoxels, and the box of one supervoxel's chunk.
    merged = max(merged[:50], key=lambda r: (len(cg.get_leaves(r)), -r))
    leaves = ints(cg.get_leaves(merged))
    assert len(leaves) > 2, leaves
    # The segmentation's info from the other client: this one reads it (once) in
    # suggest_latest_roots, where it is compared.
    bounds = chunk_bounds(leaves[0], early.chunkedgraph.segmentation_info)
    return {
        "cg_t1181": t1181.isoformat(),
        "cg_t1300": t1300.isoformat(),
        # What caveclient sends for v1300's timestamp (`repr` of the float seconds).
        "cg_t1300_seconds": repr(t1300.timestamp()),
        "cg_svs": svs,
        "cg_roots_1181": ints(both["pt_root_id_a"]),
        "cg_roots_1300": ints(both["pt_root_id_b"]),
        "cg_old": old,
        "cg_new": new,
        "cg_split": split,
        "cg_merged": merged,
        "cg_bounds": bounds,
    }


def chunkedgraph_queries(client, p: dict) -> list:
    """(name, call) of the chunkedgraph calls; each returns its answer as JSON."""
    cg = client.chunkedgraph
    t1181 = datetime.fromisoformat(p["cg_t1181"])
    t1300 = datetime.fromisoformat(p["cg_t1300"])
    old, new, split, merged = p["cg_old"], p["cg_new"], p["cg_split"], p["cg_merged"]
    bounds = np.array(p["cg_bounds"])

    def lineage(g):
        return {
            "nodes": [
                [int(n["id"]), float_micros(n["timestamp"]), n.get("operation_id")]
                for n in g["nodes"]
            ],
            "links": [[int(link["source"]), int(link["target"])] for link in g["links"]],
        }

    def past_ids(r):
        return {
            "past_id_map": {str(k): ints(v) for k, v in r["past_id_map"].items()},
            "future_id_map": {str(k): int(v) for k, v in r["future_id_map"].items()},
        }

    def suggest():
        roots, shares = cg.suggest_latest_roots(
            split, timestamp=t1300, return_all=True, return_fraction_overlap=True
        )
        return {"roots": ints(roots), "shares": [float(x) for x in shares]}

    def delta():
        old_roots, new_roots = cg.get_delta_roots(t1181, t1300)
        return {"old": ints(old_roots), "new": ints(new_roots)}

    def change_log():
        log = cg.get_change_log(new)
        return {
            "n_mergers": int(log["n_mergers"]),
            "n_splits": int(log["n_splits"]),
            "operations_ids": ints(log["operations_ids"]),
            "past_ids": ints(log["past_ids"]),
            "user_info": log["user_info"],
        }

    return [
        ("cg_get_roots", lambda: ints(cg.get_roots(p["cg_svs"], timestamp=t1300))),
        (
            "cg_get_roots_stop_layer",
            lambda: ints(cg.get_roots(p["cg_svs"], timestamp=t1300, stop_layer=3)),
        ),
        ("cg_get_root_id", lambda: int(cg.get_root_id(p["cg_svs"][0], timestamp=t1300))),
        (
            "cg_is_latest_roots",
            lambda: [bool(x) for x in cg.is_latest_roots(p["cg_roots_1181"], timestamp=t1300)],
        ),
        (
            "cg_root_timestamps",
            lambda: [
                micros(t)
                for t in cg.get_root_timestamps(p["cg_roots_1181"], latest=False, timestamp=t1300)
            ],
        ),
        (
            "cg_root_timestamps_latest",
            lambda: [
                micros(t)
                for t in cg.get_root_timestamps(p["cg_roots_1181"], latest=True, timestamp=t1300)
            ],
        ),
        (
            "cg_get_past_ids",
            lambda: past_ids(
                cg.get_past_ids(
                    [new, merged, split, new], timestamp_past=t1181, timestamp_future=t1300
                )
            ),
        ),
        (
            "cg_lineage_graph",
            lambda: lineage(
                cg.get_lineage_graph([split, old], timestamp_past=t1181, timestamp_future=t1300)
            ),
        ),
        # Without timestamp_future: caveclient sends `timestamp=<v1300's>&name=timestamp_future`.
        (
            "cg_lineage_graph_no_future",
            lambda: lineage(cg.get_lineage_graph(old, timestamp_past=t1181)),
        ),
        ("cg_latest_roots", lambda: ints(cg.get_latest_roots(split, timestamp=t1300))),
        # A time before the root's creation: the roots it came from.
        ("cg_latest_roots_past", lambda: ints(cg.get_latest_roots(new, timestamp=t1181))),
        ("cg_original_roots", lambda: ints(cg.get_original_roots(merged, timestamp_past=t1181))),
        ("cg_suggest_latest_roots", suggest),
        ("cg_delta_roots", delta),
        ("cg_leaves", lambda: ints(cg.get_leaves(merged))),
        (
            "cg_leaves_bounds_stop_layer",
            lambda: ints(cg.get_leaves(merged, bounds=bounds, stop_layer=2)),
        ),
        (
            "cg_leaves_many",
            lambda: {
                str(k): ints(v)
                for k, v in cg.get_leaves_many([merged, new, split], stop_layer=2).items()
            },
        ),
        (
            "cg_leaves_many_bounds",
            lambda: {
                str(k): ints(v)
                for k, v in cg.get_leaves_many([merged], bounds=bounds).items()
            },
        ),
        (
            "cg_is_valid_nodes",
            lambda: [
                bool(x)
                for x in cg.is_valid_nodes(
                    [old, new, 0, 12345, split, -3], start_timestamp=t1181, end_timestamp=t1300
                )
            ],
        ),
        ("cg_oldest_timestamp", lambda: micros(cg.get_oldest_timestamp())),
        ("cg_change_log", change_log),
    ]


def queries(client, p: dict) -> list:
    """(name, call) in the order they run; the Rust test has an arm for every name."""
    mat = client.materialize
    return [
        # 1. in / not-in / equal, limit and offset (typed on the Rust side, then untyped).
        *[
            (
                name,
                lambda: mat.query_table(
                    SYN,
                    filter_in_dict={"pre_pt_root_id": p["pre_roots"]},
                    filter_out_dict={"post_pt_root_id": [p["post_root"]]},
                    filter_equal_dict={"size": p["size"]},
                    limit=1000,
                    offset=0,
                ),
            )
            for name in ["in_notin_equal_typed", "in_notin_equal_untyped"]
        ],
        # 2. comparisons; floats chosen to exercise Python's float repr.
        (
            "comparisons_typed",
            lambda: mat.query_table(
                SYN,
                filter_greater_dict={"size": 0.1},
                filter_less_dict={"size": 1e16},
                filter_greater_equal_dict={"id": 5},
                filter_less_equal_dict={"id": 900000000},
                limit=7,
            ),
        ),
        (
            "comparisons_untyped",
            lambda: mat.query_table(
                SYN,
                filter_greater_dict={"size": 1e-05},
                filter_less_dict={"size": 25000.5},
                filter_greater_equal_dict={"pre_pt_root_id": p["pre_roots"][0]},
                filter_less_equal_dict={"id": 123456789},
                limit=7,
            ),
        ),
        # 3. spatial and regex.
        (
            "bbox_typed",
            lambda: mat.query_table(
                SYN,
                filter_spatial_dict={"post_pt_position": [p["bbox_min"], p["bbox_max"]]},
                limit=20,
            ),
        ),
        (
            "regex_typed",
            lambda: mat.query_table(
                PRF,
                filter_regex_dict={"strategy_axon": "^axon_(fully|partially)_extended$|\u00e9\\d"},
                limit=30,
            ),
        ),
        (
            "regex_untyped",
            lambda: mat.query_table(
                CT,
                filter_regex_dict={"cell_type": "^2[0-9]P"},
                limit=5,
            ),
        ),
        # 4. select_columns on a simple table.
        (
            "select_typed",
            lambda: mat.query_table(
                PRF, select_columns=["pt_root_id", "strategy_axon", "pt_position"], limit=4
            ),
        ),
        (
            "select_untyped",
            lambda: mat.query_table(SYN, select_columns=["id", "size"], limit=3, offset=2),
        ),
        # 5. desired_resolution, floats as given.
        (
            "desired_resolution_typed",
            lambda: mat.query_table(
                SYN,
                filter_in_dict={"pre_pt_root_id": p["pre_roots"]},
                desired_resolution=[4.0, 4.0, 40.0],
                limit=5,
            ),
        ),
        (
            "desired_resolution_untyped",
            lambda: mat.query_table(PRF, desired_resolution=[1.0, 1.0, 1.0], limit=5),
        ),
        # 6. a reference table, merged with its target (a join with suffix_map).
        (
            "reference_merge_typed",
            lambda: mat.query_table(CT, filter_equal_dict={"cell_type": "23P"}, limit=10),
        ),
        (
            "reference_merge_untyped",
            lambda: mat.query_table(CT, filter_equal_dict={"cell_type": "23P"}, limit=10),
        ),
        # 7. a filter on the target's column: query_table cannot nest it under another table,
        # so join_query with query_table(merge_reference=True)'s suffixes is the equivalent ...
        (
            "reference_target_filter",
            lambda: mat.join_query(
                [[CT, "target_id"], [NUC, "id"]],
                filter_in_dict={NUC: {"pt_root_id": p["nucleus_roots"]}},
                filter_equal_dict={CT: {"cell_type": "23P"}},
                suffixes={CT: "", NUC: "_ref"},
                limit=10,
            ),
        ),
        (
            "untyped_target_filter",
            lambda: mat.join_query(
                [[CT, "target_id"], [NUC, "id"]],
                filter_in_dict={NUC: {"pt_root_id": p["nucleus_roots"]}},
                suffixes={CT: "", NUC: "_ref"},
            ),
        ),
        # ... and the table manager sends the same join with the suffixes the other way round.
        (
            "table_manager_target_filter",
            lambda: mat.tables.aibs_metamodel_celltypes_v661(
                pt_root_id=p["nucleus_roots"], cell_type="23P"
            ).query(limit=10),
        ),
        # 8. live queries, server-side (live_live_query).
        (
            "live_typed",
            lambda: mat.live_live_query(
                PRF,
                LIVE_TS,
                filter_equal_dict={PRF: {"status_axon": True}},
                limit=50,
            ),
        ),
        (
            "live_join_typed",
            lambda: mat.live_live_query(
                CT,
                LIVE_TS_WHOLE,
                joins=[[CT, "target_id", NUC, "id"]],
                filter_equal_dict={CT: {"cell_type": "23P"}},
                filter_in_dict={NUC: {"pt_root_id": p["nucleus_roots"]}},
                limit=5,
                suffixes={CT: "", NUC: "_ref"},
            ),
        ),
        # 9. views (query_view): filters nested under the view, select_columns as a list,
        # offset, limit, desired_resolution; no random_sample (the Rust client offers none,
        # the server ignores it for views).
        (
            "view_typed",
            lambda: mat.query_view(
                "nucleus_detection_lookup_v1",
                filter_in_dict={"pt_root_id": p["view_roots"]},
                filter_greater_dict={"volume": 0.5},
                limit=50,
            ),
        ),
        ("view_whole_typed", lambda: mat.query_view("single_neurons", limit=10)),
        (
            "view_notin_bbox_typed",
            lambda: mat.query_view(
                "soma_counts",
                filter_greater_equal_dict={"total_count": 1},
                filter_out_dict={"neuron_count": [0]},
                filter_spatial_dict={"pt_position": [p["view_bbox_min"], p["view_bbox_max"]]},
            ),
        ),
        (
            "view_untyped",
            lambda: mat.query_view(
                "aibs_cell_info",
                filter_equal_dict={"broad_type": "excitatory"},
                filter_regex_dict={"cell_type": "^[0-9]P"},
                select_columns=["pt_root_id", "cell_type", "pt_position"],
                offset=1,
                limit=20,
                desired_resolution=[1.0, 1.0, 1.0],
            ),
        ),
        # 10. counts with filters (`get_counts=True`): the query POST with `count=True`.
        (
            "count_typed",
            lambda: mat.query_table(
                SYN,
                filter_in_dict={"pre_pt_root_id": p["pre_roots"]},
                filter_greater_dict={"size": 0.1},
                get_counts=True,
            ),
        ),
        (
            "count_untyped",
            lambda: mat.query_table(PRF, filter_equal_dict={"status_axon": True}, get_counts=True),
        ),
        # 11. metadata of every table at the version, and a table's string values (GETs).
        ("tables_metadata", lambda: mat.get_tables_metadata()),
        ("unique_string_values", lambda: mat.get_unique_string_values(PRF)),
        # 13. synapse_query: on the info record's synapse table; one root is an equal filter,
        # several an in filter; filter_in_dict and filter_equal_dict are always sent; roots 0
        # excluded by filter_notin_dict (include_zeros=False, the Rust default), the box on
        # post_pt_position; autapses removed from the frame.
        (
            "synapse_pre_one",
            lambda: mat.synapse_query(pre_ids=p["syn_auto"]),
        ),
        (
            "synapse_pre_many_no_zeros",
            lambda: mat.synapse_query(pre_ids=[p["syn_auto"], p["syn_zero"]], include_zeros=False),
        ),
        (
            "synapse_post_box_keep_autapses_no_zeros",
            lambda: mat.synapse_query(
                post_ids=[p["syn_auto"]],
                bounding_box=[p["syn_box_min"], p["syn_box_max"]],
                remove_autapses=False,
                include_zeros=False,
            ),
        ),
        (
            "synapse_pre_post_one",
            lambda: mat.synapse_query(pre_ids=p["syn_zero"], post_ids=0, remove_autapses=False),
        ),
        # 12. random_sample in the query string, simple and join.
        ("random_sample_typed", lambda: mat.query_table(SYN, random_sample=20)),
        ("random_sample_join", lambda: mat.query_table(CT, random_sample=15, limit=10)),
        # 14. the chunkedgraph (client.chunkedgraph).
        *chunkedgraph_queries(client, p),
    ]


def main(url: str) -> dict:
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    client = CAVEclient(
        "minnie65_public", server_address=url, auth_token=TOKEN, version=VERSION
    )
    params = discover(client)
    params.update(discover_chunkedgraph(url, client))
    names = []
    rows = {}
    ids = {}
    zeros = {}
    autapses = {}
    answers = {}
    marker = requests.Session()
    for name, call in queries(client, params):
        r = marker.get(
            f"{url}/__wire_marker__/{name}",
            headers={"Authorization": "Bearer marker"},
            allow_redirects=False,
            timeout=30,
        )
        assert r.status_code == 404, (name, r.status_code)
        result = call()
        assert result is not None, name
        names.append(name)
        if name.startswith("cg_"):
            answers[name] = result
            continue
        # A count is one row; what is compared is its number.
        rows[name] = int(result["count"].iloc[0]) if name.startswith("count_") else len(result)
        if name.startswith("view_"):
            # The rows themselves, by their first id column, for the Rust side to compare.
            key = "id" if "id" in result else "pt_root_id"
            ids[name] = sorted(int(v) for v in result[key])
        if name.startswith("synapse_"):
            # The server ignores filter_notin_dict, so caveclient keeps the rows with root 0
            # that include_zeros=False asks to leave out; the Rust client drops them.
            if name.endswith("no_zeros"):
                rows[name + "/not_in_applied"] = int(
                    ((result["pre_pt_root_id"] != 0) & (result["post_pt_root_id"] != 0)).sum()
                )
                kept = result[(result["pre_pt_root_id"] != 0) & (result["post_pt_root_id"] != 0)]
                zeros[name] = len(result) - len(kept)
            else:
                kept = result
            ids[name] = sorted(int(v) for v in kept["id"])
            autapses[name] = int((kept["pre_pt_root_id"] == kept["post_pt_root_id"]).sum())
        if name == "view_notin_bbox_typed":
            rows[name + "/not_in_applied"] = int((~result["neuron_count"].isin([0])).sum())
        if "post_pt_root_id" in result and name.startswith("in_notin"):
            # What the rows are once the not-in filter is applied (as the Rust client does).
            rows[name + "/not_in_applied"] = int(
                (~result["post_pt_root_id"].isin([params["post_root"]])).sum()
            )
    return {
        "params": params,
        "queries": names,
        "rows": rows,
        "ids": ids,
        "zeros": zeros,
        "autapses": autapses,
        "answers": answers,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1].rstrip("/"))))
