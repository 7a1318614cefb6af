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
    from nianbao.sample_portals.server import base_url, manifests, start_server, write_registry

    try:
        server = start_server(args.host, args.port)
    except OSError as error:
        raise SystemExit(f"nianbao: cannot listen on {args.host}:{args.port}: {error.strerror or error}")
    base = base_url(server)
    if args.registry_out:
        write_registry(args.registry_out, base)
    for manifest in manifests():
        print(f"{manifest['id']}: {base}/{manifest['id']}{manifest['column']}", flush=True)
    print(f"Sample portals at {base}/ (Ctrl-C to stop)", flush=True)
    if args.registry_out:
        print(f"Registry written to {args.registry_out}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()
    return 0


def cmd_serve(args) -> int:
    from archive.publish import serve

    return serve(args.db, host=args.host, port=args.port)


def cmd_reparse(args) -> int:
    from archive.reparse import reparse

    count = reparse(args.db, progress=not args.quiet)
    print(f"reparsed {count} documents", file=sys.stderr)
    return 0


def cmd_registry_stats(args) -> int:
    from crawler.registry import DEFAULT_REGISTRY, RegistryError, load_registry, registry_stats

    try:
        portals = load_registry(args.registry or DEFAULT_REGISTRY)
    except RegistryError as error:
        raise SystemExit(f"nianbao: {error}")
    print("\n".join(registry_stats(portals)))
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
    sample.set_defaults(func=cmd_sample_portals)

    serve = commands.add_parser("serve", help="publish an archive with Datasette (read-only)")
    serve.add_argument("db", nargs="?", default="nianbao.db")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8001)
    serve.set_defaults(func=cmd_serve)

    reparse = commands.add_parser("reparse", help="rebuild derived tables from archived documents")
    reparse.add_argument("db", nargs="?", default="nianbao.db")
    reparse.add_argument("--quiet", action="store_true", help="no progress bar")
    reparse.set_defaults(func=cmd_reparse)

    registry = commands.add_parser("registry", help="the portal registry")
    registry_commands = registry.add_subparsers(dest="registry_command", required=True)
    stats = registry_commands.add_parser("stats", help="size, provinces and levels")
    stats.add_argument("--registry", metavar="PATH", help="registry file (default: the bundled one)")
    stats.set_defaults(func=cmd_registry_stats)
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
