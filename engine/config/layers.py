"""The layered loader: defaults < a TOML file < ``KADATH_*`` environment variables < overrides,
setting by setting, with every problem in every layer collected before anything is refused.

This module reads the one configuration file it is pointed at, and nothing else: no writing, no
logging, no network.
"""

from __future__ import annotations

import difflib
import os
import tomllib
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from engine.config.settings import SECTION_RULES, SETTINGS, Config, engine_sections, settings_of
from engine.config.values import (
    ENV_PREFIX,
    ConfigError,
    ConfigProblem,
    Invalid,
    Setting,
    checked,
    from_text,
    from_typed,
    show,
    shown_value,
    toml_string,
    type_name,
)

CONFIG_FILE_ENV: Final = "KADATH_CONFIG"

LOCAL_CONFIG_FILE: Final = "kadath.toml"

SET_SOURCE: Final = "--set"


# --- loading --------------------------------------------------------------------------------------


class _Layers:
    """Values gathered so far, each with the source that set it, and every problem met.

    ``rules`` are the plugins' rule sections (``combat``: its settings type), read and checked
    exactly like the engine's own."""

    def __init__(self, rules: Mapping[str, type] | None = None) -> None:
        self.values: dict[str, tuple[object, str]] = {}
        self.problems: list[ConfigProblem] = []
        self.rules = dict(rules or {})
        self.sections: dict[str, dict[str, Setting]] = dict(SETTINGS)
        for name, settings_type in self.rules.items():
            if name in SETTINGS:
                raise TypeError(f"a plugin's rules section [{name}] is one of the engine's")
            self.sections[name] = settings_of(name, settings_type)
        self.by_key: dict[str, Setting] = {
            s.key: s for settings in self.sections.values() for s in settings.values()
        }

    def _closest(self, section: str, name: str) -> Setting | None:
        """The setting the operator most likely meant: same section first, then one put in the
        wrong section (``[net] tick_rate_hz``), then any near spelling."""
        if section in self.sections:
            match = difflib.get_close_matches(name, list(self.sections[section]), n=1)
            if match:
                return self.sections[section][match[0]]
        match = difflib.get_close_matches(f"{section}.{name}", list(self.by_key), n=1)
        if match:
            return self.by_key[match[0]]
        names = {setting.name: setting for setting in reversed(self.by_key.values())}
        match = difflib.get_close_matches(name, list(names), n=1)
        return names[match[0]] if match else None

    def problem(self, source: str, key: str, value: str | None, message: str) -> None:
        self.problems.append(ConfigProblem(source, key, value, message))

    def set(
        self,
        setting: Setting,
        value: object,
        source: str,
        *,
        text: bool,
        file_folder: Path | None = None,
    ) -> None:
        shown = shown_value(setting, value)
        try:
            typed = from_text(setting, value) if text and isinstance(value, str) else value
            typed = checked(setting, from_typed(setting, typed))
        except Invalid as bad:
            self.problem(source, setting.key, shown, str(bad))
            return
        if file_folder is not None and setting.spec.relative_to_file is not None:
            typed = setting.spec.relative_to_file(typed, file_folder)
        self.values[setting.key] = (typed, source)

    def read_file(self, path: str | os.PathLike[str], named_by: str | None) -> None:
        source = os.fspath(path)
        where = f"{source} (named by {named_by})" if named_by else source
        try:
            with open(path, "rb") as file:
                raw = file.read()
        except OSError as error:
            self.problem(where, "", None, f"cannot read the file: {error.strerror or error}")
            return
        try:
            document = tomllib.loads(raw.decode("utf-8-sig"))
        except UnicodeDecodeError as error:
            self.problem(where, "", None, f"not UTF-8 text: {error}")
            return
        except tomllib.TOMLDecodeError as error:
            self.problem(where, "", None, f"not valid TOML: {error}")
            return
        folder = Path(path).absolute().parent
        for section_name, table in document.items():
            self._read_table(source, section_name, table, folder)

    def _read_table(self, source: str, section_name: str, table: object, folder: Path) -> None:
        if section_name not in self.sections:
            if isinstance(table, dict):
                match = difflib.get_close_matches(section_name, list(self.sections), n=1)
                hint = f"; did you mean [{match[0]}]?" if match else ""
                known = ", ".join(f"[{name}]" for name in self.sections)
                self.problem(
                    source, f"[{section_name}]", None, f"unknown section{hint} (known: {known})"
                )
            else:
                near = self._closest("", section_name)
                hint = f"; did you mean {near.name} in [{near.section}]?" if near else ""
                self.problem(
                    source,
                    section_name,
                    show(table),
                    f"settings belong in a [section] table{hint}",
                )
            return
        if not isinstance(table, dict):
            self.problem(
                source,
                section_name,
                show(table),
                f"expected a table ([{section_name}]), got {type_name(table)}",
            )
            return
        for name, value in table.items():
            setting = self.sections[section_name].get(name)
            if setting is None:
                near = self._closest(section_name, name)
                hint = f"; did you mean {near.name} in [{near.section}]?" if near else ""
                self.problem(
                    source, f"{section_name}.{name}", show(value), f"unknown setting{hint}"
                )
            else:
                self.set(setting, value, source, text=False, file_folder=folder)

    def read_env(self, env: Mapping[str, str]) -> None:
        for var in sorted(env):
            upper = var.upper()
            if not upper.startswith(ENV_PREFIX) or upper == CONFIG_FILE_ENV:
                continue
            value = env[var]
            source = f"environment variable {var}"
            section_name, sep, name = upper[len(ENV_PREFIX) :].partition("__")
            section = self.sections.get(section_name.lower(), {})
            setting = section.get(name.lower()) if sep else None
            if setting is not None:
                self.set(setting, value, source, text=True)
                continue
            if sep:
                key = f"{section_name.lower()}.{name.lower()}"
                near = self._closest(section_name.lower(), name.lower())
            else:
                key = var
                flat = {f"{s.section}_{s.name}": s for s in self.by_key.values()}
                match = difflib.get_close_matches(section_name.lower(), list(flat), n=1)
                near = flat[match[0]] if match else None
            hint = f"; did you mean {near.env_var}?" if near else ""
            self.problem(
                source,
                key,
                toml_string(value),
                f"unknown setting{hint} (every {ENV_PREFIX}* variable must name a setting,"
                f" as {ENV_PREFIX}<SECTION>__<SETTING>)",
            )

    def read_override(self, key: str, value: str, source: str) -> None:
        normal = key.strip().lower().replace("-", "_")
        section_name, _, name = normal.partition(".")
        setting = self.sections.get(section_name, {}).get(name)
        if setting is not None:
            self.set(setting, value, source, text=True)
            return
        if not section_name or not name:
            self.problem(
                source,
                key,
                toml_string(value),
                "expected SECTION.SETTING, e.g. engine.tick_rate_hz",
            )
            return
        near = self._closest(section_name, name)
        hint = f"; did you mean {near.key}?" if near else ""
        self.problem(source, normal, toml_string(value), f"unknown setting{hint}")

    def check_sections(self) -> None:
        for section_name, rules in SECTION_RULES.items():
            values: dict[str, object] = {}
            sources: dict[str, str] = {}
            for setting in SETTINGS[section_name].values():
                value, source = self.values.get(setting.key, (setting.default, "defaults"))
                values[setting.name] = value
                sources[setting.name] = source
            for names, message in rules(values):
                named = [sources[name] for name in names if sources[name] != "defaults"]
                source = " and ".join(dict.fromkeys(named)) or "defaults"
                key = ", ".join(f"{section_name}.{name}" for name in names)
                self.problem(source, key, None, message)

    def build(self) -> Config:
        self.check_sections()
        if self.problems:
            raise ConfigError(self.problems)
        sections: dict[str, Any] = {}
        for section_field in engine_sections():
            section_type = typing.get_type_hints(Config)[section_field.name]
            given = {
                setting.name: self.values[setting.key][0]
                for setting in SETTINGS[section_field.name].values()
                if setting.key in self.values
            }
            sections[section_field.name] = section_type(**given)
        rules = {
            name: settings_type(
                **{
                    setting.name: self.values[setting.key][0]
                    for setting in self.sections[name].values()
                    if setting.key in self.values
                }
            )
            for name, settings_type in self.rules.items()
        }
        return Config(**sections, rules=rules)


Override = tuple[str, str, str]  # key, value, source


def parse_overrides(overrides: Mapping[str, str] | Sequence[str]) -> Iterator[Override | str]:
    """``--set`` assignments as (key, value, source); a malformed one is yielded as its text."""
    if isinstance(overrides, str):
        raise TypeError("overrides must be a sequence of 'section.field=value' strings, not a str")
    if isinstance(overrides, Mapping):
        for key, value in overrides.items():
            yield (key, value, SET_SOURCE)
        return
    for text in overrides:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            yield text
        else:
            yield (key, value, SET_SOURCE)


def load(
    path: str | os.PathLike[str] | None,
    env: Mapping[str, str] | None,
    overrides: Iterable[Override | str],
    *,
    local_file: bool = False,
    rules: Mapping[str, type] | None = None,
) -> Config:
    env = os.environ if env is None else env
    layers = _Layers(rules)
    if path is not None:
        layers.read_file(path, None)
    elif env.get(CONFIG_FILE_ENV):
        layers.read_file(env[CONFIG_FILE_ENV], CONFIG_FILE_ENV)
    elif local_file and os.path.isfile(LOCAL_CONFIG_FILE):
        layers.read_file(LOCAL_CONFIG_FILE, None)
    layers.read_env(env)
    for override in overrides:
        if isinstance(override, str):
            layers.problem(
                SET_SOURCE,
                override,
                None,
                "expected SECTION.SETTING=VALUE, e.g. --set engine.tick_rate_hz=20",
            )
        else:
            layers.read_override(*override)
    return layers.build()


def load_config(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | Sequence[str] = (),
    *,
    rules: Mapping[str, type] | None = None,
) -> Config:
    """Build the effective configuration: defaults, then the TOML file (``path``, else the file
    named by ``KADATH_CONFIG``), then ``KADATH_<SECTION>__<SETTING>`` variables from ``env``
    (default ``os.environ``), then ``overrides`` (``section.field=value``, as given to ``--set``).
    ``rules`` names the plugins' rule sections (``{"combat": CombatSettings}``), which are read
    the same way into ``Config.rules``; any other section is unknown.

    Raises ConfigError listing every problem in every layer, so one failed start is enough to see
    all that needs fixing.
    """
    return load(path, env, parse_overrides(overrides), rules=rules)
