"""Bad input gets one clear message and a non-zero exit, never a traceback."""
import subprocess

from conftest import BIN, REPO, run_crawl


def nianbao(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "nianbao"), *args], capture_output=True, text=True, cwd=REPO, timeout=120)


def assert_clean_failure(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_registry(tmp_path):
    result = run_crawl(tmp_path / "nope.csv", tmp_path / "a.db")
    assert_clean_failure(result, "registry file not found")


def test_registry_with_a_bad_row(tmp_path):
    registry = tmp_path / "registry.csv"
    registry.write_text("id,name,level,province,homepage,column_urls\nx,某县,galaxy,福建省,http://127.0.0.1:9/,\n",
                        encoding="utf-8")
    assert_clean_failure(run_crawl(registry, tmp_path / "a.db"), "level 'galaxy'")


def test_unknown_portal_id(tmp_path, sample_portals):
    from nianbao.sample_portals.server import write_registry

    registry = tmp_path / "registry.csv"
    write_registry(registry, sample_portals)
    assert_clean_failure(run_crawl(registry, tmp_path / "a.db", "-a", "portal=nowhere"), "unknown portal id")


def test_corrupt_database(tmp_path, sample_portals):
    from nianbao.sample_portals.server import write_registry

    registry = tmp_path / "registry.csv"
    write_registry(registry, sample_portals)
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not sqlite " * 100)
    assert_clean_failure(run_crawl(registry, corrupt), "not a usable SQLite database")
    assert_clean_failure(run_crawl(registry, tmp_path / "missing" / "a.db"), "does not exist")


def test_serve_refuses_what_is_not_an_archive(tmp_path):
    assert_clean_failure(nianbao("serve", str(tmp_path / "none.db")), "no archive at")
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"garbage " * 100)
    assert_clean_failure(nianbao("serve", str(corrupt)), "not a usable SQLite database")


def test_parse_reports_unreadable_files_and_goes_on(tmp_path):
    good = tmp_path / "report.txt"
    good.write_text("平潭综合实验区2019年度政府信息公开工作年度报告\n一、总体情况\n", encoding="utf-8")
    result = nianbao("parse", str(tmp_path / "missing.pdf"), str(good))
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    assert '"error"' in lines[0] and '"error"' not in lines[1]
    assert "Traceback" not in result.stderr
