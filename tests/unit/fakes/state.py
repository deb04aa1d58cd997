"""Every table of the in-memory storage; a unit of work copies it to roll back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.domain.accounts import Account, SmsCode, TokenRecord
from app.domain.audit import AuditEntry
from app.domain.cards.model import CardEvent, CardRecord
from app.domain.channels import Channel
from app.domain.consent import AuthorizationCode, Consent
from app.domain.ecard_usage import RecordedUsage
from app.domain.ecards import Ecard
from app.domain.face_sessions import FaceSession, StoredFrame, StoredTemplate
from app.domain.family import FamilyInvitation, FamilyLink
from app.domain.qrcodes import QrCode
from app.domain.realname import RealnameCheck
from app.domain.records import Contribution, MedicalEntry
from app.domain.status_list import StatusListInfo


@dataclass
class FakeState:
    cards: dict[str, CardRecord] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    photos: dict[str, bytes] = field(default_factory=dict)
    events: list[CardEvent] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    leases: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    accounts: dict[int, Account] = field(default_factory=dict)
    sms_codes: list[SmsCode] = field(default_factory=list)
    outbox: list[tuple[str, str, datetime]] = field(default_factory=list)
    tokens: dict[str, TokenRecord] = field(default_factory=dict)
    counters: dict[tuple[str, str], int] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    realname: dict[str, RealnameCheck] = field(default_factory=dict)
    consents: dict[str, Consent] = field(default_factory=dict)
    authorization_codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    status_lists: dict[int, StatusListInfo] = field(default_factory=dict)
    ecards: dict[str, Ecard] = field(default_factory=dict)
    # (sign_no, client_id, account_id) → linked_at: one row of `ecard_channels`.
    ecard_links: dict[tuple[str, str, int], datetime] = field(default_factory=dict)
    qrcodes: dict[str, QrCode] = field(default_factory=dict)
    ecard_usage: list[RecordedUsage] = field(default_factory=list)
    # (person, insurance, period) → the month's contribution; medical entries in loading order.
    contributions: dict[tuple[str, str, str], Contribution] = field(default_factory=dict)
    medical_entries: list[MedicalEntry] = field(default_factory=list)
    face_sessions: dict[str, FaceSession] = field(default_factory=dict)
    # (session_id, seq) → the sealed analysis with its capture time, and the sealed figures.
    face_frames: dict[tuple[str, int], tuple[StoredFrame, bytes]] = field(default_factory=dict)
    face_audit_frames: dict[tuple[str, int], bytes] = field(default_factory=dict)
    card_templates: dict[str, StoredTemplate] = field(default_factory=dict)
    family_invitations: dict[str, FamilyInvitation] = field(default_factory=dict)
    family_links: dict[str, FamilyLink] = field(default_factory=dict)
