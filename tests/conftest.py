from tests.fixtures_demo import *  # noqa: F403 - fixtures are found by name
