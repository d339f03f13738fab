"""docs/providers.md followed mechanically: its worked example (every ``File `path`:`` block) is
written out as packages, registered the way the guide says for code kept outside the
repository (its registry lines turned into ``RECONCILER_PLUGINS`` / ``RECONCILER_SANDBOXES``),
its sandbox served by ``reconciler sandbox --only shelf``, and its example spec validated,
planned, applied and re-planned empty through the CLI, over HTTP; then a secret rotation, an
out-of-band change (drift) and a prune. Also: the guide's checklist holds for every registered
provider, and the registries refuse bad out-of-tree entries."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest

from reconciler.errors import ReconcilerError
from reconciler.providers import registry as providers
from reconciler.sandbox import registry as sandboxes

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "providers.md").read_text("utf-8")
FILE = re.compile(r"^File `([^`]+)`:\n\n```\w*\n(.*?)\n```$", re.M | re.S)
REGISTRY_LINE = re.compile(r"^Registry line `([^`]+)`:\n\n```python\n(.*?)\n```$", re.M | re.S)
ENTRY = re.compile(r'^    "(\w+)": "([\w.]+)",$')
SECRET = "rotate-me-4c1b0e"


def out_of_tree(module: str) -> str:
    """Where an in-repository module path of the guide lives as a package of its own."""
    if module.startswith("reconciler.providers."):
        return module.removeprefix("reconciler.providers.")
    name, _, rest = module.removeprefix("reconciler.sandbox.").partition(".")
    return f"{name}_sandbox.{rest}"


def materialise(tmp: Path) -> tuple[Path, dict[str, str], Path]:
    """The guide's files under ``tmp``: packages in ``tmp/pkgs``, the example spec set; and
    the registration variables its registry lines become."""
    files = FILE.findall(GUIDE)
    assert len(files) >= 8, "the worked example's files"
    example: Path | None = None
    for path, text in files:
        module = path.removesuffix(".py").replace("/", ".")
        if path.startswith("reconciler/"):
            target = tmp / "pkgs" / (out_of_tree(module).replace(".", "/") + ".py")
        elif path.startswith("examples/"):
            target = tmp / path
            example = target.parent
        else:
            raise AssertionError(f"the guide writes {path}, outside the provider's folders")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text + "\n", "utf-8")
    variables: dict[str, str] = {}
    for registry_file, line in REGISTRY_LINE.findall(GUIDE):
        entry = ENTRY.match(line)
        assert entry, f"{line!r} is not a registry entry"
        # the line has the shape of the real registry's lines
        real = (ROOT / registry_file).read_text("utf-8").splitlines()
        assert any(ENTRY.match(x) for x in real), registry_file
        variable = {
            "reconciler/providers/registry.py": providers.VARIABLE,
            "reconciler/sandbox/registry.py": sandboxes.VARIABLE,
        }[registry_file]
        variables[variable] = f"{entry.group(1)}={out_of_tree(entry.group(2))}"
    assert set(variables) == {providers.VARIABLE, sandboxes.VARIABLE}
    assert example is not None
    return tmp / "pkgs", variables, example


def cli(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from reconciler.cli.app import main; main()", *args],
        env=dict(env), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path, str]]:
    """The guide's sandbox served by the CLI: the environment to run the CLI with (exports and
    registrations included), the example spec set, and the command the sandbox prints."""
    pkgs, variables, example = materialise(tmp_path)
    env = os.environ | variables | {"PYTHONPATH": str(pkgs), "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from reconciler.cli.app import main; main()",
         "sandbox", "--only", "shelf", "--data", str(tmp_path / "sandbox")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        exports: dict[str, str] = {}
        while True:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "no output"
            if not line.startswith("export "):
                try_it = line.strip()
                break
            name, _, value = line.removeprefix("export ").strip().partition("=")
            exports[name] = value.strip("'\"")
        assert set(exports) == {"SHELF_URL", "SHELF_TOKEN"}
        env |= exports | {
            "RECONCILER_STATE": str(tmp_path / "state.db"),
            "DEPLOY_HOOK_SECRET": SECRET,
        }
        yield env, example, try_it
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            assert proc.wait(timeout=10) == 0
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            raise


def test_the_worked_example_plans_applies_and_converges(
    served: tuple[dict[str, str], Path, str], tmp_path: Path
) -> None:
    env, example, try_it = served
    if shutil.which("curl"):  # the command the sandbox prints works as printed
        shown = subprocess.run(["bash", "-c", try_it], env=env, capture_output=True, text=True)
        assert shown.stdout == '{"results":[]}'

    checked = cli(env, "validate", str(example))
    assert checked.returncode == 0, checked.stderr
    first = cli(env, "plan", str(example), "--detailed-exitcode", "--stats")
    assert first.returncode == 2, first.stderr
    assert "+ shelf.webhook.deploys" in first.stdout and "+ shelf.webhook.audit" in first.stdout
    assert "GET /webhooks/: 1" in first.stdout + first.stderr  # counted by the kit's client
    applied = cli(env, "apply", str(example), "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    again = cli(env, "plan", str(example), "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr

    hooks = httpx.get(
        f"{env['SHELF_URL']}/webhooks/", headers={"Authorization": f"Token {env['SHELF_TOKEN']}"}
    ).json()["results"]
    assert {h["name"]: h["secret"] for h in hooks} == {"deploys": "write-only", "audit": None}

    rotated = env | {"DEPLOY_HOOK_SECRET": SECRET + "-2"}  # a new secret is an update
    plan = cli(rotated, "plan", str(example), "--detailed-exitcode")
    assert plan.returncode == 2 and "~ shelf.webhook.deploys" in plan.stdout, plan.stdout
    assert cli(rotated, "apply", str(example), "--auto-approve").returncode == 0
    assert cli(rotated, "plan", str(example), "--detailed-exitcode").returncode == 0

    audit = next(h for h in hooks if h["name"] == "audit")  # someone edits it by hand
    httpx.patch(
        f"{env['SHELF_URL']}/webhooks/{audit['id']}/",
        headers={"Authorization": f"Token {env['SHELF_TOKEN']}"},
        json={"events": ["everything"]},
    ).raise_for_status()
    assert cli(rotated, "drift", str(example)).returncode == 2
    assert cli(rotated, "apply", str(example), "--auto-approve").returncode == 0
    assert cli(rotated, "plan", str(example), "--detailed-exitcode").returncode == 0

    spec = example / "shelf.yaml"  # audit leaves the spec: pruned
    text = spec.read_text("utf-8")
    spec.write_text(text[: text.index("    audit:")], "utf-8")
    plan = cli(rotated, "plan", str(example), "--detailed-exitcode")
    assert plan.returncode == 2 and "- shelf.webhook.audit" in plan.stdout, plan.stdout
    assert cli(rotated, "apply", str(example), "--auto-approve").returncode == 0
    assert cli(rotated, "plan", str(example), "--detailed-exitcode").returncode == 0

    for path in tmp_path.rglob("*"):  # the secrets never reached a file: state, sandbox, spec
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path

    schema = cli(env, "schema")
    assert '"shelf"' in schema.stdout  # the section is in the spec format


def test_every_registered_provider_has_what_the_guide_lists() -> None:
    """The guide's files, for every provider in the registry (``memory`` runs in process:
    no sandbox, no example)."""
    missing = []
    sandboxed = set(sandboxes.names())
    for name in providers.modules():
        needs = {
            f"tests/providers/test_{name}_suite.py": (
                ROOT / f"tests/providers/test_{name}_suite.py"
            ),
            f"specs/{name}.yaml": ROOT / "specs" / f"{name}.yaml",
        }
        missing += [f"{name}: {label}" for label, path in needs.items() if not path.is_file()]
        if name == "memory":
            continue
        if name not in sandboxed:
            missing.append(f"{name}: a sandbox in reconciler/sandbox/registry.py")
        if not any((ROOT / "examples").glob(f"{name}-*/")):
            missing.append(f"{name}: an example under examples/{name}-.../")
    assert missing == []


def test_out_of_tree_registration_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(providers.VARIABLE, "phase=somewhere.plugin")
    with pytest.raises(ReconcilerError, match="'phase' is already registered"):
        providers.plugins()
    monkeypatch.setenv(providers.VARIABLE, "shelf")
    with pytest.raises(ReconcilerError, match="'shelf' is not name=module"):
        providers.plugins()
    monkeypatch.setenv(providers.VARIABLE, "shelf=no_such_module_here.plugin")
    with pytest.raises(ReconcilerError, match=r"cannot load no_such_module_here\.plugin\.PLUGIN"):
        providers.plugins()
    monkeypatch.setenv(providers.VARIABLE, "shelf=reconciler.providers.memory")
    with pytest.raises(ReconcilerError, match="is not the 'shelf' plugin"):
        providers.plugins()
    monkeypatch.setenv(providers.VARIABLE, " , ")
    assert list(providers.plugins()) == list(providers.modules()) == list(providers._MODULES)
