"""`ecard keys …`: the signing keys, managed without opening the database."""

from __future__ import annotations

import json

import click

from app.clock import SystemClock, rfc3339
from app.config import ConfigError, load_settings
from app.security.keys import KeyStore
from app.security.vault import DATA_KEY_FILE, load_vault
from app.services import MAX_TOKEN_LIFETIME


def _store() -> KeyStore:
    try:
        return KeyStore(load_settings().keys_dir)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _listing(store: KeyStore) -> list[dict[str, object]]:
    now = SystemClock().now()
    published = {k.kid for k in store.published(now, MAX_TOKEN_LIFETIME)}
    return [
        {"kid": k.kid, "created_at": rfc3339(k.created_at),
         "retired_at": rfc3339(k.retired_at) if k.retired_at else None,
         "active": k.retired_at is None, "published": k.kid in published}
        for k in store.all_keys()
    ]


@click.group()
def keys() -> None:
    """ES256 signing keys (ECARD_KEYS_DIR/signing)."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Create a key that signs from now on; the old public key stays published while tokens it
    signed may still be valid. With no keys yet, this creates the first (as production needs)."""
    store = _store()
    try:
        store.rotate(SystemClock().now())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps({"active": store.active().kid, "keys": _listing(store)}, indent=2))


@keys.command("init-data-key")
def keys_init_data_key() -> None:
    """Create the data key that seals ID numbers and photos at rest (once, before the first start in
    production). It is never replaced: what it sealed cannot be read without it, so back it up."""
    try:
        directory = load_settings().keys_dir
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    path = directory / DATA_KEY_FILE
    if path.exists():
        raise click.ClickException(f"{path} exists; the data key is never replaced")
    load_vault(directory, create=True)
    click.echo(json.dumps({"data_key": str(path)}))


@keys.command("list")
def keys_list() -> None:
    """Every key with its dates and whether it is still published in the JWKS."""
    store = _store()
    if not store.exists():
        raise click.ClickException(f"no signing keys in {store.directory}")
    try:
        click.echo(json.dumps(_listing(store), indent=2))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
