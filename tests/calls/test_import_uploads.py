"""Imports uploaded in the web UI: calls.services (create, run, sweep), the task, the pages and who may use them."""

from __future__ import annotations

import gzip
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from calls import services
from calls.importers import import_files
from calls.models import Agent, Call, CallImport, CallImportFile, Transfer
from tests.factories import UserFactory

CALLS_CSV = (
    "external_id,channel,started_at,ended_at,agent_employee_code,agent_name\n"
    "U-1,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,A-1,Ana\n"
    "U-2,chat,2026-11-02T11:00:00Z,2026-11-02T11:05:00Z,A-2,Ben\n"
    "U-3,fax,2026-11-02T12:00:00Z,2026-11-02T12:05:00Z,A-2,Ben\n"
)
TRANSFERS_CSV = "call_external_id,at,to_agent\nU-1,2026-11-02T10:01:00Z,A-2\n"
UNKNOWN_CHANNEL = "unknown value 'fax' (expected one of: phone, email, chat, social, in_person)"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def uploads(*pairs: tuple[str, str | bytes]) -> list[services.Upload]:
    return [services.Upload(name, data.encode() if isinstance(data, str) else data) for name, data in pairs]


# --- services -------------------------------------------------------------------------------------------


def test_a_partial_import_of_two_csv_files_stores_the_outcome_and_a_rejects_file(admin_user):
    call_import = services.call_import_create(
        user=admin_user,
        uploads=uploads(("calls.csv", CALLS_CSV), ("transfers.csv", TRANSFERS_CSV)),
        partial=True,
    )
    assert (call_import.status, call_import.total_bytes) == ("queued", len(CALLS_CSV) + len(TRANSFERS_CSV))

    done = services.call_import_run(call_import.pk)

    assert (done.status, done.written, done.created, done.updated, done.unchanged, done.rejected) == (
        "done",
        True,
        2,
        0,
        0,
        1,
    )
    assert (done.error_count, done.errors) == (
        1,
        [{"file": "calls.csv", "line": 4, "field": "channel", "reason": UNKNOWN_CHANNEL}],
    )
    assert sorted(Call.objects.values_list("external_id", flat=True)) == ["U-1", "U-2"]
    assert Transfer.objects.get().to_agent.employee_code == "A-2"
    calls_file, transfers_file = done.files.order_by("position")
    assert calls_file.rejects_name == "calls.rejects.csv"
    assert bytes(calls_file.rejects).decode().splitlines() == [
        "external_id,channel,started_at,ended_at,agent_employee_code,agent_name,errors",
        f'U-3,fax,2026-11-02T12:00:00Z,2026-11-02T12:05:00Z,A-2,Ben,"channel: {UNKNOWN_CHANNEL}"',
    ]
    assert (transfers_file.rejects_name, transfers_file.rejects) == ("", None)  # nothing rejected there
    assert done.started_at <= done.finished_at
    assert services.call_import_progress(done) is None


def test_all_or_nothing_with_a_bad_row_imports_nothing_and_says_why(admin_user):
    call_import = services.call_import_create(
        user=admin_user, uploads=uploads(("calls.csv", CALLS_CSV)), partial=False
    )

    done = services.call_import_run(call_import.pk)

    assert (done.status, done.written, done.created, done.rejected, done.error_count) == (
        "done",
        False,
        0,
        1,
        1,
    )
    assert done.errors == [{"file": "calls.csv", "line": 4, "field": "channel", "reason": UNKNOWN_CHANNEL}]
    assert not Call.objects.exists()
    assert done.files.get().rejects is None


def test_gzipped_json_lines_and_naive_times_in_the_imports_time_zone(admin_user):
    line = '{"external_id": "Z-1", "channel": "phone", "started_at": "2026-07-01 09:00:00", "ended_at": "2026-07-01 09:10:00"}\n'
    call_import = services.call_import_create(
        user=admin_user,
        uploads=uploads(("export.jsonl.gz", gzip.compress(line.encode()))),
        partial=False,
        timezone_name="Europe/Paris",
    )

    done = services.call_import_run(call_import.pk)

    assert (done.status, done.created) == ("done", 1)
    assert Call.objects.get().started_at.isoformat() == "2026-07-01T07:00:00+00:00"


def test_an_import_that_cannot_start_fails_with_the_reason_and_writes_nothing(admin_user):
    call_import = services.call_import_create(
        user=admin_user, uploads=uploads(("calls.jsonl.gz", b"\x1f\x8bnot gzip at all")), partial=True
    )

    done = services.call_import_run(call_import.pk)

    assert done.status == "failed"
    assert done.failure.startswith("calls.jsonl.gz: not a readable gzip file")
    assert not Call.objects.exists()


def test_a_second_delivery_of_the_task_does_nothing(admin_user):
    call_import = services.call_import_create(
        user=admin_user, uploads=uploads(("c.csv", CALLS_CSV)), partial=True
    )
    assert services.call_import_run(call_import.pk).created == 2

    assert services.call_import_run(call_import.pk) is None  # finished: not claimed again
    call_import.refresh_from_db()
    assert (call_import.created, Call.objects.count()) == (2, 2)


def test_a_running_import_is_taken_over_only_when_stale(admin_user, settings):
    settings.CALLS_IMPORT_STALE_MINUTES = 60
    call_import = services.call_import_create(
        user=admin_user, uploads=uploads(("c.csv", CALLS_CSV)), partial=True
    )
    CallImport.objects.filter(pk=call_import.pk).update(
        status="running", started_at=timezone.now() - timedelta(minutes=59)
    )
    assert services.call_import_run(call_import.pk) is None  # its worker may still be at it

    CallImport.objects.filter(pk=call_import.pk).update(started_at=timezone.now() - timedelta(minutes=61))
    assert services.call_import_run(call_import.pk).status == "done"


def test_the_sweeper_queues_lost_imports_again(admin_user, settings, eager_celery):
    settings.CALLS_IMPORT_STALE_MINUTES = 60
    now = timezone.now()
    lost = services.call_import_create(user=admin_user, uploads=uploads(("a.csv", CALLS_CSV)), partial=True)
    fresh = services.call_import_create(user=admin_user, uploads=uploads(("b.csv", CALLS_CSV)), partial=True)
    dead = services.call_import_create(user=admin_user, uploads=uploads(("c.csv", CALLS_CSV)), partial=True)
    CallImport.objects.filter(pk=lost.pk).update(created_at=now - timedelta(minutes=2))
    CallImport.objects.filter(pk=dead.pk).update(
        created_at=now - timedelta(hours=2), status="running", started_at=now - timedelta(minutes=61)
    )

    assert services.call_import_sweep() == 2

    statuses = dict(CallImport.objects.values_list("pk", "status"))
    assert statuses == {lost.pk: "done", fresh.pk: "queued", dead.pk: "done"}


def test_old_imports_lose_their_files_but_keep_their_record(client, admin_user, settings):
    settings.CALLS_IMPORT_KEEP_DAYS = 30
    now = timezone.now()
    old = services.call_import_create(user=admin_user, uploads=uploads(("old.csv", CALLS_CSV)), partial=True)
    recent = services.call_import_create(
        user=admin_user, uploads=uploads(("new.csv", CALLS_CSV)), partial=True
    )
    running = services.call_import_create(
        user=admin_user, uploads=uploads(("run.csv", CALLS_CSV)), partial=True
    )
    for call_import in (old, recent):
        services.call_import_run(call_import.pk)
    CallImport.objects.filter(pk=old.pk).update(finished_at=now - timedelta(days=31))
    CallImport.objects.filter(pk=recent.pk).update(finished_at=now - timedelta(days=29))

    assert services.call_import_prune(now=now) == 1
    assert services.call_import_prune(now=now) == 0  # done once

    old.refresh_from_db()
    stored = old.files.get()
    assert (old.files_pruned_at, old.created, old.error_count) == (now, 2, 1)
    assert (bytes(stored.data), stored.rejects, stored.rejects_name, stored.size) == (
        b"",
        None,
        "",
        len(CALLS_CSV),
    )
    assert bytes(recent.files.get().data) == CALLS_CSV.encode()
    assert bytes(running.files.get().data) == CALLS_CSV.encode()
    client.force_login(admin_user)
    page = client.get(f"/calls/imports/{old.pk}/").content.decode()
    assert (
        f"Their contents were deleted on {timezone.localdate(now):%Y-%m-%d}, 30 days after the import."
        in page
    )
    assert client.get(f"/calls/imports/{old.pk}/rejects/1/").status_code == 404


def test_progress_is_read_from_the_shared_cache_while_the_import_runs(admin_user):
    call_import = services.call_import_create(
        user=admin_user, uploads=uploads(("c.csv", CALLS_CSV)), partial=True
    )
    cache.set(f"calls:import:{call_import.pk}:progress", (100, 400))

    assert services.call_import_progress(call_import) == (100, 400)
    call_import.status = CallImport.Status.DONE  # finished: a report left behind in the cache is not progress
    assert services.call_import_progress(call_import) is None


def test_progress_is_reported_in_bytes_of_the_stored_files(admin_user, monkeypatch):
    rows = "".join(
        f'{{"external_id": "P-{n}", "channel": "phone", "started_at": "2026-11-02T10:00:00Z", '
        f'"ended_at": "2026-11-02T10:05:00Z", "transcript": "{"Agent: hello. " * 60}"}}\n'
        for n in range(3000)
    )
    call_import = services.call_import_create(
        user=admin_user, uploads=uploads(("big.jsonl", rows)), partial=False
    )
    seen = []
    real_set = cache.set
    monkeypatch.setattr(
        cache, "set", lambda key, value, **kw: (seen.append(value), real_set(key, value, **kw))
    )

    assert services.call_import_run(call_import.pk).created == 3000

    size = len(rows.encode())
    assert size > 2 * 2**20
    assert seen and all(total == size and 0 < done <= size for done, total in seen)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_uploaded_names_are_cut_to_a_safe_last_part_and_kept_apart():
    assert services.safe_file_name("C:\\exports\\calls.csv") == "calls.csv"
    assert services.safe_file_name("../../etc/passwd") == "passwd"
    assert services.safe_file_name('we"ird<>name.jsonl.gz') == "we_ird_name.jsonl.gz"
    assert services.safe_file_name("...") == "upload"


def test_two_files_with_the_same_name_are_both_kept(admin_user):
    call_import = services.call_import_create(
        user=admin_user, uploads=uploads(("calls.csv", CALLS_CSV), ("calls.csv", TRANSFERS_CSV)), partial=True
    )

    assert list(call_import.files.values_list("name", flat=True)) == ["calls.csv", "2-calls.csv"]


# --- pages ----------------------------------------------------------------------------------------------


def upload_form(*files: tuple[str, str | bytes], **fields) -> dict:
    return {
        "files": [
            SimpleUploadedFile(name, text.encode() if isinstance(text, str) else text) for name, text in files
        ],
        **fields,
    }


def test_an_admin_uploads_files_and_follows_the_import_to_its_outcome(
    client, admin_user, eager_celery, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/calls/imports/",
            upload_form(("calls.csv", CALLS_CSV), ("transfers.csv", TRANSFERS_CSV), partial="on"),
        )

    call_import = CallImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/calls/imports/{call_import.pk}/"
    assert (call_import.created_by, call_import.partial, call_import.status) == (admin_user, True, "done")

    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "Imported, rows rejected" in html
    assert "<dt>Calls created</dt><dd>2</dd>" in html
    assert '<td>calls.csv</td><td class="num">4</td><td><code>channel</code></td>' in html
    assert 'hx-trigger="every 1s"' not in html  # finished: the page stops polling
    rejects = client.get(f"/calls/imports/{call_import.pk}/rejects/1/")
    assert rejects.status_code == 200
    assert rejects["Content-Disposition"] == 'attachment; filename="calls.rejects.csv"'
    assert b"U-3,fax" in rejects.content
    assert client.get(f"/calls/imports/{call_import.pk}/rejects/2/").status_code == 404  # nothing rejected

    listing = client.get("/calls/imports/").content.decode()
    assert f'href="/calls/imports/{call_import.pk}/"' in listing
    assert "calls.csv, transfers.csv" in listing


@pytest.mark.parametrize(
    ("name", "data", "first_row"),
    [
        # One file, one table: the line is enough.
        ("calls.csv", CALLS_CSV, '<tr><td class="num">4</td><td><code>channel</code></td>'),
        # One workbook with calls and transfers sheets: which sheet each problem is in.
        (
            "export.ods",
            (Path(__file__).parent / "data" / "export.ods").read_bytes(),
            '<tr><td>export.ods[Calls]</td><td class="num">3</td><td><code>channel</code></td>',
        ),
    ],
)
def test_problems_name_their_file_or_sheet_when_there_is_a_choice(
    client, admin_user, eager_celery, django_capture_on_commit_callbacks, name, data, first_row
):
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/calls/imports/", upload_form((name, data), partial="on", timezone="UTC"))

    html = client.get(response["Location"]).content.decode()

    assert first_row in html
    assert ('<th scope="col">File</th>' in html) is (name == "export.ods")


def test_a_running_import_page_polls_and_shows_its_progress(client, admin_user):
    client.force_login(admin_user)
    call_import = services.call_import_create(
        user=admin_user, uploads=uploads(("c.csv", CALLS_CSV)), partial=True
    )
    CallImport.objects.filter(pk=call_import.pk).update(status="running", started_at=timezone.now())
    cache.set(f"calls:import:{call_import.pk}:progress", (1536, 4096))

    full = client.get(f"/calls/imports/{call_import.pk}/").content.decode()
    fragment = client.get(
        f"/calls/imports/{call_import.pk}/", headers={"HX-Request": "true"}
    ).content.decode()

    assert 'hx-trigger="every 1s"' in full
    assert '<progress value="1536" max="4096" aria-label="Import progress">38%</progress>' in full
    assert "38% · 1.5\xa0KB of 4.0\xa0KB read" in fragment
    assert fragment.lstrip().startswith('<section id="import-status"')
    assert "<html" not in fragment

    cache.set(f"calls:import:{call_import.pk}:progress", (4096, 4096))  # read whole, the last merge running
    last = client.get(f"/calls/imports/{call_import.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert "All 4.0\xa0KB read and checked · writing the last calls to the database…" in last
    assert 'hx-trigger="every 1s"' in last


def test_files_in_another_encoding_are_uploaded_with_it_named(
    client, admin_user, eager_celery, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    exported = CALLS_CSV.replace("Ana", "Ana Müller").encode("cp1252")
    assert b"\xfc" in exported
    form = {"files": [SimpleUploadedFile("calls.csv", exported)], "partial": "on", "encoding": "cp1252"}
    form |= {"date_order": "mdy"}

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/calls/imports/", form)

    call_import = CallImport.objects.get()
    assert (response.status_code, call_import.encoding, call_import.date_order, call_import.status) == (
        302,
        "cp1252",
        "mdy",
        "done",
    )
    assert call_import.error_count == 1  # the one bad row of CALLS_CSV, not an encoding error per row
    assert "Ana Müller" in Agent.objects.values_list("name", flat=True)
    page = client.get(response["Location"]).content.decode()
    assert "· read as cp1252" in page
    assert "· spreadsheet dates as month/day/year" in page


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({}, "This field is required."),
        ({"encoding": "ebcdic"}, "Select a valid choice. ebcdic is not one of the available choices."),
        ({"timezone": "Mars/Olympus"}, "Unknown time zone &#x27;Mars/Olympus&#x27;."),
    ],
)
def test_bad_uploads_are_refused_with_the_reason_and_store_nothing(client, admin_user, form, message):
    client.force_login(admin_user)
    data = upload_form(("calls.csv", CALLS_CSV), **form) if form else {}

    response = client.post("/calls/imports/", data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not CallImport.objects.exists()


def test_an_upload_over_the_limit_is_refused(client, admin_user, settings):
    settings.CALLS_IMPORT_UPLOAD_MAX_BYTES = 100
    client.force_login(admin_user)

    response = client.post("/calls/imports/", upload_form(("calls.csv", CALLS_CSV)))

    assert response.status_code == 200
    assert "an upload may hold at most" in response.content.decode()
    assert not CallImport.objects.exists()


@pytest.mark.parametrize("role", ["agent", "reviewer", "supervisor"])
def test_other_roles_may_not_import_nor_see_imports(client, admin_user, role):
    call_import = services.call_import_create(
        user=admin_user, uploads=uploads(("c.csv", CALLS_CSV)), partial=True
    )
    services.call_import_run(call_import.pk)
    client.force_login(UserFactory(username=f"a-{role}", roles=[role]))

    assert client.get("/calls/imports/").status_code == 403
    assert client.post("/calls/imports/", upload_form(("calls.csv", CALLS_CSV))).status_code == 403
    assert client.get(f"/calls/imports/{call_import.pk}/").status_code == 403
    assert client.get(f"/calls/imports/{call_import.pk}/rejects/1/").status_code == 403
    assert client.get("/calls/imports/format/").status_code == 403
    assert client.get("/calls/imports/samples/calls.csv").status_code == 403
    assert CallImport.objects.count() == 1
    assert "Import calls" not in client.get("/calls/").content.decode()


def test_a_user_given_the_import_permission_sees_only_their_own_imports(client, admin_user):
    theirs = services.call_import_create(user=admin_user, uploads=uploads(("c.csv", CALLS_CSV)), partial=True)
    importer = UserFactory(username="importer", roles=["reviewer"])
    importer.user_permissions.add(
        Permission.objects.get(codename="import_calls", content_type__app_label="calls")
    )
    own = services.call_import_create(user=importer, uploads=uploads(("d.csv", CALLS_CSV)), partial=True)
    client.force_login(importer)

    assert client.get(f"/calls/imports/{own.pk}/").status_code == 200
    assert client.get(f"/calls/imports/{theirs.pk}/").status_code == 404
    assert client.get("/calls/imports/").status_code == 200


def test_the_import_page_needs_a_login(client, db):
    response = client.get("/calls/imports/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert CallImportFile.objects.count() == 0


def test_the_import_page_links_to_the_format_rendered_from_the_docs(client, admin_user):
    client.force_login(admin_user)

    upload_page = client.get("/calls/imports/").content.decode()
    page = client.get("/calls/imports/format/")

    assert '<a href="/calls/imports/format/">the import format</a>' in upload_page
    assert page.status_code == 200
    html = page.content.decode()
    # The document's own title as a heading, its tables as tables (the field reference), its code as code.
    assert '<h1 id="call-import-format">Call import format</h1>' in html
    assert "<td><code>external_id</code></td>" in html
    assert '<pre><code class="language-json">{&quot;external_id&quot;: &quot;C-1001&quot;' in html
    client.logout()
    assert client.get("/calls/imports/format/")["Location"].startswith("/accounts/login/")


SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"


def test_the_upload_page_offers_sample_files_that_import_as_the_same_two_calls(client, admin_user, tmp_path):
    client.force_login(admin_user)

    page = client.get("/calls/imports/").content.decode()
    downloads = {}
    for name in ("calls.jsonl", "calls.csv", "transfers.csv", "escalations.csv"):
        assert f'<a href="/calls/imports/samples/{name}" download>{name}</a>' in page
        response = client.get(f"/calls/imports/samples/{name}")
        assert response.status_code == 200
        assert response["Content-Disposition"] == f'attachment; filename="{name}"'
        downloads[name] = b"".join(response.streaming_content)
        assert downloads[name] == (SAMPLES / name).read_bytes()
        (tmp_path / name).write_bytes(downloads[name])
    assert client.get("/calls/imports/samples/settings.py").status_code == 404
    assert client.get("/calls/imports/samples/..%2F..%2Fmanage.py").status_code == 404

    as_json = import_files([tmp_path / "calls.jsonl"])
    as_csv = import_files([tmp_path / name for name in ("calls.csv", "transfers.csv", "escalations.csv")])

    assert (as_json.created, as_json.errors) == (2, [])
    # The CSV files hold the very same calls: nothing to change the second time.
    assert (as_csv.created, as_csv.updated, as_csv.unchanged, as_csv.errors) == (0, 0, 2, [])
    first = Call.objects.get(external_id="C-1001")
    assert (
        first.agent.employee_code,
        first.customer.tier,
        first.transfers.count(),
        first.escalations.count(),
    ) == (
        "A-017",
        "gold",
        1,
        1,
    )
    assert Call.objects.get(external_id="C-1002").agent is None


def test_the_admin_lists_imports_and_shows_one_read_only_without_loading_file_contents(client, admin_user):
    call_import = services.call_import_create(
        user=admin_user,
        uploads=uploads(("calls.csv", CALLS_CSV), ("transfers.csv", TRANSFERS_CSV)),
        partial=True,
    )
    services.call_import_run(call_import.pk)
    client.force_login(admin_user)

    listing = client.get("/admin/calls/callimport/")
    page = client.get(f"/admin/calls/callimport/{call_import.pk}/change/")

    assert listing.status_code == page.status_code == 200
    assert listing.context["cl"].result_count == 1
    html = page.content.decode()
    assert "calls.rejects.csv" in html and "transfers.csv" in html
    assert 'name="_save"' not in html  # read-only
    assert client.get("/admin/calls/callimport/add/").status_code == 403
