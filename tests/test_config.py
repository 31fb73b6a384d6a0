"""Config precedence, defaults, and clear errors (exit 2) for unknown keys and wrong types."""

from __future__ import annotations

import os
import subprocess

import pytest

from collector import config
from collector.errors import ConfigError
from tests.conftest import REPO, script


def test_defaults_match_the_seed_and_example_file():
    cfg = config.load(REPO / "config.example.toml")
    assert cfg.general.snapshot_interval_minutes == 15
    assert cfg.general.poll_interval_minutes == 5
    assert cfg.general.resolve_interval_minutes == 30
    assert cfg.polymarket.gamma_url == "https://gamma-api.polymarket.com"
    assert cfg.kalshi.base_url.endswith("/trade-api/v2")
    assert not cfg.news.enabled


def test_precedence_flag_then_env_then_home(tmp_path, monkeypatch):
    flag = tmp_path / "flag.toml"
    flag.write_text('[general]\ndb_path = "/x/flag.db"\n')
    env = tmp_path / "env.toml"
    env.write_text('[general]\ndb_path = "/x/env.db"\n')
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("COLLECTOR_CONFIG", str(env))
    assert str(config.load(flag).db_path) == "/x/flag.db"
    assert str(config.load(None).db_path) == "/x/env.db"
    monkeypatch.delenv("COLLECTOR_CONFIG")
    assert config.load(None).source_path == "<defaults>"
    home_cfg = tmp_path / ".config" / "polymaster-collector" / "config.toml"
    home_cfg.parent.mkdir(parents=True)
    home_cfg.write_text('[general]\ndb_path = "~/data/c.db"\n')
    cfg = config.load(None)
    assert cfg.db_path == tmp_path / "data" / "c.db"  # ~ expanded


def test_default_endpoints_are_ipc_beside_the_database(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(f'[general]\ndb_path = "{tmp_path}/a/collector.db"\n')
    cfg = config.load(path)
    assert cfg.sink_endpoint == f"ipc://{tmp_path}/a/sink.ipc"
    assert cfg.scheduler_endpoint == f"ipc://{tmp_path}/a/scheduler.ipc"


def test_fractional_intervals(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[general]\nsnapshot_interval_minutes = 0.25\n")
    assert config.load(path).interval_seconds("snapshot") == 15.0


@pytest.mark.parametrize(
    "text, needle",
    [
        ("[general]\ndb_pth = 'x'\n", "db_pth"),
        ("[polymarket]\nrequests_per_second = 'fast'\n", "requests_per_second"),
        ("[nonsense]\na = 1\n", "nonsense"),
        ("[general]\nsnapshot_interval_minutes = 0\n", "snapshot_interval_minutes"),
        ("[general\n", "invalid TOML"),
        ("[general]\nsnapshot_interval_minutes = nan\n", "snapshot_interval_minutes"),
        ("[general]\npoll_interval_minutes = inf\n", "poll_interval_minutes"),
        ("[zmq]\nack_timeout_seconds = -1\n", "ack_timeout_seconds"),
        ("[zmq]\nmax_unacked_batches = -5\n", "max_unacked_batches"),
        ("[sink]\nmin_free_disk_mb = -1\n", "min_free_disk_mb"),
        ("[polymarket]\npage_size = 0\n", "page_size"),
        ("[kalshi]\nread_timeout_seconds = nan\n", "read_timeout_seconds"),
        ("[scheduler]\nheartbeat_seconds = 0\n", "heartbeat_seconds"),
        ("[export]\nprompt_horizons_days = [1.0, -7.0]\n", "prompt_horizons_days"),
        ("[zmq]\nsink_endpoint = 'tcp://0.0.0.0:5555'\n", "not a loopback"),
        ("[zmq]\nscheduler_endpoint = 'tcp://10.1.2.3:5555'\n", "not a loopback"),
        ("[zmq]\nsink_endpoint = 'tcp://*:5555'\n", "not a loopback"),
        ("[zmq]\nsink_endpoint = 'tcp://127.0.0.1:99999'\n", "bad port"),
        ("[zmq]\nsink_endpoint = 'udp://127.0.0.1:5555'\n", "ipc://"),
    ],
)
def test_bad_config_names_key_and_file(tmp_path, text, needle):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        config.load(path)
    assert needle in str(err.value) and str(path) in str(err.value)


def test_cli_exit_code_2_on_bad_config(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[general]\nunknown_key = 1\n")
    out = subprocess.run([script("sink"), "--config", str(path)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert "unknown_key" in out.stderr and "Error:" in out.stderr


def test_missing_config_file_is_exit_2(tmp_path):
    out = subprocess.run([script("sink"), "--config", str(tmp_path / "nope.toml")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert "not found" in out.stderr


def test_unreadable_config_path_is_exit_2(tmp_path):
    flag = subprocess.run([script("fetcher"), "--config", str(tmp_path), "--platform", "kalshi", "--once", "snapshot"],
                          capture_output=True, text=True, timeout=30)
    assert flag.returncode == 2 and "is a directory" in flag.stderr
    env = subprocess.run([script("fetcher"), "--platform", "kalshi", "--once", "snapshot"], capture_output=True,
                         text=True, timeout=30, env={**os.environ, "COLLECTOR_CONFIG": str(tmp_path)})
    assert env.returncode == 2
    assert "cannot read config file" in env.stderr and str(tmp_path) in env.stderr


@pytest.mark.parametrize("endpoint", ["tcp://127.0.0.1:5555", "tcp://localhost:5555", "tcp://[::1]:5555",
                                      "ipc:///tmp/x/sink.ipc", ""])
def test_loopback_and_ipc_endpoints_are_accepted(tmp_path, endpoint):
    path = tmp_path / "ok.toml"
    path.write_text(f"[zmq]\nsink_endpoint = '{endpoint}'\n")
    assert config.load(path).zmq.sink_endpoint == endpoint
