"""Read just enough of uv's argv to know what was asked.

uv's options are not re-implemented: this module only finds the subcommand,
the options that change where uv looks (``--directory``, ``--project``,
``-p/--python``, ``--script``, ``--no-config``, ``-q``, ``--offline``), and
whether the command needs a Python interpreter at all.  Everything is passed to
uv unchanged.  Stdlib only: this runs on every call.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: this is the hot path
    from collections.abc import Sequence


# Options that take a value, in any uv subcommand (checked against `uv <cmd> --help`
# by tests/test_argv.py).  `--script` is special: a flag for `run`, a value elsewhere.
VALUE_OPTIONS = frozenset(
    [
        "--allow-insecure-host", "--annotation-style", "--author-from", "--bounds", "--branch",
        "--build-backend", "--build-constraints", "--bump", "--cache-dir", "--cert", "--color",
        "--config-file", "--config-setting", "--config-settings-package", "--constraints",
        "--custom-compile-command", "--default-index", "--depth", "--description", "--directory",
        "--editable", "--env-file", "--exclude-newer", "--exclude-newer-package", "--excludes",
        "--extra", "--extra-index-url", "--find-links", "--fork-strategy", "--format", "--from",
        "--graalpy-mirror", "--group", "--index", "--index-strategy", "--index-url",
        "--install-dir", "--keyring-provider", "--link-mode", "--marker", "--mirror", "--name",
        "--no-binary", "--no-binary-package", "--no-build-isolation-package", "--no-build-package",
        "--no-editable-package", "--no-emit-package", "--no-extra", "--no-group",
        "--no-install-package", "--no-sources-package", "--only-binary", "--only-group",
        "--optional", "--out-dir", "--output-file", "--output-format", "--overrides", "--package",
        "--prefix", "--prerelease", "--prerelease-package", "--project", "--prompt", "--prune",
        "--pypy-mirror", "--pyodide-mirror", "--python", "--python-downloads-json-url",
        "--python-preference",
        "--python-platform", "--python-version", "--refresh-package", "--reinstall-package",
        "--requirements", "--resolution", "--rev", "--tag", "--target", "--torch-backend",
        "--upgrade-group", "--upgrade-package", "--vcs", "--with", "--with-editable",
        "--with-executables-from", "--with-requirements",
    ]
)
SHORT_VALUE_OPTIONS = frozenset("pwifPCrcmebtod")
# uv subcommands that group further subcommands.
GROUPS = frozenset({"pip", "tool", "python", "cache", "self", "auth", "workspace", "help"})
# Commands that never look for an interpreter: no Nix, no environment change.
NO_INTERPRETER = frozenset(
    {
        ("help",),
        ("cache",),
        ("self",),
        ("auth",),
        ("publish",),
        ("format",),
        ("workspace",),
        ("generate-shell-completion",),
        ("python", "dir"),
        ("python", "uninstall"),
        ("python", "update-shell"),
        ("tool", "dir"),
        ("tool", "list"),
        ("tool", "uninstall"),
        ("tool", "update-shell"),
    }
)
# Commands that sync the project's environment: uv looks for the version file from the
# workspace root (ProjectEnvironment::get_or_init), wherever in the workspace it runs.  The
# others (`uv lock`, `venv`, `tree`, `export`, `python find`, and `add`/`remove`/`run` with
# --frozen, --no-sync or --isolated) start from the directory they run in.
ENVIRONMENT_COMMANDS = frozenset({("run",), ("sync",), ("add",), ("remove",), ("version",)})
_NO_ENVIRONMENT_FLAGS = frozenset({"--frozen", "--no-sync", "--isolated"})
# Commands whose trailing words are another program's arguments.
PASSTHROUGH_TAIL = frozenset({("run",), ("tool", "run")})


class Invocation:
    """What uv was asked, as far as uvx-nix needs to know (immutable by convention).

    A plain slotted class rather than a dataclass: this module is on the hot path
    and ``dataclasses`` costs more to import than the whole cache hit.
    """

    __slots__ = ("args", "command", "config_file", "directory", "help", "no_config", "offline",
                 "positionals", "preference", "project", "python", "quiet", "script", "tail",
                 "version")

    def __init__(
        self,
        args: tuple[str, ...],
        command: tuple[str, ...] = (),
        directory: str | None = None,
        project: str | None = None,
        python: str | None = None,
        script: str | None = None,
        no_config: bool = False,
        quiet: int = 0,
        offline: bool = False,
        help: bool = False,
        version: bool = False,
        positionals: tuple[str, ...] = (),
        tail: tuple[str, ...] = (),
        preference: bool = False,
        config_file: str | None = None,
    ) -> None:
        self.args = args
        self.preference = preference
        self.config_file = config_file
        self.command = command
        self.directory = directory
        self.project = project
        self.python = python
        self.script = script
        self.no_config = no_config
        self.quiet = quiet
        self.offline = offline
        self.help = help
        self.version = version
        self.positionals = positionals
        self.tail = tail

    def _key(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Invocation) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"Invocation({fields})"

    @property
    def own(self) -> bool:
        """``uvx-nix nix ...``: one of uvx-nix's own commands."""
        return self.command[:1] == ("nix",)

    @property
    def syncs_environment(self) -> bool:
        """A command that syncs the project's environment (see ENVIRONMENT_COMMANDS)."""
        if self.command[:1] not in ENVIRONMENT_COMMANDS:
            return False
        options = self.args[: len(self.args) - len(self.tail)]
        return not any(a in _NO_ENVIRONMENT_FLAGS for a in options)

    @property
    def scope(self) -> str:
        """What, beyond the directory and flags, decides the request: part of the hot key."""
        if self.command[:1] == ("tool",):
            return "tool"
        if self.command[:1] == ("python",):
            return "python:" + (self.positionals[0] if self.positionals else "")
        return "environment" if self.syncs_environment else ""

    @property
    def needs_interpreter(self) -> bool:
        if self.help or self.version or not self.command or self.own:
            return False
        if "--generate-shell-completion" in self.args[: len(self.args) - len(self.tail)]:
            return False  # `uvx --generate-shell-completion bash`
        if self.command[:1] in NO_INTERPRETER or self.command[:2] in NO_INTERPRETER:
            return False
        if self.command == ("version",):
            # `uv version` only reads; setting or bumping the version re-locks and syncs.
            return bool(self.positionals) or "--bump" in self.args
        return self.command[0] not in GROUPS or len(self.command) > 1


def short_cluster(token: str) -> tuple[list[str], str | None]:
    """Split ``-qqp3.12`` into flags and an attached value for the last option."""
    flags: list[str] = []
    body = token[1:]
    for i, ch in enumerate(body):
        flags.append(ch)
        if ch in SHORT_VALUE_OPTIONS:
            rest = body[i + 1 :]
            return flags, (rest.removeprefix("=") if rest else None)
    return flags, None


def parse(args: Sequence[str]) -> Invocation:  # noqa: PLR0915 - one flat scan of argv
    """Read uv's argv.  Never raises: anything unknown is left for uv to judge."""
    args = tuple(args)
    fields: dict[str, object] = {}
    command: list[str] = []
    positionals: list[str] = []
    tail: tuple[str, ...] = ()
    quiet = 0
    i = 0
    expecting_subcommand = True
    while i < len(args):
        token = args[i]
        i += 1
        if token == "--":  # noqa: S105 - not a password
            tail = args[i:]
            break
        if token.startswith("--") and len(token) > 2:
            name, eq, value = token.partition("=")
            if name in VALUE_OPTIONS or (name == "--script" and command != ["run"]):
                if not eq:
                    if i >= len(args):
                        break
                    value = args[i]
                    i += 1
                key = {
                    "--directory": "directory",
                    "--project": "project",
                    "--python": "python",
                    "--script": "script",
                    "--config-file": "config_file",
                }.get(name)
                if key:
                    fields[key] = value
                if name == "--python-preference":
                    fields["preference"] = True
            elif name == "--script":
                fields["run_script_flag"] = True
            elif name in ("--managed-python", "--no-managed-python"):
                fields["preference"] = True
            elif name == "--quiet":
                quiet += 1
            elif name == "--no-config":
                fields["no_config"] = True
            elif name == "--offline":
                fields["offline"] = True
            elif name == "--help":
                fields["help"] = True
            elif name == "--version" and not command:
                fields["version"] = True
            continue
        if token.startswith("-") and len(token) > 1:
            flags, short_value = short_cluster(token)
            quiet += flags.count("q")
            if "h" in flags:
                fields["help"] = True
            if "V" in flags and not command:
                fields["version"] = True
            if "s" in flags and command == ["run"]:
                fields["run_script_flag"] = True
            last = flags[-1]
            if last in SHORT_VALUE_OPTIONS:
                if short_value is None:
                    if i >= len(args):
                        break
                    short_value = args[i]
                    i += 1
                if last == "p":
                    fields["python"] = short_value
            continue
        # A positional word.
        if expecting_subcommand:
            command.append(token)
            if command == ["nix"]:
                tail = args[i:]
                break
            if not (len(command) == 1 and token in GROUPS):
                expecting_subcommand = False
            continue
        if tuple(command) in PASSTHROUGH_TAIL:
            positionals.append(token)
            tail = args[i:]
            break
        positionals.append(token)
    script = fields.get("script")
    if command == ["run"] and positionals and script is None:
        target = positionals[0]
        if fields.get("run_script_flag") or target.endswith((".py", ".pyw")) or target == "-":
            script = target
    return Invocation(
        args=args,
        command=tuple(command),
        directory=_str(fields.get("directory")),
        project=_str(fields.get("project")),
        python=_str(fields.get("python")),
        script=_str(script),
        no_config=bool(fields.get("no_config")),
        quiet=quiet,
        offline=bool(fields.get("offline")),
        help=bool(fields.get("help")) or command[:1] == ["help"] or not command,
        version=bool(fields.get("version")),
        positionals=tuple(positionals),
        tail=tail,
        preference=bool(fields.get("preference")),
        config_file=_str(fields.get("config_file")),
    )


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def sync(directory: str | None = None, python: str | None = None) -> Invocation:
    """What `uv [--directory DIR] sync [--python P]` asks: uvx-nix's own commands look at a
    project the way that call would."""
    words = ["--directory", directory] if directory else []
    words.append("sync")
    if python:
        words += ["--python", python]
    return parse(words)
