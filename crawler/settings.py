"""Scrapy settings for `scrapy crawl portals`. Polite by default: these are public
servers of small government bodies."""

BOT_NAME = "nianbao"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Where the archive is written (override with -s NIANBAO_DB=PATH).
NIANBAO_DB = "nianbao.db"
# A page that says who runs the crawl and how to reach them; the spider puts it in
# the User-Agent (-s NIANBAO_CONTACT_URL=https://…).
NIANBAO_CONTACT_URL = "https://github.com/nianbao/nianbao"

# Only http(s) to public addresses is fetched (crawler/policy.py): a request for file:,
# data:, ftp: … or to a private, link-local, loopback, multicast, reserved or unspecified
# address is refused before it connects, and recorded as a `policy` failure. Literal
# addresses are checked by AddressPolicyMiddleware, host names on the address they
# resolve to by the resolver. Loopback addresses (127.0.0.0/8, ::1) are refused like
# every private address unless this is set: the sample portals and the tests serve on
# 127.0.0.1.
NIANBAO_ALLOW_LOOPBACK = False
TWISTED_DNS_RESOLVER = "crawler.resolver.PolicyResolver"

ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
# Items processed in parallel per response: a listing yields a few dozen at most, and
# Scrapy starts this many tasks for every response.
CONCURRENT_ITEMS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 60
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024
DOWNLOAD_WARNSIZE = 16 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
RETRY_BACKOFF_BASE = 2.0  # seconds before the first retry; doubles for each next one
RETRY_BACKOFF_MAX = 60.0
# A 429/503 with Retry-After is retried after that many seconds, up to this cap; a
# longer wait is a `throttle` failure and the crawl moves on.
NIANBAO_RETRY_AFTER_MAX = 180.0
# A request that failed for good is one WARNING line of the spider (URL, stage, reason).
RETRY_GIVE_UP_LOG_LEVEL = "DEBUG"
DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.AddressPolicyMiddleware": 10,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    "crawler.middlewares.RefusedLookupMiddleware": 560,
    # redirect loops and too many redirects are `redirect` failures, not silence
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.RecordedMetaRefreshMiddleware": 580,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.middlewares.RecordedRedirectMiddleware": 600,
}
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy's remote control (Python run over HTTP, its token in a job file in the user's
# profile, left behind by every killed crawl) stays off unless asked for.
REMOTE_CONTROL_ENABLED = False

# ArchivePipeline writes the archive; in a distributed crawl (NIANBAO_REDIS_URL) StreamPipeline
# instead writes raw responses to the worker's WARC files (NIANBAO_WARC_DIR, required) and hands
# the parsed items to `nianbao ingest` through Redis (archive/stream.py, archive/ingest.py)
ITEM_PIPELINES = {
    "crawler.pipelines.ParsePipeline": 300,
    "crawler.pipelines.ArchivePipeline": 800,
    "crawler.pipelines.StreamPipeline": 800,
}
# What one document's parse may use (parsers/workers.py): a worker's address space in MB
# (a worker parsing the largest real reports peaks at ~180 MB, 65 MB of it resident;
# LibreOffice, converting DOC/WPS, inherits the limit) and seconds per document (real
# reports take under 1 s). A parse past either kills its worker: the document is a
# `parse` failure, the crawl goes on.
NIANBAO_PARSE_MEMORY_MB = 2048
NIANBAO_PARSE_TIMEOUT = 180

REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
COMMANDS_MODULE = "crawler.commands"

# Incremental and resumable crawls: reports already archived (same listing title
# and date) are not fetched again; NIANBAO_REFETCH=True fetches everything.
# A run's progress is kept in the archive, portal by portal (crawler/frontier.py), and
# its request queue in memory whatever JOBDIR says (Scrapy's disk queues do not survive
# a kill). JOBDIR, or NIANBAO_RUN=<name>, names the run: the same command resumes it,
# walking again the portals not done; the duplicate filter forgets between processes.
NIANBAO_REFETCH = False
NIANBAO_RUN = ""
SPIDER_MIDDLEWARES = {"crawler.middlewares.SkipArchivedReports": 950, "crawler.budgets.ListingBudgets": 600,
                      "crawler.frontier.Frontier": 50,
                      # too long a URL is refused, and recorded, by AddressPolicyMiddleware
                      "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None}
DUPEFILTER_CLASS = "crawler.dupefilter.RunOnlyDupeFilter"
SCHEDULER = "crawler.frontier.RunScheduler"
# spider.state is not used, and a process killed while writing its file in JOBDIR would
# break every later start
EXTENSIONS = {"scrapy.extensions.spiderstate.SpiderState": None}

# Crawl budgets (crawler/budgets.py): how far one portal's crawl may go. A request beyond
# a budget is not made; the portal's first stop by each budget is a `failures` row (stage
# `budget`), every stopped request counts in its `crawls.budget_hits`, other portals go on.
NIANBAO_WALK_PAGES = 200  # pages of one column's pagination (a 年报 column has a few)
NIANBAO_PORTAL_LISTING_PAGES = 1000  # listing pages of one portal, all its columns together
# hops from the registry's address through discovery and listing pages, beyond a full
# walk; kept instead of Scrapy's DEPTH_LIMIT, which drops requests without a word
NIANBAO_CRAWL_DEPTH = 210
NIANBAO_PORTAL_SECONDS = 4 * 3600  # from the portal's first request; later ones are not made
# Discovery of a column from a homepage (crawler/discovery.py) within those budgets and
# its own: links followed from the homepage, pages fetched per search, links followed
# from one page, columns walked per portal (the 年报 column and its 部门/乡镇 columns)
NIANBAO_DISCOVERY_DEPTH = 4
NIANBAO_DISCOVERY_PAGES = 16
NIANBAO_DISCOVERY_BRANCHES = 3
NIANBAO_DISCOVERY_COLUMNS = 8
# a homepage-only portal's column found by an earlier crawl is where the next starts
# (table `columns`) while it answers; True searches every such portal again
NIANBAO_REDISCOVER = False
# images of a report page's body (crawler/images.py), fetched with its attachments and read
# by OCR (some portals publish the tables as pictures): at most so many a page, so many bytes each
NIANBAO_REPORT_IMAGES = 12
NIANBAO_REPORT_IMAGE_BYTES = 8 * 1024 * 1024
# the time budget is checked by the HTTP(S) download handler, as each request is sent
DOWNLOAD_HANDLERS = {"http": "crawler.budgets.TimeBudgetHandler", "https": "crawler.budgets.TimeBudgetHandler"}

# A crawl shared by several workers (crawler/distributed.py), on one machine or many:
# `nianbao crawl-seed` queues the registry's portals once in Redis, then any number of
# `scrapy crawl portals -s NIANBAO_REDIS_URL=redis://…` lease portals from the queue and
# publish what they fetched to the stream `{prefix}:items`, which `nianbao ingest` writes
# to the archive. Empty: the crawl of one process into NIANBAO_DB, as always. Workers
# need NIANBAO_WARC_DIR (their own WARC files) and never open the archive.
NIANBAO_REDIS_URL = ""
NIANBAO_REDIS_PREFIX = "nianbao"  # of every key of the run: run, queue, leases, items …
# A worker holds a portal's lease while it walks it, renewing it every third of this;
# the portals of a worker killed outright go back to the queue once it expires.
NIANBAO_LEASE_SECONDS = 120
NIANBAO_WORKER_PORTALS = 16  # portals one worker walks at a time (CONCURRENT_REQUESTS' worth)
# requests in flight per host across all workers (tokens in Redis, each given back when
# its answer is in, or DOWNLOAD_TIMEOUT + 5 s after a worker died holding it)
NIANBAO_HOST_CONCURRENCY = 2
