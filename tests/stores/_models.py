"""Values and a repository shared by the store tests."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

__all__ = ["Address", "DictRepository", "Profile", "profile"]


class Address(BaseModel):
    city: str
    postcode: str | None = None


class Profile(BaseModel):
    id: int
    name: str
    email: str | None = None
    tags: list[str] = Field(default_factory=list)
    score: float = 0.0
    joined: datetime | None = None
    address: Address | None = None
    counters: dict[str, int] = Field(default_factory=dict)


def profile(n: int, **changes: object) -> Profile:
    """A fully populated profile number ``n``; ``changes`` override fields."""
    base = Profile(
        id=n,
        name=f"user {n} ünïcødé ✓",
        email=f"user{n}@example.com",
        tags=["a", f"t{n % 7}"],
        score=n / 3,
        joined=datetime.fromisoformat("2024-05-06T07:08:09.123456+00:00"),
        address=Address(city="Zürich", postcode=None),
        counters={"logins": n, "posts": 2 * n},
    )
    return base.model_copy(update=changes)


class DictRepository:
    """An existing repository with plain async functions, as business code has them."""

    def __init__(self) -> None:
        self.rows: dict[str, Profile | None] = {}

    async def find(self, key: str) -> Profile | None:
        return self.rows.get(key)

    async def save(self, key: str, value: Profile | None) -> None:
        self.rows[key] = value

    async def remove(self, key: str) -> bool:
        return self.rows.pop(key, None) is not None

    async def has(self, key: str) -> bool:
        return key in self.rows
