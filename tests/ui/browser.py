"""Helpers shared by the browser tests and scripts/bench_ui.py: start ``citeqa ui``, drive headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "ui"
CHROMIUM = os.environ.get("CITEQA_CHROMIUM", "/usr/bin/chromium")
# Headless Chromium on a server: no sandbox (containers), no GPU, no background traffic to Google.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_SCRUBBED_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_MODEL",
    "CITEQA_CONFIG",
    "CITEQA_INDEX_DIR",
    "CITEQA_AUTH",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ui_command(port: int, *extra: str) -> list[str]:
    """``citeqa ui`` from this interpreter's environment (the click CLI run by this interpreter when the ``citeqa``
    script is not installed)."""
    script = Path(sys.executable).with_name("citeqa")
    if script.exists():
        return [str(script), "ui", "--port", str(port), *extra]
    code = "import sys; sys.argv[0] = 'citeqa'; from ui.cli import main; main()"
    return [sys.executable, "-c", code, "ui", "--port", str(port), *extra]


class Server:
    """``citeqa ui`` in a subprocess with its own CITEQA_HOME; its output goes to ``log``."""

    def __init__(self, home: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = home / f"ui-{self.port}.log"
        full_env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        full_env.update({"CITEQA_HOME": str(home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
        full_env.update(env or {})
        home.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log.open("w")
        self.proc = subprocess.Popen(
            ui_command(self.port, *extra), cwd=REPO, env=full_env, stdout=self._log_file, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 300) -> None:
        """Until the app answers HTTP (the first start builds the index: about a minute)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"citeqa ui exited with {self.proc.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise TimeoutError(f"citeqa ui not ready after {timeout}s:\n{self.output()}")

    def output(self) -> str:
        self._log_file.flush()
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log_file.close()


def launch_chromium(playwright: Any) -> Any:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        raise FileNotFoundError(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


# Timestamps of the latest answer as the page sees them: first streamed text, then the final render.
TIMING_JS = """
() => {
  window.__cq = {t0: performance.now(), first: null, done: null};
  const chat = document.querySelector('#cq-chat');
  const before = chat.querySelectorAll('.cq-bot').length;
  const check = () => {
    const bots = chat.querySelectorAll('.cq-bot');
    if (bots.length <= before) return;
    const last = bots[bots.length - 1];
    const body = last.querySelector('.cq-answer-text');
    const text = (body ? body.textContent : '').replace('\\u258d', '').trim();
    if (text && window.__cq.first === null) window.__cq.first = performance.now();
    if (!last.querySelector('.cq-cursor')) {
      if (window.__cq.first === null) window.__cq.first = performance.now();
      window.__cq.done = performance.now();
      obs.disconnect();
    }
  };
  const obs = new MutationObserver(check);
  obs.observe(chat, {childList: true, subtree: true, characterData: true});
  document.querySelector('#cq-send').click();
}
"""


def ask(page: Any, question: str, *, timeout_ms: int = 120_000) -> dict[str, float]:
    """Type a question, click Ask, wait for the final answer; ms from the click to first text and to the end."""
    page.fill("#cq-input textarea", question)
    page.evaluate(TIMING_JS)
    page.wait_for_function("window.__cq && window.__cq.done !== null", timeout=timeout_ms)
    t = page.evaluate("window.__cq")
    return {"first_ms": t["first"] - t["t0"], "full_ms": t["done"] - t["t0"]}


def open_app(page: Any, url: str) -> None:
    """Open the app and wait until its page-load step has run: the question box is usable only from then on."""
    page.goto(url)
    page.wait_for_selector("#cq-input textarea:not([disabled])", timeout=60_000)
