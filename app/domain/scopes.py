"""The scopes a channel may ask for, with the descriptions shown on the authorization prompt."""

from __future__ import annotations

from typing import Final

SCOPES: Final[dict[str, tuple[str, str]]] = {
    "ecard:claim": ("领取电子社保卡（实名认证、人脸核验、签发）",
                    "Claim the electronic social security card (real-name check, face verification, issuance)"),
    "ecard:read": ("查看电子社保卡信息", "Read the electronic social security card"),
    "ecard:qrcode": ("出示电子社保卡二维码（亮码）", "Show the e-card QR code"),
    "ecard:records": ("查询社会保险缴费记录和医保个人账户余额、明细",
                      "Read social insurance contributions and the medical individual account"),
    "ecard:manage": ("管理电子社保卡（挂失、解挂、注销电子社保卡、亲情服务）",
                     "Manage the e-card (report the card lost, unlock, cancel the e-card, family service)"),
    "ecard:verify": ("核验电子社保卡二维码", "Verify e-card QR codes presented to you"),
    "card:manage": ("办理实体社保卡业务（激活、挂失、解挂、补换、密码）",
                    "Manage physical social security cards (activation, loss, unlock, replacement, PIN)"),
}

# Scopes a user grants to a channel through the consent prompt, versus scopes a channel holds for
# itself (client_credentials).
USER_SCOPES: Final = frozenset({"ecard:claim", "ecard:read", "ecard:qrcode", "ecard:records", "ecard:manage"})
CHANNEL_SCOPES: Final = frozenset({"ecard:verify", "card:manage"})
