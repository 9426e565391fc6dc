"""Make usernames unique regardless of letter case in the database, with an index on lower().

Why: user creation looks for an existing name that equals the new one ignoring case before it
inserts, but the database had only the exact-case unique constraint. Two concurrent creations of
"Ops" and "ops" could both pass that check and both be stored. A unique index on
``lower(username)`` makes the database reject the second insert.

The index folds case as each database's ``lower()`` does: SQLite folds ASCII letters only, and
PostgreSQL folds the letters of the database's ``LC_CTYPE`` (ASCII only under the C locale).
The application check also ignores character width and folds every Unicode letter, so it stays
the full rule, and the index backs it up for the names that ``lower()`` folds.

Usernames that already equal each other under ``lower()`` stop the upgrade before anything
changes. The error names them. Rename or delete all but one user of each group, then run
``taskrun db upgrade`` again.

Locks: building the index blocks writes to ``users`` until it is built, which takes
milliseconds for the number of users a console has.

Revision: 0006; revises: 0005.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taskrun_center.errors import StorageError
from taskrun_center.i18n import Text

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEX = "uq_users_lower_username"
# Groups of colliding names listed in the error; the rest are counted.
MAX_LISTED_GROUPS = 20

_COLLIDING_USERNAMES = sa.text(
    "SELECT lower(username) AS folded, username FROM users WHERE lower(username) IN "
    "(SELECT lower(username) FROM users GROUP BY lower(username) HAVING count(*) > 1)"
)

_COLLISION = Text(
    "users 表中有只差大小写的用户名：{groups}{more}。迁移版本 0006 要在 lower(username) 上建唯一"
    "索引，这些用户名与它冲突，所以升级已停止，数据库没有任何改动。请把每组中除一个以外的用户改名"
    "或删除，例如 UPDATE users SET username = '新名字' WHERE username = '旧名字';"
    "（改名的用户保留其 API 令牌），然后再次运行 taskrun db upgrade。",
    "the users table has usernames that differ only in letter case: {groups}{more}. Revision "
    "0006 adds a unique index on lower(username) that these names break, so the upgrade "
    "stopped and changed nothing. Rename or delete all but one user of each group, for example "
    "with UPDATE users SET username = 'new_name' WHERE username = 'old_name'; (a renamed user "
    "keeps its API tokens), then run taskrun db upgrade again.",
)
_MORE_GROUPS = Text("，以及另外 {count} 组", ", and {count} more groups")


class UsernameCollisionError(StorageError):
    """Raised when existing usernames are equal under ``lower()``, so the index cannot be built.

    ``groups`` lists the colliding names, one list per lowercased name. ``text`` is the message
    in both languages, for the CLI; ``str()`` is English, for logs.
    """

    code = "STORAGE_USERNAME_COLLISION"

    def __init__(self, groups: list[list[str]]) -> None:
        self.groups = groups
        listed = groups[:MAX_LISTED_GROUPS]
        rest = len(groups) - len(listed)
        zh_groups = "；".join("、".join(repr(name) for name in group) for group in listed)
        en_groups = "; ".join(", ".join(repr(name) for name in group) for group in listed)
        self.text = Text(
            _COLLISION.zh.format(
                groups=zh_groups, more=_MORE_GROUPS.zh.format(count=rest) if rest else ""
            ),
            _COLLISION.en.format(
                groups=en_groups, more=_MORE_GROUPS.en.format(count=rest) if rest else ""
            ),
        )
        super().__init__(self.text.en)

    def render(self, language: str) -> str:
        """Return the message in ``language`` (Chinese unless it is English)."""
        return self.text.render(language)


def colliding_usernames(connection: sa.Connection) -> list[list[str]]:
    """Return the usernames that are equal under the database's ``lower()``, grouped.

    Groups and the names in them are sorted by code point, whatever the database's collation.
    """
    groups: dict[str, list[str]] = {}
    for folded, username in connection.execute(_COLLIDING_USERNAMES):
        groups.setdefault(folded, []).append(username)
    return [sorted(names) for _, names in sorted(groups.items())]


def upgrade() -> None:
    # The check runs in the migration's transaction, so a failure rolls back every revision
    # of this upgrade run and the database stays at the revision it had.
    groups = colliding_usernames(op.get_bind())
    if groups:
        raise UsernameCollisionError(groups)
    op.create_index(INDEX, "users", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="users")
