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


def test_the_database_url_gets_its_password_and_the_images_driver():
    from swarmspawner_deploy.hubdb import sqlalchemy_url

    assert sqlalchemy_url("sqlite:////srv/jupyterhub/data/jupyterhub.sqlite") == \
        "sqlite:////srv/jupyterhub/data/jupyterhub.sqlite"
    assert sqlalchemy_url("postgresql://jupyterhub@db:5432/jupyterhub", "p@ss/word") == \
        "postgresql+psycopg2://jupyterhub:p%40ss%2Fword@db:5432/jupyterhub"
    assert sqlalchemy_url("postgresql+psycopg://hub@db.example.org/hub") == \
        "postgresql+psycopg://hub@db.example.org/hub"
