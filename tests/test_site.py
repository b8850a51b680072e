"""The website in a real browser: Debian's headless Chromium driven by Selenium.

The built site is served on a loopback port. On every page: no console error, no
failed request, no request to any host but the local server, math typeset by the
bundled MathJax, every image loaded. Search finds a chapter, and the light/dark
switch works. A failing page leaves a screenshot in _build/browser-failures/.
"""

import functools
import http.server
import json
import threading
from pathlib import Path

import pytest

from tools import require

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
FAILURES = ROOT / "_build" / "browser-failures"
PAGES = ["index.html", "search.html"] + sorted(
    f"book/{p.stem}.html" for p in (ROOT / "book").glob("*.md"))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(build):
    assert build.returncode == 0, "the book did not build"
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    require("chromium", "chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--window-size=1280,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    # Each page's weight is what a first visit downloads: no browser cache.
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def _network(driver):
    """Requests, failures and transferred bytes since the last call."""
    requests, failed, size = {}, [], 0
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        params = msg.get("params", {})
        if msg["method"] == "Network.requestWillBeSent":
            requests[params["requestId"]] = params["request"]["url"]
        elif msg["method"] == "Network.loadingFailed" and not params.get("canceled"):
            failed.append((requests.get(params["requestId"]), params.get("errorText")))
        elif msg["method"] == "Network.loadingFinished":
            size += params.get("encodedDataLength", 0)
        elif msg["method"] == "Network.responseReceived":
            status = params["response"]["status"]
            if status >= 400:
                failed.append((params["response"]["url"], status))
    return list(requests.values()), failed, size


def _typeset(driver):
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "if (window.MathJax && MathJax.startup && MathJax.startup.promise)"
        "  MathJax.startup.promise.then(() => done(true), () => done(false));"
        "else done(true);")


def _open(driver, url):
    driver.get_log("browser")
    driver.get_log("performance")
    driver.get(url)
    _typeset(driver)


@pytest.fixture(scope="module")
def weights():
    found = {}
    yield found
    if found:
        (ROOT / "_build").mkdir(exist_ok=True)
        (ROOT / "_build" / "page-weights.json").write_text(json.dumps(found, indent=1))


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_cleanly_offline(site, browser, page, weights):
    _open(browser, f"{site}/{page}")
    try:
        requests, failed, size = _network(browser)
        weights[page] = size
        foreign = [u for u in requests if not u.startswith((site, "data:", "blob:"))]
        assert not foreign, f"requests to other hosts: {foreign}"
        assert not failed, f"failed requests: {failed}"
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, f"console errors: {errors}"
        state = browser.execute_script("""
            const imgs = [...document.images];
            return {
              math: document.querySelectorAll('div.math, span.math').length,
              typeset: document.querySelectorAll('mjx-container').length,
              broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
              figures: document.querySelectorAll('div.cell_output img').length,
              raw: document.querySelector('article') ?
                   document.querySelector('article').innerText.includes('$$') : false,
            };""")
        assert not state["broken"], f"images that did not load: {state['broken']}"
        assert state["typeset"] >= state["math"], state
        assert not state["raw"], "raw $$ left in the page"
        if page.split("/")[-1][:2].isdigit():
            assert state["figures"] > 0, "a chapter page without its figures"
    except AssertionError:
        FAILURES.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(FAILURES / (page.replace("/", "_") + ".png")))
        raise


def test_search_finds_a_chapter(site, browser):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{site}/search.html?q=gradient")
    links = WebDriverWait(browser, 30).until(
        lambda d: d.find_elements("css selector", "#search-results li a"))
    hrefs = [a.get_attribute("href") for a in links]
    assert any("02-matrix-derivatives" in h for h in hrefs), hrefs


def test_light_dark_switch(site, browser):
    _open(browser, f"{site}/book/notation.html")
    theme = "return document.documentElement.dataset.theme"
    background = "return getComputedStyle(document.body).backgroundColor"
    seen = {browser.execute_script(theme): browser.execute_script(background)}
    button = browser.find_element("css selector", "button.theme-switch-button")
    for _ in range(3):
        browser.execute_script("arguments[0].click()", button)
        seen[browser.execute_script(theme)] = browser.execute_script(background)
    assert {"light", "dark"} <= set(seen), seen
    assert seen["light"] != seen["dark"]


def test_largest_page_is_light(weights):
    if not weights:
        pytest.skip("no page was loaded")
    page, size = max(weights.items(), key=lambda kv: kv[1])
    assert size < 6_000_000, f"{page} transfers {size / 1e6:.1f} MB"


MEASURE_EQUATIONS = """
const out = [];
const page = document.documentElement.clientWidth;
document.querySelectorAll('div.math').forEach(d => {
  const c = d.querySelector('mjx-container');
  if (!c) { out.push({id: d.id, untypeset: true}); return; }
  const e = d.querySelector('.eqno');
  const cr = c.getBoundingClientRect(), dr = d.getBoundingClientRect();
  const er = e ? e.getBoundingClientRect() : null;
  const overlap = er ? !(er.right <= cr.left + 0.5 || er.left >= cr.right - 0.5 ||
                         er.bottom <= cr.top + 0.5 || er.top >= cr.bottom - 0.5) : false;
  out.push({id: d.id, overflow: c.scrollWidth - c.clientWidth, overlap: overlap,
            outside: dr.right > page + 1 || dr.left < -1,
            text: d.textContent.slice(0, 60)});
});
return out;
"""


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("page", [p for p in PAGES if p.split("/")[-1][:2].isdigit()])
def test_display_equations_fit_their_column(site, browser, page, width):
    """At a desktop width every display equation fits its column; at a phone width a wide
    one scrolls inside its own box. At both, its number never covers it."""
    browser.set_window_size(width, 900)
    try:
        _open(browser, f"{site}/{page}")
        found = browser.execute_script(MEASURE_EQUATIONS)
        assert found, "no display equation measured"
        bad = [m for m in found if m.get("untypeset") or m["overlap"] or m["outside"]
               or (width >= 1280 and m["overflow"] > 1)]
        if bad:
            FAILURES.mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(FAILURES / f"{page.replace('/', '_')}-{width}.png"))
        assert not bad, f"{len(bad)} of {len(found)} display equations do not fit: {bad}"
    finally:
        browser.set_window_size(1280, 900)
