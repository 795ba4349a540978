"""Build the Teams app package: fill manifest.json's placeholders, draw the icons, zip them.

    python -m deploy.teams.package [--out deploy/teams/build/handbook-bot.zip]     (or: make teams-package)

Placeholders and where they come from (environment):
    {{BOT_ID}}        BOT_ID or MicrosoftAppId: the bot's Microsoft App ID (a GUID; required)
    {{TEAMS_APP_ID}}  TEAMS_APP_ID (a GUID; default: the bot id)
    {{APP_VERSION}}   APP_VERSION (default: the version in pyproject.toml); raise it for every upload
    {{PRIVACY_URL}}   PRIVACY_URL (default below)
    {{TERMS_URL}}     TERMS_URL (default below)
When deploy/teams/node_modules holds Microsoft's manifest schema (make teams-schema), the filled
manifest is validated against it before the zip is written.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import zipfile
from pathlib import Path

from deploy.teams.icons import color_icon, outline_icon

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TEMPLATE = HERE / "manifest.json"
DEFAULT_OUT = HERE / "build" / "handbook-bot.zip"
SCHEMA_ROOT = HERE / "node_modules" / "@microsoft" / "app-manifest" / "build" / "json-schemas" / "teams"
DEFAULTS = {
    "PRIVACY_URL": "https://portal.ct.gov/policies/state-privacy-policy",
    "TERMS_URL": "https://portal.ct.gov/policies/terms-of-use",
}
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")



class PackageError(Exception):
    pass


def project_version() -> str:
    match = re.search(r'^version\s*=\s*"([^"]+)"', (REPO / "pyproject.toml").read_text(encoding="utf-8"), re.M)
    return match.group(1) if match else "1.0.0"


def values_from_env(env: dict[str, str]) -> dict[str, str]:
    bot_id = (env.get("BOT_ID") or env.get("MicrosoftAppId") or "").strip()
    if not bot_id:
        raise PackageError("set MicrosoftAppId (or BOT_ID) to the bot's Microsoft App ID")
    values = {"BOT_ID": bot_id, "TEAMS_APP_ID": (env.get("TEAMS_APP_ID") or bot_id).strip(),
              "APP_VERSION": (env.get("APP_VERSION") or project_version()).strip()}
    for key, default in DEFAULTS.items():
        values[key] = (env.get(key) or default).strip()
    for key in ("BOT_ID", "TEAMS_APP_ID"):
        if not GUID.match(values[key]):
            raise PackageError(f"{key} must be a GUID like 00000000-0000-0000-0000-000000000000, not {values[key]!r}")
    return values


def fill(template: str, values: dict[str, str]) -> dict:
    missing = sorted(set(PLACEHOLDER.findall(template)) - set(values))
    if missing:
        raise PackageError(f"no value for {', '.join(missing)}")
    return json.loads(PLACEHOLDER.sub(lambda m: json.dumps(values[m.group(1)])[1:-1], template))


def schema_file(manifest: dict) -> Path:
    return SCHEMA_ROOT / f"v{manifest['manifestVersion']}" / "MicrosoftTeams.schema.json"


def schema_errors(manifest: dict, schema_path: Path | None = None) -> list[str]:
    """Messages of every violation of Microsoft's schema (empty when valid)."""
    import jsonschema

    schema = json.loads((schema_path or schema_file(manifest)).read_text(encoding="utf-8-sig"))
    validator = jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path)))]


def build_package(out: Path, env: dict[str, str]) -> dict:
    manifest = fill(TEMPLATE.read_text(encoding="utf-8"), values_from_env(env))
    if schema_file(manifest).is_file():
        errors = schema_errors(manifest)
        if errors:
            raise PackageError("manifest does not match Microsoft's schema:\n  " + "\n  ".join(errors))
    else:
        print(f"note: {schema_file(manifest)} absent (make teams-schema); schema not checked", file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        z.writestr("color.png", color_icon())
        z.writestr("outline.png", outline_icon())
    os.replace(tmp, out)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    try:
        manifest = build_package(args.out, dict(os.environ))
    except PackageError as exc:
        print(f"teams-package: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} (app {manifest['id']}, bot {manifest['bots'][0]['botId']}, "
          f"version {manifest['version']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
