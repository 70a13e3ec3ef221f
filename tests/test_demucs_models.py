"""Official Demucs models: catalogue, download from a (fake, local) server, offline errors."""

from __future__ import annotations

import functools
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from remixer_app.core.errors import SeparationError
from remixer_app.core.separation.demucs_models import (
    DemucsCatalog,
    download_folder,
    load_demucs_model,
)

from tiny_models import write_fake_demucs_remote


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Path, str, list[str]]]:
    """A local HTTP server playing Demucs' download site; yields (catalogue, url, files)."""
    remote, files = tmp_path / "remote", tmp_path / "site"
    names = write_fake_demucs_remote(remote, files)
    handler = functools.partial(_QuietHandler, directory=str(files))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield remote, f"http://127.0.0.1:{httpd.server_address[1]}/", names
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def test_real_catalogue_lists_the_official_models() -> None:
    catalog = DemucsCatalog()
    assert {"htdemucs", "htdemucs_ft", "hdemucs_mmi", "mdx_extra"} <= set(catalog.names())
    ft = catalog.files_for("htdemucs_ft")
    assert len(ft.files) == 4 and all(f.endswith(".th") for f in ft.files)
    assert ft.urls[0].startswith("https://dl.fbaipublicfiles.com/demucs/hybrid_transformer/")
    with pytest.raises(SeparationError, match="not a Demucs model"):
        catalog.files_for("no_such_model")


def test_offline_message_names_files_urls_and_folder() -> None:
    start = time.monotonic()
    with pytest.raises(SeparationError) as info:
        load_demucs_model("htdemucs_ft", allow_download=False)
    assert time.monotonic() - start < 2.0
    message = str(info.value)
    for name in DemucsCatalog().files_for("htdemucs_ft").files:
        assert name in message
    assert str(download_folder()) in message and "https://" in message


def test_offline_env_switch_forbids_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMIXER_OFFLINE", "1")
    with pytest.raises(SeparationError, match="downloads are off"):
        load_demucs_model("htdemucs")


def test_unreachable_server_fails_fast_with_the_reason(server: tuple) -> None:
    remote, _, _ = server
    catalog = DemucsCatalog(remote, "http://127.0.0.1:9/")  # discard port: refused
    start = time.monotonic()
    with pytest.raises(SeparationError, match="download failed"):
        load_demucs_model("tinybag", catalog=catalog)
    assert time.monotonic() - start < 5.0
    assert not list(download_folder().glob("*.part")) and not list(download_folder().glob(".*"))


def test_download_verify_load_then_work_offline(server: tuple) -> None:
    import torch

    remote, url, names = server
    bag = load_demucs_model("tinybag", catalog=DemucsCatalog(remote, url))
    assert sorted(p.name for p in download_folder().glob("*.th")) == sorted(names)
    assert (download_folder() / "tinybag.yaml").is_file()
    with torch.no_grad():
        out = bag.models[0](torch.zeros(1, 2, 44100))
    assert out.shape == (1, 4, 2, 44100) and np.isfinite(out.numpy()).all()
    # Second load: no server needed any more.
    again = load_demucs_model("tinybag", catalog=DemucsCatalog(remote, "http://127.0.0.1:9/"))
    assert len(again.models) == 2


def test_corrupt_download_is_rejected_and_not_kept(server: tuple) -> None:
    remote, url, names = server
    site = Path(remote).parent / "site" / "tiny" / names[0]
    site.write_bytes(site.read_bytes()[:-10] + b"corrupted!")
    with pytest.raises(SeparationError, match="corrupt"):
        load_demucs_model("tinybag", catalog=DemucsCatalog(remote, url))
    assert not (download_folder() / names[0]).exists()


def _place_by_hand(remote: Path, names: list[str]) -> Path:
    """Copy the bag's weight files into the download folder, as a user offline would."""
    folder = download_folder()
    folder.mkdir(parents=True)
    for name in names:
        (folder / name).write_bytes((remote.parent / "site" / "tiny" / name).read_bytes())
    return folder


def test_files_placed_by_hand_load_without_network(server: tuple) -> None:
    remote, _, names = server
    folder = _place_by_hand(remote, names)
    bag = load_demucs_model("tinybag", catalog=DemucsCatalog(remote, "http://127.0.0.1:9/"))
    assert len(bag.models) == 2
    # A damaged file in place is reported, with what to do about it.
    (folder / names[1]).write_bytes(b"garbage")
    with pytest.raises(SeparationError, match="delete its files"):
        load_demucs_model("tinybag", catalog=DemucsCatalog(remote, "http://127.0.0.1:9/"))


def test_own_model_outside_the_catalogue_loads_from_the_folder(server: tuple) -> None:
    remote, _, names = server
    folder = download_folder()
    folder.mkdir(parents=True)
    (folder / names[0]).write_bytes((remote.parent / "site" / "tiny" / names[0]).read_bytes())
    model = load_demucs_model(names[0].split("-")[0])  # the real catalogue does not know it
    assert model.sources == ["drums", "bass", "other", "vocals"]


def test_another_process_writing_the_bag_file_meanwhile_is_left_alone(server: tuple) -> None:
    remote, _, names = server
    folder = _place_by_hand(remote, names)
    # Another process loading the bag at the same moment, halfway through writing it under
    # the temporary name a fixed scheme would pick: its file must be neither taken nor
    # clobbered, or its rename fails ("No such file or directory").
    theirs = folder / ".tinybag.yaml.part"
    theirs.write_text("models: [half", encoding="utf-8")
    bag = load_demucs_model("tinybag", catalog=DemucsCatalog(remote, "http://127.0.0.1:9/"))
    assert len(bag.models) == 2
    assert theirs.read_text(encoding="utf-8") == "models: [half"
    assert (folder / "tinybag.yaml").read_text(encoding="utf-8") == (
        remote / "tinybag.yaml").read_text(encoding="utf-8")
    assert sorted(p.name for p in folder.glob(".*")) == [theirs.name]
