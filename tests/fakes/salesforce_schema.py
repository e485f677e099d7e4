"""Salesforce metadata for the fake org: 18-character ids, datetime formats, field definitions of the
standard objects (Account, Contact, Case with the Baton external id, CaseComment, FeedItem, User)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
STRINGY = frozenset({"string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "id", "reference"})
NUMERIC = frozenset({"int", "double", "currency", "percent"})

#: Key prefixes of the standard objects the fake knows.
KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "Case": "500",
    "CaseComment": "00a",
    "FeedItem": "0D5",
    "User": "005",
}


def to18(id15: str) -> str:
    """Append Salesforce's 3-character case-safety suffix to a 15-character id."""
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]) if "A" <= ch <= "Z")
        suffix += _SUFFIX[bits]
    return id15 + suffix


def canonical_id(raw: str) -> str | None:
    """Normalise a 15- or 18-character id to its 18-character form; None when malformed.
    An 18-character id's suffix restores the case of the first 15, like Salesforce does."""
    if not isinstance(raw, str) or not _ID_RE.match(raw):
        return None
    if len(raw) == 15:
        return to18(raw)
    chars = list(raw[:15])
    for chunk, marker in enumerate(raw[15:].upper()):
        if marker not in _SUFFIX:
            return None
        bits = _SUFFIX.index(marker)
        for i in range(5):
            ch = chars[chunk * 5 + i]
            if ch.isalpha():
                chars[chunk * 5 + i] = ch.upper() if bits >> i & 1 else ch.lower()
    return to18("".join(chars))


def sf_datetime(ms: int) -> str:
    """Epoch ms -> Salesforce REST datetime ``2024-05-01T12:00:00.000+0000``."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}+0000"


def parse_datetime_ms(text: str) -> int | None:
    """Parse ISO-8601 datetimes (``Z``, ``+0000`` or ``+00:00`` offsets) or dates into epoch ms."""
    value = text.strip().replace("Z", "+00:00")
    value = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


@dataclass
class FieldDef:
    """Describe-level metadata of one field."""

    name: str
    type: str = "string"
    length: int = 0
    createable: bool = True
    updateable: bool = True
    required: bool = False
    external_id: bool = False
    unique: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    picklist: tuple[str, ...] | None = None
    restricted: bool = False
    default: Any = None

    def describe(self) -> dict[str, Any]:
        """The field entry of a ``describe`` answer."""
        return {
            "name": self.name,
            "label": self.name,
            "type": self.type,
            "length": self.length,
            "createable": self.createable,
            "updateable": self.updateable,
            "nillable": not self.required,
            "externalId": self.external_id,
            "unique": self.unique,
            "custom": self.name.endswith("__c"),
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "restrictedPicklist": self.restricted,
            "defaultValue": self.default,
            "picklistValues": [
                {"value": v, "label": v, "active": True, "defaultValue": v == self.default} for v in self.picklist or ()
            ],
        }


def _ro(name: str, ftype: str, **kw: Any) -> FieldDef:
    return FieldDef(name, ftype, createable=False, updateable=False, **kw)


def _ref(name: str, *targets: str, rel: str | None = None, **kw: Any) -> FieldDef:
    relationship = rel or (name[:-3] + "__r" if name.endswith("__c") else name.removesuffix("Id"))
    return FieldDef(name, "reference", 18, reference_to=targets, relationship_name=relationship, **kw)


def _system() -> list[FieldDef]:
    return [
        _ro("Id", "id", length=18),
        _ro("IsDeleted", "boolean"),
        _ro("CreatedDate", "datetime"),
        _ro("CreatedById", "reference", reference_to=("User",), relationship_name="CreatedBy"),
        _ro("LastModifiedDate", "datetime"),
        _ro("LastModifiedById", "reference", reference_to=("User",), relationship_name="LastModifiedBy"),
        _ro("SystemModstamp", "datetime"),
    ]


def standard_objects(external_id_field: str) -> dict[str, list[FieldDef]]:
    """Field lists of Account, Contact, Case (with the Baton external id), CaseComment, FeedItem, User."""
    pick = FieldDef
    return {
        "User": [
            *_system(),
            pick("Username", length=80),
            pick("Email", "email", 128),
            pick("Name", length=121),
            pick("IsActive", "boolean", default=True),
        ],
        "Account": [
            *_system(),
            pick("Name", length=255, required=True),
            pick("Type", "picklist", 255, picklist=("Customer", "Partner", "Prospect", "Other")),
            pick("Industry", "picklist", 255, picklist=()),
            pick("Website", "url", 255),
            pick("Phone", "phone", 40),
            pick("Description", "textarea", 32000),
            pick("AnnualRevenue", "currency"),
            pick("NumberOfEmployees", "int"),
            pick("BillingCity", length=40),
            pick("BillingCountry", length=80),
            _ref("OwnerId", "User"),
        ],
        "Contact": [
            *_system(),
            pick("FirstName", length=40),
            pick("LastName", length=80, required=True),
            _ro("Name", "string", length=121),
            pick("Email", "email", 80),
            pick("Phone", "phone", 40),
            pick("Title", length=128),
            pick("Description", "textarea", 32000),
            _ref("AccountId", "Account"),
            _ref("OwnerId", "User"),
        ],
        "Case": [
            *_system(),
            _ro("CaseNumber", "string", length=30),
            pick("Subject", length=255),
            pick("Description", "textarea", 32000),
            pick(
                "Status",
                "picklist",
                255,
                picklist=("New", "Working", "Escalated", "Closed"),
                restricted=True,
                default="New",
            ),
            pick("Priority", "picklist", 255, picklist=("High", "Medium", "Low"), restricted=True, default="Medium"),
            pick("Origin", "picklist", 255, picklist=("Phone", "Email", "Web"), restricted=True),
            pick("Type", "picklist", 255, picklist=("Question", "Problem", "Feature Request")),
            pick("Reason", "picklist", 255, picklist=()),
            pick("IsEscalated", "boolean", default=False),
            pick("SuppliedEmail", "email", 80),
            pick("SuppliedName", length=80),
            pick("SuppliedPhone", "phone", 40),
            pick("SuppliedCompany", length=80),
            _ref("ContactId", "Contact"),
            _ref("AccountId", "Account"),
            _ref("OwnerId", "User"),
            _ref("ParentId", "Case", rel="Parent"),
            _ro("IsClosed", "boolean"),
            _ro("ClosedDate", "datetime"),
            pick(external_id_field, length=255, external_id=True, unique=True),
        ],
        "CaseComment": [
            *_system(),
            _ref("ParentId", "Case", rel="Parent", required=True, updateable=False),
            pick("CommentBody", "textarea", 4000),
            pick("IsPublished", "boolean", default=False),
        ],
        "FeedItem": [
            *_system(),
            _ref("ParentId", "Case", "Account", "Contact", "User", rel="Parent", required=True, updateable=False),
            pick("Body", "textarea", 10000),
            pick("Title", length=255),
            pick("LinkUrl", "url", 1000),
            pick(
                "Type",
                "picklist",
                40,
                picklist=("TextPost", "LinkPost", "ContentPost"),
                restricted=True,
                default="TextPost",
            ),
            pick(
                "Visibility",
                "picklist",
                40,
                picklist=("AllUsers", "InternalUsers"),
                restricted=True,
                default="AllUsers",
            ),
        ],
    }
