"""The review page in headless Chromium (selenium): clips play with sound, decisions made with the a / r / s keys
land in the decisions file at once, and a reload resumes at the first clip not yet decided. Saves a screenshot as a
test artifact (tests/artifacts/curation_review.png). Skipped only where Chromium, its driver or selenium is missing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from browser import chrome, needs_browser
from curation_fixtures import NAME, make_curation

from sound2video.curation import decisions as dec
from sound2video.curation.review_server import Review, make_server, url_of

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "tests" / "artifacts" / "curation_review.png"

pytestmark = needs_browser

STATE = """const v = document.querySelector('.clip.current video');
return v ? {ready: v.readyState, error: v.error ? v.error.code : null, audio: v.webkitAudioDecodedByteCount,
            time: v.currentTime} : null;"""


def _wait(fn, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    value = fn()
    while time.monotonic() < deadline and not value:
        time.sleep(0.1)
        value = fn()
    return value


def test_review_by_keys_saves_and_resumes(tmp_path):
    from selenium.webdriver.common.by import By

    where = make_curation(tmp_path, REPO / "data/classes.csv")
    review = Review(NAME, "frog croaking", where)
    server = make_server(review)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver = chrome(window="900,700")
    decisions = where / dec.DECISIONS_NAME

    def current() -> str:
        return driver.find_element(By.CSS_SELECTOR, ".clip.current").get_attribute("data-id")

    try:
        driver.get(url_of(server, review))
        assert current() == "true_001"  # rank order, the auto-accepted and auto-rejected clips are not shown
        driver.execute_script("const v = document.querySelector('.clip.current video'); v.muted = true; v.play();")
        state = _wait(lambda: (s := driver.execute_script(STATE)) and s["time"] > 0.3 and s["audio"] and s)
        assert state and state["error"] is None and state["ready"] >= 2 and state["audio"] > 0, state
        driver.execute_script("document.querySelector('.clip.current video').pause();")
        SCREENSHOT.parent.mkdir(exist_ok=True)
        driver.save_screenshot(str(SCREENSHOT))
        body = driver.find_element(By.TAG_NAME, "body")
        body.send_keys("a")
        assert _wait(lambda: dec.read(decisions, NAME) == {"true_001": "accept"})
        assert _wait(lambda: current() == "true_002")
        body.send_keys("s")
        assert _wait(lambda: dec.read(decisions, NAME) == {"true_001": "accept", "true_002": "skip"})
        driver.refresh()  # a reload resumes: the accepted clip is gone, the skipped one comes last
        assert current() == "sound_x_00"
        driver.find_element(By.TAG_NAME, "body").send_keys("r")
        assert _wait(lambda: dec.read(decisions, NAME).get("sound_x_00") == "reject")
        assert _wait(lambda: current() == "true_002")
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()
    assert dec.read(decisions, NAME) == {"true_001": "accept", "true_002": "skip", "sound_x_00": "reject"}
