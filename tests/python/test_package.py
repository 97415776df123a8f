"""The package itself: where it was imported from, the library it loaded,
the versions, the type marker, and that it declares the whole C ABI."""
import os
import pathlib
import re
from importlib import metadata

import epode
from conftest import INSTALLED, ROOT
from epode import _lib


def test_imported_from_where_the_mode_says():
    package = pathlib.Path(epode.__file__).resolve().parent
    if INSTALLED:
        assert ROOT not in package.parents, f"{package} is the checkout's, not the installed package"
        assert _lib.origin == "bundled" and "EPODE_LIB" not in os.environ
        assert pathlib.Path(epode.library_path).parent == package
    else:
        assert package == ROOT / "src" / "python" / "epode"
        assert _lib.origin == "$EPODE_LIB"


def test_versions_agree_with_the_crate():
    cargo = re.search(r'^version = "([^"]+)"', (ROOT / "Cargo.toml").read_text(), re.M).group(1)
    pyproject = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert epode.library_version() == cargo == pyproject
    if INSTALLED:
        assert metadata.version("epode") == epode.__version__ == cargo


def test_typed_package():
    assert (pathlib.Path(epode.__file__).parent / "py.typed").exists()


def test_every_function_of_the_header_is_declared():
    header = (ROOT / "include" / "epode.h").read_text()
    functions = set(re.findall(r"^\S[^(\n]*?\b(epode_\w+)\(", header, re.M))
    assert len(functions) >= 90
    assert functions == set(_lib.DECLARED)


def test_public_names():
    for name in epode.__all__:
        assert hasattr(epode, name), name
