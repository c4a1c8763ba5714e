"""Time caveclient 8.2.1's `get_roots` or `is_latest_roots` end to end against a CAVE server
(the devserver in bench/chunkedgraph.sh), on the inputs `cg_roots --prepare` wrote.

Prints `mode=<roots|latest> n=<ids> checksum=<sum of answers> seconds=<s> peak_rss_mib=<m>
base_rss_mib=<b>`; the timestamp is v1300's. The client is built before the clock starts.

Usage: python bench/py_chunkedgraph.py --server URL --mode roots|latest FILE
"""

import argparse
import logging
import resource
import time
import warnings

import numpy as np

from py_decode import rss_mib  # bench/ is on the path when this script runs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--mode", choices=["roots", "latest"], default="roots")
    parser.add_argument("file")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")

    from caveclient import CAVEclient

    client = CAVEclient("minnie65_public", server_address=args.server, auth_token="benchmark-token")
    at = client.materialize.get_timestamp(1300)
    cg = client.chunkedgraph
    cg.get_oldest_timestamp()
    ids = np.fromfile(args.file, dtype="<u8")
    base = rss_mib("VmRSS:")
    start = time.perf_counter()
    if args.mode == "roots":
        checksum = int(sum(int(r) for r in cg.get_roots(ids, timestamp=at)))
    else:
        checksum = int(np.sum(cg.is_latest_roots(ids, timestamp=at)))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"mode={args.mode} n={len(ids)} checksum={checksum} seconds={seconds:.6f} "
        f"peak_rss_mib={peak:.1f} base_rss_mib={base:.1f}"
    )


if __name__ == "__main__":
    main()
