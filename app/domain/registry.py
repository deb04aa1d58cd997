"""The registry of physical social security cards, and its import from JSON lines (SPEC §5)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Awaitable, Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from app.domain.cards.model import CardRecord, NewCard
from app.domain.idnumber import PROVINCES, mask_id_number, parse_id_number
from app.domain.text import ascii_number, normalise_name
from app.errors import DomainError

if TYPE_CHECKING:
    from app.clock import Clock
    from app.domain.uow import Storage
    from app.security.vault import Vault

CARD_NO = re.compile(r"^[A-Z0-9]{6,20}$")
AAB301 = re.compile(r"^[0-9]{6}$")  # aab301: the issuing region's 6-digit administrative code
POSTCODE = re.compile(r"^[0-9]{6}$")
REQUIRED = ("card_no", "name", "id_number", "aab301")
OPTIONAL_TEXT = ("phone", "address", "postcode", "ethnicity", "bank")
KNOWN_KEYS = frozenset((*REQUIRED, *OPTIONAL_TEXT, "photo", "collected_on", "financial_active"))
BATCH = 500
T = TypeVar("T")

class RowError(msgspec.Struct, frozen=True):
    line: int
    message: str


class ImportReport(msgspec.Struct, kw_only=True):
    added: int = 0
    unchanged: int = 0
    conflicts: list[RowError] = msgspec.field(default_factory=list)
    errors: list[RowError] = msgspec.field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.added + self.unchanged + len(self.conflicts) + len(self.errors)


class BadRow(Exception):
    pass


PhotoCheck = Callable[[bytes], None]


async def import_lines(
    path: Path, parse: Callable[[str], T], store: Callable[[list[tuple[int, T]], ImportReport], Awaitable[None]],
    progress: Callable[[int], None] | None = None, batch_size: int = BATCH,
) -> ImportReport:
    """A JSON-lines import: each line parsed (`BadRow` is that line's error), the good ones stored
    in batches of `batch_size`, `progress` told of every line handled."""
    report = ImportReport()
    batch: list[tuple[int, T]] = []

    async def flush() -> None:
        if batch:
            await store(batch, report)
            if progress:
                progress(len(batch))
            batch.clear()

    for line_no, text in read_lines(path):
        try:
            if isinstance(text, BadRow):
                raise text
            batch.append((line_no, parse(text)))
        except BadRow as exc:
            report.errors.append(RowError(line_no, str(exc)))
            if progress:
                progress(1)
        if len(batch) >= batch_size:
            await flush()
    await flush()
    report.errors.sort(key=lambda e: e.line)
    return report


class RegistryImporter:
    def __init__(self, storage: Storage, clock: Clock, vault: Vault, check_photo: PhotoCheck) -> None:
        self._storage = storage
        self._clock = clock
        self._vault = vault
        self._check_photo = check_photo

    async def import_file(self, path: Path, progress: Callable[[int], None] | None = None) -> ImportReport:
        """Load a JSON-lines file; bad rows are reported with their line number, good rows load.

        `progress` is called with the number of lines handled since the previous call.
        """
        today = self._clock.now().date()
        return await import_lines(path, lambda text: self._row(json_object(text), path.parent, today),
                                  self._store, progress)

    async def _store(self, batch: list[tuple[int, NewCard]], report: ImportReport) -> None:
        async with self._storage.unit_of_work() as uow:
            outcomes = await uow.cards.import_batch([card for _, card in batch], self._clock.now())
        for (line_no, card), outcome in zip(batch, outcomes, strict=True):
            if outcome == "added":
                report.added += 1
            elif outcome == "unchanged":
                report.unchanged += 1
            elif outcome == "holder_has_card":
                report.conflicts.append(RowError(
                    line_no, f"card {card.record.card_no}: its holder already has a card in use; not added"))
            else:
                report.conflicts.append(RowError(
                    line_no, f"card {card.record.card_no} is on record with different data; not changed"))

    def _row(self, row: dict[str, Any], base: Path, today: date) -> NewCard:
        unknown = sorted(set(row) - KNOWN_KEYS)
        if unknown:
            raise BadRow(f"unknown keys: {', '.join(unknown)}")
        not_text = [k for k in REQUIRED if row.get(k) is not None and not isinstance(row[k], str)]
        if not_text:
            raise BadRow(f"must be text: {', '.join(not_text)}")
        missing = [k for k in REQUIRED if not isinstance(row.get(k), str) or not row[k].strip()]
        if missing:
            raise BadRow(f"missing or empty: {', '.join(missing)}")
        card_no = ascii_number(row["card_no"]).upper()
        if not CARD_NO.match(card_no):
            raise BadRow("card_no: 6-20 letters or digits")
        try:
            id_number = parse_id_number(row["id_number"], today=today)
        except DomainError as exc:
            raise BadRow(exc.detail) from None
        aab301 = ascii_number(row["aab301"])
        if not AAB301.match(aab301) or int(aab301[:2]) not in PROVINCES:
            raise BadRow("aab301: a 6-digit administrative region code")
        texts: dict[str, str | None] = {}
        for key in OPTIONAL_TEXT:
            value = row.get(key)
            if value is not None and not isinstance(value, str):
                raise BadRow(f"{key}: must be text")
            texts[key] = value.strip() if isinstance(value, str) and value.strip() else None
        if texts["postcode"] and not POSTCODE.match(texts["postcode"]):
            raise BadRow("postcode: 6 digits")
        collected_on = _date(row.get("collected_on"), "collected_on")
        if collected_on and collected_on > today:
            raise BadRow("collected_on: in the future")
        financial_active = row.get("financial_active", False)
        if not isinstance(financial_active, bool):
            raise BadRow("financial_active: true or false")
        photo, photo_sha = self._photo(row.get("photo"), base)
        record = CardRecord(
            card_no=card_no, id_digest=self._vault.index(id_number.value),
            id_sealed=self._vault.seal(id_number.value.encode(), context=card_no.encode()),
            id_masked=mask_id_number(id_number.value), name=normalise_name(row["name"]), aab301=aab301,
            birth_date=id_number.birth_date, gender=id_number.gender, collected_on=collected_on,
            # The social security application is enabled when the card is collected.
            ss_state="active" if collected_on else "inactive",
            fin_state="active" if financial_active else "inactive",
            fin_since=collected_on if financial_active else None,
            photo_sha256=photo_sha, phone=texts["phone"], address=texts["address"],
            postcode=texts["postcode"], ethnicity=texts["ethnicity"], bank=texts["bank"],
        )
        canonical = {**row, "photo": photo_sha, "card_no": card_no, "id_number": id_number.value,
                     "name": record.name, "aab301": aab301}
        digest = hashlib.sha256(json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        return NewCard(
            record=record,
            photo_sealed=self._vault.seal(photo, context=card_no.encode()) if photo else None,
            record_digest=digest,
        )

    def _photo(self, value: object, base: Path) -> tuple[bytes | None, str | None]:
        if value is None or value == "":
            return None, None  # allowed; face verification will refuse such a card later
        if not isinstance(value, str):
            raise BadRow("photo: a path relative to the file")
        data = read_photo(base, value)
        try:
            self._check_photo(data)
        except DomainError as exc:
            raise BadRow(f"photo {value}: {exc.detail}") from None
        return data, hashlib.sha256(data).hexdigest()


# A card photo is a passport-style portrait; the face engine takes uploads up to 2 MiB.
MAX_PHOTO_BYTES = 2 * 1024 * 1024


def read_photo(folder: Path, value: str) -> bytes:
    """The photo named by an import line: a regular file inside the import file's folder (no
    absolute paths, no `..` or symbolic link out of it, no devices or pipes), read only when its
    size is within `MAX_PHOTO_BYTES`. Anything else is that line's error.

    The file is opened first (without blocking, so a pipe cannot hang the import) and then
    examined through the open descriptor, so it cannot be swapped between the check and the read."""
    if Path(value).is_absolute():
        raise BadRow(f"photo {value}: must be a path relative to the import file's folder")
    try:
        root = folder.resolve()
        path = (root / value).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a loop of links, a NUL in the name
        raise BadRow(f"photo {value!r}: not a usable path ({exc})") from None
    if not path.is_relative_to(root):
        raise BadRow(f"photo {value}: outside the import file's folder")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError as exc:
        raise BadRow(f"photo {value}: cannot be read ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BadRow(f"photo {value}: not a regular file")
        if info.st_size > MAX_PHOTO_BYTES:
            raise BadRow(f"photo {value}: {info.st_size} bytes, more than {MAX_PHOTO_BYTES}")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(MAX_PHOTO_BYTES + 1)
    except OSError as exc:
        raise BadRow(f"photo {value}: cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > MAX_PHOTO_BYTES:  # grew since it was opened
        raise BadRow(f"photo {value}: more than {MAX_PHOTO_BYTES} bytes")
    return data


def json_object(text: str) -> dict[str, Any]:
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRow(f"not JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise BadRow("not JSON this service reads: nested too deeply") from None
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise BadRow(f"not JSON this service reads: {exc}") from None
    if not isinstance(row, dict):
        raise BadRow("not a JSON object")
    return row


def _date(value: object, key: str) -> date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRow(f"{key}: a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRow(f"{key}: a date YYYY-MM-DD") from None


def read_lines(path: Path) -> Iterator[tuple[int, str | BadRow]]:
    """The non-blank lines as text, or as the reason a line cannot be read (it is not UTF-8)."""
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            line = raw.removeprefix(b"\xef\xbb\xbf") if line_no == 1 else raw  # a byte-order mark
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield line_no, BadRow(f"not UTF-8 at byte {exc.start + 1}")
                continue
            if text.strip():
                yield line_no, text


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())
