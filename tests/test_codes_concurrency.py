"""Customer codes stay unique and gapless when several processes create third parties at
once (SPEC §4), on whichever database the suite runs on (CRM_TEST_DATABASE)."""
from bench.workload import audit_codes, domain_creator, expected_codes, run_in_processes
from crm import clock

PROCESSES = 4
CREATIONS_PER_PROCESS = 250


async def test_codes_are_unique_and_gapless_across_processes(db):
    expected = expected_codes(PROCESSES * CREATIONS_PER_PROCESS, clock.now())

    await run_in_processes(domain_creator, db, PROCESSES, CREATIONS_PER_PROCESS)

    assert (await audit_codes()).problems(expected) == []
