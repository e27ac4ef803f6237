"""schemathesis hooks for the hostile run of .ci/schemathesis.sh: tampered cursors.

A cursor is opaque in the schema (a string), so generated strings are almost never cursors that
decode; these are: base64 of DRF's ``o=<offset>&p=<position>[&r=1]`` with a position of the wrong type
for the list's ordering (a word for a date, a number or a UUID, NUL characters, anything).
"""

import base64
from urllib.parse import urlencode

import schemathesis
from hypothesis import strategies as st

POSITIONS = st.sampled_from(["x\x00y", "2026-13-45", "1e999", "-1", "not-a-uuid", "", "\x00"]) | st.text(
    max_size=40
)


def _cursor(position: str, offset: int, reverse: bool) -> str:
    params = {"o": offset, "p": position, **({"r": 1} if reverse else {})}
    return base64.b64encode(urlencode(params).encode()).decode()


CURSORS = st.builds(_cursor, POSITIONS, st.integers(min_value=-5, max_value=5000), st.booleans())


@schemathesis.hook
def flatmap_query(context, query):
    if not query or "cursor" not in query:
        return st.just(query)
    return st.builds(lambda cursor: {**query, "cursor": cursor}, CURSORS)
