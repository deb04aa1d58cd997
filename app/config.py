"""Settings, read once from the environment (SPEC §5)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import msgspec

from app.face.engine import ACTIONS, Action
from app.face.match import DEFAULT_MATCH_THRESHOLD

Env = Literal["dev", "test", "prod"]

DEV_ADMIN_TOKEN = "dev-admin-token"  # noqa: S105 - documented development default
_MIN_SECRET_LENGTH = 32
_LOOSEST_MATCH_THRESHOLD = 0.6  # face_recognition's own default, already too loose (SPEC §6)
_MIN_TEST_ACTIONS, _MAX_TEST_ACTIONS = 2, 3  # as many as a drawn challenge has


class ConfigError(Exception):
    """The environment does not describe a service that may start."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str = "sqlite:///ecard.db"
    database_pool_size: int = 10  # PostgreSQL: connections per server process
    env: Env = "dev"
    admin_token: str = DEV_ADMIN_TOKEN
    keys_dir: Path = Path("keys")
    issuer: str = "http://127.0.0.1:8000"
    face_workers: int = 0  # 0 = one worker per core; shared among the server processes
    server_workers: int = 1  # server processes on this host (`ecard serve --workers N` sets it)
    face_match_threshold: float = DEFAULT_MATCH_THRESHOLD  # chosen from measured distances
    face_audit_frames: bool = False
    sweep_interval_seconds: float = 3600.0
    sms_sender: str = ""  # module:factory of a carrier gateway; empty = the dev outbox
    sms_per_minute: int = 600  # codes sent per minute by the whole service: the carrier budget
    # Browser tests only (ECARD_ENV=test): every face session challenges these actions in this
    # order, since a fake camera can only replay a recording made in advance. Refused elsewhere.
    test_face_actions: tuple[Action, ...] = ()

    @property
    def face_pool_size(self) -> int:
        """Face workers of one server process: this host's share (ECARD_FACE_WORKERS, or one per
        core) divided among its server processes, at least one each."""
        total = self.face_workers or os.cpu_count() or 1
        return max(1, total // self.server_workers)

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))

    @property
    def sqlite_path(self) -> Path:
        """Path of the SQLite file named by `database_url`."""
        prefix = "sqlite:///"
        if not self.database_url.startswith(prefix):
            raise ConfigError(f"not an SQLite URL: {self.database_url!r}")
        return Path(self.database_url[len(prefix) :])

    def check(self) -> None:
        """Refuse settings that cannot work, and those that would be unsafe in production."""
        if not 0.0 < self.face_match_threshold <= _LOOSEST_MATCH_THRESHOLD:
            raise ConfigError(
                f"ECARD_FACE_MATCH_THRESHOLD must be in (0, {_LOOSEST_MATCH_THRESHOLD}]: a larger "
                "distance accepts too many impostors for identity proofing"
            )
        if self.face_workers < 0:
            raise ConfigError("ECARD_FACE_WORKERS must be 0 (one per core) or more")
        if not self.database_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ConfigError("ECARD_DATABASE_URL must be sqlite:///PATH or postgresql://…")
        if self.database_pool_size < 1:
            raise ConfigError("ECARD_DATABASE_POOL_SIZE must be 1 or more")
        if self.server_workers < 1:
            raise ConfigError("ECARD_SERVER_WORKERS must be 1 or more")
        if self.sms_per_minute < 1:
            raise ConfigError("ECARD_SMS_PER_MINUTE must be 1 or more")
        self._check_test_face_actions()
        if self.env != "prod":
            return
        if self.admin_token == DEV_ADMIN_TOKEN or len(self.admin_token) < _MIN_SECRET_LENGTH:
            raise ConfigError(
                f"ECARD_ADMIN_TOKEN must be set to a secret of at least {_MIN_SECRET_LENGTH} "
                "characters when ECARD_ENV=prod"
            )
        if not self.sms_sender:
            raise ConfigError("ECARD_SMS_SENDER must name a real SMS gateway when ECARD_ENV=prod")
        if not self.issuer.startswith("https://"):
            raise ConfigError("ECARD_ISSUER must be an https:// URL when ECARD_ENV=prod")


    def _check_test_face_actions(self) -> None:
        """A fixed challenge makes face verification replayable: only a test service may have one."""
        if not self.test_face_actions:
            return
        if self.env != "test":
            raise ConfigError(
                "ECARD_TEST_FACE_ACTIONS fixes the face challenge, so a recording passes it: it is "
                f"for browser tests and refused unless ECARD_ENV=test (ECARD_ENV is {self.env})"
            )
        actions = self.test_face_actions
        if not _MIN_TEST_ACTIONS <= len(actions) <= _MAX_TEST_ACTIONS or len(set(actions)) != len(actions):
            raise ConfigError(
                f"ECARD_TEST_FACE_ACTIONS must name {_MIN_TEST_ACTIONS} or {_MAX_TEST_ACTIONS} distinct "
                f"actions of {', '.join(ACTIONS)}, as a drawn challenge does"
            )


def _decode(kind: type, value: object) -> object:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(f"cannot read {kind} from the environment")


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from `ECARD_*` variables; unknown values raise ConfigError."""
    env = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    names = {
        "ECARD_DATABASE_URL": "database_url",
        "ECARD_DATABASE_POOL_SIZE": "database_pool_size",
        "ECARD_ENV": "env",
        "ECARD_ADMIN_TOKEN": "admin_token",
        "ECARD_KEYS_DIR": "keys_dir",
        "ECARD_ISSUER": "issuer",
        "ECARD_FACE_WORKERS": "face_workers",
        "ECARD_SERVER_WORKERS": "server_workers",
        "ECARD_FACE_MATCH_THRESHOLD": "face_match_threshold",
        "ECARD_FACE_AUDIT_FRAMES": "face_audit_frames",
        "ECARD_SWEEP_INTERVAL_SECONDS": "sweep_interval_seconds",
        "ECARD_SMS_SENDER": "sms_sender",
        "ECARD_SMS_PER_MINUTE": "sms_per_minute",
        "ECARD_TEST_FACE_ACTIONS": "test_face_actions",
    }
    for variable, field in names.items():
        if variable in env:
            raw[field] = env[variable]
    if "test_face_actions" in raw:  # a comma-separated list: blink,turn_left
        raw["test_face_actions"] = [a.strip() for a in str(raw["test_face_actions"]).split(",") if a.strip()]
    try:
        settings = msgspec.convert(raw, Settings, strict=False, dec_hook=_decode)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"invalid setting: {exc}") from exc
    settings.check()
    return settings
