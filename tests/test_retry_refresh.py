"""重新处理 a failed file, in the evidence list or the viewer: its row (or state) follows the queue by
itself — queued, then the new final state and reason — without reloading the page. The list row and the
viewer's state reuse the live-state endpoint the upload page polls (/evidence/states, as=row / as=doc)."""
from __future__ import annotations

import pytest

from browser_support import browser, live_server, logged_in_page
from conftest import PASSWORD

BROKEN = b"%PDF-1.7\n" + bytes(range(256)) * 12  # a PDF header over garbage: fails, and fails again


@pytest.fixture
def province(make_user, login):
    make_user("js", "province", unit="JS")
    return login("js")


def failed_document(settings, province) -> int:
    from ingest.queue import drain
    answer = province.post("/evidence/upload", data={"year": "2023"}, files=[("files", ("报告.pdf", BROKEN, "application/pdf"))],
                           headers={"X-CSRF-Token": province.csrf, "Accept": "application/json"})
    doc = answer.json()["results"][0]["document_id"]
    drain(settings)
    return doc


@pytest.mark.parametrize("where,element", [("row", '<tr id="doc-row-'), ("doc", '<div id="doc-state"')])
def test_a_retry_answers_the_fragment_which_polls_until_the_new_final_state(settings, province, where, element):
    from ingest.queue import drain
    doc = failed_document(settings, province)
    page = province.get("/evidence" if where == "row" else f"/evidence/{doc}").text
    assert f'hx-post="/evidence/{doc}/retry"' in page and f'"as": "{where}"' in page
    queued = province.post(f"/evidence/{doc}/retry", data={"csrf_token": province.csrf, "as": where},
                           headers={"HX-Request": "true"})
    assert queued.status_code == 200 and queued.text.lstrip().startswith(element.split(" ")[0])
    assert element in queued.text and "排队中" in queued.text
    assert f'hx-get="/evidence/states?ids={doc}&amp;as={where}"' in queued.text and 'hx-trigger="every 2s"' in queued.text
    drain(settings)
    final = province.get("/evidence/states", params={"ids": str(doc), "as": where}).text
    assert "失败" in final and "PDF 文件已损坏或不完整" in final
    assert "hx-trigger" not in final.split("<form")[0]  # final: it stops polling, 重新处理 is offered again
    assert f'hx-post="/evidence/{doc}/retry"' in final


def test_without_javascript_a_retry_still_goes_back_to_the_viewer(settings, province):
    doc = failed_document(settings, province)
    answer = province.post(f"/evidence/{doc}/retry", data={"csrf_token": province.csrf}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/evidence/{doc}"


def test_in_a_browser_the_list_row_shows_the_retried_files_new_state_without_a_reload(settings, make_user):
    import io

    from evidence.db import session_scope
    from ingest.submit import submit
    make_user("js", "province", unit="JS")
    with session_scope(settings.database_url) as session:
        submit(session, settings, io.BytesIO(BROKEN), "报告.pdf", unit_code="JS", year=2023)
        session.commit()
    with live_server(settings) as url, browser() as b:  # the live server runs the ingest worker
        page = logged_in_page(b, url, "js", PASSWORD)
        page.goto(f"{url}/evidence")
        page.wait_for_function("() => document.querySelector('tr[id^=doc-row] .state-failed')", timeout=60000)
        page.evaluate("window.notReloaded = true")
        page.click("tr[id^=doc-row] button:has-text('重新处理')")
        page.wait_for_function("() => document.querySelector('tr[id^=doc-row] .state-queued, tr[id^=doc-row] .state-extracting')",
                               timeout=15000)
        page.wait_for_function("() => document.querySelector('tr[id^=doc-row] .state-failed')", timeout=60000)
        assert page.evaluate("window.notReloaded") is True
        row = page.inner_text("tr[id^=doc-row]")
        assert "失败" in row and "PDF 文件已损坏或不完整" in row and "重新处理" in row
