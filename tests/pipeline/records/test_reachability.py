"""The pre-flight's question to a tracking server, asked of a real HTTP server on 127.0.0.1 that answers
slowly: a slow server is waited for (as MLflow's client would), a silent one is refused once the long wait
is over, and neither is mistaken for one that is not there."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipeline.errors import ConfigError
from pipeline.records.reachability import check_reachable


def serving(delay: float) -> Iterator[str]:
    """An MLflow-like server whose every answer waits ``delay`` seconds (waiting on an event, so the server
    stops at once when the test ends)."""
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            stop.wait(delay)
            body = b"OK" if self.path == "/health" else json.dumps({"experiments": []}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def slow_server() -> Iterator[str]:
    yield from serving(1.0)


def test_a_slow_server_is_waited_for_and_says_so(slow_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    check_reachable(slow_server, timeout=0.3, slow=30)  # answers after 1 s: accepted
    assert "is slow (no answer within 0.3 s); waiting up to 30 s" in capsys.readouterr().out


def test_a_server_slower_than_the_long_wait_is_refused_in_one_line(slow_server: str) -> None:
    with pytest.raises(ConfigError, match=r"cannot reach the tracking server .* \(no answer within 0\.5 s\)"):
        check_reachable(slow_server, timeout=0.2, slow=0.5)


def test_nothing_listening_is_refused_at_once_without_waiting(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match="connection refused"):
        check_reachable("http://127.0.0.1:9", timeout=0.3, slow=600)
    assert "waiting" not in capsys.readouterr().out
