"""Stage-in of remote File and Directory inputs from the generated scene, over real HTTP and
the session's real S3."""

from __future__ import annotations

import hashlib
import json
import pathlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pystac
import pytest

from ades.fetching import FetchPolicy
from ades.objectstore.s3 import S3ObjectStore
from ades.staging.stage_in import StageIn, StageInCancelled, StageInError, has_remote_inputs
from tests.http_files import file_server
from tests.stac_data import hanging_item, http_server, silent_server, stac_validate


@pytest.fixture
def stage_in(object_store) -> StageIn:
    return StageIn(object_store, concurrency=4, timeout=10)


def _directory(href: str, assets: list[str] | None = None) -> dict:
    value = {"class": "Directory", "location": href}
    if assets:
        value["assets"] = assets
    return value


def _staged_catalog(value: dict) -> pystac.Catalog:
    assert value["class"] == "Directory"
    catalog = pystac.Catalog.from_file(value["path"] + "/catalog.json")
    stac_validate(catalog.get_self_href())
    return catalog


@pytest.mark.parametrize("where", ["http", "s3"])
@pytest.mark.parametrize("document", ["catalog.json", "scene/scene.json", "search.json"])
def test_a_stac_reference_becomes_a_self_contained_local_catalog(
    stage_in, scene, tmp_path, where, document
):
    href = f"{getattr(scene, where)}/{document}"
    order = stage_in({"scene": _directory(href)}, tmp_path)

    catalog = _staged_catalog(order["scene"])
    assert catalog.catalog_type == pystac.CatalogType.SELF_CONTAINED
    (item,) = catalog.get_items(recursive=True)
    assert item.id == "scene"
    assert item.datetime.isoformat() == "2024-06-01T10:30:00+00:00"
    assert set(item.assets) == {"B04", "B08", "thumbnail"}
    for key, asset in item.assets.items():
        assert not asset.href.startswith(("http", "s3", "/")), asset.href  # relative
        local = asset.get_absolute_href()
        original = scene.folder / "scene" / ("thumb.png" if key == "thumbnail" else key + ".tif")
        assert open(local, "rb").read() == original.read_bytes()
    # It says where it came from; nothing points back into the remote tree otherwise.
    raw = json.loads(open(item.get_self_href()).read())
    rels = {link["rel"]: link["href"] for link in raw["links"]}
    assert rels["via"].endswith(("scene/scene.json", "search.json"))
    assert not {"collection", "self"} & set(rels)


def test_asset_selection_downloads_only_the_named_assets(stage_in, scene, tmp_path):
    order = stage_in({"scene": _directory(f"{scene.http}/catalog.json", ["B08"])}, tmp_path)
    (item,) = _staged_catalog(order["scene"]).get_items(recursive=True)
    assert list(item.assets) == ["B08"]
    files = sorted(p.name for p in (tmp_path / "scene").rglob("*") if p.is_file())
    assert files == ["B08.tif", "catalog.json", "scene.json"]


def test_an_unknown_asset_is_named(stage_in, scene, tmp_path):
    with pytest.raises(StageInError) as caught:
        stage_in({"scene": _directory(f"{scene.s3}/catalog.json", ["B04", "B99"])}, tmp_path)
    assert str(caught.value) == (
        f"input 'scene': {scene.s3}/catalog.json: no item has the asset(s) B99")


@pytest.mark.parametrize("where", ["http", "s3"])
def test_file_inputs_are_downloaded_arrays_included(stage_in, scene, tmp_path, where):
    base = getattr(scene, where)
    order = stage_in({
        "red": {"class": "File", "location": f"{base}/scene/B04.tif"},
        "bands": [{"class": "File", "location": f"{base}/scene/{b}.tif"} for b in ("B04", "B08")],
        "word": "untouched",
        "url": "https://example.invalid/not/fetched",
    }, tmp_path)
    assert open(order["red"]["path"], "rb").read() == (scene.folder / "scene/B04.tif").read_bytes()
    assert [open(f["path"], "rb").read() for f in order["bands"]] == [
        (scene.folder / f"scene/{b}.tif").read_bytes() for b in ("B04", "B08")]
    assert order["word"] == "untouched"
    assert order["url"] == "https://example.invalid/not/fetched"


def test_only_remote_references_need_a_stage_in():
    assert not has_remote_inputs({"a": "https://x/y", "b": 3, "c": [{"class": "File",
                                                                     "path": "/tmp/x"}]})
    assert has_remote_inputs({"c": [{"class": "File", "location": "s3://b/k"}]})


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ("missing/item.json", "HTTP 404 File not found"),
        ("not-stac.json", "not a STAC document (expected an Item, Catalog, Collection or "
                          "ItemCollection, got no type)"),
        ("scene/B04.tif", "not a STAC document (not JSON)"),
    ],
)
def test_a_broken_http_reference_is_named_with_its_reason(
    stage_in, scene, tmp_path, document, reason
):
    href = f"{scene.http}/{document}"
    with pytest.raises(StageInError) as caught:
        stage_in({"scene": _directory(href)}, tmp_path)
    assert str(caught.value) == f"input 'scene': {href}: {reason}"


def test_a_missing_s3_object_and_a_missing_asset_are_named(stage_in, scene, tmp_path):
    href = f"{scene.s3}/nothing/here.json"
    with pytest.raises(StageInError, match=f"input 'scene': {href}: no such object"):
        stage_in({"scene": _directory(href)}, tmp_path)
    with pytest.raises(StageInError, match="input 'red': .*/gone.tif: HTTP 404"):
        stage_in({"red": {"class": "File", "location": f"{scene.http}/gone.tif"}}, tmp_path)


def test_an_unreachable_server_is_named(stage_in, tmp_path):
    href = "http://127.0.0.1:9/item.json"  # the discard port: nothing listens there
    with pytest.raises(StageInError, match=f"input 'scene': {href}: cannot connect"):
        stage_in({"scene": _directory(href)}, tmp_path)


def test_a_server_that_never_answers_is_a_timeout(object_store, tmp_path):
    with silent_server() as base:
        href = f"{base}/item.json"
        with pytest.raises(StageInError) as caught:
            StageIn(object_store, timeout=0.5)({"scene": _directory(href)}, tmp_path)
    assert str(caught.value) == f"input 'scene': {href}: timed out after 0.5s"


def test_a_job_reads_only_its_own_workspace_in_the_results_bucket(stage_in, tmp_path):
    stage_in.fetcher.objects.put_bytes(b"mine", "ws/jobs/a/out/x.txt")
    stage_in.fetcher.objects.put_bytes(b"theirs", "other/jobs/b/out/x.txt")
    bucket = stage_in.fetcher.objects.bucket
    mine = {"class": "File", "location": f"s3://{bucket}/ws/jobs/a/out/x.txt"}
    order = stage_in({"f": mine}, tmp_path, workspace="ws")
    assert open(order["f"]["path"], "rb").read() == b"mine"
    theirs = f"s3://{bucket}/other/jobs/b/out/x.txt"
    with pytest.raises(StageInError) as caught:
        stage_in({"f": {"class": "File", "location": theirs}}, tmp_path, workspace="ws")
    assert str(caught.value) == (
        f"input 'f': {theirs}: lies outside workspace 'ws' in the results bucket")


class _SetOnSecondLook(threading.Event):
    """A dismiss that lands once the downloads are under way: clear at the first look
    (the input's plan), set from the second on (the download loop)."""

    def __init__(self):
        super().__init__()
        self.looks = 0

    def is_set(self) -> bool:
        self.looks += 1
        return self.looks > 1


def test_a_dismiss_stops_waiting_for_downloads(object_store, tmp_path):
    with silent_server() as base:
        uri = hanging_item(object_store, "hang/item.json", base)
        # A timeout far longer than any test: only the cancel can end this stage-in early.
        stage_in = StageIn(object_store, timeout=600)
        with pytest.raises(StageInCancelled, match="dismissed during stage-in"):
            stage_in({"scene": _directory(uri)}, tmp_path, cancelled=_SetOnSecondLook())
    with pytest.raises(StageInCancelled):
        stage_in({"scene": _directory(uri)}, tmp_path, cancelled=_set_event())


def _set_event() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


class _PairsOnly(BaseHTTPRequestHandler):
    """Answers only when two requests are in flight together (a barrier of two), and counts
    the most ever in flight: a sequential stage-in breaks the barrier, an unbounded one
    raises the peak."""

    barrier = threading.Barrier(2, timeout=30)
    lock = threading.Lock()
    active = 0
    peak = 0

    def do_GET(self) -> None:  # noqa: N802
        cls = type(self)
        with cls.lock:
            cls.active += 1
            cls.peak = max(cls.peak, cls.active)
        try:
            cls.barrier.wait()
            status = 200
        except threading.BrokenBarrierError:
            status = 500
        with cls.lock:
            cls.active -= 1
        body = self.path.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def test_downloads_run_in_parallel_and_no_more_than_the_bound(object_store, tmp_path):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _PairsOnly)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        files = [{"class": "File", "location": f"{base}/f{i}.bin"} for i in range(6)]
        said: list[str] = []
        order = StageIn(object_store, concurrency=2, timeout=60)(
            {"many": files}, tmp_path, on_progress=said.append)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert [open(f["path"], "rb").read() for f in order["many"]] == [
        f"/f{i}.bin".encode() for i in range(6)]
    assert _PairsOnly.peak == 2
    # The job's message follows the downloads.
    assert said[0] == "staging in inputs: downloading 6 file(s)"
    assert said[-1] == "staging in inputs: 6 of 6 file(s) downloaded"


def test_an_s3_prefix_without_a_catalog_is_a_plain_directory(stage_in, object_store, tmp_path):
    for key, body in [("plain/run:1/A:Gln2Cys", b"colon"), ("plain/run:1/sub/deep.txt", b"deep"),
                      ("plain/run:1/with space.txt", b"space"), ("plain/run:10/other", b"no")]:
        object_store.put_bytes(body, key)
    bucket = f"s3://{object_store.bucket}"
    for href in (f"{bucket}/plain/run%3A1/", f"{bucket}/plain/run:1"):
        order = stage_in({"dir": _directory(href)}, tmp_path / href[-1])
        staged = order["dir"]
        assert staged["class"] == "Directory"
        root = pathlib.Path(staged["path"])
        # The folder and its files keep the names they have on S3, keys as relative paths.
        assert root.name == "run:1"
        assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) \
            == ["A:Gln2Cys", "sub/deep.txt", "with space.txt"]
        assert (root / "A:Gln2Cys").read_bytes() == b"colon"


def test_an_s3_prefix_holding_a_catalog_is_a_stac_catalog(stage_in, scene, tmp_path):
    order = stage_in({"scene": _directory(scene.s3 + "/")}, tmp_path)
    assert [item.id for item in _staged_catalog(order["scene"]).get_items(recursive=True)] \
        == ["scene"]


def test_a_file_keeps_its_name_and_format(stage_in, object_store, tmp_path):
    object_store.put_bytes(b"x", "named/A:Gln2Cys")
    location = f"s3://{object_store.bucket}/named/A%3AGln2Cys"
    order = stage_in({"f": {"class": "File", "location": location, "format": "http://e.org/f"}},
                     tmp_path)
    assert pathlib.Path(order["f"]["path"]).name == "A:Gln2Cys"
    assert order["f"]["format"] == "http://e.org/f"


def test_an_empty_prefix_and_assets_of_a_plain_directory_are_named(
    stage_in, object_store, tmp_path
):
    href = object_store.uri("nothing-here/")
    with pytest.raises(StageInError) as caught:
        stage_in({"dir": _directory(href)}, tmp_path)
    assert str(caught.value) == f"input 'dir': {href}: no such object, and no object under it"
    object_store.put_bytes(b"x", "plain-assets/a.txt")
    href = object_store.uri("plain-assets/")
    with pytest.raises(StageInError) as caught:
        stage_in({"dir": _directory(href, ["B04"])}, tmp_path)
    assert str(caught.value) == (f"input 'dir': {href}: 'assets' selects from a STAC catalog, "
                                 "and no catalog.json lies under this prefix")


def test_files_inside_a_record_are_staged_in(stage_in, object_store, tmp_path):
    object_store.put_bytes(b"in a record", "record/f1.txt")
    location = f"s3://{object_store.bucket}/record/f1.txt"
    record = {"label": "x", "f1": {"class": "File", "location": location}}
    assert has_remote_inputs({"rec": record})
    order = stage_in({"rec": record}, tmp_path)
    assert order["rec"]["label"] == "x"
    assert pathlib.Path(order["rec"]["f1"]["path"]).read_bytes() == b"in a record"
    assert pathlib.Path(order["rec"]["f1"]["path"]).name == "f1.txt"


def test_secondary_files_are_fetched_from_beside_the_file(stage_in, object_store, tmp_path):
    for name in ("ref.fasta", "ref.fasta.fai", "ref.dict"):
        object_store.put_bytes(name.encode(), f"second/{name}")
    location = f"s3://{object_store.bucket}/second/ref.fasta"
    order = stage_in({"ref": {"class": "File", "location": location,
                              "ades:secondaryFiles": [".fai", "^.dict", ".gzi?"]}}, tmp_path)
    primary = pathlib.Path(order["ref"]["path"])
    # cwltool finds them next to the file; the optional one that is not there is no error.
    assert sorted(p.name for p in primary.parent.iterdir()) == [
        "ref.dict", "ref.fasta", "ref.fasta.fai"]
    assert order["ref"] == {"class": "File", "path": str(primary)}


def test_folder_markers_are_empty_directories(stage_in, object_store, tmp_path):
    object_store.put_bytes(b"", "markers/tree/")
    object_store.put_bytes(b"", "markers/tree/empty/")
    object_store.put_bytes(b"a", "markers/tree/full/a.txt")
    order = stage_in({"dir": _directory(f"s3://{object_store.bucket}/markers/tree/")}, tmp_path)
    root = pathlib.Path(order["dir"]["path"])
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "empty", "full", "full/a.txt"]
    object_store.put_bytes(b"", "markers/nothing/")
    order = stage_in({"dir": _directory(f"s3://{object_store.bucket}/markers/nothing/")},
                     tmp_path / "2")
    assert list(pathlib.Path(order["dir"]["path"]).iterdir()) == []


def test_a_stac_link_to_a_file_of_this_machine_is_not_followed(stage_in, tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()
    catalog = {"type": "Catalog", "stac_version": "1.0.0", "id": "c", "description": "d",
               "links": [{"rel": "child", "href": "file:///etc/hostname"}]}
    (folder / "catalog.json").write_text(json.dumps(catalog))
    with http_server(folder) as base:
        with pytest.raises(StageInError, match="file:///etc/hostname: a STAC link that is not "
                                               "http\\(s\\) or s3 is not followed"):
            stage_in({"scene": _directory(f"{base}/catalog.json")}, tmp_path / "in")


def test_a_policy_without_s3_read_any_reads_only_listed_buckets(seaweedfs, object_store,
                                                                tmp_path):
    other = S3ObjectStore(seaweedfs.endpoint, seaweedfs.access_key, seaweedfs.secret_key,
                          object_store.bucket + "-other")
    other.ensure_bucket()
    other.put_bytes(b"y", "b.txt")
    href = f"s3://{other.bucket}/b.txt"
    order = {"f": {"class": "File", "location": href}}
    listing = {"ws": [other.bucket]}
    staging = StageIn(object_store, policy=FetchPolicy(), s3_read=lambda ws: listing.get(ws, ()))
    staged = staging(order, tmp_path / "one", workspace="ws")
    assert pathlib.Path(staged["f"]["path"]).read_bytes() == b"y"
    with pytest.raises(StageInError, match=f"bucket '{other.bucket}' is not readable by "
                                           "workspace 'nobody'.*s3_read.*ADES_S3_READ_ANY"):
        staging(order, tmp_path / "two", workspace="nobody")
    anyone = StageIn(object_store, policy=FetchPolicy(s3_read_any=True))
    assert pathlib.Path(anyone(order, tmp_path / "three", workspace="nobody")["f"]["path"]) \
        .read_bytes() == b"y"


def test_a_fingerprint_reads_validators_with_a_head_and_hashes_only_without_them(stage_in):
    with file_server() as files:
        tagged = files.put("/tagged.tif", b"pixels", etag='"v1"')
        dated = files.put("/dated.tif", b"pixels", modified="Tue, 01 Dec 2026 10:00:00 GMT")
        bare = files.put("/bare.tif", b"pixels")
        assert stage_in.fingerprint(tagged, "ws") == {"etag": '"v1"'}
        assert stage_in.fingerprint(dated, "ws") == {"modified": "Tue, 01 Dec 2026 10:00:00 GMT"}
        assert files.requests == [("HEAD", "/tagged.tif"), ("HEAD", "/dated.tif")]
        assert stage_in.fingerprint(bare, "ws") == {
            "sha256": hashlib.sha256(b"pixels").hexdigest()}
        assert files.requests[2:] == [("HEAD", "/bare.tif"), ("GET", "/bare.tif")]
        assert stage_in.fingerprint(files.base + "/missing.tif", "ws") is None
        # No HEAD: the validators of a GET's answer, its body left unread.
        files.no_head.add("/tagged.tif")
        assert stage_in.fingerprint(tagged, "ws") == {"etag": '"v1"'}
        assert files.requests[-2:] == [("HEAD", "/tagged.tif"), ("GET", "/tagged.tif")]


def test_a_fingerprint_keeps_to_the_fetch_policy_and_the_workspace(object_store):
    guarded = StageIn(object_store, policy=FetchPolicy())  # loopback not allowed
    with file_server() as files:
        href = files.put("/a.tif", b"x", etag='"v1"')
        with pytest.raises(StageInError, match="refused: .*loopback"):
            guarded.fingerprint(href, "ws")
        assert files.requests == []
    theirs = f"s3://{object_store.bucket}/other/jobs/b/out/x.txt"
    with pytest.raises(StageInError, match="lies outside workspace 'ws'"):
        guarded.fingerprint(theirs, "ws")


def test_an_s3_fingerprint_is_the_objects_etag(stage_in, object_store):
    object_store.put_bytes(b"one", "ws/in/a.txt")
    href = f"s3://{object_store.bucket}/ws/in/a.txt"
    first = stage_in.fingerprint(href, "ws")
    assert first == {"etag": object_store.etag("ws/in/a.txt")}
    object_store.put_bytes(b"two", "ws/in/a.txt")
    assert stage_in.fingerprint(href, "ws") != first
    assert stage_in.fingerprint(href + ".missing", "ws") is None
