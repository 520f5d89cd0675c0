"""What the settings demand of a deployment: a key of its own, and TLS done properly."""

import subprocess

from tests.support.servers import PYTHON, ROOT, server_env

DEPLOY_WARNINGS = ("security.W004", "security.W008", "security.W012", "security.W016", "security.W009")


def check(tmp_path, *args, **environment):
    env = server_env(tmp_path, **environment)
    if environment.get("SECRET_KEY") == "":
        env.pop("SECRET_KEY")
    return subprocess.run(
        [PYTHON, str(ROOT / "manage.py"), "check", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


def test_a_deployment_without_its_own_key_refuses_to_start(tmp_path):
    refused = check(tmp_path, SECRET_KEY="", ALLOWED_HOSTS="konferenz.example.org")
    assert refused.returncode != 0
    assert "SECRET_KEY is not set" in refused.stderr
    # The embedded demo on one machine still starts without one.
    assert check(tmp_path, SECRET_KEY="").returncode == 0


def test_served_over_tls_the_deploy_check_finds_no_cookie_hsts_or_redirect_warning(tmp_path):
    key = "k" * 20 + "Zq8#x1!" + "v" * 30
    result = check(tmp_path, "--deploy", SECRET_KEY=key, ALLOWED_HOSTS="konferenz.example.org", PLENUM_HTTPS="1")
    output = result.stdout + result.stderr
    for warning in DEPLOY_WARNINGS:
        assert warning not in output, output
    plain = check(tmp_path, "--deploy", SECRET_KEY=key, ALLOWED_HOSTS="konferenz.example.org")
    assert "security.W012" in plain.stdout + plain.stderr
