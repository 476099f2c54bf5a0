"""Configuration: every documented key loads; bad inputs give one clear line (and exit 2 from the CLI)."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from chatbot.config import ConfigError, Settings, load_desk
from tests.cli import clean_env

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "chatbot.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "desk.toml"
    path.write_text(text)
    return path


def test_example_loads_every_documented_key() -> None:
    desk = load_desk(EXAMPLE)
    assert [m.name for m in desk.members] == ["alice", "bob", "carol", "dave"]
    assert desk.members[2].max_leverage == Decimal("3")
    assert desk.paper.prices == {"BTCUSDT": Decimal("35000"), "ETHUSDT": Decimal("2000")}
    assert desk.paper.cross == {"USDT": Decimal("20000")}
    assert desk.paper.taker_fee == Decimal("0.001") and isinstance(desk.paper.taker_fee, Decimal)
    assert desk.paper.max_leverage == 3 and desk.paper.clock == "realtime"
    assert desk.policy.approval_notional_usdt == Decimal("50000")
    assert desk.alerts.warn_level == Decimal("1.5")
    assert desk.channels[0].kinds["margin"] == "on"


def test_issue_schema_example(tmp_path: Path) -> None:
    desk = load_desk(write(tmp_path, '''
[[members]]
name = "alice"
role = "trader"
telegram_id = 1001
discord_id = 2001
[paper]
start_time = "2024-01-01T00:00:00Z"
clock = "manual"
price_feed = "static"
taker_fee = "0.001"
maker_fee = "0.001"
max_leverage = 3
[paper.prices]
BTCUSDT = "35000"
[paper.daily_interest_rates]
BTC = "0.00024"
USDT = "0.00024"
[paper.cross]
USDT = "20000"
'''))
    assert desk.paper.start_time.isoformat() == "2024-01-01T00:00:00+00:00"
    assert desk.paper.daily_interest_rates["BTC"] == Decimal("0.00024")


@pytest.mark.parametrize(("text", "expected"), [
    ('[[members]]\nname = "x"\nrole = "boss"\n', "members.0.role"),
    ('[paper]\ntaker_fee = 0.001\n', "paper.taker_fee: amounts must be quoted strings"),
    ('[[members]]\nname = "a"\nrole = "admin"\ntelegram_id = 1\n[[members]]\nname = "b"\nrole = "viewer"\n'
     'telegram_id = 1\n', "duplicate member telegram_id 1"),
    ('[paper]\nmax_leverage = 7\n', "paper.max_leverage"),
    ('[paper.prices]\nBTCUSDT = "1e5"\n', "paper.prices.BTCUSDT"),
    ('[paper]\nstart_time = "2024-01-01T00:00:00"\n', "timezone"),
    ('[policy]\nconfirm_ttl_seconds = -1\n', "policy.confirm_ttl_seconds"),
    ('[unknown]\nx = 1\n', "unknown: unknown key"),
    ('members = [', "not valid TOML"),
])
def test_bad_input_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_desk(write(tmp_path, text))
    message = str(exc.value)
    assert expected in message
    assert "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_desk(tmp_path / "nope.toml")


def test_settings_from_env_and_secrets_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATBOT_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("CHATBOT_EXCHANGE", "binance")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:SENTINEL-telegram-token-xyz")
    monkeypatch.setenv("BINANCE_API_SECRET", "SENTINEL-binance-secret")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    shown = settings.effective()
    assert shown["CHATBOT_EXCHANGE"] == "binance"
    assert shown["TELEGRAM_BOT_TOKEN"] == "***" and shown["BINANCE_API_SECRET"] == "***"
    assert "SENTINEL" not in repr(settings) and "SENTINEL" not in str(shown)
    assert set(settings.secrets()) == {"123456:SENTINEL-telegram-token-xyz", "SENTINEL-binance-secret"}


def run_cli(tmp_path: Path, *args: str, toml: str | None = None, extra_env: dict[str, str] | None = None,
            ) -> subprocess.CompletedProcess[str]:
    env = clean_env(CHATBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}")
    if toml is not None:
        env["CHATBOT_CONFIG"] = str(write(tmp_path, toml))
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-m", "chatbot.cli", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)


def test_cli_malformed_toml_is_one_line_exit_2(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "config", "check", toml='[paper]\ntaker_fee = 0.001\n')
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "paper.taker_fee" in result.stderr and "Traceback" not in result.stderr


def test_cli_config_check_masks_secrets(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "config", "check", toml=EXAMPLE.read_text(),
                     extra_env={"TELEGRAM_BOT_TOKEN": "999:SENTINELTOKENVALUE"})
    assert result.returncode == 0, result.stderr
    assert "SENTINELTOKENVALUE" not in result.stdout + result.stderr
    assert "TELEGRAM_BOT_TOKEN" in result.stdout and "***" in result.stdout


def test_cli_db_upgrade_and_current(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "db", "upgrade").returncode == 0
    current = run_cli(tmp_path, "db", "current")
    assert current.returncode == 0
    head = current.stdout.split("head:")[1].strip()
    assert f"current: {head}" in current.stdout


def test_cli_help_everywhere(tmp_path: Path) -> None:
    for args in (["--help"], ["run", "--help"], ["console", "--help"], ["db", "upgrade", "--help"],
                 ["config", "check", "--help"], ["audit", "verify", "--help"]):
        result = run_cli(tmp_path, *args)
        assert result.returncode == 0 and "Usage" in result.stdout, args


def test_a_paper_database_refuses_live_and_a_live_one_refuses_paper(sqlite_url: str) -> None:
    from chatbot.config import ConfigError
    from chatbot.store import migrate
    from chatbot.store.db import make_engine
    from chatbot.store.mode import claim_database

    migrate.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    claim_database(engine, "paper")
    claim_database(engine, "paper")  # the same exchange again is fine
    with pytest.raises(ConfigError, match="paper and live never share a database"):
        claim_database(engine, "binance")
    engine.dispose()
