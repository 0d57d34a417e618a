"""Customer codes stay unique and gapless when several processes create third parties at
once (SPEC §4), on PostgreSQL, where production runs several processes. The embedded SQLite
runs one (`crm serve`): its lock is polled, not queued, so a writer among busy others can
wait past the query timeout, and such a run tests the machine's scheduler, not our codes."""
import pytest

from bench.workload import audit_codes, domain_creator, expected_codes, run_in_processes
from crm import clock

pytestmark = pytest.mark.postgres_only

PROCESSES = 4
CREATIONS_PER_PROCESS = 250


async def test_codes_are_unique_and_gapless_across_processes(db):
    expected = expected_codes(PROCESSES * CREATIONS_PER_PROCESS, clock.now())

    await run_in_processes(domain_creator, db, PROCESSES, CREATIONS_PER_PROCESS)

    assert (await audit_codes()).problems(expected) == []
