"""How MetaAccess pages `devices/status_changed`: numbered pages whose end is a 413.

MetaAccess pages devices by number (`page`, `limit` up to 50) and says where they end
only by refusing a page beyond the last one with 413 ("the requested page number is
too large, no devices will be returned"). Here that 413 is the end of the crawl, not
an error; every other failure is raised as the client mapped it.

Each page holds two lists, monitored and deleted devices, kept apart. `max_devices`
counts both; a page that would pass it is cut, monitored devices first.

Pages are the action's declared request (manifest.yaml) with `page` set; the handler
(actions/metaaccess/devices.py) shapes the crawl into the action's output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from soarpack import errors
from soarpack.http import errormap

if TYPE_CHECKING:
    from soarpack.session import Session

BEYOND_LAST_PAGE = 413
LISTS = ("monitored_devices", "deleted_devices")

Device = dict[str, Any]


@dataclass(frozen=True)
class Page:
    monitored: list[Device]
    deleted: list[Device]

    @property
    def size(self) -> int:
        return len(self.monitored) + len(self.deleted)

    def first(self, count: int) -> Page:
        """The first `count` devices of the page, monitored ones first."""
        monitored = self.monitored[: max(0, count)]
        return Page(monitored, self.deleted[: max(0, count - len(monitored))])


def read_page(session: Session, data: Any, status: int) -> Page:
    """The page in a 200 answer, or MalformedResponseError when it has no device lists."""
    problem = None
    if not isinstance(data, dict) or not set(LISTS) & set(data):
        problem = "has neither monitored_devices nor deleted_devices"
    else:
        problem = next(
            (f"has a {key} that is not a list" for key in LISTS if not _is_list(data.get(key))),
            None,
        )
    if problem is not None:
        last = session.calls[-1] if session.calls else None
        raise errormap.FAILURES["wrong_shape"].build(
            f"The answer to {session.action.name} {problem}.",
            method=last.method if last else None,
            url=last.url if last else None,
            status=status,
        )
    return Page(list(data.get(LISTS[0]) or []), list(data.get(LISTS[1]) or []))


def _is_list(value: Any) -> bool:
    return value is None or isinstance(value, list)


def fetch_page(session: Session, inputs: Mapping[str, Any], number: int) -> Page | None:
    """Page `number` (the declared request with `page` set), or None beyond the last page."""
    try:
        reply = session.send_declared({**inputs, "page": number})
    except errors.InvalidRequestError as error:
        if error.status == BEYOND_LAST_PAGE:
            return None
        raise
    return read_page(session, reply.data, reply.status)


@dataclass
class Crawl:
    """The devices of the pages read, and where the crawl stopped."""

    first_page: int
    monitored: list[Device] = field(default_factory=list)
    deleted: list[Device] = field(default_factory=list)
    last_page: int | None = None
    pages: int = 0
    end_reached: bool = False
    beyond_last_page: bool = False
    truncated: bool = False

    @property
    def count(self) -> int:
        return len(self.monitored) + len(self.deleted)


def crawl(session: Session, inputs: Mapping[str, Any]) -> Crawl:
    """One page, or with `all_pages` every page from `page` on, until the 413 or max_devices."""
    found = Crawl(int(inputs["page"]))
    all_pages = bool(inputs.get("all_pages"))
    cap = int(inputs["max_devices"]) if all_pages else int(inputs["limit"])
    number = found.first_page
    while True:
        page = fetch_page(session, inputs, number)
        if page is None or page.size == 0:
            # A 413 says this page is past the last; an empty page has nothing after it.
            found.end_reached = True
            found.beyond_last_page = page is None and number == found.first_page
            return found
        found.pages, found.last_page = found.pages + 1, number
        kept = page.first(cap - found.count)
        found.monitored += kept.monitored
        found.deleted += kept.deleted
        if found.count >= cap:
            # A full single page, or max_devices reached: more devices may exist.
            found.truncated = True
            return found
        if not all_pages:
            return found
        number += 1
