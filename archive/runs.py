"""A crawl run's progress, kept in the archive itself (tables `runs`, `run_portals`).

A run may take several processes: one killed outright leaves the archive consistent
(each write is a transaction) and its run's portals either `done` or `pending`; the
next process of the same run walks the pending ones again, the archive's incremental
skip keeping it from fetching the reports already held. A run is `incomplete`, with a
reason, from its start until a process ends it with every portal done and nothing lost.
"""
import sqlite_utils

from archive.store import now


def start_run(db: sqlite_utils.Database, run_id: str, portal_ids: list[str]) -> set[str]:
    """Open (or reopen) run `run_id` for `portal_ids`; return those already done in it."""
    db.conn.execute(
        """insert into runs (id, started_at, status, reason, processes) values (?, ?, 'incomplete', 'running', 1)
           on conflict (id) do update set status = 'incomplete', reason = 'running', finished_at = null,
           processes = processes + 1""", [run_id, now()])
    db.conn.executemany("insert or ignore into run_portals (run_id, portal_id, status) values (?, ?, 'pending')",
                        [(run_id, portal_id) for portal_id in portal_ids])
    return {portal_id for (portal_id,) in db.execute(
        "select portal_id from run_portals where run_id = ? and status = 'done'", [run_id])}


def portal_done(db: sqlite_utils.Database, run_id: str, portal_id: str, crawl_id: int | None) -> None:
    db.conn.execute("update run_portals set status = 'done', done_at = ?, crawl_id = ? "
                    "where run_id = ? and portal_id = ?", [now(), crawl_id, run_id, portal_id])


def end_run(db: sqlite_utils.Database, run_id: str, lost: str) -> tuple[str, str]:
    """Record how the run's process ended: `lost` says what it lost or why it stopped
    (empty if nothing). The run is finished only with nothing lost and every portal
    done; return its status and the reason if incomplete."""
    pending = db.execute("select count(*) from run_portals where run_id = ? and status != 'done'",
                         [run_id]).fetchone()[0]
    reason = lost or (f"{pending} portals not done" if pending else "")
    status = "incomplete" if reason else "finished"
    db.conn.execute("update runs set status = ?, reason = ?, finished_at = ? where id = ?",
                    [status, reason or None, now(), run_id])
    return status, reason
