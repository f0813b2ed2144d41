"""Full-text search behind one interface: SQLite FTS5 or PostgreSQL tsvector.

Only what readers may see is indexed (the published revision of resources that are not archived), and
every filter — visibility, type, audience, language, adopted by my site — is applied inside the one SQL
query, never in Python afterwards, so a page of results is one round trip. Snippets are highlighted
with sentinel characters that are replaced by <mark> only after the text has been escaped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from network import access

START, STOP = "\x02", "\x03"
WORD_RE = re.compile(r"\w+", re.UNICODE)
MAX_QUERY = 200

SQLITE_SCHEMA = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_resources USING fts5("
    "title, tags, body, tokenize = 'unicode61 remove_diacritics 2')",
]
POSTGRES_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS search_resources ("
    " resource_id integer PRIMARY KEY REFERENCES resources(id) ON DELETE CASCADE,"
    " title text NOT NULL, tags text NOT NULL, body text NOT NULL, config regconfig NOT NULL,"
    " document tsvector NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_search_resources_document ON search_resources USING gin (document)",
]
DROP = ["DROP TABLE IF EXISTS search_resources"]
PG_CONFIG = {"en": "english", "es": "spanish"}


def create_schema(connection: Connection) -> None:
    """Create the search table for the connection's database (migrations and tests call this)."""
    for statement in (SQLITE_SCHEMA if connection.dialect.name == "sqlite" else POSTGRES_SCHEMA):
        connection.exec_driver_sql(statement)


def drop_schema(connection: Connection) -> None:
    for statement in DROP:
        connection.exec_driver_sql(statement)


def _is_sqlite(db: Session) -> bool:
    return db.get_bind().dialect.name == "sqlite"


# ---------------------------------------------------------------------------------------------
# Indexing

def index_resource(db: Session, resource) -> None:
    """Index what readers see of a resource, or remove it when readers see nothing."""
    from content.library import Revision
    from content.markdown import plain_text

    db.execute(text("DELETE FROM search_resources WHERE " + ("rowid" if _is_sqlite(db) else "resource_id") + " = :id"),
               {"id": resource.id})
    if resource.is_readable:
        published = db.get(Revision, resource.published_revision_id)
        values = {"id": resource.id, "title": published.title, "tags": " ".join(resource.tags or []),
                  "body": plain_text(published.body)}
        if _is_sqlite(db):
            db.execute(text("INSERT INTO search_resources (rowid, title, tags, body) VALUES (:id, :title, :tags, :body)"),
                       values)
        else:
            values["config"] = PG_CONFIG.get(resource.language, "simple")
            db.execute(text(
                "INSERT INTO search_resources (resource_id, title, tags, body, config, document) VALUES "
                "(:id, :title, :tags, :body, CAST(:config AS regconfig), "
                " setweight(to_tsvector(CAST(:config AS regconfig), :title), 'A') || "
                " setweight(to_tsvector(CAST(:config AS regconfig), :tags), 'B') || "
                " to_tsvector(CAST(:config AS regconfig), :body))"), values)
    db.commit()


def rebuild(db: Session) -> int:
    from sqlalchemy import select

    from content.library import Resource

    count = 0
    for resource in db.scalars(select(Resource)):
        index_resource(db, resource)
        count += resource.is_readable
    return count


# ---------------------------------------------------------------------------------------------
# Searching

@dataclass
class Hit:
    resource_id: int
    slug: str
    title: str
    type: str
    language: str
    snippet: Markup
    rank: float


def _fts5_query(query: str) -> str | None:
    """User words as an FTS5 query that cannot be a syntax error: each word quoted, the last a prefix."""
    words = WORD_RE.findall(query[:MAX_QUERY])
    if not words:
        return None
    quoted = [f'"{w}"' for w in words[:12]]
    quoted[-1] += "*"
    return " ".join(quoted)


def _tsquery(query: str) -> str | None:
    """The same reading for PostgreSQL: words (only word characters, so no tsquery syntax) all
    required, the last one a prefix."""
    words = WORD_RE.findall(query[:MAX_QUERY])
    if not words:
        return None
    parts = words[:12]
    parts[-1] += ":*"
    return " & ".join(parts)


def highlight(snippet: str) -> Markup:
    return Markup(str(escape(snippet)).replace(START, "<mark>").replace(STOP, "</mark>"))


def search(db: Session, actor, query: str, *, type_: str | None = None, audience: str | None = None,
           language: str | None = None, adopted_site_ids: list[int] | None = None, limit: int = 20,
           offset: int = 0) -> list[Hit]:
    """Ranked published resources matching `query`, with highlighted snippets."""
    access.require(actor, "library.browse")
    query = (query or "").strip()
    filters, params = _filters(db, type_, audience, language, adopted_site_ids)
    params.update(limit=limit, offset=offset)
    if _is_sqlite(db):
        match = _fts5_query(query)
        if match is None:
            return []
        params["match"] = match
        sql = (
            "SELECT r.id, r.slug, s.title, r.type, r.language, "
            f" snippet(search_resources, 2, '{START}', '{STOP}', '…', 24) AS snip, bm25(search_resources, 10.0, 4.0, 1.0) AS rank "
            "FROM search_resources s JOIN resources r ON r.id = s.rowid "
            "WHERE search_resources MATCH :match AND r.published_revision_id IS NOT NULL AND r.status != 'archived'"
            f"{filters} ORDER BY rank LIMIT :limit OFFSET :offset")
    else:
        tsquery = _tsquery(query)
        if tsquery is None:
            return []
        params["q"] = tsquery
        sql = (
            "WITH q AS MATERIALIZED (SELECT to_tsquery('english', :q) || to_tsquery('spanish', :q) "
            "   || to_tsquery('simple', :q) AS query) "
            "SELECT r.id, r.slug, s.title, r.type, r.language, "
            f" ts_headline(s.config, s.body, q.query, 'StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=12, "
            "MaxFragments=1, FragmentDelimiter= … ') AS snip, ts_rank(s.document, q.query) AS rank "
            "FROM search_resources s JOIN resources r ON r.id = s.resource_id, q "
            "WHERE s.document @@ q.query AND r.published_revision_id IS NOT NULL AND r.status != 'archived'"
            f"{filters} ORDER BY rank DESC, r.id LIMIT :limit OFFSET :offset")
    rows = db.execute(text(sql), params).all()
    return [Hit(row[0], row[1], row[2], row[3], row[4], highlight(row[5] or ""), float(row[6])) for row in rows]


def _filters(db: Session, type_, audience, language, adopted_site_ids) -> tuple[str, dict]:
    clauses, params = [], {}
    if type_:
        clauses.append("r.type = :type")
        params["type"] = type_
    if language:
        clauses.append("r.language = :language")
        params["language"] = language
    if audience:
        params["audience"] = audience
        clauses.append("EXISTS (SELECT 1 FROM json_each(r.audience) WHERE json_each.value = :audience)"
                       if _is_sqlite(db) else "CAST(r.audience AS jsonb) ? :audience")
    if adopted_site_ids is not None:
        ids = [int(i) for i in adopted_site_ids] or [-1]
        params.update({f"site{i}": site_id for i, site_id in enumerate(ids)})
        placeholders = ", ".join(f":site{i}" for i in range(len(ids)))
        clauses.append(f"EXISTS (SELECT 1 FROM adoptions a WHERE a.resource_id = r.id AND a.site_id IN ({placeholders}))")
    return "".join(" AND " + c for c in clauses), params
