"""The corpus of invalid spec sets and the exact text each must produce.

Each case is a ``*.yaml`` file, or a directory (a spec set of several files), in this folder.
Its expected output is written in the case itself as comment lines::

    # expect: <file>:<line>:<col>: <message>

one line per error, in the order they are printed (sorted by location); in a directory case the
lines may sit in any of its files. ``<file>`` is relative to this folder.

Convention: the expected text is the *full* text of the ``SpecErrors`` raised by ``load_spec``
(``str(exc)``), which is exactly what ``reconciler validate`` prints before exiting 1. File
names in it are the spec path as given plus the file's name, so ``Case.expected(...)`` renders
the lines for the path the case was loaded from.

Run every case with ``ENV`` as its environment (``os.environ`` updated with it is fine, provided
``RECONCILER_CORPUS_UNSET`` is not set): the encrypted cases need its key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parent

# A fixed test key; tokens in the corpus were made with a different one on purpose.
ENV: dict[str, str] = {"RECONCILER_SECRET_KEY": "KR_FfCG9Uy7Q4vJtO63PpFZgVJnNcJ_17kvfGJvdPis="}

_PREFIX = "# expect: "


@dataclass(frozen=True)
class Case:
    """One corpus case: its name, its path (file or directory) and its expected lines."""

    name: str
    path: Path
    expect: tuple[str, ...]

    def expected(self, base: Path | str = CORPUS) -> str:
        """The expected error text when the case is loaded as ``base / name`` (``base`` is how
        the corpus folder is spelled on the command line; absolute by default)."""
        lines = []
        for line in self.expect:
            file, rest = line.split(":", 1)
            lines.append(f"{Path(base) / file}:{rest}")
            # "(first at <file>:...)" names another corpus file: spell it the same way.
            if "(first at " in lines[-1]:
                head, tail = lines[-1].rsplit("(first at ", 1)
                lines[-1] = f"{head}(first at {Path(base) / tail}"
        return "\n".join(lines)


def _expect_lines(files: list[Path]) -> tuple[str, ...]:
    out: list[str] = []
    for file in files:
        for line in file.read_text(encoding="utf-8").splitlines():
            if line.startswith(_PREFIX):
                out.append(line[len(_PREFIX) :])
    return tuple(out)


def cases() -> list[Case]:
    """Every case in name order. A case without an ``# expect:`` line is an error here, so a
    new corpus file cannot silently test nothing."""
    out: list[Case] = []
    for path in sorted(CORPUS.iterdir()):
        if path.is_dir() and not path.name.startswith(("_", ".")):
            files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
        elif path.suffix in (".yaml", ".yml"):
            files = [path]
        else:
            continue
        expect = _expect_lines(files)
        if not expect:
            raise ValueError(f"{path}: corpus case without an '# expect:' line")
        out.append(Case(path.name, path, expect))
    return out


CASES: list[Case] = cases()
