"""Config and secrets: one per purpose; production refuses anything unsafe, naming the problem."""

from __future__ import annotations

import os

import pytest

from casefeedback.config import Config, ConfigError
from casefeedback.instance import SINGLE_SECRETS, generate_missing_secrets


def env_for(instance, **extra: str) -> dict[str, str]:
    return {"CASEFEEDBACK_INSTANCE": str(instance), **extra}


@pytest.fixture
def provisioned(tmp_path):
    instance = tmp_path / "instance"
    generate_missing_secrets(instance, "provisioned")
    return instance


def test_secrets_are_separate_files_of_mode_0600(provisioned):
    files = sorted(p.name for p in (provisioned / "secrets").glob("*.key"))
    assert len(files) == len(SINGLE_SECRETS) + 1
    for path in (provisioned / "secrets").glob("*.key"):
        assert (path.stat().st_mode & 0o777) == 0o600
    values = {p.read_text().splitlines()[-1] for p in (provisioned / "secrets").glob("*.key")}
    assert len(values) == len(files)  # no two purposes share a key


def test_config_is_frozen(provisioned):
    config = Config.from_environment(env_for(provisioned, CASEFEEDBACK_ENV="production"))
    with pytest.raises(AttributeError):
        config.debug = True  # type: ignore[misc]


def test_production_accepts_provisioned_secrets(provisioned):
    assert Config.from_environment(env_for(provisioned, CASEFEEDBACK_ENV="production")).is_production


def test_production_refuses_a_missing_secret(provisioned):
    (provisioned / "secrets" / "audit-chain.key").unlink()
    with pytest.raises(ConfigError, match=r"the audit-chain secret is missing: put it in .*audit-chain\.key"):
        Config.from_environment(env_for(provisioned, CASEFEEDBACK_ENV="production"))


def test_production_refuses_development_secrets(tmp_path):
    instance = tmp_path / "dev"
    generate_missing_secrets(instance, "development")
    with pytest.raises(ConfigError, match="was generated for development"):
        Config.from_environment(env_for(instance, CASEFEEDBACK_ENV="production"))
    assert not Config.from_environment(env_for(instance)).is_production  # fine in development


def test_production_refuses_secrets_readable_by_others(provisioned):
    path = provisioned / "secrets" / "session.key"
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match=r"session\.key is readable by others \(mode 0644\)"):
        Config.from_environment(env_for(provisioned, CASEFEEDBACK_ENV="production"))


def test_production_refuses_debug(provisioned):
    with pytest.raises(ConfigError, match="debug is on"):
        Config.from_environment(env_for(provisioned, CASEFEEDBACK_ENV="production", CASEFEEDBACK_DEBUG="1"))


@pytest.mark.parametrize("storage", ["memory://", "MEMORY://", "async+memory://"])
def test_production_refuses_rate_limits_kept_in_each_process(provisioned, storage):
    with pytest.raises(ConfigError, match=r"rate limits are kept in each process's memory .* shared redis://"):
        Config.from_environment(env_for(provisioned, CASEFEEDBACK_ENV="production",
                                        CASEFEEDBACK_RATELIMIT_STORAGE=storage))
    assert Config.from_environment(env_for(provisioned, CASEFEEDBACK_RATELIMIT_STORAGE=storage))  # development
    shared = Config.from_environment(env_for(provisioned, CASEFEEDBACK_ENV="production",
                                             CASEFEEDBACK_RATELIMIT_STORAGE="redis://:pw@cache:6379/0"))
    assert shared.ratelimit_storage == "redis://:pw@cache:6379/0" and ":pw@" not in repr(shared)


def test_secrets_from_the_environment(tmp_path):
    keys = {env: os.urandom(n).hex() for _f, env, n in SINGLE_SECRETS.values()}
    environ = env_for(tmp_path / "none", CASEFEEDBACK_ENV="production",
                      CASEFEEDBACK_KEKS=f"k1:{os.urandom(32).hex()}", CASEFEEDBACK_ACTIVE_KEK="k1", **keys)
    config = Config.from_environment(environ)
    assert config.secrets.database.origin == "environment"
    assert config.secrets.database.value.hex() == keys["CASEFEEDBACK_DATABASE_KEY"]


def test_malformed_secret_is_named(provisioned):
    (provisioned / "secrets" / "lookup.key").write_text("not hex at all\n")
    with pytest.raises(ConfigError, match=r"lookup\.key is not hexadecimal"):
        Config.from_environment(env_for(provisioned))


def test_unknown_environment_is_refused(provisioned):
    with pytest.raises(ConfigError, match="CASEFEEDBACK_ENV='staging' is not one of"):
        Config.from_environment(env_for(provisioned, CASEFEEDBACK_ENV="staging"))


def test_secret_reprs_hide_values(provisioned):
    config = Config.from_environment(env_for(provisioned))
    assert config.secrets.database.value.hex() not in repr(config)
