"""Parsing fetched documents in worker processes: one recipe for the crawl and for
reparse (parsing is CPU-bound; the rest of either job is not)."""
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from urllib.parse import urlsplit

from . import parse


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """`workers` processes that start with the parser already imported."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["parsers"])
    return ProcessPoolExecutor(workers, mp_context=context)


def parse_fetched(data: bytes, url: str, content_type: str = "") -> dict:
    """parse() of a fetched document, named by the last part of its URL's path (the
    kind of file is often only in the name: …/P0202….pdf)."""
    return parse(data, name=urlsplit(url).path.rsplit("/", 1)[-1], content_type=content_type or "")
