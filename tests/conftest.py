from hypothesis import HealthCheck, settings

# The machines are noisy: never fail a property on time (CI and locally alike).
settings.register_profile(
    "posrisk", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=150
)
settings.load_profile("posrisk")

# pytester: tests of the pytest plugin run pytest on files of their own.
pytest_plugins = ["pytester"]
