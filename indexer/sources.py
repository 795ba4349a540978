"""Knowledge sources: ``sources.toml`` entries -> Markdown files (and the git commit, if any)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from indexer.errors import SourceError
from indexer.urls import URL_STYLES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_INCLUDE = ("**/*.md", "**/*.markdown")
ALWAYS_EXCLUDE = ("**/.*/**", ".*/**", "**/node_modules/**", "node_modules/**", "_site/**", "vendor/**",
                  "_includes/**", "_layouts/**", "_sass/**", "_data/**")
GIT_TIMEOUT_S = 300


@dataclass(frozen=True)
class SourceSpec:
    """One ``[[source]]`` entry of sources.toml, with paths made absolute."""

    name: str
    site: str
    path: Path | None = None
    git: str | None = None
    ref: str | None = None
    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = ()
    enabled: bool = True
    url_style: str = "jekyll"


@dataclass
class SourceFile:
    rel_path: str
    data: bytes


@dataclass
class LoadedSource:
    spec: SourceSpec
    files: list[SourceFile]
    commit: str | None = None
    site_config: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # one line per file that could not be read
    left_out: list[str] = field(default_factory=list)  # Markdown files the include list leaves out


def load_sources(toml_path: str | Path) -> list[SourceSpec]:
    """Parse a sources.toml. Raises SourceError naming the file and entry on bad content."""
    toml_path = Path(toml_path)
    try:
        data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceError(f"{toml_path}: sources file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(f"{toml_path}: invalid TOML ({exc})") from None
    specs = []
    for i, entry in enumerate(data.get("source", [])):
        where = f"{toml_path} [[source]] #{i + 1}"
        name = entry.get("name") or f"source{i + 1}"
        if bool(entry.get("path")) == bool(entry.get("git")):
            raise SourceError(f"{where} ({name}): give exactly one of `path` or `git`")
        if not entry.get("site"):
            raise SourceError(f"{where} ({name}): `site` (the published base URL) is required")
        style = entry.get("url_style", "jekyll")
        if style not in URL_STYLES:
            raise SourceError(f"{where} ({name}): url_style must be one of {', '.join(URL_STYLES)}")
        git = entry.get("git")
        if git and not re.match(r"^[a-z+]+://|^git@", git):
            git = str((toml_path.parent / git).resolve())
        specs.append(SourceSpec(
            name=name,
            site=entry["site"].rstrip("/"),
            path=(toml_path.parent / entry["path"]).resolve() if entry.get("path") else None,
            git=git,
            ref=entry.get("ref"),
            include=tuple(entry.get("include") or DEFAULT_INCLUDE),
            exclude=tuple(entry.get("exclude") or ()),
            enabled=bool(entry.get("enabled", True)),
            url_style=style,
        ))
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise SourceError(f"{toml_path}: source names must be unique ({', '.join(names)})")
    return specs


def glob_to_regex(pattern: str) -> re.Pattern:
    """Glob with ``**`` (any depth), ``*`` and ``?`` (within one path segment) -> compiled regex."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _matches(rel_path: str, patterns) -> bool:
    return any(glob_to_regex(p).match(rel_path) for p in patterns)


def select_files(root: Path, include, exclude, left_out: list[str] | None = None) -> list[str]:
    """Source-relative paths (``/``-separated, sorted) under root that pass include/exclude.

    left_out: when given, receives the Markdown files (``DEFAULT_INCLUDE``) that are not excluded but
    that ``include`` does not list: a page added to the folder and forgotten in sources.toml."""
    selected = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        if _matches(rel, tuple(exclude) + ALWAYS_EXCLUDE):
            continue
        if _matches(rel, include):
            selected.append(rel)
        elif left_out is not None and _matches(rel, DEFAULT_INCLUDE):
            left_out.append(rel)
    if left_out is not None:
        left_out.sort()
    return sorted(selected)


def _git(args: list[str], cwd: Path | None = None) -> str:
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="true")
    proc = subprocess.run(["git", "-c", "protocol.file.allow=always", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=GIT_TIMEOUT_S)
    if proc.returncode != 0:
        lines = [line.strip() for line in (proc.stderr or proc.stdout).splitlines() if line.strip()]
        fatal = [line for line in lines if line.startswith(("fatal:", "error:"))]
        raise SourceError((fatal or lines or [f"git {args[0]} failed"])[0])
    return proc.stdout.strip()


def checkout_git(spec: SourceSpec, cache_dir: Path) -> tuple[Path, str]:
    """Clone or update ``spec.git`` into cache_dir/<name>; -> (work tree, commit sha)."""
    work = cache_dir / spec.name
    try:
        if (work / ".git").is_dir():
            _git(["remote", "set-url", "origin", spec.git], cwd=work)
            _git(["fetch", "--depth", "1", "origin", spec.ref or "HEAD"], cwd=work)
            _git(["checkout", "--force", "--detach", "FETCH_HEAD"], cwd=work)
        else:
            work.parent.mkdir(parents=True, exist_ok=True)
            args = ["clone", "--depth", "1", "--quiet"]
            if spec.ref:
                args += ["--branch", spec.ref]
            _git([*args, spec.git, str(work)])
        return work, _git(["rev-parse", "HEAD"], cwd=work)
    except (SourceError, subprocess.TimeoutExpired, OSError) as exc:
        raise SourceError(f"source {spec.name}: cannot fetch git repository {spec.git}: {exc}") from None


_CONFIG_NAMES = {
    "jekyll": ("_config.yml", "_config.yaml"),
    "hugo": ("hugo.yaml", "hugo.yml", "hugo.toml", "config.yaml", "config.yml", "config.toml"),
    "plain": (),
}


def _site_config(root: Path, style: str = "jekyll") -> dict:
    """The site generator's configuration (Jekyll ``_config.yml``, Hugo ``config.yml``/``hugo.toml``),
    looked up in the source root, or in its parent when the root is Hugo's ``content`` folder."""
    folders = [root, root.parent] if style == "hugo" and root.name == "content" else [root]
    for folder in folders:
        for name in _CONFIG_NAMES.get(style, ()):
            cfg = folder / name
            if cfg.is_file():
                text = cfg.read_text(encoding="utf-8", errors="replace")
                try:
                    data = tomllib.loads(text) if name.endswith(".toml") else yaml.safe_load(text)
                except (yaml.YAMLError, tomllib.TOMLDecodeError):
                    return {}
                return data if isinstance(data, dict) else {}
    return {}


def read_source(spec: SourceSpec, cache_dir: Path) -> LoadedSource:
    """Read every selected file of a source. Raises SourceError when the source itself is unusable."""
    commit = None
    if spec.git:
        root, commit = checkout_git(spec, cache_dir)
    else:
        root = spec.path
        if root is None or not root.exists():
            raise SourceError(f"source {spec.name}: folder or file not found: {root}")
    if root.is_file():
        return LoadedSource(spec, [SourceFile(root.name, root.read_bytes())], commit,
                            _site_config(root.parent, spec.url_style))
    config = _site_config(root, spec.url_style)
    exclude = tuple(spec.exclude) + tuple(f"{e.rstrip('/')}/**" if not any(c in e for c in "*?") else e
                                          for e in config.get("exclude") or [] if isinstance(e, str))
    files, problems, left_out = [], [], []
    for rel in select_files(root, spec.include, exclude, left_out):
        try:
            files.append(SourceFile(rel, (root / rel).read_bytes()))
        except OSError as exc:
            problems.append(f"{spec.name}:{rel}: cannot read ({exc.strerror or exc})")
    return LoadedSource(spec, files, commit, config, problems, [f"{spec.name}:{rel}" for rel in left_out])
