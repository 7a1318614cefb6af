"""The fault portal (nianbao/sample_portals/faults.json): a real crawl over loopback in
which every injected fault leaves its record, and nothing is lost, doubled or read from
this machine. benchmarks/faults.py runs the same crawl beside the sample portals and
prints the figures."""
import pytest

from conftest import run_crawl
from nianbao.sample_portals.faults import FAULTS, FaultPortal, assess


@pytest.fixture(scope="module")
def fault_crawl(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    portal = FaultPortal()
    registry, db = folder / "registry.csv", folder / "archive.db"
    registry.write_text("id,name,level,province,division_code,homepage,column_urls,cms,evidence,notes\n",
                        encoding="utf-8")
    portal.append_registry(registry)
    result = run_crawl(registry, db, "-s", "DOWNLOAD_TIMEOUT=2", "-s", "RETRY_BACKOFF_BASE=0.1",
                       "-s", "ROBOTSTXT_OBEY=False")
    yield result, assess(db, portal, [], ""), portal
    portal.stop()


def test_the_crawl_of_the_fault_portal_ends_and_says_so(fault_crawl):
    result, _, _ = fault_crawl
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.parametrize("fault", [case["fault"] for case in FAULTS["faults"]])
def test_every_fault_leaves_its_record(fault_crawl, fault):
    result, assessment, _ = fault_crawl
    case = next(case for case in assessment["cases"] if case["fault"] == fault)
    assert case["recorded"], (case, result.stderr[-2000:])


def test_nothing_lost_doubled_or_fetched_locally(fault_crawl):
    result, assessment, portal = fault_crawl
    figures = assessment["figures"]
    assert figures["reports lost"] == 0, assessment["lost"]
    assert figures["duplicates"] == 0, assessment["unexpected"]
    assert figures["local or private fetches"] == 0, portal.decoy_hits


def test_no_log_line_carries_a_document(fault_crawl):
    result, _, _ = fault_crawl
    longest = max(result.stderr.splitlines(), key=len, default="")
    assert len(longest) < 2000, longest[:300]
