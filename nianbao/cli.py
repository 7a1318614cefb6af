"""The `nianbao` command: parse files, serve sample portals, inspect the registry,
rebuild and publish the archive. Every error is one clear line and a non-zero exit."""
import argparse
import json
import sys
import time
from pathlib import Path

from archive.db import ArchiveError


def cmd_parse(args) -> int:
    """Print one JSON object per file, in the parse contract's shape."""
    import parsers

    status = 0
    for path in args.paths:
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            result = {"source": path, "error": f"cannot read: {error.strerror or error}"}
        else:
            result = parsers.parse(data, name=path)
        if "error" in result:
            status = 1
        print(json.dumps(result, ensure_ascii=False, indent=args.indent), flush=True)
    return status


def cmd_sample_portals(args) -> int:
    if args.national:
        return serve_national_web(args)
    from nianbao.sample_portals.server import base_url, manifests, start_server, write_registry

    try:
        server = start_server(args.host, args.port)
    except OSError as error:
        raise SystemExit(f"nianbao: cannot listen on {args.host}:{args.port}: {error.strerror or error}")
    base = base_url(server)
    faults = None
    if args.faults:
        from nianbao.sample_portals.faults import FaultPortal

        faults = FaultPortal(args.host)
    if args.registry_out:
        write_registry(args.registry_out, base)
        if faults:
            faults.append_registry(args.registry_out)
    for manifest in manifests():
        print(f"{manifest['id']}: {base}/{manifest['id']}{manifest['column']}", flush=True)
    for row in faults.registry_rows() if faults else []:
        print(f"{row['id']}: {row['column_urls']}", flush=True)
    print(f"Sample portals at {base}/ (Ctrl-C to stop)", flush=True)
    if args.registry_out:
        print(f"Registry written to {args.registry_out}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()
        if faults:
            faults.stop()
    return 0


def serve_national_web(args) -> int:
    """The simulated national web: N portals, each on its own loopback addresses."""
    from nianbao.national_web.server import NationalWeb

    try:
        web = NationalWeb(args.national).start()
    except OSError as error:
        raise SystemExit(f"nianbao: cannot serve the national web: {error.strerror or error}")
    expected = sum(portal.expect == "column" for portal in web.portals)
    print(f"National web: {len(web.portals)} portals ({expected} with a 年报 column) on 127.1.0.1… port "
          f"{web.port}, e.g. {web.portals[0].homepage(web.port)} (Ctrl-C to stop)", flush=True)
    if args.registry_out:
        web.write_registry(args.registry_out)
        manifest = Path(args.registry_out).with_suffix(".manifest.json")
        web.write_manifest(manifest)
        print(f"Registry written to {args.registry_out}, manifest to {manifest}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        web.stop()
    return 0


def cmd_serve(args) -> int:
    from archive.publish import serve

    return serve(args.db, host=args.host, port=args.port)


def cmd_reparse(args) -> int:
    from archive.reparse import reparse
    from parsers.workers import Limits

    default = Limits()
    limits = Limits(default.memory_mb if args.parse_memory_mb is None else args.parse_memory_mb,
                    default.timeout if args.parse_timeout is None else args.parse_timeout)
    count = reparse(args.db, progress=not args.quiet, limits=limits)
    print(f"reparsed {count} documents", file=sys.stderr)
    return 0


def cmd_migrate(args) -> int:
    """Move an archive's raw bytes from `blobs` into WARC files (archive/warc.py)."""
    from archive import warc
    from archive.db import open_archive

    db = open_archive(args.db)
    try:
        moved = warc.migrate(db, args.warc_dir, args.warc_max_bytes)
    except warc.WarcDirError as error:
        raise SystemExit(f"nianbao: {error}")
    finally:
        db.close()
    print(f"moved {moved} blobs into WARC files in {args.warc_dir}", file=sys.stderr)
    return 0


def cmd_warc_index(args) -> int:
    """Write the CDXJ index of an archive's WARC files, for pywb."""
    from archive import warc
    from archive.db import open_archive

    db = open_archive(args.db)
    try:
        output = warc.index(db.conn, args.output)
    except ValueError as error:
        raise SystemExit(f"nianbao: {error}")
    finally:
        db.close()
    print(f"CDXJ index written to {output}", file=sys.stderr)
    return 0


def cmd_crawl_seed(args) -> int:
    """Queue the registry's portals once in Redis for the workers of a distributed crawl
    (crawler/distributed.py); seeding the same prefix again queues nothing."""
    import redis

    from crawler.distributed import connect, seed
    from crawler.frontier import new_run_id
    from crawler.registry import DEFAULT_REGISTRY, RegistryError, load_registry, select_portals

    try:
        portals = select_portals(load_registry(args.registry or DEFAULT_REGISTRY), ids=args.portal,
                                 level=args.level, province=args.province)
    except RegistryError as error:
        raise SystemExit(f"nianbao: {error}")
    columns = {}
    if args.archive:  # the columns its crawls found: the workers' walks start there, without a search
        from archive.columns import cached_columns
        from archive.db import open_archive

        db = open_archive(args.archive)
        columns = cached_columns(db)
        db.close()
    run_id = args.run or new_run_id()
    try:
        run_id, queued = seed(connect(args.redis), args.prefix, run_id, [portal["id"] for portal in portals],
                              columns)
    except redis.RedisError as error:
        raise SystemExit(f"nianbao: cannot seed {args.redis}: {error}")
    if not queued:
        print(f"{args.prefix}: already seeded with run {run_id}; nothing queued again", file=sys.stderr)
    else:
        print(f"{args.prefix}: run {run_id}: {len(portals)} portals queued", file=sys.stderr)
    return 0


def cmd_ingest(args) -> int:
    """Write a distributed crawl's stream of parsed items into the archive (archive/ingest.py)."""
    import logging

    from archive.db import open_archive
    from archive.ingest import IngestError, connect, ingest, open_ingest

    if args.batch < 1 or args.drain < 0:
        raise SystemExit("nianbao: --batch must be at least 1 and --drain not negative")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    db = None
    try:
        client = connect(args.redis)
        db = open_archive(args.db)
        open_ingest(db, args.warc_dir)
        ended = ingest(db, client, args.prefix, follow=args.follow, batch=args.batch, drain=args.drain,
                       progress=not args.quiet)
    except IngestError as error:
        raise SystemExit(f"nianbao: {error}")
    except KeyboardInterrupt:
        return 130
    finally:
        if db is not None:
            db.close()
    incomplete = [f"run {run_id}: {reason}" for run_id, status, reason in ended if status != "finished"]
    for line in incomplete:
        print(f"ingest: incomplete: {line}", file=sys.stderr)
    return 1 if incomplete else 0


def cmd_registry_stats(args) -> int:
    from crawler.registry import DEFAULT_REGISTRY, RegistryError, load_registry, registry_stats

    try:
        portals = load_registry(args.registry or DEFAULT_REGISTRY)
    except RegistryError as error:
        raise SystemExit(f"nianbao: {error}")
    print("\n".join(registry_stats(portals)))
    return 0


def cmd_registry_import(args) -> int:
    """Build a registry from the official site database export (and the central bodies'
    list), merge the hand-checked rows, write it and the report of rows not placed exactly."""
    from crawler.registry import HAND_REGISTRY, RegistryError
    from crawler.registry.national import COLUMNS, REPORT_COLUMNS, build_registry, write_csv

    started = time.monotonic()
    out = Path(args.out)
    report = Path(args.report) if args.report else out.with_name(out.stem + "-unplaced.csv")
    try:
        result = build_registry(args.sites, args.central, None if args.no_hand else Path(args.hand or HAND_REGISTRY))
        write_csv(out, result.portals, COLUMNS)
        write_csv(report, result.report, REPORT_COLUMNS)
    except RegistryError as error:
        raise SystemExit(f"nianbao: {error}")
    except OSError as error:
        raise SystemExit(f"nianbao: cannot write {error.filename}: {error.strerror or error}")
    counts = result.counts
    print(f"official sites: {counts['official']} ({len(args.sites)} file(s)); central bodies: {counts['central']}")
    print(f"hand rows: {counts['hand']} ({counts['hand matched']} merged into official rows, "
          f"{counts['hand'] - counts['hand matched']} added)")
    print(f"placed by code: {counts['match code']}, by name: {counts['match name']}, "
          f"in the enclosing area: {counts['match parent']}, unplaced: {counts['match none']}")
    print(f"report: {len(result.report)} rows not placed exactly -> {report}")
    print(f"registry: {len(result.portals)} portals -> {out} ({time.monotonic() - started:.1f} s)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nianbao", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    parse = commands.add_parser("parse", help="parse report files (HTML, text, PDF, DOCX) to JSON")
    parse.add_argument("paths", nargs="+", metavar="PATH")
    parse.add_argument("--indent", type=int, default=None, help="pretty-print the JSON")
    parse.set_defaults(func=cmd_parse)

    sample = commands.add_parser("sample-portals", help="serve the bundled sample portals on 127.0.0.1")
    sample.add_argument("--host", default="127.0.0.1")
    sample.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    sample.add_argument("--registry-out", metavar="PATH", help="write a registry for the served portals")
    sample.add_argument("--faults", action="store_true",
                        help="also serve the fault portal (every fault of the real web, see faults.json)")
    sample.add_argument("--national", type=int, metavar="N", default=0,
                        help="serve instead a simulated national web of N portals, each on its own loopback "
                             "addresses (127.1.x.y …), registered with their homepage only")
    sample.set_defaults(func=cmd_sample_portals)

    serve = commands.add_parser("serve", help="publish an archive with Datasette (read-only)")
    serve.add_argument("db", nargs="?", default="nianbao.db")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8001)
    serve.set_defaults(func=cmd_serve)

    reparse = commands.add_parser("reparse", help="rebuild derived tables from archived documents")
    reparse.add_argument("db", nargs="?", default="nianbao.db")
    reparse.add_argument("--quiet", action="store_true", help="no progress bar")
    reparse.add_argument("--parse-memory-mb", type=int, metavar="MB",
                         help="a parse worker's memory (address space) limit; 0: none (default: the crawl's)")
    reparse.add_argument("--parse-timeout", type=float, metavar="SECONDS",
                         help="time limit of one document's parse; 0: none (default: the crawl's)")
    reparse.set_defaults(func=cmd_reparse)

    migrate = commands.add_parser("migrate", help="move an archive's raw responses from blobs into WARC files")
    migrate.add_argument("db")
    migrate.add_argument("--warc-dir", required=True, metavar="DIR", help="where the .warc.gz files go")
    migrate.add_argument("--warc-max-bytes", type=int, default=1_000_000_000, metavar="BYTES",
                         help="a WARC file is closed past this size (default 1 GB)")
    migrate.set_defaults(func=cmd_migrate)

    warc = commands.add_parser("warc", help="the archive's WARC files")
    warc_commands = warc.add_subparsers(dest="warc_command", required=True)
    warc_index = warc_commands.add_parser("index", help="write the CDXJ index pywb replays the WARC files from")
    warc_index.add_argument("db", nargs="?", default="nianbao.db")
    warc_index.add_argument("--output", metavar="PATH", help="the index (default: WARC_DIR/index.cdxj)")
    warc_index.set_defaults(func=cmd_warc_index)

    crawl_seed = commands.add_parser("crawl-seed", help="queue the registry's portals in Redis, once, for the "
                                                       "workers of a distributed crawl")
    crawl_seed.add_argument("--redis", required=True, metavar="URL", help="redis://host:port/db (NIANBAO_REDIS_URL)")
    crawl_seed.add_argument("--prefix", default="nianbao", help="of the run's keys (NIANBAO_REDIS_PREFIX)")
    crawl_seed.add_argument("--run", default="", metavar="NAME", help="the run's id (default: a new one)")
    crawl_seed.add_argument("--registry", metavar="PATH", help="registry file (default: the bundled one)")
    crawl_seed.add_argument("--portal", default="", metavar="ID,ID", help="these portals only")
    crawl_seed.add_argument("--level", default="")
    crawl_seed.add_argument("--province", default="")
    crawl_seed.add_argument("--archive", metavar="DB", help="start homepage-only portals from the columns this "
                                                           "archive's crawls found (as a crawl into it would)")
    crawl_seed.set_defaults(func=cmd_crawl_seed)

    ingest = commands.add_parser("ingest", help="the one writer of a distributed crawl: the Redis stream into the archive")
    ingest.add_argument("db", metavar="ARCHIVE.db")
    ingest.add_argument("--redis", required=True, metavar="URL", help="the crawl's Redis (NIANBAO_REDIS_URL)")
    ingest.add_argument("--prefix", default="nianbao", help="its keys' prefix (NIANBAO_REDIS_PREFIX, default nianbao)")
    ingest.add_argument("--warc-dir", metavar="DIR", help="the workers' WARC directory (NIANBAO_WARC_DIR), shared "
                                                          "or synced here; once, then the archive remembers it")
    ingest.add_argument("--follow", action="store_true", help="after a run's end, wait for the next run")
    ingest.add_argument("--batch", type=int, default=200, metavar="N", help="stream entries per transaction")
    ingest.add_argument("--drain", type=float, default=5.0, metavar="SECONDS",
                        help="after a run's end, how long a worker's last progress is waited for (default 5)")
    ingest.add_argument("--quiet", action="store_true", help="no progress lines")
    ingest.set_defaults(func=cmd_ingest)

    registry = commands.add_parser("registry", help="the portal registry")
    registry_commands = registry.add_subparsers(dest="registry_command", required=True)
    stats = registry_commands.add_parser("stats", help="size, provinces and levels")
    stats.add_argument("--registry", metavar="PATH", help="registry file (default: the bundled one)")
    stats.set_defaults(func=cmd_registry_stats)
    build = registry_commands.add_parser(
        "import", help="build the national registry from the official site database export",
        description="Build a registry from the official 全国政府网站基本信息数据库 export (CSV files with the "
                    "header 序号,网站标识码,网站名称,首页网址,网站主管单位,网站状态) and the central bodies' list "
                    "(xlsx: Organ, Url), merged with the hand-checked rows.")
    build.add_argument("sites", nargs="+", metavar="SITES.csv", help="official export file(s)")
    build.add_argument("--central", metavar="XLSX", help="the central bodies' sites (Organ, Url)")
    build.add_argument("--hand", metavar="CSV", help="hand-checked rows (default: the bundled hand.csv)")
    build.add_argument("--no-hand", action="store_true", help="merge no hand-checked rows")
    build.add_argument("--out", required=True, metavar="CSV", help="the registry to write")
    build.add_argument("--report", metavar="CSV",
                       help="rows not placed exactly (default: OUT's name with -unplaced)")
    build.set_defaults(func=cmd_registry_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ArchiveError as error:
        print(f"nianbao: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
