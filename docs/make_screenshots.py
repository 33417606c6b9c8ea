"""Regenerate the README's screenshots (SVG, Textual's screenshot feature) from the sample data.

    python docs/make_screenshots.py

Runs the App headless at 120x36 on ``sample_data/telescope.parquet`` with a fresh
labels file and saves the overview, the candidates, a group's detail and the labels
screen into ``docs/``.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


async def settle(app, pilot) -> None:
    for _ in range(400):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(not w.is_finished for w in app.workers) and not app.workers_busy() and not app.counting:
            return


async def main() -> None:
    from scantui.tui.app import ScantuiApp
    from scantui.tui.state import LoadRequest

    import os

    os.chdir(HERE.parent)  # the inputs panel shows the path as given: keep it relative
    tmp = Path(tempfile.mkdtemp())
    app = ScantuiApp(LoadRequest(("sample_data/telescope.parquet",), cache_dir=tmp / "cache", labels_path=tmp / "labels.yaml"))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        app.save_screenshot("screenshot-overview.svg", str(HERE))
        await pilot.press("3")
        await settle(app, pilot)
        app.save_screenshot("screenshot-candidates.svg", str(HERE))
        await pilot.press("down", "enter")
        await settle(app, pilot)
        app.save_screenshot("screenshot-group.svg", str(HERE))
        await pilot.press("escape", "a")
        await settle(app, pilot)
        await pilot.press("4")
        await settle(app, pilot)
        app.save_screenshot("screenshot-labels.svg", str(HERE))


if __name__ == "__main__":
    asyncio.run(main())
