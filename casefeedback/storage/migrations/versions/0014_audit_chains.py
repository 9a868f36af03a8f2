"""Per-writer audit chains (issue 12): no shared head row that every writer waits on.

Revision ID: 0014
Revises: 0013

Every event gains the chain it belongs to and its position there. The log as
it stands becomes chain 0 (chain_seq = seq), its MACs untouched: they still
verify as written, so not a byte of the existing log is rewritten. Chain 0
takes no new events. Eight chains, 1–8, are made empty (position 0, each with
its public genesis) for writers to append to; the single head row becomes chain
0's head. Checkpoints gain ``heads``: every chain's head, signed.

The downgrade puts the single head back only while no event is in chains 1–8
and no checkpoint covers several chains: those MACs and signatures cannot be
expressed in the one-chain form, so it refuses rather than leave a log that no
longer verifies.
"""

import hashlib

import sqlalchemy as sa
from alembic import op

from casefeedback.storage.dialect import audit_numbers_dropped, audit_numbers_made

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

LANES = 8


def _genesis(chain: int) -> str:
    # As casefeedback.audit.walk.genesis (a migration does not import the application it migrates).
    return hashlib.sha256(b"casefeedback audit chain genesis v2:" + str(chain).encode()).hexdigest()


def upgrade() -> None:
    # SQLite adds a NOT NULL column only with a default; the batch copy below drops it again.
    op.add_column("audit_events", sa.Column("chain", sa.Integer, nullable=False, server_default="0"))
    op.add_column("audit_events", sa.Column("chain_seq", sa.Integer, nullable=False, server_default="0"))
    op.execute("UPDATE audit_events SET chain_seq = seq")
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("chain", server_default=None, existing_type=sa.Integer, existing_nullable=False)
        batch.alter_column("chain_seq", server_default=None, existing_type=sa.Integer, existing_nullable=False)
        batch.create_unique_constraint("one_event_per_chain_position", ["chain", "chain_seq"])
    chains = op.create_table(
        "audit_chains",
        sa.Column("chain", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
    )
    op.execute("INSERT INTO audit_chains (chain, seq, mac) SELECT 0, seq, mac FROM audit_head WHERE id = 1")
    op.bulk_insert(chains, [{"chain": lane, "seq": 0, "mac": _genesis(lane)} for lane in range(1, LANES + 1)])
    op.drop_table("audit_head")
    op.add_column("audit_checkpoints", sa.Column("heads", sa.Text, nullable=True))
    # PostgreSQL: writers on different chains take event numbers from a sequence (none on SQLite).
    for statement in audit_numbers_made(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    written = bind.execute(sa.text("SELECT count(*) FROM audit_events WHERE chain <> 0")).scalar_one()
    if written:
        raise RuntimeError(f"cannot go back before migration 0014: {written} audit events are in per-writer chains, "
                           "which the single-chain log cannot hold (their MACs bind their chain). Restore a backup "
                           "made before the upgrade instead.")
    signed = bind.execute(sa.text("SELECT count(*) FROM audit_checkpoints WHERE heads IS NOT NULL")).scalar_one()
    if signed:
        raise RuntimeError(f"cannot go back before migration 0014: {signed} signed checkpoints cover every chain's "
                           "head, a form the single-chain log cannot check (and its witness holds them too). "
                           "Restore a backup made before the upgrade instead.")
    for statement in audit_numbers_dropped(bind.dialect.name):
        op.execute(statement)
    with op.batch_alter_table("audit_checkpoints") as batch:
        batch.drop_column("heads")
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
        sa.CheckConstraint("id = 1", name="audit_head_single_row"),
    )
    op.execute("INSERT INTO audit_head (id, seq, mac) SELECT 1, seq, mac FROM audit_chains WHERE chain = 0")
    op.drop_table("audit_chains")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_constraint("one_event_per_chain_position", type_="unique")
        batch.drop_column("chain_seq")
        batch.drop_column("chain")
