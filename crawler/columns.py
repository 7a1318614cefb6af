"""The columns a crawl found from homepages: what the spider hands on about them, and
the state of one portal's search for its column."""
from dataclasses import dataclass, field

from archive import columns


@dataclass
class ColumnItem:
    """A column of a portal that answered (`error` empty) or failed for good."""

    portal_id: str
    url: str
    found_via: str  # the link texts from the homepage, or `cached`
    error: str = ""


def record_column(db, item: ColumnItem) -> None:
    if item.error:
        columns.column_failed(db, portal_id=item.portal_id, url=item.url, error=item.error)
    else:
        columns.column_answered(db, portal_id=item.portal_id, url=item.url, found_via=item.found_via)


@dataclass
class Search:
    """One portal's search for its column, from the homepage: the pages asked for and
    still awaited, and what was reached. Ends when nothing is awaited."""

    homepage: str
    pending: int = 0
    pages: int = 0
    seen: set[str] = field(default_factory=set)
    found: bool = False  # a column was asked for
    platform: bool = False  # a page reached through a 政府信息公开 link answered
    unreachable: bool = False  # the homepage failed
    cut: bool = False  # a link not followed for the budget
