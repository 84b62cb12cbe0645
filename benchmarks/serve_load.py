"""Latency and throughput of ``reamo serve`` on text NER, over HTTP.

Starts ``reamo serve`` as a subprocess on a free port, waits for /health, times the first request (the
models load on first use), then runs ``--requests`` text NER requests with 1 and with 4 concurrent
clients and reports each request's latency (median, p90) and the requests per second. Sentences come
from the list below or from a file (one a line), cycled.

    python benchmarks/serve_load.py [--planner spacy] [--workers 2] [--requests 40] [--clients 4]
        [--sentences F] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

SENTENCES = (
    "Barack Obama met Angela Merkel in Berlin on Monday.",
    "Apple opened a new office in London, Tim Cook said.",
    "Lionel Messi scored twice as Inter Miami beat Orlando City.",
    "The United Nations held talks in Geneva with delegates from Iran.",
    "Taylor Swift played three nights at Wembley Stadium in June.",
    "Microsoft and OpenAI signed a deal in Redmond, Washington.",
    "Rafael Nadal lost to Novak Djokovic at Roland Garros.",
    "Elon Musk said Tesla would build a factory near Berlin.",
)
LABELS = ["person", "location", "organization"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(port: int, args: argparse.Namespace, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "reamo.cli", "serve", "--port", str(port)]
    command += ["--workers", str(args.workers)]
    command += ["--queue", str(max(8, 2 * args.clients)), "--timeout", str(args.timeout)]
    command += ["--planner", args.planner] if args.planner else []
    with log.open("wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


def wait_ready(url: str, server: subprocess.Popen[bytes], log: Path, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"reamo serve exited ({server.returncode}):\n{log.read_text()[-2000:]}")
        try:
            health: dict[str, Any] = httpx.get(f"{url}/health", timeout=2).json()
            if health.get("status") == "ok":
                return health
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"reamo serve did not answer /health within {seconds:g} s:\n{log.read_text()[-2000:]}")


def one(client: httpx.Client, url: str, text: str) -> tuple[float, int]:
    """Seconds for one request, and the entities it found."""
    start = time.perf_counter()
    response = client.post(f"{url}/v1/extract", json={"task": "ner", "text": text, "labels": LABELS})
    seconds = time.perf_counter() - start
    response.raise_for_status()
    return seconds, len(response.json()["entities"])


def load(url: str, sentences: list[str], requests: int, clients: int, timeout: float) -> dict[str, Any]:
    """``requests`` requests shared by ``clients`` concurrent clients (one connection each)."""
    texts = [sentences[i % len(sentences)] for i in range(requests)]
    connections = [httpx.Client(timeout=timeout) for _ in range(clients)]
    try:
        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            done = list(pool.map(lambda i: one(connections[i % clients], url, texts[i]), range(requests)))
        wall = time.perf_counter() - start
    finally:
        for connection in connections:
            connection.close()
    latencies = sorted(seconds for seconds, _ in done)
    return {
        "clients": clients,
        "requests": requests,
        "median_s": statistics.median(latencies),
        "p90_s": latencies[min(len(latencies) - 1, int(0.9 * len(latencies)))],
        "requests_per_s": requests / wall,
        "entities": sum(found for _, found in done),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--planner", help="planner spec for the service (default: the configured, embedded)")
    parser.add_argument("--workers", type=int, default=1, help="reamo serve --workers")
    parser.add_argument("--requests", type=int, default=40, help="requests per load run")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients of the second run")
    parser.add_argument("--sentences", help="a text file, one sentence a line (default: the script's list)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per request")
    parser.add_argument("--start-timeout", type=float, default=600.0, help="seconds to wait for /health")
    parser.add_argument("--json", help="write the numbers here")
    args = parser.parse_args()
    lines = Path(args.sentences).read_text(encoding="utf-8").splitlines() if args.sentences else SENTENCES
    sentences = [line.strip() for line in lines if line.strip()]
    if not sentences:
        raise SystemExit(f"{args.sentences} has no sentences; give one a line.")
    console = Console()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "serve.log"
        server = start_server(port, args, log)
        try:
            start = time.perf_counter()
            with console.status("starting reamo serve"):
                health = wait_ready(url, server, log, args.start_timeout)
            started = time.perf_counter() - start
            with httpx.Client(timeout=args.timeout) as client, console.status("first request"):
                first, _ = one(client, url, sentences[0])
            runs = []
            for clients in (1, args.clients):
                with console.status(f"{args.requests} requests, {clients} client(s)"):
                    runs.append(load(url, sentences, args.requests, clients, args.timeout))
        finally:
            server.terminate()
            server.wait(30)
    loadavg = " ".join(f"{x:.2f}" for x in os.getloadavg())
    title = (
        f"reamo serve, text NER, planner {health['planner']}, {args.workers} worker(s), "
        f"{os.cpu_count()} CPUs, load average {loadavg} (shared machine)"
    )
    table = Table(title=title)
    for column in ("clients", "requests", "median s", "p90 s", "requests/s", "entities"):
        table.add_column(column, justify="right")
    for run in runs:
        table.add_row(
            str(run["clients"]),
            str(run["requests"]),
            f"{run['median_s']:.3f}",
            f"{run['p90_s']:.3f}",
            f"{run['requests_per_s']:.2f}",
            str(run["entities"]),
        )
    console.print(table)
    console.print(f"start to /health ok: {started:.2f} s; first request: {first:.3f} s", highlight=False)
    if args.json:
        summary = {
            "planner": health["planner"],
            "workers": args.workers,
            "loadavg": os.getloadavg(),
            "start_s": started,
            "first_request_s": first,
            "runs": runs,
        }
        Path(args.json).write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
