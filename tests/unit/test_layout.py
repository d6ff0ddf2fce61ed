"""The architecture holds: one source of defaults, deps that follow the imports, thin stages,
and package boundaries (diffusion and gpt apart, science apart from plotting and the schema)."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from genlab.config import Config, load_config, parse_config
from genlab.diffusion.config import SamplerConfig
from genlab.images_config import ImagesConfig, load_images_config, parse_images_config
from genlab.report import flatten

ROOT = Path(__file__).resolve().parents[2]
# Each pipeline's dvc.yaml and the folder of its stage scripts (one script per stage).
PIPELINES = {"dvc.yaml": "stages", "images/dvc.yaml": "stages/images"}
SRC = ROOT / "src"
PACKAGE = SRC / "genlab"
STAGE_MAIN_MAX_LINES = 40


def _module_file(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imported_names(tree: ast.AST) -> list[str]:
    """Dotted names imported at run time (imports under `if TYPE_CHECKING:` never run)."""
    names: list[str] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        if _is_type_checking(node):
            todo.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        todo.extend(ast.iter_child_nodes(node))
    return names


def project_imports(path: Path) -> set[Path]:
    """Project files that importing `path` executes directly: modules and their packages."""
    found = set()
    for name in _imported_names(ast.parse(path.read_text())):
        parts = name.split(".")
        if parts[0] != "genlab":
            continue
        for i in range(1, len(parts) + 1):
            module = _module_file(".".join(parts[:i]))
            if module is not None:
                found.add(module)
    return found


def transitive_imports(script: Path) -> set[Path]:
    seen: set[Path] = set()
    todo = [script]
    while todo:
        for module in project_imports(todo.pop()):
            if module not in seen:
                seen.add(module)
                todo.append(module)
    return seen


def _only_docstring(path: Path) -> bool:
    body = ast.parse(path.read_text()).body
    return all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body)


def _stages(pipeline: str = "dvc.yaml") -> dict:
    return yaml.safe_load((ROOT / pipeline).read_text())["stages"]


def _all_stages() -> list[tuple[str, str]]:
    return [(pipeline, name) for pipeline in PIPELINES for name in sorted(_stages(pipeline))]


def _script(stage: dict, folder: str = "stages") -> Path:
    match = re.fullmatch(rf"python ({folder}/\w+\.py)", stage["cmd"])
    assert match, f"stage command {stage['cmd']!r} is not `python {folder}/NAME.py`"
    return ROOT / match.group(1)


# ---------------------------------------------------------------- DVC dependencies


@pytest.mark.parametrize(("pipeline", "name"), _all_stages())
def test_stage_deps_cover_every_module_its_script_imports(pipeline, name):
    stage = _stages(pipeline)[name]
    script = _script(stage, PIPELINES[pipeline])
    deps = set(stage["deps"])
    assert script.relative_to(ROOT).as_posix() in deps, f"{name}: its script is not a dep"
    missing = [
        module.relative_to(ROOT).as_posix()
        for module in sorted(transitive_imports(script))
        if not _only_docstring(module) and module.relative_to(ROOT).as_posix() not in deps
    ]
    assert not missing, f"stage {name} imports {', '.join(missing)} but does not list it in deps"


# The params file of each pipeline, and the stages that only read all of it (to check it, or
# to show it): a key tracked by these alone would change no result when edited.
PARAMS_FILES = {"dvc.yaml": "params.yaml", "images/dvc.yaml": "images/params.yaml"}
READ_ALL = {"check_params", "report"}


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
def test_every_param_is_tracked_by_a_stage_that_uses_it(pipeline):
    # Without this, `dvc exp run -S key=value` on an untracked key re-runs no computation and
    # leaves stale results beside the new value.
    params_file = PARAMS_FILES[pipeline]
    tracked: list[str] = []
    for name, stage in _stages(pipeline).items():
        if name in READ_ALL:
            continue
        for entry in stage.get("params", []):
            tracked += [entry] if isinstance(entry, str) else list(entry.get(params_file) or [])
    keys = list(flatten(yaml.safe_load((ROOT / params_file).read_text())))
    untracked = [k for k in keys if not any(k == t or k.startswith(t + ".") for t in tracked)]
    assert not untracked, f"{params_file}: no stage but {sorted(READ_ALL)} tracks {untracked}"


def test_figures_tracks_every_sampler_setting_its_tables_use():
    # The quality table runs every sampler kind with the configured options (the churn of
    # `edm` among them); only the step count, sample count and seed come from `figures`.
    declared = _stages()["figures"]["params"]
    own = {"steps", "n", "seed"}
    fields = [f.name for f in dataclasses.fields(SamplerConfig) if f.name not in own]
    missing = [f"sampler.{f}" for f in fields if f"sampler.{f}" not in declared]
    assert not missing, f"stage figures uses but does not track {missing}"


def test_dependency_check_sees_transitive_imports():
    # A stage that samples runs the samplers through the experiments module, never directly.
    found = transitive_imports(ROOT / "stages/sample.py")
    assert PACKAGE / "diffusion/samplers.py" in found
    assert PACKAGE / "diffusion/config.py" in found
    assert PACKAGE / "gpt/model.py" not in found


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
def test_one_script_per_stage_named_after_it(pipeline):
    folder = PIPELINES[pipeline]
    for name, stage in _stages(pipeline).items():
        assert _script(stage, folder).stem == name
    scripts = {p.stem for p in (ROOT / folder).glob("*.py")}
    assert scripts == set(_stages(pipeline))


def test_image_stages_run_from_the_root_and_read_their_params_file():
    fields = {f.name: f.default_factory() for f in dataclasses.fields(ImagesConfig)}
    for name, stage in _stages("images/dvc.yaml").items():
        assert stage.get("wdir") == "..", f"images/dvc.yaml:{name} must run in the root"
        for entry in stage.get("params", []):
            assert isinstance(entry, dict) and list(entry) == ["images/params.yaml"], name
            for key in entry["images/params.yaml"]:
                section, _, field = key.partition(".")
                assert section in fields, f"{name}: unknown section {section}"
                assert not field or hasattr(fields[section], field), f"{name}: unknown {key}"


# ---------------------------------------------------------------- defaults


def test_dataclass_defaults_equal_params_yaml():
    assert parse_config({}) == load_config(ROOT / "params.yaml")
    assert parse_images_config({}) == load_images_config(ROOT / "images/params.yaml")


@pytest.mark.parametrize(
    ("schema", "path"), [(Config, "params.yaml"), (ImagesConfig, "images/params.yaml")]
)
def test_params_yaml_lists_every_field(schema, path):
    raw = yaml.safe_load((ROOT / path).read_text())
    assert set(raw) == {f.name for f in dataclasses.fields(schema)}, path
    for section in dataclasses.fields(schema):
        keys = {f.name for f in dataclasses.fields(section.default_factory())}
        assert set(raw[section.name]) == keys, section.name


# ---------------------------------------------------------------- boundaries and size


def _modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).glob("*.py"))


def _genlab_imports(path: Path) -> set[str]:
    return {n for n in _imported_names(ast.parse(path.read_text())) if n.startswith("genlab")}


@pytest.mark.parametrize(
    ("folder", "other"),
    [("diffusion", "gpt"), ("gpt", "diffusion"), ("images", "gpt"), ("diffusion", "images")],
)
def test_model_families_never_import_each_other(folder, other):
    for path in _modules(folder):
        bad = [n for n in _genlab_imports(path) if n.startswith(f"genlab.{other}")]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_science_never_imports_plotting_or_the_schema():
    drawing = {"figures.py", "plotting.py"}
    for path in sorted(PACKAGE.glob("*/*.py")):
        names = _imported_names(ast.parse(path.read_text()))
        if path.name not in drawing:
            bad = [n for n in names if "plotting" in n or "matplotlib" in n or "figures" in n]
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
        assert "genlab.config" not in names, f"{path.relative_to(ROOT)} imports the schema"


def test_stage_mains_are_short():
    for script in sorted((ROOT / "stages").rglob("*.py")):
        main = next(
            n
            for n in ast.parse(script.read_text()).body
            if isinstance(n, ast.FunctionDef) and n.name == "main"
        )
        body = main.body[1:] if isinstance(main.body[0], ast.Expr) else main.body
        lines = body[-1].end_lineno - body[0].lineno + 1
        assert lines <= STAGE_MAIN_MAX_LINES, f"{script.name}: main body is {lines} lines"


def test_cited_docs_pages_exist():
    for path in sorted(PACKAGE.rglob("*.py")):
        for page in re.findall(r"docs/[\w_]+\.md", path.read_text()):
            assert (ROOT / page).is_file(), f"{path.relative_to(ROOT)} cites missing {page}"
