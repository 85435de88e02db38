"""The admin opens for every registered model, and the run/CI scripts are well-formed."""

import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from crm.models import CompanyProfile, Sequence
from tests import factories

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def admin_client(client, db):
    user = factories.UserFactory(role="admin", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_admin_site_has_its_own_header(admin_client):
    response = admin_client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert "Salesflow administration" in response.text


@pytest.mark.parametrize(
    "model", list(admin.site._registry), ids=lambda m: f"{m._meta.app_label}.{m._meta.model_name}"
)
def test_every_admin_changelist_and_add_page_opens(admin_client, model):
    info = (model._meta.app_label, model._meta.model_name)

    assert admin_client.get(reverse("admin:{}_{}_changelist".format(*info))).status_code == 200
    add = admin_client.get(reverse("admin:{}_{}_add".format(*info)))
    assert add.status_code in (200, 403)  # 403 where adding is refused on purpose (sequences)


def test_user_admin_shows_roles_and_the_language_field(admin_client, seller):
    changelist = admin_client.get(reverse("admin:crm_user_changelist"))
    change = admin_client.get(reverse("admin:crm_user_change", args=[seller.pk]))

    assert "seller" in changelist.text
    assert 'name="language"' in change.text


def test_company_profile_is_a_single_row(admin_client):
    url = reverse("admin:crm_companyprofile_add")
    form = admin_client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}

    response = admin_client.post(url, {**data, "legal_name": "ACME Sales GmbH"})

    assert response.status_code == 302
    assert CompanyProfile.current().legal_name == "ACME Sales GmbH"
    assert admin_client.get(reverse("admin:crm_companyprofile_add")).status_code == 403


def test_sequences_cannot_be_changed_in_admin(admin_client):
    sequence = Sequence.objects.create(series="INV", year=2026, last_value=7)

    admin_client.post(reverse("admin:crm_sequence_change", args=[sequence.pk]), {"last_value": 1})

    sequence.refresh_from_db()
    assert sequence.last_value == 7


def test_ci_script_and_makefile_are_well_formed():
    ci = ROOT / ".ci" / "run"
    assert ci.stat().st_mode & 0o111, ".ci/run must be executable"
    subprocess.run(["bash", "-n", str(ci)], check=True)
    if shutil.which("make"):
        dry = subprocess.run(["make", "-n", "test", "lint"], cwd=ROOT, capture_output=True, text=True, check=True)
        assert "-m pytest" in dry.stdout and "makemigrations --check" in dry.stdout


def test_static_files_collect_with_the_production_storage(settings, tmp_path):
    # With DEBUG=0 the manifest storage rewrites every url() and sourceMappingURL; a reference to a file
    # that is not vendored makes collectstatic (and so the deployment) fail. (Production adds whitenoise's
    # compression on top, which is slow and not what can break.)
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}

    call_command("collectstatic", "--noinput", verbosity=0)

    assert (tmp_path / "static" / "staticfiles.json").exists()
