"""An overwritten value leaves no copy in the embedded database's files."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from chassis.db import create_engine, scrub

SECRET = b"Ada-Lovelace-7c1e"


def files_holding(folder: Path, needle: bytes) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if needle in p.read_bytes())


async def test_after_scrub_no_file_of_the_sqlite_database_holds_the_old_value(
    tmp_path: Path,
):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/service.db")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE people (name TEXT)"))
            await conn.execute(
                text("INSERT INTO people VALUES (:n)"), {"n": SECRET.decode()}
            )
        async with engine.begin() as conn:  # the eraser overwrites, then deletes
            await conn.execute(text("UPDATE people SET name = 'erased'"))
            await conn.execute(text("DELETE FROM people"))
        assert files_holding(tmp_path, SECRET), "the log still holds the old page"
        await scrub(engine)
        assert files_holding(tmp_path, SECRET) == []
        async with engine.connect() as conn:  # the database is still usable
            assert (
                await conn.execute(text("SELECT count(*) FROM people"))
            ).scalar() == 0
    finally:
        await engine.dispose()
