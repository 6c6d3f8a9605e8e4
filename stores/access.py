"""Who may act on what another store made.

The chain is one programme: a member earns, returns and spends anywhere, and a voucher is good in
every store. What a store made and may still undo (cancelling a redemption or a voucher) belongs to
that store; another store acts on it only through a key with the `chain_wide` scope (head office,
a service desk). Staff in the admin and batch jobs act for the whole chain.
"""

from .models import Store, StoreApiKey


def may_act_on(*, store: Store | None, api_key: StoreApiKey | None, made_by_store_id: int | None) -> bool:
    """Whether `store` (through `api_key`) may act on something made by `made_by_store_id` (None:
    made by no store, e.g. a campaign's voucher). No store: staff or a job, who always may."""
    if store is None:
        return True
    if api_key is not None and api_key.chain_wide:
        return True
    return made_by_store_id is not None and made_by_store_id == store.pk
