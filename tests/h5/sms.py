"""An SMS gateway for services run with ECARD_ENV=test, where the dev outbox route is not mounted.

`ECARD_SMS_SENDER=tests.h5.sms:from_env` makes the service append each text, one JSON line per
message, to the file named by `H5_TEST_SMS_FILE`; a test reads the codes back with `latest_code`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

SMS_FILE_VARIABLE = "H5_TEST_SMS_FILE"
_CODE = re.compile(r"验证码 (\d{6})")


class FileSmsGateway:
    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, phone: str, text: str) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"phone": phone, "text": text}, ensure_ascii=False) + "\n")


def from_env() -> FileSmsGateway:
    """The factory ECARD_SMS_SENDER names: a gateway writing to $H5_TEST_SMS_FILE."""
    return FileSmsGateway(Path(os.environ[SMS_FILE_VARIABLE]))


def latest_code(path: Path, phone: str) -> str | None:
    """The code of the last text sent to `phone`, or None when none was sent."""
    if not path.exists():
        return None
    codes = [_CODE.search(message["text"]) for message in map(json.loads, path.read_text("utf-8").splitlines())
             if message["phone"] == phone]
    found = [code.group(1) for code in codes if code]
    return found[-1] if found else None
