"""The import pages: upload → mapping preview → Celery task (eager here) → progress/result → CSV report."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from leads.models import ImportJob, ImportState, Lead

pytestmark = pytest.mark.django_db

CSV = "Vorname;Name;E-Mail;Firma\nJörg;Müller;joerg@example.com;Müller GmbH\nAnna;;anna@example.com;X\n"


def upload(client, data: bytes = CSV.encode(), name: str = "leads.csv"):
    return client.post(reverse("leads:import"), {"file": SimpleUploadedFile(name, data, "text/csv")})


def test_upload_shows_detected_mapping_and_first_rows(seller_client):
    response = upload(seller_client)

    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("leads:import_mapping", args=[job.pk])
    page = seller_client.get(response.url).content.decode()
    assert "Jörg" in page and "Müller GmbH" in page
    assert '<option value="email" selected>' in page
    assert '<option value="last_name" selected>' in page  # German "Name" next to "Vorname"


def test_start_runs_the_task_and_shows_the_result_with_report(seller_client, seller,
                                                               django_capture_on_commit_callbacks):
    job_url = upload(seller_client).url
    job = ImportJob.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        response = seller_client.post(job_url, {
            "col_0": "first_name", "col_1": "last_name", "col_2": "email", "col_3": "company", "mode": "skip",
            "owner": "",
        })

    assert response.status_code == 302 and response.url == reverse("leads:import_progress", args=[job.pk])
    job.refresh_from_db()
    assert (job.state, job.total, job.created, job.skipped) == (ImportState.DONE, 2, 1, 1)
    assert Lead.objects.get().owner == seller
    page = seller_client.get(response.url).content.decode()
    assert "1 leads created, 1 skipped." in page and "The last name is missing." in page
    assert 'hx-trigger="every 1s"' not in page  # finished: the page stops polling
    report = seller_client.get(reverse("leads:import_report", args=[job.pk]))
    assert report["Content-Type"].startswith("text/csv")
    assert "3,Name,The last name is missing.,error" in report.content.decode("utf-8-sig")


def test_all_or_nothing_mode_creates_nothing(seller_client, django_capture_on_commit_callbacks):
    job_url = upload(seller_client).url

    with django_capture_on_commit_callbacks(execute=True):
        seller_client.post(job_url, {"col_0": "first_name", "col_1": "last_name", "col_2": "email", "col_3": "",
                                 "mode": "all"})

    job = ImportJob.objects.get()
    assert job.state == ImportState.FAILED and not Lead.objects.exists()
    assert "Nothing was imported" in seller_client.get(job.get_absolute_url()).content.decode()


def test_running_job_polls_with_htmx(seller_client, seller):
    upload(seller_client)
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(state=ImportState.RUNNING, total=10, processed=4)

    partial = seller_client.get(job.get_absolute_url(), HTTP_HX_REQUEST="true").content.decode()

    assert partial.lstrip().startswith('<div id="import-progress"')
    assert 'hx-trigger="every 1s"' in partial and 'aria-valuenow="40"' in partial


def test_mapping_without_name_column_is_refused_with_a_message(seller_client):
    job_url = upload(seller_client).url

    response = seller_client.post(job_url, {"col_0": "first_name", "col_1": "", "col_2": "email", "mode": "all"},
                                  follow=True)

    assert "No column holds the last name" in response.content.decode()
    assert ImportJob.objects.get().state == ImportState.PENDING and not Lead.objects.exists()


def test_second_start_does_not_import_twice(seller_client, django_capture_on_commit_callbacks):
    job_url = upload(seller_client).url
    data = {"col_0": "first_name", "col_1": "last_name", "col_2": "email", "mode": "skip"}
    with django_capture_on_commit_callbacks(execute=True):
        seller_client.post(job_url, data)
        seller_client.post(job_url, data)

    assert Lead.objects.count() == 1


def test_file_over_10_mb_is_refused_on_upload(seller_client):
    response = upload(seller_client, b"Name\n" + b"x" * (10 * 1024 * 1024 + 10))

    assert response.status_code == 200
    assert "files up to 10 MB can be imported" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_unreadable_file_is_refused_on_upload(seller_client):
    response = upload(seller_client, b"PK\x03\x04not really", name="leads.xlsx")

    assert "The Excel file cannot be read" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_another_users_import_is_404(client, seller_client, teammate):
    upload(seller_client)
    job = ImportJob.objects.get()
    client.force_login(teammate)

    assert client.get(job.get_absolute_url()).status_code == 404
    assert client.get(reverse("leads:import_report", args=[job.pk])).status_code == 404


def test_quick_entry_page_creates_a_lead_and_returns_an_empty_form(seller_client, seller):
    page = seller_client.get(reverse("leads:quick")).content.decode()
    assert 'name="name"' in page and "autofocus" in page

    response = seller_client.post(reverse("leads:quick"), {
        "name": "Ada King Lovelace", "company": "Analytical", "email": "ADA@example.com", "phone": "+49 1",
        "note": "Met at CeBIT"}, follow=True)

    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name, lead.email, lead.notes, lead.owner) == (
        "Ada King", "Lovelace", "ada@example.com", "Met at CeBIT", seller)
    assert f"Lead {lead.number} · Ada King Lovelace saved." in response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("leads:quick")


def test_quick_entry_requires_a_name(seller_client):
    response = seller_client.post(reverse("leads:quick"), {"name": "", "company": "X"})

    assert response.status_code == 200 and not Lead.objects.exists()
