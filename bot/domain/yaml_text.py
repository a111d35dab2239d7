"""Parse YAML content files (meeting templates, tool front matter) with libyaml where it is available."""

from __future__ import annotations

from typing import Any

import yaml

try:
    # libyaml's parser reads the same documents several times faster: templates and tools are parsed at every start.
    from yaml import CSafeLoader as YamlLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as YamlLoader  # type: ignore[assignment]


def load_yaml(text: str) -> Any:
    """Parse YAML fast; when it is broken, raise the pure-Python parser's error."""
    try:
        return yaml.load(text, Loader=YamlLoader)
    except yaml.YAMLError:
        # libyaml places some errors (an unclosed list, say) at the end of the text; the pure-Python parser names
        # the line an author should look at. Only broken files pay for parsing twice.
        return yaml.safe_load(text)
