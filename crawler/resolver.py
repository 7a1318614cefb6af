"""The crawl's DNS resolver (TWISTED_DNS_RESOLVER): Scrapy's caching resolver, whose
answer is checked against the address policy before anything connects to it.

The check is on the address the connection is about to use, every time, cached or
not: a name that resolves to 10.0.0.1, or re-binds to it after a first public answer,
is refused. Twisted reports a failed lookup as a bare "couldn't find the hostname";
the reason of a refusal is kept in REFUSED for RefusedLookupMiddleware to record."""
from twisted.internet.error import DNSLookupError

from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.datatypes import LocalCache

from crawler.policy import address_refusal

# host name (lowercase) -> why its address was refused
REFUSED: LocalCache[str, str] = LocalCache(10000)


class PolicyResolver(CachingThreadedResolver):
    def __init__(self, reactor, cache_size: int, timeout: float, allow_loopback: bool = False):
        super().__init__(reactor, cache_size, timeout)
        self.allow_loopback = allow_loopback

    @classmethod
    def from_crawler(cls, crawler, reactor):
        resolver = super().from_crawler(crawler, reactor)
        resolver.allow_loopback = crawler.settings.getbool("NIANBAO_ALLOW_LOOPBACK")
        return resolver

    def getHostByName(self, name: str, timeout=()):
        return super().getHostByName(name, timeout).addCallback(self.checked, name)

    def checked(self, address: str, name: str) -> str:
        reason = address_refusal(address, self.allow_loopback)
        if reason:
            REFUSED[name.lower()] = f"{name} resolves to a refused address: {reason}"
            raise DNSLookupError(REFUSED[name.lower()])
        REFUSED.pop(name.lower(), None)
        return address
