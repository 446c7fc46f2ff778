"""Every vendored schema in tests/providers/specs/ matches a fresh extraction from the
shared specs (`<checkout>/../shared/specs`); stale copies fail here, refresh them with
`python tools/extract_spec_schemas.py`.

One file for all of them: the extraction parses OpenAI's ~3 MB YAML spec (~1.2 s of CPU)
once per process, and a test file runs on one pytest worker.
"""

from __future__ import annotations

import functools
import importlib.util
from types import ModuleType

import pytest
from test_batch_conformance import BATCH_SPECS
from test_conformance import CHECKOUT, PROVIDERS, SHARED_SPECS, VENDORED
from test_conformance_responses import NAMES
from test_stream_conformance import STREAM_SPECS

EXTRACTED = (*PROVIDERS, *NAMES, *BATCH_SPECS, *STREAM_SPECS)


@functools.cache  # one module, so its parsed specs are shared by every test
def _extractor() -> ModuleType:
    path = CHECKOUT / "tools" / "extract_spec_schemas.py"
    loaded = importlib.util.spec_from_file_location("extract_spec_schemas", path)
    assert loaded is not None and loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    return module


def test_every_vendored_schema_is_checked() -> None:
    assert sorted(EXTRACTED) == sorted(p.stem for p in VENDORED.glob("*.json"))


@pytest.mark.skipif(not SHARED_SPECS.is_dir(), reason=f"no shared specs at {SHARED_SPECS}")
@pytest.mark.parametrize("name", EXTRACTED)
def test_vendored_schema_matches_a_fresh_extraction(name: str) -> None:
    tool = _extractor()
    fresh = tool.render(tool.extract(SHARED_SPECS, name))
    assert (VENDORED / f"{name}.json").read_text(encoding="utf-8") == fresh
