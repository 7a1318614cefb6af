"""Middlewares: incremental crawls skip reports the archive already holds; only what
the address policy allows is fetched; retries back off and honour Retry-After;
redirect loops are failures, not silence."""
import asyncio
import time
from email.utils import parsedate_to_datetime

import redis
import scrapy
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.error import DNSLookupError
from w3lib.url import canonicalize_url

from archive.db import open_archive
from archive.ingest import mirrored_reports
from archive.store import archived_reports
from crawler.policy import PolicyRefused, scheme_refusal, url_refusal
from crawler.resolver import REFUSED
from crawler.stats import count


class SkipArchivedReports:
    """Drop requests for report pages archived with the same listing title and date.

    A report whose title or date in the listing changed is fetched again. Set
    NIANBAO_REFETCH=True to fetch everything. Every report request, skipped or not, is
    noted in `listed` (portal → URLs): a complete walk tells the archive which of the
    portal's reports are no longer listed (archive/revisions.py). A distributed crawl's
    worker (NIANBAO_REDIS_URL) reads the archived reports from the ingest's mirror in
    Redis (archive/ingest.py), not from the archive.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        self.archived = {}
        self.listed: dict[str, set[str]] = {}
        if crawler.settings.getbool("NIANBAO_REFETCH"):
            return
        if crawler.settings.get("NIANBAO_REDIS_URL"):  # a distributed crawl's worker: the ingest's mirror
            self.archived = mirrored_reports(redis.Redis.from_url(crawler.settings.get("NIANBAO_REDIS_URL")),
                                             crawler.settings.get("NIANBAO_REDIS_PREFIX") or "nianbao")
        else:
            db = open_archive(crawler.settings.get("NIANBAO_DB"))
            self.archived = archived_reports(db)
            db.close()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_spider_output(self, response, result):
        async for output in result:
            if isinstance(output, scrapy.Request) and output.meta.get("nianbao_role") == "report":
                self.listed.setdefault(output.cb_kwargs.get("portal_id", ""), set()).add(output.url)
            if isinstance(output, scrapy.Request) and self.unchanged(output):
                count(self.crawler.stats, output.cb_kwargs.get("portal_id", ""), "reports_unchanged")
                continue
            yield output

    def unchanged(self, request: scrapy.Request) -> bool:
        if request.meta.get("nianbao_role") != "report" or request.url not in self.archived:
            return False
        listed = (request.cb_kwargs.get("title", ""), request.cb_kwargs.get("date", ""))
        return self.archived[request.url] == listed


class AddressPolicyMiddleware:
    """First of the downloader middlewares: a request whose scheme or literal address
    the policy (crawler.policy) refuses goes no further, not even to robots.txt."""

    def __init__(self, allow_loopback: bool, max_url_length: int):
        self.allow_loopback = allow_loopback
        self.max_url_length = max_url_length

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.getbool("NIANBAO_ALLOW_LOOPBACK"), crawler.settings.getint("URLLENGTH_LIMIT"))

    def process_request(self, request):
        reason = url_refusal(request.url, self.allow_loopback)
        if not reason and self.max_url_length and len(request.url) > self.max_url_length:
            # here rather than Scrapy's UrlLengthMiddleware, which drops it with an INFO line
            reason = f"URL of {len(request.url)} characters refused (URLLENGTH_LIMIT {self.max_url_length})"
        if reason:
            raise PolicyRefused(reason)


class RefusedLookupMiddleware:
    """Placed after the retries (nearer the downloader): a host name the resolver
    refused (crawler.resolver) fails for good with the refusal's reason instead of an
    anonymous DNS error that would be retried."""

    def process_exception(self, request, exception):
        if isinstance(exception, (CannotResolveHostError, DNSLookupError)):
            reason = REFUSED.get((urlparse_cached(request).hostname or "").lower())
            if reason:
                raise PolicyRefused(reason)


REDIRECT_STATUSES = (301, 302, 303, 307, 308)


class RedirectRefused(IgnoreRequest):
    stage = "redirect"


class ThrottleRefused(IgnoreRequest):
    stage = "throttle"


class LoopCheck:
    """A redirect back to an address of its own chain is a loop: without this the
    duplicate filter drops it and the document is lost without a word. More than
    REDIRECT_MAX_TIMES redirects is a `redirect` failure too, with its reason."""

    def _redirect(self, redirected, request, reason):
        chain = [*request.meta.get("redirect_urls", []), request.url]
        seen = [canonicalize_url(url) for url in chain]
        if canonicalize_url(redirected.url) in seen:
            loop = chain[seen.index(canonicalize_url(redirected.url)):]
            raise RedirectRefused(f"redirect loop: {' -> '.join(loop)} -> {redirected.url}")
        try:
            return super()._redirect(redirected, request, reason)
        except IgnoreRequest:
            raise RedirectRefused(f"more than {self.max_redirect_times} redirects from {chain[0]}") from None


class RecordedRedirectMiddleware(LoopCheck, RedirectMiddleware):
    def process_response(self, request, response):
        """Scrapy passes a redirect to ftp:, data:, file: … on as the 3xx response
        itself (an "HTTP 302" failure); it is recorded as the policy refusal it is."""
        result = super().process_response(request, response)
        location = response.headers.get("Location")
        if (result is response and location and response.status in REDIRECT_STATUSES
                and not request.meta.get("dont_redirect")):
            reason = scheme_refusal(response.urljoin(location.decode("latin-1")))
            if reason:
                raise PolicyRefused(f"redirect to {reason}")
        return result


class RecordedMetaRefreshMiddleware(LoopCheck, MetaRefreshMiddleware):
    pass


def retry_after(response, now: float | None = None) -> float | None:
    """Seconds the server asks us to wait (Retry-After: seconds or an HTTP date), or None."""
    value = (response.headers.get("Retry-After") or b"").decode("latin-1").strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, moment - (time.time() if now is None else now))


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries, each after a pause that doubles (RETRY_BACKOFF_BASE seconds,
    then twice that, … at most RETRY_BACKOFF_MAX): a struggling government server gets
    time to recover instead of three quick hits. A 429 or 503 with Retry-After waits at
    least that long, up to NIANBAO_RETRY_AFTER_MAX seconds; a longer wait is not
    awaited (the pause would hold a download slot): the request fails as `throttle`."""

    def __init__(self, settings):
        super().__init__(settings)
        self.base = settings.getfloat("RETRY_BACKOFF_BASE")
        self.most = settings.getfloat("RETRY_BACKOFF_MAX")
        self.retry_after_max = settings.getfloat("NIANBAO_RETRY_AFTER_MAX")

    async def pause(self, result, at_least: float = 0.0):
        if isinstance(result, scrapy.Request):
            await asyncio.sleep(max(at_least, min(self.most, self.base * 2 ** (result.meta["retry_times"] - 1))))
        return result

    async def process_response(self, request, response):
        wait = retry_after(response) if response.status in (429, 503) else None
        if wait is not None and wait > self.retry_after_max and not request.meta.get("dont_retry"):
            raise ThrottleRefused(f"HTTP {response.status} with Retry-After {wait:.0f} s, beyond the "
                                  f"{self.retry_after_max:.0f} s cap (NIANBAO_RETRY_AFTER_MAX)")
        return await self.pause(super().process_response(request, response), wait or 0.0)

    async def process_exception(self, request, exception):
        return await self.pause(super().process_exception(request, exception))
