"""The hub's SQLite settings, on a real SQLite file."""

import pytest
from sqlalchemy import create_engine, text

from swarmspawner_deploy.hubdb import tune_sqlite


def test_every_sqlite_database_opened_afterwards_is_in_wal_mode_with_normal_sync(tmp_path):
    tune_sqlite("NORMAL")
    engine = create_engine(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    engine.dispose()


def test_an_unknown_setting_is_refused():
    with pytest.raises(ValueError, match="NORMAL, FULL"):
        tune_sqlite("OFF")
