"""The review console in real headless Chromium (Debian's chromium + chromedriver, driven by Selenium)
against ``tutela local serve``'s server on the emulated stack."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tutela_dev.emulator import samples
from tutela_dev.emulator.review_api import ReviewRules
from tutela_dev.emulator.runner import Runner, Upload
from tutela_dev.emulator.serve import Served, start
from tutela_dev.emulator.stack import EmulatedStack

pytestmark = [pytest.mark.integration, pytest.mark.browser]
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
if not (CHROMIUM and DRIVER):  # `make test` installs both; CI must never skip these silently
    if os.environ.get("CI"):
        raise RuntimeError("chromium and chromedriver are required (make setup installs them)")
    pytest.skip("chromium/chromedriver not installed (make setup installs them)", allow_module_level=True)

# Largest difference between colour channels of the shown preview (0 for greyscale), and its size.
SAMPLE_PIXELS = """
const i = document.querySelector('#preview'); const c = document.createElement('canvas');
c.width = i.naturalWidth; c.height = i.naturalHeight;
const x = c.getContext('2d'); x.drawImage(i, 0, 0);
const d = x.getImageData(0, 0, c.width, c.height).data; let colour = 0;
for (let p = 0; p < d.length; p += 4) {
  colour = Math.max(colour, Math.abs(d[p] - d[p + 1]), Math.abs(d[p + 1] - d[p + 2]));
}
return {w: c.width, h: c.height, colour};
"""
CHILD = [{"BoundingBox": {"Width": 0.3, "Height": 0.4, "Left": 0.3, "Top": 0.2},
          "AgeRange": {"Low": 6, "High": 10}, "Confidence": 99.0}]  # fmt: skip
SWIMWEAR = [{"Name": "Swimwear or Underwear", "ParentName": "", "Confidence": 88.0, "TaxonomyLevel": 1}]


class _FakeScan:
    def to_dict(self) -> dict[str, Any]:
        return {"media_type": "jpeg", "kind": "image", "backend": {"name": "test", "version": "0"},
                "ModerationLabels": SWIMWEAR, "Faces": CHILD, "timings_ms": {}}  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Runner, dict[str, Upload]]]:
    tmp = tmp_path_factory.mktemp("console")
    log = (tmp / "lambda.log").open("w")
    with EmulatedStack(ROOT, log=log) as stack:
        runner = Runner(stack)
        rules = ReviewRules(stack)
        module = stack.handler_module("ScanMediaFunction")
        real = module.scan_and_match
        module.scan_and_match = lambda *a, **k: _FakeScan().to_dict()
        try:
            photo = samples.photo(tmp / "beach.jpg", size=(320, 240))
            uploads = {"held": runner.upload(photo, "media/ui-1/beach.jpg")}
            runner.deliver(uploads["held"])
        finally:
            module.scan_and_match = real
        thread = tmp / "thread.jsonl"
        thread.write_text(
            json.dumps({"id": "c1", "text": "lovely photo!"}) + "\n"
            + json.dumps({"id": "c2", "text": "how old are you? add me on snap, don't tell your mum"}) + "\n",
            encoding="utf-8",
        )  # fmt: skip
        uploads["thread"] = runner.upload(thread, "comments/ui-1/thread.jsonl")
        runner.deliver(uploads["thread"])
        rules.play()
        srv = start(stack, port=0, web=ROOT / "web", rules=rules)
        try:
            yield srv, runner, uploads
        finally:
            srv.server.shutdown()
            srv.server.server_close()
    log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=opts)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: Any, predicate: Any, timeout: float = 20, why: Any = None) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:  # the console re-renders lists while a predicate reads them: a stale element means "not yet"
        ignored = (StaleElementReferenceException,)
        return WebDriverWait(driver, timeout, ignored_exceptions=ignored).until(lambda d: predicate(d))
    except TimeoutException:
        toast = css(driver, "#toast")
        state = why(driver) if why else None
        raise AssertionError(
            f"timed out; toast={toast[0].text if toast else None!r} state={state!r}"
        ) from None


def css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, selector))


def text(driver: Any, selector: str) -> str:
    found = css(driver, selector)
    return str(found[0].text) if found else ""


def press(driver: Any, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(key).perform()


def sign_in(driver: Any, srv: Served, which: str = "token") -> None:
    driver.get("about:blank")  # a fresh page load: a fragment-only change would keep the old page's DOM
    driver.get(f"{srv.url}/#token={srv.api.identities[which].token}")
    wait(driver, lambda d: css(d, "#app[data-loaded]"))  # the queue and its first item are shown
    assert "token=" not in driver.current_url  # the fragment is cleared at once


def test_without_a_token_the_console_asks_for_one(served, browser):
    srv, _, _ = served
    browser.get(f"{srv.url}/")
    browser.execute_script("sessionStorage.clear()")
    browser.get(f"{srv.url}/")
    wait(browser, lambda d: css(d, "#login") and css(d, "#login")[0].is_displayed())
    assert not css(browser, "#app")[0].is_displayed()


def test_queue_keyboard_blurred_preview_and_allow(served, browser):
    srv, runner, _uploads = served
    sign_in(browser, srv)
    wait(
        browser,
        lambda d: any("media/ui-1/beach.jpg" in li.text for li in css(d, "#queue-list li")),
        why=lambda d: [li.text for li in css(d, "#queue-list li")] + [d.get_log("browser")],
    )
    wait(
        browser,
        lambda d: (
            css(d, "#preview")
            and d.execute_script("return document.querySelector('#preview').naturalWidth") > 0
        ),
    )
    img = css(browser, "#preview")[0]
    assert img.get_attribute("src").startswith("blob:") and img.get_attribute("data-clear") == "0"
    # The blurred preview is greyscale and smooth: sample it in the page.
    stats = browser.execute_script(SAMPLE_PIXELS)
    assert max(stats["w"], stats["h"]) <= 320 and stats["colour"] <= 8
    # 'a' without a reason is refused in the page; with one it allows and the item leaves the queue.
    press(browser, "a")
    wait(browser, lambda d: "reason is required" in text(d, "#toast"))
    css(browser, "#reason")[0].send_keys("family beach photo")
    css(browser, "#reason")[0].send_keys("\ue00c")  # Escape: leave the field, keys are shortcuts again
    press(browser, "a")
    wait(browser, lambda d: "Allowed" in text(d, "#toast"))
    wait(browser, lambda d: not any("media/ui-1/beach.jpg" in li.text for li in css(d, "#queue-list li")))
    assert "media/ui-1/beach.jpg" in dict(runner.published())


def test_unblur_is_recorded(served, browser):
    srv, runner, uploads = served
    sign_in(browser, srv)
    s3 = runner.s3
    photo = uploads["held"].path
    put = s3.put_object(Bucket=runner.bucket, Key="media/ui-2/beach.jpg", Body=photo.read_bytes())
    module = runner.stack.handler_module("ScanMediaFunction")
    real, module.scan_and_match = module.scan_and_match, (lambda *a, **k: _FakeScan().to_dict())
    try:
        runner.deliver(Upload(photo, "media/ui-2/beach.jpg", put.get("VersionId"), photo.stat().st_size))
    finally:
        module.scan_and_match = real
    srv.rules.play()
    browser.refresh()
    wait(browser, lambda d: any("media/ui-2/beach.jpg" in li.text for li in css(d, "#queue-list li")))
    items = [li.text for li in css(browser, "#queue-list li")]
    index = next(i for i, t in enumerate(items) if "media/ui-2" in t)
    for _ in range(index):
        press(browser, "j")
    wait(browser, lambda d: "media/ui-2/beach.jpg" in text(d, "#detail h2"))
    press(browser, "u")
    browser.switch_to.alert.accept()
    wait(browser, lambda d: css(d, "#preview")[0].get_attribute("data-clear") == "1")
    item = css(browser, "#item-id")[0].text
    resp = srv.api.call(
        "GET", f"/api/items/{item}", authorization=f"Bearer {srv.api.identities['token2'].token}"
    )
    actions = [(h["action"], h["actor"]["name"]) for h in resp.json()["history"]]
    assert ("unblur", "reviewer1") in actions


def test_appealed_comment_shows_highlighted_evidence_and_appeal_rules(served, browser):
    srv, runner, uploads = served
    # The platform appeals the blocked grooming comment for its author.
    key = uploads["thread"].key
    pk = f"obj#{runner.bucket}/{key}"
    from tutela.review.rules import item_id

    items = runner.table.query(
        KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": pk}, ConsistentRead=True
    )["Items"]
    [comment] = [i for i in items if i.get("kind") == "comment" and i.get("comment_id") == "c2"]
    assert comment["verdict"] in ("block", "review")
    cid = item_id(pk, comment["sk"])
    if comment["verdict"] == "review":  # a reviewer blocks it first
        body = json.dumps({"verdict": "block", "reason": "grooming"}).encode()
        tok = f"Bearer {srv.api.identities['token'].token}"
        assert srv.api.call("POST", f"/api/items/{cid}/decision", body=body, authorization=tok).status == 200
    appeal = json.dumps({"item": cid, "statement": "it was my cousin"}).encode()
    assert (
        srv.api.call("POST", "/platform/appeals", body=appeal, iam_caller="arn:aws:iam::1:role/p").status
        == 202
    )
    sign_in(browser, srv, "token2")
    press(browser, "3")  # the appeal queue
    wait(browser, lambda d: css(d, "#app[data-loaded=appeal]"))
    wait(browser, lambda d: any("thread.jsonl" in li.text for li in css(d, "#queue-list li")))
    wait(browser, lambda d: css(d, "#comment-text mark"))
    marks = css(browser, "#comment-text mark")
    assert marks and all(m.get_attribute("data-category") for m in marks)
    assert "snap" in " ".join(m.text for m in marks) or "old" in " ".join(m.text for m in marks)
    assert "how old are you" in css(browser, "#comment-text")[0].text


def test_account_page_and_report_form(served, browser):
    srv, _runner, _uploads = served
    sign_in(browser, srv)
    css(browser, ".tab[data-view=forms]")[0].click()
    css(browser, "#report-key")[0].send_keys("media/ui-1/beach.jpg")
    css(browser, "#report-note")[0].send_keys("looks wrong")
    css(browser, "#report-form button")[0].click()
    wait(browser, lambda d: '"requeued"' in text(d, "#form-result"))
    assert json.loads(css(browser, "#form-result")[0].text)["requeued"] is True
    press(browser, "4")
    wait(browser, lambda d: css(d, "#app[data-loaded=report]"))
    wait(browser, lambda d: any("media/ui-1/beach.jpg" in li.text for li in css(d, "#queue-list li")))
    css(browser, "#account-id")[0].send_keys("nobody-yet")
    css(browser, "#account-search button")[0].click()
    wait(browser, lambda d: "0 active strike(s)" in text(d, "#account-summary"))
