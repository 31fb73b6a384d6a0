"""supervisord.conf, supervisord.demo.conf and the systemd unit, read by supervisor's own parser.

Fast checks of what the configs promise (restart policy, log rotation, start order, the socket
`collector status` looks for); the end-to-end runs are in test_supervisord.py.
"""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from supervisor.datatypes import RestartUnconditionally
from supervisor.options import ServerOptions

from collector import status

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = ("sink", "scheduler", "fetcher-polymarket", "fetcher-kalshi", "fetcher-news")


def realize(conf: Path, monkeypatch, tmp_path) -> ServerOptions:
    monkeypatch.setenv("COLLECTOR_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("COLLECTOR_DATA", str(tmp_path))
    options = ServerOptions()
    options.realize(args=["-c", str(conf)])
    return options


@pytest.mark.parametrize("name", ["supervisord.conf", "supervisord.demo.conf"])
def test_programs_have_a_deliberate_restart_and_log_policy(name, monkeypatch, tmp_path):
    # A copy, so %(here)s is tmp_path and the demo's data directory can exist without touching the repo.
    here = tmp_path / "repo"
    (here / "demo-data").mkdir(parents=True)
    (here / name).write_text((ROOT / name).read_text())
    options = realize(here / name, monkeypatch, tmp_path)
    programs = {g.name: g.process_configs[0] for g in options.process_group_configs}
    expected = set(PIPELINE) - ({"fetcher-news"} if "demo" in name else set())
    assert expected <= set(programs)
    for pname, p in programs.items():
        assert p.autorestart is RestartUnconditionally, pname
        assert p.startsecs >= 2 and p.startretries >= 5, pname
        assert p.stopsignal == 15 and p.stopasgroup and p.killasgroup, pname
        assert p.redirect_stderr and p.stdout_logfile_maxbytes > 0 and p.stdout_logfile_backups > 0, pname
        assert p.command.split()[0].endswith(f"/.venv/bin/{pname.split('-')[0]}") or pname == "simulator", pname
        assert p.directory == str(here)
    assert programs["sink"].stopwaitsecs >= 60  # time to commit the last batch
    assert programs["sink"].priority < programs["scheduler"].priority < programs["fetcher-kalshi"].priority
    if "fetcher-news" in programs:
        assert programs["fetcher-news"].autostart is False
    assert options.serverurl.startswith("unix://") and options.serverurl.endswith("/supervisor.sock")


def test_socket_is_where_collector_status_looks(monkeypatch, tmp_path):
    options = realize(ROOT / "supervisord.conf", monkeypatch, tmp_path)
    assert options.serverurl == f"unix://{tmp_path / status.SUPERVISOR_SOCKET}"
    assert Path(options.logfile).parent == tmp_path and Path(options.pidfile).parent == tmp_path
    assert "--config" in options.process_group_configs[0].process_configs[0].command


def test_demo_config_points_at_the_simulator_only():
    from collector import config

    cfg = config.load(ROOT / "demo" / "config.demo.toml")
    for url in (cfg.polymarket.base_url, cfg.polymarket.gamma_url, cfg.kalshi.base_url):
        assert url.startswith("http://127.0.0.1:18790/")
    assert str(cfg.data_dir) == "demo-data" and cfg.db_path.parent == cfg.data_dir
    demo = (ROOT / "supervisord.demo.conf").read_text()
    assert "--port 18790" in demo and "%(here)s/demo-data/supervisor.sock" in demo


def test_systemd_unit_runs_supervisord_in_the_foreground():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(ROOT / "systemd" / "polymaster-collector.service")
    service = unit["Service"]
    assert "/.venv/bin/supervisord -n -c " in service["ExecStart"]
    assert service["ExecStart"].endswith("/supervisord.conf")
    assert service["KillMode"] == "mixed"  # SIGTERM to supervisord only: it stops programs in order
    assert int(service["TimeoutStopSec"]) >= 120 + 75 + 15
    assert service["Restart"] == "always"
