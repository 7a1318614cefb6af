"""`scrapy crawl`, refusing bad input with one clear line instead of a traceback.

Before the crawl starts, the spider class checks its -a arguments
(`check_arguments`) and each item pipeline its settings (`check_settings`); either
raises UsageError, which Scrapy prints as `crawl: error: …` and exits with 2.
"""
from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.utils.misc import load_object


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
        super().run(args, opts)
