"""Official Demucs models: where their files live, downloading them, loading them.

Demucs publishes each model as one or more ``<signature>-<sha256 prefix>.th`` files
and names bags of them (``htdemucs_ft`` = four fine-tuned HTDemucs) in small YAML
files; the catalogue of both ships inside the demucs package (``demucs/remote``).
We keep those files in a plain folder per user, download missing ones over HTTPS on
first use, and load from the folder with demucs' own local-repository code, so a
folder filled by hand (an offline machine) works exactly like a downloaded one.

``REMIXER_DEMUCS_URL`` overrides the download root (a mirror; the tests' fake
repository); ``REMIXER_OFFLINE=1`` forbids downloads.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from remixer_app.core.atomic import atomic_write
from remixer_app.core.errors import ExportError, SeparationError
from remixer_app.core.paths import models_dir, user_data_dir

DEFAULT_ROOT_URL = "https://dl.fbaipublicfiles.com/demucs/"
DOWNLOAD_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class ModelFiles:
    """What one named Demucs model needs on disk.

    Attributes
    ----------
    name
        Bag name (``htdemucs_ft``) or single-model signature.
    files
        ``<sig>-<checksum>.th`` file names, in bag order.
    urls
        Where each file is downloaded from.
    bag_yaml
        Text of the bag definition, or None for a single signature.
    """

    name: str
    files: tuple[str, ...]
    urls: tuple[str, ...]
    bag_yaml: str | None


class DemucsCatalog:
    """The official model list: a folder laid out like ``demucs/remote``.

    Parameters
    ----------
    remote
        Folder with ``files.txt`` (``root: <subdir>/`` lines, then file names) and one
        ``<bag>.yaml`` per bag. Default: the one inside the installed demucs package.
    root_url
        Base URL of the files. Default: ``REMIXER_DEMUCS_URL`` or Meta's server.
    """

    def __init__(self, remote: Path | None = None, root_url: str | None = None) -> None:
        if remote is None:
            import demucs

            remote = Path(demucs.__file__).parent / "remote"
        self.remote = remote
        self.root_url = root_url or os.environ.get("REMIXER_DEMUCS_URL", DEFAULT_ROOT_URL)
        if not self.root_url.endswith("/"):
            self.root_url += "/"
        self._paths = self._read_files_list(remote / "files.txt")

    @staticmethod
    def _read_files_list(path: Path) -> dict[str, str]:
        """Signature -> relative path of its file."""
        found: dict[str, str] = {}
        subdir = ""
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("root:"):
                subdir = line.split(":", 1)[1].strip()
            else:
                found[line.split("-", 1)[0]] = subdir + line
        return found

    def names(self) -> list[str]:
        """All bag names."""
        return sorted(p.stem for p in self.remote.glob("*.yaml"))

    def files_for(self, name: str) -> ModelFiles:
        """The files model ``name`` needs.

        Raises
        ------
        SeparationError
            ``name`` is neither a known bag nor a known signature.
        """
        bag_path = self.remote / f"{name}.yaml"
        if bag_path.is_file():
            bag_yaml = bag_path.read_text(encoding="utf-8")
            signatures = list(yaml.safe_load(bag_yaml)["models"])
        elif name in self._paths:
            bag_yaml, signatures = None, [name]
        else:
            raise SeparationError(f"{name!r} is not a Demucs model; known models: "
                                  f"{', '.join(self.names())}")
        missing = [s for s in signatures if s not in self._paths]
        if missing:
            raise SeparationError(f"Demucs model {name!r} lists unknown files {missing}")
        rel = [self._paths[s] for s in signatures]
        return ModelFiles(name=name, files=tuple(r.rsplit("/", 1)[-1] for r in rel),
                          urls=tuple(self.root_url + r for r in rel), bag_yaml=bag_yaml)


def model_folders() -> list[Path]:
    """Folders searched for Demucs files: bundled ``models/demucs``, then the user's."""
    return [models_dir() / "demucs", download_folder()]


def download_folder() -> Path:
    """The per-user folder downloads go to (and where users may put files by hand)."""
    return user_data_dir() / "models" / "demucs"


def installed_folder(needed: ModelFiles) -> Path | None:
    """The first folder holding every file of ``needed``, or None."""
    for folder in model_folders():
        if all((folder / f).is_file() for f in needed.files):
            return folder
    return None


def _local_model_folder(name: str) -> Path | None:
    """A folder holding a Demucs model the official list does not know (one's own)."""
    for folder in model_folders():
        if (folder / f"{name}.yaml").is_file() or any(folder.glob(f"{name}-*.th")) \
                or (folder / f"{name}.th").is_file():
            return folder
    return None


def load_demucs_model(name: str, *, catalog: DemucsCatalog | None = None,
                      allow_download: bool | None = None) -> Any:
    """Load official model ``name`` (a bag or a signature), downloading it if needed.

    Parameters
    ----------
    name
        E.g. ``htdemucs``, ``htdemucs_ft``, ``hdemucs_mmi``, ``mdx_extra``; or a bag or
        signature of one's own placed in one of :func:`model_folders`.
    catalog
        Model list and download root (tests pass a fake one).
    allow_download
        Whether missing files may be fetched; default: unless ``REMIXER_OFFLINE`` is set.

    Raises
    ------
    SeparationError
        Files are missing and cannot be downloaded (the message names each file, its
        URL and the folder to put it in), or a file is corrupt.
    """
    catalog = catalog or DemucsCatalog()
    try:
        needed = catalog.files_for(name)
    except SeparationError:
        local = _local_model_folder(name)
        if local is None:
            raise
        return _load_from_folder(name, local)
    folder = installed_folder(needed)
    if folder is None:
        if allow_download is None:
            allow_download = os.environ.get("REMIXER_OFFLINE", "") in ("", "0")
        folder = download_folder()
        if not allow_download:
            raise SeparationError(_missing_message(needed, folder, "downloads are off"))
        download_model(needed, folder)
    if needed.bag_yaml is not None:
        _write_if_changed(folder / f"{name}.yaml", needed.bag_yaml)
    return _load_from_folder(name, folder)


def download_model(needed: ModelFiles, folder: Path) -> None:
    """Fetch the missing files of ``needed`` into ``folder``, verifying each checksum.

    Raises
    ------
    SeparationError
        A download failed (no network, HTTP error, wrong checksum, full disk). Files
        already complete are kept; nothing partial is left behind.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SeparationError(f"cannot create model folder {folder}: {exc}") from exc
    for file, url in zip(needed.files, needed.urls, strict=True):
        if not (folder / file).is_file():
            try:
                _fetch(url, folder / file)
            except (OSError, urllib.error.URLError) as exc:
                reason = getattr(exc, "reason", None) or exc
                raise SeparationError(_missing_message(needed, folder, f"download failed: "
                                                       f"{reason}")) from exc


def _fetch(url: str, target: Path) -> None:
    expected = target.stem.rsplit("-", 1)[-1]
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                    dir=target.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, \
                urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            while block := response.read(1 << 20):
                digest.update(block)
                out.write(block)
        if not digest.hexdigest().startswith(expected):
            raise OSError(f"{target.name} arrived corrupt (checksum mismatch)")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _missing_message(needed: ModelFiles, folder: Path, reason: str) -> str:
    listing = "; ".join(f"{f} from {u}" for f, u in zip(needed.files, needed.urls, strict=True))
    return (f"Demucs model {needed.name!r} is not installed and {reason}. It needs "
            f"{len(needed.files)} file(s): {listing}. Put them in {folder} (or run once "
            f"with network access) and try again.")


def _write_if_changed(path: Path, text: str) -> None:
    """Keep the bag definition beside the files, where demucs' local repository looks."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    try:  # a temporary name of its own: another process may be writing the same file
        atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), overwrite=True)
    except ExportError as exc:
        raise SeparationError(f"{exc}; copy {path.name} from the demucs package's remote/ "
                              "folder by hand") from exc


def _load_from_folder(name: str, folder: Path) -> Any:
    from demucs.pretrained import get_model
    from demucs.repo import ModelLoadingError

    try:
        model = get_model(name, repo=folder)
    except ModelLoadingError as exc:
        raise SeparationError(f"Demucs model {name!r} in {folder} cannot be loaded ({exc}); "
                              "delete its files there to download them again") from exc
    except (OSError, RuntimeError, EOFError, KeyError, ValueError) as exc:
        raise SeparationError(f"Demucs model {name!r} in {folder} is damaged ({exc}); "
                              "delete its files there to download them again") from exc
    model.eval()
    return model

