"""`parity dashboard`: the pages served live from the store, re-read on every request, so a loop
running beside it shows up as it goes (the overview polls api/overview.json)."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from parity.errors import ParityError
from parity.store import Store
from parity.task import Workspace
from parity.web import pages, views

MAX_ID = 2**63 - 1
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def create_app(ws: Workspace, store: Store) -> FastAPI:
    app = FastAPI(title=f"parity · {ws.root.name}", docs_url=None, redoc_url=None)

    def guarded(render, *ids: int):
        if any(not 0 < i < MAX_ID for i in ids):  # SQLite would overflow: a 500 where a 404 is meant
            raise HTTPException(status_code=404, detail="no such experiment")
        try:
            return HTMLResponse(render())
        except ParityError as exc:
            raise HTTPException(status_code=404, detail=exc.what) from None  # what, never where: no server paths

    @app.get("/")
    def root() -> RedirectResponse:
        return RedirectResponse("index.html")

    @app.get("/index.html", response_class=HTMLResponse)
    def overview():
        return guarded(lambda: pages.overview_page(ws, store, live=True))

    @app.get("/api/overview.json")
    def overview_json(gate: str | None = None, metric: str = "quality") -> dict:
        try:
            return views.overview(ws, store, gate, metric)
        except ParityError as exc:
            raise HTTPException(status_code=400, detail=exc.what) from None

    @app.get("/experiment-{experiment_id}.html", response_class=HTMLResponse)
    def experiment(experiment_id: int):
        return guarded(lambda: pages.experiment_page(ws, store, pages.ruler_or_none(ws), experiment_id), experiment_id)

    @app.get("/compare-{a}-{b}.html", response_class=HTMLResponse)
    def compare(a: int, b: int):
        return guarded(lambda: pages.compare_page(ws, store, pages.ruler_or_none(ws), a, b), a, b)

    @app.get("/training.html", response_class=HTMLResponse)
    def training():
        return guarded(lambda: pages.training_page(ws, store))

    @app.get("/analyses.html", response_class=HTMLResponse)
    def analyses():
        return guarded(lambda: pages.analyses_page(ws, store))

    @app.get("/plotly.min.js")
    def plotly() -> FileResponse:
        return FileResponse(pages.plotly_js(), media_type="application/javascript")

    return app


def serve(ws: Workspace, store: Store, host: str, port: int) -> None:
    import socket

    import uvicorn

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:  # uvicorn would log a traceback-like error and exit 3; say it in one line instead
            probe.bind((host, port))
        except OSError as exc:
            raise ParityError(
                f"cannot serve on {host}:{port} ({exc.strerror})", "--port/--host", "choose a free port, e.g. --port 8766"
            ) from None
    uvicorn.run(create_app(ws, store), host=host, port=port, log_level="warning")
