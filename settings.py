"""Typed settings from the environment (see the configuration table in README). Fails fast and names the key.

Secrets come from the environment or from files: every secret setting ``NAME`` may instead be given as
``NAME_FILE`` = a path whose content is the value (Docker/Kubernetes secrets; a trailing newline is dropped).
Setting both is an error, and so is a file that cannot be read or is empty.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class SettingsError(Exception):
    pass


def secret_variables() -> list[str]:
    """The environment variables that also accept ``<NAME>_FILE``: every secret setting, and DATABASE_URL."""
    names = [f.alias for f in Settings.model_fields.values() if f.alias and "SecretStr" in str(f.annotation)]
    return ["DATABASE_URL", *names]


class _SecretFiles(PydanticBaseSettingsSource):
    """``<NAME>_FILE`` for each secret variable: the file's content becomes the value of ``NAME``."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads every variable at once

    def __call__(self) -> dict[str, Any]:
        env = {k.upper(): v for k, v in os.environ.items()}
        out: dict[str, Any] = {}
        for name in secret_variables():
            path = env.get(f"{name}_FILE")
            if not path:
                continue
            if env.get(name):
                raise SettingsError(f"invalid environment:\n  {name}: set {name} or {name}_FILE, not both")
            try:
                value = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise SettingsError(f"invalid environment:\n  {name}_FILE: cannot read {path} "
                                    f"({exc.strerror or type(exc).__name__})") from None
            if not value.strip():
                raise SettingsError(f"invalid environment:\n  {name}_FILE: {path} is empty")
            out[name] = value
        return out


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore", populate_by_name=True)

    database_url: str = Field("sqlite:///./baton.db", alias="DATABASE_URL")
    db_pool_size: int = Field(20, alias="BATON_DB_POOL_SIZE", ge=1, le=500, description=(
        "database connections each process keeps (PostgreSQL: plus half as many overflow connections, plus one "
        "LISTEN connection); N processes use up to N * (1.5 * this + 1) of the server's max_connections"))
    host: str = Field("127.0.0.1", alias="BATON_HOST")
    port: int = Field(8000, alias="BATON_PORT", ge=1, le=65535)
    api_keys_raw: SecretStr | None = Field(None, alias="BATON_API_KEYS")
    config_path: str | None = Field(None, alias="BATON_CONFIG")
    log_level: str = Field("INFO", alias="BATON_LOG_LEVEL")
    auto_migrate: bool | None = Field(None, alias="BATON_AUTO_MIGRATE")
    demo: bool = Field(False, alias="BATON_DEMO", description="serve the demo page's same-origin intake endpoint")
    webhook_secret: SecretStr | None = Field(None, alias="BATON_WEBHOOK_SECRET",
                                             description="HMAC key for signed customer webhooks (callback_url)")
    callback_allow: str = Field("", alias="BATON_CALLBACK_ALLOW",
                                description="comma-separated host names / CIDRs a callback_url may reach although "
                                            "they are not public (loopback, private, link-local...)")

    slack_bot_token: SecretStr | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", alias="SLACK_API_URL")
    slack_default_channel: str | None = Field(None, alias="SLACK_DEFAULT_CHANNEL")

    teams_app_id: str | None = Field(None, alias="TEAMS_APP_ID")
    teams_app_password: SecretStr | None = Field(None, alias="TEAMS_APP_PASSWORD")
    teams_tenant_id: str | None = Field(None, alias="TEAMS_TENANT_ID",
                                        description="single-tenant bot: the Entra tenant that issues its tokens")
    teams_emulator: bool = Field(False, alias="TEAMS_EMULATOR",
                                 description="local use without Bot Framework auth; refused with TEAMS_APP_ID")
    teams_openid_metadata_url: str = Field(
        "https://login.botframework.com/v1/.well-known/openidconfiguration", alias="TEAMS_OPENID_METADATA_URL",
        description="where inbound channel-token signing keys are published (tests point it at a local fake)")
    teams_default_channel: str | None = Field(
        None, alias="TEAMS_DEFAULT_CHANNEL",
        description="Teams conversation id (19:…@thread.tacv2) for queues with no queues.<q>.channels.teams")
    teams_authority: str | None = Field(
        None, alias="TEAMS_AUTHORITY",
        description="Entra authority for the bot's outbound token; default https://login.microsoftonline.com/"
                    "<TEAMS_TENANT_ID or botframework.com>")

    salesforce_instance_url: str | None = Field(None, alias="SALESFORCE_INSTANCE_URL")
    salesforce_access_token: SecretStr | None = Field(None, alias="SALESFORCE_ACCESS_TOKEN")
    salesforce_username: str | None = Field(None, alias="SALESFORCE_USERNAME")
    salesforce_password: SecretStr | None = Field(None, alias="SALESFORCE_PASSWORD")
    salesforce_security_token: SecretStr | None = Field(None, alias="SALESFORCE_SECURITY_TOKEN")
    salesforce_domain: str | None = Field(None, alias="SALESFORCE_DOMAIN")

    hubspot_access_token: SecretStr | None = Field(None, alias="HUBSPOT_ACCESS_TOKEN")
    hubspot_api_url: str = Field("https://api.hubapi.com", alias="HUBSPOT_API_URL")

    # CRM sync (issue 6). Maps are JSON objects in the environment, e.g. SALESFORCE_STATUS_MAP='{"claimed":"Working"}'.
    salesforce_api_version: str = Field("59.0", alias="SALESFORCE_API_VERSION")
    salesforce_external_id_field: str = Field("Baton_Handoff_Id__c", alias="SALESFORCE_EXTERNAL_ID_FIELD")
    salesforce_timeline: str = Field("comments", alias="SALESFORCE_TIMELINE", pattern="^(comments|feed)$")
    salesforce_case_origin: str = Field("Chat", alias="SALESFORCE_CASE_ORIGIN")
    salesforce_status_map: dict[str, str] = Field(default_factory=dict, alias="SALESFORCE_STATUS_MAP")
    salesforce_priority_map: dict[str, str] = Field(default_factory=dict, alias="SALESFORCE_PRIORITY_MAP")
    salesforce_limit_pause_seconds: float = Field(3600.0, alias="SALESFORCE_LIMIT_PAUSE_SECONDS", ge=0)
    salesforce_limit_threshold: float = Field(0.95, alias="SALESFORCE_LIMIT_THRESHOLD", gt=0, le=1)
    hubspot_pipeline: str = Field("0", alias="HUBSPOT_PIPELINE")
    hubspot_stage_map: dict[str, str] = Field(default_factory=dict, alias="HUBSPOT_STAGE_MAP")
    hubspot_priority_map: dict[str, str] = Field(default_factory=dict, alias="HUBSPOT_PRIORITY_MAP")
    hubspot_closed_stages: str = Field("4", alias="HUBSPOT_CLOSED_STAGES", description="comma-separated stage ids")
    crm_lookup_timeout_seconds: float = Field(3.0, alias="CRM_LOOKUP_TIMEOUT_SECONDS", gt=0, le=60)
    crm_call_timeout_seconds: float = Field(20.0, alias="CRM_CALL_TIMEOUT_SECONDS", gt=0, le=600)
    crm_outage_pause_seconds: float = Field(30.0, alias="CRM_OUTAGE_PAUSE_SECONDS", ge=0)
    crm_poll_seconds: float = Field(0.0, alias="CRM_POLL_SECONDS", ge=0,
                                    description="poll CRMs for closed cases every N seconds; 0 = off")
    crm_owner_agents: dict[str, str] = Field(default_factory=dict, alias="CRM_OWNER_AGENTS",
                                             description="CRM owner email → Baton agent id (account managers)")

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _SecretFiles(settings_cls), env_settings, dotenv_settings, file_secret_settings

    @field_validator("salesforce_status_map", "salesforce_priority_map", "hubspot_stage_map", "hubspot_priority_map",
                     "crm_owner_agents", mode="before")
    @classmethod
    def _json_map(cls, v: object) -> object:
        if isinstance(v, str):  # from the environment or a .env line: a JSON object
            import json

            try:
                return json.loads(v) if v.strip() else {}
            except ValueError:
                raise ValueError("must be a JSON object, e.g. {\"claimed\": \"Working\"}") from None
        return v

    @model_validator(mode="after")
    def _teams_auth(self) -> Settings:
        if self.teams_emulator and self.teams_app_id:
            raise ValueError("TEAMS_EMULATOR=true turns Bot Framework authentication off; it is refused when "
                             "TEAMS_APP_ID is set (unset one of them)")
        if self.teams_app_id and not self.teams_app_password:
            raise ValueError("TEAMS_APP_ID is set but TEAMS_APP_PASSWORD is not: the bot cannot get a token to reply")
        return self

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        v = v.upper()
        if v not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return v

    @property
    def api_keys(self) -> list[str]:
        raw = self.api_keys_raw.get_secret_value() if self.api_keys_raw else ""
        return [k.strip() for k in raw.split(",") if k.strip()]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def integrations(self) -> list[tuple[str, bool, str]]:
        """(name, has settings, what to say when it has none) for the start-up report.

        "Has settings" is not "configured": the banner says configured only once the service answered.
        """
        sf = bool(self.salesforce_instance_url and self.salesforce_access_token) or bool(
            self.salesforce_username and self.salesforce_password)
        return [
            ("Slack", bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token)),
             "not configured — set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode)"),
            ("Microsoft Teams", bool(self.teams_app_id and self.teams_app_password) or self.teams_emulator,
             "not configured — set TEAMS_APP_ID and TEAMS_APP_PASSWORD (or TEAMS_EMULATOR=true for local use)"),
            ("Salesforce", sf, "not configured — set SALESFORCE_INSTANCE_URL + SALESFORCE_ACCESS_TOKEN, or "
             "SALESFORCE_USERNAME/_PASSWORD/_SECURITY_TOKEN"),
            ("HubSpot", bool(self.hubspot_access_token), "not configured — set HUBSPOT_ACCESS_TOKEN"),
        ]


def load_settings() -> Settings:
    """Read the environment. Raises SettingsError naming each bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = ["invalid environment:"]
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"])
            lines.append(f"  {name}: {err['msg']}" if name else f"  {err['msg']}")
        raise SettingsError("\n".join(lines)) from None
