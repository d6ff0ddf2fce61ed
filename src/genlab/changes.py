"""What the workspace changed against HEAD: params and metrics, as `dvc params diff` and
`dvc metrics diff` print them, for the report page of an experiment.

HEAD's versions are read with `git show HEAD:./FILE`. Only files HEAD holds are compared (a
first run has nothing to compare with), and the result holds values, never a commit id or a
date, so the same workspace and the same committed files give the same comparison.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from genlab.report import cell, flatten


@dataclass(frozen=True)
class Change:
    """One param or metric whose value differs; None where one side lacks the key."""

    path: str
    key: str
    head: object
    workspace: object

    @property
    def delta(self) -> str:
        """workspace - HEAD for two numbers, else "-" (as `dvc metrics diff` shows it)."""
        numbers = (int, float)
        if isinstance(self.head, bool) or isinstance(self.workspace, bool):
            return "-"
        if isinstance(self.head, numbers) and isinstance(self.workspace, numbers):
            return cell(self.workspace - self.head)
        return "-"


@dataclass(frozen=True)
class Comparison:
    """The params and metrics that differ from HEAD."""

    params: tuple[Change, ...]
    metrics: tuple[Change, ...]


def _git(folder: Path, *args: str) -> bytes | None:
    try:
        proc = subprocess.run(["git", *args], cwd=folder, capture_output=True, check=False)
    except OSError:  # no git on this machine
        return None
    return proc.stdout if proc.returncode == 0 else None


def committed(path: Path) -> str | None:
    """The text of `path` at HEAD, or None: not in git, no commit yet, or not in HEAD."""
    text = _git(path.parent, "show", f"HEAD:./{path.name}")
    return None if text is None else text.decode("utf-8")


def has_head(folder: Path) -> bool:
    """Whether `folder` is inside a git repository with at least one commit."""
    return _git(folder, "rev-parse", "--verify", "--quiet", "HEAD") is not None


def differences(path: str, head: dict[str, object], work: dict[str, object]) -> list[Change]:
    """Every key whose value differs between two flat mappings, sorted by key."""
    keys = sorted(set(head) | set(work))
    return [Change(path, k, head.get(k), work.get(k)) for k in keys if head.get(k) != work.get(k)]


def compare_with_head(params: Path, metrics: list[Path]) -> Comparison | None:
    """The workspace's params file and metrics files against HEAD's; None without a commit."""
    if not has_head(params.parent):
        return None
    found: dict[Path, tuple[dict, dict]] = {}
    for path, load in [(params, yaml.safe_load)] + [(m, json.loads) for m in metrics]:
        text = committed(path)
        if text is not None:
            found[path] = (flatten(load(text) or {}), flatten(load(path.read_text()) or {}))
    changed = {p: differences(p.as_posix(), *pair) for p, pair in found.items()}
    return Comparison(
        params=tuple(changed.get(params, [])),
        metrics=tuple(c for p, rows in changed.items() if p != params for c in rows),
    )


def comparison_markdown(comparison: Comparison | None) -> str:
    """The comparison as markdown: a sentence, then a params table and a metrics table."""
    out = ["## Compared with HEAD", ""]
    if comparison is None:
        return "\n".join(out + ["No git commit to compare with (not a git repository).", ""])
    out += [
        "What differs between the workspace and HEAD in the params file and the metrics files",
        "(what `dvc params diff` and `dvc metrics diff` print); a file HEAD lacks is not compared.",
        "",
    ]
    if not comparison.params and not comparison.metrics:
        return "\n".join(out + ["No differences: the workspace matches HEAD.", ""])
    for title, rows in (("Params", comparison.params), ("Metrics", comparison.metrics)):
        out += [f"### {title} that differ", ""]
        if not rows:
            out += ["None.", ""]
            continue
        out += [f"| path | {title.lower()[:-1]} | HEAD | workspace | change |", "|" + "---|" * 5]
        for c in rows:
            head = "-" if c.head is None else cell(c.head)
            work = "-" if c.workspace is None else cell(c.workspace)
            out.append(f"| {c.path} | {c.key} | {head} | {work} | {c.delta} |")
        out.append("")
    return "\n".join(out)
