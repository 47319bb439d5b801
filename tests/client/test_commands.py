"""Every client command end to end against a live server, through the real ``ades`` entry:
text and --json output, the exit codes of successful, failed, dismissed and running jobs,
logs and progress followed to the end, and the errors a user can make (unknown process,
bad -i, no --url, a server that is not there)."""

from __future__ import annotations

import uuid

import pytest

from ades.client.commands import parse_inputs
from ades.client.http import UsageError

GREET = """\
cwlVersion: v1.2
class: CommandLineTool
id: {id}
label: {label}
$namespaces:
  s: https://schema.org/
s:softwareVersion: {version}
baseCommand: python3
arguments: [-c, 'import sys; sys.stdout.write("{greeting}, " + sys.argv[1])']
inputs:
  name: {{type: string, inputBinding: {{position: 1}}}}
stdout: out.txt
outputs:
  message:
    type: string
    outputBinding:
      glob: out.txt
      loadContents: true
      outputEval: $(self[0].contents)
"""


@pytest.fixture
def demo(live) -> str:
    return live.url("/demo/ogc-api")


@pytest.fixture
def lab(live) -> str:
    return live.url("/lab/ogc-api")


def test_processes_in_text_and_json(ades, demo):
    ran = ades("processes", "--url", demo)
    assert ran.code == 0, ran.err
    assert ran.out.splitlines()[0].split() == ["ID", "VERSION", "TITLE"]
    assert any(line.split()[:3] == ["echo", "1.0.0", "Echo"] for line in ran.out.splitlines())
    ran = ades("processes", "--url", demo, "--json")
    assert ran.code == 0
    assert "echo" in {p["id"] for p in ran.json()["processes"]}


def test_describe_in_text_and_json(ades, demo):
    ran = ades("describe", "echo", "--url", demo)
    assert ran.code == 0, ran.err
    assert ran.out.startswith("echo: Echo (version 1.0.0)")
    assert "job control: sync-execute, async-execute, dismiss" in ran.out
    rows = {line.split()[0]: line for line in ran.out.splitlines() if line.startswith("  ")}
    assert "number, optional" in rows["pause"]
    assert "string | number, optional" in rows["mixedInput"]
    ran = ades("describe", "echo", "--url", demo, "--json")
    assert ran.json()["id"] == "echo"
    assert set(ran.json()["inputs"]) == {"stringInput", "pause", "mixedInput"}


def test_an_unknown_process_is_one_line_with_the_id_the_url_and_code_5(ades, demo):
    ran = ades("describe", "no-such-thing", "--url", demo)
    assert ran.code == 5
    assert ran.out == ""
    (line,) = ran.err.splitlines()
    assert line.startswith("ades: ")
    assert "'no-such-thing'" in line
    assert f"404 from GET {demo}/processes/no-such-thing" in line
    ran = ades("execute", "no-such-thing", "-i", "a=1", "--url", demo)
    assert ran.code == 5 and "no-such-thing" in ran.err and "Traceback" not in ran.err


def test_deploy_replace_and_a_second_deploy_refused(ades, demo, tmp_path):
    pid = f"greet-{uuid.uuid4().hex[:8]}"
    package = tmp_path / "greet.cwl"
    package.write_text(GREET.format(id=pid, label="Greet", version="1.0.0", greeting="Hello"))
    ran = ades("deploy", str(package), "--url", demo)
    assert ran.code == 0, ran.err
    assert ran.out.strip() == f"deployed {pid} (version 1.0.0): {demo}/processes/{pid}"
    assert "warning: " in ran.err  # no container image: a Best Practice warning
    again = ades("deploy", str(package), "--url", demo)
    assert again.code == 5
    assert "409 from POST" in again.err and pid in again.err

    package.write_text(GREET.format(id=pid, label="Greet v2", version="2.0.0",
                                    greeting="Howdy"))
    ran = ades("deploy", str(package), "--replace", "--url", demo, "--json")
    assert ran.code == 0, ran.err
    assert ran.json() == {"id": pid, "replaced": True, "href": f"{demo}/processes/{pid}"}
    assert ades("describe", pid, "--url", demo, "--json").json()["version"] == "2.0.0"
    ran = ades("execute", pid, "-i", "name=you", "--sync", "--url", demo)
    assert ran.code == 0, ran.err
    assert "Howdy, you" in ran.out


def test_execute_sync_prints_the_results(ades, demo):
    ran = ades("execute", "echo", "-i", "stringInput=hello", "-i", "mixedInput=2.5", "--sync",
               "--url", demo)
    assert ran.code == 0, ran.err
    rows = [line.split(None, 1) for line in ran.out.splitlines()]
    assert rows == [["OUTPUT", "VALUE"], ["echoOutput", "hello"], ["mixedOutput", "2.5"]]
    ran = ades("execute", "echo", "-i", "stringInput=hello", "--sync", "--url", demo, "--json")
    assert ran.json() == {"echoOutput": "hello"}


def test_execute_sync_of_a_process_that_only_runs_as_a_job_waits_for_it(ades, lab):
    """The server answers --sync with a job (201): the client follows it quietly and
    prints its results, as a synchronous answer would be."""
    ran = ades("execute", "async-only", "-i", "word=patient", "--sync", "--url", lab, "--json")
    assert ran.code == 0, ran.err
    (said,) = ran.json().values()
    assert "/download/" in said["href"]
    ran = ades("execute", "async-only", "-i", "word=patient", "--sync", "--url", lab)
    assert ran.code == 0 and ran.out.splitlines()[1].split()[0] == "said"


def test_execute_async_then_status_results_and_exit_codes(ades, demo, live):
    ran = ades("execute", "echo", "-i", "stringInput=later", "--url", demo)
    assert ran.code == 0, ran.err
    job_url = ran.out.strip()
    assert job_url.startswith(f"{demo}/jobs/")
    job_id = job_url.rsplit("/", 1)[1]
    live.wait_for(job_url, {"successful", "failed"})
    # By id under --url, and by URL alone.
    ran = ades("status", job_id, "--url", demo)
    assert ran.code == 0
    assert ran.out.split()[:3] == [job_id, "successful", "100%"]
    ran = ades("status", job_url, "--json")
    assert ran.code == 0 and ran.json()["jobID"] == job_id
    ran = ades("results", job_url)
    assert ran.code == 0
    assert ran.out.splitlines()[1].split() == ["echoOutput", "later"]
    assert ades("results", job_id, "--url", demo, "--json").json() == {"echoOutput": "later"}


def test_execute_async_json_is_the_status_document(ades, demo):
    ran = ades("execute", "echo", "-i", "stringInput=x", "--url", demo, "--json")
    assert ran.code == 0
    assert ran.json()["status"] in ("accepted", "running", "successful")
    assert ran.json()["processID"] == "echo"


def test_a_running_job_is_4_and_a_dismissed_one_3(ades, demo, live):
    job_url = ades("execute", "echo", "-i", "stringInput=slow", "-i", "pause=60", "--url",
                   demo).out.strip()
    ran = ades("status", job_url)
    assert ran.code == 4, ran.out
    assert ran.out.split()[1] in ("accepted", "running")
    ran = ades("results", job_url)
    assert ran.code == 4
    assert "has no results: it is " in ran.err
    ran = ades("dismiss", job_url)
    assert ran.code == 0, ran.err
    assert ran.out.split()[1] == "dismissed"
    live.wait_for(job_url, {"dismissed"})
    assert ades("status", job_url).code == 3
    ran = ades("results", job_url)
    assert ran.code == 3
    assert "has no results: it is dismissed" in ran.err


def test_a_failed_job_is_1_with_its_step_exit_code_and_stderr(ades, lab):
    ran = ades("execute", "fail", "-i", "message=m", "--watch", "--url", lab)
    assert ran.code == 1, ran.out + ran.err
    last = ran.out[ran.out.index("job "):]
    assert "failed: application in step 'explode' exit code 3" in last
    assert "| band B04 is missing" in last
    ran = ades("execute", "fail", "-i", "message=m", "--url", lab)
    job_url = ran.out.strip()
    assert ades("watch", job_url).code == 1
    status = ades("status", job_url)
    assert status.code == 1
    assert "in step 'explode'" in status.out
    assert ades("results", job_url).code == 1


def test_watch_shows_progress_steps_and_logs_to_the_end(ades, lab):
    job_url = ades("execute", "steps", "-i", "pause=0.3", "--url", lab).out.strip()
    ran = ades("watch", job_url)
    assert ran.code == 0, ran.err
    lines = ran.out.splitlines()
    assert lines[-1] == f"job {job_url.rsplit('/', 1)[1]} successful"
    said = "\n".join(lines)
    for text in ("first says 1", "second says 4", "[step second] start", "job successful"):
        assert text in said
    statuses = [line for line in lines if line.startswith("[")]
    assert statuses[-1].startswith("[successful 100%")
    # The JSON lines: status and log events, the end last.
    ran = ades("watch", job_url, "--json")
    events = ran.lines()
    assert events[0]["event"] == "status" and events[-1]["event"] == "end"
    assert events[-1]["data"]["status"] == "successful"
    logs = [e["data"]["message"] for e in events if e["event"] == "log"]
    assert "first says 1" in logs and logs[-1] == "job successful"


def test_logs_follow_ends_when_the_job_ends_and_level_filters(ades, lab):
    job_url = ades("execute", "steps", "-i", "pause=0.3", "--url", lab).out.strip()
    ran = ades("logs", job_url, "--follow")
    assert ran.code == 0, ran.err
    messages = [line.split(None, 2)[2] for line in ran.out.splitlines() if line[:1].isdigit()]
    assert messages[0].startswith("job accepted") and messages[-1] == "job successful"
    assert "third says 2" in messages
    ran = ades("logs", job_url, "--json")
    assert [e["message"] for e in ran.lines()][-1] == "job successful"
    assert all(set(e) >= {"id", "time", "level", "message"} for e in ran.lines())
    assert ades("logs", job_url, "--level", "warning").out == ""
    ran = ades("logs", job_url, "--follow", "--level", "warning", "--json")
    assert ran.code == 0 and ran.out == ""


def test_logs_of_a_failed_job_at_error_level(ades, lab, live):
    job_url = ades("execute", "fail", "-i", "message=m", "--url", lab).out.strip()
    ran = ades("logs", job_url, "--follow", "--level", "error")
    assert ran.code == 1
    assert "job failed (application in step 'explode')" in ran.out
    assert all(line.split()[1] == "error" for line in ran.out.splitlines()
               if line[:1].isdigit())


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["execute", "echo", "-i", "stringInput"], "-i 'stringInput': expected NAME=VALUE"),
        (["execute", "echo", "-i", "=3"], "-i '=3': expected NAME=VALUE"),
        (["execute", "echo", "-i", "x=@nowhere.json"], "-i x=@nowhere.json: no such file"),
        (["status", "a/b"], "job 'a/b': give a job id or a job URL"),
        (["deploy", "/no/such.cwl"], "/no/such.cwl: No such file or directory"),
        (["results", "j", "--download", "d", "--parallel", "0"], "--parallel 0: at least 1"),
    ],
)
def test_bad_arguments_are_usage_errors_naming_them(ades, demo, argv, named):
    ran = ades(*argv, "--url", demo)
    assert ran.code == 2
    assert named in ran.err
    assert ran.err.startswith(f"ades {argv[0]}: error: ")


def test_replace_of_a_package_without_an_id_asks_for_one(ades, demo, tmp_path):
    package = tmp_path / "anonymous.cwl"
    package.write_text("cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: 'true'\n"
                       "inputs: {}\noutputs: {}\n")
    ran = ades("deploy", str(package), "--replace", "--url", demo)
    assert ran.code == 2
    assert f"{package}: cannot tell the process id to replace: give --id" in ran.err


def test_without_url_a_usage_error_says_how_to_give_it(ades):
    ran = ades("processes")
    assert ran.code == 2
    assert "give --url or set ADES_URL" in ran.err


def test_the_url_from_the_environment(ades, demo, monkeypatch):
    monkeypatch.setenv("ADES_URL", demo)
    from ades.cli import main

    with pytest.raises(SystemExit) as exit:
        main(["processes", "--json"])
    assert exit.value.code == 0


def test_a_url_that_is_no_url_is_a_usage_error(ades):
    ran = ades("processes", "--url", "localhost:8000/demo")
    assert ran.code == 2
    assert "--url 'localhost:8000/demo': not an http:// or https:// URL" in ran.err


def test_a_server_that_is_not_there_is_code_6_in_one_line(ades):
    from tests.api.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}/demo/ogc-api"
    ran = ades("processes", "--url", url)
    assert ran.code == 6
    assert ran.err.strip() == f"ades: cannot reach {url}/processes: connection refused"


def test_argparse_usage_errors_are_2(ades):
    assert ades("logs", "j", "--level", "loud").code == 2
    assert ades("execute", "echo", "--sync", "--watch").code == 2


@pytest.mark.parametrize(
    ("pairs", "inputs"),
    [
        (["n=3"], {"n": 3}),
        (["n=2.5", "b=true"], {"n": 2.5, "b": True}),
        (["s=hello world"], {"s": "hello world"}),
        (["s=\"3\""], {"s": "3"}),
        (["s=null"], {"s": "null"}),
        (["a=[1, 2]", "o={\"k\": \"v\"}"], {"a": [1, 2], "o": {"k": "v"}}),
        (["f=@s3://bucket/B04.tif"], {"f": {"href": "s3://bucket/B04.tif"}}),
        (["f=@https://x/a.tif", "f=@https://x/b.tif"],
         {"f": [{"href": "https://x/a.tif"}, {"href": "https://x/b.tif"}]}),
        (["x=a=b"], {"x": "a=b"}),
        (["x="], {"x": ""}),
    ],
)
def test_input_values(pairs, inputs):
    assert parse_inputs(pairs) == inputs


def test_an_input_from_a_local_json_file(tmp_path):
    (tmp_path / "box.json").write_text('{"bbox": [1, 2, 3, 4]}')
    (tmp_path / "note.txt").write_text("not json")
    assert parse_inputs([f"b=@{tmp_path}/box.json"]) == {"b": {"bbox": [1, 2, 3, 4]}}
    with pytest.raises(UsageError, match="note.txt: a local file is sent as its JSON value"):
        parse_inputs([f"b=@{tmp_path}/note.txt"])



def test_a_token_from_the_option_or_the_environment(ades, secured, monkeypatch):
    demo = secured.live.url("/demo/ogc-api")
    ran = ades("processes", "--url", demo)
    assert ran.code == 5
    assert f"(401 from GET {demo}/processes)" in ran.err
    ran = ades("execute", "echo", "-i", "stringInput=mine", "--sync", "--url", demo,
               "--token", secured.tokens["demo"], "--json")
    assert ran.code == 0, ran.err
    assert ran.json() == {"echoOutput": "mine"}
    monkeypatch.setenv("ADES_TOKEN", secured.tokens["demo"])
    monkeypatch.setenv("ADES_URL", demo)
    from ades.cli import main

    with pytest.raises(SystemExit) as exit:
        main(["processes"])
    assert exit.value.code == 0
