"""The Scrapy project: walks portals' 年报 columns and hands documents to the archive."""
