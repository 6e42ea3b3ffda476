"""docs/pt-BR and docs/es translate the README: the same configuration variables, the same sections.

The lead re-translates them at the end of each change; these tests catch a variable added to the
README's configuration table but not to a translation (or the other way round), and a translation
that lost one of the parts a user needs (start, configuration, portal, API, operations).
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TRANSLATIONS = {
    "pt-BR": {
        "configuration": "Configuração",
        "api": "API",
        "operations": "Operações",
        "portal": "Portal",
    },
    "es": {
        "configuration": "Configuración",
        "api": "API",
        "operations": "Operaciones",
        "portal": "Portal",
    },
}
ENGLISH = {
    "configuration": "Configuration",
    "api": "API",
    "operations": "Operations",
    "portal": "Portal",
}
VARIABLE = re.compile(r"`([A-Z][A-Z0-9_]{2,})`")


def sections(text: str) -> dict[str, str]:
    """Level-2 headings -> their text; what comes before the first one is under ""."""
    out, name = {"": []}, ""
    for line in text.splitlines():
        if line.startswith("## "):
            name = line[3:].strip()
            out[name] = []
        else:
            out[name].append(line)
    return {key: "\n".join(lines) for key, lines in out.items()}


def config_variables(section: str) -> set[str]:
    """The variables of every table in the configuration section (first column, backticked)."""
    names = set()
    for line in section.splitlines():
        if not line.startswith("|") or set(line) <= set("|- "):
            continue
        first = line.strip("|").split("|")[0]
        names.update(VARIABLE.findall(first))
    return names


def test_the_readme_configuration_table_is_parsed():
    variables = config_variables(sections(README.read_text())[ENGLISH["configuration"]])
    assert {"DATABASE_URL", "STRIPE_API_KEY", "SMTP_FROM_EMAIL", "PORT", "RUN_HOST"} <= variables
    assert len(variables) > 40


@pytest.mark.parametrize("language", sorted(TRANSLATIONS))
def test_a_translation_lists_the_readme_configuration_variables(language):
    english = config_variables(sections(README.read_text())[ENGLISH["configuration"]])
    text = (ROOT / "docs" / language / "README.md").read_text()
    translated = config_variables(sections(text)[TRANSLATIONS[language]["configuration"]])
    assert english - translated == set(), f"docs/{language}/README.md lacks these variables"
    assert translated - english == set(), (
        f"docs/{language}/README.md has variables the README lacks"
    )


@pytest.mark.parametrize("language", sorted(TRANSLATIONS))
def test_a_translation_covers_start_configuration_portal_api_and_operations(language):
    text = (ROOT / "docs" / language / "README.md").read_text()
    parts = sections(text)
    assert "make run" in parts[""], "the start (make run, URLs, demo logins) comes first"
    assert "owner@globex.test" in parts[""]
    for part, heading in TRANSLATIONS[language].items():
        assert heading in parts, f"docs/{language}/README.md has no '## {heading}' ({part})"
        assert len(parts[heading].strip()) > 200, f"'## {heading}' is nearly empty"
