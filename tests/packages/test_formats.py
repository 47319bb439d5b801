"""The file formats a process's outputs produce and its inputs take, read off its CWL."""

from pathlib import Path

from ades.packages.formats import input_formats, output_formats
from ades.packages.load import load_process

DEMO = Path(__file__).resolve().parents[2] / "workspaces" / "demo" / "processes"
LAB = Path(__file__).resolve().parents[1] / "api" / "data" / "lab" / "processes"

TOOL = """
cwlVersion: v1.2
class: CommandLineTool
id: writer
$namespaces: {edam: http://edamontology.org/}
baseCommand: [touch, a.tif, b.nc, c.png]
inputs:
  level: int
stdout: report.csv
outputs:
  tiff: {type: File, outputBinding: {glob: "*.tif"}}
  cdf: {type: "File[]", outputBinding: {glob: [b.nc]}}
  picture: {type: File, format: "edam:format_3603", outputBinding: {glob: c.png}}
  report: {type: stdout}
  blob: {type: File?, outputBinding: {glob: data.bin}}
"""


def test_literals_are_json_and_stac_directories_are_geotiff_and_json():
    assert output_formats(load_process(DEMO / "echo.cwl", "demo")) == {"JSON"}
    assert output_formats(load_process(DEMO / "ndvi.cwl", "demo")) == {"GTiff", "JSON"}


def test_file_outputs_by_their_glob_suffix_format_iri_or_stdout_name():
    process = load_process(TOOL, "demo")
    # data.bin says nothing: it adds no format.
    assert output_formats(process) == {"GTiff", "netCDF", "PNG", "CSV"}
    assert input_formats(process) == set()


def test_a_workflow_output_is_followed_to_the_step_that_writes_it():
    # fail.cwl's output comes from a step whose glob is never.txt.
    assert output_formats(load_process(LAB / "fail.cwl", "lab")) == {"TXT"}
    assert output_formats(load_process(LAB / "steps.cwl", "lab")) == {"TXT"}


def test_file_inputs_take_any_format_and_directories_stac_rasters():
    assert "netCDF" in input_formats(load_process(DEMO / "ndvi.cwl", "demo"))
    assert input_formats(load_process(LAB / "stac-assets.cwl", "lab")) == {"GTiff", "JSON"}
