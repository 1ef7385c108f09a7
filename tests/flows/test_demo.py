"""The README's promise: after `make run`, a new user signs in to the demo application."""

from __future__ import annotations

from django.core.management import call_command

from tests.support.oauth import Browser


def test_demo_user_signs_in_to_the_demo_application(base_url, settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    call_command("idp_demo")
    printed = capsys.readouterr().out
    password = next(line.split()[4] for line in printed.splitlines() if "Demo user:" in line)
    browser = Browser(base_url)

    # The demo lives on the IdP's host, so the browser follows the redirects all the way back to it.
    page = browser.authorize(f"{base_url}/demo/login", username="demo", password=password)

    visited = [p.url.split("?")[0] for p in browser.pages]
    assert f"{base_url}/login/" in visited and f"{base_url}/demo/callback" in visited
    assert page.status_code == 200 and page.url == f"{base_url}/demo/"
    assert "Signed in as Dana Demo" in page.text
    assert "signature verified" in page.text


def test_demo_data_is_idempotent(transactional_db, settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    call_command("idp_demo")
    first = capsys.readouterr().out
    call_command("idp_demo")
    assert capsys.readouterr().out == first  # same credentials, nothing created twice
