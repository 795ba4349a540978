"""Settings: the one source of configuration, read once at start-up from the environment into one
frozen object (credentials, where to listen, paths, the DAPA mailbox, the handbook site).

Bot Framework's standard variables (``MicrosoftAppId``, ``MicrosoftAppPassword``, ``MicrosoftAppType``,
``MicrosoftAppTenantId``) plus the bot's own (the README's table lists them all). The object doubles
as the configuration the SDK's ``ConfigurationBotFrameworkAuthentication`` reads (upper-case attribute
names such as ``APP_ID``, ``TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL``), so tests can point token
validation at a local stub. Importing this module is cheap: nothing of scikit-learn or the SDK.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from indexer.paths import DEFAULT_FEEDBACK_DB, DEFAULT_INDEX, DEFAULT_SOURCES

DAPA_EMAIL = "dapa@ct.gov"
HANDBOOK_URL = "https://ctopendata.github.io/open-data-handbook"
DEFAULT_SALT = "handbook-bot"   # public: accepted in local mode only
MIN_SALT_CHARS = 16
_SDK_PASSTHROUGH = (
    "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL", "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL",
    "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER", "TO_CHANNEL_FROM_BOT_LOGIN_URL", "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE",
    "CHANNEL_SERVICE", "OAUTH_URL", "VALIDATE_AUTHORITY",
)


@dataclass(frozen=True)
class Settings:
    app_id: str = ""                   # MicrosoftAppId; empty = local mode (no token validation)
    app_password: str = ""             # MicrosoftAppPassword
    app_type: str = "MultiTenant"      # MicrosoftAppType: MultiTenant | SingleTenant | UserAssignedMSI
    app_tenant_id: str = ""            # MicrosoftAppTenantId
    host: str = "127.0.0.1"            # HOST; default 127.0.0.1 in local mode, 0.0.0.0 with an app id
    port: int = 3978                   # PORT
    index_dir: Path = DEFAULT_INDEX    # INDEX_DIR
    sources_file: Path = DEFAULT_SOURCES      # SOURCES_FILE: what to build when there is no index yet
    feedback_db: Path = DEFAULT_FEEDBACK_DB   # FEEDBACK_DB (SQLite file)
    database_url: str = ""             # DATABASE_URL (PostgreSQL; wins over FEEDBACK_DB)
    user_hash_salt: str = DEFAULT_SALT # USER_HASH_SALT: required (16+ chars, not the default) with an app id
    dapa_email: str = DAPA_EMAIL       # DAPA_EMAIL: where questions the handbook does not answer go
    handbook_url: str = HANDBOOK_URL   # HANDBOOK_URL: the published handbook (links of last resort)
    reload_seconds: float = 10.0       # INDEX_RELOAD_SECONDS: how often to look for a new index
    max_body_bytes: int = 256 * 1024   # request bodies above this get 413
    body_timeout_seconds: float = 10.0   # BODY_TIMEOUT_SECONDS: a body not complete by then gets 408
    header_timeout_seconds: float = 15.0   # HEADER_TIMEOUT_SECONDS: a connection without a request by then is closed
    send_retries: int = 4              # CONNECTOR_RETRIES: extra attempts for a failed send
    retry_base_seconds: float = 0.5    # CONNECTOR_RETRY_BASE_SECONDS: first backoff, doubled each time
    retry_max_seconds: float = 20.0    # longest wait, also the cap on Retry-After
    send_timeout_seconds: float = 15.0   # CONNECTOR_TIMEOUT_SECONDS: a send with no answer by then is not retried
    max_sends_in_flight: int = 32      # CONNECTOR_MAX_IN_FLIGHT: concurrent sends to the Bot Connector
    max_sends_outstanding: int = 1000  # CONNECTOR_MAX_OUTSTANDING: queued + in flight; more is shed (logged)
    feedback_commit_seconds: float = 2.0   # longest an answer waits for its turn row to be committed
    openid_timeout_seconds: float = 5.0   # OPENID_TIMEOUT_SECONDS: longest a request waits for signing keys
    typing_delay_seconds: float = 0.4  # TYPING_DELAY_SECONDS: show "typing" when an answer takes longer
    handoff_mentions: tuple = ()       # HANDOFF_MENTIONS: who a channel hand-off @mentions (bot/teams/handoff.py)
    triage_conversation_id: str = ""   # TRIAGE_CONVERSATION_ID: DAPA's conversation for hand-off cards; empty = none
    triage_service_url: str = ""       # TRIAGE_SERVICE_URL: its Bot Connector URL (default: the asker's service URL)
    sdk: dict = field(default_factory=dict)   # TO_BOT_FROM_* and other SDK configuration passthrough

    @property
    def local_mode(self) -> bool:
        return not self.app_id

    def serving_problems(self) -> list[str]:
        """Why this configuration must not serve (empty when it may)."""
        if self.local_mode:
            return []
        salt = self.user_hash_salt
        if not salt or salt == DEFAULT_SALT or len(salt) < MIN_SALT_CHARS:
            return [f"USER_HASH_SALT must be set to a secret of at least {MIN_SALT_CHARS} characters when "
                    "MicrosoftAppId is set: with the public default every stored user hash can be re-identified. "
                    "Generate one with python3 -c 'import secrets; print(secrets.token_hex(32))' "
                    "(deploy/README.md: the salt)."]
        return []

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)

    # --- the attribute names ConfigurationBotFrameworkAuthentication / ...CredentialFactory read ---
    @property
    def APP_ID(self) -> str:  # noqa: N802
        return self.app_id

    @property
    def APP_PASSWORD(self) -> str:  # noqa: N802
        return self.app_password

    @property
    def APP_TYPE(self) -> str:  # noqa: N802
        return self.app_type

    @property
    def APP_TENANTID(self) -> str:  # noqa: N802
        return self.app_tenant_id

    def __getattr__(self, name: str):
        # Only reached for attributes not defined above: SDK configuration keys.
        sdk = object.__getattribute__(self, "sdk")
        if name in _SDK_PASSTHROUGH and name in sdk:
            return sdk[name]
        raise AttributeError(name)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)

        def num(name: str, default, kind=float):
            value = env.get(name, "").strip()
            return kind(value) if value else default

        return cls(
            app_id=env.get("MicrosoftAppId", "").strip(),
            app_password=env.get("MicrosoftAppPassword", ""),
            app_type=env.get("MicrosoftAppType", "").strip() or "MultiTenant",
            app_tenant_id=env.get("MicrosoftAppTenantId", "").strip(),
            host=env.get("HOST", "").strip() or ("0.0.0.0" if env.get("MicrosoftAppId", "").strip() else "127.0.0.1"),
            port=num("PORT", 3978, int),
            index_dir=Path(env["INDEX_DIR"]) if env.get("INDEX_DIR") else DEFAULT_INDEX,
            sources_file=Path(env["SOURCES_FILE"]) if env.get("SOURCES_FILE") else DEFAULT_SOURCES,
            feedback_db=Path(env["FEEDBACK_DB"]) if env.get("FEEDBACK_DB") else DEFAULT_FEEDBACK_DB,
            database_url=env.get("DATABASE_URL", "").strip(),
            user_hash_salt=env.get("USER_HASH_SALT", "") or DEFAULT_SALT,
            dapa_email=env.get("DAPA_EMAIL", "").strip() or DAPA_EMAIL,
            handbook_url=env.get("HANDBOOK_URL", "").strip().rstrip("/") or HANDBOOK_URL,
            reload_seconds=num("INDEX_RELOAD_SECONDS", 10.0),
            send_retries=num("CONNECTOR_RETRIES", 4, int),
            retry_base_seconds=num("CONNECTOR_RETRY_BASE_SECONDS", 0.5),
            send_timeout_seconds=num("CONNECTOR_TIMEOUT_SECONDS", 15.0),
            max_sends_in_flight=num("CONNECTOR_MAX_IN_FLIGHT", 32, int),
            max_sends_outstanding=num("CONNECTOR_MAX_OUTSTANDING", 1000, int),
            body_timeout_seconds=num("BODY_TIMEOUT_SECONDS", 10.0),
            header_timeout_seconds=num("HEADER_TIMEOUT_SECONDS", 15.0),
            typing_delay_seconds=num("TYPING_DELAY_SECONDS", 0.4),
            openid_timeout_seconds=num("OPENID_TIMEOUT_SECONDS", 5.0),
            handoff_mentions=parse_mentions(env.get("HANDOFF_MENTIONS", "")),
            triage_conversation_id=env.get("TRIAGE_CONVERSATION_ID", "").strip(),
            triage_service_url=env.get("TRIAGE_SERVICE_URL", "").strip(),
            sdk={k: env[k] for k in _SDK_PASSTHROUGH if env.get(k)},
        )


@dataclass(frozen=True)
class Mention:
    """Someone a channel hand-off @mentions: a Teams tag (``kind`` "tag") or a person ("user")."""

    kind: str    # "tag" | "user"
    id: str      # tag id (Microsoft Graph teamworkTag id) or the user's Entra object id / Teams id
    name: str    # shown as @name


def parse_mentions(value: str) -> tuple[Mention, ...]:
    """``HANDOFF_MENTIONS``: ``;``-separated ``tag:<id>=<name>`` or ``user:<id>=<name>`` entries.

    Raises ``ValueError`` naming the entry that does not fit, so a typo stops the bot at start-up
    instead of silently mentioning nobody."""
    out = []
    for entry in (e.strip() for e in value.split(";")):
        if not entry:
            continue
        kind, _, rest = entry.partition(":")
        ident, _, name = rest.partition("=")
        kind, ident, name = kind.strip().lower(), ident.strip(), name.strip()
        if kind not in ("tag", "user") or not ident or not name or "<" in name or ">" in name:
            raise ValueError(f"HANDOFF_MENTIONS entry {entry!r} is not tag:<id>=<name> or user:<id>=<name>")
        out.append(Mention(kind, ident, name))
    return tuple(out)
