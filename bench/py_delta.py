"""Out-degree of a set of presynaptic roots from a local Delta export, the way users script it
today: deltalake's pandas reader (with the export's columns and an `in` filter), or DuckDB's
Parquet reader over the export's files (hive partitions).

Usage: py_delta.py deltalake|duckdb EXPORT_DIR ROOTS_FILE
Prints one line: rows=<roots with synapses> synapses=<sum> seconds=<wall> peak_rss_mib=<max RSS>.
"""

import resource
import sys
import time


def main():
    how, export, roots_file = sys.argv[1:4]
    roots = [int(line) for line in open(roots_file) if line.strip()]
    clock = time.perf_counter()
    if how == "deltalake":
        from deltalake import DeltaTable

        frame = DeltaTable(export).to_pandas(
            columns=["pre_pt_root_id"], filters=[("pre_pt_root_id", "in", roots)]
        )
        degree = frame.groupby("pre_pt_root_id").size()
        rows, synapses = len(degree), int(degree.sum())
    elif how == "duckdb":
        import duckdb

        con = duckdb.connect()
        con.execute("CREATE TEMP TABLE roots(r BIGINT)")
        con.executemany("INSERT INTO roots VALUES (?)", [(r,) for r in roots])
        rows, synapses = con.execute(
            "SELECT COUNT(*), SUM(n) FROM (SELECT pre_pt_root_id, COUNT(*) AS n "
            f"FROM read_parquet('{export}/**/*.parquet', hive_partitioning = true) "
            "WHERE pre_pt_root_id IN (SELECT r FROM roots) GROUP BY pre_pt_root_id)"
        ).fetchone()
    else:
        raise SystemExit(f"unknown reader {how}")
    seconds = time.perf_counter() - clock
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rows={rows} synapses={synapses} seconds={seconds:.3f} peak_rss_mib={peak:.0f}")


if __name__ == "__main__":
    main()
