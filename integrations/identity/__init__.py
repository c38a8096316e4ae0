"""Identity stitching: the pipeline's customer step joins the keys of one person (DESIGN §10).

Two joins, both recorded as an `IdentityMerge` with its reason and evidence:
- an anonymous id (client_id, fbp, cart token) seen in an event together with a customer key: the visitor's
  anonymous history, earlier and later, is stored under that customer;
- customer keys sharing one hashed e-mail (a Shopify customer id and `email:<sha256>` from the pixel): the
  person keeps the first real id (not an `email:` key, then the oldest profile), the others' events move to it.

All in SQL over the batch staged in the temporary table `integ_stage` (the COPY staging table on PostgreSQL, a
small table of the batch's keys elsewhere), inside the store's transaction: `stage_resolve` before the insert
(so the batch is stored under the person already), `stitch` after it (earlier history and new e-mail joins).
Every re-attributed event gets a `StitchedEvent` row, which is what `identity_merge_undo` reverts. Idempotent: a
re-delivered batch finds its joins made and its history moved. Concurrent batches: joins are unique per
identity (ON CONFLICT DO NOTHING) and events move only from the key they are found with, so two batches moving
the same history count it once.
"""

from .moves import stitching_enabled
from .stitch import Resolved, stage_keys, stage_resolve, stitch
from .undo import identity_merge_undo

__all__ = ["Resolved", "identity_merge_undo", "stage_keys", "stage_resolve", "stitch", "stitching_enabled"]
