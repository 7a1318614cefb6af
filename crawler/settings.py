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

# Loopback addresses (127.0.0.0/8, ::1) are refused like every private address unless
# this is set: the sample portals and the tests serve on 127.0.0.1.
NIANBAO_ALLOW_LOOPBACK = False

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
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
}
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

ITEM_PIPELINES = {
    "crawler.pipelines.ParsePipeline": 300,
    "crawler.pipelines.ArchivePipeline": 800,
}

REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
COMMANDS_MODULE = "crawler.commands"

# Incremental and resumable crawls: reports already archived (same listing title
# and date) are not fetched again; NIANBAO_REFETCH=True fetches everything. The
# duplicate filter forgets between runs so that a crawl resumed from JOBDIR walks
# the listings again instead of losing what was in flight when it was killed.
NIANBAO_REFETCH = False
SPIDER_MIDDLEWARES = {"crawler.middlewares.SkipArchivedReports": 950}
DUPEFILTER_CLASS = "crawler.dupefilter.RunOnlyDupeFilter"
