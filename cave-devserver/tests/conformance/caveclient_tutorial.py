"""The MICrONS "querying proofread neurons" steps, run by the real caveclient against a server.

Usage: python caveclient_tutorial.py BASE_URL

Runs unchanged caveclient calls, asserts what the devserver's sample data implies (the published
minnie65_public v1300 numbers), and prints one JSON object with what it saw, for the Rust test
(cave-devserver/tests/caveclient.rs) to compare with its own view of the same server.
"""

import json
import sys
import warnings

import numpy as np
import pandas as pd
from caveclient import CAVEclient

TOKEN = "0123456789abcdef0123456789abcdef"


def main(url: str) -> dict:
    seen = {}
    client = CAVEclient("minnie65_public", server_address=url, auth_token=TOKEN)

    # 1. The datastack.
    info = client.info.get_datastack_info()
    seen["description"] = info["description"]
    assert info["synapse_table"] == "synapses_pni_2", info
    assert client.info.viewer_resolution().tolist() == [4.0, 4.0, 40.0]

    # 2. Versions and their timestamps; pin 1300.
    versions = client.materialize.get_versions()
    seen["versions"] = sorted(int(v) for v in versions)
    seen["timestamps"] = {
        str(v): client.materialize.get_timestamp(v).isoformat() for v in sorted(versions)
    }
    assert 1300 in versions, versions
    client.version = 1300
    assert client.materialize.version == 1300

    # 3. The proofreading table, whole and filtered through the table manager.
    prf = client.materialize.query_table("proofreading_status_and_strategy")
    seen["proofreading_rows"] = len(prf)
    seen["proofreading_columns"] = list(prf.columns)
    seen["strategy_axon_counts"] = {k: int(v) for k, v in prf["strategy_axon"].value_counts().items()}
    assert len(prf) == 1865, len(prf)
    assert seen["strategy_axon_counts"] == {
        "axon_partially_extended": 1459,
        "none": 149,
        "axon_interareal": 130,
        "axon_fully_extended": 127,
    }, seen["strategy_axon_counts"]
    assert str(prf["pt_root_id"].dtype) == "Int64", prf.dtypes
    assert str(prf["status_axon"].dtype) == "boolean", prf.dtypes
    assert str(prf["created"].dtype) == "datetime64[ns, UTC]", prf.dtypes
    pos = prf["pt_position"].iloc[0]
    assert len(pos) == 3, pos
    assert prf.attrs["dataframe_resolution"] == [4.0, 4.0, 40.0], prf.attrs

    axon = client.materialize.tables.proofreading_status_and_strategy(status_axon=True).query()
    seen["status_axon_rows"] = len(axon)
    seen["status_axon_strategy_counts"] = {
        k: int(v) for k, v in axon["strategy_axon"].value_counts().items()
    }
    assert len(axon) == 1723, len(axon)

    # 4. Cell types: a reference table on the nuclei, merged; drop multi-soma roots.
    ct = client.materialize.query_table("aibs_metamodel_celltypes_v661")
    seen["celltype_rows"] = len(ct)
    seen["celltype_columns"] = list(ct.columns)
    assert len(ct) == 94014, len(ct)
    nuclei_per_root = ct["pt_root_id"].value_counts(dropna=False)
    seen["multi_soma_roots"] = int((nuclei_per_root > 1).sum())
    ct = ct.drop_duplicates("pt_root_id", keep=False)
    ct = ct.rename(columns={"id_ref": "nucleus_id"})
    seen["celltype_single_soma"] = len(ct)
    seen["cell_type_counts"] = {k: int(v) for k, v in ct["cell_type"].value_counts().items()}
    assert len(ct) == 90303, len(ct)
    assert seen["cell_type_counts"]["23P"] == 19642, seen["cell_type_counts"]

    # 5. Proofread cells per cell type.
    axon_roots = axon["pt_root_id"]
    merged = axon.merge(ct[["pt_root_id", "nucleus_id", "cell_type"]], on="pt_root_id", how="inner")
    seen["proofread_per_type"] = {k: int(v) for k, v in merged["cell_type"].value_counts().items()}
    seen["proofread_with_type"] = len(merged)
    seen["proofread_nucleus_ids"] = sorted(int(i) for i in merged["nucleus_id"])

    # 6. The shortcut: cell types for the proofread roots and 23P in one call.
    short = client.materialize.tables.aibs_metamodel_celltypes_v661(
        pt_root_id=axon_roots.to_numpy(), cell_type="23P"
    ).query(
        select_columns={
            "nucleus_detection_v0": ["id", "pt_root_id", "pt_position"],
            "aibs_metamodel_celltypes_v661": ["cell_type"],
        }
    )
    seen["shortcut_rows"] = len(short)
    seen["shortcut_columns"] = list(short.columns)
    seen["shortcut_nucleus_ids"] = sorted(int(i) for i in short["id"])
    assert set(short["cell_type"]) <= {"23P"}, set(short["cell_type"])
    assert set(short["pt_root_id"]) <= set(axon_roots), "roots outside the filter"
    # Every proofread 23P single-soma cell must be in the shortcut's answer.
    assert seen["proofread_per_type"].get("23P", 0) <= len(short)

    # 7. A synapse query for one proofread cell.
    root = int(merged["pt_root_id"].iloc[0])
    inputs = client.materialize.synapse_query(post_ids=root)
    outputs = client.materialize.synapse_query(pre_ids=root)
    seen["synapse_root"] = root
    seen["synapse_inputs"] = len(inputs)
    seen["synapse_outputs"] = len(outputs)
    seen["synapse_columns"] = list(inputs.columns)
    assert len(inputs) > 0 and len(outputs) > 0, (len(inputs), len(outputs))
    assert (inputs["post_pt_root_id"] == root).all()
    assert (inputs["pre_pt_root_id"] != root).all(), "autapses are dropped"
    assert "ctr_pt_position" in inputs.columns
    return seen


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    result = main(sys.argv[1])
    print(json.dumps(result, sort_keys=True, default=lambda o: o.item() if isinstance(o, np.generic) else str(o)))
