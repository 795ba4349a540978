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
    host: str = "0.0.0.0"              # HOST
    port: int = 3978                   # PORT
    index_dir: Path = DEFAULT_INDEX    # INDEX_DIR
    sources_file: Path = DEFAULT_SOURCES      # SOURCES_FILE: what to build when there is no index yet
    feedback_db: Path = DEFAULT_FEEDBACK_DB   # FEEDBACK_DB (SQLite file)
    database_url: str = ""             # DATABASE_URL (PostgreSQL; wins over FEEDBACK_DB)
    user_hash_salt: str = "handbook-bot"      # USER_HASH_SALT
    dapa_email: str = DAPA_EMAIL       # DAPA_EMAIL: where questions the handbook does not answer go
    handbook_url: str = HANDBOOK_URL   # HANDBOOK_URL: the published handbook (links of last resort)
    reload_seconds: float = 10.0       # INDEX_RELOAD_SECONDS: how often to look for a new index
    max_body_bytes: int = 256 * 1024   # request bodies above this get 413
    send_retries: int = 4              # CONNECTOR_RETRIES: extra attempts for a failed send
    retry_base_seconds: float = 0.5    # CONNECTOR_RETRY_BASE_SECONDS: first backoff, doubled each time
    retry_max_seconds: float = 20.0    # longest wait, also the cap on Retry-After
    typing_delay_seconds: float = 0.4  # TYPING_DELAY_SECONDS: show "typing" when an answer takes longer
    sdk: dict = field(default_factory=dict)   # TO_BOT_FROM_* and other SDK configuration passthrough

    @property
    def local_mode(self) -> bool:
        return not self.app_id

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
            host=env.get("HOST", "").strip() or "0.0.0.0",
            port=num("PORT", 3978, int),
            index_dir=Path(env["INDEX_DIR"]) if env.get("INDEX_DIR") else DEFAULT_INDEX,
            sources_file=Path(env["SOURCES_FILE"]) if env.get("SOURCES_FILE") else DEFAULT_SOURCES,
            feedback_db=Path(env["FEEDBACK_DB"]) if env.get("FEEDBACK_DB") else DEFAULT_FEEDBACK_DB,
            database_url=env.get("DATABASE_URL", "").strip(),
            user_hash_salt=env.get("USER_HASH_SALT", "") or "handbook-bot",
            dapa_email=env.get("DAPA_EMAIL", "").strip() or DAPA_EMAIL,
            handbook_url=env.get("HANDBOOK_URL", "").strip().rstrip("/") or HANDBOOK_URL,
            reload_seconds=num("INDEX_RELOAD_SECONDS", 10.0),
            send_retries=num("CONNECTOR_RETRIES", 4, int),
            retry_base_seconds=num("CONNECTOR_RETRY_BASE_SECONDS", 0.5),
            typing_delay_seconds=num("TYPING_DELAY_SECONDS", 0.4),
            sdk={k: env[k] for k in _SDK_PASSTHROUGH if env.get(k)},
        )
