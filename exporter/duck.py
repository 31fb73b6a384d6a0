"""A DuckDB connection that reads SQLite files offline and read-only.

DuckDB reads SQLite through its ``sqlite_scanner`` extension, which it normally downloads from
the internet the first time it is needed. The PyPI package ``duckdb-extension-sqlite-scanner``
(pinned to the same version as ``duckdb`` in pyproject.toml) ships the binary, so we LOAD it by
path and switch autoinstall/autoload off: an export never reaches the network, and a version
mismatch fails loudly here instead of silently trying to download.

Memory stays bounded because DuckDB gets an explicit ``memory_limit`` and a temporary
directory to spill sorts into.
"""

from __future__ import annotations

import pathlib

import duckdb

from collector.errors import CollectorError

MEMORY_LIMIT = "256MB"  # DuckDB buffer pool; sorts beyond it spill to the temp directory
THREADS = 2  # the target machine has two cores


class ExtensionMissing(CollectorError):
    """The bundled sqlite_scanner binary is absent or does not match the installed DuckDB."""

    exit_code = 2


def extension_path() -> pathlib.Path:
    """The sqlite_scanner binary inside the pip package, for exactly this DuckDB version."""
    try:
        import duckdb_extension_sqlite_scanner as pkg
    except ImportError:
        raise ExtensionMissing(
            "the duckdb-extension-sqlite-scanner package is not installed; "
            f"pip install duckdb-extension-sqlite-scanner=={duckdb.__version__}"
        ) from None
    root = pathlib.Path(pkg.__file__).parent / "extensions"
    exact = root / f"v{duckdb.__version__}" / "sqlite_scanner.duckdb_extension"
    if exact.exists():
        return exact
    found = sorted(root.glob("*/sqlite_scanner.duckdb_extension"))
    raise ExtensionMissing(
        f"no sqlite_scanner for DuckDB {duckdb.__version__} in {root} "
        f"(found: {', '.join(p.parent.name for p in found) or 'none'}); pin both packages to one version"
    )


def connect(temp_dir: str | pathlib.Path) -> duckdb.DuckDBPyConnection:
    """A scratch DuckDB file in temp_dir with the SQLite scanner loaded from disk, nothing downloadable.

    A file database (not :memory:) keeps staged snapshots compressed on disk, so the export's
    memory does not grow with the number of snapshots.
    """
    con = duckdb.connect(
        str(pathlib.Path(temp_dir) / "stage.duckdb"),
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "memory_limit": MEMORY_LIMIT,
            "threads": THREADS,
            "temp_directory": str(temp_dir),
            "extension_directory": str(pathlib.Path(temp_dir) / "no-extensions"),
            "preserve_insertion_order": False,  # every result we rely on has an ORDER BY
            # Every file is read once or twice (the archive, then each bucket once): a cache of
            # their blocks only filled the pool, more with every bucket read (bench/bench_year.py).
            "enable_external_file_cache": False,
        },
    )
    try:
        con.execute(f"LOAD '{extension_path()}'")
    except duckdb.Error as exc:
        con.close()
        raise ExtensionMissing(f"cannot load the bundled sqlite_scanner: {exc}") from None
    return con


class Scratch:
    """The export's DuckDB database, a file in the export's temp directory, with collector.db
    attached read-only as ``c``.

    ``reopen`` closes the database and opens the same file again. DuckDB keeps memory outside its
    buffer pool after a large scan and a partitioned COPY (measured after splitting 0.05 of a year,
    bench/bench_year.py: ~400 MB outside the pool against ~250 MB at 0.001, not returned by
    ``malloc_trim``); only closing the database gives it back (~185 MB at every size).
    """

    def __init__(self, temp_dir: str | pathlib.Path, sqlite_path: str | pathlib.Path):
        self.temp_dir, self.sqlite_path = temp_dir, sqlite_path
        self.con = self._open()

    def _open(self) -> duckdb.DuckDBPyConnection:
        con = connect(self.temp_dir)
        try:
            attach_sqlite(con, self.sqlite_path, "c")
        except BaseException:
            con.close()
            raise
        return con

    def reopen(self) -> duckdb.DuckDBPyConnection:
        self.con.close()
        self.con = self._open()
        return self.con

    def close(self) -> None:
        self.con.close()


def attach_sqlite(con: duckdb.DuckDBPyConnection, path: str | pathlib.Path, alias: str) -> None:
    """Attach a SQLite file read-only (DuckDB never writes it; SQLite opens it with O_RDONLY)."""
    quoted = str(path).replace("'", "''")
    con.execute(f"ATTACH '{quoted}' AS {alias} (TYPE sqlite, READ_ONLY)")


def memory_report(con: duckdb.DuckDBPyConnection) -> str:
    """This process's RSS and peak RSS (Linux /proc) and the DuckDB buffer memory in use, in MB:
    what ``exporter --log-memory`` logs at each stage to show which one makes memory grow."""
    status = {}
    try:
        with open("/proc/self/status") as fh:
            status = {k: int(v.split()[0]) // 1024 for k, v in (line.split(":", 1) for line in fh)
                      if k in ("VmRSS", "VmHWM")}
    except OSError:  # not Linux
        pass
    duck_bytes = con.execute("SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()").fetchone()[0]
    import pyarrow as pa

    return (f"rss {status.get('VmRSS', '?')} MB, peak {status.get('VmHWM', '?')} MB, "
            f"DuckDB {int(duck_bytes) >> 20} MB (memory_limit {MEMORY_LIMIT}), Arrow {pa.total_allocated_bytes() >> 20} MB")


M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8  # glibc mallopt() parameters (malloc.h)


def return_freed_memory() -> None:
    """Make freed memory go back to the system, so peak RSS follows what is live.

    glibc raises its mmap threshold after every large free, after which big blocks (DuckDB's,
    Arrow's) come from heaps that fragment and never shrink, one heap per thread; Arrow's
    mimalloc pool keeps freed pages too. Measured at 0.01 of a year (bench/bench_year.py): peak
    RSS 841 -> 736 MB, steady RSS while streaming chunks ~760 -> ~570 MB, for ~25% more CPU
    (system time of the extra mmap calls). A fixed threshold, two heaps and Arrow on the system
    allocator; elsewhere than glibc only the Arrow part applies.
    """
    import ctypes

    import pyarrow as pa

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, 128 * 1024)
        libc.mallopt(M_ARENA_MAX, 2)
    except (OSError, AttributeError):  # not glibc
        pass
    pa.set_memory_pool(pa.system_memory_pool())
