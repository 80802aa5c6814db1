"""Checks keras-inspect's JUnit XML with a real JUnit consumer (junitparser, from PyPI).

    python3 -m pip install junitparser==5.0.3
    keras-inspect verify Fixtures/keras2 Fixtures/broken --format junit > report.xml
    python3 scripts/check-junit.py report.xml

Prints one line per suite and exits non-zero when the file does not parse as JUnit XML or when
its counts are inconsistent (tests/failures/errors attributes against the test cases found).
"""

import sys

from junitparser import Error, Failure, JUnitXml

xml = JUnitXml.fromfile(sys.argv[1])
total = failures = errors = 0
for suite in xml:
    cases = list(suite)
    f = sum(1 for case in cases for r in case.result if isinstance(r, Failure))
    e = sum(1 for case in cases for r in case.result if isinstance(r, Error))
    assert suite.tests == len(cases), (suite.name, suite.tests, len(cases))
    assert suite.failures == f and suite.errors == e, (suite.name, suite.failures, f, suite.errors, e)
    print(f"{suite.name}: {len(cases)} test case(s), {f} failure(s), {e} error(s)")
    total, failures, errors = total + len(cases), failures + f, errors + e
assert xml.tests == total and xml.failures == failures and xml.errors == errors
print(f"junitparser read {total} test cases: {failures} failures, {errors} errors")
