"""The chat page in a real browser: Chromium driven by Playwright against the real app.

One app server (offline model) and one browser serve the whole module; every test gets a
fresh browser context, so a fresh user. Screenshots of each step are written to
test-artifacts/ui/ (git-ignored). Every test also checks that the page asked nothing of any
other origin and raised no script error.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
from sqlalchemy import create_engine, delete, insert

from data_science.server.turn_lock import LEASES, lease_key
from tests.conftest import PROJECT_ROOT, LiveServer
from tests.fake_llm import Call, FakeLLM, Recorded, Reply, Text, ToolCalls

# Debian's Chromium when it is installed, else the one `uv run playwright install chromium` fetches.
CHROMIUM = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "ui"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TURN_TIMEOUT_MS = 60_000
PENGUIN_ROWS = "344 rows \u00d7 8 columns"  # the chip's multiplication sign
DATASET_ID = re.compile(r"ds_[0-9a-f]{16}")
SEARCH_BUDGET_SECONDS = 120


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("ui") / "data").start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nUI screenshots: {ARTIFACTS}")  # noqa: T201 - where to look at the steps
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Visit:
    """One browser context on one app: records requests, script errors and dialogs."""

    def __init__(self, browser: Browser, base_url: str, **context: Any) -> None:
        self.base_url = base_url
        self.context = browser.new_context(base_url=base_url, **{"viewport": DESKTOP, **context})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def foreign_requests(self) -> list[str]:
        own = (f"{self.base_url}/", "data:", "blob:")
        return [url for url in self.requests if not url.startswith(own)]

    def close(self) -> None:
        self.context.close()
        assert self.foreign_requests() == []
        assert self.errors == []


@pytest.fixture
def visit(browser: Browser, server: LiveServer) -> Iterator[Visit]:
    opened = Visit(browser, server.url)
    yield opened
    opened.close()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=ARTIFACTS / f"{name}.png")


def open_chat(page: Page) -> None:
    page.goto("/")
    expect(page.locator(".session.current")).to_have_count(1)
    expect(page.locator("#send-button")).to_be_enabled()


def upload(page: Page, path: Path) -> None:
    page.set_input_files("#file-input", str(path))
    expect(page.locator(".chip").filter(has_text=path.name)).to_be_visible()


def ask(page: Page, text: str) -> None:
    page.fill("#message-input", text)
    page.press("#message-input", "Enter")
    expect(page.locator(".msg.user .bubble").last).to_have_text(text)


def turn_done(page: Page) -> None:
    expect(page.locator("#send-button")).to_be_enabled(timeout=TURN_TIMEOUT_MS)
    expect(page.locator("#status")).to_have_text("")


def current_session(page: Page) -> str:
    match = re.search(r"#session=([^&]+)$", page.url)
    assert match, page.url
    return match.group(1)


def user_id(page: Page) -> str:
    return str(page.evaluate("localStorage.getItem('ds.userId')"))


def wait_for_chart(page: Page) -> None:
    chart = page.locator("img.chart").last
    expect(chart).to_be_visible(timeout=TURN_TIMEOUT_MS)
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.chart')].every(i => i.naturalWidth > 0)"
    )


# ---------- the everyday path


def test_several_uploads_at_once_each_get_a_chip_with_rows_and_columns(
    visit: Visit, penguins_csv: Path, tmp_path: Path
) -> None:
    page = visit.page
    open_chat(page)
    shot(page, "00-empty")
    small = tmp_path / "small.tsv"
    small.write_text("a\tb\n1\tx\n2\ty\n")
    page.set_input_files("#file-input", [str(penguins_csv), str(small)])
    penguins = page.locator(".chip").filter(has_text="penguins.csv")
    expect(penguins).to_contain_text(PENGUIN_ROWS)
    expect(penguins).to_have_attribute("title", re.compile(r"species \(text\)"))
    expect(page.locator(".chip").filter(has_text="small.tsv")).to_contain_text(
        "2 rows \u00d7 2 columns"
    )
    shot(page, "01-upload")


def test_histogram_request_shows_the_chart_inline_enlarge_and_download(
    visit: Visit, penguins_csv: Path
) -> None:
    page = visit.page
    open_chat(page)
    upload(page, penguins_csv)
    ask(page, "plot a histogram of body mass")
    wait_for_chart(page)
    turn_done(page)
    expect(page.locator(".tool").filter(has_text="plot")).to_be_visible()
    # The tool line opens to what the tool was asked and a line of what it answered.
    call = page.locator(".tool-call").filter(has_text="plot")
    expect(call.locator(".tool-args")).to_be_hidden()
    call.locator(".tool").click()
    arguments = json.loads(call.locator(".tool-args").inner_text())
    assert arguments["kind"] == "histogram" and arguments["x"] == "body_mass_g"
    assert re.fullmatch(r"ds_[0-9a-f]{16}", arguments["dataset_id"])
    expect(call.locator(".tool-outcome")).to_contain_text("→ ")
    download = page.locator(".chart-figure a.download")
    expect(download).to_have_attribute("href", re.compile(r"^blob:"))
    expect(download).to_have_attribute("download", re.compile(r"\.png$"))
    shot(page, "02-histogram")

    page.click(".chart-open")
    dialog = page.locator("#image-dialog")
    expect(dialog).to_be_visible()
    assert page.evaluate("document.querySelector('#image-dialog-img').naturalWidth") > 0
    shot(page, "02-histogram-enlarged")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_training_shows_a_metrics_card_with_test_accuracy(visit: Visit, penguins_csv: Path) -> None:
    page = visit.page
    open_chat(page)
    upload(page, penguins_csv)
    ask(page, "train a model to predict species")
    card = page.locator(".metrics-card")
    expect(card).to_be_visible(timeout=TURN_TIMEOUT_MS)
    turn_done(page)
    expect(card.locator("dt").filter(has_text=re.compile(r"^accuracy$"))).to_have_count(1)
    accuracy = card.locator("dt:text-is('accuracy') + dd").inner_text()
    assert 0.9 < float(accuracy) <= 1.0
    expect(card).to_contain_text("n_train 275 / n_test 69")
    shot(page, "03-train")


def test_a_file_the_agent_made_downloads_with_its_content(
    visit: Visit, penguins_csv: Path, tmp_path: Path
) -> None:
    page = visit.page
    open_chat(page)
    upload(page, penguins_csv)
    ask(page, "download the data as excel")
    link = page.locator(".msg.agent a.download")
    expect(link).to_have_attribute("href", re.compile(r"^blob:"), timeout=TURN_TIMEOUT_MS)
    turn_done(page)
    with page.expect_download() as started:
        link.click()
    saved = tmp_path / started.value.suggested_filename
    started.value.save_as(saved)
    assert saved.suffix == ".xlsx"
    assert len(pd.read_excel(saved)) == 344


def test_reload_keeps_the_conversation_its_chart_and_its_files(
    visit: Visit, penguins_csv: Path
) -> None:
    page = visit.page
    open_chat(page)
    upload(page, penguins_csv)
    ask(page, "plot a histogram of body mass")
    wait_for_chart(page)
    turn_done(page)
    session = current_session(page)

    page.reload()
    expect(page.locator(".msg.user .bubble")).to_have_text(["plot a histogram of body mass"])
    wait_for_chart(page)
    expect(page.locator(".chip")).to_contain_text(PENGUIN_ROWS)
    assert current_session(page) == session
    shot(page, "04-after-reload")

    # Without the URL's hash, the last chat opened in this browser comes back.
    page.goto("/")
    expect(page.locator(".msg.user .bubble")).to_have_text(["plot a histogram of body mass"])
    assert current_session(page) == session


def test_a_refused_upload_shows_the_servers_reason(
    visit: Visit, server: LiveServer, tmp_path: Path
) -> None:
    page = visit.page
    open_chat(page)
    program = tmp_path / "setup.exe"
    program.write_bytes(b"MZ\x90\x00" + bytes(200))
    page.set_input_files("#file-input", str(program))
    error = page.locator(".error").filter(has_text="setup.exe")
    expect(error).to_be_visible()

    with program.open("rb") as handle:
        answer = httpx.post(
            f"{server.url}/api/uploads",
            data={"user_id": user_id(page), "session_id": current_session(page)},
            files={"file": (program.name, handle)},
        )
    assert answer.status_code == 415
    expect(error).to_have_text(f"setup.exe: {answer.json()['message']}")
    expect(page.locator(".chip")).to_have_count(0)
    shot(page, "05-refused-upload")


def test_a_file_chosen_before_the_chat_exists_waits_for_it_and_uploads(
    visit: Visit, server: LiveServer, tmp_path: Path
) -> None:
    page = visit.page
    held: list[Route] = []

    # The new user's chat is created by a POST the test holds: the file is chosen before the
    # chat exists, every time.
    def hold_creation(route: Route) -> None:
        if route.request.method == "POST":
            held.append(route)
        else:
            route.continue_()

    page.route(re.compile(r"/apps/data_science/users/[^/]+/sessions$"), hold_creation)
    page.goto("/")
    deadline = time.monotonic() + 30
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert held, "the page never asked for a chat"
    early = tmp_path / "early.csv"
    early.write_text("x,y\n1,2\n3,4\n5,6\n")
    page.set_input_files("#file-input", str(early))
    expect(page.locator(".notice").filter(has_text="early.csv")).to_be_visible()
    shot(page, "05b-upload-waits-for-the-chat")

    held[0].continue_()
    chip = page.locator(".chip").filter(has_text="early.csv")
    expect(chip).to_contain_text("3 rows \u00d7 2 columns")
    expect(page.locator(".chip")).to_have_count(1)
    expect(page.locator(".error, .notice")).to_have_count(0)
    files = httpx.get(
        f"{server.url}/api/users/{user_id(page)}/sessions/{current_session(page)}/files"
    ).json()["files"]
    assert [(f["name"], f["rows"]) for f in files] == [("early.csv", 3)]


def test_html_in_a_message_or_in_the_data_is_shown_as_text(visit: Visit, tmp_path: Path) -> None:
    page = visit.page
    open_chat(page)
    payload = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> **hi**'
    ask(page, payload)
    expect(page.locator(".msg.agent .bubble").last).to_be_visible(timeout=TURN_TIMEOUT_MS)
    turn_done(page)

    hostile = '<img src=x onerror="window.__xss = 3">'
    table = tmp_path / "hostile.csv"
    pd.DataFrame({hostile: [1.0, 2.0, 3.5, 4.0], "note": ["<b>x</b>"] * 4}).to_csv(
        table, index=False
    )
    upload(page, table)
    ask(page, "describe the data")
    expect(page.locator(".msg.agent .bubble").last).to_contain_text(
        hostile, timeout=TURN_TIMEOUT_MS
    )
    turn_done(page)

    expect(page.locator(".msg.user .bubble").first).to_have_text(payload)
    assert page.locator("#messages script, #messages img:not(.chart), #messages b").count() == 0
    assert page.evaluate("window.__xss") is None
    assert visit.dialogs == []
    shot(page, "06-html-as-text")


# ---------- suggestions, sessions, errors


def test_suggestions_after_an_upload_fit_the_data_and_send_in_one_click(
    visit: Visit, penguins_csv: Path
) -> None:
    page = visit.page
    open_chat(page)
    upload(page, penguins_csv)
    buttons = page.locator("#suggestions .suggestion")
    expect(buttons).to_have_text(
        ["Profile the data", "Histogram of flipper_length_mm", "Predict species"]
    )
    shot(page, "07-suggestions")
    buttons.filter(has_text="Histogram").click()
    expect(page.locator(".msg.user .bubble")).to_have_text(
        ["plot a histogram of flipper_length_mm in penguins.csv"]
    )
    wait_for_chart(page)
    turn_done(page)
    expect(page.locator(".chart-figure img")).to_have_attribute(
        "alt", re.compile("flipper_length_mm")
    )

    page.click("#suggestions .suggestions-close")
    expect(page.locator("#suggestions")).to_be_hidden()


def test_sessions_new_switch_rename_and_delete_with_confirmation(
    visit: Visit, server: LiveServer, penguins_csv: Path
) -> None:
    page = visit.page
    open_chat(page)
    upload(page, penguins_csv)
    ask(page, "plot a histogram of body mass")
    wait_for_chart(page)
    turn_done(page)
    first = current_session(page)
    first_item = page.locator(f"[data-session-id='{first}']")
    expect(first_item.locator(".session-title")).to_have_text("plot a histogram of body mass")

    page.click("#new-chat")
    expect(page.locator(".session")).to_have_count(2)
    second = current_session(page)
    assert second != first
    expect(page.locator("#messages > *")).to_have_count(0)
    page.click("#new-chat")  # an untouched chat is reused, not multiplied
    expect(page.locator(".session")).to_have_count(2)

    first_item.locator(".session-open").click()
    expect(page.locator(".msg.user .bubble")).to_have_text(["plot a histogram of body mass"])
    wait_for_chart(page)
    assert current_session(page) == first

    first_item.locator(".rename").click()
    page.fill(".rename-form input", "Penguin study")
    page.press(".rename-form input", "Enter")
    expect(first_item.locator(".session-title")).to_have_text("Penguin study")
    expect(first_item.locator(".rename")).to_be_focused()
    shot(page, "08-sessions")
    page.reload()
    expect(page.locator(f"[data-session-id='{first}'] .session-title")).to_have_text(
        "Penguin study"
    )

    second_item = page.locator(f"[data-session-id='{second}']")
    second_item.locator(".delete").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("removed for good")
    shot(page, "08-delete-confirmation")
    dialog.locator("button[value=cancel]").click()
    expect(page.locator(".session")).to_have_count(2)

    second_item.locator(".delete").click()
    dialog.locator("button[value=confirm]").click()
    expect(page.locator(".session")).to_have_count(1)
    adk = f"{server.url}/apps/data_science/users/{user_id(page)}/sessions"
    assert httpx.get(f"{adk}/{second}").status_code == 404

    # Deleting the open chat removes its files too and opens a fresh chat.
    files = f"{server.url}/api/users/{user_id(page)}/sessions/{first}/files"
    assert httpx.get(files).json()["files"]
    page.locator(f"[data-session-id='{first}'] .delete").click()
    dialog.locator("button[value=confirm]").click()
    expect(page.locator(f"[data-session-id='{first}']")).to_have_count(0)
    expect(page.locator(".session.current .session-title")).to_have_text("New chat")
    expect(page.locator("#messages > *")).to_have_count(0)
    assert httpx.get(files).status_code == 404
    assert current_session(page) not in (first, second)


def test_a_lost_connection_offers_retry_and_keeps_the_typed_text(
    visit: Visit, penguins_csv: Path
) -> None:
    page = visit.page
    open_chat(page)
    upload(page, penguins_csv)
    page.route("**/run_sse", lambda route: route.abort("connectionrefused"))
    ask(page, "plot a histogram of body mass")
    error = page.locator(".error").filter(has_text="cannot be reached")
    expect(error).to_be_visible()
    expect(page.locator("#message-input")).to_have_value("plot a histogram of body mass")
    expect(page.locator("#new-chat")).to_be_enabled()  # the page is usable again at once
    expect(page.locator(".session.current .session-title")).to_have_text("New chat")
    shot(page, "09-lost-connection")

    page.unroute("**/run_sse")
    error.locator(".retry").click()
    wait_for_chart(page)
    turn_done(page)
    expect(page.locator(".error")).to_have_count(0)
    expect(page.locator("#message-input")).to_have_value("")
    expect(page.locator(".msg.user .bubble")).to_have_count(1)


def test_a_turn_running_elsewhere_in_the_chat_is_a_notice_and_retry_sends_it_later(
    visit: Visit, server: LiveServer
) -> None:
    page = visit.page
    open_chat(page)
    # Another tab or replica is mid-turn in this chat: its lease is in the session store.
    store = create_engine(f"sqlite:///{Path(server.env['DATA_DIR']) / 'sessions' / 'sessions.db'}")
    key = lease_key(user_id(page), current_session(page))
    with store.begin() as connection:
        LEASES.create(connection, checkfirst=True)
        connection.execute(
            insert(LEASES).values(chat_key=key, holder="elsewhere", expires_at=time.time() + 60)
        )
    ask(page, "list my files")
    notice = page.locator(".notice").filter(has_text="already running in this chat")
    expect(notice).to_be_visible()
    expect(page.locator(".error")).to_have_count(0)  # a notice, not a failure
    expect(page.locator("#message-input")).to_have_value("list my files")
    expect(page.locator("#send-button")).to_be_enabled()
    shot(page, "09b-turn-running-elsewhere")

    with store.begin() as connection:  # the other turn ends
        connection.execute(delete(LEASES).where(LEASES.c.chat_key == key))
    store.dispose()
    notice.locator(".retry").click()
    turn_done(page)
    expect(page.locator(".notice")).to_have_count(0)
    expect(page.locator(".msg.user .bubble")).to_have_count(1)
    expect(page.locator(".msg.agent")).not_to_have_count(0)  # the turn ran and answered


def test_header_shows_the_offline_model(visit: Visit) -> None:
    page = visit.page
    open_chat(page)
    expect(page.locator("#model-status .model-name")).to_have_text("Offline model")
    expect(page.locator("#model-status .model-cost")).to_be_hidden()


# ---------- quality: keyboard, phone width, dark theme


def test_keyboard_reaches_every_control_with_a_visible_focus_ring(
    visit: Visit, penguins_csv: Path
) -> None:
    page = visit.page
    open_chat(page)
    upload(page, penguins_csv)
    expect(page.locator("#suggestions .suggestion")).to_have_count(3)
    page.focus(".skip-link")
    reached = []
    for _ in range(13):  # every control once, from the skip link to Send
        reached.append(
            page.evaluate(
                """() => {
                  const a = document.activeElement;
                  const shown = a.id === 'file-input'
                    ? document.querySelector('label[for=file-input]') : a;
                  const s = getComputedStyle(shown);
                  return {name: a.id || a.getAttribute('aria-label') || a.textContent.trim(),
                          style: s.outlineStyle, width: parseFloat(s.outlineWidth)};
                }"""
            )
        )
        page.keyboard.press("Tab")
    names = [item["name"] for item in reached]
    controls = [
        "Skip to",
        "export-notebook",
        "New chat",
        "Rename",
        "Delete",
        "Profile the data",
        "Hide suggestions",
    ]
    for control in [*controls, "file-input", "message-input", "send-button"]:
        assert any(control in name for name in names), names
    assert all(item["style"] != "none" and item["width"] >= 2 for item in reached), reached
    page.focus("#suggestions .suggestion >> nth=0")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    shot(page, "10-keyboard-focus")

    page.focus("#message-input")
    page.keyboard.type("first line")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    expect(page.locator("#message-input")).to_have_value("first line\nsecond line")
    expect(page.locator(".msg.user")).to_have_count(0)


def test_phone_width_layout_fits_and_the_chats_list_is_a_drawer(
    browser: Browser, server: LiveServer, penguins_csv: Path
) -> None:
    phone = Visit(browser, server.url, viewport=PHONE, has_touch=True, is_mobile=True)
    page = phone.page
    open_chat(page)
    expect(page.locator("#sessions")).to_be_hidden()
    upload(page, penguins_csv)
    ask(page, "plot a histogram of body mass")
    wait_for_chart(page)
    turn_done(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    chart = page.locator("img.chart").bounding_box()
    assert chart is not None and chart["x"] >= 0 and chart["x"] + chart["width"] <= PHONE["width"]
    for control in ("#send-button", "label[for=file-input]", "#message-input"):
        box = page.locator(control).bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"], control
    shot(page, "11-phone")

    toggle = page.locator("#toggle-sessions")
    toggle.click()
    expect(page.locator("#sessions")).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    shot(page, "11-phone-chats")
    page.keyboard.press("Escape")
    expect(page.locator("#sessions")).to_be_hidden()
    expect(toggle).to_be_focused()
    phone.close()


def test_dark_theme_follows_the_system(
    browser: Browser, server: LiveServer, penguins_csv: Path
) -> None:
    dark = Visit(browser, server.url, color_scheme="dark")
    page = dark.page
    open_chat(page)
    upload(page, penguins_csv)
    ask(page, "train a model to predict species")
    expect(page.locator(".metrics-card")).to_be_visible(timeout=TURN_TIMEOUT_MS)
    turn_done(page)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    red, green, blue = (int(v) for v in re.findall(r"\d+", background)[:3])
    assert red + green + blue < 150, background
    shot(page, "12-dark")
    dark.close()


# ---------- a deployment-like app: a hosted model (a fake OpenAI server on 127.0.0.1) behind
# AUTH_MODE=token. One server for both, since each start costs half a minute on CI.

TOKEN = "ui-test-token-0123456789abcdef"


def scripted_model(request: Recorded) -> Reply:
    """The hosted model: a histogram or a model search on the chat's dataset, then a report."""
    last = request.messages[-1]
    if last["role"] == "tool":
        return Text(f"Done: {last['content']}", usage=(1200, 40))
    found = DATASET_ID.search(json.dumps(request.messages))
    assert found, "the instruction lists the chat's datasets"
    dataset = found.group()
    if "histogram" in json.dumps(last["content"]):
        call = Call("plot", {"dataset_id": dataset, "kind": "histogram", "x": "body_mass_g"})
    else:
        budget = {"time_budget_seconds": SEARCH_BUDGET_SECONDS}
        call = Call("search_models", {"dataset_id": dataset, "target": "species", **budget})
    return ToolCalls([call], usage=(1000, 30))


@pytest.fixture(scope="module")
def hosted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with FakeLLM(scripted_model) as fake:
        env = {
            "LLM_MODEL": "openai/gpt-4o",
            "OPENAI_API_KEY": "sk-fake-ui-test-key",
            "LLM_API_BASE": fake.openai_base,
            "AUTH_MODE": "token",
            "AUTH_TOKENS": f"alice:{TOKEN}",
            "PII_HASH_SECRET": "ui-test-pii-secret-0123456789abcdef",
        }
        live = LiveServer(tmp_path_factory.mktemp("hosted") / "data", env).start()
        yield live
        live.stop()


def test_with_token_auth_the_page_asks_for_a_token_and_acts_as_its_user(
    browser: Browser, hosted_server: LiveServer, penguins_csv: Path
) -> None:
    visit = Visit(browser, hosted_server.url)
    page = visit.page
    page.goto("/")
    dialog = page.locator("#token-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#token-input")).to_be_focused()
    page.fill("#token-input", "not-the-right-token-000")
    page.keyboard.press("Enter")
    expect(dialog).to_contain_text("not accepted")
    shot(page, "14-token-prompt")
    page.fill("#token-input", TOKEN)
    page.click("#token-dialog button[value=ok]")
    expect(dialog).to_be_hidden()
    expect(page.locator("#send-button")).to_be_enabled()

    upload(page, penguins_csv)
    ask(page, "plot a histogram of body mass")
    wait_for_chart(page)
    turn_done(page)
    mine = httpx.get(
        f"{hosted_server.url}/apps/data_science/users/alice/sessions",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert current_session(page) in [listed["id"] for listed in mine.json()]

    page.reload()  # the token lives in sessionStorage: no second prompt
    wait_for_chart(page)
    expect(dialog).to_be_hidden()
    visit.close()


def test_a_long_job_shows_time_left_can_be_cancelled_and_the_cost_is_shown(
    browser: Browser, hosted_server: LiveServer, penguins_csv: Path
) -> None:
    hosted = Visit(browser, hosted_server.url)
    page = hosted.page
    page.add_init_script(f"sessionStorage.setItem('ds.token', {json.dumps(TOKEN)})")
    open_chat(page)
    page.click("#new-chat")  # the page reopens alice's latest chat; this test wants a new one
    expect(page.locator("#messages > *")).to_have_count(0)
    expect(page.locator("#model-status .model-name")).to_have_text("openai/gpt-4o")
    cost = page.locator("#model-status .model-cost")
    expect(cost).to_have_text("$0.00 · 0 tokens")
    upload(page, penguins_csv)
    ask(page, "which model works best for species?")

    job = page.locator(".job")
    expect(job).to_be_visible(timeout=TURN_TIMEOUT_MS)
    expect(job.locator(".job-label")).to_have_text("Model search for species")
    expect(job.locator(".job-time")).to_contain_text(re.compile(r"left of 2 min$"))
    page.wait_for_function("() => document.querySelector('.job progress').value > 0")
    shot(page, "13-long-job")

    job.locator(".job-cancel").click()
    expect(job).to_have_count(0, timeout=TURN_TIMEOUT_MS)
    turn_done(page)
    expect(page.locator(".tool")).to_have_text(["⚙ search_models"])
    expect(page.locator(".error").filter(has_text="search_models")).to_contain_text("cancelled")
    expect(page.locator(".msg.agent .bubble").last).to_contain_text("Done:")
    expect(cost).to_have_text(re.compile(r"^\$0\.\d+ · 2\.3k tokens$"))
    expect(cost).not_to_have_text("$0.00 · 0 tokens")
    shot(page, "13-cancelled-with-cost")
    hosted.close()
