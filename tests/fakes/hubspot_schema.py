"""Static portal metadata for the fake HubSpot: object types, properties, pipelines, association types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: CRM object type name -> objectTypeId (developers.hubspot.com object definitions).
OBJECT_TYPE_IDS: dict[str, str] = {
    "contacts": "0-1",
    "companies": "0-2",
    "deals": "0-3",
    "tickets": "0-5",
    "notes": "0-46",
}
_SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal", "tickets": "ticket", "notes": "note"}
_ALIASES: dict[str, str] = {
    **{name: name for name in OBJECT_TYPE_IDS},
    **{single: plural for plural, single in _SINGULAR.items()},
    **{type_id: name for name, type_id in OBJECT_TYPE_IDS.items()},
}

#: Properties HubSpot manages itself; writes to them are ignored like the live API ignores them.
READ_ONLY = frozenset({"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate", "hs_createdate"})

#: Property that holds the last-modified timestamp for each type.
LASTMOD_PROPERTY = {"contacts": "lastmodifieddate"}
CREATED_PROPERTY = {"notes": "hs_createdate"}

#: Properties returned by get/search when the caller names none (HubSpot search guide defaults).
DEFAULT_PROPERTIES: dict[str, list[str]] = {
    "contacts": ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"],
    "companies": ["createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"],
    "deals": [
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ],
    "tickets": [
        "content",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
        "hs_pipeline",
        "hs_pipeline_stage",
        "hs_ticket_category",
        "hs_ticket_priority",
        "subject",
    ],
    "notes": ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"],
}

#: Properties the free-text ``query`` of a search looks at.
QUERY_PROPERTIES: dict[str, list[str]] = {
    "contacts": ["email", "firstname", "lastname", "phone", "company"],
    "companies": ["name", "domain", "website", "phone"],
    "deals": ["dealname"],
    "tickets": ["subject", "content"],
    "notes": ["hs_note_body"],
}

_STR, _NUM, _DT, _DATE, _ENUM, _BOOL = "string", "number", "datetime", "date", "enumeration", "bool"
_SYSTEM = {"hs_object_id": _NUM, "createdate": _DT, "hs_lastmodifieddate": _DT, "hubspot_owner_id": _ENUM}
_BUILTIN: dict[str, dict[str, str]] = {
    "contacts": {
        **_SYSTEM,
        "lastmodifieddate": _DT,
        "email": _STR,
        "firstname": _STR,
        "lastname": _STR,
        "phone": _STR,
        "mobilephone": _STR,
        "company": _STR,
        "website": _STR,
        "jobtitle": _STR,
        "address": _STR,
        "city": _STR,
        "state": _STR,
        "zip": _STR,
        "country": _STR,
        "lifecyclestage": _ENUM,
        "hs_lead_status": _ENUM,
        "associatedcompanyid": _NUM,
        "hs_language": _ENUM,
        "notes_last_updated": _DT,
        "num_associated_deals": _NUM,
    },
    "companies": {
        **_SYSTEM,
        "name": _STR,
        "domain": _STR,
        "website": _STR,
        "phone": _STR,
        "industry": _ENUM,
        "city": _STR,
        "state": _STR,
        "country": _STR,
        "numberofemployees": _NUM,
        "annualrevenue": _NUM,
        "description": _STR,
        "lifecyclestage": _ENUM,
        "type": _ENUM,
        "hs_num_open_deals": _NUM,
    },
    "deals": {
        **_SYSTEM,
        "dealname": _STR,
        "amount": _NUM,
        "closedate": _DT,
        "dealstage": _ENUM,
        "pipeline": _ENUM,
        "dealtype": _ENUM,
        "description": _STR,
    },
    "tickets": {
        **_SYSTEM,
        "subject": _STR,
        "content": _STR,
        "hs_pipeline": _ENUM,
        "hs_pipeline_stage": _ENUM,
        "hs_ticket_priority": _ENUM,
        "hs_ticket_category": _ENUM,
        "source_type": _ENUM,
        "closed_date": _DT,
        "hs_resolution": _ENUM,
        "time_to_close": _NUM,
        "hs_ticket_id": _NUM,
    },
    "notes": {
        "hs_object_id": _NUM,
        "hs_createdate": _DT,
        "hs_lastmodifieddate": _DT,
        "hubspot_owner_id": _ENUM,
        "hs_note_body": _STR,
        "hs_timestamp": _DT,
        "hs_attachment_ids": _ENUM,
    },
}
_OPTIONS: dict[tuple[str, str], list[str]] = {
    ("tickets", "hs_ticket_priority"): ["LOW", "MEDIUM", "HIGH", "URGENT"],
    ("tickets", "hs_ticket_category"): ["PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY"],
    ("tickets", "source_type"): ["CHAT", "EMAIL", "FORM", "PHONE"],
    ("contacts", "lifecyclestage"): [
        "subscriber",
        "lead",
        "marketingqualifiedlead",
        "salesqualifiedlead",
        "opportunity",
        "customer",
        "evangelist",
        "other",
    ],
    ("companies", "lifecyclestage"): [
        "subscriber",
        "lead",
        "marketingqualifiedlead",
        "salesqualifiedlead",
        "opportunity",
        "customer",
        "evangelist",
        "other",
    ],
}
_FIELD_TYPES = {_STR: "text", _NUM: "number", _DT: "date", _DATE: "date", _ENUM: "select", _BOOL: "booleancheckbox"}


def normalize_type(name: str) -> str | None:
    """Map ``contacts``/``contact``/``0-1`` (any case) to the plural type name, or None if unknown."""
    return _ALIASES.get(name.lower())


def singular(object_type: str) -> str:
    """``tickets`` -> ``ticket``."""
    return _SINGULAR[object_type]


def lastmod_property(object_type: str) -> str:
    """Name of the last-modified property (``lastmodifieddate`` on contacts, else ``hs_lastmodifieddate``)."""
    return LASTMOD_PROPERTY.get(object_type, "hs_lastmodifieddate")


def created_property(object_type: str) -> str:
    """Name of the creation-time property (``hs_createdate`` on notes, else ``createdate``)."""
    return CREATED_PROPERTY.get(object_type, "createdate")


@dataclass
class PropertyDef:
    """One CRM property definition as ``/crm/v3/properties`` describes it."""

    name: str
    label: str
    type: str
    field_type: str
    group_name: str
    created_at: str
    hubspot_defined: bool = True
    has_unique_value: bool = False
    options: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""

    @property
    def option_values(self) -> list[str]:
        """Allowed values of an enumeration (empty = not validated, e.g. owner or pipeline ids)."""
        return [str(o["value"]) for o in self.options]

    def to_json(self) -> dict[str, Any]:
        """Render as HubSpot's ``Property`` object."""
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": self.options,
            "displayOrder": -1,
            "calculated": False,
            "externalOptions": self.type == _ENUM and not self.options,
            "hasUniqueValue": self.has_unique_value,
            "hidden": False,
            "hubspotDefined": self.hubspot_defined,
            "formField": not self.hubspot_defined,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.name in READ_ONLY,
            },
            "createdAt": self.created_at,
            "updatedAt": self.created_at,
            "archived": False,
        }


def builtin_properties(object_type: str, created_at: str) -> dict[str, PropertyDef]:
    """The HubSpot-defined properties of ``object_type``."""
    group = f"{singular(object_type)}information"
    props: dict[str, PropertyDef] = {}
    for name, ptype in _BUILTIN[object_type].items():
        options = [
            {"label": v.title(), "value": v, "displayOrder": i, "hidden": False}
            for i, v in enumerate(_OPTIONS.get((object_type, name), []))
        ]
        props[name] = PropertyDef(
            name=name,
            label=name.replace("_", " ").title(),
            type=ptype,
            field_type=_FIELD_TYPES[ptype],
            group_name=group,
            created_at=created_at,
            has_unique_value=name == "hs_object_id" or (object_type == "contacts" and name == "email"),
            options=options,
        )
    return props


#: (from, to) -> (unlabeled typeId, primary typeId or None); HUBSPOT_DEFINED ids from HubSpot's
#: association type table. Each pair's inverse is listed too so both directions can be read.
ASSOCIATION_TYPES: dict[tuple[str, str], tuple[int, int | None]] = {
    ("contacts", "companies"): (279, 1),
    ("companies", "contacts"): (280, 2),
    ("contacts", "deals"): (4, None),
    ("deals", "contacts"): (3, None),
    ("contacts", "tickets"): (15, None),
    ("tickets", "contacts"): (16, None),
    ("contacts", "notes"): (201, None),
    ("notes", "contacts"): (202, None),
    ("companies", "deals"): (342, 6),
    ("deals", "companies"): (341, 5),
    ("companies", "tickets"): (340, 25),
    ("tickets", "companies"): (339, 26),
    ("companies", "notes"): (189, None),
    ("notes", "companies"): (190, None),
    ("deals", "tickets"): (27, None),
    ("tickets", "deals"): (28, None),
    ("deals", "notes"): (213, None),
    ("notes", "deals"): (214, None),
    ("tickets", "notes"): (227, None),
    ("notes", "tickets"): (228, None),
}


def association_target(from_type: str, type_id: int) -> tuple[str, bool] | None:
    """Given a HUBSPOT_DEFINED typeId used from ``from_type``, return ``(to_type, is_primary)``."""
    for (src, dst), (unlabeled, primary) in ASSOCIATION_TYPES.items():
        if src == from_type and type_id in (unlabeled, primary):
            return dst, type_id == primary
    return None


def inverse_type_id(from_type: str, to_type: str, type_id: int) -> int | None:
    """The typeId of the reverse direction for a HUBSPOT_DEFINED association."""
    forward = ASSOCIATION_TYPES.get((from_type, to_type))
    backward = ASSOCIATION_TYPES.get((to_type, from_type))
    if forward is None or backward is None:
        return None
    if type_id == forward[0]:
        return backward[0]
    if forward[1] is not None and type_id == forward[1]:
        return backward[1]
    return None


def default_pipelines(created_at: str) -> dict[str, list[dict[str, Any]]]:
    """A new portal's default ticket pipeline ``0`` (stages 1-4, 4 closed) and deal pipeline ``default``."""

    def stage(stage_id: str, label: str, order: int, metadata: dict[str, str]) -> dict[str, Any]:
        return {
            "id": stage_id,
            "label": label,
            "displayOrder": order,
            "metadata": metadata,
            "archived": False,
            "createdAt": created_at,
            "updatedAt": created_at,
            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
        }

    tickets = [
        stage("1", "New", 0, {"ticketState": "OPEN"}),
        stage("2", "Waiting on contact", 1, {"ticketState": "OPEN"}),
        stage("3", "Waiting on us", 2, {"ticketState": "OPEN"}),
        stage("4", "Closed", 3, {"ticketState": "CLOSED"}),
    ]
    deals = [
        stage("appointmentscheduled", "Appointment Scheduled", 0, {"isClosed": "false", "probability": "0.2"}),
        stage("closedwon", "Closed Won", 1, {"isClosed": "true", "probability": "1.0"}),
        stage("closedlost", "Closed Lost", 2, {"isClosed": "true", "probability": "0.0"}),
    ]

    def pipeline(pid: str, label: str, stages: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": pid,
            "label": label,
            "displayOrder": 0,
            "stages": stages,
            "archived": False,
            "createdAt": created_at,
            "updatedAt": created_at,
        }

    return {
        "tickets": [pipeline("0", "Support Pipeline", tickets)],
        "deals": [pipeline("default", "Sales Pipeline", deals)],
    }
