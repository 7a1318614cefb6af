"""`scrapy crawl`, refusing bad input with one clear line instead of a traceback, and
never saying a crawl finished when it lost anything.

Before the crawl starts, the spider class checks its -a arguments
(`check_arguments`) and each item pipeline its settings (`check_settings`); either
raises UsageError, which Scrapy prints as `crawl: error: …` and exits with 2.

Scrapy logs "Spider closed (finished)" and exits 0 whatever was lost on the way. After
the crawl, the run's status (recorded in the archive by ArchivePipeline, or worked out
from the stats the Frontier keeps) decides: an incomplete run is one line on stderr,
`crawl: incomplete: …`, and exit status 1.
"""
import sys

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.utils.misc import load_object

from crawler.frontier import incomplete_reason

INCOMPLETE = 1  # exit status of a crawl that lost anything or was interrupted


class Command(ScrapyCrawl):
    def run(self, args, opts):
        if len(args) == 1:
            spidercls = self.crawler_process.spider_loader.load(args[0])
            if hasattr(spidercls, "check_arguments"):
                spidercls.check_arguments(**opts.spargs)
            for path in self.settings.getwithbase("ITEM_PIPELINES"):
                pipeline = load_object(path)
                if hasattr(pipeline, "check_settings"):
                    pipeline.check_settings(self.settings)
        self.crawlers = []
        super().run(args, opts)
        for crawler in self.crawlers:
            reason = run_incomplete(crawler.stats)
            if reason and not self.exitcode:
                print(f"crawl: incomplete: {reason}", file=sys.stderr)
                self.exitcode = INCOMPLETE

    def _create_crawler(self, spidercls):
        crawler = super()._create_crawler(spidercls)
        self.crawlers.append(crawler)
        return crawler


def run_incomplete(stats) -> str:
    """Why the crawl is incomplete, in one line (empty if it finished with nothing lost)."""
    reason = (stats.get_value("nianbao/run_reason") if stats.get_value("nianbao/run_status") == "incomplete"
              else incomplete_reason(stats, stats.get_value("finish_reason", "")))
    run = stats.get_value("nianbao/run")
    return f"run {run}: {reason}" if reason and run else reason
