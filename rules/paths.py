"""Workspace paths file actions may not touch, whatever the run's policy says.

Pure rules on a path's names, applied twice: by the policy in workflow code (on the path
as planned, before any I/O) and by the file activities (again on the real path, every
symlink resolved). Names are compared Unicode-normalised (NFKC) and case-folded, with
trailing dots and spaces and any ``:stream`` suffix dropped, because Windows and macOS
file systems ignore those: ``.GIT``, ``Setup.PY``, ``x.py.`` and ``.git::$INDEX_ALLOCATION``
meet the rule of ``.git``, ``setup.py`` and ``x.py``.

Never read or written: hidden names (``.git``, ``.env``, ``.venv``, ``.agent-state``,
``.ssh``, ``.bashrc``, ``.github``...) and key or credential files. Never written: code
and executables, build/packaging/tool configuration, virtual environments and package
folders. Everything else in the workspace is data.
"""

from __future__ import annotations

import re
import unicodedata

from durable_agents.rules.patches import applies

WRITING_FILE_ACTIONS = frozenset({"file_write", "file_append", "file_delete", "file_move"})
PATCH = "protected-paths-v1"

HIDDEN_RULE = (
    "hidden files and folders (a name starting with '.': .git, .env, .venv, .agent-state, "
    ".ssh, .bashrc, .github...) are never read or written"
)
SECRET_RULE = (
    "key and credential files (*.pem, *.key, *.p12, id_rsa..., a 'secrets' folder) are "
    "never read or written"
)
CODE_RULE = (
    "code and executables (*.py, *.pth, *.sh, *.ps1, *.bat, *.exe, *.so, *.js...) are never written"
)
CONFIG_RULE = (
    "build, packaging and tool configuration (*.toml, *.cfg, *.ini, *.conf, Makefile, "
    "Dockerfile, requirements*.txt, package.json...) is never written"
)
ENV_RULE = (
    "virtual environments and package folders (venv, site-packages, node_modules, "
    "__pycache__) are never written"
)

SECRET_SUFFIXES = frozenset({".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".kdbx"})
SECRET_PREFIXES = ("id_rsa", "id_dsa", "id_ecdsa", "id_ed25519")
SECRET_FOLDERS = frozenset({"secrets"})
CODE_SUFFIXES = frozenset(
    {
        *(".py", ".pyc", ".pyo", ".pyd", ".pyw", ".pyz", ".pth", ".pyx", ".ipynb"),
        *(".sh", ".bash", ".zsh", ".ksh", ".csh", ".fish", ".command"),
        *(".ps1", ".psm1", ".psd1", ".bat", ".cmd", ".com", ".exe", ".msi", ".vbs", ".scr"),
        *(".dll", ".so", ".dylib", ".js", ".mjs", ".cjs", ".jar", ".rb", ".pl", ".php"),
    }
)
CONFIG_SUFFIXES = frozenset({".toml", ".cfg", ".ini", ".conf"})
CONFIG_NAMES = frozenset(
    {
        *("makefile", "gnumakefile", "dockerfile", "containerfile", "justfile"),
        *("vagrantfile", "jenkinsfile", "procfile", "gemfile", "rakefile"),
        *("pipfile", "pipfile.lock", "poetry.lock", "uv.lock", "package.json"),
        *("package-lock.json", "yarn.lock", "pnpm-lock.yaml", "compose.yml", "compose.yaml"),
        *("azure-pipelines.yml", "bitbucket-pipelines.yml"),
    }
)
CONFIG_PREFIXES = ("requirements", "constraints", "dockerfile.", "docker-compose")
ENV_FOLDERS = frozenset({"venv", "site-packages", "dist-packages", "node_modules", "__pycache__"})
SHORT_NAME = re.compile(r"^git~\d+$")  # the 8.3 alias Windows gives .git


def normal_name(name: str) -> str:
    """How a file system that ignores case, Unicode form, trailing dots/spaces and NTFS
    stream suffixes sees a name."""
    name = unicodedata.normalize("NFKC", name).casefold().split(":")[0]
    return name if name in (".", "..") else name.rstrip(". ")


def names(path: str) -> list[str]:
    """The normalised names along a relative path (``.`` and empty parts left out)."""
    parts = (normal_name(part) for part in path.replace("\\", "/").split("/"))
    return [part for part in parts if part and part != "."]


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


def _read_rule(parts: list[str]) -> str | None:
    if any((part.startswith(".") and part != "..") or SHORT_NAME.match(part) for part in parts):
        return HIDDEN_RULE
    last = parts[-1]
    if (
        any(part in SECRET_FOLDERS for part in parts)
        or _suffix(last) in SECRET_SUFFIXES
        or last.startswith(SECRET_PREFIXES)
    ):
        return SECRET_RULE
    return None


def _write_rule(parts: list[str]) -> str | None:
    if any(part in ENV_FOLDERS for part in parts):
        return ENV_RULE
    last = parts[-1]
    if _suffix(last) in CODE_SUFFIXES:
        return CODE_RULE
    if _suffix(last) in CONFIG_SUFFIXES or last in CONFIG_NAMES or last.startswith(CONFIG_PREFIXES):
        return CONFIG_RULE
    return None


def protected_rule(path: str, *, writing: bool) -> str | None:
    """The rule that protects ``path`` (relative to the workspace), or None."""
    parts = names(path)
    if not parts:
        return None
    return _read_rule(parts) or (_write_rule(parts) if writing else None)


def target_problem(action: str, path: str) -> str | None:
    """Why a file action may not use ``path``, before any I/O: a protected name, or (for
    actions that write) the workspace itself or a folder instead of a file."""
    writing = action in WRITING_FILE_ACTIONS
    rule = protected_rule(path, writing=writing)
    if rule:
        return f"path {path!r} is protected: {rule}; use another path"
    if writing and not names(path):
        return f"path {path!r} is the workspace itself; name a file inside it"
    if writing and path.rstrip().endswith(("/", "\\")):
        return f"path {path!r} names a folder; {action} needs a file name"
    return None


def rules_apply() -> bool:
    """Workflow code applies these rules behind a patch, so runs started before them
    replay as they ran; everywhere else (starter, activities, tests) they always apply."""
    return applies(PATCH)
