"""Time one caveclient 8.2.1 `query_table` end to end against a CAVE server (the local
devserver in bench/compare.sh): the Python side of the end-to-end comparison with
`cargo run --release --example e2e_query`.

Prints `rows=<n> seconds=<s> rows_per_s=<r> peak_rss_mib=<m> base_rss_mib=<b> mode=caveclient-query`.
The client is built before the clock starts.

Usage: python bench/py_query.py --server URL [--rows N]
"""

import argparse
import logging
import resource
import time
import warnings

from py_decode import rss_mib  # bench/ is on the path when this script runs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")

    from caveclient import CAVEclient

    client = CAVEclient(
        "minnie65_public",
        server_address=args.server,
        auth_token="benchmark-token",
        version=1300,
    )
    client.materialize.get_versions()
    base = rss_mib("VmRSS:")
    start = time.perf_counter()
    df = client.materialize.query_table("synapses_pni_2", limit=args.rows)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"rows={len(df)} seconds={seconds:.6f} rows_per_s={len(df) / seconds:.0f} "
        f"peak_rss_mib={peak:.1f} base_rss_mib={base:.1f} mode=caveclient-query "
        f"table=synapses_pni_2 runs=1"
    )


if __name__ == "__main__":
    main()
