"""A duplicate filter that forgets between processes.

With JOBDIR, Scrapy's own filter remembers every request ever scheduled, so a
request that was in flight when the process was killed is never made again and what
it would have found is lost. This one remembers only the current process: a resumed
run walks again the portals not done (crawler/frontier.py), and the archive
(SkipArchivedReports) keeps it from fetching reports it already holds.
"""
from scrapy.dupefilters import RFPDupeFilter


class RunOnlyDupeFilter(RFPDupeFilter):
    @classmethod
    def from_crawler(cls, crawler):
        return cls(None, crawler.settings.getbool("DUPEFILTER_DEBUG"),
                   fingerprinter=crawler.request_fingerprinter)
