"""The crawl's last step, refreshing coverage and flags: when it fails, the run is
incomplete saying why (one line naming the run), not a run the archive calls finished
while the command prints a nameless "engine errors (1)"; the same command, resumed,
refreshes them and finishes the run."""

from archive.db import open_archive
from conftest import run_crawl
from nianbao.sample_portals.server import write_registry
from archive.db import connect as connect_archive

# a real SQLite fault in the archive: the flags can no longer be rebuilt
FREEZE_FLAGS = ("create trigger frozen_flag_rules before insert on flag_rules "
                "begin select raise(abort, 'flag_rules are frozen'); end")


def test_a_failed_refresh_at_crawl_end_leaves_the_run_incomplete_until_resumed(tmp_path, sample_portals):
    registry = tmp_path / "registry.csv"
    write_registry(registry, sample_portals)
    header, first, *_ = registry.read_text(encoding="utf-8").splitlines()
    registry.write_text(f"{header}\n{first}\n", encoding="utf-8")  # one portal is enough
    db_path = tmp_path / "archive.db"
    db = open_archive(db_path)
    with db.conn:
        db.execute(FREEZE_FLAGS)
    db.close()
    jobdir = tmp_path / "job"

    frozen = run_crawl(registry, db_path, "-s", f"JOBDIR={jobdir}")
    assert frozen.returncode == 1, frozen.stderr[-3000:]
    last = frozen.stderr.strip().splitlines()[-1]
    assert last.startswith("crawl: incomplete: run "), last
    assert "coverage and flags not refreshed" in last and "flag_rules are frozen" in last, last
    assert "engine errors" not in frozen.stderr, frozen.stderr[-3000:]
    with connect_archive(db_path) as conn:
        assert conn.execute("select status from runs").fetchall() == [("incomplete",)]
        assert conn.execute("select count(*) from reports").fetchone()[0] > 0  # what was crawled is kept
        conn.execute("drop trigger frozen_flag_rules")

    resumed = run_crawl(registry, db_path, "-s", f"JOBDIR={jobdir}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    with connect_archive(db_path) as conn:
        assert conn.execute("select status, reason from runs").fetchall() == [("finished", None)]
        assert conn.execute("select count(*) from flag_rules").fetchone()[0] > 0
