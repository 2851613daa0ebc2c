"""The Dagster UI in a real browser, after a full sync launched through it, on the bundled sample.

`b2b-sync dev` (webserver, daemon, sandboxes: what `make dev` starts) over a fresh state; the full
sync submitted through the webserver's GraphQL API, as the Launchpad submits it; then Debian's
Chromium (scripts/chromium.sh installs it when missing, as root) driven by Playwright through
`executable_path`, never a browser Playwright downloads. Screenshots of every page checked are kept
under test-artifacts/browser/ (gitignored; the path is printed at the end of the session).

Deselect with `-m "not browser"`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from b2b_assets.definitions import defs
from bench.ui_launch import TERMINAL, RunningUI, launch_full_sync, running_ui

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
# As the machine's notes say: no sandbox as root, and nothing that reaches for the network.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGE_WAIT_MS = 120_000  # a page waits for the asset graph and its layout (a web worker): slow on a busy machine

pytestmark = pytest.mark.browser
expect.set_options(timeout=PAGE_WAIT_MS)


@pytest.fixture(scope="module")
def chromium() -> str:
    result = subprocess.run(["bash", str(REPO / "scripts" / "chromium.sh"), "install"], capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=900, check=False)
    if result.returncode != 0:
        pytest.fail(f"scripts/chromium.sh install failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def synced_ui(tmp_path_factory) -> Iterator[tuple[RunningUI, str]]:
    """The UI over an instance whose one run is a full sync launched through the webserver."""
    root = tmp_path_factory.mktemp("ui")
    with running_ui(root) as ui:
        run_id, status, _ = launch_full_sync(ui.client)
        assert status in TERMINAL, (root / "dev.log").read_text()[-4000:]
        # Dagster's first-visit newsletter dialog would cover the page: mark it seen, as its Skip button does.
        requests.post(f"{ui.url}/graphql", json={"query": "mutation { setNuxSeen }"}, timeout=30).raise_for_status()
        yield ui, run_id


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, request) -> Iterator[Page]:
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.set_default_timeout(PAGE_WAIT_MS)  # expect() waits as long (set_options above)
    yield page
    screenshot(page, f"{request.node.name}_last")  # where the test ended, passed or failed
    page.close()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def asset_groups() -> dict[str, list[str]]:
    """Group name -> the names of its assets, as definitions.py registers them."""
    groups: dict[str, list[str]] = {}
    for key, spec in ((spec.key, spec) for a in defs.assets for spec in a.specs):
        groups.setdefault(spec.group_name, []).append(key.path[-1])
    return groups


def test_the_asset_graph_lists_every_asset(synced_ui, page: Page):
    ui, _ = synced_ui
    groups = asset_groups()
    # The graph draws only the nodes in view, and stacks a group's assets in a column (~200 px a node).
    page.set_viewport_size({"width": 1600, "height": 250 * max(len(names) for names in groups.values()) + 500})
    for group, names in groups.items():
        page.goto(f"{ui.url}/locations/b2b_assets.definitions/asset-groups/{group}")
        for name in names:
            # A graph node's label; the group's upstream assets from other groups are drawn as links, not nodes.
            expect(page.locator(f'[data-tooltip="{name}"]').first).to_be_visible()
        screenshot(page, f"asset_graph_{group}")


def test_a_failing_check_shows_as_failed(synced_ui, page: Page):
    """The sample makes SQUIZZ reject one product (a zero price): squizz/products' check failed."""
    ui, _ = synced_ui
    page.goto(f"{ui.url}/assets/squizz/products?view=checks")
    # The checks list: each check's name, then its latest result.
    check = page.locator("span:has(> [title='records_accepted'])").first
    expect(check).to_contain_text("Failed")
    screenshot(page, "squizz_products_checks")
