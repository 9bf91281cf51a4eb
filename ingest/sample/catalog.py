"""Reference data shared by the sample generator and the dbt seeds.

The seeds under `seeds/` are the warehouse's copy of these lists; a pytest checks that
the two agree, so generated events always join onto the catalog and the IP ranges.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chapter:
    course_id: str
    chapter_id: str
    title: str
    order: int


_COURSES: dict[str, list[str]] = {
    "alg1": ["Expressions", "Linear equations", "Inequalities", "Functions", "Systems", "Exponents"],
    "bio1": ["Cells", "Genetics", "Evolution", "Ecology", "Human body"],
    "eng1": ["Reading closely", "Narrative writing", "Grammar", "Poetry", "Argument"],
    "hist1": ["Ancient worlds", "Middle ages", "Revolutions", "Industrial age", "Modern era"],
    "chem1": ["Atoms", "Periodic table", "Bonds", "Reactions", "Stoichiometry", "Acids and bases"],
}

CHAPTERS: tuple[Chapter, ...] = tuple(
    Chapter(course_id, f"{course_id}-ch{order}", title, order)
    for course_id, titles in _COURSES.items()
    for order, title in enumerate(titles, start=1)
)

COURSE_IDS: tuple[str, ...] = tuple(_COURSES)

COURSE_TITLES: dict[str, str] = {
    "alg1": "Algebra I", "bio1": "Biology", "eng1": "English Language Arts", "hist1": "World History",
    "chem1": "Chemistry",
}


@dataclass(frozen=True)
class IpBlock:
    """A demo address block: documentation and test ranges, never real users."""

    prefix: str  # text prefix the generator completes with a host part
    family: int
    country: str


IP_BLOCKS: tuple[IpBlock, ...] = (
    IpBlock("192.0.2.", 4, "US"),
    IpBlock("198.51.100.", 4, "GB"),
    IpBlock("203.0.113.", 4, "DE"),
    IpBlock("100.64.10.", 4, "FR"),
    IpBlock("2001:db8:10::", 6, "US"),
    IpBlock("2001:db8:20::", 6, "JP"),
)
