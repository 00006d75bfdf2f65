"""Server configuration: one typed, immutable ``Config`` built from defaults < TOML file <
environment variables < command-line flags, so an operator can set a value at whichever level suits.

Three jobs, three modules: ``settings`` (what an operator can set, and the ``Config`` it makes),
``layers`` (reading a file, the environment and overrides into one ``Config``) and ``flags`` (the
command-line flags every ``kadath`` command shares); ``values`` is their common vocabulary. Nothing
here is consulted on the tick path: systems get the values, not the loader.
"""

from engine.config.flags import add_config_arguments, config_from_args
from engine.config.layers import CONFIG_FILE_ENV, LOCAL_CONFIG_FILE, load_config
from engine.config.settings import (
    BUNDLED_WORLD_PACKAGE,
    DATABASE_SCHEMES,
    CalendarConfig,
    ClusterConfig,
    Config,
    EngineConfig,
    LogConfig,
    NetConfig,
    PersistConfig,
    WorldConfig,
    bundled_world_dir,
    sqlite_file,
)
from engine.config.values import ENV_PREFIX, ConfigError, ConfigProblem, setting_field

__all__ = [
    "BUNDLED_WORLD_PACKAGE",
    "CONFIG_FILE_ENV",
    "DATABASE_SCHEMES",
    "ENV_PREFIX",
    "LOCAL_CONFIG_FILE",
    "CalendarConfig",
    "ClusterConfig",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "EngineConfig",
    "LogConfig",
    "NetConfig",
    "PersistConfig",
    "WorldConfig",
    "add_config_arguments",
    "bundled_world_dir",
    "config_from_args",
    "load_config",
    "setting_field",
    "sqlite_file",
]
