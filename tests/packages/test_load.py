"""Loading CWL application packages with cwltool's loader into Process descriptions."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ades.errors import InvalidPackage
from ades.packages.load import load_process

DATA = Path(__file__).parent / "data"
DEMO = Path(__file__).resolve().parents[2] / "workspaces" / "demo" / "processes"
ALL_OPTIONS = ("sync-execute", "async-execute", "dismiss")


def by_id(parameters):
    return {p.id: p for p in parameters}


def test_single_tool_from_a_file():
    process = load_process(DEMO / "echo.cwl", "demo")
    assert (process.id, process.workspace, process.version) == ("echo", "demo", "1.0.0")
    assert process.title == "Echo"
    assert process.description.startswith("The OGC API - Processes test process")
    assert process.entry is None
    assert process.job_control == ALL_OPTIONS
    assert process.package == (DEMO / "echo.cwl").read_text()
    assert process.mutable is False

    inputs = by_id(process.inputs)
    assert set(inputs) == {"stringInput", "pause", "mixedInput"}
    text = inputs["stringInput"]
    assert (text.schema, text.min_occurs, text.max_occurs, text.kind) == (
        {"type": "string"},
        1,
        1,
        "literal",
    )
    assert (text.title, text.description) == ("String input", "The string to echo back.")
    pause = inputs["pause"]
    assert (pause.schema, pause.min_occurs) == ({"type": "number"}, 0)
    output, mixed = process.outputs
    assert (output.id, output.schema, output.title) == (
        "echoOutput",
        {"type": "string"},
        "Echo output",
    )
    assert (mixed.id, mixed.schema) == (
        "mixedOutput",
        {"oneOf": [{"type": "string"}, {"type": "number"}]},
    )


def test_single_document_without_id_is_named_after_its_file():
    process = load_process(DATA / "anonymous.cwl", "ws")
    assert process.id == "anonymous"
    assert process.version == "0.0.0"
    assert (process.title, process.description) == (None, None)
    (n,) = process.inputs
    assert (n.id, n.default, n.min_occurs, n.schema) == (
        "n",
        3,
        0,
        {"type": "integer", "default": 3},
    )


def test_json_text_is_named_after_the_source_name():
    text = (DATA / "anonymous.cwl").read_text()
    process = load_process(text, "ws", source_name="counter.cwl", mutable=True)
    assert process.id == "counter"
    assert process.mutable is True
    assert process.package == text


def test_graph_with_main():
    process = load_process(DATA / "graph_main.cwl", "ws")
    assert process.entry == "#main"
    # "main" names the role; the package file names the process.
    assert process.id == "graph_main"
    # s:softwareVersion at the top of a $graph document.
    assert process.version == "2.1.0"
    assert (process.title, process.description) == (
        "Greeting workflow",
        "Greets someone through one tool step.",
    )
    (who,) = process.inputs
    assert (who.id, who.title, who.description) == ("who", "Who", "The name to greet.")
    (greeting,) = process.outputs
    assert (greeting.id, greeting.kind) == ("greeting", "File")


def test_graph_text_takes_its_id_from_the_source_name():
    text = (DATA / "graph_main.cwl").read_text()
    process = load_process(text, "ws", source_name="hello.cwl")
    assert (process.id, process.entry, process.package) == ("hello", "#main", text)


def test_graph_with_a_single_workflow_runs_that_workflow():
    process = load_process(DATA / "graph_single_workflow.cwl", "ws")
    assert (process.id, process.entry, process.title) == ("convert", "#convert", "Convert")


def test_graph_with_several_workflows_needs_a_workflow_id():
    with pytest.raises(InvalidPackage, match=r"no #main and 2 Workflows \(#shout, #whisper\)"):
        load_process(DATA / "graph_flows.cwl", "ws")


@pytest.mark.parametrize("workflow_id", ["whisper", "#whisper"])
def test_workflow_id_picks_the_entry(workflow_id):
    process = load_process(DATA / "graph_flows.cwl", "ws", workflow_id=workflow_id)
    assert (process.id, process.entry, process.title) == ("whisper", "#whisper", "Whisper")
    assert set(by_id(process.inputs)) == {"word", "times"}


def test_workflow_id_overrides_main():
    process = load_process(DATA / "graph_main.cwl", "ws", workflow_id="greet")
    assert (process.id, process.entry) == ("greet", "#greet")


def test_unknown_workflow_id():
    with pytest.raises(InvalidPackage, match=r"workflow 'loud' not found.*#say, #shout, #whisper"):
        load_process(DATA / "graph_flows.cwl", "ws", workflow_id="loud")


def test_workflow_id_of_a_single_document_must_match_it():
    assert load_process(DEMO / "echo.cwl", "ws", workflow_id="echo").id == "echo"
    with pytest.raises(InvalidPackage, match="holds one process, 'echo'"):
        load_process(DEMO / "echo.cwl", "ws", workflow_id="main")


def test_expression_tool_and_doc_as_a_list():
    process = load_process(DATA / "expression.cwl", "ws")
    assert process.id == "expression"
    assert process.description == "Doubles a number.\nWritten as an ExpressionTool."
    assert [o.id for o in process.outputs] == ["doubled"]


def test_invalid_document_names_the_line():
    with pytest.raises(InvalidPackage) as caught:
        load_process(DATA / "invalid.cwl", "ws")
    message = str(caught.value)
    assert "invalid.cwl:6:5:" in message
    assert "unknown identifier 'strnig'" in message


def test_invalid_text_is_reported_under_its_source_name():
    text = (DATA / "invalid.cwl").read_text()
    with pytest.raises(InvalidPackage) as caught:
        load_process(text, "ws", source_name="mine.cwl")
    message = str(caught.value)
    assert "mine.cwl:6:5:" in message
    assert "ades-package" not in message  # the loader's internal URI stays hidden


def test_yaml_syntax_error_names_the_line():
    text = "cwlVersion: v1.2\nclass: CommandLineTool\n  baseCommand: x\ninputs: []\noutputs: []\n"
    with pytest.raises(InvalidPackage, match=r"package\.cwl:3:14: mapping values are not allowed"):
        load_process(text, "ws")


def test_static_check_errors_are_package_errors():
    text = """\
cwlVersion: v1.2
class: Workflow
inputs: {a: int}
outputs:
  b: {type: string, outputSource: s/o}
steps:
  s:
    run:
      class: CommandLineTool
      baseCommand: "true"
      inputs: {a: int}
      outputs: {o: {type: int, outputBinding: {outputEval: "$(1)"}}}
    in: {a: a}
    out: [o]
"""
    with pytest.raises(InvalidPackage, match=r"package\.cwl:\d+:\d+: .*incompatible"):
        load_process(text, "ws")


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ("\n", "the package is empty"),
        ("- a\n- b\n", "must be a mapping"),
        (DATA / "missing.cwl", "cannot read package file"),
        # A str is the CWL text, never a path to read.
        (str(DATA / "anonymous.cwl"), "must be a mapping"),
        ("", "the package is empty"),
    ],
)
def test_documents_that_are_not_cwl(document, reason):
    with pytest.raises(InvalidPackage, match=reason):
        load_process(document, "ws")


def test_job_control_hint_restricts_the_options():
    process = load_process(DATA / "async_only.cwl", "ws")
    assert process.job_control == ("async-execute", "dismiss")


JOB_CONTROL = """\
cwlVersion: v1.2
class: CommandLineTool
$namespaces: {{ades: "https://ades.dev/cwl#"}}
hints:
  - class: ades:JobControl
    jobControlOptions: {options}
baseCommand: "true"
inputs: []
outputs: []
"""


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ("[]", "needs a list of jobControlOptions"),
        ("[sync-execute, later]", r"unknown jobControlOptions \['later'\]"),
        ("[dismiss]", "must allow sync-execute or async-execute"),
    ],
)
def test_bad_job_control_hint(options, reason):
    with pytest.raises(InvalidPackage, match=reason):
        load_process(JOB_CONTROL.format(options=options), "ws")


def test_job_control_options_come_out_in_canonical_order():
    text = JOB_CONTROL.format(options="[dismiss, sync-execute]")
    assert load_process(text, "ws").job_control == ("sync-execute", "dismiss")


STAC_RESULTS = """\
cwlVersion: v1.2
class: CommandLineTool
$namespaces: {{ades: "https://ades.dev/cwl#"}}
hints:
  - class: ades:StacResults
    {member}
baseCommand: "true"
inputs: []
outputs: []
"""


def test_stac_results_hint_picks_the_form():
    assert load_process(JOB_CONTROL.format(options="[sync-execute]"), "ws").stac_results == "link"
    text = STAC_RESULTS.format(member="form: feature-collection")
    assert load_process(text, "ws").stac_results == "feature-collection"


@pytest.mark.parametrize("member", ["form: collection", "forms: feature-collection"])
def test_bad_stac_results_hint(member):
    with pytest.raises(InvalidPackage, match=r"ades:StacResults: form .* is not one of"):
        load_process(STAC_RESULTS.format(member=member), "ws")


CACHE = """\
cwlVersion: v1.2
class: CommandLineTool
$namespaces: {{ades: "https://ades.dev/cwl#"}}
hints:
  - class: ades:Cache
    enabled: {enabled}
baseCommand: "true"
inputs: []
outputs: []
"""


def test_the_cache_hint_turns_reuse_of_results_off():
    assert load_process(CACHE.format(enabled="false"), "ws").cache is False
    assert load_process(CACHE.format(enabled="true"), "ws").cache is True
    assert load_process(DATA / "async_only.cwl", "ws").cache is True  # no hint
    with pytest.raises(InvalidPackage, match="ades:Cache: 'enabled' must be true or false"):
        load_process(CACHE.format(enabled="sometimes"), "ws")


def test_cwltool_runs_a_package_with_the_job_control_hint(tmp_path):
    # The hint is ours, not cwltool's: it must only be an "unknown hint" to cwltool.
    result = subprocess.run(
        [sys.executable, "-m", "cwltool", "--outdir", str(tmp_path), str(DATA / "async_only.cwl")],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        },
    )
    assert result.returncode == 0, result.stderr
    assert "Final process status is success" in result.stderr


def test_every_type_of_a_loaded_tool():
    process = load_process(DATA / "types.cwl", "ws")
    inputs = by_id(process.inputs)
    assert inputs["big"].schema == {"type": "integer"}
    assert inputs["precise"].schema == {"type": "number"}
    assert inputs["maybe"].min_occurs == 0
    assert inputs["level"].min_occurs == 0
    assert inputs["choice"].schema == {"type": "string", "enum": ["low", "high"]}
    assert inputs["colour"].schema == {"type": "string", "enum": ["red", "green", "blue"]}
    assert inputs["colours"].schema["items"]["enum"] == ["red", "green", "blue"]
    assert (inputs["image"].kind, inputs["folder"].kind) == ("File", "Directory")
    images = inputs["images"]
    assert (images.kind, images.max_occurs, images.schema["type"]) == ("File", "unbounded", "array")
    folders = inputs["folders"]
    assert (folders.kind, folders.min_occurs, folders.max_occurs) == ("Directory", 0, "unbounded")
    assert inputs["options"].schema["required"] == ["size"]
    assert inputs["anything"].schema == {}
    tuned = inputs["tuned"]
    assert (tuned.default, tuned.min_occurs, tuned.schema["default"]) == (0.5, 0, 0.5)
    assert (tuned.title, tuned.description) == ("Tuned", "A number with a default.")
    assert inputs["mode"].schema == {"type": "string", "enum": ["fast", "slow"], "default": "fast"}
    assert inputs["either"].schema == {"oneOf": [{"type": "integer"}, {"type": "string"}]}

    outputs = by_id(process.outputs)
    assert outputs["out"].kind == "File"  # stdout
    assert outputs["log"].schema["required"] == ["href"]
    assert outputs["results"].kind == "Directory"
    assert outputs["results"].schema["contentMediaType"] == "application/json"
    assert (outputs["many"].kind, outputs["many"].max_occurs) == ("File", "unbounded")
    assert (outputs["value"].schema, outputs["value"].min_occurs) == ({"type": "integer"}, 0)


def test_ndvi_demo_package():
    process = load_process(DEMO / "ndvi.cwl", "demo")
    assert (process.id, process.entry, process.version) == ("ndvi", "#main", "1.0.0")
    assert process.title == "NDVI"
    inputs = by_id(process.inputs)
    assert (inputs["red"].kind, inputs["nir"].kind) == ("File", "File")
    assert (inputs["title"].schema, inputs["title"].min_occurs) == ({"type": "string"}, 0)
    (catalog,) = process.outputs
    assert (catalog.id, catalog.kind) == ("ndvi_catalog", "Directory")


@pytest.mark.parametrize(
    "reference",
    [str(DATA / "anonymous.cwl"), "anonymous.cwl", "https://packages.test/tool.cwl"],
)
def test_packages_must_be_self_contained(reference, tmp_path):
    # The stored text is what runs, and deployed text must not make the server read its
    # disk or the network: a `run:` outside the document is refused, even beside the file.
    text = f"""\
cwlVersion: v1.2
class: Workflow
inputs: {{}}
outputs: {{}}
steps:
  s: {{run: "{reference}", in: {{}}, out: []}}
"""
    with pytest.raises(InvalidPackage, match="package.cwl:6:.*undefined reference"):
        load_process(text, "ws")
    package = tmp_path / "uses_anonymous.cwl"
    package.write_text(text)
    shutil.copy(DATA / "anonymous.cwl", tmp_path)
    with pytest.raises(InvalidPackage, match="uses_anonymous.cwl:6:.*undefined reference"):
        load_process(package, "ws")


def test_graph_entry_is_the_one_workflow_no_step_runs():
    # snuggs runs say_one as a sub-workflow: snuggs is the entry point.
    package = Path(__file__).resolve().parents[1] / "api" / "data" / "packages" / "snuggs.cwl"
    process = load_process(package, "ws")
    assert (process.id, process.entry) == ("snuggs", "#snuggs")
    assert load_process(package, "ws", workflow_id="say_one").id == "say_one"


def test_secondary_file_patterns_of_inputs_and_record_fields(tmp_path):
    package = tmp_path / "secondary.cwl"
    package.write_text("""\
cwlVersion: v1.2
class: CommandLineTool
id: secondary
inputs:
  ref: {type: File, secondaryFiles: [.fai, {pattern: ^.dict, required: false}, $(self.basename)]}
  rec:
    type:
      type: record
      fields:
        f1: {type: File, secondaryFiles: .s2}
        f2: {type: 'File[]', secondaryFiles: [.s3]}
outputs: []
baseCommand: 'true'
""")
    inputs = {p.id: p for p in load_process(package, "ws").inputs}
    # Expressions are cwltool's to evaluate: only plain patterns are kept.
    assert inputs["ref"].secondary_files == (".fai", "^.dict?")
    assert dict(inputs["rec"].field_secondary_files) == {"f1": (".s2",), "f2": (".s3",)}
