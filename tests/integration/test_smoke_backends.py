from tests.helpers import deliver, fixture, run_jobs


def test_event_is_stored_and_reconciled_on_both_backends(client, app):
    response = deliver(client, fixture("meeting.started"))
    assert response.status_code == 200
    assert response.json["status"] == "pending"
    assert run_jobs(app) == 1
