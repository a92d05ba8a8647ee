from tests.integration.conftest import stack_settings  # noqa: F401 - the shared session stack
