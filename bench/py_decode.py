"""Decode a saved CAVE query answer (an Arrow IPC body) in Python, the way caveclient does,
and print the same line as `cargo run --release --example decode`:

    rows=<n> seconds=<s> rows_per_s=<r> peak_rss_mib=<m> base_rss_mib=<b> mode=<m> table=- runs=<N>

Modes:
  caveclient  caveclient 8.2.1's own functions, imported (not rewritten): the body through
              `deserialize_query_response` (pyarrow `read_pandas`), then
              `concatenate_position_columns(df, inplace=True)`, as `query_table` does when
              positions are not split
  pyarrow     `pyarrow.ipc.open_stream(body).read_all()` only (a Table, no pandas)

Usage: python bench/py_decode.py FILE --mode caveclient|pyarrow [--repeat N]
"""

import argparse
import gc
import resource
import statistics
import sys
import time
import types


def rss_mib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--mode", choices=["caveclient", "pyarrow"], required=True)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    import pyarrow as pa

    if args.mode == "caveclient":
        from caveclient.materializationengine import (
            concatenate_position_columns,
            deserialize_query_response,
        )

        def decode(body):
            # What caveclient's query_table does with the requests.Response.
            response = types.SimpleNamespace(
                headers={"Content-Type": "data.arrow"}, content=body
            )
            df = deserialize_query_response(response)
            df = concatenate_position_columns(df, inplace=True)
            return len(df)
    else:

        def decode(body):
            table = pa.ipc.open_stream(body).read_all()
            return table.num_rows

    with open(args.file, "rb") as f:
        body = f.read()
    gc.collect()
    base = rss_mib("VmRSS:")
    times = []
    rows = 0
    for _ in range(args.repeat):
        start = time.perf_counter()
        rows = decode(body)
        times.append(time.perf_counter() - start)
        gc.collect()
    seconds = statistics.median(times)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"rows={rows} seconds={seconds:.6f} rows_per_s={rows / seconds:.0f} "
        f"peak_rss_mib={peak:.1f} base_rss_mib={base:.1f} mode={args.mode} table=- "
        f"runs={args.repeat} first_seconds={times[0]:.6f}"
    )


if __name__ == "__main__":
    sys.exit(main())
