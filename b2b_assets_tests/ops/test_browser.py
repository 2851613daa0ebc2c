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
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect, sync_playwright

from b2b_assets.definitions import defs
from b2b_assets.store import Store
from b2b_assets.store.tables import sync_ledger
from bench.ui_launch import RunningUI, launch_full_sync, running_ui

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
def synced_ui(tmp_path_factory) -> Iterator[RunningUI]:
    """The UI over an instance whose one run is a full sync launched through the webserver."""
    root = tmp_path_factory.mktemp("ui")
    with running_ui(root) as ui:
        _, status, _ = launch_full_sync(ui.client)
        assert status == "SUCCESS", (root / "dev.log").read_text()[-4000:]  # checks fail; the run does not
        # Dagster's first-visit newsletter dialog would cover the page: mark it seen, as its Skip button does.
        requests.post(f"{ui.url}/graphql", json={"query": "mutation { setNuxSeen }"}, timeout=30).raise_for_status()
        yield ui


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


def the_lineage_lists_every_asset(page: Page, ui: RunningUI) -> None:
    """The global lineage: one node per group with its asset count, and the graph's tree lists every asset."""
    groups = asset_groups()
    page.set_viewport_size({"width": 1600, "height": 3000})  # the tree draws only the rows in view
    page.goto(f"{ui.url}/asset-groups")
    # Every count before any group opens: an opened group draws its assets, and can push the rest out of view.
    for names in groups.values():
        expect(page.get_by_text(f"{len(names)} assets" if len(names) > 1 else "1 asset").first).to_be_visible()
    for group in groups:
        page.get_by_text(group, exact=True).first.click()  # the group's row in the tree ...
        page.keyboard.press("ArrowRight")  # ... opened, listing its assets
    shown = {name: sum(name in names for names in groups.values()) for names in groups.values() for name in names}
    for name, groups_with_it in shown.items():  # erp/products and hub/products are both "products"
        expect(page.locator(f'[title="{name}"]')).to_have_count(groups_with_it)
    screenshot(page, "asset_graph")


def the_failing_check_shows_as_failed(page: Page, ui: RunningUI) -> None:
    """The sample makes SQUIZZ reject one product (a zero price): squizz/products' check failed."""
    page.goto(f"{ui.url}/assets/squizz/products?view=checks")
    # The checks list: each check's name, then its latest result.
    check = page.locator("span:has(> [title='records_accepted'])").first
    expect(check).to_contain_text("Failed")
    screenshot(page, "squizz_products_checks")


def rejected_messages(ui: RunningUI) -> list[str]:
    """The vendor's messages for the records the sync ledger holds as rejected by SQUIZZ."""
    store = Store(f"sqlite:///{Path(ui.environment['B2B_STATE_DIR']) / 'hub.sqlite'}")
    c = sync_ledger.c
    with store.engine.connect() as db:
        return db.execute(sa.select(c.last_error).where(c.target == "squizz", c.state == "rejected")).scalars().all()


def sync_health_shows_the_rejected_records_full_message(page: Page, ui: RunningUI) -> None:
    messages = rejected_messages(ui)
    assert len(messages) == 1  # the sample's zero-price product
    page.goto(f"{ui.url}/assets/ops/sync_health")
    expect(page.locator("table", has_text=messages[0]).first).to_be_visible()
    screenshot(page, "ops_sync_health")


def test_the_ui_after_a_full_sync(synced_ui, page: Page):
    """One test, so that pytest-xdist never splits it over two workers, each starting its own UI and sync."""
    ui = synced_ui
    the_lineage_lists_every_asset(page, ui)
    the_failing_check_shows_as_failed(page, ui)
    sync_health_shows_the_rejected_records_full_message(page, ui)
