"""The evaluation report in a real headless Chromium (Debian's chromium + chromium-driver, driven by selenium): the
table is there, every video loads, has an audio track and lasts as long as its clip; a screenshot is saved as a
test artifact. Skipped only where Chromium, its driver or selenium is missing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from browser import chrome, needs_browser
from evaluate_fixtures import SECONDS, make_shards, stub_loader

from sound2video.evaluation.params import EvaluateParams
from sound2video.evaluation.stage import EvaluatePaths, run

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = needs_browser


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    shards = make_shards(root / "shards", {"train": 1, "test": 1})
    params = EvaluateParams(
        cache_root=str(root / "cache"),
        rows=["real", "model", "random_walk"],
        fvd={"frames": 8},
        inception={"frames": 8, "splits": 3},
    )
    paths = EvaluatePaths(
        shards=shards,
        model=root / "models" / "video",
        classes=Path("data/classes.csv"),
        metrics=root / "metrics",
        plots=root / "plots",
        report=root / "report",
        work=root / "work",
    )
    run(
        params,
        paths,
        loader=stub_loader(),
        video_loader=lambda p, d: None,
    )
    return root / "report" / "index.html"


@pytest.fixture(scope="module")
def browser():
    driver = chrome("--allow-file-access-from-files")
    yield driver
    driver.quit()


STATE = """
const v = arguments[0];
return {ready: v.readyState, duration: v.duration, error: v.error ? v.error.code : null,
        audio: v.webkitAudioDecodedByteCount, time: v.currentTime, width: v.videoWidth};
"""


def test_report_opens_plays_with_sound_and_is_screenshotted(report, browser):
    from selenium.webdriver.common.by import By

    browser.get(report.as_uri())
    assert browser.find_element(By.ID, "rows").find_elements(By.TAG_NAME, "tr")  # the table of rows
    videos = browser.find_elements(By.TAG_NAME, "video")
    assert len(videos) == 3 * 3  # 3 sounds x 3 rows
    for v in videos:  # lazy: nothing is fetched before the page asks; here each video is loaded and played
        browser.execute_script("arguments[0].scrollIntoView(); arguments[0].muted = true; arguments[0].play();", v)
        deadline = time.monotonic() + 30
        state = browser.execute_script(STATE, v)
        while time.monotonic() < deadline and not (state["ready"] >= 2 and state["time"] > 0.4 and state["audio"]):
            time.sleep(0.1)
            state = browser.execute_script(STATE, v)
        browser.execute_script("arguments[0].pause();", v)
        src = v.get_attribute("src")
        assert state["error"] is None, f"{src}: media error {state['error']}"
        assert state["ready"] >= 2 and state["width"] == 16, f"{src}: did not load ({state})"
        assert state["audio"] > 0, f"{src}: no audio decoded ({state})"
        assert state["duration"] == pytest.approx(SECONDS, abs=0.2), f"{src}: duration {state['duration']}"
        assert float(v.get_attribute("data-seconds")) == pytest.approx(state["duration"], abs=0.2)
    ARTIFACTS.mkdir(exist_ok=True)
    browser.execute_script("window.scrollTo(0, 0);")
    shot = ARTIFACTS / "evaluate_report.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 1000
