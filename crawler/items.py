"""What the spider hands on: fetched documents, skipped column items, failures."""
from dataclasses import dataclass, field

from archive.store import Prepared


@dataclass
class DocumentItem:
    """One fetched response: a report's detail page or one of its attachments."""

    url: str
    portal_id: str
    role: str  # "page" or "attachment"
    report_url: str
    content: bytes = field(repr=False)  # Scrapy logs items by repr: never the bytes
    content_type: str = ""
    status: int = 200
    listing_title: str = ""
    listing_date: str = ""
    prepared: Prepared | None = field(default=None, repr=False)
    parse_error: str = ""  # why its parse gave no result (ParsePipeline): a `parse` failure
    # the HTTP exchange for its WARC records (archive/warc.py): protocol, response headers,
    # request method and headers as sent
    http: dict | None = field(default=None, repr=False)


@dataclass
class ReportItem:
    """A report page with the attachments it links to, handed on together so that the
    archive holds a report with all its documents or not at all (resumable crawls)."""

    page: DocumentItem
    attachments: list[DocumentItem] = field(default_factory=list)

    @property
    def documents(self) -> list[DocumentItem]:
        return [self.page, *self.attachments]


@dataclass
class SkippedItem:
    """A column item that is not an annual report, with the reason."""

    url: str
    portal_id: str
    title: str
    reason: str


@dataclass
class FailureItem:
    """A request that failed for good (after retries)."""

    url: str
    portal_id: str
    stage: str
    error: str
