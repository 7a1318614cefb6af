"""What is left of a crawl run, portal by portal, without Scrapy's disk queues.

With JOBDIR, Scrapy keeps its request queue in files that a process killed outright
can leave truncated: every later run then drops those requests (`struct.error`) and
still says it finished. Here the queue stays in memory (RunScheduler) and the run's
progress is kept in the archive (archive/runs.py); JOBDIR, or NIANBAO_RUN, only names
the run. A portal is done once start() has yielded all its requests and none of them
is queued or in progress: the engine holds a request in progress until the callback
of its response has ended and the items it yielded went through the pipelines, i.e.
were stored. A resumed run walks again only the portals not done, and the archive's
incremental skip (SkipArchivedReports) keeps it from fetching reports already held.

A run that lost anything must not say it finished. Besides why the crawl stopped,
Frontier counts in the stats (nianbao/lost/…) what was lost without a record: an
exception in a callback, an item not stored, an error of Scrapy's engine. A portal
with such a loss is not done (a resume walks it again); after a loss whose portal is
unknown no portal is done in this process.
"""
import logging
import os
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from scrapy import Request, signals
from scrapy.core.scheduler import Scheduler
from scrapy.logformatter import ITEMERRORMSG, SPIDERERRORMSG
from scrapy.utils.job import job_dir

RUN_FILE = "nianbao-run"  # in JOBDIR: the id of the run it holds
LOST = "nianbao/lost/"  # stats prefix of what was lost without a record
# loggers whose errors mean requests or items lost: Scrapy's engine, scheduler,
# downloader and scraper, signal handlers, and Twisted's unhandled errors (robots.txt
# that cannot be fetched is an error of its middleware, and no loss)
ENGINE_LOGGERS = ("scrapy.core.", "scrapy.utils.signal", "twisted")


def run_identity(settings) -> str:
    """NIANBAO_RUN; else the run id kept in JOBDIR, written there on first use; else a
    new id for this process alone."""
    if settings.get("NIANBAO_RUN"):
        return settings.get("NIANBAO_RUN")
    folder = job_dir(settings)  # made if missing
    if not folder:
        return new_run_id()
    path = Path(folder, RUN_FILE)
    if path.is_file() and path.read_text(encoding="utf-8").strip():
        return path.read_text(encoding="utf-8").strip()
    run_id = new_run_id()
    partial = path.with_name(RUN_FILE + ".partial")
    partial.write_text(run_id, encoding="utf-8")
    os.replace(partial, path)  # whole or absent, whenever the process is killed
    return run_id


def new_run_id() -> str:
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def portal_of(output) -> str | None:
    """The portal a request or item of the spider belongs to."""
    if isinstance(output, Request):
        return output.cb_kwargs.get("portal_id")
    page = getattr(output, "page", None)  # a ReportItem
    return getattr(page or output, "portal_id", None)


def incomplete_reason(stats, finish_reason: str) -> str:
    """Why the crawl cannot say it finished, in one line; empty if it can."""
    reasons = [] if finish_reason == "finished" else [f"interrupted ({finish_reason})"]
    lost = {key[len(LOST):]: value for key, value in stats.get_stats().items() if key.startswith(LOST)}
    if lost:
        reasons.append("lost without a record: " + ", ".join(f"{key} ({value})" for key, value in sorted(lost.items())))
    return "; ".join(reasons)


class Frontier:
    """Spider middleware (nearest the engine): the run's identity, the portals done in
    it, and what each portal still has queued or in progress."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.run_id = run_identity(crawler.settings)
        self.done: set[str] = set()  # in this run, by this process or an earlier one
        self.walking: set[str] = set()  # all their start requests scheduled, not yet done
        self.queued: Counter[str] = Counter()  # portal → its requests in the scheduler
        self.start_items: dict[int, str] = {}  # items of start() not yet through the pipelines
        self.lost_portals: set[str] = set()
        self.unattributed = False
        self.errors = EngineErrors(self)
        crawler.signals.connect(self.spider_error, signals.spider_error)
        crawler.signals.connect(self.item_error, signals.item_error)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(self.item_left, signal)
        crawler.signals.connect(self.engine_stopped, signals.engine_stopped)
        logging.getLogger().addHandler(self.errors)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_start(self, start):
        """Leave out the portals done earlier in this run. start() yields the requests
        portal after portal: once it moves on, the previous portal is being walked."""
        current, skipped = None, set()
        async for output in start:
            portal_id = portal_of(output)
            if portal_id in self.done:
                skipped.add(portal_id)
                continue
            if current is not None and portal_id != current:
                self.walking.add(current)
            current = portal_id
            if not isinstance(output, Request):
                self.start_items[id(output)] = portal_id
            yield output
        if current is not None:
            self.walking.add(current)
        if skipped:
            logging.getLogger(__name__).info("run %s resumed: %d portals done earlier in it are not walked again",
                                             self.run_id, len(skipped))

    def settle(self) -> list[str]:
        """The portals walked to the end since the last call, now done."""
        if self.unattributed:
            return []
        settled = self.walking - self.busy() - self.lost_portals
        self.walking -= settled
        self.done |= settled
        return sorted(settled)

    def busy(self) -> set[str]:
        """The portals with a request queued or in progress, or an item of start() not yet
        stored: the engine holds a request in progress until its items are stored."""
        slot = self.crawler.engine._slot
        busy = {portal_of(request) for request in slot.inprogress} if slot else set()
        busy |= {portal_id for portal_id, queued in self.queued.items() if queued}
        return busy | set(self.start_items.values())

    def lose(self, kind: str, portal_id: str | None) -> None:
        self.crawler.stats.inc_value(LOST + kind)
        if portal_id:
            self.lost_portals.add(portal_id)
        else:
            self.unattributed = True

    def spider_error(self, failure, response, spider):
        request = getattr(response, "request", None)
        self.lose("callback errors", portal_of(request) if request else None)

    def item_error(self, item, response, spider, failure):
        self.lose("items not stored", portal_of(item))

    def item_left(self, item, **kwargs):
        self.start_items.pop(id(item), None)

    def engine_stopped(self):
        logging.getLogger().removeHandler(self.errors)


class EngineErrors(logging.Handler):
    """Errors logged by Scrapy's engine are requests or items lost, and so are the
    exceptions it logs at INFO ("Error while handling downloader output" …); callback
    and item errors are counted through their signals."""

    def __init__(self, frontier: Frontier):
        super().__init__()
        self.frontier = frontier

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg in (SPIDERERRORMSG, ITEMERRORMSG) or not record.name.startswith(ENGINE_LOGGERS):
            return
        if record.levelno < logging.ERROR and not (record.exc_info and record.name.startswith("scrapy.core.")):
            return
        request = record.args.get("request") if isinstance(record.args, dict) else None
        self.frontier.lose("engine errors", portal_of(request) if isinstance(request, Request) else None)


class RunScheduler(Scheduler):
    """Scrapy's scheduler on memory queues whatever JOBDIR says, counting the requests
    it holds per portal for the Frontier."""

    def __init__(self, dupefilter, jobdir=None, **kwargs):
        super().__init__(dupefilter, jobdir=None, **kwargs)

    def open(self, spider):
        self.frontier = self.crawler.get_spider_middleware(Frontier)
        return super().open(spider)

    def enqueue_request(self, request: Request) -> bool:
        scheduled = super().enqueue_request(request)
        if scheduled and self.frontier:
            self.frontier.queued[portal_of(request)] += 1
        return scheduled

    def next_request(self) -> Request | None:
        request = super().next_request()
        if request is not None and self.frontier:
            self.frontier.queued[portal_of(request)] -= 1
        return request
